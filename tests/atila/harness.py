"""A tiny synchronous harness over httpx's ASGI transport (no sockets) for Atila unit tests.

One event loop per client, so the app's state (thread pool, mount lock) lives
across requests the way it does under a server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class Client:
    def __init__(self, app: Any, root_path: str = "", base_url: str = "http://testserver") -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.root_path = root_path
        transport = httpx.ASGITransport(app=app, root_path=root_path, client=("127.0.0.1", 50000))
        self.client = httpx.AsyncClient(transport=transport, base_url=base_url, follow_redirects=False)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(asyncio.wait_for(self.client.request(method, url, **kw), 10))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def options(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kw)

    def head(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", url, **kw)

    def lifespan(self, *events: str) -> list[dict]:
        """Drive the ASGI lifespan protocol with ``events`` ("startup", "shutdown"); return what the app sent."""
        sent: list[dict] = []

        async def run() -> None:
            q: asyncio.Queue = asyncio.Queue()
            for e in events:
                q.put_nowait({"type": f"lifespan.{e}"})

            async def receive() -> dict:
                return await q.get()

            async def send(msg: dict) -> None:
                sent.append(msg)

            task = asyncio.ensure_future(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                  receive, send))
            for _ in range(200):
                if len(sent) >= len(events) or task.done():
                    break
                await asyncio.sleep(0.01)
            if not task.done():
                task.cancel()
        self.loop.run_until_complete(run())
        return sent

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
