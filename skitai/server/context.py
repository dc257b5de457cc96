"""Per-worker server state shared by every protocol on the loop.

The health endpoint reads ``ready``/``draining``/``active_connections``/
``requests_served``; protocols read the cached limits and the shared
``Date``/``Server`` header bytes (refreshed once a second by ``tick``), and
find hand-off factories for HTTP/2 and upgrades here (see the "Protocol
hand-off" section of docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

SERVER_NAME = b"skitai"

# Used when a preference is missing (tests with a stand-in prefs object, or
# before skitai.config grows a setting). skitai/config/settings.py is the
# real definition of every default.
DEFAULTS: dict[str, Any] = {
    "keep_alive": 30.0,
    "request_timeout": 30.0,
    "shutdown_timeout": 30.0,
    "max_header_size": 65536,
    "max_body_size": 0,
    "max_requests": 0,
    "max_connections": 0,
    "backlog": 2048,
    "log_format": "text",
    "logpath": None,
    "log_off": (),
}


def pref(prefs: Any, name: str) -> Any:
    value = getattr(prefs, name, None) if prefs is not None else None
    return DEFAULTS.get(name) if value is None else value


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class ServerContext:
    """Everything one worker's protocols share. One instance per worker."""

    def __init__(self, prefs: Any = None, worker_id: int = 0, observer: Any = None,
                 app: Any = None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.prefs = prefs
        self.worker_id = worker_id
        self.observer = observer
        self.app = app
        self.loop = loop
        self.active_connections = 0
        self.connections: set = set()
        self.waiting: deque = deque()  # accepted over max_connections, not read yet
        self.requests_served = 0
        self.draining = False
        self.ready = False
        self.conn_serial = 0
        self.due: list = []  # (protocol, coroutine) whose first step is due (h1.start)
        # Protocol hand-off registry, filled by h2.py / ws.py (see docs/architecture.md).
        # name (lowercase Upgrade token) -> factory(Handoff) -> asyncio.Protocol
        self.upgrades: dict[str, Callable[..., Any]] = {}
        # factory(Handoff) -> asyncio.Protocol for prior-knowledge HTTP/2 and ALPN "h2"
        self.h2_factory: Callable[..., Any] | None = None
        self.stop_code: int | None = None
        self.stop_event: asyncio.Event | None = None
        self.reload_limits()
        self.date_headers = b""
        self.date_line = b""
        self.server_line = b"server: " + SERVER_NAME
        self.date_second = -1
        self.update_date()

    def reload_limits(self) -> None:
        p = self.prefs
        self.keep_alive = _num(pref(p, "keep_alive"), 30.0)
        self.request_timeout = _num(pref(p, "request_timeout"), 30.0)
        # how long an idle keep-alive connection is kept (keep_alive 0 = none kept)
        self.idle_for = self.keep_alive if self.keep_alive > 0 else (self.request_timeout or 30.0)
        self.shutdown_timeout = _num(pref(p, "shutdown_timeout"), 30.0)
        self.max_header_size = int(_num(pref(p, "max_header_size"), 65536)) or 65536
        self.max_requests = int(_num(pref(p, "max_requests"), 0))
        self.max_connections = int(_num(pref(p, "max_connections"), 0))
        # The server-side ceiling on request bodies (0 = none): the mount table's
        # largest per-app limit when it knows one (-1 = some app has no limit),
        # else the global max_body_size. Per-app limits are the table's job.
        limit = int(_num(pref(p, "max_body_size"), 0))
        try:
            app_limit = int(_num(getattr(self.app, "max_body_size_ceiling", 0), 0))
        except Exception:
            app_limit = 0
        if app_limit < 0 or (app_limit == 0 and limit <= 0):
            self.body_ceiling = 0
        elif app_limit > 0:
            self.body_ceiling = app_limit if limit <= 0 else max(limit, app_limit)
        else:
            self.body_ceiling = limit

    # -- deadlines (0 = none) -----------------------------------------------
    def request_deadline(self) -> float | None:
        """When a client that stays silent mid-request / mid-response is dropped."""
        rt = self.request_timeout
        return self.loop.time() + rt if rt > 0 else None

    def idle_deadline(self) -> float | None:
        """When an idle keep-alive connection is closed (keep_alive 0 = none kept)."""
        return self.loop.time() + self.idle_for

    # -- clock -------------------------------------------------------------
    def update_date(self) -> None:
        now = int(time.time())
        if now != self.date_second:
            self.date_second = now
            self.date_line = b"date: " + formatdate(now, usegmt=True).encode("ascii")
            self.date_headers = self.date_line + b"\r\n" + self.server_line + b"\r\n"

    def tick(self) -> None:
        """Once a second: refresh Date, close connections past their deadline."""
        self.update_date()
        loop = self.loop
        now = loop.time() if loop is not None else time.monotonic()
        for conn in list(self.connections):
            deadline = getattr(conn, "deadline", None)
            if deadline is not None and now >= deadline:
                try:
                    conn.on_timeout()
                except Exception:  # never let one connection stop the sweep
                    pass

    # -- connections ---------------------------------------------------------
    def register(self, conn: Any) -> int:
        """A protocol took a connection; returns its connection serial."""
        self.connections.add(conn)
        self.active_connections = len(self.connections)
        self.conn_serial += 1
        return self.conn_serial

    def unregister(self, conn: Any) -> None:
        self.connections.discard(conn)
        self.active_connections = len(self.connections)
        waiting = self.waiting
        if waiting:
            try:
                waiting.remove(conn)
            except ValueError:
                pass
            while waiting and len(self.connections) - len(waiting) <= self.max_connections:
                nxt = waiting.popleft()
                admit = getattr(nxt, "admit", None) or getattr(nxt, "resume_reading", None)
                if admit is not None and not getattr(nxt, "closed", False):
                    admit()

    # -- lifecycle -------------------------------------------------------------
    def request_stop(self, code: int = 0) -> None:
        """Ask the worker to drain and exit with ``code`` (first reason wins)."""
        if self.stop_code is None:
            self.stop_code = code
        if self.stop_event is not None:
            self.stop_event.set()

    def in_flight(self) -> int:
        return sum(1 for c in self.connections if getattr(c, "busy", False))


class Handoff:
    """What a hand-off factory receives when h1 gives a connection away."""

    __slots__ = ("ctx", "transport", "scope", "rest", "app", "upgrade", "body")

    def __init__(self, ctx: ServerContext, transport: Any, scope: dict | None,
                 rest: bytes, app: Any, upgrade: str | None, body: bytes = b"") -> None:
        self.body = body        # the upgrade request's own body (h2c with a body), else b""
        self.ctx = ctx
        self.transport = transport
        self.scope = scope      # the parsed HTTP/1.1 request (ASGI http scope) or None
        self.rest = rest        # bytes received after the request head (or all bytes so far)
        self.app = app          # the worker's ASGI app (MountTable)
        self.upgrade = upgrade  # "h2c", "websocket", ... or None for the preface / ALPN
