"""HTTP/2 (RFC 9113) for ASGI apps, on the ``h2`` library.

One ``H2Protocol`` per connection; every stream runs ``app(scope, receive,
send)`` as its own task so streams are served concurrently. Entry points:

* ALPN ``h2`` on TLS and the prior-knowledge preface on clear text: the worker
  (or the HTTP/1.1 protocol that saw the preface) calls ``h2_handoff``;
* ``Upgrade: h2c`` (RFC 7540 section 3.2, including requests with a body):
  ``h2c_upgrade_handoff`` answers 101 and serves the request as stream 1;
* RFC 8441 extended CONNECT (``:protocol websocket``) runs a WebSocket on a
  stream (``skitai.server.ws``), so one connection carries both.

Why the flow control looks like this: request bodies are acknowledged (window
updates) only when the app has ``receive()``d them, so a slow app slows the
client instead of filling memory; response bodies are cut to the peer's
window and frame size and the sender waits for WINDOW_UPDATE, and the whole
connection stops reading while the socket's write buffer is full.

Abuse protections (all end in GOAWAY ENHANCE_YOUR_CALM and a closed socket):
streams reset by the client (rapid reset, CVE-2023-44487) beyond
``2 * max_concurrent_streams`` per 10 s window, and more than
``CONTROL_FRAME_LIMIT`` PING/SETTINGS/PRIORITY/empty-DATA frames per second.
A HEADERS that is reset in the same read never starts the app. CONTINUATION
floods are bounded by the h2 library (64 frames) and the header list by
``h2_max_header_list_size`` (oversize -> GOAWAY, since HPACK state is shared).

Server push is not used: ``early_hints`` (and ``http.response.early_hint``)
send a ``103 Early Hints`` with ``Link: <uri>; rel=preload`` instead, because
browsers removed HTTP/2 push (Chrome 106, Firefox 132) and 103 works on
HTTP/1.1 too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import deque

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

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

log = logging.getLogger("skitai.server.h2")


class _NoDebug:
    """hpack logs every header at DEBUG through ``logging`` (~20 calls a request)."""

    def debug(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name):
        return getattr(logging.getLogger("hpack.hpack"), name)


try:
    import hpack.hpack as _hpack_mod
    if not logging.getLogger("hpack.hpack").isEnabledFor(logging.DEBUG):
        _hpack_mod.log = _NoDebug()
except Exception:  # pragma: no cover - hpack layout changed: keep its logging
    pass


try:
    from hpack import Decoder as _HpackDecoder
    from hpack.table import HeaderTable as _HeaderTable
except ImportError:  # pragma: no cover
    _HpackDecoder = _HeaderTable = None

# per connection and direction: repeated blocks are small (indexes); the bound keeps a
# client from parking memory in the cache with many distinct blocks
_HPACK_CACHE_ENTRIES = 16
_HPACK_CACHE_BYTES = 1024

if _HpackDecoder is not None:
    class _GenTable(_HeaderTable):
        """HPACK dynamic table that counts its changes (inserts, evictions, resizes)."""

        gen = 0

        def add(self, name, value):
            self.gen += 1
            _HeaderTable.add(self, name, value)

        @property
        def maxsize(self):
            return self._maxsize

        @maxsize.setter
        def maxsize(self, value):
            self.gen += 1
            _HeaderTable.maxsize.fset(self, value)

    class _CachingDecoder(_HpackDecoder):
        """Remembers header blocks whose decoding left the dynamic table unchanged.

        Clients send the same block again and again once its headers are in
        the dynamic table (h2load, browsers: a few bytes of indexed fields).
        Decoding is a pure function of the block's bytes and the table, so
        the same bytes under the same table generation and header-list limit
        give the same headers without running the decoder; everything else
        (literals with indexing, size updates, other bytes) decodes as usual.
        """

        def decode(self, data, raw=False):
            table = self.header_table
            cache = self.skitai_cache
            key = (data, raw)
            hit = cache.get(key)
            if hit is not None and hit[0] == table.gen and hit[1] == self.max_header_list_size:
                self._assert_valid_table_size()
                return list(hit[2])
            gen = table.gen
            headers = _HpackDecoder.decode(self, data, raw)
            if table.gen == gen and len(data) <= _HPACK_CACHE_BYTES and isinstance(data, bytes):
                if len(cache) >= _HPACK_CACHE_ENTRIES:
                    cache.clear()
                cache[key] = (gen, self.max_header_list_size, tuple(headers))
            return headers


if _HpackDecoder is not None:
    from hpack import Encoder as _HpackEncoder

    class _CachingEncoder(_HpackEncoder):
        """Remembers encoded header lists whose encoding left the dynamic table unchanged.

        A response's headers are mostly the same from one response to the next
        (status, content-type, content-length, date within a second). Once
        they are all in the table, encoding them only emits indexes and
        changes nothing, so the bytes are a pure function of the list and the
        table: kept per table generation. Only lists of plain (bytes, bytes)
        2-tuples are cached (never-indexed / sensitive fields never are), and
        never while a table size change is waiting to be announced.
        """

        def encode(self, headers, huffman=True):
            table = self.header_table
            key = None
            if type(headers) is list and not table.resized and len(headers) <= 32:
                for h in headers:
                    if type(h) is not tuple or len(h) != 2 or type(h[0]) is not bytes or type(h[1]) is not bytes:
                        break
                else:
                    key = (tuple(headers), huffman)
                    hit = self.skitai_cache.get(key)
                    if hit is not None and hit[0] == table.gen:
                        return hit[1]
            gen = table.gen
            encoded = _HpackEncoder.encode(self, headers, huffman)
            if key is not None and table.gen == gen and not table.resized and len(encoded) <= _HPACK_CACHE_BYTES:
                cache = self.skitai_cache
                if len(cache) >= _HPACK_CACHE_ENTRIES:
                    cache.clear()
                cache[key] = (gen, encoded)
            return encoded


def _caching_encoder(old):
    """``old`` (h2's fresh encoder) replaced by a _CachingEncoder with the same table size."""
    if (_HpackDecoder is None or type(old) is not _HpackEncoder
            or type(old.header_table) is not _HeaderTable or old.header_table.dynamic_entries):
        return old
    new = _CachingEncoder()
    table = _GenTable()
    table.maxsize = old.header_table.maxsize
    table.resized = old.header_table.resized
    new.header_table = table
    new.skitai_cache = {}
    return new


def _caching_decoder(old):
    """``old`` (h2's fresh decoder) replaced by a _CachingDecoder with the same limits;
    ``old`` itself when hpack's layout is not the expected one."""
    if (_HpackDecoder is None or type(old) is not _HpackDecoder
            or type(old.header_table) is not _HeaderTable or old.header_table.dynamic_entries):
        return old
    new = _CachingDecoder(old.max_header_list_size)
    table = _GenTable()
    table.maxsize = old.header_table.maxsize
    new.header_table = table
    new.max_allowed_table_size = old.max_allowed_table_size
    new.skitai_cache = {}
    return new


CONTROL_FRAME_LIMIT = 200  # per second
RESET_WINDOW = 10.0
READ_CHUNK = 256 * 1024

_HOP_BY_HOP = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding",
                         b"upgrade", b"te"))
_INTERNAL_ERROR_BODY = b"Internal Server Error"
_GOOD_NAME = re.compile(rb"[^\x00-\x20A-Z:\x7f-\xff]+")
_BAD_VALUE = re.compile(rb"[\x00\r\n]|\A[ \t]|[ \t]\Z")
_CONNECTION_SPECIFIC = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding",
                                  b"upgrade"))


class StreamReset(Exception):
    """The stream was reset (by the peer or by us); the app's send() stops."""


def _lower_headers(headers) -> list:
    out = []
    for k, v in headers:
        k = k.lower() if isinstance(k, bytes) else k.encode("latin-1").lower()
        if k in _HOP_BY_HOP:
            continue
        out.append((k, v if isinstance(v, bytes) else str(v).encode("latin-1")))
    return out


class _Stream:
    __slots__ = (
        "sid", "proto", "scope", "body", "body_len", "ended", "waiter", "task", "reset",
        "complete", "window_waiter", "started", "headers_sent", "status", "resp_headers",
        "want_trailers", "t_start", "t_resp", "rx", "tx", "ws", "unacked", "disconnect_sent",
        "early", "content_type",
    )

    def __init__(self, sid: int, proto: H2Protocol, scope: dict) -> None:
        self.sid = sid
        self.proto = proto
        self.scope = scope
        self.body: deque = deque()
        self.body_len = 0
        self.ended = False
        self.waiter: asyncio.Future | None = None
        self.task: asyncio.Task | None = None
        self.reset = False
        self.complete = False
        self.window_waiter: asyncio.Future | None = None
        self.started = False
        self.headers_sent = False
        self.status = 0
        self.resp_headers: list = []
        self.want_trailers = False
        self.t_start = time.perf_counter()
        self.t_resp = None
        self.rx = 0
        self.tx = 0
        self.ws = None
        self.unacked = 0
        self.disconnect_sent = False
        self.content_type = None

    # -- network side
    def feed(self, data: bytes, flow_len: int) -> None:
        self.rx += len(data)
        if self.ws is not None:
            self.ws_feed(data, flow_len)
            return
        self.body.append((data, flow_len))
        self.body_len += len(data)
        self._wake()

    def ws_feed(self, data: bytes, flow_len: int) -> None:
        carrier = self.ws.carrier
        if carrier.paused:
            self.unacked += flow_len
        else:
            self.proto.ack(self.sid, flow_len)
        self.ws.feed(data)

    def end(self) -> None:
        self.ended = True
        if self.ws is not None:
            self.ws.connection_lost()
        self._wake()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def wake_window(self) -> None:
        w = self.window_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def on_reset(self) -> None:
        self.reset = True
        self._wake()
        self.wake_window()
        if self.ws is not None:
            self.ws.connection_lost()

    # -- ASGI side
    async def receive(self) -> dict:
        while True:
            if self.body:
                data, flow = self.body.popleft()
                self.body_len -= len(data)
                if flow:
                    self.proto.ack(self.sid, flow)
                more = bool(self.body) or not self.ended
                if self.reset:
                    break
                if not more:
                    self.disconnect_sent = True  # the final chunk: next receive() waits for disconnect
                return {"type": "http.request", "body": data, "more_body": more}
            if self.ended and not self.disconnect_sent and not self.complete and not self.reset:
                self.disconnect_sent = True  # final empty chunk given once
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.reset or self.complete or self.proto.lost:
                break
            self.waiter = self.proto.loop.create_future()
            timeout = self.proto.request_timeout
            try:
                if timeout and not self.ended:
                    try:
                        await asyncio.wait_for(self.waiter, timeout)
                    except TimeoutError:  # the client stopped sending the body
                        self.proto._reset(self, h2.errors.ErrorCodes.CANCEL)
                        break
                else:
                    await self.waiter
            finally:
                self.waiter = None
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        try:
            await self._send(message)
        except h2.exceptions.ProtocolError as e:  # the connection closed under the stream
            self.reset = True
            raise StreamReset(f"stream {self.sid}: {e}") from None

    async def _send(self, message: dict) -> None:
        t = message["type"]
        proto = self.proto
        if self.reset or proto.lost:
            if t in ("http.response.body", "http.response.start", "http.response.zerocopysend",
                     "http.response.pathsend", "http.response.trailers"):
                raise StreamReset(f"stream {self.sid} was reset")
        if t == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self.status = int(message["status"])
            self.resp_headers = message.get("headers") or []
            self.want_trailers = bool(message.get("trailers"))
            return
        if t == "http.response.body":
            body = message.get("body") or b""
            more = bool(message.get("more_body"))
            if self.complete:
                raise RuntimeError("response already complete")
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            end = not more and not self.want_trailers
            if not self.headers_sent:
                self._send_headers(end_stream=end and not body)
                if end and not body:
                    self._completed()
                    return
            await proto.send_data(self, body, end)
            if end:
                self._completed()
            return
        if t == "http.response.trailers":
            if not self.want_trailers or self.complete:
                return
            if not self.headers_sent:
                self._send_headers(end_stream=False)
            more = bool(message.get("more_trailers"))
            self.resp_headers = list(getattr(self, "_trailers", [])) + _lower_headers(message.get("headers") or ())
            if more:
                self._trailers = self.resp_headers  # type: ignore[attr-defined]
                return
            proto.conn.send_headers(self.sid, self.resp_headers, end_stream=True)
            proto.flush_soon()
            self._completed()
            return
        if t == "http.response.zerocopysend" or t == "http.response.pathsend":
            if not self.started:
                raise RuntimeError(f"{t} before http.response.start")
            await self._send_file(message, t == "http.response.pathsend")
            return
        if t == "http.response.early_hint":
            links = message.get("links") or ()
            await self.early_hints([lk.decode("latin-1") if isinstance(lk, bytes) else lk for lk in links],
                                   raw=True)
            return
        raise RuntimeError(f"unexpected ASGI message {t!r} on an HTTP/2 stream")

    async def early_hints(self, uris, raw: bool = False) -> None:
        """Send ``103 Early Hints`` with one Link preload per uri (replaces push)."""
        if self.headers_sent or self.reset or not uris:
            return
        hdrs = [(b":status", b"103")]
        for u in uris:
            v = u if raw else f"<{u}>; rel=preload"
            if any(c in v for c in "\r\n\0"):
                raise ValueError(f"early hint link contains a line break: {v!r}")
            hdrs.append((b"link", v.encode("latin-1")))
        try:
            self.proto.conn.send_headers(self.sid, hdrs)
        except h2.exceptions.ProtocolError:
            return
        self.proto.flush_soon()

    async def _send_file(self, message: dict, by_path: bool) -> None:
        proto = self.proto
        more = bool(message.get("more_body")) if not by_path else False
        if by_path:
            fd = os.open(message["path"], os.O_RDONLY)
            own = True
            offset, count = 0, os.fstat(fd).st_size
        else:
            f = message["file"]
            fd = f if isinstance(f, int) else f.fileno()
            own = False
            offset = int(message.get("offset") or 0)
            count = message.get("count")
            if count is None or count < 0:
                count = max(0, os.fstat(fd).st_size - offset)
        end_all = not more and not self.want_trailers
        try:
            if not self.headers_sent:
                self._send_headers(end_stream=end_all and count == 0)
                if end_all and count == 0:
                    self._completed()
                    return
            remaining = count
            pos = offset
            while remaining > 0:
                chunk = os.pread(fd, min(READ_CHUNK, remaining), pos)
                if not chunk:
                    break
                pos += len(chunk)
                remaining -= len(chunk)
                await proto.send_data(self, chunk, end_all and remaining == 0)
            if end_all:
                if remaining > 0:  # file shrank: end the stream anyway
                    await proto.send_data(self, b"", True)
                self._completed()
        finally:
            if own:
                os.close(fd)

    def _send_headers(self, end_stream: bool) -> None:
        hdrs = [(b":status", str(self.status).encode())]
        hdrs.extend(_lower_headers(self.resp_headers))
        if self.proto.date_header is not None:
            hdrs.extend(self.proto.date_header())
        for k, v in hdrs:
            if k == b"content-type":
                self.content_type = v.decode("latin-1")
                break
        self.proto.conn.send_headers(self.sid, hdrs, end_stream=end_stream)
        self.headers_sent = True
        self.t_resp = time.perf_counter()
        self.proto.flush_soon()

    def _completed(self) -> None:
        self.complete = True
        self._wake()


class _H2WebSocketCarrier:
    """Carrier (see ws.py) for a WebSocket on an HTTP/2 stream (RFC 8441)."""

    def __init__(self, stream: _Stream) -> None:
        self.stream = stream
        self.paused = False
        self.pending = 0  # writes waiting for flow control window
        self.closing = False

    async def accept(self, headers: list) -> None:
        s = self.stream
        s.status = 200
        s.resp_headers = headers
        s._send_headers(end_stream=False)

    async def deny(self, status: int, headers: list, body: bytes) -> None:
        s = self.stream
        s.status = status
        s.resp_headers = headers
        s._send_headers(end_stream=not body)
        if body:
            await s.proto.send_data(s, body, True)
        s._completed()

    async def write(self, data: bytes) -> None:
        from .ws import ClientDisconnected
        s = self.stream
        if s.reset or s.complete or s.proto.lost:
            raise ClientDisconnected("stream closed")
        await s.proto.send_data(s, data, False)

    def try_write(self, data: bytes) -> bool:
        s = self.stream
        proto = s.proto
        if (self.pending or s.reset or s.complete or proto.lost or proto.write_paused
                or len(data) > proto.conn.max_outbound_frame_size):
            return False
        try:
            if len(data) > proto.conn.local_flow_control_window(s.sid):
                return False
            proto.conn.send_data(s.sid, data)
        except h2.exceptions.ProtocolError:
            return False
        s.tx += len(data)
        proto.flush_soon()
        return True

    def write_nowait(self, data: bytes) -> None:
        s = self.stream
        proto = s.proto
        if s.reset or s.complete or proto.lost:
            return
        try:
            fits = (not self.pending and len(data) <= proto.conn.max_outbound_frame_size
                    and len(data) <= proto.conn.local_flow_control_window(s.sid))
        except h2.exceptions.ProtocolError:
            return
        if fits:  # control frames are small: send in order, right now
            proto.conn.send_data(s.sid, data)
            s.tx += len(data)
            proto.flush_soon()
            return
        self.pending += 1
        proto.loop.create_task(self._write_quiet(data))

    async def _write_quiet(self, data: bytes) -> None:
        try:
            await self.write(data)
        except Exception:
            pass
        finally:
            self.pending -= 1
            if self.closing and not self.pending:
                self.close()

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        s = self.stream
        if s.unacked:
            n, s.unacked = s.unacked, 0
            s.proto.ack(s.sid, n)

    def close(self) -> None:
        s = self.stream
        if s.complete or s.reset or s.proto.lost:
            return
        if self.pending:
            self.closing = True  # end the stream once queued frames are out
            return
        s.complete = True
        try:
            s.proto.conn.end_stream(s.sid)
        except h2.exceptions.ProtocolError:
            pass
        s.proto.flush_soon()


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection."""

    def __init__(self, ctx, app=None) -> None:
        self.ctx = ctx
        self.app = app if app is not None else ctx.app
        prefs = getattr(ctx, "prefs", None)
        self.max_streams = int(pref(prefs, "h2_max_concurrent_streams", 100))
        window = int(pref(prefs, "h2_initial_window_size", 65535))
        self.max_header_list = int(pref(prefs, "h2_max_header_list_size", 65536))
        max_frame = int(pref(prefs, "h2_max_frame_size", 16384))
        config = h2.config.H2Configuration(client_side=False, header_encoding=None,
                                           validate_inbound_headers=False,  # done in _new_stream
                                           validate_outbound_headers=False,
                                           normalize_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: self.max_header_list,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: max_frame,
            h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
        })
        self.conn.max_inbound_frame_size = max_frame
        # the decoder limit applies from the first request, before our SETTINGS are acked
        self.conn.decoder.max_header_list_size = self.max_header_list
        self.conn.decoder = _caching_decoder(self.conn.decoder)
        self.conn.encoder = _caching_encoder(self.conn.encoder)
        self.window = window
        self.streams: dict[int, _Stream] = {}
        self.loop = asyncio.get_event_loop()
        self.transport = None
        self.lost = False
        self.write_paused = False
        self.drain_waiter: asyncio.Future | None = None
        self.flush_scheduled = False
        self.tls = False
        self.client = self.server = None
        self.proxies = None
        self.conn_serial = 0
        self.req_serial = 0
        self.draining = False
        self.goaway_sent = False
        self.last_stream_id = 0
        self.finished: asyncio.Future = self.loop.create_future()  # set when the socket is gone
        self.resets = 0
        self.reset_window_start = self.loop.time()
        self.control = 0
        self.control_window_start = self.loop.time()
        self.busy = False
        self.deadline = None  # loop time after which an idle connection is closed (ctx.tick)
        ka = getattr(ctx, "keep_alive", None)
        self.keep_alive = float(pref(prefs, "keep_alive", 30.0) if ka is None else ka)
        # seconds a stream may wait for request body bytes or for window (0 = forever)
        rt = getattr(ctx, "request_timeout", None)
        self.request_timeout = float(pref(prefs, "request_timeout", 30.0) if rt is None else rt)
        self.date_header = None
        if hasattr(ctx, "date_headers"):
            self.date_header = self._date_header
        self._date_cache = (None, [])

    # ------------------------------------------------------------------ setup
    def _date_header(self) -> list:
        raw = self.ctx.date_headers
        cached_raw, cached = self._date_cache
        if raw is not cached_raw:
            cached = []
            for line in raw.split(b"\r\n"):
                if line:
                    k, _, v = line.partition(b": ")
                    cached.append((k, v))
            self._date_cache = (raw, cached)
        return cached

    def connection_made(self, transport) -> None:  # type: ignore[override]
        if self.transport is not None:
            return  # already taken over by a hand-off
        self._attach(transport)
        self.conn.initiate_connection()
        self._open_connection_window()
        self.flush()

    def _open_connection_window(self) -> None:
        """The connection window starts at 64 KiB whatever SETTINGS say; open it to
        16 stream windows so concurrent uploads are not serialised by it."""
        extra = self.window * min(self.max_streams, 16) - 65535
        if extra > 0:
            self.conn.increment_flow_control_window(extra)

    def _attach(self, transport) -> None:
        self.transport = transport
        self.tls = transport.get_extra_info("ssl_object") is not None
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.server = (sock[0], sock[1]) if isinstance(sock, tuple) else None
        self.proxies = proxy.for_peer(self.ctx, self.client)
        if isinstance(sock, str) and sock:  # uds: ASGI server = (path, None), client None
            self.server = (sock, None)
            self.proxies = proxy.for_unix(self.ctx)
        register = getattr(self.ctx, "register", None)
        if callable(register):
            self.conn_serial = register(self)
        else:
            self.conn_serial = next_connection_serial(self.ctx)
            conns = getattr(self.ctx, "connections", None)
            if conns is not None:
                conns.add(self)
        self.deadline = self.loop.time() + self.keep_alive if self.keep_alive > 0 else None
        try:
            transport.set_write_buffer_limits(high=256 * 1024)
        except Exception:
            pass

    # ------------------------------------------------------------------ I/O
    def flush(self) -> None:
        self.flush_scheduled = False
        data = self.conn.data_to_send()
        if data and not self.lost:
            self.transport.write(data)

    def flush_soon(self) -> None:
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def ack(self, sid: int, n: int) -> None:
        if self.lost:
            return
        try:
            self.conn.acknowledge_received_data(n, sid)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
            try:
                self.conn.increment_flow_control_window(n)
            except Exception:
                pass
        self.flush_soon()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.transport is not None and not self.lost:
            try:
                self.transport.pause_reading()
            except Exception:
                pass

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.transport is not None and not self.lost:
            try:
                self.transport.resume_reading()
            except Exception:
                pass
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)
        self.drain_waiter = None

    async def send_data(self, s: _Stream, data, end: bool) -> None:
        conn = self.conn
        sid = s.sid
        view = memoryview(data) if data else b""
        total = len(view)
        pos = 0
        if total == 0:
            if end:
                if s.reset or self.lost:
                    raise StreamReset(f"stream {sid} was reset")
                conn.end_stream(sid)
                self.flush_soon()
            return
        while pos < total:
            if s.reset or self.lost:
                raise StreamReset(f"stream {sid} was reset")
            try:
                window = conn.local_flow_control_window(sid)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                s.reset = True
                raise StreamReset(f"stream {sid} was closed") from None
            if window <= 0:
                s.window_waiter = self.loop.create_future()
                try:
                    if self.request_timeout:
                        await asyncio.wait_for(s.window_waiter, self.request_timeout)
                    else:
                        await s.window_waiter
                except TimeoutError:  # the client stopped opening its window
                    self._reset(s, h2.errors.ErrorCodes.CANCEL)
                    raise StreamReset(f"stream {sid}: no flow control window for "
                                      f"{self.request_timeout:g}s") from None
                finally:
                    s.window_waiter = None
                continue
            frame = conn.max_outbound_frame_size
            limit = min(window, total - pos)
            while limit > 0:
                n = min(limit, frame)
                last = pos + n == total
                conn.send_data(sid, view[pos:pos + n], end_stream=end and last)
                pos += n
                limit -= n
                s.tx += n
            if self.write_paused:
                self.flush()
                if self.drain_waiter is None or self.drain_waiter.done():
                    self.drain_waiter = self.loop.create_future()
                try:
                    if self.request_timeout:
                        await asyncio.wait_for(asyncio.shield(self.drain_waiter), self.request_timeout)
                    else:
                        await asyncio.shield(self.drain_waiter)
                except TimeoutError:  # the client does not read at all: drop the connection
                    self.transport.abort()
                    raise StreamReset("client stopped reading") from None
            else:
                self.flush_soon()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self._fatal(e)
            return
        pending: list[_Stream] | None = None
        for ev in events:
            t = type(ev)
            if t is h2.events.RequestReceived:
                s = self._new_stream(ev)
                if s is not None:
                    if pending is None:
                        pending = []
                    pending.append(s)
            elif t is h2.events.DataReceived:
                s = self.streams.get(ev.stream_id)
                if s is not None:
                    s.feed(ev.data, ev.flow_controlled_length)
                elif ev.flow_controlled_length:
                    self.ack(ev.stream_id, ev.flow_controlled_length)
                if not ev.data and not ev.stream_ended and self._control():
                    return
            elif t is h2.events.StreamEnded:
                s = self.streams.get(ev.stream_id)
                if s is not None:
                    s.end()
            elif t is h2.events.StreamReset:
                s = self.streams.pop(ev.stream_id, None)
                if s is not None:
                    s.on_reset()
                    if s.task is not None:
                        s.task.cancel()
                if self._count_reset():
                    return
            elif t is h2.events.WindowUpdated:
                if ev.stream_id == 0:
                    for s in self.streams.values():
                        s.wake_window()
                else:
                    s = self.streams.get(ev.stream_id)
                    if s is not None:
                        s.wake_window()
            elif t is h2.events.RemoteSettingsChanged:
                if self._control():
                    return
                if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in ev.changed_settings:
                    for s in self.streams.values():
                        s.wake_window()
            elif t is h2.events.PingReceived or t is h2.events.PriorityUpdated:
                if self._control():
                    return
            elif t is h2.events.ConnectionTerminated:
                self.flush()
                self.close()
                return
            elif t is h2.events.TrailersReceived:
                pass
        if pending:
            for s in pending:
                if s.sid in self.streams and not s.reset:
                    self._start(s)
        self.flush()

    def _control(self) -> bool:
        now = self.loop.time()
        if now - self.control_window_start > 1.0:
            self.control_window_start = now
            self.control = 0
        self.control += 1
        if self.control > CONTROL_FRAME_LIMIT:
            self._calm("control frame flood")
            return True
        return False

    def _count_reset(self) -> bool:
        now = self.loop.time()
        if now - self.reset_window_start > RESET_WINDOW:
            self.reset_window_start = now
            self.resets = 0
        self.resets += 1
        if self.resets > 2 * self.max_streams:
            self._calm("rapid reset")
            return True
        return False

    def _calm(self, why: str) -> None:
        log.warning("h2 client %s: %s; sending GOAWAY", self.client, why)
        for s in list(self.streams.values()):
            s.on_reset()
            if s.task is not None:
                s.task.cancel()
        self.streams.clear()
        try:
            self.conn.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        except h2.exceptions.ProtocolError:
            pass
        self.flush()
        self.close()

    def _fatal(self, e: Exception) -> None:
        log.debug("h2 protocol error from %s: %s", self.client, e)
        code = getattr(e, "error_code", None) or h2.errors.ErrorCodes.PROTOCOL_ERROR
        if self.conn.state_machine.state is not h2.connection.ConnectionState.CLOSED:
            try:
                self.conn.close_connection(error_code=code)
            except Exception:
                pass
        try:
            self.flush()
        except Exception:
            pass
        self.close()

    # ------------------------------------------------------------------ streams
    def _new_stream(self, ev) -> _Stream | None:
        sid = ev.stream_id
        if self.draining or len(self.streams) >= self.max_streams:
            # our own check too: h2 only enforces the limit once the client acked SETTINGS
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            return None
        # Request header validation (RFC 9113 8.2, 8.3) in one pass, instead of
        # h2's chain of per-byte generators; a malformed request is a stream
        # error (RST_STREAM PROTOCOL_ERROR), the connection lives on.
        method = authority = path = scheme = protocol = None
        headers = []
        has_host = False
        regular = False
        bad = False
        for k, v in ev.headers:
            if v and (_BAD_VALUE.search(v) is not None):
                bad = True
                break
            if k[:1] == b":":
                if regular:
                    bad = True
                    break
                if k == b":method" and method is None:
                    method = v
                elif k == b":path" and path is None:
                    path = v
                elif k == b":authority" and authority is None:
                    authority = v
                elif k == b":scheme" and scheme is None:
                    scheme = v
                elif k == b":protocol" and protocol is None:
                    protocol = v
                else:  # unknown or repeated pseudo-header
                    bad = True
                    break
            else:
                regular = True
                if _GOOD_NAME.fullmatch(k) is None or k in _CONNECTION_SPECIFIC:
                    bad = True
                    break
                if k == b"te" and v.lower() != b"trailers":
                    bad = True
                    break
                if k == b"host":
                    has_host = True
                headers.append((k, v))
        if not bad:
            if method is None:
                bad = True
            elif method == b"CONNECT" and protocol is None:
                bad = scheme is not None or path is not None or authority is None
            else:
                bad = scheme is None or not path or (protocol is not None and method != b"CONNECT")
        if bad:
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.PROTOCOL_ERROR)
            return None
        if authority is not None and not has_host:
            headers.insert(0, (b"host", authority))
        self.last_stream_id = sid
        self.req_serial += 1
        if method == b"CONNECT":
            if protocol is not None and protocol.lower() == b"websocket" and path:
                return self._new_ws_stream(sid, path, headers, ev)
            self.conn.send_headers(sid, [(b":status", b"405"), (b"content-length", b"0")], end_stream=True)
            return None
        scope = self._http_scope(method.decode("latin-1"), path, headers,
                                 (scheme or (b"https" if self.tls else b"http")).decode("latin-1"))
        s = _Stream(sid, self, scope)
        scope["extensions"]["skitai"]["early_hints"] = s.early_hints
        self.streams[sid] = s
        if ev.stream_ended is not None:
            s.ended = True
        return s

    def _http_scope(self, method: str, target: bytes, headers: list, scheme: str) -> dict:
        path, raw_path, qs = split_target(target)
        gtxnid, ltxnid = txn_ids(self.ctx, headers, self.conn_serial, self.req_serial)
        ext = skitai_extensions(self.ctx, early_hints=True, http=True, peer=self.client)
        ext["http.response.trailers"] = {}
        scope = {
            "type": "http",
            "asgi": ASGI_VERSION,
            "http_version": "2",
            "method": method,
            "scheme": scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": qs,
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.server,
            "extensions": ext,
            "gtxnid": gtxnid,
            "ltxnid": ltxnid,
        }
        if self.proxies is not None:
            proxy.apply(scope, headers, self.proxies)
        return scope

    def _new_ws_stream(self, sid: int, path: bytes, headers: list, ev) -> _Stream | None:
        from .ws import WebSocketSession, build_scope
        scope = build_scope(self.ctx, path_bytes=path, headers=headers, client=self.client,
                            server=self.server, scheme="wss" if self.tls else "ws", http_version="2",
                            conn_serial=self.conn_serial, req_serial=self.req_serial,
                            proxies=self.proxies)
        s = _Stream(sid, self, scope)
        carrier = _H2WebSocketCarrier(s)
        s.ws = WebSocketSession(self.ctx, scope, carrier)
        self.streams[sid] = s
        return s

    def _start(self, s: _Stream) -> None:
        self.busy = True
        self.deadline = None
        if s.ws is not None:
            s.task = s.ws.start()
            s.task.add_done_callback(lambda _t, s=s: self._stream_done(s))
        else:
            s.task = self.loop.create_task(self._run(s))

    async def _run(self, s: _Stream) -> None:
        try:
            await self.app(s.scope, s.receive, s.send)
        except (asyncio.CancelledError, StreamReset):
            pass
        except Exception:
            log.exception("app failed on %s %s", s.scope.get("method"), s.scope.get("path"))
            await self._conclude(s, failed=True)
        else:
            await self._conclude(s, failed=False)
        finally:
            self._stream_done(s)

    async def _conclude(self, s: _Stream, failed: bool) -> None:
        """After the app: a 500 if nothing was sent, else end or reset the stream."""
        if s.reset or self.lost or s.complete:
            return
        try:
            if not s.headers_sent:
                if failed or not s.started:
                    if not failed:
                        log.error("app returned without a response: %s", s.scope.get("path"))
                    body = _INTERNAL_ERROR_BODY if failed else b""
                    s.status = 500
                    s.resp_headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
                    s.want_trailers = False
                    s._send_headers(end_stream=not body)
                    if body:
                        await self.send_data(s, body, True)
                else:  # started with an empty body and returned
                    s._send_headers(end_stream=True)
            elif failed:
                self._reset(s, h2.errors.ErrorCodes.INTERNAL_ERROR)
            else:
                await self.send_data(s, b"", True)
            s.complete = True
        except (StreamReset, h2.exceptions.ProtocolError):
            s.reset = True

    def _reset(self, s: _Stream, code) -> None:
        s.reset = True
        try:
            self.conn.reset_stream(s.sid, code)
        except h2.exceptions.ProtocolError:
            pass
        self.flush_soon()

    def _stream_done(self, s: _Stream) -> None:
        if self.streams.get(s.sid) is s:
            del self.streams[s.sid]
            if not s.complete and not s.reset and not self.lost:
                self._reset(s, h2.errors.ErrorCodes.CANCEL)
            # answered before the upload ended: no RST_STREAM(NO_ERROR) (httpx hangs on it);
            # the rest of the body is acknowledged and dropped as it arrives
        # give back window the app never read
        if s.body and not self.lost:
            n = sum(f for _, f in s.body)
            s.body.clear()
            if n:
                self.ack(s.sid, n)
        if s.ws is None:
            report(self.ctx, s.scope, started=s.t_start, responded=s.t_resp, status=s.status or 0,
                   request_bytes=s.rx, response_bytes=s.tx, protocol="h2", version="2",
                   content_type=s.content_type)  # the observer counts requests_served
        if not self.streams:
            self.busy = False
            self.deadline = self.loop.time() + self.keep_alive if self.keep_alive > 0 else None
            if self.draining:
                self._finish_drain()

    # ------------------------------------------------------------------ shutdown
    def begin_shutdown(self) -> None:
        """Graceful: GOAWAY now (new streams refused), close when open streams finish.

        The first GOAWAY is written as a raw frame because the h2 state machine
        would refuse to send anything after its own close_connection().
        """
        if self.draining or self.lost:
            return
        self.draining = True
        self.flush()
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.conn.highest_inbound_stream_id
        frame.error_code = 0
        self.transport.write(frame.serialize())
        for s in list(self.streams.values()):
            if s.ws is not None:
                s.ws.going_away(1001, "server shutdown")
        if not self.streams:
            self._finish_drain()

    def _finish_drain(self) -> None:
        if self.goaway_sent or self.lost:
            return
        self.goaway_sent = True
        try:
            self.conn.close_connection(last_stream_id=self.conn.highest_inbound_stream_id)
        except h2.exceptions.ProtocolError:
            pass
        self.flush()
        self.close()

    def on_timeout(self) -> None:
        """No stream for ``keep_alive`` seconds: GOAWAY and close (swept by ctx.tick)."""
        self.deadline = None
        if not self.streams and not self.lost:
            self.draining = True
            self._finish_drain()

    @property
    def closed(self) -> bool:
        """True once the connection is gone (same meaning as on the HTTP/1.1 protocol)."""
        return self.lost

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def eof_received(self):
        return False

    def connection_lost(self, exc) -> None:
        self.lost = True
        for s in list(self.streams.values()):
            s.on_reset()
            if s.task is not None and s.ws is None and not s.started:
                s.task.cancel()
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)
        forget_connection(self.ctx, self)
        if not self.finished.done():
            self.finished.set_result(None)

    # ------------------------------------------------------------------ h2c upgrade
    def upgrade(self, transport, method: str, target: bytes, headers: list, body: bytes,
                settings_header: bytes, rest: bytes) -> None:
        """Serve an HTTP/1.1 ``Upgrade: h2c`` request as stream 1 (RFC 7540 3.2)."""
        self._attach(transport)
        transport.write(b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n")
        try:
            self.conn.initiate_upgrade_connection(settings_header)
        except Exception:
            self.conn.initiate_connection()
        self._open_connection_window()
        self.flush()
        self.req_serial += 1
        self.last_stream_id = 1
        hdrs = [(k, v) for k, v in headers
                if k not in (b"connection", b"upgrade", b"http2-settings", b"keep-alive",
                             b"transfer-encoding", b"te", b"proxy-connection")]
        scope = self._http_scope(method, target, hdrs, "https" if self.tls else "http")
        s = _Stream(1, self, scope)
        scope["extensions"]["skitai"]["early_hints"] = s.early_hints
        if body:
            s.body.append((body, 0))
            s.body_len = len(body)
            s.rx = len(body)
        s.ended = True
        self.streams[1] = s
        self._start(s)
        if rest:
            self.data_received(rest)


# ---------------------------------------------------------------------- hand-off
def h2_handoff(handoff) -> H2Protocol:
    """Factory for ``ServerContext.h2_factory``: prior-knowledge preface or ALPN h2.

    Takes the transport over (``set_protocol``), sends our SETTINGS and feeds
    the bytes already read (``handoff.rest``, which starts with the preface).
    """
    proto = H2Protocol(handoff.ctx, handoff.app)
    t = handoff.transport
    t.set_protocol(proto)
    proto.connection_made(t)
    if handoff.rest:
        proto.data_received(handoff.rest)
    return proto


class _BodyCollector(asyncio.Protocol):
    """Reads the rest of an ``Upgrade: h2c`` request body before switching."""

    def __init__(self, handoff, have: bytes, complete, finish) -> None:
        self.buf = bytearray(have)
        self.complete = complete
        self.finish = finish
        self.transport = handoff.transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > MAX_UPGRADE_BODY:
            self.transport.write(b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n"
                                 b"connection: close\r\n\r\n")
            self.transport.close()
            return
        try:
            done = self.complete(bytes(self.buf))
        except ValueError:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()
            return
        if done is not None:
            self.finish(*done)

    def connection_lost(self, exc) -> None:
        pass


MAX_UPGRADE_BODY = 16 * 1024 * 1024


def _dechunk(buf: bytes) -> tuple[bytes, bytes] | None:
    """(body, rest) of a complete chunked body at the start of ``buf``, None if incomplete."""
    out = []
    pos = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(buf[pos:eol].split(b";", 1)[0].strip() or b"x", 16)  # ValueError if bad
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)  # skip trailers up to the empty line
            if end < 0:
                return None
            return b"".join(out), buf[end + 4:]
        if len(buf) < pos + size + 2:
            return None
        out.append(buf[pos:pos + size])
        pos += size + 2


def h2c_upgrade_handoff(handoff) -> H2Protocol | None:
    """Factory for ``ServerContext.upgrades["h2c"]``.

    ``handoff.scope`` is the HTTP/1.1 request, ``handoff.rest`` what came after
    its head. The request body (Content-Length or chunked) is read completely
    before switching, as RFC 7540 section 3.2 asks, and becomes stream 1's body.
    """
    scope = handoff.scope
    t = handoff.transport
    headers = scope["headers"]
    settings_header = b""
    length = 0
    chunked = False
    for k, v in headers:
        if k == b"http2-settings":
            settings_header = v.strip()
        elif k == b"content-length":
            try:
                length = int(v)
            except ValueError:
                length = -1
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if length < 0 or length > MAX_UPGRADE_BODY:
        t.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        t.close()
        return None
    qs = scope.get("query_string") or b""
    target = (scope.get("raw_path") or scope["path"].encode("utf-8")) + (b"?" + qs if qs else b"")
    proto = H2Protocol(handoff.ctx, handoff.app)

    def finish(body: bytes, rest: bytes) -> None:
        t.set_protocol(proto)
        proto.upgrade(t, scope["method"], target, headers, body, settings_header, rest)

    body = getattr(handoff, "body", b"") or b""
    if chunked and body:  # the HTTP/1.1 side already decoded it
        def complete(buf: bytes):
            return body, buf
        buf = handoff.rest or b""
    elif chunked:
        complete = _dechunk
        buf = handoff.rest or b""
    else:
        def complete(buf: bytes):
            return (buf[:length], buf[length:]) if len(buf) >= length else None
        buf = body + (handoff.rest or b"")
    try:
        done = complete(buf)
    except ValueError:
        done = None
        t.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        t.close()
        return None
    if done is not None:
        finish(*done)
    else:
        t.set_protocol(_BodyCollector(handoff, buf, complete, finish))
    return proto


def install(ctx) -> None:
    """Register the HTTP/2 and WebSocket hand-offs in a worker's context."""
    from .ws import websocket_handoff
    ctx.h2_factory = h2_handoff
    upgrades = getattr(ctx, "upgrades", None)
    if upgrades is not None:
        upgrades["h2c"] = h2c_upgrade_handoff
        upgrades["websocket"] = websocket_handoff
