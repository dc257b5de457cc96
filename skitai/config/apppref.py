"""The per-app preference object returned by ``skitai.pref()``.

A seed-style script writes attributes on it and passes it to
``skitai.mount(..., pref)``; the framework applies every attribute that was set
onto the app (unset ones leave the app's own values alone). ``config`` works as
a dict and with attributes. Writing an engine setting name (``pref.workers``)
also sets that engine preference at code level, so a script can keep all its
configuration in one place as the seeds do.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

# Attributes every app preference knows; unset they read as None.
APP_ATTRIBUTES = ("debug", "use_reloader", "max_client_body_size")


class AttrDict(dict):
    """A dict whose keys are also attributes: ``d["a"] = 1; d.b = 2``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class AppPref:
    """Run-time preferences of one mounted app (``skitai.pref()``).

    Attributes that were set live in ``vars(pref)`` like on any object, so a
    framework may read them with ``as_dict()`` or ``vars()``.
    """

    def __init__(self, engine_code: MutableMapping[str, Any] | None = None, **attrs: Any):
        object.__setattr__(self, "_engine_code", engine_code)
        object.__setattr__(self, "config", AttrDict())
        for k, v in attrs.items():
            setattr(self, k, v)

    def __getattr__(self, name: str) -> Any:
        # only called when the attribute was never set
        if name in APP_ATTRIBUTES:
            return None
        raise AttributeError(f"preference {name!r} is not set")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"{name!r}: preference names do not start with '_'")
        if name == "config":
            if not isinstance(value, dict):
                raise TypeError("pref.config must be a dict")
            object.__setattr__(self, "config", AttrDict(value))
            return
        object.__setattr__(self, name, value)
        if self._engine_code is not None:
            from .settings import BY_NAME

            if name in BY_NAME:
                self._engine_code[name] = value

    # [001] shortcuts: set the app's STATIC_/MEDIA_ config and mount the directory at the URL
    def set_static(self, url: str, root: str) -> None:
        """``pref.set_static('/static', 'myapp/static')``: ``config.STATIC_URL/STATIC_ROOT`` + a static mount."""
        self._set_dir("STATIC", url, root)

    def set_media(self, url: str, root: str) -> None:
        """``pref.set_media('/media', '/var/www-root/media')``: ``config.MEDIA_URL/MEDIA_ROOT`` + a static mount."""
        self._set_dir("MEDIA", url, root)

    def _set_dir(self, kind: str, url: str, root: str) -> None:
        import skitai

        root = skitai.abspath(root)
        point = "/" + url.strip("/")
        self.config[f"{kind}_URL"] = point.rstrip("/") + "/"
        self.config[f"{kind}_ROOT"] = root
        skitai.mount(point, root)

    def is_set(self, name: str) -> bool:
        return name in self.as_dict()

    # ``with skitai.preference () as pref:`` (newest seed style)
    def __enter__(self) -> AppPref:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

    def as_dict(self) -> dict[str, Any]:
        """Attributes that were set (``config`` not included)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "config"}

    def __repr__(self) -> str:
        return f"AppPref({self.as_dict()!r}, config={dict(self.config)!r})"
