"""Seed-style daemon commands: start/-d, status, stop/-s, restart/-r with a pid file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from skitai.process import daemon
from tests.process.helpers import get, wait_for, worker_pids
from tests.support import ROOT, free_port

pytestmark = pytest.mark.slow


def run_cmd(cmd, port, pidfile, *extra, timeout=30):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tests.process.standin", "--port", str(port), "--workers", "1",
         "--pidfile", str(pidfile), "--shutdown-timeout", "3", *extra, cmd],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_start_status_stop_restart(tmp_path):
    port = free_port()
    pidfile = tmp_path / "run" / "app.pid"
    r = run_cmd("status", port, pidfile)
    assert (r.returncode, r.stdout.strip()) == (3, "not running")
    r = run_cmd("-d", port, pidfile)
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("started (pid ")
        pid = int(pidfile.read_text())
        assert get(port)[0] == 200
        assert worker_pids(pid)
        r = run_cmd("status", port, pidfile)
        assert (r.returncode, r.stdout.strip()) == (0, f"running (pid {pid})")
        r = run_cmd("start", port, pidfile)  # idempotent, LSB style
        assert r.returncode == 0 and "already running" in r.stdout
        r = run_cmd("restart", port, pidfile)
        assert r.returncode == 0, r.stderr
        pid2 = int(pidfile.read_text())
        assert pid2 != pid
        wait_for(lambda: not daemon._alive(pid), 5, what="old master gone")
        assert get(port)[0] == 200
        r = run_cmd("-s", port, pidfile)
        assert r.returncode == 0 and f"stopped (pid {pid2})" in r.stdout
        assert not pidfile.exists()
        assert not daemon._alive(pid2)
        r = run_cmd("status", port, pidfile)
        assert r.returncode == 3
        # the default log file sits next to the pid file and has the master's lines
        log = (tmp_path / "run" / "app.log").read_text()
        assert "master started" in log and "master stopped exit=0" in log
    finally:
        pid = daemon.read_pidfile(str(pidfile))
        if pid and daemon._alive(pid):
            os.kill(pid, 9)


def test_stale_pidfile_is_detected_and_removed(tmp_path):
    pidfile = tmp_path / "app.pid"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pidfile.write_text(f"{dead.pid}\n")
    port = free_port()
    r = run_cmd("status", port, pidfile)
    assert r.returncode == 3 and "stale" in r.stdout
    assert not pidfile.exists()
    pidfile.write_text("garbage\n")
    r = run_cmd("stop", port, pidfile)
    assert (r.returncode, r.stdout.strip()) == (0, "not running")
    assert not pidfile.exists()


def test_start_reports_a_busy_port(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cmd("start", port, tmp_path / "app.pid")
    assert r.returncode == 1 and "cannot start" in r.stderr
    assert not (tmp_path / "app.pid").exists()


def test_default_pidfile_is_per_user_and_per_app(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    a = daemon.pidfile_for(SimpleNamespace(name="shop/app", pidfile=None))
    b = daemon.pidfile_for(SimpleNamespace(name="blog/app", pidfile=None))
    assert a == str(tmp_path / "skitai" / "shop-app.pid") and a != b
    assert daemon.logfile_for(SimpleNamespace(logpath=None), a).endswith("shop-app.log")
    assert daemon.logfile_for(SimpleNamespace(logpath=str(tmp_path / "logs")), a) == \
        str(tmp_path / "logs" / "server.log")


def test_unknown_command_is_exit_2(capsys):
    assert daemon.command("bogus", SimpleNamespace(pidfile="/nonexistent/x.pid")) == 2
    assert "start|stop|restart|status" in capsys.readouterr().err


def test_foreground_master_writes_and_removes_its_pidfile(tmp_path):
    from tests.support import ServerProcess
    port = free_port()
    pidfile = tmp_path / "fg.pid"
    with ServerProcess(["-m", "tests.process.standin", "--port", str(port), "--workers", "1",
                        "--pidfile", str(pidfile)], port) as srv:
        wait_for(pidfile.exists, 5, what="pid file")
        assert int(pidfile.read_text()) == srv.pid
        r = run_cmd("status", port, pidfile)
        assert r.returncode == 0
        assert srv.stop() == 0
        time.sleep(0.1)
        assert not pidfile.exists()


def test_unwritable_pidfile_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "tests.process.standin", "--port", str(port),
                        "--workers", "1", "--pidfile", str(blocker / "app.pid")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "cannot write the pid file" in r.stderr and "Traceback" not in r.stderr
