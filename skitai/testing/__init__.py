"""Test clients: ``test_client`` (real server subprocess) and ``AsgiClient`` (in-process ASGI).

Both give the same requests-like API (``get/post/put/patch/delete/options/head``
returning a ``Response`` with ``status_code``, ``headers``, ``content``,
``text`` and ``json()``), keep cookies across calls, and use only the
standard library. Imports are lazy so ``import skitai.testing`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AsgiClient", "HttpClient", "Response", "ServerError", "TestClient", "WebSocketDisconnect",
           "WebSocketSession", "test_client"]


def __getattr__(name: str) -> Any:
    if name in ("test_client", "TestClient", "ServerError"):
        from . import server

        return getattr(server, name)
    if name in ("AsgiClient", "WebSocketDisconnect", "WebSocketSession"):
        from . import asgi

        return getattr(asgi, name)
    if name in ("HttpClient", "Response"):
        from . import client

        return getattr(client, name)
    raise AttributeError(name)
