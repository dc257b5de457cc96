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
        import importlib
        module = importlib.import_module(module)
    factory = getattr(module, "__app__", None)
    app = factory() if factory is not None else module.app
    if pref is not None:
        app.apply_pref(pref)
    app._module = module
    app._mount_point = point
    app.register()
    return app
