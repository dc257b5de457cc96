"""PLACEHOLDER written by the Atila core engineer; the WebSocket engineer replaces this file.

Contract used by atila/app.py:
- ``register(app, func, spec, timeout, onopen, onclose, rule)`` is called once per
  (handler, rule) for ``@app.websocket``; the handler is also an ordinary route
  (``app.resolve(scope)`` finds it).
- ``await dispatch(app, scope, receive, send)`` handles every "websocket" scope.
"""

from __future__ import annotations

from typing import Any


def register(app: Any, func: Any, spec: int, timeout: int, onopen: Any, onclose: Any, rule: str) -> None:
    registry = app.__dict__.setdefault("_websockets", {})
    registry[func] = {"spec": spec, "timeout": timeout, "onopen": onopen, "onclose": onclose, "rule": rule}


async def dispatch(app: Any, scope: dict, receive: Any, send: Any) -> None:
    msg = await receive()
    if msg.get("type") == "websocket.connect":
        await send({"type": "websocket.close", "code": 1003})
