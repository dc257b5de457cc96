"""JSON encoding honouring ``app.config.JSON_ENCODER`` and ``PRETTY_JSON``."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable
from typing import Any

try:  # optional speed-up (the "speed" extra); the output is the same compact JSON
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the installation
    _orjson = None


def _orjson_encoder(default: Callable[[Any], Any], fallback: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """orjson with datetimes handed to ``default`` (JSON_ENCODER modes); anything it refuses
    (ints beyond 64 bits, ...) goes through the stdlib encoder."""
    dumps = _orjson.dumps
    opts = _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_NON_STR_KEYS | _orjson.OPT_PASSTHROUGH_SUBCLASS
    err = _orjson.JSONEncodeError

    def fn(obj: Any) -> bytes:
        try:
            return dumps(obj, default=default, option=opts)
        except err:
            return fallback(obj)
    return fn


def _utc(dt: datetime.datetime) -> datetime.datetime:
    if dt.tzinfo is None:
        return dt
    return dt.astimezone(datetime.UTC)


def _make_default(mode: str) -> Callable[[Any], Any]:
    def default(o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            if mode == "unixepoch":
                return o.timestamp()
            if mode == "digit":
                return _utc(o).strftime("%Y%m%d%H%M%S")
            if mode == "iso":
                return _utc(o).replace(tzinfo=None).isoformat()
            if mode == "str":
                return o.strftime("%Y-%m-%d %H:%M:%S")
            # utcoffset (default): "2030-12-24 15:09:00+00"
            return _utc(o).strftime("%Y-%m-%d %H:%M:%S") + "+00"
        if isinstance(o, datetime.date):
            return o.isoformat()
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        if isinstance(o, decimal.Decimal):
            return float(o)
        if isinstance(o, uuid.UUID):
            return str(o)
        if isinstance(o, bytes):
            return o.decode("utf-8", "replace")
        if hasattr(o, "__json__"):
            return o.__json__()
        raise TypeError(f"{type(o).__name__} is not JSON serializable")
    return default


class JSONEncoderFactory:
    """Caches one dumps callable per (mode, pretty) pair."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool], Callable[[Any], bytes]] = {}

    def get(self, mode: str, pretty: bool) -> Callable[[Any], bytes]:
        key = (mode, pretty)
        fn = self._cache.get(key)
        if fn is None:
            default = _make_default(mode)
            if pretty:
                enc = json.JSONEncoder(default=default, ensure_ascii=False, indent=2)
            else:
                enc = json.JSONEncoder(default=default, ensure_ascii=False, separators=(",", ":"))
            encode = enc.encode

            def fn(obj: Any, _encode=encode) -> bytes:
                return _encode(obj).encode("utf-8")
            if _orjson is not None and not pretty:
                fn = _orjson_encoder(default, fn)
            self._cache[key] = fn
        return fn
