"""E1 variants: request life-cycle hooks (documented order) and "Response All Errors As JSON"."""

from __future__ import annotations

from atila import Atila
from skitai.testing import AsgiClient


def make_app():
    app = Atila(__name__)
    calls: list[str] = []
    app.calls = calls

    @app.before_request
    def before_request(was):
        calls.append("before")
        if was.request.args.get("deny"):
            return "Not Authorized"

    @app.finish_request
    def finish_request(was):
        calls.append("finish")

    @app.failed_request
    def failed_request(was, exc_info):
        calls.append("failed:" + exc_info[0].__name__)
        if exc_info[0] is ValueError:
            return was.response("501 Server Error", "custom failure")

    @app.teardown_request
    def teardown_request(was):
        calls.append("teardown")

    @app.route("/")
    def index(was, deny=None):
        calls.append("handler")
        return "ok"

    @app.route("/value")
    def value(was):
        raise ValueError("bad")

    @app.route("/key")
    def key(was):
        raise KeyError("k")

    return app


def test_hook_order_success():
    app = make_app()
    with AsgiClient(app) as c:
        r = c.get("/")
        assert (r.status_code, r.text) == (200, "ok")
    assert app.calls == ["before", "handler", "finish", "teardown"]


def test_before_request_short_circuits():
    app = make_app()
    with AsgiClient(app) as c:
        r = c.get("/?deny=1")
        assert r.status_code == 200
        assert r.text == "Not Authorized"
    assert app.calls == ["before", "teardown"]


def test_failed_request_replaces_error():
    app = make_app()
    with AsgiClient(app) as c:
        r = c.get("/value")
        assert r.status_code == 501
        assert r.text == "custom failure"
    assert app.calls == ["before", "failed:ValueError", "teardown"]


def test_failed_request_none_reraises_500_json():
    app = make_app()
    with AsgiClient(app, raise_server_exceptions=False) as c:
        r = c.get("/key")
        assert r.status_code == 500
        body = r.json()
        assert body["code"] == 500
        assert "traceback" not in body  # debug is off
    assert app.calls == ["before", "failed:KeyError", "teardown"]


def test_all_errors_as_json_howto():
    """How-To "Response All Errors As JSON" (section 30), with the documented error dict keys."""
    app = Atila(__name__)
    seen = {}

    @app.default_error_handler
    def default_error_handler(was, error):
        seen.update(error)
        code = error["errno"] or str(error["code"]) + "00"
        return was.Fault(error["code"], error["message"].lower(), code, None, error["detail"])

    @app.error_handler(404)
    def not_found(was, error):
        return was.API(custom=True, code=error["code"])

    @app.route("/boom")
    def boom(was):
        raise was.Error("409 Conflict", "already there")

    with AsgiClient(app) as c:
        r = c.get("/nothing")
        assert r.status_code == 404
        assert r.json() == {"custom": True, "code": 404}
        r = c.get("/boom")
        assert r.status_code == 409
        assert r.json()["message"] == "conflict"
        assert r.json()["code"] == "40900"
    for k in ("code", "message", "detail", "mode", "debug", "time", "url", "software", "traceback", "errno"):
        assert k in seen, k
    assert seen["detail"] == "already there"
    assert seen["url"].endswith("/boom")


def test_debug_traceback_in_json():
    app = Atila(__name__)
    app.debug = True

    @app.route("/")
    def index(was):
        return 1 / 0

    with AsgiClient(app, raise_server_exceptions=False) as c:
        r = c.get("/", headers={"Accept": "application/json"})
        assert r.status_code == 500
        assert r.json()["traceback"]


def test_module_request_hooks():
    """Newest style module hooks __request__/__wrapup__/__error__/__teardown__ (section 5.1 / 39)."""
    import types

    mod = types.ModuleType("hooked")
    calls: list[str] = []

    def __app__():
        return Atila("hooked")

    def __mount__(context, app):
        @app.route("/")
        def index(context):
            calls.append("handler")
            return "ok"

        @app.route("/err")
        def err(context):
            raise RuntimeError("x")

    mod.__app__ = __app__
    mod.__mount__ = __mount__
    mod.__request__ = lambda context: calls.append("request")
    mod.__wrapup__ = lambda context, content: calls.append("wrapup")
    mod.__error__ = lambda context, e: calls.append("error")
    mod.__teardown__ = lambda context: calls.append("teardown")
    import atila

    app = atila.load(mod)
    with AsgiClient(app, raise_server_exceptions=False) as c:
        assert c.get("/").text == "ok"
        assert calls == ["request", "handler", "wrapup", "teardown"]
        calls.clear()
        assert c.get("/err").status_code == 500
        assert calls == ["request", "error", "teardown"]


def test_all_errors_as_json_howto_verbatim():
    """The How-To code as written ([000] Fault signature: message first), section 30."""
    app = Atila(__name__)

    @app.default_error_handler
    def default_error_handler(was, error):
        code = error["errno"] or str(error["code"]) + '00'
        return was.Fault(error["message"].lower(), code, None, error["detail"], exc_info=error["traceback"])

    @app.route("/")
    def index(was):
        return "Hello, World"

    with AsgiClient(app) as c:
        r = c.get("/nonexistent")
        assert r.status_code == 404
        body = r.json()
        assert body["message"] == "not found" and body["code"] == "40400"
        assert c.get("/").text == "Hello, World"


def test_app_r_and_app_g():
    """[001] ``app.r`` (current request namespace) and ``app.g`` (global namespace) in the hook example."""
    app = Atila(__name__)
    app.g.hits = 0

    @app.before_request
    def before_request(was):
        app.r.calls = ["before"]
        app.g.hits += 1

    @app.finish_request
    def finish_request(was):
        app.r.calls.append("finish")

    @app.route("/")
    def index(was):
        app.r.calls.append("handler")
        return {"calls": list(app.r.calls), "same": app.r.calls is was.request.g.calls}

    @app.route("/async")
    async def aindex(was):
        app.r.calls.append("async")
        return list(app.r.calls)

    with AsgiClient(app) as c:
        assert c.get("/").json() == {"calls": ["before", "handler"], "same": True}
        assert c.get("/async").json() == ["before", "async"]
    assert app.g.hits == 2 and app.g["hits"] == 2


def test_request_life_cycle_events():
    """Section 6.3: [001] string events and [000] atila.request_* names; app events with emit."""
    import atila

    app = Atila(__name__)
    log: list[str] = []

    @app.on("request:before_start")
    def starting(was):
        log.append("start")
        return "ignored"

    @app.on(atila.request_success)
    def success(was):
        log.append("success")

    @app.on("request:failed")
    def failed(was, exc_info):
        log.append("failed:" + exc_info[0].__name__)

    @app.on(atila.request_tearing_down, "request:finished")
    def down(was):
        log.append("down")

    @app.on("custom:event")
    def custom(x):
        return x * 2

    @app.route("/")
    def index(was):
        return "ok"

    @app.route("/err")
    def err(was):
        raise ValueError("x")

    with AsgiClient(app, raise_server_exceptions=False) as c:
        assert c.get("/").text == "ok"
        assert log == ["start", "success", "down", "down"]
        log.clear()
        assert c.get("/err").status_code == 500
        assert log == ["start", "failed:ValueError", "down", "down"]
    assert app.emit("custom:event", 21) == [42]


def test_atila_load_by_path(apps_path):
    """[000] ``atila.load ("./myapp/", pref)``: a package directory path, with a pref."""
    import os

    import atila
    import skitai

    pref = skitai.pref()
    pref.config.prefA = 1
    app = atila.load(os.path.join(str(apps_path), "myservice") + "/", pref)
    assert app.config.prefA == 1
    with AsgiClient(app) as c:
        assert c.get("/").text == "Hello, World"
