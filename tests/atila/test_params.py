"""Parameter binding: path, query, form, multipart, JSON; defaults, **kwargs, precedence, 400s."""

from atila import Atila

from .harness import Client


def make_app(tmp_path=None):
    app = Atila("params_app")

    @app.route("/hello")
    def hello_world(context, num=8):
        return str(num)

    @app.route("/episode/<int:id>", methods=["GET", "POST"])
    def episode(context, id, topic, comment):
        return {"id": id, "topic": topic, "comment": comment}

    @app.route("/kw", methods=["GET", "POST"])
    def kw(context, **karg):
        return karg

    @app.route("/groups", methods=["POST"])
    def groups(context, **karg):
        r = context.request
        return {"ARGS": r.ARGS, "URL": r.URL, "FORM": r.FORM, "JSON": r.JSON, "DATA": r.DATA,
                "args": r.args}

    @app.route("/prio", methods=["POST"])
    def prio(context, a, **kw):
        return {"a": a}

    @app.route("/pets/<kind>", methods=["POST"])
    def pets(context, kind, limit, offset=0, **JSON):
        return {"kind": kind, "limit": limit, "offset": offset, "json": JSON}

    @app.route("/upload", methods=["POST"])
    def upload(context, title, file):
        saved = file.save(str(tmp_path)) if tmp_path else None
        return {"title": title, "name": file.name, "size": file.size, "data": file.read().decode(),
                "mimetype": file.mimetype, "saved": saved}

    @app.route("/tokens", methods=["POST"])
    def tokens(context, query):
        return {"query": query}

    return app


def test_query_defaults():
    with Client(make_app()) as c:
        assert c.get("/hello?num=100").text == "100"
        assert c.get("/hello").text == "8"


def test_path_query_json_into_arguments():
    with Client(make_app()) as c:
        r = c.post("/episode/100?topic=Python", json={"comment": "It is good idea"})
        assert r.json() == {"id": 100, "topic": "Python", "comment": "It is good idea"}


def test_kwargs_receive_everything():
    with Client(make_app()) as c:
        assert c.get("/kw?a=1&b=2").json() == {"a": "1", "b": "2"}
        assert c.post("/kw?a=1", data={"b": "2"}).json() == {"a": "1", "b": "2"}


def test_duplicates_become_lists():
    with Client(make_app()) as c:
        assert c.get("/kw?a=1&a=2&b=3").json() == {"a": ["1", "2"], "b": "3"}


def test_form_wins_over_query():
    with Client(make_app()) as c:
        assert c.post("/prio?a=query", data={"a": "form"}).json() == {"a": "form"}
        assert c.post("/prio?a=query", json={"a": "json"}).json() == {"a": "json"}


def test_parameter_groups():
    with Client(make_app()) as c:
        d = c.post("/groups?q=1", data={"f": "2"}).json()
        assert d["URL"] == {"q": "1"}
        assert d["FORM"] == {"f": "2"}
        assert d["JSON"] == {}
        assert d["DATA"] == {"f": "2"}
        assert d["ARGS"] == {"q": "1", "f": "2"} == d["args"]
        d = c.post("/groups", json={"j": [1, 2]}).json()
        assert d["JSON"] == {"j": [1, 2]} == d["DATA"]
        assert d["FORM"] == {}


def test_make_your_own_rule():
    with Client(make_app()) as c:
        r = c.post("/pets/dog?limit=10", json={"area": "LA"})
        assert r.json() == {"kind": "dog", "limit": "10", "offset": 0, "json": {"area": "LA"}}


def test_missing_required_argument_is_400_naming_it():
    with Client(make_app()) as c:
        r = c.post("/tokens")
        assert r.status_code == 400
        assert r.json()["missing"] == ["query"]
        assert "query" in r.json()["detail"]


def test_undeclared_query_argument_is_508_naming_it():
    with Client(make_app()) as c:
        r = c.get("/hello?num=1&x=2")
        assert r.status_code == 508  # as both seed docs say (docs/atila.md)
        assert r.json()["undeclared"] == ["x"]


def test_multipart_upload(tmp_path):
    with Client(make_app(tmp_path)) as c:
        r = c.post("/upload", data={"title": "pic"},
                   files={"file": ("a.txt", b"hello file", "text/plain")})
        d = r.json()
        assert r.status_code == 200, r.text
        assert d["title"] == "pic" and d["name"] == "a.txt" and d["size"] == 10
        assert d["data"] == "hello file" and d["mimetype"] == "text/plain"
        assert open(d["saved"], "rb").read() == b"hello file"
        # a second save with the same name does not overwrite (dup="u")
        r = c.post("/upload", data={"title": "pic"}, files={"file": ("a.txt", b"two", "text/plain")})
        assert r.json()["saved"] != d["saved"]


def test_body_limit_413():
    app = make_app()
    app.config.MAX_UPLOAD_SIZE = 100
    with Client(app) as c:
        r = c.post("/tokens", data={"query": "x" * 500})
        assert r.status_code == 413
        assert c.post("/tokens", data={"query": "ok"}).json() == {"query": "ok"}


def test_bad_json_is_400():
    with Client(make_app()) as c:
        r = c.post("/tokens", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert "JSON" in r.json()["detail"]
