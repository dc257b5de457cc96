"""The master process: bind, fork workers, supervise, reload, stop.

One process, one thread, one ``select`` loop. Signal handlers only record the
signal (and wake the loop through ``signal.set_wakeup_fd``); everything else
happens in the loop, so there are no races between a SIGCHLD and the
bookkeeping of a worker being replaced.

Contract with the worker (``skitai.server.worker.run(prefs, sockets, table,
worker_id) -> int``): it serves the inherited sockets, calls
``skitai.process.notify.ready()`` once it accepts connections, drains and
returns 0 on SIGTERM; exit code 3 = max_requests reached, 4 = memory limit,
5 = the app failed to load. Anything else (a signal, another code) is a crash.

Why the choices below:

* a worker is replaced *before or while* the old one drains (the listening
  socket stays open in the master and in the new worker), so replacements
  never refuse connections;
* a worker that dies within ``MIN_UPTIME`` s of its start is restarted after
  an exponential delay (``BACKOFF_BASE`` doubling up to ``BACKOFF_CAP``), so
  a broken deploy does not fork-bomb the host;
* exit 5 before any worker ever became ready means the app cannot load: after
  ``LOAD_GIVEUP`` such exits the master stops and exits 1 with a clear line,
  instead of respawning forever;
* ``workers == 1`` still runs master + 1 worker: same supervision, same
  signals, same reload path as any other count.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass

from . import notify, proctitle
from .critical import CriticalPoint
from .log import MasterLog, setup_worker_logging

EXIT_STOP = 0
EXIT_MAX_REQUESTS = 3
EXIT_MEMORY = 4
EXIT_APP_LOAD = 5

MIN_UPTIME = 5.0        # s: a worker dying sooner is a "quick death" (back-off)
MIN_UPTIME_PLANNED = 0.5  # s: the same for a worker that left at max_requests
BACKOFF_BASE = 0.5      # s: first delay after a quick death
BACKOFF_CAP = 30.0      # s: longest delay between restarts of one slot
LOAD_GIVEUP = 3         # exit-5s before first readiness -> give up
CRITICAL_GRACE = 3.0    # s: SIGTERM -> SIGKILL for a worker over the CPU critical point
READY_FALLBACK = 10.0   # s: a worker alive this long without reporting ready counts as ready
STOP_SLACK = 2.0        # s: added to shutdown_timeout before leftovers get SIGKILL
RELOADER_PERIOD = 1.0   # s: use_reloader polls the workers' source files this often

_MASTER_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)

_EXIT_REASON = {EXIT_MAX_REQUESTS: "max_requests", EXIT_MEMORY: "memory"}


def _pref(prefs, name: str, default):
    value = getattr(prefs, name, None)
    return default if value is None else value


def worker_count(prefs) -> int:
    """``workers``, or when 0 the CPUs this process may use (affinity and cgroup quota)."""
    from skitai.config.cpus import effective_workers
    return max(1, int(effective_workers(prefs)))


def _metric(name: str, *args) -> None:
    """Call ``skitai.observability.metrics.<name>`` if it exists; never fail."""
    try:
        from skitai.observability import metrics
    except Exception:
        return
    fn = getattr(metrics, name, None)
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:  # metrics must never take the master down
        pass


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return {0: "exit 0 (stopped)", 3: "exit 3 (max_requests reached)",
            4: "exit 4 (max_worker_memory reached)",
            5: "exit 5 (app failed to load)"}.get(code, f"exit {code} (crashed)")


@dataclass
class Worker:
    worker_id: int
    pid: int
    started: float
    ready_fd: int | None
    ready: bool = False
    retiring: str | None = None      # why the master asked it to leave
    kill_at: float | None = None     # SIGKILL deadline once retiring
    reload_of: int | None = None     # pid this worker replaces in a rolling reload
    report: bytes = b""              # what came through the ready pipe (use_reloader: files)


class Master:
    def __init__(self, prefs, table=None, worker_fn=None, sockets=None,
                 pidfile: str | None = None, log: MasterLog | None = None,
                 workers: int | None = None):
        self.prefs = prefs
        self.table = table
        self.worker_fn = worker_fn
        self.sockets = sockets
        self.pidfile = pidfile
        self.log = log or MasterLog(prefs)
        self.nworkers = workers or worker_count(prefs)
        self.name = proctitle.display_name(prefs)
        self.shutdown_timeout = float(_pref(prefs, "shutdown_timeout", 30.0))
        self.critical = CriticalPoint(
            cpu_percent=float(_pref(prefs, "critical_point_cpu_percent", 90.0)),
            continuous=int(_pref(prefs, "critical_point_continuous", 3)),
            interval=float(_pref(prefs, "critical_point_interval", 0) or 0),
            max_memory=int(_pref(prefs, "max_worker_memory", 0) or 0),
            on_strike=self._strike)
        self.workers: dict[int, Worker] = {}
        self.pending: dict[int, tuple[float, str]] = {}   # slot -> (due, reason)
        self.quick_deaths: dict[int, int] = {}
        self.ever_ready = False
        self.load_failures = 0
        self.stopping = False
        self.stop_deadline: float | None = None
        self.exit_code = 0
        self.reload_queue: list[int] = []
        self.reload_current: int | None = None
        self._reloading = False
        self._prepared = False
        self._master_pid = os.getpid()
        self.ready_fallback = READY_FALLBACK
        self.use_reloader = bool(_pref(prefs, "use_reloader", False)) or _mounts_want_reloader(table)
        self.watched: dict[str, float | None] = {}   # source file -> mtime (use_reloader)
        self._next_watch = 0.0
        self._signals: list[int] = []
        self._wake_r = self._wake_w = -1
        self._old_handlers: dict[int, object] = {}

    # ----------------------------------------------------------------- run
    def run(self) -> int:
        # handlers first: a SIGTERM that arrives once the port answers must stop us
        # gracefully (exit 0), whatever stage the start-up is in
        self._install_signals()
        try:
            if self._prepare():
                now = time.monotonic()
                for i in range(self.nworkers):
                    self.pending[i] = (now, "start")
                if self._signals:  # stopped before any worker started
                    self._handle_signals()
                if not self.stopping:
                    self._start_pending(now)
                try:
                    self._loop()
                except Exception:  # a bug here must not orphan the workers
                    self.log("master failed; stopping the workers:\n" + traceback.format_exc(),
                             "critical")
                    self.exit_code = 1
                    self._emergency_stop()
            else:
                self.exit_code = 1
        finally:
            self._restore_signals()
            from .sockets import release
            release(self.sockets)  # closes them; removes the uds socket file this master bound
            self._remove_pidfile()
            if self._prepared:
                _metric("cleanup_master")
        self.log("master stopped", exit=self.exit_code)
        self.log.close()
        return self.exit_code

    def _prepare(self) -> bool:
        """Engine import, sockets, pid file, title, metrics; False (logged) on failure."""
        if self.worker_fn is None:
            try:
                from skitai.server import worker as server_worker
            except ImportError as e:
                self.log(f"cannot start: the HTTP engine is not importable: {e}", "error")
                return False
            self.worker_fn = server_worker.run
        if self.sockets is None:
            from .sockets import bind
            try:
                self.sockets = bind(self.prefs)
            except OSError as e:
                self.log(f"cannot start: {e.strerror or e}", "error")
                return False
        addrs = " ".join(_sockname(s) for s in self.sockets)
        self.log("master started", pid=os.getpid(), workers=self.nworkers, listen=addrs,
                 name=self.name)
        try:
            self._write_pidfile()
        except OSError as e:
            self.log(f"cannot write the pid file {self.pidfile}: {e.strerror or e}", "error")
            self.pidfile = None  # not ours to remove
            return False
        proctitle.set_title(self.name, "master")
        _metric("setup_master", self.prefs)
        self._prepared = True
        return True

    def _loop(self) -> None:
        while True:
            fds = [self._wake_r] + [w.ready_fd for w in self.workers.values()
                                    if w.ready_fd is not None]
            poller = select.poll()  # poll, not select: no FD_SETSIZE limit on fd numbers
            for fd in fds:
                poller.register(fd, select.POLLIN)
            try:
                readable = {fd for fd, _ in poller.poll(self._timeout() * 1000)}
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                readable = set()
            if self._wake_r in readable:
                try:
                    while os.read(self._wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            self._handle_signals()
            self._reap()
            for w in list(self.workers.values()):
                if w.ready_fd is not None and w.ready_fd in readable:
                    self._read_ready(w)
            now = time.monotonic()
            self._deadlines(now)
            if self.stopping:
                if not self.workers:
                    return
                if self.stop_deadline is not None and now > self.stop_deadline + 5.0:
                    self.log("workers did not exit after SIGKILL; giving up waiting", "error",
                             pids=",".join(map(str, self.workers)))
                    return
                continue
            self._start_pending(now)
            for v in self.critical.poll(now):
                w = self.workers.get(v.pid)
                if w is not None and not w.retiring:
                    self.log(f"worker #{w.worker_id} over its critical point; replacing", "warning",
                             pid=w.pid, reason=v.reason, detail=v.detail)
                    grace = CRITICAL_GRACE if v.reason == "critical_point" else self.shutdown_timeout
                    self.replace(w, v.reason, grace)
            self._check_sources(now)
            self._advance_reload()

    def _timeout(self) -> float:
        now = time.monotonic()
        t = 1.0
        for due, _ in self.pending.values():
            t = min(t, due - now)
        for w in self.workers.values():
            if w.kill_at is not None:
                t = min(t, w.kill_at - now)
            if not w.ready and not w.retiring:
                t = min(t, w.started + self.ready_fallback - now)
        if self.stop_deadline is not None:
            t = min(t, self.stop_deadline - now)
        if self.watched:
            t = min(t, self._next_watch - now)
        ct = self.critical.timeout(now)
        if ct is not None:
            t = min(t, ct)
        return max(0.0, t)

    # -------------------------------------------------------------- spawn
    def spawn(self, worker_id: int, reason: str | None = None) -> Worker:
        r, w = os.pipe()  # both ends close-on-exec (PEP 446)
        # non-blocking: a process the worker forked may hold the write end after it died
        os.set_blocking(r, False)
        sys.stdout.flush()
        sys.stderr.flush()
        # block our signals across fork: one sent to the new worker before it has
        # reset the master's handlers would otherwise be swallowed by them
        saved = signal.pthread_sigmask(signal.SIG_BLOCK, _MASTER_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, saved)
            os.close(r)
            os.close(w)
            raise
        if pid == 0:  # child
            os.close(r)
            self._child(worker_id, w, saved)
        signal.pthread_sigmask(signal.SIG_SETMASK, saved)
        os.close(w)
        rec = Worker(worker_id, pid, time.monotonic(), r)
        self.workers[pid] = rec
        self.critical.watch(pid, worker_id)
        fields = {"pid": pid}
        if reason:
            fields["reason"] = reason
        self.log(f"worker #{worker_id} started", **fields)
        return rec

    def _emergency_stop(self) -> None:
        """SIGTERM every worker, wait up to shutdown_timeout, SIGKILL the rest (blocking)."""
        deadline = time.monotonic() + self.shutdown_timeout + STOP_SLACK
        for pid in list(self.workers):
            self._kill(pid, signal.SIGTERM)
        while self.workers and time.monotonic() < deadline + 5.0:
            if time.monotonic() >= deadline:
                for pid in list(self.workers):
                    self._kill(pid, signal.SIGKILL)
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.workers.pop(pid, None)
            else:
                time.sleep(0.05)

    def _child(self, worker_id: int, ready_w: int, sigmask=()) -> None:
        rc = 1
        try:
            _die_with_parent(self._master_pid)
            signal.set_wakeup_fd(-1)
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            for other in self.workers.values():
                if other.ready_fd is not None:
                    os.close(other.ready_fd)
            # SIGTERM drains (the worker installs its handler); SIGINT/SIGHUP from a
            # terminal reach the whole group: the master decides, the worker ignores.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self._signals.clear()
            signal.pthread_sigmask(signal.SIG_SETMASK, sigmask)  # a pending SIGTERM acts now
            table = self.table
            notify._set_fd(ready_w, report_files=lambda: self.use_reloader
                           or _apps_want_reloader(table))
            proctitle.set_title(self.name, f"worker #{worker_id}")
            setup_worker_logging(self.prefs, worker_id)
            result = self.worker_fn(self.prefs, self.sockets, self.table, worker_id)
            rc = int(result or 0)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            rc = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(rc)

    # ------------------------------------------------------------ replace
    def retire(self, w: Worker, reason: str, grace: float) -> None:
        """Ask ``w`` to drain (SIGTERM); SIGKILL it after ``grace`` seconds."""
        w.retiring = reason
        w.kill_at = time.monotonic() + grace
        self.critical.forget(w.pid)
        self._kill(w.pid, signal.SIGTERM)

    def replace(self, w: Worker, reason: str, grace: float) -> Worker | None:
        """Start the successor first, then drain ``w``: the port never goes unserved."""
        try:
            new = self.spawn(w.worker_id, reason=reason)
        except OSError as e:
            self.log(f"cannot fork worker #{w.worker_id}: {e}; retrying in 1s", "error")
            new = None
            self.pending[w.worker_id] = (time.monotonic() + 1.0, reason)
        self.retire(w, reason, grace)
        if new is not None:
            _metric("worker_restarted", reason)
        return new

    def _kill(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    # ------------------------------------------------------------ signals
    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in _MASTER_SIGNALS:
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _restore_signals(self) -> None:
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        for sig, h in self._old_handlers.items():
            try:
                signal.signal(sig, h if h is not None else signal.SIG_DFL)
            except (TypeError, ValueError):
                pass
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _on_signal(self, signum, frame) -> None:
        self._signals.append(signum)

    def _handle_signals(self) -> None:
        while self._signals:
            sig = self._signals.pop(0)
            if sig == signal.SIGCHLD:
                continue  # _reap runs on every loop turn
            if sig in (signal.SIGTERM, signal.SIGINT):
                if self.stopping:
                    if sig == signal.SIGINT:  # a second Ctrl-C: do not wait any longer
                        self.log("second SIGINT: killing workers now", "warning")
                        for w in self.workers.values():
                            self._kill(w.pid, signal.SIGKILL)
                    continue
                self.log(f"{signal.Signals(sig).name} received: stopping", "info",
                         shutdown_timeout=self.shutdown_timeout)
                self.stop()
            elif sig == signal.SIGHUP:
                if self.stopping:
                    continue
                self.log("SIGHUP received: rolling reload of workers", workers=self.nworkers)
                self.reload_queue = list(range(self.nworkers))
                self._reloading = True

    def stop(self) -> None:
        """Graceful stop: every worker drains, leftovers are killed at the deadline."""
        if self.stopping:
            return
        self.stopping = True
        self.pending.clear()
        self.reload_queue.clear()
        for s in self.sockets or ():  # the master's copy; workers close theirs when they drain
            try:
                s.close()
            except OSError:
                pass
        self.stop_deadline = time.monotonic() + self.shutdown_timeout + STOP_SLACK
        for w in self.workers.values():
            w.retiring = w.retiring or "stop"
            w.kill_at = self.stop_deadline
            self._kill(w.pid, signal.SIGTERM)

    # -------------------------------------------------------------- reap
    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except OSError as e:  # pragma: no cover
                if e.errno == errno.EINTR:
                    continue
                return
            if pid == 0:
                return
            w = self.workers.pop(pid, None)
            if w is None:
                continue  # an orphan re-parented to us (we may be PID 1)
            _metric("worker_exited", pid)
            self.critical.forget(pid)
            if w.ready_fd is not None:
                # a "ready" byte may still be in the pipe: read it before judging the exit
                self._read_ready(w)
                if w.ready_fd is not None:
                    os.close(w.ready_fd)
                    w.ready_fd = None
            self._exited(w, os.waitstatus_to_exitcode(status))

    def _exited(self, w: Worker, code: int) -> None:
        now = time.monotonic()
        uptime = now - w.started
        fields = {"pid": w.pid, "status": describe_exit(code), "uptime": f"{uptime:.1f}s"}
        if w.retiring:
            self.log(f"worker #{w.worker_id} exited", reason=w.retiring, **fields)
            return
        reason = _EXIT_REASON.get(code, "crash")
        self.log(f"worker #{w.worker_id} exited", "info" if code in (3, 4) else "error",
                 reason=reason, **fields)
        if self.stopping:
            return
        if w.reload_of is not None and not w.ready:
            self.log(f"reload aborted: the new worker #{w.worker_id} failed to start; "
                     "the running workers keep serving the old code", "error")
            self.reload_queue.clear()
            self.reload_current = None
            self._reloading = False
            return
        if code == EXIT_APP_LOAD and not w.ready and not self.ever_ready:
            self.load_failures += 1
            if self.load_failures >= LOAD_GIVEUP:
                self.log(f"the app failed to load in {self.load_failures} workers at start "
                         "(see the worker's error above); giving up", "critical")
                self.exit_code = 1
                self.stop()
                return
        # another live worker already holds this slot (e.g. mid-reload): nothing to do
        if any(o.worker_id == w.worker_id and not o.retiring for o in self.workers.values()):
            return
        if w.worker_id in self.pending:
            return
        delay = 0.0
        # a planned exit (max_requests) is quick only when it is absurdly quick; any
        # other early exit (crash, memory limit already hit at start) would loop forking
        quick = uptime < (MIN_UPTIME_PLANNED if reason == "max_requests" else MIN_UPTIME)
        if quick:
            n = self.quick_deaths.get(w.worker_id, 0) + 1
            self.quick_deaths[w.worker_id] = n
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (n - 1))
        else:
            self.quick_deaths.pop(w.worker_id, None)
        self.pending[w.worker_id] = (now + delay, reason)
        if delay:
            self.log(f"worker #{w.worker_id} left {uptime:.1f}s after start; "
                     f"restarting in {delay:g}s", "warning")

    def _start_pending(self, now: float) -> None:
        for slot, (due, reason) in sorted(self.pending.items()):
            if due <= now:
                del self.pending[slot]
                if reason != "start":
                    self.log(f"restarting worker #{slot}", reason=reason)
                try:
                    self.spawn(slot, reason=None if reason == "start" else reason)
                except OSError as e:  # fork failed (EAGAIN, ENOMEM): try again shortly
                    self.log(f"cannot fork worker #{slot}: {e}; retrying in 1s", "error")
                    self.pending[slot] = (now + 1.0, reason)
                    continue
                if reason != "start":
                    _metric("worker_restarted", reason)

    # ------------------------------------------------------------- ready
    def _read_ready(self, w: Worker) -> None:
        """Drain the ready pipe: the first byte means ready, EOF closes it."""
        eof = False
        while True:
            try:
                data = os.read(w.ready_fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                eof = True
                break
            w.report += data
        if w.report and not w.ready:
            self._mark_ready(w)
        if eof:
            try:
                os.close(w.ready_fd)
            except OSError:
                pass
            w.ready_fd = None
            if len(w.report) > 1:  # the worker reports files when an app wants the reloader
                self._watch(w.report[1:].decode("utf-8", "surrogateescape").split("\n"))

    def _mark_ready(self, w: Worker, fallback: bool = False) -> None:
        if w.ready:
            return
        w.ready = True
        self.ever_ready = True
        if fallback:
            self.log(f"worker #{w.worker_id} did not report ready within {self.ready_fallback:g}s; "
                     "treating it as ready", "warning", pid=w.pid)
        else:
            self.log(f"worker #{w.worker_id} ready", pid=w.pid)
        if w.reload_of is not None:
            old = self.workers.get(w.reload_of)
            if old is not None and not old.retiring:
                self.retire(old, "reload", self.shutdown_timeout)
                _metric("worker_restarted", "reload")
            if self.reload_current == w.pid:
                self.reload_current = None

    def _deadlines(self, now: float) -> None:
        for w in list(self.workers.values()):
            if w.kill_at is not None and now >= w.kill_at:
                w.kill_at = None
                self.log(f"worker #{w.worker_id} did not exit in time; SIGKILL", "warning",
                         pid=w.pid, reason=w.retiring)
                self._kill(w.pid, signal.SIGKILL)
            elif not w.ready and not w.retiring and now - w.started >= self.ready_fallback:
                self._mark_ready(w, fallback=True)

    # ------------------------------------------------------------ reload
    def _advance_reload(self) -> None:
        if self.reload_current is not None:
            if self.reload_current in self.workers:
                return
            self.reload_current = None
        while self.reload_queue:
            slot = self.reload_queue.pop(0)
            old = next((w for w in self.workers.values()
                        if w.worker_id == slot and not w.retiring), None)
            if old is None:
                continue  # a pending restart will load the new code anyway
            try:
                new = self.spawn(slot, reason="reload")
            except OSError as e:
                self.log(f"reload aborted: cannot fork: {e}", "error")
                self.reload_queue.clear()
                self._reloading = False
                return
            new.reload_of = old.pid
            self.reload_current = new.pid
            return
        if self._reloading:
            self._reloading = False
            self.log("rolling reload finished")

    # ------------------------------------------------------- use_reloader
    def _watch(self, files: list[str]) -> None:
        for f in files:
            if f and f not in self.watched:
                self.watched[f] = _mtime(f)

    def _check_sources(self, now: float) -> None:
        """use_reloader: a changed source file starts a rolling reload (like SIGHUP)."""
        if not self.watched or now < self._next_watch:
            return
        self._next_watch = now + RELOADER_PERIOD
        changed = []
        for f, old in self.watched.items():
            m = _mtime(f)
            if m != old:
                self.watched[f] = m
                changed.append(f)
        if changed and not self.stopping:
            more = f" (+{len(changed) - 1} more)" if len(changed) > 1 else ""
            self.log(f"source changed: {changed[0]}{more}; rolling reload of workers")
            self.reload_queue = list(range(self.nworkers))
            self._reloading = True

    # --------------------------------------------------------- pidfile
    def _write_pidfile(self) -> None:
        if not self.pidfile:
            return
        from .daemon import write_pidfile
        write_pidfile(self.pidfile, os.getpid())

    def _remove_pidfile(self) -> None:
        if not self.pidfile:
            return
        from .daemon import remove_pidfile
        remove_pidfile(self.pidfile, os.getpid())

    def _strike(self, worker_id: int, count: int) -> None:
        _metric("critical_strike", worker_id, count)


def _die_with_parent(master_pid: int) -> None:
    """Linux: the kernel sends this worker SIGTERM (drain) if the master dies, even by
    SIGKILL, so workers never outlive it holding the port as orphans."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != master_pid:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _mounts_want_reloader(table) -> bool:
    """``skitai.pref(True)`` / ``pref.use_reloader = True`` on a mount (seen in the master)."""
    return any(getattr(m.pref, "use_reloader", None) for m in getattr(table, "mounts", ()) or ())


def _apps_want_reloader(table) -> bool:
    """``app.use_reloader = True`` on a loaded app (seen in the worker, after loading)."""
    return any(getattr(m.target, "use_reloader", None) is True or
               getattr(m.app, "use_reloader", None) is True
               for m in getattr(table, "mounts", ()) or ())


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _sockname(s) -> str:
    try:
        name = s.getsockname()
    except OSError:
        return "?"
    if isinstance(name, tuple):
        host = name[0]
        return f"[{host}]:{name[1]}" if ":" in host else f"{host}:{name[1]}"
    return f"unix:{name}" if isinstance(name, str) else str(name)


def main(prefs, table=None, worker_fn=None, ready_fallback: float | None = None) -> int:
    """Run the master in the foreground until SIGTERM/SIGINT; returns the exit code.

    Writes ``prefs.pidfile`` when set (so ``status``/``stop`` work for a
    foreground run too) and removes it on exit.
    """
    m = Master(prefs, table, worker_fn=worker_fn, pidfile=getattr(prefs, "pidfile", None) or None)
    if ready_fallback is not None:
        m.ready_fallback = ready_fallback
    return m.run()
