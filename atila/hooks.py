"""Calling user hooks whose signatures vary between Atila generations.

Newest: ``__mount__(context, app[, opts])``; older: ``__mount__(app[, mntopt])``.
Request hooks may take ``(context[, app, opts], extra)``. The call shape is
worked out once per function and cached.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

_shapes: dict[Callable, tuple[bool, int, bool]] = {}


def _shape(fn: Callable) -> tuple[bool, int, bool]:
    s = _shapes.get(fn)
    if s is None:
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        old = bool(params) and params[0].name in ("app", "wac")
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        star = any(p.kind == p.VAR_POSITIONAL for p in params)
        s = (old, len(positional), star)
        _shapes[fn] = s
    return s


def call_hook(fn: Callable, context: Any, app: Any, opts: dict, *extra: Any) -> Any:
    """Call ``fn`` with as many of (context, app, opts) as it takes, then ``extra``."""
    old, n, star = _shape(fn)
    if old:
        base: tuple = (app, opts)
    else:
        base = (context, app, opts)
    if star:
        return fn(*base, *extra)
    if n >= len(extra) + 1:
        args = base[: n - len(extra)] + extra
    else:
        args = ((base[0],) + extra)[:n]
    return fn(*args)
