"""Fixtures shared by tests/h2, tests/ws and tests/tls (imported by their conftest)."""

from __future__ import annotations

import pytest

from skitai.server.tls import make_self_signed
from tests.support import ServerProcess, free_port


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A self-signed certificate made at test time (never committed)."""
    return make_self_signed(tmp_path_factory.mktemp("certs"))


def start_harness(*, tls=None, prefs=(), app="tests.h2.apps:app"):
    """The real engine (master + one worker) serving the protocol test app."""
    port = free_port()
    args = ["-m", "skitai", "serve", app, "--port", str(port), "--workers", "1",
            "--shutdown-timeout", "10"]
    if tls:
        args += ["--ssl-certfile", tls[0], "--ssl-keyfile", tls[1]]
    for p in prefs:
        name, _, value = p.partition("=")
        args += ["--" + name.replace("_", "-"), value]
    return ServerProcess(args, port)


@pytest.fixture
def h2server():
    with start_harness() as srv:
        yield srv


@pytest.fixture
def tls_server(certs):
    with start_harness(tls=certs) as srv:
        yield srv
