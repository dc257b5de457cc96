"""Master log lines: start, worker start/exit (pid, reason), restarts, stop.

The master is not on the request path, so this is deliberately plain: one
line per event, written and flushed at once so an operator tailing the log (or
a container runtime reading stderr) sees supervision events as they happen.
Text lines follow the seed log style (``date time [level] M message``, ``M``
being the master's id in the seeds' worker-id column); ``log_format=json``
gives one JSON object per line with the same facts as separate keys.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import IO


def server_log_path(logpath: str | None) -> str | None:
    """Where server events go: ``<logpath>/server.log`` when ``logpath`` is a
    directory (the seeds' ``/var/logs/skitai``), else ``logpath`` itself."""
    if not logpath:
        return None
    if os.path.isdir(logpath) or logpath.endswith(os.sep) or not os.path.splitext(logpath)[1]:
        return os.path.join(logpath, "server.log")
    return logpath


class MasterLog:
    def __init__(self, prefs=None, stream: IO[str] | None = None):
        self.json = str(getattr(prefs, "log_format", "text") or "text").lower() == "json"
        self._own = False
        path = server_log_path(getattr(prefs, "logpath", None))
        if stream is not None:
            self.stream = stream
        elif path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.stream = open(path, "a", buffering=1, encoding="utf-8")
            self._own = True
        else:
            self.stream = sys.stderr

    def __call__(self, msg: str, level: str = "info", **fields) -> None:
        now = time.time()
        if self.json:
            rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
                   + f".{int(now % 1 * 1000):03d}", "level": level, "worker": "M", "msg": msg}
            rec.update(fields)
            line = json.dumps(rec, default=str)
        else:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            stamp = time.strftime("%Y.%m.%d %H:%M:%S", time.localtime(now))
            line = f"{stamp} [{level}] M {msg}" + (f" {extra}" if extra else "")
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed/broken stderr must never kill the master
            pass

    def close(self) -> None:
        if self._own:
            try:
                self.stream.close()
            except OSError:
                pass


def setup_worker_logging(prefs, worker_id: int) -> None:
    """Route a worker's Python ``logging`` (engine errors, app load failures)
    to where the master logs, tagged ``W<id>``, unless the app configured
    logging itself. Without it a worker's error would print bare on stderr
    and miss ``<logpath>/server.log``."""
    root = logging.getLogger()
    if root.handlers:
        return
    path = server_log_path(getattr(prefs, "logpath", None))
    try:
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8") if path \
            else logging.StreamHandler(sys.stderr)
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    if str(getattr(prefs, "log_format", "text") or "text").lower() == "json":
        handler.setFormatter(_JsonFormatter(f"W{worker_id}"))
    else:
        handler.setFormatter(_TextFormatter(
            f"%(asctime)s [%(levelname)s] W{worker_id} %(name)s: %(message)s", "%Y.%m.%d %H:%M:%S"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


class _TextFormatter(logging.Formatter):
    """Lower-case level names, as in the master's and the access log's lines."""

    def formatMessage(self, record):
        record.levelname = record.levelname.lower()
        return super().formatMessage(record)


class _JsonFormatter:
    def __init__(self, worker: str):
        self.worker = worker

    def format(self, record) -> str:
        rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
               + f".{int(record.msecs):03d}", "level": record.levelname.lower(),
               "worker": self.worker, "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            rec["exc"] = logging.Formatter().formatException(record.exc_info)
        return json.dumps(rec, default=str)
