"""The nginx sidecar as a second container of the app's pod, with ``podman kube play``.

Images: an app image made the documented way (FROM skitai-app + COPY, with
static files) and the sidecar image from docker/nginx/Dockerfile built on it;
docker/nginx/pod.yaml is played with only the image names and the host port
changed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from tests.container.helpers import get, make_user_app
from tests.support import ROOT, free_port

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.external]

APP_TAG = "localhost/skitai-test-podapp:latest"
NGINX_TAG = "localhost/skitai-test-nginx:latest"


@pytest.fixture(scope="module")
def pod_images(engine, app_image, nginx_image, tmp_path_factory):
    ctx = tmp_path_factory.mktemp("podapp")
    make_user_app(ctx)
    (ctx / "Dockerfile").write_text(
        f"FROM {app_image}\nCOPY mypkg /app/mypkg\nCOPY static /app/static\n"
        "ENV SKITAI_APP=mypkg.web:app SKITAI_MOUNTS=/demo=skitai.demo:app\n")
    try:
        engine.build(APP_TAG, ctx, ctx / "Dockerfile")
        engine.build(NGINX_TAG, ROOT / "docker" / "nginx", ROOT / "docker" / "nginx" / "Dockerfile",
                     "--build-arg", f"APP_IMAGE={APP_TAG}", "--build-arg", f"NGINX_IMAGE={nginx_image}")
        yield APP_TAG, NGINX_TAG
    finally:
        engine.run("rmi", "-f", APP_TAG, NGINX_TAG, check=False)


def test_sidecar_pod_with_kube_play(engine, pod_images, tmp_path):
    if not engine.podman:
        pytest.fail("this test needs podman (kube play); set CONTAINER_ENGINE=podman")
    app_tag, nginx_tag = pod_images
    port = free_port()
    manifest = (ROOT / "docker" / "nginx" / "pod.yaml").read_text()
    assert "localhost/skitai-app:latest" in manifest and "localhost/skitai-nginx:latest" in manifest
    manifest = (manifest.replace("localhost/skitai-app:latest", app_tag)
                .replace("localhost/skitai-nginx:latest", nginx_tag)
                .replace("hostPort: 8080", f"hostPort: {port}"))
    path = tmp_path / "pod.yaml"
    path.write_text(manifest)
    url = f"http://127.0.0.1:{port}"
    try:
        out = engine.run("kube", "play", str(path), timeout=120).stdout
        pod = re.search(r"Pod:\s*\n([0-9a-f]{12,})", out).group(1)
        names = engine.run("ps", "-a", "--filter", f"pod={pod}", "--format", "{{.Names}}").stdout.split()
        app = next(n for n in names if n.endswith("-app"))
        nginx = next(n for n in names if n.endswith("-nginx"))

        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            try:
                status = get(url + "/readyz", timeout=2)[0]
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.3)
        assert status == 200, engine.logs(app) + engine.logs(nginx)

        # the app, through nginx over the pod's localhost
        assert get(url + "/hello")[1] == "user app at /hello"
        # static files from the app image, served by nginx (the engine never sees them)
        status, body, headers = get(url + "/static/hello.txt")
        assert (status, body) == (200, "static hello\n")
        assert headers["Server"].startswith("nginx")
        # client address passed on
        client = json.loads(get(url + "/demo/api/client")[1])
        assert isinstance(client["x-real-ip"], str) and isinstance(client["x-forwarded-for"], str)
        # WebSocket through the sidecar
        import websockets

        async def echo():
            async with websockets.connect(f"ws://127.0.0.1:{port}/demo/ws/echo", open_timeout=5) as ws:
                await ws.send("pod")
                return await asyncio.wait_for(ws.recv(), 5)

        assert asyncio.run(echo()) == "pod"
        # metrics of the app container through nginx (loopback is allowed)
        deadline = time.monotonic() + 5
        while "skitai_requests_total" not in get(url + "/metrics")[1] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "skitai_requests_total" in get(url + "/metrics")[1]
        deadline = time.monotonic() + 10
        app_logs = engine.logs(app)
        while "GET /hello" not in app_logs and time.monotonic() < deadline:
            time.sleep(0.3)
            app_logs = engine.logs(app)
        assert "GET /hello" in app_logs and "hello.txt" not in app_logs

        # stopping the pod drains the engine: exit code 0
        engine.run("pod", "stop", "-t", "40", pod, timeout=90)
        assert engine.inspect(app)["State"]["ExitCode"] == 0, engine.logs(app)[-2000:]
    finally:
        engine.run("kube", "down", str(path), check=False, timeout=120)
