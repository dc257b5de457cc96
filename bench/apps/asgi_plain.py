"""The plain ASGI 3 app every ASGI server runs: no framework, so the server is what is measured.

Routes: ``/hello`` (text), ``/json`` (small JSON), ``/ws`` (WebSocket echo).
Lifespan is answered so servers that run it start cleanly.
"""

import json

HELLO = b"Hello, World!"
TEXT_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(HELLO)).encode())]


async def app(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        path = scope["path"]
        if path == "/hello" or path == "/":
            await send({"type": "http.response.start", "status": 200, "headers": TEXT_HEADERS})
            await send({"type": "http.response.body", "body": HELLO})
            return
        if path == "/json":
            body = json.dumps({"message": "Hello, World!"}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
    elif kind == "websocket":
        await websocket_echo(receive, send)
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def websocket_echo(receive, send):
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return
