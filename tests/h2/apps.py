"""ASGI test app for the protocol tests (HTTP/2, WebSocket, TLS)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile

STATS = {"calls": 0}
_FILE = os.path.join(tempfile.gettempdir(), f"skitai-h2-file-{os.getpid()}.bin")


async def _respond(send, status, body, headers=(), ctype=b"text/plain"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    if scope["type"] == "websocket":
        return await ws_app(scope, receive, send)
    STATS["calls"] += 1
    path = scope["path"]
    qs = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
    if path == "/":
        return await _respond(send, 200, b"hello " + scope["http_version"].encode()
                              + b" " + scope["scheme"].encode())
    if path == "/count":
        return await _respond(send, 200, str(STATS["calls"]).encode())
    if path == "/scope":
        info = f"{scope['method']} {scope['path']} {scope['query_string'].decode()} {scope['gtxnid']}"
        return await _respond(send, 200, info.encode())
    if path == "/echo":
        h = hashlib.sha256()
        n = 0
        while True:
            m = await receive()
            h.update(m.get("body", b""))
            n += len(m.get("body", b""))
            if not m.get("more_body"):
                break
        return await _respond(send, 200, f"{n} {h.hexdigest()}".encode())
    if path == "/big":
        n = int(qs.get("n", "1000000"))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(n).encode())]})
        chunk = b"x" * 65536
        sent = 0
        STATS["big_sent"] = 0
        while sent < n:
            k = min(len(chunk), n - sent)
            await send({"type": "http.response.body", "body": chunk[:k], "more_body": True})
            sent += k
            STATS["big_sent"] = sent
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/slow":
        await asyncio.sleep(float(qs.get("t", "0.3")))
        return await _respond(send, 200, b"slow done")
    if path == "/trailers":
        await send({"type": "http.response.start", "status": 200, "trailers": True,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"body", "more_body": False})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")],
                    "more_trailers": False})
        return
    if path == "/hints":
        await scope["extensions"]["skitai"]["early_hints"](["/a.css", "/b.js"])
        return await _respond(send, 200, b"hinted")
    if path == "/file":
        with open(_FILE, "wb") as f:
            f.write(bytes(range(256)) * 1024)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(256 * 1024).encode())]})
        await send({"type": "http.response.pathsend", "path": _FILE})
        return
    if path == "/after-body":
        while (await receive()).get("more_body"):
            pass
        try:
            m = await asyncio.wait_for(receive(), 0.2)
            kind = m["type"]
        except TimeoutError:
            kind = "waiting"
        return await _respond(send, 200, kind.encode())
    if path == "/progress":
        return await _respond(send, 200, str(STATS.get("big_sent")).encode())
    if path == "/lastclose":
        return await _respond(send, 200, str(STATS.get("last_close")).encode())
    if path == "/boom":
        raise RuntimeError("boom")
    return await _respond(send, 404, b"not found")


async def ws_app(scope, receive, send):
    path = scope["path"]
    m = await receive()
    assert m["type"] == "websocket.connect"
    if path == "/ws/deny":
        await send({"type": "websocket.close"})
        return
    if path == "/ws/http-deny":
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "websocket.http.response.body", "body": b"no token"})
        return
    if path == "/ws/boom":
        raise RuntimeError("boom before accept")
    if path == "/ws/close":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
        return
    sub = None
    if scope["subprotocols"]:
        sub = scope["subprotocols"][-1]
    await send({"type": "websocket.accept", "subprotocol": sub})
    if path == "/ws/info":
        await send({"type": "websocket.send",
                    "text": f"{scope['http_version']} {scope['scheme']} {scope['query_string'].decode()}"})
    while True:
        m = await receive()
        if m["type"] == "websocket.disconnect":
            STATS["last_close"] = m["code"]
            return
        if m.get("text") == "boom":
            raise RuntimeError("boom after accept")
        if m.get("text") is not None:
            await send({"type": "websocket.send", "text": m["text"]})
        else:
            await send({"type": "websocket.send", "bytes": m["bytes"]})
