"""ASGI fixtures for tests/mounts."""

EVENTS = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                scope["state"]["db"] = "connected"
                EVENTS.append("startup")
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                EVENTS.append("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = repr({"path": scope["path"], "root_path": scope["root_path"], "state": scope.get("state"),
                 "raw_path": scope.get("raw_path")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def no_lifespan(scope, receive, send):
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plain"})


async def failing_startup(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
        return


async def echo_body(scope, receive, send):
    """Reads the whole body then answers its length."""
    total = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            EVENTS.append("disconnect")
            return
        total += len(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(total).encode()})


class ClassApp:
    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"class-asgi"})


class_app = ClassApp()
