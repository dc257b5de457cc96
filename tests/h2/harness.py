"""A stand-alone server for the HTTP/2, WebSocket and TLS protocol tests.

It plays the part of the worker's HTTP/1.1 front door with the same hand-off
registry (``ServerContext.h2_factory`` / ``upgrades``) so the protocols can be
tested on their own. Usage::

    python -m tests.h2.harness PORT [--cert C --key K] [--pref name=value ...]

SIGTERM drains: every connection gets ``begin_shutdown()``, then the process
exits when they are closed (at most 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import types
from urllib.parse import unquote

from skitai.server import h2 as h2mod
from skitai.server import tls as tlsmod
from skitai.server.context import Handoff, ServerContext
from tests.h2.apps import app

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class Front(asyncio.Protocol):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.buf = b""

    def connection_made(self, transport) -> None:
        self.t = transport
        if tlsmod.alpn_protocol(transport) == "h2":
            self.ctx.h2_factory(Handoff(self.ctx, transport, None, b"", self.ctx.app, None))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        b = self.buf
        if len(b) < len(PREFACE) and PREFACE.startswith(b):
            return
        if b.startswith(PREFACE):
            self.ctx.h2_factory(Handoff(self.ctx, self.t, None, b, self.ctx.app, None))
            return
        head, sep, rest = b.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].split(b" ", 2)
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers.append((k.strip().lower(), v.strip()))
        h = dict(headers)
        raw, _, qs = target.partition(b"?")
        scope = {"type": "http", "http_version": "1.1", "method": method.decode(),
                 "path": unquote(raw.decode("latin-1")), "raw_path": raw, "query_string": qs,
                 "headers": headers}
        token = h.get(b"upgrade", b"").lower().decode()
        factory = self.ctx.upgrades.get(token)
        if factory is None:
            body = b"harness: only upgrades and h2"
            self.t.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                         % (len(body), body))
            self.t.close()
            return
        factory(Handoff(self.ctx, self.t, scope, rest, self.ctx.app, token))


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--pref", action="append", default=[])
    a = ap.parse_args()
    prefs = types.SimpleNamespace()
    for item in a.pref:
        k, _, v = item.partition("=")
        setattr(prefs, k, float(v) if "." in v else int(v) if v.isdigit() else v)
    loop = asyncio.get_running_loop()
    ctx = ServerContext(prefs=prefs, worker_id=0, app=app, loop=loop)
    h2mod.install(ctx)
    sslctx = tlsmod.make_server_context(a.cert, a.key) if a.cert else None
    server = await loop.create_server(lambda: Front(ctx), "127.0.0.1", a.port, ssl=sslctx)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    conns = list(ctx.connections)
    for c in conns:
        c.begin_shutdown()
    waits = [c.closed for c in conns if hasattr(c, "closed")]
    if waits:
        await asyncio.wait(waits, timeout=10)
    print("drained", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
