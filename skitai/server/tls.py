"""TLS for the engine: one server ``SSLContext`` with ALPN, and helpers.

Why these choices:

* TLS 1.2 is the floor (1.0/1.1 are deprecated by RFC 8996); TLS 1.3 cipher
  suites are OpenSSL's defaults, which are all AEAD.
* For TLS 1.2 only forward-secret AEAD suites (ECDHE with AES-GCM or
  ChaCha20-Poly1305) are offered, which is what RFC 7540 section 9.2.2 needs
  for HTTP/2 as well (its black list forbids everything else).
* ALPN offers ``h2`` before ``http/1.1``; the worker looks at the selected
  protocol once the handshake is done (``alpn_protocol``) and hands the
  connection to the HTTP/2 protocol when it is ``h2``.
* Compression (CRIME) and renegotiation are switched off.

A self-signed certificate for tests and local trials is made by
``make_self_signed`` with the ``openssl`` command line tool; nothing is
committed to the repository.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!DSS"
DEFAULT_ALPN = ("h2", "http/1.1")


class TLSConfigError(ValueError):
    """A certificate/key problem found at start-up; the message names the file."""


def make_server_context(certfile: str, keyfile: str | None = None, passphrase: str | None = None,
                        alpn: tuple[str, ...] | list[str] = DEFAULT_ALPN) -> ssl.SSLContext:
    """Build the server context used by every TLS listener of a worker.

    Errors are turned into ``TLSConfigError`` with a one line message naming the
    file, so the process can print it and exit with code 2 instead of a traceback.
    """
    for label, path in (("ssl_certfile", certfile), ("ssl_keyfile", keyfile)):
        if path and not os.path.isfile(path):
            raise TLSConfigError(f"{label}: no such file: {path}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    ctx.set_ciphers(TLS12_CIPHERS)
    try:
        ctx.set_ecdh_curve("prime256v1")
    except (ValueError, AttributeError):  # pragma: no cover - very old OpenSSL
        pass
    try:
        ctx.load_cert_chain(certfile, keyfile or None, password=passphrase or None)
    except ssl.SSLError as e:
        raise TLSConfigError(
            f"ssl_certfile/ssl_keyfile: cannot load certificate {certfile!r} "
            f"with key {keyfile!r} ({e.reason or e}); wrong ssl_passphrase?"
        ) from None
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def context_from_prefs(prefs) -> ssl.SSLContext | None:
    """The server context for ``prefs`` (``ssl_certfile`` etc.), or None without TLS."""
    certfile = getattr(prefs, "ssl_certfile", None)
    if not certfile:
        return None
    return make_server_context(certfile, getattr(prefs, "ssl_keyfile", None),
                               getattr(prefs, "ssl_passphrase", None))


def alpn_protocol(transport) -> str | None:
    """``"h2"``, ``"http/1.1"`` or None (plain TCP / no ALPN) for an asyncio transport."""
    sslobj = transport.get_extra_info("ssl_object")
    if sslobj is None:
        return None
    return sslobj.selected_alpn_protocol() or "http/1.1"


def is_tls(transport) -> bool:
    return transport.get_extra_info("ssl_object") is not None


def make_self_signed(directory: str | os.PathLike, hostname: str = "localhost",
                     days: int = 2) -> tuple[str, str]:
    """Create ``server.crt`` + ``server.key`` (EC P-256, SAN localhost/127.0.0.1).

    Returns ``(certfile, keyfile)``. Uses the ``openssl`` tool so no extra
    Python package is needed; raises RuntimeError naming the tool if missing.
    """
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("required tool 'openssl' is not installed")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "server.crt", d / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
         "-subj", f"/CN={hostname}",
         "-addext", f"subjectAltName=DNS:{hostname},IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return str(cert), str(key)
