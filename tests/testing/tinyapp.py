"""A tiny plain ASGI app for the test clients (no framework)."""

from __future__ import annotations

import json
import os
import urllib.parse

EVENTS: list[str] = []
HERE = os.path.dirname(os.path.abspath(__file__))


async def _body(receive) -> bytes:
    chunks = []
    while True:
        m = await receive()
        if m["type"] == "http.disconnect":
            break
        chunks.append(m.get("body", b""))
        if not m.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send, status, body=b"", headers=(), ctype=b"application/json"):
    hdrs = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                EVENTS.append("startup")
                scope["state"]["started"] = True
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                EVENTS.append("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
        return
    assert scope["type"] == "http"
    path = scope["path"]
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    query = urllib.parse.parse_qs(scope["query_string"].decode())
    if path == "/json":
        await _send(send, 200, json.dumps({"hello": "world", "query": query}).encode())
    elif path == "/echo":
        body = await _body(receive)
        out = {"method": scope["method"], "content_type": headers.get("content-type"),
               "body": body.decode("latin-1"), "headers": headers}
        await _send(send, 200, json.dumps(out).encode())
    elif path == "/cookie/set":
        cookies = [(b"set-cookie", f"{k}={v[0]}; Path=/".encode()) for k, v in query.items()]
        await _send(send, 200, b"{}", cookies)
    elif path == "/cookie/get":
        await _send(send, 200, json.dumps({"cookie": headers.get("cookie", "")}).encode())
    elif path == "/redirect":
        await _send(send, 302, b"", [(b"location", b"/json?from=redirect")], b"text/plain")
    elif path == "/state":
        await _send(send, 200, json.dumps({"started": scope.get("state", {}).get("started", False),
                                           "gtxnid": scope.get("gtxnid")}).encode())
    elif path == "/text":
        body = "h\u00e9llo".encode("latin-1")
        await _send(send, 200, body, ctype=b"text/plain; charset=latin-1")
    elif path == "/file":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.pathsend", "path": os.path.join(HERE, "static", "hello.txt")})
    elif path == "/boom":
        raise RuntimeError("boom")
    else:
        await _send(send, 404, b'{"error": "not found"}')


async def no_lifespan_app(scope, receive, send):
    if scope["type"] != "http":
        raise RuntimeError("only http")
    await _send(send, 200, b'{"ok": true}')


async def failing_startup_app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
        return


async def _websocket(scope, receive, send):
    """/ws echoes ("bye" closes with 4000); /ws/refuse refuses the handshake."""
    m = await receive()
    assert m["type"] == "websocket.connect"
    if scope["path"] == "/ws/refuse":
        await send({"type": "websocket.close", "code": 4403})
        return
    proto = scope["subprotocols"][0] if scope["subprotocols"] else None
    await send({"type": "websocket.accept", "subprotocol": proto})
    while True:
        m = await receive()
        if m["type"] == "websocket.disconnect":
            EVENTS.append(f"ws-disconnect {m.get('code')}")
            return
        if m.get("text") == "bye":
            await send({"type": "websocket.close", "code": 4000})
            return
        if m.get("text") is not None:
            await send({"type": "websocket.send", "text": "echo:" + m["text"]})
        else:
            await send({"type": "websocket.send", "bytes": m["bytes"][::-1]})
