"""HTTP errors and uncaught exceptions: JSON error bodies, tracebacks only in debug, error handlers."""

import logging

from atila import Atila

from .harness import Client


def make_app(debug=False):
    app = Atila("errors_app", debug=debug)

    @app.route("/missing/<name>")
    def missing(context, name):
        raise context.HttpError("404 Not Found", f"{name} not exists")

    @app.route("/old")
    def old(context):
        raise context.Error("400 Not My Fault", "filename must end with png")

    @app.route("/coded")
    def coded(context):
        raise context.HttpError("409 Conflict", "dup", code=40901)

    @app.route("/boom")
    def boom(context):
        raise ValueError("secret internals")

    @app.route("/async-boom")
    async def async_boom(context):
        raise KeyError("async secret")

    @app.route("/bad-return")
    def bad_return(context):
        return object()

    @app.route("/resp404")
    def resp404(context):
        return context.response("404 Not Found")

    return app


def test_http_error_json_body():
    with Client(make_app()) as c:
        r = c.get("/missing/a.png")
        assert r.status_code == 404
        assert r.json() == {"code": 404, "message": "Not Found", "detail": "a.png not exists"}
        r = c.get("/old")
        assert r.status_code == 400
        assert r.json()["message"] == "Not My Fault"
        assert r.json()["detail"] == "filename must end with png"
        assert c.get("/coded").json()["errno"] == 40901
        assert c.get("/resp404").status_code == 404


def test_uncaught_exception_is_500_with_gtxnid_and_no_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="atila"), Client(make_app()) as c:
        r = c.get("/boom", headers={"X-Gtxnid": "GTID-T1"})
        assert r.status_code == 500
        body = r.json()
        assert body["code"] == 500 and body["gtxnid"] == "GTID-T1"
        assert "secret internals" not in r.text and "Traceback" not in r.text and "traceback" not in body
        r = c.get("/async-boom")
        assert r.status_code == 500 and "async secret" not in r.text
        assert c.get("/bad-return").status_code == 500
    logged = "\n".join(rec.getMessage() + (rec.exc_text or "") for rec in caplog.records)
    assert "GTID-T1" in logged
    assert any(rec.exc_info and rec.exc_info[0] is ValueError for rec in caplog.records)


def test_debug_shows_traceback():
    with Client(make_app(debug=True)) as c:
        r = c.get("/boom")
        assert r.status_code == 500
        body = r.json()
        assert "secret internals" in body["detail"]
        assert any("ValueError" in line for line in body["traceback"])


def test_error_handlers():
    app = make_app()

    @app.error_handler(404)
    def not_found(context, error):
        return {"custom": True, "code": error["code"], "url": error["url"], "detail": error["detail"]}

    @app.default_error_handler
    def default(context, error):
        return f"<h1>{error['code']} {error['message']}</h1>"

    with Client(app) as c:
        r = c.get("/missing/x")
        assert r.status_code == 404
        assert r.json() == {"custom": True, "code": 404, "url": "/missing/x", "detail": "x not exists"}
        r = c.get("/no/such/route")
        assert r.status_code == 404 and r.json()["custom"] is True
        r = c.get("/boom")
        assert r.status_code == 500 and r.text == "<h1>500 Internal Server Error</h1>"
        assert r.headers["content-type"].startswith("text/html")
        r = c.post("/boom")
        assert r.status_code == 405 and r.text.startswith("<h1>405")


def test_debug_traceback_for_raised_http_errors_only_in_debug():
    with Client(make_app(debug=True)) as c:
        body = c.get("/missing/a").json()
        assert body["code"] == 404 and any("HttpError" in line for line in body["traceback"])
        assert "traceback" not in c.get("/no/route").json()  # nothing was raised: no traceback
    with Client(make_app()) as c:
        assert "traceback" not in c.get("/missing/a").json()
