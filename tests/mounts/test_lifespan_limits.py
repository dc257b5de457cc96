"""ASGI lifespan (startup/shutdown, state) and per-mount request body limits (413)."""

import asyncio

import pytest

from skitai.mounts import MountTable
from skitai.mounts.lifespan import LifespanError
from tests.apps import mounts_asgi, mounts_wsgi

from .asgi import acall, make_scope


class Pref:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_lifespan_startup_state_shutdown():
    mounts_asgi.EVENTS.clear()
    t = MountTable()
    t.add("/a", mounts_asgi.app)
    t.add("/plain", mounts_asgi.no_lifespan)      # raises on lifespan: served without it
    t.add("/w", mounts_wsgi.writer)               # WSGI: no lifespan
    t.load()

    async def go():
        await t.startup()
        r = await acall(t, make_scope("GET", "/a/x"))
        r2 = await acall(t, make_scope("GET", "/plain"))
        await t.shutdown()
        return r, r2
    r, r2 = asyncio.run(go())
    assert mounts_asgi.EVENTS == ["startup", "shutdown"]
    assert b"'state': {'db': 'connected'}" in r.body and b"'root_path': '/a'" in r.body
    assert r2.body == b"plain"


def test_state_is_copied_per_request():
    t = MountTable()
    seen = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["n"] = 0
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        scope["state"]["n"] += 1
        seen.append(scope["state"]["n"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    t.add("/", app)
    t.load()

    async def go():
        await t.startup()
        for _ in range(2):
            await acall(t, make_scope("GET", "/"))
        await t.shutdown()
    asyncio.run(go())
    assert seen == [1, 1]


def test_startup_failure_is_a_clear_error():
    t = MountTable()
    t.add("/db", mounts_asgi.failing_startup)
    t.load()
    with pytest.raises(LifespanError, match=r"'/db'.*no database"):
        asyncio.run(t.startup())


def test_table_speaks_lifespan_to_another_server():
    mounts_asgi.EVENTS.clear()
    t = MountTable()
    t.add("/", mounts_asgi.app)
    t.load()

    async def go():
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        out = []

        async def receive():
            return inbox.pop(0)

        async def send(m):
            out.append(m["type"])
        await t({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        return out
    assert asyncio.run(go()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert mounts_asgi.EVENTS == ["startup", "shutdown"]


def limited_table():
    t = MountTable()
    t.add("/small", mounts_asgi.echo_body, pref=Pref(max_client_body_size=100))
    t.add("/wsgi", mounts_wsgi.read_input, pref=Pref(max_client_body_size=100))
    t.add("/big", mounts_asgi.echo_body)
    t.load(Pref(max_body_size=1000, threads=2))
    return t


def test_content_length_over_the_mount_limit_is_413_without_calling_the_app():
    t = limited_table()
    called = []

    async def go(target, n):
        scope = make_scope("POST", target, [("Content-Length", str(n))])
        received = []

        async def receive():
            received.append(1)
            return {"type": "http.request", "body": b"x" * n}
        sent = []

        async def send(m):
            sent.append(m)
        await t(scope, receive, send)
        called.append(bool(received))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent)
    assert asyncio.run(go("/small", 101)) == (413, b"Request body too large\n")
    assert asyncio.run(go("/wsgi", 101))[0] == 413
    assert called == [False, False]        # body not read, app not called
    assert asyncio.run(go("/small", 100)) == (200, b"100")
    assert asyncio.run(go("/big", 1000)) == (200, b"1000")    # global max_body_size
    assert asyncio.run(go("/big", 1001))[0] == 413


def test_chunked_body_crossing_the_limit_is_cut_off():
    t = limited_table()
    mounts_asgi.EVENTS.clear()
    r = asyncio.run(acall(t, make_scope("POST", "/small", [("Transfer-Encoding", "chunked")]),
                          body=[b"x" * 60, b"x" * 60, b"x" * 60]))
    assert r.status == 413 and r.body == b"Request body too large\n"
    assert mounts_asgi.EVENTS == ["disconnect"]   # the app saw a disconnect, its answer was dropped
    r = asyncio.run(acall(t, make_scope("POST", "/wsgi", [("Transfer-Encoding", "chunked")]),
                          body=[b"x" * 60, b"x" * 60]))
    assert r.status == 413 and [m["type"] for m in r.messages].count("http.response.start") == 1
    r = asyncio.run(acall(t, make_scope("POST", "/small", [("Transfer-Encoding", "chunked")]),
                          body=[b"x" * 50, b"x" * 50]))
    assert r.status == 200 and r.body == b"100"


def test_limit_from_the_server_prefs_in_the_scope():
    t = MountTable()
    t.add("/", mounts_asgi.echo_body)
    t.load()
    ext = {"skitai": {"worker_id": 0, "prefs": Pref(max_body_size=10), "early_hints": None}}
    r = asyncio.run(acall(t, make_scope("POST", "/", [("Content-Length", "11")], extensions=ext), b"x" * 11))
    assert r.status == 413


def test_ceiling_for_the_server():
    assert limited_table().max_body_size_ceiling == 1000
    t = MountTable()
    t.add("/", mounts_asgi.echo_body, pref=Pref(max_client_body_size=0))
    t.load(Pref(max_body_size=10, threads=1))
    assert t.max_body_size_ceiling == -1


def test_http2_body_without_content_length_is_limited():
    t = limited_table()
    r = asyncio.run(acall(t, make_scope("POST", "/small", http_version="2"), body=[b"x" * 80, b"x" * 80]))
    assert r.status == 413
    r = asyncio.run(acall(t, make_scope("POST", "/small", http_version="2"), body=[b"x" * 80]))
    assert r.status == 200 and r.body == b"80"


def test_one_app_mounted_twice_has_one_lifespan():
    mounts_asgi.EVENTS.clear()
    t = MountTable()
    t.add("/a", mounts_asgi.app)
    t.add("/b", mounts_asgi.app)
    t.load()

    async def go():
        await t.startup()
        r = await acall(t, make_scope("GET", "/b/x"))
        await t.shutdown()
        return r
    r = asyncio.run(go())
    assert mounts_asgi.EVENTS == ["startup", "shutdown"]
    assert b"'state': {'db': 'connected'}" in r.body
