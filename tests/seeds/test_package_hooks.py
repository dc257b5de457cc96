"""Atila docs 3.2-3.4 and 5.1 through a real server: --devel, __config__ (pref + extra skitai.mount),
__setup__, __mount__, __umounted__ at shutdown."""

from __future__ import annotations

import time

from .conftest import launch


def test_devel_flag_turns_on_debug():
    with launch("devel.py") as c:
        assert c.get("/").json() == {"devel": False, "debug": False}
        assert "traceback" not in c.get("/boom").json()
    with launch("devel.py", "--devel") as c:
        assert c.get("/").json() == {"devel": True, "debug": True}
        r = c.get("/boom", headers={"Accept": "application/json"})
        assert r.status_code == 500 and r.json()["traceback"]


def test_package_hooks(tmp_path):
    import skitai

    from .conftest import APPS

    log = tmp_path / "hooks.log"
    with skitai.test_client(str(APPS / "serve_hookpkg.py"), args=["--workers", "1"], cwd=str(APPS),
                            env={"SEED_HOOK_LOG": str(log)}) as c:
        assert c.get("/").json() == {"config": "yes", "resource": "pool"}
        assert c.get("/assets/a.txt").text == "hello static\n"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "umounted" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.1)
    assert log.read_text().split() == ["setup", "umounted"]


def test_bootstrap_next_to_app_file():
    """[000] ``bootstrap (pref)`` in the ``__init__.py`` next to ``app.py``."""
    import skitai

    from .conftest import APPS

    with skitai.test_client(str(APPS / "boot" / "serve.py"), args=["--workers", "1"]) as c:
        assert c.get("/v1/").json() == {"urllist": ["http://a.example", "http://b.example"]}
