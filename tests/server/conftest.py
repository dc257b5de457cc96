from __future__ import annotations

import contextlib

import pytest

from tests.support import ServerProcess, free_port


@contextlib.contextmanager
def run_server(*opts: str, app: str = "tests.server.apps:app", env: dict | None = None):
    """The dev runner (one worker, uvloop) on a free port with extra command-line options."""
    port = free_port()
    args = ["-m", "skitai.server.worker", "--app", app, "--port", str(port), *opts]
    with ServerProcess(args, port, env=env) as srv:
        yield srv


@pytest.fixture(scope="module")
def server():
    with run_server() as srv:
        yield srv
