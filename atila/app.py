"""The Atila application: registration API, life cycle and the ASGI 3 entry point."""

from __future__ import annotations

import asyncio
import functools
import inspect
import ipaddress
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from . import validation
from .config import Config
from .context import AppContext, Context, GlobalNamespace, RequestNamespace
from .errors import HttpError, NotModified
from .hooks import call_hook
from .jsonutil import JSONEncoderFactory
from .pool import ThreadPool
from .request import Request
from .response import FileBody, Response
from .routing import Route, Router, build_path, encode_query

logger = logging.getLogger("atila")

_REQUIRED: Any = object()
_EMPTY: dict = {}
_SIG_NAMES: dict[Callable, list[str]] = {}
_BODYLESS = frozenset(("GET", "HEAD", "OPTIONS"))
_NO_BODY_STATUS = frozenset((204, 304))
_DEFAULT_METHODS = frozenset(("GET",))


class Mount:
    """A module mounted on the app at ``point`` (absolute within the app)."""

    __slots__ = ("point", "module", "options", "namespace", "hooks")

    def __init__(self, point: str, module: ModuleType | None, options: dict, namespace: str) -> None:
        self.point = point
        self.module = module
        self.options = options
        self.namespace = namespace
        self.hooks: dict[str, list[Callable]] = {}

    def __repr__(self) -> str:
        return f"<Mount {self.point or '/'} {getattr(self.module, '__name__', None)}>"


class Plan:
    """How to call one route: computed once, on first use."""

    __slots__ = ("func", "is_async", "is_gen", "params", "names", "var_kw", "specs", "before",
                 "finish", "failed", "teardown", "defaults", "simple", "direct")


def _join(point: str, rule: str) -> str:
    if rule and not rule.startswith("/"):
        rule = "/" + rule
    return point + rule


def _norm_point(point: str) -> str:
    point = (point or "").strip()
    if point in ("", "/"):
        return ""
    if not point.startswith("/"):
        point = "/" + point
    return point.rstrip("/")


# Atila apps mounted in this process by module name (``context.apps``); filled at mount time.
APPS: dict[str, Atila] = {}


class Atila:
    """An Atila app: ``app = Atila(__name__)``, or returned by a package's ``__app__()``.

    It is an ASGI 3 application: the Skitai engine serves it, and so can any
    other ASGI server (``uvicorn mypkg:app``).
    """

    context_class = Context

    def __init__(self, import_name: str, root: str | None = None, **options: Any) -> None:
        self.import_name = import_name
        self.name = import_name
        self.root = root
        self.debug: bool = False
        self.use_reloader: bool = False
        self.access_control_allow_origin: list[str] | str | None = None
        self.access_control_max_age: int = 0
        self.securekey: str | None = None
        self.session_timeout: int | None = None
        self.enable_namespace: bool = True
        self.authenticate = None
        self.realm: str | None = None
        self.users: dict = {}
        self.expose_spec: bool = False
        self.trusted_proxies: str | list[str] | None = None
        self.threads: int | None = None
        self.authorization = "digest"  # documented option ("Access Atila App"); read by auth features
        self.auto_mount = True  # deprecated in 0.7 (kept so old code can set it)
        self.config = Config()
        for k, v in options.items():
            if k == "config":
                self.config.update(v)
            else:
                setattr(self, k, v)

        self.router = Router()
        self.context_extensions: dict[str, Callable[[Any], Any]] = {}
        self.r = RequestNamespace()  # older ``app.r``: the current request's context.request.g
        self.g: dict[str, Any] = GlobalNamespace()
        self.store: dict[str, Any] = {}  # app storage (documented as thread-safe dict-like: dict ops are atomic)
        self._names: dict[str, list[Route]] = {}
        self._short: dict[str, list[Route]] = {}
        self._by_func: dict[Callable, list[Route]] = {}
        self._before: list[Callable] = []
        self._finish: list[Callable] = []
        self._failed: list[Callable] = []
        self._teardown: list[Callable] = []
        self._error_handlers: dict[int, Callable] = {}
        self._default_error_handler: Callable | None = None
        self._app_hooks: dict[str, list[Callable]] = {}
        self._events: dict[str, list[Callable]] = {}
        self._unroutes: list[tuple[str, Any]] = []
        self._json = JSONEncoderFactory()
        self._enc_cache: tuple | None = None
        self._executor: ThreadPool | None = None
        self._nthreads: int | None = None
        self._trusted_cache: tuple[Any, list] | None = None
        self._cors = False

        # mounting state
        self._module: ModuleType | None = None
        self._mount_point = ""
        self._root_mount = Mount("", None, {"point": "/"}, "")
        self._current: Mount = self._root_mount
        self._mounts: list[Mount] = []
        self._pending_setup: list[Mount] = []
        self._pending_mount: list[Mount] = []
        self._deferred: list[Any] = []
        self._mount_started = False
        self._mounted = False
        self._mount_lock: asyncio.Lock | None = None
        self._umounted = False

    def __repr__(self) -> str:
        return f"<Atila {self.import_name}>"

    # ------------------------------------------------------------------
    # registration
    def route(self, rule: str, methods: list[str] | None = None, content_types: list[str] | None = None,
              **options: Any) -> Callable[[Callable], Callable]:
        """``@app.route("/documents/<int:doc_id>", methods=["GET"])``."""
        def decorator(func: Callable) -> Callable:
            self._add_route(rule, func, methods, content_types, options)
            return func
        return decorator

    def _add_route(self, rule, func, methods, content_types, options) -> Route:
        mount = self._current
        full = _join(mount.point, rule)
        ms = frozenset(m.upper() for m in methods) if methods else _DEFAULT_METHODS
        name = func.__name__
        if self.enable_namespace and mount.namespace:
            name = f"{mount.namespace}.{name}"
        route = Route(full, func, ms, content_types, options, name, mount.module, mount)
        # trailing URL parameters with defaults may be left out ("/episode" for "/episode/<int:id>")
        try:
            sig = inspect.signature(func)
            defaults = {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}
        except (TypeError, ValueError):
            defaults = {}
        route.defaults = defaults
        tail = 0
        for pname in reversed(route.param_names):
            if pname in defaults:
                tail += 1
            else:
                break
        self.router.add(route, tail)
        self._names.setdefault(name, []).append(route)
        self._short.setdefault(func.__name__, []).append(route)
        self._by_func.setdefault(func, []).append(route)
        if options.get("access_control_allow_origin"):
            self._cors = True
        ws = getattr(func, "__atila_websocket__", None)
        if ws is not None:
            from . import websocket as _ws
            _ws.register(self, func, ws[0], ws[1], ws[2], ws[3], full, *ws[4:])
        return route

    def websocket(self, spec: int, timeout: int = 60, onopen: Callable | None = None,
                  onclose: Callable | None = None, encoding: str | None = None) -> Callable[[Callable], Callable]:
        """``@app.websocket(skitai.WS_CHANNEL, 60, onopen, onclose)`` under ``@app.route``."""
        def decorator(func: Callable) -> Callable:
            routes = self._by_func.get(func)
            if routes:
                from . import websocket as _ws
                for r in routes:
                    _ws.register(self, func, spec, timeout, onopen, onclose, r.rule, encoding)
            else:
                func.__atila_websocket__ = (spec, timeout, onopen, onclose, encoding)  # type: ignore[attr-defined]
            return func
        return decorator

    websocket_config = websocket  # the 0.26 name

    def websocket_send(self, client_id: int, message: Any) -> bool:
        """Push ``message`` to the websocket ``client_id`` of this worker (any thread)."""
        from . import websocket as _ws
        return _ws.send_to(client_id, message)

    def inspect(self, scope: Any = None, required: list[str] | None = None, *args: Any,
                **rules: Any) -> Callable[[Callable], Callable]:
        """``@app.inspect("ARGS", ["id"], ints=["id"], a__gte=5)``; several may stack."""
        spec = validation.make_spec(scope, required, *args, **rules)

        def decorator(func: Callable) -> Callable:
            specs = func.__dict__.setdefault("__atila_inspect__", [])
            specs.insert(0, spec)
            for r in self._by_func.get(func, ()):
                r.plan = None
            return func
        return decorator

    require = inspect
    test_params = inspect
    test_param = inspect

    # request hooks (decorators) -------------------------------------------------
    def before_request(self, func: Callable) -> Callable:
        self._before.append(func)
        self._reset_plans()
        return func

    def finish_request(self, func: Callable) -> Callable:
        self._finish.append(func)
        self._reset_plans()
        return func

    def failed_request(self, func: Callable) -> Callable:
        self._failed.append(func)
        self._reset_plans()
        return func

    def teardown_request(self, func: Callable) -> Callable:
        self._teardown.append(func)
        self._reset_plans()
        return func

    def run(self, **kwargs: Any) -> None:
        """``app.run(port=5000)`` (added in 0.9): serve this app alone at / with the Skitai engine."""
        import skitai

        skitai.mount("/", self)
        skitai.run(**kwargs)

    def test_client(self, point: str = "/", approot: str = ".", numthreads: int = 1) -> Any:
        """The oldest documented harness: an in-process client (``with app.test_client("/", approot=".")
        as cli: cli.get("/")``, ``cli.api().apis.pets(45).get().data``). Newer tests use
        ``skitai.test_client(script)``."""
        from .testclient import AppTestClient

        self.threads = numthreads if self.threads is None else self.threads
        if point and point != "/":
            self._mount_point = point.rstrip("/")
        return AppTestClient(self, root_path=self._mount_point.rstrip("/"))

    # event bus: request life-cycle events ([001] names, [000] atila.request_* constants) and app events
    def on(self, *events: str) -> Callable[[Callable], Callable]:
        """``@app.on("request:failed")``: request life-cycle events are listeners on the request hooks
        (what they return is ignored); any other name is an app event fired by ``app.emit``."""
        def decorator(func: Callable) -> Callable:
            for event in events:
                hook = _REQUEST_EVENTS.get(event)
                if hook is not None:
                    getattr(self, hook).append(_listener(func))
                    self._reset_plans()
                else:
                    self._events.setdefault(event, []).append(func)
            return func
        return decorator

    def emit(self, event: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call the listeners of an app event in registration order; returns what they returned."""
        return [fn(*args, **kwargs) for fn in self._events.get(event, ())]

    def default_error_handler(self, func: Callable) -> Callable:
        self._default_error_handler = func
        return func

    def error_handler(self, code: int) -> Callable[[Callable], Callable]:
        def decorator(func: Callable) -> Callable:
            self._error_handlers[int(code)] = func
            return func
        return decorator

    errorhandler = error_handler

    # app life-cycle decorators (older style)
    def _app_hook(self, name: str) -> Callable[[Callable], Callable]:
        def decorator(func: Callable) -> Callable:
            self._app_hooks.setdefault(name, []).append(func)
            return func
        return decorator

    def mounted(self, func: Callable) -> Callable:
        return self._app_hook("mounted")(func)

    def before_umount(self, func: Callable) -> Callable:
        return self._app_hook("before_umount")(func)

    def umounted(self, func: Callable) -> Callable:
        return self._app_hook("umounted")(func)

    def before_mount(self, func: Callable) -> Callable:
        """Older app hook: runs first, before any module hook."""
        return self._app_hook("before_mount")(func)

    def mounted_or_reloaded(self, func: Callable) -> Callable:
        """Older app hook: runs right after the ``mounted`` functions (and would after a reload)."""
        return self._app_hook("mounted_or_reloaded")(func)

    def before_reload(self, func: Callable) -> Callable:
        """Older app hook, kept for compatibility: code reloads restart the worker, so it is never called."""
        return self._app_hook("before_reload")(func)

    def reloaded(self, func: Callable) -> Callable:
        """Older app hook, kept for compatibility: code reloads restart the worker, so it is never called."""
        return self._app_hook("reloaded")(func)

    def run_before(self, *preworks: Callable) -> Callable[[Callable], Callable]:
        """``@app.run_before(pre1, pre2)`` under ``@app.route``: each ``pre(context)`` runs before the
        handler; the first that returns something other than None is the response."""
        def decorator(func: Callable) -> Callable:
            if inspect.iscoroutinefunction(func):  # then the preworks may be async too
                @functools.wraps(func)
                async def awrapper(context, *args, **kwargs):
                    for pre in preworks:
                        r = await _maybe(pre(context))
                        if r is not None:
                            return r
                    return await _maybe(func(context, *args, **kwargs))
                return awrapper

            @functools.wraps(func)
            def wrapper(context, *args, **kwargs):
                for pre in preworks:
                    r = pre(context)
                    if r is not None:
                        return r
                return func(context, *args, **kwargs)
            return wrapper
        return decorator

    def run_after(self, *postworks: Callable) -> Callable[[Callable], Callable]:
        """``@app.run_after(post1)`` under ``@app.route``: each ``post(context)`` runs after the handler
        returned (not when it raised); what they return is ignored."""
        def decorator(func: Callable) -> Callable:
            if inspect.iscoroutinefunction(func):
                @functools.wraps(func)
                async def awrapper(context, *args, **kwargs):
                    r = await _maybe(func(context, *args, **kwargs))
                    for post in postworks:
                        await _maybe(post(context))
                    return r
                return awrapper

            @functools.wraps(func)
            def wrapper(context, *args, **kwargs):
                r = func(context, *args, **kwargs)
                for post in postworks:
                    post(context)
                return r
            return wrapper
        return decorator

    def unroute(self, pattern: str, status: str | int = 404) -> None:
        """``app.unroute('/examples/*', 404)``: rules matching the glob (on the full rule) answer ``status``
        instead of calling their handler (for routes an inherited or mounted module brought in)."""
        self._unroutes.append((pattern, status))
        self._apply_unroutes()

    def _apply_unroutes(self) -> None:
        if not self._unroutes:
            return
        import fnmatch

        for r in self.router.routes:
            if getattr(r.func, "__atila_unrouted__", False):
                continue
            for pattern, status in self._unroutes:
                if fnmatch.fnmatchcase(r.rule, pattern) or fnmatch.fnmatchcase(r.rule, pattern.rstrip("/") + "/"):
                    r.func = _unrouted(status)
                    r.plan = None
                    break

    def _reset_plans(self) -> None:
        for r in self.router.routes:
            r.plan = None

    # ------------------------------------------------------------------
    # mounting
    def mount(self, point: Any, *modules: ModuleType, **options: Any) -> None:
        """Mount modules whose ``__mount__`` defines routes at ``point`` (relative to the caller's point)."""
        if not isinstance(point, str):
            modules = (point, *modules)
            point = ""
        if self._current is not self._root_mount or self._mount_started:
            base = self._current.point
        else:
            base = ""
        full = base + _norm_point(point)
        for module in modules:
            if isinstance(module, (str, os.PathLike)):
                self._mount_directory(full, os.fspath(module))  # [001] app.mount('/static', '/var/www/static')
                continue
            ns = options.get("ns")
            if ns is None:
                ns = self._namespace_of(module)
            opts = dict(options)
            opts["point"] = full or "/"
            if options.get("debug_only") and not self.debug:
                continue
            try:
                module.__mntopt__ = opts  # type: ignore[attr-defined]
            except (AttributeError, TypeError):
                pass
            m = Mount(full, module, opts, ns)
            self._mounts.append(m)
            self._pending_setup.append(m)
        if self._mounted:
            # a late mount (after start-up): run its hooks now
            self._drive_sync()

    def _mount_directory(self, point: str, root: str) -> None:
        """Serve the files under ``root`` at ``point`` (GET/HEAD, with Static's ETag/304/Range)."""
        root = os.path.abspath(root if os.path.isabs(root) else os.path.join(self.root or self._root_dir(), root))

        def static_files(context: Any, path: str = "") -> Any:
            target = os.path.normpath(os.path.join(root, path))
            if not path or not target.startswith(root + os.sep) or not os.path.isfile(target):
                raise HttpError("404 Not Found")
            return context.Static(target)

        static_files.__name__ = "static_files_" + (point.strip("/").replace("/", "_") or "root")
        prev, self._current = self._current, self._root_mount
        try:
            self._add_route((point.rstrip("/") or "") + "/<path:path>", static_files, ["GET"], None, {})
        finally:
            self._current = prev
        self._reset_plans()

    def _namespace_of(self, module: ModuleType) -> str:
        name = getattr(module, "__name__", "") or ""
        base = self.import_name
        if name == base:
            return ""
        if base and name.startswith(base + "."):
            name = name[len(base) + 1:]
        if "services." in name:
            name = name.split("services.", 1)[1]
        elif name.startswith("services"):
            name = name[len("services"):].lstrip(".")
        return name

    def _app_module(self) -> ModuleType | None:
        if self._module is not None:
            return self._module
        mod = sys.modules.get(self.import_name)
        if mod is not None and any(hasattr(mod, h) for h in ("__setup__", "__mount__", "__app__")):
            return mod
        return None

    def _mount_steps(self):
        """Generator of the mount sequence; yields awaitables returned by async hooks."""
        ctx = AppContext(self)
        if not self._mount_started:
            self._mount_started = True
            for fn in self._app_hooks.get("before_mount", ()):
                r = fn(ctx)
                if inspect.isawaitable(r):
                    yield r
            root = self._root_mount
            root.module = self._app_module()
            root.options = {"point": self._mount_point or "/"}
            if root.module is not None:
                yield from self._call_module_hook(ctx, root, "__setup__")
            self._pending_mount.append(root)
        while self._pending_setup or self._pending_mount:
            while self._pending_setup:
                m = self._pending_setup.pop(0)
                yield from self._call_module_hook(ctx, m, "__setup__")
                self._pending_mount.append(m)
            while self._pending_mount and not self._pending_setup:
                m = self._pending_mount.pop(0)
                yield from self._call_module_hook(ctx, m, "__mount__")
                yield from self._call_module_hook(ctx, m, "__mounted__")
                self._collect_request_hooks(m)
        if not self._deferred:  # otherwise the async pass (lifespan start-up) finishes the sequence
            for name in ("mounted", "mounted_or_reloaded"):
                for fn in self._app_hooks.get(name, ()):
                    r = fn(ctx)
                    if inspect.isawaitable(r):
                        yield r
        self._apply_unroutes()
        self._reset_plans()

    def _call_module_hook(self, ctx, mount: Mount, name: str):
        fn = getattr(mount.module, name, None) if mount.module is not None else None
        if fn is None:
            return
        prev = self._current
        self._current = mount
        try:
            r = call_hook(fn, AppContext(self, mount.options), self, mount.options)
        finally:
            self._current = prev
        if inspect.isawaitable(r):
            # routes and mounts made after the hook's first await still belong to this module
            yield self._within(mount, r)

    async def _within(self, mount: Mount, awaitable: Any) -> Any:
        prev = self._current
        self._current = mount
        try:
            return await awaitable
        finally:
            self._current = prev

    def _collect_request_hooks(self, mount: Mount) -> None:
        mod = mount.module
        if mod is None:
            return
        for name in ("__request__", "__wrapup__", "__error__", "__teardown__"):
            fn = getattr(mod, name, None)
            if fn is not None:
                mount.hooks[name] = [fn]

    def _drive_sync(self) -> None:
        """Run the mount sequence now; awaitables of async hooks wait for lifespan start-up."""
        gen = self._mount_steps()
        for awaitable in gen:
            self._deferred.append(awaitable)
        if not self._deferred:
            self._mounted = True

    async def _ensure_mounted(self) -> None:
        if self._mounted:
            return
        if self._mount_lock is None:
            self._mount_lock = asyncio.Lock()
        async with self._mount_lock:
            if self._mounted:
                return
            while self._deferred:
                await self._deferred.pop(0)
            for awaitable in self._mount_steps():
                await awaitable
            while self._deferred:
                await self._deferred.pop(0)
            self._mounted = True

    def __skitai_mount__(self, module: ModuleType | None = None, point: str = "/", pref: Any = None) -> None:
        """Called by the Skitai loader after ``__app__()`` and pref overrides: run the mount hooks."""
        if module is not None:
            self._module = module
        self._mount_point = point or "/"  # pref overrides were applied by the loader already
        self.register()
        engine = sys.modules.get("skitai")
        prefs = getattr(engine, "_prefs", None)
        pref_sets_debug = pref is not None and hasattr(pref, "is_set") and pref.is_set("debug")
        if prefs is not None and getattr(prefs, "debug", False) and not pref_sets_debug:
            self.debug = True  # ``--devel`` (engine debug): tracebacks in error responses unless pref says no
        if not self._mount_started:
            # [000] ``bootstrap(pref)`` next to the app file already ran in the engine's loader
            # (skitai.mounts.loader.run_bootstrap), for every kind of app, before the pref was applied
            self._drive_sync()

    def apply_pref(self, pref: Any, only_missing: bool = False) -> None:
        """Copy ``skitai.pref()`` attributes and ``pref.config`` onto the app."""
        attrs = getattr(pref, "__dict__", None) or {}
        for k, v in attrs.items():
            if k.startswith("_"):
                continue
            if k == "config":
                if isinstance(v, dict):
                    for ck, cv in v.items():
                        self.config[ck] = cv
                continue
            if only_missing and hasattr(self, k) and getattr(self, k) not in (None, False, 0, "", [], {}):
                continue
            setattr(self, k, v)
            if k == "max_client_body_size" and v and "MAX_UPLOAD_SIZE" not in (getattr(pref, "config", None) or {}):
                # the documented way to allow big POST bodies (``2 << 32``) must not stop at Atila's default
                self.config["MAX_UPLOAD_SIZE"] = int(v)

    async def _umount(self) -> None:
        if self._umounted:
            return
        self._umounted = True
        ctx = AppContext(self)
        for fn in self._app_hooks.get("before_umount", ()):
            await _maybe(fn(ctx))
        mounts = [self._root_mount] + self._mounts
        for hook in ("__umount__", "__umounted__"):
            for m in reversed(mounts):
                fn = getattr(m.module, hook, None) if m.module is not None else None
                if fn is None:
                    continue
                try:
                    await _maybe(call_hook(fn, AppContext(self, m.options), self, m.options))
                except Exception:
                    logger.exception("%s of %s failed", hook, getattr(m.module, "__name__", m))
        for fn in self._app_hooks.get("umounted", ()):
            await _maybe(fn(ctx))
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    # ------------------------------------------------------------------
    # URL building
    def register(self) -> None:
        """Make this app known to the other apps of the process by its module name (``search`` for
        search.py): ``context.apps["search"]`` and ``urlfor("search:query", ...)`` (same host only)."""
        APPS[self.import_name] = self
        APPS[self.import_name.rsplit(".", 1)[-1]] = self

    def _find_routes(self, target: Any) -> list[Route]:
        if callable(target) and not isinstance(target, str):
            routes = self._by_func.get(target)
            if routes:
                return routes
            raise LookupError(f"{getattr(target, '__name__', target)!r} is not a routed function")
        name = str(target)
        routes = self._names.get(name) or self._short.get(name)
        if not routes and "." in name:
            routes = self._short.get(name.rsplit(".", 1)[1])
            routes = [r for r in routes or () if r.name.endswith(name)]
        if not routes:
            raise LookupError(f"no route named {name!r}")
        return routes

    def build_url(self, target: Any, *args: Any, _root: str | None = None, **kwargs: Any) -> str:
        """``urlfor``: path parameters from args/kwargs, other function parameters spill into the query.
        ``"app:route"`` builds the URL of a route of another app mounted in the same process."""
        if isinstance(target, str) and ":" in target:
            app_name, _, target = target.partition(":")
            other = APPS.get(app_name)
            if other is None:
                raise LookupError(f"no app named {app_name!r} is mounted (known: {sorted(APPS)})")
            return other.build_url(target, *args, **kwargs)
        routes = self._find_routes(target)
        root = self._mount_point.rstrip("/") if _root is None else _root
        last_err: Exception | None = None
        for route in routes:
            sig_names = _SIG_NAMES.get(route.func)
            if sig_names is None:
                try:
                    sig_names = _param_names(route.func)
                except (TypeError, ValueError):
                    sig_names = []
                _SIG_NAMES[route.func] = sig_names
            values: dict[str, Any] = {}
            order = list(route.param_names) + [n for n in sig_names if n not in route.param_names]
            if len(args) > len(order):
                last_err = TypeError(f"too many arguments for {route.name}")
                continue
            for n, v in zip(order, args, strict=False):
                values[n] = v
            values.update(kwargs)
            try:
                path, used = build_path(route, values)
            except KeyError as e:
                last_err = LookupError(f"missing URL parameter {e.args[0]!r} for {route.name}")
                continue
            query = {k: v for k, v in values.items() if k not in used and k not in route.param_names}
            qs = encode_query(query)
            return (root + path) + (f"?{qs}" if qs else "")
        raise last_err or LookupError(str(target))

    def base_path(self, target: Any) -> str:
        route = self._find_routes(target)[0]
        out = []
        for kind, value in route.segments:
            if kind != "lit":
                break
            out.append(value)
        return "".join(out)

    # ------------------------------------------------------------------
    # plans
    def _plan(self, route: Route) -> Plan:
        p = Plan()
        func = route.func
        p.func = func
        target = inspect.unwrap(func)
        p.is_async = inspect.iscoroutinefunction(target)
        p.is_gen = inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target)
        params: list[tuple[str, Any]] = []
        var_kw = False
        try:
            sig_params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            sig_params = []
        for i, prm in enumerate(sig_params):
            if i == 0 and prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD):
                continue  # context / was
            if prm.kind == prm.VAR_KEYWORD:
                var_kw = True
            elif prm.kind == prm.VAR_POSITIONAL:
                continue
            else:
                params.append((prm.name, _REQUIRED if prm.default is prm.empty else prm.default))
        p.params = params
        p.names = frozenset(n for n, _ in params)
        p.var_kw = var_kw
        p.defaults = {n: d for n, d in params if d is not _REQUIRED}
        p.specs = list(getattr(func, "__atila_inspect__", ()))
        mh = route.mount.hooks if route.mount is not None else {}
        root_h = self._root_mount.hooks if route.mount is not self._root_mount else {}

        def module_hooks(name):
            return list(root_h.get(name, ())) + list(mh.get(name, ()))
        app = self
        before = list(self._before)
        for fn in module_hooks("__request__"):
            before.append(functools.partial(_mod_hook, fn, app, route))
        finish = [functools.partial(_plain_finish, fn) for fn in self._finish]
        for fn in module_hooks("__wrapup__"):
            finish.append(functools.partial(_mod_hook, fn, app, route))
        failed = list(self._failed)
        for fn in module_hooks("__error__"):
            failed.append(functools.partial(_mod_error, fn, app, route))
        teardown = list(self._teardown)
        for fn in module_hooks("__teardown__"):
            teardown.append(functools.partial(_mod_hook, fn, app, route))
        p.before, p.finish, p.failed, p.teardown = before, finish, failed, teardown
        p.simple = not (before or finish or failed or teardown)
        # a GET needs nothing but the handler call (see _handle)
        p.direct = p.simple and p.is_async and route.content_types is None
        route.plan = p
        return p

    # ------------------------------------------------------------------
    # helpers used by the request path
    def _get_executor(self, scope: dict) -> ThreadPool | None:
        ex = self._executor
        if ex is None:
            n = self.threads
            if n is None:
                prefs = (scope.get("extensions") or {}).get("skitai", {}).get("prefs") \
                    if isinstance(scope.get("extensions"), dict) else None
                n = getattr(prefs, "threads", None) if prefs is not None else None
                if n is None:
                    n = 4
            self._nthreads = int(n)
            if self._nthreads <= 0:
                return None
            ex = self._executor = ThreadPool(self._nthreads, f"atila-{self.import_name}")
        return ex

    def _trusted_networks(self, scope: dict) -> list:
        src = self.trusted_proxies
        if src is None:
            ext = scope.get("extensions") or {}
            prefs = ext.get("skitai", {}).get("prefs") if isinstance(ext, dict) else None
            src = getattr(prefs, "trusted_proxies", None) if prefs is not None else None
        if src is None:
            src = "127.0.0.1,::1"
        cached = self._trusted_cache
        if cached is not None and cached[0] == src:
            return cached[1]
        items = src.split(",") if isinstance(src, str) else list(src)
        nets = []
        for it in items:
            it = str(it).strip()
            if not it:
                continue
            if it == "*":  # every peer, as the engine's preference
                nets += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
                continue
            try:
                nets.append(ipaddress.ip_network(it, strict=False))
            except ValueError:
                logger.warning("ignoring bad trusted proxy %r", it)
        self._trusted_cache = (src, nets)
        return nets

    def resolve_path(self, path: str, static: bool = False) -> str:
        """A file path for ``File`` / ``Static``. ``Static`` also takes a URL (``Static('/robots.txt')``,
        ``Static('/static/a.css')``): an absolute path that is not a file is looked up under
        ``STATIC_ROOT`` (without ``STATIC_URL``), and without ``STATIC_ROOT`` the app's ``static/`` directory
        is tried first. A URL never resolves outside its root."""
        if os.path.isabs(path):
            if not static or os.path.exists(path):
                return path
            url = path
            prefix = self.config.get("STATIC_URL") or "/static/"
            if url.startswith(prefix):
                url = url[len(prefix):]
            path = url.lstrip("/")
            if ".." in path.replace("\\", "/").split("/"):
                raise HttpError("404 Not Found", "no such file")
        base = None
        if static and self.config.get("STATIC_ROOT"):
            base = self.config["STATIC_ROOT"]
        if base is None:
            base = self.root or self._root_dir()
            if static:
                candidate = os.path.join(base, "static", path)
                if os.path.isfile(candidate):
                    return candidate
        return os.path.join(base, path)

    def _root_dir(self) -> str:
        mod = sys.modules.get(self.import_name)
        f = getattr(mod, "__file__", None)
        return os.path.dirname(os.path.abspath(f)) if f else os.getcwd()

    def _encoder(self):
        cfg = self.config
        key = (cfg.get("JSON_ENCODER") or "utcoffset", bool(cfg.get("PRETTY_JSON")))
        cached = self._enc_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        enc = self._json.get(*key)
        self._enc_cache = (key, enc)
        return enc

    # ------------------------------------------------------------------
    # ASGI
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        t = scope["type"]
        if t == "http":
            if not self._mounted:
                await self._ensure_mounted()
            await self._handle(scope, receive, send)
        elif t == "websocket":
            if not self._mounted:
                await self._ensure_mounted()
            from .websocket import dispatch
            await dispatch(self, scope, receive, send)
        elif t == "lifespan":
            await self._lifespan(scope, receive, send)

    async def _lifespan(self, scope, receive, send) -> None:
        while True:
            msg = await receive()
            mt = msg["type"]
            if mt == "lifespan.startup":
                try:
                    await self._ensure_mounted()
                except Exception as e:
                    logger.exception("start-up of %s failed", self.import_name)
                    await send({"type": "lifespan.startup.failed", "message": f"{type(e).__name__}: {e}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif mt == "lifespan.shutdown":
                try:
                    await self._umount()
                except Exception as e:
                    logger.exception("shutdown of %s failed", self.import_name)
                    await send({"type": "lifespan.shutdown.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    def resolve(self, scope: dict):
        """(route, path params, app-relative path, allowed methods) for a scope; used by websocket."""
        path = scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root):]
        method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
        route, params, allowed = self.router.lookup(path, method)
        return route, params, path, allowed

    def __skitai_routable__(self, scope: dict) -> bool:
        """Engine protocol (docs/mounts.md, several apps at one point): does a route of this app
        answer the path (with any method: a 405 or the trailing-slash 301 is ours too)? When not,
        a plain WSGI/ASGI app mounted at the same point (Django beside Atila) answers it."""
        route, _params, path, allowed = self.resolve(scope)
        return route is not None or bool(allowed) or (not path.endswith("/") and self.router.has_static(path + "/"))

    async def _handle(self, scope: dict, receive, send) -> None:
        path = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root):]
        method = scope["method"]
        route, params, allowed = self.router.lookup(path, method)
        request = Request(scope, receive, path, self)
        ctx = self.context_class(self, request)
        try:
            if route is None:
                await self._no_route(ctx, path, method, allowed, send)
                return
            request.routed = route.func
            request.routable = route
            request.PARAMS = params
            plan = route.plan or self._plan(route)
            if plan.direct and method == "GET" and not _has_body(scope):
                # the common case: a hook-free async handler, a GET without a body
                content = await plan.func(ctx, **self._bind(plan, request))
            else:
                content = await self._handle_slow(scope, method, route, plan, ctx, request, params)
            resp = content if type(content) is Response else self._finalize(ctx, content)
        except ConnectionAbortedError:
            return
        except Exception as exc:
            resp = await self._error_response(ctx, exc)
        if self._cors or self.access_control_allow_origin:
            self._add_cors(ctx, resp, request.routable)
        g = request._g
        hints = g.__dict__.get("_early_hints") if g is not None else None
        if hints and "http.response.early_hint" in (scope.get("extensions") or {}):
            # context.push / hint_promise: 103 Early Hints (see docs/architecture.md: no HTTP/2 push)
            await send({"type": "http.response.early_hint",
                        "links": [f"<{u}>; rel=preload".encode("latin-1") for u in hints]})
        await self._send(resp, send, method == "HEAD", scope.get("extensions"))

    async def _handle_slow(self, scope: dict, method: str, route: Route, plan: Plan, ctx: Context,
                           request: Request, params: dict) -> Any:
        """Everything a route may need beyond the common GET: preflight, content types, body, hooks."""
        if method == "OPTIONS" and route.allow_options:
            return self._preflight(ctx, route)
        if route.content_types is not None:
            self._check_content_type(request, route)
        if method not in _BODYLESS or _has_body(scope):
            limit = self.config.get("MAX_UPLOAD_SIZE") or 0
            await request._read_body(limit)
        if route.int_params and method != "GET":
            for n in route.int_params:
                if params.get(n) == "notme":
                    raise HttpError("421 Misdirected Request", "'notme' is allowed only with GET")
        if plan.simple and plan.is_async:  # no hooks: call the handler right here
            return await plan.func(ctx, **self._bind(plan, request))
        return await self._run(plan, ctx, request, scope)

    async def _no_route(self, ctx, path: str, method: str, allowed, send) -> None:
        request = ctx.request
        scope = request.scope
        send_path = None
        if allowed:
            err = HttpError("405 Method Not Allowed", f"{method} is not allowed for {scope['path']}",
                            headers=[("Allow", ", ".join(sorted(set(allowed))))])
            raise_exc: Exception = err
        elif not path.endswith("/") and self.router.has_static(path + "/"):
            qs = scope.get("query_string") or b""
            send_path = (request.root_path + path + "/") + (f"?{qs.decode('latin-1')}" if qs else "")
            resp = Response(301, "Moved Permanently", request)
            resp.set_header("Location", send_path)
            resp.body = b""
            await self._send(resp, send, False)
            return
        else:
            raise_exc = HttpError("404 Not Found", f"{scope['path']} is not found")
        resp = await self._error_response(ctx, raise_exc)
        if self._cors or self.access_control_allow_origin:
            self._add_cors(ctx, resp, None)
        await self._send(resp, send, method == "HEAD")

    def _check_content_type(self, request: Request, route: Route) -> None:
        ct = request.get_content_type()
        if ct is None and request.method in _BODYLESS and not _has_body(request.scope):
            return
        if ct not in route.content_types:
            raise HttpError("415 Unsupported Media Type",
                            f"content type {ct or 'none'} is not one of {', '.join(sorted(route.content_types))}")

    async def _run(self, plan: Plan, ctx: Context, request: Request, scope: dict) -> Any:
        if plan.simple:
            kwargs = self._bind(plan, request)
            if plan.is_async:
                return await plan.func(ctx, **kwargs)
            return await self._call(plan, ctx, kwargs, scope)
        content = None
        try:
            try:
                for h in plan.before:
                    r = h(ctx)
                    if inspect.isawaitable(r):
                        r = await r
                    if r is not None:
                        return r
                kwargs = self._bind(plan, request)
                content = await self._call(plan, ctx, kwargs, scope)
            except Exception:
                exc_info = sys.exc_info()
                if not plan.failed:
                    raise
                content = None
                for h in plan.failed:
                    r = h(ctx, exc_info)
                    if inspect.isawaitable(r):
                        r = await r
                    if r is not None:
                        content = r
                        break
                if content is None:
                    raise
            else:
                for h in plan.finish:
                    r = h(ctx, content)
                    if inspect.isawaitable(r):
                        await r
        finally:
            for h in plan.teardown:
                try:
                    r = h(ctx)
                    if inspect.isawaitable(r):
                        await r
                except Exception:
                    logger.exception("teardown hook failed")
        return content

    def _bind(self, plan: Plan, request: Request) -> dict[str, Any]:
        if plan.defaults:
            request.DEFAULT = plan.defaults
        if not plan.params and not plan.var_kw and not plan.specs:
            if request.scope.get("query_string") and request.URL:
                raise _arg_error("undeclared", sorted(request.URL))
            return {}
        if not plan.var_kw and not plan.specs and not request._body:
            # the common GET: path parameters, then the query string, then defaults
            path_params = request.PARAMS
            qs = request.scope.get("query_string")
            url = (request._query if request._query is not None else request.URL) if qs else _EMPTY
            kwargs = {}
            missing = None
            for name, default in plan.params:
                if name in path_params:
                    kwargs[name] = path_params[name]
                elif name in url:
                    kwargs[name] = url[name]
                elif default is _REQUIRED:
                    if missing is None:
                        missing = []
                    missing.append(name)
            if missing:
                raise _arg_error("missing", missing)
            if url and not plan.names.issuperset(url):
                names = plan.names
                raise _arg_error("undeclared", [k for k in url if k not in names])
            return kwargs
        args = request.ARGS
        for spec in plan.specs:
            scope = spec.scope
            group = args if scope == "ARGS" else getattr(request, scope)
            if not isinstance(group, dict):
                group = {}
            spec.run(request, group, args)
        kwargs: dict[str, Any] = {}
        missing = None
        for name, default in plan.params:
            if name in args:
                kwargs[name] = args[name]
            elif default is _REQUIRED:
                if missing is None:
                    missing = []
                missing.append(name)
        if missing:
            raise _arg_error("missing", missing)
        if plan.var_kw:
            names = plan.names
            for k, v in args.items():
                if k not in names:
                    kwargs[k] = v
        elif request.scope.get("query_string"):
            extra = [k for k in request.URL if k not in plan.names]
            if extra:
                raise _arg_error("undeclared", extra)
        return kwargs

    async def _call(self, plan: Plan, ctx: Context, kwargs: dict, scope: dict) -> Any:
        func = plan.func
        if plan.is_async:
            return await func(ctx, **kwargs)
        if plan.is_gen:
            return func(ctx, **kwargs)
        ex = self._executor or self._get_executor(scope)
        if ex is None:
            return func(ctx, **kwargs)
        if kwargs:
            return await ex.run(asyncio.get_running_loop(), functools.partial(func, ctx, **kwargs))
        return await ex.run(asyncio.get_running_loop(), func, ctx)

    # ------------------------------------------------------------------
    # responses
    def _finalize(self, ctx: Context, content: Any) -> Response:
        if isinstance(content, Response):
            return content
        resp = ctx._response
        if resp is None:
            resp = ctx._response = Response(request=ctx.request)
        if content is None:
            if resp.json is None and resp.body is None and not resp.explicit:
                resp.status, resp.reason = 204, "No Content"
            return resp
        if isinstance(content, str):
            resp.body = content.encode("utf-8")
            if resp.get_header("content-type") is None:
                resp.headers.append(("Content-Type", "text/html; charset=utf-8"))
        elif isinstance(content, (bytes, bytearray, memoryview)):
            resp.body = bytes(content)
            if resp.get_header("content-type") is None:
                resp.headers.append(("Content-Type", "application/octet-stream"))
        elif isinstance(content, (dict, list, tuple)):
            resp.json = content
        elif isinstance(content, HttpError):
            raise content
        elif isinstance(content, (int, float, bool)):
            resp.json = content
        elif hasattr(content, "__aiter__") or hasattr(content, "__next__") or hasattr(content, "read"):
            resp.body = content
            if resp.get_header("content-type") is None:
                resp.headers.append(("Content-Type", "text/html; charset=utf-8"))
        elif hasattr(content, "__iter__"):
            resp.body = iter(content)
        elif hasattr(content, "more"):  # a seed-era producer: more() until it returns b""
            resp.body = _producer_chunks(content)
            if resp.get_header("content-type") is None:
                resp.headers.append(("Content-Type", "text/html; charset=utf-8"))
        else:
            raise TypeError(f"a handler returned {type(content).__name__}, which is not a response")
        return resp

    async def _error_response(self, ctx: Context, exc: BaseException) -> Response:
        request = ctx.request
        if isinstance(exc, AssertionError) and exc.args and isinstance(exc.args[0], HttpError):
            exc = exc.args[0]  # documented: ``assert cond, was.Error("400 Not My Fault", "...")``
        if isinstance(exc, NotModified):
            resp = Response(304, "Not Modified", request)
            resp.headers.extend(exc.headers)
            resp.body = b""
            return resp
        tb = None
        if isinstance(exc, HttpError):
            status, reason, detail = exc.status, exc.reason, exc.detail
            if status >= 500:
                logger.error("%s %s -> %s (gtxnid %s)", request.method, request.uri, status, request.gtxnid,
                             exc_info=(type(exc), exc, exc.__traceback__))
        else:
            status, reason = 500, "Internal Server Error"
            detail = f"{type(exc).__name__}: {exc}" if self.debug else "the server log has the details"
            logger.error("%s %s failed (gtxnid %s)", request.method, request.uri, request.gtxnid,
                         exc_info=(type(exc), exc, exc.__traceback__))
        if self.debug and exc.__traceback__ is not None:
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        forced = getattr(exc, "exc_info", None)
        if forced is not None and forced[0] is not None:
            tb = traceback.format_exception(*forced)
        error: dict[str, Any] = {"code": status, "message": reason, "detail": detail}
        if isinstance(exc, HttpError) and exc.errno is not None:
            error["errno"] = exc.errno
        if isinstance(exc, validation.ValidationError):
            error["field"] = exc.field
            error["rule"] = exc.rule
        if isinstance(exc, HttpError) and getattr(exc, "args_info", None):
            error.update(exc.args_info)
        if status >= 500:
            error["gtxnid"] = request.gtxnid
        if tb is not None:
            error["traceback"] = tb
        handler = self._error_handlers.get(status) or self._default_error_handler
        resp = Response(status, reason, request)
        if isinstance(exc, HttpError):
            resp.headers.extend(exc.headers)
        if handler is not None:
            full = dict(error)
            full.update({"mode": "debug" if self.debug else "normal", "debug": self.debug,
                         "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                         "url": request.uri, "software": "Atila", "errno": error.get("errno"),
                         "traceback": tb})
            try:
                r = handler(ctx, full)
                if inspect.isawaitable(r):
                    r = await r
                if r is not None:
                    if isinstance(r, Response):
                        if not r.explicit:
                            r.status, r.reason = status, reason
                        return r
                    ctx._response = resp
                    out = self._finalize(ctx, r)
                    out.status, out.reason = status, reason
                    return out
            except Exception:
                logger.exception("error handler failed")
        resp.json = error
        return resp

    def _preflight(self, ctx: Context, route: Route) -> Response:
        request = ctx.request
        resp = Response(204, "No Content", request)
        allowed = set(route.methods)
        if "GET" in allowed:
            allowed.add("HEAD")
        resp.headers.append(("Allow", ", ".join(sorted(allowed))))
        origin = request.get_header("origin")
        if origin is None or not (route.options.get("access_control_allow_origin")
                                  or self.access_control_allow_origin):
            return resp
        allow = self._allowed_origin(origin, route)
        if allow is None:
            if request.get_header("access-control-request-method"):
                return self._plain_error(request, 403, "Forbidden", f"origin {origin} is not allowed")
            return resp
        resp.headers.append(("Access-Control-Allow-Origin", allow))
        if allow != "*":
            resp.headers.append(("Vary", "Origin"))
            resp.headers.append(("Access-Control-Allow-Credentials", "true"))
        resp.headers.append(("Access-Control-Allow-Methods", ", ".join(sorted(allowed))))
        req_headers = request.get_header("access-control-request-headers")
        if req_headers:
            resp.headers.append(("Access-Control-Allow-Headers", req_headers))
        max_age = route.options.get("access_control_max_age", self.access_control_max_age)
        if max_age:
            resp.headers.append(("Access-Control-Max-Age", str(int(max_age))))
        return resp

    def _plain_error(self, request: Request, status: int, reason: str, detail: str) -> Response:
        resp = Response(status, reason, request)
        resp.json = {"code": status, "message": reason, "detail": detail}
        return resp

    def _allowed_origin(self, origin: str, route: Route | None) -> str | None:
        allowed = None
        if route is not None:
            allowed = route.options.get("access_control_allow_origin")
        if allowed is None:
            allowed = self.access_control_allow_origin
        if not allowed:
            return None
        if isinstance(allowed, str):
            allowed = [allowed]
        if "*" in allowed:
            return "*"
        netloc = origin.split("://", 1)[-1]
        for a in allowed:
            if a == origin or a == netloc:
                return origin
        return None

    def _add_cors(self, ctx: Context, resp: Response, route: Route | None) -> None:
        origin = ctx.request.get_header("origin")
        if origin is None or resp.get_header("access-control-allow-origin") is not None:
            return
        allow = self._allowed_origin(origin, route)
        if allow is None:
            return
        resp.headers.append(("Access-Control-Allow-Origin", allow))
        if allow != "*":
            resp.headers.append(("Vary", "Origin"))
            resp.headers.append(("Access-Control-Allow-Credentials", "true"))

    async def _send(self, resp: Response, send: Callable, head_only: bool, ext: dict | None = None) -> None:
        status = resp.status
        if resp.json is not None and not resp.headers and not head_only and status not in _NO_BODY_STATUS:
            # the common API answer: no extra headers to translate
            body = self._encoder()(resp.json)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        headers = [(k.lower().encode("latin-1"), _hv(v)) for k, v in resp.headers]
        body = resp.body
        if resp.json is not None:
            body = self._encoder()(resp.json)
            if resp.get_header("content-type") is None:
                headers.append((b"content-type", b"application/json"))
        if status in _NO_BODY_STATUS or (100 <= status < 200):
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if body is None:
            body = b""
        if isinstance(body, bytes):
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if head_only else body})
            return
        if isinstance(body, FileBody):
            await self._send_file(body, headers, status, send, head_only, ext)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head_only:
            await send({"type": "http.response.body", "body": b""})
            _close(body)
            return
        await self._send_stream(body, send)

    async def _send_file(self, fb: FileBody, headers, status, send, head_only, ext) -> None:
        headers.append((b"content-length", str(fb.count).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head_only or fb.count == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        if ext is not None and "http.response.pathsend" in ext and fb.whole:
            await send({"type": "http.response.pathsend", "path": fb.path})
            return
        with open(fb.path, "rb") as f:
            if ext is not None and "http.response.zerocopysend" in ext:
                await send({"type": "http.response.zerocopysend", "file": f, "offset": fb.offset,
                            "count": fb.count, "more_body": False})
                return
            f.seek(fb.offset)
            left = fb.count
            while left > 0:
                chunk = f.read(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
            if left > 0:
                await send({"type": "http.response.body", "body": b""})

    async def _send_stream(self, body: Any, send: Callable) -> None:
        try:
            if hasattr(body, "__aiter__"):
                async for chunk in body:
                    b = _chunk(chunk)
                    if b:
                        await send({"type": "http.response.body", "body": b, "more_body": True})
            elif hasattr(body, "read"):
                loop = asyncio.get_running_loop()
                while True:
                    chunk = await (self._executor.run(loop, body.read, 65536) if self._executor
                                   else _direct(body.read, 65536))
                    if not chunk:
                        break
                    await send({"type": "http.response.body", "body": _chunk(chunk), "more_body": True})
            else:
                loop = asyncio.get_running_loop()
                it = iter(body)
                ex = self._executor
                while True:
                    if ex is not None:
                        chunk = await ex.run(loop, next, it, _END)
                    else:
                        chunk = next(it, _END)
                    if chunk is _END:
                        break
                    b = _chunk(chunk)
                    if b:
                        await send({"type": "http.response.body", "body": b, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            _close(body)


_END: Any = object()


async def _direct(fn: Callable, *args: Any) -> Any:
    return fn(*args)


def _chunk(c: Any) -> bytes:
    if isinstance(c, bytes):
        return c
    if isinstance(c, str):
        return c.encode("utf-8")
    if isinstance(c, (bytearray, memoryview)):
        return bytes(c)
    return str(c).encode("utf-8")


def _close(body: Any) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        try:
            r = close()
            if inspect.isawaitable(r):
                asyncio.ensure_future(r)
        except Exception:
            logger.exception("closing a response body failed")


def _hv(v: str) -> bytes:
    try:
        return v.encode("latin-1")
    except UnicodeEncodeError:
        return v.encode("utf-8")


def _has_body(scope: dict) -> bool:
    for k, v in scope["headers"]:
        if k == b"content-length":
            return v.strip() not in (b"0", b"")
        if k == b"transfer-encoding":
            return True
    return False


def _arg_error(kind: str, names: list[str]) -> HttpError:
    if kind == "missing":
        err = HttpError("400 Bad Request", f"missing required argument: {', '.join(names)}")
        err.args_info = {"missing": names}  # type: ignore[attr-defined]
    else:
        # both seed generations: "If URL query string contains other parameters, Skitai will raise 508 Error"
        err = HttpError("508 Undeclared Argument", f"undeclared argument: {', '.join(names)}")
        err.args_info = {"undeclared": names}  # type: ignore[attr-defined]
    return err


def _unrouted(status: str | int) -> Callable:
    def unrouted(context: Any, **kwargs: Any) -> Any:
        raise HttpError(status)
    unrouted.__atila_unrouted__ = True  # type: ignore[attr-defined]
    return unrouted


# request life-cycle event -> the hook list its listeners join
_REQUEST_EVENTS = {
    "request:before_start": "_before", "request:success": "_finish", "request:failed": "_failed",
    "request:teardown": "_teardown", "request:finished": "_teardown",
}


def _listener(func: Callable) -> Callable:
    """A hook that calls an event listener and always returns None (listeners never answer)."""
    if inspect.iscoroutinefunction(func):
        async def alisten(*args: Any) -> None:
            await func(*args)
        return alisten

    def listen(*args: Any) -> None:
        func(*args)
    return listen


def _producer_chunks(producer: Any):
    """Chunks of an object with ``more()`` (empty = done); ``close()`` is called when there is one."""
    try:
        while True:
            data = producer.more()
            if not data:
                return
            yield data
    finally:
        close = getattr(producer, "close", None)
        if close is not None:
            close()


async def _maybe(r: Any) -> Any:
    if inspect.isawaitable(r):
        return await r
    return r


def _param_names(func: Callable) -> list[str]:
    params = list(inspect.signature(func).parameters.values())
    out = []
    for i, p in enumerate(params):
        if i == 0 and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            out.append(p.name)
    return out


def _plain_finish(fn: Callable, ctx: Any, content: Any) -> Any:
    return fn(ctx)


def _mod_hook(fn: Callable, app: Atila, route: Route, ctx: Any, *extra: Any) -> Any:
    opts = route.mount.options if route.mount is not None else {}
    return call_hook(fn, ctx, app, opts, *extra)


def _mod_error(fn: Callable, app: Atila, route: Route, ctx: Any, exc_info) -> Any:
    opts = route.mount.options if route.mount is not None else {}
    return call_hook(fn, ctx, app, opts, exc_info[1])
