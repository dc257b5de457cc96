"""WSGI fixtures for tests/mounts (plain callables, no framework)."""

import json
import sys

CLOSED = []


def echo_environ(environ, start_response):
    keys = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "RAW_URI",
            "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR",
            "wsgi.url_scheme", "skitai.gtxnid", "skitai.ltxnid", "wsgi.multithread"]
    out = {k: environ.get(k) for k in keys}
    out.update({k: v for k, v in environ.items() if k.startswith("HTTP_")})
    out["has_scope"] = isinstance(environ.get("asgi.scope"), dict)
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


app = echo_environ


def read_input(environ, start_response):
    """Reads wsgi.input in small pieces and by lines; answers sizes and a checksum."""
    inp = environ["wsgi.input"]
    mode = environ.get("QUERY_STRING", "")
    if mode == "lines":
        lines = list(inp)
        data = b"".join(lines)
        info = {"lines": len(lines)}
    elif mode == "all":
        data = inp.read()
        info = {}
    else:
        parts = []
        while True:
            b = inp.read(1000)
            if not b:
                break
            parts.append(b)
        data = b"".join(parts)
        info = {"reads": len(parts)}
    import hashlib
    info.update(size=len(data), md5=hashlib.md5(data).hexdigest())
    body = json.dumps(info).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"one,")
    write(b"two,")
    return [b"three"]


def big_writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for i in range(50):
        write(bytes([65 + i % 26]) * 10000)
    return []


class Closing:
    def __init__(self, chunks, fail_at=None):
        self.chunks = chunks
        self.fail_at = fail_at

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("boom in iteration")
            yield c

    def close(self):
        CLOSED.append(self)


def closing_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    n = int(environ.get("QUERY_STRING") or 2)
    return Closing([b"x" * 1000] * n)


def closing_failing(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing([b"a", b"b"], fail_at=1)


def streaming(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    n = int(environ.get("QUERY_STRING") or 40)

    def gen():
        for i in range(n):
            yield bytes([48 + i % 10]) * 8192
    return gen()


def exc_info_app(environ, start_response):
    """An app that fails, caught by a middleware-style handler using exc_info before anything was sent."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("inner failure")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("X-Error", "1")],
                       sys.exc_info())
    return [b"handled"]


def exc_info_after_sent(environ, start_response):
    """exc_info after the headers went out: start_response must re-raise the original error."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"x" * 200000)  # more than the adapter buffers: the head is on the wire
    try:
        raise KeyError("late")
    except KeyError:
        try:
            start_response("500 Internal Server Error", [], sys.exc_info())
        except KeyError:
            CLOSED.append("reraised")
            raise
    return [b"never"]


def second_start_response(environ, start_response):
    start_response("200 OK", [])
    start_response("201 Created", [])
    return [b"no"]


def raising(environ, start_response):
    raise RuntimeError("app exploded")


def bad_status(environ, start_response):
    start_response(200, [])
    return [b""]


def file_app(environ, start_response):
    path = environ["QUERY_STRING"]
    f = open(path, "rb")
    f.seek(int(environ.get("HTTP_X_OFFSET", "0")))
    headers = [("Content-Type", "application/octet-stream")]
    if environ.get("HTTP_X_LENGTH"):
        headers.append(("Content-Length", environ["HTTP_X_LENGTH"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](f, 4096)


def gc_info(environ, start_response):
    """What the worker did with the collector before serving (gc.freeze after the apps loaded)."""
    import gc
    body = json.dumps({"frozen": gc.get_freeze_count(), "enabled": gc.isenabled(),
                       "threshold": gc.get_threshold()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def slow(environ, start_response):
    """Answers after a pause given in the query string (seconds)."""
    import time as _time
    _time.sleep(float(environ.get("QUERY_STRING") or "0.5"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return [b"slow"]


def bad_header(environ, start_response):
    start_response("200 OK", [("X-Split", "a\r\nInjected: yes")])
    return [b"no"]


def head_from_query(environ, start_response):
    """Answers the status, headers and body the query asks for (JSON in QUERY_STRING, url-quoted):
    {"status": "200 OK", "headers": [[name, value], ...], "body": "...", "lists": false}.
    ``lists`` gives the header items as lists (allowed by nothing, taken by many servers)."""
    from urllib.parse import unquote

    spec = json.loads(unquote(environ["QUERY_STRING"]))
    items = spec.get("headers", [])
    headers = [list(h) if spec.get("lists") else tuple(h) for h in items]
    start_response(spec.get("status", "200 OK"), headers)
    return [spec.get("body", "").encode()]



GEN_EVENTS = []


def promised_length(environ, start_response):
    """Content-Length 6, body from a generator; ``?extra`` yields more than promised.
    Records how the generator ended: "ended" when asked once more after its last block,
    "closed" when the server closed it half-way (GeneratorExit)."""
    extra = environ.get("QUERY_STRING") == "extra"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])

    def body():
        try:
            yield b"abc"
            yield b"def"
            if extra:
                yield b"ghi"
                GEN_EVENTS.append("asked after the extra block")
                yield b"jkl"
            GEN_EVENTS.append("ended")
        except GeneratorExit:
            GEN_EVENTS.append("closed")
            raise
    return body()
