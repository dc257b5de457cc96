"""Every mount kind over HTTP/2 (and TLS): ASGI, WSGI on the thread pool, static files."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time

import httpx
import pytest

from tests.support import ROOT, ServerProcess, free_port

APP = '''
import time
import skitai

def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.4)
    if path == "/post":
        body = environ["wsgi.input"].read()
        out = ("%d" % len(body)).encode()
    else:
        out = ("wsgi %s %s %s" % (environ["SERVER_PROTOCOL"], environ["SCRIPT_NAME"], path)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]

skitai.mount("/wsgi", wsgi)
skitai.mount("/static", {static!r})
skitai.mount("/", "tests.h2.apps:app")
{tls}
skitai.run(port={port}, workers=1, threads=8)
'''


@pytest.fixture(params=["h2c", "h2-tls"])
def mounted(request, tmp_path, certs):
    static = tmp_path / "static"
    static.mkdir()
    big = bytes(range(256)) * 8192  # 2 MiB: beyond windows, goes through pathsend/zerocopysend
    (static / "big.bin").write_bytes(big)
    (static / "small.txt").write_text("small file")
    port = free_port()
    tls = request.param == "h2-tls"
    script = tmp_path / "app.py"
    script.write_text(APP.format(static=str(static), port=port,
                                 tls=f"skitai.enable_ssl({certs[0]!r}, {certs[1]!r})" if tls else ""))
    with ServerProcess([str(script)], port, cwd=ROOT):
        base = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"
        kw = {"verify": ssl.create_default_context(cafile=certs[0])} if tls else {"http1": False}
        yield base, kw, big


def test_wsgi_static_asgi_over_h2(mounted):
    base, kw, big = mounted
    with httpx.Client(http2=True, timeout=20, **kw) as c:
        r = c.get(base + "/wsgi/hello")
        assert r.http_version == "HTTP/2" and r.text == "wsgi HTTP/2 /wsgi /hello"
        r = c.post(base + "/wsgi/post", content=b"p" * 300000)
        assert r.text == "300000"
        r = c.get(base + "/static/small.txt")
        assert r.text == "small file"
        r = c.get(base + "/static/big.bin")
        assert r.http_version == "HTTP/2"
        assert hashlib.sha256(r.content).digest() == hashlib.sha256(big).digest()
        r = c.get(base + "/static/big.bin", headers={"range": "bytes=100-199"})
        assert r.status_code == 206 and r.content == big[100:200]
        r = c.get(base + "/")
        assert r.text.startswith("hello 2")


def test_wsgi_requests_run_concurrently_on_the_thread_pool(mounted):
    base, kw, _ = mounted

    async def go():
        async with httpx.AsyncClient(http2=True, timeout=20, **kw) as c:
            await c.get(base + "/")
            t0 = time.monotonic()
            rs = await asyncio.gather(*[c.get(base + "/wsgi/slow") for _ in range(8)])
            return time.monotonic() - t0, rs
    elapsed, rs = asyncio.run(go())
    assert all(r.status_code == 200 and r.http_version == "HTTP/2" for r in rs)
    assert elapsed < 2.0, f"8 x 0.4 s WSGI requests on 8 threads took {elapsed:.2f}s"
