"""``skitai.test_client``: the app in a real server subprocess, and a client talking to it.

A script path runs as ``python SCRIPT --port N`` (so a seed-style script that
calls ``skitai.run(port=5000)`` is tested unchanged: the command line wins);
anything else (``pkg.mod:app``, a package, a static directory) runs as
``python -m skitai serve APP --port N``. The client waits until the port
accepts connections, and the whole process group is killed on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence

from .client import HttpClient

START_TIMEOUT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """The server did not start; the message carries its output."""


class TestClient(HttpClient):
    """An ``HttpClient`` bound to the server process it started (``.process``, ``.port``, ``.output()``)."""

    __test__ = False

    def __init__(self, base_url: str, process: subprocess.Popen, port: int, log_path: str | None,
                 timeout: float = 30.0):
        super().__init__(base_url, timeout)
        self.process = process
        self.port = port
        self.log_path = log_path

    def output(self) -> str:
        """What the server wrote so far (empty when silent=False: it went to the terminal)."""
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _command(target: str, port: int, args: Sequence[str]) -> list[str]:
    base = ["--port", str(port), "--address", "127.0.0.1", *args]
    if target.endswith(".py") and os.path.isfile(target):
        return [sys.executable, os.path.abspath(target), *base]
    return [sys.executable, "-m", "skitai", "serve", target, *base]


def _wait(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"server exited with code {proc.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group (workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


@contextlib.contextmanager
def test_client(script_or_package: str, port: int | None = None, silent: bool = True,
                args: Sequence[str] = (), env: dict[str, str] | None = None, cwd: str | None = None,
                timeout: float = START_TIMEOUT) -> Iterator[TestClient]:
    """Start a real server for ``script_or_package`` and yield a requests-like client for it.

    ``args`` are extra command line settings (``["--workers", "1"]``), ``env``
    extra environment variables. With ``silent=False`` the server's output goes
    to this terminal; otherwise it is kept for ``client.output()`` and shown in
    the error when the server does not start.
    """
    port = port or free_port()
    cmd = _command(script_or_package, port, args)
    full_env = dict(os.environ)
    full_env["PYTHONUNBUFFERED"] = "1"
    here = cwd or os.getcwd()
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (here, full_env.get("PYTHONPATH", "")) if p)
    full_env.update(env or {})
    log_path = None
    log = None
    if silent:
        fd, log_path = tempfile.mkstemp(prefix="skitai-test-client-", suffix=".log")
        log = os.fdopen(fd, "wb")
    proc = subprocess.Popen(cmd, cwd=here, env=full_env, stdout=log, stderr=subprocess.STDOUT if log else None,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    client = TestClient(f"http://127.0.0.1:{port}", proc, port, log_path)
    try:
        try:
            _wait(port, proc, timeout)
        except ServerError as e:
            _kill(proc)
            raise ServerError(f"{e}; command: {' '.join(cmd)}\n{client.output()}") from None
        yield client
    finally:
        client.close()
        _kill(proc)
        if log is not None:
            log.close()
        if log_path:
            with contextlib.suppress(OSError):
                os.unlink(log_path)


test_client.__test__ = False  # type: ignore[attr-defined]
