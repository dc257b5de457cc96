"""Process titles: ``skitai(NAME): master`` and ``skitai(NAME): worker #N``.

Operators find the engine with ``ps -ef | grep skitai`` (seed docs §2.5), so
the master and every worker rename themselves when ``setproctitle`` is
installed (the ``speed`` extra). Without it the titles are a no-op: renaming
is a convenience, never a requirement.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:  # optional dependency
    import setproctitle as _spt
except ImportError:  # pragma: no cover - depends on the environment
    _spt = None


def display_name(prefs=None) -> str:
    """The NAME in ``skitai(NAME)``.

    ``prefs.name`` wins; otherwise the running script as ``parent/stem``
    (``myproject/app`` for ``/home/u/myproject/app.py``, as in the seeds),
    otherwise the ``app`` preference (``skitai serve pkg.mod:app``).
    """
    name = getattr(prefs, "name", None) if prefs is not None else None
    if name:
        return str(name)
    script = sys.argv[0] if sys.argv else ""
    if (script.endswith(".py") and os.path.basename(script) != "__main__.py"
            and os.path.isfile(script)):
        p = Path(script).resolve()
        return f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem
    app = getattr(prefs, "app", None) if prefs is not None else None
    if app:
        return str(app)
    return "app"


def title(name: str, role: str) -> str:
    return f"skitai({name}): {role}"


def set_title(name: str, role: str) -> bool:
    """Rename this process; returns False when setproctitle is missing."""
    if _spt is None:
        return False
    _spt.setproctitle(title(name, role))
    return True


def available() -> bool:
    return _spt is not None
