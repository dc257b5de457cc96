"""ASGI app for the unix-socket tests: ``/`` answers the scope's client, server,
scheme, http_version and the worker pid as JSON; ``/ws`` is a WebSocket echo
that first sends the same JSON."""

import json
import os

from tests.apps.lifespan import serve_lifespan


def _info(scope) -> bytes:
    return json.dumps({
        "client": scope.get("client"), "server": scope.get("server"), "scheme": scope.get("scheme"),
        "http_version": scope.get("http_version"), "pid": os.getpid(),
        "peer": scope["extensions"]["skitai"]["peer"],
    }).encode()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": _info(scope).decode()})
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "echo:" + (msg.get("text") or "")})
    body = _info(scope)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
