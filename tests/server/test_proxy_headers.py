"""The engine believes X-Forwarded-For / X-Real-IP / X-Forwarded-Proto from trusted_proxies peers.

Real server (`skitai serve`, one worker) with an ASGI app at / and a WSGI app
at /w (tests/server/proxy_apps.py); raw requests from 127.0.0.1 (trusted by
default) or 127.0.0.2 (a second loopback source address).
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
import websockets

from tests.support import ServerProcess, free_port

MOUNTS = ("/=tests.server.proxy_apps:asgi;/w=tests.server.proxy_apps:wsgi;"
          "/a=tests.server.proxy_apps:atila_engine;/b=tests.server.proxy_apps:atila_own")


def _serve(*opts: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(["-m", "skitai", "serve", "--mounts", MOUNTS, "--port", str(port),
                          "--workers", "1", *opts], port)


@pytest.fixture(scope="module")
def default():
    with _serve() as srv:
        yield srv


@pytest.fixture(scope="module")
def only_127_0_0_2():
    with _serve("--trusted-proxies", "127.0.0.2/32") as srv:
        yield srv


def get(port: int, path: str, headers: dict[str, str] | None = None, source: str = "127.0.0.1") -> dict:
    head = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall((head + "\r\n").encode("latin-1"))
        data = b""
        for _ in range(100):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status, _, rest = data.partition(b"\r\n")
    assert b" 200 " in status, data
    return json.loads(rest.partition(b"\r\n\r\n")[2])


def test_xff_chain_from_trusted_peer(default):
    d = get(default.port, "/", {"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https"})
    assert d == {"client": ["203.0.113.7", 0], "scheme": "https", "peer": ["127.0.0.1", d["peer"][1]]}
    # the nearest untrusted hop wins, not the leftmost one the client may have made up
    d = get(default.port, "/", {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert d["client"] == ["203.0.113.7", 0] and d["scheme"] == "http"


def test_wsgi_sees_the_resolved_client(default):
    d = get(default.port, "/w/", {"X-Forwarded-For": "203.0.113.8", "X-Forwarded-Proto": "https"})
    assert d == {"REMOTE_ADDR": "203.0.113.8", "url_scheme": "https"}
    d = get(default.port, "/w/", {"X-Real-IP": "2001:db8::5"})
    assert d == {"REMOTE_ADDR": "2001:db8::5", "url_scheme": "http"}
    d = get(default.port, "/w/")
    assert d == {"REMOTE_ADDR": "127.0.0.1", "url_scheme": "http"}


def test_x_real_ip_only_without_xff(default):
    assert get(default.port, "/", {"X-Real-IP": "203.0.113.9"})["client"] == ["203.0.113.9", 0]
    d = get(default.port, "/", {"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "203.0.113.10"})
    assert d["client"] == ["203.0.113.10", 0]


def test_malformed_values_are_ignored(default):
    for headers in ({"X-Forwarded-For": "not-an-ip"}, {"X-Forwarded-For": "1.2.3.4:80"},
                    {"X-Real-IP": "999.1.1.1"}, {"X-Forwarded-For": " , "},
                    {"X-Forwarded-Proto": "ftp"}, {"X-Forwarded-Proto": "https, http"}):
        d = get(default.port, "/", headers)
        assert d["client"][0] == "127.0.0.1" and d["client"][1] != 0, headers
        assert d["scheme"] == "http", headers


def test_websocket_and_http2_scopes(default):
    async def ws() -> dict:
        async with websockets.connect(f"ws://127.0.0.1:{default.port}/",
                                      additional_headers={"X-Forwarded-For": "203.0.113.11",
                                                          "X-Forwarded-Proto": "https"}) as c:
            return json.loads(await asyncio.wait_for(c.recv(), 5))

    d = asyncio.run(ws())
    assert d["client"] == ["203.0.113.11", 0] and d["scheme"] == "wss"
    with httpx.Client(http1=False, http2=True, timeout=5) as c:
        r = c.get(default.url + "/w/", headers={"X-Forwarded-For": "203.0.113.12",
                                                 "X-Forwarded-Proto": "https"})
    assert r.http_version == "HTTP/2"
    assert r.json() == {"REMOTE_ADDR": "203.0.113.12", "url_scheme": "https"}


def test_access_log_client_is_the_resolved_one(default):
    get(default.port, "/logged-path", {"X-Forwarded-For": "203.0.113.13"})
    for _ in range(50):
        lines = [ln for ln in default.output().splitlines() if "/logged-path" in ln]
        if lines:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert lines and "203.0.113.13" in lines[0]


def test_untrusted_peer_headers_are_ignored(only_127_0_0_2):
    d = get(only_127_0_0_2.port, "/", {"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.8",
                                       "X-Forwarded-Proto": "https"})
    assert d["client"][0] == "127.0.0.1" and d["scheme"] == "http"
    d = get(only_127_0_0_2.port, "/w/", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert d == {"REMOTE_ADDR": "127.0.0.1", "url_scheme": "http"}


def test_spoofed_hop_is_believed_only_when_trusted(default, only_127_0_0_2):
    spoof = {"X-Forwarded-For": "1.2.3.4, 127.0.0.1"}
    # 127.0.0.1 is trusted by default: it is skipped and 1.2.3.4 is the client
    assert get(default.port, "/", spoof)["client"] == ["1.2.3.4", 0]
    # the peer 127.0.0.2 is trusted, the hop 127.0.0.1 is not: it is the client
    d = get(only_127_0_0_2.port, "/", spoof, source="127.0.0.2")
    assert d["client"] == ["127.0.0.1", 0] and d["peer"][0] == "127.0.0.2"


def test_off_and_everyone():
    with _serve("--trusted-proxies", "") as srv:
        d = get(srv.port, "/", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        assert d["client"][0] == "127.0.0.1" and d["scheme"] == "http"
    with _serve("--trusted-proxies", "*") as srv:
        d = get(srv.port, "/", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
                source="127.0.0.2")
        assert d["client"] == ["203.0.113.7", 0] and d["scheme"] == "https"
        # everyone is trusted: the walk ends at the leftmost hop
        d = get(srv.port, "/", {"X-Forwarded-For": "1.2.3.4, 5.6.7.8"})
        assert d["client"] == ["1.2.3.4", 0]


def test_atila_does_not_resolve_twice(default):
    xff = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 127.0.0.1"}
    # the engine resolved 203.0.113.7; walking the header again from it must not move further left
    assert get(default.port, "/a/", xff) == {"remote": "203.0.113.7"}
    assert get(default.port, "/a/", {"X-Real-IP": "203.0.113.9"}) == {"remote": "203.0.113.9"}
    # an app with its own list walks from the real peer: it also trusts 203.0.113.0/24
    assert get(default.port, "/b/", xff) == {"remote": "198.51.100.1"}
    assert get(default.port, "/b/") == {"remote": "127.0.0.1"}
