"""Section 12 of the Atila docs: responses (12.1-12.5, 12.7, 12.8, 12.10) in the older `was` style."""

from __future__ import annotations

import sys

from atila import Atila
from skitai.testing import AsgiClient


def make_app(tmp_path):
    app = Atila(__name__)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "robots.txt").write_text("User-agent: *\n")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    app.config.STATIC_ROOT = str(tmp_path / "static")

    @app.route("/str")
    def s(was):
        return "Hello, World"

    @app.route("/bytes")
    def b(was):
        return b"\x00\x01"

    @app.route("/list")
    def lst(was):
        return ["a", "b"]

    @app.route("/int")
    def i(was):
        return 1 + 2

    @app.route("/resp")
    def resp(was):
        return was.response("200 OK", "<p>x</p>", [("Cache-Control", "max-age=60")])

    @app.route("/resp-kw")
    def resp_kw(was):
        was.response.set_header("Cache-Control", "max-age=60")
        was.response["X-Item"] = "1"
        assert was.response["X-Item"] == "1" and was.response.get_header("x-item") == "1"
        was.response.set_status("202 Accepted")
        assert was.response.get_status() == "202 Accepted"
        return "<p>x</p>"

    @app.route("/notfound")
    def notfound(was):
        return was.response("404 Not Found")

    @app.route("/forced")
    def forced(was):
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            return was.response("500 Internal Server Error", exc_info=sys.exc_info())

    @app.route("/throw")
    def throw(was):
        was.response.throw("409 Conflict")

    @app.route("/explain")
    def explain(was):
        raise was.response.with_explain("503 Service Unavailable", "Please Visit On Thursday")

    @app.route("/tb")
    def tb(was):
        try:
            aa  # noqa: F821, B018
        except NameError:
            return was.response.traceback()

    @app.route("/etag")
    def etag(was):
        was.response.set_etag("v1", max_age=60)
        return "body"

    @app.route("/mtime")
    def mtime(was):
        was.response.set_mtime(1_600_000_000)
        return "body"

    @app.route("/error")
    def error(was, filename="x.gif"):
        raise was.Error("404 Not Found", f"{filename} not exists")

    @app.route("/http-error")
    def http_error(context):
        raise context.HttpError("404 Not Found")

    @app.route("/api")
    def api(was):
        return was.API(data=[1, 2, 3])

    @app.route("/api-empty")
    def api_empty(was):
        return was.API()

    @app.route("/api-dict")
    def api_dict(was):
        return was.API({"id": 1, "kind": "dog"})

    @app.route("/api-created", methods=["POST"])
    def api_created(was):
        return was.API("201 Created", id=7)

    @app.route("/fault-ok")
    def fault_ok(was):
        return was.Fault("200 OK", data=[1, 2, 3])

    @app.route("/fault-accept")
    def fault_accept(was):
        return was.Fault("201 Accept")

    @app.route("/fault-err")
    def fault_err(was):
        return was.Fault("400 Bad Request", "missing parameter", 10021)

    @app.route("/jstream")
    def jstream(was):
        return was.jstream([1, 2], "data")

    @app.route("/file")
    def file(was):
        return was.File(str(tmp_path / "data.csv"))

    @app.route("/file-type")
    def file_type(was):
        return was.File(str(tmp_path / "data.csv"), "text/plain")

    @app.route("/static")
    def static(was):
        return was.Static("robots.txt")

    @app.route("/raw-file")
    def raw_file(was):
        return was.response("200 OK", open(tmp_path / "data.csv", "rb"), headers=[("Content-Type", "text/csv")])

    @app.route("/urls")
    def urls(was):
        return {"static": was.static("assets/style.css"), "media": was.media("movie.mov")}

    @app.route("/gen")
    def gen(was):
        def generate():
            for _ in range(100):
                yield "<CHUNK>"
        return was.response("200 OK", generate(), headers=[("Content-Type", "text/csv")])

    @app.route("/queue")
    def q(was):
        def produce(queue):
            for i in range(5):
                queue.put(str(i))
            queue.put(None)
        return was.Queue(produce)

    @app.route("/redirect")
    def redirect(was):
        return was.redirect("/str")

    @app.route("/redirect301")
    def redirect301(was):
        return was.redirect("/str", "301 Moved Permanently")

    return app


def test_primitives(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/str")
        assert (r.status_code, r.text) == (200, "Hello, World")
        assert c.get("/bytes").content == b"\x00\x01"
        assert c.get("/list").json() == ["a", "b"]
        assert c.get("/int").json() == 3


def test_was_response(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/resp")
        assert r.text == "<p>x</p>" and r.headers["cache-control"] == "max-age=60"
        r = c.get("/resp-kw")
        assert r.status_code == 202 and r.headers["x-item"] == "1"
        r = c.get("/notfound")
        assert r.status_code == 404 and r.json()["code"] == 404
        r = c.get("/forced")
        assert r.status_code == 500 and r.json()["traceback"]
        assert c.get("/throw").status_code == 409
        r = c.get("/explain")
        assert r.status_code == 503 and r.json()["detail"] == "Please Visit On Thursday"
        r = c.get("/tb")
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == 10001 and body["debug"] == "see traceback"
        assert body["traceback"][0] == "name 'aa' is not defined"
        assert body["traceback"][1].startswith("in file ") and "function tb" in body["traceback"][1]


def test_cache_control(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/etag")
        tag = r.headers["etag"]
        assert r.headers["cache-control"] == "max-age=60"
        assert c.get("/etag", headers={"If-None-Match": tag}).status_code == 304
        r = c.get("/mtime")
        lm = r.headers["last-modified"]
        assert c.get("/mtime", headers={"If-Modified-Since": lm}).status_code == 304


def test_http_errors(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/error?filename=a.png")
        assert r.status_code == 404 and r.json()["detail"] == "a.png not exists"
        assert c.get("/http-error").status_code == 404


def test_assert_with_error(apps_path):
    import asserting

    with AsgiClient(asserting.app) as c:
        r = c.get("/assert?filename=a.gif")
        assert r.status_code == 400 and r.json()["message"] == "Not My Fault"
        assert r.json()["detail"] == "filename must be end with png"
        assert c.get("/assert?filename=a.png").text == "ok"


def test_api_responses(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        assert c.get("/api").json() == {"data": [1, 2, 3]}
        assert c.get("/api").headers["content-type"].startswith("application/json")
        assert c.get("/api-empty").json() == {}
        assert c.get("/api-dict").json() == {"id": 1, "kind": "dog"}
        r = c.post("/api-created")
        assert r.status_code == 201 and r.json() == {"id": 7}
        assert c.get("/fault-ok").json() == {"data": [1, 2, 3]}
        r = c.get("/fault-accept")
        assert r.status_code == 201 and r.json() == {}
        r = c.get("/fault-err")
        assert r.status_code == 400
        assert r.json()["message"] == "missing parameter" and r.json()["code"] == 10021
        assert c.get("/jstream").json() == {"data": [1, 2]}


def test_files_and_static(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/file")
        assert r.text == "a,b\n1,2\n" and r.headers["content-type"].startswith("text/csv")
        assert c.get("/file-type").headers["content-type"].startswith("text/plain")
        r = c.get("/static")
        assert r.text == "User-agent: *\n" and "etag" in r.headers and "last-modified" in r.headers
        assert c.get("/static", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        r = c.get("/static", headers={"Range": "bytes=0-3"})
        assert r.status_code == 206 and r.text == "User"
        r = c.get("/raw-file")
        assert r.text == "a,b\n1,2\n" and r.headers["content-type"] == "text/csv"
        assert c.get("/urls").json() == {"static": "/static/assets/style.css", "media": "/media/movie.mov"}


def test_generators_and_queue(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/gen")
        assert r.text == "<CHUNK>" * 100 and r.headers["content-type"] == "text/csv"
        assert c.get("/queue").text == "01234"


def test_redirects(tmp_path):
    with AsgiClient(make_app(tmp_path)) as c:
        r = c.get("/redirect", allow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "/str"
        r = c.get("/redirect301", allow_redirects=False)
        assert r.status_code == 301
        assert c.get("/redirect").text == "Hello, World"


def test_real_server_static_ranges():
    """File/Static through the engine (pathsend / zerocopysend): whole files and byte ranges."""
    from .conftest import APPS, launch

    big = (APPS / "static" / "big.txt").read_bytes()
    with launch("serve_files.py") as cli:
        assert cli.get("/robots.txt").text == "User-agent: *\n"
        assert cli.get("/big").content == big
        assert cli.get("/big-file").content == big
        r = cli.get("/big", headers={"Range": "bytes=0-3"})
        assert r.status_code == 206 and r.content == big[:4]
        r = cli.get("/big", headers={"Range": "bytes=100000-100009"})
        assert r.status_code == 206 and r.content == big[100000:100010]
        r = cli.get("/big", headers={"Range": "bytes=-5"})
        assert r.status_code == 206 and r.content == big[-5:]
        assert cli.get("/big", headers={"Range": "bytes=999999-"}).status_code == 416


def test_other_documented_return_types():
    """12.1: file-like objects with read(), objects with more(), generators; close() is called."""
    import io

    app = Atila(__name__)
    closed = []

    class Producer:
        def __init__(self):
            self.chunks = [b"a", b"b", b"c"]

        def more(self):
            return self.chunks.pop(0) if self.chunks else b""

        def close(self):
            closed.append("producer")

    class FileLike(io.BytesIO):
        def close(self):
            closed.append("file")
            super().close()

    @app.route("/file-like")
    def file_like(was):
        return FileLike(b"file-like body")

    @app.route("/more")
    def more(was):
        return Producer()

    with AsgiClient(app) as c:
        assert c.get("/file-like").text == "file-like body"
        assert c.get("/more").text == "abc"
    assert sorted(closed) == ["file", "producer"]


def test_static_by_url(tmp_path):
    """12.7: ``was.Static ('/robots.real.txt')`` (a URL) and ``was.Static ('assets/style.css')``."""
    (tmp_path / "static" / "assets").mkdir(parents=True)
    (tmp_path / "static" / "robots.real.txt").write_text("robots\n")
    (tmp_path / "static" / "assets" / "style.css").write_text("css\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    app = Atila(__name__)
    app.config.STATIC_ROOT = str(tmp_path / "static")

    @app.route("/robots.txt")
    def robots(was):
        return was.Static("/robots.real.txt")

    @app.route("/style")
    def style(was):
        return was.Static("assets/style.css")

    @app.route("/by-static-url")
    def by_url(was):
        return was.Static("/static/assets/style.css")

    @app.route("/escape")
    def escape(was):
        return was.Static("/static/../secret.txt")

    with AsgiClient(app) as c:
        assert c.get("/robots.txt").text == "robots\n"
        assert c.get("/style").text == "css\n"
        assert c.get("/by-static-url").text == "css\n"
        assert c.get("/escape").status_code == 404


def test_streaming_through_the_engine():
    from .conftest import launch

    with launch("serve_streams.py") as c:
        r = c.get("/stream")
        assert r.text == "<CHUNK>" * 100 and r.headers["content-type"] == "text/csv"
        assert c.get("/queue").text == "0123456789"
        assert c.get("/async").json() == {"result": "async"}
