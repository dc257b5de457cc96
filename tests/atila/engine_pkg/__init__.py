"""A package-style Atila app served by the real engine in tests/atila/test_engine.py."""

import os
import threading

NAME = "engine test"


def __app__():
    from atila import Atila
    return Atila(__name__)


def __setup__(context, app):
    app.marker = os.environ.get("ATILA_TEST_MARKER")


def __mount__(context, app):
    @app.route("/")
    def index(context):
        return context.API(app=NAME)

    @app.route("/items/<int:id>")
    def item(context, id, q=None):
        return {"id": id, "q": q}

    @app.route("/boom")
    def boom(context):
        raise RuntimeError("do not leak me")

    @app.route("/stream")
    def stream(context):
        def produce():
            for i in range(3):
                yield f"chunk{i};"
        return produce()

    @app.route("/file")
    def file(context):
        return context.File(os.path.join(os.path.dirname(__file__), "data.txt"))

    @app.route("/static")
    def static(context):
        return context.Static(os.path.join(os.path.dirname(__file__), "data.txt"))

    @app.route("/whoami")
    def whoami(context):
        return {"remote": context.request.get_remote_addr(), "gtxnid": context.request.gtxnid,
                "thread": threading.current_thread().name, "numthreads": context.numthreads}


def __umounted__(context, app):
    if app.marker:
        with open(app.marker, "w") as f:
            f.write("umounted")
