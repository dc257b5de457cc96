"""`skitai serve APP` with every APP form: module:attr, an app file, a static directory, a package."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support import ROOT, ServerProcess, free_port


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


@pytest.mark.parametrize("app,path,check", [
    ("tests.testing.tinyapp:app", "/json", lambda b: json.loads(b)["hello"] == "world"),
    ("tests/testing/tinyapp.py", "/json", lambda b: json.loads(b)["hello"] == "world"),
    ("tests/testing/static", "/hello.txt", lambda b: b == b"hello from a file\n"),
    ("examples/dumbseek/dumbseek", "/", lambda b: json.loads(b)["app"] == "Dumb Seek"),
])
def test_serve_app_forms(app, path, check):
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", app, "--port", str(port), "--workers", "1"],
                       port=port, cwd=ROOT) as server:
        status, body = _get(server.url + path)
        assert status == 200 and check(body), body


def test_serve_package_by_name_from_its_directory():
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "dumbseek", "--port", str(port), "--workers", "1"],
                       port=port, cwd=ROOT / "examples" / "dumbseek") as server:
        status, body = _get(server.url + "/")
        assert status == 200 and json.loads(body)["app"] == "Dumb Seek"
