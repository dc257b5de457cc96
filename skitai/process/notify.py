"""Worker -> master readiness signal.

The master hands every worker the write end of a pipe before it calls
``skitai.server.worker.run``. The worker calls :func:`ready` once its apps are
loaded and it is accepting connections; the master waits for that byte before
it drains the old worker in a rolling SIGHUP reload, and uses it to tell "the
app failed to load at first start" from "a running worker crashed".
Calling it outside a master-forked worker is a harmless no-op.
"""

from __future__ import annotations

import os

_fd: int | None = None


def _set_fd(fd: int | None) -> None:
    global _fd
    _fd = fd


def ready() -> None:
    """Tell the master this worker serves requests now (idempotent)."""
    global _fd
    fd, _fd = _fd, None
    if fd is None:
        return
    try:
        os.write(fd, b"R")
    except OSError:
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
