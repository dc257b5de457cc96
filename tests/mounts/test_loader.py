"""Every spec form skitai.mount accepts, ASGI/WSGI detection, prefs, clear errors."""

import functools
import os
import sys

import pytest

import tests.apps.mounts_pkg as mounts_pkg
from skitai.mounts import MountError, MountTable, detect_interface
from skitai.mounts.loader import apply_pref
from tests.apps import mounts_asgi, mounts_wsgi
from tests.support import ROOT

from .asgi import call

APPS = ROOT / "tests" / "apps"


@pytest.fixture(autouse=True)
def _cwd_apps(monkeypatch):
    """Paths in specs are relative to the working directory (the script's dir)."""
    monkeypatch.chdir(APPS)
    yield


def served(spec, target="/x", app_name="app", **kw):
    t = MountTable()
    t.add("/m", spec, app_name, **kw)
    t.load()
    return t, call(t, target="/m" + target)


def test_wsgi_callable():
    t, r = served(mounts_wsgi.writer)
    assert t.mounts[0].kind == "wsgi" and r.body == b"one,two,three"


def test_asgi_callable_and_class_instance():
    t, r = served(mounts_asgi.no_lifespan)
    assert t.mounts[0].kind == "asgi" and r.body == b"plain"
    t, r = served(mounts_asgi.class_app)
    assert t.mounts[0].kind == "asgi" and r.body == b"class-asgi"


def test_module_colon_attr():
    t, r = served("tests.apps.mounts_wsgi:writer")
    assert r.body == b"one,two,three"


def test_file_path_with_app_variable():
    t, r = served("mounts_v1/app.py", "/y", "app")
    assert r.body == b"v1 /m /y"
    t, r = served("mounts_v1/app.py", "/y", "other")
    assert r.body == b"v1-other"


def test_path_without_py_and_file_colon_attr():
    t, r = served("mounts_v1/app", "/z")
    assert r.body == b"v1 /m /z"
    t, r = served("mounts_v1/app:other")
    assert r.body == b"v1-other"


def test_module_name_and_package_dir():
    t, r = served("mounts_v1.app")  # dotted module found via sys.path (cwd)
    assert r.body.startswith(b"v1 ")


def test_module_object_with_app_variable():
    t, r = served(mounts_wsgi, "/q")
    assert b'"SCRIPT_NAME": "/m"' in r.body


def test_module_file_tuple():
    import tests.apps as apps_pkg
    t, r = served((apps_pkg, "mounts_v1/app.py"), "/t")
    assert r.body == b"v1 /m /t"


def test_package_exposing_app_factory_with_pref():
    class Pref:
        def __init__(self):
            self.debug = True
            self.config = {"prefA": 1}
    mounts_pkg.MOUNTED.clear()
    t, r = served(mounts_pkg, "/", pref=Pref())
    assert r.body == b"pkg debug=True config=[('base', 1), ('prefA', 1)]"
    # pref applied before __skitai_mount__, which gets the module and the point
    assert mounts_pkg.MOUNTED == [("tests.apps.mounts_pkg", "/m", True, {"base": 1, "prefA": 1})]


def test_package_directory_string():
    mounts_pkg.MOUNTED.clear()
    t, r = served("mounts_pkg", "/")
    assert r.body.startswith(b"pkg debug=False")


def test_pref_with_items_method_and_attribute_config():
    class Conf:
        pass

    class Pref:
        def __init__(self):
            self.config = Conf()
            self.config.prefB = 2

        def items(self):
            return [("use_reloader", True), ("config", self.config)]

    class App:
        def __init__(self):
            self.config = {}
    app = App()
    apply_pref(app, Pref())
    assert app.use_reloader is True and app.config == {"prefB": 2}


def test_static_directory_relative_to_cwd():
    t, r = served("mounts_static", "/site.css")
    assert t.mounts[0].kind == "static" and r.body == b"body{}\n"


def test_alias_is_not_supported_yet():
    t = MountTable()
    with pytest.raises(MountError, match=r"'/members'.*not supported yet"):
        t.add("/members", "@members")     # at mount time, in the script's own line
    with pytest.raises(MountError, match=r"'/m'.*not supported yet"):
        from skitai.mounts.loader import load_spec
        load_spec("/m", "@other")


def test_bad_mount_point():
    with pytest.raises(MountError, match="must be a path"):
        MountTable().add("v1", mounts_wsgi.writer)


def test_errors_name_the_mount():
    for spec in ("does_not_exist_anywhere", "nofile.py", "mounts_v1/app:missing", 42):
        t = MountTable()
        t.add("/broken", spec)
        with pytest.raises(MountError, match="'/broken'"):
            t.load()


def test_import_error_inside_app_names_the_mount(tmp_path, monkeypatch):
    (tmp_path / "badapp.py").write_text("import no_such_module_xyz\n")
    monkeypatch.chdir(tmp_path)
    t = MountTable()
    t.add("/bad", "badapp.py")
    with pytest.raises(MountError, match=r"'/bad'.*no_such_module_xyz"):
        t.load()


def test_module_without_app():
    t = MountTable()
    t.add("/e", os)
    with pytest.raises(MountError, match="neither __app__"):
        t.load()


def test_path_option_extends_sys_path(tmp_path, monkeypatch):
    d = tmp_path / "proj"
    d.mkdir()
    (d / "helper_mod_for_mount.py").write_text("VALUE = b'helped'\n")
    (tmp_path / "main_app.py").write_text(
        "import helper_mod_for_mount\n"
        "def application(e, sr):\n    sr('200 OK', [])\n    return [helper_mod_for_mount.VALUE]\n")
    monkeypatch.chdir(tmp_path)
    t = MountTable()
    t.add("/", "main_app.py", "application", None, path=str(d))
    t.load()
    assert call(t, target="/").body == b"helped"
    sys.modules.pop("helper_mod_for_mount", None)


def test_reload_picks_up_new_code(tmp_path, monkeypatch):
    """load() imports file specs fresh (what a SIGHUP-restarted worker does)."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "reloadme.py"
    f.write_text("def app(e, sr):\n    sr('200 OK', [])\n    return [b'one']\n")
    t = MountTable()
    t.add("/", "reloadme.py")
    t.load()
    assert call(t, target="/").body == b"one"
    sys.modules.pop("reloadme", None)
    f.write_text("def app(e, sr):\n    sr('200 OK', [])\n    return [b'two']\n")
    t.load()
    assert call(t, target="/").body == b"two"
    sys.modules.pop("reloadme", None)


def test_detection_rules():
    async def asgi(scope, receive, send):
        pass

    def wsgi(environ, start_response):
        pass

    def three(scope, receive, send):  # sync function returning an awaitable: ASGI by arity
        pass

    class AsyncCall:
        async def __call__(self, scope, receive, send):
            pass

    assert detect_interface(asgi) == "asgi"
    assert detect_interface(wsgi) == "wsgi"
    assert detect_interface(three) == "asgi"
    assert detect_interface(AsyncCall()) == "asgi"
    assert detect_interface(functools.partial(asgi)) == "asgi"
    from flask import Flask
    assert detect_interface(Flask("x")) == "wsgi"
    with pytest.raises(TypeError):
        detect_interface(AsyncCall)


def test_interface_override():
    t = MountTable()
    t.add("/", lambda *a: None, interface="nonsense")
    with pytest.raises(MountError, match="interface"):
        t.load()


def test_static_and_app_share_a_mount_point():
    t = MountTable()
    t.add("/", "mounts_static")
    t.add("/", mounts_wsgi.writer)
    t.load()
    assert call(t, target="/site.css").body == b"body{}\n"          # file exists: static
    assert call(t, target="/").body == b"<h1>static index</h1>\n"   # index.html exists
    assert call(t, target="/hello").body == b"one,two,three"        # no such file: the app
    assert call(t, "POST", "/site.css").body == b"one,two,three"    # not GET/HEAD: the app


def test_real_skitai_pref_object():
    import skitai
    p = skitai.pref()
    p.debug = True
    p.max_client_body_size = 5
    p.config["prefA"] = 1
    p.config.prefB = 2
    mounts_pkg.MOUNTED.clear()
    t = MountTable()
    t.add("/m", mounts_pkg, "app", p)
    t.load()
    r = call(t, target="/m/")
    assert r.body == b"pkg debug=True config=[('base', 1), ('prefA', 1), ('prefB', 2)]"
    assert t.mounts[0].max_body == 5
    r = call(t, "POST", "/m/", headers=[("Content-Length", "6")], body=b"x" * 6)
    assert r.status == 413


def test_config_hook_runs_at_mount_time_and_can_mount_more():
    import skitai
    import tests.apps.mounts_cfgpkg as cfgpkg
    skitai._reset()
    try:
        cfgpkg.CONFIGURED.clear()
        skitai.mount("/", cfgpkg)
        assert len(cfgpkg.CONFIGURED) == 1          # at mount time, before any load
        t = skitai.mount_table()
        assert [m.point for m in t.mounts] == ["/assets", "/"]
        t.load()
        t.load()
        assert len(cfgpkg.CONFIGURED) == 1          # once per module
        assert call(t, target="/x").body == b"[('from_config', True)]"
        assert call(t, target="/assets/site.css").body == b"body{}\n"
    finally:
        skitai._reset()


def test_module_exiting_at_import_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.chdir(tmp_path)
    t = MountTable()
    t.add("/x", "exits.py")
    with pytest.raises(MountError, match=r"'/x'.*exited \(3\)"):
        t.load()
