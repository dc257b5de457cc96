"""Sections 5.4, 6.2, 8, 9 and 13 of the Atila docs: old app hooks, run_before/run_after, sub-module
mounting with options and namespaces, "" vs "/" rules, converters, URL building."""

from __future__ import annotations

import types

import atila
from atila import Atila
from skitai.testing import AsgiClient


def test_run_before_and_run_after():
    app = Atila(__name__)
    log: list[str] = []

    def pre1(was):
        log.append("pre1")

    def pre2(was):
        log.append("pre2")
        if was.request.args.get("stop"):
            return "stopped"

    def post1(was):
        log.append("post1")
        return "ignored"

    @app.route("/")
    @app.run_before(pre1, pre2)
    @app.run_after(post1)
    def index(was, stop=None):
        log.append("handler")
        return "ok"

    with AsgiClient(app) as c:
        assert c.get("/").text == "ok"
        assert log == ["pre1", "pre2", "handler", "post1"]
        log.clear()
        assert c.get("/?stop=1").text == "stopped"
        assert log == ["pre1", "pre2"]


def test_old_app_life_cycle_hooks():
    app = Atila(__name__)
    log: list[str] = []
    app.before_mount(lambda wac: log.append("before_mount"))
    app.mounted(lambda was: log.append("mounted"))
    app.mounted_or_reloaded(lambda was: log.append("mounted_or_reloaded"))
    app.before_reload(lambda was: log.append("before_reload"))
    app.reloaded(lambda was: log.append("reloaded"))
    app.before_umount(lambda was: log.append("before_umount"))
    app.umounted(lambda wac: log.append("umounted"))

    @app.route("/")
    def index(was):
        return "ok"

    with AsgiClient(app) as c:
        assert c.get("/").text == "ok"
    assert log == ["before_mount", "mounted", "mounted_or_reloaded", "before_umount", "umounted"]


def _package():
    """A newest-style package with a sub-module mounted from __setup__ with options."""
    pkg = types.ModuleType("seedpkg")
    auth = types.ModuleType("seedpkg.services.auth")
    auth.__name__ = "seedpkg.services.auth"
    seen = {}

    def __app__():
        return Atila("seedpkg")

    def __setup__(context, app):
        app.mount("/regist", auth, redirect="index")

    def __mount__(context, app):
        @app.route("/")
        def index(context):
            return context.API(login=context.urlfor("auth.login"), by_func=context.urlfor(auth.login_func[0]))

    def auth_mount(context, app, opts):
        seen["opts"] = dict(opts)

        @app.route("/login")
        def login(context):
            return context.API(redirect=context.mount_options.get("redirect"))

        auth.login_func = [login]

    pkg.__app__, pkg.__setup__, pkg.__mount__ = __app__, __setup__, __mount__
    auth.__mount__ = auth_mount
    return pkg, auth, seen


def test_submodule_mount_with_options_and_namespace():
    pkg, auth, seen = _package()
    app = atila.load(pkg)
    with AsgiClient(app) as c:
        r = c.get("/regist/login")
        assert r.json() == {"redirect": "index"}
        assert c.get("/").json() == {"login": "/regist/login", "by_func": "/regist/login"}
    assert seen["opts"]["redirect"] == "index"
    assert auth.__mntopt__["redirect"] == "index"


def test_empty_rule_vs_slash_under_a_mount():
    app = Atila(__name__)

    @app.route("")
    def empty(was):
        return "empty"

    mod = types.ModuleType("seedsub")

    def m(context, app):
        @app.route("/")
        def slash(context):
            return "slash"

    mod.__mount__ = m
    app.mount("/sub", mod)
    sub2 = types.ModuleType("seedsub2")

    def m2(context, app):
        @app.route("")
        def empty2(context):
            return "empty2"

    sub2.__mount__ = m2
    app.mount("/sub2", sub2)
    with AsgiClient(app) as c:
        r = c.get("/sub", allow_redirects=False)
        assert r.status_code == 301 and r.headers["location"].endswith("/sub/")
        assert c.get("/sub/").text == "slash"
        assert c.get("/sub2").text == "empty2"
        assert c.get("/sub2/").status_code == 404


def test_converters_methods_and_content_types():
    app = Atila(__name__)

    @app.route("/download/<int:major_ver>/<path:path>")
    def download(was, major_ver, path):
        return {"v": major_ver, "path": path}

    @app.route("/hello", methods=["POST"])
    @app.route("/")
    def hello(was):
        return was.request.method

    @app.route("/json", methods=["POST"], content_types=["application/json"])
    def only_json(was, **kw):
        return "ok"

    with AsgiClient(app) as c:
        assert c.get("/download/1/version/1.1/win32").json() == {"v": 1, "path": "version/1.1/win32"}
        assert c.post("/hello").text == "POST"
        assert c.get("/").text == "GET"
        assert c.get("/hello").status_code == 405
        assert c.post("/json", data={"a": "b"}).status_code == 415
        assert c.post("/json", json={"a": "b"}).text == "ok"


def test_catch_all_path():
    app = Atila(__name__)

    @app.route("/")
    def index(was):
        return "index"

    @app.route("/<path:path>")
    def spa(was, path=None):
        return "spa:" + str(path)

    with AsgiClient(app) as c:
        assert c.get("/").text == "index"
        assert c.get("/any/thing").text == "spa:any/thing"


def test_notme_is_get_only():
    app = Atila(__name__)

    @app.route("/episodes/<int:uid>", methods=["GET", "DELETE"])
    def episodes(was, uid):
        return {"uid": uid}

    with AsgiClient(app) as c:
        assert c.get("/episodes/notme").json() == {"uid": "notme"}
        assert c.get("/episodes/new").json() == {"uid": "new"}
        assert c.delete("/episodes/me").json() == {"uid": "me"}
        assert c.delete("/episodes/notme").status_code == 421


def test_build_url_outside_a_request():
    app = Atila(__name__)

    @app.route("/add")
    def add(was, num1, num2):
        return "x"

    @app.route("/episode/<int:id>")
    def episode(was, id=None):
        return "x"

    assert app.build_url("add", 10, 40) == "/add?num1=10&num2=40"
    assert app.build_url(add, 10, num2=60) == "/add?num1=10&num2=60"
    assert app.build_url("episode") == "/episode"
    assert app.build_url("episode", 100) == "/episode/100"


def test_unroute():
    """[001] ``app.unroute ("/examples/*", 404)`` and ``app.unroute ('/examples', 404)``."""
    app = Atila(__name__)
    examples = types.ModuleType("examples")

    def m(context, app):
        @app.route("")
        def ex_index(context):
            return "examples"

        @app.route("/foo/<int:id>")
        def ex_foo(context, id):
            return "foo"

    examples.__mount__ = m
    app.mount("/examples", examples)

    @app.route("/kept")
    def kept(was):
        return "kept"

    app.unroute("/examples/*", 404)
    app.unroute("/examples", 403)
    with AsgiClient(app) as c:
        assert c.get("/examples/foo/1").status_code == 404
        assert c.get("/examples").status_code == 403
        assert c.get("/kept").text == "kept"


def test_app_mount_directory(tmp_path):
    """[001] ``app.mount ('/static', '/var/www-root/static')``: a directory of files."""
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("a {}\n")
    (tmp_path.parent / "outside.txt").write_text("no\n")
    app = Atila(__name__)
    app.mount("/static", str(tmp_path))
    with AsgiClient(app) as c:
        r = c.get("/static/css/a.css")
        assert r.text == "a {}\n" and r.headers["content-type"].startswith("text/css")
        assert c.get("/static/css/a.css", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        assert c.get("/static/nothing.css").status_code == 404
        assert c.get("/static/../outside.txt").status_code == 404
        assert c.get("/static/%2e%2e/outside.txt").status_code == 404


def test_wac_register():
    """5.4: ``wac.register ("loginengine", obj)`` in an app hook makes ``was.loginengine``."""
    app = Atila(__name__)
    engine = object()

    @app.before_mount
    def before_mount(wac):
        wac.register("loginengine", engine)
        wac.register("other", 1)
        wac.unregister("other")

    @app.route("/")
    def index(was):
        return {"same": was.loginengine is engine, "other": hasattr(was, "other")}

    with AsgiClient(app) as c:
        assert c.get("/").json() == {"same": True, "other": False}
