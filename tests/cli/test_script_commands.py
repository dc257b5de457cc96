"""Seed-style script commands (start/status/stop, -d/-s) reach the daemon with the resolved preferences."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.support import PYTHON, ROOT, free_port

DEMO = str(ROOT / "examples" / "demo" / "app.py")


def _run(args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKITAI_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([PYTHON, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _pid(pidfile):
    try:
        return int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.mark.slow
@pytest.mark.parametrize("start,stop,target", [
    (["start"], ["stop"], [DEMO]),
    (["-d"], ["-s"], [DEMO]),
    (["-d"], ["stop"], ["-m", "skitai", "serve", "tests.testing.tinyapp:app"]),
])
def test_start_status_stop(tmp_path, start, stop, target):
    port = free_port()
    pidfile = str(tmp_path / "app.pid")
    common = ["--port", str(port), "--workers", "1", "--pidfile", pidfile]
    try:
        out = _run([*target, *start, *common])
        assert out.returncode == 0, out.stdout + out.stderr
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        assert status in (200, 404)  # served by the app either way
        assert _run([*target, "status", *common]).returncode == 0
        out = _run([*target, *stop, *common])
        assert out.returncode == 0, out.stdout + out.stderr
        assert _run([*target, "status", *common]).returncode != 0
    finally:
        pid = _pid(pidfile)
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
