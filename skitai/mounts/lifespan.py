"""ASGI lifespan protocol for one mounted app.

The app runs in its own task for the whole life of the worker. An app that
raises or returns before answering ``lifespan.startup`` does not support the
protocol (allowed by the spec): it is served without lifespan. A
``lifespan.startup.failed`` answer stops the worker with a clear error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("skitai.mounts")


class LifespanError(RuntimeError):
    pass


class Lifespan:
    def __init__(self, app: Any, name: str):
        self.app = app
        self.name = name
        self.state: dict = {}
        self.supported = False
        self._task: asyncio.Task | None = None
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._answer: asyncio.Future | None = None
        self._answered_types: set[str] = set()

    async def _receive(self) -> dict:
        return await self._inbox.get()

    async def _send(self, message: dict) -> None:
        kind = message.get("type", "")
        self._answered_types.add(kind)
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(message)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            if self._answer is not None and not self._answer.done():
                self._answer.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            if self.supported:
                log.exception("lifespan of %s raised", self.name)
        else:
            if self._answer is not None and not self._answer.done():
                self._answer.set_result({"type": "lifespan.returned"})

    async def startup(self, timeout: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._task = loop.create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        try:
            message = await asyncio.wait_for(asyncio.shield(self._answer), timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            raise LifespanError(f"{self.name}: lifespan startup did not finish in {timeout}s") from None
        except Exception as exc:
            # the app does not speak lifespan (e.g. it asserts scope['type'] == 'http')
            log.info("%s: lifespan unsupported (the app raised %r); served without it", self.name, exc)
            self._task = None
            return
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self.supported = True
        elif kind == "lifespan.startup.failed":
            raise LifespanError(f"{self.name}: lifespan startup failed: {message.get('message', '')}")
        else:
            self._task = None  # returned without answering: unsupported

    async def shutdown(self, timeout: float | None = 30.0) -> None:
        if not self.supported or self._task is None:
            return
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            message = await asyncio.wait_for(asyncio.shield(self._answer), timeout)
        except TimeoutError:
            self._task.cancel()
            raise LifespanError(f"{self.name}: lifespan shutdown did not finish in {timeout}s") from None
        except Exception as exc:
            raise LifespanError(f"{self.name}: lifespan shutdown raised {type(exc).__name__}: {exc}") from exc
        finally:
            self.supported = False
        if message.get("type") == "lifespan.shutdown.failed":
            raise LifespanError(f"{self.name}: lifespan shutdown failed: {message.get('message', '')}")
        try:
            await asyncio.wait_for(self._task, 5)
        except (TimeoutError, Exception):
            pass
