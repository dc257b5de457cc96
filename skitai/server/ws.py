"""WebSocket (RFC 6455) for ASGI apps, over HTTP/1.1 and over HTTP/2 (RFC 8441).

The frame layer is ``wsproto.connection.Connection``; the opening handshake is
done here (it is a few header checks and one SHA-1) so the same session class
serves an upgraded HTTP/1.1 connection and an HTTP/2 extended CONNECT stream.
A ``WebSocketSession`` talks to its carrier through five calls:

* ``carrier.accept(headers)`` sends the 101 (HTTP/1.1) or the 200 HEADERS (h2),
* ``carrier.deny(status, headers, body)`` refuses the handshake with an HTTP response,
* ``carrier.write(data)`` (async) sends frame bytes, honouring back-pressure,
* ``carrier.pause_reading()`` / ``carrier.resume_reading()`` stop the peer
  while the app has not consumed the messages already received,
* ``carrier.close()`` ends the connection/stream.

Limits: ``ws_max_message_size`` (bytes of one message, default 16 MiB: a
larger message closes with 1009), ``ws_idle_timeout`` (default 60 s: after
half of it without any frame from the peer a ping is sent, after all of it
the server closes with 1001). On worker shutdown every socket is closed with
1001 Going Away. ``permessage-deflate`` is not negotiated (it costs CPU on
every message for little gain on small ones).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import deque

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from . import proxy
from .proto import (
    ASGI_VERSION,
    forget_connection,
    next_connection_serial,
    pref,
    report,
    skitai_extensions,
    split_target,
    txn_ids,
)

log = logging.getLogger("skitai.server.ws")

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024
DEFAULT_IDLE = 60.0
QUEUE_HIGH = 32  # messages waiting for the app before reading pauses


class ClientDisconnected(OSError):
    """Raised by ``send`` once the peer has gone (ASGI: send after disconnect)."""


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest())


def handshake_problem(method: str, headers: list) -> str | None:
    """Why an HTTP/1.1 request is not a valid RFC 6455 opening handshake, or None."""
    if method != "GET":
        return "websocket handshake must use GET"
    version = key = None
    for k, v in headers:
        if k == b"sec-websocket-version":
            version = v.strip()
        elif k == b"sec-websocket-key":
            key = v.strip()
    if version != b"13":
        return "unsupported Sec-WebSocket-Version (13 expected)"
    if not key:
        return "missing Sec-WebSocket-Key"
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return "bad Sec-WebSocket-Key"
    except Exception:
        return "bad Sec-WebSocket-Key"
    return None


def subprotocols_of(headers: list) -> list[str]:
    out: list[str] = []
    for k, v in headers:
        if k == b"sec-websocket-protocol":
            out.extend(p.strip() for p in v.decode("latin-1").split(",") if p.strip())
    return out


def build_scope(ctx, *, path_bytes: bytes, headers: list, client, server, scheme: str,
                http_version: str, conn_serial: int, req_serial: int, proxies=None) -> dict:
    """The websocket scope; ``proxies`` (``proxy.for_peer`` of the connection) applies proxy headers."""
    path, raw_path, qs = split_target(path_bytes)
    gtxnid, ltxnid = txn_ids(ctx, headers, conn_serial, req_serial)
    scope = {
        "type": "websocket",
        "asgi": ASGI_VERSION,
        "http_version": http_version,
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": qs,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": server,
        "subprotocols": subprotocols_of(headers),
        "extensions": {**skitai_extensions(ctx, http=False, peer=client),
                       "websocket.http.response": {}},
        "gtxnid": gtxnid,
        "ltxnid": ltxnid,
    }
    if proxies is not None:
        proxy.apply(scope, headers, proxies)
    return scope


class WebSocketSession:
    """One WebSocket: wsproto frames on one side, an ASGI app on the other."""

    def __init__(self, ctx, scope: dict, carrier, app=None) -> None:
        self.ctx = ctx
        self.app = app if app is not None else ctx.app
        self.scope = scope
        self.carrier = carrier
        prefs = getattr(ctx, "prefs", None)
        self.max_message = int(pref(prefs, "ws_max_message_size", DEFAULT_MAX_MESSAGE))
        self.idle_timeout = float(pref(prefs, "ws_idle_timeout", DEFAULT_IDLE))
        self.conn = Connection(ConnectionType.SERVER)
        self.fast = True
        self.queue: deque = deque()
        self.waiter: asyncio.Future | None = None
        self.accepted = False
        self.handshake_done = False  # accepted or denied
        self.closed = False  # no more frames from/to the peer
        self.close_sent = False
        self.disconnect_code: int | None = None
        self.paused = False
        self.parts: list = []
        self.part_size = 0
        self.part_text = False
        self.task: asyncio.Task | None = None
        self.close_waiter: asyncio.Future | None = None
        self.loop = asyncio.get_event_loop()
        self.last_rx = self.loop.time()
        self.idle_handle = None
        self.ping_sent = False
        self.started = time.perf_counter()
        self.status = 101
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.queue.append({"type": "websocket.connect"})
        self.scope["extensions"]["skitai.websocket"] = {
            "set_idle_timeout": self.set_idle_timeout,
            "client_id": id(self),
        }

    # ------------------------------------------------------------ lifecycle
    def start(self) -> asyncio.Task:
        self.task = self.loop.create_task(self._run())
        return self.task

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("websocket app failed: %s", self.scope.get("path"))
            if not self.handshake_done:
                await self._deny(500, [(b"content-type", b"text/plain")], b"Internal Server Error")
            elif not self.closed:
                await self._close(1011, "internal error")
        else:
            if not self.handshake_done:
                await self._deny(403, [(b"content-type", b"text/plain")], b"Forbidden")
            elif not self.close_sent and not self.closed:
                await self._close(1000, "")
        finally:
            self._cancel_idle()
            if self.accepted:
                # give the peer a moment to answer our close frame, then hang up
                self.carrier.close()
            report(self.ctx, self.scope, started=self.started, responded=self.started,
                   status=self.status, request_bytes=self.rx_bytes, response_bytes=self.tx_bytes,
                   protocol="ws", version=self.scope.get("http_version", "1.1"))

    def set_idle_timeout(self, seconds: float) -> None:
        """Change the idle timeout of this socket (Atila's ``timeout`` uses it)."""
        self.idle_timeout = float(seconds)
        if self.accepted:
            self._arm_idle()

    def _arm_idle(self) -> None:
        self._cancel_idle()
        if self.idle_timeout > 0 and not self.closed:
            self.idle_handle = self.loop.call_later(self.idle_timeout / 2, self._idle_check)

    def _cancel_idle(self) -> None:
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None

    def _idle_check(self) -> None:
        self.idle_handle = None
        if self.closed:
            return
        silent = self.loop.time() - self.last_rx
        if silent >= self.idle_timeout:
            self.going_away(1001, "idle timeout")
            return
        if silent >= self.idle_timeout / 2 and not self.ping_sent:
            self.ping_sent = True
            self._write_now(self.conn.send(Ping(b"skitai")))
        wait = max(0.05, min(self.idle_timeout - silent, self.idle_timeout / 2))
        self.idle_handle = self.loop.call_later(wait, self._idle_check)

    def going_away(self, code: int = 1001, reason: str = "going away") -> None:
        """Close from the server side without waiting (shutdown, idle timeout)."""
        if self.closed:
            return
        if self.accepted and not self.close_sent:
            self.close_sent = True
            try:
                self._write_now(self.conn.send(CloseConnection(code=code, reason=reason)))
            except Exception:
                pass
        self._disconnected(code)
        self.carrier.close()

    begin_shutdown = going_away

    # ------------------------------------------------------------ network side
    def feed(self, data: bytes) -> None:
        """Bytes from the peer."""
        if self.closed:
            return
        self.last_rx = self.loop.time()
        self.ping_sent = False
        self.rx_bytes += len(data)
        if self.fast and self._clean():
            used = self._fast_feed(data)
            if used == len(data):
                return
            if used:
                data = data[used:]
        self.conn.receive_data(data)
        try:
            for ev in self.conn.events():
                t = type(ev)
                if t is TextMessage or t is BytesMessage:
                    self._on_message(ev)
                elif t is Ping:
                    self._write_now(self.conn.send(ev.response()))
                elif t is CloseConnection:
                    code = ev.code
                    if self.conn.state is ConnectionState.OPEN:
                        # wsproto found a protocol error (bad UTF-8 1007, bad frame 1002 ...)
                        self.going_away(int(code), "protocol error")
                        return
                    if self.conn.state is ConnectionState.REMOTE_CLOSING:
                        try:
                            self._write_now(self.conn.send(ev.response()))
                        except Exception:
                            pass
                    self._disconnected(code)
                    self.carrier.close()
                    return
                elif t is Pong:
                    pass
                if self.closed:
                    return
        except Exception as e:  # a protocol error from wsproto
            log.debug("websocket protocol error: %s", e)
            self.going_away(1002, "protocol error")

    # Fast path: whole, unfragmented, masked text/binary frames -- nearly every
    # message -- are decoded here while wsproto holds no partial state; anything
    # else (control frames, fragments, partial frames, bad UTF-8) goes to wsproto
    # untouched, so its state machine stays the one authority.
    def _clean(self) -> bool:
        try:
            proto = self.conn._proto
            dec = proto._frame_decoder
            return (dec.header is None and not len(dec.buffer) and proto._message_decoder.opcode is None
                    and self.conn.state is ConnectionState.OPEN and not self.parts)
        except AttributeError:  # wsproto internals changed: always use wsproto
            self.fast = False
            return False

    def _fast_feed(self, data: bytes) -> int:
        i = 0
        n_all = len(data)
        limit = self.max_message
        while n_all - i >= 6:
            b0 = data[i]
            b1 = data[i + 1]
            if (b0 & 0xF0) != 0x80 or not (b1 & 0x80):  # FIN, no RSV, masked
                return i
            op = b0 & 0x0F
            if op != 1 and op != 2:
                return i
            n = b1 & 0x7F
            h = i + 2
            if n == 126:
                if n_all - h < 2:
                    return i
                n = int.from_bytes(data[h:h + 2], "big")
                h += 2
            elif n == 127:
                return i
            if n > limit or n_all - h < 4 + n:
                return i
            mask = data[h:h + 4]
            start = h + 4
            raw = data[start:start + n]
            if n:
                payload = (int.from_bytes(raw, "little")
                           ^ int.from_bytes(mask * ((n >> 2) + 1), "little") & ((1 << (n << 3)) - 1)
                           ).to_bytes(n, "little")
            else:
                payload = b""
            if op == 1:
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    return i  # wsproto closes with 1007
                self._enqueue({"type": "websocket.receive", "text": text})
            else:
                self._enqueue({"type": "websocket.receive", "bytes": payload})
            i = start + n
            if len(self.queue) >= QUEUE_HIGH and not self.paused:
                self.paused = True
                self.carrier.pause_reading()
        return i

    def _on_message(self, ev) -> None:
        data = ev.data
        size = len(data) if isinstance(data, bytes | bytearray) else len(data.encode("utf-8"))
        self.part_size += size
        if self.part_size > self.max_message:
            self.going_away(1009, "message too big")
            return
        if not ev.message_finished:
            self.parts.append(data)
            return
        if self.parts:
            self.parts.append(data)
            data = ("" if isinstance(data, str) else b"").join(self.parts)
            self.parts = []
        self.part_size = 0
        if isinstance(data, str):
            msg = {"type": "websocket.receive", "text": data}
        else:
            msg = {"type": "websocket.receive", "bytes": bytes(data)}
        self._enqueue(msg)
        if len(self.queue) >= QUEUE_HIGH and not self.paused:
            self.paused = True
            self.carrier.pause_reading()

    def connection_lost(self) -> None:
        """The transport went away (peer hung up or reset)."""
        self._disconnected(1006 if self.disconnect_code is None else self.disconnect_code)

    def _disconnected(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_idle()
        self.disconnect_code = code
        self._enqueue({"type": "websocket.disconnect", "code": code})
        w = self.close_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _enqueue(self, msg: dict) -> None:
        self.queue.append(msg)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _write_now(self, data: bytes) -> None:
        if data:
            self.tx_bytes += len(data)
            self.carrier.write_nowait(data)

    # ------------------------------------------------------------ ASGI side
    async def receive(self) -> dict:
        while not self.queue:
            if self.closed and self.disconnect_code is not None and self._gave_disconnect:
                return {"type": "websocket.disconnect", "code": self.disconnect_code}
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        msg = self.queue.popleft()
        if self.paused and len(self.queue) < QUEUE_HIGH // 2:
            self.paused = False
            self.carrier.resume_reading()
        if msg["type"] == "websocket.disconnect":
            self._gave_disconnect = True
        return msg

    _gave_disconnect = False

    async def send(self, message: dict) -> None:
        t = message["type"]
        if t == "websocket.send":
            if self.closed or self.close_sent:
                raise ClientDisconnected("websocket is closed")
            if not self.accepted:
                raise RuntimeError("websocket.send before websocket.accept")
            text = message.get("text")
            if self.conn.state is ConnectionState.OPEN:  # no extensions: a frame is header + payload
                if text is not None:
                    payload = text.encode("utf-8")
                    b0 = 0x81
                else:
                    payload = message.get("bytes") or b""
                    b0 = 0x82
                n = len(payload)
                if n < 126:
                    data = bytes((b0, n)) + payload
                elif n < 65536:
                    data = bytes((b0, 126)) + n.to_bytes(2, "big") + payload
                else:
                    data = bytes((b0, 127)) + n.to_bytes(8, "big") + payload
            elif text is not None:
                data = self.conn.send(TextMessage(data=text))
            else:
                data = self.conn.send(BytesMessage(data=message.get("bytes") or b""))
            self.tx_bytes += len(data)
            if not self.carrier.try_write(data):  # back-pressure or a window to wait for
                await self.carrier.write(data)
        elif t == "websocket.accept":
            if self.handshake_done:
                raise RuntimeError("websocket.accept sent twice or after close")
            if self.closed:
                raise ClientDisconnected("peer went away before accept")
            headers = list(message.get("headers") or ())
            sub = message.get("subprotocol")
            if sub:
                headers.append((b"sec-websocket-protocol", sub.encode("latin-1")))
            self.handshake_done = self.accepted = True
            await self.carrier.accept(headers)
            self._arm_idle()
        elif t == "websocket.close":
            if not self.handshake_done:
                await self._deny(403, [(b"content-type", b"text/plain")], b"Forbidden")
                return
            if self.close_sent or self.closed:
                return
            await self._close(int(message.get("code") or 1000), message.get("reason") or "")
        elif t == "websocket.http.response.start":
            if self.handshake_done:
                raise RuntimeError("websocket.http.response.start after the handshake")
            self._deny_start = (int(message["status"]), list(message.get("headers") or ()))
            self._deny_body = []
        elif t == "websocket.http.response.body":
            start = getattr(self, "_deny_start", None)
            if start is None:
                raise RuntimeError("websocket.http.response.body before start")
            self._deny_body.append(message.get("body") or b"")
            if not message.get("more_body"):
                await self._deny(start[0], start[1], b"".join(self._deny_body))
        else:
            raise RuntimeError(f"unexpected ASGI message {t!r} on a websocket")

    async def _deny(self, status: int, headers: list, body: bytes) -> None:
        if self.handshake_done:
            return
        self.handshake_done = True
        self.status = status
        self._disconnected(1006)
        await self.carrier.deny(status, headers, body)

    async def _close(self, code: int, reason: str) -> None:
        self.close_sent = True
        try:
            data = self.conn.send(CloseConnection(code=code, reason=reason))
        except Exception:
            data = b""
        if data:
            self.tx_bytes += len(data)
            try:
                await self.carrier.write(data)
            except Exception:
                pass
        # wait (bounded) for the peer's close frame, then hang up
        if not self.closed:
            self.close_waiter = self.loop.create_future()
            try:
                await asyncio.wait_for(self.close_waiter, 2.0)
            except TimeoutError:
                pass
        self._disconnected(code)
        self.carrier.close()


CLOSE_REASONS = {c.value: c.name for c in CloseReason}


class H1WebSocketCarrier(asyncio.Protocol):
    """The HTTP/1.1 side: owns the transport after the upgrade.

    ``H1WebSocketCarrier.upgrade(ctx, transport, method, target, headers, ...)``
    is what the HTTP/1.1 protocol calls for a request with ``Upgrade: websocket``:
    it takes over the transport (``transport.set_protocol``) and answers.
    """

    def __init__(self, transport, ctx) -> None:
        self.busy = True
        self.deadline = None
        self.transport = transport
        self.ctx = ctx
        self.session: WebSocketSession | None = None
        self.drain_waiter: asyncio.Future | None = None
        self.write_paused = False
        self.is_closed = False
        self.finished: asyncio.Future = asyncio.get_event_loop().create_future()

    @classmethod
    def upgrade(cls, ctx, transport, method: str, target: bytes, headers: list, *,
                http_version: str = "1.1", leftover: bytes = b"", conn_serial: int | None = None,
                req_serial: int = 1, app=None, ids: tuple | None = None) -> H1WebSocketCarrier | None:
        """Take over ``transport`` for a websocket request; returns the carrier.

        ``headers`` are ASGI style (lower-case names, bytes). A request that is
        not a valid handshake gets a 400 and the connection is closed (None).
        """
        problem = handshake_problem(method, headers)
        if problem:
            body = problem.encode()
            transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"
                            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            transport.close()
            return None
        self = cls(transport, ctx)
        tls = transport.get_extra_info("ssl_object") is not None
        sock = transport.get_extra_info("socket")
        client = transport.get_extra_info("peername")
        server = transport.get_extra_info("sockname")
        if sock is not None and client is None:
            client = sock.getpeername()
        client = _addr(client)
        unix = isinstance(server, str) and bool(server)  # uds: server = (path, None), client None
        scope = build_scope(
            ctx, path_bytes=target, headers=headers, client=client,
            server=(server, None) if unix else _addr(server),
            proxies=proxy.for_unix(ctx) if unix else proxy.for_peer(ctx, client),
            scheme="wss" if tls else "ws", http_version=http_version,
            conn_serial=conn_serial if conn_serial is not None else next_connection_serial(ctx),
            req_serial=req_serial,
        )
        if ids and ids[0]:
            scope["gtxnid"], scope["ltxnid"] = ids
        self.key = dict(headers).get(b"sec-websocket-key", b"")
        self.session = WebSocketSession(ctx, scope, self, app)
        transport.set_protocol(self)
        register = getattr(ctx, "register", None)
        if callable(register):
            register(self)
        else:
            conns = getattr(ctx, "connections", None)
            if conns is not None:
                conns.add(self)
        self.session.start()
        if leftover:
            self.session.feed(leftover)
        return self

    # carrier API
    async def accept(self, headers: list) -> None:
        out = [b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
               b"sec-websocket-accept: ", accept_key(self.key), b"\r\n"]
        for k, v in headers:
            out += [k, b": ", v, b"\r\n"]
        out.append(b"\r\n")
        self.transport.write(b"".join(out))

    async def deny(self, status: int, headers: list, body: bytes) -> None:
        from http import HTTPStatus
        try:
            phrase = HTTPStatus(status).phrase.encode()
        except ValueError:
            phrase = b"Unknown"
        out = [b"HTTP/1.1 %d %s\r\n" % (status, phrase)]
        has_len = False
        for k, v in headers:
            if k.lower() == b"content-length":
                has_len = True
            out += [k, b": ", v, b"\r\n"]
        if not has_len:
            out.append(b"content-length: %d\r\n" % len(body))
        out.append(b"connection: close\r\n\r\n")
        out.append(body)
        self.transport.write(b"".join(out))
        self.close()

    async def write(self, data: bytes) -> None:
        if self.is_closed:
            raise ClientDisconnected("connection closed")
        self.transport.write(data)
        if self.write_paused:
            if self.drain_waiter is None or self.drain_waiter.done():
                self.drain_waiter = asyncio.get_event_loop().create_future()
            timeout = getattr(self.ctx, "request_timeout", None) or 0
            try:
                if timeout:
                    await asyncio.wait_for(asyncio.shield(self.drain_waiter), timeout)
                else:
                    await self.drain_waiter
            except TimeoutError:  # the peer stopped reading
                self.transport.abort()
                raise ClientDisconnected("peer stopped reading") from None

    def write_nowait(self, data: bytes) -> None:
        if not self.is_closed:
            self.transport.write(data)

    def try_write(self, data: bytes) -> bool:
        """Write now when nothing needs waiting for (the common case); else False."""
        if self.write_paused or self.is_closed:
            return False
        self.transport.write(data)
        return True

    def pause_reading(self) -> None:
        if not self.is_closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if not self.is_closed:
            self.transport.resume_reading()

    def close(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            t = self.transport
            t.close()
            if t.get_write_buffer_size():  # a peer that does not read cannot keep us forever
                asyncio.get_event_loop().call_later(5.0, t.abort)

    @property
    def closed(self) -> bool:
        return self.is_closed

    # drain interface for the worker
    def on_timeout(self) -> None:
        pass

    def begin_shutdown(self) -> None:
        if self.session is not None:
            self.session.going_away(1001, "server shutdown")

    # asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        self.session.feed(data)

    def eof_received(self):
        return False

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def connection_lost(self, exc) -> None:
        self.is_closed = True
        if self.session is not None:
            self.session.connection_lost()
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_exception(ClientDisconnected("connection lost"))
            w.exception()
        forget_connection(self.ctx, self)
        if not self.finished.done():
            self.finished.set_result(None)


def _addr(a):
    if a is None:
        return None
    if isinstance(a, tuple) and len(a) >= 2:
        return (a[0], a[1])
    return None


def websocket_handoff(handoff) -> H1WebSocketCarrier | None:
    """Factory for ``ServerContext.upgrades["websocket"]`` (HTTP/1.1 Upgrade: websocket)."""
    scope = handoff.scope
    qs = scope.get("query_string") or b""
    target = (scope.get("raw_path") or scope["path"].encode("utf-8")) + (b"?" + qs if qs else b"")
    return H1WebSocketCarrier.upgrade(
        handoff.ctx, handoff.transport, scope["method"], target, list(scope["headers"]),
        http_version=scope.get("http_version", "1.1"), leftover=handoff.rest or b"",
        app=handoff.app, ids=(scope.get("gtxnid"), scope.get("ltxnid")),
    )
