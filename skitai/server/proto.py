"""Small pieces shared by the HTTP/2 and WebSocket protocols.

The protocols take the worker's ``skitai.server.context.ServerContext``
(``app``, ``prefs``, ``worker_id``, ``observer``, ``register``/``unregister``,
``keep_alive``, ``request_timeout``, ``date_headers``) and use ``getattr``
with defaults, so any object with some of these attributes works in tests.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any
from urllib.parse import unquote

from skitai.observability.record import RequestRecord

log = logging.getLogger("skitai.server")

_conn_serial = itertools.count(1)

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}


def pref(prefs: Any, name: str, default: Any) -> Any:
    """``prefs.name`` if set (not None), else ``default``; prefs may be None or a dict."""
    if prefs is None:
        return default
    if isinstance(prefs, dict):
        v = prefs.get(name)
    else:
        v = getattr(prefs, name, None)
    return default if v is None else v


def next_connection_serial(ctx: Any) -> int:
    f = getattr(ctx, "next_connection_serial", None)
    if callable(f):
        return f()
    return next(_conn_serial)


def forget_connection(ctx: Any, conn: Any) -> None:
    """Take a closed connection out of the worker's books (drain and metrics count them)."""
    unregister = getattr(ctx, "unregister", None)
    if callable(unregister):
        unregister(conn)
        return
    conns = getattr(ctx, "connections", None)
    if conns is not None:
        conns.discard(conn)


def txn_ids(ctx: Any, headers: list, conn_serial: int, req_serial: int) -> tuple[str, str]:
    """(gtxnid, ltxnid): kept from X-Gtxnid/X-Ltxnid when sent, else a new pair."""
    g = l_ = None
    for k, v in headers:
        if k == b"x-gtxnid":
            g = v.decode("latin-1")
        elif k == b"x-ltxnid":
            l_ = v.decode("latin-1")
    if g:
        return g, l_ or "1000"
    return f"GTID-W{getattr(ctx, 'worker_id', 0)}-C{conn_serial}-R{req_serial}", "1000"


def split_target(target: bytes) -> tuple[str, bytes, bytes]:
    """``(path, raw_path, query_string)`` from a request target."""
    raw, _, qs = target.partition(b"?")
    try:
        path = unquote(raw.decode("latin-1"))
    except Exception:  # pragma: no cover - unquote does not raise on latin-1 text
        path = raw.decode("latin-1")
    return path, raw, qs


def skitai_extensions(ctx: Any, early_hints=None, http: bool = True, peer=None) -> dict:
    ext: dict = {
        "skitai": {
            "worker_id": getattr(ctx, "worker_id", 0),
            "prefs": getattr(ctx, "prefs", None),
            "early_hints": early_hints,
            "peer": peer,  # the socket's peer; scope["client"] may be the proxied client
        }
    }
    if http:
        ext["http.response.zerocopysend"] = {}
        ext["http.response.pathsend"] = {}
        if early_hints is not None:
            ext["http.response.early_hint"] = {}
    return ext


def make_record(**kw) -> RequestRecord:
    rec = RequestRecord()
    for k, v in kw.items():
        setattr(rec, k, v)
    return rec


_REPORTED = frozenset((b"host", b"referer", b"user-agent", b"x-forwarded-for", b"authorization"))


def report(ctx: Any, scope: dict, *, started: float, responded: float | None, status: int,
           request_bytes: int, response_bytes: int, protocol: str, version: str,
           content_type: str | None = None) -> None:
    """Fill one RequestRecord and give it to the observer (once per response).

    Hot path (once per HTTP/2 stream): direct slot stores, no kwargs dict or setattr loop.
    """
    observer = getattr(ctx, "observer", None)
    if observer is None:
        return
    hdrs = {}
    for k, v in scope.get("headers", ()):
        if k in _REPORTED:
            hdrs[k] = v.decode("latin-1")
    user, bearer = None, False
    auth = hdrs.get(b"authorization")
    if auth:
        if auth[:7].lower() == "bearer ":
            bearer = True
        elif auth[:6].lower() == "basic ":
            try:
                import base64
                user = base64.b64decode(auth[6:]).decode("utf-8", "replace").split(":", 1)[0]
            except Exception:
                user = None
    client = scope.get("client") or (None, None)
    qs = scope.get("query_string") or b""
    now = time.perf_counter()
    rec = RequestRecord.__new__(RequestRecord)
    rec.started = started
    rec.responded = responded or now
    rec.finished = now
    rec.client = client[0]
    rec.client_port = client[1]
    rec.host = hdrs.get(b"host")
    rec.method = scope.get("method", "GET")
    rec.uri = scope.get("raw_path", b"").decode("latin-1") + ("?" + qs.decode("latin-1") if qs else "")
    rec.version = version
    rec.request_bytes = request_bytes
    rec.status = status
    rec.response_bytes = response_bytes
    rec.gtxnid = scope.get("gtxnid")
    rec.ltxnid = scope.get("ltxnid")
    rec.user = user
    rec.bearer = bearer
    rec.referer = hdrs.get(b"referer")
    rec.user_agent = hdrs.get(b"user-agent")
    rec.forwarded_for = hdrs.get(b"x-forwarded-for")
    rec.mount = scope.get("root_path") or None
    rec.protocol = protocol
    rec.content_type = content_type
    try:
        observer.request_done(rec)
    except Exception:  # the access log must never break a response
        log.exception("observer failed")
