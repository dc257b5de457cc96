"""Proxy headers: the real client behind a trusted reverse proxy (the nginx sidecar).

Why here and not in the framework: every app (ASGI, WSGI, Atila, static)
and the access log should see the same client, so the engine resolves it
once, in the scope, like uvicorn's ``--proxy-headers`` but driven by the
``trusted_proxies`` preference ("" = off, "*" = every peer).

Cost model: whether the peer is trusted is decided once per connection
(``for_peer``); a connection from an untrusted peer carries ``None`` and its
requests pay one ``is not None`` test. Only requests on trusted connections
look at the headers (``apply``).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

log = logging.getLogger("skitai.server")

_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


class TrustedProxies:
    """The parsed ``trusted_proxies`` list: ``trusts(addr)`` is CIDR-aware."""

    __slots__ = ("everyone", "networks")

    def __init__(self, items) -> None:
        self.everyone = False
        self.networks: list = []
        for it in items or ():
            it = str(it).strip()
            if not it:
                continue
            if it == "*":
                self.everyone = True
                continue
            try:
                self.networks.append(ipaddress.ip_network(it, strict=False))
            except ValueError:
                log.warning("trusted_proxies: ignoring %r (not an IP address or network)", it)

    def __bool__(self) -> bool:
        return self.everyone or bool(self.networks)

    def trusts(self, addr: str) -> bool:
        if self.everyone:
            return True
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for n in self.networks:
            if ip.version == n.version and ip in n:
                return True
        return False


def of(ctx: Any) -> TrustedProxies | None:
    """The worker's parsed list (built on first use, kept on ctx); None when off."""
    tp = getattr(ctx, "_trusted_proxies", False)
    if tp is False:
        prefs = getattr(ctx, "prefs", None)
        items = getattr(prefs, "trusted_proxies", None) if prefs is not None else None
        if items is None:
            items = ("127.0.0.1", "::1")
        elif isinstance(items, str):
            items = items.split(",")
        tp = TrustedProxies(items) or None
        try:
            ctx._trusted_proxies = tp
        except AttributeError:
            pass
    return tp


def for_peer(ctx: Any, peer: Any) -> TrustedProxies | None:
    """Once per connection: the list when ``peer`` (host, port) is a trusted proxy, else None."""
    if not peer:
        return None
    tp = of(ctx)
    if tp is None or not tp.trusts(str(peer[0])):
        return None
    return tp


# A peer on the unix socket (``uds``) is a local process allowed in by the socket
# file's mode: trusted_proxies sees it as 127.0.0.1 (the nginx sidecar case).
UNIX_PEER = ("127.0.0.1", 0)


def for_unix(ctx: Any) -> TrustedProxies | None:
    """Once per unix-socket connection: ``for_peer`` of a loopback peer."""
    return for_peer(ctx, UNIX_PEER)


def _ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def apply(scope: dict, headers: list, tp: TrustedProxies) -> None:
    """Rewrite ``scope["client"]`` / ``scope["scheme"]`` from the proxy headers.

    Client: X-Forwarded-For walked from the right, the first hop that is not a
    trusted proxy wins (all trusted -> the leftmost); without X-Forwarded-For,
    X-Real-IP. Port 0: the proxy does not tell it. A value that is not an IP
    address leaves the client alone. Scheme: X-Forwarded-Proto http/https
    (ws/wss in websocket scopes); anything else is ignored.
    """
    xff = real = proto = None
    for k, v in headers:
        if k == b"x-forwarded-for":
            xff = v if xff is None else xff + b"," + v
        elif k == b"x-real-ip":
            real = v
        elif k == b"x-forwarded-proto":
            proto = v
    client = None
    if xff is not None:
        hops = [h for h in xff.decode("latin-1").split(",") if h.strip()]
        if hops:
            pick = hops[0]
            for hop in reversed(hops):
                if not tp.trusts(hop.strip()):
                    pick = hop
                    break
            client = _ip(pick)
    elif real is not None:
        client = _ip(real.decode("latin-1"))
    if client is not None:
        scope["client"] = (client, 0)
    if proto is not None:
        pair = _SCHEMES.get(proto.decode("latin-1").strip().lower())
        if pair is not None:
            scope["scheme"] = pair[1] if scope.get("type") == "websocket" else pair[0]
