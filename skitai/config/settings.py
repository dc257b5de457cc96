"""The one definition of every Skitai preference.

Everything else is generated from ``SETTINGS``: the environment variable names
(``SKITAI_<NAME>``), the command line flags (``--<name-with-dashes>``), the
``skitai serve --help`` text and the README's configuration table. Adding a
setting here is the only step needed to make it configurable everywhere.

Each setting has a parser that turns a raw value (a string from the
environment or the command line, or a Python value from code) into the typed
value, raising ``ValueError`` when the value is not accepted. The parser's
``accepted`` text is what the user sees in the one-line error and in the docs.
This module imports the standard library only.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "SKITAI_"
# Variables starting with this are the engine's own plumbing (for example
# between a daemon and the process it starts); they are not settings and are
# not validated as such.
INTERNAL_ENV_PREFIX = "SKITAI__"


# --- parsers ---------------------------------------------------------------------------------------

class Parser:
    """Turns a raw value into a typed one; ``accepted`` describes the valid forms."""

    kind = "str"
    accepted = "text"

    def __call__(self, raw: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def format(self, value: Any) -> str:
        """Render a typed value in the form the parser accepts (for docs and describe())."""
        if value is None:
            return ""
        return str(value)


class Text(Parser):
    def __init__(self, accepted: str = "text", pattern: str | None = None, allow_empty: bool = True):
        self.accepted = accepted
        self.pattern = re.compile(pattern) if pattern else None
        self.allow_empty = allow_empty

    def __call__(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ValueError("not a string")
        value = raw.strip()
        if not value and not self.allow_empty:
            raise ValueError("empty")
        if value and self.pattern and not self.pattern.fullmatch(value):
            raise ValueError("bad form")
        return value


class Int(Parser):
    kind = "int"

    def __init__(self, minimum: int | None = 0, maximum: int | None = None, accepted: str | None = None):
        self.minimum = minimum
        self.maximum = maximum
        if accepted is None:
            if minimum is not None and maximum is not None:
                accepted = f"a whole number from {minimum} to {maximum}"
            elif minimum is not None:
                accepted = f"a whole number >= {minimum}"
            else:
                accepted = "a whole number"
        self.accepted = accepted

    def __call__(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            value = int(raw)
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        else:
            raise ValueError("not a whole number")
        if self.minimum is not None and value < self.minimum:
            raise ValueError("too small")
        if self.maximum is not None and value > self.maximum:
            raise ValueError("too large")
        return value


class Float(Parser):
    kind = "float"

    def __init__(self, minimum: float = 0.0, maximum: float | None = None, accepted: str | None = None):
        self.minimum = minimum
        self.maximum = maximum
        self.accepted = accepted or (
            f"a number from {minimum:g} to {maximum:g}" if maximum is not None else f"a number >= {minimum:g}"
        )

    def __call__(self, raw: Any) -> float:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a number")
        if isinstance(raw, int | float):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise ValueError("not a number") from None
        else:
            raise ValueError("not a number")
        if not math.isfinite(value) or value < self.minimum or (self.maximum is not None and value > self.maximum):
            raise ValueError("out of range")
        return value

    def format(self, value: Any) -> str:
        return f"{value:g}"


_DURATION_UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}


class Seconds(Parser):
    """A duration: plain seconds, or a number with ms/s/m/h."""

    kind = "seconds"
    accepted = "seconds >= 0 (e.g. 30, 2.5, 500ms, 2m)"

    def __call__(self, raw: Any) -> float:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a duration")
        if isinstance(raw, int | float):
            value = float(raw)
        elif isinstance(raw, str):
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", raw.lower())
            if not m:
                raise ValueError("not a duration")
            value = float(m.group(1)) * _DURATION_UNITS[m.group(2) or ""]
        else:
            raise ValueError("not a duration")
        if not math.isfinite(value) or value < 0:
            raise ValueError("negative")
        return value

    def format(self, value: Any) -> str:
        return f"{value:g}"


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class Size(Parser):
    """A size in bytes: plain bytes, or a number with K/M/G/T (binary multiples)."""

    kind = "size"
    accepted = "bytes >= 0 (e.g. 1048576, 512K, 20M, 1G)"

    def __call__(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a size")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        elif isinstance(raw, str):
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", raw.lower())
            if not m:
                raise ValueError("not a size")
            value = int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])
        else:
            raise ValueError("not a size")
        if value < 0:
            raise ValueError("negative")
        return value

    def format(self, value: Any) -> str:
        if value is None:
            return ""
        for unit, mult in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
            if value and value % mult == 0:
                return f"{value // mult}{unit}"
        return str(value)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Bool(Parser):
    kind = "bool"
    accepted = "1/0, true/false, yes/no or on/off"

    def __call__(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise ValueError("not a boolean")

    def format(self, value: Any) -> str:
        return "on" if value else "off"


class Choice(Parser):
    kind = "choice"

    def __init__(self, *choices: str):
        self.choices = choices
        self.accepted = "one of " + ", ".join(choices)

    def __call__(self, raw: Any) -> str:
        if isinstance(raw, str) and raw.strip().lower() in self.choices:
            return raw.strip().lower()
        raise ValueError("not a choice")


class List(Parser):
    """Comma separated in the environment and on the command line; a list or tuple in code."""

    kind = "list"

    def __init__(self, accepted: str = "a comma separated list", item: Callable[[str], str] | None = None):
        self.accepted = accepted
        self.item = item

    def __call__(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            items = [p.strip() for p in raw.split(",")]
        elif isinstance(raw, list | tuple | set | frozenset):
            items = []
            for p in raw:
                if not isinstance(p, str):
                    raise ValueError("items must be strings")
                items.append(p.strip())
        else:
            raise ValueError("not a list")
        items = [p for p in items if p]
        if self.item:
            items = [self.item(p) for p in items]
        return tuple(items)

    def format(self, value: Any) -> str:
        return ",".join(value or ())


def _network(item: str) -> str:
    if item != "*":  # "*" = every peer (trusted_proxies)
        ipaddress.ip_network(item, strict=False)  # raises ValueError
    return item


class Port(Int):
    def __init__(self, allow_zero: bool = False):
        super().__init__(0 if allow_zero else 1, 65535,
                         "a port number from 1 to 65535" + (" (0 = off)" if allow_zero else ""))


# sun_path is 108 bytes on Linux, one of them the terminating NUL
UNIX_PATH_MAX = 107


class UnixPath(Text):
    """A unix socket file path; ``unix:/path`` (gunicorn's bind form) is accepted too."""

    def __init__(self):
        super().__init__(f"a file path of at most {UNIX_PATH_MAX} bytes (unix:/path accepted; empty = off)")

    def __call__(self, raw: Any) -> str | None:
        value = super().__call__(raw)
        if not value:
            return None
        if value.startswith("unix:"):
            value = value[5:]
            if not value:
                raise ValueError("empty path")
        if "\x00" in value or value.endswith("/"):
            raise ValueError("not a file path")
        if len(value.encode("utf-8", "surrogateescape")) > UNIX_PATH_MAX:
            raise ValueError("path too long for a unix socket")
        return value


class FileMode(Parser):
    """Octal permission bits: "660", "0660", "0o660" (text is always octal); an int from code as is."""

    kind = "mode"
    accepted = "octal permissions from 0 to 777 (e.g. 660, 0o660)"

    def __call__(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a mode")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*(?:0o?)?[0-7]{1,4}\s*", raw.lower()):
            text = raw.strip().lower()
            value = int(text[2:] if text.startswith("0o") else text, 8)
        else:
            raise ValueError("not an octal mode")
        if not 0 <= value <= 0o777:
            raise ValueError("out of range")
        return value

    def format(self, value: Any) -> str:
        return "" if value is None else f"0o{value:03o}"


class UrlPath(Text):
    def __init__(self):
        super().__init__('a URL path starting with "/" (empty = off)', r"/[^\s?#]*")


class Mounts(Parser):
    """``POINT=SPEC;POINT=SPEC`` (environment, command line) or a dict / pairs (code).

    A SPEC is what ``skitai.mount`` takes as a string: ``module:attr``, a
    package, a file path or a static directory.
    """

    kind = "mounts"
    accepted = 'POINT=SPEC pairs separated by ";" (e.g. "/=pkg.mod:app;/static=/srv/static")'

    def __call__(self, raw: Any) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            pairs = []
            for part in raw.split(";"):
                part = part.strip()
                if not part:
                    continue
                point, sep, spec = part.partition("=")
                if not sep:
                    raise ValueError("missing '='")
                pairs.append((point.strip(), spec.strip()))
        elif isinstance(raw, dict):
            pairs = list(raw.items())
        elif isinstance(raw, list | tuple):
            pairs = [tuple(p) for p in raw]
        else:
            raise ValueError("not mounts")
        out = []
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError("not a pair")
            point, spec = pair
            if not isinstance(point, str) or not point.startswith("/") or not isinstance(spec, str) or not spec:
                raise ValueError("bad pair")
            out.append((point, spec))
        return tuple(out)

    def format(self, value: Any) -> str:
        return ";".join(f"{p}={s}" for p, s in value or ())


# --- the settings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    name: str
    parser: Parser
    default: Any
    help: str
    secret: bool = False
    # Standard variables honoured when SKITAI_<NAME> is not set (e.g. PORT).
    fallback_env: tuple[str, ...] = field(default_factory=tuple)
    group: str = "server"

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def choices(self) -> tuple[str, ...] | None:
        return getattr(self.parser, "choices", None)

    @property
    def accepted(self) -> str:
        return self.parser.accepted

    def parse(self, raw: Any) -> Any:
        return self.parser(raw)

    def format(self, value: Any) -> str:
        return self.parser.format(value)


def _s(name, parser, default, help, **kw) -> Setting:
    return Setting(name, parser, default, help, **kw)


SETTINGS: tuple[Setting, ...] = (
    # where to listen
    _s("address", Text("a host name or IP address", allow_empty=False), "127.0.0.1",
       "Address to listen on; 0.0.0.0 (or ::) to accept connections from other hosts."),
    _s("port", Port(), 5000, "TCP port to listen on.", fallback_env=("PORT",)),
    _s("backlog", Int(1), 2048, "Listen queue length of the listening socket."),
    _s("uds", UnixPath(), None,
       "Unix domain socket to listen on (for a proxy on the same host, e.g. an nginx sidecar); "
       "it replaces the TCP listener unless port is also set explicitly (code, PORT or SKITAI_PORT, "
       "--port), then both are served. Plain HTTP/1.1, h2c and WebSocket (no TLS on it). "
       "A stale socket file is replaced; the file is removed on a clean stop. "
       "Its peers count as 127.0.0.1 for trusted_proxies."),
    _s("uds_mode", FileMode(), 0o666,
       "Permissions of the uds socket file: who may connect. 0o666 = every local user (as with 127.0.0.1); "
       "0o660 = the server's user and group only."),
    # processes and threads
    _s("workers", Int(0), 0,
       "Worker processes; 0 = the CPUs this process may use (affinity and cgroup quota aware).",
       fallback_env=("WEB_CONCURRENCY",), group="process"),
    _s("threads", Int(0), 4, "Threads per worker for WSGI apps; 0 = run WSGI apps on the event loop.",
       group="process"),
    _s("max_requests", Int(0), 0, "Restart a worker after this many requests; 0 = no limit.", group="process"),
    _s("max_worker_memory", Size(), 0, "Restart a worker whose resident memory exceeds this; 0 = no limit.",
       group="process"),
    _s("critical_point_cpu_percent", Float(0.0, 10000.0), 90.0,
       "Critical point: CPU percent of a worker counted as critical.", group="process"),
    _s("critical_point_continuous", Int(1), 3,
       "Critical point: consecutive critical samples before the worker is replaced.", group="process"),
    _s("critical_point_interval", Seconds(), 0.0,
       "Critical point: seconds between CPU samples; 0 = off (set_worker_critical_point() sets 20).",
       group="process"),
    _s("shutdown_timeout", Seconds(), 30.0,
       "Seconds a stopping worker waits for in-flight requests before it closes them.", group="process"),
    _s("name", Text("text"), None,
       "Name shown in process titles (skitai(NAME): master); default: the script or app name.",
       group="process"),
    _s("pidfile", Text("a file path"), None,
       "PID file of the daemon (start/stop/restart/status); default: derived from the name.", group="process"),
    _s("use_reloader", Bool(), False, "Restart workers when a source file of a mounted app changes.",
       group="process"),
    _s("debug", Bool(), False, "Debug mode: tracebacks in error responses, more logging.", group="process"),
    # connections and requests
    _s("keep_alive", Seconds(), 30.0, "Seconds an idle keep-alive connection is kept open."),
    _s("request_timeout", Seconds(), 30.0,
       "Seconds of silence allowed while a request is received or a response is sent."),
    _s("max_connections", Int(1), 10000, "Open client connections per worker; further ones wait in the backlog."),
    _s("max_header_size", Size(), 65536, "Bytes allowed for the whole request header block."),
    _s("max_body_size", Size(), 20 << 20,
       "Bytes allowed for a request body; 0 = no limit; an app's pref.max_client_body_size overrides it."),
    _s("trusted_proxies", List("a comma separated list of IP addresses or networks, or *", _network),
       ("127.0.0.1", "::1"),
       "Peers whose X-Forwarded-For / X-Real-IP / X-Forwarded-Proto set the client and scheme; "
       "empty = off, * = every peer (only behind a proxy)."),
    # TLS and HTTP/2, WebSocket
    _s("ssl_certfile", Text("a file path"), None, "TLS certificate chain (PEM); enables HTTPS and h2.",
       group="tls"),
    _s("ssl_keyfile", Text("a file path"), None, "TLS private key (PEM).", group="tls"),
    _s("ssl_passphrase", Text("text"), None, "Passphrase of the TLS private key.", secret=True, group="tls"),
    _s("forward_port", Port(allow_zero=True), 0,
       "Also listen on this plain HTTP port and redirect to the main (HTTPS) port; 0 = off.", group="tls"),
    _s("h2_max_concurrent_streams", Int(1), 100, "HTTP/2: streams a client may open at once.", group="h2"),
    _s("h2_initial_window_size", Int(0, 2**31 - 1), 65535, "HTTP/2: initial flow control window (bytes).",
       group="h2"),
    _s("h2_max_header_list_size", Size(), 65536, "HTTP/2: bytes allowed for a request's header list.",
       group="h2"),
    _s("h2_max_frame_size", Int(16384, 16777215), 16384, "HTTP/2: largest frame payload the server accepts.",
       group="h2"),
    _s("ws_max_message_size", Size(), 1 << 20, "WebSocket: bytes allowed for one incoming message.",
       group="h2"),
    _s("ws_idle_timeout", Seconds(), 60.0,
       "WebSocket: a ping after half of it without frames from the peer, close 1001 after all of it; 0 = off.",
       group="h2"),
    # logging and observability
    _s("logpath", Text("a directory path"), None, "Directory for log files; empty = log to stdout/stderr.",
       group="log"),
    _s("log_format", Choice("text", "json"), "text", "Access and error log format: text lines or JSON lines.",
       group="log"),
    _s("log_off", List('a comma separated list of path prefixes or "*.suffix" patterns'), (),
       "Requests whose path matches are not written to the access log (skitai.log_off).", group="log"),
    _s("metrics", Bool(), True, "Serve Prometheus metrics at metrics_path.", group="log"),
    _s("metrics_path", UrlPath(), "/metrics", "Path of the Prometheus metrics endpoint.", group="log"),
    _s("health_path", UrlPath(), "/healthz", "Path of the liveness endpoint.", group="log"),
    _s("ready_path", UrlPath(), "/readyz", "Path of the readiness endpoint.", group="log"),
    # what to serve
    _s("app", Text("module:attr, a package, a file path or a static directory"), None,
       "App mounted at / (what `skitai serve APP` takes).", group="app"),
    _s("mounts", Mounts(), (), "More mounts: POINT=SPEC pairs separated by ';'.", group="app"),
    _s("static_cache_size", Size(), 16 << 20,
       "Static dirs: bytes of small files kept in memory per mount and worker; 0 = off "
       "(a mount's cache_size= overrides it).", group="app"),
    _s("static_cache_max_file", Size(), 64 << 10,
       "Static dirs: largest file kept in memory (a mount's cache_max_file= overrides it).", group="app"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}
BY_FLAG: dict[str, Setting] = {s.flag: s for s in SETTINGS}


def get(name: str) -> Setting:
    return BY_NAME[name]


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}
