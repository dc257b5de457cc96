"""Prometheus metrics across processes (prometheus-client multiprocess mode).

Each scenario runs in a fresh interpreter that plays master and forks real
worker processes, because the multiprocess directory and prometheus-client's
value class are process-wide state.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from tests.support import PYTHON, ROOT

PRELUDE = textwrap.dedent('''
    import os, sys, json, time, types
    from skitai.observability import metrics

    def rec(method="GET", status=200, mount="/api", started=1.0, finished=1.02, rx=100, tx=300, uri="/x"):
        return types.SimpleNamespace(method=method, status=status, mount=mount, started=started, uri=uri,
                                     responded=started, finished=finished,
                                     request_bytes=rx, response_bytes=tx)

    def worker(worker_id, records, ctx=None, hold=0.0):
        pid = os.fork()
        if pid == 0:
            try:
                wm = metrics.for_worker(prefs, worker_id)
                for r in records:
                    wm.observe(r)
                if ctx is not None:
                    wm.start(ctx)
                time.sleep(hold)
            finally:
                os._exit(0)
        return pid

    prefs = types.SimpleNamespace(metrics=True)
''')


def run(body: str, env: dict | None = None, tmp_path=None) -> str:
    script = PRELUDE + textwrap.dedent(body)
    e = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    if tmp_path is not None:
        e["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    e.update(env or {})
    r = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60, env=e, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def samples(text: str) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels) -> float:
    want = tuple(sorted((k, str(v)) for k, v in labels.items()))
    return samples(text).get((name, want), float("nan"))


def test_requests_of_all_workers_are_aggregated(tmp_path):
    out = run('''
        metrics.setup_master(prefs)
        a = worker(0, [rec()] * 3 + [rec(status=503, finished=1.3)])
        b = worker(1, [rec()] * 2 + [rec(method="BREW", status=404, mount=None)]
                      + [rec(uri=p, mount=None) for p in ("/healthz", "/readyz", "/metrics")])
        for pid in (a, b):
            os.waitpid(pid, 0)
        sys.stdout.write(metrics.render()[0].decode())
    ''', tmp_path=tmp_path)
    assert value(out, "skitai_requests_total", mount="/api", method="GET", status="2xx") == 5
    assert value(out, "skitai_requests_total", mount="/api", method="GET", status="5xx") == 1
    # unknown methods do not create unbounded label values; root_path "" is the mount "/"
    assert value(out, "skitai_requests_total", mount="/", method="OTHER", status="4xx") == 1
    # probe requests are not counted as traffic
    assert ("skitai_requests_total", (("method", "GET"), ("mount", "/"), ("status", "2xx"))) not in samples(out)
    assert value(out, "skitai_request_duration_seconds_count", mount="/api", method="GET", status="2xx") == 5
    # 1.3 - 1.0 = 0.3 s falls in the 0.5 bucket, not in 0.25
    assert value(out, "skitai_request_duration_seconds_bucket", mount="/api", method="GET", status="5xx",
                 le="0.25") == 0
    assert value(out, "skitai_request_duration_seconds_bucket", mount="/api", method="GET", status="5xx",
                 le="0.5") == 1
    assert value(out, "skitai_request_bytes_total", mount="/api", method="GET", status="2xx") == 500
    assert value(out, "skitai_response_bytes_total", mount="/api", method="GET", status="2xx") == 1500


def test_dead_workers_files_are_folded_and_totals_kept(tmp_path):
    out = run('''
        metrics.setup_master(prefs)
        for i in range(20):   # 20 short-lived workers, as after many restarts
            pid = worker(i % 2, [rec()] * 2, ctx=types.SimpleNamespace(ready=True, draining=False))
            os.waitpid(pid, 0)
            metrics.worker_restarted("max_requests")
            metrics.worker_exited(pid)
        files = sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        print(json.dumps(files))
        sys.stdout.write(metrics.render()[0].decode())
    ''', tmp_path=tmp_path)
    files_line, text = out.split("\n", 1)
    files = json.loads(files_line)
    db = [f for f in files if f.endswith(".db")]
    # only the master's own files and one archive per type remain
    assert "counter_archive.db" in db and "histogram_archive.db" in db
    assert len(db) <= 6, db
    assert value(text, "skitai_requests_total", mount="/api", method="GET", status="2xx") == 40
    assert value(text, "skitai_request_duration_seconds_count", mount="/api", method="GET", status="2xx") == 40
    assert value(text, "skitai_worker_restarts_total", reason="max_requests") == 20
    # live gauges of dead workers are gone
    assert "skitai_worker_rss_bytes" not in {k[0] for k in samples(text)}


def test_restart_reasons_and_critical_strikes(tmp_path):
    out = run('''
        metrics.setup_master(prefs)
        metrics.worker_restarted("crash")
        metrics.worker_restarted("critical_point")
        metrics.worker_restarted("critical_point")
        metrics.worker_restarted("something-else")   # unknown reasons count as crash
        metrics.critical_strike(3, 2)
        metrics.critical_strike(4, 1)
        metrics.critical_strike(4, 0)
        sys.stdout.write(metrics.render()[0].decode())
    ''', tmp_path=tmp_path)
    assert value(out, "skitai_worker_restarts_total", reason="crash") == 2
    assert value(out, "skitai_worker_restarts_total", reason="critical_point") == 2
    # every reason is exported from the start, so rate() and increase() work at once
    assert value(out, "skitai_worker_restarts_total", reason="reload") == 0
    assert value(out, "skitai_worker_restarts_total", reason="memory") == 0
    assert value(out, "skitai_worker_critical_strikes", worker="3") == 2
    assert value(out, "skitai_worker_critical_strikes", worker="4") == 0


def test_worker_gauges_cpu_rss_ready_connections(tmp_path):
    out = run('''
        metrics.setup_master(prefs)

        class H1Protocol:
            busy = True
        class H2Protocol:
            busy = False

        class Ctx:
            ready = True
            draining = False
            connections = {H1Protocol(), H1Protocol(), H2Protocol()}
            def in_flight(self):
                return sum(1 for c in self.connections if c.busy)

        draining = Ctx()
        draining.draining = True
        a = worker(0, [], ctx=Ctx(), hold=1.5)
        b = worker(1, [], ctx=draining, hold=1.5)
        time.sleep(0.8)   # both alive and sampled
        sys.stdout.write(metrics.render()[0].decode())
        for pid in (a, b):
            os.waitpid(pid, 0)
    ''', tmp_path=tmp_path)
    s = samples(out)
    rss = {dict(k[1])["worker"]: v for k, v in s.items() if k[0] == "skitai_worker_rss_bytes"}
    assert set(rss) == {"0", "1"} and all(v > 1_000_000 for v in rss.values())
    cpu = [v for k, v in s.items() if k[0] == "skitai_worker_cpu_percent"]
    assert len(cpu) == 2 and all(v >= 0 for v in cpu)
    assert value(out, "skitai_worker_ready", worker="0") == 1
    assert value(out, "skitai_worker_ready", worker="1") == 0
    assert value(out, "skitai_requests_in_flight") == 4
    assert value(out, "skitai_open_connections", protocol="http/1.1") == 4
    assert value(out, "skitai_open_connections", protocol="h2") == 2
    assert value(out, "skitai_workers") == 2


def test_metrics_off(tmp_path):
    out = run('''
        prefs.metrics = False
        print(metrics.setup_master(prefs))
        wm = metrics.for_worker(prefs, 0)
        wm.observe(rec())
        print(len(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])))
    ''', tmp_path=tmp_path)
    assert out.split() == ["None", "0"]


def test_worker_without_master_creates_its_own_directory():
    """A single-process run (no master) still gets working metrics."""
    out = run('''
        wm = metrics.for_worker(prefs, 0)
        wm.observe(rec())
        print(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        sys.stdout.write(metrics.render()[0].decode())
    ''')
    path, text = out.split("\n", 1)
    assert "skitai-metrics-" in path
    assert value(text, "skitai_requests_total", mount="/api", method="GET", status="2xx") == 1
    assert not os.path.exists(path), "the directory it made must go when the process exits"


def test_observe_is_cheap(tmp_path):
    """One observe per request, batched in the worker's loop: budget 5 us on a busy CI core."""
    out = run('''
        import asyncio

        async def main():
            wm = metrics.for_worker(prefs, 0)
            wm.start(None)
            r = rec()
            n = 20000
            t = time.perf_counter()
            for _ in range(n):
                wm.observe(r)
            took = (time.perf_counter() - t) / n * 1e6
            wm.stop()
            return took

        metrics.setup_master(prefs)
        print(asyncio.run(main()))
        sys.stdout.write(metrics.render()[0].decode())
    ''', tmp_path=tmp_path)
    took, text = out.split("\n", 1)
    assert float(took) < 5.0, f"observe took {took} us"
    # nothing lost by batching
    assert value(text, "skitai_requests_total", mount="/api", method="GET", status="2xx") == 20000
    assert value(text, "skitai_request_duration_seconds_count", mount="/api", method="GET", status="2xx") == 20000


def test_batched_counts_reach_the_files_within_the_flush_interval(tmp_path):
    out = run('''
        import asyncio, glob
        from prometheus_client.multiprocess import MultiProcessCollector

        def others_view():   # what another worker's scrape sees: the files only
            files = glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db"))
            for m in MultiProcessCollector.merge(files):
                for smp in m.samples:
                    if smp.name == "skitai_requests_total":
                        return smp.value
            return 0

        async def main():
            wm = metrics.for_worker(prefs, 0)
            wm.start(None)
            for _ in range(7):
                wm.observe(rec())
            seen = [others_view()]
            await asyncio.sleep(metrics.FLUSH_INTERVAL + 0.3)
            seen.append(others_view())
            wm.observe(rec())
            seen.append(others_view())
            metrics.render()     # a scrape on this worker flushes it first
            seen.append(others_view())
            wm.observe(rec())
            wm.stop()            # the worker closes: final flush
            seen.append(others_view())
            return seen

        metrics.setup_master(prefs)
        print(json.dumps(asyncio.run(main())))
    ''', tmp_path=tmp_path)
    assert json.loads(out) == [0, 7, 7, 8, 9]
