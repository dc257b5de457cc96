"""Shared helpers for the process tests (real processes, real sockets)."""

from __future__ import annotations

import http.client
import re
import time

import psutil


def wait_for(pred, timeout: float, interval: float = 0.05, what: str = "condition", detail=None):
    """Poll ``pred`` until truthy; on timeout fail with ``what`` and ``detail()`` (e.g. server output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    extra = f"\n{detail()}" if detail else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")


def worker_pids(master_pid: int) -> set[int]:
    try:
        return {c.pid for c in psutil.Process(master_pid).children()
                if c.status() != psutil.STATUS_ZOMBIE}
    except psutil.Error:
        return set()


def get(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def ready_pids(output: str) -> set[int]:
    """Workers the master logged as ready (``worker #N ready pid=P``)."""
    return {int(p) for p in re.findall(
        r"worker #\d+ (?:ready|did not report ready[^;]*; treating it as ready) pid=(\d+)", output)}


def ready_workers(srv, n: int, timeout: float = 15.0) -> set[int]:
    """Wait until the master has ``n`` workers and every one of them reported ready.

    The port answers as soon as the master binds it, before any worker serves,
    so tests that signal the master wait for this instead."""
    def check():
        pids = worker_pids(srv.pid)
        return len(pids) == n and pids <= ready_pids(srv.output()) and pids
    return wait_for(check, timeout, what=f"{n} ready workers", detail=srv.output)
