"""E1 of the Atila docs: hello world (newest hook style) launched by the documented skitaid.py."""

from .conftest import launch


def test_hello_world_script():
    with launch("skitaid.py") as engine:
        r = engine.get("/")
        assert r.status_code == 200
        assert r.text == "Hello, World"
        assert r.headers["content-type"].startswith("text/html")
        r = engine.post("/", data={"a": "b"})
        assert r.status_code == 405
        assert "GET" in r.headers["allow"]
        r = engine.get("/nonexistent")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["code"] == 404
