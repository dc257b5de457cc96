"""PEP 3333 adapter: a WSGI callable served as an ASGI app on a bounded thread pool.

Why it is shaped like this (speed): a request costs one hand-off to a pool
thread and one back. The thread builds the environ, calls the app and
collects the body; if the body is small (<= ``BUFFER``) and finished, the
loop writes status, headers and body at once. Larger bodies, and blocks the
app produced before pausing for longer than ``FLUSH_AFTER`` (PEP 3333 forbids
holding a block while the app works on the next: server-sent events), are
streamed: the thread queues messages, one loop task sends them in order, and
the thread waits while more than ``HIGH_WATER`` bytes are queued
(backpressure). The request body is read from the thread only when the app
reads past what already arrived (``run_coroutine_threadsafe`` on ``receive``).

``threads=0`` runs the app on the event loop (the body is read first).
All WSGI mounts of a worker share one pool of ``threads`` threads; requests
wait in its queue when all are busy (``queue_depth()``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import threading
from collections import deque
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger("skitai.mounts")

BUFFER = 64 * 1024        # a body up to this size is written by the loop in one go
HIGH_WATER = 256 * 1024   # streaming: the app thread waits while this much is queued for the client
FLUSH_AFTER = 0.02        # streaming: blocks waiting longer than this (app busy) are sent anyway

_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                  "transfer-encoding", "upgrade"})


class ClientDisconnected(OSError):
    """The client went away while the app was reading the body or writing."""


# ------------------------------------------------------------------ pool

class _Mailbox:
    """Results from the pool threads to one event loop, one wake-up per batch.

    A thread appends its result and calls ``call_soon_threadsafe`` only when no
    drain is pending yet; the drain (on the loop) resolves every result queued
    so far. Under load one loop wake-up (a self-pipe write on asyncio's default
    loop, an eventfd write on uvloop) and one callback serve many requests.
    Why it cannot lose a result: ``drain`` clears ``armed`` before it looks at
    the deque, and a thread looks at ``armed`` only after its append.
    """

    __slots__ = ("loop", "items", "armed")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.items: deque = deque()
        self.armed = False

    def post(self, fut: asyncio.Future, ok: bool, value: Any) -> None:
        """Thread: hand ``value`` (a result, or an exception when not ``ok``) to ``fut``."""
        self.items.append((fut, ok, value))
        if not self.armed:
            self.armed = True
            try:
                self.loop.call_soon_threadsafe(self.drain)
            except RuntimeError:
                pass  # the loop is closed (worker exiting): nobody waits for this any more

    def drain(self) -> None:
        """Loop: resolve every queued result (a future cancelled meanwhile is skipped)."""
        self.armed = False
        items = self.items
        while items:
            fut, ok, value = items.popleft()
            if not fut.done():
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(value)


class WSGIPool:
    """A bounded pool of ``threads`` threads fed by one queue; results go back through a ``_Mailbox``.

    Cheaper than ThreadPoolExecutor + wrap_future (no concurrent Future, no
    chained callbacks): one queue put per request, one loop wake-up per batch
    of finished requests.
    """

    def __init__(self, threads: int):
        self.threads = threads
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self._full = False  # all threads started
        self._boxes: dict[asyncio.AbstractEventLoop, _Mailbox] = {}

    def _start(self) -> None:
        with self._lock:
            while len(self._workers) < self.threads:
                t = threading.Thread(target=self._work, name=f"skitai-wsgi-{len(self._workers)}", daemon=True)
                t.start()
                self._workers.append(t)
            self._full = True

    def _work(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            fut, box, fn, args = item
            try:
                value = fn(*args)
            except BaseException as exc:  # noqa: B036 - handed to the awaiting coroutine
                box.post(fut, False, exc)
            else:
                box.post(fut, True, value)

    def mailbox(self, loop: asyncio.AbstractEventLoop) -> _Mailbox:
        """The mailbox results for ``loop`` go through (one per loop; closed loops are dropped)."""
        box = self._boxes.get(loop)
        if box is None:
            for old in [lp for lp in self._boxes if lp.is_closed()]:
                del self._boxes[old]
            box = self._boxes[loop] = _Mailbox(loop)
        return box

    def submit(self, fut: asyncio.Future, box: _Mailbox, fn, args: tuple) -> None:
        """Queue ``fn(*args)``; its result goes to ``fut`` through ``box`` (both of the calling loop)."""
        if not self._full:
            self._start()
        self._queue.put((fut, box, fn, args))

    def run(self, loop: asyncio.AbstractEventLoop, fn, *args) -> asyncio.Future:
        """Queue ``fn(*args)`` for a pool thread; await the returned future on ``loop``."""
        fut = loop.create_future()
        self.submit(fut, self.mailbox(loop), fn, args)
        return fut

    def queue_depth(self) -> int:
        """Requests waiting for a free thread."""
        return self._queue.qsize()

    def shutdown(self) -> None:
        self._closed = True
        for _ in self._workers:
            self._queue.put(None)


_pool: WSGIPool | None = None
_generation = 0  # bumped in a forked child so adapters drop a pool cached before the fork
_pool_lock = threading.Lock()


def get_pool(threads: int = 4) -> WSGIPool:
    """The worker's shared pool; created on first use (after fork, never before)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.threads != threads:
            if _pool is not None:
                _pool.shutdown()
            _pool = WSGIPool(threads)
        return _pool


def _forget_pool_after_fork() -> None:
    """A forked child has none of the parent's threads: start a fresh pool on first use."""
    global _pool, _pool_lock, _generation
    _pool = None
    _pool_lock = threading.Lock()
    _generation += 1


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def queue_depth() -> int:
    """WSGI requests waiting for a thread in this worker (0 when there is no pool)."""
    return _pool.queue_depth() if _pool is not None else 0


# ------------------------------------------------------------------ file wrapper

class FileWrapper:
    """``wsgi.file_wrapper``: the adapter sends it with sendfile when the server can."""

    def __init__(self, filelike: Any, blksize: int = 8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def fileno(self) -> int | None:
        try:
            return self.filelike.fileno()
        except (AttributeError, OSError, ValueError):
            return None


# ------------------------------------------------------------------ input

class Input:
    """``wsgi.input``: bytes already received first, then more from the loop on demand."""

    def __init__(self, first: bytes, more: bool, receive: Any, loop: asyncio.AbstractEventLoop | None):
        self._buf = bytearray(first)
        self._more = more
        self._receive = receive
        self._loop = loop

    def _fill(self) -> bool:
        if not self._more:
            return False
        if self._loop is None:
            raise RuntimeError("wsgi.input: body was not pre-read on the loop")
        message = asyncio.run_coroutine_threadsafe(self._receive(), self._loop).result()
        kind = message.get("type")
        if kind == "http.request":
            self._buf += message.get("body", b"")
            self._more = message.get("more_body", False)
            return True
        self._more = False
        raise ClientDisconnected("client disconnected while the app read the request body")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            data = bytes(self._buf)
            self._buf.clear()
            return data
        while len(self._buf) < size and self._fill():
            pass
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        while True:
            i = self._buf.find(b"\n")
            if i >= 0 and (size is None or size < 0 or i < size):
                return self.read(i + 1)
            if size is not None and 0 <= size <= len(self._buf):
                return self.read(size)
            if not self._fill():
                return self.read(-1 if size is None or size < 0 else size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


NO_INPUT = Input(b"", False, None, None)  # wsgi.input of every request without a body: nothing to read


class _Errors:
    def write(self, s: str) -> None:
        sys.stderr.write(s)

    def writelines(self, seq) -> None:
        for s in seq:
            sys.stderr.write(s)

    def flush(self) -> None:
        sys.stderr.flush()


ERRORS = _Errors()


# ------------------------------------------------------------------ environ

_CACHE_MAX = 512  # bounded: header names / header lines are few in practice
# request header name (bytes, lowercase) -> environ key; "" = dropped (contains "_")
_ENV_KEYS: dict[bytes, str] = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
# response header (name, value) as the app gave it -> ((lowercase name, value) in bytes, Content-Length
# or None); only short values, a few Content-Length values (_CL_CACHED), no Set-Cookie
_HEADER_BYTES: dict[tuple, tuple[tuple[bytes, bytes], int | None]] = {}
# (server address, scheme, HTTP version, multithread) -> the environ's constant part, copied per request
_TEMPLATES: dict[tuple, dict] = {}


def _env_key(name: bytes) -> str:
    key = _ENV_KEYS.get(name)
    if key is None:
        text = name.decode("latin-1")
        # a "_" would be confused with "-" once in the environ (header smuggling): dropped
        key = "" if "_" in text else "HTTP_" + text.upper().replace("-", "_")
        if len(_ENV_KEYS) < _CACHE_MAX:
            _ENV_KEYS[name] = key
    return key


def _template(server: Any, scheme: str, version: str, multithread: bool) -> dict:
    """The keys that are the same for every request of a connection: one dict copy instead of ~12 stores."""
    key = (server, scheme, version, multithread)
    t = _TEMPLATES.get(key)
    if t is None:
        host, port = server or ("localhost", 80)
        t = {
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port) if port is not None else "",
            "SERVER_PROTOCOL": "HTTP/" + version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.errors": ERRORS,
            "wsgi.multithread": multithread,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
        }
        if len(_TEMPLATES) < _CACHE_MAX:
            _TEMPLATES[key] = t
    return t


def build_environ(scope: dict, body: Input, multithread: bool) -> dict:
    get = scope.get
    server = get("server")
    if type(server) is not tuple:
        server = tuple(server) if server else None  # e.g. [path, None]: a list cannot be a cache key
    environ = _template(server, get("scheme", "http"), get("http_version", "1.1"), multithread).copy()
    root_path = get("root_path", "")
    raw = get("raw_path")
    qs = get("query_string", b"").decode("latin-1")
    if raw and not root_path and raw.find(b"%") < 0 and raw.find(b"?") < 0:  # (find: see h1's path)
        # the common case: nothing to unquote, nothing to split off
        path_info = uri = raw.decode("latin-1")
        environ["SCRIPT_NAME"] = ""
    else:
        path_b = None
        script_b = root_path.encode("utf-8") if root_path else b""
        if raw:
            path_b = raw.split(b"?", 1)[0] if b"?" in raw else raw
            if b"%" in path_b:
                path_b = unquote_to_bytes(path_b)
            if script_b and not path_b.startswith(script_b):
                path_b = None
        if path_b is None:
            path_b = get("path", "/").encode("utf-8")
        if script_b and path_b.startswith(script_b):
            path_info = path_b[len(script_b):].decode("latin-1")
        else:
            path_info = path_b.decode("latin-1")
        uri = raw.decode("latin-1") if raw else path_b.decode("latin-1")
        environ["SCRIPT_NAME"] = script_b.decode("latin-1")
    if qs:
        uri = uri + "?" + qs
    environ["REQUEST_METHOD"] = get("method", "GET")
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = qs
    environ["REQUEST_URI"] = environ["RAW_URI"] = uri
    environ["wsgi.input"] = body
    environ["asgi.scope"] = scope
    environ["skitai.gtxnid"] = get("gtxnid")
    environ["skitai.ltxnid"] = get("ltxnid")
    client = get("client")
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    else:
        environ["REMOTE_ADDR"] = ""
    keys = _ENV_KEYS
    for k, v in get("headers", ()):
        key = keys.get(k) or _env_key(k)
        if not key:
            continue
        if key in environ:
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                environ[key] = v.decode("latin-1")  # the last one wins, as before
            else:
                environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + v.decode("latin-1")
        else:
            environ[key] = v.decode("latin-1")
    return environ


# ------------------------------------------------------------------ response

_STATUS: dict[str, int] = {}   # WSGI status line -> code, for lines seen before
_CL_CACHED = 64                # at most this many distinct Content-Length values in _HEADER_BYTES
_cl_cached = 0


def _status_code(status: Any) -> int:
    code = _STATUS.get(status) if type(status) is str else None
    if code is not None:
        return code
    if not isinstance(status, str):
        raise TypeError(f"WSGI status must be a str, not {type(status).__name__}")
    try:
        code = int(status[:3])
    except ValueError:
        raise ValueError(f"invalid WSGI status {status!r}") from None
    if len(status) > 3 and status[3] != " ":
        raise ValueError(f"invalid WSGI status {status!r}")
    if type(status) is str and len(_STATUS) < _CACHE_MAX:
        _STATUS[status] = code
    return code


def _parse_head(status: str, headers: list) -> tuple[int, list, int | None]:
    """Check and encode what the app gave start_response: (code, [(name, value) bytes], Content-Length)."""
    global _cl_cached
    code = _status_code(status)
    out = []
    length = None
    lines = _HEADER_BYTES
    for item in headers:
        hit = lines.get(item) if type(item) is tuple else None
        if hit is not None:
            # a (str, str) header seen before: checked and encoded then
            pair, n = hit
            out.append(pair)
            if n is not None:
                length = n
            continue
        name, value = item
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"WSGI header {item!r} must be a (str, str) tuple")
        lname = name.lower()
        if lname in _HOP:
            continue
        pair = (lname.encode("latin-1"), value.encode("latin-1"))
        n = None
        if lname == "content-length":
            try:
                n = length = int(value)
            except ValueError:
                raise ValueError(f"invalid Content-Length {value!r}") from None
        if type(item) is tuple and type(name) is str and type(value) is str \
                and len(lines) < _CACHE_MAX and len(value) <= 128 and lname != "set-cookie":
            if n is None:
                lines[item] = (pair, None)
            elif _cl_cached < _CL_CACHED:
                _cl_cached += 1
                lines[item] = (pair, n)
        out.append(pair)
    return code, out, length


# (status, *the app's header tuples) -> head (see _head), for whole heads seen before; cleared when full
_HEADS: dict[tuple, tuple] = {}
_HEADS_MAX = 256
HEAD_DATE, HEAD_SERVER = 1, 2  # flags of a head: the app set Date / Server (h1's values, not imported:
                               # the adapter also runs without the engine)


def _head(status: Any, headers: Any) -> tuple:
    """What the app gave start_response, checked and encoded:
    (code, ((name, value) bytes, ...), Content-Length or None, block, content type or None, flags).

    ``block`` is the header lines joined by CRLF, ready for an HTTP/1.1 head
    (h1's ``Cycle.respond_head``): the common response costs one dict lookup
    here and no per-header work on the loop. Heads with Set-Cookie or long
    values are never remembered.
    """
    try:
        key = (status, *headers)
        hit = _HEADS.get(key)
    except TypeError:  # an unhashable item (a list instead of a tuple): checked below
        key = hit = None
    if hit is not None:
        return hit
    code, pairs, length = _parse_head(status, headers)
    lines = []
    ctype = None
    flags = 0
    keep = key is not None
    for name, value in pairs:
        if name == b"content-type":
            ctype = value
        elif name == b"date":
            flags |= HEAD_DATE
        elif name == b"server":
            flags |= HEAD_SERVER
        elif name == b"set-cookie":
            keep = False
        if len(value) > 128:
            keep = False
        lines.append(name + b": " + value)
    block = b"\r\n".join(lines)
    n = max(len(lines) - 1, 0)
    if block.count(b"\n") != n or block.count(b"\r") != n:
        raise ValueError("WSGI response header contains a line break")  # response splitting
    head = (code, tuple(pairs), length, block, ctype, flags)
    if keep:
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
        _HEADS[key] = head
    return head


class _Response:
    """State of one WSGI response, shared by the pool thread and the loop.

    Fast path: the thread buffers the body, returns it, the loop writes it
    once. Streaming (more than ``BUFFER`` bytes, or blocks waiting longer than
    ``FLUSH_AFTER`` while the app works on the next one, as PEP 3333 asks):
    messages go into ``outbox`` and one loop task (the pump) sends them in
    order; the thread waits while more than ``HIGH_WATER`` bytes are queued
    (backpressure from the client's socket).
    """

    __slots__ = ("status", "headers", "sent", "chunks", "size", "send", "loop", "length", "cap",
                 "lock", "room", "outbox", "out_bytes", "pumping", "broken", "finished", "complete", "head")

    def __init__(self, send: Any, loop: asyncio.AbstractEventLoop | None):
        self.status: int | None = None
        self.headers: tuple | None = None
        self.head: tuple | None = None     # what _head made of the app's status and headers
        self.sent = False                # the response start is in the outbox (or on the wire)
        self.chunks: list[bytes] = []    # body produced, not handed over yet
        self.size = 0
        self.send = send
        self.loop = loop
        self.length: int | None = None
        self.cap = BUFFER if loop is not None else sys.maxsize  # on the loop, write() only buffers
        self.lock = threading.Lock()
        self.room: threading.Condition | None = None   # created when streaming starts
        self.outbox: deque | None = None
        self.out_bytes = 0
        self.pumping = False
        self.broken: BaseException | None = None
        self.finished = False
        self.complete: asyncio.Future | None = None    # set by the pump after the last message

    def start_response(self, status: str, headers: list, exc_info=None):
        if exc_info is None:
            if self.status is not None:
                raise AssertionError("start_response called a second time without exc_info")
            head = self.head = _head(status, headers)
            # no lock needed: tick() acts only on a response with body chunks, and
            # chunks come after a status; the status is stored last
            self.headers, self.length = head[1], head[2]
            self.status = head[0]
            return self.write
        try:
            with self.lock:  # the loop may be sending a buffered start right now
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
                head = self.head = _head(status, headers)
                self.status, self.headers, self.length = head[0], head[1], head[2]
        finally:
            exc_info = None
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"WSGI body must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if data:
            with self.lock:
                self.chunks.append(data)
                self.size += len(data)
                full = self.size > self.cap
            if full:
                self.hand_over(True)

    # -- streaming ----------------------------------------------------------
    def _queue(self, more: bool) -> bool:
        """Under the lock: move the buffered body (and the start) to the outbox; True = wake the pump."""
        if self.outbox is None:
            self.outbox = deque()
            self.room = threading.Condition(self.lock)
        if not self.sent:
            self.outbox.append({"type": "http.response.start", "status": self.status, "headers": self.headers})
            self.sent = True
        body = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks.clear()
        self.size = 0
        if body or not more:
            self.outbox.append({"type": "http.response.body", "body": body, "more_body": more})
            self.out_bytes += len(body)
        if self.pumping:
            return False
        self.pumping = True
        return True

    def hand_over(self, more: bool) -> None:
        """Thread: queue what is buffered for the pump; wait while too much is queued."""
        with self.lock:
            if self.broken is not None:
                raise ClientDisconnected(str(self.broken))
            wake = self._queue(more)
        if wake:
            self.loop.call_soon_threadsafe(self._start_pump)
        with self.lock:
            while self.out_bytes > HIGH_WATER and self.broken is None:
                self.room.wait()
            if self.broken is not None:
                raise ClientDisconnected(str(self.broken))

    def tick(self) -> None:
        """Loop: blocks waited ``FLUSH_AFTER`` while the app is busy: send them now (PEP 3333)."""
        with self.lock:
            if self.finished or self.status is None or not self.chunks or self.broken is not None:
                return
            wake = self._queue(True)
        if wake:
            self._start_pump()

    def _start_pump(self) -> None:
        if self.complete is None:
            self.complete = self.loop.create_future()
        self.loop.create_task(self._pump())

    async def _pump(self) -> None:
        lock, outbox, send = self.lock, self.outbox, self.send
        while True:
            with lock:
                if not outbox:
                    self.pumping = False
                    return
                message = outbox.popleft()
            try:
                await send(message)
            except Exception as exc:  # the client went away (ASGI: an OSError)
                with lock:
                    self.broken = exc
                    outbox.clear()
                    self.pumping = False
                    self.room.notify_all()
                if self.complete is not None and not self.complete.done():
                    self.complete.set_result(None)
                return
            last = message["type"] == "http.response.body" and not message.get("more_body", False)
            with lock:
                if message["type"] == "http.response.body":
                    self.out_bytes -= len(message["body"])
                    if self.out_bytes <= HIGH_WATER:
                        self.room.notify_all()
            if last and self.complete is not None and not self.complete.done():
                self.complete.set_result(None)

    def cancel(self, why: BaseException) -> None:
        """Loop: the request was cancelled; a thread streaming it stops at its next block."""
        with self.lock:
            if self.broken is None:
                self.broken = why
            if self.room is not None:
                self.room.notify_all()

    def abandon(self) -> bool:
        """Thread, app failed: mark finished; True when the response already started."""
        with self.lock:
            self.finished = True
            return self.sent


def _error_response(status: int = 500) -> tuple[int, list, bytes]:
    body = b"Internal Server Error\n" if status == 500 else b"Error\n"
    return status, [(b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())], body


def _finish_headers(resp: _Response, body_len: int) -> list:
    headers = resp.headers
    if resp.length is None and resp.status not in (204, 304) and resp.status >= 200:
        headers = [*headers, (b"content-length", b"%d" % body_len)]
    return headers


class WSGIAdapter:
    """ASGI app wrapping one WSGI callable."""

    def __init__(self, app: Any, threads: int | None = 4, name: str = ""):
        self.app = app
        self.threads = 4 if threads is None else threads
        self.name = name or repr(app)
        self._pool: WSGIPool | None = None
        self._generation = -1
        self._inflight: dict[_Response, float] = {}
        self._ticker: asyncio.TimerHandle | None = None
        self._ticker_loop: asyncio.AbstractEventLoop | None = None
        self._box: _Mailbox | None = None  # results of this loop's requests come back through it

    def __repr__(self) -> str:
        return f"WSGIAdapter({self.name})"

    @property
    def pool(self) -> WSGIPool:
        if self._generation != _generation or self._pool is None or self._pool.threads != self.threads:
            if self._generation != _generation:
                self._box = None  # a forked child starts with a mailbox of its own
            self._pool = get_pool(self.threads)
            self._generation = _generation
        return self._pool

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return  # lifespan: WSGI apps have none
        first, more = b"", False
        if _has_body(scope):
            message = await receive()
            if message.get("type") != "http.request":
                return  # gone before the body arrived
            first, more = message.get("body", b""), message.get("more_body", False)
        if self.threads <= 0:
            await self._call_on_loop(scope, receive, send, first, more)
            return
        loop = asyncio.get_running_loop()
        method = scope.get("method", "GET")
        pool, box, resp = self._prepare(loop, send)
        inflight = self._inflight
        fut = loop.create_future()
        pool.submit(fut, box, self._run,
                    (scope, Input(first, more, receive, loop) if first or more else NO_INPUT, resp))
        try:
            result = await fut
            if result[0] == "ok":  # the common case: the whole response in one go
                body = result[1]
                await send({"type": "http.response.start", "status": resp.status,
                            "headers": _finish_headers(resp, len(body))})
                await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
            else:
                await self._finish(result, scope, send, resp)
        except asyncio.CancelledError as exc:
            resp.cancel(exc)
            raise
        finally:
            inflight.pop(resp, None)

    def h1_direct(self, cycle: Any) -> bool:
        """Take an HTTP/1.1 request without a body straight to the pool (h1.DIRECT_APPS).

        Why: the app runs on a pool thread anyway, so the ASGI coroutine, its
        messages and the hand-off of a waiting request on the loop are pure
        overhead (~4 us per request). The result comes back through the mailbox
        to ``_Direct``, which writes a small response with ``cycle.respond`` or
        finishes a streamed/file one in a task. Anything else (a body to read,
        ``threads=0``) goes the ASGI way.
        """
        hv = cycle.hv  # the request headers h1 looks at: no scan of the header list
        cl = hv[_H_CL]
        if self.threads <= 0 or hv[_H_TE] is not None or (cl is not None and cl.strip() not in (b"0", b"")):
            return False
        loop = cycle.proto.loop
        pool = self._pool
        box = self._box
        if (pool is None or self._generation != _generation or pool.threads != self.threads
                or box is None or box.loop is not loop or self._ticker is None or not pool._full):
            # first request, a new loop, after a fork, or the ticker stopped: the general way
            pool, box, resp = self._prepare(loop, cycle.send)
            pool.submit(_Direct(self, cycle, resp), box, self._run, (cycle.scope, NO_INPUT, resp))
            return True
        resp = _Response(cycle.send, loop)  # (what _prepare and submit do, inline)
        self._inflight[resp] = loop.time() + FLUSH_AFTER
        pool._queue.put((_Direct(self, cycle, resp), box, self._run, (cycle.scope, NO_INPUT, resp)))
        return True

    def _prepare(self, loop: asyncio.AbstractEventLoop, send: Any) -> tuple:
        """(pool, mailbox, in-flight response) for one request handed to the pool."""
        pool = self._pool
        if pool is None or self._generation != _generation or pool.threads != self.threads:
            pool = self.pool
        box = self._box
        if box is None or box.loop is not loop:
            box = self._box = _Mailbox(loop)
        resp = _Response(send, loop)
        self._inflight[resp] = loop.time() + FLUSH_AFTER
        if self._ticker is None or self._ticker_loop is not loop:
            self._ticker_loop = loop
            self._ticker = loop.call_later(FLUSH_AFTER, self._tick, loop)
        return pool, box, resp

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._ticker_loop:
            return  # a ticker of a previous event loop
        self._ticker = None
        if not self._inflight:
            return
        now = loop.time()
        for resp, due in list(self._inflight.items()):
            if due <= now:
                resp.tick()
        self._ticker = loop.call_later(FLUSH_AFTER, self._tick, loop)

    async def _finish(self, result: tuple, scope: dict, send: Any, resp: _Response | None = None) -> None:
        kind = result[0]
        if kind == "ok":
            body = result[1]
            result = ("small", resp.status, _finish_headers(resp, len(body)), body)
            kind = "small"
        if kind == "small":  # one write from the loop
            _, status, headers, body = result
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})
        elif kind == "streamed":
            await resp.complete  # the pump sent the last message (or the client left)
        elif kind == "file":
            _, status, headers, wrapper, offset, count = result
            try:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.zerocopysend", "file": wrapper.filelike, "offset": offset,
                            "count": count, "more_body": False})
            finally:
                close = getattr(wrapper, "close", None)
                if close is not None:
                    close()
        elif kind == "error":
            raise result[1]

    def _run(self, scope: dict, body: Input, resp: _Response) -> tuple:
        """Runs in a pool thread."""
        environ = build_environ(scope, body, True)
        try:
            result = self.app(environ, resp.start_response)
        except Exception as exc:
            return self._failed(resp, exc)
        closing = True
        try:
            if isinstance(result, FileWrapper) and resp.status is not None and not resp.chunks:
                plan = self._file_plan(scope, resp, result)
                if plan is not None:
                    closing = False  # the loop closes it after sendfile
                    resp.abandon()
                    return plan
            lock, chunks = resp.lock, resp.chunks
            written = 0
            for chunk in result:
                if type(chunk) is not bytes:
                    if not isinstance(chunk, (bytearray, memoryview)):
                        raise TypeError(f"WSGI body must yield bytes, not {type(chunk).__name__}")
                    chunk = bytes(chunk)
                if not chunk:
                    continue
                if resp.status is None:
                    raise AssertionError("the app yielded a body before calling start_response()")
                length = resp.length
                if length is not None and written + len(chunk) > length:
                    if written >= length:
                        break  # PEP 3333: never more than promised, and the rest is not asked for
                    chunk = chunk[:length - written]
                written += len(chunk)
                with lock:  # what write() does, inline: the loop may take the chunks (tick)
                    chunks.append(chunk)
                    resp.size += len(chunk)
                    full = resp.size > resp.cap
                if full:
                    resp.hand_over(True)
                # (no break when the promised length is reached: a generator asked once
                # more ends normally, closing it half-way would cost an exception)
            if resp.status is None:
                raise AssertionError("the app returned without calling start_response()")
            with lock:  # what finish() does, inline
                resp.finished = True
                small = not resp.sent
                if small:
                    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
            if small:
                return ("ok", body)  # status and headers: resp.head
            resp.hand_over(False)
            return ("streamed",)
        except ClientDisconnected:
            resp.abandon()
            return ("done",)
        except Exception as exc:
            return self._failed(resp, exc)
        finally:
            if closing:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        log.exception("%s: close() of the WSGI iterable raised", self.name)

    def _file_plan(self, scope: dict, resp: _Response, wrapper: FileWrapper) -> tuple | None:
        ext = scope.get("extensions") or {}
        if "http.response.zerocopysend" not in ext:
            return None
        fd = wrapper.fileno()
        if fd is None:
            return None
        try:
            offset = wrapper.filelike.tell()
            size = os.fstat(fd).st_size
        except (OSError, AttributeError, ValueError):
            return None
        count = max(0, size - offset)
        if resp.length is not None:
            count = min(count, resp.length)
        return ("file", resp.status, _finish_headers(resp, count), wrapper, offset, count)

    def _failed(self, resp: _Response, exc: Exception) -> tuple:
        started = resp.abandon()
        if isinstance(exc, (ClientDisconnected, ConnectionError)):
            return ("done",)
        log.error("%s: WSGI app raised", self.name, exc_info=exc)
        if not started:
            return ("small", *_error_response())
        return ("error", RuntimeError(f"{self.name}: WSGI app failed after the response started: {exc!r}"))

    async def _call_on_loop(self, scope: dict, receive: Any, send: Any, first: bytes, more: bool) -> None:
        """threads=0: read the whole body, run the app here, stream what it yields."""
        body = bytearray(first)
        while more:
            message = await receive()
            if message.get("type") != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        resp = _Response(send, None)
        environ = build_environ(scope, Input(bytes(body), False, None, None), False)
        try:
            result = self.app(environ, resp.start_response)
        except Exception as exc:
            await self._finish(self._failed(resp, exc), scope, send)
            return
        try:
            for chunk in result:
                if chunk:
                    if resp.status is None:
                        raise AssertionError("the app yielded a body before calling start_response()")
                    if not resp.sent and resp.size + len(chunk) <= BUFFER:
                        resp.chunks.append(bytes(chunk))
                        resp.size += len(chunk)
                        continue
                    if not resp.sent:
                        await send({"type": "http.response.start", "status": resp.status, "headers": resp.headers})
                        resp.sent = True
                        buffered = b"".join(resp.chunks)
                        resp.chunks.clear()
                        if buffered:
                            await send({"type": "http.response.body", "body": buffered, "more_body": True})
                    await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
            if resp.status is None:
                raise AssertionError("the app returned without calling start_response()")
            if not resp.sent:
                data = b"".join(resp.chunks)
                await self._finish(("small", resp.status, _finish_headers(resp, len(data)), data), scope, send)
            else:
                await send({"type": "http.response.body", "body": b"".join(resp.chunks)})
        except OSError:
            return  # the client went away (ASGI send raises an OSError)
        except Exception as exc:
            await self._finish(self._failed(resp, exc), scope, send)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


class _Direct:
    """Where a directly taken request's result lands (future-like for the mailbox)."""

    __slots__ = ("adapter", "cycle", "resp")

    def __init__(self, adapter: WSGIAdapter, cycle: Any, resp: _Response) -> None:
        self.adapter = adapter
        self.cycle = cycle
        self.resp = resp

    def done(self) -> bool:
        return False

    def set_result(self, result: tuple) -> None:
        resp = self.resp
        self.adapter._inflight.pop(resp, None)
        kind = result[0]
        if kind == "ok":  # the common case: the whole response in one write
            self.cycle.respond_head(resp.head, result[1])
        elif kind == "small":  # an error answer
            self.cycle.respond(result[1], result[2], result[3])
        else:
            self.cycle.proto.loop.create_task(self._finish(result))

    def set_exception(self, exc: BaseException) -> None:
        self.adapter._inflight.pop(self.resp, None)
        self.cycle.app_raised(exc)

    async def _finish(self, result: tuple) -> None:
        cycle = self.cycle
        try:
            await self.adapter._finish(result, cycle.scope, cycle.send, self.resp)
        except BaseException as exc:  # noqa: BLE001 - answered (or logged) by the cycle
            cycle.app_raised(exc)
        else:
            cycle.app_returned()


_H_CL = _H_TE = 0  # h1's slots for Content-Length / Transfer-Encoding in Cycle.hv


def _register_h1_direct() -> None:
    try:
        from skitai.server import h1
    except ImportError:  # the adapter also runs under other ASGI servers
        return
    global _H_CL, _H_TE
    _H_CL, _H_TE = h1.H_CL, h1.H_TE
    h1.DIRECT_APPS[WSGIAdapter] = WSGIAdapter.h1_direct


def _has_body(scope: dict) -> bool:
    """Whether to wait for the first body message before handing off to a thread.

    HTTP/1.x announces a body (Content-Length / Transfer-Encoding); HTTP/2
    may send DATA without Content-Length, so there only GET/HEAD count as bodiless.
    """
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            return v.strip() not in (b"0", b"")
        if k == b"transfer-encoding":
            return True
    if scope.get("http_version", "1.1").startswith("1"):
        return False
    return scope.get("method") not in ("GET", "HEAD")


_register_h1_direct()
