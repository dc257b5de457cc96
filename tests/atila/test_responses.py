"""Return values and response helpers: str/bytes/dict/None, API, response(), redirect, File, Static,
generators, headers, cookies, cache helpers, request members."""

import asyncio
import os
import time

from atila import Atila

from .harness import Client


def make_app(tmp_path):
    app = Atila("responses_app")
    (tmp_path / "hello.txt").write_bytes(b"0123456789")

    @app.route("/str")
    def s(context):
        return "<h1>hi</h1>"

    @app.route("/bytes")
    def b(context):
        return b"\x00\x01"

    @app.route("/dict")
    def d(context):
        return {"a": 1}

    @app.route("/list")
    def lst(context):
        return [1, 2]

    @app.route("/none")
    def none(context):
        return None

    @app.route("/none-status")
    def none_status(context):
        context.response.set_status("202 Accepted")

    @app.route("/api")
    def api(context):
        return context.API("201 Created", {"x": 1}, y=2)

    @app.route("/api-empty")
    def api_empty(context):
        return context.API()

    @app.route("/resp")
    def resp(context):
        return context.response("200 OK", "text body", [("Cache-Control", "max-age=60"), ("X-A", "1")])

    @app.route("/redirect")
    def redirect(context):
        return context.redirect("/str")

    @app.route("/redirect301")
    def redirect301(context):
        return context.redirect("/str", "301 Moved Permanently")

    @app.route("/file")
    def file(context):
        return context.File(str(tmp_path / "hello.txt"))

    @app.route("/static")
    def static(context):
        return context.Static(str(tmp_path / "hello.txt"))

    @app.route("/gen")
    def gen(context):
        def produce():
            for i in range(5):
                yield f"<CHUNK{i}>"
        return produce()

    @app.route("/gen2")
    def gen2(context):
        for i in range(3):
            yield str(i)

    @app.route("/agen")
    async def agen(context):
        async def produce():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"a{i}".encode()
        return produce()

    @app.route("/headers")
    def headers(context):
        context.response["X-Custom"] = "yes"
        context.response.set_header("Content-Type", "text/plain")
        context.response.set_cookie("sid", "abc", path="/", http_only=True)
        context.response.set_cookie("tmp", "1", expires=60)
        return "with headers"

    @app.route("/etag")
    def etag(context):
        context.response.set_etag("v1", max_age=60)
        return "fresh"

    @app.route("/mtime")
    def mtime(context):
        context.response.set_mtime(1_000_000_000)
        return "fresh"

    @app.route("/request", methods=["GET", "POST"])
    def request(context, **kw):
        r = context.request
        return {"method": r.method, "uri": r.uri, "path": r.path, "ua": r.get_header("User-Agent"),
                "H": r.headers["x-test"], "body": r.body.decode(), "json": r.json(),
                "cookies": r.cookies, "args": r.args, "remote": r.get_remote_addr(),
                "gtxnid": r.gtxnid, "command": r.command}

    @app.route("/async")
    async def asy(context, x=1):
        await asyncio.sleep(0)
        return {"async": True, "x": x}

    return app


def test_primitive_returns(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/str")
        assert r.text == "<h1>hi</h1>" and r.headers["content-type"].startswith("text/html")
        r = c.get("/bytes")
        assert r.content == b"\x00\x01" and r.headers["content-type"] == "application/octet-stream"
        r = c.get("/dict")
        assert r.json() == {"a": 1} and r.headers["content-type"] == "application/json"
        assert c.get("/list").json() == [1, 2]
        r = c.get("/none")
        assert r.status_code == 204 and r.content == b""
        assert c.get("/none-status").status_code == 202


def test_api(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/api")
        assert r.status_code == 201 and r.json() == {"x": 1, "y": 2}
        assert c.get("/api-empty").json() == {}


def test_response_call_and_headers(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/resp")
        assert r.text == "text body" and r.headers["cache-control"] == "max-age=60" and r.headers["x-a"] == "1"
        r = c.get("/headers")
        assert r.headers["x-custom"] == "yes" and r.headers["content-type"] == "text/plain"
        cookies = r.headers.get_list("set-cookie")
        assert any(x.startswith("sid=abc") and "HttpOnly" in x for x in cookies)
        assert any(x.startswith("tmp=1") and "Max-Age=60" in x for x in cookies)


def test_redirect(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/redirect")
        assert r.status_code == 302 and r.headers["location"] == "/str"
        assert c.get("/redirect301").status_code == 301


def test_file_and_static(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/file")
        assert r.content == b"0123456789" and r.headers["content-type"].startswith("text/plain")
        r = c.get("/static")
        assert r.content == b"0123456789"
        etag, lm = r.headers["etag"], r.headers["last-modified"]
        assert c.get("/static", headers={"If-None-Match": etag}).status_code == 304
        assert c.get("/static", headers={"If-Modified-Since": lm}).status_code == 304
        r = c.get("/static", headers={"Range": "bytes=2-4"})
        assert r.status_code == 206 and r.content == b"234"
        assert r.headers["content-range"] == "bytes 2-4/10"
        assert c.get("/static", headers={"Range": "bytes=20-30"}).status_code == 416


def test_generators_stream(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/gen")
        assert r.text == "".join(f"<CHUNK{i}>" for i in range(5))
        assert "content-length" not in r.headers
        assert c.get("/gen2").text == "012"
        assert c.get("/agen").text == "a0a1a2"


def test_cache_helpers(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.get("/etag")
        assert r.status_code == 200 and r.headers["cache-control"] == "max-age=60"
        r2 = c.get("/etag", headers={"If-None-Match": r.headers["etag"]})
        assert r2.status_code == 304 and r2.content == b"" and r2.headers["etag"] == r.headers["etag"]
        lm = r = c.get("/mtime").headers["last-modified"]
        assert c.get("/mtime", headers={"If-Modified-Since": lm}).status_code == 304
        old = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(900_000_000))
        assert c.get("/mtime", headers={"If-Modified-Since": old}).status_code == 200


def test_request_members(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.post("/request?x=1", json={"k": "v"},
                   headers={"User-Agent": "ua/1", "X-Test": "t", "Cookie": "a=1; b=2"})
        d = r.json()
        assert d["method"] == "POST" and d["command"] == "post"
        assert d["uri"] == "/request?x=1" and d["path"] == "/request"
        assert d["ua"] == "ua/1" and d["H"] == "t"
        assert d["body"] == "{\"k\":\"v\"}" or d["body"].replace(" ", "") == "{\"k\":\"v\"}"
        assert d["json"] == {"k": "v"}
        assert d["cookies"] == {"a": "1", "b": "2"}
        assert d["args"] == {"x": "1", "k": "v"}
        assert d["remote"] == "127.0.0.1"


def test_x_forwarded_for_only_from_trusted_proxies(tmp_path):
    app = make_app(tmp_path)
    with Client(app) as c:
        # the peer 127.0.0.1 is a trusted proxy by default
        d = c.get("/request", headers={"X-Test": "t", "X-Forwarded-For": "203.0.113.9, 127.0.0.1"}).json()
        assert d["remote"] == "203.0.113.9"
    app2 = make_app(tmp_path)
    app2.trusted_proxies = "10.0.0.0/8"
    with Client(app2) as c:
        d = c.get("/request", headers={"X-Test": "t", "X-Forwarded-For": "203.0.113.9"}).json()
        assert d["remote"] == "127.0.0.1"


def test_async_handler(tmp_path):
    with Client(make_app(tmp_path)) as c:
        assert c.get("/async?x=3").json() == {"async": True, "x": "3"}


def test_json_config(tmp_path):
    import datetime
    app = make_app(tmp_path)

    @app.route("/when")
    def when(context):
        return {"t": datetime.datetime(2030, 12, 24, 15, 9, tzinfo=datetime.UTC)}
    with Client(app) as c:
        assert c.get("/when").json() == {"t": "2030-12-24 15:09:00+00"}
        app.config.JSON_ENCODER = "iso"
        assert c.get("/when").json() == {"t": "2030-12-24T15:09:00"}
        app.config.PRETTY_JSON = True
        assert c.get("/dict").text == '{\n  "a": 1\n}'


def test_sync_handlers_run_on_the_thread_pool(tmp_path):
    import threading
    app = make_app(tmp_path)
    app.threads = 2

    @app.route("/thread")
    def thread(context):
        return {"main": threading.current_thread() is threading.main_thread(),
                "name": threading.current_thread().name}
    with Client(app) as c:
        d = c.get("/thread").json()
        assert d["main"] is False and d["name"].startswith("atila-")
    assert app._nthreads == 2
    assert os.path.exists(tmp_path / "hello.txt")


def test_file_like_and_response_with_raw_file(tmp_path):
    app = make_app(tmp_path)

    @app.route("/filelike")
    def filelike(context):
        return open(tmp_path / "hello.txt", "rb")

    @app.route("/video")
    def video(context):
        return context.response("200 OK", open(tmp_path / "hello.txt", "rb"), headers=[("Content-Type", "video/mp4")])
    with Client(app) as c:
        assert c.get("/filelike").content == b"0123456789"
        r = c.get("/video")
        assert r.content == b"0123456789" and r.headers["content-type"] == "video/mp4"


def test_routable_and_acceptables(tmp_path):
    app = make_app(tmp_path)

    @app.route("/meta", methods=["GET", "POST"], authenticate="bearer")
    def meta(context):
        r = context.request
        return {"methods": r.routable["methods"], "options": r.routable["options"],
                "json_ok": r.acceptable("application/json"), "html_ok": r.acceptable("text/html"),
                "acc": r.acceptables, "routed": r.routed.__name__}
    with Client(app) as c:
        d = c.get("/meta", headers={"Accept": "application/json, text/*;q=0"}).json()
        assert d["methods"] == ["GET", "POST"] and d["options"] == {"authenticate": "bearer"}
        assert d["json_ok"] is True and d["html_ok"] is False
        assert d["acc"]["text/*"] == {"q": "0"} and d["routed"] == "meta"
