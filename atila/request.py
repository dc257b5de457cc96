"""The request object (``context.request``).

Everything derived from the raw ASGI scope (headers dict, cookies, query,
form, JSON) is computed on first access and cached, so a request that only
needs its path pays for nothing else.
"""

from __future__ import annotations

import ipaddress
import json
from http.cookies import CookieError, SimpleCookie
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

from .errors import HttpError
from .multipart import parse_multipart

_UNSET: Any = object()


def parse_query(qs: bytes) -> dict[str, Any]:
    """Query string -> dict (duplicates become lists); plain ASCII skips the percent-decoder."""
    try:
        if b"%" in qs or b"+" in qs:
            return merge_pairs(parse_qsl(qs.decode("utf-8"), keep_blank_values=True, errors="strict"))
        out: dict[str, Any] = {}
        for part in qs.decode("utf-8").split("&"):
            if not part:
                continue
            k, _, v = part.partition("=")
            if k in out:
                cur = out[k]
                if isinstance(cur, list):
                    cur.append(v)
                else:
                    out[k] = [cur, v]
            else:
                out[k] = v
        return out
    except UnicodeDecodeError:
        raise HttpError("400 Bad Request", "query string is not UTF-8") from None


def merge_pairs(pairs) -> dict[str, Any]:
    """Duplicated names become lists of values."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            cur = out[k]
            if isinstance(cur, list):
                cur.append(v)
            else:
                out[k] = [cur, v]
        else:
            out[k] = v
    return out


class Params(dict):
    """``request.ARGS`` / ``request.args``: a dict that also reads as attributes
    (``was.request.args.limit``, as the URL building docs use it); a missing name reads as None."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)


class Headers(dict):
    """Lower-cased header names; ``get`` is case-insensitive."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)


class Request:
    __slots__ = ("scope", "receive", "path", "method", "root_path", "app", "_headers", "_body",
                 "_query", "_form", "_json", "_data", "_cookies", "_args", "PARAMS", "DEFAULT",
                 "routed", "routable", "_g")

    def __init__(self, scope: dict, receive, path: str, app) -> None:
        self.scope = scope
        self.receive = receive
        self.path = path
        self.method: str = scope["method"]
        self.root_path: str = scope.get("root_path", "")
        self.app = app
        self._headers = None
        self._body: bytes | None = None
        self._query = None
        self._form = _UNSET
        self._json = _UNSET
        self._data = _UNSET
        self._cookies = None
        self._args = None
        self.PARAMS: dict[str, Any] = {}
        self.DEFAULT: dict[str, Any] = {}
        self.routed = None
        self.routable = None
        self._g = None

    @property
    def g(self) -> SimpleNamespace:
        """A per-request namespace for hooks and handlers (``context.request.g.user = ...``)."""
        g = self._g
        if g is None:
            g = self._g = SimpleNamespace()
        return g

    @property
    def user(self) -> Any:
        """The authenticated user, set by an authentication hook (None until then)."""
        g = self._g
        return getattr(g, "user", None) if g is not None else None

    @user.setter
    def user(self, value: Any) -> None:
        self.g.user = value

    @property
    def JWT(self) -> dict:
        """Claims of the ``Authorization: Bearer`` JWT signed with ``app.securekey`` (HS256); on any
        failure a dict with an ``"err"`` key, as documented. Decoded once per request."""
        g = self.g
        claims = getattr(g, "_jwt", None)
        if claims is None:
            claims = g._jwt = _decode_jwt(self.headers.get("authorization"), getattr(self.app, "securekey", None))
        return claims

    # -- basic members ---------------------------------------------------
    @property
    def command(self) -> str:
        return self.method.lower()

    @property
    def version(self) -> str:
        """``1.0``, ``1.1``, ``2.0`` (ASGI says "2"; the docs list "2.0", "3.0")."""
        v = self.scope.get("http_version", "1.1")
        return v + ".0" if len(v) == 1 else v

    @property
    def scheme(self) -> str:
        return self.scope.get("scheme", "http")

    @property
    def env(self) -> dict:
        """A WSGI-style environ (``"HTTP_USER_AGENT" in request.env``, ``env.get("CONTENT_TYPE")``), as the
        docs describe; the ASGI scope is ``env["asgi.scope"]``. Built on first use and kept in the scope, so
        requests that never read it pay nothing."""
        env = self.scope.get("atila.environ")
        if env is None:
            env = self.scope["atila.environ"] = _environ(self.scope)
        return env

    @property
    def query_string(self) -> str:
        return self.scope.get("query_string", b"").decode("latin-1")

    @property
    def uri(self) -> str:
        raw = self.scope.get("raw_path")
        p = raw.decode("latin-1") if raw else self.scope["path"]
        qs = self.scope.get("query_string")
        return f"{p}?{qs.decode('latin-1')}" if qs else p

    def split_uri(self) -> tuple[str, None, str | None, None]:
        qs = self.query_string
        return self.scope["path"], None, qs or None, None

    @property
    def headers(self) -> Headers:
        h = self._headers
        if h is None:
            h = Headers()
            for k, v in self.scope["headers"]:
                name = k.decode("latin-1").lower()
                val = v.decode("latin-1")
                if name in h:
                    h[name] = h[name] + ("; " if name == "cookie" else ", ") + val
                else:
                    h[name] = val
            self._headers = h
        return h

    def get_header(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)

    def get_headers(self) -> Headers:
        return self.headers

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def get_content_type(self) -> str | None:
        ct = self.content_type
        return ct.split(";", 1)[0].strip().lower() if ct else None

    def get_main_type(self) -> str | None:
        ct = self.get_content_type()
        return ct.split("/", 1)[0] if ct else None

    def get_sub_type(self) -> str | None:
        ct = self.get_content_type()
        return ct.split("/", 1)[-1] if ct else None

    @property
    def acceptables(self) -> dict[str, dict[str, str]]:
        """``Accept`` parsed: ``{"text/html": {"q": "0.9"}, ...}``."""
        out: dict[str, dict[str, str]] = {}
        for item in (self.headers.get("accept") or "").split(","):
            parts = [p.strip() for p in item.split(";")]
            if not parts[0]:
                continue
            params = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                params[k.strip()] = v.strip()
            out[parts[0].lower()] = params
        return out

    def acceptable(self, media: str) -> bool:
        """True when the client accepts ``media`` (wildcards count; no Accept accepts all)."""
        acc = self.acceptables
        if not acc:
            return True
        media = media.lower()
        main = media.split("/", 1)[0]
        for m in (media, f"{main}/*", "*/*"):
            params = acc.get(m)
            if params is not None and params.get("q", "1") not in ("0", "0.0", "0.00", "0.000"):
                return True
        return False

    def get_user_agent(self) -> str | None:
        return self.headers.get("user-agent")

    def get_scheme(self) -> str:
        return self.scheme

    @property
    def gtxnid(self) -> str | None:
        return self.scope.get("gtxnid") or self.headers.get("x-gtxnid")

    @property
    def ltxnid(self) -> str | None:
        return self.scope.get("ltxnid") or self.headers.get("x-ltxnid")

    # -- client address ----------------------------------------------------
    def get_remote_addr(self) -> str | None:
        """The client address; X-Forwarded-For is believed only from trusted proxies.

        Under Skitai the engine has already resolved ``scope["client"]`` with its
        ``trusted_proxies`` and keeps the socket's peer in
        ``extensions["skitai"]["peer"]``: without an ``app.trusted_proxies`` of its
        own Atila takes the engine's answer (walking X-Forwarded-For again from
        an already-resolved client would trust the wrong hop); with one, it walks
        from the real peer with its own list.
        """
        client = self.scope.get("client")
        ext = self.scope.get("extensions")
        sk = ext.get("skitai") if isinstance(ext, dict) else None
        if isinstance(sk, dict) and "peer" in sk:
            if self.app.trusted_proxies is None:
                return client[0] if client else None
            client = sk["peer"]
        peer = client[0] if client else None
        xff = self.headers.get("x-forwarded-for")
        if not xff or peer is None:
            return peer
        trusted = self.app._trusted_networks(self.scope)
        if not _in_networks(peer, trusted):
            return peer
        hops = [h.strip() for h in xff.split(",") if h.strip()]
        # walk from the nearest hop; the first untrusted address is the client
        for hop in reversed(hops):
            if not _in_networks(hop, trusted):
                return hop
        return hops[0] if hops else peer

    # -- cookies -----------------------------------------------------------
    @property
    def cookies(self) -> dict[str, str]:
        c = self._cookies
        if c is None:
            c = {}
            raw = self.headers.get("cookie")
            if raw:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(raw)
                except CookieError:
                    for part in raw.split(";"):
                        k, sep, v = part.strip().partition("=")
                        if sep:
                            c[k] = v
                for k, m in jar.items():
                    c[k] = m.value
            self._cookies = c
        return c

    cookie = cookies

    # -- body ---------------------------------------------------------------
    async def _read_body(self, limit: int) -> bytes:
        chunks = []
        size = 0
        receive = self.receive
        while True:
            msg = await receive()
            t = msg["type"]
            if t == "http.disconnect":
                raise ConnectionAbortedError("client disconnected while sending the body")
            b = msg.get("body", b"")
            if b:
                size += len(b)
                if limit and size > limit:
                    raise HttpError("413 Payload Too Large", f"request body exceeds {limit} bytes")
                chunks.append(b)
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        self._body = body
        return body

    @property
    def body(self) -> bytes:
        return self._body or b""

    def get_body(self) -> bytes:
        return self.body

    def json(self) -> Any:
        """The JSON body decoded (None when there is no JSON body)."""
        j = self._json
        if j is _UNSET:
            j = None
            if self._body and (self.get_content_type() or "").endswith("json"):
                try:
                    j = json.loads(self._body)
                except ValueError as e:
                    raise HttpError("400 Bad Request", f"invalid JSON body: {e}") from None
            self._json = j
        return j

    def form(self) -> dict[str, Any]:
        """urlencoded or multipart form fields (file fields are UploadedFile objects)."""
        f = self._form
        if f is _UNSET:
            f = {}
            ct = self.get_content_type()
            if self._body:
                if ct == "application/x-www-form-urlencoded":
                    try:
                        pairs = parse_qsl(self._body.decode("utf-8"), keep_blank_values=True)
                    except UnicodeDecodeError:
                        raise HttpError("400 Bad Request", "form body is not UTF-8") from None
                    f = merge_pairs(pairs)
                elif ct == "multipart/form-data":
                    f = merge_pairs(parse_multipart(self._body, self.content_type or ""))
            self._form = f
        return f

    def dict(self) -> dict[str, Any]:
        d = self.DATA
        return d if isinstance(d, dict) else {}

    # -- parameter groups ------------------------------------------------------
    @property
    def URL(self) -> dict[str, Any]:
        q = self._query
        if q is None:
            qs = self.scope.get("query_string")
            q = parse_query(qs) if qs else {}
            self._query = q
        return q

    @property
    def FORM(self) -> dict[str, Any]:
        return self.form()

    @property
    def JSON(self) -> Any:
        j = self.json()
        return j if j is not None else {}

    @property
    def DATA(self) -> Any:
        d = self._data
        if d is _UNSET:
            ct = self.get_content_type() or ""
            d = self.JSON if ct.endswith("json") else self.FORM
            self._data = d
        return d

    @property
    def ARGS(self) -> dict[str, Any]:
        """Defaults < query string < body (form or JSON object) < URL path parameters."""
        a = self._args
        if a is None:
            a = Params(self.DEFAULT)
            a.update(self.URL)
            if self._body:
                data = self.DATA
                if isinstance(data, dict):
                    a.update(data)
            a.update(self.PARAMS)
            self._args = a
        return a

    @property
    def args(self) -> dict[str, Any]:
        return self.ARGS

    @property
    def data(self) -> Any:
        """Former name of ``DATA``."""
        return self.DATA

    @property
    def routed_function(self) -> Any:
        """[000] name of ``routed``."""
        return self.routed


def _in_networks(addr: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def _environ(scope: dict) -> dict:
    """PEP 3333 names for an ASGI http scope (request.env)."""
    server = scope.get("server") or ("", 0)
    client = scope.get("client") or ("", 0)
    root = scope.get("root_path", "")
    path = scope.get("path", "")
    env: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": root,
        "PATH_INFO": path[len(root):] if root and path.startswith(root) else path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "SERVER_NAME": str(server[0] or ""),
        "SERVER_PORT": str(server[1] or ""),
        "REMOTE_ADDR": str(client[0] or ""),
        "REMOTE_PORT": str(client[1] or ""),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "asgi.scope": scope,
    }
    raw = scope.get("raw_path")
    env["REQUEST_URI"] = (raw.decode("latin-1") if raw else path) + (
        "?" + env["QUERY_STRING"] if env["QUERY_STRING"] else "")
    for k, v in scope.get("headers", ()):
        name = k.decode("latin-1").upper().replace("-", "_")
        value = v.decode("latin-1")
        if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
            env[name] = value
            continue
        key = "HTTP_" + name
        if key in env:
            value = env[key] + ("; " if name == "COOKIE" else ",") + value
        env[key] = value
    for key in ("gtxnid", "ltxnid"):
        if key in scope:
            env["skitai." + key] = scope[key]
    return env


def _decode_jwt(authorization: str | None, key: str | None) -> dict:
    if not authorization or not authorization[:7].lower() == "bearer ":
        return {"err": "no bearer token"}
    if not key:
        return {"err": "app.securekey is not set"}
    try:
        import jwt
    except ImportError:  # pragma: no cover - PyJWT is a dependency
        return {"err": "PyJWT is not installed"}
    try:
        claims = jwt.decode(authorization[7:].strip(), key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        return {"err": "token expired"}
    except jwt.InvalidTokenError as e:
        return {"err": f"invalid token: {e}"}
    return claims if isinstance(claims, dict) else {"err": "invalid token"}
