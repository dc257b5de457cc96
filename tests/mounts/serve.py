"""Serve a MountTable over real HTTP/1.1 for the mount tests.

``python -m tests.mounts.serve PORT POINT=SPEC [POINT=SPEC ...] [--threads N] [--max-body N]``

Uses the engine's own HTTP/1.1 protocol (skitai.server.h1) in one process so
the mount tests exercise real sockets whatever state the worker module is in.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import types

from skitai.mounts import MountTable
from skitai.server.context import ServerContext
from skitai.server.h1 import H1Protocol


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("mounts", nargs="+")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-body", type=int, default=20 << 20)
    a = ap.parse_args()
    prefs = types.SimpleNamespace(threads=a.threads, max_body_size=a.max_body, keep_alive=5,
                                  request_timeout=10, shutdown_timeout=5, h2_max_concurrent_streams=100,
                                  h2_initial_window_size=65535, h2_max_frame_size=16384,
                                  h2_max_header_list_size=65536, ws_max_message_size=1 << 20)
    table = MountTable()
    for item in a.mounts:
        point, _, spec = item.partition("=")
        opts = {}
        if "#" in spec:
            spec, _, attr = spec.partition("#")
            opts["app_name"] = attr
        table.add(point, spec, **opts)
    table.load(prefs)
    loop = asyncio.get_running_loop()
    ctx = ServerContext(prefs=prefs, app=table, loop=loop)
    from skitai.server import h2
    h2.install(ctx)  # HTTP/2 (prior knowledge, h2c) and WebSocket hand-offs
    await table.startup()
    server = await loop.create_server(lambda: H1Protocol(ctx), "127.0.0.1", a.port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("serving", table.describe(), flush=True)
    await stop.wait()
    server.close()
    await table.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
