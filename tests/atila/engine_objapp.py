"""The older app-object style (``app = Atila(__name__)`` + ``@app.route``), with ``was`` handlers and an
older-signature sub-module, served by ``skitai serve tests.atila.engine_objapp:app`` in test_engine.py."""

import types

from atila import Atila

app = Atila(__name__)
app.debug = False


@app.before_request
def before(was):
    was.request.g.seen = "before"


@app.route("/")
def index(was):
    return f"old style {was.request.g.seen}"


@app.route("/pets/<int:id>")
def pets(was, id):
    return was.API({"id": id, "kind": "dog", "name": "Monk"})


def _old_mount(app):  # the [001] signature: __mount__ (app)
    @app.route("/hi")
    def hi(was):
        return was.urlfor(pets, 45)


legacy = types.ModuleType("tests.atila.engine_objapp.legacy")
legacy.__mount__ = _old_mount
app.mount("/legacy", legacy)
