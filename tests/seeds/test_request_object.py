"""Section 11 (request object), section 14 (environment) and section 10 (parameter groups)."""

from atila import Atila
from skitai.testing import AsgiClient


def make_app():
    app = Atila(__name__)

    @app.route("/req/<int:id>", methods=["GET", "POST"])
    def req(was, id, **kw):
        r = was.request
        return {
            "method": r.method, "command": r.command, "uri": r.uri, "version": r.version,
            "scheme": r.scheme, "ctype": r.headers.get("CONTENT-TYPE"), "body": r.body.decode(),
            "args": dict(r.args), "routed": r.routed.__name__, "routable_methods": r.routable["methods"],
            "acceptable_json": r.acceptable("application/json"), "acceptable_xml": r.acceptable("text/xml"),
            "split": list(r.split_uri()), "get_header": r.get_header("x-test"),
            "get_scheme": r.get_scheme(), "remote": r.get_remote_addr(), "ua": r.get_user_agent(),
            "content_type": r.get_content_type(), "main": r.get_main_type(), "sub": r.get_sub_type(),
            "URL": dict(r.URL), "JSON": dict(r.JSON or {}), "DATA": dict(r.DATA or {}), "ARGS": dict(r.ARGS),
            "PARAMS": dict(r.PARAMS), "env_ua": r.env.get("HTTP_USER_AGENT"), "env_ct": r.env.get("CONTENT_TYPE"),
            "json": r.json() if r.body else None, "get_body": r.get_body().decode(),
            "has_ua": "HTTP_USER_AGENT" in r.env, "acceptables": "application/json" in r.acceptables,
        }

    @app.route("/form", methods=["POST"])
    def form(was, **form):
        return {"form": dict(was.request.form()), "FORM": dict(was.request.FORM), "dict": dict(was.request.dict()),
                "kw": form}

    @app.route("/defaults")
    def defaults(was, a=1, b="x"):
        return {"DEFAULT": dict(was.request.DEFAULT), "ARGS": dict(was.request.ARGS)}

    return app


def test_request_members():
    with AsgiClient(make_app()) as c:
        r = c.post("/req/7?x=1", json={"y": 2},
                   headers={"X-Test": "yes", "User-Agent": "ua/1", "Accept": "application/json;q=0.9"})
        d = r.json()
    assert d["method"] == "POST" and d["command"] == "post"
    assert d["uri"] == "/req/7?x=1"
    assert d["version"] == "1.1"
    assert d["scheme"] == d["get_scheme"] == "http"
    assert d["ctype"] == "application/json"
    assert d["body"] == d["get_body"] == '{"y": 2}' or d["json"] == {"y": 2}
    assert d["json"] == {"y": 2}
    assert d["args"]["x"] == "1" and d["args"]["y"] == 2 and d["args"]["id"] == 7
    assert d["routed"] == "req" and "POST" in d["routable_methods"]
    assert d["acceptable_json"] is True and d["acceptable_xml"] is False and d["acceptables"]
    assert d["split"][0] == "/req/7" and d["split"][2] in ("x=1", "?x=1")
    assert d["get_header"] == "yes" and d["ua"] == "ua/1" == d["env_ua"] and d["has_ua"]
    assert d["remote"]
    assert d["content_type"] == "application/json" == d["env_ct"]
    assert (d["main"], d["sub"]) == ("application", "json")
    assert d["URL"] == {"x": "1"} and d["JSON"] == {"y": 2} and d["DATA"] == {"y": 2}
    assert d["PARAMS"] == {"id": 7}
    assert d["ARGS"]["x"] == "1" and d["ARGS"]["y"] == 2


def test_form_and_defaults():
    with AsgiClient(make_app()) as c:
        d = c.post("/form?q=1", data={"a": "b"}).json()
        assert d["form"] == {"a": "b"} == d["FORM"]
        assert d["dict"]["a"] == "b"
        assert d["kw"]["a"] == "b" and d["kw"]["q"] == "1"
        d = c.get("/defaults?b=y").json()
        assert d["DEFAULT"] == {"a": 1, "b": "x"}
        assert d["ARGS"] == {"a": 1, "b": "y"}


def test_form_wins_over_query_and_duplicates_are_lists():
    app = Atila(__name__)

    @app.route("/p", methods=["POST", "GET"])
    def p(was, name=None, tag=None):
        return {"name": name, "tag": tag}

    with AsgiClient(app) as c:
        assert c.post("/p?name=url", data={"name": "form"}).json()["name"] == "form"
        assert c.get("/p?tag=a&tag=b").json()["tag"] == ["a", "b"]


def test_user_and_jwt():
    import time

    import jwt

    app = Atila(__name__)
    app.securekey = "a-secret-key-of-at-least-32-bytes!!"

    @app.before_request
    def auth(was):
        if "err" not in was.request.JWT:
            was.request.user = was.request.JWT["uid"]

    @app.route("/me")
    def me(was):
        return {"user": was.request.user, "jwt": was.request.JWT}

    token = jwt.encode({"uid": 7, "exp": int(time.time()) + 3600}, app.securekey, algorithm="HS256")
    expired = jwt.encode({"uid": 7, "exp": int(time.time()) - 10}, app.securekey, algorithm="HS256")
    with AsgiClient(app) as c:
        d = c.get("/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert d["user"] == 7 and d["jwt"]["uid"] == 7
        d = c.get("/me").json()
        assert d["user"] is None and "err" in d["jwt"]
        assert "err" in c.get("/me", headers={"Authorization": f"Bearer {expired}"}).json()["jwt"]
        assert "err" in c.get("/me", headers={"Authorization": "Bearer garbage"}).json()["jwt"]


def test_make_your_own_rule_binding():
    """10.2: ``def pets (was, kind, limit, offset = 0, **JSON)`` for
    ``POST /pets/dog?limit=10`` with JSON ``{"area": "LA"}``; ``**karg`` with ``ARGS.get``."""
    app = Atila(__name__)

    @app.route("/pets/<kind>", methods=["POST"])
    def pets(was, kind, limit, offset=0, **JSON):
        return {"kind": kind, "limit": limit, "offset": offset, "JSON": JSON}

    @app.route("/episode/<int:id>")
    def episode(was, **karg):
        return {"id": was.request.ARGS.get("id"), "karg": karg}

    with AsgiClient(app) as c:
        r = c.post("/pets/dog?limit=10", json={"area": "LA"}).json()
        assert r == {"kind": "dog", "limit": "10", "offset": 0, "JSON": {"area": "LA"}}
        r = c.get("/episode/100?topic=Python").json()
        assert r["id"] == 100 and r["karg"]["topic"] == "Python"


def test_version_over_http2():
    """11: ``version`` is ``2.0`` for HTTP/2 (a real server, h2 prior knowledge with httpx)."""
    import httpx

    from .conftest import launch

    with launch("serve_pets.py") as cli:
        with httpx.Client(http1=False, http2=True) as h2:
            r = h2.get(f"http://127.0.0.1:{cli.port}/version")
            assert r.http_version == "HTTP/2"
            assert r.json() == {"version": "2.0"}
        assert cli.get("/version").json() == {"version": "1.1"}
