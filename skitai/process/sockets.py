"""Listening sockets, bound once by the master and inherited by every worker.

Binding in the master (not in each worker) is what lets a worker be replaced
without the port ever closing: the kernel keeps queueing connections on the
shared socket while one worker drains and its replacement starts.
"""

from __future__ import annotations

import socket


def bind(prefs) -> list[socket.socket]:
    address = str(getattr(prefs, "address", None) or "127.0.0.1")
    port = int(getattr(prefs, "port", 5000) or 0)
    backlog = int(getattr(prefs, "backlog", 2048) or 2048)
    socks = [listen(address, port, backlog)]
    forward = int(getattr(prefs, "forward_port", 0) or 0)
    if forward and getattr(prefs, "ssl_certfile", None) and forward != port:
        try:
            socks.append(listen(address, forward, backlog))  # skitai.enable_forward: HTTP -> HTTPS
        except OSError:
            socks[0].close()
            raise
    return socks


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
