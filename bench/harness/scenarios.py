"""What is measured: scenarios (who serves what, driven by which tool) and the targets.

A row is one server running one app. Rows of a scenario are measured in
interleaved rounds (round 1: A B C, round 2: B C A, ...) and the median of
the rounds is reported, so a burst of noise on the shared machine hits every
server rather than one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    server: str
    app: str
    variant: str = ""


@dataclass
class Scenario:
    id: str
    title: str
    what: str
    tool: str  # wrk | h2load | ws-echo | ws-idle | idle-rss
    path: str
    workers: int
    rows: list[Row]
    connections: int = 64
    expect: bytes = b""  # a substring the response body must contain (checked before measuring)
    expect_size: int = 0  # or the exact body size (static files)
    notes: list[str] = field(default_factory=list)


SKITAI = Row("skitai", "Skitai (plain ASGI app)", "skitai", "asgi")
SKITAI_NOMETRICS = Row("skitai-nometrics", "Skitai, `--metrics off` (for reference)", "skitai", "asgi",
                       "nometrics")
UVICORN = Row("uvicorn", "uvicorn (plain ASGI app; httptools, uvloop)", "uvicorn", "asgi")
UV_STARLETTE = Row("uvicorn-starlette", "uvicorn + starlette (httptools, uvloop)", "uvicorn", "starlette")
GRANIAN = Row("granian-asgi", "granian ASGI (plain ASGI app, uvloop)", "granian-asgi", "asgi")
HYPERCORN = Row("hypercorn", "hypercorn (plain ASGI app, uvloop)", "hypercorn", "asgi")
NGINX = Row("nginx", "nginx (`return 200` / static)", "nginx", "nginx")

SKITAI_FLASK = Row("skitai-flask", "Skitai WSGI (Flask)", "skitai", "flask")
GUNI_SYNC = Row("gunicorn-sync", "gunicorn sync (Flask)", "gunicorn-sync", "flask")
GUNI_GTHREAD = Row("gunicorn-gthread", "gunicorn gthread, 4 threads (Flask)", "gunicorn-gthread", "flask")
GRANIAN_WSGI = Row("granian-wsgi", "granian WSGI (Flask)", "granian-wsgi", "flask")

SKITAI_STATIC = Row("skitai-static", "Skitai static mount", "skitai", "static")
STARLETTE_STATIC = Row("uvicorn-starlette", "uvicorn + starlette StaticFiles", "uvicorn", "starlette-static")

ATILA = Row("atila", "Atila on Skitai (this project)", "skitai", "atila")
ATILA_STARLETTE = Row("uvicorn-starlette", "starlette on uvicorn", "uvicorn", "starlette")
ATILA_ORIG = Row("orig", "original Atila on original Skitai (PyPI)", "orig", "atila")


def _wrk(id, title, what, path, workers, rows, expect=b"", connections=64, expect_size=0) -> Scenario:
    return Scenario(id, title, what, "wrk", path, workers, rows, connections, expect, expect_size)


def all_scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for w in (1, 2):
        out.append(_wrk(
            f"hello-asgi-w{w}", f"Plain-text hello, ASGI, {w} worker(s)",
            "GET /hello -> 13-byte text/plain from the same plain ASGI app on every ASGI server; "
            "nginx answers with `return 200` as a ceiling.",
            "/hello", w, [SKITAI, *([SKITAI_NOMETRICS] if w == 1 else []), UVICORN, UV_STARLETTE, GRANIAN,
                          HYPERCORN, NGINX], b"Hello, World!"))
        out.append(_wrk(
            f"hello-wsgi-w{w}", f"Plain-text hello, WSGI (Flask), {w} worker(s)",
            "GET /hello on the same Flask app under each WSGI server.",
            "/hello", w, [SKITAI_FLASK, GUNI_SYNC, GUNI_GTHREAD, GRANIAN_WSGI], b"Hello, World!"))
        if w == 1:
            out.append(_wrk(
                "json-w1", "JSON route, 1 worker",
                "GET /json -> {\"message\": \"Hello, World!\"} (json.dumps per request) from the plain ASGI "
                "app; starlette uses JSONResponse.",
                "/json", 1, [SKITAI, UVICORN, UV_STARLETTE, GRANIAN, HYPERCORN], b'"message"'))
        out.append(_wrk(
            f"static-16k-w{w}", f"Static file 16 KiB, {w} worker(s)",
            "GET /static/16k.bin (a 16 KiB file) from a static directory mount.",
            "/static/16k.bin", w, [SKITAI_STATIC, NGINX, STARLETTE_STATIC], expect_size=16 * 1024))
        if w == 1:
            out.append(_wrk(
                "static-1m-w1", "Static file 1 MiB, 1 worker",
                "GET /static/1m.bin (a 1 MiB file); 16 connections.",
                "/static/1m.bin", 1, [SKITAI_STATIC, NGINX, STARLETTE_STATIC], connections=16,
                expect_size=1024 * 1024))
    out.append(_wrk(
        "atila-json", "Atila JSON route with a path and a query parameter, 1 worker",
        "GET /items/42?q=hello -> {\"id\": 42, \"q\": \"hello\"}: the project's Atila on Skitai, the same "
        "route in starlette on uvicorn, and the original Atila on the original Skitai.",
        "/items/42?q=hello", 1, [ATILA, ATILA_STARLETTE, ATILA_ORIG], b'"hello"'))
    out.append(_wrk(
        "atila-200-routes", "Atila 200-route experiment, 1 worker",
        "200 routes /r{i}/<int:id> registered before the others; GET /r198/42?q=hello (near the end "
        "of the table). Compare with atila-json to see the routing cost.",
        "/r198/42?q=hello", 1,
        [Row("atila", ATILA.label, "skitai", "atila200"),
         Row("uvicorn-starlette", ATILA_STARLETTE.label, "uvicorn", "starlette200"),
         Row("orig", ATILA_ORIG.label, "orig", "atila200")], b'"route"'))
    out.append(Scenario(
        "h2-hello", "HTTP/2 hello (h2c prior knowledge), 1 worker",
        "`h2load -c 16 -m 10` on GET /hello over cleartext HTTP/2 with prior knowledge (h2c); "
        "hypercorn and granian both accept it without TLS. nginx (`listen ... http2`) is a ceiling.",
        "h2load", "/hello", 1,
        [Row("skitai", SKITAI.label, "skitai", "asgi"),
         Row("hypercorn", HYPERCORN.label, "hypercorn", "asgi"),
         Row("granian-asgi", "granian ASGI (--http auto)", "granian-asgi", "asgi"),
         Row("nginx", "nginx (`return 200`, http2)", "nginx", "nginx", "h2")], connections=16))
    out.append(Scenario(
        "ws-echo", "WebSocket echo round trips, 1 worker",
        "A fixed number of 32-byte text round trips spread over 16 connections (client: the "
        "`websockets` library, asyncio, one process pinned to its own CPU); rate = round trips / s.",
        "ws-echo", "/ws", 1, [SKITAI, UVICORN], connections=16))
    out.append(Scenario(
        "ws-idle-memory", "Memory per open idle WebSocket, 1 worker",
        "Open N WebSockets and leave them idle; (tree RSS after - before) / N, on a freshly started "
        "server (variant `fresh`), so memory freed by earlier scenarios does not hide the cost.",
        "ws-idle", "/ws", 1, [Row("skitai", SKITAI.label, "skitai", "asgi", "fresh"),
                              Row("uvicorn", UVICORN.label, "uvicorn", "asgi", "fresh")]))
    out.append(Scenario(
        "idle-rss", "RSS per idle worker, 2 workers",
        "Each server with 2 workers after a 1 s warm-up and 1 s idle: per-worker RSS (mean of the "
        "worker processes; the whole process when there is no separate master) and the tree total.",
        "idle-rss", "/hello", 2,
        [SKITAI, UVICORN, GRANIAN, HYPERCORN, SKITAI_FLASK, GUNI_GTHREAD, ATILA, ATILA_ORIG, NGINX]))
    out.append(_wrk(
        "keepalive-256", "256 concurrent keep-alive connections, 2 workers",
        "wrk -c 256 on GET /hello: every connection kept alive for the whole run; errors must be 0.",
        "/hello", 2, [SKITAI, UVICORN, GRANIAN], b"Hello, World!", connections=256))
    return out


@dataclass(frozen=True)
class Target:
    """``kind`` ratio: rps(scenario,row) / rps(scenario,other) >= threshold.

    ``kind`` abs: a metric of one row compared with a limit (``le`` / ``eq``).
    """

    text: str
    scenario: str
    row: str
    kind: str
    other: str = ""
    threshold: float = 0.0
    metric: str = "rps"
    op: str = "ge"


TARGETS = [
    Target("ASGI hello >= 1.3x uvicorn", "hello-asgi-w1", "skitai", "ratio", "uvicorn", 1.3),
    Target("ASGI hello >= 1.3x uvicorn (2 workers: an extra check, the issue asks for 1)", "hello-asgi-w2", "skitai", "ratio", "uvicorn", 1.3),
    Target("Flask under Skitai WSGI >= 2x gunicorn gthread", "hello-wsgi-w1", "skitai-flask", "ratio",
           "gunicorn-gthread", 2.0),
    Target("Flask under Skitai WSGI >= 0.9x granian WSGI", "hello-wsgi-w1", "skitai-flask", "ratio",
           "granian-wsgi", 0.9),
    Target("Static 16 KiB >= 0.3x nginx", "static-16k-w1", "skitai-static", "ratio", "nginx", 0.3),
    Target("Static 1 MiB >= 0.5x nginx", "static-1m-w1", "skitai-static", "ratio", "nginx", 0.5),
    Target("256 keep-alive connections: 0 errors", "keepalive-256", "skitai", "abs", metric="errors",
           threshold=0, op="eq"),
    Target("256 keep-alive connections: p99 < 50 ms", "keepalive-256", "skitai", "abs", metric="p99_ms",
           threshold=50.0, op="lt"),
    Target("RSS per idle worker <= 40 MB", "idle-rss", "skitai", "abs", metric="rss_worker_mb",
           threshold=40.0, op="le"),
    Target("Atila JSON route >= 1.5x starlette+uvicorn", "atila-json", "atila", "ratio",
           "uvicorn-starlette", 1.5),
    Target("Atila JSON route >= 5x original Atila/Skitai", "atila-json", "atila", "ratio", "orig", 5.0),
    Target("HTTP/2 >= 3x hypercorn", "h2-hello", "skitai", "ratio", "hypercorn", 3.0),
    Target("HTTP/2 p99 < 50 ms", "h2-hello", "skitai", "abs", metric="p99_ms", threshold=50.0, op="lt"),
    Target("WebSocket echo >= 1.0x uvicorn", "ws-echo", "skitai", "ratio", "uvicorn", 1.0),
]
