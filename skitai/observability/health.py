"""Liveness, readiness and metrics endpoints, answered in front of the mount table.

Why in front: a container engine or an orchestrator probes these paths on
every worker and must get an answer even when the app is slow, broken or not
mounted at ``/``; they also must not depend on the app's routing.

* ``health_path`` (``/healthz``): 200 while the worker's loop runs.
* ``ready_path`` (``/readyz``): 200 once the app lifespan started, 503 while
  the worker starts or drains (SIGTERM), so a load balancer stops sending.
* ``metrics_path`` (``/metrics``): Prometheus text of all workers (when the
  ``metrics`` preference is on).

An empty path preference turns that endpoint off.
"""

from __future__ import annotations

from typing import Any

from . import metrics as _metrics

_TEXT = b"text/plain; charset=utf-8"


def _pref(prefs: Any, name: str, default: Any) -> Any:
    value = getattr(prefs, name, default) if prefs is not None else default
    return default if value is None else value


def is_ready(ctx: Any) -> bool:
    """Ready = lifespan started (``ctx.ready``) and not draining (``ctx.draining``)."""
    if ctx is None:
        return True
    return bool(getattr(ctx, "ready", True)) and not bool(getattr(ctx, "draining", False))


def probe_paths(prefs: Any) -> list[str]:
    """The paths this module answers (the access log leaves them out by default)."""
    paths = [_pref(prefs, "health_path", "/healthz"), _pref(prefs, "ready_path", "/readyz")]
    if _metrics.enabled(prefs):
        paths.append(_pref(prefs, "metrics_path", "/metrics"))
    return [p for p in paths if p]


class HealthApp:
    """ASGI 3 app: answers the probe paths, passes everything else to ``app``."""

    def __init__(self, app: Any, prefs: Any, ctx: Any) -> None:
        self.app = app
        self.ctx = ctx
        self.health_path = _pref(prefs, "health_path", "/healthz") or None
        self.ready_path = _pref(prefs, "ready_path", "/readyz") or None
        self.metrics_path = (_pref(prefs, "metrics_path", "/metrics") or None) if _metrics.enabled(prefs) else None
        self._paths = frozenset(p for p in (self.health_path, self.ready_path, self.metrics_path) if p)
        inner = getattr(type(app), "skitai_dispatch", None) and app.skitai_dispatch
        self._inner = inner if inner is not None else (lambda scope: app)

    def __getattr__(self, name: str) -> Any:
        # attributes of the wrapped mount table (e.g. lifespan helpers) stay reachable
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    def skitai_dispatch(self, scope: dict) -> Any:
        """The app for ``scope``, chosen synchronously (see MountTable.skitai_dispatch)."""
        if scope["path"] in self._paths and scope["type"] == "http":
            return self._probe
        return self._inner(scope)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") in self._paths:
            await self._probe(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _probe(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == self.health_path:
            await self._answer(scope, send, 200, b"ok\n")
        elif path == self.ready_path:
            if is_ready(self.ctx):
                await self._answer(scope, send, 200, b"ready\n")
            else:
                await self._answer(scope, send, 503, b"not ready\n")
        elif scope.get("method") in ("GET", "HEAD"):  # the metrics path
            body, ctype = _metrics.render()
            await self._answer(scope, send, 200, body, ctype.encode())
        else:
            await self._answer(scope, send, 405, b"method not allowed\n")

    @staticmethod
    async def _answer(scope: dict, send: Any, status: int, body: bytes, ctype: bytes = _TEXT) -> None:
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            status, body, ctype = 405, b"method not allowed\n", _TEXT
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


def wrap(app: Any, prefs: Any, ctx: Any) -> HealthApp:
    """Put the probe endpoints in front of ``app`` (the worker's mount table)."""
    return HealthApp(app, prefs, ctx)


def attach(app: Any, prefs: Any, ctx: Any, observer: Any = None, worker_id: int = 0) -> HealthApp:
    """The worker's one observability hook: metrics into the observer, probes in front of the app.

    Also keeps the probe paths out of the access log: an orchestrator hits
    them every few seconds on every worker, which would drown the real lines.
    """
    if _metrics.enabled(prefs):
        wm = _metrics.for_worker(prefs, worker_id)
        if observer is not None:
            observer.metrics = wm
            close = observer.close

            def close_and_flush() -> None:  # the last second of counts must not be lost at exit
                wm.stop()
                close()

            observer.close = close_and_flush
        wm.start(ctx)
    accesslog = getattr(observer, "accesslog", None)
    if accesslog is not None and hasattr(accesslog, "log_off"):
        from .accesslog import LogOff

        old = accesslog.log_off
        patterns = [*getattr(old, "prefixes", ()), *("*" + s for s in getattr(old, "suffixes", ()))]
        accesslog.log_off = LogOff([*patterns, *probe_paths(prefs)])
    return wrap(app, prefs, ctx)


def probe(url: str | None = None, timeout: float = 3.0) -> int:
    """Container HEALTHCHECK: 0 when the liveness endpoint answers 200, else 1.

    Reads the same variables as the engine (``SKITAI_PORT``, ``SKITAI_HEALTH_PATH``,
    ``SKITAI_SSL_CERTFILE``) so the probe follows the configuration without a
    shell or curl in the image.
    """
    import os
    import ssl
    import urllib.request

    if url is None:
        port = os.environ.get("SKITAI_PORT") or os.environ.get("PORT") or "5000"
        path = os.environ.get("SKITAI_HEALTH_PATH", "/healthz").strip()
        if not path:  # the endpoint is turned off: a listening port is all there is to check
            import socket

            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=timeout).close()
                return 0
            except (OSError, ValueError) as exc:
                print(f"unhealthy: 127.0.0.1:{port}: {exc}")
                return 1
        scheme = "https" if os.environ.get("SKITAI_SSL_CERTFILE") else "http"
        url = f"{scheme}://127.0.0.1:{port.strip()}{path.strip()}"
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the engine's own certificate, reached over loopback
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
            return 0 if resp.status == 200 else 1
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"unhealthy: {url}: {exc}")
        return 1


if __name__ == "__main__":
    import sys

    sys.exit(probe(sys.argv[1] if len(sys.argv) > 1 else None))
