"""Worker count = CPUs this process may use: affinity and cgroup v1/v2 quota aware."""

from __future__ import annotations

import os

import pytest

from skitai.config import effective_workers, resolve
from skitai.config.cpus import available_cpus, cgroup_cpu_limit, parse_cfs, parse_cpu_max


@pytest.mark.parametrize("text,expected", [
    ("max 100000\n", None), ("150000 100000\n", 1.5), ("50000 100000", 0.5), ("200000 100000", 2.0),
    ("", None), ("garbage", None), ("100000", 1.0),
])
def test_parse_cpu_max(text, expected):
    assert parse_cpu_max(text) == expected


def test_parse_cfs():
    assert parse_cfs("-1\n", "100000\n") is None
    assert parse_cfs("250000", "100000") == 2.5
    assert parse_cfs("x", "100000") is None


def _v2(tmp_path, cpu_max_by_dir, own="/kubepods/pod1/c1"):
    root = tmp_path / "cg"
    for rel, text in cpu_max_by_dir.items():
        d = root / rel if rel else root
        d.mkdir(parents=True, exist_ok=True)
        (d / "cpu.max").write_text(text)
    proc = tmp_path / "cgroup"
    proc.write_text(f"0::{own}\n")
    return root, proc


def test_cgroup_v2_takes_the_tightest_ancestor(tmp_path):
    root, proc = _v2(tmp_path, {"kubepods": "300000 100000", "kubepods/pod1": "150000 100000",
                                "kubepods/pod1/c1": "max 100000"})
    assert cgroup_cpu_limit(root, proc) == 1.5
    assert available_cpus(root, proc) == min(len(os.sched_getaffinity(0)), 2)


def test_cgroup_v2_inside_a_namespace_reads_the_root(tmp_path):
    root, proc = _v2(tmp_path, {"": "100000 100000"}, own="/")
    assert cgroup_cpu_limit(root, proc) == 1.0
    assert available_cpus(root, proc) == 1


def test_cgroup_v1_quota(tmp_path):
    root = tmp_path / "cg"
    d = root / "cpu,cpuacct" / "docker" / "abc"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("50000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "cgroup"
    proc.write_text("3:cpu,cpuacct:/docker/abc\n1:memory:/docker/abc\n0::/\n")
    assert cgroup_cpu_limit(root, proc) == 0.5
    assert available_cpus(root, proc) == 1  # rounded up, at least one


def test_no_cgroup_means_affinity(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("")
    assert cgroup_cpu_limit(tmp_path, proc) is None
    assert available_cpus(tmp_path, proc) == len(os.sched_getaffinity(0))


def test_effective_workers():
    assert effective_workers(resolve({"workers": 3}, {}, [])) == 3
    auto = effective_workers(resolve({}, {}, []))
    assert 1 <= auto <= len(os.sched_getaffinity(0))
    assert auto == available_cpus()
