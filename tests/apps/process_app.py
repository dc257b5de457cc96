"""A plain ASGI app for the process-supervision tests (tests/process/).

Routes: ``/`` -> this worker's pid, ``/slow`` -> the pid after 0.3 s,
``/busy`` -> spins the CPU forever (blocks the worker's loop: only the
critical point can end it; with ``PROCESS_APP_MARK`` set, ``/slow`` appends
a line to that file when it starts), ``/version`` -> ``VERSION`` (the SIGHUP test
serves a copy of this file and edits it).
"""

import asyncio
import os

from tests.apps.lifespan import serve_lifespan

VERSION = "1"


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    path = scope["path"]
    if path == "/slow":
        mark = os.environ.get("PROCESS_APP_MARK")
        if mark:  # lets a test know the request reached the app (one line each)
            with open(mark, "a") as f:
                f.write(f"{os.getpid()}\n")
        await asyncio.sleep(0.3)
    elif path == "/busy":
        while True:
            pass
    body = (VERSION if path == "/version" else str(os.getpid())).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
