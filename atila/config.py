"""``app.config``: a dict with attribute access and the documented defaults."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "MAX_UPLOAD_SIZE": 256 * 1024 * 1024,
    "JSON_ENCODER": "utcoffset",
    "PRETTY_JSON": False,
    "STATIC_URL": "/static/",
    "MEDIA_URL": "/media/",
    "STATIC_ROOT": None,
    "MEDIA_ROOT": None,
    "MINIFY_HTML": None,
    "MAINTAIN_INTERVAL": 60,
}


class AttrDict(dict):
    """A dict whose keys are attributes too (``d.x`` is ``d["x"]``), as the seeds use for config and ``g``."""

    def __getattr__(self, name: str) -> Any:
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


class Config(AttrDict):
    """``app.config.PRETTY_JSON = True`` and ``app.config["PRETTY_JSON"] = True`` are the same."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(DEFAULTS)
        self.update(*args, **kwargs)
