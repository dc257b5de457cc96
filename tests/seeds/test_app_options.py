"""Sections 3.3, 4, 8 and 10.3 of the Atila docs: app options and config, pref shortcuts, app.mount forms,
and every documented @app.inspect rule."""

from __future__ import annotations

import datetime
import types
import uuid

import skitai
from atila import Atila
from skitai.testing import AsgiClient


def test_documented_defaults():
    app = Atila(__name__)
    assert app.debug is False and app.use_reloader is False
    assert app.enable_namespace is True
    assert app.access_control_allow_origin is None and app.access_control_max_age == 0
    assert app.authenticate is None and app.securekey is None and app.session_timeout is None
    assert app.config.MAX_UPLOAD_SIZE == 256 * 1024 * 1024
    assert app.config.JSON_ENCODER == "utcoffset" and app.config.PRETTY_JSON is False
    assert app.config.MEDIA_URL == "/media/" and app.config.MAINTAIN_INTERVAL == 60
    app.config.my_setting = 1
    assert app.config["my_setting"] == 1


def test_json_encoder_and_pretty_json():
    want = {"utcoffset": '"2030-12-24 15:09:00+00"', "iso": '"2030-12-24T15:09:00"', "digit": '"20301224150900"'}
    for enc, text in want.items():
        app = Atila(__name__)
        app.config.JSON_ENCODER = enc

        @app.route("/")
        def index(was):
            return was.API(t=datetime.datetime(2030, 12, 24, 15, 9, tzinfo=datetime.UTC))

        with AsgiClient(app) as c:
            assert text in c.get("/").text, enc
    app = Atila(__name__)
    app.config.PRETTY_JSON = True

    @app.route("/")
    def pretty(was):
        return was.API(a=1)

    with AsgiClient(app) as c:
        assert c.get("/").text == '{\n  "a": 1\n}'


def test_max_upload_size():
    app = Atila(__name__)
    app.config.MAX_UPLOAD_SIZE = 100

    @app.route("/up", methods=["POST"])
    def up(was, **form):
        return "ok"

    with AsgiClient(app) as c:
        assert c.post("/up", data={"a": "x" * 10}).text == "ok"
        assert c.post("/up", data={"a": "x" * 200}).status_code == 413


def test_pref_set_static_and_media(tmp_path):
    skitai._reset()
    try:
        pref = skitai.pref()
        pref.set_static("/static", str(tmp_path / "static"))
        pref.set_media("/media", str(tmp_path / "media"))
        assert pref.config.STATIC_URL == "/static/" and pref.config.STATIC_ROOT == str(tmp_path / "static")
        assert pref.config.MEDIA_URL == "/media/" and pref.config.MEDIA_ROOT == str(tmp_path / "media")
        app = Atila(__name__)
        app.apply_pref(pref)
        assert app.config.STATIC_ROOT == str(tmp_path / "static")
        points = skitai.mount_table().describe()
        assert any("/static" in line for line in points) and any("/media" in line for line in points)
    finally:
        skitai._reset()


def _module(name, routes):
    mod = types.ModuleType(name)

    def __mount__(context, app):
        for rule, fname in routes:
            def handler(context, _f=fname):
                return _f
            handler.__name__ = fname
            app.route(rule)(handler)

    mod.__mount__ = __mount__
    return mod


def test_app_mount_forms():
    app = Atila(__name__)
    auth = _module("myapp.services.auth", [("/login", "login")])
    index = _module("myapp.services.index", [("/home", "home")])
    plain = _module("myapp.plain", [("/plain", "plain")])
    dbg = _module("myapp.debugtools", [("/dbg", "dbg")])
    named = _module("myapp.services.regist", [("/signup", "signup")])
    app.mount("/v2", auth, index)
    app.mount(plain)
    app.mount("/debug", dbg, debug_only=True)
    app.mount("/r", named, ns="regist")

    @app.route("/names")
    def names(was):
        return {"login": was.urlfor("auth.login"), "home": was.urlfor("index.home"),
                "signup": was.urlfor("regist.signup"), "plain": was.urlfor("plain")}

    with AsgiClient(app) as c:
        assert c.get("/v2/login").text == "login"
        assert c.get("/v2/home").text == "home"
        assert c.get("/plain").text == "plain"
        assert c.get("/debug/dbg").status_code == 404  # debug_only and app.debug is False
        assert c.get("/r/signup").text == "signup"
        assert c.get("/names").json() == {"login": "/v2/login", "home": "/v2/home", "signup": "/r/signup",
                                          "plain": "/plain"}


def test_inspect_rules():
    app = Atila(__name__)

    @app.route("/types")
    @app.inspect(ints=["i"], floats=["f"], booleans=["b"], lists=["l"], nones=["n"], strings=["s"],
                 emails=["e"], uuids=["u"])
    def types_(was, i=None, f=None, b=None, l=None, n=None, s=None, e=None, u=None):  # noqa: E741
        return {"i": i, "f": f, "b": b, "l": l, "n": n, "s": s, "e": e, "u": u}

    @app.route("/dicts", methods=["POST"])
    @app.inspect("JSON", dicts=["d"])
    def dicts(was, d):
        return d

    @app.route("/one")
    @app.inspect(oneof=["a", "b"])
    def one(was, a=None, b=None):
        return "ok"

    @app.route("/many")
    @app.inspect(manyof=["a", "b"])
    def many(was, a=None, b=None):
        return "ok"

    @app.route("/tags")
    @app.inspect(notags=["t"], safes=["s"])
    def tags(was, t=None, s=None):
        return {"t": t}

    @app.route("/kw")
    @app.inspect(offset=int, prodtype=[int, str])
    def kw(was, offset=0, prodtype=None):
        return {"offset": offset}

    @app.route("/ops")
    @app.inspect(a__neq=1, b__lt=5, c__lte=5, d__notin=(1, 2), e__startswith="ab", f__endswith="yz",
                 g__notstartwith="x", h__notendwith="x", i__contains="mid", j__notcontain="bad",
                 k__len__gte=2)
    def ops(was, **k):
        return "ok"

    @app.route("/bymethod", methods=["GET", "PUT"])
    @app.inspect("GET", ints=["offset", "limit"])
    @app.inspect("PUT", ["id"])
    def bymethod(was, offset=None, limit=None, id=None):
        return "ok"

    u = str(uuid.uuid4())
    with AsgiClient(app) as c:
        r = c.get(f"/types?i=1&f=1.5&b=true&l=1,2&s=x&e=a@b.com&u={u}").json()
        assert r["i"] == 1 and r["f"] == 1.5 and r["b"] is True and r["l"] == ["1", "2"]
        assert r["s"] == "x" and r["e"] == "a@b.com" and r["u"] == u
        for bad in ("i=x", "f=x", "e=nope", "u=nope", "b=maybe"):
            assert c.get("/types?" + bad).status_code == 400, bad
        assert c.post("/dicts", json={"d": {"a": 1}}).json() == {"a": 1}
        assert c.post("/dicts", json={"d": [1]}).status_code == 400
        assert c.get("/one?a=1").text == "ok"
        assert c.get("/one?a=1&b=2").status_code == 400
        assert c.get("/one").status_code == 400
        assert c.get("/many?a=1&b=2").text == "ok"
        assert c.get("/many").status_code == 400
        assert c.get("/tags?t=<b>").json()["t"] == "&lt;b&gt;"
        assert c.get("/tags?s=<script>alert(1)</script>").status_code == 400
        assert c.get("/kw?offset=3").json() == {"offset": 3}
        assert c.get("/kw?offset=x").status_code == 400
        good = "a=2&b=4&c=5&d=3&e=abc&f=xyz&g=ab&h=ab&i=amidb&j=good&k=ab"
        assert c.get("/ops?" + good).text == "ok"
        for bad in ("a=1", "b=5", "c=6", "d=1", "e=zz", "f=zz", "g=xa", "h=ax", "i=zz", "j=bad", "k=a"):
            q = "&".join(p for p in good.split("&") if p.split("=")[0] != bad.split("=")[0]) + "&" + bad
            assert c.get("/ops?" + q).status_code == 400, bad
        assert c.get("/bymethod?offset=x").status_code == 400
        assert c.put("/bymethod?offset=x&id=1").text == "ok"
        assert c.put("/bymethod").status_code == 400


def test_pref_max_client_body_size_sets_the_upload_limit():
    pref = skitai.pref()
    pref.max_client_body_size = 2 << 32
    app = Atila(__name__)
    app.apply_pref(pref)
    assert app.config.MAX_UPLOAD_SIZE == 2 << 32
    pref = skitai.pref()
    pref.max_client_body_size = 2 << 32
    pref.config.MAX_UPLOAD_SIZE = 100
    app = Atila(__name__)
    app.apply_pref(pref)
    assert app.config.MAX_UPLOAD_SIZE == 100
