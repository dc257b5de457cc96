"""One command for the whole benchmark: ``python bench/run.py [--quick] [--only IDS]``.

Starts this project's Skitai and the peer servers on this machine, drives
wrk / h2load / a WebSocket client against them in interleaved rounds and
writes bench/RESULTS.md (targets with PASS/FAIL, machine, versions, tables).
See bench/README.md. Every server is killed at the end, whatever happened.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
_VENV_PY = ROOT / ".venv" / "bin" / "python"
if __name__ == "__main__" and _VENV_PY.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    # the bench drives this project's Skitai with the running interpreter: use the project's venv
    os.execv(str(_VENV_PY), [str(_VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
try:
    import psutil  # noqa: F401
except ImportError:
    raise SystemExit("bench: psutil is missing: run scripts/setup.sh, then .venv/bin/python bench/run.py") from None

from bench.harness import envs, procs, report  # noqa: E402
from bench.harness.runner import Runner, Settings, make_static_files  # noqa: E402
from bench.harness.scenarios import all_scenarios  # noqa: E402
from bench.harness.servers import Ctx  # noqa: E402

PEER_PACKAGES = ["uvicorn", "starlette", "httptools", "uvloop", "gunicorn", "flask", "granian", "hypercorn",
                 "websockets"]
ORIG_PACKAGES = ["skitai", "atila", "rs4"]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Skitai benchmark against its peers (see bench/README.md).")
    ap.add_argument("--quick", action="store_true", help="2 s runs, 1 round (for development)")
    ap.add_argument("--only", default="", help="comma-separated scenario ids or id prefixes (see --list)")
    ap.add_argument("--servers", default="", help="comma-separated row ids to keep (e.g. skitai,uvicorn)")
    ap.add_argument("--duration", type=float, help="seconds per measured run (default 4, quick 2)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per scenario (default 3, quick 1)")
    ap.add_argument("--warmup", type=float, help="warm-up seconds per server and scenario (default 1)")
    ap.add_argument("--output", help="report path (default bench/RESULTS.md; with --only/--servers "
                                     "bench/.work/RESULTS-partial.md)")
    ap.add_argument("--json", help="raw results path (default bench/.work/results.json)")
    ap.add_argument("--work", help="working directory: venvs, static files, logs (default bench/.work)")
    ap.add_argument("--no-setup", action="store_true", help="never create the venvs; missing ones are "
                                                           "reported as not available")
    ap.add_argument("--no-pin", action="store_true", help="do not pin servers / load generator with taskset")
    ap.add_argument("--budget", type=float, default=25.0,
                    help="minutes; scenarios not started by then are reported as not run (default 25)")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    return ap.parse_args(argv)


def select(args) -> list:
    scenarios = all_scenarios()
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        scenarios = [s for s in scenarios if any(s.id == w or s.id.startswith(w) for w in wanted)]
        if not scenarios:
            raise SystemExit(f"--only {args.only}: no such scenario (see --list)")
    # one worker count at a time, so each server set is started once per group; idle-rss first in
    # its group so it sees freshly started servers
    return sorted(scenarios, key=lambda s: (s.workers, s.tool != "idle-rss"))


def estimate_s(scenarios, settings: Settings, only_rows) -> float:
    """Rough wall time: measured rounds + warm-up + start-up per row (ws/idle rows are short)."""
    total = 0.0
    for sc in scenarios:
        n = len([r for r in sc.rows if not only_rows or r.id in only_rows])
        if sc.tool in ("wrk", "h2load"):
            total += n * (settings.rounds * (max(1, round(settings.duration)) + 0.4) + settings.warmup + 1.5)
        elif sc.tool == "ws-echo":
            total += n * (settings.rounds * (settings.ws_round_trips / 40000 + 1) + 2)
        else:
            total += n * 4
    return total


def not_run(sc, reason: str, only_rows) -> dict:
    rows = {r.id: {"label": r.label, "server": r.server, "app": r.app, "status": f"failed: {reason}",
                   "runs": []} for r in sc.rows if not only_rows or r.id in only_rows}
    return {"id": sc.id, "title": sc.title, "what": sc.what, "tool": sc.tool, "path": sc.path,
            "workers": sc.workers, "connections": sc.connections, "rows": rows}


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    return {"cpu": cpu, "cores": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
            "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
            "kernel": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def versions(ctx: Ctx) -> dict:
    out: dict[str, str] = {}
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = "?"
    proj = envs.package_versions(ctx.project_python, ["skitai", "websockets", "uvloop", "httptools", "h2",
                                                      "wsproto", "orjson"])
    out["skitai + atila (this project)"] = f"{proj.get('skitai', '?')} (git {commit}), Python {proj.get('python')}"
    out["this project's uvloop / httptools / h2 / wsproto / orjson"] = " / ".join(
        proj.get(n, "?") for n in ("uvloop", "httptools", "h2", "wsproto", "orjson"))
    out["websockets (bench client)"] = proj.get("websockets", "?")
    if ctx.peers_python:
        peers = envs.package_versions(ctx.peers_python, PEER_PACKAGES)
        for name in PEER_PACKAGES:
            out[name] = peers.get(name, "?")
    else:
        out["peers venv"] = ctx.peers_reason
    if ctx.orig_python:
        orig = envs.package_versions(ctx.orig_python, ORIG_PACKAGES)
        out["original skitai / atila / rs4 (PyPI)"] = " / ".join(orig.get(n, "?") for n in ORIG_PACKAGES)
    else:
        out["original skitai venv"] = ctx.orig_reason
    out["wrk"] = envs.tool_version(["wrk", "-v"]).split(" Copyright")[0]
    out["h2load"] = envs.tool_version(["h2load", "--version"])
    out["nginx"] = envs.tool_version(["nginx", "-v"])
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in all_scenarios():
            print(f"{s.id:18} {s.tool:8} w={s.workers}  {s.title}  [{', '.join(r.id for r in s.rows)}]")
        return 0
    started = time.monotonic()
    settings = Settings()
    if args.quick:
        settings.duration, settings.rounds, settings.ws_round_trips, settings.ws_idle_connections = 2, 1, 40000, 200
    if args.duration:
        settings.duration = args.duration
        settings.ws_round_trips = max(1000, int(50000 * args.duration))
    if args.rounds:
        settings.rounds = args.rounds
    if args.warmup is not None:
        settings.warmup = args.warmup
    partial_selection = bool(args.only or args.servers)
    work = Path(args.work).resolve() if args.work else envs.WORK
    output = Path(args.output) if args.output else (
        work / "RESULTS-partial.md" if partial_selection else BENCH / "RESULTS.md")
    json_path = Path(args.json) if args.json else work / "results.json"
    scenarios = select(args)
    only_rows = {r.strip() for r in args.servers.split(",") if r.strip()} or None

    work.mkdir(parents=True, exist_ok=True)
    make_static_files(work / "static")
    machine = machine_info()
    cpus = machine["affinity"]
    pin = not args.no_pin and len(cpus) >= 2
    if pin:
        settings.load_cpu = str(cpus[-1])
        pinning = (f"load generator (wrk/h2load/ws client) pinned to CPU {cpus[-1]}; single-worker servers "
                   f"pinned to CPU {cpus[0]} (its whole process tree); 2-worker servers unpinned.")
    else:
        pinning = "none (fewer than 2 CPUs or --no-pin)."

    peers_python, peers_reason = envs.ensure_venv(work, "venv-peers", BENCH / "requirements-peers.txt",
                                                  create=not args.no_setup)
    orig_python, orig_reason = envs.ensure_venv(work, "venv-orig", BENCH / "requirements-orig.txt",
                                                create=not args.no_setup)
    ctx = Ctx(work=work, static_dir=work / "static", project_python=sys.executable,
              peers_python=peers_python, peers_reason=peers_reason, orig_python=orig_python,
              orig_reason=orig_reason, pin_cpu=str(cpus[0]) if pin else None)
    cmd = ("python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])).strip()
    results: dict = {"meta": {
        "command": cmd, "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": machine, "versions": versions(ctx), "pinning": pinning,
        "settings": {"duration": settings.duration, "rounds": settings.rounds, "warmup": settings.warmup,
                     "ws_round_trips": settings.ws_round_trips,
                     "ws_idle_connections": settings.ws_idle_connections},
        "elapsed_s": 0.0}, "scenarios": {}}

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    runner = Runner(ctx, settings)
    print(f"bench: {len(scenarios)} scenario(s), {settings.rounds} round(s) x {settings.duration:g} s, "
          f"estimated {estimate_s(scenarios, settings, only_rows) / 60:.1f} min; report -> {output}", flush=True)
    try:
        current_workers = None
        for sc in scenarios:
            if time.monotonic() - started > args.budget * 60:
                results["scenarios"][sc.id] = not_run(sc, f"not run: the {args.budget:g} min budget was used up",
                                                      only_rows)
                continue
            if sc.workers != current_workers:
                runner.stop_servers()  # a fresh set of servers per worker count
                current_workers = sc.workers
            try:
                results["scenarios"][sc.id] = runner.run_scenario(sc, only_rows)
            except Exception as e:  # a harness bug in one scenario must not cost the others
                traceback.print_exc()
                results["scenarios"][sc.id] = not_run(sc, f"harness error: {type(e).__name__}: {e}", only_rows)
    except KeyboardInterrupt as e:
        results["meta"]["partial"] = f"interrupted ({e or 'Ctrl-C'})"
    finally:
        runner.stop_servers()
        procs.stop_all()
        results["meta"]["access_log_lines"] = runner.access_log_lines()
        results["meta"]["elapsed_s"] = time.monotonic() - started
        results["meta"]["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report.render(results))
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1, default=str))
        print(f"bench: wrote {output} ({results['meta']['elapsed_s'] / 60:.1f} min)", flush=True)
    return 0 if "partial" not in results["meta"] else 130


if __name__ == "__main__":
    sys.exit(main())
