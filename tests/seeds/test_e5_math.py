"""E5 of the Atila docs: parameters, validation and URL building for an app mounted at /math."""

import pytest

from .conftest import launch


@pytest.fixture(scope="module")
def cli():
    with launch("serve_math.py") as c:
        yield c


def test_add_and_defaults(cli):
    assert cli.get("/math/add?num1=10&num2=40").text == "50"
    assert cli.get("/math/hello?num=100").text == "100"
    assert cli.get("/math/hello").text == "8"
    assert cli.get("/math/hello/Your_Name").text == "Your_Name"
    assert cli.get("/math/add?num1=10").status_code == 400  # missing argument


def test_undeclared_query_parameter_is_an_error(cli):
    r = cli.get("/math/hello?num=1&x=2")
    assert r.status_code == 508  # "Skitai will raise 508 Error" ([000], [001])
    assert r.json()["undeclared"] == ["x"]


def test_optional_trailing_parameter(cli):
    assert cli.get("/math/episode").json()["id"] is None
    assert cli.get("/math/episode/5").json()["id"] == 5


def test_body_merge(cli):
    r = cli.post("/math/episode/100?topic=Python", json={"comment": "It is good idea"})
    assert r.json() == {"id": 100, "topic": "Python", "comment": "It is good idea"}


def test_inspect_ints(cli):
    assert cli.get("/math/test?id=5").json() == {"id": 5, "type": "int"}
    assert cli.get("/math/test").status_code == 400
    assert cli.get("/math/test?id=x").status_code == 400


def test_inspect_operators(cli):
    assert cli.get("/math/range?a=5&b=-2&c=1").status_code == 200
    for q in ("a=4&b=-2&c=1", "a=5&b=0&c=1", "a=5&b=-2&c=3"):
        assert cli.get("/math/range?" + q).status_code == 400, q
    assert cli.get("/math/regex?a=hansel&b=abcd").text == "ok"
    assert cli.get("/math/regex?a=gretel&b=abcd").status_code == 400
    assert cli.get("/math/regex?a=hansel&b=abc").status_code == 400


def test_inspect_json_path(cli):
    assert cli.post("/math/scores", json={"data": {"scores": [9, 12, 16]}}).text == "ok"
    assert cli.post("/math/scores", json={"data": {"scores": [9, 8, 16]}}).status_code == 400


def test_url_building(cli):
    r = cli.get("/math/urls").json()
    assert r["a"] == "/math/add?num1=10&num2=40"
    assert r["b"] == "/math/add?num1=10&num2=60"
    assert r["c"] == r["a"]
    assert r["d"] == "/math/episode"
    assert r["e"] == "/math/episode/100"
    assert r["f"] == "/math/hello/Your_Name"
    assert r["g"] == "/math/navigate"
    assert r["h"] == "/math/add?num1=10&num2=40"
    assert r["i"] == "/math/add?num1=1&num2=2"


def test_urlpatch_and_basepath(cli):
    assert cli.get("/math/navigate?limit=100&pageno=2").text == "/math/navigate?limit=100&pageno=3"
    assert cli.get("/math/user/3").text == "/math/user/"


def test_cross_app_urlfor():
    """Section 13: ``was.urlfor ('search:query', "Your Name")`` -> '/search/query?q=Your%20Name'."""
    with launch("serve_multi.py") as c:
        assert c.get("/").json() == {"a": "/search/query?q=Your%20Name", "b": "/search/query?q=Your%20Name"}
        assert c.get("/search/query?q=Your%20Name").json() == {"q": "Your Name"}
