"""Request hooks: documented order, short-circuit, failed_request replacing the error, module hooks."""

import types

from atila import Atila

from .harness import Client


def make_app(log):
    app = Atila("hooks_app")

    @app.before_request
    def before(context):
        log.append("before")
        if context.request.path == "/private":
            return "Not Authorized"

    @app.finish_request
    def finish(context):
        log.append("finish")

    @app.failed_request
    def failed(context, exc_info):
        log.append(f"failed:{exc_info[0].__name__}")
        if exc_info[0] is ValueError:
            return context.response("501 Not Implemented", "handled by failed_request")

    @app.teardown_request
    def teardown(context):
        log.append("teardown")

    @app.route("/")
    def index(was):  # the first argument may be named was
        log.append("handler")
        return "ok"

    @app.route("/private")
    def private(context):
        log.append("handler")
        return "secret"

    @app.route("/value")
    def value(context):
        log.append("handler")
        raise ValueError("x")

    @app.route("/key")
    def key(context):
        log.append("handler")
        raise KeyError("x")

    return app


def test_order_on_success():
    log = []
    with Client(make_app(log)) as c:
        assert c.get("/").text == "ok"
    assert log == ["before", "handler", "finish", "teardown"]


def test_before_request_short_circuits():
    log = []
    with Client(make_app(log)) as c:
        assert c.get("/private").text == "Not Authorized"
    assert log == ["before", "teardown"]


def test_failed_request_replaces_error_or_lets_it_go():
    log = []
    with Client(make_app(log)) as c:
        r = c.get("/value")
        assert r.status_code == 501 and r.text == "handled by failed_request"
        assert log == ["before", "handler", "failed:ValueError", "teardown"]
        log.clear()
        r = c.get("/key")
        assert r.status_code == 500
        assert log == ["before", "handler", "failed:KeyError", "teardown"]


def test_module_hooks_and_context_is_was():
    log = []
    pkg = types.ModuleType("hookpkg")
    sub = types.ModuleType("hookpkg.sub")

    def __request__(context):
        log.append("pkg:request")
        context.request.g.K = [1]

    def __wrapup__(context, app, content):
        log.append(f"pkg:wrapup:{content}")

    def __error__(context, exception):
        log.append(f"pkg:error:{type(exception).__name__}")
        return context.response("418 I'm a teapot", "from __error__")

    def __teardown__(context):
        log.append("pkg:teardown")

    def pkg_mount(context, app):
        @app.route("/")
        def index(context):
            return f"g={context.request.g.K}"

    def sub_request(context):
        log.append("sub:request")

    def sub_mount(context, app):
        @app.route("/x")
        async def x(context):
            log.append("sub:handler")
            return "sub"

        @app.route("/err")
        def err(context):
            raise RuntimeError("e")

    pkg.__request__, pkg.__wrapup__, pkg.__error__, pkg.__teardown__ = __request__, __wrapup__, __error__, __teardown__
    pkg.__mount__ = pkg_mount
    pkg.__setup__ = lambda context, app: app.mount("/sub", sub)
    sub.__request__ = sub_request
    sub.__mount__ = sub_mount
    pkg.__app__ = lambda: Atila("hookpkg")
    import atila
    app = atila.load(pkg)
    with Client(app) as c:
        assert c.get("/").text == "g=[1]"
        assert log == ["pkg:request", "pkg:wrapup:g=[1]", "pkg:teardown"]
        log.clear()
        assert c.get("/sub/x").text == "sub"
        assert log == ["pkg:request", "sub:request", "sub:handler", "pkg:wrapup:sub", "pkg:teardown"]
        r = c.get("/sub/err")
        assert r.status_code == 418 and r.text == "from __error__"


def test_async_hooks():
    log = []
    app = Atila("async_hooks")

    @app.before_request
    async def before(context):
        log.append("async-before")

    @app.route("/")
    def index(context):
        return "ok"
    with Client(app) as c:
        assert c.get("/").text == "ok"
    assert log == ["async-before"]
