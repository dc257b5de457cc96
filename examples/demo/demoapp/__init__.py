"""The demo's Atila app, in the newest style: a package exposing life-cycle hooks.

``__app__()`` makes the app, ``__setup__`` mounts the JSON API module at
/api, ``__mount__`` adds the package's own routes. Handlers take ``context``
and are ``async def``: they run on the worker's event loop (plain ``def``
handlers would run on Atila's thread pool).
"""

import os

NAME = "Skitai demo"


# atila hooks ------------------------
def __app__():
    from atila import Atila
    return Atila(__name__)


def __setup__(context, app):
    from . import api
    app.mount("/api", api)


def __mount__(context, app):
    @app.route("/hello.txt")
    async def hello_text(context):
        """A text route: a str is sent as HTML unless the handler says otherwise."""
        context.response["Content-Type"] = "text/plain; charset=utf-8"
        return f"Hello from {NAME}, worker {os.getpid()}\n"
