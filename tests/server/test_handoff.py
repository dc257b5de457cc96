"""HTTP/1.1 hands connections to HTTP/2 and WebSocket through the context registry."""

from __future__ import annotations

import asyncio

import httpx

from tests.server.rawhttp import Conn, request


def test_prior_knowledge_h2_is_handed_off(server):
    with httpx.Client(http1=False, http2=True, base_url=server.url) as c:
        r = c.get("/scope")
    assert r.http_version == "HTTP/2"
    assert r.json()["path"] == "/scope"


def test_websocket_upgrade_is_handed_off(server):
    import websockets

    async def talk():
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=5) as ws:
            await ws.send("hi")
            return await asyncio.wait_for(ws.recv(), 5)

    answer = asyncio.run(talk())
    gtxnid, text = answer.split(" ", 1)
    assert text == "hi" and gtxnid.startswith("GTID-W0-")


def test_unknown_upgrade_is_answered_by_the_app_then_closed(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/up", {"Connection": "Upgrade", "Upgrade": "foo/1"}))
        r = c.read_response()
        assert r.status == 200 and r.body == b"ok /up"
        assert c.closed_by_peer()


def test_h2c_upgrade_is_handed_off(server):
    with Conn(server.port) as c:
        c.send(request("GET", "/x", {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c",
                                     "HTTP2-Settings": "AAMAAABkAAQAAP__"}))
        head = c.read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    assert b"upgrade: h2c" in head.lower()


def test_pipelined_websocket_upgrade_waits_for_the_earlier_response(server):
    import base64
    import os
    key = base64.b64encode(os.urandom(16)).decode()
    with Conn(server.port) as c:
        c.send(request("GET", "/delay-order?0.3") + request("GET", "/ws", {
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key}))
        first = c.read_response()
        assert first.body == b"delay=0.3"
        head = c.read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
