"""Section 20 of the Atila docs: CORS and preflight (app level, route level, via pref)."""

from __future__ import annotations

from atila import Atila
from skitai.testing import AsgiClient


def make_app():
    app = Atila(__name__)
    app.access_control_allow_origin = ["http://www.skitai.com:5001"]
    app.access_control_max_age = 3600

    @app.route("/post", methods=["POST", "OPTIONS"])
    def post(was, **form):
        return "posted"

    @app.route("/open", methods=["GET", "OPTIONS"], access_control_allow_origin=["*"],
               access_control_max_age=60)
    def open_(was):
        return "open"

    return app


def test_preflight_allowed_origin():
    with AsgiClient(make_app()) as c:
        r = c.options("/post", headers={"Origin": "http://www.skitai.com:5001",
                                        "Access-Control-Request-Method": "POST"})
        assert r.status_code in (200, 204)
        assert r.headers["access-control-allow-origin"] == "http://www.skitai.com:5001"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-max-age"] == "3600"
        r = c.post("/post", data={"a": "b"}, headers={"Origin": "http://www.skitai.com:5001"})
        assert r.text == "posted"
        assert r.headers["access-control-allow-origin"] == "http://www.skitai.com:5001"


def test_preflight_refused_origin():
    with AsgiClient(make_app()) as c:
        r = c.options("/post", headers={"Origin": "http://evil.example",
                                        "Access-Control-Request-Method": "POST"})
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers


def test_route_options_override_app():
    with AsgiClient(make_app()) as c:
        r = c.options("/open", headers={"Origin": "http://any.example",
                                        "Access-Control-Request-Method": "GET"})
        assert r.status_code in (200, 204)
        assert r.headers["access-control-allow-origin"] in ("*", "http://any.example")
        assert r.headers["access-control-max-age"] == "60"


def test_pref_sets_origins():
    import skitai

    app = Atila(__name__)
    pref = skitai.pref()
    pref.access_control_allow_origin = ["127.0.0.1:5000"]
    pref.access_control_allow_origin.append("127.0.0.1:8080")
    app.apply_pref(pref)

    @app.route("/x", methods=["GET", "OPTIONS"])
    def x(was):
        return "x"

    with AsgiClient(app) as c:
        r = c.options("/x", headers={"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "GET"})
        assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
