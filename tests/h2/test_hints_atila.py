"""context.push / response.hint_promise -> 103 Early Hints over HTTP/2 and HTTP/1.1."""

from __future__ import annotations

import h2.events

from tests.h2.fixtures import start_harness
from tests.h2.rawclient import RawH2
from tests.support import raw_request


def test_push_becomes_early_hints_on_h2_and_h1():
    with start_harness(app="tests.h2.hints_app:app") as srv:
        cl = RawH2(srv.port)
        sid = cl.request("/")
        status, _, body, _ = cl.response(sid)
        assert status == 200 and body.startswith(b"Promise Sent")
        infos = [e for e in cl.events if isinstance(e, h2.events.InformationalResponseReceived)]
        assert len(infos) == 1
        assert [v for k, v in infos[0].headers if k == b"link"] == [
            b"</images/A.png>; rel=preload", b"</images/B.png>; rel=preload"]
        cl.close()
        out = raw_request(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 103 Early Hints\r\n"), out[:200]
        assert b"link: </images/A.png>; rel=preload\r\n" in out
        assert b"HTTP/1.1 200 OK" in out
