"""Worker critical point: the master's psutil watch over its workers.

Seed semantics (§7): every ``interval`` seconds sample each worker's CPU%;
after ``continuous`` consecutive samples at or above ``cpu_percent`` the worker
is replaced. ``interval == 0`` turns the CPU watch off. The same sampler
checks resident memory against ``max_worker_memory`` (bytes, 0 = off) because
a worker that leaks or is stuck cannot be trusted to police itself.

CPU% is psutil's figure since the previous sample of the same process, so a
sample covers the whole interval (100 = one core busy for the interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil

#: sampling period for the memory check when the CPU watch is off
MEMORY_PERIOD = 5.0


@dataclass
class Verdict:
    """A worker that crossed a limit and must be replaced."""
    pid: int
    worker_id: int
    reason: str          # "critical_point" or "memory"
    detail: str


@dataclass
class _Watched:
    worker_id: int
    proc: psutil.Process
    strikes: int = 0
    samples: list[float] = field(default_factory=list)


class CriticalPoint:
    def __init__(self, cpu_percent: float = 90.0, continuous: int = 3, interval: float = 0,
                 max_memory: int = 0, on_strike=None):
        self.cpu_percent = float(cpu_percent)
        self.continuous = max(1, int(continuous))
        self.interval = float(interval or 0)
        self.max_memory = int(max_memory or 0)
        self.on_strike = on_strike  # callable(worker_id, count): metrics hook
        self._watched: dict[int, _Watched] = {}
        self._next: float | None = None

    @property
    def enabled(self) -> bool:
        return self.interval > 0 or self.max_memory > 0

    @property
    def period(self) -> float:
        return self.interval if self.interval > 0 else MEMORY_PERIOD

    def watch(self, pid: int, worker_id: int) -> None:
        """Start watching a freshly forked worker (primes psutil's CPU counter)."""
        if not self.enabled:
            return
        try:
            proc = psutil.Process(pid)
            proc.cpu_percent(None)
        except psutil.Error:
            return
        self._watched[pid] = _Watched(worker_id, proc)
        if self.interval > 0 and self.on_strike:
            self.on_strike(worker_id, 0)  # a fresh worker starts with a clean record

    def forget(self, pid: int) -> None:
        self._watched.pop(pid, None)

    def strikes(self, pid: int) -> int:
        w = self._watched.get(pid)
        return w.strikes if w else 0

    def timeout(self, now: float) -> float | None:
        """Seconds until the next sample is due (None when off)."""
        if not self.enabled:
            return None
        if self._next is None:
            self._next = now + self.period
        return max(0.0, self._next - now)

    def poll(self, now: float) -> list[Verdict]:
        """Sample if due; return the workers to replace."""
        if not self.enabled:
            return []
        if self._next is None:
            self._next = now + self.period
        if now < self._next:
            return []
        self._next = now + self.period
        return self.sample()

    def sample(self) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for pid, w in list(self._watched.items()):
            try:
                with w.proc.oneshot():
                    cpu = w.proc.cpu_percent(None)
                    rss = w.proc.memory_info().rss if self.max_memory else 0
            except psutil.Error:
                self._watched.pop(pid, None)
                continue
            if self.max_memory and rss > self.max_memory:
                verdicts.append(Verdict(pid, w.worker_id, "memory",
                                        f"rss={rss} max_worker_memory={self.max_memory}"))
                self._watched.pop(pid, None)
                continue
            if self.interval <= 0:
                continue
            w.samples = (w.samples + [cpu])[-self.continuous:]
            if cpu >= self.cpu_percent:
                w.strikes += 1
                if self.on_strike:
                    self.on_strike(w.worker_id, w.strikes)
                if w.strikes >= self.continuous:
                    verdicts.append(Verdict(
                        pid, w.worker_id, "critical_point",
                        f"cpu={cpu:.0f}% >= {self.cpu_percent:g}% for {w.strikes} samples"
                        f" of {self.interval:g}s"))
                    self._watched.pop(pid, None)
            else:
                if w.strikes and self.on_strike:
                    self.on_strike(w.worker_id, 0)
                w.strikes = 0
        return verdicts
