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
- Small files (<= ``cache_max_file``, default 64 KiB) are kept in memory
  (LRU, at most ``cache_size`` bytes, default 16 MiB, per worker and mount;
  ``cache_size=0`` turns it off) with their response headers ready, so a
  plain GET / HEAD costs no syscall. Both come from the mount options, else
  the ``static_cache_size`` / ``static_cache_max_file`` preferences (see
  ``cache_options``). Why it is safe: the path
  checks above always run first and the cache is keyed by the validated real
  path; a URL's resolution and a cached file are re-checked with ``stat``
  at most once per second, so an edit, a deletion or a swapped symlink is
  seen within 1 s. Files modified less than 2 s ago are not cached (they may
  still be being written). Requests with ``Range`` or a validator
  (``If-None-Match`` / ``If-Modified-Since``) and files with precompressed
  variants take the uncached path.
"""

from __future__ import annotations

import email.utils
import functools
import mimetypes
import os
import stat
import sys
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from skitai.config.settings import Size

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


# Request headers that need the full (uncached) answer: validators and ranges.
_SLOW_HEADERS = frozenset((b"if-none-match", b"if-modified-since", b"range", b"if-range"))
RECHECK = 1.0       # seconds between stat checks of a cached resolution / file
SETTLE = 2.0        # files modified more recently than this are not cached
_monotonic = time.monotonic


CACHE_SIZE = 16 * 1024 * 1024  # default cache_size (bytes per mount and worker)
_CACHE_PREFS = (("cache_size", "static_cache_size", CACHE_SIZE), ("cache_max_file", "static_cache_max_file", SMALL))


def _size(name: str, raw: Any) -> int:
    """A cache size option as bytes (int or "16M"-style string); ValueError naming the option."""
    parser = Size()
    try:
        return parser(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected {parser.accepted}") from None


def cache_options(options: dict, prefs: Any = None) -> dict[str, Any]:
    """``cache_size`` / ``cache_max_file`` for one static mount: its own option, else the
    ``static_cache_size`` / ``static_cache_max_file`` preference, else the default.

    Why the fallback to ``skitai._prefs``: in the engine the table loads in the
    worker before it has seen the server's prefs (it adopts them from the first
    request), while the resolved prefs were stored on the package before fork.
    """
    if prefs is None:
        prefs = getattr(sys.modules.get("skitai"), "_prefs", None)
    out = {}
    for option, pref_name, default in _CACHE_PREFS:
        value = options.get(option)
        if value is None:
            value = getattr(prefs, pref_name, None) if prefs is not None else None
        out[option] = default if value is None else value
    return out


class _Cached:
    """One small file in memory: body and the headers every plain 200 for it shares."""

    __slots__ = ("body", "pre", "post", "size", "mtime_ns", "ino", "checked")

    def __init__(self, body: bytes, pre: list, post: list, st: os.stat_result, now: float):
        self.body = body
        self.pre = pre      # etag, last-modified, accept-ranges
        self.post = post    # content-type, content-length
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        self.ino = st.st_ino
        self.checked = now


class _Route:
    """A URL path (already found safe) -> the validated real path, plus its ready header list."""

    __slots__ = ("fspath", "rel", "max_age", "checked", "entry", "headers", "sec")

    def __init__(self, fspath: str, rel: str, max_age: int | None, now: float):
        self.fspath = fspath
        self.rel = rel
        self.max_age = max_age
        self.checked = now
        self.entry: _Cached | None | bool = None  # False: not cacheable until re-checked
        self.headers: list | None = None
        self.sec = -1


def _header(scope: dict, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


class StaticFiles:
    """ASGI app serving one directory; ``resolve`` is also used to share a mount point with an app."""

    def __init__(self, root: str, max_age: int | dict | None = None, index: str = "index.html",
                 precompressed: bool = True, cache_size: int | str = CACHE_SIZE,
                 cache_max_file: int | str = SMALL):
        self.precompressed = precompressed
        # in-memory cache of small files (see the module docstring); cache_size=0 turns it off
        self.cache_size = _size("cache_size", cache_size)
        self.cache_max_file = _size("cache_max_file", cache_max_file)
        self._files: OrderedDict[str, _Cached] = OrderedDict()
        self._cached_bytes = 0
        self._routes: dict[tuple[str, str], _Route] = {}
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
        if "." in rel:  # a "." or ".." segment, without splitting the path
            probe = "/" + rel + "/"
            if "/./" in probe or "/../" in probe:
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
        known = await self._cached(scope, send, method)
        if known is True:
            return
        if known is not None:  # a file named directly, resolved and checked within RECHECK
            await self._serve(scope, send, method, known[0], known[1], None)
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

    # -- small-file cache --------------------------------------------------
    async def _cached(self, scope: dict, send: Any, method: str) -> bool | tuple[str, str] | None:
        """Answer a plain GET / HEAD from memory when possible.

        True = answered; (real path, rel) = a file named directly, for the
        normal path (not cacheable, or Range / validators in the request);
        None = unknown or not a plain file (missing, directory, unsafe):
        the full check runs. The safety checks of ``_relative`` run on every
        request; the syscalls of ``_inside`` and the file's stat at most
        once per ``RECHECK`` seconds.
        """
        if self._relative(scope) is None:
            return None
        key = (scope.get("root_path", ""), scope.get("path", ""))
        now = _monotonic()
        route = self._routes.get(key)
        if route is None or now - route.checked >= RECHECK:
            route = self._route(scope, key, route, now)
            if route is None:
                return None
        entry = route.entry
        if entry is False or self.cache_size <= 0:
            return route.fspath, route.rel
        for k, _ in scope.get("headers", ()):
            if k in _SLOW_HEADERS:
                return route.fspath, route.rel
        if entry is None or now - entry.checked >= RECHECK or self._files.get(route.fspath) is not entry:
            entry = self._file_entry(route.fspath, now)
            route.headers = None
            if entry is None:
                route.entry = False  # not cacheable: tried again when the route is re-checked
                return route.fspath, route.rel
            route.entry = entry
        if route.max_age is None:
            headers = route.headers
            if headers is None:
                headers = route.headers = entry.pre + entry.post
        else:
            sec = int(time.time())
            headers = route.headers
            if headers is None or route.sec != sec:
                headers = route.headers = entry.pre + [
                    (b"cache-control", f"max-age={route.max_age}".encode()),
                    (b"expires", http_date(sec + route.max_age).encode())] + entry.post
                route.sec = sec
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else entry.body})
        return True

    def _route(self, scope: dict, key: tuple[str, str], old: _Route | None, now: float) -> _Route | None:
        """(Re)resolve a URL path with every safety check; only regular files named directly are kept."""
        found = self.resolve(scope)
        if found is None or (os.path.basename(found[0]) == self.index
                             and os.path.isdir(os.path.join(self.root, found[1].lstrip("/")))):
            if old is not None:
                self._routes.pop(key, None)
                self._drop(old.fspath)
            return None
        fspath, rel, st = found
        if old is not None and old.fspath != fspath:
            self._drop(old.fspath)
        if len(self._routes) >= 4096:
            self._routes.clear()  # bounded: many distinct URLs just start over
        route = _Route(fspath, rel, self.max_age_for(rel, key[1]), now)
        if st.st_size > self.cache_max_file:
            route.entry = False
        self._routes[key] = route
        return route

    def _drop(self, fspath: str) -> None:
        entry = self._files.pop(fspath, None)
        if entry is not None:
            self._cached_bytes -= entry.size

    def _file_entry(self, fspath: str, now: float) -> _Cached | None:
        """The cached file, re-checked with one stat; read (again) when new or changed."""
        files = self._files
        entry = files.get(fspath)
        if entry is not None:
            if now - entry.checked < RECHECK:
                files.move_to_end(fspath)
                return entry
            try:
                st = os.stat(fspath)
            except (OSError, ValueError):
                self._drop(fspath)
                return None
            if (st.st_size == entry.size and st.st_mtime_ns == entry.mtime_ns and st.st_ino == entry.ino
                    and stat.S_ISREG(st.st_mode) and not self._has_variant(fspath)):
                entry.checked = now
                files.move_to_end(fspath)
                return entry
            self._drop(fspath)
        if self._has_variant(fspath):
            return None
        try:
            with open(fspath, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode) or st.st_size > self.cache_max_file \
                        or time.time() - st.st_mtime < SETTLE:
                    return None
                body = fh.read(st.st_size + 1)
        except (OSError, ValueError):
            return None
        if len(body) != st.st_size or st.st_size > self.cache_size:
            return None  # changed while read, or larger than the whole cache
        pre = [(b"etag", _etag(st).encode()), (b"last-modified", http_date(int(st.st_mtime)).encode()),
               (b"accept-ranges", b"bytes")]
        post = [(b"content-type", content_type(fspath).encode()), (b"content-length", str(st.st_size).encode())]
        entry = _Cached(body, pre, post, st, now)
        files[fspath] = entry
        self._cached_bytes += entry.size
        while self._cached_bytes > self.cache_size and files:
            _, old = files.popitem(last=False)
            self._cached_bytes -= old.size
        return entry

    def _has_variant(self, fspath: str) -> bool:
        """Whether a precompressed sibling exists (such files take the normal path)."""
        if not self.precompressed:
            return False
        for _, suffix in _ENCODINGS:
            try:
                os.stat(fspath + suffix)
                return True
            except (OSError, ValueError):
                pass
        return False

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
                     st: os.stat_result | None) -> None:
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
