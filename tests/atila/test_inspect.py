"""@app.inspect: every documented rule; converted values reach the handler; 400 names field and rule."""

import re

import pytest

from atila import Atila

from .harness import Client


def make_app():
    app = Atila("inspect_app")

    @app.route("/test")
    @app.inspect("ARGS", ["id"], ints=["id"])
    def test(context, id):
        return {"id": id, "type": type(id).__name__}

    @app.route("/types", methods=["GET", "POST"])
    @app.inspect(floats=["f"], strings=["s"], booleans=["b"], lists=["l"], dicts=["d"], emails=["e"],
                 uuids=["u"], nones=["n"])
    def types_(context, **kw):
        return {k: [v, type(v).__name__] for k, v in kw.items()}

    @app.route("/range")
    @app.inspect("ARGS", a__gte=5, b__between=(-4, -1), c__in=(1, 2))
    def rng(context, **k):
        return "ok"

    @app.route("/ops")
    @app.inspect(a__gt=1, b__lt=10, c__lte=3, d__notin=("x", "y"), e__eq="yes", f__neq="no")
    def ops(context, **k):
        return "ok"

    @app.route("/len")
    @app.inspect(a__len__between=(4, 8), b__len__lte=2)
    def length(context, **k):
        return "ok"

    @app.route("/regex")
    @app.inspect("ARGS", a=re.compile("^hans"))
    def regex(context, **k):
        return "ok"

    @app.route("/json", methods=["POST"])
    @app.inspect("JSON", data___scores__1__gte=10)
    def jpath(context, **k):
        return "ok"

    @app.route("/oneof")
    @app.inspect(oneof=["a", "b"], manyof=["c", "d"])
    def oneof(context, **k):
        return "ok"

    @app.route("/tags")
    @app.inspect(notags=["t"], safes=["s"])
    def tags(context, **k):
        return k

    @app.route("/method", methods=["GET", "PUT"])
    @app.inspect("GET", ints=["offset"])
    @app.inspect("PUT", ["id"])
    def method(context, **k):
        return {k2: type(v).__name__ for k2, v in k.items()}

    @app.route("/ptype")
    @app.inspect(offset=int, prodtype=[int, str])
    def ptype(context, **k):
        return "ok"

    @app.route("/form", methods=["POST"])
    @app.inspect("FORM", ["name"], ints=["age"])
    def form(context, name, age=0):
        return {"name": name, "age": age}

    return app


@pytest.fixture(scope="module")
def c():
    with Client(make_app()) as client:
        yield client


def bad(r, field, rule):
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] == field and body["rule"] == rule, body
    assert field.split(",")[0] in body["detail"]


def test_ints_converted_and_required(c):
    assert c.get("/test?id=5").json() == {"id": 5, "type": "int"}
    bad(c.get("/test"), "id", "required")
    bad(c.get("/test?id=x"), "id", "ints")


def test_type_rules(c):
    u = "12345678-1234-5678-1234-567812345678"
    d = c.get(f"/types?f=1.5&s=abc&b=yes&l=a,b&d=%7B%22k%22%3A1%7D&e=a@b.co&u={u}&n=").json()
    assert d["f"] == [1.5, "float"]
    assert d["s"] == ["abc", "str"]
    assert d["b"] == [True, "bool"]
    assert d["l"] == [["a", "b"], "list"]
    assert d["d"] == [{"k": 1}, "dict"]
    assert d["e"] == ["a@b.co", "str"]
    assert d["u"] == [u, "str"]
    assert d["n"] == [None, "NoneType"]
    bad(c.get("/types?f=x"), "f", "floats")
    bad(c.get("/types?b=maybe"), "b", "booleans")
    bad(c.get("/types?e=nope"), "e", "emails")
    bad(c.get("/types?u=nope"), "u", "uuids")
    bad(c.get("/types?d=nope"), "d", "dicts")
    bad(c.post("/types", json={"s": 5}), "s", "strings")
    bad(c.post("/types", json={"l": 5}), "l", "lists")


def test_operators(c):
    assert c.get("/range?a=5&b=-2&c=1").status_code == 200
    bad(c.get("/range?a=4&b=-2&c=1"), "a", "gte")
    bad(c.get("/range?a=5&b=0&c=1"), "b", "between")
    bad(c.get("/range?a=5&b=-2&c=3"), "c", "in")
    assert c.get("/ops?a=2&b=9&c=3&d=z&e=yes&f=yes").status_code == 200
    bad(c.get("/ops?a=1"), "a", "gt")
    bad(c.get("/ops?b=10"), "b", "lt")
    bad(c.get("/ops?c=4"), "c", "lte")
    bad(c.get("/ops?d=x"), "d", "notin")
    bad(c.get("/ops?e=no"), "e", "eq")
    bad(c.get("/ops?f=no"), "f", "neq")


def test_length(c):
    assert c.get("/len?a=abcd&b=ab").status_code == 200
    bad(c.get("/len?a=abc"), "a", "len__between")
    bad(c.get("/len?b=abc"), "b", "len__lte")


def test_regex(c):
    assert c.get("/regex?a=hansroh").status_code == 200
    bad(c.get("/regex?a=roh"), "a", "regex")


def test_json_path(c):
    assert c.post("/json", json={"data": {"scores": [9, 12, 16]}}).status_code == 200
    bad(c.post("/json", json={"data": {"scores": [9, 8, 16]}}), "data___scores__1", "gte")


def test_oneof_manyof(c):
    assert c.get("/oneof?a=1&c=1").status_code == 200
    assert c.get("/oneof?b=1&c=1&d=2").status_code == 200
    bad(c.get("/oneof?a=1&b=2&c=1"), "a,b", "oneof")
    bad(c.get("/oneof?c=1"), "a,b", "oneof")
    bad(c.get("/oneof?a=1"), "c,d", "manyof")


def test_notags_safes(c):
    assert c.get("/tags", params={"t": "<b>hi</b>"}).json() == {"t": "&lt;b&gt;hi&lt;/b&gt;"}
    bad(c.get("/tags", params={"s": "<script>alert(1)</script>"}), "s", "safes")
    assert c.get("/tags", params={"s": "plain"}).json() == {"s": "plain"}


def test_method_scopes(c):
    assert c.get("/method?offset=3").json() == {"offset": "int"}
    assert c.request("PUT", "/method?offset=3&id=1").json() == {"offset": "str", "id": "str"}
    bad(c.request("PUT", "/method"), "id", "required")


def test_per_parameter_types(c):
    assert c.get("/ptype?offset=3&prodtype=x").status_code == 200
    bad(c.get("/ptype?offset=x"), "offset", "type")


def test_form_scope(c):
    assert c.post("/form", data={"name": "a", "age": "3"}).json() == {"name": "a", "age": 3}
    bad(c.post("/form?name=q", data={"age": "3"}), "name", "required")


def test_inspect_above_route_also_applies():
    app = Atila("inspect_order")

    @app.inspect(ints=["n"])
    @app.route("/n")
    def n(context, n=0):
        return {"n": n}
    with Client(app) as c:
        assert c.get("/n?n=4").json() == {"n": 4}
        assert c.get("/n?n=x").status_code == 400


def test_string_operators():
    app = Atila("strops")

    @app.route("/s")
    @app.inspect(a__startswith="ab", b__endswith="yz", c__contains="mid", d__notcontain="bad",
                 e__notstartwith="x", f__notendwith="z")
    def s(context, **k):
        return "ok"
    with Client(app) as c:
        assert c.get("/s?a=abc&b=xyz&c=amidb&d=good&e=ax&f=za").status_code == 200
        bad(c.get("/s?a=ba"), "a", "startswith")
        bad(c.get("/s?b=yza"), "b", "endswith")
        bad(c.get("/s?c=none"), "c", "contains")
        bad(c.get("/s?d=so bad"), "d", "notcontain")
        bad(c.get("/s?e=xa"), "e", "notstartwith")
        bad(c.get("/s?f=az"), "f", "notendwith")
