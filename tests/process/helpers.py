"""Shared helpers for the process tests (real processes, real sockets)."""

from __future__ import annotations

import http.client
import time

import psutil


def wait_for(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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
