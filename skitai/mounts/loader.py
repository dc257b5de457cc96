"""Turn a mount spec (what ``skitai.mount`` was given) into an app object.

``load_spec`` is called in each worker after fork, so string specs are
imported fresh by every worker (a SIGHUP reload picks up new code).

Accepted spec forms, checked in this order:

1. ``'@alias'``            -> reverse proxy: not supported yet (clear error).
2. a module object         -> its ``__app__()`` factory (newest Atila style),
                              else its ``<app_name>`` attribute, else the seed
                              export spec ``<pkg>/export/skitai/app.py``.
3. ``(module, 'file.py')`` -> that file, looked up in
                              ``<pkg>/export/skitai/`` then next to the module.
4. any other non-string    -> the app object itself (WSGI or ASGI callable).
5. a string (paths are relative to the working directory):
   a. ``'dir/file.py'`` or ``'dir/file'`` when ``dir/file.py`` exists -> the
      file's ``<app_name>`` (or ``__app__``).
   b. ``'path/to/file:attr'`` / ``'pkg.mod:attr'`` -> that attribute.
   c. a directory with ``__init__.py`` -> that package, as in 2.
   d. any other directory  -> a static directory.
   e. a dotted module name  -> that module, as in 2.

WSGI vs ASGI is decided by ``detect_interface``: a coroutine function, or an
object whose ``__call__`` is a coroutine function, is ASGI 3; otherwise the
number of positional parameters decides (3 = ASGI, 2 = WSGI). An explicit
``interface="wsgi"|"asgi"`` mount option overrides the guess.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import types
import weakref
from typing import Any


class MountError(Exception):
    """A mount spec could not be turned into an app; the message names the mount."""

    def __init__(self, point: str, message: str):
        self.point = point
        super().__init__(f"mount {point!r}: {message}")


STATIC = "static"
WSGI = "wsgi"
ASGI = "asgi"


def detect_interface(app: Any) -> str:
    """Return ``"asgi"`` or ``"wsgi"`` for a callable app (see module docstring)."""
    if inspect.isclass(app):
        raise TypeError("an app class was given; mount an instance (ASGI 2 double-callables are not supported)")
    if not callable(app):
        raise TypeError(f"{type(app).__name__} object is not callable")
    if inspect.iscoroutinefunction(app):
        return ASGI
    call = type(app).__call__
    if not isinstance(app, (types.FunctionType, types.MethodType)) and inspect.iscoroutinefunction(call):
        return ASGI
    try:
        sig = inspect.signature(app)
    except (TypeError, ValueError):
        return WSGI
    positional = [
        p for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        return WSGI if len(positional) < 3 else ASGI
    return ASGI if len(positional) == 3 else WSGI


# ---------------------------------------------------------------- prefs

def pref_items(pref: Any) -> list[tuple[str, Any]]:
    """The attributes set on a pref object (duck-typed: ``as_dict()``, ``items()`` or ``vars()``)."""
    if pref is None:
        return []
    as_dict = getattr(pref, "as_dict", None)  # skitai.pref(): only what was set
    if callable(as_dict):
        try:
            return [(k, v) for k, v in as_dict().items() if isinstance(k, str) and not k.startswith("_")]
        except (TypeError, AttributeError):
            pass
    items = getattr(pref, "items", None)
    if callable(items):
        try:
            return [(k, v) for k, v in items() if isinstance(k, str) and not k.startswith("_")]
        except TypeError:
            pass
    try:
        return [(k, v) for k, v in vars(pref).items() if not k.startswith("_")]
    except TypeError:
        return []


def pref_get(pref: Any, name: str, default: Any = None) -> Any:
    for k, v in pref_items(pref):
        if k == name:
            return v
    return default


def _config_items(config: Any) -> dict:
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    items = getattr(config, "items", None)
    if callable(items):
        try:
            return dict(items())
        except TypeError:
            pass
    try:
        return {k: v for k, v in vars(config).items() if not k.startswith("_")}
    except TypeError:
        return {}


def apply_pref(app: Any, pref: Any) -> None:
    """"pref will override app.config": attributes -> app attributes, pref.config -> app.config."""
    if pref is None or isinstance(app, (types.FunctionType, types.MethodType)):
        return  # a plain function has no settings to override
    for key, value in pref_items(pref):
        if key == "config":
            continue
        try:
            setattr(app, key, value)
        except (AttributeError, TypeError):
            pass  # read-only attribute on a foreign app: the pref cannot apply there
    conf = _config_items(getattr(pref, "config", None))
    target = getattr(app, "config", None)
    if conf and target is not None:
        if hasattr(target, "update"):
            target.update(conf)
        else:
            for k, v in conf.items():
                setattr(target, k, v)


# ---------------------------------------------------------------- modules

def _load_file(path: str) -> types.ModuleType:
    """Import a .py file as a module registered in sys.modules (Flask needs that)."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if main_file and os.path.abspath(main_file) == path:
        # skitai.mount('/', __file__, 'app') from the running script: running it a
        # second time would repeat its mount() calls; the worker has it already
        return main
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem
    existing = sys.modules.get(name)
    if existing is not None:
        if os.path.abspath(getattr(existing, "__file__", "") or "") == path and name != "__main__":
            return existing
        base = "skitai_mount_" + "".join(c if c.isalnum() else "_" for c in path)
        name, n = base, 1
        while name in sys.modules:
            n += 1
            name = f"{base}_{n}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_package_dir(path: str) -> types.ModuleType:
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    module = importlib.import_module(name)
    return module


def _import(name: str) -> types.ModuleType:
    """Import by dotted name; the working directory is searched first (as ``python -m`` does)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    return importlib.import_module(name)


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _module_dir(module: types.ModuleType) -> str | None:
    f = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(f)) if f else None


_configured: weakref.WeakSet = weakref.WeakSet()


def new_pref() -> Any:
    """An empty ``skitai.pref()`` for hooks that need one when the mount gave none."""
    from skitai.config.apppref import AppPref
    return AppPref()


def run_config_hook(module: types.ModuleType, pref: Any) -> Any:
    """Newest Atila: ``__config__(pref)`` runs once per module before the app exists.

    Called from ``MountTable.add`` for module objects (in the master, so its
    ``skitai.mount`` calls are recorded before fork) and from the loader for
    modules a worker imports itself. Returns the pref (a new one if None).
    """
    hook = getattr(module, "__config__", None)
    if not callable(hook) or module in _configured:
        return pref
    _configured.add(module)
    if pref is None:
        pref = new_pref()
    hook(pref)
    return pref


_bootstrapped: weakref.WeakSet = weakref.WeakSet()


def run_bootstrap(module: types.ModuleType, pref: Any) -> Any:
    """Seed 4.5 / 5: ``bootstrap(pref)`` in the ``__init__.py`` next to an app file.

    ``app_v1/__init__.py`` for ``app_v1/app.py``, ``<pkg>/export/skitai/__init__.py``
    for an exported app. It runs once per app module, before the app is used and
    before the pref is applied, with the mount's own pref object (a new one if the
    mount gave none), so what it sets (``pref.config.urllist``) reaches every kind
    of app: Atila, Flask (``app.config``), any app with a ``config``. An
    ``__init__.py`` already imported (the app module lives in that package) is
    used as it is; otherwise it is executed under a private name, never as the
    package itself. Returns the pref.
    """
    path = getattr(module, "__file__", None)
    if not path or os.path.basename(path) == "__init__.py" or module in _bootstrapped:
        return pref
    _bootstrapped.add(module)
    init = os.path.join(os.path.dirname(os.path.abspath(path)), "__init__.py")
    if not os.path.isfile(init):
        return pref
    boot = _loaded_module_at(init)
    if boot is None:
        name = "_skitai_bootstrap_" + "".join(c if c.isalnum() else "_" for c in os.path.dirname(init))
        spec = importlib.util.spec_from_file_location(name, init)
        if spec is None or spec.loader is None:
            return pref
        boot = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(boot)
    fn = getattr(boot, "bootstrap", None)
    if not callable(fn):
        return pref
    if pref is None:
        pref = new_pref()
    fn(pref)
    return pref


def _loaded_module_at(path: str) -> types.ModuleType | None:
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if f and os.path.abspath(f) == path:
            return mod
    return None


def app_from_module(module: types.ModuleType, app_name: str, point: str, pref: Any) -> Any:
    """Newest Atila style first (``__app__``), then the named attribute, then export/skitai."""
    pref = run_config_hook(module, pref)
    pref = run_bootstrap(module, pref)
    factory = getattr(module, "__app__", None)
    if callable(factory):
        return finish_app(factory(), point, pref, module)
    if hasattr(module, app_name):
        return finish_app(getattr(module, app_name), point, pref, module)
    mdir = _module_dir(module)
    if mdir and os.path.isfile(os.path.join(mdir, "export", "skitai", "app.py")):
        sub = _load_file(os.path.join(mdir, "export", "skitai", "app.py"))
        if hasattr(sub, app_name) or hasattr(sub, "__app__"):
            return app_from_module(sub, app_name, point, pref)
    raise MountError(point, f"module {module.__name__!r} has neither __app__() nor an attribute {app_name!r}")


def finish_app(app: Any, point: str, pref: Any, module: types.ModuleType | None = None) -> Any:
    """Apply the pref, then let the app know it is mounted (``__skitai_mount__``)."""
    apply_pref(app, pref)
    hook = getattr(app, "__skitai_mount__", None)
    if callable(hook):
        hook(module=module, point=point, pref=pref)
    return app


def _split_attr(spec: str) -> tuple[str, str] | None:
    """'a/b/wsgi:application' or 'pkg.mod:app' -> (target, attr); None if no attr part."""
    if ":" not in spec:
        return None
    target, _, attr = spec.rpartition(":")
    if not target or not attr or "/" in attr or "\\" in attr:
        return None
    if not all(p.isidentifier() for p in attr.split(".")):
        return None
    return target, attr


def load_spec(point: str, spec: Any, app_name: str = "app", pref: Any = None,
              path: str | None = None) -> tuple[str, Any]:
    """Resolve one mount spec; returns ``(kind, obj)`` with kind in static/wsgi/asgi.

    For ``static`` the object is the absolute directory path.
    """
    if path:
        for p in ([path] if isinstance(path, str) else list(path)):
            p = os.path.abspath(p)
            if p not in sys.path:
                sys.path.insert(0, p)
    try:
        if isinstance(spec, str) and spec.startswith("@"):
            raise MountError(point, f"reverse proxy to alias {spec!r} is not supported yet")
        if isinstance(spec, (str, os.PathLike)):
            app = _load_string(point, os.fspath(spec), app_name, pref)
            if isinstance(app, tuple):
                return app
        elif isinstance(spec, types.ModuleType):
            app = app_from_module(spec, app_name, point, pref)
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], types.ModuleType):
            app = _load_tuple(point, spec[0], spec[1], app_name, pref)
        elif callable(spec):
            app = finish_app(spec, point, pref)
        else:
            raise MountError(point, f"cannot mount a {type(spec).__name__} object: give an app, a module, "
                                    "'module:attr', a .py file or a directory")
        return detect_interface(app), app
    except MountError:
        raise
    except SystemExit as exc:
        raise MountError(point, f"loading {spec!r} exited ({exc.code!r}) at import time: guard "
                                "skitai.run() with if __name__ == '__main__'") from None
    except Exception as exc:  # import errors, app factory errors ...
        raise MountError(point, f"loading {spec!r} failed: {type(exc).__name__}: {exc}") from exc


def _load_tuple(point: str, module: types.ModuleType, filename: str, app_name: str, pref: Any) -> Any:
    mdir = _module_dir(module)
    if mdir is None:
        raise MountError(point, f"module {module.__name__!r} has no file location")
    for candidate in (os.path.join(mdir, "export", "skitai", filename), os.path.join(mdir, filename)):
        if os.path.isfile(candidate):
            return app_from_module(_load_file(candidate), app_name, point, pref)
    raise MountError(point, f"{filename!r} not found in {mdir}/export/skitai or {mdir}")


def _load_string(point: str, spec: str, app_name: str, pref: Any) -> Any:
    # a: a python file, with or without .py
    for candidate in ((spec,) if spec.endswith(".py") else (spec + ".py",)):
        if os.path.isfile(candidate):
            return app_from_module(_load_file(candidate), app_name, point, pref)
    # b: target:attr
    split = _split_attr(spec)
    if split is not None:
        target, attr = split
        if os.path.isfile(target) or os.path.isfile(target + ".py"):
            module = _load_file(target if target.endswith(".py") else target + ".py")
        elif os.path.isdir(target) and os.path.isfile(os.path.join(target, "__init__.py")):
            module = _import_package_dir(target)
        else:
            module = _import(target)
        try:
            obj = _attr(module, attr)
        except AttributeError:
            raise MountError(point, f"module {module.__name__!r} has no attribute {attr!r}") from None
        if isinstance(obj, types.ModuleType):
            return app_from_module(obj, app_name, point, pref)
        return finish_app(obj, point, pref, module)
    if os.path.isdir(spec):
        if os.path.isfile(os.path.join(spec, "__init__.py")):
            return app_from_module(_import_package_dir(spec), app_name, point, pref)
        return (STATIC, os.path.abspath(spec))
    if spec.endswith(".py"):
        raise MountError(point, f"file {os.path.abspath(spec)!r} does not exist")
    try:
        module = _import(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name) or "/" in spec:
            raise MountError(point, f"{spec!r} is not a file, a directory, or an importable module "
                                    f"(looked in {os.getcwd()})") from None
        raise
    return app_from_module(module, app_name, point, pref)
