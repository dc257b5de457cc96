"""A small requests-like client on the standard library, shared by both test clients.

``BaseClient`` turns ``get/post/...`` calls with ``params=``, ``data=``,
``json=``, ``files=``, ``headers=`` and ``cookies=`` into one raw request,
keeps cookies across calls (``http.cookiejar``) and follows redirects like
requests does. Subclasses only implement ``_send()``: over a real socket with
``http.client`` (``HttpClient``) or in-process into an ASGI app
(``AsgiClient``). No runtime dependency beyond the standard library.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json as jsonlib
import os
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10


class Headers(Mapping[str, str]):
    """Case-insensitive response headers; repeated fields are joined with ", " (``get_all`` keeps them)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._pairs = [(str(k), str(v)) for k, v in pairs]

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def get_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self._pairs if k.lower() == low]

    def __iter__(self) -> Iterator[str]:
        seen = []
        for k, _ in self._pairs:
            if k.lower() not in seen:
                seen.append(k.lower())
        return iter(seen)

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._pairs})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def raw(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class HTTPError(Exception):
    def __init__(self, response: Response):
        super().__init__(f"{response.status_code} {response.reason} for {response.url}")
        self.response = response


class Response:
    """What a request returned: ``status_code``, ``headers``, ``content``, ``text``, ``json()``."""

    def __init__(self, status_code: int, headers: Iterable[tuple[str, str]], content: bytes, url: str,
                 reason: str = "", http_version: str = "HTTP/1.1", method: str = "GET"):
        self.status_code = status_code
        self.headers = Headers(headers)
        self.content = content
        self.url = url
        self.reason = reason or http.client.responses.get(status_code, "")
        self.http_version = http_version
        self.method = method
        self.history: list[Response] = []

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def encoding(self) -> str:
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return v.strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies this response set (name -> value)."""
        out = {}
        for line in self.headers.get_all("set-cookie"):
            pair = line.split(";", 1)[0]
            name, _, value = pair.partition("=")
            out[name.strip()] = value.strip()
        return out

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPError(self)

    def info(self) -> http.client.HTTPMessage:
        """The headers as an ``email.message`` object (what ``http.cookiejar`` reads)."""
        msg = http.client.HTTPMessage()
        for k, v in self.headers.raw():
            msg[k] = v
        return msg

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def _encode_query(params: Any) -> str:
    if params is None:
        return ""
    if isinstance(params, str | bytes):
        return params.decode() if isinstance(params, bytes) else params
    items = params.items() if isinstance(params, Mapping) else params
    return urllib.parse.urlencode(list(items), doseq=True)


def _file_part(value: Any, field: str) -> tuple[str, bytes, str]:
    """(filename, content, content type) from the forms requests accepts for files=."""
    ctype = None
    if isinstance(value, tuple):
        filename, content = value[0], value[1]
        if len(value) > 2:
            ctype = value[2]
    else:
        content = value
        filename = os.path.basename(getattr(value, "name", "") or field)
    if hasattr(content, "read"):
        content = content.read()
    if isinstance(content, str):
        content = content.encode()
    return filename or field, bytes(content), ctype or "application/octet-stream"


def encode_multipart(data: Mapping[str, Any] | None, files: Mapping[str, Any]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = bytearray()
    fields: list[tuple[str, Any]] = []
    for k, v in (data or {}).items():
        for item in (v if isinstance(v, list | tuple) else [v]):
            fields.append((k, item))
    for name, value in fields:
        if isinstance(value, str):
            value = value.encode()
        elif not isinstance(value, bytes):
            value = str(value).encode()
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    for name, value in files.items():
        filename, content, ctype = _file_part(value, name)
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n").encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def encode_body(data: Any = None, json: Any = None, files: Any = None) -> tuple[bytes, str | None]:
    """The request body and its content type for ``data=``/``json=``/``files=``."""
    if json is not None:
        return jsonlib.dumps(json).encode(), "application/json"
    if files:
        return encode_multipart(data, files)
    if data is None:
        return b"", None
    if isinstance(data, bytes):
        return data, None
    if isinstance(data, str):
        return data.encode(), None
    items = data.items() if isinstance(data, Mapping) else data
    return urllib.parse.urlencode(list(items), doseq=True).encode(), "application/x-www-form-urlencoded"


class BaseClient:
    """requests-like verbs; subclasses implement ``_send``."""

    def __init__(self, base_url: str, timeout: float = 30.0, headers: Mapping[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.cookies = http.cookiejar.CookieJar(
            http.cookiejar.DefaultCookiePolicy(rfc2965=False, strict_domain=False))

    # subclass hook
    def _send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
              timeout: float) -> Response:
        raise NotImplementedError

    def url_for(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        if not url.startswith("/"):
            url = "/" + url
        return self.base_url + url

    def request(self, method: str, url: str, *, params: Any = None, data: Any = None, json: Any = None,
                files: Any = None, headers: Mapping[str, str] | None = None,
                cookies: Mapping[str, str] | None = None, allow_redirects: bool | None = None,
                timeout: float | None = None) -> Response:
        method = method.upper()
        full = self.url_for(url)
        query = _encode_query(params)
        if query:
            full += ("&" if urllib.parse.urlsplit(full).query else "?") + query
        body, ctype = encode_body(data, json, files)
        hdrs: dict[str, str] = {}
        if ctype:
            hdrs["Content-Type"] = ctype
        hdrs.update(self.headers)
        hdrs.update(headers or {})
        if allow_redirects is None:
            allow_redirects = method != "HEAD"
        history: list[Response] = []
        while True:
            resp = self._one(method, full, hdrs, body, cookies, timeout or self.timeout)
            if not (allow_redirects and resp.status_code in REDIRECTS and "location" in resp.headers):
                break
            if len(history) >= MAX_REDIRECTS:
                break
            history.append(resp)
            full = urllib.parse.urljoin(full, resp.headers["location"])
            if resp.status_code in (301, 302, 303) and method != "HEAD":
                method, body = "GET", b""
                hdrs = {k: v for k, v in hdrs.items() if k.lower() != "content-type"}
        resp.history = history
        return resp

    def _one(self, method: str, url: str, hdrs: Mapping[str, str], body: bytes,
             cookies: Mapping[str, str] | None, timeout: float) -> Response:
        req = urllib.request.Request(url, method=method, headers=dict(hdrs))
        self.cookies.add_cookie_header(req)
        header_list = [(k, v) for k, v in req.header_items()]
        if cookies:
            extra = "; ".join(f"{k}={v}" for k, v in cookies.items())
            merged = False
            for i, (k, v) in enumerate(header_list):
                if k.lower() == "cookie":
                    header_list[i] = (k, v + "; " + extra)
                    merged = True
            if not merged:
                header_list.append(("Cookie", extra))
        resp = self._send(method, url, header_list, body, timeout)
        self.cookies.extract_cookies(resp, req)  # type: ignore[arg-type]
        return resp

    # positional parameters as in requests: get(url, params), post(url, data, json), put/patch(url, data)
    def get(self, url: str, params: Any = None, **kw: Any) -> Response:
        return self.request("GET", url, params=params, **kw)

    def post(self, url: str, data: Any = None, json: Any = None, **kw: Any) -> Response:
        return self.request("POST", url, data=data, json=json, **kw)

    def put(self, url: str, data: Any = None, **kw: Any) -> Response:
        return self.request("PUT", url, data=data, **kw)

    def patch(self, url: str, data: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", url, data=data, **kw)

    def delete(self, url: str, **kw: Any) -> Response:
        return self.request("DELETE", url, **kw)

    def options(self, url: str, **kw: Any) -> Response:
        return self.request("OPTIONS", url, **kw)

    def head(self, url: str, **kw: Any) -> Response:
        return self.request("HEAD", url, **kw)


class HttpClient(BaseClient):
    """Talks to a real server over one kept-alive ``http.client`` connection."""

    def __init__(self, base_url: str, timeout: float = 30.0, headers: Mapping[str, str] | None = None):
        super().__init__(base_url, timeout, headers)
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def _conn(self, scheme: str, host: str, port: int, timeout: float, fresh: bool):
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is not None and fresh:
            conn.close()
            conn = None
        if conn is None:
            if scheme == "https":
                import ssl

                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._conns[key] = conn
        conn.timeout = timeout
        return conn

    def _send(self, method, url, headers, body, timeout):
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme or "http"
        port = parts.port or (443 if scheme == "https" else 80)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in (0, 1):
            conn = self._conn(scheme, parts.hostname or "127.0.0.1", port, timeout, fresh=False)
            reused = conn.sock is not None
            try:
                conn.putrequest(method, target, skip_accept_encoding=True)
                names = {k.lower() for k, _ in headers}
                for k, v in headers:
                    conn.putheader(k, v)
                if body or method in ("POST", "PUT", "PATCH"):
                    if "content-length" not in names:
                        conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                r = conn.getresponse()
                content = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                conn.close()
                self._conns.pop((scheme, parts.hostname or "127.0.0.1", port), None)
                if attempt == 0 and reused:
                    continue  # the server closed an idle keep-alive connection: retry once
                raise
            if r.will_close:
                conn.close()
                self._conns.pop((scheme, parts.hostname or "127.0.0.1", port), None)
            version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(r.version, "HTTP/1.1")
            return Response(r.status, r.getheaders(), content, url, r.reason, version, method)
        raise RuntimeError("unreachable")  # pragma: no cover

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
