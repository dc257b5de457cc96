"""CORS: allowed origins (list or *), max age, automatic OPTIONS preflight for routes allowing OPTIONS."""

from atila import Atila

from .harness import Client


def make_app(origins, max_age=0):
    app = Atila("cors_app", access_control_allow_origin=origins, access_control_max_age=max_age)

    @app.route("/post", methods=["POST", "OPTIONS"])
    def post(context, **kw):
        return {"ok": True}

    @app.route("/get-only")
    def get_only(context):
        return "x"

    @app.route("/route-level", methods=["GET", "OPTIONS"], access_control_allow_origin=["http://other.test"],
               access_control_max_age=60)
    def route_level(context):
        return "r"

    return app


def preflight(c, path, origin):
    return c.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                    "Access-Control-Request-Headers": "content-type, x-token"})


def test_preflight_for_allowed_origin():
    with Client(make_app(["http://www.skitai.com:5001"], 3600)) as c:
        r = preflight(c, "/post", "http://www.skitai.com:5001")
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "http://www.skitai.com:5001"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-allow-headers"] == "content-type, x-token"
        assert r.headers["access-control-max-age"] == "3600"
        r = c.post("/post", headers={"Origin": "http://www.skitai.com:5001"})
        assert r.json() == {"ok": True}
        assert r.headers["access-control-allow-origin"] == "http://www.skitai.com:5001"
        assert r.headers["vary"] == "Origin"


def test_preflight_for_other_origin_is_refused():
    with Client(make_app(["http://www.skitai.com:5001"])) as c:
        r = preflight(c, "/post", "http://evil.test")
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers
        r = c.post("/post", headers={"Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in r.headers


def test_star_and_host_port_forms():
    with Client(make_app("*")) as c:
        r = preflight(c, "/post", "http://any.test")
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-max-age" not in r.headers
    with Client(make_app(["127.0.0.1:5000"])) as c:
        r = preflight(c, "/post", "http://127.0.0.1:5000")
        assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"


def test_route_without_options_gets_405():
    with Client(make_app(["*"])) as c:
        r = preflight(c, "/get-only", "http://any.test")
        assert r.status_code == 405


def test_route_level_options():
    with Client(make_app(["http://www.skitai.com:5001"])) as c:
        r = c.options("/route-level", headers={"Origin": "http://other.test", "Access-Control-Request-Method": "GET"})
        assert r.headers["access-control-allow-origin"] == "http://other.test"
        assert r.headers["access-control-max-age"] == "60"


def test_no_cors_configured():
    app = Atila("nocors")

    @app.route("/p", methods=["POST", "OPTIONS"])
    def p(context):
        return "p"
    with Client(app) as c:
        r = preflight(c, "/p", "http://any.test")
        assert r.status_code == 204
        assert "access-control-allow-origin" not in r.headers
        assert "OPTIONS" in r.headers["allow"]
