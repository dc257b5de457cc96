"""Skitai app engine: the public API of a seed-style run script.

    import skitai
    skitai.mount("/", app)
    skitai.run(address="127.0.0.1", port=5000)

Every call before ``run()`` only records: engine settings go into a code-level
dict (the "code" source of the preferences), mounts into one module-level
``MountTable``. ``run()`` resolves the preferences (code < environment <
command line) and hands them to the process manager. Importing this module
imports nothing beyond ``os`` and ``sys`` so that it stays cheap.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__version__ = "0.1.0.dev0"

# --- constants (values are part of the API only by name) ---------------------------------------------
# WebSocket specs and options are bit flags: skitai.WS_CHANNEL | skitai.WS_THREADSAFE
WS_CHANNEL = 1
WS_SIMPLE = WS_CHANNEL          # older name of WS_CHANNEL
WS_GROUPCHAT = 2
WS_COROUTINE = 4
WS_STREAM = 8
WS_THREAD = 16                  # the default option
WS_NOTHREAD = 32
WS_SESSION = 64
WS_THREADSAFE = 128
WS_FAST = WS_NOTHREAD
WS_MSG_JSON = "json"
WS_MSG_XMLRPC = "xmlrpc"
WS_EVT_INIT = "init"
WS_EVT_OPEN = "open"
WS_EVT_CLOSE = "close"

DB_PGSQL = "postgresql"
DB_POSTGRESQL = DB_PGSQL
DB_SQLITE3 = "sqlite3"
DB_REDIS = "redis"
DB_MONGODB = "mongodb"
PROTO_HTTP = "http"
PROTO_HTTPS = "https"
PROTO_WS = "ws"
PROTO_WSS = "wss"

# --- recorded state ----------------------------------------------------------------------------------
_code: dict[str, Any] = {}       # engine settings given in code
_table = None                    # skitai.mounts.table.MountTable, created on first mount()
_aliases: dict[str, dict[str, Any]] = {}
_backend: dict[str, Any] = {}      # backend/proxy settings the seeds name (recorded; no backend client yet)
_swd: str | None = None
_prefs = None                    # the resolved Preferences once run() / skitai serve resolved them


def _reset() -> None:
    """Forget everything recorded (for tests that use the API in one process)."""
    global _table, _swd, _prefs
    _code.clear()
    _aliases.clear()
    _backend.clear()
    _table = None
    _swd = None
    _prefs = None


def mount_table():
    """The module-level mount table that ``mount()`` records into."""
    global _table
    if _table is None:
        from .mounts.table import MountTable

        _table = MountTable()
    return _table


def mount(point: str, obj: Any, app_name: str = "app", pref: Any = None,
          host: str | None = None, path: str | None = None, **options: Any):
    """Mount an app, app file, module, package or static directory at ``point``.

    ``options``: ``max_age`` (static dirs), ``interface`` ("wsgi"/"asgi"), ``name``
    (see skitai.mounts.table.MountTable.add). Returns ``run`` so that the oldest
    documented form ``skitai.mount('/', app)(port=5000)`` starts the server.
    """
    if path is not None and not os.path.isabs(path):
        path = os.path.join(getswd(), path)
    mount_table().add(point, obj, app_name=app_name, pref=pref, host=host, path=path, **options)
    return run


def set_max_age(path: str, max_age: int) -> None:
    """Cache-Control max-age for static files under the URL ``path`` (longest prefix wins)."""
    mount_table().set_max_age(path, max_age)


def pref(*args: Any, **attrs: Any):
    """A new app preference object; ``pref(True)`` turns on debug and use_reloader."""
    from .config.apppref import AppPref

    p = AppPref(_code, **attrs)
    if args and args[0]:
        p.debug = True
        p.use_reloader = True
    return p


preference = pref


def set_keep_alive(timeout: float = 30) -> None:
    """Seconds an idle keep-alive connection stays open."""
    _code["keep_alive"] = timeout


def set_request_timeout(timeout: float = 30) -> None:
    """Seconds of silence allowed while receiving a request or sending a response."""
    _code["request_timeout"] = timeout


def set_network_timeout(timeout: float = 30) -> None:
    """Older name of ``set_request_timeout`` (renamed in 0.26.16)."""
    set_request_timeout(timeout)


def set_backend_keep_alive(timeout: float = 1200) -> None:
    """Seconds an idle backend connection is reused (recorded for backend calls; see ``aliases()``)."""
    _backend["keep_alive"] = timeout


def set_proxy_keep_alive(channel: float = 60, tunnel: float = 600) -> None:
    """Forward-proxy keep-alive (recorded only: the forward proxy is not part of this engine)."""
    _backend["proxy_keep_alive"] = {"channel": channel, "tunnel": tunnel}


def mount_django(point: str, wsgi_path: str, pref: Any = None, dbalias: str | None = None,
                 host: str | None = "default", **options: Any):
    """``skitai.mount_django('/', 'mydjango/mydjango/wsgi.py', pref)``: the ``application`` of a Django
    wsgi.py (``dbalias`` is recorded only)."""
    if dbalias is not None:
        _backend["django_dbalias"] = dbalias
    return mount(point, wsgi_path, "application", pref, host=None if host == "default" else host, **options)


def set_worker_critical_point(cpu_percent: float = 90.0, continuous: int = 3, interval: float = 20) -> None:
    """Replace a worker whose CPU stays at ``cpu_percent`` for ``continuous`` samples ``interval`` s apart."""
    _code["critical_point_cpu_percent"] = cpu_percent
    _code["critical_point_continuous"] = continuous
    _code["critical_point_interval"] = interval


def log_off(*patterns: str) -> None:
    """Do not write access log lines for paths starting with a prefix or ending like ``*.css``."""
    current = list(_code.get("log_off", ()))
    current.extend(patterns)
    _code["log_off"] = current


def enable_ssl(certfile: str, keyfile: str, passphrase: str | None = None) -> None:
    """Serve HTTPS (and h2 by ALPN) with this certificate and key."""
    _code["ssl_certfile"] = certfile
    _code["ssl_keyfile"] = keyfile
    if passphrase is not None:
        _code["ssl_passphrase"] = passphrase


def enable_forward(port: int, to_port: int) -> None:
    """Listen on plain HTTP ``port`` too and redirect its requests to the HTTPS ``to_port``."""
    _code["forward_port"] = port
    _code.setdefault("port", to_port)


def alias(name: str, type: str, servers: Any, role: str = "", source: str = "", ssl: bool = False) -> None:
    """Name a backend (``@name``) for reverse proxying and backend calls (recorded only, for now)."""
    if isinstance(servers, str):
        servers = [servers]
    _aliases[name] = {"name": name, "type": type, "servers": list(servers), "role": role,
                      "source": source, "ssl": ssl or type in (PROTO_HTTPS, PROTO_WSS)}


def aliases() -> dict[str, dict[str, Any]]:
    """The backends recorded by ``alias()``."""
    return dict(_aliases)


def _script_dir() -> str | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if not file or getattr(main, "__spec__", None) is not None:
        # "python -m something" or an interactive session: no script of ours
        return None
    return os.path.dirname(os.path.abspath(file))


def getswd() -> str:
    """Skitai's working directory: the directory of the script that calls ``skitai.run()``."""
    if _swd is not None:
        return _swd
    return _script_dir() or os.getcwd()


def abspath(*args: str) -> str:
    """A path relative to Skitai's working directory, made absolute."""
    return os.path.normpath(os.path.join(getswd(), *args))


joinpath = abspath


def is_devel() -> bool:
    """True in development mode (``--devel``, or the ``debug`` preference on)."""
    if _prefs is not None:
        return bool(_prefs.debug)
    try:
        from .cli import split_args
        from .config.prefs import resolve

        return bool(resolve(_code, os.environ, split_args(sys.argv[1:])[1]).debug)
    except Exception:  # a bad value is reported by run(); here only a best guess is needed
        return "--devel" in sys.argv[1:]


def run(**kw: Any):
    """Resolve the preferences and run the engine (or a daemon command); exits the process.

    Keyword arguments are engine settings (``address``, ``port``, ``workers``,
    ...); ``mount={point: app}`` is the older way to mount.
    """
    global _swd
    from .cli import run_script

    if "ip" in kw:  # older docs: skitai.run(ip='0.0.0.0', port=5000)
        kw.setdefault("address", kw.pop("ip"))
    legacy = kw.pop("mount", None)
    if legacy:
        for point, obj in dict(legacy).items():
            mount(point, obj)
    _code.update(kw)
    _swd = _script_dir()
    if _swd:
        os.chdir(_swd)
    sys.exit(run_script(dict(_code), sys.argv[1:], _table))


def test_client(script_or_package: str, port: int | None = None, silent: bool = True, **kw: Any):
    """Start the app in a real server subprocess; a context manager giving a requests-like client.

    A relative script path that does not exist from the working directory is
    tried relative to the calling test file (the docs write
    ``launch('../examples/dumbseek/skitaid.py')`` from a tests directory). A
    script runs with its own directory first on ``sys.path`` and the working
    directory is not added: a tests directory holding a package named like
    the app's dependencies (``tests/atila``) must not shadow them.
    """
    from .testing import test_client as _test_client

    return _test_client(script_or_package, port=port, silent=silent, **kw)  # one code path (testing/server.py)


test_client.__test__ = False  # keep pytest from collecting it when imported into a test module
