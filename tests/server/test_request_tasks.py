"""How the h1 server runs requests without a task each (skitai/server/h1.py, ``start``).

The first step of a request runs from a shared loop callback with the
connection's runner task as the current task; a request that waits is driven
on by that runner. These tests pin down what an app must not notice: its own
contextvars per request, a current task, asyncio.timeout and cancellation,
errors after a wait, and work after the response never holding up the next
request on the same keep-alive connection.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.server.conftest import run_server
from tests.server.rawhttp import Conn


@pytest.fixture(scope="module")
def server():
    with run_server(app="tests.server.task_apps:app") as srv:
        yield srv


def _get(conn: Conn, target: str) -> tuple[int, dict]:
    conn.send(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % target.encode())
    r = conn.read_response()
    return r.status, json.loads(r.body)


@pytest.mark.parametrize("wait", ["", "&wait"])
def test_each_request_has_its_own_contextvars(server, wait):
    with Conn(server.port) as c:
        for i in range(5):
            status, data = _get(c, f"/var?r{i}{wait}")
            assert status == 200
            # set by the previous request on the same connection, never seen here
            assert data["before"] == "unset", data
            assert data["after"] == f"r{i}{wait}"
            assert data["task"] is True


def test_asyncio_timeout_works_in_a_request(server):
    with Conn(server.port) as c:
        for _ in range(3):
            status, data = _get(c, "/timeout")
            assert (status, data) == (200, {"outcome": "timed out", "task": True})


def test_cancel_of_the_current_task_reaches_the_request(server):
    with Conn(server.port) as c:
        for _ in range(3):
            assert _get(c, "/cancel-self") == (200, {"outcome": "cancelled"})
            # and the connection goes on serving
            assert _get(c, "/var?x")[1]["before"] == "unset"


def test_a_stale_cancel_does_not_hurt_the_next_request(server):
    with Conn(server.port) as c:
        for _ in range(3):
            assert _get(c, "/stale-cancel") == (200, {"ok": True})
            status, data = _get(c, "/timeout")
            assert (status, data["outcome"]) == (200, "timed out")
            assert _get(c, "/var?y&wait")[1] == {"before": "unset", "after": "y&wait", "task": True}


def test_work_after_the_response_does_not_hold_up_the_next_request(server):
    with Conn(server.port) as c:
        assert _get(c, "/after?2") == (200, {"ok": True})
        t0 = time.monotonic()
        # the first app still sleeps for 2 s; these must not wait for it
        for i in range(3):
            assert _get(c, f"/var?n{i}")[1]["after"] == f"n{i}"
        assert _get(c, "/timeout")[1]["outcome"] == "timed out"
        assert time.monotonic() - t0 < 1.5


def test_pipelined_requests_that_wait_answer_in_order(server):
    with Conn(server.port) as c:
        targets = [f"/var?p{i}" + ("&wait" if i % 2 else "") for i in range(6)]
        c.send(b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % t.encode() for t in targets))
        for t in targets:
            r = c.read_response()
            assert r.status == 200
            data = json.loads(r.body)
            assert data["after"] == t[len("/var?"):]
            assert data["before"] == "unset", (t, data)  # nothing leaks from the request before


def test_body_sent_with_the_head_and_after_it(server):
    with Conn(server.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        r = c.read_response()
        assert (r.status, json.loads(r.body)) == (200, {"len": 5})
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n")
        time.sleep(0.05)
        c.send(b"world!")
        r = c.read_response()
        assert (r.status, json.loads(r.body)) == (200, {"len": 6})


def test_an_error_after_a_wait_is_a_500_and_the_server_goes_on(server):
    with Conn(server.port) as c:
        c.send(b"GET /boom-late HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        assert r.status == 500
        assert b"gtxnid" in r.body
    with Conn(server.port) as c:
        assert _get(c, "/var?z")[1]["before"] == "unset"


def test_an_app_returning_another_awaitable_is_awaited():
    with run_server(app="tests.server.task_apps:future_app") as srv, Conn(srv.port) as c:
        for i in range(3):
            status, data = _get(c, f"/var?f{i}")
            assert (status, data["after"]) == (200, f"f{i}")
        assert _get(c, "/timeout")[1]["outcome"] == "timed out"


def test_an_app_failing_when_called_is_a_500():
    with run_server(app="tests.server.task_apps:raising_app") as srv:
        with Conn(srv.port) as c:
            c.send(b"GET /fail HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 500
        with Conn(srv.port) as c:
            assert _get(c, "/var?ok")[1]["after"] == "ok"


def test_sigterm_stops_a_worker_whose_app_swallows_the_cancel():
    import signal

    with run_server("--shutdown-timeout", "0.5", app="tests.server.task_apps:app") as srv:
        with Conn(srv.port) as c:
            assert _get(c, "/swallow-cancel") == (200, {"ok": True})
            # the app works on after its response; the same connection serves on meanwhile
            assert _get(c, "/var?q")[1]["after"] == "q"
            srv.proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            code = srv.proc.wait(timeout=10)
        assert time.monotonic() - t0 < 8
        assert code == 0, srv.output() if hasattr(srv, "output") else code


@pytest.mark.load
def test_many_connections_mixing_waiting_and_immediate_requests():
    """Races between the first step, the runner hand-off and classic tasks: 32 connections,
    each pipelining requests that finish at once, that wait, that time out and that work on
    after their response; every answer must arrive, in order, with its own context."""
    import threading

    kinds = ["/var?a{}", "/var?b{}&wait", "/timeout", "/after?0.05", "/var?c{}"]
    errors: list[str] = []

    def client(n: int) -> None:
        try:
            with Conn(srv.port, timeout=10) as c:
                for rnd in range(6):
                    targets = [k.format(f"{n}-{rnd}-{i}") if "{}" in k else k for i, k in enumerate(kinds)]
                    c.send(b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % t.encode() for t in targets))
                    for t in targets:
                        r = c.read_response()
                        data = json.loads(r.body)
                        if r.status != 200:
                            errors.append(f"{t}: {r.status}")
                        elif t.startswith("/var") and (data["before"] != "unset" or data["after"] != t[5:]):
                            errors.append(f"{t}: {data}")
                        elif t == "/timeout" and data["outcome"] != "timed out":
                            errors.append(f"{t}: {data}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"client {n}: {exc!r}")

    with run_server(app="tests.server.task_apps:app") as srv:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client hung"
        assert not errors, errors[:5]
        assert time.monotonic() - t0 < 60
