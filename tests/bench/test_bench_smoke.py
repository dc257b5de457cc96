"""Smoke test of the benchmark's plumbing (bench/run.py): never asserts timings.

Runs the real script for one-second single-scenario runs against nginx (a
system tool, no venv needed) and the project's Skitai, in a temporary work
directory without the peer venvs, and checks that wrk / h2load output was
parsed, missing peers are reported as "not available", the report was
written, and no server was left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import psutil
import pytest

from bench.harness import parse
from bench.harness.procs import NotAvailable
from bench.harness.report import evaluate, render
from bench.harness.scenarios import TARGETS, all_scenarios
from bench.harness.servers import Ctx, build
from tests.support import ROOT, require_tool

pytestmark = pytest.mark.load

WRK_SAMPLE = """\
Running 1s test @ http://127.0.0.1:8000/hello
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.35ms  451.23us   1.02s    85.00%
    Req/Sec    27.41k     1.23k   29.00k    80.00%
  Latency Distribution
     50%  812.00us
     75%    2.50ms
     90%    2.80ms
     99%    1.50s
  27200 requests in 1.00s, 3.20MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:  27200.00
Transfer/sec:      3.20MB
"""


def test_parse_wrk_units_and_errors():
    out = parse.parse_wrk(WRK_SAMPLE)
    assert out["rps"] == 27200.0
    assert out["requests"] == 27200
    assert out["p50_ms"] == pytest.approx(0.812)
    assert out["p99_ms"] == pytest.approx(1500.0)
    assert out["socket_errors"] == {"connect": 1, "read": 2, "write": 3, "timeout": 4}
    assert out["errors"] == 15


def test_parse_rejects_output_of_a_failed_run():
    with pytest.raises(parse.ParseError):
        parse.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
    with pytest.raises(parse.ParseError):
        parse.parse_h2load("No protocol negotiated. Aborted.\n")


def test_percentile_and_median():
    assert parse.percentile(list(range(1, 101)), 99) == 99
    assert parse.percentile([5.0], 99) == 5.0
    assert parse.median([3, None, 1, 2]) == 2
    assert parse.median([None]) is None


def test_missing_peer_venv_is_not_available(tmp_path):
    ctx = Ctx(work=tmp_path, static_dir=tmp_path, project_python=sys.executable, peers_python=None,
              peers_reason="venv-peers missing", orig_python=None, orig_reason="venv-orig missing",
              pin_cpu=None)
    with pytest.raises(NotAvailable, match="venv-peers missing"):
        build("uvicorn", "asgi", 1, 1, ctx)
    with pytest.raises(NotAvailable, match="venv-orig missing"):
        build("orig", "atila", 1, 1, ctx)


def test_every_target_names_a_scenario_and_rows():
    scenarios = {s.id: {r.id for r in s.rows} for s in all_scenarios()}
    for t in TARGETS:
        assert t.row in scenarios[t.scenario], t
        if t.kind == "ratio":
            assert t.other in scenarios[t.scenario], t


def test_report_verdicts():
    def row(rps, status="ok"):
        return {"label": "x", "status": status, "rps": rps, "runs": []}

    results = {"scenarios": {"hello-asgi-w1": {"rows": {"skitai": row(130.0), "uvicorn": row(100.0)}}}}
    target = next(t for t in TARGETS if t.scenario == "hello-asgi-w1")
    assert evaluate(target, results)[1] == "PASS"
    results["scenarios"]["hello-asgi-w1"]["rows"]["skitai"]["rps"] = 129.0
    assert evaluate(target, results)[1] == "FAIL"
    results["scenarios"]["hello-asgi-w1"]["rows"]["uvicorn"] = row(None, "failed: boom")
    assert evaluate(target, results) == ("x: failed: boom", "n/a")


def _run_bench(tmp_path, *args):
    out = tmp_path / "RESULTS.md"
    raw = tmp_path / "results.json"
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--no-setup", "--work", str(tmp_path / "work"),
           "--duration", "1", "--rounds", "1", "--warmup", "0", "--output", str(out), "--json", str(raw),
           *args]
    # every process the bench starts inherits this marker, so only this run's leftovers are found
    # (other engineers' test runs on the same machine start servers from bench/apps too)
    marker = f"smoke-{uuid.uuid4().hex}"
    env = dict(os.environ, BENCH_SMOKE_MARKER=marker)
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    leftovers = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.environ().get("BENCH_SMOKE_MARKER") == marker:
                leftovers.append((p.info["pid"], p.info["cmdline"]))
        except psutil.Error:
            pass
    assert leftovers == [], f"server processes left running: {leftovers}"
    return json.loads(raw.read_text()), out.read_text()


def test_one_second_wrk_run_end_to_end(tmp_path):
    require_tool("wrk")
    require_tool("nginx")
    results, md = _run_bench(tmp_path, "--only", "hello-asgi-w1", "--servers", "nginx,uvicorn,skitai")
    rows = results["scenarios"]["hello-asgi-w1"]["rows"]
    nginx = rows["nginx"]
    assert nginx["status"] == "ok", nginx
    assert nginx["rps"] > 0 and nginx["requests"] > 0
    assert nginx["p99_ms"] is not None and nginx["errors"] == 0
    assert nginx["rss_peak_mb"] > 0
    assert rows["uvicorn"]["status"].startswith("not available: ")
    assert "skitai" in rows  # ok or failed: the engine is someone else's; the row must be reported
    assert "## Targets" in md and "| nginx (`return 200` / static) |" in md
    assert "not available: " in md
    assert render(results) == md


def test_one_second_h2load_run_end_to_end(tmp_path):
    require_tool("h2load")
    require_tool("nginx")
    results, md = _run_bench(tmp_path, "--only", "h2-hello", "--servers", "nginx")
    nginx = results["scenarios"]["h2-hello"]["rows"]["nginx"]
    assert nginx["status"] == "ok", nginx
    run = nginx["runs"][0]
    assert run["protocol"] == "h2c"
    assert run["succeeded"] > 0 and nginx["errors"] == 0
    assert nginx["p99_ms"] is not None and nginx["p50_ms"] <= nginx["p99_ms"]
    assert "h2-hello" in md


def test_a_server_that_dies_at_start_is_a_failure_not_a_crash(tmp_path):
    from bench.harness.procs import Instance, Launch, StartFailed, free_port

    launch = Launch([sys.executable, "-c", "import sys; print('bad app'); sys.exit(3)"])
    inst = Instance("dies", launch, free_port(), 1, tmp_path)
    with pytest.raises(StartFailed, match=r"exited with code 3: bad app"):
        inst.start(timeout=10)
    inst.stop()
    assert not inst.alive()


ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None):
        await asyncio.Future()

asyncio.run(main())
"""


def test_ws_client_echo_and_idle_against_a_real_websocket_server(tmp_path):
    from tests.support import ServerProcess, free_port

    script = tmp_path / "echo_server.py"
    script.write_text(ECHO_SERVER)
    port = free_port()
    client = str(ROOT / "bench" / "harness" / "wsclient.py")
    with ServerProcess([str(script), str(port)], port):
        res = subprocess.run([sys.executable, client, "echo", f"ws://127.0.0.1:{port}/ws", "--connections", "3",
                              "--round-trips", "301"], capture_output=True, text=True, timeout=60)
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert out["requests"] == 301 and out["errors"] == 0, out
        assert out["p50_ms"] is not None and out["p50_ms"] <= out["p99_ms"]

        idle = subprocess.Popen([sys.executable, client, "idle", f"ws://127.0.0.1:{port}/ws", "--connections",
                                 "7", "--hold", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert idle.stdout.readline().split() == ["READY", "7", "0"]
            idle.stdin.close()
            assert idle.wait(20) == 0
        finally:
            if idle.poll() is None:
                idle.kill()


def test_ws_client_reports_a_refused_connection_as_one_json_error():
    from tests.support import free_port

    client = str(ROOT / "bench" / "harness" / "wsclient.py")
    res = subprocess.run([sys.executable, client, "echo", f"ws://127.0.0.1:{free_port()}/ws", "--connections", "1",
                          "--round-trips", "1"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "error" in json.loads(res.stdout.strip().splitlines()[-1])


def test_access_log_check_finds_request_lines(tmp_path):
    from bench.harness.runner import Runner, Settings

    ctx = Ctx(work=tmp_path, static_dir=tmp_path, project_python=sys.executable, peers_python=None,
              peers_reason="", orig_python=None, orig_reason="", pin_cpu=None)
    runner = Runner(ctx, Settings(), log=lambda *a: None)
    quiet, noisy = tmp_path / "quiet.log", tmp_path / "noisy.log"
    quiet.write_text("[info] worker started\n")
    noisy.write_text('127.0.0.1 - "GET /hello HTTP/1.1" 200\n127.0.0.1 GET /hello HTTP/1.1 200 13\n')
    runner.started_logs += [("quiet", quiet), ("noisy", noisy)]
    assert runner.access_log_lines() == {"noisy": 2}
