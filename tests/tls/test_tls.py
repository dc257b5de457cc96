"""TLS: versions, ciphers, ALPN, certificate errors, HTTP -> HTTPS forward."""

from __future__ import annotations

import socket
import ssl
import subprocess
import warnings

import httpx
import pytest

from tests.support import PYTHON, ROOT, ServerProcess, free_port, raw_request


def _handshake(port: int, ca: str, **kw):
    ctx = ssl.create_default_context(cafile=ca)
    for k, v in kw.items():
        if k == "alpn":
            ctx.set_alpn_protocols(v)
        else:
            setattr(ctx, k, v)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    info = (s.version(), s.cipher()[0], s.selected_alpn_protocol())
    s.close()
    return info


def test_tls_versions_ciphers_and_alpn(tls_server, certs):
    version, cipher, alpn = _handshake(tls_server.port, certs[0], alpn=["h2", "http/1.1"])
    assert version == "TLSv1.3" and alpn == "h2"
    version, cipher, alpn = _handshake(tls_server.port, certs[0], alpn=["http/1.1"],
                                       maximum_version=ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and alpn == "http/1.1"
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    with pytest.raises(ssl.SSLError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname="localhost")


def test_https_h1_and_h2_serve_the_app(tls_server, certs):
    v = ssl.create_default_context(cafile=certs[0])
    url = f"https://localhost:{tls_server.port}/"
    with httpx.Client(http2=True, verify=v) as c:
        r = c.get(url)
        assert (r.http_version, r.text) == ("HTTP/2", "hello 2 https")
    with httpx.Client(verify=v) as c:
        r = c.get(url)
        assert (r.http_version, r.text) == ("HTTP/1.1", "hello 1.1 https")


def test_bad_certificate_is_a_config_error_not_a_crash_loop(tmp_path):
    p = subprocess.run([PYTHON, "-m", "skitai", "serve", "tests.h2.apps:app", "--port", str(free_port()),
                        "--ssl-certfile", str(tmp_path / "missing.crt")],
                       cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert p.returncode == 2
    assert "ssl_certfile" in p.stderr and "missing.crt" in p.stderr
    assert "Traceback" not in p.stderr
    garbage = tmp_path / "bad.pem"
    garbage.write_text("not a certificate")
    p = subprocess.run([PYTHON, "-m", "skitai", "serve", "tests.h2.apps:app", "--port", str(free_port()),
                        "--ssl-certfile", str(garbage)], cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "cannot load certificate" in p.stderr


def test_enable_forward_redirects_http_to_https(certs, tmp_path):
    https_port, http_port = free_port(), free_port()
    script = tmp_path / "fwd.py"
    script.write_text(
        "import skitai\n"
        f"skitai.enable_forward({http_port}, {https_port})\n"
        f"skitai.enable_ssl({certs[0]!r}, {certs[1]!r})\n"
        "skitai.mount('/', 'tests.h2.apps:app')\n"
        f"skitai.run(port={https_port}, workers=1)\n"
    )
    with ServerProcess([str(script)], https_port, cwd=ROOT):
        out = raw_request(http_port, b"GET /scope?a=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 301 "), out
        assert f"location: https://example.com:{https_port}/scope?a=1\r\n".encode() in out
        out = raw_request(http_port, b"POST /echo HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 308 ")
        out = raw_request(http_port, b"GET / HTTP/1.1\r\nHost: evil\r\nx: \r\n\r\n")
        assert b"location: https://evil:" in out
        out = raw_request(http_port, b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n")
        assert b"\rb" not in out.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")
        with httpx.Client(verify=ssl.create_default_context(cafile=certs[0]), follow_redirects=True) as c:
            r = c.get(f"http://localhost:{http_port}/")
            assert r.text == "hello 1.1 https" and str(r.url).startswith("https://")


def test_make_self_signed_creates_usable_pair(tmp_path):
    from skitai.server.tls import make_self_signed, make_server_context
    cert, key = make_self_signed(tmp_path)
    ctx = make_server_context(cert, key)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_encrypted_key_with_passphrase(certs, tmp_path):
    enc = tmp_path / "enc.key"
    subprocess.run(["openssl", "pkey", "-in", certs[1], "-out", str(enc), "-aes256", "-passout", "pass:s3cret"],
                   check=True, capture_output=True)
    p = subprocess.run([PYTHON, "-m", "skitai", "serve", "tests.h2.apps:app", "--port", str(free_port()),
                        "--ssl-certfile", certs[0], "--ssl-keyfile", str(enc), "--ssl-passphrase", "badpass123"],
                       cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "passphrase" in p.stderr
    assert "badpass123" not in p.stderr  # the secret is not echoed
    port = free_port()
    with ServerProcess(["-m", "skitai", "serve", "tests.h2.apps:app", "--port", str(port), "--workers", "1",
                        "--ssl-certfile", certs[0], "--ssl-keyfile", str(enc)], port, cwd=ROOT,
                       env={"SKITAI_SSL_PASSPHRASE": "s3cret"}):
        with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=certs[0])) as c:
            r = c.get(f"https://localhost:{port}/")
            assert r.http_version == "HTTP/2" and r.text == "hello 2 https"
