"""WebSocket client for the bench (run as a separate process with the project's Python).

``echo URL --connections N --round-trips K``: opens N connections, then sends
K 32-byte text messages in total (spread evenly, one outstanding message per
connection) and waits for each echo; prints one JSON line with the rate,
latency percentiles and errors.

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


async def _connect(url: str):
    import websockets

    return await websockets.connect(url, compression=None, ping_interval=None, max_size=2**20,
                                    open_timeout=10)


async def echo(url: str, connections: int, round_trips: int) -> dict:
    conns = await asyncio.gather(*(_connect(url) for _ in range(connections)))
    share = [round_trips // connections + (1 if i < round_trips % connections else 0)
             for i in range(connections)]
    latencies: list[float] = []
    errors = 0

    async def drive(ws, n: int) -> None:
        nonlocal errors
        for _ in range(n):
            t = time.perf_counter()
            try:
                await ws.send(MESSAGE)
                reply = await asyncio.wait_for(ws.recv(), 5)
            except Exception:
                return  # the round trips this connection did not finish count as errors below
            latencies.append(time.perf_counter() - t)
            if reply != MESSAGE:
                errors += 1  # a wrong echo is counted as an error on top of the round trip

    t0 = time.perf_counter()
    await asyncio.gather(*(drive(ws, n) for ws, n in zip(conns, share, strict=True)))
    elapsed = time.perf_counter() - t0
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    latencies.sort()

    def pct(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else None

    done = len(latencies)
    return {"rps": done / elapsed if elapsed else 0.0, "requests": done, "seconds": elapsed,
            "errors": errors + (round_trips - done),
            "p50_ms": pct(50), "p99_ms": pct(99)}


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
