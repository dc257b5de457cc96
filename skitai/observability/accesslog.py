"""The request (access) log: one line per finished request.

Fields and order follow the seeds' request log (reference 10.3):

    date time client host method uri version request_bytes status
    response_bytes gtxnid ltxnid "user" bearer "referer" "user-agent"
    x-forwarded-for worker active_connections handling_ms transfer_ms

Missing values are ``-``; user, referer and user agent are double-quoted
when present. ``log_format=json`` writes the same fields as JSON lines.

Lines are buffered and written once per event-loop iteration (or when the
buffer grows past 64 KiB) in pieces of at most PIPE_BUF bytes cut at line
ends, so several workers sharing stdout never interleave inside a line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .record import RequestRecord

PIPE_BUF = 4096
FLUSH_SIZE = 65536
FLUSH_DELAY = 0.05  # seconds a line may wait in the buffer
_ESC = {i: f"\\x{i:02x}" for i in range(32)}
_ESC[ord('"')] = '\\"'
_ESC[ord("\\")] = "\\\\"
_ESC[127] = "\\x7f"


def _quote(value: str | None) -> str:
    if not value:
        return "-"
    if '"' not in value and "\\" not in value and value.isprintable():
        return '"' + value + '"'
    return '"' + value.translate(_ESC) + '"'


def _plain(value: str | None) -> str:
    """An unquoted field: no spaces or control characters may reach the line."""
    if not value:
        return "-"
    if value.isprintable() and " " not in value:
        return value
    return value.translate(_ESC).replace(" ", "%20")


class LogOff:
    """Paths whose requests are not logged: ``'/static/'`` is a prefix,
    ``'*.css'`` a suffix, as ``skitai.log_off()`` documents."""

    __slots__ = ("prefixes", "suffixes", "everything")

    def __init__(self, patterns: Iterable[str] | str | None = ()) -> None:
        if isinstance(patterns, str):
            patterns = [p for p in patterns.replace(",", " ").split() if p]
        prefixes, suffixes = [], []
        for p in patterns or ():
            p = str(p).strip()
            if not p:
                continue
            if p.startswith("*"):
                suffixes.append(p[1:])
            else:
                prefixes.append(p)
        self.prefixes = tuple(prefixes)
        self.suffixes = tuple(suffixes)
        # "/" switches off every origin-form request (the usual "log nothing"):
        # the hot path then needs no split or prefix scan
        self.everything = "/" in self.prefixes

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.suffixes)

    def match(self, uri: str) -> bool:
        if self.everything and uri[:1] == "/":
            return True
        path = uri.partition("?")[0] if "?" in uri else uri
        return (bool(self.prefixes) and path.startswith(self.prefixes)) or (
            bool(self.suffixes) and path.endswith(self.suffixes))


class _Clock:
    """Local date and time strings, formatted at most once a second."""

    __slots__ = ("second", "date", "time")

    def __init__(self) -> None:
        self.second = -1
        self.date = self.time = ""

    def now(self) -> tuple[str, str]:
        t = int(time.time())
        if t != self.second:
            lt = time.localtime(t)
            self.second = t
            self.date = time.strftime("%Y.%m.%d", lt)
            self.time = time.strftime("%H:%M:%S", lt)
        return self.date, self.time


def open_destination(logpath: str | None) -> tuple[int, bool]:
    """(fd, owned): stdout, or ``<logpath>/request.log`` when logpath is a
    directory (the seeds' meaning), or logpath itself when it names a file."""
    if not logpath or logpath == "-":
        return 1, False
    p = Path(logpath)
    if p.is_dir() or not p.suffix:
        p.mkdir(parents=True, exist_ok=True)
        p = p / "request.log"
    else:
        p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(p), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return fd, True


class AccessLog:
    """Formats records and writes them buffered to a file descriptor."""

    def __init__(self, fd: int = 1, fmt: str = "text", worker: str = "W0",
                 log_off: Any = (), loop: Any = None, owned: bool = False) -> None:
        self.fd = fd
        self.owned = owned
        self.json = str(fmt).lower() == "json"
        self.worker = worker
        self.log_off = log_off if isinstance(log_off, LogOff) else LogOff(log_off)
        self.loop = loop
        self.buf: list[str] = []
        self.size = 0
        self.scheduled = False
        self.clock = _Clock()

    @classmethod
    def from_prefs(cls, prefs: Any, worker_id: int | str = 0, loop: Any = None) -> AccessLog:
        fd, owned = open_destination(getattr(prefs, "logpath", None))
        wid = worker_id if isinstance(worker_id, str) else f"W{worker_id}"
        return cls(fd, getattr(prefs, "log_format", "text") or "text", wid,
                   getattr(prefs, "log_off", ()) or (), loop, owned)

    def format(self, r: RequestRecord, active: int) -> str:
        date, tm = self.clock.now()
        if self.json:
            return json.dumps({
                "date": date, "time": tm, "client": r.client, "host": r.host,
                "method": r.method, "uri": r.uri, "version": r.version,
                "request_bytes": r.request_bytes, "status": r.status,
                "response_bytes": r.response_bytes, "gtxnid": r.gtxnid, "ltxnid": r.ltxnid,
                "user": r.user, "bearer": bool(r.bearer), "referer": r.referer,
                "user_agent": r.user_agent, "forwarded_for": r.forwarded_for,
                "worker": self.worker, "active_connections": active,
                "handling_ms": round(r.handling_ms, 3), "transfer_ms": round(r.transfer_ms, 3),
                "content_type": r.content_type, "protocol": r.protocol,
            }, ensure_ascii=False, separators=(",", ":")) + "\n"
        # every field that may come from the wire is escaped (cheap when clean):
        # a space or newline in a value must never shift or split the line
        responded = r.responded
        handling = (responded - r.started) * 1000.0 if responded else 0.0
        transfer = (r.finished - responded) * 1000.0 if responded and r.finished else 0.0
        host = r.host
        xff = r.forwarded_for
        ua = r.user_agent
        return (
            f"{date} {tm} {r.client or '-'} {_plain(host) if host else '-'} {_plain(r.method)} "
            f"{_plain(r.uri)} HTTP/{r.version} {r.request_bytes} {r.status} {r.response_bytes} "
            f"{_plain(r.gtxnid)} {_plain(r.ltxnid)} {_quote(r.user) if r.user else '-'} {'bearer' if r.bearer else '-'} "
            f"{_quote(r.referer) if r.referer else '-'} {_quote(ua) if ua else '-'} "
            f"{_plain(xff) if xff else '-'} "
            f"{self.worker} {active} {handling:.0f}ms {transfer:.0f}ms\n"
        )

    def log(self, r: RequestRecord, active: int) -> None:
        off = self.log_off
        if (off.prefixes or off.suffixes) and off.match(r.uri):
            return
        line = self.format(r.full(), active)
        self.buf.append(line)
        self.size += len(line)
        if self.size >= FLUSH_SIZE or self.loop is None:
            self.flush()
        elif not self.scheduled:
            # a short timer instead of every loop iteration: one write() carries the
            # lines of many requests under load, and a line is never older than this
            self.scheduled = True
            self.loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if not self.buf:
            return
        data = "".join(self.buf).encode("utf-8", "replace")
        self.buf.clear()
        self.size = 0
        try:
            while data:
                if len(data) <= PIPE_BUF:
                    piece, data = data, b""
                else:
                    cut = data.rfind(b"\n", 0, PIPE_BUF) + 1 or PIPE_BUF
                    piece, data = data[:cut], data[cut:]
                while piece:
                    n = os.write(self.fd, piece)
                    piece = piece[n:]
        except BlockingIOError:
            pass  # a non-blocking stdout that is full: drop rather than stall the loop
        except OSError:
            pass

    def close(self) -> None:
        self.flush()
        if self.owned:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.owned = False
