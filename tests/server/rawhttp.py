"""A tiny raw HTTP/1.1 client for protocol tests: exact bytes out, exact bytes in."""

from __future__ import annotations

import socket
import time


class Response:
    def __init__(self, status: int, reason: str, headers: list, body: bytes, raw_head: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


class Conn:
    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            b = self.sock.recv(65536)
        except ConnectionResetError:
            b = b""
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            if not self._fill():
                raise EOFError(f"connection closed before {marker!r}; got {self.buf[:200]!r}")
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request: bool = False) -> Response:
        head = self.read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        assert version in ("HTTP/1.1", "HTTP/1.0"), lines[0]
        status = int(status)
        headers = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers.append((k.strip().lower(), v.strip()))
        resp = Response(status, reason[0] if reason else "", headers, b"", head)
        if head_request or status in (204, 304) or 100 <= status < 200:
            return resp
        cl = resp.header("content-length")
        te = resp.header("transfer-encoding")
        if te == "chunked":
            body = b""
            while True:
                size_line = self.read_until(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self.read_until(b"\r\n")
                    break
                body += self.read_exact(size)
                assert self.read_exact(2) == b"\r\n"
            resp.body = body
        elif cl is not None:
            resp.body = self.read_exact(int(cl))
        else:
            while self._fill():
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def closed_by_peer(self, timeout: float = 3.0) -> bool:
        """True when the server closes the connection within ``timeout`` (data is discarded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = self.sock.recv(65536)
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
            if not b:
                return True
            self.buf += b
        return False


def request(method: str, path: str, headers: dict | None = None, body: bytes = b"",
            version: str = "1.1") -> bytes:
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    if body and "Content-Length" not in h and "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    lines = [f"{method} {path} HTTP/{version}"] + [f"{k}: {v}" for k, v in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
