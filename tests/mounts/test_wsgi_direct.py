"""WSGI requests without a body go from h1 straight to the pool (WSGIAdapter.h1_direct).

Every kind of WSGI answer over the real HTTP/1.1 protocol: small, HEAD, write(),
streamed, file_wrapper, exc_info, errors, bad headers, a client that leaves
while the app runs, keep-alive mixing bodiless and body requests.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.server.rawhttp import Conn
from tests.support import ServerProcess, free_port


@pytest.fixture(scope="module")
def server():
    port = free_port()
    args = ["-m", "tests.mounts.serve", str(port),
            "/env=tests.apps.mounts_wsgi:echo_environ",
            "/input=tests.apps.mounts_wsgi:read_input",
            "/writer=tests.apps.mounts_wsgi:writer",
            "/stream=tests.apps.mounts_wsgi:streaming",
            "/exc=tests.apps.mounts_wsgi:exc_info_app",
            "/late=tests.apps.mounts_wsgi:exc_info_after_sent",
            "/raising=tests.apps.mounts_wsgi:raising",
            "/badstatus=tests.apps.mounts_wsgi:bad_status",
            "/badheader=tests.apps.mounts_wsgi:bad_header",
            "/slow=tests.apps.mounts_wsgi:slow",
            "/file=tests.apps.mounts_wsgi:file_app"]
    with ServerProcess(args, port) as srv:
        yield srv


def _req(c: Conn, target: str, method: str = "GET", body: bytes = b""):
    extra = b"Content-Length: %d\r\n" % len(body) if body else b""
    c.send(b"%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n%s" % (method.encode(), target.encode(), extra, body))
    return c.read_response(head_request=method == "HEAD")


def test_small_head_and_keep_alive_mixed_with_bodies(server):
    with Conn(server.port) as c:
        for i in range(4):
            r = _req(c, f"/env/x?i={i}")
            assert r.status == 200
            env = json.loads(r.body)
            assert env["PATH_INFO"] == "/x" and env["QUERY_STRING"] == f"i={i}"
            r = _req(c, "/input?all", "POST", b"hello")  # a body: the ASGI way
            assert r.status == 200 and json.loads(r.body)["size"] == 5
        r = _req(c, "/env/x", "HEAD")
        assert r.status == 200 and r.body == b""
        assert int(r.header("content-length")) > 0


def test_write_stream_and_file(server, tmp_path):
    big = tmp_path / "f.bin"
    big.write_bytes(bytes(range(256)) * 4096)
    with Conn(server.port) as c:
        r = _req(c, "/writer")
        assert r.status == 200 and r.body
        r = _req(c, "/stream?5")
        assert r.status == 200 and len(r.body) == 5 * 8192
        r = _req(c, f"/file?{big}")
        assert r.status == 200 and r.body == big.read_bytes()
        assert _req(c, "/env/after").status == 200  # the connection goes on


def test_errors_are_500_and_the_server_goes_on(server):
    with Conn(server.port) as c:
        r = _req(c, "/exc")
        assert r.status == 500 and r.body == b"handled" and r.header("x-error") == "1"
    for target in ("/raising", "/badstatus", "/badheader"):
        with Conn(server.port) as c:
            r = _req(c, target)
            assert r.status == 500, target
            assert b"Injected" not in r.raw_head
    with Conn(server.port) as c:
        c.send(b"GET /late HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.closed_by_peer(5.0)  # headers were out: the connection is dropped
    with Conn(server.port) as c:
        assert _req(c, "/env/ok").status == 200


def test_client_leaving_while_the_app_runs(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET /slow?0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
    s.close()
    time.sleep(0.5)
    with Conn(server.port) as c:
        assert _req(c, "/slow?0").body == b"slow"
        assert _req(c, "/env/still").status == 200
