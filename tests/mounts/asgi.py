"""A tiny in-process ASGI driver for the mount tests: build a scope, feed a body, collect sends."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote_to_bytes


class Result:
    def __init__(self, messages: list[dict]):
        self.messages = messages
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        self.status = start["status"] if start else None
        self.header_list = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in (start or {}).get("headers", [])]
        self.headers = {k.lower(): v for k, v in self.header_list}
        self.body = b"".join(m.get("body", b"") for m in messages
                         if m["type"] in ("http.response.body", "http.response.zerocopysend"))
        self.files = [m for m in messages if m["type"] in ("http.response.zerocopysend", "http.response.pathsend")]

    def __repr__(self) -> str:
        return f"<Result {self.status} {self.headers} {self.body[:200]!r}>"


def make_scope(method: str = "GET", target: str = "/", headers=None, host: str = "testserver",
               extensions: dict | None = None, **extra) -> dict:
    raw, _, qs = target.partition("?")
    raw_b = raw.encode("latin-1")
    hdrs = [(b"host", host.encode())] if host else []
    for k, v in (headers or {}).items() if isinstance(headers, dict) else (headers or []):
        hdrs.append((k.lower().encode("latin-1"), v.encode("latin-1")))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": unquote_to_bytes(raw_b).decode("utf-8", "replace"), "raw_path": raw_b,
        "query_string": qs.encode("latin-1"), "root_path": "", "headers": hdrs,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "extensions": extensions or {}, "gtxnid": "GTID-W0-C1-R1", "ltxnid": "1000",
    }
    scope.update(extra)
    return scope


async def acall(app, scope: dict, body: bytes | list[bytes] = b"", disconnect_after: bool = True,
                send_delay: float = 0.0) -> Result:
    chunks = body if isinstance(body, list) else [body]
    queue: list[dict] = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                         for i, c in enumerate(chunks)]
    messages: list[dict] = []
    done = asyncio.Event()

    async def receive():
        if queue:
            return queue.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if send_delay:
            await asyncio.sleep(send_delay)
        if message["type"] == "http.response.zerocopysend":
            f = message["file"]
            data = (open(f, "rb", closefd=False) if isinstance(f, int) else f)
            data.seek(message["offset"])
            message = dict(message, body=data.read(message["count"]))
        messages.append(message)

    try:
        await asyncio.wait_for(app(scope, receive, send), 10)
    finally:
        done.set()
    return Result(messages)


def call(app, method: str = "GET", target: str = "/", headers=None, body=b"", **kw) -> Result:
    scope = make_scope(method, target, headers, **kw)
    return asyncio.run(acall(app, scope, body))
