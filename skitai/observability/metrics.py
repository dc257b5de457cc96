"""Prometheus metrics for the master and its workers (prometheus-client multiprocess mode).

Why multiprocess mode: a scrape of ``/metrics`` lands on one worker, but the
numbers must cover every worker. Each process writes its samples to small
mmap files in one directory (``PROMETHEUS_MULTIPROC_DIR``) that the master
creates before it forks; whichever worker answers the scrape merges them.

Contract with the other layers (see docs/architecture.md):

* master: ``setup_master(prefs)`` before forking; ``worker_exited(pid)`` for
  every reaped worker; ``worker_restarted(reason)``; ``critical_strike(worker_id, count)``.
* worker: ``for_worker(prefs, worker_id)`` -> :class:`WorkerMetrics`;
  ``.observe(record)`` once per finished request (the only hot-path call);
  ``.start(ctx)`` once the worker serves, which starts a sampler thread that
  updates the gauges (CPU, RSS, in-flight, connections, queue depth, ready)
  every ``SAMPLE_INTERVAL`` seconds instead of on every request.
* ``render()`` -> ``(body, content_type)`` for the ``/metrics`` endpoint.

Files of dead workers are folded into one archive file per type by the
master (counters and histograms keep their totals, so they never go down)
and their live gauges are removed, so the directory does not grow with
every restart.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import glob
import os
import shutil
import sys
import tempfile
import threading
from bisect import bisect_left
from contextlib import contextmanager
from typing import Any

ENV_DIR = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL = 2.0   # s: CPU, RSS and the other gauges
FLUSH_INTERVAL = 1.0    # s: request counts reach the shared files at least this often
RESTART_REASONS = ("crash", "critical_point", "max_requests", "memory", "reload")
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
_STATUS_CLASS = {i: f"{i}xx" for i in range(1, 6)}
_LOCK_NAME = ".lock"
# generate_latest() writes the classic text format; say so, whatever the client's default header is
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_defs: _Definitions | None = None
_defs_lock = threading.Lock()
_master_pid: int | None = None


def _pref(prefs: Any, name: str, default: Any) -> Any:
    value = getattr(prefs, name, default) if prefs is not None else default
    return default if value is None else value


def enabled(prefs: Any) -> bool:
    """``metrics`` preference (on by default)."""
    return bool(_pref(prefs, "metrics", True))


def _ensure_multiprocess(clean: bool = False) -> str:
    """Point prometheus-client at the shared directory; create it when missing.

    prometheus-client picks its value class when it is imported, so the
    class is switched here explicitly: the import may already have happened.
    """
    path = os.environ.get(ENV_DIR)
    if not path:
        path = tempfile.mkdtemp(prefix="skitai-metrics-")
        os.environ[ENV_DIR] = path
        # removed when the process that made it exits (forked children inherit the hook: pid check)
        atexit.register(_remove_own_dir, path, os.getpid())
    os.makedirs(path, exist_ok=True)
    if clean:
        for name in os.listdir(path):
            full = os.path.join(path, name)
            if name.endswith(".db") or name == _LOCK_NAME:
                try:
                    os.remove(full)
                except OSError:
                    pass
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()
    return path


def _remove_own_dir(path: str, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


class _Definitions:
    """Every metric of the engine, created once per process tree."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        labels = ("mount", "method", "status")
        # registry=None: exposition goes through the multiprocess collector only.
        self.requests = Counter("skitai_requests", "Finished HTTP requests.", labels, registry=None)
        self.duration = Histogram(
            "skitai_request_duration_seconds",
            "Time from the parsed request head to the last response byte.",
            labels, buckets=DURATION_BUCKETS, registry=None,
        )
        self.request_bytes = Counter(
            "skitai_request_bytes", "Bytes received in requests (head and body).", labels, registry=None
        )
        self.response_bytes = Counter(
            "skitai_response_bytes", "Bytes sent in responses (head and body).", labels, registry=None
        )
        self.in_flight = Gauge(
            "skitai_requests_in_flight", "Requests being handled.", registry=None, multiprocess_mode="livesum"
        )
        self.connections = Gauge(
            "skitai_open_connections", "Open client connections by protocol.", ("protocol",),
            registry=None, multiprocess_mode="livesum",
        )
        self.queue_depth = Gauge(
            "skitai_threadpool_queue_depth", "WSGI calls waiting for a thread of the pool.",
            registry=None, multiprocess_mode="livesum",
        )
        self.cpu = Gauge(
            "skitai_worker_cpu_percent", "CPU percent of each worker process.", ("worker",),
            registry=None, multiprocess_mode="liveall",
        )
        self.rss = Gauge(
            "skitai_worker_rss_bytes", "Resident memory of each worker process.", ("worker",),
            registry=None, multiprocess_mode="liveall",
        )
        self.ready = Gauge(
            "skitai_worker_ready", "1 while the worker accepts requests (lifespan started, not draining).",
            ("worker",), registry=None, multiprocess_mode="livemin",
        )
        self.workers = Gauge(
            "skitai_workers", "Worker processes that are alive.", registry=None, multiprocess_mode="livesum"
        )
        self.restarts = Counter(
            "skitai_worker_restarts", "Workers replaced by the master, by reason.", ("reason",), registry=None
        )
        self.strikes = Gauge(
            "skitai_worker_critical_strikes",
            "Consecutive critical-point samples over the CPU limit, per worker.",
            ("worker",), registry=None, multiprocess_mode="livemax",
        )


def _definitions() -> _Definitions:
    global _defs
    if _defs is None:
        with _defs_lock:
            if _defs is None:
                _ensure_multiprocess()
                _defs = _Definitions()
    return _defs


# ---------------------------------------------------------------- master side

def setup_master(prefs: Any) -> str | None:
    """Create (or empty) the multiprocess directory before any worker is forked.

    Returns the directory, or None when metrics are off. An existing
    ``PROMETHEUS_MULTIPROC_DIR`` is honoured (e.g. a tmpfs volume), but its
    old ``.db`` files are removed: they belong to a previous run.
    """
    global _master_pid
    if not enabled(prefs):
        return None
    path = _ensure_multiprocess(clean=True)
    _master_pid = os.getpid()
    d = _definitions()
    for reason in RESTART_REASONS:  # export zeros so rate() and alerts work from the start
        d.restarts.labels(reason)
    return path


def worker_restarted(reason: str) -> None:
    """Count one worker replacement; ``reason`` is one of RESTART_REASONS."""
    if os.environ.get(ENV_DIR) is None:
        return
    if reason not in RESTART_REASONS:
        reason = "crash"
    _definitions().restarts.labels(reason).inc()


def critical_strike(worker_id: int, count: int) -> None:
    """Record the current critical-point strike count of a worker (0 resets it)."""
    if os.environ.get(ENV_DIR) is None:
        return
    _definitions().strikes.labels(str(worker_id)).set(count)


@contextmanager
def _dir_lock(path: str, exclusive: bool):
    """Readers (scrapes) take it shared, the master's compaction exclusive.

    Folding a dead worker's file into the archive changes two files; without
    the lock a scrape in between could count the same requests twice or not
    at all, and a counter that goes down looks like a reset to Prometheus.
    """
    fd = os.open(os.path.join(path, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def worker_exited(pid: int) -> None:
    """Clean up after a reaped worker: drop its live gauges, archive its totals."""
    path = os.environ.get(ENV_DIR)
    if not path or not os.path.isdir(path):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)
    for typ in ("counter", "histogram"):
        dead = os.path.join(path, f"{typ}_{pid}.db")
        if os.path.exists(dead):
            _fold(path, typ, dead)
    # gauges of the non-live modes are not used by the engine, but an app may define some
    for f in glob.glob(os.path.join(path, f"gauge_*_{pid}.db")):
        try:
            os.remove(f)
        except OSError:
            pass


def _fold(path: str, typ: str, dead: str) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    archive = os.path.join(path, f"{typ}_archive.db")
    tmp = os.path.join(path, f".{typ}_archive.tmp")
    totals: dict[str, float] = {}
    sources = [archive, dead] if os.path.exists(archive) else [dead]
    with _dir_lock(path, exclusive=True):
        for src in sources:
            for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(src):
                totals[key] = totals.get(key, 0.0) + value
        if os.path.exists(tmp):
            os.remove(tmp)
        out = MmapedDict(tmp)
        try:
            for key, value in totals.items():
                out.write_value(key, value, 0.0)
        finally:
            out.close()
        os.replace(tmp, archive)
        os.remove(dead)


# ---------------------------------------------------------------- worker side

class WorkerMetrics:
    """Metrics of one worker process; ``observe`` is the only per-request call.

    Once ``start`` ran inside the worker's event loop, ``observe`` only adds
    to plain Python numbers (about 1 us) and the loop writes them to the
    shared mmap files every ``FLUSH_INTERVAL`` seconds, before this worker
    answers a scrape, and when the worker closes; writing every request
    through prometheus-client costs about 10 us. Before ``start`` (or
    without a loop) every observation is written at once.
    """

    __slots__ = ("worker_id", "_d", "_children", "_enabled", "_ctx", "_thread", "_stop", "_proc", "_pool",
                 "_probes", "_pending", "_batch", "_loop", "_bounds")

    def __init__(self, prefs: Any, worker_id: int) -> None:
        self.worker_id = worker_id
        self._enabled = enabled(prefs)
        self._d = _definitions() if self._enabled else None
        self._children: dict[tuple, tuple] = {}
        self._ctx: Any = None
        self._pool: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._proc = None
        # probe requests (orchestrator, Prometheus) are not traffic: they would dilute error ratios
        self._probes = frozenset(p for p in (_pref(prefs, "health_path", "/healthz"), _pref(prefs, "ready_path", "/readyz"),
                                             _pref(prefs, "metrics_path", "/metrics")) if p)
        # key -> [count, duration sum, request bytes, response bytes, bucket counts...]
        self._pending: dict[tuple, list] = {}
        self._batch = False
        self._loop: Any = None
        self._bounds = (*DURATION_BUCKETS, float("inf"))

    # -- hot path
    def observe(self, record: Any) -> None:
        """Count one finished request (called by the observer, once per request)."""
        if not self._enabled or record.uri in self._probes:
            return
        status = record.status
        key = (record.mount, record.method, status // 100 if status else 0)
        started = record.started or 0.0
        duration = (record.finished or record.responded or started) - started
        if duration < 0.0:
            duration = 0.0
        pending = self._pending
        p = pending.get(key)
        if p is None:
            p = pending[key] = [0, 0.0, 0, 0] + [0] * len(self._bounds)
        p[0] += 1
        p[1] += duration
        n = record.request_bytes
        if n:
            p[2] += n
        n = record.response_bytes
        if n:
            p[3] += n
        p[4 + bisect_left(self._bounds, duration)] += 1
        if not self._batch:
            self.flush()

    def flush(self) -> None:
        """Write the pending counts to the shared files (on the thread that observes)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for key, p in pending.items():
            req, dur, rx, tx = self._children_for(key)
            req.inc(p[0])
            dur._sum.inc(p[1])
            for i, n in enumerate(p[4:]):
                if n:
                    dur._buckets[i].inc(n)
            if p[2]:
                rx.inc(p[2])
            if p[3]:
                tx.inc(p[3])

    def _children_for(self, key: tuple) -> tuple:
        children = self._children.get(key)
        if children is not None:
            return children
        mount, method, klass = key
        labels = (
            mount if mount else "/",  # root_path "" = the app mounted at "/"
            method if method in _METHODS else "OTHER",
            _STATUS_CLASS.get(klass, "other"),
        )
        d = self._d
        children = (
            d.requests.labels(*labels), d.duration.labels(*labels),
            d.request_bytes.labels(*labels), d.response_bytes.labels(*labels),
        )
        if len(self._children) < 10000:  # bounded: the label set itself is bounded
            self._children[key] = children
        return children

    def _flush_tick(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - metrics must not break the loop
            pass
        if not self._stop.is_set() and self._loop is not None:
            self._loop.call_later(FLUSH_INTERVAL, self._flush_tick)

    # -- periodic gauges
    def start(self, ctx: Any = None, thread_pool: Any = None) -> None:
        """Start the sampler thread; ``ctx`` is the worker's ServerContext."""
        if not self._enabled or self._thread is not None:
            return
        self._ctx = ctx
        self._pool = thread_pool
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        if self._loop is not None:
            self._batch = True
            self._loop.call_later(FLUSH_INTERVAL, self._flush_tick)
        self._d.workers.set(1)
        self._sample()
        self._thread = threading.Thread(target=self._run, name="skitai-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Final flush; call on the loop thread when the worker closes."""
        self._stop.set()
        if self._enabled:
            self.flush()
        if self._enabled and self._d is not None:
            try:
                self._d.ready.labels(str(self.worker_id)).set(0)
            except Exception:  # noqa: BLE001 - never let metrics break a shutdown
                pass

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL):
            try:
                self._sample()
            except Exception:  # noqa: BLE001 - a failed sample must not kill the worker
                pass

    def _sample(self) -> None:
        import psutil

        d = self._d
        wid = str(self.worker_id)
        if self._proc is None:
            self._proc = psutil.Process()
            self._proc.cpu_percent(None)  # first call primes the counter
        with self._proc.oneshot():
            d.cpu.labels(wid).set(self._proc.cpu_percent(None))
            d.rss.labels(wid).set(self._proc.memory_info().rss)
        ctx = self._ctx
        if ctx is not None:
            # one snapshot (list() of a set is atomic under the GIL): the loop thread keeps
            # adding and removing connections while this thread counts them
            conns = list(getattr(ctx, "connections", None) or ())
            d.in_flight.set(sum(1 for c in conns if getattr(c, "busy", False)))
            counts = dict.fromkeys(_KNOWN_PROTOCOLS, 0)
            for conn in conns:
                proto = _protocol_of(conn)
                counts[proto] = counts.get(proto, 0) + 1
            for proto, n in counts.items():
                d.connections.labels(proto).set(n)
            ready = bool(getattr(ctx, "ready", True)) and not bool(getattr(ctx, "draining", False))
            d.ready.labels(wid).set(1 if ready else 0)
        else:
            d.ready.labels(wid).set(1)
        d.queue_depth.set(_queue_depth(self._pool))


_KNOWN_PROTOCOLS = ("http/1.1", "h2", "ws")
_PROTOCOL_BY_CLASS = {"H1Protocol": "http/1.1", "H2Protocol": "h2", "H1WebSocketCarrier": "ws",
                      "WebSocketSession": "ws"}


def _protocol_of(conn: Any) -> str:
    name = getattr(conn, "protocol_name", None)
    if isinstance(name, str):
        return name
    return _PROTOCOL_BY_CLASS.get(type(conn).__name__, "other")


def _queue_depth(pool: Any) -> int:
    if pool is None:  # the WSGI adapter's shared pool, when this worker serves WSGI apps
        wsgi = sys.modules.get("skitai.mounts.wsgi")
        pool = getattr(wsgi, "_pool", None)
    if pool is None:
        return 0
    q = getattr(pool, "queue_depth", None)
    return int(q() if callable(q) else q or 0)


_worker: WorkerMetrics | None = None


def for_worker(prefs: Any, worker_id: int) -> WorkerMetrics:
    """The metrics object of this worker process (one per process)."""
    global _worker
    if _worker is None or _worker.worker_id != worker_id:
        _worker = WorkerMetrics(prefs, worker_id)
    return _worker


def current() -> WorkerMetrics | None:
    return _worker


# ---------------------------------------------------------------- exposition

def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every process (all workers and the master)."""
    from prometheus_client.exposition import generate_latest
    from prometheus_client.registry import CollectorRegistry

    if _worker is not None and _worker._enabled:
        _worker.flush()  # this worker's own counts are exact; the others' are at most FLUSH_INTERVAL old
    path = os.environ.get(ENV_DIR)
    if not path or not os.path.isdir(path):
        return b"", CONTENT_TYPE
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_LockedCollector(path))
    return generate_latest(registry), CONTENT_TYPE


class _LockedCollector:
    def __init__(self, path: str) -> None:
        self._path = path

    def collect(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        with _dir_lock(self._path, exclusive=False):
            files = glob.glob(os.path.join(self._path, "*.db"))
            return list(MultiProcessCollector.merge(files, accumulate=True))


def cleanup_master() -> None:
    """Remove the directory the master created (only a temporary one of ours)."""
    path = os.environ.get(ENV_DIR)
    if path and os.path.basename(path).startswith("skitai-metrics-") and _master_pid == os.getpid():
        shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "setup_master", "worker_exited", "worker_restarted", "critical_strike",
    "for_worker", "WorkerMetrics", "render", "enabled", "RESTART_REASONS",
]
