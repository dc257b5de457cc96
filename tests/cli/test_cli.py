"""The command line as a real subprocess: help, config, and exit code 2 with one line for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from skitai.config.settings import SETTINGS
from tests.support import PYTHON, ROOT


def run(args, env=None, cwd=None, timeout=30):
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("SKITAI_") and k not in ("PORT", "WEB_CONCURRENCY")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([PYTHON, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd or ROOT, timeout=timeout)


def test_help_lists_commands():
    out = run(["-m", "skitai", "--help"])
    assert out.returncode == 0
    assert "skitai serve" in out.stdout and "skitai config" in out.stdout


def test_serve_help_lists_every_setting():
    out = run(["-m", "skitai", "serve", "--help"])
    assert out.returncode == 0
    for s in SETTINGS:
        assert s.flag in out.stdout and s.env in out.stdout, s.name


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(PYTHON), "skitai")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("skitai ")


def test_config_prints_effective_values_and_sources():
    out = run(["-m", "skitai", "config", "pkg.mod:app", "--workers", "3"],
              env={"SKITAI_THREADS": "6", "PORT": "8123", "SKITAI_SSL_PASSPHRASE": "hunter2"})
    assert out.returncode == 0, out.stderr
    assert "mounts:\n  / -> pkg.mod:app\n" in out.stdout
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines()[1:] if ln.strip()}
    assert "3" in lines["workers"] and "(command line --workers)" in lines["workers"]
    assert "6" in lines["threads"] and "(env SKITAI_THREADS)" in lines["threads"]
    assert "8123" in lines["port"] and "(env PORT)" in lines["port"]
    assert "pkg.mod:app" in lines["app"] and "(command line --app)" in lines["app"]
    assert "hunter2" not in out.stdout


BAD = [
    ({"SKITAI_WORKERS": "two"}, [], "workers", "env SKITAI_WORKERS"),
    ({"SKITAI_WORKRES": "2"}, [], "SKITAI_WORKRES", "environment"),
    ({}, ["--port", "70000"], "port", "command line --port"),
    ({"PORT": "99999"}, [], "port", "env PORT"),
    ({"SKITAI_MAX_BODY_SIZE": "lots"}, [], "max_body_size", "env SKITAI_MAX_BODY_SIZE"),
    ({}, ["--keep-alive", "soon"], "keep_alive", "command line --keep-alive"),
    ({}, ["--no-such-thing", "1"], "--no-such-thing", "command line"),
]


@pytest.mark.parametrize("env,argv,setting,source", BAD)
def test_serve_bad_value_exits_2_with_one_line(env, argv, setting, source):
    out = run(["-m", "skitai", "serve", "tests.apps.nothing:app", *argv], env=env)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert setting in lines[0] and source in lines[0] and "accepted: " in lines[0]
    assert "Traceback" not in out.stderr


def test_serve_without_app_exits_2():
    out = run(["-m", "skitai", "serve"])
    assert out.returncode == 2 and "app" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unknown_command_exits_2():
    out = run(["-m", "skitai", "frobnicate"])
    assert out.returncode == 2 and "frobnicate" in out.stderr


def _script(tmp_path, body):
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.parametrize("run_args,env,argv,setting,source", [
    ('workers="two"', {}, [], "workers", "code"),
    ("port=5000", {"SKITAI_PORT": "http"}, [], "port", "env SKITAI_PORT"),
    ("port=5000", {}, ["--workers", "-3"], "workers", "command line --workers"),
    ("wrkers=2", {}, [], "wrkers", "code"),
    ("port=5000", {}, ["-x"], "'-x'", "command line"),
])
def test_script_bad_value_exits_2_with_one_line(tmp_path, run_args, env, argv, setting, source):
    script = _script(tmp_path, f"""
        import skitai
        skitai.run({run_args})
    """)
    out = run([str(script), *argv], env=env, cwd=tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and setting in lines[0] and source in lines[0], out.stderr


def test_run_changes_to_the_script_directory(tmp_path):
    # a bad value makes run() stop right after it resolved; the marker file shows where it ran
    script = _script(tmp_path, """
        import os, skitai
        open(os.path.join(os.path.dirname(__file__), "swd.txt"), "w").write(
            skitai.getswd() + "\\n" + skitai.abspath("static"))
        import atexit
        atexit.register(lambda: open("cwd.txt", "w").write(os.getcwd()))
        skitai.run(workers="bad")
    """)
    out = run([str(script)], cwd="/")
    assert out.returncode == 2
    swd, static = (tmp_path / "swd.txt").read_text().splitlines()
    assert swd == str(tmp_path) and static == str(tmp_path / "static")
    assert (tmp_path / "cwd.txt").read_text() == str(tmp_path)


def test_script_help(tmp_path):
    script = _script(tmp_path, "import skitai\nskitai.run()\n")
    out = run([str(script), "--help"], cwd=tmp_path)
    assert out.returncode == 0 and "--workers" in out.stdout


def test_import_is_cheap():
    code = ("import sys, skitai; heavy = [m for m in ('asyncio', 'skitai.config', 'skitai.mounts', "
            "'skitai.process', 'skitai.server', 'http.client', 'json') if m in sys.modules]; print(heavy)")
    out = run(["-c", code])
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout


def test_python_dash_m_skitai_is_the_cli():
    out = run(["-m", "skitai", "--version"])
    assert out.returncode == 0 and out.stdout.startswith("skitai ")
    assert sys.executable


def test_serve_prints_the_effective_configuration_once(tmp_path):
    from tests.support import ServerProcess, free_port

    port = free_port()
    env = {"SKITAI_SSL_PASSPHRASE": "hunter2", "SKITAI_WORKERS": "1"}
    with ServerProcess(["-m", "skitai", "serve", "tests.testing.tinyapp:app", "--port", str(port)],
                       port=port, env=env) as server:
        out = server.output()
    assert out.count("skitai configuration:") == 1
    assert "(command line --port)" in out and "(env SKITAI_WORKERS)" in out
    assert "hunter2" not in out


def test_serve_status_needs_no_app(tmp_path):
    out = run(["-m", "skitai", "serve", "status", "--pidfile", str(tmp_path / "none.pid")])
    assert out.returncode == 3 and "not running" in out.stdout + out.stderr
