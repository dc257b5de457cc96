"""Atila served by the real Skitai engine (subprocess, real sockets)."""

import os
import time
from pathlib import Path

import skitai
from atila.pytest_hooks import *  # noqa: F403 - the tutorial's test starts with this import
from tests.support import free_port, raw_request

ROOT = Path(__file__).resolve().parents[2]


def test_dumbseek_tutorial_through_the_engine():
    # the tutorial's own test, verbatim apart from the port and one worker (the index lives in memory)
    with skitai.test_client(str(ROOT / "examples/dumbseek/skitaid.py"), port=free_port(),
                            args=["--workers", "1"]) as engine:
        r = engine.get('/')
        assert r.json()['app'] == 'Dumb Seek'
        r = engine.post('/api/tokens', data={'query': 'Detective Holmes'})
        assert r.json()['result'] == ['detective', 'holmes']
        r = engine.post('/api/documents', data={'document': 'Detective Holmes'})
        assert r.status_code == 201
        assert r.json()['url'] == '/api/documents/0'
        r = engine.get('/api/documents', params={'q': 'Detective Holmes'})
        assert r.json()['result'] == ['Detective Holmes']
        r = engine.get('/api/documents/0')
        assert r.json()['document'] == 'Detective Holmes'
        r = engine.post('/api/documents', data={'document': 'Detective Monk'})
        r = engine.get('/api/documents', params={'q': 'detective'})
        assert r.json()['result'] == ['Detective Holmes', 'Detective Monk']
        assert engine.get('/api/documents/99').status_code == 404
        assert engine.get('/api/documents').status_code == 400
        assert engine.put('/api/tokens').status_code == 405


def test_package_app_through_the_engine(tmp_path):
    marker = tmp_path / "umounted.txt"
    port = free_port()
    env = {"ATILA_TEST_MARKER": str(marker)}
    with skitai.test_client("tests.atila.engine_pkg", port=port, cwd=str(ROOT), env=env,
                            args=["--workers", "1", "--threads", "2"]) as engine:
        assert engine.get("/").json() == {"app": "engine test"}
        assert engine.get("/items/7?q=x").json() == {"id": 7, "q": "x"}
        r = engine.get("/boom")
        assert r.status_code == 500
        body = r.json()
        assert body["gtxnid"].startswith("GTID-")
        assert "do not leak me" not in r.text and "Traceback" not in r.text
        assert engine.get("/file").text == "static file content\n"
        r = engine.get("/static")
        assert r.text == "static file content\n"
        assert engine.get("/static", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        d = engine.get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"}).json()
        assert d["remote"] == "203.0.113.7"  # 127.0.0.1 is a trusted proxy by default
        assert d["gtxnid"].startswith("GTID-") and d["thread"].startswith("atila-")
        assert d["numthreads"] == 2  # the pool is sized by the engine's threads preference
        raw = raw_request(port, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body_raw = raw.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        assert b"chunk0;" in body_raw and b"chunk2;" in body_raw
    # lifespan shutdown ran __umounted__
    for _ in range(50):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.read_text() == "umounted"
    assert os.path.exists(ROOT / "tests/atila/engine_pkg/data.txt")


def test_package_under_a_mount_point_with_pref():
    with skitai.test_client(str(ROOT / "tests/atila/engine_script.py"), port=free_port(),
                            args=["--workers", "1"]) as engine:
        r = engine.get("/v1/items/3?q=a")
        assert r.json() == {"id": 3, "q": "a"}
        assert r.text.startswith("{\n  ")  # pref.config.PRETTY_JSON reached app.config
        r = engine.get("/v1/", headers={"Origin": "http://front.test"})
        assert r.json() == {"app": "engine test"}
        assert r.headers["access-control-allow-origin"] == "http://front.test"  # pref attribute applied
        assert engine.get("/v1/nothing").status_code == 404


def test_package_app_over_http2():
    import httpx
    port = free_port()
    with skitai.test_client("tests.atila.engine_pkg", port=port, cwd=str(ROOT), args=["--workers", "1"]):
        with httpx.Client(http1=False, http2=True, base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
            r = c.get("/items/9?q=h2")
            assert r.http_version == "HTTP/2"
            assert r.json() == {"id": 9, "q": "h2"}
            assert c.get("/stream").text == "chunk0;chunk1;chunk2;"
            assert c.get("/file").text == "static file content\n"
            assert c.get("/boom").status_code == 500


def test_app_object_style_through_the_engine():
    with skitai.test_client("tests.atila.engine_objapp:app", port=free_port(), cwd=str(ROOT),
                            args=["--workers", "1"]) as engine:
        assert engine.get("/").text == "old style before"
        assert engine.get("/pets/45").json() == {"id": 45, "kind": "dog", "name": "Monk"}
        assert engine.get("/pets/abc").status_code == 404
        assert engine.get("/legacy/hi").text == "/pets/45"
