"""Apps for tests/server/test_proxy_headers.py: they echo what the engine told them about the client."""

from __future__ import annotations

import json

from tests.apps.lifespan import serve_lifespan


async def asgi(scope, receive, send):
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    peer = scope["extensions"]["skitai"].get("peer")
    info = json.dumps({"client": list(scope["client"]) if scope["client"] else None,
                       "scheme": scope["scheme"], "peer": list(peer) if peer else None})
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": info})
        await send({"type": "websocket.close", "code": 1000})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(info)).encode())]})
    await send({"type": "http.response.body", "body": info.encode()})


def wsgi(environ, start_response):
    body = json.dumps({"REMOTE_ADDR": environ.get("REMOTE_ADDR"),
                       "url_scheme": environ["wsgi.url_scheme"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _atila(name: str, own_list: str | None):
    from atila import Atila
    app = Atila(name)
    app.trusted_proxies = own_list

    @app.route("/")
    def index(context):
        return {"remote": context.request.get_remote_addr()}
    return app


atila_engine = _atila("proxy_atila_engine", None)          # takes the engine's answer
atila_own = _atila("proxy_atila_own", "127.0.0.1,203.0.113.0/24")  # walks from the peer itself
