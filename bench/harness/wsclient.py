"""WebSocket client for the bench (run as a separate process with the project's Python).

``echo URL --connections N --round-trips K``: opens N connections, then sends
K 32-byte text messages in total (spread evenly, one outstanding message per
connection) and waits for each echo; prints one JSON line with the rate,
latency percentiles and errors. It uses the websockets library's Sans-I/O
protocol under an asyncio Protocol, the cheapest way to drive that library.

``idle URL --connections N``: opens N connections, prints ``READY <open> <errors>``
and keeps them open and silent until stdin closes (bounded by --hold seconds).
No compression, no client pings: the server's per-connection cost is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

MESSAGE = "x" * 32
MESSAGE_BYTES = MESSAGE.encode()


async def _connect(url: str):
    import websockets

    return await websockets.connect(url, compression=None, ping_interval=None, max_size=2**20,
                                    open_timeout=10)


class _EchoConn(asyncio.Protocol):
    """One client connection driven by the websockets library's Sans-I/O protocol.

    No coroutine or future per message: the next message is sent from
    ``data_received`` as soon as the echo arrives, so the client spends as
    little CPU as the library allows and the server is what gets measured.
    """

    def __init__(self, uri: str, round_trips: int, latencies: list[float]):
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.ws = ClientProtocol(parse_uri(uri))  # no extensions: no compression
        self.left = round_trips
        self.latencies = latencies
        self.mismatches = 0
        self.sent_at = 0.0
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future = loop.create_future()
        self.finished: asyncio.Future = loop.create_future()
        self.transport = None

    def _flush(self) -> None:
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def send_next(self) -> None:
        if self.left <= 0:
            if not self.finished.done():
                self.finished.set_result(None)
            return
        self.sent_at = time.perf_counter()
        self.ws.send_text(MESSAGE_BYTES)
        self._flush()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Opcode
        from websockets.http11 import Response
        from websockets.protocol import State

        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.state is State.OPEN:
                    self.opened.set_result(None)
                elif not self.opened.done():
                    self.opened.set_exception(ConnectionError(f"handshake refused: {event.status_code}"))
            elif event.opcode is Opcode.TEXT:
                self.latencies.append(time.perf_counter() - self.sent_at)
                if bytes(event.data) != MESSAGE_BYTES:
                    self.mismatches += 1
                self.left -= 1
                self.send_next()
        self._flush()

    def connection_lost(self, exc) -> None:
        for fut in (self.opened, self.finished):
            if not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))

    def close(self) -> None:
        try:
            self.ws.send_close()
            self._flush()
        finally:
            self.transport.close()


async def echo(url: str, connections: int, round_trips: int) -> dict:
    loop = asyncio.get_running_loop()
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    latencies: list[float] = []
    share = [round_trips // connections + (1 if i < round_trips % connections else 0)
             for i in range(connections)]
    conns: list[_EchoConn] = []
    for n in share:
        _, conn = await loop.create_connection(lambda n=n: _EchoConn(url, n, latencies), host, int(port))
        conns.append(conn)
    await asyncio.wait_for(asyncio.gather(*(c.opened for c in conns)), 10)
    t0 = time.perf_counter()
    for c in conns:
        c.send_next()
    results = await asyncio.gather(*(asyncio.wait_for(c.finished, 120) for c in conns),
                                   return_exceptions=True)
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    latencies.sort()

    def pct(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else None

    done = len(latencies)
    failed = [str(r) for r in results if isinstance(r, BaseException)]
    return {"rps": done / elapsed if elapsed else 0.0, "requests": done, "seconds": elapsed,
            "errors": sum(c.mismatches for c in conns) + (round_trips - done),
            "p50_ms": pct(50), "p99_ms": pct(99), "failures": failed[:3]}


async def idle(url: str, connections: int, hold: float) -> None:
    conns = []
    errors = 0
    for start in range(0, connections, 50):
        batch = await asyncio.gather(*(_connect(url) for _ in range(min(50, connections - start))),
                                     return_exceptions=True)
        for ws in batch:
            if isinstance(ws, BaseException):
                errors += 1
            else:
                conns.append(ws)
    print(f"READY {len(conns)} {errors}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), hold)
    except TimeoutError:
        pass
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["echo", "idle"])
    ap.add_argument("url")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--round-trips", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=60.0)
    args = ap.parse_args(argv)
    try:
        import uvloop

        run = uvloop.run
    except (ImportError, AttributeError):
        run = asyncio.run
    try:
        if args.mode == "echo":
            print(json.dumps(run(echo(args.url, args.connections, args.round_trips))), flush=True)
        else:
            run(idle(args.url, args.connections, args.hold))
    except Exception as e:  # one line, never a traceback: the runner reports it
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
