"""test_client and the preferences against the real engine (skitai serve / a seed-style script)."""

from __future__ import annotations

import os
import textwrap

import pytest

from skitai.testing import test_client
from tests.support import ROOT, ServerProcess, free_port

DEMO = str(ROOT / "examples" / "demo" / "app.py")
ONE = ["--workers", "1"]


def test_client_with_skitai_serve_module_spec():
    with test_client("tests.testing.tinyapp:app", args=ONE, cwd=str(ROOT)) as c:
        r = c.get("/json", params={"a": "1"})
        assert r.status_code == 200 and r.json() == {"hello": "world", "query": {"a": ["1"]}}
        out = c.post("/echo", json={"k": [1, 2]}).json()
        assert out["method"] == "POST" and out["body"] == '{"k": [1, 2]}'
        c.get("/cookie/set", params={"sid": "42"})
        assert c.get("/cookie/get").json()["cookie"] == "sid=42"
        # the engine ran the app's lifespan startup and gave the request its state and a gtxnid
        state = c.get("/state").json()
        assert state["started"] is True and state["gtxnid"].startswith("GTID-")
        assert c.get("/redirect").json()["query"] == {"from": ["redirect"]}
        assert c.get("/file").text == "hello from a file\n"
        assert c.head("/json").content == b""


def test_demo_script_serves_json_and_static():
    with test_client(DEMO, args=ONE) as c:
        r = c.get("/api/hello", params={"name": "test"})
        assert r.status_code == 200 and r.json()["message"] == "Hello, test!"
        assert c.post("/api/echo", json={"x": 1}).json() == {"you_sent": {"x": 1}}
        assert c.post("/api/echo", data=b"not json").status_code == 400
        assert c.get("/api/nope").status_code == 404
        page = c.get("/")
        assert page.status_code == 200 and "Skitai demo" in page.text
        assert page.headers["content-type"].startswith("text/html")
        assert c.get("/style.css").headers["content-type"].startswith("text/css")


def _script(tmp_path, port_in_code):
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(f"""
        import skitai
        from tests.testing.tinyapp import app
        skitai.mount("/", app)
        skitai.run(port={port_in_code}, workers=1)
    """))
    return str(path)


@pytest.mark.parametrize("layers", ["code", "PORT", "env", "argv"])
def test_precedence_decides_the_listening_port(tmp_path, layers):
    code, port_env, skitai_env, argv = free_port(), free_port(), free_port(), free_port()
    env = {"PYTHONPATH": str(ROOT)}
    args = [_script(tmp_path, code)]
    expect = code
    if layers in ("PORT", "env", "argv"):
        env["PORT"] = str(port_env)
        expect = port_env
    if layers in ("env", "argv"):
        env["SKITAI_PORT"] = str(skitai_env)
        expect = skitai_env
    if layers == "argv":
        args += ["--port", str(argv)]
        expect = argv
    with ServerProcess(args, port=expect, env=env, cwd=tmp_path) as server:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{expect}/json", timeout=10) as r:
            assert r.status == 200
        assert server.proc.poll() is None


def test_skitai_mounts_and_app_from_the_environment():
    port = free_port()
    env = {"SKITAI_APP": "tests.testing.tinyapp:app",
           "SKITAI_MOUNTS": f"/files={ROOT / 'tests' / 'testing' / 'static'}",
           "SKITAI_WORKERS": "1", "SKITAI_PORT": str(port)}
    with ServerProcess(["-m", "skitai", "serve"], port=port, env=env) as server:
        import urllib.request

        with urllib.request.urlopen(f"{server.url}/files/hello.txt", timeout=10) as r:
            assert r.read() == b"hello from a file\n"
        with urllib.request.urlopen(f"{server.url}/json", timeout=10) as r:
            assert r.status == 200


def test_web_concurrency_sets_the_worker_count():
    port = free_port()
    env = {"WEB_CONCURRENCY": "2", "SKITAI_PORT": str(port)}
    with ServerProcess(["-m", "skitai", "serve", "tests.testing.tinyapp:app"], port=port, env=env) as server:
        import time
        import urllib.request

        pids = set()
        deadline = time.monotonic() + 10
        while len(pids) < 2 and time.monotonic() < deadline:
            # children of the master are the workers
            with open(f"/proc/{server.pid}/task/{server.pid}/children") as f:
                pids = set(f.read().split())
            time.sleep(0.1)
        assert len(pids) == 2, pids
        with urllib.request.urlopen(f"{server.url}/json", timeout=10) as r:
            assert r.status == 200
    assert os.path.exists(ROOT)


def test_dumbseek_tutorial_acceptance_through_its_launch_script():
    """The newest Atila seed's own test: skitai.test_client on the tutorial's skitaid.py."""
    script = str(ROOT / "examples" / "dumbseek" / "skitaid.py")
    with test_client(script, args=ONE) as engine:
        assert engine.get("/").json()["app"] == "Dumb Seek"
        r = engine.post("/api/tokens", data={"query": "Detective Holmes"})
        assert r.json()["result"] == ["detective", "holmes"]
        r = engine.post("/api/documents", data={"document": "Detective Holmes"})
        assert r.status_code == 201 and r.json()["url"] == "/api/documents/0"
        r = engine.get("/api/documents", params={"q": "Detective Holmes"})
        assert r.json()["result"] == ["Detective Holmes"]
        assert engine.get("/api/documents/0").json()["document"] == "Detective Holmes"
        engine.post("/api/documents", data={"document": "Detective Monk"})
        r = engine.get("/api/documents", params={"q": "detective"})
        assert r.json()["result"] == ["Detective Holmes", "Detective Monk"]


def test_client_reconnects_after_the_server_closed_an_idle_connection():
    import time

    with test_client("tests.testing.tinyapp:app", args=[*ONE, "--keep-alive", "0.3"], cwd=str(ROOT)) as c:
        assert c.get("/json").status_code == 200
        (first,) = c._conns.values()
        time.sleep(2.5)  # the engine closes the idle keep-alive connection meanwhile
        assert c.post("/echo", data=b"again").json()["body"] == "again"
        (second,) = c._conns.values()
        assert second is not first  # the client noticed the close and reconnected once


def test_direct_test_client_does_not_let_the_working_directory_shadow_packages():
    """``skitai.testing.test_client`` (not only ``skitai.test_client``) runs a script with its own
    directory first on sys.path: from ``tests/`` the ``tests/atila`` directory must not shadow the
    ``atila`` package the script imports."""
    script = str(ROOT / "examples" / "dumbseek" / "skitaid.py")
    with test_client(script, args=ONE, cwd=str(ROOT / "tests")) as engine:
        assert engine.get("/").json() == {"app": "Dumb Seek"}


def test_direct_test_client_finds_a_script_relative_to_the_calling_test(monkeypatch, tmp_path):
    """Both entry points share one code path: a relative script path missing from the working
    directory is looked up next to the calling test file."""
    monkeypatch.chdir(tmp_path)
    with test_client("../../examples/dumbseek/skitaid.py", args=ONE) as engine:
        assert engine.get("/").json() == {"app": "Dumb Seek"}
