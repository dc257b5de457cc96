"""A seed-style script served by the real engine (master + worker): mounts load in the worker,
paths are relative to the script's directory, and SIGHUP picks up new code."""

import signal
import textwrap
import time

import httpx

from tests.support import ServerProcess, free_port

SCRIPT = """
import skitai

skitai.mount("/", "static")                       # a static dir and an app share "/"
skitai.mount("/", "app_v1/app.py", "app")
skitai.mount("/v2", "app_v2")                      # module path without .py
skitai.mount("/hosted", "app_v1/app.py", "app", host="site1.test")

if __name__ == "__main__":
    skitai.run(port={port}, workers=1, threads=2)
"""

APP_V1 = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"{version} " + environ["SCRIPT_NAME"].encode() + b"|" + environ["PATH_INFO"].encode()]
"""


def write_site(d, port, version="v1"):
    (d / "static").mkdir(exist_ok=True)
    (d / "static" / "robots.txt").write_text("User-agent: *\n")
    (d / "app_v1").mkdir(exist_ok=True)
    (d / "app_v1" / "app.py").write_text(APP_V1.replace("{version}", version))
    (d / "app_v2.py").write_text(textwrap.dedent("""
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": ("asgi " + scope["root_path"]).encode()})
    """))
    (d / "serve.py").write_text(SCRIPT.replace("{port}", str(port)))


def test_seed_script_mounts_and_reload(tmp_path):
    port = free_port()
    write_site(tmp_path, port)
    with ServerProcess(["serve.py"], port, cwd=tmp_path) as srv:
        base = srv.url
        assert httpx.get(base + "/robots.txt").text == "User-agent: *\n"
        assert httpx.get(base + "/x/y").text == "v1 |/x/y"
        assert httpx.get(base + "/v2/a").text == "asgi /v2"
        r = httpx.get(base + "/hosted/z", headers={"Host": "site1.test"})
        assert r.text == "v1 /hosted|/z"
        # new code + SIGHUP: the replacement worker imports the file again
        (tmp_path / "app_v1" / "app.py").write_text(APP_V1.replace("{version}", "v9"))
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            try:
                text = httpx.get(base + "/x/y", timeout=2).text
            except httpx.HTTPError:
                pass
            if text.startswith("v9"):
                break
            time.sleep(0.2)
        assert text == "v9 |/x/y", srv.output()[-2000:]


def test_broken_mount_names_the_mount(tmp_path):
    port = free_port()
    (tmp_path / "serve.py").write_text(
        "import skitai\nskitai.mount('/broken', 'nope_missing.py')\n"
        f"skitai.run(port={port}, workers=1)\n")
    with ServerProcess(["serve.py"], port, cwd=tmp_path, wait=False) as srv:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and srv.proc.poll() is None:
            time.sleep(0.2)
        out = srv.output()
        assert "mount '/broken'" in out and "nope_missing.py" in out, out[-2000:]


def test_script_mounting_its_own_file(tmp_path):
    """skitai.mount('/', __file__, 'app'): the app comes from the running script, run only once."""
    port = free_port()
    (tmp_path / "single.py").write_text(textwrap.dedent(f"""
        import os
        import skitai

        RUNS = os.environ.setdefault("SINGLE_RUNS", "") + "x"
        os.environ["SINGLE_RUNS"] = RUNS

        def app(environ, start_response):
            start_response("200 OK", [])
            return [("runs=" + RUNS + " " + __name__).encode()]

        skitai.mount("/", __file__, "app")
        if __name__ == "__main__":
            skitai.run(port={port}, workers=1)
    """))
    with ServerProcess(["single.py"], port, cwd=tmp_path) as srv:
        assert httpx.get(srv.url + "/").text == "runs=x __main__"
