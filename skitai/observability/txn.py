"""Transaction ids: gtxnid (global, follows a call through every backend) and
ltxnid (local: first digit = call depth, rest = sequence).

Incoming headers are ``X-Gtxnid`` and ``X-Ltxnid``. Values from the wire are
only kept when they look like ids (short, printable, no spaces) so a client
cannot inject text into the access log through them.
"""

from __future__ import annotations

import re

GTXNID_HEADER = b"x-gtxnid"
LTXNID_HEADER = b"x-ltxnid"
ROOT_LTXNID = "1000"

_VALID = re.compile(rb"[!#-~]{1,128}\Z")  # visible ASCII except '"', no space


def new_gtxnid(worker_id: int | str, conn_serial: int, req_serial: int) -> str:
    """``GTID-W<worker>-C<connection>-R<request>``: unique per worker process."""
    return f"GTID-W{worker_id}-C{conn_serial}-R{req_serial}"


def valid_id(value: bytes | None) -> str | None:
    """The header value as str when it is an acceptable id, else None."""
    if value and _VALID.match(value):
        return value.decode("ascii")
    return None


def resolve(gtxn: bytes | None, ltxn: bytes | None, worker_id: int | str,
            conn_serial: int, req_serial: int) -> tuple[str, str]:
    """The (gtxnid, ltxnid) pair for an incoming request.

    A request carrying a valid gtxnid keeps it together with its ltxnid (or
    ``1000`` when the ltxnid is missing or invalid); otherwise a new gtxnid
    and ltxnid ``1000``.
    """
    g = valid_id(gtxn) if gtxn else None
    if g is None:
        return new_gtxnid(worker_id, conn_serial, req_serial), ROOT_LTXNID
    lt = valid_id(ltxn) if ltxn else None
    return g, (lt if lt is not None and lt.isdigit() else ROOT_LTXNID)


class ChildLtxnids:
    """Child ltxnids for backend calls made while handling one request.

    The seeds: a request at ltxnid 1000 calls APIs as 2001, 2002; 2001 calls
    its sub API as 3002 and 2002 as 3003. So the child of ``<d><seq>`` is
    ``<d+1><seq + n>`` where n counts the calls made so far (starting at 1).
    """

    __slots__ = ("depth", "seq", "calls")

    def __init__(self, ltxnid: str) -> None:
        if not ltxnid.isdigit() or len(ltxnid) < 2:
            ltxnid = ROOT_LTXNID
        self.depth = int(ltxnid[0])
        self.seq = int(ltxnid[1:])
        self.calls = 0

    def next(self) -> str:
        self.calls += 1
        return f"{self.depth + 1}{self.seq + self.calls:03d}"
