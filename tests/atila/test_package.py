"""Package style: __app__, __setup__ (mounting sub-modules), __mount__, __umount__/__umounted__,
the engine's __skitai_mount__ contract, ASGI lifespan, options and config."""

import asyncio
import types

import atila
from atila import Atila

from .harness import Client


def make_package(log, async_setup=False):
    pkg = types.ModuleType("demo_pkg")
    foo = types.ModuleType("demo_pkg.foo")
    bar = types.ModuleType("demo_pkg.bar")

    def __app__():
        return Atila("demo_pkg")

    if async_setup:
        async def __setup__(context, app):
            await asyncio.sleep(0)
            log.append("setup:pkg")
            app.resource = "pool"
            app.mount("/foo", foo, threshold=10)
    else:
        def __setup__(context, app):
            log.append("setup:pkg")
            app.resource = "pool"
            app.mount("/foo", foo, threshold=10)

    def __mount__(context, app):
        log.append("mount:pkg")

        @app.route("/")
        def index(context):
            return context.API(resource=context.app.resource)

    def __umount__(context, app):
        log.append("umount:pkg")

    def __umounted__(context, app):
        log.append("umounted:pkg")

    def foo_setup(context, app, opts):
        log.append(f"setup:foo:{opts['threshold']}")
        app.mount("/bar", bar)  # relative to foo's point

    def foo_mount(context, app):
        log.append("mount:foo")

        @app.route("/hello")
        def hello(context):
            return context.urlfor("bar.deep")

    def bar_mount(app, mntopt):  # the older signature still works
        log.append(f"mount:bar:{mntopt['point']}")

        @app.route("/deep")
        def deep(context):
            return "deep"

    pkg.__app__, pkg.__setup__, pkg.__mount__ = __app__, __setup__, __mount__
    pkg.__umount__, pkg.__umounted__ = __umount__, __umounted__
    foo.__setup__, foo.__mount__ = foo_setup, foo_mount
    bar.__mount__ = bar_mount
    return pkg


def test_skitai_mount_contract_runs_hooks_in_order():
    log = []
    pkg = make_package(log)
    app = pkg.__app__()
    app.__skitai_mount__(module=pkg, point="/", pref=None)
    assert log == ["setup:pkg", "setup:foo:10", "mount:pkg", "mount:foo", "mount:bar:/foo/bar"]
    with Client(app) as c:
        assert c.get("/").json() == {"resource": "pool"}
        assert c.get("/foo/hello").text == "/foo/bar/deep"
        assert c.get("/foo/bar/deep").text == "deep"
        sent = c.lifespan("startup", "shutdown")
        assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log[-2:] == ["umount:pkg", "umounted:pkg"]
    assert log.count("setup:pkg") == 1  # start-up did not mount twice


def test_lifespan_mounts_when_no_engine_did():
    log = []
    app = atila.load(make_package(log, async_setup=True))
    with Client(app) as c:
        sent = c.lifespan("startup")
        assert sent == [{"type": "lifespan.startup.complete"}]
        assert log[0] == "setup:pkg" and "mount:bar:/foo/bar" in log
        assert c.get("/").json() == {"resource": "pool"}


def test_async_setup_under_engine_contract_is_finished_at_startup():
    log = []
    pkg = make_package(log, async_setup=True)
    app = pkg.__app__()
    app.__skitai_mount__(module=pkg, point="/", pref=None)
    with Client(app) as c:
        c.lifespan("startup")
        assert c.get("/foo/bar/deep").text == "deep"
    assert log.count("setup:pkg") == 1


def test_first_request_mounts_without_lifespan():
    log = []
    app = atila.load(make_package(log))
    with Client(app) as c:
        assert c.get("/foo/bar/deep").text == "deep"


def test_failing_setup_fails_startup():
    pkg = types.ModuleType("broken_pkg")
    pkg.__app__ = lambda: Atila("broken_pkg")

    def __setup__(context, app):
        raise RuntimeError("no database")
    pkg.__setup__ = __setup__
    app = atila.load(pkg)
    with Client(app) as c:
        sent = c.lifespan("startup")
        assert sent[0]["type"] == "lifespan.startup.failed"
        assert "no database" in sent[0]["message"]


def test_app_object_style_and_options():
    app = Atila("objstyle", debug=True, use_reloader=False, securekey="k", session_timeout=1200,
                access_control_allow_origin=["*"], access_control_max_age=10, enable_namespace=True)
    assert app.debug is True and app.securekey == "k" and app.session_timeout == 1200
    assert app.access_control_max_age == 10 and app.enable_namespace is True
    assert app.config.MAX_UPLOAD_SIZE == 256 * 1024 * 1024
    assert app.config["JSON_ENCODER"] == "utcoffset" and app.config.PRETTY_JSON is False
    app.config.my_setting = 1
    assert app.config["my_setting"] == 1

    @app.route("/")
    def index(was):
        return "old style"
    app.__skitai_mount__(module=None, point="/", pref=None)
    with Client(app) as c:
        assert c.get("/").text == "old style"


def test_pref_overrides_app_config():
    class Pref:
        def __init__(self):
            self.debug = True
            self.config = {"PRETTY_JSON": True, "prefA": 1}
    pkg = types.ModuleType("pref_pkg")
    pkg.__app__ = lambda: Atila("pref_pkg")
    app = atila.load(pkg, Pref())
    assert app.debug is True and app.config.PRETTY_JSON is True and app.config.prefA == 1


def test_mounted_app_under_engine_root_path():
    log = []
    pkg = make_package(log)
    app = pkg.__app__()
    app.__skitai_mount__(module=pkg, point="/svc", pref=None)
    with Client(app, root_path="/svc") as c:
        assert c.get("/svc/foo/hello").text == "/svc/foo/bar/deep"
        r = c.get("/svc")  # the app's "/" route asked without the slash
        assert r.status_code == 301 and r.headers["location"] == "/svc/"


def test_async_hooks_of_sub_modules_keep_their_mount_point():
    log = []
    pkg = types.ModuleType("async_pkg")
    sub = types.ModuleType("async_pkg.sub")
    pkg.__app__ = lambda: Atila("async_pkg")
    pkg.__setup__ = lambda context, app: app.mount("/sub", sub)

    async def sub_mount(context, app):
        await asyncio.sleep(0)

        @app.route("/late")
        def late(context):
            return context.urlfor(late)

    sub.__mount__ = sub_mount
    app = pkg.__app__()

    @app.mounted
    def mounted(context):
        log.append("mounted")

    app.__skitai_mount__(module=pkg, point="/", pref=None)
    assert log == []  # the async __mount__ is still pending
    with Client(app) as c:
        c.lifespan("startup")
        assert c.get("/sub/late").text == "/sub/late"
    assert log == ["mounted"]
