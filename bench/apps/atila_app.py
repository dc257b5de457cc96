"""The Atila app for the framework scenarios, written in the Atila hook style.

The same module is served by the project's Atila on the project's Skitai and
by the original Atila on the original Skitai (``skitaid_orig.py``), so the
route logic is identical on both. ``BENCH_ROUTES=200`` registers 200
``/r{i}/<int:id>`` routes before the others (the 200-route experiment).
The handlers are ``async def``, like the starlette peer's, so both frameworks
run them on the event loop (a sync ``def`` would add Atila's thread-pool hop).
"""

import os

ROUTES = int(os.environ.get("BENCH_ROUTES", "0"))


def __app__():
    from atila import Atila

    return Atila(__name__)


def _numbered(app, i):
    async def handler(context, id, q=None):
        return context.API(route=i, id=id, q=q)

    handler.__name__ = f"r{i}"
    handler.__qualname__ = f"r{i}"
    app.route(f"/r{i}/<int:id>")(handler)


def __mount__(context, app):
    for i in range(ROUTES):
        _numbered(app, i)

    @app.route("/items/<int:id>")
    async def item(context, id, q=None):
        return context.API(id=id, q=q)

    @app.route("/hello")
    async def hello(context):
        return "Hello, World!"
