"""Older `was` helpers of the Atila docs: pipe (12.15), log/traceback (31), was.cookie, request.data,
request.routed_function, app.run ()."""

from __future__ import annotations

import logging

from atila import Atila
from skitai.testing import AsgiClient

from .conftest import launch


def make_app():
    app = Atila(__name__)

    @app.route("/")
    @app.inspect(ints=["offset"])
    def index(was, offset=0):
        return was.API(offset=offset)

    @app.route("/piped")
    def piped(was):
        return was.pipe(index, offset=4)

    @app.route("/piped-by-name")
    def piped_by_name(was):
        return was.pipe("index", offset="t")

    @app.route("/logged")
    def logged(was):
        was.log("called index", "info")
        try:
            raise ValueError("inside")
        except ValueError:
            was.log("exception occured", "error")
            was.traceback()
        return was.API(cookie=was.cookie.get("a"), routed=was.request.routed_function.__name__)

    @app.route("/data", methods=["POST"])
    def data(was, **kw):
        return was.request.data

    return app


def test_pipe():
    with AsgiClient(make_app()) as c:
        assert c.get("/piped").json() == {"offset": 4}
        assert c.get("/piped-by-name").status_code == 400  # the inspect rule of index still applies


def test_log_and_traceback(caplog):
    with caplog.at_level(logging.INFO, logger="atila.app"), AsgiClient(make_app()) as c:
        r = c.get("/logged", headers={"Cookie": "a=1"})
        assert r.json() == {"cookie": "1", "routed": "logged"}
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "atila.app"]
    assert "called index" in messages and "exception occured" in messages
    tb = [rec for rec in caplog.records if rec.name == "atila.app" and rec.exc_info]
    assert tb and "GTID" in tb[0].getMessage()


def test_request_data():
    with AsgiClient(make_app()) as c:
        assert c.post("/data", json={"x": 1}).json() == {"x": 1}


def test_app_run():
    with launch("apprun.py") as c:
        assert c.get("/").text == "app.run works"
