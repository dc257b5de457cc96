"""HTTP/1.x protocol behaviour over real sockets against the dev runner."""

from __future__ import annotations

import json
import time

import httpx

from tests.server.apps import FILE_PATH  # noqa: F401  (documents where the served file lives)
from tests.server.rawhttp import Conn, request

FILE_BYTES = bytes(range(256)) * 1024


def test_httpx_get_has_date_server_and_keeps_alive(server):
    with httpx.Client(base_url=server.url) as c:
        r1 = c.get("/hello")
        r2 = c.get("/again")
    assert r1.status_code == 200 and r1.text == "ok /hello"
    assert r2.text == "ok /again"
    assert r1.headers["server"] == "skitai"
    assert r1.headers["date"].endswith(" GMT")


def test_scope_is_asgi3(server):
    r = httpx.get(server.url + "/scope?q=1&r=%20", headers={"X-Custom": "Val"})
    s = r.json()
    assert s["type"] == "http"
    assert s["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert s["http_version"] == "1.1"
    assert s["method"] == "GET"
    assert s["scheme"] == "http"
    assert s["path"] == "/scope"
    assert s["query_string"] == "q=1&r=%20"
    assert s["root_path"] == ""
    assert ["x-custom", "Val"] in s["headers"]
    assert all(k == k.lower() for k, _ in s["headers"])
    assert s["client"][0] == "127.0.0.1" and isinstance(s["client"][1], int)
    assert s["server"] == ["127.0.0.1", server.port]
    assert {"http.response.zerocopysend", "http.response.pathsend", "skitai"} <= set(s["extensions"])
    assert s["worker_id"] == 0


def test_path_is_decoded_raw_path_is_not(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/scope/a%20b/%E2%82%AC?x=%2F"))
        s = json.loads(c.read_response().body)
    assert s["path"] == "/scope/a b/\u20ac"
    assert s["raw_path"] == "/scope/a%20b/%E2%82%AC"
    assert s["query_string"] == "x=%2F"


def test_keep_alive_two_requests_one_connection(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/one"))
        assert c.read_response().body == b"ok /one"
        c.send(request("GET", "/two"))
        assert c.read_response().body == b"ok /two"


def test_pipelining_keeps_request_order(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/delay-order?0.4") + request("GET", "/delay-order?0.1")
               + request("GET", "/delay-order?0") + request("POST", "/echo", body=b"last"))
        bodies = [c.read_response().body for _ in range(4)]
    assert bodies == [b"delay=0.4", b"delay=0.1", b"delay=0.0", b"last"]


def test_chunked_request_body(server):
    body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    with Conn(server.port) as c:
        c.send(request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + body)
        r = c.read_response()
        assert r.status == 200 and r.body == b"hello world"
        c.send(request("GET", "/after"))
        assert c.read_response().body == b"ok /after"


def test_chunked_request_streamed_in_pieces(server):
    with Conn(server.port) as c:
        c.send(request("POST", "/stream-echo", {"Transfer-Encoding": "chunked"}))
        for piece in (b"abc", b"defg", b"h"):
            c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.05)
        c.send(b"0\r\n\r\n")
        r = c.read_response()
    assert r.header("transfer-encoding") == "chunked"
    assert r.body == b"abcdefgh|8"


def test_chunked_response_framing_is_exact(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/chunks?3"))
        head = c.read_until(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        assert b"content-length" not in head.lower()
        raw = c.read_until(b"0\r\n\r\n")
    assert raw == b"6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n"


def test_expect_100_continue_sent_when_app_reads(server):
    with Conn(server.port) as c:
        c.send(request("POST", "/echo", {"Expect": "100-continue", "Content-Length": "5"}))
        interim = c.read_until(b"\r\n\r\n")
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        c.send(b"12345")
        r = c.read_response()
    assert r.status == 200 and r.body == b"12345"


def test_expect_100_not_sent_when_app_answers_without_reading(server):
    with Conn(server.port) as c:
        c.send(request("POST", "/reject", {"Expect": "100-continue", "Content-Length": "100000"}))
        r = c.read_response()
        assert r.status == 413
        assert b"100 Continue" not in r.raw_head
        assert r.header("connection") == "close"
        assert c.closed_by_peer()


def test_app_413_without_reading_body_closes_cleanly(server):
    with Conn(server.port) as c:
        c.send(request("POST", "/reject", {"Content-Length": "1000000"}) + b"x" * 1000)
        r = c.read_response()
        assert r.status == 413 and r.body == b"too large"
        assert c.closed_by_peer()


def test_head_has_no_body_and_keeps_connection(server):
    with Conn(server.port) as c:
        c.send(request("HEAD", "/big?1000"))
        r = c.read_response(head_request=True)
        assert r.status == 200 and r.header("content-length") == "1000"
        c.send(request("GET", "/next"))
        r2 = c.read_response()
    assert r2.body == b"ok /next"  # nothing of the HEAD body leaked into the stream


def test_head_of_streamed_response_is_not_chunked(server):
    with Conn(server.port) as c:
        c.send(request("HEAD", "/chunks?2"))
        r = c.read_response(head_request=True)
        assert r.header("transfer-encoding") is None
        c.send(request("GET", "/next"))
        assert c.read_response().body == b"ok /next"


def test_http10_without_keep_alive_closes(server):
    with Conn(server.port) as c:
        c.send(b"GET /ten HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.body == b"ok /ten"
        assert c.closed_by_peer()


def test_http10_keep_alive(server):
    with Conn(server.port) as c:
        c.send(b"GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.body == b"ok /ten" and r.header("connection") == "keep-alive"
        c.send(b"GET /ten2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert c.read_response().body == b"ok /ten2"


def test_http10_streamed_response_is_close_delimited(server):
    with Conn(server.port) as c:
        c.send(b"GET /chunks?2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
    assert r.header("transfer-encoding") is None
    assert r.header("connection") == "close"
    assert r.body == b"part0;part1;"


def test_connection_close_request(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/bye", {"Connection": "close"}))
        r = c.read_response()
        assert r.header("connection") == "close"
        assert c.closed_by_peer()


def test_app_connection_close_header_closes(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/nocl-close"))
        r = c.read_response()
        assert r.body == b"bye" and r.header("connection") == "close"
        assert c.closed_by_peer()


def test_204_and_304_have_no_framing(server):
    with Conn(server.port) as c:
        for code in (204, 304):
            c.send(request("GET", f"/status?{code}"))
            r = c.read_response()
            assert r.status == code
            assert r.header("transfer-encoding") is None
        c.send(request("GET", "/next"))
        assert c.read_response().body == b"ok /next"


def test_app_exception_before_start_is_500_with_gtxnid(server):
    r = httpx.get(server.url + "/boom")
    assert r.status_code == 500
    assert "gtxnid: GTID-W0-" in r.text
    assert "Traceback" not in r.text and "boom in the app" not in r.text
    deadline = time.monotonic() + 3
    while "boom in the app" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "RuntimeError: boom in the app" in server.output()


def test_app_exception_after_start_closes_connection(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/boom-late"))
        c.read_until(b"\r\n\r\n")
        assert c.closed_by_peer()
    assert b"0\r\n\r\n" not in c.buf  # the chunked body was never terminated


def test_app_without_response_is_500(server):
    r = httpx.get(server.url + "/noresponse")
    assert r.status_code == 500


def test_client_disconnect_reaches_app(server):
    import os
    marker = None
    with Conn(server.port) as c:
        c.send(request("POST", "/disconnect", body=b"x"))
        time.sleep(0.2)
    # the app writes the event it got into a file next to the served file of the server process
    deadline = time.monotonic() + 3
    pid_file = None
    while time.monotonic() < deadline:
        import glob
        files = glob.glob(f"/tmp/skitai-h1-test-{server.pid}.bin.disconnect")
        if files:
            pid_file = files[0]
            marker = open(pid_file).read()
            break
        time.sleep(0.05)
    assert marker == "http.disconnect"
    os.unlink(pid_file)


def test_zerocopysend_and_pathsend(server):
    with httpx.Client(base_url=server.url) as c:
        for path in ("/zerocopy", "/pathsend"):
            r = c.get(path)
            assert r.status_code == 200 and r.content == FILE_BYTES, path
        r = c.get("/zerocopy-chunked")
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.content == FILE_BYTES[1000:6000] + b"END"
        r = c.get("/hello")  # the connection is still usable after sendfile
        assert r.text == "ok /hello"


def test_large_response_streams(server):
    with httpx.Client(base_url=server.url) as c, c.stream("GET", "/big?8000000") as r:
        total = 0
        for chunk in r.iter_bytes():
            total += len(chunk)
    assert total == 8_000_000


def test_large_request_body(server):
    data = bytes(range(256)) * 8192  # 2 MiB
    r = httpx.post(server.url + "/echo", content=data)
    assert r.status_code == 200 and r.content == data
    assert int(r.headers["x-chunks"]) >= 1


def test_txn_ids_created_and_kept(server):
    with httpx.Client(base_url=server.url) as c:
        s1 = c.get("/scope").json()
        s2 = c.get("/scope").json()
        kept = c.get("/scope", headers={"X-Gtxnid": "GTID-W3-C9-R7", "X-Ltxnid": "2001"}).json()
        only_g = c.get("/scope", headers={"X-Gtxnid": "GTID-W3-C9-R8"}).json()
        bad = c.get("/scope", headers={"X-Gtxnid": 'evil "id" here', "X-Ltxnid": "2001"}).json()
    assert s1["gtxnid"].startswith("GTID-W0-C") and s1["ltxnid"] == "1000"
    assert s1["gtxnid"] != s2["gtxnid"]
    assert s1["gtxnid"].rsplit("-R", 1)[0] == s2["gtxnid"].rsplit("-R", 1)[0]  # same connection
    assert (kept["gtxnid"], kept["ltxnid"]) == ("GTID-W3-C9-R7", "2001")
    assert (only_g["gtxnid"], only_g["ltxnid"]) == ("GTID-W3-C9-R8", "1000")
    assert bad["gtxnid"].startswith("GTID-W0-") and bad["ltxnid"] == "1000"


def test_early_hints_103_before_the_response(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/early"))
        interim = c.read_until(b"\r\n\r\n")
        assert interim == b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n"
        r = c.read_response()
    assert r.status == 200 and r.body == b"after hints"


def test_absolute_form_and_asterisk_targets(server):
    with Conn(server.port) as c:
        c.send(request("GET", "http://example.com/scope/abs?x=1"))
        s = json.loads(c.read_response().body)
        assert (s["path"], s["query_string"]) == ("/scope/abs", "x=1")
        c.send(request("OPTIONS", "*"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"ok *"


def test_http10_without_host_is_fine(server):
    with Conn(server.port) as c:
        c.send(b"GET /nohost HTTP/1.0\r\n\r\n")
        assert c.read_response().body == b"ok /nohost"


def test_zerocopysend_to_a_slow_reader_waits_for_the_socket(server):
    # 8 MiB is more than the loopback socket buffers hold: os.sendfile hits EAGAIN
    with Conn(server.port, timeout=10) as c:
        c.send(request("GET", "/zerocopy-big"))
        time.sleep(0.3)  # let the server hit a full socket (EAGAIN) before we read
        r = c.read_response()
        assert r.status == 200 and r.body == bytes(range(256)) * 32768
        c.send(request("GET", "/after"))
        assert c.read_response().body == b"ok /after"


def test_send_blocks_while_the_client_does_not_read(server):
    progress = f"/tmp/skitai-h1-test-{server.pid}.bin.progress"
    with Conn(server.port, timeout=10) as c:
        c.send(request("GET", "/stream-many?64"))
        time.sleep(1.0)
        sent = int(open(progress).read())
        assert sent < 32, f"the app pushed {sent} MiB into a client that reads nothing"
        r = c.read_response()
    assert len(r.body) == 64 << 20
    assert int(open(progress).read()) == 64


def test_two_tasks_waiting_in_receive_both_wake(server):
    with Conn(server.port) as c:
        c.send(request("POST", "/two-listeners", {"Content-Length": "5"}))
        time.sleep(0.2)
        c.send(b"hello")
        r = c.read_response()
        # both blocked tasks were woken by the body (which one got the bytes is up to them)
        assert r.status == 200 and r.body.startswith(b"got ") and r.body.endswith(b" http.request")
        c.send(request("GET", "/next"))
        assert c.read_response().body == b"ok /next"
