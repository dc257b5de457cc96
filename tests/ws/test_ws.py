"""WebSocket over HTTP/1.1 (RFC 6455) and over HTTP/2 (RFC 8441) for ASGI apps."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import ssl
import time

import h2.events
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from tests.h2.rawclient import RawH2


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def ws_url(h2server):
    return f"ws://127.0.0.1:{h2server.port}"


def test_echo_text_binary_and_scope(ws_url):
    async def go():
        async with websockets.connect(ws_url + "/ws/info?x=1", compression=None) as ws:
            assert await ws.recv() == "1.1 ws x=1"
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01\xff")
            assert await ws.recv() == b"\x00\x01\xff"
            await ws.send("한글 ünïcode")
            assert await ws.recv() == "한글 ünïcode"
    run(go())


def test_fragmented_message_and_ping_pong(ws_url):
    async def go():
        async with websockets.connect(ws_url + "/ws", compression=None) as ws:
            await ws.send(["frag", "mented ", "message"])  # one message in 3 frames
            assert await ws.recv() == "fragmented message"
            await ws.send([b"ab", b"cd"])
            assert await ws.recv() == b"abcd"
            pong = await ws.ping(b"probe")
            latency = await asyncio.wait_for(pong, 3)
            assert latency >= 0
    run(go())


def test_subprotocol_negotiated(ws_url):
    async def go():
        async with websockets.connect(ws_url + "/ws", subprotocols=["chat", "superchat"]) as ws:
            assert ws.subprotocol == "superchat"
    run(go())


def test_denied_before_accept_is_403(ws_url):
    async def go():
        with pytest.raises(InvalidStatus) as ei:
            async with websockets.connect(ws_url + "/ws/deny"):
                pass
        assert ei.value.response.status_code == 403
    run(go())


def test_app_close_code_and_reason(ws_url):
    async def go():
        async with websockets.connect(ws_url + "/ws/close") as ws:
            with pytest.raises(ConnectionClosed) as ei:
                await ws.recv()
            assert ei.value.rcvd.code == 4001 and ei.value.rcvd.reason == "bye"
    run(go())


def test_bad_handshake_is_400(h2server):
    s = socket.create_connection(("127.0.0.1", h2server.port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()


def test_max_message_size_closes_1009():
    from tests.h2.fixtures import start_harness
    with start_harness(prefs=["ws_max_message_size=1000"]) as srv:
        async def go():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws", compression=None,
                                          max_size=None) as ws:
                await ws.send("a" * 900)
                assert await ws.recv() == "a" * 900
                await ws.send(["a" * 600, "b" * 600])  # fragments add up to 1200 > 1000
                with pytest.raises(ConnectionClosed) as ei:
                    await ws.recv()
                assert ei.value.rcvd.code == 1009
        run(go())


def _raw_ws(port: int, path: str = "/ws") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    assert buf.startswith(b"HTTP/1.1 101"), buf
    return s


def test_idle_timeout_pings_then_closes_1001():
    from tests.h2.fixtures import start_harness
    with start_harness(prefs=["ws_idle_timeout=1"]) as srv:
        s = _raw_ws(srv.port)
        t0 = time.monotonic()
        data = b""
        s.settimeout(5)
        while time.monotonic() - t0 < 5:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        elapsed = time.monotonic() - t0
        assert data[:1] == b"\x89", data  # a PING first (after half the timeout)
        close = data.index(b"\x88")
        assert int.from_bytes(data[close + 2:close + 4], "big") == 1001
        assert 0.8 < elapsed < 4, elapsed
        s.close()


def test_shutdown_closes_with_1001(h2server):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{h2server.port}/ws") as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            h2server.signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as ei:
                await ws.recv()
            assert ei.value.rcvd.code == 1001
    run(go())
    assert h2server.proc.wait(15) == 0


def test_wss_over_tls(tls_server, certs):
    async def go():
        ctx = ssl.create_default_context(cafile=certs[0])
        async with websockets.connect(f"wss://localhost:{tls_server.port}/ws/info", ssl=ctx) as ws:
            assert await ws.recv() == "1.1 wss "
            await ws.send("secure")
            assert await ws.recv() == "secure"
    run(go())


def test_rfc8441_websocket_over_h2_shares_the_connection(h2server):
    cl = RawH2(h2server.port)
    cl.pump(lambda c: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in c.events))
    sid = cl.conn.get_next_available_stream_id()
    cl.conn.send_headers(sid, [(b":method", b"CONNECT"), (b":protocol", b"websocket"),
                               (b":scheme", b"http"), (b":path", b"/ws/info?h=2"),
                               (b":authority", b"localhost"), (b"sec-websocket-version", b"13")])
    cl.flush()
    cl.pump(lambda c: any(isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid
                          for e in c.events))
    resp = next(e for e in cl.events if isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid)
    assert dict(resp.headers)[b":status"] == b"200"
    ws = Connection(ConnectionType.CLIENT)

    def ws_events(n):
        got = []

        def have(c):
            for e in list(c.events):
                if isinstance(e, h2.events.DataReceived) and e.stream_id == sid and e.data:
                    c.events.remove(e)
                    ws.receive_data(e.data)
                    got.extend(ws.events())
            return len(got) >= n
        assert cl.pump(have, 5), got
        return got

    assert ws_events(1)[0].data == "2 ws h=2"
    cl.conn.send_data(sid, ws.send(TextMessage(data="over h2")))
    cl.flush()
    assert ws_events(1)[0].data == "over h2"
    cl.conn.send_data(sid, ws.send(BytesMessage(data=b"\x00bin")))
    cl.flush()
    assert ws_events(1)[0].data == b"\x00bin"
    # a normal request on the same connection while the websocket is open
    rid = cl.request("/")
    assert cl.response(rid)[2] == b"hello 2 http"
    cl.conn.send_data(sid, ws.send(CloseConnection(code=1000)))
    cl.flush()
    ev = ws_events(1)[0]
    assert isinstance(ev, CloseConnection) and ev.code == 1000
    cl.close()


def test_app_errors_500_before_accept_1011_after(ws_url):
    async def go():
        with pytest.raises(InvalidStatus) as ei:
            async with websockets.connect(ws_url + "/ws/boom"):
                pass
        assert ei.value.response.status_code == 500
        async with websockets.connect(ws_url + "/ws") as ws:
            await ws.send("boom")
            with pytest.raises(ConnectionClosed) as ei:
                await ws.recv()
            assert ei.value.rcvd.code == 1011
    run(go())


def test_client_close_code_reaches_the_app(h2server, ws_url):
    import httpx

    async def go():
        async with websockets.connect(ws_url + "/ws") as ws:
            await ws.close(code=4000, reason="done")
    run(go())
    for _ in range(50):
        if httpx.get(h2server.url + "/lastclose").text == "4000":
            break
        time.sleep(0.05)
    assert httpx.get(h2server.url + "/lastclose").text == "4000"


def test_websocket_denial_response_extension(ws_url):
    async def go():
        with pytest.raises(InvalidStatus) as ei:
            async with websockets.connect(ws_url + "/ws/http-deny"):
                pass
        assert ei.value.response.status_code == 401
        assert ei.value.response.body == b"no token"
        assert ei.value.response.headers["www-authenticate"] == "Bearer"
    run(go())


def test_payload_sizes_and_split_frames(ws_url, h2server):
    # lengths around the 7/16/64-bit length encodings, text and binary
    async def go():
        async with websockets.connect(ws_url + "/ws", compression=None, max_size=None) as ws:
            for n in (0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 200000):
                data = os.urandom(n)
                await ws.send(data)
                assert await ws.recv() == data, n
                text = ("é" * n)[:n]
                await ws.send(text)
                assert await ws.recv() == text, n
    run(go())
    # a frame split across TCP writes, and two frames in one write
    s = _raw_ws(h2server.port)
    ws = Connection(ConnectionType.CLIENT)
    f1 = ws.send(TextMessage(data="split"))
    f2 = ws.send(TextMessage(data="a")) + ws.send(TextMessage(data="b"))
    s.sendall(f1[:3])
    time.sleep(0.05)
    s.sendall(f1[3:] + f2)
    got = []
    s.settimeout(5)
    while len(got) < 3:
        ws.receive_data(s.recv(4096))
        got += [e.data for e in ws.events()]
    assert got == ["split", "a", "b"]
    s.close()


def test_invalid_utf8_text_closes_1007(h2server):
    s = _raw_ws(h2server.port)
    s.sendall(bytes((0x81, 0x80 | 1)) + b"\x00\x00\x00\x00" + b"\xff")  # masked with a zero key
    s.settimeout(5)
    data = b""
    while len(data) < 4:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data[0] == 0x88 and int.from_bytes(data[2:4], "big") == 1007, data
    s.close()
