"""The image built from docker/Dockerfile: metadata, contents, size."""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.container, pytest.mark.slow]


def test_image_metadata(engine, app_image):
    info = engine.inspect(app_image)
    cfg = info["Config"]
    assert cfg["User"] == "10001:10001"
    assert cfg["Entrypoint"] == ["skitai", "serve"]
    assert not cfg.get("Cmd")
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["SKITAI_ADDRESS"] == "0.0.0.0"
    assert "SKITAI_PORT" not in env  # would hide a platform's PORT (SKITAI_* wins over PORT)
    assert env["SKITAI_APP"] == "skitai.demo:app"
    assert float(env["SKITAI_SHUTDOWN_TIMEOUT"]) < 10  # docker stop's default SIGKILL delay
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert "5000/tcp" in cfg["ExposedPorts"]
    labels = cfg["Labels"]
    for key in ("title", "description", "version", "revision", "licenses", "created"):
        assert f"org.opencontainers.image.{key}" in labels, key
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    health = cfg.get("Healthcheck") or info.get("Healthcheck") or {}
    assert health.get("Test") == ["CMD", "python", "-m", "skitai.observability.health"], info.get("Config")


def test_final_stage_is_clean(engine, app_image):
    """No compilers, no pip cache, no wheels or sources, no test files; a non-root user."""
    script = r"""
set -u
id -u; id -g
for tool in gcc cc c++ make ld as; do command -v $tool && echo "FOUND $tool"; done
for d in /wheels /src /opt/build /root/.cache /home/skitai/.cache /tmp/pip*; do [ -e "$d" ] && echo "FOUND $d"; done
find /opt/venv -type d \( -name tests -o -name test \) | sed 's/^/FOUND /'
find /opt /app /home /tmp /var/tmp -name '*.whl' 2>/dev/null | sed 's/^/FOUND /'   # base image's own ensurepip wheels aside
ls -A /app | sed 's/^/FOUND /'
python -c "import skitai, atila, uvloop, prometheus_client, psutil; print('imports ok')"
touch /opt/venv/x 2>/dev/null && echo "FOUND writable venv"
true
"""
    r = engine.run("run", "--rm", "--entrypoint", "sh", app_image, "-c", script)
    lines = r.stdout.split()
    assert lines[:2] == ["10001", "10001"], r.stdout
    assert "FOUND" not in r.stdout, r.stdout
    assert "imports ok" in r.stdout


def test_image_size_is_recorded_in_readme(engine, app_image):
    size_mb = engine.inspect(app_image)["Size"] / 1e6
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deployment"):]
    m = re.search(r"image size[^\d]*(\d+) MB", section, re.I)
    assert m, "README Deployment section must record the image size as 'image size ... NNN MB'"
    recorded = int(m.group(1))
    assert abs(recorded - size_mb) / size_mb < 0.15, (recorded, size_mb)
