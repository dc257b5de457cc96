"""HTTP/2 abuse protections, driven by a raw client: every flood ends in GOAWAY."""

from __future__ import annotations

import time

import httpx
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)

from tests.h2.rawclient import RawH2, read_frames, read_goaway_raw

ENHANCE_YOUR_CALM = 11
PROTOCOL_ERROR = 1


def _count(url: str) -> int:
    with httpx.Client(http1=False, http2=True) as c:
        return int(c.get(url + "/count").text)


def test_rapid_reset_ends_in_goaway_without_unbounded_work(h2server):
    before = _count(h2server.url)
    cl = RawH2(h2server.port)
    t0 = time.monotonic()
    sent = 0
    for _ in range(5000):
        try:
            sid = cl.conn.get_next_available_stream_id()
            cl.conn.send_headers(sid, [(b":method", b"GET"), (b":path", b"/slow?t=5"),
                                       (b":scheme", b"http"), (b":authority", b"x")])
            cl.conn.reset_stream(sid)
            if not cl.send_raw(cl.conn.data_to_send()):
                break
            sent += 1
        except Exception:
            break
    ga = read_goaway_raw(cl.sock, timeout=5)
    assert ga is not None, f"no GOAWAY after {sent} HEADERS+RST_STREAM pairs"
    assert ga.error_code == ENHANCE_YOUR_CALM
    assert time.monotonic() - t0 < 10
    cl.close()
    started = _count(h2server.url) - before - 1
    assert started <= 250, f"{started} app calls started for reset streams"
    assert sent < 5000


def test_continuation_flood_is_bounded(h2server):
    cl = RawH2(h2server.port)
    h = HeadersFrame(1)
    h.data = cl.conn.encoder.encode([(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"),
                                     (b":authority", b"x")])
    h.flags.add("END_STREAM")  # no END_HEADERS: CONTINUATION frames follow
    ok = cl.send_raw(h.serialize())
    for _ in range(2000):
        c = ContinuationFrame(1)
        c.data = b""
        if not cl.send_raw(c.serialize()):
            break
    ga = read_goaway_raw(cl.sock, timeout=5)
    assert ok and ga is not None, "server kept accepting CONTINUATION frames"
    assert ga.error_code == PROTOCOL_ERROR
    cl.close()


def test_oversize_header_list_is_refused(h2server):
    cl = RawH2(h2server.port)
    cl.request("/", extra=[(b"x-big", b"a" * 16000)] * 6)  # ~96 KB > 64 KiB limit
    ga = read_goaway_raw(cl.sock, timeout=5)
    assert ga is not None and ga.error_code == ENHANCE_YOUR_CALM
    cl.close()
    # a normal request still works on a new connection
    assert _count(h2server.url) >= 0


def test_ping_flood_is_bounded(h2server):
    cl = RawH2(h2server.port)
    for i in range(3000):
        p = PingFrame(0)
        p.opaque_data = i.to_bytes(8, "big")
        if not cl.send_raw(p.serialize()):
            break
    ga = read_goaway_raw(cl.sock, timeout=5)
    assert ga is not None and ga.error_code == ENHANCE_YOUR_CALM
    cl.close()


def test_settings_flood_is_bounded(h2server):
    cl = RawH2(h2server.port)
    for _ in range(3000):
        f = SettingsFrame(0)
        f.settings[SettingsFrame.MAX_CONCURRENT_STREAMS] = 10
        if not cl.send_raw(f.serialize()):
            break
    ga = read_goaway_raw(cl.sock, timeout=5)
    assert ga is not None and ga.error_code == ENHANCE_YOUR_CALM
    cl.close()


def test_too_many_concurrent_streams_are_refused(h2server):
    # the client ignores MAX_CONCURRENT_STREAMS=100 and opens 150 slow streams at once
    cl = RawH2(h2server.port)
    out = b""
    for i in range(150):
        h = HeadersFrame(1 + 2 * i)
        h.data = cl.conn.encoder.encode([(b":method", b"GET"), (b":path", b"/slow?t=0.3"),
                                         (b":scheme", b"http"), (b":authority", b"x")])
        h.flags.add("END_HEADERS")
        h.flags.add("END_STREAM")
        out += h.serialize()
    cl.send_raw(out)
    frames = read_frames(cl.sock, timeout=3)
    cl.close()
    goaway = [f for f in frames if isinstance(f, GoAwayFrame)]
    data_ends = [f for f in frames if isinstance(f, DataFrame) and "END_STREAM" in f.flags]
    # a connection error (or refused streams), and never more than 100 handlers answered
    # h2 treats it as a connection error (GOAWAY PROTOCOL_ERROR) once SETTINGS apply;
    # our own check refuses streams (REFUSED_STREAM) before that
    assert (goaway and goaway[0].error_code == PROTOCOL_ERROR and len(goaway) == 1) or any(
        isinstance(f, RstStreamFrame) and f.error_code == 7 for f in frames)
    assert len(data_ends) <= 100


def test_malformed_requests_are_stream_errors(h2server):
    cl = RawH2(h2server.port)
    base = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x")]
    bad = [
        base + [(b":path", b"/"), (b"X-Upper", b"1")],
        base + [(b":path", b"/"), (b"x-crlf", b"a\r\nb: c")],
        base + [(b":path", b"/"), (b"connection", b"close")],
        base + [(b":path", b"/"), (b"te", b"gzip")],
        base,  # no :path
        [(b":method", b"GET"), (b"x-a", b"1"), (b":path", b"/"), (b":scheme", b"http")],  # pseudo after regular
        base + [(b":path", b"/"), (b":foo", b"bar")],
        base + [(b":path", b"/"), (b"x-space", b" lead")],
    ]
    out = b""
    for i, hdrs in enumerate(bad):
        h = HeadersFrame(1 + 2 * i)
        h.data = cl.conn.encoder.encode(hdrs)
        h.flags.add("END_HEADERS")
        h.flags.add("END_STREAM")
        out += h.serialize()
    good = HeadersFrame(1 + 2 * len(bad))
    good.data = cl.conn.encoder.encode(base + [(b":path", b"/"), (b"cookie", b"a=1"), (b"cookie", b"b=2")])
    good.flags.add("END_HEADERS")
    good.flags.add("END_STREAM")
    cl.send_raw(out + good.serialize())
    frames = read_frames(cl.sock, timeout=2)
    cl.close()
    resets = {f.stream_id: f.error_code for f in frames if isinstance(f, RstStreamFrame)}
    assert resets == {1 + 2 * i: PROTOCOL_ERROR for i in range(len(bad))}, resets
    assert not any(isinstance(f, GoAwayFrame) for f in frames)
    assert any(isinstance(f, DataFrame) and f.stream_id == 1 + 2 * len(bad) for f in frames)
