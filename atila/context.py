"""The ``context`` (older name ``was``) handed to handlers and hooks.

One small object per request; the response is created only when touched.
Later features (sessions, auth, templates) attach through
``Atila.context_extensions`` (name -> function(context)) or by subclassing
and setting ``Atila.context_class`` -- no change here needed.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from . import response as _resp
from .config import AttrDict
from .errors import HttpError
from .response import Response

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
           "error": logging.ERROR, "fail": logging.ERROR, "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


class AppContext:
    """The context of life-cycle hooks (no request yet): ``context.app``, ``context.mount_options``."""

    request = None

    def __init__(self, app, mount_options: dict | None = None) -> None:
        self.app = app
        self.mount_options = mount_options or {}

    @property
    def numthreads(self) -> int:
        app = self.app
        return app._nthreads if app._nthreads is not None else (app.threads if app.threads is not None else 4)

    HttpError = HttpError
    Error = HttpError

    def register(self, name: str, obj: Any) -> None:
        """Older ``wac.register('loginengine', obj)``: every request context then has ``was.loginengine``."""
        self.app.context_extensions[name] = lambda context, _obj=obj: _obj

    def unregister(self, name: str) -> None:
        self.app.context_extensions.pop(name, None)

    @property
    def config(self) -> Any:
        return self.app.config

    def __getattr__(self, name: str) -> Any:
        ext = self.app.context_extensions.get(name)
        if ext is None:
            raise AttributeError(name)
        return ext(self)


class Context:
    __slots__ = ("app", "request", "_response", "__dict__")

    HttpError = HttpError
    Error = HttpError

    def __init__(self, app, request) -> None:
        self.app = app
        self.request = request
        self._response: Response | None = None

    def __getattr__(self, name: str) -> Any:
        ext = self.app.context_extensions.get(name)
        if ext is None:
            raise AttributeError(name)
        return ext(self)

    # -- response -------------------------------------------------------------
    @property
    def response(self) -> Response:
        r = self._response
        if r is None:
            r = self._response = Response(request=self.request)
        return r

    def API(self, *args: Any, **kwargs: Any) -> Response:
        if not args:  # the common ``context.API(key=value, ...)``: kwargs is already a fresh dict
            r = self._response
            if r is None:
                r = self._response = Response(request=self.request)
            r.json = kwargs
            r.body = None
        else:
            r = _resp.make_api(self.response, *args, **kwargs)
        if self.app.expose_spec:
            _add_spec(self, r)
        return r

    def Fault(self, status: str | int = "200 OK", message: str | None = None, code: int | None = None,
              debug: Any = None, more_info: Any = None, **kwargs: Any) -> Response:
        """API body for 2xx, error body otherwise (older helper).

        The oldest form ``Fault(msg, code=20000, debug=None, more_info=None, exc_info=None)`` (a first
        argument that is not a status, as in the "Response All Errors As JSON" How-To) keeps the current
        status and answers ``{"message", "code", "debug", "more_info"}``."""
        r = self.response
        if not (isinstance(status, int) or _resp.looks_like_status(status)):
            exc_info = kwargs.pop("exc_info", None)
            return r.fault(str(status), message if message is not None else 20000, code, debug, exc_info)
        r.set_status(status)
        if r.status < 300:
            return _resp.make_api(r, **kwargs)
        data = {"code": code if code is not None else r.status, "message": message or r.reason}
        if debug is not None:
            data["debug"] = debug
        if more_info is not None:
            data["more_info"] = more_info
        data.update(kwargs)
        r.json = data
        return r

    def redirect(self, url: str, status: str | int = "302 Found") -> Response:
        return _resp.make_redirect(self.response, url, status)

    def File(self, path: str, mimetype: str | None = None, filename: str | None = None) -> Response:
        return _resp.make_file(self.response, self.app.resolve_path(path), mimetype, filename)

    def Static(self, path: str, mimetype: str | None = None, max_age: int = 0) -> Response:
        return _resp.make_static(self.response, self.app.resolve_path(path, static=True), mimetype, max_age)

    def push(self, uri: str) -> None:
        """Ask the browser to preload ``uri``: sent as ``103 Early Hints`` with
        ``Link: <uri>; rel=preload`` before the response (HTTP/2 server push is
        not used: browsers removed it). Ignored where the server cannot send 103."""
        _add_hint(self.request, uri)

    hint_promise = push

    # -- URL building -------------------------------------------------------------
    def urlfor(self, target: Any, *args: Any, **kwargs: Any) -> str:
        return self.app.build_url(target, *args, _root=self.request.root_path, **kwargs)

    ab = urlfor

    def urlpatch(self, target: Any, **kwargs: Any) -> str:
        """URL of ``target`` keeping this request's parameters, with ``kwargs`` replacing some."""
        merged = dict(self.request.URL)
        wanted = self.app._find_routes(target)[0].param_names
        merged.update((k, v) for k, v in self.request.PARAMS.items() if k in wanted)
        merged.update(kwargs)
        return self.app.build_url(target, _root=self.request.root_path, **merged)

    partial = urlpatch

    def baseurl(self, target: Any) -> str:
        return self.request.root_path + self.app.base_path(target)

    basepath = baseurl

    # -- static / media URLs (config.STATIC_URL / MEDIA_URL end with "/") --------------
    def static(self, path: str) -> str:
        """``context.static('assets/style.css')`` -> ``/static/assets/style.css``."""
        return _join_url(self.app.config.get("STATIC_URL") or "/static/", path)

    def media(self, path: str) -> str:
        """``context.media('movie.mov')`` -> ``/media/movie.mov``."""
        return _join_url(self.app.config.get("MEDIA_URL") or "/media/", path)

    # -- older response helpers ------------------------------------------------------
    def jstream(self, obj: Any, key: str | None = None) -> Response:
        """JSON response of ``obj`` (or ``{key: obj}``)."""
        r = self.response
        r.json = {key: obj} if key else obj
        r.body = None
        return r

    def Queue(self, produce: Any) -> Any:
        """Threaded data streaming: ``produce(queue)`` runs in its own thread and ``queue.put()`` s chunks;
        ``queue.put(None)`` ends the response. Returns the body generator for the handler to return."""
        return _queue_stream(produce)

    # -- route name based call, logging ([001]) -------------------------------------
    def pipe(self, target: Any, **kwargs: Any) -> Any:
        """Call another route's function (``was.pipe('index', offset=4)``, by name or function object)
        with this context; its ``@app.inspect`` rules still apply to ``kwargs``."""
        app = self.app
        route = app._find_routes(target)[0]
        plan = route.plan or app._plan(route)
        for spec in plan.specs:
            spec.run(self.request, kwargs, kwargs)
        return route.func(self, **kwargs)

    def log(self, msg: Any, category: str = "info") -> None:
        """``was.log('called index', 'info')``: a line on the ``atila.app`` logger at that level."""
        level = _LEVELS.get(str(category).lower(), logging.INFO)
        logging.getLogger("atila.app").log(level, "%s", msg)

    def traceback(self, id: str = "") -> None:
        """Log the exception being handled with ``id`` (default: the request's gtxnid/ltxnid)."""
        req = self.request
        if not id and req is not None:
            id = f"{req.gtxnid}/{req.scope.get('ltxnid', '')}"
        logging.getLogger("atila.app").error("exception [%s]", id, exc_info=True)

    @property
    def cookie(self) -> Any:
        """``was.cookie`` ([000]): the same as ``context.request.cookie``."""
        return self.request.cookie

    # -- misc --------------------------------------------------------------------
    @property
    def apps(self) -> dict:
        """Other Atila apps mounted in this process by module name (``was.apps["search"].build_url(...)``)."""
        from .app import APPS
        return APPS

    @property
    def env(self) -> dict:
        """``was.env``: the same as ``context.request.env``."""
        return self.request.env

    @property
    def g(self) -> Any:
        """``was.g``: the per-request namespace (``context.request.g``)."""
        return self.request.g

    @property
    def mount_options(self) -> dict:
        route = self.request.routable
        return dict(route.mount.options) if route is not None and route.mount else {}

    @property
    def numthreads(self) -> int:
        app = self.app
        return app._nthreads if app._nthreads is not None else (app.threads if app.threads is not None else 4)


def _add_hint(request, uri: str) -> None:
    if any(c in uri for c in "\r\n\0<>"):
        raise ValueError(f"bad uri for an early hint: {uri!r}")
    request.g.__dict__.setdefault("_early_hints", []).append(uri)


def _join_url(base: str, path: str) -> str:
    if not base.endswith("/"):
        base += "/"
    return base + path.lstrip("/")


def _queue_stream(produce: Any):
    import contextlib
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=256)  # bounded: a fast producer waits for the client

    def run() -> None:
        try:
            produce(q)
        finally:
            with contextlib.suppress(queue.Full):  # the end marker, in case produce() did not put it
                q.put(None, timeout=60)

    threading.Thread(target=run, name="atila-queue", daemon=True).start()

    def stream():
        while True:
            item = q.get()
            if item is None:
                return
            yield item

    return stream()


class RequestNamespace:
    """``app.r`` (older docs: "current request context namespace"): attributes live on the
    ``context.request.g`` of the request being handled by the calling code. Found by looking up the
    caller's frames for the context handed to the handler or hook, so requests pay nothing unless
    they use it."""

    __slots__ = ()

    @staticmethod
    def _g() -> Any:
        f = sys._getframe(2)
        while f is not None:
            code = f.f_code
            if code.co_argcount:
                v = f.f_locals.get(code.co_varnames[0])
                if isinstance(v, Context):
                    return v.request.g
            f = f.f_back
        raise RuntimeError("app.r is only available in code called by a request handler or hook")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._g(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._g(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._g(), name)


class GlobalNamespace(AttrDict):
    """``app.g``: the app-wide namespace; ``app.g.x = 1`` and ``app.g["x"]`` are the same."""


def _add_spec(ctx: Context, r: Response) -> None:
    """``app.expose_spec``: add ``__spec__`` (route description) to API bodies for clients on 127.0.0.x / ::1."""
    req = ctx.request
    client = req.scope.get("client") if req is not None else None
    host = client[0] if client else ""
    route = req.routable if req is not None else None
    if route is None or not (host.startswith("127.") or host == "::1") or not isinstance(r.json, dict):
        return
    import inspect

    try:
        params = list(inspect.signature(route.func).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    args = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    keywords = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)
    mount = route.mount
    r.json["__spec__"] = {
        "id": route.name,
        "routeopt": {
            "methods": sorted(route.methods), "route": route.rule, "args": args, "keywords": keywords,
            "urlargs": len(route.param_names),
            "mntopt": {"module_name": getattr(getattr(mount, "module", None), "__name__", None),
                       "point": (mount.options.get("point") if mount is not None else None)},
        },
        "auth_requirements": [],
        "parameter_requirements": {},
        "doc": inspect.getdoc(route.func),
        "current_request": {"http_method": req.method, "http_version": req.version, "uri": req.uri},
    }
