"""Listening sockets, bound once by the master and inherited by every worker.

Binding in the master (not in each worker) is what lets a worker be replaced
without the port ever closing: the kernel keeps queueing connections on the
shared socket while one worker drains and its replacement starts.
"""

from __future__ import annotations

import errno
import os
import socket
import stat

# unix socket files this process bound: id(socket) -> (absolute path, st_dev, st_ino), so a
# clean stop removes only the file it made, never one a newer server has bound since (the
# socket may already be closed by then: the master closes its copies when a stop begins)
_owned: dict[int, tuple[str, int, int]] = {}


def bind(prefs) -> list[socket.socket]:
    """The listening sockets: ``uds`` and/or address:port (see ``tcp_wanted``), plus forward_port."""
    address = str(getattr(prefs, "address", None) or "127.0.0.1")
    port = int(getattr(prefs, "port", 5000) or 0)
    backlog = int(getattr(prefs, "backlog", 2048) or 2048)
    uds = getattr(prefs, "uds", None)
    socks: list[socket.socket] = []
    try:
        if tcp_wanted(prefs):
            socks.append(listen(address, port, backlog))
            forward = int(getattr(prefs, "forward_port", 0) or 0)
            if forward and getattr(prefs, "ssl_certfile", None) and forward != port:
                socks.append(listen(address, forward, backlog))  # skitai.enable_forward: HTTP -> HTTPS
        if uds:
            mode = getattr(prefs, "uds_mode", None)
            socks.append(listen_unix(uds, 0o666 if mode is None else int(mode), backlog))
    except OSError:
        release(socks)
        raise
    return socks


def tcp_wanted(prefs) -> bool:
    """The one rule: with ``uds`` set, TCP is served too only when ``port`` was set explicitly."""
    if not getattr(prefs, "uds", None):
        return True
    source = getattr(prefs, "source", None)
    try:
        return source("port") != "default" if callable(source) else True
    except KeyError:
        return True


def probe_unix(path: str) -> str:
    """What is at ``path``: "free", "stale" (a socket nobody listens on), "live", "other" (not a socket)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "free"
    if not stat.S_ISSOCK(st.st_mode):
        return "other"
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(1.0)
    try:
        c.connect(path)
    except ConnectionRefusedError:
        return "stale"
    except FileNotFoundError:
        return "free"
    except OSError:  # a full backlog (EAGAIN, timeout) or no permission: assume someone uses it
        return "live"
    finally:
        c.close()
    return "live"


def check_unix(prefs, live: bool = True) -> None:
    """Before forking: a ``uds`` path that cannot be ours is a configuration error (exit 2).

    ``live=False`` skips asking whether a server answers on it (``start`` of a daemon
    that may already be running decides that itself).
    """
    path = getattr(prefs, "uds", None)
    if not path:
        return
    from skitai.config.prefs import ConfigError

    source = prefs.source("uds") if callable(getattr(prefs, "source", None)) else "code"
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise ConfigError("uds", source, "a path in an existing directory", value=path,
                          problem="missing directory")
    what = probe_unix(path)
    if what == "other":
        raise ConfigError("uds", source, "a free path or a stale socket file (remove the file)", value=path,
                          problem="a file that is not a socket is in the way")
    if live and what == "live":
        raise ConfigError("uds", source, "a socket path no running server uses", value=path,
                          problem="a running server answers")


def listen_unix(path: str, mode: int = 0o666, backlog: int = 2048) -> socket.socket:
    """Bind ``path`` (replacing a stale socket file), chmod it to ``mode``, listen."""
    what = probe_unix(path)
    if what == "other":
        raise OSError(errno.EEXIST, f"cannot listen on unix:{path}: the file exists and is not a socket")
    if what == "live":
        raise OSError(errno.EADDRINUSE, f"cannot listen on unix:{path}: a running server answers on it")
    if what == "stale":
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise OSError(e.errno, f"cannot remove the stale socket unix:{path}: {e.strerror}") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        # before listen(): until then a connect is refused, so nobody gets in under the umask's bits
        os.chmod(path, mode)
        st = os.stat(path)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on unix:{path}: {e.strerror}") from None
    _owned[id(sock)] = (os.path.abspath(path), st.st_dev, st.st_ino)
    return sock


def is_unix(sock: socket.socket) -> bool:
    return getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX


def release(socks) -> None:
    """Close the sockets; remove the unix socket files this process bound (clean stop)."""
    for s in socks or ():
        try:
            s.close()
        except OSError:
            pass
        owned = _owned.pop(id(s), None)
        if owned is None:
            continue
        path, dev, ino = owned
        try:
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) == (dev, ino) and stat.S_ISSOCK(st.st_mode):
                os.unlink(path)
        except OSError:
            pass


def listen(address: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    host = address.strip("[]")
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {address}:{port}: {e.strerror}") from None
    return sock
