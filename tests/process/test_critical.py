"""CriticalPoint sampling against real processes (a spinning one and an idle one)."""

from __future__ import annotations

import subprocess
import sys
import time

from skitai.process.critical import CriticalPoint


def _spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


def test_busy_process_crosses_the_critical_point_and_idle_does_not():
    busy = _spawn("while True: pass")
    idle = _spawn("import time; time.sleep(30)")
    strikes: list[tuple[int, int]] = []
    try:
        cp = CriticalPoint(cpu_percent=30.0, continuous=2, interval=0.5,
                           on_strike=lambda wid, n: strikes.append((wid, n)))
        cp.watch(busy.pid, 0)
        cp.watch(idle.pid, 1)
        verdicts = []
        for _ in range(6):
            time.sleep(0.5)
            verdicts += cp.sample()
            if verdicts:
                break
        assert [(v.pid, v.worker_id, v.reason) for v in verdicts] == [(busy.pid, 0, "critical_point")]
        assert (0, 2) in strikes and not any(wid == 1 and n > 0 for wid, n in strikes)
        assert cp.strikes(idle.pid) == 0
    finally:
        for p in (busy, idle):
            p.kill()
            p.wait()


def test_interval_zero_is_off():
    cp = CriticalPoint(interval=0)
    assert not cp.enabled and cp.timeout(time.monotonic()) is None and cp.poll(1e12) == []


def test_memory_limit_verdict():
    idle = _spawn("import time; time.sleep(30)")
    try:
        cp = CriticalPoint(interval=0, max_memory=1024)
        assert cp.enabled and cp.period == 5.0
        cp.watch(idle.pid, 3)
        [v] = cp.sample()
        assert (v.pid, v.worker_id, v.reason) == (idle.pid, 3, "memory")
        assert cp.sample() == []  # a verdict is given once; the master replaces the worker
    finally:
        idle.kill()
        idle.wait()


def test_a_dead_process_is_dropped_quietly():
    p = _spawn("pass")
    cp = CriticalPoint(interval=1, cpu_percent=1)
    cp.watch(p.pid, 0)
    p.wait()
    assert cp.sample() == []
    assert cp.sample() == []

