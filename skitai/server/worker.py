"""One worker: an asyncio loop (uvloop when installed) serving the inherited
listening sockets until it is told to drain.

Entry points:

- ``run(prefs, sockets, table, worker_id)``: what the master calls in a forked
  child. Returns the exit code the master reads (0 asked to stop, 3
  max_requests reached, 5 the app failed to load).
- ``serve(app, prefs, host, port)``: single process, binds its own socket
  (tests, development).
- ``python -m skitai.server.worker --app module:attr --port N``: dev runner.

Drain (SIGTERM, or max_requests): stop accepting, close idle keep-alive
connections, answer in-flight requests with ``Connection: close``, wait for
them up to ``shutdown_timeout``, run the apps' lifespan shutdown, flush the
access log.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import os
import signal
import socket
import sys
from typing import Any

from skitai.observability.accesslog import AccessLog
from skitai.observability.observer import Observer

from .context import ServerContext, pref
from .h1 import H1Protocol

log = logging.getLogger("skitai.server")

EXIT_STOPPED = 0
EXIT_MAX_REQUESTS = 3
EXIT_LOAD_FAILED = 5


def install_uvloop() -> bool:
    """Use uvloop for new loops when it is importable (it is an optional extra)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


class AppTable:
    """Gives a bare ASGI app the ``startup``/``shutdown`` a MountTable has,
    using the ASGI lifespan protocol when the app speaks it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lifespan = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def startup(self) -> None:
        from skitai.mounts.lifespan import Lifespan
        self.lifespan = Lifespan(self.app, getattr(self.app, "__name__", "app"))
        await self.lifespan.startup()

    async def shutdown(self) -> None:
        if self.lifespan is not None:
            await self.lifespan.shutdown()

    def skitai_dispatch(self, scope) -> Any:
        """The app for ``scope``, chosen synchronously (see MountTable.skitai_dispatch)."""
        if self.lifespan is not None and self.lifespan.state and "state" not in scope:
            scope["state"] = dict(self.lifespan.state)
        return self.app

    async def __call__(self, scope, receive, send) -> None:
        if self.lifespan is not None and self.lifespan.state and "state" not in scope:
            scope["state"] = dict(self.lifespan.state)
        await self.app(scope, receive, send)


def _ssl_context(prefs: Any):
    if not getattr(prefs, "ssl_certfile", None):
        return None
    from . import tls
    return tls.context_from_prefs(prefs)


def _install_protocols(ctx: ServerContext) -> None:
    """Let the HTTP/2 / WebSocket module register its hand-off factories."""
    try:
        from . import h2
    except ImportError as exc:  # h2/wsproto missing: HTTP/1.1 only
        log.warning("HTTP/2 and WebSocket disabled: %s", exc)
        return
    install = getattr(h2, "install", None)
    if install is not None:
        install(ctx)


def _notify_ready() -> None:
    try:
        from skitai.process import notify
    except ImportError:
        return
    notify.ready()


async def _serve(prefs: Any, sockets: list, table: Any, worker_id: int) -> int:
    loop = asyncio.get_running_loop()
    ctx = ServerContext(prefs, worker_id, None, None, loop)
    observer = Observer(ctx, AccessLog.from_prefs(prefs, worker_id, loop))
    ctx.observer = observer
    if not hasattr(table, "startup"):
        table = AppTable(table)
    app = table
    # observability hooks
    # (metrics / health attach here: e.g. observer.metrics = ...; app = health.wrap(app, prefs, ctx))
    from skitai.observability import health
    app = health.attach(app, prefs, ctx, observer, worker_id)
    ctx.app = app
    ctx.stop_event = asyncio.Event()
    _install_protocols(ctx)

    try:
        await table.startup()
    except Exception as exc:
        log.error("worker #%s: the app failed to start: %s", worker_id, exc, exc_info=True)
        observer.close()
        return EXIT_LOAD_FAILED
    ctx.reload_limits()  # the table knows its per-app body limits once loaded
    # The engine and the loaded apps live as long as the worker: out of the collector's
    # view, full collections (set off by request objects promoted while in flight) scan
    # only what requests left behind (Flask: ~2.5 us less CPU per request).
    gc.collect()
    gc.freeze()
    # A request of a framework app (Flask) leaves a few hundred container objects:
    # with CPython 3.11's young-generation threshold of 700 the collector runs every
    # other request. 2000 (CPython 3.13's default) runs it a third as often
    # (-1 us per Flask request); an app or a user that set their own is left alone.
    threshold = gc.get_threshold()
    if threshold[0] == 700:
        gc.set_threshold(2000, *threshold[1:])

    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue  # the master wants this one ignored in workers
        try:
            loop.add_signal_handler(sig, ctx.request_stop, EXIT_STOPPED)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    if _early_stop:
        ctx.request_stop(EXIT_STOPPED)

    sslctx = _ssl_context(prefs)
    backlog = int(pref(prefs, "backlog") or 2048)
    servers = []
    try:
        forward = int(getattr(prefs, "forward_port", 0) or 0) if sslctx is not None else 0
        for sock in sockets:
            unix = sock.family == getattr(socket, "AF_UNIX", None)  # uds: plain, the proxy in front does TLS
            if forward and not unix and sock.getsockname()[1] == forward:  # skitai.enable_forward: redirect only
                from .forward import RedirectProtocol
                to = int(getattr(prefs, "port", 443) or 443)
                servers.append(await loop.create_server(
                    lambda to=to: RedirectProtocol(to), sock=sock, backlog=backlog))
                continue
            servers.append(await loop.create_server(
                lambda: H1Protocol(ctx, app), sock=sock, backlog=backlog, ssl=None if unix else sslctx))
    except Exception:
        log.exception("worker #%s: cannot serve the sockets", worker_id)
        for s in servers:
            s.close()
        await _shutdown_table(table)
        observer.close()
        return EXIT_LOAD_FAILED

    ticker = loop.create_task(_tick(ctx))
    ctx.ready = True
    _notify_ready()
    try:
        await ctx.stop_event.wait()
    finally:
        ctx.ready = False
        ctx.draining = True
        for s in servers:
            s.close()
        await _drain(ctx)
        ticker.cancel()
        await _shutdown_table(table)
        observer.close()
    return ctx.stop_code or EXIT_STOPPED


async def _tick(ctx: ServerContext) -> None:
    while True:
        await asyncio.sleep(1.0 - (ctx.loop.time() % 1.0) if ctx.loop else 1.0)
        ctx.tick()


async def _drain(ctx: ServerContext) -> None:
    loop = asyncio.get_running_loop()
    for conn in list(ctx.connections):
        begin = getattr(conn, "begin_shutdown", None)
        if begin is not None:
            try:
                begin()
            except Exception:
                log.exception("drain of a connection failed")
    deadline = loop.time() + ctx.shutdown_timeout
    while ctx.connections and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for conn in list(ctx.connections):
        t = getattr(conn, "transport", None)
        if t is not None:
            t.abort()
    if ctx.connections:
        await asyncio.sleep(0)


async def _shutdown_table(table: Any) -> None:
    try:
        await table.shutdown()
    except Exception as exc:
        log.error("lifespan shutdown failed: %s", exc)


_early_stop: list[int] = []


def _early_signals() -> None:
    """Remember a SIGTERM/SIGINT that arrives before the loop handles signals
    (while the app is imported and started), so it is not a crash but a stop."""
    def remember(signum, frame) -> None:
        _early_stop.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, remember)


def run(prefs: Any, sockets: list, table: Any, worker_id: int = 0) -> int:
    """Serve ``sockets`` with ``table`` (an ASGI app; a MountTable in the engine)
    until SIGTERM or max_requests; returns the worker exit code."""
    install_uvloop()
    _early_signals()
    if isinstance(sockets, socket.socket):
        sockets = [sockets]
    for s in sockets:
        s.setblocking(False)
    return asyncio.run(_serve(prefs, list(sockets), table, worker_id))


def bind(host: str = "127.0.0.1", port: int = 0, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def serve(app: Any, prefs: Any = None, host: str = "127.0.0.1", port: int = 5000,
          worker_id: int = 0) -> int:
    """Single process: bind ``host:port`` and serve ``app`` until SIGTERM/SIGINT."""
    sock = bind(host, port, int(pref(prefs, "backlog") or 2048))
    try:
        return run(prefs, [sock], app, worker_id)
    finally:
        sock.close()


def load_app(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    for part in (attr or "app").split("."):
        obj = getattr(obj, part)
    return obj


def _prefs_from(args: argparse.Namespace) -> Any:
    overrides = {k: v for k, v in vars(args).items()
                 if k not in ("app", "host", "port") and v is not None}
    try:
        from skitai.config.prefs import resolve
        return resolve(overrides, argv=[])
    except ImportError:
        return argparse.Namespace(**overrides)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m skitai.server.worker",
                                 description="Serve one ASGI app with one worker (development).")
    ap.add_argument("--app", required=True, help="module:attribute of an ASGI app")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--keep-alive", dest="keep_alive", type=float)
    ap.add_argument("--request-timeout", dest="request_timeout", type=float)
    ap.add_argument("--shutdown-timeout", dest="shutdown_timeout", type=float)
    ap.add_argument("--max-header-size", dest="max_header_size", type=int)
    ap.add_argument("--max-body-size", dest="max_body_size", type=int)
    ap.add_argument("--max-requests", dest="max_requests", type=int)
    ap.add_argument("--max-connections", dest="max_connections", type=int)
    ap.add_argument("--log-format", dest="log_format", choices=("text", "json"))
    ap.add_argument("--logpath")
    ap.add_argument("--log-off", dest="log_off", help="comma separated path prefixes or *.suffix")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: apps next to the caller import
    if args.log_off:
        args.log_off = [p for p in args.log_off.split(",") if p]
    try:
        app = load_app(args.app)
    except Exception as exc:
        print(f"cannot load {args.app}: {exc}", file=sys.stderr)
        return EXIT_LOAD_FAILED
    prefs = _prefs_from(args)
    return serve(app, prefs, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
