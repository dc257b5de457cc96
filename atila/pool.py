"""A small bounded thread pool for sync handlers.

Why not ThreadPoolExecutor + run_in_executor: per call it wraps a
concurrent future in an asyncio future and takes extra locks; for a handler
that runs in microseconds that hand-off is most of the request cost. Here a
job is one SimpleQueue put, and the result comes back with one
call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable
from typing import Any


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class ThreadPool:
    """``threads`` daemon threads started on first use (and again after a fork)."""

    def __init__(self, threads: int, name: str = "atila") -> None:
        self.size = max(1, int(threads))
        self.name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pid = 0
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._threads:
                return
            self._queue = queue.SimpleQueue()
            self._threads = []
            for i in range(self.size):
                t = threading.Thread(target=self._work, args=(self._queue,), name=f"{self.name}-{i}", daemon=True)
                t.start()
                self._threads.append(t)
            self._pid = os.getpid()

    @staticmethod
    def _work(q: queue.SimpleQueue) -> None:
        get = q.get
        while True:
            job = get()
            if job is None:
                return
            loop, fut, fn, args = job
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed back to the awaiting coroutine
                try:
                    loop.call_soon_threadsafe(_set_exception, fut, exc)
                except RuntimeError:
                    pass  # loop closed
            else:
                try:
                    loop.call_soon_threadsafe(_set_result, fut, result)
                except RuntimeError:
                    pass
            del job, fut, args

    def run(self, loop: asyncio.AbstractEventLoop, fn: Callable, *args: Any) -> asyncio.Future:
        if self._pid != os.getpid():
            self._start()
        fut = loop.create_future()
        self._queue.put((loop, fut, fn, args))
        return fut

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        self._threads = []
        self._pid = 0
