"""Shared helpers for tests that start real servers.

Every server a test starts binds 127.0.0.1 on a free port, runs in its own
process group, and is killed (the whole group) when the test ends, whatever
happened. Tools a test needs are looked up with ``require_tool`` which fails
(never skips) with a message naming the missing tool.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise RuntimeError(
            f"required tool '{name}' is not installed; .ci/run installs it (see scripts/test)"
        )
    return path


class ServerProcess:
    """A real server in a subprocess; use as a context manager.

    ``args`` is the argv after the python interpreter, e.g.
    ``["-m", "skitai", "serve", "tests.apps.hello:app", "--port", str(port)]``
    or ``["path/to/app.py"]``. ``port`` is waited for unless ``wait=False``.
    Output goes to ``self.log_path`` (a file) so pipes never fill up.
    """

    def __init__(self, args, port: int, env: dict | None = None, cwd=None,
                 wait: bool = True, timeout: float = 20.0, log_path=None):
        self.args = list(args)
        self.port = port
        self.env = dict(os.environ)
        self.env.setdefault("PYTHONPATH", str(ROOT))
        self.env["PYTHONUNBUFFERED"] = "1"
        if env:
            self.env.update(env)
        self.cwd = cwd or ROOT
        self.wait = wait
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(log_path) if log_path else None
        self._log = None

    def __enter__(self) -> ServerProcess:
        if self.log_path is None:
            import tempfile
            fd, name = tempfile.mkstemp(prefix="skitai-test-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, *self.args], cwd=self.cwd, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if self.wait:
            try:
                wait_port(self.port, timeout=self.timeout, proc=self.proc)
            except Exception:
                self.__exit__(None, None, None)
                raise RuntimeError(f"server did not start; output:\n{self.output()}") from None
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = 15, timeout: float = 20.0) -> int | None:  # 15 = SIGTERM (`signal` is a method here)
        """Send ``sig`` to the main process and wait; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self._log:
            self._log.close()


def raw_request(port: int, data: bytes, timeout: float = 5.0, read_until_close: bool = True) -> bytes:
    """Send raw bytes, return everything the server sends until it closes (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if not read_until_close:
                    break
        except TimeoutError:
            pass
        return b"".join(chunks)
