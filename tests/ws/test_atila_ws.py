"""Atila's @app.websocket API (E8) through the real engine with the websockets client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.h2.fixtures import start_harness


@pytest.fixture(scope="module")
def e8():
    with start_harness(app="tests.ws.e8_app:app") as srv:
        yield srv


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_channel_echo_with_onopen_onclose(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/websocket") as ws:
            await ws.send("hello")
            assert await ws.recv() == "you said: hello"
            await ws.send("again")
            assert await ws.recv() == "you said: again"
    run(go())
    for _ in range(40):
        evs = httpx.get(e8.url + "/events").json()["events"]
        if any(e[0] == "close" for e in evs):
            break
        time.sleep(0.05)
    kinds = [e[0] for e in evs]
    assert kinds[:1] == ["open"] and "close" in kinds
    opened = next(e for e in evs if e[0] == "open")
    assert [e for e in evs if e[0] == "close"][0][1] == opened[1]


def test_query_args_bound_and_threadsafe_send(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/websocket2?option=value") as ws:
            await ws.send("hi")
            got = {await ws.recv(), await ws.recv()}
            assert got == {"from my own thread", "you said: hi option=value"}
    run(go())
    evs = httpx.get(e8.url + "/events").json()["events"]
    assert ["open", evs[-1][1], "value"] in [list(e) for e in evs]


def test_session_generator(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/echo") as ws:
            await ws.send("hi")
            assert await ws.recv() == "ECHO:hi"
            await ws.send("there")
            assert await ws.recv() == "ECHO:there"
            await ws.send("")  # an empty message ends the session
            with pytest.raises(ConnectionClosed) as ei:
                await ws.recv()
            assert ei.value.rcvd.code == 1000
    run(go())


def test_group_chat_two_clients_and_rooms(e8):
    async def go():
        base = f"ws://127.0.0.1:{e8.port}/chat"
        async with websockets.connect(base + "?room_id=1") as a, \
                websockets.connect(base + "?room_id=1") as b, \
                websockets.connect(base + "?room_id=2") as other:
            await a.send("hello room")
            ma = await a.recv()
            mb = await b.recv()
            assert ma == mb and ma.startswith("Client ") and ma.endswith(" Said: hello room")
            await b.send("yo")
            assert (await a.recv()).endswith("Said: yo")
            assert (await b.recv()).endswith("Said: yo")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(other.recv(), 0.3)  # another room hears nothing
    run(go())


def test_nothread_coroutine_json_and_binary(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/nothread") as ws:
            await ws.send("abc")
            assert await ws.recv() == "ABC"
            await ws.send("b:x")
            assert await ws.recv() == b"b:x"  # bytes -> binary frame
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/order") as ws:
            for m in ("a", "b"):
                await ws.send(m)
                assert [await ws.recv() for _ in range(3)] == [f"first {m}", f"second {m}", f"third {m}"]
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/coro") as ws:
            await ws.send("x")
            assert await ws.recv() == "async x"
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/coro_gen") as ws:
            await ws.send("m")
            assert [await ws.recv(), await ws.recv()] == ["got m", "twice m"]
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/json") as ws:
            await ws.send(json.dumps({"n": [1, 2, 3]}))
            assert json.loads(await ws.recv()) == {"got": {"n": [1, 2, 3]}, "sum": 6}
    run(go())


def test_push_with_app_websocket_send(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/websocket?user=alice") as ws:
            async with httpx.AsyncClient() as c:
                r = await c.get(e8.url + "/item_in_stock", params={"user": "alice"})
                assert r.text == "ok"
            assert await ws.recv() == "Item In Stock!"
    run(go())
    assert httpx.get(e8.url + "/item_in_stock", params={"user": "alice"}).text == "gone"


def test_timeout_closes_idle_socket(e8):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{e8.port}/short") as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosed) as ei:
                await ws.recv()
            assert ei.value.rcvd.code == 1001 and time.monotonic() - t0 < 3
    run(go())


def test_not_a_websocket_route_is_refused(e8):
    async def go():
        with pytest.raises(websockets.exceptions.InvalidStatus) as ei:
            async with websockets.connect(f"ws://127.0.0.1:{e8.port}/events"):
                pass
        assert ei.value.response.status_code == 403
    run(go())


def test_atila_websocket_over_h2(e8):
    # RFC 8441: the same Atila handler on an HTTP/2 stream
    import h2.events
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    from tests.h2.rawclient import RawH2
    cl = RawH2(e8.port)
    cl.pump(lambda c: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in c.events))
    sid = cl.conn.get_next_available_stream_id()
    cl.conn.send_headers(sid, [(b":method", b"CONNECT"), (b":protocol", b"websocket"), (b":scheme", b"http"),
                               (b":path", b"/echo"), (b":authority", b"localhost"),
                               (b"sec-websocket-version", b"13")])
    ws = Connection(ConnectionType.CLIENT)
    cl.conn.send_data(sid, ws.send(TextMessage(data="h2")))
    cl.flush()
    got = []

    def have(c):
        for e in list(c.events):
            if isinstance(e, h2.events.DataReceived) and e.stream_id == sid and e.data:
                c.events.remove(e)
                ws.receive_data(e.data)
                got.extend(ws.events())
        return bool(got)
    assert cl.pump(have, 5)
    assert got[0].data == "ECHO:h2"
    cl.close()


def test_e8_in_process_with_the_asgi_test_client():
    from skitai.testing.asgi import AsgiClient
    from tests.ws.e8_app import app
    with AsgiClient(app) as c:
        with c.websocket_connect("/websocket") as ws:
            ws.send_text("hello")
            assert ws.receive_text() == "you said: hello"
        with c.websocket_connect("/echo") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "ECHO:hi"
        with c.websocket_connect("/chat?room_id=7") as a, c.websocket_connect("/chat?room_id=7") as b:
            a.send_text("x")
            assert a.receive_text() == b.receive_text()


def test_spec_misuse_is_refused_at_registration():
    import skitai
    from atila import Atila
    app = Atila(__name__)

    def opener(context):
        pass

    with pytest.raises(ValueError, match="onopen"):
        @app.route("/a")
        @app.websocket(skitai.WS_CHANNEL | skitai.WS_SESSION, 60, opener)
        def a(context):
            yield
    with pytest.raises(ValueError, match="THREADSAFE"):
        @app.route("/b")
        @app.websocket(skitai.WS_CHANNEL | skitai.WS_SESSION | skitai.WS_THREADSAFE, 60)
        def b(context):
            yield
    with pytest.raises(ValueError, match="generator"):
        @app.route("/c")
        @app.websocket(skitai.WS_CHANNEL | skitai.WS_SESSION, 60)
        def c(context, message):
            return message
