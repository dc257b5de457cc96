"""HTTP/1.0 and HTTP/1.1 on asyncio with the httptools (llhttp) parser.

One ``H1Protocol`` per connection. Requests are parsed by httptools
callbacks straight into an ASGI scope and run one at a time per connection
(pipelined requests queue up, so responses go out in request order). Each
request is a ``Cycle`` that carries the ASGI ``receive``/``send`` pair.

Why it is shaped like this:

- hot path: header names are lowercased once and checked against one dict;
  the response head is built in one ``b"".join`` and written together with the
  first body chunk; the ``Date``/``Server`` bytes come precomputed from the
  worker context (refreshed once a second).
- timeouts cost nothing per request: a connection only stores a deadline and
  the context sweeps all connections once a second (``ServerContext.tick``).
- limits answer early and close: 431 (header block), 413 (Content-Length or a
  chunked body past the ceiling, without reading it), 400 (anything llhttp
  rejects, including Content-Length with Transfer-Encoding and duplicate
  Content-Length: no request smuggling), 501 (a transfer coding we do not
  implement).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import logging
import os
import socket
import struct
import types
from asyncio.tasks import _enter_task, _leave_task
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from time import perf_counter
from typing import Any
from urllib.parse import unquote_to_bytes

import httptools

from skitai.observability.record import RequestRecord

from . import proxy
from .context import Handoff, ServerContext

log = logging.getLogger("skitai.server")

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ASGI_INFO = {"version": "3.0", "spec_version": "2.4"}
DISCONNECT = {"type": "http.disconnect"}
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"

BODY_HIGH_WATER = 256 * 1024     # buffered request body before we stop reading
PIPELINE_MAX = 16                # queued pipelined requests before we stop reading
FRESH_CONNECTION_GRACE = 1.0     # s: a drain still answers a just-accepted connection's first request
SENDFILE_CHUNK = 1 << 20
READ_CHUNK = 256 * 1024
_LINGER_RESET = struct.pack("ii", 1, 0)
LINGER_SECONDS = 2.0             # reading and dropping input after an early response
LINGER_BYTES = 16 << 20

STATUS_LINES = {
    s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode("ascii")) for s in HTTPStatus
}
NO_BODY_STATUS = frozenset([204, 304] + list(range(100, 200)))

# request headers the server itself looks at -> slot in Cycle.hv
(H_HOST, H_CL, H_TE, H_EXPECT, H_UPGRADE, H_GTXN, H_LTXN, H_AUTH, H_REFERER, H_UA, H_XFF, H_H2S,
 H_XRIP, H_XFP) = range(14)
_WATCH = {
    b"host": H_HOST, b"content-length": H_CL, b"transfer-encoding": H_TE,
    b"expect": H_EXPECT, b"upgrade": H_UPGRADE, b"x-gtxnid": H_GTXN,
    b"x-ltxnid": H_LTXN, b"authorization": H_AUTH, b"referer": H_REFERER,
    b"user-agent": H_UA, b"x-forwarded-for": H_XFF, b"http2-settings": H_H2S,
    b"x-real-ip": H_XRIP, b"x-forwarded-proto": H_XFP,
}
_NO_HV = [None] * 14
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}

# response headers the server looks at
R_CL, R_TE, R_CONN, R_CTYPE, R_DATE, R_SERVER = range(6)
_DATE, _SERVER = 1 << 4, 1 << 5
_DATE_OR_SERVER = _DATE | _SERVER
_RWATCH = {
    b"content-length": R_CL, b"transfer-encoding": R_TE, b"connection": R_CONN,
    b"content-type": R_CTYPE, b"date": R_DATE, b"server": R_SERVER,
}
_ID_OK = frozenset(b"!#$%&'*+-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~")


# Flags of a ready-made head (Cycle.respond_head): the app set Date / Server itself
HEAD_DATE, HEAD_SERVER = 1, 2

# App types that can answer an HTTP/1.1 request without an ASGI coroutine:
# type -> fn(app, cycle) -> bool (True: it took the request and will finish the
# cycle itself, with Cycle.respond / Cycle.app_returned / Cycle.app_raised).
# The WSGI adapter registers here: its requests run on a thread anyway.
DIRECT_APPS: dict[type, Callable[[Any, Cycle], bool]] = {}


class ClientDisconnected(OSError):
    """Raised by ``send`` when the client has gone (ASGI spec 2.4)."""


class _Reject(Exception):
    """Raised inside a parser callback to answer with an error status and close."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:
        if not isinstance(status, int) or not 100 <= status <= 999:
            raise RuntimeError(f"invalid status {status!r}")
        line = b"HTTP/1.1 %d \r\n" % status
    return line


def error_response(status: int, body: bytes, date_headers: bytes) -> bytes:
    return b"".join((
        status_line(status), date_headers,
        b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body), body,
    ))


def _txn_id(value: bytes | None) -> str | None:
    if value and len(value) <= 128 and _ID_OK.issuperset(value):
        return value.decode("ascii")
    return None


def _basic_user(auth: bytes) -> str | None:
    if auth[:6].lower() != b"basic ":
        return None
    try:
        raw = base64.b64decode(auth[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.split(b":", 1)[0].decode("utf-8", "replace") or None


class _Failing:
    """Stands in for an app that could not be chosen: raises the error inside the request."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def __call__(self, scope, receive, send) -> None:
        raise self.exc


@types.coroutine
def _drive(cycle: Cycle, coro, ctx: contextvars.Context, yielded, exc: BaseException | None = None):
    """Go on with the app coroutine ``coro`` of ``cycle`` (already started, last
    yielded ``yielded``) inside ``ctx``, then tell the cycle how it ended.

    Awaited by a connection's runner task: each step of the request's coroutine
    runs in the request's own context, as if the coroutine were its own task;
    what it yields (a future, or None for a bare yield) goes to the runner
    task, and whatever the task receives (a result, or a cancellation) is
    passed on. ``exc`` is thrown in first (a cancel that came before the
    runner took the coroutine over).
    """
    run = ctx.run
    while True:
        if exc is None:
            try:
                value = yield yielded
            except BaseException as e:  # noqa: BLE001 - cancellation and anything thrown at the task
                exc = e
                continue
            step, arg = coro.send, value
        else:
            step, arg, exc = coro.throw, exc, None
        try:
            yielded = run(step, arg)
        except StopIteration:
            run(cycle.app_returned)
            return
        except BaseException as e:  # noqa: BLE001 - the app's error, answered by the cycle
            run(cycle.app_raised, e)
            return


_CoroutineType = types.CoroutineType


async def _awaited(awaitable):
    return await awaitable


def _first_step(app, cycle: Cycle) -> tuple:
    """Call the app and run its coroutine up to its first wait (inside the request's context).
    Returns (coroutine, what it yielded), or (None, None) when the request already ended."""
    try:
        coro = app(cycle.scope, cycle.receive, cycle.send)
        if type(coro) is not _CoroutineType:  # an app returning another kind of awaitable
            coro = _awaited(coro)
        return coro, coro.send(None)
    except StopIteration:
        cycle.app_returned()
    except BaseException as exc:  # noqa: BLE001 - the app's error, answered by the cycle
        cycle.app_raised(exc)
    return None, None


def _run_due(due: list) -> None:
    """Take the first step of every request started since the last loop iteration."""
    batch = due[:]
    due.clear()
    for proto, cycle, app in batch:
        try:
            proto._step(cycle, app)
        except Exception:  # never let one request keep the others of the batch from running
            log.exception("starting a request failed")


class Cycle:
    """One request/response exchange: the ASGI ``receive`` and ``send``."""

    __slots__ = (
        "proto", "scope", "hv", "keep_alive", "expect_continue", "head_only", "no_body",
        "body", "body_complete", "body_delivered", "request_bytes", "waiters", "disconnected",
        "response_started", "response_complete", "chunked", "pending", "status",
        "response_bytes", "response_length", "content_type", "started", "responded",
        "finished", "handoff", "url", "uri", "method",
    )

    def __init__(self, proto: H1Protocol, scope: dict, hv: list, url: bytes, keep_alive: bool,
                 method: str) -> None:
        self.proto = proto
        self.scope = scope
        self.hv = hv
        self.url = url
        self.uri = url.decode("latin-1")
        self.method = method
        self.keep_alive = keep_alive
        self.expect_continue = False
        self.head_only = self.no_body = method == "HEAD"
        self.body: bytearray | None = None  # made when the first body bytes arrive
        self.body_complete = False
        self.body_delivered = False
        self.request_bytes = 0
        self.waiters: list | None = None  # tasks blocked in receive() (there may be several)
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.chunked = False
        self.pending: bytes | None = None
        self.status = 0
        self.response_bytes = 0
        self.response_length: int | None = None
        self.content_type: bytes | None = None
        self.started = perf_counter()
        self.responded = 0.0
        self.finished = 0.0
        self.handoff = None

    # -- ASGI receive -----------------------------------------------------
    async def receive(self) -> dict:
        if self.disconnected or self.response_complete:
            return DISCONNECT
        proto = self.proto
        if self.expect_continue:
            self.expect_continue = False
            if not self.body_complete and not self.response_started and not proto.closed:
                proto.transport.write(CONTINUE_100)
        if self.body_delivered:
            # the whole body was handed over: the next event is the disconnect
            await self._wait()
            return DISCONNECT
        if not self.body and not self.body_complete:
            proto.resume_reading()
            proto.read_deadline = proto.ctx.request_deadline()
            try:
                await self._wait()
            finally:
                if proto.cycle is self:
                    proto.read_deadline = None
            if self.disconnected:
                return DISCONNECT
        if self.body:
            body = bytes(self.body)
            self.body.clear()
            if proto.reading_paused:
                proto.resume_reading()
        else:
            body = b""
        more = not self.body_complete
        if not more:
            self.body_delivered = True
        return {"type": "http.request", "body": body, "more_body": more}

    async def _wait(self) -> None:
        # one future per waiting task: frameworks often have one task reading the
        # body and another listening for the disconnect at the same time
        fut = self.proto.loop.create_future()
        waiters = self.waiters
        if waiters is None:
            waiters = self.waiters = []
        waiters.append(fut)
        try:
            await fut
        finally:
            try:
                waiters.remove(fut)
            except ValueError:
                pass

    def wake(self) -> None:
        waiters = self.waiters
        if waiters:
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    # -- ASGI send ----------------------------------------------------------
    async def send(self, message: dict) -> None:
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        t = message["type"]
        if not self.response_started:
            if t == "http.response.start":
                self._start(message)
            elif t == "http.response.early_hint":
                self._early_hint(message)
            else:
                raise RuntimeError(f"expected 'http.response.start', got {t!r}")
            return
        if self.response_complete:
            raise RuntimeError(f"{t!r} sent after the response was complete")
        if t == "http.response.body":
            self._body(message.get("body", b""), message.get("more_body", False))
        elif t == "http.response.zerocopysend":
            await self._zerocopy(message)
        elif t == "http.response.pathsend":
            await self._pathsend(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {t!r}")
        proto = self.proto
        if proto.writing_paused and not self.disconnected:
            await proto.drain()

    def _early_hint(self, message: dict) -> None:
        """``103 Early Hints`` with the given Link values (HTTP/1.1 clients only)."""
        links = message.get("links") or ()
        if not links or self.scope["http_version"] != "1.1" or self.proto.closed:
            return
        parts = [b"HTTP/1.1 103 Early Hints\r\n"]
        for link in links:
            v = link.encode("latin-1") if isinstance(link, str) else bytes(link)
            if b"\r" in v or b"\n" in v:
                raise RuntimeError("early hint link contains a line break")
            parts.append(b"link: %s\r\n" % v)
        parts.append(b"\r\n")
        self.proto.transport.write(b"".join(parts))

    def _start(self, message: dict) -> None:
        status = message["status"]
        line = STATUS_LINES.get(status) or status_line(status)
        block = []
        append = block.append
        seen = 0
        close = False
        for header in message.get("headers") or ():
            name = header[0]
            k = _RWATCH.get(name) if name.islower() else _RWATCH.get(name.lower())
            if k is not None:
                value = header[1]
                if k == R_CL:
                    try:
                        self.response_length = int(value)
                    except ValueError:
                        raise RuntimeError(f"invalid content-length {value!r}") from None
                elif k == R_TE:
                    continue  # framing is the server's job
                elif k == R_CONN:
                    if b"close" in value.lower():
                        close = True
                    continue
                elif k == R_CTYPE:
                    self.content_type = value
                seen |= 1 << k
            append(b": ".join(header))
        proto = self.proto
        ctx = proto.ctx
        if seen & _DATE_OR_SERVER == 0:
            append(ctx.date_line)
            append(ctx.server_line)
        else:
            if not seen & _DATE:
                append(ctx.date_line)
            if not seen & _SERVER:
                append(ctx.server_line)
        self.status = status
        http10 = self.scope["http_version"] == "1.0"
        if status in NO_BODY_STATUS:
            self.no_body = True
        elif self.response_length is None and not self.head_only:
            if http10:
                close = True  # close-delimited body
            else:
                self.chunked = True
                append(b"transfer-encoding: chunked")
        if not self.body_complete:
            # the app answers before the request body arrived: do not read the rest
            close = True
        if close or not self.keep_alive or ctx.draining:
            self.keep_alive = False
            append(b"connection: close")
        elif http10:
            append(b"connection: keep-alive")
        head = b"\r\n".join(block)
        # one check for the whole block instead of one per header: a CR or LF inside
        # a name or value would add lines (response splitting)
        n = len(block) - 1
        if head.count(b"\n") != n or head.count(b"\r") != n:
            raise RuntimeError("response header contains a line break")
        self.pending = line + head + b"\r\n\r\n"
        self.response_started = True

    def _flush_head(self) -> None:
        if self.pending is not None:
            self.proto.transport.write(self.pending)
            self.pending = None
            self.responded = perf_counter()

    def _body(self, body: bytes, more: bool) -> None:
        n = len(body)
        if self.no_body:
            data = b""
        elif self.chunked:
            if n:
                data = b"%x\r\n%s\r\n" % (n, body)
                if not more:
                    data += b"0\r\n\r\n"
            else:
                data = b"" if more else b"0\r\n\r\n"
        else:
            data = body
            if self.response_length is not None and self.response_bytes + n > self.response_length:
                self.keep_alive = False
                raise RuntimeError("response body longer than its content-length")
        self.response_bytes += n
        transport = self.proto.transport
        if self.pending is not None:
            if n <= 65536:
                data = self.pending + data
            else:
                transport.write(self.pending)
            self.pending = None
            self.responded = perf_counter()
            if data:
                transport.write(data)
            if not more:
                # head and body went out in one write: one clock read for both times
                self.finished = self.responded
                self._complete()
            return
        if data:
            transport.write(data)
        if not more:
            self._complete()

    def _complete(self) -> None:
        self._flush_head()
        if (self.response_length is not None and not self.no_body
                and self.response_bytes != self.response_length):
            self.keep_alive = False  # framing broken: the client cannot trust this connection
        self.response_complete = True
        if not self.finished:
            self.finished = perf_counter()
        self.wake()
        self.proto.cycle_done(self)

    async def _zerocopy(self, message: dict) -> None:
        file = message["file"]
        fd = file if isinstance(file, int) else file.fileno()
        offset = message.get("offset")
        count = message.get("count")
        more = message.get("more_body", False)
        if offset is None:
            offset = os.lseek(fd, 0, os.SEEK_CUR)
        if count is None or count < 0:
            count = os.fstat(fd).st_size - offset
        await self._send_fd(fd, offset, count, more)

    async def _pathsend(self, message: dict) -> None:
        fd = os.open(message["path"], os.O_RDONLY)
        try:
            await self._send_fd(fd, 0, os.fstat(fd).st_size, False)
        finally:
            os.close(fd)

    async def _send_fd(self, fd: int, offset: int, count: int, more: bool) -> None:
        proto = self.proto
        if self.no_body or count <= 0:
            if self.chunked and not more and not self.no_body:
                self._flush_head()
                proto.transport.write(b"0\r\n\r\n")
            if not more:
                self._complete()
            return
        if (self.response_length is not None
                and self.response_bytes + count > self.response_length):
            self.keep_alive = False
            raise RuntimeError("response body longer than its content-length")
        self._flush_head()
        if self.chunked:
            proto.transport.write(b"%x\r\n" % count)
        await proto.send_file(fd, offset, count)
        self.response_bytes += count
        if self.chunked:
            proto.transport.write(b"\r\n0\r\n\r\n" if not more else b"\r\n")
        if not more:
            self._complete()

    # -- running the app ----------------------------------------------------
    async def run_asgi(self, app) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except BaseException as exc:  # noqa: BLE001 - app_raised re-raises what must stop the loop
            self.app_raised(exc)
        else:
            self.app_returned()

    def app_returned(self) -> None:
        """The app's coroutine ended: it must have answered completely."""
        if not self.response_started:
            self._app_failed("application returned without a response", None)
        elif not self.response_complete:
            self._app_failed("application returned before the response was complete", None)

    def app_raised(self, exc: BaseException) -> None:
        """The app's coroutine raised: a 500 if nothing was sent yet, else the connection is dropped."""
        if isinstance(exc, (ClientDisconnected, asyncio.CancelledError)):
            if not self.response_complete:
                self.proto.abort_cycle(self)
            return
        self._app_failed("application error", exc)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc

    def respond(self, status: int, headers: list, body: bytes) -> None:
        """The whole response at once, from a loop callback: for apps answered
        without an ASGI coroutine (DIRECT_APPS). A client that left is logged."""
        if self.response_complete:
            return
        if self.disconnected:
            self.proto.abort_cycle(self)
            return
        try:
            self._start({"type": "http.response.start", "status": status, "headers": headers})
            self._body(b"" if self.head_only else body, False)
        except Exception as exc:  # a bad status or header from the app: 500, as through send()
            self.app_raised(exc)

    def respond_head(self, head: tuple, body: bytes) -> None:
        """``respond`` for a head already checked and encoded off the loop (the WSGI
        adapter's ``_head``: code, pairs, Content-Length, CRLF-joined lines,
        content type, Date/Server flags). Same answer as ``respond``, without
        per-header work on the loop; the body is complete and not longer than
        its Content-Length."""
        if self.response_complete:
            return
        if self.disconnected:
            self.proto.abort_cycle(self)
            return
        status, _, length, block, ctype, flags = head
        if length is None and status < 200 and status not in NO_BODY_STATUS:
            self.respond(status, list(head[1]), body)  # odd status: the general path frames it
            return
        proto = self.proto
        ctx = proto.ctx
        n = len(body)
        parts = [STATUS_LINES.get(status) or status_line(status)]
        if block:
            parts.append(block)
            parts.append(b"\r\n")
        if flags == 0:
            parts.append(ctx.date_headers)
        else:
            if not flags & HEAD_DATE:
                parts.append(ctx.date_line + b"\r\n")
            if not flags & HEAD_SERVER:
                parts.append(ctx.server_line + b"\r\n")
        if status in NO_BODY_STATUS:
            self.no_body = True
        elif length is None:
            length = n
            parts.append(b"content-length: %d\r\n" % n)
        elif n > length:
            body = body[:length]  # (the adapter never gives more)
            n = length
        self.status = status
        self.content_type = ctype
        self.response_length = length
        self.response_started = True
        if not self.keep_alive or not self.body_complete or ctx.draining:
            self.keep_alive = False
            parts.append(b"connection: close\r\n\r\n")
        elif self.scope["http_version"] == "1.0":
            parts.append(b"connection: keep-alive\r\n\r\n")
        else:
            parts.append(b"\r\n")
        if self.no_body:  # HEAD, 204, 304, 1xx
            n = 0
        elif n:
            parts.append(body)
        self.response_bytes = n
        proto.transport.write(b"".join(parts))
        self.responded = self.finished = perf_counter()
        if length is not None and not self.no_body and n != length:
            self.keep_alive = False  # framing broken: the client cannot trust this connection
        self.response_complete = True
        if self.waiters:
            self.wake()
        proto.cycle_done(self)

    def _app_failed(self, what: str, exc: BaseException | None) -> None:
        scope = self.scope
        log.error("%s: %s %s gtxnid=%s ltxnid=%s", what, scope["method"], scope["path"],
                  scope["gtxnid"], scope["ltxnid"], exc_info=exc)
        if self.disconnected or self.response_complete:
            return
        if not self.response_started:
            body = b"500 Internal Server Error\ngtxnid: %s\n" % scope["gtxnid"].encode("ascii", "replace")
            self.status = 500
            self.keep_alive = False
            self.content_type = b"text/plain"
            self.response_started = True
            self.response_bytes = len(body)
            self.response_length = len(body)
            self.pending = None
            self.proto.transport.write(error_response(500, body, self.proto.ctx.date_headers))
            self.responded = perf_counter()
            self._complete()
        else:
            self.proto.abort_cycle(self)

    # -- the observer's view ------------------------------------------------------
    # A Cycle is handed to the observer as it is: metrics read a few fields
    # (uri, method, mount, started, responded, finished, status, request_bytes,
    # response_bytes), and only a request that is really logged pays for ``full()``.
    @property
    def mount(self) -> str | None:
        return self.scope.get("root_path") or None

    def full(self) -> RequestRecord:
        return self.record()

    def record(self) -> RequestRecord:
        """The finished request as the access log wants it."""
        hv = self.hv
        scope = self.scope
        client = scope["client"]
        r = RequestRecord.__new__(RequestRecord)
        r.started = self.started
        r.responded = self.responded
        r.finished = self.finished
        r.client = client[0] if client else None
        r.client_port = client[1] if client else None
        r.host = hv[H_HOST].decode("latin-1") if hv[H_HOST] else None
        r.method = scope["method"]
        r.uri = self.uri
        r.version = scope["http_version"]
        r.request_bytes = self.request_bytes
        r.status = self.status
        r.response_bytes = self.response_bytes
        r.gtxnid = scope["gtxnid"]
        r.ltxnid = scope["ltxnid"]
        auth = hv[H_AUTH]
        r.user = _basic_user(auth) if auth else None
        r.bearer = bool(auth) and auth[:7].lower() == b"bearer "
        r.referer = hv[H_REFERER].decode("latin-1") if hv[H_REFERER] else None
        r.user_agent = hv[H_UA].decode("latin-1") if hv[H_UA] else None
        r.forwarded_for = hv[H_XFF].decode("latin-1") if hv[H_XFF] else None
        r.mount = scope.get("root_path") or None
        r.protocol = "http/1.0" if r.version == "1.0" else "http/1.1"
        r.content_type = self.content_type.decode("latin-1") if self.content_type else None
        return r


class H1Protocol(asyncio.Protocol):
    """One HTTP/1.x connection."""

    def __init__(self, ctx: ServerContext, app=None) -> None:
        self.ctx = ctx
        self.app = app if app is not None else ctx.app
        # the worker's app chooses the mounted app synchronously (MountTable.skitai_dispatch),
        # so the request's task runs that app directly, without the table's coroutine layers
        self.dispatch = getattr(type(self.app), "skitai_dispatch", None) and self.app.skitai_dispatch
        if ctx.loop is None:
            ctx.loop = asyncio.get_event_loop()
        self.loop = ctx.loop
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.read_deadline: float | None = None
        self.write_deadline: float | None = None
        self.cycle: Cycle | None = None      # the request being answered
        self.parsing: Cycle | None = None    # the request whose body is being read
        self.pipeline: deque = deque()
        self.closed = False
        self.stopped = False                 # close once the work in hand is answered
        self.rejected = False                # ignore all further input (error, hand-off)
        self.first = True
        self.prebuf = b""
        self.reading_paused = False
        self.writing_paused = False
        self.drain_waiter: asyncio.Future | None = None
        self.in_head = False
        self.head_bytes = 0
        self.big_read = False
        self.url = b""
        self.headers: list = []
        self.hv: list = _NO_HV
        self.dup = False
        self.req_serial = 0
        self.conn_serial = 0
        self.gtxnid_prefix = "GTID-W0-C0-R"
        self.client = None
        self.proxies = None                  # TrustedProxies when the peer is a trusted proxy
        self.server = None
        self.scheme = "http"
        self.tls = False
        self.extensions: dict = {}
        self.held: bytearray | None = None
        self.upgrade_rest: bytes | None = None
        self.lingering = False
        self.lingered = 0
        # Running requests without a task each (see ``start``): the connection's
        # runner task, the future it is parked on, a started request it should
        # go on with, and whether an eager step or the runner is busy
        self.runner: asyncio.Task | None = None
        self.parked: asyncio.Future | None = None
        self.handed: tuple | None = None
        self.stepping = False
        self.runner_busy = False
        self.deferred: Cycle | None = None
        self.base_context: contextvars.Context | None = None

    # -- deadlines (swept by ServerContext.tick) ----------------------------
    @property
    def deadline(self) -> float | None:
        r, w = self.read_deadline, self.write_deadline
        if r is None:
            return w
        if w is None:
            return r
        return min(r, w)

    @property
    def busy(self) -> bool:
        return self.cycle is not None

    def on_timeout(self) -> None:
        if self.closed:
            return
        if self.write_deadline is not None and self.loop.time() >= self.write_deadline:
            # the client stopped reading: reset (linger 0) so neither we nor the
            # kernel keep the unsent response around
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                except OSError:
                    pass
            self.transport.abort()
        else:
            self.transport.close()

    def begin_shutdown(self) -> None:
        """Drain: close now when idle, else answer in-flight requests with Connection: close."""
        if self.closed:
            return
        if self.cycle is None and not self.pipeline and not self.in_head:
            if self.first and self.req_serial == 0 and not self.prebuf:
                # accepted but nothing read yet: its first request is on the way (or in
                # the socket buffer), so answer it with Connection: close, not a reset.
                # A client that stays silent is closed by the deadline sweep.
                self.stopped = True
                grace = self.loop.time() + FRESH_CONNECTION_GRACE
                if self.read_deadline is None or self.read_deadline > grace:
                    self.read_deadline = grace
                return
            self.transport.close()
            return
        self.stopped = True
        if self.cycle is not None:
            self.cycle.keep_alive = False
        for c in self.pipeline:
            if isinstance(c, Cycle):
                c.keep_alive = False

    # -- asyncio.Protocol -------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.base_context = contextvars.copy_context()  # each request runs in a copy of it
        ctx = self.ctx
        self.conn_serial = ctx.register(self)
        self.gtxnid_prefix = f"GTID-W{ctx.worker_id}-C{self.conn_serial}-R"
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
            self.proxies = proxy.for_peer(ctx, self.client)
        sock = transport.get_extra_info("sockname")
        if isinstance(sock, tuple) and len(sock) >= 2:
            self.server = (str(sock[0]), int(sock[1]))
        elif isinstance(sock, str) and sock:  # uds: ASGI server = (path, None), client None
            self.server = (sock, None)
            self.proxies = proxy.for_unix(ctx)
        ssl_object = transport.get_extra_info("ssl_object")
        skitai_ext = {"worker_id": ctx.worker_id, "prefs": ctx.prefs, "early_hints": None,
                      "peer": self.client}
        self.extensions = {
            "http.response.zerocopysend": {},
            "http.response.pathsend": {},
            "http.response.early_hint": {},
            "skitai": skitai_ext,
        }
        if ssl_object is not None:
            self.tls = True
            self.scheme = "https"
            self.extensions["tls"] = {
                "server_cert": None, "client_cert_chain": [],
                "tls_version": None, "cipher_suite": None,
            }
            if ssl_object.selected_alpn_protocol() == "h2" and ctx.h2_factory is not None:
                self._handoff(ctx.h2_factory, None, b"", None)
                return
        if ctx.max_connections and ctx.active_connections - len(ctx.waiting) > ctx.max_connections:
            # over the limit: hold the connection unread until another one closes
            self.held = bytearray()
            self.reading_paused = True
            transport.pause_reading()
            self.loop.call_soon(self._hold)  # some loops start reading after connection_made
            ctx.waiting.append(self)
        self.read_deadline = ctx.idle_deadline()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.ctx.unregister(self)
        self.read_deadline = self.write_deadline = None
        c = self.cycle
        if c is not None:
            c.disconnected = True
            c.wake()
        for c in self.pipeline:
            if isinstance(c, Cycle):
                c.disconnected = True
        self.pipeline.clear()
        if self.parsing is not None:
            self.parsing.disconnected = True
            self.parsing.wake()
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)
        parked = self.parked
        if parked is not None and not parked.done():
            parked.set_result(None)  # the runner ends

    def pause_writing(self) -> None:
        self.writing_paused = True
        self.write_deadline = self.ctx.request_deadline()

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.write_deadline = None
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def drain(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        if self.closed or not self.writing_paused:
            return
        w = self.drain_waiter
        if w is None or w.done():
            w = self.drain_waiter = self.loop.create_future()
        await w
        if self.closed:
            raise ClientDisconnected("client disconnected")

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed and not self.rejected:
            self.reading_paused = False
            self.transport.resume_reading()

    def _hold(self) -> None:
        if self.held is not None and not self.closed:
            self.transport.pause_reading()

    def admit(self) -> None:
        """Called by the context when a connection slot frees up."""
        held, self.held = self.held, None
        self.resume_reading()
        if held and not self.closed:
            self.data_received(bytes(held))

    def data_received(self, data: bytes) -> None:
        if self.rejected:
            if self.lingering:
                self.lingered += len(data)
                if self.lingered > LINGER_BYTES:
                    self.transport.close()
            return
        if self.held is not None:
            self.held += data  # not admitted yet (max_connections)
            if len(self.held) > self.ctx.max_header_size:
                self.transport.pause_reading()
            return
        if self.first:
            if self.prebuf:
                data = self.prebuf + data
                self.prebuf = b""
            if data[:1] == b"P" and self.ctx.h2_factory is not None:
                if len(data) < len(H2_PREFACE) and H2_PREFACE.startswith(data):
                    self.prebuf = data
                    return
                if data.startswith(H2_PREFACE):
                    self._handoff(self.ctx.h2_factory, None, data, None)
                    return
            self.first = False
        self.big_read = self.head_bytes + len(data) > self.ctx.max_header_size
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade_ready(data[exc.args[0]:] if exc.args else b"")
        except httptools.HttpParserCallbackError as exc:
            err = exc.__context__
            if isinstance(err, _Reject):
                self.reject(err.status, err.detail)
            else:
                log.error("h1 parser callback failed", exc_info=err or exc)
                self.reject(500, "internal error")
        except httptools.HttpParserError as exc:
            self.reject(400, str(exc))
        else:
            if self.in_head:
                if self.head_bytes == 0:
                    self.read_deadline = self.ctx.request_deadline()  # a head split over reads
                self.head_bytes += len(data)
                if self.head_bytes > self.ctx.max_header_size:
                    self.reject(431, "request header block too large")
        c = self.deferred
        if c is not None:
            # started after the whole read was parsed: a body that came with the head
            # is already there when the app asks for it
            self.deferred = None
            if c is self.cycle and not self.closed:
                self.start(c)

    def eof_received(self):
        # A client that half-closes is treated as gone (as browsers and proxies
        # mean it): the app sees http.disconnect instead of waiting forever.
        return False

    # -- parser callbacks -------------------------------------------------------
    def on_message_begin(self) -> None:
        self.in_head = True
        self.head_bytes = 0
        self.url = b""
        self.headers = []
        self.hv = [None] * 14
        self.dup = False
        # the request deadline is set by data_received when the head spans reads
        self.read_deadline = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        k = _WATCH.get(name)
        if k is not None:
            hv = self.hv
            if hv[k] is not None and k <= H_CL:
                self.dup = True
            hv[k] = value
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        ctx = self.ctx
        url = self.url
        if self.big_read and (
                sum(len(n) + len(v) + 4 for n, v in self.headers) + len(url) > ctx.max_header_size):
            # only a read larger than the limit can hide a too large head inside one feed
            raise _Reject(431, "request header block too large")
        if self.dup:
            raise _Reject(400, "duplicate Host or Content-Length")
        hv = self.hv
        parser = self.parser
        te = hv[H_TE]
        if te is not None and te.strip().lower() != b"chunked":
            raise _Reject(501, "unsupported transfer-encoding")
        cl = hv[H_CL]
        length = int(cl) if cl is not None else None
        if ctx.body_ceiling and length is not None and length > ctx.body_ceiling:
            raise _Reject(413, "request body too large")
        if url[:1] == b"/":
            raw_path, _, qs = url.partition(b"?")
        elif url == b"*":
            raw_path, qs = url, b""
        else:
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                raise _Reject(400, "invalid request target") from None
            raw_path = parsed.path or b"/"
            qs = parsed.query or b""
        # (find, not `in`: bytes.__contains__ first tries the needle as an int, an exception each time)
        path = (unquote_to_bytes(raw_path) if raw_path.find(b"%") >= 0 else raw_path).decode("utf-8", "replace")
        method = parser.get_method()
        method = _METHODS.get(method) or method.decode("ascii")
        version = parser.get_http_version()
        if hv[H_HOST] is None and version == "1.1":
            raise _Reject(400, "HTTP/1.1 request without Host")
        self.req_serial += 1
        gtxnid = _txn_id(hv[H_GTXN]) if hv[H_GTXN] is not None else None
        if gtxnid is None:
            gtxnid = self.gtxnid_prefix + str(self.req_serial)
            ltxnid = "1000"
        else:
            ltxnid = _txn_id(hv[H_LTXN])
            if ltxnid is None or not ltxnid.isdigit():
                ltxnid = "1000"
        scope = {
            "type": "http",
            "asgi": ASGI_INFO,
            "http_version": version,
            "method": method,
            "scheme": self.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": qs,
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.server,
            "extensions": self.extensions,
            "gtxnid": gtxnid,
            "ltxnid": ltxnid,
        }
        if self.proxies is not None and (hv[H_XFF] is not None or hv[H_XRIP] is not None
                                         or hv[H_XFP] is not None):
            proxy.apply(scope, self.headers, self.proxies)
        keep_alive = (parser.should_keep_alive() and not self.stopped and not ctx.draining
                      and ctx.keep_alive > 0)
        cycle = Cycle(self, scope, hv, url, keep_alive, method)
        if hv[H_EXPECT] is not None and version == "1.1" and hv[H_EXPECT].lower() == b"100-continue":
            cycle.expect_continue = True
        if hv[H_UPGRADE] is not None and parser.should_upgrade():
            token = hv[H_UPGRADE].split(b",")[0].strip().lower().decode("latin-1")
            factory = ctx.upgrades.get(token)
            if factory is not None and (token != "h2c" or hv[H_H2S] is not None):
                cycle.handoff = (token, factory)
            else:
                cycle.keep_alive = False  # answer as a plain request, then close
        self.parsing = cycle
        self.read_deadline = None
        if self.cycle is None:
            if cycle.handoff is None:
                self.cycle = self.deferred = cycle  # data_received starts it after this read
            else:
                self.start(cycle)
        else:
            self.pipeline.append(cycle)
            if len(self.pipeline) >= PIPELINE_MAX:
                self.pause_reading()

    def on_body(self, body: bytes) -> None:
        c = self.parsing
        if c is None:
            return
        c.request_bytes += len(body)
        ceiling = self.ctx.body_ceiling
        if ceiling and c.request_bytes > ceiling:
            raise _Reject(413, "request body too large")
        if c.body is None:
            c.body = bytearray(body)
        else:
            c.body += body
        if c.waiters:
            c.wake()
        if len(c.body) > BODY_HIGH_WATER:
            self.pause_reading()

    def on_message_complete(self) -> None:
        c = self.parsing
        self.parsing = None
        if c is not None:
            c.body_complete = True
            c.wake()

    # -- request flow -------------------------------------------------------------
    def start(self, cycle: Cycle) -> None:
        self.cycle = cycle
        if cycle.handoff is not None:
            if self.upgrade_rest is not None:
                self._upgrade(cycle)
            return  # else waits for HttpParserUpgrade with the bytes after the head
        dispatch = self.dispatch
        if dispatch is None:
            app = self.app
        else:
            try:
                app = dispatch(cycle.scope)
            except Exception as exc:  # e.g. an app that fails to load: a 500 from run_asgi
                app = _Failing(exc)
        if self.stepping or self.runner_busy:
            # the previous request's coroutine still runs (work after its response,
            # e.g. background tasks): this one must not wait for it
            # (its own copy of the base context: this may run inside the previous
            # request's context, whose contextvars must not leak into this one)
            self.loop.create_task(cycle.run_asgi(app), context=self.base_context.copy())
            return
        direct = DIRECT_APPS.get(type(app))
        if direct is not None and direct(app, cycle):
            return
        due = self.ctx.due
        due.append((self, cycle, app))
        if len(due) == 1:
            self.loop.call_soon(_run_due, due)

    # -- running requests without a task each ----------------------------------
    # A task per request costs more than a small app does (creation, the
    # all-tasks WeakSet, scheduling its first step). So the first step of a
    # request's coroutine runs from one loop callback shared by all requests
    # parsed in the same loop iteration (``_run_due``: one phase of parsing,
    # then one of apps, which keeps each phase's code and data hot), in its own
    # copy of the context, with the connection's long-lived runner task as the
    # current task (asyncio.timeout, anyio and current_task() need one). Most
    # requests end in that step. One that has to wait is handed to the runner
    # task, which drives it to the end (``_drive``). While the runner is busy,
    # a new request on the connection gets a task of its own, as before.
    def _step(self, cycle: Cycle, app) -> None:
        loop = self.loop
        runner = self.runner
        if runner is None or runner.done():
            runner = self._new_runner()
        try:
            _enter_task(loop, runner)
        except RuntimeError:  # called from inside another task (tests driving the protocol)
            loop.create_task(cycle.run_asgi(app), context=self.base_context.copy())
            return
        context = self.base_context.copy()
        self.stepping = True
        try:
            coro, yielded = context.run(_first_step, app, cycle)
        finally:
            self.stepping = False
            _leave_task(loop, runner)
        if coro is None:
            return
        self.handed = (cycle, coro, context, yielded)
        self.runner_busy = True
        parked = self.parked
        if parked is not None and not parked.done():
            parked.set_result(None)

    def _new_runner(self, exc: BaseException | None = None) -> asyncio.Task:
        runner = self.runner = self.loop.create_task(self._run_handed(exc))
        runner.add_done_callback(self._runner_done)
        return runner

    def _runner_done(self, runner: asyncio.Task) -> None:
        if self.runner is runner:
            self.runner = None
        if self.handed is not None:
            # it ended before it took the waiting request over: a cancel that came
            # first (even before its first step) was meant for that request
            self._new_runner(asyncio.CancelledError())

    async def _run_handed(self, exc: BaseException | None = None) -> None:
        """The connection's runner task: goes on with requests that had to wait.
        (``_runner_done`` forgets it when it ends, however it ends.)"""
        loop = self.loop
        me = self.runner
        while True:
            handed = self.handed
            if handed is None:
                if self.closed:
                    return
                parked = self.parked = loop.create_future()
                try:
                    await parked
                except asyncio.CancelledError as e:
                    if self.handed is None:
                        raise  # a stale cancel, or the loop shuts down: a new runner comes when needed
                    exc = e  # meant for the request handed over meanwhile
                finally:
                    self.parked = None
                handed = self.handed
                if handed is None:
                    continue
            self.handed = None
            cycle, coro, context, yielded = handed
            try:
                await _drive(cycle, coro, context, yielded, exc)
            finally:
                exc = None
                self.runner_busy = False
            if me is not None and me.cancelling():
                # cancelled, and the request swallowed it without uncancel(): a task of
                # its own would end here, so this runner does too (loop shutdown waits
                # for it); the next request makes a new one
                return

    def cycle_done(self, cycle: Cycle) -> None:
        """The response is on the wire: log it, then go on or close."""
        observer = self.ctx.observer
        if observer is not None:
            observer.request_done(cycle)
        if self.closed:
            return
        if not cycle.keep_alive or not cycle.body_complete or self.ctx.draining:
            self.stopped = True
            self.pipeline.clear()
            self.cycle = None
            if cycle.body_complete:
                self.transport.close()
            else:
                self.linger_close()  # the client may still be sending the body
            return
        self.cycle = None
        if self.pipeline:
            nxt = self.pipeline.popleft()
            if isinstance(nxt, Cycle):
                self.start(nxt)
            else:
                self._write_error(*nxt)
                return
            if self.reading_paused and len(self.pipeline) < PIPELINE_MAX // 2:
                self.resume_reading()
        else:
            if self.stopped:
                self.transport.close()
                return
            if not self.in_head:
                self.read_deadline = self.loop.time() + self.ctx.idle_for
            if self.reading_paused:
                self.resume_reading()

    def abort_cycle(self, cycle: Cycle) -> None:
        """The response cannot be finished: log what was sent and drop the connection."""
        if cycle.response_complete:
            return
        cycle.response_complete = True
        cycle.keep_alive = False
        cycle.finished = perf_counter()
        if not cycle.status:
            cycle.status = 499 if cycle.disconnected else 500
        observer = self.ctx.observer
        if observer is not None:
            observer.request_done(cycle)
        self.stopped = True
        self.cycle = None
        if not self.closed:
            self.transport.abort()

    def reject(self, status: int, detail: str = "") -> None:
        """Answer a request we will not run (bad syntax, limits) and close."""
        self.stopped = self.rejected = True
        self.in_head = False
        self.read_deadline = None
        if not self.closed:
            self.pause_reading()
        parsing = self.parsing
        self.parsing = None
        if parsing is not None and parsing is self.cycle:
            # the app already runs this request: answer for it if it has not started
            parsing.disconnected = True
            parsing.wake()
            if not parsing.response_started:
                parsing.response_started = parsing.response_complete = True
                parsing.status = status
                parsing.keep_alive = False
                parsing.finished = perf_counter()
                self.cycle = None
                observer = self.ctx.observer
                if observer is not None:
                    observer.request_done(parsing)
                self._write_error(status, detail, logged=True)
            else:
                self.abort_cycle(parsing)
            return
        if parsing is not None and parsing in self.pipeline:
            self.pipeline.remove(parsing)
        if self.cycle is None:
            self._write_error(status, detail)
        else:
            self.pipeline.append((status, detail))

    def _write_error(self, status: int, detail: str, logged: bool = False) -> None:
        if self.closed:
            return
        phrase = STATUS_LINES.get(status, b"HTTP/1.1 %d Error\r\n" % status)[13:-2]
        body = b"%d %s\n" % (status, phrase)
        self.transport.write(error_response(status, body, self.ctx.date_headers))
        log.debug("rejected with %d: %s (client %s)", status, detail, self.client)
        self.linger_close()
        observer = self.ctx.observer
        if not logged and observer is not None:
            observer.request_done(self._reject_record(status, len(body)))

    def linger_close(self) -> None:
        """Close after a response while the client may still be sending.

        Closing a socket with unread input makes the kernel send RST, which can
        destroy the response before the client read it. So: half-close (FIN
        after the response), read and drop what still arrives for up to
        LINGER_SECONDS / LINGER_BYTES, then close.
        """
        t = self.transport
        if self.closed or t.is_closing():
            return
        if not t.can_write_eof():
            t.close()  # TLS: close_notify is the clean end
            return
        self.lingering = self.rejected = self.stopped = True
        self.cycle = None
        self.read_deadline = self.loop.time() + LINGER_SECONDS
        self.reading_paused = False
        t.resume_reading()
        t.write_eof()

    def _reject_record(self, status: int, size: int) -> RequestRecord:

        """What is known of a request refused before it reached the app."""
        r = RequestRecord()
        r.started = r.responded = r.finished = perf_counter()
        if self.client:
            r.client, r.client_port = self.client
        hv = self.hv
        if hv[H_HOST]:
            r.host = hv[H_HOST].decode("latin-1")
        if hv[H_UA]:
            r.user_agent = hv[H_UA].decode("latin-1")
        if hv[H_XFF]:
            r.forwarded_for = hv[H_XFF].decode("latin-1")
        try:
            r.method = self.parser.get_method().decode("ascii")
        except Exception:
            r.method = "-"
        r.uri = self.url.decode("latin-1")[:2048] if self.url else "-"
        r.status = status
        r.response_bytes = size
        return r

    # -- hand-off to other protocols ------------------------------------------------
    def _upgrade_ready(self, rest: bytes) -> None:
        """llhttp stopped after an upgrade request; ``rest`` is what followed it."""
        self.stopped = self.rejected = True  # nothing after it is HTTP/1.1 any more
        c = self.pipeline[-1] if self.pipeline else self.cycle
        if not isinstance(c, Cycle) or c.handoff is None:
            return  # an Upgrade we do not serve: the app answers it, then we close
        self.upgrade_rest = rest
        if c is self.cycle:
            self._upgrade(c)
        # else: start() hands over once the earlier pipelined responses are out

    def _upgrade(self, c: Cycle) -> None:
        token, factory = c.handoff
        rest, self.upgrade_rest = self.upgrade_rest, None
        self._handoff(factory, c.scope, rest or b"", token, bytes(c.body) if c.body else b"")

    def _handoff(self, factory, scope, rest: bytes, upgrade: str | None, body: bytes = b"") -> None:
        self.stopped = self.rejected = True
        self.cycle = None
        self.read_deadline = self.write_deadline = None
        self.ctx.unregister(self)
        self.closed = True  # from now on this object no longer owns the transport
        parked = self.parked
        if parked is not None and not parked.done():
            parked.set_result(None)  # the runner ends
        transport = self.transport
        try:
            # the factory takes the transport over itself (set_protocol, connection_made, rest)
            factory(Handoff(self.ctx, transport, scope, rest, self.app, upgrade, body))
        except Exception:
            log.exception("protocol hand-off (%s) failed", upgrade or "h2")
            transport.abort()

    # -- sending files --------------------------------------------------------------
    async def send_file(self, fd: int, offset: int, count: int) -> None:
        """Write ``count`` bytes of ``fd`` from ``offset``: os.sendfile on plain
        TCP once the transport's buffer is empty, a read loop under TLS."""
        if self.closed:
            raise ClientDisconnected("client disconnected")
        transport = self.transport
        sock = None if self.tls else transport.get_extra_info("socket")
        if sock is None:
            while count > 0:
                data = os.pread(fd, min(count, READ_CHUNK), offset)
                if not data:
                    raise RuntimeError("file shorter than the announced count")
                transport.write(data)
                offset += len(data)
                count -= len(data)
                if self.writing_paused:
                    await self.drain()
                if self.closed:
                    raise ClientDisconnected("client disconnected")
            return
        await self._drain_all()
        sfd = sock.fileno()
        while count > 0:
            if self.closed:
                raise ClientDisconnected("client disconnected")
            try:
                n = os.sendfile(sfd, fd, offset, min(count, SENDFILE_CHUNK))
            except BlockingIOError:
                await self._wait_writable(sfd)
                continue
            except OSError:
                raise ClientDisconnected("client disconnected") from None
            if n == 0:
                raise RuntimeError("file shorter than the announced count")
            offset += n
            count -= n

    async def _drain_all(self) -> None:
        transport = self.transport
        if transport.get_write_buffer_size() == 0:
            return
        transport.set_write_buffer_limits(high=0, low=0)  # pause until fully flushed
        try:
            while not self.closed and transport.get_write_buffer_size():
                self.writing_paused = True
                w = self.drain_waiter = self.loop.create_future()
                await w
        finally:
            if not self.closed:
                transport.set_write_buffer_limits()

    async def _wait_writable(self, sfd: int) -> None:
        # the transport owns sfd: watch a duplicate so the transport's own
        # registration is untouched; closed right after this one wait
        fd = os.dup(sfd)
        fut = self.drain_waiter = self.loop.create_future()

        def ready() -> None:
            if not fut.done():
                fut.set_result(None)

        self.loop.add_writer(fd, ready)
        self.write_deadline = self.ctx.request_deadline()
        try:
            await fut
        finally:
            self.write_deadline = None
            self.loop.remove_writer(fd)
            os.close(fd)
