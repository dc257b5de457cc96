"""``uds``: a unix-domain-socket listener bound by the master and served by every worker.

Real servers (``python -m skitai serve``), real clients over the socket file
(httpx's uds transport, websockets' unix_connect, raw AF_UNIX).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import httpx
import pytest

from skitai.config.prefs import ConfigError, resolve
from skitai.process import sockets
from tests.process.helpers import wait_for, worker_pids
from tests.support import PYTHON, ROOT, ServerProcess, free_port

APP = "tests.apps.uds_app:app"


@pytest.fixture
def sdir():
    """A short directory: sun_path holds 107 bytes, pytest's tmp_path can be longer."""
    d = tempfile.mkdtemp(prefix="sk-uds-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKITAI_") and k not in ("PORT", "WEB_CONCURRENCY")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def server(path: str, *extra: str, workers: int = 1) -> ServerProcess:
    srv = ServerProcess(["-m", "skitai", "serve", APP, "--uds", path, "--workers", str(workers),
                         "--shutdown-timeout", "3", *extra], port=0, wait=False)
    srv.env = {**_env(), "PYTHONUNBUFFERED": "1"}
    return srv


def group_alive(pgid: int) -> bool:
    """True while any process of the group (zombies included) still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def connectable(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(0.5)
        try:
            c.connect(path)
            return True
        except OSError:
            return False


def wait_uds(srv: ServerProcess, path: str, timeout: float = 20.0) -> None:
    def up():
        if srv.proc.poll() is not None:
            raise AssertionError(f"server exited {srv.proc.returncode}:\n{srv.output()}")
        return connectable(path)
    wait_for(up, timeout, what=f"a listener on {path}", detail=srv.output)


def uds_client(path: str, **kw) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=path, **kw), base_url="http://app", timeout=10)


def get_json(path: str, headers=None) -> dict:
    with uds_client(path) as c:
        r = c.get("/", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "skitai", "serve", APP, *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


# --- serving --------------------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_serves_http_over_the_socket_with_n_workers(sdir, workers):
    path = os.path.join(sdir, "app.sock")
    with server(path, workers=workers) as srv:
        wait_uds(srv, path)
        wait_for(lambda: len(worker_pids(srv.pid)) == workers, 15, what=f"{workers} workers")
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
        pids = set()
        for _ in range(20 * workers):  # new connection each time
            info = get_json(path)
            pids.add(info["pid"])
            # ASGI: a unix socket has no client address; server is (path, None)
            assert info["client"] is None and info["peer"] is None
            assert info["server"] == [path, None]
            assert info["scheme"] == "http"
        assert pids <= worker_pids(srv.pid) and pids
        # the proxy in front (a local process) is trusted like 127.0.0.1 by default
        info = get_json(path, {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"})
        assert info["client"] == ["203.0.113.9", 0] and info["scheme"] == "https"
        with uds_client(path) as c:  # metrics and the access log take a peer without address
            assert c.get("/metrics").status_code == 200
        out = srv.output()
        assert f"listen=unix:{path}" in out
        assert "127.0.0.1:5000" not in out  # uds alone replaces the TCP listener
        wait_for(lambda: " - app GET / HTTP/1.1" in srv.output(), 5, what="access log line",
                 detail=srv.output)
        assert "Traceback" not in srv.output()


def test_uds_mode_and_untrusted_proxy(sdir):
    path = os.path.join(sdir, "app.sock")
    with server(path, "--uds-mode", "600", "--trusted-proxies", "") as srv:
        wait_uds(srv, path)
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        info = get_json(path, {"x-forwarded-for": "203.0.113.9"})
        assert info["client"] is None


def test_explicit_port_serves_tcp_beside_the_socket(sdir):
    path = os.path.join(sdir, "app.sock")
    port = free_port()
    with server(path, "--port", str(port)) as srv:
        wait_uds(srv, path)
        r = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert r.status_code == 200 and r.json()["server"] == ["127.0.0.1", port]
        assert get_json(path)["server"] == [path, None]


def test_h2c_prior_knowledge_over_the_socket(sdir):
    path = os.path.join(sdir, "app.sock")
    with server(path) as srv:
        wait_uds(srv, path)
        with uds_client(path, http1=False, http2=True) as c:
            r = c.get("/")
        assert r.http_version == "HTTP/2" and r.status_code == 200
        info = r.json()
        assert info["http_version"] == "2" and info["client"] is None and info["server"] == [path, None]


def test_websocket_over_the_socket(sdir):
    from websockets.sync.client import unix_connect

    path = os.path.join(sdir, "app.sock")
    with server(path) as srv:
        wait_uds(srv, path)
        with unix_connect(path, uri="ws://app/ws", open_timeout=10) as ws:
            info = json.loads(ws.recv(timeout=10))
            assert info["client"] is None and info["server"] == [path, None] and info["scheme"] == "ws"
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo:hi"


# --- the socket file's life ------------------------------------------------------------------------

def test_stale_socket_file_is_replaced_and_removed_on_sigterm(sdir):
    path = os.path.join(sdir, "app.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # a socket file nobody listens on: what a SIGKILLed server leaves
    dead.close()
    os.chmod(path, 0o600)  # (inode numbers are reused at once: tell the files apart by their mode)
    with server(path, workers=2) as srv:
        wait_uds(srv, path)
        assert get_json(path)["server"] == [path, None]
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o666
        assert srv.stop(signal.SIGTERM) == 0, srv.output()
        assert not os.path.exists(path), srv.output()


def test_replaced_worker_keeps_serving_the_same_socket_file(sdir):
    """The master holds the socket: a worker leaving (max_requests) neither closes nor unlinks it."""
    path = os.path.join(sdir, "app.sock")
    with server(path, "--max-requests", "2") as srv:
        wait_uds(srv, path)
        first = worker_pids(srv.pid)
        pids = set()
        for _ in range(12):
            pids.add(get_json(path)["pid"])
            if len(pids) >= 2:
                break
            time.sleep(0.2)
        assert len(pids) >= 2, srv.output()  # a new worker answered on the same file
        assert worker_pids(srv.pid) != first and stat.S_ISSOCK(os.lstat(path).st_mode)


def test_sigkilled_server_leaves_a_file_the_next_start_replaces(sdir):
    path = os.path.join(sdir, "app.sock")
    with server(path) as srv:
        wait_uds(srv, path)
        os.killpg(srv.pid, signal.SIGKILL)
        srv.proc.wait(10)
        gone_by = time.monotonic() + 10  # the master is reaped first; its workers' listen sockets die with them
        while group_alive(srv.pid) and time.monotonic() < gone_by:
            time.sleep(0.05)
    assert stat.S_ISSOCK(os.lstat(path).st_mode) and not connectable(path)
    with server(path) as srv:
        wait_uds(srv, path)
        assert get_json(path)["client"] is None


def test_non_socket_file_is_refused_with_exit_2(sdir):
    path = os.path.join(sdir, "app.sock")
    with open(path, "w") as f:
        f.write("precious\n")
    r = run_cli("--uds", path)
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]  # after the effective configuration `serve` prints
    assert last.startswith("skitai: ") and "uds" in last and "not a socket" in last and path in last
    with open(path) as f:
        assert f.read() == "precious\n"


def test_missing_directory_is_refused_with_exit_2(sdir):
    r = run_cli("--uds", os.path.join(sdir, "nope", "app.sock"))
    assert r.returncode == 2 and "missing directory" in r.stderr


def test_socket_a_live_server_answers_on_is_refused_with_exit_2(sdir):
    path = os.path.join(sdir, "app.sock")
    with server(path) as srv:
        wait_uds(srv, path)
        ino = os.lstat(path).st_ino
        r = run_cli("--uds", path)
        assert r.returncode == 2, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("skitai: ") and "running server" in last and "Traceback" not in r.stderr
        assert os.lstat(path).st_ino == ino  # untouched: the first server keeps serving
        assert get_json(path)["client"] is None


def test_bind_refuses_a_live_socket_when_raced(sdir):
    """The master checks again when it binds (someone may have started in between)."""
    path = os.path.join(sdir, "live.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(path)
    live.listen(1)
    try:
        prefs = resolve({"uds": path})
        with pytest.raises(OSError, match="running server"):
            sockets.bind(prefs)
        with pytest.raises(ConfigError, match="running server"):
            sockets.check_unix(prefs)
        sockets.check_unix(prefs, live=False)  # daemon start: the pid file decides
    finally:
        live.close()
    assert os.path.exists(path)


def test_release_removes_only_the_file_it_bound(sdir):
    path = os.path.join(sdir, "a.sock")
    socks = sockets.bind(resolve({"uds": path, "uds_mode": 0o640}))
    assert [s.family for s in socks] == [socket.AF_UNIX]
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o640
    sockets.release(socks)
    assert not os.path.exists(path)
    socks = sockets.bind(resolve({"uds": path}))
    os.unlink(path)  # someone else's server takes the path over
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(path)
    try:
        sockets.release(socks)
        assert os.path.exists(path)  # not ours: left alone
    finally:
        other.close()


# --- the preferences --------------------------------------------------------------------------------

def test_uds_preferences_parse_from_every_source():
    assert resolve({"uds": "unix:/run/app.sock"}).uds == "/run/app.sock"
    p = resolve({}, {"SKITAI_UDS": "/tmp/x.sock", "SKITAI_UDS_MODE": "0660"}, [])
    assert (p.uds, p.uds_mode) == ("/tmp/x.sock", 0o660)
    p = resolve({}, {}, ["--uds", "/tmp/y.sock", "--uds-mode", "0o600"])
    assert (p.uds, p.uds_mode) == ("/tmp/y.sock", 0o600)
    assert resolve({}).uds is None and resolve({}).uds_mode == 0o666
    with pytest.raises(ConfigError, match="uds"):
        resolve({}, {"SKITAI_UDS": "/" + "x" * 107}, [])
    with pytest.raises(ConfigError, match="uds_mode"):
        resolve({}, {}, ["--uds-mode", "999"])


def test_tcp_rule():
    assert sockets.tcp_wanted(resolve({}))
    assert not sockets.tcp_wanted(resolve({"uds": "/tmp/a.sock"}))
    assert sockets.tcp_wanted(resolve({"uds": "/tmp/a.sock", "port": 5000}))  # explicit, even the default
    assert sockets.tcp_wanted(resolve({"uds": "/tmp/a.sock"}, {"PORT": "8080"}, []))


def test_skitai_run_script_takes_uds(sdir):
    """``skitai.run(uds=...)`` from a seed-style script."""
    path = os.path.join(sdir, "s.sock")
    script = os.path.join(sdir, "app.py")
    with open(script, "w") as f:
        f.write("import skitai\nskitai.mount('/', 'tests.apps.uds_app:app')\n"
                f"skitai.run(uds={path!r}, workers=1, shutdown_timeout=3)\n")
    srv = ServerProcess([script], port=0, wait=False)
    srv.env = {**_env(), "PYTHONUNBUFFERED": "1"}
    with srv:
        wait_uds(srv, path)
        assert get_json(path)["server"] == [path, None]
        assert srv.stop(signal.SIGINT) == 0
    assert not os.path.exists(path)



@pytest.mark.slow
def test_shipped_nginx_sidecar_config_proxies_over_the_socket(sdir):
    """docker/nginx/ with its upstream pointed at ``unix:PATH``: the sidecar-over-a-shared-volume case."""
    from tests.observability.test_nginx_sidecar import Nginx

    os.chmod(sdir, 0o755)  # nginx workers (nobody) must reach the socket: directory and 0o666 file
    path = os.path.join(sdir, "app.sock")
    with server(path) as srv:
        wait_uds(srv, path)
        ng = Nginx(1)  # port 1: a marker, the upstream line is pointed at the socket below
        conf = ng.base / "conf.d" / "skitai.conf"
        text = conf.read_text()
        assert "server 127.0.0.1:1 " in text
        conf.write_text(text.replace("server 127.0.0.1:1 ", f"server unix:{path} "))
        with ng:
            transport = httpx.HTTPTransport(local_address="127.0.0.2")
            with httpx.Client(transport=transport, timeout=10) as c:
                for _ in range(3):
                    r = c.get(ng.url + "/")
                    assert r.status_code == 200, ng.errors()
                    info = r.json()
                    assert info["server"] == [path, None]
                    # nginx on the socket is trusted: the client is what nginx saw
                    assert info["client"] == ["127.0.0.2", 0] and info["peer"] is None
