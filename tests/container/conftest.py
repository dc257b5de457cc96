"""Session fixtures for the container tests: engine, stand-in base images, the built image.

The base image is made once from Debian packages when it is missing (no
registry is reachable on CI machines, see tests/container/make_base_image.sh),
and ``skitai-app`` is built once per session with the real docker/Dockerfile.
Every container a test starts is removed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support import ROOT, free_port, wait_port

IMAGE = "localhost/skitai-app:latest"
NGINX_IMAGE = "docker.io/library/nginx:1.22"
HERE = Path(__file__).resolve().parent


def _engine_name() -> str:
    name = os.environ.get("CONTAINER_ENGINE")
    if name:
        return name
    if shutil.which("podman"):
        return "podman"
    if shutil.which("docker"):
        return "docker"
    raise RuntimeError("required tool 'podman' (or 'docker') is not installed; .ci/run installs podman")


class Engine:
    """A thin wrapper over the podman/docker command line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.podman = os.path.basename(name) == "podman"

    def run(self, *args: str, check: bool = True, timeout: float = 300, input: str | None = None
            ) -> subprocess.CompletedProcess:
        r = subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def build(self, tag: str, context: Path, dockerfile: Path, *extra: str) -> subprocess.CompletedProcess:
        args = ["build", "-t", tag, "-f", str(dockerfile)]
        if self.podman:
            # HEALTHCHECK only exists in the docker image format; the build reaches the
            # package index through the host's network and CA bundle (shared recipes).
            args += ["--format", "docker", "--network", "host"]
            ca = "/etc/ssl/certs/ca-certificates.crt"
            if os.path.exists(ca):
                args += ["--volume", f"{ca}:{ca}:ro"]
            ignore = Path(str(dockerfile) + ".dockerignore")
            if ignore.exists():
                args += ["--ignorefile", str(ignore)]
        return self.run(*args, *extra, str(context), timeout=900)

    def inspect(self, what: str) -> dict:
        return json.loads(self.run("inspect", what).stdout)[0]

    def logs(self, name: str) -> str:
        r = self.run("logs", name, check=False)
        return r.stdout + r.stderr

    def rm(self, *names: str) -> None:
        if names:
            self.run("rm", "-f", *names, check=False, timeout=60)


@pytest.fixture(scope="session")
def engine() -> Engine:
    name = _engine_name()
    if not shutil.which(name):
        raise RuntimeError(f"required tool '{name}' is not installed; .ci/run installs podman")
    return Engine(name)


def _make_base(engine: Engine, kind: str) -> None:
    r = subprocess.run(["bash", str(HERE / "make_base_image.sh"), kind], capture_output=True, text=True,
                       timeout=600, env={**os.environ, "ENGINE": engine.name})
    assert r.returncode == 0, f"making the {kind} base image failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    _make_base(engine, "python")
    return "python:3.11-slim-bookworm"


@pytest.fixture(scope="session")
def nginx_image(engine: Engine) -> str:
    _make_base(engine, "nginx")
    return NGINX_IMAGE


@pytest.fixture(scope="session")
def app_image(engine: Engine, base_image: str) -> str:
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "unknown"
    old = engine.run("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    t = time.monotonic()
    engine.build(IMAGE, ROOT, ROOT / "docker" / "Dockerfile", "--build-arg", f"REVISION={revision}")
    print(f"built {IMAGE} in {time.monotonic() - t:.1f}s")
    new = engine.run("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    if old and old != new:
        engine.run("rmi", old, check=False)  # our previous build, now untagged (refused while in use)
    return IMAGE


class Container:
    """``podman run -d`` with a published 127.0.0.1 port; removed on exit."""

    def __init__(self, engine: Engine, image: str, *args: str, env: dict | None = None,
                 publish: bool = True, container_port: int = 5000, command: tuple = ()) -> None:
        self.engine = engine
        self.name = f"skitai-test-{uuid.uuid4().hex[:10]}"
        self.port = free_port() if publish else None
        cmd = ["run", "-d", "--name", self.name]
        if publish:
            cmd += ["-p", f"127.0.0.1:{self.port}:{container_port}"]
        for k, v in (env or {}).items():
            cmd += ["-e", f"{k}={v}"]
        cmd += [*args, image, *command]
        self.cmd = cmd

    def __enter__(self) -> Container:
        try:
            self.engine.run(*self.cmd)
        except BaseException:
            self.engine.rm(self.name)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.engine.rm(self.name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict:
        return self.engine.inspect(self.name)["State"]

    def logs(self) -> str:
        return self.engine.logs(self.name)

    def wait_http(self, path: str = "/healthz", timeout: float = 30.0) -> None:
        """Wait until ``path`` answers 200 (the port alone may be open before the engine is)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.state().get("Running"):
                raise AssertionError(f"container exited: {self.state()}\n{self.logs()}")
            try:
                wait_port(self.port, timeout=1)
                with urllib.request.urlopen(self.url + path, timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                last = exc
            time.sleep(0.2)
        raise AssertionError(f"{path} did not answer 200 in {timeout}s ({last})\n{self.logs()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        r = self.engine.run("wait", self.name, timeout=timeout)
        return int(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def container_factory(engine: Engine):
    made: list[Container] = []

    def make(image: str, *args: str, **kw) -> Container:
        c = Container(engine, image, *args, **kw)
        made.append(c)
        return c

    try:
        yield make
    finally:
        engine.rm(*[c.name for c in made])
