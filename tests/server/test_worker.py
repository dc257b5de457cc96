"""Worker lifecycle: graceful drain on SIGTERM, max_requests, lifespan failure."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import httpx
import pytest

from tests.server.apps import SHUTDOWN_MARK
from tests.server.conftest import run_server
from tests.server.rawhttp import Conn, request
from tests.support import ServerProcess, free_port


@pytest.mark.slow
def test_sigterm_drains_in_flight_request_and_exits_0():
    with run_server("--shutdown-timeout", "10", app="tests.server.apps:lifespan_marks") as srv:
        mark = SHUTDOWN_MARK.format(pid=srv.pid)
        idle = Conn(srv.port)
        idle.send(request("GET", "/warm"))
        assert idle.read_response().status == 200
        result = {}

        def slow():
            with Conn(srv.port, timeout=10) as c:
                c.send(request("GET", "/slow?1.5"))
                r = c.read_response()
                result["status"], result["body"] = r.status, r.body
                result["connection"] = r.header("connection")
                result["closed"] = c.closed_by_peer()

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.4)
        srv.signal(signal.SIGTERM)
        # idle keep-alive connections are closed at once
        t0 = time.monotonic()
        assert idle.closed_by_peer(timeout=1.0)
        assert time.monotonic() - t0 < 1.0
        idle.close()
        time.sleep(0.2)
        # no new connections are accepted while draining
        with pytest.raises(OSError):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
                s.sendall(request("GET", "/late"))
                if not s.recv(100):
                    raise ConnectionResetError("closed")
        t.join(10)
        assert result == {"status": 200, "body": b"slow done", "connection": "close", "closed": True}
        assert srv.proc.wait(10) == 0
        assert os.path.exists(mark), "lifespan shutdown did not run"
        os.unlink(mark)


@pytest.mark.slow
def test_shutdown_timeout_bounds_the_drain():
    with run_server("--shutdown-timeout", "1") as srv:
        def hang():
            try:
                with Conn(srv.port, timeout=10) as c:
                    c.send(request("GET", "/slow?30"))
                    c.closed_by_peer(timeout=10)
            except OSError:
                pass

        t = threading.Thread(target=hang)
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert srv.proc.wait(10) == 0
        assert time.monotonic() - t0 < 4
        t.join(10)


def test_max_requests_exits_3():
    with run_server("--max-requests", "3") as srv:
        with httpx.Client(base_url=srv.url) as c:
            for i in range(3):
                assert c.get(f"/r{i}").status_code == 200
        assert srv.proc.wait(10) == 3


def test_lifespan_startup_failure_exits_5():
    port = free_port()
    args = ["-m", "skitai.server.worker", "--app", "tests.server.apps:failing_startup", "--port", str(port)]
    with ServerProcess(args, port, wait=False) as srv:
        assert srv.proc.wait(15) == 5
        assert "database unreachable" in srv.output()
