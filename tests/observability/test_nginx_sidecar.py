"""The shipped nginx sidecar configuration (docker/nginx/) in front of the real engine.

Real nginx (Debian nginx-light) runs the files from docker/nginx/ with only
the container paths and ports rewritten for this host; the engine is
``skitai serve skitai.demo:app`` on a free loopback port.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import ROOT, ServerProcess, free_port, require_tool, wait_port

pytestmark = [pytest.mark.external, pytest.mark.slow]

NGINX_DIR = ROOT / "docker" / "nginx"


def render(text: str, paths: dict[str, str]) -> str:
    for old, new in paths.items():
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx with the shipped files; container paths and ports mapped to a temp prefix."""

    def __init__(self, engine_port: int, tls: bool = False, passthrough_to: int | None = None) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="skitai-nginx-"))
        os.chmod(self.base, 0o755)  # nginx workers (nobody) read the static files
        self.port = free_port()
        self.tls_port = free_port() if (tls or passthrough_to) else None
        conf = self.base / "conf.d"
        conf.mkdir()
        (self.base / "static").mkdir()
        (self.base / "tmp").mkdir()
        self.paths = {
            "/etc/nginx/conf.d/": f"{conf}/",
            "/etc/nginx/tls/": f"{self.base}/tls/",
            "/srv/static/": f"{self.base}/static/",
            "/tmp/nginx": f"{self.base}/tmp/nginx",
            "/dev/stdout": f"{self.base}/access.log",
            "/dev/stderr": f"{self.base}/error.log",
            "127.0.0.1:5000": f"127.0.0.1:{engine_port}",
            "listen 8080": f"listen 127.0.0.1:{self.port}",
            "listen 8443": f"listen 127.0.0.1:{self.tls_port}",
            "127.0.0.1:5443": f"127.0.0.1:{passthrough_to}",
            "/etc/nginx/stream/": f"{self.base}/stream/",
        }
        main = render((NGINX_DIR / "nginx.conf").read_text(), self.paths)
        if passthrough_to:
            # what the stream config's header tells a user to add to nginx.conf
            (self.base / "stream").mkdir()
            stream = render((NGINX_DIR / "stream" / "skitai-h2-passthrough.conf").read_text(), self.paths)
            (self.base / "stream" / "skitai-h2-passthrough.conf").write_text(stream)
            main = ("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + main
                    + f"\ninclude {self.base}/stream/*.conf;\n")
        (self.base / "nginx.conf").write_text(main)
        for src in (NGINX_DIR / "conf.d").iterdir():
            (conf / src.name).write_text(render(src.read_text(), self.paths))
        if tls:
            (self.base / "tls").mkdir()
            subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "1", "-subj", "/CN=localhost",
                            "-keyout", str(self.base / "tls" / "tls.key"),
                            "-out", str(self.base / "tls" / "tls.crt")], check=True, capture_output=True)
            tls_conf = render((NGINX_DIR / "tls" / "skitai-tls.conf").read_text(), self.paths)
            (conf / "skitai-tls.conf").write_text(tls_conf)
        self.proc: subprocess.Popen | None = None

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([require_tool("nginx"), "-t", "-p", str(self.base), "-c", str(self.base / "nginx.conf"),
                               "-e", str(self.base / "error.log")], capture_output=True, text=True, timeout=30)

    def __enter__(self) -> Nginx:
        self.proc = subprocess.Popen(
            [require_tool("nginx"), "-p", str(self.base), "-c", str(self.base / "nginx.conf"),
             "-e", str(self.base / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_port(self.port, timeout=10, proc=self.proc)
        except Exception:
            self.__exit__()
            raise RuntimeError("nginx did not start: " + self.errors()) from None
        return self

    def errors(self) -> str:
        p = self.base / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def access_log(self) -> str:
        p = self.base / "access.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def engine():
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1"],
                       port) as server:
        yield server


@pytest.fixture(scope="module")
def nginx(engine):
    with Nginx(engine.port, tls=True) as n:
        (n.base / "static" / "app.css").write_text("body { color: #333; }\n" * 200)
        os.chmod(n.base / "static" / "app.css", 0o644)
        os.chmod(n.base / "static", 0o755)
        yield n


def test_shipped_configs_pass_nginx_t(engine):
    n = Nginx(engine.port, tls=True)
    try:
        r = n.check()
        assert r.returncode == 0, r.stderr
        assert "syntax is ok" in r.stderr
    finally:
        n.__exit__()


def test_proxies_to_the_engine_with_upstream_keepalive(nginx, engine):
    with httpx.Client(base_url=nginx.url, timeout=5) as c:
        for _ in range(5):
            r = c.get("/api/hello", headers={"connection": "close"})  # a new client connection each time
            assert r.status_code == 200 and r.json()["hello"] == "world"
    # nginx keeps an idle connection to the engine open (keepalive 32): without upstream
    # keep-alive it would close it after every request
    proc = psutil.Process(engine.pid)
    idle = [c for p in [proc, *proc.children(recursive=True)] for c in p.net_connections("tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == engine.port]
    assert idle, "no kept-alive upstream connection from nginx to the engine"
    # the probes go through nginx too
    assert httpx.get(nginx.url + "/healthz").text == "ok\n"
    assert httpx.get(nginx.url + "/readyz").status_code == 200


def test_static_files_are_served_by_nginx_with_gzip(nginx, engine):
    before = engine.output().count("app.css")
    r = httpx.get(nginx.url + "/static/app.css", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.text.startswith("body { color")
    assert r.headers["content-encoding"] == "gzip"
    assert "max-age=3600" in r.headers["cache-control"]
    assert engine.output().count("app.css") == before  # the engine never saw it
    assert httpx.get(nginx.url + "/static/missing.css").status_code == 404


def test_proxied_responses_are_gzipped(nginx):
    raw = httpx.get(nginx.url + "/", headers={"accept-encoding": "gzip"})
    assert raw.headers.get("content-encoding") == "gzip"
    assert "Skitai is running" in raw.text
    # and not for a client that does not ask
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert b"content-encoding: gzip" not in data.lower() and b"Skitai is running" in data


def test_client_address_is_passed_on(nginx):
    # connect from 127.0.0.2 so the client address differs from nginx's own (127.0.0.1)
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=5) as c:
        r = c.get(nginx.url + "/api/client", headers={"x-forwarded-for": "198.51.100.9"})
    body = r.json()
    assert body["x-real-ip"] == "127.0.0.2"
    # nginx appends the address it saw to what the client sent
    assert body["x-forwarded-for"] == "198.51.100.9, 127.0.0.2"
    # nginx (127.0.0.1) is a trusted proxy: the app's scope["client"] is the address nginx saw,
    # not the spoofed left hop
    assert body["client"] == "127.0.0.2" and body["scheme"] == "http"


def test_body_size_limit_is_enforced_at_the_edge(nginx):
    r = httpx.post(nginx.url + "/api/echo", content=b"x" * (21 * 1024 * 1024), timeout=30)
    assert r.status_code == 413
    r = httpx.post(nginx.url + "/api/echo", content=b"y" * 100_000, timeout=30)
    assert r.status_code == 200 and r.content == b"y" * 100_000


def test_metrics_through_nginx_only_from_private_networks(nginx):
    r = httpx.get(nginx.url + "/metrics")
    assert r.status_code == 200 and "skitai_requests_total" in r.text
    conf = (NGINX_DIR / "conf.d" / "skitai.conf").read_text()
    block = conf[conf.index("location = /metrics"):]
    assert "deny all;" in block[:block.index("}")]


def test_websocket_passes_through(nginx):
    import websockets

    async def talk():
        async with websockets.connect(f"ws://127.0.0.1:{nginx.port}/ws/echo", open_timeout=5) as ws:
            await ws.send("hello through nginx")
            text = await asyncio.wait_for(ws.recv(), 5)
            await ws.send(b"\x00\x01binary")
            data = await asyncio.wait_for(ws.recv(), 5)
            return text, data

    assert asyncio.run(talk()) == ("hello through nginx", b"\x00\x01binary")


def test_http2_at_the_edge(nginx):
    with httpx.Client(http2=True, verify=False, timeout=5) as c:
        r = c.get(f"https://127.0.0.1:{nginx.tls_port}/api/hello?name=h2")
        assert r.http_version == "HTTP/2"
        assert r.json()["hello"] == "h2"
        r = c.get(f"https://127.0.0.1:{nginx.tls_port}/api/client")
        assert r.json()["x-real-ip"] == "127.0.0.1"


def test_burst_over_reused_upstream_connections(nginx):
    """Many requests over kept-alive upstream connections: none is sent on a connection the engine closed."""
    t = time.monotonic()
    with httpx.Client(base_url=nginx.url, timeout=5) as c:
        codes = [c.get("/api/hello").status_code for _ in range(50)]
    assert codes == [200] * 50
    assert time.monotonic() - t < 20
    assert "upstream prematurely closed" not in nginx.errors()


def _directive(conf: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", conf, re.M)


def _seconds(v: str) -> float:
    return float(v[:-1]) if v.endswith("s") else float(v)


def _bytes(v: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(v[:-1]) * units[v[-1].lower()] if v[-1].lower() in units else int(v)


def test_limits_and_timeouts_are_aligned_with_the_engine_defaults():
    from skitai.config import settings

    d = {n: settings.get(n).default for n in ("keep_alive", "request_timeout", "max_body_size",
                                               "max_header_size", "h2_max_concurrent_streams")}
    conf = (NGINX_DIR / "conf.d" / "skitai.conf").read_text()
    inc = (NGINX_DIR / "conf.d" / "skitai-proxy.inc").read_text()
    tls = (NGINX_DIR / "tls" / "skitai-tls.conf").read_text()
    upstream = conf[conf.index("upstream skitai"):conf.index("}")]
    # nginx drops idle upstream connections before the engine does
    assert _seconds(_directive(upstream, "keepalive_timeout")[0]) < d["keep_alive"]
    # the engine's own request timeout answers before nginx gives up
    assert _seconds(_directive(inc, "proxy_read_timeout")[0]) > d["request_timeout"]
    for text in (conf, tls):
        assert _bytes(_directive(text, "client_max_body_size")[0]) == d["max_body_size"]
        n, size = _directive(text, "large_client_header_buffers")[0].split()
        assert int(n) * _bytes(size) == d["max_header_size"]
        assert _seconds(_directive(text, "keepalive_timeout")[-1]) == d["keep_alive"]
    assert int(_directive(tls, "http2_max_concurrent_streams")[0]) == d["h2_max_concurrent_streams"]
    # the engine trusts the sidecar's forwarded headers by default
    assert "127.0.0.1" in settings.get("trusted_proxies").default


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "engine.crt", directory / "engine.key"
    subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_http2_passes_through_to_the_engine(tmp_path):
    """Layer-4 pass-through: the engine itself negotiates TLS + ALPN h2 behind nginx."""
    if not Path("/usr/lib/nginx/modules/ngx_stream_module.so").exists():
        raise RuntimeError("required nginx module 'ngx_stream_module' is missing: apt-get install "
                           "libnginx-mod-stream (scripts/setup.sh --full installs it)")
    cert, key = _self_signed(tmp_path)
    port = free_port()
    args = ["-m", "skitai", "serve", "skitai.demo:app", "--port", str(port), "--workers", "1",
            "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    with ServerProcess(args, port) as engine, Nginx(port, passthrough_to=port) as n:
        r = n.check()
        assert r.returncode == 0, r.stderr
        with httpx.Client(http2=True, verify=False, timeout=5) as c:
            r = c.get(f"https://127.0.0.1:{n.tls_port}/api/hello?name=passthrough")
            assert r.http_version == "HTTP/2"
            assert r.json()["hello"] == "passthrough"
            # nginx did not terminate anything: no proxy headers reached the app
            body = c.get(f"https://127.0.0.1:{n.tls_port}/api/client").json()
            assert body["x-real-ip"] is None and body["x-forwarded-for"] is None
        # the engine's access log says it served HTTP/2 itself
        deadline = time.monotonic() + 5
        while "/api/hello?name=passthrough HTTP/2" not in engine.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "/api/hello?name=passthrough HTTP/2" in engine.output()
