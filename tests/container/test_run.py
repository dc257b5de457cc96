"""Running the image: the demo, a user's app (env + volume, FROM + COPY), env preferences,
a bad value, SIGTERM during load."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import threading
import time

import pytest

from tests.container.helpers import get, make_user_app

pytestmark = [pytest.mark.container, pytest.mark.slow]

def engine_lines(text: str) -> list[str]:
    """Output without podman's own log lines (healthcheck timers need systemd)."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("time=")]


def test_demo_is_served_with_probes_and_metrics(engine, app_image, container_factory):
    with container_factory(app_image) as c:
        c.wait_http("/healthz")
        status, body, _ = get(c.url + "/")
        assert status == 200 and "Skitai is running" in body
        assert json.loads(get(c.url + "/api/hello?name=box")[1])["hello"] == "box"
        assert get(c.url + "/static/style.css")[0] == 200  # the demo's static dir is in the wheel
        assert get(c.url + "/readyz")[0] == 200
        get(c.url + "/api/error")
        # counts reach /metrics within a second, whichever worker answers the scrape
        deadline = time.monotonic() + 5
        while True:
            status, text, headers = get(c.url + "/metrics")
            if 'status="5xx"} 1.0' in text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert re.search(r'skitai_requests_total\{method="GET",mount="/",status="2xx"\} [1-9]', text), text
        assert re.search(r'skitai_requests_total\{method="GET",mount="/",status="5xx"\} 1\.0', text)
        # the image's HEALTHCHECK works (run on demand: timers need systemd)
        assert engine.run("healthcheck", "run", c.name, check=False).returncode == 0
        assert engine.run("exec", c.name, "id", "-u").stdout.strip() == "10001"
        logs = c.logs()
        # the effective configuration is printed once, with the source of each value
        assert logs.count("skitai configuration:") == 1
        assert re.search(r"address\s+0\.0\.0\.0\s+\(env SKITAI_ADDRESS\)", logs), logs
        assert re.search(r"app\s+skitai\.demo:app\s+\(env SKITAI_APP\)", logs)
        # probes are not in the access log, requests are
        assert "GET /api/hello" in logs and "GET /healthz" not in logs and "GET /readyz" not in logs


def test_user_app_from_env_and_volume_with_mounts(app_image, container_factory, tmp_path):
    make_user_app(tmp_path)
    env = {"SKITAI_APP": "mypkg.web:app", "SKITAI_MOUNTS": "/static=/app/static;/demo=skitai.demo:app"}
    with container_factory(app_image, "-v", f"{tmp_path}:/app:ro", env=env) as c:
        c.wait_http("/healthz")
        assert get(c.url + "/anything")[:2] == (200, "user app at /anything")
        assert get(c.url + "/static/hello.txt")[1] == "static hello\n"
        assert json.loads(get(c.url + "/demo/api/hello")[1])["hello"] == "world"
        # request metrics are labelled by the mount that served them
        deadline = time.monotonic() + 5
        text = ""
        while 'mount="/demo"' not in text and time.monotonic() < deadline:
            text = get(c.url + "/metrics")[1]
            time.sleep(0.2)
        assert re.search(r'skitai_requests_total\{method="GET",mount="/demo",status="2xx"\} 1\.0', text), text


def test_from_image_copy_ships_an_app(engine, app_image, container_factory, tmp_path):
    make_user_app(tmp_path)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {app_image}\nCOPY mypkg /app/mypkg\nENV SKITAI_APP=mypkg.web:app SKITAI_WORKERS=1\n")
    tag = "localhost/skitai-test-derived:latest"
    try:
        engine.build(tag, tmp_path, tmp_path / "Dockerfile")
        with container_factory(tag) as c:
            c.wait_http("/healthz")
            assert get(c.url + "/x")[1] == "user app at /x"
            assert get(c.url + "/readyz")[0] == 200
    finally:
        engine.run("rmi", "-f", tag, check=False)


def test_env_preferences_apply_and_secrets_are_masked(app_image, container_factory):
    env = {"SKITAI_WORKERS": "2", "SKITAI_HEALTH_PATH": "/live", "SKITAI_READY_PATH": "/ready",
           "SKITAI_SSL_PASSPHRASE": "hunter2-secret", "SKITAI_LOG_FORMAT": "json"}
    with container_factory(app_image, env=env) as c:
        c.wait_http("/live")
        assert get(c.url + "/ready")[0] == 200
        get(c.url + "/api/hello")
        deadline = time.monotonic() + 10
        logs = c.logs()
        while '"/api/hello"' not in logs and time.monotonic() < deadline:
            time.sleep(0.3)
            logs = c.logs()
        assert re.search(r"workers\s+2\s+\(env SKITAI_WORKERS\)", logs), logs
        assert re.search(r"ssl_passphrase\s+\*+\s+\(env SKITAI_SSL_PASSPHRASE\)", logs)
        assert "hunter2-secret" not in logs
        assert any(ln.startswith("{") and '"/api/hello"' in ln for ln in logs.splitlines()), logs
        text = get(c.url + "/metrics")[1]
        workers = set(re.findall(r'skitai_worker_rss_bytes\{pid="\d+",worker="(\d+)"\}', text))
        deadline = time.monotonic() + 10
        while workers != {"0", "1"} and time.monotonic() < deadline:
            time.sleep(0.5)
            workers = set(re.findall(r'skitai_worker_rss_bytes\{pid="\d+",worker="(\d+)"\}',
                                     get(c.url + "/metrics")[1]))
        assert workers == {"0", "1"}


def test_platform_port_variable_is_honoured(engine, app_image, container_factory):
    """PORT (Cloud Run, Heroku style) moves the listener, and the HEALTHCHECK follows it."""
    with container_factory(app_image, env={"PORT": "8080", "SKITAI_WORKERS": "1"}, container_port=8080) as c:
        c.wait_http("/healthz")
        assert get(c.url + "/api/hello")[0] == 200
        assert engine.run("healthcheck", "run", c.name, check=False).returncode == 0
        assert re.search(r"port\s+8080\s+\(env PORT\)", c.logs())


def test_bad_value_stops_the_container_with_exit_code_2(engine, app_image):
    name = f"skitai-test-bad-{os.getpid()}"
    try:
        r = engine.run("run", "--name", name, "-e", "SKITAI_WORKERS=lots", app_image, check=False, timeout=60)
        assert r.returncode == 2, r.stdout + r.stderr
        lines = engine_lines(engine.logs(name))
        assert len(lines) == 1, lines
        assert "SKITAI_WORKERS" in lines[0] and "lots" in lines[0]
    finally:
        engine.rm(name)


class LoadGenerator:
    """Keep-alive clients that record when each request was sent and how it ended."""

    def __init__(self, port: int, clients: int = 6, path: str = "/api/slow?ms=300") -> None:
        self.port = port
        self.path = path
        self.results: list[tuple[float, float, object]] = []  # (sent, done, status or exception)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        conn = None
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            sent = time.monotonic()
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                resp.read()
                outcome: object = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                outcome = exc
                conn.close()
                conn = None
                time.sleep(0.05)
            with self.lock:
                self.results.append((sent, time.monotonic(), outcome))

    def __enter__(self) -> LoadGenerator:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_sigterm_under_load_finishes_accepted_requests_and_exits_0(engine, app_image, container_factory):
    env = {"SKITAI_WORKERS": "2"}   # the image's SKITAI_SHUTDOWN_TIMEOUT (8 s)
    with container_factory(app_image, env=env) as c:
        c.wait_http("/readyz")
        with LoadGenerator(c.port) as load:
            time.sleep(1.5)
            t_stop = time.monotonic()
            r = engine.run("stop", "-t", "30", c.name, timeout=60)   # SIGTERM, SIGKILL only after 30 s
            stop_took = time.monotonic() - t_stop
            time.sleep(0.3)
        state = c.state()
        before = [x for x in load.results if x[0] < t_stop]
        failed = [x for x in before if x[2] != 200]
        assert len(before) >= 12, f"the load generator sent too little: {len(before)}"
        assert not failed, f"{len(failed)} of {len(before)} requests accepted before the stop failed: {failed[:3]}"
        # requests in flight at the stop were answered after it (drained, not cut)
        assert any(x[0] < t_stop < x[1] and x[2] == 200 for x in load.results)
        assert state["ExitCode"] == 0, (state, r.stdout, c.logs()[-2000:])
        assert stop_took < 8, f"stop took {stop_took:.1f}s, longer than shutdown_timeout"
        assert "master stopped exit=0" in c.logs() or state["ExitCode"] == 0


def test_image_runs_read_only_with_tmpfs(app_image, container_factory):
    """Hardened runs work: read-only root filesystem (metrics files go to the /tmp tmpfs)."""
    with container_factory(app_image, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                           env={"SKITAI_WORKERS": "1"}) as c:
        c.wait_http("/healthz")
        get(c.url + "/api/hello")
        assert "skitai_requests_total" in get(c.url + "/metrics")[1]


def test_stand_in_base_image_script_is_idempotent(engine, base_image):
    r = subprocess.run(["bash", "tests/container/make_base_image.sh", "python"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "ENGINE": engine.name})
    assert r.returncode == 0 and "exists" in r.stdout
