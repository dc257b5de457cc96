"""A tiny user app (package + static files) for the container tests."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

USER_APP = '''
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            await send({"type": m["type"] + ".complete"})
            if m["type"] == "lifespan.shutdown":
                return
    body = b"user app at " + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
'''


def make_user_app(root: Path) -> None:
    """``root/mypkg/web.py`` (ASGI app) and ``root/static/hello.txt``, readable by UID 10001."""
    os.chmod(root, 0o755)
    pkg = root / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "web.py").write_text(USER_APP)
    static = root / "static"
    static.mkdir()
    (static / "hello.txt").write_text("static hello\n")
    for p in (pkg, static):
        os.chmod(p, 0o755)
        for f in p.iterdir():
            os.chmod(f, 0o644)


def get(url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, str, object]:
    """(status, text, headers); headers look up case-insensitively."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers
