"""Parsers for the load generators' text output.

wrk and h2load print human-oriented reports; the bench needs numbers. Kept
apart from the runner so the smoke test can check them on real output.
"""

from __future__ import annotations

import re

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class ParseError(ValueError):
    """The tool's output did not contain what a finished run prints."""


def duration_ms(text: str) -> float:
    """``"451.23us"`` -> 0.45123; ``"2.35ms"`` -> 2.35; ``"1.2s"`` -> 1200."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ParseError(f"not a duration: {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(text: str) -> dict:
    """Numbers from ``wrk --latency`` output.

    Returns requests/s, p50/p99 latency (ms; None if wrk printed none),
    completed requests, and errors = socket errors + non-2xx/3xx responses.
    """
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if not m:
        raise ParseError("wrk printed no Requests/sec line")
    out: dict = {"rps": float(m.group(1))}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+)", text, re.M)
    out["requests"] = int(m.group(1)) if m else 0
    out["seconds"] = duration_ms(m.group(2)) / 1000.0 if m else None
    for pct in ("50", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+([0-9.]+\w+)", text, re.M)
        out[f"p{pct}_ms"] = duration_ms(m.group(1)) if m else None
    socket = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        socket = dict(zip(socket, map(int, m.groups()), strict=True))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non2xx = int(m.group(1)) if m else 0
    out["socket_errors"] = socket
    out["non2xx"] = non2xx
    out["errors"] = sum(socket.values()) + non2xx
    return out


def parse_h2load(text: str, log_text: str | None = None) -> dict:
    """Numbers from h2load output; p99 comes from its ``--log-file`` (per-request latencies).

    errors = failed + errored + timeout requests + non-2xx statuses.
    """
    m = re.search(r"^finished in ([0-9.]+\w+), ([0-9.]+) req/s", text, re.M)
    if not m:
        raise ParseError("h2load printed no 'finished in' line")
    out: dict = {"rps": float(m.group(2)), "seconds": duration_ms(m.group(1)) / 1000.0}
    m = re.search(
        r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout", text, re.M)
    if not m:
        raise ParseError("h2load printed no 'requests:' line")
    total, _started, done, succeeded, failed, errored, timeout = map(int, m.groups())
    out["requests"] = done
    out["succeeded"] = succeeded
    m = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    bad_status = int(m.group(3)) + int(m.group(4)) if m else 0
    out["errors"] = failed + errored + timeout + bad_status
    m = re.search(r"^time for request:\s+([0-9.]+\w+)\s+([0-9.]+\w+)\s+([0-9.]+\w+)", text, re.M)
    out["mean_ms"] = duration_ms(m.group(3)) if m else None
    m = re.search(r"^Application protocol: (\S+)", text, re.M)
    out["protocol"] = m.group(1) if m else None
    out["p50_ms"] = out["p99_ms"] = None
    if log_text:
        lat = latencies_from_h2load_log(log_text)
        if lat:
            out["p50_ms"] = percentile(lat, 50)
            out["p99_ms"] = percentile(lat, 99)
    return out


def latencies_from_h2load_log(log_text: str) -> list[float]:
    """h2load ``--log-file`` rows are ``start_us<TAB>status<TAB>latency_us``; returns ms."""
    lat = []
    for line in log_text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
            lat.append(int(parts[2]) / 1000.0)
    return lat


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (what load tools report)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def median(values: list[float]) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
