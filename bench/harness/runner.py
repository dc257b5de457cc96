"""Runs scenarios: starts servers, checks them, drives the load tool in interleaved rounds.

Nothing here aborts the run: a server that is missing becomes "not available:
...", one that breaks becomes "failed: ...", and the report is written with
whatever was measured.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import parse
from .procs import Instance, NotAvailable, RssSampler, StartFailed, cpu_seconds, free_port, http_get, run_tool
from .scenarios import Row, Scenario
from .servers import ROOT, Ctx, build

MB = 1024 * 1024


@dataclass
class Settings:
    duration: float = 4.0
    rounds: int = 3
    warmup: float = 1.0
    ws_round_trips: int = 200000
    ws_idle_connections: int = 500
    load_cpu: str | None = None  # CPU list for the load generator (taskset), None = no pinning


class CheckFailed(Exception):
    """The server answered, but not what every server in the scenario must answer."""


def _skitai_feature_missing(row: Row, sc: Scenario) -> str | None:
    """Skitai features that are not in the tree yet are "not available", not failures."""
    if row.server != "skitai":
        return None
    if sc.tool == "h2load" and not (ROOT / "skitai" / "server" / "h2.py").exists():
        return "HTTP/2 (skitai/server/h2.py) is not in this tree yet"
    if sc.tool.startswith("ws-") and not (ROOT / "skitai" / "server" / "ws.py").exists():
        return "WebSocket (skitai/server/ws.py) is not in this tree yet"
    return None


class Runner:
    def __init__(self, ctx: Ctx, settings: Settings, log=print):
        self.ctx = ctx
        self.s = settings
        self.log = log
        self.instances: dict[tuple, Instance] = {}
        self.broken: dict[tuple, Exception] = {}
        self.started_logs: list[tuple[str, Path]] = []
        self.log_dir = ctx.work / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # -- servers ----------------------------------------------------------------
    def instance(self, row: Row, workers: int) -> Instance:
        key = (row.server, row.app, row.variant, workers)
        if key in self.broken:
            raise self.broken[key]
        inst = self.instances.get(key)
        if inst is not None and inst.alive():
            return inst
        name = f"{row.server}-{row.app}{'-' + row.variant if row.variant else ''}-w{workers}"
        for attempt in (1, 2):
            inst = None
            try:
                port = free_port()
                launch = build(row.server, row.app, port, workers, self.ctx, row.variant)
                inst = Instance(name, launch, port, workers, self.log_dir)
                self.started_logs.append((name, inst.log_path))
                self.log(f"  start {name} on :{port}")
                inst.start(timeout=40)
                break
            except StartFailed as e:
                inst.stop()
                # another process on this shared machine may have taken the free port: try once more
                if attempt == 1 and "in use" in str(e).lower():
                    continue
                self.broken[key] = e
                raise
            except NotAvailable as e:
                self.broken[key] = e
                raise
        self.instances[key] = inst
        return inst

    def access_log_lines(self) -> dict[str, int]:
        """Servers whose output contains request lines (``GET /...``): should be none (logs are off)."""
        found: dict[str, int] = {}
        for name, path in self.started_logs:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            n = sum(1 for line in text.splitlines() if " GET /" in line or '"GET /' in line)
            if n:
                found[name] = found.get(name, 0) + n
        return found

    def stop_servers(self) -> None:
        for inst in self.instances.values():
            inst.stop()
        self.instances.clear()

    # -- tools ------------------------------------------------------------------
    def _pin(self, argv: list[str]) -> list[str]:
        if self.s.load_cpu is not None and shutil.which("taskset"):
            return ["taskset", "-c", self.s.load_cpu, *argv]
        return argv

    def wrk(self, inst: Instance, path: str, seconds: float, connections: int) -> dict:
        secs = max(1, round(seconds))
        argv = self._pin(["wrk", "-t1", f"-c{connections}", f"-d{secs}s", "--latency", "--timeout", "5s",
                          f"http://127.0.0.1:{inst.port}{path}"])
        res = run_tool(argv, timeout=secs + 30)
        try:
            return parse.parse_wrk(res.stdout)
        except parse.ParseError as e:
            raise CheckFailed(f"{e}: {(res.stderr or res.stdout).strip()[-300:]}") from None

    def h2load(self, inst: Instance, path: str, seconds: float, connections: int) -> dict:
        secs = max(1, math.ceil(seconds))
        log_file = self.log_dir / f"h2load-{inst.port}.tsv"
        log_file.unlink(missing_ok=True)
        argv = self._pin(["h2load", f"-c{connections}", "-m10", "-t1", "-D", str(secs),
                          f"--log-file={log_file}", f"http://127.0.0.1:{inst.port}{path}"])
        res = run_tool(argv, timeout=secs + 30)
        log_text = log_file.read_text() if log_file.exists() else None
        try:
            out = parse.parse_h2load(res.stdout, log_text)
        except parse.ParseError as e:
            raise CheckFailed(f"{e}: {(res.stdout + res.stderr).strip()[-300:]}") from None
        if out["succeeded"] == 0:
            raise CheckFailed(f"no request succeeded over h2c (protocol: {out['protocol']}): "
                              f"{res.stdout.strip()[-200:]}")
        return out

    def ws_echo(self, inst: Instance, path: str, round_trips: int, connections: int) -> dict:
        argv = self._pin([self.ctx.project_python, str(Path(__file__).with_name("wsclient.py")), "echo",
                          f"ws://127.0.0.1:{inst.port}{path}", "--connections", str(connections),
                          "--round-trips", str(round_trips)])
        res = run_tool(argv, timeout=120)
        try:
            out = json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise CheckFailed(f"ws client printed no result: {res.stderr.strip()[-300:]}") from None
        if "error" in out:
            raise CheckFailed(f"ws client: {out['error']}")
        return out

    # -- scenarios --------------------------------------------------------------
    def check(self, sc: Scenario, inst: Instance) -> None:
        if sc.tool == "h2load":
            return  # h2c-only listeners do not answer HTTP/1.1; the warm-up run checks h2
        if sc.tool.startswith("ws-"):
            out = self.ws_echo(inst, sc.path, 10, 1)
            if out["errors"] or out["requests"] != 10:
                raise CheckFailed(f"WebSocket echo check failed: {out}")
            return
        status, body = http_get(inst.port, sc.path)
        if status != 200 or (sc.expect and sc.expect not in body):
            raise CheckFailed(f"GET {sc.path} answered {status} {body[:80]!r}")
        if sc.expect_size and len(body) != sc.expect_size:
            raise CheckFailed(f"GET {sc.path} answered {len(body)} bytes, expected {sc.expect_size}")

    def measure(self, sc: Scenario, inst: Instance, seconds: float) -> dict:
        if sc.tool == "wrk":
            return self.wrk(inst, sc.path, seconds, sc.connections)
        if sc.tool == "h2load":
            return self.h2load(inst, sc.path, seconds, sc.connections)
        if sc.tool == "ws-echo":
            trips = self.s.ws_round_trips if seconds >= self.s.duration else max(200, self.s.ws_round_trips // 10)
            return self.ws_echo(inst, sc.path, trips, sc.connections)
        raise ValueError(sc.tool)

    def warm(self, sc: Scenario, inst: Instance) -> None:
        if self.s.warmup <= 0:
            return
        if sc.tool in ("wrk", "idle-rss"):
            self.wrk(inst, sc.path, self.s.warmup, min(sc.connections, 64) if sc.tool == "wrk" else 8)
        else:
            self.measure(sc, inst, self.s.warmup)

    def run_scenario(self, sc: Scenario, only_rows: set[str] | None = None) -> dict:
        self.log(f"scenario {sc.id}: {sc.title}")
        result = {"id": sc.id, "title": sc.title, "what": sc.what, "tool": sc.tool, "path": sc.path,
                  "workers": sc.workers, "connections": sc.connections, "rows": {}}
        active: list[tuple[Row, Instance, dict]] = []
        for row in sc.rows:
            if only_rows and row.id not in only_rows:
                continue
            r: dict = {"label": row.label, "server": row.server, "app": row.app, "status": "ok", "runs": []}
            result["rows"][row.id] = r
            missing = _skitai_feature_missing(row, sc)
            try:
                if missing:
                    raise NotAvailable(missing)
                inst = self.instance(row, sc.workers)
                self.check(sc, inst)
                active.append((row, inst, r))
            except NotAvailable as e:
                r["status"] = f"not available: {e}"
            except (StartFailed, CheckFailed, OSError, TimeoutError) as e:
                r["status"] = f"failed: {e}"
            if r["status"] != "ok":
                self.log(f"  {row.id}: {r['status']}")
        if sc.tool == "idle-rss":
            for _row, inst, r in active:
                self._guard(r, inst, lambda inst=inst, r=r: self._idle_rss(inst, sc, r))
            return result
        if sc.tool == "ws-idle":
            for _row, inst, r in active:
                self._guard(r, inst, lambda inst=inst, r=r: self._ws_idle(inst, sc, r))
            return result
        for _row, inst, r in active:
            self._guard(r, inst, lambda inst=inst: self.warm(sc, inst))
        for rnd in range(self.s.rounds):
            shift = rnd % max(1, len(active))
            for row, inst, r in active[shift:] + active[:shift]:
                if r["status"] != "ok":
                    continue

                def one(inst=inst, r=r, row=row, rnd=rnd):
                    cpu0, t0 = cpu_seconds(inst), time.monotonic()
                    with RssSampler(inst) as sampler:
                        m = self.measure(sc, inst, self.s.duration)
                    m["server_cpu_s"] = cpu_seconds(inst) - cpu0
                    m["server_cpu_pct"] = 100 * m["server_cpu_s"] / max(1e-6, time.monotonic() - t0)
                    m["rss_peak"] = sampler.peak
                    r["runs"].append(m)
                    self.log(f"  round {rnd + 1} {row.id}: {m['rps']:.0f}/s p99 "
                             f"{_fmt(m.get('p99_ms'))} ms errors {m['errors']}")

                self._guard(r, inst, one)
        for _row, _inst, r in active:
            _summarize(r)
        return result

    def _guard(self, r: dict, inst: Instance, fn) -> None:
        if r["status"] != "ok":
            return
        if not inst.alive():
            r["status"] = f"failed: server exited: {inst.log_tail()}"
            return
        try:
            fn()
        except (CheckFailed, OSError, TimeoutError) as e:
            r["status"] = f"failed: {e}"
        if r["status"] == "ok" and not inst.alive():
            r["status"] = f"failed: server exited during the run: {inst.log_tail()}"
        if r["status"] != "ok":
            self.log(f"  {r['label']}: {r['status']}")

    def _idle_rss(self, inst: Instance, sc: Scenario, r: dict) -> None:
        self.warm(sc, inst)
        time.sleep(1.0)
        rss = inst.rss()
        r.update(rss_worker_mb=rss["per_worker"] / MB, rss_total_mb=rss["total"] / MB,
                 rss_root_mb=rss["root"] / MB, procs=rss["procs"])
        self.log(f"  {r['label']}: {r['rss_worker_mb']:.1f} MB/worker, {r['rss_total_mb']:.1f} MB total")

    def _ws_idle(self, inst: Instance, sc: Scenario, r: dict) -> None:
        time.sleep(0.5)
        before = inst.rss()["total"]
        n = self.s.ws_idle_connections
        argv = self._pin([self.ctx.project_python, str(Path(__file__).with_name("wsclient.py")), "idle",
                          f"ws://127.0.0.1:{inst.port}{sc.path}", "--connections", str(n), "--hold", "90"])
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            line = proc.stdout.readline().strip() if ready else ""
            if not line.startswith("READY"):
                raise CheckFailed(f"ws idle client did not open its connections: {line or 'timeout'}")
            _, opened, errors = line.split()
            time.sleep(1.0)
            after = inst.rss()["total"]
            opened_n = int(opened)
            r.update(opened=opened_n, errors=int(errors),
                     kib_per_conn=(after - before) / 1024 / opened_n if opened_n else None,
                     rss_before_mb=before / MB, rss_after_mb=after / MB)
            self.log(f"  {r['label']}: {opened_n} open, {r['kib_per_conn']:.1f} KiB each")
        finally:
            try:
                proc.stdin.close()
                proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)
                proc.wait()


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def _summarize(r: dict) -> None:
    runs = r["runs"]
    if not runs:
        if r["status"] == "ok":
            r["status"] = "failed: no completed run"
        return
    r["rps"] = parse.median([m["rps"] for m in runs])
    r["p50_ms"] = parse.median([m.get("p50_ms") for m in runs])
    r["p99_ms"] = parse.median([m.get("p99_ms") for m in runs])
    r["errors"] = sum(m.get("errors", 0) for m in runs)
    r["requests"] = sum(m.get("requests", 0) for m in runs)
    r["rss_peak_mb"] = max(m.get("rss_peak", 0) for m in runs) / MB
    r["server_cpu_pct"] = parse.median([m.get("server_cpu_pct") for m in runs])
    per = [m["server_cpu_s"] / m["requests"] * 1e6 for m in runs if m.get("requests")]
    r["server_cpu_us_per_req"] = parse.median(per)


def make_static_files(static_dir: Path) -> None:
    """16 KiB and 1 MiB files with fixed content (created once)."""
    static_dir.mkdir(parents=True, exist_ok=True)
    for name, size in (("16k.bin", 16 * 1024), ("1m.bin", 1024 * 1024)):
        p = static_dir / name
        if not p.exists() or p.stat().st_size != size:
            block = bytes(range(256))
            p.write_bytes((block * (size // 256 + 1))[:size])


def python_exe() -> str:
    return sys.executable
