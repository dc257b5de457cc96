"""Several apps at one mount point (docs/mounts.md "Several apps at one point"): an app that can
tell whether it routes a path (Atila: ``__skitai_routable__``) answers its own paths, a plain
WSGI/ASGI app at the same point answers the rest; nothing is silently replaced."""

from __future__ import annotations

import json

import pytest

import skitai
import tests.apps.mounts_samepoint as samepoint
from skitai.mounts import MountTable

from .asgi import call


@pytest.fixture
def django_setup():
    """``skitai.mount('/', pkg, pref)`` whose ``__config__`` mounts a WSGI app at '/' first."""
    skitai._reset()
    samepoint.CONFIGURED.clear()
    try:
        pref = skitai.pref()
        skitai.mount("/", samepoint, pref)
        t = skitai.mount_table()
        assert [m.point for m in t.mounts] == ["/", "/"] and samepoint.CONFIGURED == [pref]
        t.load()  # the sync __mount__ hooks ran: Atila's routes exist before its first request
        yield t
    finally:
        skitai._reset()


def test_plain_wsgi_app_answers_what_the_atila_app_does_not_route(django_setup):
    t = django_setup
    r = call(t, target="/admin/")
    assert r.status == 200 and r.body == b"wsgi GET /admin/"          # Django's admin, not Atila's 404
    assert call(t, "POST", "/login").body == b"wsgi POST /login"
    r = call(t, target="/api/recent-posts")
    assert r.status == 200 and json.loads(r.body) == {"result": ["post"]}  # Atila's own route
    assert json.loads(call(t, target="/items/7").body) == {"n": 7}
    assert call(t, "POST", "/api/recent-posts").status == 405          # Atila routes the path: its 405
    assert call(t, target="/items/x").body == b"wsgi GET /items/x"     # no Atila route matches


def tagged(tag, routes=None):
    """An ASGI app; with ``routes`` it answers ``__skitai_routable__`` for those paths."""
    class App:
        async def __call__(self, scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": tag.encode()})
    app = App()
    if routes is not None:
        app.__skitai_routable__ = lambda scope: scope["path"][len(scope["root_path"]):] in routes
    return app


def table(*apps, point="/v1"):
    t = MountTable()
    for a in apps:
        t.add(point, a)
    t.load()
    return t


def test_order_does_not_matter_routable_apps_are_asked_in_mount_order():
    a, b, plain = tagged("a", {"/x", "/both"}), tagged("b", {"/y", "/both"}), tagged("plain")
    for t in (table(a, b, plain), table(plain, a, b)):
        assert call(t, target="/v1/x").body == b"a"
        assert call(t, target="/v1/y").body == b"b"
        assert call(t, target="/v1/both").body == b"a"      # the first mounted that routes it
        assert call(t, target="/v1/other").body == b"plain"  # the plain app answers the rest
        assert call(t, target="/v2").status == 404


def test_only_routable_apps_the_last_mounted_answers_the_rest():
    t = table(tagged("a", {"/x"}), tagged("b", {"/y"}))
    assert call(t, target="/v1/x").body == b"a" and call(t, target="/v1/y").body == b"b"
    assert call(t, target="/v1/z").body == b"b"


def test_one_app_per_point_takes_the_plain_path():
    t = table(tagged("a", {"/x"}))
    (pt,) = t._hosts[None]
    assert pt.app is t.mounts[0] and not pt.mixed and pt.routers == ()
    assert call(t, target="/v1/anything").body == b"a"   # a single app is never asked


def test_static_dir_and_two_apps_at_one_point(tmp_path):
    (tmp_path / "f.txt").write_text("file\n")
    t = MountTable()
    t.add("/", str(tmp_path))
    t.add("/", tagged("plain"))
    t.add("/", tagged("a", {"/x", "/f.txt"}))
    t.load()
    assert call(t, target="/f.txt").body == b"file\n"      # static first for GET/HEAD
    assert call(t, "POST", "/f.txt").body == b"a"
    assert call(t, target="/x").body == b"a"
    assert call(t, target="/y").body == b"plain"


def test_django_setup_through_the_engine():
    """The same setup served by a real worker (``__config__`` ran in the master, lifespan ran)."""
    from tests.support import ROOT

    with skitai.test_client(str(ROOT / "tests" / "apps" / "serve_samepoint.py"), args=["--workers", "1"]) as c:
        assert c.get("/admin/").text == "wsgi GET /admin/"
        assert c.get("/api/recent-posts").json() == {"result": ["post"]}
        assert c.post("/api/recent-posts").status_code == 405
