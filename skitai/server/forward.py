"""``skitai.enable_forward(80, 443)``: a plain HTTP listener that only redirects to HTTPS.

The master binds ``forward_port`` next to the main port; the worker serves it
with ``RedirectProtocol`` (no app is called). GET/HEAD get ``301 Moved
Permanently``, other methods ``308 Permanent Redirect`` so the method and body
are kept. The Location keeps the path and query; the host comes from the
request's Host header (port dropped) and the port is the HTTPS port (omitted
when it is 443).
"""

from __future__ import annotations

import asyncio

MAX_HEAD = 16384


class RedirectProtocol(asyncio.Protocol):
    def __init__(self, https_port: int, fallback_host: str = "localhost", timeout: float = 10.0) -> None:
        self.https_port = https_port
        self.fallback_host = fallback_host
        self.timeout = timeout
        self.buf = b""
        self.transport = None
        self.timer = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.timer = asyncio.get_event_loop().call_later(self.timeout, transport.close)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                self._reply(b"431 Request Header Fields Too Large", None)
            return
        head = self.buf.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            self._reply(b"400 Bad Request", None)
            return
        method, target = parts[0], parts[1]
        host = b""
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"host":
                host = v.strip()
        hostname = _hostname(host) or self.fallback_host.encode()
        if not target.startswith(b"/"):
            target = b"/"
        port = b"" if self.https_port == 443 else b":%d" % self.https_port
        location = b"https://" + hostname + port + target
        status = b"301 Moved Permanently" if method in (b"GET", b"HEAD") else b"308 Permanent Redirect"
        self._reply(status, location)

    def _reply(self, status: bytes, location: bytes | None) -> None:
        body = b"" if location is None else b"Moved to " + location + b"\n"
        out = [b"HTTP/1.1 ", status, b"\r\n"]
        if location is not None:
            out += [b"location: ", location, b"\r\n"]
        out += [b"content-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body), body]
        self.transport.write(b"".join(out))
        self.transport.close()

    def connection_lost(self, exc) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _hostname(host: bytes) -> bytes:
    """Host header without its port; only safe characters (no header injection)."""
    if host.startswith(b"["):
        end = host.find(b"]")
        name = host[:end + 1] if end > 0 else b""
    else:
        name = host.split(b":", 1)[0]
    ok = all(c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:" for c in name)
    return name if ok else b""
