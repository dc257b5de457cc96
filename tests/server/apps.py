"""ASGI apps the server tests run (``python -m skitai.server.worker --app tests.server.apps:NAME``)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile

from tests.apps.lifespan import serve_lifespan


async def hello(scope, receive, send):
    """The benchmark app: a fixed small response."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


async def _read_body(receive) -> tuple[bytes, int]:
    body = bytearray()
    chunks = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        body += msg.get("body", b"")
        chunks += 1
        if not msg.get("more_body"):
            break
    return bytes(body), chunks


FILE_PATH = os.path.join(tempfile.gettempdir(), f"skitai-h1-test-{os.getpid()}.bin")


async def app(scope, receive, send):
    """A test app whose behaviour is chosen by the path."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                with open(FILE_PATH, "wb") as f:
                    f.write(bytes(range(256)) * 1024)  # 256 KiB
                with open(FILE_PATH + ".big", "wb") as f:
                    f.write(bytes(range(256)) * 32768)  # 8 MiB: more than the socket buffers
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                for p in (FILE_PATH, FILE_PATH + ".big", FILE_PATH + ".progress", FILE_PATH + ".disconnect"):
                    try:
                        os.unlink(p)
                    except OSError:
                        pass
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        msg = await receive()
        assert msg["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        msg = await receive()
        if msg["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"{scope['gtxnid']} {msg.get('text')}"})
        await send({"type": "websocket.close", "code": 1000})
        return
    path = scope["path"]
    qs = scope["query_string"].decode()

    async def respond(status=200, body=b"", headers=(), ctype=b"text/plain"):
        hdrs = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        hdrs += list(headers)
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})

    if path.startswith("/scope"):
        body, _ = await _read_body(receive)
        s = {k: v for k, v in scope.items() if k not in ("extensions", "state")}
        s["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        s["raw_path"] = scope["raw_path"].decode("latin-1")
        s["query_string"] = scope["query_string"].decode("latin-1")
        s["extensions"] = sorted(scope["extensions"])
        s["worker_id"] = scope["extensions"]["skitai"]["worker_id"]
        await respond(body=json.dumps(s).encode(), ctype=b"application/json")
    elif path == "/echo":
        body, chunks = await _read_body(receive)
        await respond(body=body, headers=[(b"x-chunks", str(chunks).encode())])
    elif path == "/stream-echo":
        # chunked response (no content-length), echoing every request chunk
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        total = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            total += len(msg["body"])
            if msg["body"]:
                await send({"type": "http.response.body", "body": msg["body"], "more_body": True})
            if not msg.get("more_body"):
                break
        await send({"type": "http.response.body", "body": b"|%d" % total})
    elif path == "/chunks":
        n = int(qs or "3")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(n):
            await send({"type": "http.response.body", "body": b"part%d;" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/slow":
        await asyncio.sleep(float(qs or "1"))
        await respond(body=b"slow done")
    elif path == "/delay-order":
        # pipelining: earlier requests finish later; responses must stay in order
        d = float(qs or "0")
        await asyncio.sleep(d)
        await respond(body=f"delay={d}".encode())
    elif path == "/two-listeners":
        # a body reader and a disconnect listener block in receive() at the same time
        events = []

        async def listener():
            events.append((await receive())["type"])

        listen = asyncio.ensure_future(listener())
        await asyncio.sleep(0)
        body, _ = await _read_body(receive)
        await asyncio.wait_for(listen, 2)  # a lost wake-up would hang the listener
        await respond(body=b"got " + body + b" " + events[0].encode())
    elif path == "/slow-reject":
        # the client keeps sending while the server has stopped reading (body buffer full)
        await asyncio.sleep(0.5)
        await respond(413, b"too large")
    elif path == "/reject":
        # answers 413 without reading the body
        await respond(413, b"too large")
    elif path == "/boom":
        raise RuntimeError("boom in the app")
    elif path == "/boom-late":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("boom after start")
    elif path == "/noresponse":
        return
    elif path == "/zerocopy":
        size = os.path.getsize(FILE_PATH)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(size).encode()),
                                (b"content-type", b"application/octet-stream")]})
        with open(FILE_PATH, "rb") as f:
            await send({"type": "http.response.zerocopysend", "file": f, "offset": 0, "count": size})
    elif path == "/stream-many":
        # backpressure: with a client that does not read, send() must block the app
        n = int(qs or "64")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"y" * (1 << 20)
        for i in range(n):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            with open(FILE_PATH + ".progress", "w") as f:
                f.write(str(i + 1))
        await send({"type": "http.response.body", "body": b""})
    elif path == "/zerocopy-big":
        big = FILE_PATH + ".big"
        size = os.path.getsize(big)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(size).encode())]})
        with open(big, "rb") as f:
            await send({"type": "http.response.zerocopysend", "file": f})
    elif path == "/zerocopy-chunked":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with open(FILE_PATH, "rb") as f:
            await send({"type": "http.response.zerocopysend", "file": f.fileno(), "offset": 1000,
                        "count": 5000, "more_body": True})
        await send({"type": "http.response.body", "body": b"END"})
    elif path == "/pathsend":
        size = os.path.getsize(FILE_PATH)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(size).encode())]})
        await send({"type": "http.response.pathsend", "path": FILE_PATH})
    elif path == "/big":
        n = int(qs or "1048576")
        await respond(body=b"x" * n)
    elif path == "/disconnect":
        # waits for the client to go away and records it
        body, _ = await _read_body(receive)
        msg = await receive()
        with open(FILE_PATH + ".disconnect", "w") as f:
            f.write(msg["type"])
        await respond(body=b"never seen")
    elif path == "/nocl-close":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"connection", b"close")]})
        await send({"type": "http.response.body", "body": b"bye"})
    elif path == "/early":
        assert "http.response.early_hint" in scope["extensions"]
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
        await respond(body=b"after hints")
    elif path == "/status":
        code = int(qs or "204")
        await send({"type": "http.response.start", "status": code, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    else:
        await respond(body=b"ok " + path.encode("utf-8", "replace"))


async def failing_startup(scope, receive, send):
    """Lifespan startup fails: the worker must exit 5."""
    if scope["type"] == "lifespan":
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    await hello(scope, receive, send)


SHUTDOWN_MARK = os.path.join(tempfile.gettempdir(), "skitai-h1-shutdown-{pid}")


async def lifespan_marks(scope, receive, send):
    """Writes a file when its lifespan shutdown runs (the drain test checks it)."""
    if scope["type"] == "lifespan":
        def mark() -> None:
            with open(SHUTDOWN_MARK.format(pid=os.getpid()), "w") as f:
                f.write("shutdown")

        await serve_lifespan(receive, send, shutdown=mark)
        return
    await app(scope, receive, send)
