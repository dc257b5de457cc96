"""The built-in demo app: what the container image serves when no app is given.

A small Atila app in the newest style: this package exposes ``__app__`` /
``__setup__`` / ``__mount__``; handlers take ``context`` and are ``async``.
It needs nothing outside the engine (no database, no cache server), so
``docker run skitai-app`` shows a working server, its probes and its metrics.
``skitai.demo:app`` (the image's ``SKITAI_APP``) and ``skitai.demo`` (the
package, through ``__app__``) both work. A few endpoints exist to demonstrate
(and test) the deployment: a slow one for graceful draining, a failing one
for the error-ratio metrics, and a WebSocket echo for proxies.

    GET  /                      HTML page listing the endpoints
    GET  /hello.txt             plain text
    GET  /static/style.css      a file of the static directory next to this module
    GET  /api/hello/<name>?greeting=Hi   JSON greeting (also /api/hello?name=)
    GET  /api/counter           JSON {"count": n}; POST increments it (per worker)
    GET  /api/slow?ms=500       answers after a pause (at most 30 s)
    GET  /api/error             answers 500 on purpose
    POST /api/echo              returns the request body (at most 1 MiB)
    GET  /api/client            the client address and proxy headers the app sees
    WS   /ws/echo               echoes every message
    GET  /healthz /readyz /metrics   the engine's probes and metrics (not the app's)
"""

from __future__ import annotations

import asyncio
import html
import os

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Skitai demo</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body>
<h1>Skitai is running</h1>
<p>Worker pid {pid}. This is the built-in demo, an Atila app; serve yours with
<code>SKITAI_APP=package.module:app</code>.</p>
<ul>
<li><a href="/hello.txt">/hello.txt</a> (text)</li>
<li><a href="/api/hello/you?greeting=Hi">/api/hello/you?greeting=Hi</a> (JSON)</li>
<li><a href="/api/counter">/api/counter</a> (POST to increment)</li>
<li><a href="/api/slow?ms=500">/api/slow?ms=500</a></li>
<li><a href="/static/style.css">/static/style.css</a> (static directory)</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a></li>
</ul>
<p>Client address seen by the engine: {client}</p>
</body></html>
"""


# atila hooks ------------------------
def __app__():
    from atila import Atila

    app = Atila(__name__)
    app.config.MAX_UPLOAD_SIZE = 1 << 20  # /api/echo: larger bodies answer 413
    return app


def __setup__(context, app):
    app.mount("/static", STATIC)  # a static directory (ETag, 304, ranges)


def __mount__(context, app):
    import skitai

    counter = {"count": 0}  # per worker process, in memory

    @app.route("/")
    async def index(context):
        client = context.request.scope.get("client") or ("-", 0)
        return _PAGE.format(pid=os.getpid(), client=html.escape(str(client[0])))

    @app.route("/hello.txt")
    async def hello_text(context):
        context.response["Content-Type"] = "text/plain; charset=utf-8"
        return f"Hello from Atila on Skitai, worker {os.getpid()}\n"

    @app.route("/api/hello/<name>")
    async def hello(context, name="world", greeting="Hello"):
        """``name`` from the path (or ``?name=``; an optional trailing parameter also serves
        /api/hello), ``greeting`` from the query string."""
        return context.API(hello=name[:100], greeting=f"{greeting[:100]}, {name[:100]}!", pid=os.getpid())

    @app.route("/api/counter", methods=["GET", "POST"])
    async def count(context):
        if context.request.method == "POST":
            counter["count"] += 1
        return context.API(count=counter["count"])

    @app.route("/api/slow")
    async def slow(context, ms="500"):
        try:
            pause = min(max(float(ms), 0.0), 30000.0)
        except ValueError:
            return context.API("400 Bad Request", error="ms must be a number")
        await asyncio.sleep(pause / 1000.0)
        return context.API(slept_ms=pause)

    @app.route("/api/error")
    async def error(context):
        return context.API("500 Internal Server Error", error="this endpoint fails on purpose")

    @app.route("/api/echo", methods=["POST"])
    async def echo(context):
        context.response["Content-Type"] = "application/octet-stream"
        return context.request.body

    @app.route("/api/client")
    async def client(context):
        request = context.request
        peer = request.scope.get("client") or ("", 0)
        return context.API({"client": peer[0], "scheme": request.scope.get("scheme"),
                            "x-forwarded-for": request.get_header("x-forwarded-for"),
                            "x-real-ip": request.get_header("x-real-ip")})

    @app.route("/ws/echo")
    @app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 60)
    async def ws_echo(context, message):
        return message  # str -> text frame, bytes -> binary frame


app = __app__()  # ``skitai.demo:app``: the hooks above run when the engine mounts it
