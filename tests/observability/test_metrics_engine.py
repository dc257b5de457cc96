"""Metrics of the real engine: all workers aggregated, gauges sampled, restarts by reason.

The engine runs as ``skitai serve`` in a subprocess; /metrics is read over HTTP.
"""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest

from tests.support import ROOT, ServerProcess, free_port

pytestmark = [pytest.mark.slow]

BURN_APP = '''
import time

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/burn":          # blocks this worker's loop on purpose
        end = time.monotonic() + 20
        while time.monotonic() < end:
            pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def scrape(url: str) -> str:
    r = httpx.get(url + "/metrics", timeout=5)
    assert r.status_code == 200
    return r.text


def metric(text: str, name: str, **labels) -> float:
    total = 0.0
    found = False
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else float("nan")


def wait_metric(url: str, name: str, predicate, timeout: float = 20.0, **labels) -> float:
    deadline = time.monotonic() + timeout
    value = float("nan")
    while time.monotonic() < deadline:
        value = metric(scrape(url), name, **labels)
        if predicate(value):
            return value
        time.sleep(0.3)
    raise AssertionError(f"{name}{labels}: last value {value}")


def test_every_scrape_sees_the_totals_of_all_workers():
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "2"],
                       port) as s:
        pids = set()
        for _ in range(40):   # a new connection each time: both workers get some
            r = httpx.get(s.url + "/api/hello", headers={"connection": "close"})
            pids.add(r.json()["pid"])
        httpx.post(s.url + "/api/echo", content=b"z" * 5000)
        # counts reach the shared files within FLUSH_INTERVAL; then every scrape, whichever
        # worker answers it, reports the same totals
        wait_metric(s.url, "skitai_requests_total", lambda v: v == 40, timeout=5, mount="/", method="GET",
                    status="2xx")
        wait_metric(s.url, "skitai_request_bytes_total", lambda v: v >= 5000, timeout=5, method="POST")
        for _ in range(6):
            text = scrape(s.url)
            assert metric(text, "skitai_requests_total", mount="/", method="GET", status="2xx") == 40
            assert metric(text, "skitai_request_bytes_total", method="POST") >= 5000
            assert metric(text, "skitai_response_bytes_total", method="POST") >= 5000
        assert len(pids) == 2, "the kernel gave every connection to one worker; cannot check aggregation"
        workers = set(re.findall(r'skitai_worker_rss_bytes\{pid="\d+",worker="(\d)"\}', scrape(s.url)))
        assert workers == {"0", "1"}


def test_in_flight_and_open_connections_are_sampled():
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1"],
                       port) as s:
        threads = [threading.Thread(target=httpx.get, args=(s.url + "/api/slow?ms=4000",),
                                    kwargs={"timeout": 10}) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            assert wait_metric(s.url, "skitai_requests_in_flight", lambda v: v >= 3, timeout=4) >= 3
            assert metric(scrape(s.url), "skitai_open_connections", protocol="http/1.1") >= 3
        finally:
            for t in threads:
                t.join(10)
        assert wait_metric(s.url, "skitai_requests_in_flight", lambda v: v == 0, timeout=5) == 0


def test_open_connections_by_protocol():
    import asyncio

    import websockets

    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1"],
                       port) as s:
        async def hold():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/echo", open_timeout=5) as ws:
                await ws.send("x")
                await asyncio.wait_for(ws.recv(), 5)
                async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as h2:
                    slow = asyncio.create_task(h2.get(s.url + "/api/slow?ms=3500"))
                    deadline = time.monotonic() + 4
                    text = ""
                    while time.monotonic() < deadline:
                        async with httpx.AsyncClient(timeout=5) as h1:
                            text = (await h1.get(s.url + "/metrics")).text
                        if metric(text, "skitai_open_connections", protocol="h2") >= 1 and \
                                metric(text, "skitai_open_connections", protocol="ws") >= 1:
                            break
                        await asyncio.sleep(0.3)
                    await slow
                    return text

        text = asyncio.run(hold())
        assert metric(text, "skitai_open_connections", protocol="h2") == 1
        assert metric(text, "skitai_open_connections", protocol="ws") == 1


SLOW_WSGI = '''
import time

def app(environ, start_response):
    time.sleep(2.5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slow"]
'''


def test_thread_pool_queue_depth(tmp_path):
    (tmp_path / "slow_wsgi.py").write_text(SLOW_WSGI)
    port = free_port()
    args = ["-m", "skitai", "serve", "slow_wsgi:app", "--port", str(port), "--workers", "1", "--threads", "1"]
    with ServerProcess(args, port, cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path}:{ROOT}"}) as s:
        threads = [threading.Thread(target=httpx.get, args=(s.url + "/",), kwargs={"timeout": 15})
                   for _ in range(3)]
        for t in threads:
            t.start()
        try:
            # one call runs on the only thread, two wait in the pool's queue
            assert wait_metric(s.url, "skitai_threadpool_queue_depth", lambda v: v >= 2, timeout=4) == 2
        finally:
            for t in threads:
                t.join(15)
        assert wait_metric(s.url, "skitai_threadpool_queue_depth", lambda v: v == 0, timeout=5) == 0


def test_max_requests_restarts_are_counted_and_totals_kept():
    port = free_port()
    args = ["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1",
            "--max-requests", "5"]
    with ServerProcess(args, port) as s:
        for _ in range(12):
            assert httpx.get(s.url + "/api/hello", timeout=10).status_code == 200
        assert wait_metric(s.url, "skitai_worker_restarts_total", lambda v: v >= 2, reason="max_requests") >= 2
        assert wait_metric(s.url, "skitai_requests_total", lambda v: v == 12, timeout=5, mount="/",
                           status="2xx") == 12


def test_critical_point_strikes_and_restart(tmp_path):
    (tmp_path / "burn_app.py").write_text(BURN_APP)
    port = free_port()
    args = ["-m", "skitai", "serve", "burn_app:app", "--port", str(port), "--workers", "2"]
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "SKITAI_SHUTDOWN_TIMEOUT": "2",
           # the variables of skitai.set_worker_critical_point(cpu_percent, continuous, interval)
           "SKITAI_CRITICAL_POINT_CPU_PERCENT": "50", "SKITAI_CRITICAL_POINT_CONTINUOUS": "2",
           "SKITAI_CRITICAL_POINT_INTERVAL": "1"}
    with ServerProcess(args, port, cwd=tmp_path, env=env) as s:
        def burn():
            try:
                httpx.get(s.url + "/burn", timeout=30)
            except httpx.HTTPError:
                pass   # expected: the worker is replaced while it burns

        burner = threading.Thread(target=burn, daemon=True)
        burner.start()
        time.sleep(0.5)   # let the burning worker take the /burn connection alone before scraping
        strikes = 0.0
        deadline = time.monotonic() + 25
        restarted = 0.0
        while time.monotonic() < deadline:
            try:
                text = scrape(s.url)
            except httpx.HTTPError:
                time.sleep(0.2)   # the scrape landed on the blocked worker's backlog
                continue
            strikes = max(strikes, metric(text, "skitai_worker_critical_strikes") or 0.0)
            restarted = metric(text, "skitai_worker_restarts_total", reason="critical_point")
            if restarted >= 1:
                break
            time.sleep(0.3)
        assert restarted >= 1, s.output()[-2000:]
        assert strikes >= 1
