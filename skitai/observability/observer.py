"""The one place a finished request goes: access log and metrics.

Protocols call ``observer.request_done(record)`` exactly once per request;
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
        active = 0
        if ctx is not None:
            ctx.requests_served += 1
            active = ctx.active_connections
        if self.accesslog is not None:
            try:
                self.accesslog.log(record, active)
            except Exception:  # a log problem must never break a response
                log.exception("access log failed")
        if self.metrics is not None:
            try:
                self.metrics.observe(record)
            except Exception:
                log.exception("metrics observe failed")
        if ctx is not None and ctx.max_requests and ctx.requests_served >= ctx.max_requests:
            ctx.request_stop(3)

    def close(self) -> None:
        if self.accesslog is not None:
            self.accesslog.close()
