"""Probe endpoints in front of the mount table: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import http.server
import threading
import types

from skitai.observability import health
from tests.support import free_port


class Ctx:
    def __init__(self, ready=True, draining=False):
        self.ready = ready
        self.draining = draining


async def _app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"yes")]})
        await send({"type": "http.response.body", "body": b"from app"})
    else:
        _app.seen.append(scope["type"])


_app.seen = []


def call(app, path, method="GET", kind="http"):
    messages = []

    async def send(m):
        messages.append(m)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(app({"type": kind, "path": path, "method": method, "headers": []}, receive, send))
    if not messages:
        return None, {}, b""
    start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], dict(start["headers"]), body


def prefs(**kw):
    base = dict(health_path="/healthz", ready_path="/readyz", metrics_path="/metrics", metrics=True)
    base.update(kw)
    return types.SimpleNamespace(**base)


def test_liveness_answers_before_the_app():
    app = health.wrap(_app, prefs(), Ctx(ready=False))
    status, headers, body = call(app, "/healthz")
    assert status == 200 and body == b"ok\n"
    assert headers[b"cache-control"] == b"no-store"
    assert int(headers[b"content-length"]) == len(body)


def test_readiness_follows_lifespan_and_draining():
    ctx = Ctx(ready=False)
    app = health.wrap(_app, prefs(), ctx)
    assert call(app, "/readyz")[0] == 503       # lifespan not started yet
    ctx.ready = True
    assert call(app, "/readyz")[0] == 200
    ctx.draining = True                          # SIGTERM received
    status, _, body = call(app, "/readyz")
    assert status == 503 and body == b"not ready\n"


def test_metrics_endpoint_serves_prometheus_text():
    status, headers, _ = call(health.wrap(_app, prefs(), Ctx()), "/metrics")
    assert status == 200
    assert headers[b"content-type"].startswith(b"text/plain; version=0.0.4")


def test_head_has_no_body_and_other_methods_are_refused():
    app = health.wrap(_app, prefs(), Ctx())
    status, headers, body = call(app, "/healthz", method="HEAD")
    assert status == 200 and body == b"" and headers[b"content-length"] == b"3"
    status, headers, _ = call(app, "/readyz", method="POST")
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"
    assert call(app, "/metrics", method="DELETE")[0] == 405


def test_everything_else_goes_to_the_app():
    app = health.wrap(_app, prefs(), Ctx())
    status, headers, body = call(app, "/healthz/more")
    assert (status, body, headers[b"x-app"]) == (200, b"from app", b"yes")
    assert call(app, "/")[2] == b"from app"
    _app.seen.clear()
    call(app, "/healthz", kind="websocket")
    call(app, "/", kind="lifespan")
    assert _app.seen == ["websocket", "lifespan"]


def test_paths_are_configurable_and_can_be_turned_off():
    app = health.wrap(_app, prefs(health_path="/live", ready_path="/ready", metrics_path=""), Ctx())
    assert call(app, "/live")[2] == b"ok\n"
    assert call(app, "/ready")[2] == b"ready\n"
    assert call(app, "/healthz")[2] == b"from app"
    assert call(app, "/metrics")[2] == b"from app"
    app = health.wrap(_app, prefs(metrics=False), Ctx())
    assert call(app, "/metrics")[2] == b"from app"
    assert health.probe_paths(prefs(metrics=False)) == ["/healthz", "/readyz"]


def test_container_probe_exit_codes(monkeypatch):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *a):
            pass

    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        monkeypatch.setenv("SKITAI_PORT", str(port))
        monkeypatch.delenv("SKITAI_HEALTH_PATH", raising=False)
        monkeypatch.delenv("SKITAI_SSL_CERTFILE", raising=False)
        assert health.probe() == 0
        monkeypatch.setenv("SKITAI_HEALTH_PATH", "/other")
        assert health.probe() == 1
        monkeypatch.setenv("SKITAI_HEALTH_PATH", "")   # endpoint off: the open port is enough
        assert health.probe() == 0
    finally:
        server.shutdown()
        server.server_close()
    assert health.probe(f"http://127.0.0.1:{free_port()}/healthz", timeout=1) == 1
    monkeypatch.setenv("SKITAI_PORT", str(free_port()))
    assert health.probe(timeout=1) == 1
