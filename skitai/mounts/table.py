"""The mount table: the worker's one ASGI app, dispatching to mounted apps.

Life cycle: ``add()`` records specs (master, before fork, cheap); ``load()``
imports and adapts them (each worker, after fork); ``startup()`` /
``shutdown()`` run the ASGI lifespan of every app that has one; ``__call__``
dispatches each request.

Dispatch rules (README "Mounting"):

- Longest mount point wins; ``/v1`` matches ``/v1`` and ``/v1/...``, never
  ``/v10``. Matching uses the decoded path (``scope["path"]``).
- ``host=`` mounts (exact name, or ``*.example.com``) are tried first for
  requests with that ``Host``; mounts without a host (or ``host="default"``)
  serve every host.
- Several mounts at one point (e.g. a static dir and an app): static
  directories are asked first and serve GET/HEAD when the path names an
  existing file (or a directory with index.html); anything else goes to the
  apps. Several apps at one point (docs/mounts.md): apps that can tell
  (``app.__skitai_routable__(scope)``, Atila) are asked in mount order and the
  first that routes the path answers; the rest goes to the last mounted app
  that cannot tell (plain WSGI/ASGI), else to the last mounted app. All of it
  is decided in ``load()``: one app at a point costs one attribute test.
- The app sees ``root_path`` = mount point and ``path`` = the full path.
- Body limit per mount: ``pref.max_client_body_size`` else the global
  ``max_body_size`` (0 = none). A larger Content-Length gets 413 without
  calling the app or reading the body; a chunked body is cut off with 413
  once it crosses the limit.
"""

from __future__ import annotations

import logging
import types
from typing import Any

from .lifespan import Lifespan
from .loader import ASGI, STATIC, WSGI, MountError, load_spec, pref_get, run_config_hook
from .static import StaticFiles, cache_options
from .wsgi import WSGIAdapter
from .wsgi import queue_depth as _wsgi_queue_depth

log = logging.getLogger("skitai.mounts")

__all__ = ["MountTable", "Mount", "MountError"]


def _norm_point(point: str) -> str:
    if not isinstance(point, str) or not point.startswith("/"):
        raise MountError(str(point), "a mount point must be a path starting with '/'")
    return point.rstrip("/")  # "/" -> "" (the root matches everything)


def _norm_host(host: str | None) -> str | None:
    if host is None or host == "default" or host == "":
        return None
    host = host.strip().lower()
    if not host.startswith("[") and host.count(":") == 1:
        host = host.split(":", 1)[0]  # requests are matched on the name, without the port
    elif host.startswith("[") and "]:" in host:
        host = host[:host.index("]") + 1]
    return host.rstrip(".")


class Mount:
    """One ``skitai.mount(...)`` call: the spec, and after ``load()`` the ASGI app."""

    __slots__ = ("point", "prefix", "spec", "app_name", "pref", "host", "path", "options",
                 "kind", "app", "target", "lifespan", "max_body")

    def __init__(self, point: str, spec: Any, app_name: str, pref: Any, host: str | None,
                 path: str | None, options: dict):
        self.point = point
        self.prefix = _norm_point(point)
        self.spec = spec
        self.app_name = app_name
        self.pref = pref
        self.host = _norm_host(host)
        self.path = path
        self.options = options
        self.kind: str | None = None
        self.app: Any = None       # the ASGI app the table calls
        self.target: Any = None    # what was mounted (WSGI callable, ASGI app, directory)
        self.lifespan: Lifespan | None = None
        self.max_body = 0

    def describe(self) -> str:
        host = f" host={self.host}" if self.host else ""
        what = self.target if self.kind == STATIC else (self.spec if isinstance(self.spec, str) else
                                                       type(self.spec).__name__)
        kind = self.kind or "not loaded"
        limit = f" max_body={self.max_body}" if self.max_body and self.kind != STATIC else ""
        return f"{self.prefix or '/'}{host} -> {kind} {what}{limit}"


class _Point:
    """All mounts sharing one (host, prefix): static dirs first, then the apps.

    ``app`` answers what nothing else claims; ``routers`` are the other apps
    with their ``__skitai_routable__`` check, asked in mount order; ``mixed``
    (statics or routers) is the one flag the dispatch tests.
    """

    __slots__ = ("prefix", "statics", "app", "n", "apps", "routers", "mixed")

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.statics: list[Mount] = []
        self.app: Mount | None = None
        self.n = len(prefix)
        self.apps: list[Mount] = []
        self.routers: tuple = ()
        self.mixed = False

    def settle(self) -> None:
        """Decide once, at load time, who answers (the rule is in the module docstring)."""
        checks = [(m, getattr(m.target, "__skitai_routable__", None)) for m in self.apps]
        plain = [m for m, check in checks if not callable(check)]
        self.app = plain[-1] if plain else (self.apps[-1] if self.apps else None)
        for m in plain[:-1]:
            log.warning("mount %s: %s is never reached: %s, mounted later at the same point, cannot tell "
                        "which paths it routes and answers them all", m.point, m.describe(), self.app.describe())
        self.routers = tuple((m, check) for m, check in checks if callable(check) and m is not self.app)
        self.mixed = bool(self.statics or self.routers)


class MountTable:
    """ASGI 3 app dispatching to mounted apps; also usable under any ASGI server."""

    def __init__(self, prefs: Any = None):
        self.mounts: list[Mount] = []
        self.prefs = prefs
        self.max_ages: list[tuple[str, int]] = []
        self._hosts: dict[str | None, list[_Point]] = {}
        self._only: Mount | None = None
        self._global_limit: int | None = None
        self._threads: int | None = None
        self._late = False
        self.loaded = False
        self.started = False

    # -- recording (master) -----------------------------------------------
    def add(self, point: str, spec: Any, app_name: str = "app", pref: Any = None, host: str | None = None,
            path: str | None = None, **options: Any) -> Mount:
        """Record a mount; nothing is imported here (that happens in ``load()``, per worker).

        Options: ``max_age`` (static: int seconds or {path prefix: seconds}),
        ``interface`` ("wsgi" | "asgi", overrides detection), ``name`` (for logs),
        ``index`` (static: index file name, default index.html).
        """
        if isinstance(app_name, str) is False and pref is None and app_name is not None:
            pref, app_name = app_name, "app"  # skitai.mount('/', module, pref)
        if isinstance(spec, str) and spec.startswith("@"):
            raise MountError(point, f"reverse proxy to alias {spec!r} is not supported yet")
        module = spec[0] if isinstance(spec, tuple) and spec and isinstance(spec[0], types.ModuleType) else spec
        if isinstance(module, types.ModuleType) and callable(getattr(module, "__config__", None)):
            pref = run_config_hook(module, pref)  # may itself call skitai.mount(...)
        m = Mount(point, spec, app_name or "app", pref, host, path, options)
        self.mounts.append(m)
        self.loaded = False
        self._only = None
        return m

    def set_max_age(self, path: str, seconds: int) -> None:
        """``skitai.set_max_age('/js', 0)``: Cache-Control for static files by URL path (longest wins)."""
        path = ("/" + path.strip("/")).rstrip("/") or "/"
        self.max_ages = [kv for kv in self.max_ages if kv[0] != path] + [(path, int(seconds))]
        self.max_ages.sort(key=lambda kv: -len(kv[0]))
        for m in self.mounts:
            if isinstance(m.app, StaticFiles):
                m.app.global_max_age = self.max_ages

    def describe(self) -> list[str]:
        """One line per mount, for the startup log."""
        return [m.describe() for m in self.mounts]

    # -- loading (worker) -----------------------------------------------------
    def load(self, prefs: Any = None) -> None:
        """Resolve every spec into an ASGI app; raises MountError naming the failing mount."""
        if prefs is not None:
            self.prefs = prefs
        self._late = self.prefs is None  # adopt the server's prefs from the first request's scope
        threads = self._pref("threads", 4)
        self._threads = int(threads) if threads is not None else 4
        limit = self._pref("max_body_size", None)
        self._global_limit = int(limit) if limit is not None else None
        hosts: dict[str | None, dict[str, _Point]] = {}
        lifespans: dict[int, Lifespan] = {}
        for m in self.mounts:
            self._load_one(m)
            if m.lifespan is not None:  # one app object mounted twice has one lifespan
                m.lifespan = lifespans.setdefault(id(m.target), m.lifespan)
            points = hosts.setdefault(m.host, {})
            pt = points.get(m.prefix)
            if pt is None:
                pt = points[m.prefix] = _Point(m.prefix)
            if m.kind == STATIC:
                pt.statics.append(m)
            else:
                pt.apps.append(m)
        for pts in hosts.values():
            for pt in pts.values():
                pt.settle()
        self._hosts = {h: sorted(pts.values(), key=lambda p: -p.n) for h, pts in hosts.items()}
        # one app at / for every host (the usual container): dispatch needs no matching
        only = self._hosts.get(None) if len(self._hosts) == 1 else None
        self._only = only[0].app if only and len(only) == 1 and only[0].n == 0 and not only[0].mixed else None
        self._update_limits()
        self.loaded = True

    def _pref(self, name: str, default: Any) -> Any:
        if self.prefs is None:
            return default
        try:
            return getattr(self.prefs, name)
        except AttributeError:
            return default

    def _load_one(self, m: Mount) -> None:
        kind, obj = load_spec(m.point, m.spec, m.app_name, m.pref, m.path)
        forced = m.options.get("interface")
        if forced is not None and kind != STATIC:
            if forced not in (WSGI, ASGI):
                raise MountError(m.point, f"interface must be 'wsgi' or 'asgi', not {forced!r}")
            kind = forced
        m.kind, m.target = kind, obj
        name = m.options.get("name") or (m.spec if isinstance(m.spec, str) else type(obj).__name__)
        if kind == STATIC:
            try:
                m.app = StaticFiles(obj, max_age=m.options.get("max_age"), index=m.options.get("index", "index.html"),
                                    precompressed=m.options.get("precompressed", True),
                                    **cache_options(m.options, self.prefs))
            except (ValueError, TypeError) as exc:
                raise MountError(m.point, f"bad static options: {exc}") from None
            m.app.global_max_age = self.max_ages
        elif kind == WSGI:
            m.app = WSGIAdapter(obj, threads=self._threads, name=f"{m.point} {name}")
        else:
            m.app = obj
            m.lifespan = Lifespan(obj, f"mount {m.point!r} ({name})")

    def _update_limits(self) -> None:
        for m in self.mounts:
            own = pref_get(m.pref, "max_client_body_size")
            m.max_body = int(own) if own is not None else (self._global_limit or 0)

    @property
    def max_body_size_ceiling(self) -> int:
        """Largest per-mount body limit (-1 when some mount has none): the server's own ceiling."""
        limits = [m.max_body for m in self.mounts if m.kind != STATIC]
        if not limits:
            return 0
        if any(x <= 0 for x in limits):
            return -1
        return max(limits)

    def queue_depth(self) -> int:
        """WSGI requests waiting for a thread (metrics)."""
        return _wsgi_queue_depth()

    # -- lifespan ---------------------------------------------------------------
    async def startup(self) -> None:
        if not self.loaded:
            self.load()
        done: set[int] = set()
        for m in self.mounts:
            if m.lifespan is not None and id(m.lifespan) not in done:
                done.add(id(m.lifespan))
                await m.lifespan.startup()
        self.started = True

    async def shutdown(self) -> None:
        errors = []
        for m in reversed(self.mounts):
            if m.lifespan is not None:
                try:
                    await m.lifespan.shutdown()
                except Exception as exc:
                    errors.append(exc)
                    log.error("%s", exc)
        self.started = False
        if errors:
            raise errors[0]

    # -- dispatch ---------------------------------------------------------------
    def match(self, scope: dict) -> Mount | None:
        path = scope.get("path", "/")
        outer = scope.get("root_path")
        if outer and path.startswith(outer):
            path = path[len(outer):]  # under another ASGI server started with a root path
        hosts = self._hosts
        if len(hosts) > 1 or None not in hosts:
            host = _host_of(scope)
            candidates = []
            if host is not None:
                pts = hosts.get(host)
                if pts is None:
                    dot = host.find(".")
                    if dot > 0:
                        pts = hosts.get("*" + host[dot:])
                if pts is not None:
                    candidates.append(pts)
            if None in hosts:
                candidates.append(hosts[None])
        else:
            candidates = [hosts[None]]
        for pts in candidates:
            for pt in pts:
                p = pt.prefix
                if pt.n == 0 or path == p or (path.startswith(p) and path[pt.n] == "/"):
                    return self._pick(pt, scope)
        return None

    @staticmethod
    def _pick(pt: _Point, scope: dict) -> Mount | None:
        if pt.mixed:  # static dirs and/or several apps at this point
            return _pick_mixed(pt, scope)
        return pt.app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        await self.skitai_dispatch(scope)(scope, receive, send)

    def skitai_dispatch(self, scope: dict) -> Any:
        """The ASGI app that answers an http/websocket ``scope``, chosen synchronously.

        Why: the engine calls this before it starts the request's task and then
        runs the chosen app directly, so the table costs no coroutine layer of
        its own. Sets ``root_path`` (and ``state``) in the scope as ``__call__``
        does; refusals (404, 400, 413) come back as small ASGI apps.
        """
        m = self._only
        if m is None:
            if not self.loaded:
                self.load()
            m = self.match(scope)
            if m is None:
                return _NOT_FOUND
        elif scope.get("root_path"):  # under another ASGI server started with a root path
            m = self.match(scope)
            if m is None:
                return _NOT_FOUND
        scope["root_path"] = scope.get("root_path", "") + m.prefix
        if m.lifespan is not None and m.lifespan.supported:
            scope["state"] = dict(m.lifespan.state)
        if self._late:
            self._adopt_prefs(scope)
        limit = m.max_body
        if limit > 0 and scope["type"] == "http":
            chunked = False
            for k, v in scope.get("headers", ()):
                if k == b"content-length":
                    try:
                        n = int(v)
                    except ValueError:
                        return _BAD_LENGTH
                    return _TOO_LARGE if n > limit else m.app
                if k == b"transfer-encoding":
                    chunked = True
            # no Content-Length: a chunked HTTP/1.1 body, or HTTP/2 DATA frames
            if chunked or (scope.get("http_version") == "2" and scope.get("method") not in ("GET", "HEAD")):
                return _Guarded(m.app, limit)
        return m.app

    def _adopt_prefs(self, scope: dict) -> None:
        """load() was called without prefs: take ``threads`` and ``max_body_size`` from the
        server's prefs in the scope (``extensions.skitai.prefs``), once."""
        self._late = False
        prefs = ((scope.get("extensions") or {}).get("skitai") or {}).get("prefs")
        if prefs is None:
            return
        self.prefs = prefs
        threads = getattr(prefs, "threads", None)
        if threads is not None:
            self._threads = int(threads)
            for m in self.mounts:
                if isinstance(m.app, WSGIAdapter):
                    m.app.threads = self._threads
        limit = getattr(prefs, "max_body_size", None)
        if limit is not None:
            self._global_limit = int(limit)
            self._update_limits()

    async def _serve_lifespan(self, receive: Any, send: Any) -> None:
        """The table under another ASGI server: forward lifespan to every mounted app."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _pick_mixed(pt: _Point, scope: dict) -> Mount | None:
    """Static dirs first (GET/HEAD of an existing file), then apps that route the path, then ``pt.app``."""
    statics = pt.statics
    if statics and pt.app is None and len(statics) == 1:
        return statics[0]
    look = bool(statics) and (pt.app is None or scope.get("method") in ("GET", "HEAD"))
    root_path = scope.get("root_path", "")
    scope["root_path"] = root_path + pt.prefix  # what the app will see: its checks strip it
    try:
        if look:
            for m in statics:
                if m.app.resolve(scope) is not None:
                    return m
            if pt.app is None:
                return statics[-1]
        for m, routable in pt.routers:
            if routable(scope):
                return m
    finally:
        scope["root_path"] = root_path
    return pt.app


def _host_of(scope: dict) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == b"host":
            h = v.decode("latin-1").strip().lower()
            if h.startswith("["):
                end = h.find("]")
                return h[:end + 1] if end > 0 else h
            return h.rsplit(":", 1)[0].rstrip(".") if ":" in h else h.rstrip(".")
    server = scope.get("server")
    return str(server[0]).lower() if server else None


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _Refusal:
    """An ASGI app that answers every request with one plain-text status."""

    __slots__ = ("status", "body")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        await _plain(send, self.status, self.body)


_NOT_FOUND = _Refusal(404, b"Not Found\n")
_BAD_LENGTH = _Refusal(400, b"Bad Content-Length\n")
_TOO_LARGE = _Refusal(413, b"Request body too large\n")


class _Guarded:
    """A mounted app whose chunked request body is counted against the mount's limit."""

    __slots__ = ("app", "limit")

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        guard = _BodyGuard(receive, send, self.limit)
        await self.app(scope, guard.receive, guard.send)
        if guard.tripped and not guard.started:
            await _plain(send, 413, b"Request body too large\n")


class _BodyGuard:
    """Counts a chunked body; past the limit the app sees a disconnect and the client a 413."""

    __slots__ = ("_receive", "_send", "limit", "seen", "tripped", "started")

    def __init__(self, receive: Any, send: Any, limit: int):
        self._receive = receive
        self._send = send
        self.limit = limit
        self.seen = 0
        self.tripped = False
        self.started = False

    async def receive(self) -> dict:
        if self.tripped:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message.get("type") == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.tripped = True
                if not self.started:
                    self.started = True
                    await _plain(self._send, 413, b"Request body too large\n")
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: dict) -> None:
        if self.tripped:
            return  # the 413 (or the cut-off) already went out
        if message.get("type") == "http.response.start":
            self.started = True
        await self._send(message)
