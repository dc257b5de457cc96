"""Atila's WebSocket API: ``@app.websocket(spec, timeout=60, onopen=None, onclose=None)``.

Under ``@app.route(...)``; the engine gives Atila an ASGI ``websocket`` scope
and ``Atila.__call__`` hands it to ``dispatch``. Specs and options (bit flags
from ``skitai``):

* ``WS_CHANNEL`` (alias ``WS_SIMPLE``): every message calls
  ``handler(context, message, **query_args)``; a return value is sent back
  (``str`` -> text frame, ``bytes`` -> binary frame, ``None`` -> nothing).
  Options: ``WS_THREAD`` (default: sync handlers run on the app's thread pool,
  one message at a time per socket), ``WS_NOTHREAD`` (call on the event loop:
  fast, but blocking code blocks the worker), ``WS_THREADSAFE`` (like
  WS_THREAD; ``context.websocket.send()`` from your own threads waits until
  the frame is queued), ``WS_SESSION`` (below).
* ``WS_CHANNEL | WS_SESSION``: the handler is a generator taking only
  ``context``: ``message = yield`` receives, ``yield reply`` sends, returning
  (e.g. on an empty message) closes. Runs on the loop; onopen/onclose must be
  None and WS_THREADSAFE is refused (as documented).
* ``WS_GROUPCHAT``: sockets of one route with the same query parameters form
  a room; a handler's return value goes to every member (``(msg, client_id)``
  sends to one). Within one worker process; across workers/pods needs a
  broker (not yet).
* ``WS_COROUTINE``: ``async def`` handlers (awaited on the loop); an async
  generator works like WS_SESSION, and so does the [001] form
  ``msg = yield context.Input()`` (a yielded ``Input`` means "next message"). Any ``async def`` handler is awaited
  whatever the spec.

``context.websocket`` has ``client_id`` (unique in the worker), ``send(msg)``,
``close(code)``; ``app.websocket_send(client_id, msg)`` pushes to a socket of
this worker from anywhere (other request handlers, threads). Extra handler
arguments are bound by name from the query string (and route parameters).
``onopen(context)`` runs after the handshake is accepted (a returned value is
sent), ``onclose(context)`` after the socket is gone. ``timeout`` closes a
socket (1001) that received no message for that many seconds.

Message encoding: ``@app.websocket(spec, timeout, onopen, onclose,
encoding=skitai.WS_MSG_JSON)`` (or ``WS_MSG_JSON`` given where ``onclose``'s
older 5th "message_encoding" argument was): text messages are parsed as JSON
before the handler sees them and return values that are not str/bytes are
sent as JSON text.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import threading
from collections import deque
from typing import Any

logger = logging.getLogger("atila.websocket")

WS_CHANNEL = 1
WS_GROUPCHAT = 2
WS_COROUTINE = 4
WS_STREAM = 8
WS_THREAD = 16
WS_NOTHREAD = 32
WS_SESSION = 64
WS_THREADSAFE = 128
WS_MSG_JSON = "json"

_ids = itertools.count(1)
_clients: dict[int, WebSocket] = {}
_rooms: dict[tuple, dict[int, WebSocket]] = {}


class Input:
    """``msg = yield context.Input()``: WS_COROUTINE's way to wait for the next message."""

    __slots__ = ()


class WSSpec:
    __slots__ = ("func", "spec", "timeout", "onopen", "onclose", "rule", "encoding", "message_arg",
                 "extra_args", "var_kw", "mode")

    def __init__(self, func, spec: int, timeout, onopen, onclose, rule: str, encoding) -> None:
        self.func = func
        self.spec = int(spec or WS_CHANNEL)
        self.timeout = float(timeout) if timeout else 0.0
        self.onopen = onopen
        self.onclose = onclose
        self.rule = rule
        self.encoding = encoding
        if self.spec & WS_SESSION:
            if onopen is not None or onclose is not None:
                raise ValueError(f"{func.__name__}: WS_SESSION handlers take no onopen/onclose")
            if self.spec & WS_THREADSAFE:
                raise ValueError(f"{func.__name__}: WS_SESSION cannot be combined with WS_THREADSAFE")
        params = list(inspect.signature(func).parameters.values())[1:]  # after context
        self.var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
        named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            self.mode = "session"
            self.message_arg = None
            self.extra_args = [(p.name, p.default) for p in named]
        else:
            if not named:
                raise ValueError(f"{func.__name__}: a websocket handler takes (context, message, ...)")
            self.message_arg = named[0].name
            self.extra_args = [(p.name, p.default) for p in named[1:]]
            if inspect.iscoroutinefunction(func):
                self.mode = "async"
            elif self.spec & WS_NOTHREAD or self.spec & WS_COROUTINE:
                self.mode = "loop"
            else:
                self.mode = "thread"
        if self.spec & WS_SESSION and self.mode not in ("session",):
            raise ValueError(f"{func.__name__}: WS_SESSION needs a generator handler (message = yield)")


def register(app: Any, func: Any, spec: int, timeout: int, onopen: Any, onclose: Any, rule: str,
             encoding: str | None = None) -> None:
    """Called by ``Atila.websocket`` / ``Atila.route`` for each (handler, rule)."""
    if isinstance(onclose, str) and encoding is None:  # older (spec, timeout, message_type) forms
        onclose, encoding = None, onclose
    registry = app.__dict__.setdefault("_websockets", {})
    registry[func] = WSSpec(func, spec, timeout, onopen, onclose, rule, encoding)


def send_to(client_id: int, message: Any) -> bool:
    """``app.websocket_send``: push to a socket of this worker; False when it is gone."""
    ws = _clients.get(client_id)
    if ws is None or ws.closed:
        return False
    ws.send(message)
    return True


class WebSocket:
    """``context.websocket``: one open socket."""

    def __init__(self, send, loop: asyncio.AbstractEventLoop, spec: WSSpec) -> None:
        self.client_id = next(_ids)
        self._send = send
        self.loop = loop
        self.spec = spec
        self.closed = False
        self.room: dict[int, WebSocket] | None = None
        self._outq: deque = deque()
        self._drainer: asyncio.Task | None = None
        self._thread = threading.get_ident()

    @property
    def clients(self) -> dict[int, WebSocket]:
        """Members of this socket's room (WS_GROUPCHAT), else only itself."""
        return self.room if self.room is not None else {self.client_id: self}

    def _frame(self, message: Any) -> dict | None:
        if message is None:
            return None
        if isinstance(message, str):
            return {"type": "websocket.send", "text": message}
        if isinstance(message, bytes | bytearray | memoryview):
            return {"type": "websocket.send", "bytes": bytes(message)}
        if self.spec.encoding == WS_MSG_JSON or isinstance(message, dict | list):
            return {"type": "websocket.send", "text": json.dumps(message, ensure_ascii=False)}
        return {"type": "websocket.send", "text": str(message)}

    async def asend(self, message: Any) -> None:
        """Send from the event loop, in order with every other send of this socket."""
        frame = self._frame(message)
        if frame is None or self.closed:
            return
        if self._outq or self._drainer is not None:  # earlier sends are still queued: go behind them
            fut = self.loop.create_future()
            self._queue_frame(frame, fut)
            await fut
            return
        try:
            await self._send(frame)
        except OSError:
            self.closed = True

    def _queue_frame(self, frame: dict, fut: asyncio.Future | None = None) -> None:
        self._outq.append((frame, fut))
        if self._drainer is None:
            self._drainer = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._outq:
                frame, fut = self._outq.popleft()
                if not self.closed:
                    try:
                        await self._send(frame)
                    except OSError:
                        self.closed = True
                if fut is not None and not fut.done():
                    fut.set_result(None)
        finally:
            self._drainer = None

    def send(self, message: Any, client_id: int | None = None) -> None:
        """Send a str (text) or bytes (binary); safe from any thread.

        ``client_id`` sends to another socket of the same worker (group chat).
        From a handler thread under WS_THREADSAFE this waits until it is sent.
        """
        if client_id is not None and client_id != self.client_id:
            send_to(client_id, message)
            return
        if self.closed:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            frame = self._frame(message)
            if frame is not None:
                self._queue_frame(frame)
            return
        try:
            fut = asyncio.run_coroutine_threadsafe(self.asend(message), self.loop)
        except RuntimeError:  # the worker's loop is gone (shutdown)
            self.closed = True
            return
        if self.spec.spec & WS_THREADSAFE:
            try:
                fut.result(timeout=30)
            except Exception:
                pass

    def close(self, code: int = 1000) -> None:
        """Close this socket from a handler (any thread)."""
        async def _close():
            if not self.closed:
                self.closed = True
                try:
                    await self._send({"type": "websocket.close", "code": code})
                except OSError:
                    pass
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(_close())
        else:
            try:
                asyncio.run_coroutine_threadsafe(_close(), self.loop)
            except RuntimeError:
                self.closed = True


def _bind(spec: WSSpec, request) -> dict:
    args = request.ARGS
    kw = {}
    for name, default in spec.extra_args:
        if name in args:
            kw[name] = args[name]
        elif default is not inspect.Parameter.empty:
            kw[name] = default
        else:
            kw[name] = None
    if spec.var_kw:
        for k, v in args.items():
            if k not in kw and k != spec.message_arg:
                kw[k] = v
    return kw


def _decode(spec: WSSpec, msg: dict) -> Any:
    text = msg.get("text")
    if text is not None:
        if spec.encoding == WS_MSG_JSON:
            return json.loads(text)
        return text
    data = msg.get("bytes")
    if spec.encoding == WS_MSG_JSON and data is not None:
        return json.loads(data)
    return data


async def _call(app, spec: WSSpec, func, scope, *args, **kw):
    """Run a sync callable per the spec's threading option; await coroutines."""
    if inspect.iscoroutinefunction(func):
        return await func(*args, **kw)
    if spec.mode == "thread":
        ex = app._executor or app._get_executor(scope)
        if ex is not None:
            loop = asyncio.get_running_loop()
            if kw:
                import functools
                return await ex.run(loop, functools.partial(func, *args, **kw))
            return await ex.run(loop, func, *args)
    r = func(*args, **kw)
    if inspect.isawaitable(r):
        r = await r
    return r


async def dispatch(app: Any, scope: dict, receive, send) -> None:
    """Serve one websocket scope for ``app`` (called by ``Atila.__call__``)."""
    from .request import Request

    route, params, path, _allowed = app.resolve(scope)
    registry = app.__dict__.get("_websockets") or {}
    spec: WSSpec | None = registry.get(route.func) if route is not None else None
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    if spec is None:
        # no websocket handler here: refuse the handshake (403 from the engine)
        await send({"type": "websocket.close", "code": 1000})
        return
    rscope = dict(scope)
    rscope.setdefault("method", "GET")
    request = Request(rscope, receive, path, app)
    request.PARAMS = params
    request.routed = route.func
    request.routable = route
    ctx = app.context_class(app, request)
    loop = asyncio.get_running_loop()
    ws = WebSocket(send, loop, spec)
    ctx.websocket = ws
    ctx.Input = Input
    subprotocols = scope.get("subprotocols") or []
    try:
        kw = _bind(spec, request)
    except Exception as e:  # bad query parameters: refuse
        logger.info("websocket %s refused: %s", scope.get("path"), e)
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None})
    _clients[ws.client_id] = ws
    room_key = None
    if spec.spec & WS_GROUPCHAT:
        room_key = (spec.rule, tuple(sorted((k, str(v)) for k, v in request.URL.items())))
        ws.room = _rooms.setdefault(room_key, {})
        ws.room[ws.client_id] = ws
    close_code = 1000
    try:
        if spec.onopen is not None:
            r = await _call(app, spec, spec.onopen, scope, ctx)
            if r is not None:
                await ws.asend(r)
        if spec.mode == "session":
            close_code = await _session(app, spec, ctx, ws, receive, kw)
        else:
            close_code = await _channel(app, spec, ctx, ws, receive, scope, kw)
    except Exception:
        logger.exception("websocket handler %s failed", spec.func.__name__)
        close_code = 1011
    finally:
        _clients.pop(ws.client_id, None)
        if room_key is not None:
            room = _rooms.get(room_key)
            if room is not None:
                room.pop(ws.client_id, None)
                if not room:
                    _rooms.pop(room_key, None)
        was_closed = ws.closed
        ws.closed = True
        if not was_closed and close_code is not None:
            try:
                await send({"type": "websocket.close", "code": close_code})
            except OSError:
                pass
        if spec.onclose is not None:
            try:
                await _call(app, spec, spec.onclose, scope, ctx)
            except Exception:
                logger.exception("websocket onclose %s failed", getattr(spec.onclose, "__name__", "?"))


async def _next_message(spec: WSSpec, receive):
    """The next message dict, or None when the peer left / the timeout passed."""
    if spec.timeout > 0:
        try:
            msg = await asyncio.wait_for(receive(), spec.timeout)
        except TimeoutError:
            return "timeout"
    else:
        msg = await receive()
    if msg["type"] == "websocket.disconnect":
        return None
    return msg


async def _channel(app, spec: WSSpec, ctx, ws: WebSocket, receive, scope, kw) -> int | None:
    func = spec.func
    marg = spec.message_arg
    group = ws.room is not None
    while True:
        msg = await _next_message(spec, receive)
        if msg is None:
            return None
        if msg == "timeout":
            return 1001
        try:
            message = _decode(spec, msg)
        except ValueError:
            await ws.asend({"error": "invalid JSON message"} if spec.encoding == WS_MSG_JSON else "invalid")
            continue
        kw[marg] = message
        reply = await _call(app, spec, func, scope, ctx, **kw)
        if reply is None:
            continue
        if group:
            if isinstance(reply, tuple) and len(reply) == 2 and isinstance(reply[1], int):
                send_to(reply[1], reply[0])
                continue
            for member in list(ws.room.values()):
                if member is ws:
                    await ws.asend(reply)
                else:
                    member.send(reply)
        else:
            await ws.asend(reply)


class _Done(Exception):
    pass


async def _session(app, spec: WSSpec, ctx, ws: WebSocket, receive, kw) -> int | None:
    gen = spec.func(ctx, **kw)
    is_async = inspect.isasyncgen(gen)

    async def step(value=None, first=False):
        # StopIteration must not cross a coroutine boundary (PEP 479): turn it into _Done
        try:
            if is_async:
                return await (gen.__anext__() if first else gen.asend(value))
            return next(gen) if first else gen.send(value)
        except (StopIteration, StopAsyncIteration):
            raise _Done from None

    try:
        reply = await step(first=True)
        while True:
            while reply is not None and not isinstance(reply, Input):  # replies until it waits
                await ws.asend(reply)
                reply = await step(None)
            msg = await _next_message(spec, receive)
            if msg is None:
                return None
            if msg == "timeout":
                return 1001
            try:
                message = _decode(spec, msg)
            except ValueError:
                message = None
            reply = await step(message)
    except _Done:
        return 1000
    finally:
        try:
            if is_async:
                await gen.aclose()
            else:
                gen.close()
        except Exception:
            pass
