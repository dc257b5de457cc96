"""A stand-in worker for supervision tests that must not depend on the HTTP engine.

Run as ``python -m tests.process.standin --port N [--workers 2] [--interval 1] ...``:
it starts the real master (``skitai.process.master.main``) with a tiny blocking
HTTP/1.0 worker. Routes: ``/`` (pid), ``/slow`` (0.5 s), ``/busy`` (spins the
CPU forever), ``/pid``. ``STANDIN_FAIL=5`` makes every worker exit 5 (app
failed to load) before it reports ready; any other value is a crash code.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import sys
import threading
import time
from types import SimpleNamespace

from skitai.process import master, notify


def handle(conn: socket.socket) -> None:
    try:
        conn.setblocking(True)
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode()
        if path == "/slow":
            mark = os.environ.get("STANDIN_MARK")
            if mark:  # one line per request that reached the worker
                with open(mark, "a") as f:
                    f.write(f"{os.getpid()}\n")
            time.sleep(0.5)
        elif path == "/busy":
            while True:
                pass
        body = f"{os.getpid()}\n".encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(body), body))
    except OSError:
        pass
    finally:
        conn.close()


def worker(prefs, sockets, table, worker_id) -> int:
    fail = os.environ.get("STANDIN_FAIL")
    if fail:
        print(f"worker {worker_id}: cannot import the app", file=sys.stderr)
        return int(fail)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    threads: list[threading.Thread] = []
    if not os.environ.get("STANDIN_NO_READY"):
        notify.ready()
    while not stop.is_set():
        try:
            r, _, _ = select.select(sockets, [], [], 0.1)
        except InterruptedError:
            continue
        for s in r:
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                continue
            t = threading.Thread(target=handle, args=(conn,), daemon=True)
            t.start()
            threads.append(t)
        threads = [t for t in threads if t.is_alive()]
    for s in sockets:
        s.close()
    deadline = time.monotonic() + prefs.shutdown_timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0)
    ap.add_argument("--continuous", type=int, default=2)
    ap.add_argument("--cpu", type=float, default=80.0)
    ap.add_argument("--shutdown-timeout", type=float, default=5.0)
    ap.add_argument("--max-worker-memory", type=int, default=0)
    ap.add_argument("--pidfile", default=None)
    ap.add_argument("--name", default="standin")
    ap.add_argument("--logpath", default=None)
    ap.add_argument("--ready-fallback", type=float, default=None)
    argv = sys.argv[1:]
    command = argv.pop() if argv and argv[-1] in ("start", "stop", "restart", "status",
                                                  "-d", "-s", "-r") else None
    a = ap.parse_args(argv)
    prefs = SimpleNamespace(
        address="127.0.0.1", port=a.port, workers=a.workers, backlog=128,
        shutdown_timeout=a.shutdown_timeout, critical_point_cpu_percent=a.cpu,
        critical_point_continuous=a.continuous, critical_point_interval=a.interval,
        max_worker_memory=a.max_worker_memory, pidfile=a.pidfile, name=a.name,
        logpath=a.logpath, log_format="text")
    if command:
        from skitai.process import daemon
        return daemon.command(command, prefs, None, worker_fn=worker)
    return master.main(prefs, None, worker_fn=worker, ready_fallback=a.ready_fallback)


if __name__ == "__main__":
    sys.exit(main())
