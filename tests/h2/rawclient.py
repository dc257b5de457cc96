"""A raw HTTP/2 client on a blocking socket, for protocol and abuse tests."""

from __future__ import annotations

import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
from hyperframe.frame import Frame, GoAwayFrame


class RawH2:
    def __init__(self, port: int, tls_ca: str | None = None, settings: dict | None = None,
                 connect: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls_ca:
            c = ssl.create_default_context(cafile=tls_ca)
            c.set_alpn_protocols(["h2"])
            self.sock = c.wrap_socket(self.sock, server_hostname="localhost")
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                         header_encoding=None))
        self.events: list = []
        self.closed = False
        if connect:
            self.conn.initiate_connection()
            if settings:
                self.conn.update_settings(settings)
            self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def request(self, path: str, method: str = "GET", body: bytes = b"", extra=()) -> int:
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(b":method", method.encode()), (b":path", path.encode()), (b":scheme", b"http"),
                (b":authority", b"localhost"), *extra]
        self.conn.send_headers(sid, hdrs, end_stream=not body)
        if body:
            self.conn.send_data(sid, body, end_stream=True)
        self.flush()
        return sid

    def pump(self, until, timeout: float = 5.0) -> bool:
        """Read and process frames until ``until(self)`` is true or the peer closes."""
        deadline = time.monotonic() + timeout
        while not until(self) and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            try:
                evs = self.conn.receive_data(data)
            except Exception as e:  # noqa: BLE001 - record and stop
                self.events.append(e)
                break
            self.events.extend(evs)
            for ev in evs:
                if isinstance(ev, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            try:
                self.flush()
            except OSError:
                self.closed = True
                break
        return until(self)

    def response(self, sid: int, timeout: float = 5.0):
        """(status, headers, body, trailers) of stream ``sid``."""
        def done(c):
            return any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                       and e.stream_id == sid for e in c.events)
        assert self.pump(done, timeout), f"no end of stream {sid}; events={self.events[-5:]}"
        status, headers, body, trailers = None, [], b"", []
        for e in self.events:
            if getattr(e, "stream_id", None) != sid:
                continue
            if isinstance(e, h2.events.ResponseReceived):
                headers = e.headers
                status = int(dict(e.headers)[b":status"])
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
            elif isinstance(e, h2.events.TrailersReceived):
                trailers = e.headers
        return status, headers, body, trailers

    def goaway(self):
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e
        return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def iter_frames(sock, timeout: float):
    """Yield each raw frame the server sends until it closes, errors or ``timeout`` passes."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        if not data:
            return
        buf += data
        while len(buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(buf[:9]))
            if len(buf) < 9 + length:
                break
            f.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            yield f


def read_goaway_raw(sock, timeout: float = 5.0) -> GoAwayFrame | None:
    """Parse raw frames from ``sock`` until a GOAWAY (or close); for floods where
    the client-side h2 state machine would refuse to build the frames we send."""
    for f in iter_frames(sock, timeout):
        if isinstance(f, GoAwayFrame):
            return f
    return None


def read_frames(sock, timeout: float = 3.0) -> list:
    """Every frame the server sends until it closes or ``timeout`` passes."""
    return list(iter_frames(sock, timeout))
