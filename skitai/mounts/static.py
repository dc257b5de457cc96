"""Static directories as an ASGI app.

Rules (documented in README "Static directories"):

- GET and HEAD only (others: 405). Directories serve their ``index.html``;
  a directory asked for without a trailing slash is redirected (301) to it.
- No path ever leaves the root: ``..`` segments (also when sent as
  ``%2e%2e``), encoded slashes or backslashes (``%2f``, ``%5c``), NUL bytes
  and symlinks resolving outside the root all answer 404.
- ``ETag`` (strong, from size + mtime) and ``Last-Modified``; ``304`` on a
  matching ``If-None-Match`` (weak comparison), else on ``If-Modified-Since``.
- ``Range: bytes=a-b`` / ``a-`` / ``-n`` -> 206; unsatisfiable -> 416 with
  ``Content-Range: bytes */size``; several ranges -> 200 with the whole file;
  ``If-Range`` that does not match -> 200.
- ``max_age``: an int for the whole mount, or a dict ``{path prefix: seconds}``
  (prefix relative to the mount point, longest wins) -> ``Cache-Control:
  max-age=N`` and ``Expires``.
- Precompressed files: ``x.js.br`` / ``x.js.gz`` next to ``x.js`` are sent
  (with ``Content-Encoding`` and ``Vary: Accept-Encoding``) when the client
  accepts br / gzip.
- Bodies larger than ``SMALL`` use the server's ``http.response.pathsend`` /
  ``http.response.zerocopysend`` extension when offered, else 64 KiB reads.
"""

from __future__ import annotations

import email.utils
import functools
import mimetypes
import os
import stat
import time
from typing import Any
from urllib.parse import quote

SMALL = 64 * 1024
CHUNK = 64 * 1024

_TYPES = {
    ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
    ".json": "application/json", ".svg": "image/svg+xml", ".wasm": "application/wasm",
    ".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".xml": "application/xml",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".ico": "image/x-icon", ".woff": "font/woff", ".woff2": "font/woff2",
    ".map": "application/json", ".pdf": "application/pdf", ".mp4": "video/mp4",
    ".webmanifest": "application/manifest+json",
}
_TEXTUAL = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml",
            "application/manifest+json")


def content_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    ctype = _TYPES.get(ext) or mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    if ctype.startswith(_TEXTUAL) and "charset" not in ctype:
        ctype += "; charset=utf-8"
    return ctype


_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def _accepts(header: str, coding: str) -> bool:
    """Whether Accept-Encoding allows ``coding`` (q=0 refuses; ``*`` counts)."""
    star = False
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if name.strip() == coding:
            return q > 0
        if name.strip() == "*":
            star = q > 0
    return star


def _plain(status: int, text: str, extra: list | None = None) -> tuple[int, list, bytes]:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    return status, headers + (extra or []), body


@functools.lru_cache(maxsize=256)
def http_date(seconds: int) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag[2:] if etag.startswith("W/") else etag
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == bare:
            return True
    return False


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """One byte range -> (start, end inclusive); None = ignore (serve 200); "416" = unsatisfiable."""
    header = header.strip()
    if not header.lower().startswith("bytes="):
        return None
    spec = header[6:].strip()
    if "," in spec:
        return None  # multi-range: answered with the whole file
    first, sep, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if not sep or (first and not first.isdigit()) or (last and not last.isdigit()) or (not first and not last):
        return None
    if not first:  # suffix: last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "416"
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignore
    if start >= size:
        return "416"
    return start, min(end, size - 1)


def _header(scope: dict, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


class StaticFiles:
    """ASGI app serving one directory; ``resolve`` is also used to share a mount point with an app."""

    def __init__(self, root: str, max_age: int | dict | None = None, index: str = "index.html",
                 precompressed: bool = True):
        self.precompressed = precompressed
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(root)
        self.index = index
        if isinstance(max_age, dict):
            self.max_age_rules = sorted(((("/" + k.strip("/")).rstrip("/") or "/", int(v))
                                         for k, v in max_age.items()), key=lambda kv: -len(kv[0]))
            self.max_age_default = None
        else:
            self.max_age_rules = []
            self.max_age_default = None if max_age is None else int(max_age)
        self.global_max_age: list[tuple[str, int]] = []  # URL-path rules from skitai.set_max_age

    def __repr__(self) -> str:
        return f"StaticFiles({self.root!r})"

    # -- path safety ------------------------------------------------------
    def _relative(self, scope: dict) -> str | None:
        """The request path below the mount point, or None when it is unsafe."""
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        rel = path[len(root_path):] if path.startswith(root_path) else path
        raw = scope.get("raw_path")
        if raw:
            low = raw.lower()
            if b"%2f" in low or b"%5c" in low or b"%00" in low:
                return None
        if "\x00" in rel or "\\" in rel:
            return None
        for seg in rel.split("/"):
            if seg == ".." or seg == ".":
                return None
        return rel

    def _inside(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """Path and stat of root/parts, or None if missing or (through a symlink) outside the root.

        One lstat per component below the root; only a symlink on the way
        costs a full realpath.
        """
        root = self.root
        path = root
        st = None
        for i, part in enumerate(parts):
            path = path + os.sep + part
            try:
                st = os.lstat(path)
            except (OSError, ValueError):
                return None
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(os.sep.join([path, *parts[i + 1:]]))
                if real != root and not real.startswith(root + os.sep):
                    return None  # a symlink pointing outside the root
                try:
                    return real, os.stat(real)
                except (OSError, ValueError):
                    return None
        if st is None:
            try:
                st = os.stat(root)
            except OSError:
                return None
        return path, st

    def resolve(self, scope: dict) -> tuple[str, str, os.stat_result] | None:
        """(fs path, rel path, stat) of a regular file the request names, or None."""
        rel = self._relative(scope)
        if rel is None:
            return None
        parts = [p for p in rel.split("/") if p]
        found = self._inside(parts)
        if found is None:
            return None
        target, st = found
        if stat.S_ISDIR(st.st_mode):
            found = self._inside([*parts, self.index])
            if found is None or not stat.S_ISREG(found[1].st_mode):
                return None
            return found[0], rel, found[1]
        if not stat.S_ISREG(st.st_mode):
            return None
        return target, rel, st

    def max_age_for(self, rel: str, full: str) -> int | None:
        rel = rel or "/"
        for prefix, seconds in self.max_age_rules:
            if prefix == "/" or rel == prefix or rel.startswith(prefix + "/"):
                return seconds
        if self.max_age_default is not None:
            return self.max_age_default
        for prefix, seconds in self.global_max_age:
            if prefix == "/" or full == prefix or full.startswith(prefix + "/"):
                return seconds
        return None

    # -- ASGI ---------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await self._reply(send, *_plain(405, "Method Not Allowed\n", [(b"allow", b"GET, HEAD")]), method)
            return
        found = self.resolve(scope)
        if found is None:
            await self._reply(send, *_plain(404, "Not Found\n"), method)
            return
        fspath, rel, st = found
        if os.path.basename(fspath) == self.index and os.path.isdir(os.path.join(self.root, rel.lstrip("/"))) \
                and not scope.get("path", "").endswith("/"):
            location = quote(scope.get("path", "") + "/", safe="/:@!$&'()*+,;=-._~")
            qs = scope.get("query_string", b"")
            if qs:
                location += "?" + qs.decode("latin-1")
            await self._reply(send, *_plain(301, "Moved Permanently\n", [(b"location", location.encode("latin-1"))]),
                              method)
            return
        await self._serve(scope, send, method, fspath, rel, st)

    async def _reply(self, send: Any, status: int, headers: list, body: bytes, method: str) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    def _variant(self, scope: dict, fspath: str) -> tuple[str, str | None, bool]:
        """(path to send, Content-Encoding, whether variants exist) for precompressed files."""
        if not self.precompressed:
            return fspath, None, False
        found = []
        for encoding, suffix in _ENCODINGS:
            candidate = fspath + suffix
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and os.path.realpath(candidate).startswith(self.root + os.sep):
                found.append((encoding, candidate))
        if not found:
            return fspath, None, False
        accept = _header(scope, b"accept-encoding") or ""
        for encoding, candidate in found:
            if _accepts(accept, encoding):
                return candidate, encoding, True
        return fspath, None, True

    async def _serve(self, scope: dict, send: Any, method: str, fspath: str, rel: str,
                     st: os.stat_result) -> None:
        ctype = content_type(fspath)
        fspath, encoding, varies = self._variant(scope, fspath)
        try:
            fh = open(fspath, "rb")
        except OSError:
            await self._reply(send, *_plain(404, "Not Found\n"), method)
            return
        try:
            st = os.fstat(fh.fileno())  # what we send is what we describe
            size = st.st_size
            etag = _etag(st)
            last_modified = http_date(int(st.st_mtime))
            headers = [(b"etag", etag.encode()), (b"last-modified", last_modified.encode()),
                       (b"accept-ranges", b"bytes")]
            if varies:
                headers.append((b"vary", b"accept-encoding"))
            if encoding:
                headers.append((b"content-encoding", encoding.encode()))
            max_age = self.max_age_for(rel, scope.get("path", ""))
            if max_age is not None:
                headers.append((b"cache-control", f"max-age={max_age}".encode()))
                headers.append((b"expires", http_date(int(time.time()) + max_age).encode()))

            inm = _header(scope, b"if-none-match")
            if inm is not None:
                if _etag_matches(inm, etag):
                    await self._reply(send, 304, headers, b"", method)
                    return
            else:
                ims = _header(scope, b"if-modified-since")
                if ims:
                    try:
                        since = email.utils.parsedate_to_datetime(ims).timestamp()
                    except (TypeError, ValueError, IndexError, OverflowError):
                        since = None
                    if since is not None and int(st.st_mtime) <= since:
                        await self._reply(send, 304, headers, b"", method)
                        return

            headers.append((b"content-type", ctype.encode()))
            status, start, count = 200, 0, size
            rng = _header(scope, b"range")
            if rng is not None and method == "GET":
                if_range = _header(scope, b"if-range")
                if if_range is not None and if_range.strip() not in (etag, last_modified):
                    rng = None
                parsed = parse_range(rng, size) if rng is not None else None
                if parsed == "416":
                    headers = [h for h in headers if h[0] != b"content-type"]
                    await self._reply(send, *_plain(416, "Range Not Satisfiable\n",
                                                    headers + [(b"content-range", f"bytes */{size}".encode())]),
                                      method)
                    return
                if parsed is not None:
                    start, end = parsed
                    count = end - start + 1
                    status = 206
                    headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
            headers.append((b"content-length", str(count).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if method == "HEAD" or count == 0:
                await send({"type": "http.response.body", "body": b""})
                return
            ext = scope.get("extensions") or {}
            if count <= SMALL:
                fh.seek(start)
                await send({"type": "http.response.body", "body": fh.read(count)})
            elif status == 200 and "http.response.pathsend" in ext:
                await send({"type": "http.response.pathsend", "path": fspath})
            elif "http.response.zerocopysend" in ext:
                await send({"type": "http.response.zerocopysend", "file": fh, "offset": start,
                            "count": count, "more_body": False})
            else:
                fh.seek(start)
                left = count
                while left > 0:
                    data = fh.read(min(CHUNK, left))
                    if not data:
                        break  # file shrank under us: the connection will be closed short
                    left -= len(data)
                    await send({"type": "http.response.body", "body": data, "more_body": left > 0})
                if left > 0:
                    raise OSError(f"{fspath} shrank while being sent")
        finally:
            fh.close()
