"""Access log: one line per request, seeds' field order, text and JSON, log_off."""

from __future__ import annotations

import base64
import json
import os
import re
import time

import httpx

from skitai.observability.accesslog import AccessLog, LogOff
from skitai.observability.record import RequestRecord
from tests.server.conftest import run_server

TEXT_LINE = re.compile(
    r"^(?P<date>\d{4}\.\d\d\.\d\d) (?P<time>\d\d:\d\d:\d\d) (?P<client>\S+) (?P<host>\S+) "
    r"(?P<method>\S+) (?P<uri>\S+) (?P<version>HTTP/\S+) (?P<req>\d+) (?P<status>\d{3}) (?P<resp>\d+) "
    r"(?P<gtxnid>\S+) (?P<ltxnid>\S+) (?P<user>-|\"[^\"]*\") (?P<bearer>-|bearer) "
    r"(?P<referer>-|\"(?:[^\"\\]|\\.)*\") (?P<ua>-|\"(?:[^\"\\]|\\.)*\") (?P<xff>\S+) "
    r"(?P<worker>W\d+|M) (?P<active>\d+) (?P<handling>\d+)ms (?P<transfer>\d+)ms$"
)


def _record(**kw) -> RequestRecord:
    r = RequestRecord()
    r.started, r.responded, r.finished = 1.0, 1.004, 1.007
    r.client, r.host, r.method, r.uri, r.version = "10.0.0.1", "example.com", "GET", "/a?b=1", "1.1"
    r.status, r.request_bytes, r.response_bytes = 200, 0, 32970
    r.gtxnid, r.ltxnid = "GTID-W0-C3-R8", "1000"
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def _read_fd_log(tmp_path, fmt, **kw):
    path = tmp_path / "a.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    log = AccessLog(fd, fmt, "W2", owned=True)
    log.log(_record(**kw), 7)
    log.close()
    return path.read_text()


def test_text_fields_in_seed_order(tmp_path):
    line = _read_fd_log(tmp_path, "text", user="alice", bearer=False, referer="http://r/",
                        user_agent='Mozilla "x"', forwarded_for="1.2.3.4")
    m = TEXT_LINE.match(line.rstrip("\n"))
    assert m, line
    g = m.groupdict()
    assert (g["client"], g["host"], g["method"], g["uri"], g["version"]) == (
        "10.0.0.1", "example.com", "GET", "/a?b=1", "HTTP/1.1")
    assert (g["req"], g["status"], g["resp"]) == ("0", "200", "32970")
    assert (g["gtxnid"], g["ltxnid"], g["user"], g["bearer"]) == ("GTID-W0-C3-R8", "1000", '"alice"', "-")
    assert g["referer"] == '"http://r/"' and g["ua"] == '"Mozilla \\"x\\""'
    assert (g["xff"], g["worker"], g["active"]) == ("1.2.3.4", "W2", "7")
    assert (g["handling"], g["transfer"]) == ("4", "3")


def test_text_missing_values_are_dashes_and_no_injection(tmp_path):
    line = _read_fd_log(tmp_path, "text", host=None, user_agent="evil\nline", bearer=True)
    assert line.count("\n") == 1
    m = TEXT_LINE.match(line.rstrip("\n"))
    assert m, line
    assert m["host"] == "-" and m["user"] == "-" and m["referer"] == "-" and m["bearer"] == "bearer"
    assert m["ua"] == '"evil\\x0aline"'


def test_wire_values_cannot_shift_fields(tmp_path):
    line = _read_fd_log(tmp_path, "text", uri="/a b", gtxnid="G 1", ltxnid="1000\nX", method="GE T",
                        host="h h", forwarded_for="1.1.1.1, 2.2.2.2")
    assert line.count("\n") == 1
    m = TEXT_LINE.match(line.rstrip("\n"))
    assert m, line
    assert (m["uri"], m["gtxnid"], m["ltxnid"], m["method"]) == ("/a%20b", "G%201", "1000\\x0aX", "GE%20T")


def test_json_has_the_same_fields(tmp_path):
    d = json.loads(_read_fd_log(tmp_path, "json", user="bob", bearer=True))
    for k in ("date", "time", "client", "host", "method", "uri", "version", "request_bytes", "status",
              "response_bytes", "gtxnid", "ltxnid", "user", "bearer", "referer", "user_agent",
              "forwarded_for", "worker", "active_connections", "handling_ms", "transfer_ms"):
        assert k in d, k
    assert d["user"] == "bob" and d["bearer"] is True and d["worker"] == "W2"
    assert d["active_connections"] == 7 and d["status"] == 200
    assert abs(d["handling_ms"] - 4.0) < 0.01


def test_log_off_patterns():
    off = LogOff(["/static/", "*.css"])
    assert off.match("/static/app.js")
    assert off.match("/theme/site.css?v=2")
    assert not off.match("/api/static/x")
    assert not off.match("/index.html")
    assert not LogOff([])


def _wait_lines(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [ln for ln in path.read_text().splitlines() if ln]
            if len(lines) >= n:
                return lines
        time.sleep(0.05)
    return lines


def test_server_writes_text_lines(tmp_path):
    logdir = tmp_path / "logs"
    with run_server("--logpath", str(logdir), "--log-off", "/static/,*.css") as srv:
        auth = base64.b64encode(b"carol:secret").decode()
        with httpx.Client(base_url=srv.url) as c:
            c.post("/echo?x=1", content=b"hello", headers={
                "Authorization": f"Basic {auth}", "Referer": "http://ref/",
                "User-Agent": "tester/1.0", "X-Forwarded-For": "9.9.9.9",
                "X-Gtxnid": "GTID-W9-C1-R1", "X-Ltxnid": "2001"})
            c.get("/static/logo.png")
            c.get("/site.css")
            c.get("/bearer", headers={"Authorization": "Bearer abc"})
        from tests.server.rawhttp import Conn
        with Conn(srv.port) as raw:
            raw.send(b"POST /bad HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            assert raw.read_response().status == 400
        lines = _wait_lines(logdir / "request.log", 3)
    assert len(lines) == 3, lines
    bad = TEXT_LINE.match(lines[2])
    assert bad and bad["status"] == "400" and bad["uri"] == "/bad" and bad["method"] == "POST"
    m = TEXT_LINE.match(lines[0])
    assert m, lines[0]
    g = m.groupdict()
    assert g["method"] == "POST" and g["uri"] == "/echo?x=1" and g["version"] == "HTTP/1.1"
    # the peer 127.0.0.1 is a trusted proxy by default: client = the resolved X-Forwarded-For hop
    assert g["client"] == "9.9.9.9" and g["host"] == f"127.0.0.1:{srv.port}"
    assert (g["req"], g["status"], g["resp"]) == ("5", "200", "5")
    assert (g["gtxnid"], g["ltxnid"]) == ("GTID-W9-C1-R1", "2001")
    assert g["user"] == '"carol"' and g["bearer"] == "-"
    assert g["referer"] == '"http://ref/"' and g["ua"] == '"tester/1.0"' and g["xff"] == "9.9.9.9"
    assert g["worker"] == "W0" and int(g["active"]) >= 1
    m2 = TEXT_LINE.match(lines[1])
    assert m2 and m2["uri"] == "/bearer" and m2["bearer"] == "bearer" and m2["user"] == "-"
    assert m2["gtxnid"].startswith("GTID-W0-") and m2["ltxnid"] == "1000"


def test_server_writes_json_lines_to_stdout():
    with run_server("--log-format", "json") as srv:
        httpx.get(srv.url + "/json-me?q=1", headers={"User-Agent": "j/1"})
        deadline = time.monotonic() + 5
        found = None
        while time.monotonic() < deadline and found is None:
            for ln in srv.output().splitlines():
                if ln.startswith("{") and "/json-me" in ln:
                    found = json.loads(ln)
            time.sleep(0.05)
    assert found is not None
    assert found["uri"] == "/json-me?q=1" and found["status"] == 200 and found["user_agent"] == "j/1"
    assert found["gtxnid"].startswith("GTID-W0-") and found["ltxnid"] == "1000"
    assert found["worker"] == "W0" and found["version"] == "1.1"
