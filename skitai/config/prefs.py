"""Resolve the preferences from their four sources.

Precedence, lowest first: defaults < code (``skitai.run(...)`` arguments,
``skitai.pref()`` engine names, ``skitai.set_*``) < standard environment
variables (``PORT``, ``WEB_CONCURRENCY``) < ``SKITAI_<NAME>`` < command line
``--<name>``. Every value remembers where it came from so that ``describe()``
and error messages can say so.

A value that is not accepted raises ``ConfigError``; its ``str()`` is the one
line printed before the process exits with code 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .cpus import effective_workers
from .settings import BY_ENV, BY_FLAG, BY_NAME, ENV_PREFIX, INTERNAL_ENV_PREFIX, SETTINGS, Bool, Setting

__all__ = ["EXIT_CONFIG", "ConfigError", "Preferences", "describe", "effective_workers", "parse_argv", "resolve"]

EXIT_CONFIG = 2
UNKNOWN_ACCEPTED = "a setting listed by `skitai serve --help`"
MASK = "*****"
# Seed command line modes: `python3 skitaid.py --devel` (debug and reloader on),
# `python3 app.py -d ---production` (triple hyphen; both off) and `python3 app.py -v`
# (logs on the console even when the script sets a logpath).
MODE_FLAGS: dict[str, dict[str, Any]] = {
    "--devel": {"debug": True, "use_reloader": True},
    "---production": {"debug": False, "use_reloader": False},
    "-v": {"logpath": ""},
    "--silent": {},  # [001] "see --devel and --silent options": accepted; the console output is unchanged
}


class ConfigError(Exception):
    """A preference value that cannot be used; ``str()`` is one line naming setting, source and form."""

    def __init__(self, setting: str, source: str, accepted: str, value: Any = None,
                 problem: str = "bad value", secret: bool = False):
        self.setting = setting
        self.source = source
        self.accepted = accepted
        self.value = value
        self.problem = problem
        self.secret = secret
        super().__init__(setting, source, accepted)

    def __str__(self) -> str:
        if self.value is not None:
            shown = MASK if self.secret else repr(self.value)
            line = f"skitai: {self.problem} for {self.setting} from {self.source}: {shown}"
        else:
            line = f"skitai: {self.problem} {self.setting} from {self.source}"
        line = f"{line}; accepted: {self.accepted}"
        return line.replace("\n", " ").replace("\r", " ")


class Preferences:
    """The resolved engine preferences: attribute access, one value per setting plus its source.

    Read-only: use ``replace()`` to derive a changed copy.
    """

    __slots__ = ("_values", "_sources")

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_sources", dict(sources))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no preference named {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Preferences are read-only; use prefs.replace(name=value)")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __getstate__(self):
        return (self._values, self._sources)

    def __setstate__(self, state) -> None:
        object.__setattr__(self, "_values", state[0])
        object.__setattr__(self, "_sources", state[1])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Preferences) and other._values == self._values

    def __hash__(self) -> int:  # pragma: no cover - not meant as a dict key
        return id(self)

    def __repr__(self) -> str:
        shown = {k: (MASK if BY_NAME[k].secret and v else v) for k, v in self._values.items()}
        return f"Preferences({shown})"

    def source(self, name: str) -> str:
        """Where the value came from: "default", "code", "env SKITAI_X", "env PORT", "command line --x"."""
        return self._sources[name]

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._values.items()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, source: str = "code", **changes: Any) -> Preferences:
        """A copy with ``changes`` applied (validated; unknown names raise ConfigError)."""
        values = dict(self._values)
        sources = dict(self._sources)
        for name, raw in changes.items():
            setting = _setting_for_code(name, source)
            values[name] = _parse(setting, raw, source)
            sources[name] = source
        return Preferences(values, sources)


def _setting_for_code(name: str, source: str) -> Setting:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ConfigError(name, source, UNKNOWN_ACCEPTED, problem="unknown setting") from None


def _parse(setting: Setting, raw: Any, source: str) -> Any:
    try:
        return setting.parse(raw)
    except (ValueError, TypeError):
        raise ConfigError(setting.name, source, setting.accepted, value=raw, secret=setting.secret) from None


def parse_argv(argv: Iterable[str]) -> list[tuple[Setting, Any, str]]:
    """``--name value`` / ``--name=value`` / ``--flag`` / ``--no-flag`` -> (setting, raw, source).

    Anything that is not a setting flag raises ConfigError: the caller takes
    its own words (commands, the APP argument) out first.
    """
    out: list[tuple[Setting, Any, str]] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok in MODE_FLAGS:
            for name, value in MODE_FLAGS[tok].items():
                out.append((BY_NAME[name], value, f"command line {tok}"))
            continue
        if not tok.startswith("--") or tok == "--":
            raise ConfigError(repr(tok), "command line", "--NAME VALUE for " + UNKNOWN_ACCEPTED,
                              problem="unexpected argument")
        flag, eq, inline = tok.partition("=")
        flag_norm = flag.replace("_", "-")
        negate = False
        setting = BY_FLAG.get(flag_norm)
        if setting is None and flag_norm.startswith("--no-"):
            candidate = BY_FLAG.get("--" + flag_norm[5:])
            if candidate is not None and isinstance(candidate.parser, Bool) and not eq:
                setting, negate = candidate, True
        if setting is None:
            raise ConfigError(flag, "command line", UNKNOWN_ACCEPTED, problem="unknown setting")
        source = f"command line {setting.flag}"
        if negate:
            out.append((setting, False, f"command line --no-{setting.flag[2:]}"))
            continue
        if eq:
            out.append((setting, inline, source))
            continue
        if isinstance(setting.parser, Bool):
            # "--debug" alone means on; "--debug off" is accepted too
            if i < len(tokens) and not tokens[i].startswith("--"):
                try:
                    setting.parse(tokens[i])
                except ValueError:
                    out.append((setting, True, source))
                    continue
                out.append((setting, tokens[i], source))
                i += 1
            else:
                out.append((setting, True, source))
            continue
        if i >= len(tokens):
            raise ConfigError(setting.name, source, setting.accepted, problem="missing value for")
        out.append((setting, tokens[i], source))
        i += 1
    return out


def resolve(code: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
            argv: Iterable[str] | None = None) -> Preferences:
    """Merge defaults < code < PORT/WEB_CONCURRENCY < SKITAI_* < command line into Preferences."""
    if environ is None:
        environ = os.environ
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    sources: dict[str, str] = {s.name: "default" for s in SETTINGS}

    for name, raw in (code or {}).items():
        setting = _setting_for_code(name, "code")
        if raw is None:
            continue  # run(logpath=None): "not given" in Python code keeps the default
        values[name] = _parse(setting, raw, "code")
        sources[name] = "code"

    for setting in SETTINGS:
        for var in setting.fallback_env:
            if var in environ and setting.env not in environ:
                src = f"env {var}"
                values[setting.name] = _parse(setting, environ[var], src)
                sources[setting.name] = src
                break

    for var in sorted(environ):
        if not var.startswith(ENV_PREFIX) or var.startswith(INTERNAL_ENV_PREFIX):
            continue
        setting = BY_ENV.get(var)
        if setting is None:
            raise ConfigError(var, "environment", f"SKITAI_<NAME> for {UNKNOWN_ACCEPTED}",
                              problem="unknown setting")
        src = f"env {var}"
        values[setting.name] = _parse(setting, environ[var], src)
        sources[setting.name] = src

    for setting, raw, src in parse_argv(argv or ()):
        values[setting.name] = _parse(setting, raw, src)
        sources[setting.name] = src

    return Preferences(values, sources)


def describe(prefs: Preferences) -> str:
    """The effective configuration, one line per setting with its source; secrets masked."""
    rows = []
    for s in SETTINGS:
        value = prefs[s.name]
        if s.secret and value:
            shown = MASK
        elif value is None or value == "" or value == ():
            shown = "-"
        else:
            shown = s.format(value)
        if s.name == "workers" and value == 0:
            shown = f"0 (auto: {effective_workers(prefs)})"
        rows.append((s.name, shown, prefs.source(s.name)))
    w1 = max(len(r[0]) for r in rows)
    w2 = min(40, max(len(r[1]) for r in rows))
    lines = ["skitai configuration:"]
    lines += [f"  {n:<{w1}}  {v:<{w2}}  ({src})" for n, v, src in rows]
    return "\n".join(lines)
