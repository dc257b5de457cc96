"""How many CPUs this process may really use.

``os.cpu_count()`` is the host's count; in a container limited to 1.5 CPUs on
a 64-core host it would start 64 workers. The answer here is the smaller of
the CPU affinity mask and the cgroup CPU quota (v2 ``cpu.max`` or v1
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up, at least 1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def parse_cpu_max(text: str) -> float | None:
    """Parse cgroup v2 ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD"); None = no limit."""
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = int(parts[0])
        period = int(parts[1]) if len(parts) > 1 else 100000
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """Parse cgroup v1 ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us``; None = no limit (-1)."""
    try:
        quota = int(quota_text.strip())
        period = int(period_text.strip())
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _own_cgroups(proc_cgroup: Path) -> dict[str, str]:
    """Map controller ("" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    text = _read(proc_cgroup) or ""
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            out[""] = path
        for c in controllers.split(","):
            out[c] = path
    return out


def _candidate_dirs(base: Path, cg_path: str) -> list[Path]:
    """The cgroup's directory and its parents up to ``base``.

    Inside a container the cgroup namespace usually makes ``base`` itself the
    process's cgroup, so ``base`` is always included.
    """
    dirs = []
    rel = cg_path.strip("/")
    while rel:
        dirs.append(base / rel)
        rel = rel.rpartition("/")[0]
    dirs.append(base)
    return dirs


def cgroup_cpu_limit(root: str | os.PathLike = "/sys/fs/cgroup",
                     proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> float | None:
    """The tightest CPU quota on this process's cgroup and its parents, in CPUs; None = no limit."""
    root = Path(root)
    groups = _own_cgroups(Path(proc_cgroup))
    limits: list[float] = []
    # cgroup v2 (unified); on hybrid hosts it may be mounted at root/unified
    if "" in groups:
        for base in (root, root / "unified"):
            for d in _candidate_dirs(base, groups[""]):
                text = _read(d / "cpu.max")
                if text is not None:
                    lim = parse_cpu_max(text)
                    if lim is not None:
                        limits.append(lim)
    # cgroup v1 (cpu controller, sometimes mounted as cpu,cpuacct)
    v1_path = groups.get("cpu")
    if v1_path is not None:
        for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            base = root / name
            for d in _candidate_dirs(base, v1_path):
                q = _read(d / "cpu.cfs_quota_us")
                p = _read(d / "cpu.cfs_period_us")
                if q is not None and p is not None:
                    lim = parse_cfs(q, p)
                    if lim is not None:
                        limits.append(lim)
    return min(limits) if limits else None


def affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_cpus(root: str | os.PathLike = "/sys/fs/cgroup",
                   proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> int:
    """CPUs this process may use: min(affinity, ceil(cgroup quota)), at least 1."""
    n = affinity_cpus()
    limit = cgroup_cpu_limit(root, proc_cgroup)
    if limit is not None:
        n = min(n, math.ceil(limit))
    return max(1, n)


def effective_workers(prefs) -> int:
    """The number of workers to start: ``prefs.workers``, or the usable CPUs when it is 0."""
    workers = getattr(prefs, "workers", 0)
    return workers if workers > 0 else available_cpus()
