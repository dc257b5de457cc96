"""Atila web framework: an ASGI 3 application served by Skitai (or any ASGI server)."""

from __future__ import annotations

from types import ModuleType

from .app import Atila
from .context import Context
from .errors import Error, HttpError
from .multipart import UploadedFile
from .response import Response

__all__ = ["Atila", "Context", "Error", "HttpError", "Response", "UploadedFile", "load",
           "request_failed", "request_finished", "request_starting", "request_success", "request_tearing_down"]

# [000] names of the request life-cycle events (``@app.on(atila.request_failed)``)
request_starting = "request:before_start"
request_success = "request:success"
request_failed = "request:failed"
request_tearing_down = "request:teardown"
request_finished = "request:finished"


def load(module: ModuleType | str, pref=None, point: str = "/") -> Atila:
    """Build the app of a package with ``__app__`` (for other ASGI servers and tests).

    ``uvicorn`` example: ``app = atila.load(dumbseek)`` in a small asgi.py.
    The mount hooks run at ASGI lifespan start-up (or on the first request).
    """
    if isinstance(module, str):
        module = _import(module)
    factory = getattr(module, "__app__", None)
    app = factory() if factory is not None else module.app
    if pref is not None:
        app.apply_pref(pref)
    app._module = module
    app._mount_point = point
    app.register()
    return app


def _import(name: str) -> ModuleType:
    """A module name, or a path to a package directory / .py file (``atila.load("./myapp/", pref)``)."""
    import importlib
    import os
    import sys

    path = name.rstrip("/" + os.sep)
    if os.sep in name or "/" in name or os.path.isdir(path) or path.endswith(".py"):
        path = os.path.abspath(path)
        parent, base = os.path.split(path[:-3] if path.endswith(".py") else path)
        if not (os.path.isdir(os.path.join(parent, base)) or os.path.isfile(os.path.join(parent, base + ".py"))):
            raise ImportError(f"no package or module at {name!r}")
        if parent not in sys.path:
            sys.path.insert(0, parent)
        return importlib.import_module(base)
    return importlib.import_module(name)
