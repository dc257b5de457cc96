"""Master supervision with a stand-in worker (tests/process/standin.py).

These pin the master's behaviour independently of the HTTP engine: the same
scenarios run against the real engine in test_engine_supervision.py.
"""

from __future__ import annotations

import re
import signal
import threading
import time

import psutil
import pytest

from tests.process.helpers import get, ready_workers, wait_for, worker_pids
from tests.support import ServerProcess, free_port

pytestmark = pytest.mark.slow


def standin(port, *extra, env=None, wait=True):
    return ServerProcess(["-m", "tests.process.standin", "--port", str(port), *extra],
                         port, env=env, wait=wait)


def test_titles_and_one_process_per_worker():
    port = free_port()
    with standin(port, "--workers", "2") as srv:
        pids = ready_workers(srv, 2)
        want = ["skitai(standin): worker #0", "skitai(standin): worker #1"]

        def titles():
            return sorted(" ".join(psutil.Process(p).cmdline()).strip() for p in pids)

        # a just-forked worker still carries the master's title for a moment
        wait_for(lambda: titles() == want, 5, what=f"worker titles {want}, have {titles()}")
        assert " ".join(psutil.Process(srv.pid).cmdline()).strip() == "skitai(standin): master"
        assert get(port)[0] == 200
        assert srv.stop() == 0


def test_one_worker_still_has_a_master():
    port = free_port()
    with standin(port, "--workers", "1") as srv:
        pids = ready_workers(srv, 1)
        assert len(pids) == 1
        status, body = get(port)
        assert status == 200 and int(body) in pids
        assert srv.stop() == 0


def test_sigkilled_worker_is_replaced_and_service_continues():
    port = free_port()
    with standin(port, "--workers", "2") as srv:
        before = ready_workers(srv, 2)
        victim = min(before)
        psutil.Process(victim).kill()
        after = wait_for(lambda: (len(p := worker_pids(srv.pid)) == 2 and victim not in p) and p,
                         10, what="replacement worker")
        assert len(after - before) == 1
        for _ in range(20):
            assert get(port)[0] == 200
        out = srv.output()
        assert f"pid={victim} status=killed by SIGKILL" in out
        assert "reason=crash" in out and "restarting worker #" in out
        assert srv.stop() == 0


def test_busy_worker_is_replaced_by_the_critical_point():
    port = free_port()
    with standin(port, "--workers", "2", "--interval", "1", "--continuous", "2",
                 "--cpu", "25") as srv:
        ready_workers(srv, 2)

        outcome: list = []

        def spin():
            try:
                outcome.append(get(port, "/busy", timeout=25))
            except OSError as e:  # its worker gets killed: the connection drops
                outcome.append(e)

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        # thresholds are low because the test machine is shared: a spinning worker
        # may get well under one core; idle workers stay near 0 %
        line = wait_for(lambda: re.search(r"over its critical point; replacing pid=(\d+)",
                                          srv.output()), 30, what="critical point log",
                        detail=srv.output)
        busy = int(line.group(1))
        wait_for(lambda: busy not in worker_pids(srv.pid), 20, what="busy worker replaced")
        spinner.join(10)  # the replaced worker was the spinning one: its request dropped
        assert len(outcome) == 1 and isinstance(outcome[0], OSError), outcome
        ready_workers(srv, 2)
        out = srv.output()
        assert "over its critical point" in out and "reason=critical_point" in out
        for _ in range(10):
            assert get(port)[0] == 200
        assert srv.stop() == 0


def test_memory_limit_replaces_worker():
    port = free_port()
    # 1 byte: every worker is over the limit at its first sample (period = interval = 1 s)
    with standin(port, "--workers", "1", "--interval", "1", "--cpu", "100000",
                 "--max-worker-memory", "1") as srv:
        first = ready_workers(srv, 1)
        wait_for(lambda: "reason=memory" in srv.output(), 10, what="memory replacement")
        wait_for(lambda: (p := worker_pids(srv.pid)) and not (p & first), 15,
                 what="old worker gone")
        assert srv.stop() == 0


def test_sigterm_finishes_inflight_requests_and_exits_0(tmp_path):
    port = free_port()
    mark = tmp_path / "started"
    with standin(port, "--workers", "2", env={"STANDIN_MARK": str(mark)}) as srv:
        results: list = []

        def call():
            try:
                results.append(get(port, "/slow")[0])
            except Exception as e:  # noqa: BLE001 - recorded as a failure
                results.append(repr(e))

        threads = [threading.Thread(target=call) for _ in range(10)]
        for t in threads:
            t.start()
        # every request reached a worker (each takes 0.5 s) when SIGTERM arrives
        wait_for(lambda: mark.exists() and len(mark.read_text().split()) == 10, 10,
                 interval=0.005, what="10 requests in flight")
        srv.signal(signal.SIGTERM)
        for t in threads:
            t.join(15)
        assert results == [200] * 10
        assert srv.proc.wait(15) == 0
        assert "SIGTERM received: stopping" in srv.output()
        with pytest.raises(OSError):
            get(port, timeout=1)


def test_sighup_replaces_every_worker_without_failed_requests():
    port = free_port()
    with standin(port, "--workers", "2") as srv:
        before = ready_workers(srv, 2)
        stop = threading.Event()
        ok, failed = [], []

        def traffic():
            while not stop.is_set():
                try:
                    status, _ = get(port, timeout=5)
                    (ok if status == 200 else failed).append(status)
                except Exception as e:  # noqa: BLE001
                    failed.append(repr(e))

        t = threading.Thread(target=traffic)
        t.start()
        try:
            time.sleep(0.3)
            srv.signal(signal.SIGHUP)
            wait_for(lambda: (p := worker_pids(srv.pid)) and len(p) == 2 and not (p & before),
                     20, what="all workers replaced")
            time.sleep(0.3)
        finally:
            stop.set()
            t.join(10)
        assert failed == [] and len(ok) > 10
        out = srv.output()
        assert out.count("reason=reload") >= 4  # 2 started + 2 exited
        assert "rolling reload finished" in out
        assert srv.stop() == 0


def test_app_that_cannot_load_makes_the_master_give_up():
    port = free_port()
    with standin(port, "--workers", "2", env={"STANDIN_FAIL": "5"}, wait=False) as srv:
        assert srv.proc.wait(20) == 1
        out = srv.output()
        assert "cannot import the app" in out
        assert "giving up" in out


def test_quick_crashes_back_off():
    port = free_port()
    with standin(port, "--workers", "1", env={"STANDIN_FAIL": "1"}, wait=False) as srv:
        wait_for(lambda: "restarting in 1s" in srv.output(), 10, what="second back-off step")
        out = srv.output()
        assert "restarting in 0.5s" in out
        assert srv.proc.poll() is None  # a crash is not "the app cannot load": keep trying
        assert srv.stop() == 0


def test_sigint_stops_gracefully_and_a_second_one_kills_at_once():
    port = free_port()
    with standin(port, "--workers", "1", "--shutdown-timeout", "20") as srv:
        ready_workers(srv, 1)
        srv.signal(signal.SIGINT)
        assert srv.proc.wait(10) == 0
        assert "SIGINT received: stopping" in srv.output()
    port = free_port()
    with standin(port, "--workers", "1", "--shutdown-timeout", "20") as srv:
        # a request that never finishes in time keeps the worker draining ...
        threading.Thread(target=lambda: _quiet_get(port, "/busy"), daemon=True).start()
        time.sleep(0.3)
        srv.signal(signal.SIGINT)
        time.sleep(0.5)
        assert srv.proc.poll() is None  # still draining (shutdown_timeout 20 s)
        srv.signal(signal.SIGINT)  # ... until Ctrl-C again
        assert srv.proc.wait(10) == 0
        assert "second SIGINT: killing workers now" in srv.output()


def _quiet_get(port, path):
    try:
        get(port, path, timeout=20)
    except OSError:
        pass


def test_exit_4_at_start_backs_off_instead_of_looping():
    port = free_port()
    with standin(port, "--workers", "1", env={"STANDIN_FAIL": "4"}, wait=False) as srv:
        wait_for(lambda: "restarting in 1s" in srv.output(), 10, what="second back-off step")
        time.sleep(0.5)
        out = srv.output()
        assert "reason=memory" in out
        assert out.count("cannot import the app") <= 4  # 0.5 s + 1 s of back-off, not a fork loop
        assert srv.stop() == 0


def test_worker_that_never_reports_ready_counts_as_ready_after_the_fallback():
    port = free_port()
    with standin(port, "--workers", "2", "--ready-fallback", "1",
                 env={"STANDIN_NO_READY": "1"}) as srv:
        before = ready_workers(srv, 2)
        assert srv.output().count("did not report ready within 1s") == 2
        srv.signal(signal.SIGHUP)  # the reload still makes progress, one worker at a time
        wait_for(lambda: (p := worker_pids(srv.pid)) and len(p) == 2 and not (p & before), 15,
                 what="every worker replaced", detail=srv.output)
        assert get(port)[0] == 200
        assert srv.stop() == 0
