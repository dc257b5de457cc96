"""Limits, malformed input and timeouts: the right status, then a closed connection."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.server import rawhttp
from tests.server.conftest import run_server
from tests.server.rawhttp import Conn, request


@pytest.fixture(scope="module")
def limited():
    with run_server("--max-header-size", "2048", "--max-body-size", "10000",
                    "--keep-alive", "1", "--request-timeout", "1") as srv:
        yield srv


def _answer_and_close(port: int, data: bytes) -> tuple[int, bool]:
    with Conn(port) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        return r.status, c.closed_by_peer()


def test_normal_request_still_works(limited):
    assert httpx.get(limited.url + "/x").text == "ok /x"


def test_oversize_single_header_is_431(limited):
    status, closed = _answer_and_close(limited.port, request("GET", "/", {"X-Big": "a" * 5000}))
    assert (status, closed) == (431, True)


def test_oversize_header_block_of_many_headers_is_431(limited):
    headers = {f"X-H{i}": "v" * 40 for i in range(80)}
    status, closed = _answer_and_close(limited.port, request("GET", "/", headers))
    assert (status, closed) == (431, True)


def test_oversize_header_block_sent_in_pieces_is_431(limited):
    with Conn(limited.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(6):
                c.send(b"X-Piece: " + b"p" * 500 + b"\r\n")
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the last pieces
        r = c.read_response()
        assert r.status == 431
        assert c.closed_by_peer()


def test_content_length_over_limit_is_413_without_reading(limited):
    with Conn(limited.port) as c:
        t0 = time.monotonic()
        c.send(request("POST", "/echo", {"Content-Length": str(10**9)}))
        r = c.read_response()
        assert r.status == 413
        assert c.closed_by_peer()
        assert time.monotonic() - t0 < 2


def test_chunked_body_over_limit_is_413(limited):
    with Conn(limited.port) as c:
        c.send(request("POST", "/echo", {"Transfer-Encoding": "chunked"}))
        try:
            for _ in range(20):
                c.send(b"400\r\n" + b"z" * 1024 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        assert r.status == 413
        assert c.closed_by_peer()


def test_body_within_limit_is_served(limited):
    r = httpx.post(limited.url + "/echo", content=b"q" * 9000)
    assert r.status_code == 200 and len(r.content) == 9000


@pytest.mark.parametrize("raw", [
    pytest.param(b"GARBAGE\r\n\r\n", id="bad-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", id="header-without-colon"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", id="space-before-colon"),
    pytest.param(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", id="control-char-in-target"),
    pytest.param(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", id="bad-version"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", id="cl-and-te"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n", id="te-and-cl"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 b"Content-Length: 4\r\n\r\nabcd", id="duplicate-cl-different"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 b"Content-Length: 3\r\n\r\nabc", id="duplicate-cl-same"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", id="negative-cl"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", id="cl-with-space"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zz\r\nabc\r\n0\r\n\r\n", id="bad-chunk-size"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", id="duplicate-te"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                 b"3\r\nabc\r\n0\r\n\r\n", id="te-not-ending-chunked"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="duplicate-host"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", id="obs-fold"),
    pytest.param(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", id="http11-without-host"),
])
def test_malformed_is_400_and_close(limited, raw):
    status, closed = _answer_and_close(limited.port, raw)
    assert status == 400
    assert closed


def test_unknown_transfer_coding_is_501(limited):
    raw = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           b"3\r\nabc\r\n0\r\n\r\n")
    assert _answer_and_close(limited.port, raw) == (501, True)


def test_smuggled_second_request_is_never_served(limited):
    """CL+TE: the bytes after the head must not be parsed as a second request."""
    smuggled = request("GET", "/smuggled")
    raw = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0\r\n\r\n" + smuggled)
    with Conn(limited.port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400
        assert c.closed_by_peer()
        assert b"/smuggled" not in c.buf


def test_error_after_pipelined_good_request_keeps_order(limited):
    with Conn(limited.port) as c:
        c.send(request("GET", "/delay-order?0.2") + b"BROKEN LINE\r\n\r\n")
        r1 = c.read_response()
        r2 = c.read_response()
        assert (r1.status, r1.body) == (200, b"delay=0.2")
        assert r2.status == 400
        assert c.closed_by_peer()


def test_idle_keep_alive_is_closed(limited):
    with Conn(limited.port) as c:
        c.send(request("GET", "/idle"))
        assert c.read_response().status == 200
        t0 = time.monotonic()
        assert c.closed_by_peer(timeout=4)
        assert time.monotonic() - t0 < 3.0


def test_connection_without_any_request_is_closed(limited):
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as s:
        t0 = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - t0 < 3.5


def test_slowloris_header_dribble_is_closed_within_request_timeout(limited):
    with Conn(limited.port) as c:
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\n")
        closed = False
        for i in range(40):  # one header byte every 0.1 s: never a gap of request_timeout
            try:
                c.send(b"X-Slow-%d: y\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if c.closed_by_peer(timeout=0.1):
                closed = True
                break
        assert closed
        assert time.monotonic() - t0 < 2.6


def test_slow_body_is_closed(limited):
    with Conn(limited.port) as c:
        c.send(request("POST", "/echo", {"Content-Length": "100"}) + b"abc")
        t0 = time.monotonic()
        assert c.closed_by_peer(timeout=4)
        assert time.monotonic() - t0 < 3.0


def test_client_that_does_not_read_is_dropped(limited):
    """A response the client never reads must not hold the worker: the write
    deadline aborts the connection and other clients are served meanwhile."""
    s = socket.create_connection(("127.0.0.1", limited.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(request("GET", "/big?50000000"))
    time.sleep(0.3)
    assert httpx.get(limited.url + "/other", timeout=3).text == "ok /other"
    time.sleep(2.5)
    s.settimeout(5)
    got = 0
    closed = False
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 5:
            b = s.recv(1 << 20)
            if not b:
                closed = True
                break
            got += len(b)
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    assert closed and got < 50_000_000


def test_connections_over_max_connections_wait_their_turn():
    with run_server("--max-connections", "2") as srv:
        a, b = Conn(srv.port), Conn(srv.port)
        for c in (a, b):
            c.send(request("GET", "/first"))
            assert c.read_response().status == 200
        third = Conn(srv.port)
        third.send(request("GET", "/third"))
        assert not third.closed_by_peer(timeout=0.5)
        assert third.buf == b""  # not answered while two connections are open
        a.close()
        third.sock.settimeout(5)
        assert third.read_response().body == b"ok /third"
        b.close()
        third.close()


def test_keep_alive_zero_closes_after_each_response():
    with run_server("--keep-alive", "0") as srv:
        with Conn(srv.port) as c:
            c.send(request("GET", "/once"))
            r = c.read_response()
            assert r.body == b"ok /once" and r.header("connection") == "close"
            assert c.closed_by_peer()


@pytest.fixture(scope="module")
def unlimited():
    with run_server("--max-body-size", "0") as srv:
        yield srv


@pytest.mark.parametrize("which,path", [("limited", "/echo"), ("unlimited", "/reject"),
                                        ("unlimited", "/slow-reject")])
def test_early_413_ends_with_fin_not_reset(request, which, path):
    """413 (server ceiling or app) while the client keeps sending: the response is
    followed by a clean half-close, not a reset that could destroy it."""
    import threading

    srv = request.getfixturevalue(which)
    c = Conn(srv.port, timeout=5)
    c.send(rawhttp.request("POST", path, {"Content-Length": str(50 << 20)}) + b"z" * 2000)
    stop = threading.Event()

    def pump():
        try:
            while not stop.is_set():
                c.sock.sendall(b"z" * 65536)
        except OSError:
            pass

    t = threading.Thread(target=pump)
    t.start()
    try:
        r = c.read_response()
        assert r.status == 413
        assert r.header("connection") == "close"
        c.sock.settimeout(3)
        end = c.sock.recv(100)  # raises ConnectionResetError on RST
        assert end == b""
    finally:
        stop.set()
        try:
            c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        t.join(5)
        c.close()
