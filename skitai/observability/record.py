"""One finished request, as the protocols hand it to the observer.

A plain ``__slots__`` class (no dataclass machinery) because one is built for
every request on the hot path; the observer turns it into a log line and
metrics samples. Field meanings are the contract in docs/architecture.md.
"""

from __future__ import annotations


class RequestRecord:
    __slots__ = (
        "started", "responded", "finished", "client", "client_port", "host",
        "method", "uri", "version", "request_bytes", "status", "response_bytes",
        "gtxnid", "ltxnid", "user", "bearer", "referer", "user_agent",
        "forwarded_for", "mount", "protocol", "content_type",
    )

    def __init__(self) -> None:
        self.started = self.responded = self.finished = 0.0
        self.client = None
        self.client_port = None
        self.host = None
        self.method = "-"
        self.uri = "-"
        self.version = "1.1"
        self.request_bytes = 0
        self.status = 0
        self.response_bytes = 0
        self.gtxnid = "-"
        self.ltxnid = "-"
        self.user = None
        self.bearer = False
        self.referer = None
        self.user_agent = None
        self.forwarded_for = None
        self.mount = None
        self.protocol = "http/1.1"
        self.content_type = None

    @property
    def handling_ms(self) -> float:
        """Time from the parsed request head to the response head."""
        return max(0.0, (self.responded - self.started) * 1000.0) if self.responded else 0.0

    @property
    def transfer_ms(self) -> float:
        """Time from the response head to the last byte handed to the socket."""
        if not self.responded or not self.finished:
            return 0.0
        return max(0.0, (self.finished - self.responded) * 1000.0)

    def full(self) -> RequestRecord:
        """The complete record. Protocols may hand the observer a lighter object
        with the fields metrics read (uri, method, mount, status, started,
        responded, finished, request_bytes, response_bytes) and ``full()``;
        the access log calls ``full()`` only for a line it really writes."""
        return self

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"<RequestRecord {self.method} {self.uri} {self.status} {self.gtxnid}/{self.ltxnid}>"
