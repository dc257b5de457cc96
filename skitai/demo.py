"""The built-in demo app: what the container image serves when no app is given.

It needs nothing outside the engine (no database, no cache server): a plain
ASGI 3 app with an in-memory counter, so ``docker run skitai-app`` shows a
working server, its probes and its metrics. A few endpoints exist to
demonstrate (and test) the deployment: a slow one for graceful draining, a
failing one for the error-ratio metrics, and a WebSocket echo for proxies.

    GET  /                 HTML page listing the endpoints
    GET  /api/hello?name=  JSON greeting
    GET  /api/counter      JSON {"count": n}; POST increments it (per worker)
    GET  /api/slow?ms=500  answers after a pause (at most 30 s)
    GET  /api/error        answers 500 on purpose
    POST /api/echo         returns the request body
    WS   /ws/echo          echoes every message
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from typing import Any
from urllib.parse import parse_qs

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Skitai demo</title></head>
<body>
<h1>Skitai is running</h1>
<p>Worker pid {pid}. This is the built-in demo app; serve yours with
<code>SKITAI_APP=package.module:app</code>.</p>
<ul>
<li><a href="/api/hello?name=you">/api/hello?name=you</a></li>
<li><a href="/api/counter">/api/counter</a> (POST to increment)</li>
<li><a href="/api/slow?ms=500">/api/slow?ms=500</a></li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a></li>
</ul>
<p>Client address seen by the engine: {client}</p>
</body></html>
"""


class DemoApp:
    """ASGI 3 app; state is per worker process and lives in memory."""

    def __init__(self) -> None:
        self.count = 0
        self.started = False

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.started = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict, receive: Any, send: Any) -> None:
        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if root and scope["path"].startswith(root) else scope["path"]
        method = scope["method"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        body = b""
        if method in ("POST", "PUT", "PATCH"):
            body = await _read_body(receive, limit=1 << 20)
            if body is None:
                return await _send(send, 413, {"error": "body too large"})
        if path in ("", "/"):
            client = scope.get("client") or ("-", 0)
            page = _PAGE.format(pid=os.getpid(), client=html.escape(str(client[0])))
            return await _send(send, 200, page.encode(), b"text/html; charset=utf-8")
        if path == "/api/hello":
            name = (query.get("name") or ["world"])[0][:100]
            return await _send(send, 200, {"hello": name, "pid": os.getpid()})
        if path == "/api/counter":
            if method == "POST":
                self.count += 1
            return await _send(send, 200, {"count": self.count})
        if path == "/api/slow":
            try:
                ms = min(max(float((query.get("ms") or ["500"])[0]), 0.0), 30000.0)
            except ValueError:
                return await _send(send, 400, {"error": "ms must be a number"})
            await asyncio.sleep(ms / 1000.0)
            return await _send(send, 200, {"slept_ms": ms})
        if path == "/api/error":
            return await _send(send, 500, {"error": "this endpoint fails on purpose"})
        if path == "/api/echo":
            return await _send(send, 200, body, b"application/octet-stream")
        if path == "/api/client":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            client = scope.get("client") or ("", 0)
            return await _send(send, 200, {
                "client": client[0], "scheme": scope.get("scheme"),
                "x-forwarded-for": headers.get("x-forwarded-for"), "x-real-ip": headers.get("x-real-ip"),
            })
        await _send(send, 404, {"error": "not found", "path": path})

    async def _websocket(self, scope: dict, receive: Any, send: Any) -> None:
        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if root and scope["path"].startswith(root) else scope["path"]
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if path != "/ws/echo":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def _read_body(receive: Any, limit: int) -> bytes | None:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: Any, ctype: bytes = b"application/json") -> None:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


app = DemoApp()
