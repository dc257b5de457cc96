"""Static cache options over real HTTP (engine: master + worker).

``skitai.mount(..., cache_size=, cache_max_file=)`` and the ``static_cache_size`` /
``static_cache_max_file`` preferences reach StaticFiles and change what a client sees:
with the cache on an edit shows only after the 1 s re-check, with ``cache_size=0``
(or a file above ``cache_max_file``) at once. Bad values stop the start with one line
naming the option.
"""

import os
import subprocess
import sys
import time

import httpx
import pytest

from skitai.mounts.static import StaticFiles
from tests.support import ROOT, ServerProcess, free_port

OLD = time.time() - 3600  # files newer than 2 s are never cached


def _file(path, data: bytes):
    path.write_bytes(data)
    os.utime(path, (OLD, OLD))


SCRIPT = """
import skitai

skitai.mount("/on", "on")                                   # defaults: 16M, 64K
skitai.mount("/off", "off", cache_size=0)
skitai.mount("/small", "small", cache_max_file="1K")
skitai.mount("/big", "big", cache_max_file=256 * 1024, cache_size="1M")

if __name__ == "__main__":
    skitai.run(port={port}, workers=1)
"""


def _edit_is_stale(client, url, path, n) -> bool:
    """Cache a fresh file, rewrite it (same size) and fetch at once: True when the old body came back.

    A few attempts with new files: an attempt only counts when the second fetch
    came within the 1 s re-check (a loaded machine may be slower than that).
    """
    for i in range(3):
        name = f"{path.name}{i}"
        target = path.parent / name
        _file(target, b"A" * n)
        get = url + name
        assert client.get(get).content == b"A" * n
        started = time.monotonic()
        assert client.get(get).content == b"A" * n  # a hit when the cache is on
        target.write_bytes(b"B" * n)
        body = client.get(get).content
        if time.monotonic() - started < 0.8:
            return body == b"A" * n
        assert body in (b"A" * n, b"B" * n)
    pytest.fail("no attempt finished within the 1 s re-check")


def test_mount_options_change_caching_over_http(tmp_path):
    port = free_port()
    for d in ("on", "off", "small", "big"):
        (tmp_path / d).mkdir()
    (tmp_path / "serve.py").write_text(SCRIPT.replace("{port}", str(port)))
    huge = os.urandom(300 * 1024)
    _file(tmp_path / "small" / "huge.bin", huge)
    with ServerProcess(["serve.py"], port, cwd=tmp_path) as srv, httpx.Client(base_url=srv.url) as c:
        # default: a small file is cached, an edit shows only after the re-check
        assert _edit_is_stale(c, "/on/", tmp_path / "on" / "a.txt", 100)
        # cache_size=0: every edit is served at once
        for i in range(3):
            _file(tmp_path / "off" / "a.txt", b"%d" % i * 50)
            assert c.get("/off/a.txt").content == b"%d" % i * 50
            assert c.get("/off/a.txt").content == b"%d" % i * 50
        assert not _edit_is_stale(c, "/off/", tmp_path / "off" / "b.txt", 100)
        # cache_max_file=1K: 100 bytes cached, 4 KiB not (fresh at once), 300 KiB sent whole (sendfile)
        assert _edit_is_stale(c, "/small/", tmp_path / "small" / "s.txt", 100)
        assert not _edit_is_stale(c, "/small/", tmp_path / "small" / "m.txt", 4096)
        r = c.get("/small/huge.bin")
        assert r.status_code == 200 and r.headers["content-length"] == str(len(huge)) and r.content == huge
        # cache_max_file above 64K: a 100 KiB file is kept in memory too
        assert _edit_is_stale(c, "/big/", tmp_path / "big" / "l.bin", 100 * 1024)
        assert srv.proc.poll() is None, srv.output()[-2000:]


def test_preference_turns_the_cache_off_for_serve(tmp_path):
    """SKITAI_STATIC_CACHE_SIZE=0 with `skitai serve` (mounts from SKITAI_MOUNTS take no options)."""
    port = free_port()
    (tmp_path / "www").mkdir()
    env = {"SKITAI_MOUNTS": f"/s={tmp_path / 'www'}", "SKITAI_STATIC_CACHE_SIZE": "0", "SKITAI_WORKERS": "1"}
    with ServerProcess(["-m", "skitai", "serve", "--port", str(port)], port, env=env, cwd=tmp_path) as srv, \
            httpx.Client(base_url=srv.url) as c:
        assert not _edit_is_stale(c, "/s/", tmp_path / "www" / "a.txt", 100)
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "--port", str(port)], port, env={**env, "SKITAI_STATIC_CACHE_SIZE": "8M"},
                       cwd=tmp_path) as srv, httpx.Client(base_url=srv.url) as c:
        assert _edit_is_stale(c, "/s/", tmp_path / "www" / "b.txt", 100)


@pytest.mark.parametrize("option, value", [("cache_size", "'lots'"), ("cache_max_file", "-1"),
                                           ("cache_size", "True")])
def test_bad_mount_option_stops_the_start_naming_it(tmp_path, option, value):
    port = free_port()
    (tmp_path / "www").mkdir()
    (tmp_path / "serve.py").write_text(
        f"import skitai\nskitai.mount('/s', 'www', {option}={value})\nskitai.run(port={port}, workers=1)\n")
    with ServerProcess(["serve.py"], port, cwd=tmp_path, wait=False) as srv:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and srv.proc.poll() is None:
            time.sleep(0.2)
        out = srv.output()
        assert srv.proc.poll() not in (None, 0), out[-2000:]
        assert "mount '/s'" in out and f"{option}=" in out and "bytes >= 0" in out, out[-2000:]


def test_bad_preference_is_a_config_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "skitai", "config"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT), "SKITAI_STATIC_CACHE_MAX_FILE": "big"})
    assert r.returncode == 2 and "static_cache_max_file" in r.stderr and "SKITAI_STATIC_CACHE_MAX_FILE" in r.stderr


def test_static_files_accepts_size_strings(tmp_path):
    app = StaticFiles(str(tmp_path), cache_size="2M", cache_max_file="512k")
    assert (app.cache_size, app.cache_max_file) == (2 << 20, 512 << 10)
    with pytest.raises(ValueError, match="cache_max_file"):
        StaticFiles(str(tmp_path), cache_max_file="1 banana")
