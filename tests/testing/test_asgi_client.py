"""The in-process ASGI client: requests-like API, cookies, redirects, lifespan, no sockets."""

from __future__ import annotations

import io
import socket

import pytest

from skitai.testing import AsgiClient
from tests.testing import tinyapp


def test_get_json_params_and_headers():
    with AsgiClient(tinyapp.app) as c:
        r = c.get("/json", params={"a": "1", "b": ["x", "y"]})
        assert r.status_code == 200 and r.ok
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {"hello": "world", "query": {"a": ["1"], "b": ["x", "y"]}}
        assert r.text.startswith("{") and isinstance(r.content, bytes)


@pytest.mark.parametrize("verb", ["post", "put", "patch", "delete", "options"])
def test_verbs_and_json_body(verb):
    with AsgiClient(tinyapp.app) as c:
        r = getattr(c, verb)("/echo", json={"k": 1}, headers={"X-Test": "yes"})
        out = r.json()
        assert out["method"] == verb.upper()
        assert out["content_type"] == "application/json" and out["body"] == '{"k": 1}'
        assert out["headers"]["x-test"] == "yes" and out["headers"]["host"] == "testserver"


def test_head_has_no_body():
    with AsgiClient(tinyapp.app) as c:
        r = c.head("/json")
        assert r.status_code == 200 and r.content == b""


def test_form_and_multipart():
    with AsgiClient(tinyapp.app) as c:
        r = c.post("/echo", data={"a": "1", "b": "two words"})
        assert r.json()["content_type"] == "application/x-www-form-urlencoded"
        assert r.json()["body"] == "a=1&b=two+words"
        r = c.post("/echo", data={"title": "t"},
                   files={"file": ("a.txt", b"file-content", "text/plain"), "f2": io.BytesIO(b"xyz")})
        out = r.json()
        assert out["content_type"].startswith("multipart/form-data; boundary=")
        assert 'name="title"' in out["body"] and 'filename="a.txt"' in out["body"]
        assert "file-content" in out["body"] and "xyz" in out["body"]
        r = c.post("/echo", data=b"raw bytes", headers={"Content-Type": "application/octet-stream"})
        assert r.json()["body"] == "raw bytes"


def test_cookies_are_kept_across_calls():
    with AsgiClient(tinyapp.app) as c:
        assert c.get("/cookie/get").json()["cookie"] == ""
        r = c.get("/cookie/set", params={"sid": "abc"})
        assert r.cookies == {"sid": "abc"}
        assert c.get("/cookie/get").json()["cookie"] == "sid=abc"
        c.get("/cookie/set", params={"theme": "dark"})
        cookie = c.get("/cookie/get", cookies={"extra": "1"}).json()["cookie"]
        assert set(cookie.split("; ")) == {"sid=abc", "theme=dark", "extra=1"}


def test_redirects_are_followed_unless_asked_not_to():
    with AsgiClient(tinyapp.app) as c:
        r = c.get("/redirect")
        assert r.status_code == 200 and r.json()["query"] == {"from": ["redirect"]}
        assert [h.status_code for h in r.history] == [302]
        r = c.get("/redirect", allow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "/json?from=redirect"


def test_lifespan_runs_and_state_reaches_requests():
    tinyapp.EVENTS.clear()
    with AsgiClient(tinyapp.app) as c:
        assert tinyapp.EVENTS == ["startup"]
        out = c.get("/state").json()
        assert out["started"] is True and out["gtxnid"].startswith("GTID-")
    assert tinyapp.EVENTS == ["startup", "shutdown"]


def test_app_without_lifespan_is_served():
    with AsgiClient(tinyapp.no_lifespan_app) as c:
        assert c.get("/").json() == {"ok": True}


def test_failed_startup_raises():
    c = AsgiClient(tinyapp.failing_startup_app)
    with pytest.raises(RuntimeError, match="no database"):
        c.startup()
    c.close()


def test_app_exceptions_raise_or_become_500():
    with AsgiClient(tinyapp.app) as c, pytest.raises(RuntimeError, match="boom"):
        c.get("/boom")
    with AsgiClient(tinyapp.app, raise_server_exceptions=False) as c:
        assert c.get("/boom").status_code == 500


def test_text_uses_the_charset_and_pathsend_is_read():
    with AsgiClient(tinyapp.app) as c:
        assert c.get("/text").text == "h\u00e9llo"
        assert c.get("/file").text == "hello from a file\n"
        assert c.get("/missing").status_code == 404


def test_no_sockets_are_opened(monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("the in-process client opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with AsgiClient(tinyapp.app) as c:
        assert c.get("/json").status_code == 200


def test_usable_without_with_block():
    c = AsgiClient(tinyapp.app)
    try:
        assert c.get("/json").status_code == 200
    finally:
        c.close()


def test_websocket_in_process():
    from skitai.testing import WebSocketDisconnect

    tinyapp.EVENTS.clear()
    with AsgiClient(tinyapp.app) as c:
        with c.websocket_connect("/ws", subprotocols=["chat"]) as ws:
            assert ws.accepted_subprotocol == "chat"
            ws.send_text("hi")
            assert ws.receive_text() == "echo:hi"
            ws.send_bytes(b"abc")
            assert ws.receive_bytes() == b"cba"
            ws.send_json({"a": 1})
            assert ws.receive_text() == 'echo:{"a": 1}'
        assert "ws-disconnect 1000" in tinyapp.EVENTS
        with c.websocket_connect("/ws") as ws:
            ws.send_text("bye")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
            assert info.value.code == 4000
        with pytest.raises(WebSocketDisconnect) as info:
            c.websocket_connect("/ws/refuse")
        assert info.value.code == 4403
