"""Master and worker log lines: destination and format."""

import io
import json
import logging
from types import SimpleNamespace

from skitai.process.log import MasterLog, server_log_path, setup_worker_logging


def test_server_log_path():
    assert server_log_path(None) is None
    assert server_log_path("/var/log/skitai") == "/var/log/skitai/server.log"
    assert server_log_path("/var/log/skitai/engine.log") == "/var/log/skitai/engine.log"


def test_text_and_json_lines():
    out = io.StringIO()
    MasterLog(SimpleNamespace(log_format="text"), stream=out)("worker #0 started", pid=12)
    line = out.getvalue()
    assert line.endswith(" [info] M worker #0 started pid=12\n")
    out = io.StringIO()
    MasterLog(SimpleNamespace(log_format="json"), stream=out)("worker #1 exited", "error", reason="crash")
    rec = json.loads(out.getvalue())
    assert (rec["level"], rec["worker"], rec["msg"], rec["reason"]) == ("error", "M", "worker #1 exited", "crash")


def test_logpath_directory_gets_server_log(tmp_path):
    log = MasterLog(SimpleNamespace(logpath=str(tmp_path / "logs"), log_format="text"))
    log("master started")
    log.close()
    assert "M master started" in (tmp_path / "logs" / "server.log").read_text()


def test_worker_logging_goes_to_server_log(tmp_path):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        setup_worker_logging(SimpleNamespace(logpath=str(tmp_path), log_format="text"), 3)
        logging.getLogger("skitai.server").error("the app failed to start")
        for h in root.handlers:
            h.flush()
        text = (tmp_path / "server.log").read_text()
        assert "[error] W3 skitai.server: the app failed to start" in text
    finally:
        for h in root.handlers:
            h.close()
        root.handlers[:] = saved
