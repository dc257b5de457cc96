"""The ASGI lifespan loop the test apps share: accept startup and shutdown, with optional hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def serve_lifespan(receive: Any, send: Any, startup: Callable[[], None] | None = None,
                         shutdown: Callable[[], None] | None = None) -> None:
    """Answer lifespan messages until shutdown (call from ``if scope["type"] == "lifespan"``)."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            if startup is not None:
                startup()
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            if shutdown is not None:
                shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
