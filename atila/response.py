"""Response objects and the helpers a handler returns (API, File, Static, redirect).

A handler may return plain values (str, bytes, dict, list, None, generators);
the app turns them into a :class:`Response`. ``context.response`` is the
per-request Response that collects headers and cookies set before the
handler returns.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import os
import sys
import time
import traceback
from http.cookies import SimpleCookie
from typing import Any

from .errors import HttpError, NotModified, looks_like_status, parse_status

_NEVER = 100 * 365 * 24 * 3600


class FileBody:
    """A local file (or a byte range of it) to send."""

    __slots__ = ("path", "offset", "count", "whole")

    def __init__(self, path: str, offset: int, count: int, whole: bool = True) -> None:
        self.path = path
        self.offset = offset
        self.count = count
        self.whole = whole  # the whole file: may go out by pathsend (which knows no range)


class Response:
    """Status, headers and a body; callable as ``context.response(status, body, headers)``."""

    __slots__ = ("status", "reason", "headers", "body", "json", "explicit", "_request")

    def hint_promise(self, uri: str) -> None:
        """``was.response.hint_promise(uri)``: see ``Context.push`` (103 Early Hints)."""
        from .context import _add_hint
        _add_hint(self._request, uri)

    def __init__(self, status: int = 200, reason: str = "OK", request=None) -> None:
        self.status = status
        self.reason = reason
        self.headers: list[tuple[str, str]] = []
        self.body: Any = None
        self.json: Any = None  # an object to encode with the app's JSON settings
        self.explicit = False  # status set by the handler on purpose
        self._request = request

    # -- documented call form ------------------------------------------
    def __call__(self, status: str | int = "200 OK", body: Any = None,
                 headers: list[tuple[str, str]] | dict | None = None, exc_info=None) -> Response:
        self.set_status(status)
        if headers:
            self.set_headers(headers)
        self.body = body
        if self.status >= 400 and body is None:
            err = HttpError(f"{self.status} {self.reason}", headers=self._extra_headers())
            if exc_info is not None:
                err.exc_info = exc_info  # documented: the traceback goes out even when debug is off
            raise err
        return self

    def _extra_headers(self) -> list[tuple[str, str]]:
        return list(self.headers)

    # -- status ---------------------------------------------------------
    def set_status(self, status: str | int) -> None:
        self.status, self.reason = parse_status(status)
        self.explicit = True

    def get_status(self) -> str:
        return f"{self.status} {self.reason}"

    # -- headers --------------------------------------------------------
    def set_header(self, name: str, value: Any) -> None:
        self.del_header(name)
        self.headers.append((name, str(value)))

    def append_header(self, name: str, value: Any) -> None:
        self.headers.append((name, str(value)))

    def get_header(self, name: str, default: Any = None) -> Any:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return default

    def del_header(self, name: str) -> None:
        low = name.lower()
        if any(k.lower() == low for k, _ in self.headers):
            self.headers = [(k, v) for k, v in self.headers if k.lower() != low]

    def set_headers(self, headers) -> None:
        items = headers.items() if isinstance(headers, dict) else headers
        for k, v in items:
            self.set_header(k, v)

    def get_headers(self) -> list[tuple[str, str]]:
        return list(self.headers)

    __setitem__ = set_header
    __getitem__ = get_header
    __delitem__ = del_header

    # -- cookies --------------------------------------------------------
    def set_cookie(self, key: str, value: str, expires: int | str | None = None, path: str | None = None,
                   domain: str | None = None, secure: bool = False, http_only: bool = False,
                   samesite: str | None = None) -> None:
        """``expires``: seconds, None = session cookie, 0/'now' = delete, 'never' = +100 years."""
        c: SimpleCookie = SimpleCookie()
        c[key] = value
        m = c[key]
        if expires is not None:
            if expires in (0, "now"):
                secs = 0
            elif expires == "never":
                secs = _NEVER
            else:
                secs = int(expires)
            m["max-age"] = secs
            m["expires"] = email.utils.formatdate(time.time() + secs, usegmt=True)
        m["path"] = path or (self._request.root_path or "/" if self._request is not None else "/")
        if domain:
            m["domain"] = domain
        if secure:
            m["secure"] = True
        if http_only:
            m["httponly"] = True
        if samesite:
            m["samesite"] = samesite
        self.headers.append(("Set-Cookie", m.OutputString()))

    def delete_cookie(self, key: str, path: str | None = None, domain: str | None = None) -> None:
        self.set_cookie(key, "", expires=0, path=path, domain=domain)

    # -- cache helpers (answer 304 by raising) ---------------------------
    def set_etag(self, identifier: Any, max_age: int = 0, as_etag: bool = False) -> None:
        """Set ETag (from ``identifier``, hashed unless ``as_etag``); 304 if the client has it."""
        etag = str(identifier) if as_etag else hashlib.md5(str(identifier).encode()).hexdigest()
        tag = f'"{etag}"'
        self.set_header("ETag", tag)
        self._cache_control(max_age)
        req = self._request
        if req is not None:
            inm = req.get_header("if-none-match")
            if inm and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")]):
                raise NotModified(self._cache_headers())

    def set_mtime(self, mtime: float, length: int | None = None, max_age: int = 0) -> None:
        """Set Last-Modified; 304 if the client copy is not older."""
        self.set_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        self._cache_control(max_age)
        req = self._request
        if req is not None and req.get_header("if-none-match") is None:
            ims = req.get_header("if-modified-since")
            if ims:
                try:
                    since = email.utils.parsedate_to_datetime(ims).timestamp()
                except (TypeError, ValueError):
                    since = None
                if since is not None and int(mtime) <= int(since):
                    raise NotModified(self._cache_headers())

    def set_etag_mtime(self, identifier: Any, mtime: float, length: int | None = None,
                       max_age: int = 0, as_etag: bool = False) -> None:
        self.set_etag(identifier, max_age, as_etag)
        self.set_mtime(mtime, length, max_age)

    def _cache_control(self, max_age: int) -> None:
        if max_age:
            self.set_header("Cache-Control", f"max-age={int(max_age)}")
            self.set_header("Expires", email.utils.formatdate(time.time() + max_age, usegmt=True))

    def _cache_headers(self) -> list[tuple[str, str]]:
        keep = {"etag", "last-modified", "cache-control", "expires"}
        return [(k, v) for k, v in self.headers if k.lower() in keep]

    # -- error shortcuts -------------------------------------------------
    def throw(self, status: str | int = "500 Internal Server Error", detail: Any = None):
        raise HttpError(status, detail)

    def with_explain(self, status: str | int, detail: Any = None) -> HttpError:
        return HttpError(status, detail)

    def fault(self, msg: str = "", code: int = 20000, debug: Any = None, more_info: Any = None,
              exc_info: Any = None) -> Response:
        """Older JSON error body ``{"message", "code", "debug", "more_info"}`` with the current status."""
        data: dict[str, Any] = {"message": msg, "code": code, "debug": debug, "more_info": more_info}
        if exc_info:
            data["traceback"] = exc_info if isinstance(exc_info, list) else _tb_lines(exc_info)
        self.json = data
        self.body = None
        return self

    def traceback(self, msg: str = "", code: int = 10001, debug: str = "see traceback",
                  more_info: Any = None) -> Response:
        """JSON body describing the exception being handled (``except: return was.response.traceback()``);
        the status stays 200 as documented unless the handler set another."""
        info = sys.exc_info()
        data: dict[str, Any] = {"code": code, "message": msg or (str(info[1]) if info[1] else ""),
                                "debug": debug, "traceback": _tb_lines(info)}
        if more_info is not None:
            data["more_info"] = more_info
        self.json = data
        self.body = None
        return self


def _tb_lines(exc_info: Any) -> list[str]:
    """``["name 'aa' is not defined", "in file app.py at line 276, function search", ...]`` (seed format)."""
    etype, value, tb = exc_info
    if etype is None:
        return []
    out = [str(value) or etype.__name__]
    for fs in reversed(traceback.extract_tb(tb)):
        out.append(f"in file {fs.filename} at line {fs.lineno}, function {fs.name}")
    return out


# ---------------------------------------------------------------------------
# helpers a handler returns (exposed on the context)

def make_api(response: Response, *args: Any, **kwargs: Any) -> Response:
    """``API(status?, dict?, **kw)``: a JSON response; a leading status string sets the status."""
    args_l = list(args)
    if args_l and (looks_like_status(args_l[0]) or isinstance(args_l[0], int)):
        response.set_status(args_l.pop(0))
    data: dict = {}
    if args_l:
        first = args_l.pop(0)
        if isinstance(first, dict):
            data.update(first)
        elif first is not None:
            raise TypeError("API() takes an optional status, an optional dict and keyword arguments")
    if args_l:
        raise TypeError("API() takes an optional status, an optional dict and keyword arguments")
    data.update(kwargs)
    response.json = data
    response.body = None
    return response


def make_redirect(response: Response, url: str, status: str | int = "302 Found") -> Response:
    response.set_status(status)
    response.set_header("Location", url)
    response.body = b""
    return response


def _guess_type(path: str, mimetype: str | None) -> str:
    if mimetype:
        return mimetype
    t, enc = mimetypes.guess_type(path)
    return t or "application/octet-stream"


def make_file(response: Response, path: str, mimetype: str | None = None,
              filename: str | None = None) -> Response:
    """Stream a local file as is (no conditional headers)."""
    try:
        st = os.stat(path)
    except OSError:
        raise HttpError("404 Not Found", f"{os.path.basename(path)} not found") from None
    if not os.path.isfile(path):
        raise HttpError("404 Not Found", f"{os.path.basename(path)} is not a file")
    if response.get_header("content-type") is None:
        response.set_header("Content-Type", _guess_type(path, mimetype))
    if filename:
        response.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    response.body = FileBody(path, 0, st.st_size)
    return response


def make_static(response: Response, path: str, mimetype: str | None = None, max_age: int = 0) -> Response:
    """Serve a local file like a static server: ETag, Last-Modified, 304 and one byte Range."""
    try:
        st = os.stat(path)
    except OSError:
        raise HttpError("404 Not Found", f"{os.path.basename(path)} not found") from None
    if not os.path.isfile(path):
        raise HttpError("404 Not Found", f"{os.path.basename(path)} is not a file")
    etag = f"{int(st.st_mtime):x}-{st.st_size:x}"
    response.set_etag(etag, max_age=max_age, as_etag=True)
    response.set_mtime(st.st_mtime, st.st_size, max_age=max_age)
    response.set_header("Content-Type", _guess_type(path, mimetype))
    response.set_header("Accept-Ranges", "bytes")
    size = st.st_size
    req = response._request
    rng = req.get_header("range") if req is not None else None
    if rng and rng.startswith("bytes=") and "," not in rng:
        start_s, _, end_s = rng[6:].strip().partition("-")
        try:
            if start_s == "":
                length = int(end_s)
                start, end = max(size - length, 0), size - 1
            else:
                start = int(start_s)
                end = int(end_s) if end_s else size - 1
        except ValueError:
            start, end = 0, -1
        end = min(end, size - 1)
        if start > end or start >= size:
            raise HttpError("416 Range Not Satisfiable", headers=[("Content-Range", f"bytes */{size}")])
        response.set_status(206)
        response.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        response.body = FileBody(path, start, end - start + 1, whole=False)
        return response
    response.body = FileBody(path, 0, size)
    return response
