"""Skitai docs sections 2-12 as an outside tester reads them: one seed-style launch script
(tests/seeds/apps/site/app.py) with every documented mount form, pref, log_off, set_keep_alive and
set_request_timeout, run as a real server; plus `python app.py -d` / status / stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

import skitai

from .conftest import APPS

SITE = APPS / "site"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return tmp_path_factory.mktemp("seedlogs")


@pytest.fixture(scope="module")
def cli(logdir):
    with skitai.test_client(str(SITE / "app.py"), args=["--workers", "1"], cwd=str(SITE),
                            env={"SEED_LOGPATH": str(logdir)}) as c:
        yield c


def test_mount_forms(cli):
    assert cli.get("/").text == "root /"
    assert cli.get("/anything").text == "root /anything"
    assert cli.get("/v1/x").text == "v1 /v1 /x"
    assert cli.get("/v2/").text == "v2"
    assert cli.get("/v3/").text == "v3"
    assert cli.get("/wissen/").text == "wissen export"
    assert cli.get("/wissen1/").text == "wissen app_v1"
    r = cli.get("/static/css/site.css")
    assert r.text == "body { color: red }\n" and r.headers["content-type"].startswith("text/css")
    assert "static index" in cli.get("/static/").text
    assert _raw_get(cli.port, "/", "www.site1.com").endswith(b"site1")
    assert _raw_get(cli.port, "/", "www.other.com").endswith(b"root /")
    assert cli.get("/v10").text == "root /v10"  # /v1 never serves /v10


def _raw_get(port: int, path: str, host: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_pref_overrides_app(cli):
    assert cli.get("/atila/").json() == {"prefA": 1, "prefB": 2, "debug": True, "use_reloader": True}


def test_pref_max_client_body_size(cli):
    assert cli.post("/atila/upload", data=b"x" * 1000).text == "1000"
    assert cli.post("/atila/upload", data=b"x" * 2000).status_code == 413


def test_log_off(cli, logdir):
    cli.get("/static/css/site.css")
    cli.get("/v2/logged-path")
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline:
        text = "".join(p.read_text(errors="replace") for p in logdir.rglob("*") if p.is_file())
        if "/v2/logged-path" in text:
            break
        time.sleep(0.1)
    assert "/v2/logged-path" in text
    assert "/static/css/site.css" not in text


def _connect(cli) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", cli.port), timeout=10)
    return s


def test_set_keep_alive_closes_idle_connection(cli):
    s = _connect(cli)
    try:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"v2" not in data:
            data += s.recv(65536)
        t0 = time.monotonic()
        rest = s.recv(65536)  # blocks until the server closes the idle connection
        waited = time.monotonic() - t0
        assert rest == b""
        assert 1.0 <= waited < 15.0, waited  # set_keep_alive (2), not the default 30
    finally:
        s.close()


def test_set_request_timeout_drops_a_stalled_request(cli):
    s = _connect(cli)
    try:
        s.sendall(b"POST /atila/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        t0 = time.monotonic()
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        waited = time.monotonic() - t0
        assert waited < 20.0, waited  # set_request_timeout (3), not the default 30
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data
    finally:
        s.close()


def test_old_mount_returns_a_starter_and_run_accepts_ip(tmp_path):
    """[000] ``skitai.mount ('/', app) (port = 5000)`` and [001] ``skitai.run (ip = ..., port = ...)``."""
    script = tmp_path / "old.py"
    script.write_text(
        "import skitai\n"
        "def app (env, start_response):\n"
        "    start_response ('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'old style']\n"
        "if __name__ == '__main__':\n"
        "    import os\n"
        "    if os.environ.get ('SEED_IP'):\n"
        "        skitai.mount ('/', app)\n"
        "        skitai.run (ip = '127.0.0.1', port = 5000, threads = 8, name = 'myserver')\n"
        "    skitai.mount ('/', app) (port = 5000)\n")
    for env in ({}, {"SEED_IP": "1"}):
        with skitai.test_client(str(script), args=["--workers", "1"], env=env) as c:
            assert c.get("/").text == "old style"


def _status(script, env):
    return subprocess.run([sys.executable, str(script), "status"], env=env, capture_output=True, text=True,
                          timeout=30)


def test_daemon_start_status_stop(tmp_path):
    """``python app.py -d`` then ``status`` and ``stop`` (posix)."""
    from skitai.testing.server import free_port

    port = free_port()
    script = tmp_path / "daemon_app.py"
    script.write_text(
        "import skitai\n"
        "def app (env, start_response):\n"
        "    start_response ('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'daemon']\n"
        "if __name__ == '__main__':\n"
        f"    skitai.mount ('/', app)\n    skitai.run (port = {port}, workers = 1, name = 'seeddaemon')\n")
    env = dict(os.environ)
    env["SKITAI_PIDFILE"] = str(tmp_path / "seed.pid")
    started = subprocess.run([sys.executable, str(script), "-d"], env=env, capture_output=True, text=True,
                             timeout=30)
    try:
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 15
        body = b""
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    while chunk := s.recv(65536):
                        body += chunk
                break
            except OSError:
                time.sleep(0.1)
        assert body.endswith(b"daemon"), body
        st = _status(script, env)
        assert st.returncode == 0 and "running" in (st.stdout + st.stderr).lower(), st
    finally:
        stopped = subprocess.run([sys.executable, str(script), "stop"], env=env, capture_output=True, text=True,
                                 timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    st = _status(script, env)
    assert st.returncode != 0 and "not running" in (st.stdout + st.stderr).lower(), st


def test_run_legacy_mount_threads_zero_and_flags(tmp_path):
    """``skitai.run (mount = {'/admin': app})``, ``threads = 0``, PATCH, and the flags
    ``-v``, ``---production``, ``--silent``, ``--devel`` on the script's command line."""
    script = tmp_path / "legacy.py"
    script.write_text(
        "import skitai\n"
        "def app (env, start_response):\n"
        "    start_response ('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [(env ['REQUEST_METHOD'] + ' ' + env ['SCRIPT_NAME']).encode ()]\n"
        "if __name__ == '__main__':\n"
        "    skitai.run (mount = {'/admin': app}, threads = 0, port = 5000)\n")
    for flags in ([], ["-v"], ["---production"], ["--silent"], ["--devel"]):
        with skitai.test_client(str(script), args=["--workers", "1", *flags]) as c:
            assert c.get("/admin/x").text == "GET /admin", flags
            assert c.patch("/admin/x", data=b"{}").text == "PATCH /admin", flags


def test_static_and_app_at_one_point_and_file_mount():
    with skitai.test_client(str(APPS / "samepoint" / "app.py"), args=["--workers", "1"]) as c:
        assert c.get("/hello.txt").text == "static file\n"
        assert c.get("/").text == "app index"
        assert c.get("/api").json() == {"prefA": 1}
        assert c.get("/self/").text == "self-mounted"
        assert c.post("/hello.txt").status_code in (404, 405)  # not a static method: goes to the app


def test_django_forms_and_timeout_calls():
    with skitai.test_client(str(APPS / "serve_django.py"), args=["--workers", "1"]) as c:
        assert c.get("/dj/admin/").text == "django /dj|/admin/"
        assert c.get("/dj2/x").text == "django /dj2|/x"
