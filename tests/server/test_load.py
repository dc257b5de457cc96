"""A short wrk run: keep-alive traffic from 64 connections gets only 200s and no socket errors."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.server.conftest import run_server
from tests.support import require_tool


@pytest.mark.load
def test_wrk_keep_alive_traffic_has_no_errors():
    wrk = require_tool("wrk")
    with run_server("--log-off", "/", app="tests.server.apps:hello") as srv:
        out = subprocess.run([wrk, "-t1", "-c64", "-d2s", srv.url + "/"], capture_output=True,
                             text=True, timeout=30).stdout
    assert "Non-2xx" not in out, out
    assert "Socket errors" not in out, out
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 2000, out
