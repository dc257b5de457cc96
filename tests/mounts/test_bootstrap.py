"""Seed sections 4.5 and 5: ``bootstrap(pref)`` in the ``__init__.py`` next to an app file (also
``<pkg>/export/skitai/__init__.py``) runs before the app is used, with the mount's own pref object,
for every kind of app (here a real Flask WSGI app; Atila apps are covered in tests/seeds)."""

from __future__ import annotations

import importlib
import textwrap

import skitai
from skitai.mounts import MountTable

from .asgi import call

BOOT = '''
import os


def bootstrap(pref):
    pref.config.boots = pref.config.get("boots", 0) + 1
    with open(os.path.join(os.path.dirname(__file__), pref.config.urlfile)) as f:
        pref.config.urllist = [line.strip() for line in f if line.strip()]
'''

FLASK_APP = '''
import json

from flask import Flask, current_app

app = Flask(__name__)


@app.route("/")
def index():
    return json.dumps(current_app.config.get("urllist"))
'''


def _write(d, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))


def test_bootstrap_next_to_a_wsgi_app_file(tmp_path, monkeypatch):
    _write(tmp_path / "app_v1", {"__init__.py": BOOT, "app.py": FLASK_APP, "urls.txt": "http://a.example\n"})
    monkeypatch.chdir(tmp_path)
    pref = skitai.pref()
    pref.config.urlfile = "urls.txt"
    t = MountTable()
    t.add("/v1", "app_v1/app.py", "app", pref)
    t.load()
    r = call(t, target="/v1/")
    assert r.status == 200 and r.body == b'["http://a.example"]'
    assert pref.config.urllist == ["http://a.example"]  # the same pref object the mount was given
    t.load()  # a second load (reload in the same process) does not run it again
    assert pref.config.boots == 1


def test_bootstrap_in_export_skitai_of_a_package(tmp_path, monkeypatch):
    _write(tmp_path / "exportpkg", {
        "__init__.py": "__version__ = '1.0'\n",
        "export/skitai/__init__.py": BOOT,
        "export/skitai/app.py": FLASK_APP,
        "export/skitai/urls.txt": "http://b.example\nhttp://c.example\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    pkg = importlib.import_module("exportpkg")
    pref = skitai.pref()
    pref.config.urlfile = "urls.txt"
    t = MountTable()
    t.add("/v1", pkg, "app", pref)
    t.load()
    assert call(t, target="/v1/").body == b'["http://b.example", "http://c.example"]'
