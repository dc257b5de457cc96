"""JSON API of the demo, mounted at /api by the package's ``__setup__``."""

import json
import os
import time

STARTED = time.time()


# atila hooks ------------------------
def __mount__(context, app):
    @app.route("/hello/<name>")
    async def hello(context, name="world", greeting="Hello"):
        """GET /api/hello/Ann?greeting=Hi: ``name`` from the path (or ``?name=``, default
        "world": an optional trailing parameter also serves /api/hello), ``greeting`` from the query."""
        request = context.request
        return context.API(message=f"{greeting}, {name}!", worker_pid=os.getpid(),
                           gtxnid=request.scope.get("gtxnid"), ltxnid=request.scope.get("ltxnid"))

    @app.route("/status")
    async def status(context):
        return context.API(status="ok", uptime_seconds=round(time.time() - STARTED, 3))

    @app.route("/echo", methods=["POST"])
    async def echo(context):
        """Returns the JSON body it got; anything else is a 400."""
        try:
            data = json.loads(context.request.body or b"null")
        except ValueError:
            return context.API("400 Bad Request", error="send a JSON body")
        return context.API(you_sent=data)
