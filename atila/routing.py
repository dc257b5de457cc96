"""Route table: rule compilation, constant-cost lookup and URL building.

Why this shape: the original matched every request against a list of
regular expressions. Here a rule without parameters is one dict lookup, and a
rule with parameters is filed under the trie node of its static prefix
segments, so a request only tries the few patterns that share its prefix;
the cost does not grow with the number of routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

SPECIAL_INT_VALUES = frozenset(("me", "notme", "new"))
RECENT_MATCHES = 1024  # parameterised (path, method) matches remembered by a Router

_PARAM_RE = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")


def _conv_int(value: str) -> int | str:
    if value in SPECIAL_INT_VALUES:
        return value
    return int(value)


CONVERTERS: dict[str, tuple[str, Callable[[str], Any] | None]] = {
    "string": (r"[^/]+", None),
    "int": (r"-?\d+|me|notme|new", _conv_int),
    "float": (r"-?\d+(?:\.\d+)?", float),
    "path": (r".*", None),
}


class RuleError(ValueError):
    """A route rule that cannot be compiled (unknown converter, misplaced path)."""


class Route:
    """One handler bound to one rule and a set of methods."""

    __slots__ = ("rule", "func", "methods", "content_types", "options", "name", "short_name",
                 "module", "mount", "plan", "param_names", "converters", "segments", "defaults",
                 "allow_options", "int_params")

    def __init__(self, rule: str, func: Callable, methods: frozenset[str], content_types, options: dict,
                 name: str, module, mount) -> None:
        self.rule = rule
        self.func = func
        self.methods = methods
        self.allow_options = "OPTIONS" in methods
        self.content_types = frozenset(content_types) if content_types else None
        self.options = options
        self.name = name
        self.short_name = getattr(func, "__name__", name)
        self.module = module
        self.mount = mount
        self.plan = None
        self.segments, self.param_names, self.converters = parse_rule(rule)
        self.int_params = tuple(n for n in self.param_names if self.converters[n] == "int")
        self.defaults: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Route {self.rule} {sorted(self.methods)} -> {self.name}>"

    def __getitem__(self, key: str) -> Any:
        """``request.routable["methods"]`` etc., the documented dict view."""
        if key == "methods":
            return sorted(self.methods)
        if key == "content_types":
            return sorted(self.content_types) if self.content_types else []
        if key == "options":
            return self.options
        if key == "mntopt":
            return dict(self.mount.options) if self.mount is not None else {}
        if key == "route":
            return self.rule
        raise KeyError(key)


def parse_rule(rule: str):
    """Split a rule into literal text and parameters.

    Returns (segments, names, converters) where segments is a list of
    ("lit", text) / ("param", name) items.
    """
    segments: list[tuple[str, str]] = []
    names: list[str] = []
    convs: dict[str, Callable | None] = {}
    pos = 0
    for m in _PARAM_RE.finditer(rule):
        if m.start() > pos:
            segments.append(("lit", rule[pos:m.start()]))
        conv = m.group("conv") or "string"
        name = m.group("name")
        if conv not in CONVERTERS:
            raise RuleError(f"unknown converter {conv!r} in rule {rule!r}")
        if conv == "path" and m.end() != len(rule):
            raise RuleError(f"<path:{name}> must be the last part of rule {rule!r}")
        if name in convs:
            raise RuleError(f"parameter {name!r} appears twice in rule {rule!r}")
        segments.append(("param", name))
        names.append(name)
        convs[name] = conv  # type: ignore[assignment]
        pos = m.end()
    if pos < len(rule):
        segments.append(("lit", rule[pos:]))
    return segments, names, convs


def _compile(segments, convs) -> re.Pattern:
    parts = ["^"]
    for kind, value in segments:
        if kind == "lit":
            parts.append(re.escape(value))
        else:
            parts.append(f"(?P<{value}>{CONVERTERS[convs[value]][0]})")
    parts.append("$")
    return re.compile("".join(parts))


def _static_prefix(segments) -> str:
    """The literal text before the first parameter."""
    out = []
    for kind, value in segments:
        if kind != "lit":
            break
        out.append(value)
    return "".join(out)


class PathEntry:
    """All routes sharing one pattern text, keyed by method."""

    __slots__ = ("pattern", "regex", "convs", "by_method", "allowed", "route_for_options")

    def __init__(self, pattern: str, regex, convs) -> None:
        self.pattern = pattern
        self.regex = regex
        self.convs = convs  # name -> converter callable (only those that convert)
        self.by_method: dict[str, tuple[Route, dict]] = {}
        self.allowed: list[str] = []

    def add(self, route: Route, fixed: dict) -> None:
        for m in sorted(route.methods):
            if m not in self.by_method:
                self.by_method[m] = (route, fixed)
                self.allowed.append(m)
        if "GET" in route.methods and "HEAD" not in self.by_method:
            self.by_method["HEAD"] = (route, fixed)
            self.allowed.append("HEAD")


class _Node:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entries: list[PathEntry] = []


class Router:
    """Static paths in a dict; parameterised patterns in a trie of static prefixes."""

    def __init__(self) -> None:
        self.static: dict[str, PathEntry] = {}
        self.root = _Node()
        self._dynamic: dict[str, PathEntry] = {}
        self.match_attempts = 0  # regex matches tried; lets tests prove lookups are not linear
        self.routes: list[Route] = []
        # (path, method) -> (route, params) of recent parameterised matches: a hot
        # path like /items/42 skips the trie walk, the regex and the converters.
        # Bounded (emptied when full), emptied when routes change; misses (404,
        # 405) are never kept, so scanning for random paths cannot fill it.
        self._recent: dict[tuple[str, str], tuple[Route, dict]] = {}

    # -- building -------------------------------------------------------
    def add(self, route: Route, optional_tail: int = 0) -> None:
        """Register a route; ``optional_tail`` trailing parameters may be omitted."""
        self.routes.append(route)
        self._recent.clear()
        variants = [(route.segments, {})]
        segs = list(route.segments)
        for _ in range(optional_tail):
            # drop the last parameter and the literal before it ("/episode" + "/<id>")
            if not segs or segs[-1][0] != "param":
                break
            segs = segs[:-1]
            if segs and segs[-1][0] == "lit":
                lit = segs[-1][1]
                if lit.endswith("/") and len(lit) > 1:
                    segs = segs[:-1] + [("lit", lit[:-1])]
                elif lit == "/":
                    break  # "/<int:id>" must not make "" routable (documented)
            if not segs:
                break
            variants.append((list(segs), {}))
        for segments, fixed in variants:
            self._add_variant(route, segments, fixed)

    def _add_variant(self, route: Route, segments, fixed) -> None:
        pattern = "".join(v if k == "lit" else f"<{v}>" for k, v in segments)
        if all(k == "lit" for k, _ in segments):
            entry = self.static.get(pattern)
            if entry is None:
                entry = self.static[pattern] = PathEntry(pattern, None, {})
            entry.add(route, fixed)
            return
        entry = self._dynamic.get(pattern)
        if entry is None:
            convs = {n: CONVERTERS[route.converters[n]][1] for k, n in segments
                     if k == "param" and CONVERTERS[route.converters[n]][1] is not None}
            entry = PathEntry(pattern, _compile(segments, route.converters), convs)
            self._dynamic[pattern] = entry
            node = self.root
            prefix = _static_prefix(segments)
            # only complete segments count: "/docs/x<id>" files under "docs"
            parts = prefix.split("/")[1:-1] if prefix.startswith("/") else []
            for part in parts:
                node = node.children.setdefault(part, _Node())
            node.entries.append(entry)
        entry.add(route, fixed)

    # -- lookup ---------------------------------------------------------
    def lookup(self, path: str, method: str):
        """Return (route, params, None) or (None, None, allowed_methods_or_None)."""
        entry = self.static.get(path)
        allowed: list[str] | None = None
        if entry is not None:
            hit = entry.by_method.get(method)
            if hit is not None:
                return hit[0], dict(hit[1]), None
            allowed = list(entry.allowed)
        else:
            recent = self._recent.get((path, method))
            if recent is not None:
                return recent[0], dict(recent[1]), None
        # walk the static segments of the path down the trie
        node = self.root
        stack = [node.entries] if node.entries else []
        if path.startswith("/"):
            for part in path[1:].split("/"):
                node = node.children.get(part)  # type: ignore[assignment]
                if node is None:
                    break
                if node.entries:
                    stack.append(node.entries)
        for entries in reversed(stack):
            for entry in entries:
                self.match_attempts += 1
                m = entry.regex.match(path)
                if m is None:
                    continue
                hit = entry.by_method.get(method)
                if hit is None:
                    if allowed is None:
                        allowed = []
                    allowed.extend(a for a in entry.allowed if a not in allowed)
                    continue
                params = m.groupdict()
                try:
                    for name, conv in entry.convs.items():
                        params[name] = conv(params[name])
                except ValueError:
                    continue
                if hit[1]:
                    params.update(hit[1])
                if allowed is None:  # (a 405 from the static table must stay a full lookup)
                    recent = self._recent
                    if len(recent) >= RECENT_MATCHES:
                        recent.clear()
                    recent[(path, method)] = (hit[0], dict(params))
                return hit[0], params, None
        return None, None, allowed

    def has_static(self, path: str) -> bool:
        return path in self.static


def build_path(route: Route, values: dict[str, Any]) -> tuple[str, set[str]]:
    """Fill a rule with values; omitted trailing parameters are dropped.

    Returns (path, used_names). Spaces in string parameters become "_" (documented).
    """
    used: set[str] = set()
    out: list[str] = []
    segs = list(route.segments)
    # trailing parameters without a value are dropped with their leading "/"
    while segs and segs[-1][0] == "param" and values.get(segs[-1][1]) is None:
        segs.pop()
        if segs and segs[-1][0] == "lit":
            lit = segs[-1][1]
            segs[-1] = ("lit", lit[:-1] if lit.endswith("/") and len(lit) > 1 else lit)
    for kind, value in segs:
        if kind == "lit":
            out.append(value)
            continue
        if value not in values or values[value] is None:
            raise KeyError(value)
        v = values[value]
        used.add(value)
        conv = route.converters[value]
        if conv == "path":
            out.append(quote(str(v), safe="/"))
        else:
            out.append(quote(str(v).replace(" ", "_"), safe=""))
    return "".join(out), used


def encode_query(pairs: dict[str, Any]) -> str:
    items = []
    for k, v in pairs.items():
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            items.extend((k, x) for x in v)
        else:
            items.append((k, v))
    return urlencode(items, quote_via=quote)
