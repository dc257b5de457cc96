"""The one place a finished request goes: access log and metrics.

Protocols call ``observer.request_done(record)`` exactly once per request (a
RequestRecord, or a lighter object with its metric fields and ``full()``, see
record.py);
nothing else on the hot path touches logging or metrics.
"""

from __future__ import annotations

import logging
from typing import Any

from .accesslog import AccessLog
from .record import RequestRecord

log = logging.getLogger("skitai.server")


class Observer:
    def __init__(self, ctx: Any = None, accesslog: AccessLog | None = None, metrics: Any = None) -> None:
        self.ctx = ctx
        self.accesslog = accesslog
        self.metrics = metrics  # anything with .observe(record); set by the metrics hook

    def request_done(self, record: RequestRecord) -> None:
        ctx = self.ctx
        accesslog = self.accesslog
        if accesslog is not None and not (accesslog.log_off.everything and record.uri[:1] == "/"):
            try:
                accesslog.log(record, ctx.active_connections if ctx is not None else 0)
            except Exception:  # a log problem must never break a response
                log.exception("access log failed")
        metrics = self.metrics
        if metrics is not None:
            try:
                metrics.observe(record)
            except Exception:
                log.exception("metrics observe failed")
        if ctx is not None:
            ctx.requests_served += 1
            if ctx.max_requests and ctx.requests_served >= ctx.max_requests:
                ctx.request_stop(3)

    def close(self) -> None:
        if self.accesslog is not None:
            self.accesslog.close()
