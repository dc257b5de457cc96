"""test_client's process handling and the stdlib HTTP client, against a stand-in stdlib server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from skitai.testing import ServerError, test_client

STANDIN = str(Path(__file__).with_name("stdlib_server.py"))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except OSError:
        return True


def test_client_starts_a_script_and_kills_it_on_exit():
    with test_client(STANDIN) as c:
        pid = c.process.pid
        r = c.get("/hello", params={"q": "1"})
        assert r.status_code == 200 and r.json()["path"] == "/hello?q=1"
        assert "stand-in server listening" in c.output()
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def test_verbs_bodies_and_keep_alive():
    with test_client(STANDIN) as c:
        for verb in ("post", "put", "patch", "delete", "options"):
            out = getattr(c, verb)("/v", json={"a": 1}).json()
            assert out["method"] == verb.upper() and out["body"] == '{"a": 1}'
            assert out["content_type"] == "application/json"
        assert c.head("/v").content == b""
        out = c.post("/form", data={"x": "1"}).json()
        assert out["body"] == "x=1" and out["content_type"] == "application/x-www-form-urlencoded"
        out = c.post("/up", files={"f": ("n.txt", b"DATA")}).json()
        assert 'filename="n.txt"' in out["body"] and "DATA" in out["body"]
        # the server closes this connection; the next request reconnects by itself
        assert c.get("/close").status_code == 200
        assert c.get("/after-close").json()["path"] == "/after-close"


def test_cookies_kept_across_calls():
    with test_client(STANDIN) as c:
        assert c.get("/x").json()["cookie"] == ""
        assert c.post("/login").cookies == {"sid": "s3cr3t"}
        assert c.get("/x").json()["cookie"] == "sid=s3cr3t"


def test_server_that_exits_early_is_reported_with_its_output():
    with pytest.raises(ServerError) as info, test_client(STANDIN, args=["--exit-early"]):
        pass
    assert "exited with code 3" in str(info.value)
    assert "stand-in server listening" in str(info.value)


def test_start_timeout_is_bounded(tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(60)\n")
    t0 = time.monotonic()
    with pytest.raises(ServerError, match="nothing listens"), test_client(str(script), timeout=1.0):
        pass
    assert time.monotonic() - t0 < 15


def test_test_client_is_not_collected_by_pytest():
    import skitai

    assert skitai.test_client.__test__ is False and test_client.__test__ is False
    assert signal.SIGTERM  # the module's kill path uses process groups


def test_client_without_with_block_clone_and_default_header():
    c = test_client(STANDIN)
    try:
        c.set_default_header("Accept", "application/json")
        c.post("/login")
        other = c.clone()
        out = other.get("/who").json()
        assert out["cookie"] == "sid=s3cr3t"
        assert c.get("/x").status_code == 200
    finally:
        c.stop()
    assert c.process.poll() is not None


def test_busy_port_is_refused():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(ServerError, match="already in use"):
            test_client(STANDIN, port=busy)
