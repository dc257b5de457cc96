"""The demo served by ./scripts/demo: a seed-style Skitai script.

    python examples/demo/app.py            # http://127.0.0.1:5000/
    python examples/demo/app.py --port 8080 --workers 1

It mounts a small plain ASGI app at /api (JSON routes) and the ``static``
directory next to this file at / (the page that calls the API). No external
services are needed. Every setting can be changed without editing the file:
``--workers 2``, ``SKITAI_WORKERS=2`` (see ``python app.py --help``).
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import parse_qs

STARTED = time.time()


async def _json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive, limit: int = 1 << 20) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValueError("body too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def app(scope, receive, send):
    """ASGI 3 app mounted at /api: scope["path"] is the full path, root_path the mount point."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"][len(scope.get("root_path", "")):] or "/"
    method = scope["method"]
    if path == "/hello" and method in ("GET", "HEAD"):
        name = parse_qs(scope["query_string"].decode()).get("name", ["world"])[0]
        await _json(send, 200, {"message": f"Hello, {name}!", "worker_pid": os.getpid(),
                                "gtxnid": scope.get("gtxnid"), "ltxnid": scope.get("ltxnid")})
    elif path == "/status" and method in ("GET", "HEAD"):
        await _json(send, 200, {"status": "ok", "uptime_seconds": round(time.time() - STARTED, 3)})
    elif path == "/echo" and method == "POST":
        try:
            data = json.loads(await _read_body(receive) or b"null")
        except ValueError:
            await _json(send, 400, {"error": "send a JSON body (at most 1 MiB)"})
            return
        await _json(send, 200, {"you_sent": data})
    else:
        await _json(send, 404, {"error": f"no route for {method} {path}"})


if __name__ == "__main__":
    import skitai

    skitai.mount("/", "static")      # static directory next to this script
    skitai.mount("/api", app)        # the JSON API
    skitai.run(address="127.0.0.1", port=5000)
