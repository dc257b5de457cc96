"""HTTP/2: prior knowledge, TLS ALPN, h2c upgrade, concurrency, flow control, trailers, hints."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import ssl
import subprocess
import time

import h2.events
import httpx
import pytest

from tests.h2.rawclient import RawH2
from tests.support import require_tool


def test_prior_knowledge_get_and_scope(h2server):
    with httpx.Client(http1=False, http2=True) as c:
        r = c.get(h2server.url + "/")
        assert r.http_version == "HTTP/2"
        assert r.text == "hello 2 http"
        r = c.get(h2server.url + "/scope?a=1&b=%20x", headers={"x-gtxnid": "GTID-test-1"})
        assert r.text == "GET /scope a=1&b=%20x GTID-test-1"


def test_request_body_streamed_and_large_response(h2server):
    body = bytes(range(256)) * 12000  # ~3 MB, far beyond the 64 KiB windows
    with httpx.Client(http1=False, http2=True, timeout=20) as c:
        r = c.post(h2server.url + "/echo", content=body)
        assert r.text == f"{len(body)} {hashlib.sha256(body).hexdigest()}"
        r = c.get(h2server.url + "/big?n=5000000")
        assert r.status_code == 200 and len(r.content) == 5000000


def test_pathsend_file_over_h2(h2server):
    with httpx.Client(http1=False, http2=True) as c:
        r = c.get(h2server.url + "/file")
        assert r.content == bytes(range(256)) * 1024


def test_app_error_is_500_not_traceback(h2server):
    with httpx.Client(http1=False, http2=True) as c:
        r = c.get(h2server.url + "/boom")
        assert r.status_code == 500 and r.text == "Internal Server Error"
        assert c.get(h2server.url + "/").status_code == 200  # connection still usable


def test_streams_are_served_concurrently(h2server):
    async def run():
        async with httpx.AsyncClient(http1=False, http2=True) as c:
            await c.get(h2server.url + "/")
            t0 = time.monotonic()
            rs = await asyncio.gather(*[c.get(h2server.url + "/slow?t=0.5") for _ in range(30)])
            return time.monotonic() - t0, rs
    elapsed, rs = asyncio.run(run())
    assert all(r.text == "slow done" and r.http_version == "HTTP/2" for r in rs)
    assert elapsed < 2.5, f"30 x 0.5 s streams took {elapsed:.2f}s: not concurrent"


def test_tls_alpn_h2_and_http11_fallback(certs):
    from tests.h2.fixtures import start_harness
    with start_harness(tls=certs) as srv:
        url = f"https://localhost:{srv.port}/"
        with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=certs[0])) as c:
            r = c.get(url)
            assert r.http_version == "HTTP/2" and r.text == "hello 2 https"
        # a client offering only http/1.1 gets http/1.1 from ALPN
        import socket
        sc = ssl.create_default_context(cafile=certs[0])
        sc.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", srv.port)) as raw:
            with sc.wrap_socket(raw, server_hostname="localhost") as s:
                assert s.selected_alpn_protocol() == "http/1.1"
                assert s.version() in ("TLSv1.2", "TLSv1.3")


def test_h2c_upgrade_get_and_post_with_body(h2server):
    import socket
    for method, body, chunked in (("GET", b"", False), ("POST", b"z" * 100000, False),
                                  ("POST", b"chunky" * 1000, True)):
        cl = RawH2(h2server.port, connect=False)
        settings = cl.conn.initiate_upgrade_connection()
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
        head = (f"{method} /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                f"Upgrade: h2c\r\nHTTP2-Settings: {settings.decode()}\r\n"
                f"{framing}\r\n\r\n").encode()
        if chunked:
            cl.sock.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        else:
            cl.sock.sendall(head + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = cl.sock.recv(65536)
            assert d, "closed before 101"
            buf += d
        status_line, _, rest = buf.partition(b"\r\n\r\n")
        assert status_line.startswith(b"HTTP/1.1 101"), status_line
        cl.flush()  # client preface
        if rest:
            cl.events.extend(cl.conn.receive_data(rest))
        status, _, got, _ = cl.response(1)
        assert status == 200
        assert got.decode() == f"{len(body)} {hashlib.sha256(body).hexdigest()}"
        # the connection is HTTP/2 now: a second request as stream 3
        sid = cl.request("/")
        assert cl.response(sid)[2] == b"hello 2 http"
        cl.close()
    assert socket  # noqa


def test_trailers_pass_through(h2server):
    cl = RawH2(h2server.port)
    sid = cl.request("/trailers")
    status, _, body, trailers = cl.response(sid)
    assert status == 200 and body == b"body"
    assert (b"x-checksum", b"abc") in trailers
    cl.close()


def test_early_hints_103_instead_of_push(h2server):
    cl = RawH2(h2server.port)
    sid = cl.request("/hints")
    status, _, body, _ = cl.response(sid)
    assert status == 200 and body == b"hinted"
    infos = [e for e in cl.events if isinstance(e, h2.events.InformationalResponseReceived)]
    assert infos and dict(infos[0].headers)[b":status"] == b"103"
    links = [v for k, v in infos[0].headers if k == b"link"]
    assert links == [b"</a.css>; rel=preload", b"</b.js>; rel=preload"]
    assert not any(isinstance(e, h2.events.PushedStreamReceived) for e in cl.events)
    cl.close()


def test_settings_advertised(h2server):
    cl = RawH2(h2server.port)
    cl.pump(lambda c: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in c.events))
    ev = next(e for e in cl.events if isinstance(e, h2.events.RemoteSettingsChanged))
    s = {int(k): v.new_value for k, v in ev.changed_settings.items()}
    assert s[3] == 100        # MAX_CONCURRENT_STREAMS
    assert s[4] == 65535      # INITIAL_WINDOW_SIZE
    assert s[8] == 1          # ENABLE_CONNECT_PROTOCOL (RFC 8441)
    cl.close()


def test_graceful_shutdown_goaway_lets_streams_finish(h2server):
    # nghttp (a real client) because the h2 library's client state machine refuses
    # frames that follow a GOAWAY, which is exactly what graceful shutdown sends.
    nghttp = require_tool("nghttp")
    p = subprocess.Popen([nghttp, "-v", h2server.url + "/slow?t=1.2"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    h2server.signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    assert "recv GOAWAY" in out and "error_code=NO_ERROR" in out, out
    assert ":status: 200" in out and "slow done" in out, out
    assert h2server.proc.wait(15) == 0


@pytest.mark.load
@pytest.mark.parametrize("tls", [False, True])
def test_h2load(tls, certs):
    from tests.h2.fixtures import start_harness
    h2load = require_tool("h2load")
    with start_harness(tls=certs if tls else None) as srv:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{srv.port}/"
        out = subprocess.run([h2load, "-n", "3000", "-c", "4", "-m", "20", url],
                             capture_output=True, text=True, timeout=60).stdout
        assert "3000 succeeded, 0 failed" in out, out
        if tls:
            assert "Application protocol: h2" in out, out


def test_response_waits_for_the_peers_window_instead_of_buffering(h2server):
    # a client that never sends WINDOW_UPDATE: the app's send() must block after
    # about one window (65535) + one chunk, not push 50 MB into memory
    cl = RawH2(h2server.port)
    cl.conn.local_settings.initial_window_size = 65535
    cl.request("/big?n=50000000")
    time.sleep(1.0)
    cl.sock.settimeout(0.2)
    got = 0
    try:
        while True:  # read bytes but do not acknowledge them
            b = cl.sock.recv(1 << 20)
            if not b:
                break
            got += len(b)
    except OSError:
        pass
    assert 65535 <= got < 65535 + 4096  # one window of DATA (+ frame headers, settings)
    with httpx.Client(http1=False, http2=True) as c:
        sent = int(c.get(h2server.url + "/progress").text)
    # the first 64 KiB chunk is still waiting for the last byte of window
    assert sent <= 65535 + 2 * 65536, f"app pushed {sent} bytes past the window"
    cl.close()


def test_idle_h2_connection_is_closed_after_keep_alive():
    from tests.h2.fixtures import start_harness
    with start_harness(prefs=["keep_alive=1"]) as srv:
        cl = RawH2(srv.port)
        sid = cl.request("/")
        assert cl.response(sid)[0] == 200
        t0 = time.monotonic()
        cl.pump(lambda c: c.goaway() is not None or c.closed, timeout=5)
        assert cl.goaway() is not None and cl.goaway().error_code == 0
        assert time.monotonic() - t0 < 4
        cl.close()


def test_response_before_the_upload_ends(h2server):
    # the app answers without reading the body: the client gets its answer, the
    # unread body is acknowledged (window) and dropped; the connection stays usable
    cl = RawH2(h2server.port)
    sid = cl.conn.get_next_available_stream_id()
    cl.conn.send_headers(sid, [(b":method", b"POST"), (b":path", b"/"), (b":scheme", b"http"),
                               (b":authority", b"x")])
    for _ in range(3):
        cl.conn.send_data(sid, b"x" * 16000)
    cl.flush()
    status, _, body, _ = cl.response(sid)
    assert status == 200 and body == b"hello 2 http"
    with httpx.Client(http1=False, http2=True) as c:
        r = c.post(h2server.url + "/", content=b"y" * 3_000_000)
        assert r.status_code == 200
        assert c.get(h2server.url + "/").status_code == 200
    cl.close()


def test_stalled_body_and_stalled_window_are_reset_after_request_timeout():
    from hyperframe.frame import RstStreamFrame

    from tests.h2.fixtures import start_harness
    from tests.h2.rawclient import read_frames
    with start_harness(prefs=["request_timeout=1"]) as srv:
        cl = RawH2(srv.port)
        sid = cl.conn.get_next_available_stream_id()
        cl.conn.send_headers(sid, [(b":method", b"POST"), (b":path", b"/echo"), (b":scheme", b"http"),
                                   (b":authority", b"x")])  # the body never comes
        cl.flush()
        sid2 = cl.request("/big?n=1000000")  # and this window is never opened
        t0 = time.monotonic()
        frames = read_frames(cl.sock, timeout=4)
        resets = {f.stream_id: f.error_code for f in frames if isinstance(f, RstStreamFrame)}
        assert resets.get(sid) == 8 and resets.get(sid2) == 8, resets  # CANCEL
        assert time.monotonic() - t0 < 5
        cl.close()
        with httpx.Client(http1=False, http2=True) as c:
            assert c.get(srv.url + "/").status_code == 200


def test_receive_after_the_last_body_chunk_waits_for_disconnect(h2server):
    with httpx.Client(http1=False, http2=True) as c:
        assert c.post(h2server.url + "/after-body", content=b"abc").text == "waiting"
        assert c.get(h2server.url + "/after-body").text == "waiting"


def test_h2_settings_come_from_preferences():
    from tests.h2.fixtures import start_harness
    prefs = ["h2_max_concurrent_streams=7", "h2_initial_window_size=1048576",
             "h2_max_header_list_size=8192", "h2_max_frame_size=32768"]
    with start_harness(prefs=prefs) as srv:
        cl = RawH2(srv.port)
        cl.pump(lambda c: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in c.events))
        ev = next(e for e in cl.events if isinstance(e, h2.events.RemoteSettingsChanged))
        got = {int(k): v.new_value for k, v in ev.changed_settings.items()}
        assert (got[3], got[4], got[6], got[5]) == (7, 1048576, 8192, 32768)
        sid = cl.request("/", extra=[(b"x-big", b"a" * 9000)])  # over the 8 KiB header list
        cl.pump(lambda c: c.goaway() is not None or c.closed, timeout=5)
        assert cl.goaway() is not None or cl.closed
        cl.close()
        assert sid == 1


def test_access_log_lines_for_h2_and_websocket(h2server):
    import asyncio as _asyncio

    import websockets
    with httpx.Client(http1=False, http2=True) as c:
        c.get(h2server.url + "/scope?a=1", headers={"user-agent": "h2-log-test"})

    async def ws():
        async with websockets.connect(f"ws://127.0.0.1:{h2server.port}/ws") as w:
            await w.send("x")
            await w.recv()
    _asyncio.run(ws())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        out = h2server.output()
        if "GET /scope?a=1 HTTP/2" in out and "GET /ws HTTP/1.1" in out:
            break
        time.sleep(0.1)
    line = next(ln for ln in out.splitlines() if "GET /scope?a=1 HTTP/2" in ln)
    assert " 200 " in line and "h2-log-test" in line and "GTID-W0-" in line
    ws_line = next(ln for ln in out.splitlines() if "GET /ws HTTP/1.1" in ln)
    assert " 101 " in ws_line


def test_max_requests_counts_h2_streams_once():
    # max_requests=6: the worker leaves (exit 3) after six h2 requests, not after three
    from tests.h2.fixtures import start_harness
    marker = "exited reason=max_requests"
    with start_harness(prefs=["max_requests=6"]) as srv:
        with httpx.Client(http1=False, http2=True) as c:
            for _ in range(3):
                assert c.get(srv.url + "/").status_code == 200
        time.sleep(0.5)
        assert marker not in srv.output()
        with httpx.Client(http1=False, http2=True) as c:
            for _ in range(3):
                assert c.get(srv.url + "/").status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and marker not in srv.output():
            time.sleep(0.1)
        assert marker in srv.output(), srv.output()[-2000:]
