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
from collections.abc import Sequence
from typing import Any

from .client import HttpClient

START_TIMEOUT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """The server did not start; the message carries its output."""


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


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class TestClient(HttpClient):
    """A real server for ``script_or_package`` plus a requests-like client talking to it.

    Starts the server when created; ``stop()`` (or leaving the ``with`` block)
    kills its whole process group. ``args`` are extra command line settings
    (``["--workers", "1"]``), ``env`` extra environment variables. With
    ``silent=False`` the server's output goes to this terminal; otherwise it
    is kept for ``output()`` and shown in the error when the server does not
    start. ``ssl=True`` talks HTTPS (the app must enable TLS; certificates are
    not verified).
    """

    __test__ = False

    def __init__(self, script_or_package: str, port: int | None = None, silent: bool = True,
                 ssl: bool = False, args: Sequence[str] = (), env: dict[str, str] | None = None,
                 cwd: str | None = None, timeout: float = START_TIMEOUT):
        if port and not _port_is_free(port):
            raise ServerError(f"port {port} is already in use; test_client needs a free port")
        self.port = port = port or free_port()
        super().__init__(f"{'https' if ssl else 'http'}://127.0.0.1:{port}", timeout=30.0)
        self.target = script_or_package
        self.command = _command(script_or_package, port, args)
        full_env = dict(os.environ)
        full_env["PYTHONUNBUFFERED"] = "1"
        here = cwd or os.getcwd()
        if self.command[1] == "-m":
            # ``skitai serve pkg.mod:app``: the app is imported from the working directory. A script
            # runs with its own directory first on sys.path instead; adding the working directory
            # would let e.g. ``tests/atila`` shadow the ``atila`` package the script imports.
            full_env["PYTHONPATH"] = os.pathsep.join(p for p in (here, full_env.get("PYTHONPATH", "")) if p)
        full_env.update(env or {})
        self.log_path: str | None = None
        self._log = None
        if silent:
            fd, self.log_path = tempfile.mkstemp(prefix="skitai-test-client-", suffix=".log")
            self._log = os.fdopen(fd, "wb")
        self.process = subprocess.Popen(
            self.command, cwd=here, env=full_env, stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait(port, self.process, timeout)
        except ServerError as e:
            message = f"{e}; command: {' '.join(self.command)}\n{self.output()}"
            self.stop()
            raise ServerError(message) from None

    def output(self) -> str:
        """What the server wrote so far (empty when silent=False: it went to the terminal)."""
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def set_default_header(self, name: str, value: str) -> None:
        """Send this header with every later request (seed API)."""
        self.headers[name] = value

    def clone(self) -> HttpClient:
        """Another client for the same server sharing this one's cookies and default headers."""
        other = HttpClient(self.base_url, self.timeout, self.headers)
        other.cookies = self.cookies
        return other

    def stop(self) -> None:
        """Kill the server (its whole process group) and close the connections."""
        self.close()
        _kill(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.log_path:
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)
            self.log_path = None

    def __enter__(self) -> TestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def test_client(script_or_package: str, port: int | None = None, silent: bool = True, ssl: bool = False,
                args: Sequence[str] = (), env: dict[str, str] | None = None, cwd: str | None = None,
                timeout: float = START_TIMEOUT, **kw: Any) -> TestClient:
    """Start a real server for ``script_or_package``; use as ``with test_client(...) as client:``.

    The one code path behind ``skitai.test_client`` and ``skitai.testing.test_client``. A
    relative script path that does not exist from the working directory is tried relative
    to the calling test file (the docs write ``launch('../examples/dumbseek/skitaid.py')``
    from a tests directory). A script runs with its own directory first on ``sys.path``
    and the working directory is not added (see ``TestClient``).
    """
    kw.pop("dry", None)  # [001] signature ``test_client(script, port, ssl, silent, dry)``; nothing to do
    if kw:
        raise TypeError(f"test_client() got unexpected keyword arguments: {', '.join(sorted(kw))}")
    target = script_or_package
    if isinstance(target, str) and target.endswith(".py"):
        base = cwd or os.getcwd()
        if not os.path.isabs(target) and not os.path.isfile(os.path.join(base, target)):
            caller = _caller_file()
            if caller:
                candidate = os.path.join(os.path.dirname(os.path.abspath(caller)), target)
                if os.path.isfile(candidate):
                    target = os.path.normpath(candidate)
        if os.path.isfile(os.path.join(base, target)):
            target = os.path.abspath(os.path.join(base, target))
    return TestClient(target, port=port, silent=silent, ssl=ssl, args=args, env=env, cwd=cwd,
                      timeout=timeout)


def _caller_file() -> str | None:
    """The file of the first frame outside the ``skitai`` package's own entry points."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != "skitai" and not name.startswith("skitai.testing"):
            return frame.f_globals.get("__file__")
        frame = frame.f_back
    return None


test_client.__test__ = False  # type: ignore[attr-defined]
