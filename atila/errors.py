"""HTTP errors a handler may raise, and status line parsing."""

from __future__ import annotations

import http
from typing import Any


def parse_status(status: str | int | http.HTTPStatus) -> tuple[int, str]:
    """``"201 Created"`` / ``201`` -> ``(201, "Created")``; the reason of a string is kept as given."""
    if isinstance(status, int):
        code = int(status)
        try:
            return code, http.HTTPStatus(code).phrase
        except ValueError:
            return code, ""
    text = str(status).strip()
    head, _, reason = text.partition(" ")
    try:
        code = int(head)
    except ValueError:
        raise ValueError(f"bad HTTP status {status!r}: expected like '404 Not Found'") from None
    if not 100 <= code <= 999:
        raise ValueError(f"bad HTTP status {status!r}")
    if not reason:
        try:
            reason = http.HTTPStatus(code).phrase
        except ValueError:
            reason = ""
    return code, reason.strip()


def looks_like_status(value: Any) -> bool:
    return (isinstance(value, str) and len(value) >= 3 and value[:3].isdigit()
            and (len(value) == 3 or value[3] == " "))


class HttpError(Exception):
    """Raise to answer with this status and a JSON error body.

    ``raise context.HttpError("404 Not Found", "no such document")``.
    ``code`` (an application error number, like the original ``errno``) and
    ``headers`` are optional.
    """

    def __init__(self, status: str | int = "500 Internal Server Error", detail: Any = None,
                 code: int | None = None, headers: list[tuple[str, str]] | None = None) -> None:
        self.status, self.reason = parse_status(status)
        self.detail = detail
        self.errno = code
        self.headers = list(headers or [])
        super().__init__(f"{self.status} {self.reason}" + (f": {detail}" if detail else ""))

    exc_info: Any = None  # set by ``response(status, exc_info=...)``: send this traceback even without debug


# The older name (``was.Error``) is the same class.
Error = HttpError


class NotModified(HttpError):
    """Raised by the cache helpers when the client copy is current."""

    def __init__(self, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(304, None, headers=headers)
