"""E4 "Pets" of the Atila docs, with the newest test client (skitai.test_client on a launch script)."""

from .conftest import launch


def test_pets_over_test_client():
    with launch("serve_pets.py") as cli:
        resp = cli.get("/")
        assert resp.status_code == 200
        assert "something" in resp.text
        resp = cli.get("/apis/pets/45")
        assert resp.status_code == 200
        assert resp.json() == {"id": 45, "kind": "dog", "name": "Monk"}
        assert cli.get("/apis/pets/100").json()["id"] == 100
        assert cli.get("/apis/pets/abc").status_code == 404
        assert cli.get("/apis/pets/me").json()["id"] == "me"
        cli.set_default_header("Accept", "application/json")
        other = cli.clone()
        assert other.get("/apis/pets/7").json()["id"] == 7


def test_pets_with_the_old_app_test_client(apps_path):
    """[000] ``with app.test_client ("/", approot = ".") as cli`` and the API stub."""
    import pets

    app = pets.app
    with app.test_client("/", approot=".") as cli:
        resp = cli.get("/")
        assert "something" in resp.text
        stub = cli.api()
        resp = stub.apis.pets(45).get()
        assert resp.data["id"] == 45
        assert stub.apis.pets(100).get().data == {"id": 100, "kind": "dog", "name": "Monk"}


def test_expose_spec_for_local_clients(apps_path):
    """E4 / [001] "Exposing API Specification": ``app.expose_spec = True`` adds ``__spec__``."""
    from atila import Atila
    from skitai.testing import AsgiClient

    app = Atila(__name__)

    @app.route("/isitok/<code>/<type>", methods=["GET", "POST", "PATCH", "OPTIONS"])
    def isitok(was, code, type):
        return was.API(result="ok")

    with AsgiClient(app) as c:
        assert c.get("/isitok/a/b").json() == {"result": "ok"}
    app.expose_spec = True
    with AsgiClient(app) as c:
        spec = c.get("/isitok/a/b").json()["__spec__"]
        assert spec["id"] == "isitok"
        assert spec["routeopt"]["route"] == "/isitok/<code>/<type>"
        assert spec["routeopt"]["args"] == ["code", "type"] and spec["routeopt"]["urlargs"] == 2
        assert set(spec["routeopt"]["methods"]) == {"GET", "POST", "PATCH", "OPTIONS"}
        assert spec["current_request"]["http_method"] == "GET"
    with AsgiClient(app, client=("10.0.0.9", 5000)) as c:
        assert "__spec__" not in c.get("/isitok/a/b").json()


def test_requests_style_positional_arguments(apps_path):
    """26.2: the test client is requests-like: ``post(url, data)``, ``patch(url, data)``, ``get(url, params)``."""
    from atila import Atila
    from skitai.testing import AsgiClient

    app = Atila(__name__)

    @app.route("/users/<int:id>", methods=["GET", "PATCH", "POST", "PUT"])
    def users(was, id, **data):
        return was.API(id=id, **data)

    with AsgiClient(app) as c:
        assert c.patch("/users/100", {"last_name": "Roh"}).json()["last_name"] == "Roh"
        assert c.post("/users/1", {"a": "b"}).json()["a"] == "b"
        assert c.put("/users/1", {"a": "c"}).json()["a"] == "c"
        assert c.get("/users/1", {"q": "x"}).json()["q"] == "x"
        assert c.post("/users/1", None, {"j": 1}).json()["j"] == 1
