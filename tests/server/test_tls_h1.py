"""HTTP/1.1 over TLS: scheme, zero-copy fallback (read loop), chunked bodies."""

from __future__ import annotations

import httpx
import pytest

from skitai.server.tls import make_self_signed
from tests.server.conftest import run_server

FILE_BYTES = bytes(range(256)) * 1024


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    cert, key = make_self_signed(tmp_path_factory.mktemp("certs"))
    with run_server(env={"SKITAI_SSL_CERTFILE": cert, "SKITAI_SSL_KEYFILE": key}) as srv:
        yield srv


def test_https_scope_and_files(tls_server):
    url = f"https://127.0.0.1:{tls_server.port}"
    with httpx.Client(base_url=url, verify=False, http2=False) as c:
        s = c.get("/scope").json()
        assert s["scheme"] == "https" and "tls" in s["extensions"]
        assert s["http_version"] == "1.1"
        for path in ("/zerocopy", "/pathsend"):
            r = c.get(path)
            assert r.status_code == 200 and r.content == FILE_BYTES, path
        r = c.get("/zerocopy-chunked")
        assert r.content == FILE_BYTES[1000:6000] + b"END"
        data = b"q" * 300_000
        r = c.post("/echo", content=iter([data[:100_000], data[100_000:]]))
        assert r.content == data
