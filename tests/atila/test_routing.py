"""Routing: converters, optional trailing parameters, 404/405/415, "" vs "/", names and URL building."""

import types

from atila import Atila

from .harness import Client


def make_module(name, mount):
    mod = types.ModuleType(name)
    mod.__mount__ = mount
    return mod


def basic_app():
    app = Atila("routing_app")

    @app.route("/hello/<name>")
    def hello(context, name):
        return f"hello {name}"

    @app.route("/int/<int:n>")
    def as_int(context, n):
        return {"n": n, "type": type(n).__name__}

    @app.route("/float/<float:x>")
    def as_float(context, x):
        return {"x": x, "type": type(x).__name__}

    @app.route("/files/<path:p>")
    def files(context, p):
        return {"p": p}

    @app.route("/download/<int:major>/<path:rest>")
    def download(context, major, rest):
        return {"major": major, "rest": rest}

    @app.route("/episode/<int:id>", methods=["GET", "POST"])
    def episode(context, id=None):
        return {"id": id}

    @app.route("/hello2", methods=["POST"])
    @app.route("/multi")
    def multi(context):
        return context.request.path

    @app.route("/upload", methods=["POST"], content_types=["application/json"])
    def upload(context, **kw):
        return kw

    @app.route("/both", methods=["GET"])
    def both_get(context):
        return "get"

    @app.route("/both", methods=["DELETE"])
    def both_delete(context):
        return "delete"

    @app.route("/docs/new")
    def docs_new(context):
        return "static wins"

    @app.route("/docs/<int:id>")
    def docs(context, id):
        return {"id": id}

    return app


def test_converters():
    with Client(basic_app()) as c:
        assert c.get("/hello/Tom").text == "hello Tom"
        assert c.get("/int/42").json() == {"n": 42, "type": "int"}
        assert c.get("/int/-3").json() == {"n": -3, "type": "int"}
        assert c.get("/int/abc").status_code == 404
        assert c.get("/float/1.5").json() == {"x": 1.5, "type": "float"}
        assert c.get("/float/2").json() == {"x": 2.0, "type": "float"}
        assert c.get("/files/a/b/c.txt").json() == {"p": "a/b/c.txt"}
        assert c.get("/download/1/version/1.1/win32").json() == {"major": 1, "rest": "version/1.1/win32"}


def test_int_accepts_me_notme_new():
    with Client(basic_app()) as c:
        assert c.get("/int/me").json() == {"n": "me", "type": "str"}
        assert c.get("/int/notme").json() == {"n": "notme", "type": "str"}
        assert c.get("/int/new").json() == {"n": "new", "type": "str"}
        # 'notme' is documented as GET only
        r = c.post("/episode/notme")
        assert r.status_code == 421


def test_optional_trailing_parameter():
    with Client(basic_app()) as c:
        assert c.get("/episode").json() == {"id": None}
        assert c.get("/episode/5").json() == {"id": 5}


def test_several_rules_one_handler():
    with Client(basic_app()) as c:
        assert c.get("/multi").text == "/multi"
        assert c.post("/hello2").text == "/hello2"
        assert c.get("/hello2").status_code == 405


def test_404_405_allow_415():
    with Client(basic_app()) as c:
        r = c.get("/nothing/here")
        assert r.status_code == 404
        assert r.json()["code"] == 404
        r = c.put("/both")
        assert r.status_code == 405
        assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
        assert c.get("/both").text == "get"
        assert c.delete("/both").text == "delete"
        r = c.post("/upload", data={"a": "1"})
        assert r.status_code == 415
        r = c.post("/upload", json={"a": 1})
        assert r.status_code == 200 and r.json() == {"a": 1}


def test_static_beats_pattern():
    with Client(basic_app()) as c:
        assert c.get("/docs/new").text == "static wins"
        assert c.get("/docs/7").json() == {"id": 7}


def test_head_is_get_without_body():
    with Client(basic_app()) as c:
        r = c.head("/hello/Tom")
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["content-length"] == str(len("hello Tom"))


def sub_app():
    app = Atila("subapp")

    def mount_empty(context, app):
        @app.route("")
        def empty(context):
            return "empty rule"

    def mount_slash(context, app):
        @app.route("/")
        def slash(context):
            return "slash rule"

    app.mount("/sub", make_module("subapp.empty", mount_empty))
    app.mount("/sub2", make_module("subapp.slash", mount_slash))
    return app


def test_empty_rule_vs_slash_under_sub_mount():
    with Client(sub_app()) as c:
        assert c.get("/sub").text == "empty rule"
        assert c.get("/sub/").status_code == 404
        r = c.get("/sub2?x=1")
        assert r.status_code == 301
        assert r.headers["location"] == "/sub2/?x=1"
        assert c.get("/sub2/").text == "slash rule"


def url_app():
    app = Atila("mathapp")

    def mount_math(context, app):
        @app.route("/add")
        def add(context, num1, num2):
            return str(int(num1) + int(num2))

        @app.route("/episode/<int:id>")
        def episode(context, id=None):
            return {"id": id}

        @app.route("/hello/<name>")
        def hello(context, name):
            return name

        @app.route("/navigate")
        def navigate(context, limit=10, pageno=1):
            return context.urlpatch("navigate", pageno=3)

        @app.route("/user/<id>/pat")
        def userpat(context, id):
            return context.baseurl(userpat)

        @app.route("/urls")
        def urls(context):
            return context.API(
                a=context.urlfor("add", 10, 40), b=context.urlfor("add", 10, num2=60),
                c=context.urlfor(add, 10, 40), d=context.urlfor("episode"), e=context.urlfor("episode", 100),
                f=context.urlfor("hello", "Your Name"), g=context.urlfor("math.add", 1, 2),
                h=context.urlfor("search", q="a b"),
            )

    def mount_root(context, app):
        @app.route("/search")
        def search(context, q):
            return q

    app.mount("/math", make_module("mathapp.math", mount_math))
    app.mount("/", make_module("mathapp", mount_root))
    return app


def test_urlfor_with_mount_prefix_and_query_spill():
    with Client(url_app()) as c:
        assert c.get("/math/add?num1=10&num2=40").text == "50"
        d = c.get("/math/urls").json()
        assert d["a"] == "/math/add?num1=10&num2=40"
        assert d["b"] == "/math/add?num1=10&num2=60"
        assert d["c"] == d["a"]
        assert d["d"] == "/math/episode"
        assert d["e"] == "/math/episode/100"
        assert d["f"] == "/math/hello/Your_Name"
        assert d["g"] == "/math/add?num1=1&num2=2"
        assert d["h"] == "/search?q=a%20b"


def test_urlfor_under_engine_root_path():
    # the app itself mounted by the engine at /v1: urlfor adds the root path
    with Client(url_app(), root_path="/v1") as c:
        d = c.get("/v1/math/urls").json()
        assert d["a"] == "/v1/math/add?num1=10&num2=40"


def test_urlpatch_and_baseurl():
    with Client(url_app()) as c:
        assert c.get("/math/navigate?limit=100&pageno=2").text == "/math/navigate?limit=100&pageno=3"
        assert c.get("/math/user/5/pat").text == "/math/user/"


def test_route_names_and_namespaces():
    app = url_app()
    with Client(app) as c:
        c.get("/math/urls")
    assert "math.add" in app._names
    assert "search" in app._names  # the app's own module has no namespace


def test_200_routes_lookup_is_not_linear():
    app = Atila("many")
    for i in range(200):
        def h(context, id, i=i):
            return {"route": i, "id": id}
        h.__name__ = f"h{i}"
        app.route(f"/r{i}/<int:id>")(h)

        def g(context, i=i):
            return {"static": i}
        g.__name__ = f"g{i}"
        app.route(f"/s{i}")(g)

        def k(context, name, i=i):
            return {"api": i, "name": name}
        k.__name__ = f"k{i}"
        app.route(f"/api/items{i}/<name>")(k)
    router = app.router
    with Client(app) as c:
        before = router.match_attempts
        assert c.get("/r150/7").json() == {"route": 150, "id": 7}
        assert router.match_attempts - before == 1
        before = router.match_attempts
        assert c.get("/s199").json() == {"static": 199}
        assert router.match_attempts - before == 0
        before = router.match_attempts
        # 200 patterns share the first segment "api": the trie still goes straight to one
        assert c.get("/api/items123/x").json() == {"api": 123, "name": "x"}
        assert router.match_attempts - before == 1
        before = router.match_attempts
        assert c.get("/r999/1").status_code == 404
        assert router.match_attempts - before == 0


def test_enable_namespace_false_uses_function_names():
    app = Atila("nons", enable_namespace=False)

    def mount_sub(context, app):
        @app.route("/x")
        def x(context):
            return context.urlfor("x")

    app.mount("/sub", make_module("nons.sub", mount_sub))
    with Client(app) as c:
        assert c.get("/sub/x").text == "/sub/x"
    assert "x" in app._names and "sub.x" not in app._names


def test_recent_matches_are_remembered_but_never_shared_or_stale():
    from atila.routing import RECENT_MATCHES, Route, Router

    def route(rule, methods=("GET",)):
        return Route(rule, lambda context, **kw: None, frozenset(methods), None, {}, rule, None, None)

    r = Router()
    items = route("/items/<int:id>")
    r.add(items)
    first = r.lookup("/items/42", "GET")
    assert first[0] is items and first[1] == {"id": 42}
    attempts = r.match_attempts
    first[1]["id"] = "changed by a hook"  # the caller owns what it got
    again = r.lookup("/items/42", "GET")
    assert again[1] == {"id": 42} and r.match_attempts == attempts  # remembered: no regex tried
    # a route added later is seen at once (a static rule beats the remembered match)
    exact = route("/items/42")
    r.add(exact)
    assert r.lookup("/items/42", "GET")[0] is exact
    post = route("/items/<int:id>", ("POST",))
    r.add(post)
    assert r.lookup("/items/43", "POST")[0] is post
    assert r.lookup("/items/43", "GET")[0] is items
    # misses are never kept, and the memory stays bounded
    assert r.lookup("/items/x", "GET")[0] is None
    for i in range(RECENT_MATCHES * 3):
        assert r.lookup(f"/items/{i + 100}", "GET")[1] == {"id": i + 100}
    assert len(r._recent) <= RECENT_MATCHES
    assert ("/items/x", "GET") not in r._recent
