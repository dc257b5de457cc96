"""skitai.log_off() in a seed-style script reaches the access log of the real engine."""

from __future__ import annotations

import time

import httpx

from tests.support import ROOT, ServerProcess, free_port

SCRIPT = '''
import sys
sys.path.insert(0, {root!r})
import skitai
from tests.server.apps import app

skitai.mount("/", app)
skitai.log_off("/static/", "*.css")
skitai.run(port={port}, workers=1, logpath={logdir!r})
'''


def test_seed_script_log_off(tmp_path):
    port = free_port()
    logdir = tmp_path / "logs"
    script = tmp_path / "app.py"
    script.write_text(SCRIPT.format(root=str(ROOT), port=port, logdir=str(logdir)))
    with ServerProcess([str(script)], port) as srv:
        with httpx.Client(base_url=srv.url) as c:
            for path in ("/static/a.png", "/theme/x.css", "/kept", "/healthz"):
                assert c.get(path).status_code == 200
        log = logdir / "request.log"
        deadline = time.monotonic() + 5
        lines = []
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines() if log.exists() else []
            if lines:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        lines = log.read_text().splitlines()
    assert len(lines) == 1, lines
    assert " GET /kept HTTP/1.1 " in lines[0] and " W0 " in lines[0]
