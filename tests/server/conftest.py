from __future__ import annotations

import contextlib
import glob
import os
import tempfile

import pytest

from tests.support import ServerProcess, free_port


@contextlib.contextmanager
def run_server(*opts: str, app: str = "tests.server.apps:app", env: dict | None = None):
    """The dev runner (one worker, uvloop) on a free port with extra command-line options."""
    port = free_port()
    args = ["-m", "skitai.server.worker", "--app", app, "--port", str(port), *opts]
    srv = ServerProcess(args, port, env=env)
    try:
        with srv:
            yield srv
    finally:
        # the test apps write files named after the server's pid (it is killed, so its
        # lifespan shutdown may not run): remove them here
        pid = srv.proc.pid if srv.proc is not None else None
        if pid:
            tmp = tempfile.gettempdir()
            for leftover in (glob.glob(os.path.join(tmp, f"skitai-h1-test-{pid}.bin*"))
                             + [os.path.join(tmp, f"skitai-h1-shutdown-{pid}")]):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)


@pytest.fixture(scope="module")
def server():
    with run_server() as srv:
        yield srv
