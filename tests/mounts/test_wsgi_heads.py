"""WSGI response heads over real HTTP/1.1: the adapter encodes a head once in the pool
thread (remembered by status and header items) and h1 writes it as it is
(``Cycle.respond_head``). Every answer must still be exactly what the app asked for,
request after request on one connection, whatever was remembered before.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.server.rawhttp import Conn
from tests.support import ServerProcess, free_port


@pytest.fixture(scope="module")
def server():
    port = free_port()
    args = ["-m", "tests.mounts.serve", str(port), "/h=tests.apps.mounts_wsgi:head_from_query"]
    with ServerProcess(args, port) as srv:
        yield srv


def ask(c: Conn, spec: dict, method: str = "GET", version: str = "1.1", extra: bytes = b""):
    target = "/h?" + quote(json.dumps(spec))
    c.send(b"%s %s HTTP/%s\r\nHost: t\r\n%s\r\n" % (method.encode(), target.encode(), version.encode(), extra))
    return c.read_response(head_request=method == "HEAD")


def names(r) -> list[str]:
    return [k for k, _ in r.headers]


def test_heads_change_with_what_the_app_gives_on_one_connection(server):
    with Conn(server.port) as c:
        for i in range(3):
            for ctype in ("text/plain", "application/json", "text/html; charset=utf-8"):
                r = ask(c, {"headers": [["Content-Type", ctype], ["X-N", str(i)]], "body": ctype * 2})
                assert r.status == 200 and r.header("content-type") == ctype and r.header("x-n") == str(i)
                assert r.body == (ctype * 2).encode() and r.header("content-length") == str(len(r.body))
                assert names(r).count("date") == 1 and names(r).count("server") == 1
        r = ask(c, {"status": "404 Not Found", "headers": [["Content-Type", "text/plain"]], "body": "no"})
        assert r.status == 404 and r.reason == "Not Found" and r.body == b"no"
        r = ask(c, {"status": "299 Custom", "headers": [["X-A", "1"]], "body": "x"})
        assert r.status == 299 and r.body == b"x" and r.header("x-a") == "1"


def test_set_cookie_is_never_shared_between_responses(server):
    with Conn(server.port) as c:
        for i in range(5):
            r = ask(c, {"headers": [["Content-Type", "text/plain"], ["Set-Cookie", f"s={i}"]], "body": "c"})
            assert r.header("set-cookie") == f"s={i}"


def test_app_date_and_server_are_not_doubled(server):
    with Conn(server.port) as c:
        r = ask(c, {"headers": [["Date", "Thu, 01 Jan 1970 00:00:00 GMT"], ["Server", "mine"]], "body": "d"})
        assert names(r).count("date") == 1 and r.header("date") == "Thu, 01 Jan 1970 00:00:00 GMT"
        assert names(r).count("server") == 1 and r.header("server") == "mine"
        r = ask(c, {"headers": [["Server", "mine"]], "body": "d"})
        assert names(r).count("server") == 1 and names(r).count("date") == 1
        r = ask(c, {"headers": [["Date", "Thu, 01 Jan 1970 00:00:00 GMT"]], "body": "d"})
        assert names(r).count("server") == 1 and r.header("date") == "Thu, 01 Jan 1970 00:00:00 GMT"
        r = ask(c, {"headers": [], "body": "bare"})
        assert r.body == b"bare" and sorted(names(r)) == ["content-length", "date", "server"]


def test_length_framing_head_and_bodiless_statuses(server):
    with Conn(server.port) as c:
        r = ask(c, {"headers": [["Content-Type", "text/plain"]], "body": "abc"})
        assert r.header("content-length") == "3" and r.body == b"abc"
        r = ask(c, {"headers": [["Content-Type", "text/plain"]], "body": "abc"}, method="HEAD")
        assert r.header("content-length") == "3" and r.body == b""
        r = ask(c, {"status": "204 No Content", "headers": [["X-A", "1"]]})
        assert r.status == 204 and r.header("content-length") is None and r.header("x-a") == "1"
        r = ask(c, {"status": "304 Not Modified", "headers": [["ETag", '"e"']]})
        assert r.status == 304 and r.header("content-length") is None and r.header("etag") == '"e"'
        r = ask(c, {"headers": [["Content-Length", "2"]], "body": "abcdef"})  # never more than promised
        assert r.body == b"ab" and r.header("content-length") == "2"
        r = ask(c, {"headers": [["Connection", "close"], ["Transfer-Encoding", "chunked"]], "body": "hop"})
        assert r.body == b"hop" and r.header("transfer-encoding") is None  # hop-by-hop: the server's
        assert ask(c, {"body": "still"}).body == b"still"  # the connection goes on


def test_status_below_100_is_a_500_as_through_the_general_path(server):
    with Conn(server.port) as c:
        r = ask(c, {"status": "099 Odd", "body": "odd"})
        assert r.status == 500 and b"odd" not in r.body


def test_body_shorter_than_its_content_length_closes_the_connection(server):
    with Conn(server.port) as c:
        c.send(b"GET /h?%s HTTP/1.1\r\nHost: t\r\n\r\n"
               % quote(json.dumps({"headers": [["Content-Length", "10"]], "body": "abc"})).encode())
        head = c.read_until(b"\r\n\r\n")
        assert b"content-length: 10" in head.lower()
        assert c.closed_by_peer(5.0)


def test_http10_keep_alive_and_close(server):
    with Conn(server.port) as c:
        r = ask(c, {"body": "k"}, version="1.0", extra=b"Connection: keep-alive\r\n")
        assert r.header("connection") == "keep-alive" and r.body == b"k"
        r = ask(c, {"body": "k2"}, version="1.0")
        assert r.header("connection") == "close" and r.body == b"k2"
        assert c.closed_by_peer(5.0)


def test_many_distinct_heads_and_list_items(server):
    with Conn(server.port) as c:
        for i in range(300):  # more than the adapter remembers
            r = ask(c, {"headers": [["X-I", str(i)]], "body": str(i)})
            assert r.header("x-i") == str(i) and r.body == str(i).encode()
        r = ask(c, {"headers": [["X-L", "list"]], "body": "l", "lists": True})
        assert r.status == 200 and r.header("x-l") == "list"


def test_line_break_in_a_header_is_a_500_every_time(server):
    for _ in range(2):  # the second time must not come from anything remembered
        with Conn(server.port) as c:
            r = ask(c, {"headers": [["X-Bad", "a\r\nInjected: 1"]], "body": "x"})
            assert r.status == 500 and b"Injected" not in r.raw_head
