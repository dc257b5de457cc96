"""Seed-style daemon control: ``python app.py start|stop|restart|status`` (``-d``/``-s``/``-r``).

A pid file names the running master. Where things go:

* pid file: ``prefs.pidfile``, else ``<runtime dir>/<name>.pid`` where the
  runtime dir is ``$XDG_RUNTIME_DIR/skitai`` (or ``/tmp/skitai-<uid>``) and
  ``name`` is the process display name (``myproject-app`` for
  ``myproject/app.py``), so two apps of one user never share a pid file;
* output of the daemon (master log lines, worker stderr): ``<logpath>/server.log``
  when ``logpath`` is set, else the pid file path with ``.log``.

Exit codes follow the LSB init-script conventions: ``status`` returns 0 when
running and 3 when not running (a stale pid file is removed and reported);
``start`` returns 0 when the daemon runs (also when it already ran), 1 when
it could not start; ``stop`` returns 0 when nothing runs any more, 1 when the
master did not exit in time. An unknown command returns 2.

``start`` daemonizes with the classic double fork: the original process binds
the listening sockets first (so "address in use" is reported on the terminal,
not buried in a log), then waits until the daemon has written its pid file.
Per the seeds the daemon's working directory is the directory of the script
that called ``skitai.run()``.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import psutil

from . import proctitle
from .log import server_log_path

COMMANDS = {"start": "start", "-d": "start", "stop": "stop", "-s": "stop",
            "restart": "restart", "-r": "restart", "status": "status"}

STATUS_RUNNING = 0
STATUS_NOT_RUNNING = 3


# ------------------------------------------------------------------ pid files
def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base) and os.access(base, os.W_OK):
        d = Path(base) / "skitai"
    else:
        d = Path(tempfile.gettempdir()) / f"skitai-{os.getuid()}"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def default_pidfile(prefs) -> str:
    slug = proctitle.display_name(prefs).replace(os.sep, "-").replace(":", "-").strip("-.") or "app"
    return str(runtime_dir() / f"{slug}.pid")


def pidfile_for(prefs) -> str:
    return os.path.abspath(getattr(prefs, "pidfile", None) or default_pidfile(prefs))


def logfile_for(prefs, pidfile: str) -> str:
    logpath = getattr(prefs, "logpath", None)
    if logpath:
        return os.path.abspath(server_log_path(logpath))
    return os.path.splitext(pidfile)[0] + ".log"


def write_pidfile(path: str, pid: int) -> None:
    """Atomic write (temp file + rename): a reader never sees a half-written pid."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".skitai-pid-")
    with os.fdopen(fd, "w") as f:
        f.write(f"{pid}\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_pidfile(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def remove_pidfile(path: str, pid: int | None = None) -> None:
    """Remove ``path``; with ``pid``, only if it still names that pid."""
    if pid is not None and read_pidfile(path) != pid:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _is_ours(pid: int) -> bool:
    """Alive, not a zombie, and plausibly a skitai master (guards against pid reuse)."""
    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return False
    if "skitai" in cmd:
        return True
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return bool(script) and script in cmd


def running_pid(path: str) -> int | None:
    """The pid of the running master, or None; a stale pid file is removed."""
    pid = read_pidfile(path)
    if pid is None:
        if os.path.exists(path):
            remove_pidfile(path)
        return None
    if _is_ours(pid):
        return pid
    remove_pidfile(path, pid)
    return None


# ------------------------------------------------------------------- commands
def command(cmd: str, prefs, table=None, worker_fn=None) -> int:
    """Run a daemon command; returns the process exit code (see module doc).

    ``worker_fn`` replaces ``skitai.server.worker.run`` (tests only)."""
    action = COMMANDS.get(cmd)
    if action is None:
        print(f"unknown command {cmd!r}; use start|stop|restart|status (-d|-s|-r)", file=sys.stderr)
        return 2
    pidfile = pidfile_for(prefs)
    if action == "status":
        return status(pidfile)
    if action == "stop":
        return stop(pidfile, _stop_wait(prefs))
    if action == "restart":
        rc = stop(pidfile, _stop_wait(prefs))
        if rc != 0:
            return rc
    return start(prefs, table, pidfile, worker_fn=worker_fn)


def _stop_wait(prefs) -> float:
    return float(getattr(prefs, "shutdown_timeout", None) or 30.0) + 10.0


def status(pidfile: str) -> int:
    had_file = os.path.exists(pidfile)
    pid = running_pid(pidfile)
    if pid:
        print(f"running (pid {pid})")
        return STATUS_RUNNING
    if had_file:
        print(f"not running (removed stale pid file {pidfile})")
    else:
        print("not running")
    return STATUS_NOT_RUNNING


def stop(pidfile: str, wait: float = 40.0) -> int:
    pid = running_pid(pidfile)
    if not pid:
        print("not running")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        remove_pidfile(pidfile, pid)
        print("not running")
        return 0
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            remove_pidfile(pidfile, pid)
            print(f"stopped (pid {pid})")
            return 0
        time.sleep(0.1)
    print(f"pid {pid} did not stop within {wait:g}s", file=sys.stderr)
    return 1


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start(prefs, table, pidfile: str, wait: float = 15.0, worker_fn=None) -> int:
    pid = running_pid(pidfile)
    if pid:
        print(f"already running (pid {pid})")
        return 0
    from .sockets import bind
    try:
        sockets = bind(prefs)
    except OSError as e:
        print(f"cannot start: {e.strerror or e}", file=sys.stderr)
        return 1
    logfile = logfile_for(prefs, pidfile)
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    workdir = _workdir()
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    first = os.fork()
    if first == 0:
        os.close(r)
        _daemonize(prefs, table, pidfile, logfile, workdir, sockets, w, worker_fn)  # no return
    os.close(w)
    for s in sockets:
        s.close()
    os.waitpid(first, 0)
    msg = _read_all(r, wait)
    os.close(r)
    if msg.startswith("ok "):
        print(f"started (pid {msg.split()[1]}); log: {logfile}")
        return 0
    print(f"daemon did not start: {msg or 'no report'}; see {logfile}", file=sys.stderr)
    return 1


def _read_all(fd: int, wait: float) -> str:
    import select
    chunks = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        b = os.read(fd, 4096)
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks).decode(errors="replace").strip()


def _workdir() -> str:
    """The run script's directory (seed §2.6); the current one for ``skitai serve``."""
    script = sys.argv[0] if sys.argv else ""
    if script.endswith(".py") and os.path.isfile(script):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


def _daemonize(prefs, table, pidfile, logfile, workdir, sockets, report_fd, worker_fn) -> None:
    rc = 1
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        os.chdir(workdir)
        os.umask(0o022)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        out = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        write_pidfile(pidfile, os.getpid())
        os.write(report_fd, f"ok {os.getpid()}\n".encode())
        os.close(report_fd)
        report_fd = -1
        from .master import Master
        rc = Master(prefs, table, worker_fn=worker_fn, sockets=sockets, pidfile=pidfile).run()
    except BaseException as e:
        if report_fd >= 0:
            try:
                os.write(report_fd, f"error {e!r}".encode())
            except OSError:
                pass
        import traceback
        traceback.print_exc()
    finally:
        os._exit(rc)
