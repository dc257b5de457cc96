"""An in-process ASGI client for fast unit tests: no sockets, same response API as ``test_client``.

The app runs on an event loop in a background thread so that the lifespan
protocol can stay alive across requests: ``with AsgiClient(app) as c`` runs
lifespan startup on enter and shutdown on exit (an app that does not speak
lifespan is served anyway, as the ASGI spec asks of servers). Each request is
one ASGI ``http`` scope shaped like the engine's (``gtxnid``/``ltxnid``,
the zero-copy and path-send extensions, lifespan ``state``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import urllib.parse
from typing import Any

from .client import BaseClient, Response

LIFESPAN_TIMEOUT = 30.0


class AsgiClient(BaseClient):
    """requests-like client calling an ASGI 3 app directly."""

    def __init__(self, app: Any, base_url: str = "http://testserver", raise_server_exceptions: bool = True,
                 lifespan: bool = True, root_path: str = "", client: tuple[str, int] = ("127.0.0.1", 50000),
                 prefs: Any = None, timeout: float = 30.0, headers: dict[str, str] | None = None):
        super().__init__(base_url, timeout, headers)
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.use_lifespan = lifespan
        self.root_path = root_path
        self.client = client
        self.prefs = prefs
        self.state: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lifespan_task: asyncio.Future | None = None
        self._lifespan_in: asyncio.Queue | None = None
        self._lifespan_out: asyncio.Queue | None = None
        self._lifespan_supported = False
        self._serial = itertools.count(1)
        self._started = False

    # -- loop plumbing ---------------------------------------------------------------------------

    def _run(self, coro, timeout: float | None = None):
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _ensure_loop(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def runner() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=runner, name="asgi-client-loop", daemon=True)
        self._thread.start()
        ready.wait(10)
        self._loop = loop

    # -- lifespan --------------------------------------------------------------------------------

    def startup(self) -> None:
        """Start the loop and run lifespan startup (raises if the app reports startup failure)."""
        if self._started:
            return
        self._ensure_loop()
        self._started = True
        if self.use_lifespan:
            self._run(self._lifespan_startup(), LIFESPAN_TIMEOUT + 5)

    async def _lifespan_startup(self) -> None:
        self._lifespan_in = asyncio.Queue()
        self._lifespan_out = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}, "state": self.state}

        async def receive():
            return await self._lifespan_in.get()

        async def send(message):
            await self._lifespan_out.put(message)

        async def main():
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:  # an app without lifespan support raises here
                await self._lifespan_out.put({"type": "_error", "error": exc})
                return
            await self._lifespan_out.put({"type": "_returned"})

        self._lifespan_task = asyncio.ensure_future(main())
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self._lifespan_out.get(), LIFESPAN_TIMEOUT)
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._lifespan_supported = True
        elif kind == "lifespan.startup.failed":
            raise RuntimeError(f"lifespan startup failed: {message.get('message', '')}")
        # "_error" / "_returned" before startup.complete: the app does not do lifespan; serve anyway

    async def _lifespan_shutdown(self) -> None:
        if not self._lifespan_supported:
            return
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        message = await asyncio.wait_for(self._lifespan_out.get(), LIFESPAN_TIMEOUT)
        if message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(f"lifespan shutdown failed: {message.get('message', '')}")
        if message["type"] == "_error":
            raise message["error"]

    def close(self) -> None:
        """Run lifespan shutdown and stop the loop."""
        if self._loop is None:
            return
        try:
            if self._started and self.use_lifespan:
                self._run(self._lifespan_shutdown(), LIFESPAN_TIMEOUT + 5)
        finally:
            loop = self._loop
            self._loop = None
            self._started = False
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            loop.close()

    def __enter__(self) -> AsgiClient:
        self.startup()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------

    def _extensions(self) -> dict[str, Any]:
        prefs = self.prefs
        if prefs is None:
            from skitai.config import resolve

            prefs = self.prefs = resolve({}, {}, [])
        return {
            "http.response.zerocopysend": {},
            "http.response.pathsend": {},
            "skitai": {"worker_id": 0, "prefs": prefs, "early_hints": None},
        }

    def _send(self, method, url, headers, body, timeout):
        self.startup()
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "testserver"
        scheme = parts.scheme or "http"
        port = parts.port or (443 if scheme == "https" else 80)
        raw_path = parts.path or "/"
        hdrs = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
        names = {k for k, _ in hdrs}
        if b"host" not in names:
            default = port == (443 if scheme == "https" else 80)
            hdrs.insert(0, (b"host", (host if default else f"{host}:{port}").encode()))
        if body and b"content-length" not in names:
            hdrs.append((b"content-length", str(len(body)).encode()))
        n = next(self._serial)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": scheme,
            "path": urllib.parse.unquote(raw_path),
            "raw_path": raw_path.encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "root_path": self.root_path,
            "headers": hdrs,
            "client": self.client,
            "server": (host, port),
            "extensions": self._extensions(),
            "state": dict(self.state),
            "gtxnid": f"GTID-T-C1-R{n}",
            "ltxnid": "1000",
        }
        return self._run(self._call(scope, body, url), timeout)

    def websocket_connect(self, path: str, subprotocols: list[str] | None = None,
                          headers: dict[str, str] | None = None, timeout: float | None = None) -> WebSocketSession:
        """Open a WebSocket to the app in-process; use as a context manager."""
        self.startup()
        url = self.url_for(path)
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "testserver"
        hdrs = [(b"host", host.encode()), (b"connection", b"upgrade"), (b"upgrade", b"websocket"),
                (b"sec-websocket-version", b"13")]
        for k, v in {**self.headers, **(headers or {})}.items():
            hdrs.append((k.lower().encode("latin-1"), str(v).encode("latin-1")))
        if subprotocols:
            hdrs.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": urllib.parse.unquote(parts.path or "/"),
            "raw_path": (parts.path or "/").encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "root_path": self.root_path,
            "headers": hdrs,
            "client": self.client,
            "server": (host, parts.port or 80),
            "subprotocols": list(subprotocols or []),
            "extensions": {"skitai": self._extensions()["skitai"]},
            "state": dict(self.state),
            "gtxnid": f"GTID-T-C1-R{next(self._serial)}",
            "ltxnid": "1000",
        }
        session = WebSocketSession(self, scope, timeout or self.timeout)
        self._run(session._open(), session.timeout + 5)
        return session

    async def _call(self, scope: dict[str, Any], body: bytes, url: str) -> Response:
        done = asyncio.Event()
        sent_request = False
        status: int | None = None
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive():
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                if status is not None:
                    raise RuntimeError("http.response.start sent twice")
                status = int(message["status"])
                for k, v in message.get("headers", []):
                    headers.append((k.decode("latin-1"), v.decode("latin-1")))
                return
            if status is None:
                raise RuntimeError(f"{kind} sent before http.response.start")
            if done.is_set():
                return  # the response is over; ignore (as a server would after closing)
            if kind == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                more = message.get("more_body", False)
            elif kind == "http.response.pathsend":
                with open(message["path"], "rb") as f:
                    chunks.append(f.read())
                more = False
            elif kind == "http.response.zerocopysend":
                chunks.append(_read_zerocopy(message))
                more = message.get("more_body", False)
            elif kind == "http.response.trailers":
                more = message.get("more_trailers", False)
            else:
                raise RuntimeError(f"unexpected ASGI message {kind!r}")
            if not more:
                done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if self.raise_server_exceptions:
                raise
            if status is None:
                return Response(500, [("content-type", "text/plain")], b"Internal Server Error", url,
                                method=scope["method"])
        if status is None:
            raise RuntimeError("the app returned without sending a response")
        content = b"" if scope["method"] == "HEAD" else b"".join(chunks)
        return Response(status, headers, content, url, method=scope["method"])


class WebSocketDisconnect(Exception):
    """The app closed the WebSocket (or refused the handshake); ``code`` is the close code."""

    def __init__(self, code: int = 1000, reason: str = ""):
        super().__init__(f"websocket closed with code {code} {reason}".strip())
        self.code = code
        self.reason = reason


class WebSocketSession:
    """One in-process WebSocket conversation with the app (``AsgiClient.websocket_connect``)."""

    def __init__(self, client: AsgiClient, scope: dict[str, Any], timeout: float):
        self.client = client
        self.scope = scope
        self.timeout = timeout
        self.accepted_subprotocol: str | None = None
        self.accept_headers: list[tuple[str, str]] = []
        self._to_app: asyncio.Queue | None = None
        self._from_app: asyncio.Queue | None = None
        self._task: asyncio.Future | None = None
        self.closed = False

    def _run(self, coro):
        return self.client._run(coro, self.timeout + 5)

    async def _open(self) -> None:
        self._to_app = asyncio.Queue()
        self._from_app = asyncio.Queue()

        async def receive():
            return await self._to_app.get()

        async def send(message):
            await self._from_app.put(message)

        async def main():
            try:
                await self.client.app(self.scope, receive, send)
            except BaseException as exc:
                await self._from_app.put({"type": "_error", "error": exc})
                return
            await self._from_app.put({"type": "_returned"})

        self._task = asyncio.ensure_future(main())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.accept_headers = [(k.decode("latin-1"), v.decode("latin-1"))
                                   for k, v in message.get("headers", [])]
            return
        self.closed = True
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        raise WebSocketDisconnect(1006, f"handshake refused ({message['type']})")

    async def _next(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self._from_app.get(), self.timeout)
        if message["type"] == "_error":
            raise message["error"]
        if message["type"] == "_returned":
            self.closed = True
            raise WebSocketDisconnect(1006, "the app returned without closing")
        return message

    def send_text(self, text: str) -> None:
        self._run(self._to_app.put({"type": "websocket.receive", "text": text}))

    def send_bytes(self, data: bytes) -> None:
        self._run(self._to_app.put({"type": "websocket.receive", "bytes": data}))

    def send_json(self, obj: Any) -> None:
        import json

        self.send_text(json.dumps(obj))

    def receive(self) -> dict[str, Any]:
        """The next ``websocket.send`` message; raises WebSocketDisconnect when the app closes."""
        message = self._run(self._next())
        if message["type"] == "websocket.close":
            self.closed = True
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        return message

    def receive_text(self) -> str:
        message = self.receive()
        if message.get("text") is None:
            raise TypeError("expected a text message, got bytes")
        return message["text"]

    def receive_bytes(self) -> bytes:
        message = self.receive()
        if message.get("bytes") is None:
            raise TypeError("expected a binary message, got text")
        return message["bytes"]

    def receive_json(self) -> Any:
        import json

        return json.loads(self.receive_text())

    def close(self, code: int = 1000) -> None:
        if self._task is None:
            return
        if not self.closed:
            self.closed = True
            self._run(self._to_app.put({"type": "websocket.disconnect", "code": code}))
        task, self._task = self._task, None

        async def finish():
            try:
                await asyncio.wait_for(asyncio.shield(task), self.timeout)
            except TimeoutError:
                task.cancel()

        self._run(finish())

    def __enter__(self) -> WebSocketSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _read_zerocopy(message: dict[str, Any]) -> bytes:
    f = message["file"]
    offset = message.get("offset")
    count = message.get("count")
    fd = f if isinstance(f, int) else f.fileno()
    if offset is None:
        offset = os.lseek(fd, 0, os.SEEK_CUR)
    if count is None:
        count = os.fstat(fd).st_size - offset
    out = bytearray()
    while len(out) < count:
        chunk = os.pread(fd, count - len(out), offset + len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)
