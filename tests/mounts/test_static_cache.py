"""Static small-file cache: hits skip the file system, edits / deletions / symlink swaps show within ~1 s,
the path checks run before any lookup, Range / validators / HEAD answer as without the cache."""

import os
import time

import pytest

from skitai.mounts import MountTable
from skitai.mounts.static import RECHECK, StaticFiles

from .asgi import call

OLD = time.time() - 3600  # cached files must be older than SETTLE


def _old(path):
    os.utime(path, (OLD, OLD))


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    for name, text in (("a.txt", "alpha"), ("b.txt", "bravo"), ("c.css", "p{}")):
        (root / name).write_text(text)
        _old(root / name)
    (tmp_path / "secret.txt").write_text("top secret")
    _old(tmp_path / "secret.txt")
    return root


def table(root, **opts):
    t = MountTable()
    t.add("/static", str(root), **opts)
    t.load()
    return t


def static_app(t) -> StaticFiles:
    return next(m.app for m in t.mounts if isinstance(m.app, StaticFiles))


def wait_recheck():
    time.sleep(RECHECK + 0.1)


def test_hit_is_one_start_one_body_and_same_headers(site):
    t = table(site, max_age=60)
    first = call(t, target="/static/c.css")
    assert str(site / "c.css") in static_app(t)._files
    second = call(t, target="/static/c.css")
    assert [m["type"] for m in second.messages] == ["http.response.start", "http.response.body"]
    assert second.status == 200 and second.body == b"p{}"
    assert second.header_list == first.header_list
    assert second.headers["content-type"] == "text/css; charset=utf-8"
    assert second.headers["cache-control"] == "max-age=60" and "expires" in second.headers
    head = call(t, "HEAD", "/static/c.css")
    assert head.body == b"" and head.headers["content-length"] == "3" and head.headers["etag"] == first.headers["etag"]


def test_conditional_and_range_on_a_cached_file(site):
    t = table(site)
    r = call(t, target="/static/a.txt")
    etag = r.headers["etag"]
    assert call(t, target="/static/a.txt", headers={"If-None-Match": etag}).status == 304
    r = call(t, target="/static/a.txt", headers={"Range": "bytes=1-2"})
    assert r.status == 206 and r.body == b"lp" and r.headers["content-range"] == "bytes 1-2/5"
    assert call(t, target="/static/a.txt", headers={"Range": "bytes=9-"}).status == 416


def test_hit_uses_no_file_system(site, monkeypatch):
    t = table(site)
    assert call(t, target="/static/a.txt").body == b"alpha"

    def boom(*a, **k):
        raise AssertionError("file system touched on a cache hit")
    with monkeypatch.context() as mp:
        for name in ("stat", "lstat", "open", "fstat"):
            mp.setattr(os, name, boom)
        mp.setattr("builtins.open", boom)
        r = call(t, target="/static/a.txt")
    assert r.body == b"alpha"


def test_edit_shows_within_a_second(site):
    t = table(site)
    assert call(t, target="/static/a.txt").body == b"alpha"
    (site / "a.txt").write_text("alpha2")
    os.utime(site / "a.txt", (OLD + 5, OLD + 5))
    wait_recheck()
    r = call(t, target="/static/a.txt")
    assert r.body == b"alpha2" and r.headers["content-length"] == "6"


def test_deleted_file_is_404_within_a_second(site):
    t = table(site)
    assert call(t, target="/static/b.txt").body == b"bravo"
    (site / "b.txt").unlink()
    wait_recheck()
    assert call(t, target="/static/b.txt").status == 404
    assert str(site / "b.txt") not in static_app(t)._files


def test_symlink_swapped_outside_is_never_served(site, tmp_path):
    link = site / "link.txt"
    link.symlink_to(site / "a.txt")
    t = table(site)
    assert call(t, target="/static/link.txt").body == b"alpha"
    link.unlink()
    link.symlink_to(tmp_path / "secret.txt")
    deadline = time.monotonic() + RECHECK + 0.5
    while time.monotonic() < deadline:
        r = call(t, target="/static/link.txt")
        assert b"secret" not in r.body
        time.sleep(0.05)
    assert r.status == 404


def test_traversal_checked_before_the_cache(site):
    t = table(site)
    assert call(t, target="/static/a.txt").status == 200
    for target in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/x/..%2fa.txt",
                   "/static/a.txt%00", "/static/.%2fa.txt"):
        r = call(t, target=target)
        assert r.status == 404 and b"secret" not in r.body, target


def test_recent_files_are_not_cached(site):
    (site / "new.txt").write_text("fresh")
    t = table(site)
    assert call(t, target="/static/new.txt").body == b"fresh"
    assert str(site / "new.txt") not in static_app(t)._files
    (site / "new.txt").write_text("fresher")
    assert call(t, target="/static/new.txt").body == b"fresher"


def test_lru_bound_and_off_switch(site):
    for i in range(5):
        (site / f"f{i}.bin").write_bytes(bytes([i]) * 1000)
        _old(site / f"f{i}.bin")
    app = StaticFiles(str(site), cache_size=2500)
    for i in range(5):
        assert call(app, target=f"/f{i}.bin").body == bytes([i]) * 1000
    assert app._cached_bytes <= 2500 and len(app._files) == 2
    assert set(app._files) == {str(site / "f3.bin"), str(site / "f4.bin")}
    off = StaticFiles(str(site), cache_size=0)
    assert call(off, target="/f1.bin").body == bytes([1]) * 1000
    assert not off._files


def test_large_files_are_not_cached(site):
    (site / "big.bin").write_bytes(b"x" * 70_000)
    _old(site / "big.bin")
    t = table(site)
    assert len(call(t, target="/static/big.bin").body) == 70_000
    assert not static_app(t)._files
