"""The mount table behind the real HTTP/1.1 protocol: real sockets, httpx and raw requests."""

import hashlib
import os

import httpx
import pytest

from tests.support import ROOT, ServerProcess, free_port, raw_request

APPS = ROOT / "tests" / "apps"


@pytest.fixture(scope="module")
def www(tmp_path_factory):
    base = tmp_path_factory.mktemp("http")
    root = base / "www"
    root.mkdir()
    (root / "index.html").write_text("<p>home</p>")
    (root / "big.bin").write_bytes(os.urandom(1_000_000))
    (base / "secret.txt").write_text("top secret")
    (root / "escape").symlink_to(base / "secret.txt")
    return root


@pytest.fixture(scope="module")
def server(www):
    port = free_port()
    args = ["-m", "tests.mounts.serve", str(port),
            "/flaskapp=tests.apps.mounts_flask:app",
            f"/static={www}",
            "/wsgi=tests.apps.mounts_wsgi:echo_environ",
            "/input=tests.apps.mounts_wsgi:read_input",
            "/file=tests.apps.mounts_wsgi:file_app",
            "/stream=tests.apps.mounts_wsgi:streaming",
            "/asgi=tests.apps.mounts_asgi:app",
            "--max-body", "100000"]
    with ServerProcess(args, port) as srv:
        yield srv


def test_flask_url_for_under_mount(server):
    r = httpx.get(server.url + "/flaskapp/links")
    assert r.text == f"/flaskapp/hello http://127.0.0.1:{server.port}/flaskapp/hello"
    assert httpx.get(server.url + "/flaskapp/hello?name=x").text == "Hello, x"


def test_percent_encoded_path_info(server):
    r = httpx.get(server.url + "/wsgi/caf%C3%A9/a%2Fb?q=1")
    env = r.json()
    assert env["SCRIPT_NAME"] == "/wsgi" and env["PATH_INFO"] == "/caf\u00c3\u00a9/a/b"
    assert env["RAW_URI"] == "/wsgi/caf%C3%A9/a%2Fb?q=1" and env["QUERY_STRING"] == "q=1"
    assert env["skitai.gtxnid"] and env["REMOTE_ADDR"] == "127.0.0.1"


def test_404_outside_every_mount(server):
    r = httpx.get(server.url + "/nothing-here")
    assert r.status_code == 404


def test_asgi_lifespan_state_over_http(server):
    r = httpx.get(server.url + "/asgi/x")
    assert "'state': {'db': 'connected'}" in r.text and "'root_path': '/asgi'" in r.text


def test_static_big_file_range_and_304(server, www):
    data = (www / "big.bin").read_bytes()
    r = httpx.get(server.url + "/static/big.bin")
    assert r.status_code == 200 and r.content == data
    r2 = httpx.get(server.url + "/static/big.bin", headers={"If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304 and r2.content == b""
    r3 = httpx.get(server.url + "/static/big.bin", headers={"Range": "bytes=500000-500009"})
    assert r3.status_code == 206 and r3.content == data[500000:500010]
    r4 = httpx.get(server.url + "/static/big.bin", headers={"Range": "bytes=2000000-"})
    assert r4.status_code == 416 and r4.headers["content-range"] == "bytes */1000000"
    assert httpx.head(server.url + "/static/big.bin").headers["content-length"] == "1000000"


@pytest.mark.parametrize("target", [b"/static/../secret.txt", b"/static/%2e%2e/secret.txt",
                                    b"/static/..%2fsecret.txt", b"/static/escape",
                                    b"/static/%2E%2E%2Fsecret.txt", b"/static/..%5Csecret.txt"])
def test_static_traversal_over_the_wire(server, target):
    resp = raw_request(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = resp.split(b"\r\n", 1)[0]
    assert b"secret" not in resp.split(b"\r\n\r\n", 1)[-1]
    assert head.split()[1] in (b"404", b"400"), resp[:200]


def test_chunked_upload_streams_into_wsgi_input(server):
    data = os.urandom(90_000)

    def gen():
        for i in range(0, len(data), 9000):
            yield data[i:i + 9000]
    r = httpx.post(server.url + "/input/", content=gen())
    assert r.json() == {"reads": 90, "size": len(data), "md5": hashlib.md5(data).hexdigest()}


def test_body_over_the_limit_is_413(server):
    r = httpx.post(server.url + "/input/", content=b"x" * 100_001)
    assert r.status_code == 413
    data = b"x" * 200_000

    def gen():
        for i in range(0, len(data), 10_000):
            yield data[i:i + 10_000]
    try:
        r = httpx.post(server.url + "/input/", content=gen())
        assert r.status_code == 413
    except httpx.HTTPError:
        pass  # the server may close while we still send: also a refusal


def test_file_wrapper_sendfile_over_the_wire(server, www):
    data = (www / "big.bin").read_bytes()
    r = httpx.get(server.url + "/file/?" + str(www / "big.bin"), headers={"X-Offset": "10"})
    assert r.content == data[10:] and r.headers["content-length"] == str(len(data) - 10)


def test_streaming_wsgi_body(server):
    r = httpx.get(server.url + "/stream/?100")
    assert len(r.content) == 100 * 8192 and r.content[-1:] == b"9"


def test_keep_alive_many_requests(server):
    with httpx.Client(base_url=server.url) as c:
        for i in range(50):
            assert c.get(f"/flaskapp/hello?name={i}").text == f"Hello, {i}"


def test_flask_server_sent_events_are_not_held(server):
    import time
    t0 = time.monotonic()
    seen = []
    with httpx.stream("GET", server.url + "/flaskapp/events", timeout=5) as r:
        for chunk in r.iter_raw():
            seen.append((time.monotonic() - t0, chunk))
    assert b"".join(c for _, c in seen) == b"data: one\n\ndata: two\n\n"
    assert seen[0][1] == b"data: one\n\n" and seen[0][0] < 0.7 and seen[-1][0] >= 1.0


def test_http2_static_flask_and_upload(server, www):
    data = (www / "big.bin").read_bytes()
    with httpx.Client(http1=False, http2=True, base_url=server.url, timeout=10) as c:
        r = c.get("/static/big.bin")
        assert r.http_version == "HTTP/2" and r.content == data
        r = c.get("/static/big.bin", headers={"Range": "bytes=10-19"})
        assert r.status_code == 206 and r.content == data[10:20]
        assert c.get("/flaskapp/links").text.startswith("/flaskapp/hello http://127.0.0.1")
        body = os.urandom(50_000)
        r = c.post("/input/?all", content=iter([body[:20_000], body[20_000:]]))
        assert r.json()["md5"] == hashlib.md5(body).hexdigest()
        assert c.get("/stream/?20").content == b"".join(bytes([48 + i % 10]) * 8192 for i in range(20))


def test_table_under_uvicorn_with_root_path():
    port = free_port()
    args = ["-m", "uvicorn", "tests.apps.mounts_table:table", "--port", str(port), "--host", "127.0.0.1",
            "--lifespan", "on", "--root-path", "/pre"]
    with ServerProcess(args, port) as srv:
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            assert c.get("/flask/links").text.startswith("/pre/flask/hello http://127.0.0.1")
            assert "'state': {'db': 'connected'}" in c.get("/asgi/x").text
            r = c.get("/s/site.css")
            assert r.text == "body{}\n" and r.headers["cache-control"] == "max-age=60"
        srv.stop()
        assert "Application startup complete" in srv.output()


def test_413_answered_before_the_body_is_sent(server):
    """The table refuses on Content-Length alone; the client never has to send the body."""
    resp = raw_request(server.port, b"POST /input/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
                       timeout=5)
    assert resp.startswith(b"HTTP/1.1 413"), resp[:100]
