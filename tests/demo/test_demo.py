"""The two demos are Atila apps in the newest style, served by the real engine.

examples/demo/app.py (./scripts/demo, README's first command): a launch script mounting
the ``demoapp`` package and a static directory at "/". skitai.demo (the container
image's default app): one package with ``__app__`` / ``__setup__`` / ``__mount__``.
Other tests (tests/observability, tests/container, tests/testing) cover the deployment
endpoints; these cover what the demos show: text, JSON with a path and a query parameter,
static files, probes and metrics next to the app.
"""

import asyncio

import httpx
import websockets

from skitai.testing import test_client
from tests.support import ROOT, ServerProcess, free_port

DEMO = str(ROOT / "examples" / "demo" / "app.py")


def test_example_demo_routes():
    with test_client(DEMO, args=["--workers", "1"]) as c:
        r = c.get("/hello.txt")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text.startswith("Hello from Skitai demo")
        r = c.get("/api/hello/Ann", params={"greeting": "Hi"})
        assert r.status_code == 200 and r.json()["message"] == "Hi, Ann!"
        assert r.json()["gtxnid"].startswith("GTID-")
        assert c.get("/api/hello").json()["message"] == "Hello, world!"
        assert c.get("/api/hello", params={"nope": "1"}).status_code == 508  # undeclared query parameter
        assert c.get("/api/status").json()["status"] == "ok"
        page = c.get("/")  # static/index.html: the static dir shares "/" with the app
        assert "etag" in page.headers and "/api/hello/browser" in page.text
        assert c.get("/healthz").text == "ok\n"
        assert "skitai_requests_total" in c.get("/metrics").text


def test_builtin_demo_routes():
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1"],
                       port) as s, httpx.Client(base_url=s.url, timeout=10) as c:
        page = c.get("/")
        assert page.status_code == 200 and "Skitai is running" in page.text
        assert page.headers["content-type"].startswith("text/html")
        r = c.get("/hello.txt")
        assert r.headers["content-type"].startswith("text/plain") and r.text.startswith("Hello from Atila")
        r = c.get("/static/style.css")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css") and "etag" in r.headers
        assert c.get("/static/style.css", headers={"if-none-match": r.headers["etag"]}).status_code == 304
        assert c.get("/static/missing.css").status_code == 404
        r = c.get("/api/hello/Ann", params={"greeting": "Hi"})
        assert r.json()["hello"] == "Ann" and r.json()["greeting"] == "Hi, Ann!"
        assert c.get("/api/hello", params={"name": "box"}).json()["hello"] == "box"
        assert c.get("/api/counter").json() == {"count": 0}
        assert c.post("/api/counter").json() == {"count": 1}
        assert c.get("/api/slow", params={"ms": "x"}).status_code == 400
        assert c.get("/api/error").status_code == 500
        assert c.post("/api/echo", content=b"q" * 5000).content == b"q" * 5000
        assert c.post("/api/echo", content=b"q" * (2 << 20)).status_code == 413
        assert c.get("/healthz").text == "ok\n" and c.get("/readyz").status_code == 200
        assert 'mount="/"' in c.get("/metrics").text

        async def echo():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/echo", open_timeout=5) as ws:
                await ws.send("text")
                text = await asyncio.wait_for(ws.recv(), 5)
                await ws.send(b"\x00bin")
                return text, await asyncio.wait_for(ws.recv(), 5)
        assert asyncio.run(echo()) == ("text", b"\x00bin")


def test_builtin_demo_as_a_package_mount():
    """``skitai.demo`` itself (its ``__app__``) mounted at a point below "/"."""
    port = free_port()
    args = ["-m", "skitai", "serve", "--port", str(port), "--workers", "1"]
    with ServerProcess(args, port, env={"SKITAI_MOUNTS": "/demo=skitai.demo"}) as s, \
            httpx.Client(base_url=s.url, timeout=10) as c:
        assert c.get("/demo/api/hello/x").json()["hello"] == "x"
        assert c.get("/demo/static/style.css").status_code == 200
        assert c.get("/api/hello/x").status_code == 404
