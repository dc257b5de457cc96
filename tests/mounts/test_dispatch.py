"""Dispatch: longest prefix, virtual hosts, root_path/path and SCRIPT_NAME/PATH_INFO, 404."""

import json

from skitai.mounts import MountTable
from tests.apps import mounts_wsgi

from .asgi import call


def tagged(tag):
    async def app(scope, receive, send):
        body = json.dumps({"tag": tag, "path": scope["path"], "root_path": scope["root_path"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    return app


def table(*mounts):
    t = MountTable()
    for m in mounts:
        t.add(*m[:2], **(m[2] if len(m) > 2 else {}))
    t.load()
    return t


def j(r):
    assert r.status == 200, r
    return json.loads(r.body)


def test_longest_prefix_wins():
    t = table(("/", tagged("root")), ("/v1", tagged("v1")), ("/v1/admin", tagged("admin")))
    assert j(call(t, target="/"))["tag"] == "root"
    assert j(call(t, target="/v1"))["tag"] == "v1"
    assert j(call(t, target="/v1/x"))["tag"] == "v1"
    assert j(call(t, target="/v1/admin/users"))["tag"] == "admin"
    assert j(call(t, target="/v10"))["tag"] == "root"        # not a segment boundary
    assert j(call(t, target="/v1admin"))["tag"] == "root"


def test_root_path_and_full_path():
    t = table(("/v1/", tagged("v1")))   # trailing slash on the point is ignored
    r = j(call(t, target="/v1/a/b"))
    assert r["root_path"] == "/v1" and r["path"] == "/v1/a/b"


def test_404_when_nothing_matches():
    t = table(("/api", tagged("api")))
    r = call(t, target="/other")
    assert r.status == 404 and r.body == b"Not Found\n"
    assert r.headers["content-type"].startswith("text/plain")


def test_virtual_hosts():
    t = table(("/", tagged("site1"), {"host": "www.site1.com"}),
              ("/", tagged("site2"), {"host": "WWW.Site2.com"}),
              ("/", tagged("wild"), {"host": "*.example.org"}),
              ("/", tagged("default")))
    assert j(call(t, target="/", host="www.site1.com"))["tag"] == "site1"
    assert j(call(t, target="/", host="www.site2.com:8080"))["tag"] == "site2"
    assert j(call(t, target="/", host="a.example.org"))["tag"] == "wild"
    assert j(call(t, target="/", host="other.com"))["tag"] == "default"
    t2 = table(("/", tagged("local"), {"host": "localhost:5000"}), ("/", tagged("v6"), {"host": "[::1]:80"}))
    assert j(call(t2, target="/", host="localhost:5000"))["tag"] == "local"
    assert j(call(t2, target="/", host="[::1]:8080"))["tag"] == "v6"


def test_host_falls_back_to_default_mounts():
    t = table(("/only", tagged("h"), {"host": "h.com"}), ("/", tagged("default")))
    assert j(call(t, target="/only", host="h.com"))["tag"] == "h"
    assert j(call(t, target="/x", host="h.com"))["tag"] == "default"
    t2 = table(("/", tagged("h"), {"host": "h.com"}))
    assert call(t2, target="/", host="nope.com").status == 404


def test_wsgi_script_name_path_info_percent_encoded():
    t = table(("/v1", mounts_wsgi.echo_environ))
    env = j(call(t, target="/v1/caf%C3%A9/a%20b?x=%20y"))
    assert env["SCRIPT_NAME"] == "/v1"
    # PEP 3333: the decoded bytes, as latin-1 str
    assert env["PATH_INFO"] == "/caf\u00c3\u00a9/a b"
    assert env["QUERY_STRING"] == "x=%20y"
    assert env["REQUEST_URI"] == env["RAW_URI"] == "/v1/caf%C3%A9/a%20b?x=%20y"


def test_wsgi_invalid_utf8_path_bytes_are_kept():
    t = table(("/", mounts_wsgi.echo_environ))
    env = j(call(t, target="/%FF%2Fz"))
    assert env["SCRIPT_NAME"] == "" and env["PATH_INFO"] == "/\u00ff/z"


def test_mount_point_with_encoded_characters():
    t = table(("/caf\u00e9", mounts_wsgi.echo_environ))
    env = j(call(t, target="/caf%C3%A9/x"))
    assert env["SCRIPT_NAME"] == "/caf\u00c3\u00a9" and env["PATH_INFO"] == "/x"


def test_wsgi_environ_contents():
    t = table(("/", mounts_wsgi.echo_environ))
    env = j(call(t, "POST", "/x", headers=[("Content-Type", "text/plain"), ("Content-Length", "3"),
                                            ("X-Dup", "a"), ("X-Dup", "b"), ("X_Under", "smuggled")],
                 body=b"abc"))
    assert env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_X_DUP"] == "a,b"
    assert "HTTP_X_UNDER" not in env
    assert env["HTTP_HOST"] == "testserver"
    assert env["SERVER_NAME"] == "127.0.0.1" and env["SERVER_PORT"] == "8000"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1" and env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http" and env["wsgi.multithread"] is True
    assert env["skitai.gtxnid"] == "GTID-W0-C1-R1" and env["skitai.ltxnid"] == "1000"
    assert env["has_scope"] is True


def test_describe_lists_mounts():
    t = table(("/", tagged("x")), ("/s", "tests/apps/mounts_static", {"max_age": 10}))
    lines = t.describe()
    assert lines[0].startswith("/ -> asgi") and "mounts_static" in lines[1] and "static" in lines[1]


def test_websocket_scopes():
    import asyncio

    async def ws_app(scope, receive, send):
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["root_path"] + "|" + scope["path"]})

    t = table(("/ws", ws_app), ("/w", mounts_wsgi.writer))

    async def go(path):
        out = []

        async def receive():
            return {"type": "websocket.connect"}

        async def send(m):
            out.append(m)
        scope = {"type": "websocket", "path": path, "raw_path": path.encode(), "root_path": "",
                 "headers": [(b"host", b"x")], "query_string": b""}
        await t(scope, receive, send)
        return out
    assert asyncio.run(go("/ws/chat"))[1] == {"type": "websocket.send", "text": "/ws|/ws/chat"}
    assert asyncio.run(go("/w/x")) == [{"type": "websocket.close", "code": 1000}]
    assert asyncio.run(go("/nothing")) == [{"type": "websocket.close", "code": 1000}]


def test_outer_root_path_from_another_server():
    t = table(("/v1", tagged("v1")), ("/", tagged("root")))
    r = j(call(t, target="/proxy/v1/x", root_path="/proxy"))
    assert r == {"tag": "v1", "path": "/proxy/v1/x", "root_path": "/proxy/v1"}
    env_t = table(("/v1", mounts_wsgi.echo_environ))
    env = j(call(env_t, target="/proxy/v1/x", root_path="/proxy"))
    assert env["SCRIPT_NAME"] == "/proxy/v1" and env["PATH_INFO"] == "/x"
