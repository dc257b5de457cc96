"""An app that reports how the engine runs each request (tests/server/test_request_tasks.py).

The h1 server takes the first step of a request's coroutine without a task of
its own and hands requests that wait to the connection's runner task; these
routes check what an app must still see: its own contextvars, a current task,
asyncio.timeout, cancellation, and work after the response not holding up the
next request on the connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import json

from tests.apps.lifespan import serve_lifespan

seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


async def _answer(send, data: dict, status: int = 200) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    qs = scope["query_string"].decode()
    if path == "/var":
        # what the previous request on this connection set must not be visible here
        before = seen.get()
        seen.set(qs or "set")
        if "wait" in qs:
            await asyncio.sleep(0.01)
        await _answer(send, {"before": before, "after": seen.get(),
                             "task": asyncio.current_task() is not None})
    elif path == "/timeout":
        # asyncio.timeout needs a current task; it cancels the waiting request
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
            outcome = "no timeout"
        except TimeoutError:
            outcome = "timed out"
        async with asyncio.timeout(5):  # and one that does not expire
            await asyncio.sleep(0)
        await _answer(send, {"outcome": outcome, "task": asyncio.current_task() is not None})
    elif path == "/after":
        # the response goes out, then the app works on (like background tasks)
        await _answer(send, {"ok": True})
        await asyncio.sleep(float(qs or "1"))
    elif path == "/stale-cancel":
        # a cancel of the current task that nobody waits for when the request ends
        asyncio.current_task().cancel()
        await _answer(send, {"ok": True})
    elif path == "/cancel-self":
        task = asyncio.current_task()
        asyncio.get_running_loop().call_later(0.02, task.cancel)
        try:
            await asyncio.sleep(5)
            outcome = "slept"
        except asyncio.CancelledError:
            outcome = "cancelled"
            task.uncancel()
        await _answer(send, {"outcome": outcome})
    elif path == "/echo":
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        await _answer(send, {"len": len(body)})
    elif path == "/swallow-cancel":
        # ignores one cancellation (bad manners, but apps do it): the worker must still stop
        await _answer(send, {"ok": True})
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass
    elif path == "/boom-late":
        await asyncio.sleep(0)
        raise RuntimeError("after a wait")
    else:
        await _answer(send, {"path": path}, 404)


def future_app(scope, receive, send):
    """A plain function returning an awaitable that is not a coroutine (a Task)."""
    import asyncio as _asyncio

    return _asyncio.ensure_future(app(scope, receive, send))


def raising_app(scope, receive, send):
    """Fails when called, before any coroutine exists."""
    if scope["type"] == "http" and scope["path"] == "/fail":
        raise TypeError("not even a coroutine")
    return app(scope, receive, send)
