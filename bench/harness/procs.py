"""Server processes: start in their own process group, measure their tree, always kill them.

Every server is started with ``start_new_session=True`` and remembered in
``RUNNING``; ``stop_all()`` (called from ``finally`` and signal handlers)
kills each group and any descendant that left the group, so a failed run
never leaves a server behind.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RUNNING: list[Instance] = []


def _die_with_runner() -> None:
    """In the child before exec: get SIGKILL if the bench itself is killed (Linux), so a
    ``kill -9`` of the runner does not leave a server master behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Launch:
    """How to start one server: argv, extra environment, working directory."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    ready_path: str = "/hello"
    # None = the server speaks HTTP/1.1 on ready_path; otherwise only the port is waited for
    http_check: bool = True


class NotAvailable(Exception):
    """The server (or this feature of it) does not exist here; reported, never fatal."""


class StartFailed(Exception):
    """The server was launched but did not come up; the message says why (with its log tail)."""


class Instance:
    def __init__(self, name: str, launch: Launch, port: int, workers: int, log_dir: Path):
        self.name = name
        self.launch = launch
        self.port = port
        self.workers = workers
        self.log_path = log_dir / f"{name.replace('/', '_').replace(' ', '_')}-{port}.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- life cycle ---------------------------------------------------------
    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ)
        env.update(self.launch.env)
        env["PYTHONUNBUFFERED"] = "1"
        self._log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.launch.argv, cwd=self.launch.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_runner)
        except OSError as e:
            self._log.close()
            raise StartFailed(f"cannot execute {self.launch.argv[0]}: {e}") from None
        RUNNING.append(self)
        deadline = time.monotonic() + timeout
        last = "nothing listens"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartFailed(f"exited with code {self.proc.returncode}: {self.log_tail()}")
            if not self.launch.http_check:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    time.sleep(0.1)
                    continue
            try:
                status, _body = http_get(self.port, self.launch.ready_path, timeout=2.0)
                if status < 500:
                    return
                last = f"status {status} on {self.launch.ready_path}"
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise StartFailed(f"not ready after {timeout:.0f}s ({last}): {self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        if self.proc is None:
            return
        tree = self.processes()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for p in tree:  # descendants that started their own session
            try:
                p.kill()
            except psutil.Error:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self._log:
            self._log.close()
        if self in RUNNING:
            RUNNING.remove(self)

    def log_tail(self, lines: int = 6) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text[-lines:])[-600:]

    # -- measuring ----------------------------------------------------------
    def processes(self) -> list[psutil.Process]:
        if not self.alive():
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def rss(self) -> dict:
        """RSS of the process tree: total, the root, and per worker.

        Per worker = mean RSS of the ``workers`` largest non-root processes when
        the root has children (a master), else the root itself (a single process).
        """
        procs = self.processes()
        sizes = []
        for p in procs:
            try:
                sizes.append(p.memory_info().rss)
            except psutil.Error:
                sizes.append(0)
        if not sizes:
            return {"total": 0, "root": 0, "per_worker": 0, "procs": 0}
        children = sorted(sizes[1:], reverse=True)
        if children:
            top = children[: max(1, self.workers)]
            per_worker = sum(top) / len(top)
        else:
            per_worker = sizes[0]
        return {"total": sum(sizes), "root": sizes[0], "per_worker": per_worker, "procs": len(sizes)}


def cpu_seconds(inst: Instance) -> float:
    """User + system CPU time used so far by the live processes of the instance's tree."""
    total = 0.0
    for p in inst.processes():
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


class RssSampler:
    """Samples an instance's tree RSS every ``interval`` seconds while a load runs; keeps the peak."""

    def __init__(self, inst: Instance, interval: float = 0.5):
        self.inst = inst
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.inst.rss()["total"])
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self.peak = max(self.peak, self.inst.rss()["total"])


def stop_all() -> None:
    for inst in list(RUNNING):
        inst.stop(grace=1.0)


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def run_tool(argv: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a load generator / client bounded in time; its own group is killed on time-out."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise TimeoutError(f"{os.path.basename(argv[0])} did not finish in {timeout:.0f}s") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)
