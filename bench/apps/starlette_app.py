"""Starlette version of the bench routes (the framework peer of Atila).

``/hello``, ``/json``, ``/items/{id}?q=`` (the Atila JSON route), ``/static`` (when
``BENCH_STATIC_DIR`` is set) and, with ``BENCH_ROUTES=200``, 200 registered
``/r{i}/{id}`` routes to measure routing near the end of a long table.
"""

import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute


async def hello(request):
    return PlainTextResponse("Hello, World!")


async def json_route(request):
    return JSONResponse({"message": "Hello, World!"})


async def item(request):
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def echo(websocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except Exception:
        pass


def _numbered(i):
    async def handler(request):
        return JSONResponse({"route": i, "id": request.path_params["id"], "q": request.query_params.get("q")})
    return handler


routes = []
for i in range(int(os.environ.get("BENCH_ROUTES", "0"))):
    routes.append(Route(f"/r{i}/{{id:int}}", _numbered(i)))
routes += [
    Route("/hello", hello),
    Route("/json", json_route),
    Route("/items/{id:int}", item),
    WebSocketRoute("/ws", echo),
]
if os.environ.get("BENCH_STATIC_DIR"):
    from starlette.staticfiles import StaticFiles

    routes.append(Mount("/static", StaticFiles(directory=os.environ["BENCH_STATIC_DIR"])))

app = Starlette(routes=routes)
