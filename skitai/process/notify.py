"""Worker -> master readiness signal.

The master hands every worker the write end of a pipe before it calls
``skitai.server.worker.run``. The worker calls :func:`ready` once its apps are
loaded and it is accepting connections; the master waits for that byte before
it drains the old worker in a rolling SIGHUP reload, and uses it to tell "the
app failed to load at first start" from "a running worker crashed".
Calling it outside a master-forked worker is a harmless no-op.

With ``use_reloader`` on (the setting, a mount's ``skitai.pref()``, or
``app.use_reloader = True`` on a loaded app), the byte is followed by the source files the worker
has imported (one path per line, standard library and installed packages
left out): the master never imports the apps itself, so this is how it learns
which files to watch.
"""

from __future__ import annotations

import os
import sys
import sysconfig

_fd: int | None = None
_report_files = None


def _set_fd(fd: int | None, report_files=None) -> None:
    """``report_files``: a bool, or a callable asked at ready() time (once the apps are loaded)."""
    global _fd, _report_files
    _fd = fd
    _report_files = report_files


def module_files() -> list[str]:
    """Source files of the imported modules that are not stdlib or installed packages."""
    paths = sysconfig.get_paths()
    skip = tuple(os.path.abspath(paths[k]) + os.sep
                 for k in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(k))
    out = set()
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if not f or not f.endswith(".py"):
            continue
        f = os.path.abspath(f)
        if not f.startswith(skip):
            out.add(f)
    return sorted(out)


def ready() -> None:
    """Tell the master this worker serves requests now (idempotent)."""
    global _fd
    fd, _fd = _fd, None
    if fd is None:
        return
    try:
        data = b"R"
        try:
            report = _report_files() if callable(_report_files) else _report_files
        except Exception:  # deciding to report must never cost the worker its readiness
            report = False
        if report:
            data += "\n".join(module_files()).encode("utf-8", "surrogateescape")
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
