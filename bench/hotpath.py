"""In-process hot-path timer: the real worker stack without sockets.

Why: wrk numbers on this 2-core VM move by +-15 % between runs, so a change
worth 3 % cannot be seen there. This drives the same objects a worker runs
(H1Protocol -> HealthApp -> MountTable -> app, Observer with metrics, access
log with ``--log-off /``) through an in-memory transport on uvloop and prints
the wall time per request (median of several rounds). Kernel and socket
costs (the same for every server) are not included, so compare variants of
this tree with each other, never with wrk numbers.

    .venv/bin/python bench/hotpath.py asgi            # bench/apps/asgi_plain.py GET /hello
    .venv/bin/python bench/hotpath.py atila -n 50000  # Atila GET /items/42?q=x
    .venv/bin/python bench/hotpath.py flask --profile # cProfile of one round

Never used in tests: timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"

CASES = {
    "asgi": ("asgi_plain:app", b"/hello"),
    "json": ("asgi_plain:app", b"/json"),
    "atila": ("atila_app", b"/items/42?q=x"),
    "atila-hello": ("atila_app", b"/hello"),
    "flask": ("flask_app:app", b"/hello"),
    "wsgi": ("wsgi_plain:app", b"/hello"),
}


class MemoryTransport:
    """Just enough of an asyncio transport for H1Protocol, counting responses."""

    def __init__(self, on_write) -> None:
        self.on_write = on_write
        self.closing = False

    def write(self, data) -> None:
        self.on_write(data)

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass


async def _stack(spec: str):
    from skitai.cli import _serve_prefs, build_table
    from skitai.observability import health
    from skitai.observability.accesslog import AccessLog
    from skitai.observability.observer import Observer
    from skitai.server.context import ServerContext
    from skitai.server.worker import AppTable, _install_protocols

    prefs, _, _ = _serve_prefs([spec, "--log-off", "/"])
    table = build_table(prefs)
    loop = asyncio.get_running_loop()
    ctx = ServerContext(prefs, 1, None, None, loop)
    observer = Observer(ctx, AccessLog.from_prefs(prefs, 1, loop))
    ctx.observer = observer
    if not hasattr(table, "startup"):
        table = AppTable(table)
    app = health.attach(table, prefs, ctx, observer, 1)
    ctx.app = app
    _install_protocols(ctx)
    await table.startup()
    ctx.reload_limits()
    import gc

    gc.collect()
    gc.freeze()  # as the worker does after loading its apps (skitai/server/worker.py)
    if gc.get_threshold()[0] == 700:
        gc.set_threshold(2000, *gc.get_threshold()[1:])
    return ctx, app


async def _run(spec: str, target: bytes, n: int, rounds: int, profile: bool, conns: int,
               peer: str = "") -> list[float]:
    loop = asyncio.get_running_loop()
    if peer:
        factory = _peer_factory(peer, spec)
    else:
        from skitai.server.h1 import H1Protocol

        ctx, app = await _stack(spec)

        def factory():
            return H1Protocol(ctx, app)

    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n" % target
    state = {"fut": None, "left": 0}

    def on_write(data) -> None:
        # responses have a constant size (the Date header has a fixed width), so
        # counting bytes works whether a server writes head and body together or not
        state["left"] -= len(data)
        if state["left"] <= 0 and state["fut"] is not None:
            state["fut"].set_result(None)
            state["fut"] = None

    # like wrk -c64: 64 keep-alive connections, each with one request in flight
    protos = []
    for _ in range(conns):
        proto = factory()
        proto.connection_made(MemoryTransport(on_write))
        protos.append(proto)
    first = []
    probe = protos[0]
    probe.transport.on_write = first.append
    loop.call_soon(probe.data_received, request)
    await asyncio.sleep(0.2)
    probe.transport.on_write = on_write
    head = b"".join(bytes(x) for x in first)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected response: {head[:200]!r}")
    size = len(head)

    call_soon = loop.call_soon

    async def one_round() -> float:
        batches = max(1, n // conns)
        t0 = time.perf_counter()
        for _ in range(batches):
            state["left"] = conns * size
            fut = state["fut"] = loop.create_future()
            for proto in protos:  # from the loop, as a transport calls it
                call_soon(proto.data_received, request)
            await fut
        for _ in range(3):  # let the last responses finish their bookkeeping
            await asyncio.sleep(0)
        return (time.perf_counter() - t0) / (batches * conns) * 1e6

    await one_round()  # warm-up
    results = []
    if profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        await one_round()
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)
    for _ in range(rounds):
        results.append(await one_round())
    return results


def _peer_factory(peer: str, spec: str):
    """uvicorn's own httptools protocol around the same app (run with bench/.work/venv-peers)."""
    import importlib

    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    if peer == "starlette":
        spec = "starlette_app:app"
    module, attr = spec.split(":")
    app = getattr(importlib.import_module(module), attr)
    config = Config(app, http="httptools", loop="uvloop", access_log=False, lifespan="off")
    config.load()
    state = ServerState()
    return lambda: HttpToolsProtocol(config, state, {})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("-n", type=int, default=30000, help="requests per round")
    ap.add_argument("-r", "--rounds", type=int, default=7)
    ap.add_argument("-c", "--connections", type=int, default=64)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--peer", choices=["uvicorn", "starlette"], default="",
                    help="drive uvicorn's protocol instead (run with bench/.work/venv-peers/bin/python)")
    args = ap.parse_args(argv)
    sys.path[:0] = [str(APPS), str(ROOT)]
    os.chdir(APPS)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "")
    if not os.environ["PROMETHEUS_MULTIPROC_DIR"]:
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hotpath-prom-")
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    spec, target = CASES[args.case]
    if args.peer:
        sys.path.remove(str(ROOT))
    results = asyncio.run(_run(spec, target, args.n, args.rounds, args.profile, args.connections,
                                 args.peer))
    print(f"{args.case}: median {statistics.median(results):.2f} us/request "
          f"(min {min(results):.2f}, max {max(results):.2f}, {args.rounds} rounds of {args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
