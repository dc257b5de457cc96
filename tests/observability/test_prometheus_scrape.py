"""A real Prometheus (Debian package) scrapes a running engine and sees its metrics.

The engine runs two workers; one is killed with SIGKILL, the master replaces it,
and Prometheus must then report both the request counter (aggregated over all
workers, including the dead one) and the worker restart counter.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import ROOT, ServerProcess, free_port, require_tool, wait_port

pytestmark = [pytest.mark.external, pytest.mark.slow]

RULES = ROOT / "observability" / "prometheus" / "rules" / "skitai.rules.yml"


class Prometheus:
    def __init__(self, target_port: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="skitai-prom-"))
        self.port = free_port()
        (self.base / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: skitai
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Prometheus:
        self.log = open(self.base / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [require_tool("prometheus"), f"--config.file={self.base / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.base / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(self.port, timeout=30, proc=self.proc)
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def query(self, expr: str) -> list[dict]:
        r = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/query", params={"query": expr}, timeout=5)
        r.raise_for_status()
        return r.json()["data"]["result"]

    def wait_value(self, expr: str, predicate, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                last = float(result[0]["value"][1])
                if predicate(last):
                    return last
            time.sleep(0.5)
        raise AssertionError(f"{expr}: last value {last} after {timeout}s")


def _workers(master_pid: int) -> list[psutil.Process]:
    return psutil.Process(master_pid).children()


def test_prometheus_scrapes_requests_and_worker_restarts():
    port = free_port()
    args = ["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "2"]
    with ServerProcess(args, port) as engine, Prometheus(port) as prom:
        with httpx.Client(base_url=engine.url, timeout=5) as c:
            for _ in range(30):
                assert c.get("/api/hello").status_code == 200
            for _ in range(3):
                assert c.get("/api/error").status_code == 500
        prom.wait_value('up{job="skitai"}', lambda v: v == 1)
        total = prom.wait_value('sum(skitai_requests_total{job="skitai",status="2xx"})', lambda v: v >= 30)
        assert prom.wait_value('sum(skitai_requests_total{status="5xx"})', lambda v: v >= 3) == 3
        assert prom.wait_value('skitai_worker_restarts_total{reason="crash"}', lambda v: v >= 0) == 0

        deadline = time.monotonic() + 15
        while len(_workers(engine.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        victim = _workers(engine.pid)[0]
        victim.send_signal(signal.SIGKILL)
        # the master replaces it; the counter reaches Prometheus
        assert prom.wait_value('skitai_worker_restarts_total{job="skitai",reason="crash"}',
                               lambda v: v >= 1) == 1
        # counts of the killed worker are kept (a counter that goes down would look like a reset)
        after = prom.wait_value('sum(skitai_requests_total{job="skitai",status="2xx"})', lambda v: v >= total)
        assert after >= total
        with httpx.Client(base_url=engine.url, timeout=5) as c:   # traffic after the restart, both workers
            for _ in range(20):
                assert c.get("/api/hello", headers={"connection": "close"}).status_code == 200
        prom.wait_value('sum(skitai_requests_total{job="skitai",status="2xx"})', lambda v: v >= total + 20)
        assert prom.wait_value("sum(skitai_workers)", lambda v: v == 2) == 2
        # the shipped rules are loaded and evaluated against the live series
        assert prom.wait_value('skitai:requests:rate5m{job="skitai"}', lambda v: v > 0) > 0
        rules = httpx.get(f"http://127.0.0.1:{prom.port}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {g["name"] for g in rules} == {"skitai.recording", "skitai.alerts"}
        assert all(r.get("health") == "ok" for g in rules for r in g["rules"]), rules
