"""A plain WSGI app (no framework): what the engine's WSGI path costs by itself (bench/hotpath.py wsgi)."""

HELLO = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [HELLO]
