"""``@app.inspect`` (alias ``@app.require``): declarative parameter validation.

A spec is compiled once at decoration time into a list of checks; at request
time the checks run over the chosen parameter group and write converted
values (``ints=["id"]`` -> int) back so that the handler receives them.
Failure raises a 400 whose JSON body names the field and the rule.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from .errors import HttpError

SCOPES = frozenset(("ARGS", "URL", "FORM", "JSON", "DATA"))
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_TAGS = re.compile(r"[<>]")
_UNSAFE = re.compile(r"<\s*/?\s*(script|iframe|object|embed|svg|style|link|meta)\b|javascript\s*:|\bon[a-z]+\s*=",
                     re.I)
_OPS = ("between", "notin", "neq", "gte", "lte", "eq", "gt", "lt", "in",
        "startswith", "endswith", "notstartwith", "notendwith", "contains", "notcontain")
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}

_MISSING: Any = object()


class ValidationError(HttpError):
    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__("400 Bad Request", message)
        self.field = field
        self.rule = rule


def _fail(field: str, rule: str, message: str):
    raise ValidationError(field, rule, message)


def _as_type(convert: Callable, name: str, v: Any) -> Any:
    """A per-parameter type (``offset = int``): converts like ``ints``, fails with rule "type"."""
    try:
        return convert(name, v)
    except ValidationError as e:
        e.rule = "type"
        raise


def _to_int(name, v):
    if isinstance(v, bool):
        _fail(name, "ints", f"parameter {name} must be an integer")
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        _fail(name, "ints", f"parameter {name} must be an integer")


def _to_float(name, v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        _fail(name, "floats", f"parameter {name} must be a number")


def _to_bool(name, v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    _fail(name, "booleans", f"parameter {name} must be a boolean")


def _to_list(name, v):
    if isinstance(v, list):
        return v
    if isinstance(v, (tuple, set)):
        return list(v)
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("["):
            try:
                r = json.loads(s)
                if isinstance(r, list):
                    return r
            except ValueError:
                pass
        return [x.strip() for x in s.split(",")] if s else []
    _fail(name, "lists", f"parameter {name} must be a list")


def _to_dict(name, v):
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            r = json.loads(v)
            if isinstance(r, dict):
                return r
        except ValueError:
            pass
    _fail(name, "dicts", f"parameter {name} must be an object")


def _to_str(name, v):
    if isinstance(v, str):
        return v
    _fail(name, "strings", f"parameter {name} must be a string")


def _email(name, v):
    if isinstance(v, str) and _EMAIL.match(v):
        return v
    _fail(name, "emails", f"parameter {name} must be an email address")


def _uuid(name, v):
    try:
        uuid.UUID(str(v))
    except ValueError:
        _fail(name, "uuids", f"parameter {name} must be a UUID")
    return v


def _none(name, v):
    return None if v in ("", "null", "None") else v


def _notag(name, v):
    if isinstance(v, str):
        return v.replace("<", "&lt;").replace(">", "&gt;")
    return v


def _safe(name, v):
    if isinstance(v, str) and _UNSAFE.search(v):
        _fail(name, "safes", f"parameter {name} contains unsafe markup")
    return v


_TYPE_RULES: dict[str, Callable] = {
    "ints": _to_int, "floats": _to_float, "booleans": _to_bool, "lists": _to_list,
    "dicts": _to_dict, "strings": _to_str, "emails": _email, "uuids": _uuid, "nones": _none,
    "notags": _notag, "safes": _safe,
}

_PYTYPE = {int: _to_int, float: _to_float, bool: _to_bool, list: _to_list, dict: _to_dict, str: _to_str}


def _coerce_like(v: Any, ref: Any) -> Any:
    """Make a request value comparable with a spec operand (query values are strings)."""
    if isinstance(ref, bool) or ref is None:
        return v
    if isinstance(ref, int) and isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return float(v)
    if isinstance(ref, float) and isinstance(v, str):
        return float(v)
    return v


def _parse_path(name: str) -> list:
    """``data___scores__1`` -> ["data", "scores", 1]: ___ = key, __<digits> = index."""
    path: list = []
    for part in name.split("___"):
        pieces = part.split("__")
        path.append(pieces[0])
        for p in pieces[1:]:
            if p.isdigit():
                path.append(int(p))
            else:
                path.append(p)
    return path


def _get_path(group: dict, path: list) -> Any:
    cur: Any = group
    for key in path:
        if isinstance(key, int):
            if isinstance(cur, list) and -len(cur) <= key < len(cur):
                cur = cur[key]
            else:
                return _MISSING
        elif isinstance(cur, dict) and key in cur:
            cur = cur[key]
        else:
            return _MISSING
    return cur


def _compare(op: str, v: Any, ref: Any) -> bool:
    if op in ("in", "notin"):
        refs = list(ref)
        cv = _coerce_like(v, refs[0]) if refs else v
        return (cv in refs) == (op == "in")
    if op == "between":
        lo, hi = ref
        return lo <= _coerce_like(v, lo) <= hi
    if op in ("startswith", "endswith", "notstartwith", "notendwith", "contains", "notcontain"):
        s = v if isinstance(v, (str, list, tuple)) else str(v)
        if op == "startswith":
            return s.startswith(ref)
        if op == "endswith":
            return s.endswith(ref)
        if op == "notstartwith":
            return not s.startswith(ref)
        if op == "notendwith":
            return not s.endswith(ref)
        if op == "contains":
            return ref in s
        return ref not in s
    cv = _coerce_like(v, ref)
    if op == "eq":
        return cv == ref
    if op == "neq":
        return cv != ref
    if op == "gt":
        return cv > ref
    if op == "gte":
        return cv >= ref
    if op == "lt":
        return cv < ref
    if op == "lte":
        return cv <= ref
    raise ValueError(op)


class Spec:
    """One compiled ``@app.inspect`` decorator."""

    __slots__ = ("scope", "method", "required", "conversions", "checks", "oneof", "manyof")

    def __init__(self, scope: str | None = None, required=None, **kwargs: Any) -> None:
        self.method = None
        if scope is None:
            scope = "ARGS"
        scope = scope.upper()
        if scope in METHODS:
            self.method, scope = scope, "ARGS"
        elif scope not in SCOPES:
            raise ValueError(f"inspect scope must be one of {sorted(SCOPES | METHODS)}, got {scope!r}")
        self.scope = scope
        self.required = list(required or [])
        self.conversions: list[tuple[str, str, Callable]] = []
        self.checks: list[tuple[str, list, str, Callable[[Any], bool], str]] = []
        self.oneof = list(kwargs.pop("oneof", None) or [])
        self.manyof = list(kwargs.pop("manyof", None) or [])
        for rule, fn in _TYPE_RULES.items():
            names = kwargs.pop(rule, None)
            for n in names or []:
                self.conversions.append((n, rule, fn))
        for key, ref in kwargs.items():
            self._add_kw(key, ref)

    def _add_kw(self, key: str, ref: Any) -> None:
        op = None
        for candidate in _OPS:
            if key.endswith("__" + candidate):
                op = candidate
                key = key[: -len(candidate) - 2]
                break
        use_len = False
        if op and key.endswith("__len"):
            use_len = True
            key = key[:-5]
        path = _parse_path(key)
        label = key
        if op is None:
            if isinstance(ref, re.Pattern):
                self.checks.append((label, path, "regex", lambda v, r=ref: bool(r.search(str(v))),
                                    f"parameter {label} must match {ref.pattern}"))
                return
            types = ref if isinstance(ref, (list, tuple)) else [ref]
            if len(types) == 1 and types[0] in _PYTYPE and len(path) == 1 and types[0] is not str:
                # ``offset = int`` converts like ``ints = ["offset"]`` (the handler gets an int)
                self.conversions.append((key, "type", functools.partial(_as_type, _PYTYPE[types[0]])))
                return
            if all(isinstance(t, type) for t in types):
                self.checks.append((label, path, "type", self._typecheck(label, types),
                                    f"parameter {label} must be {' or '.join(t.__name__ for t in types)}"))
                return
            op = "eq"
        rule = f"len__{op}" if use_len else op

        def check(v, op=op, ref=ref, use_len=use_len):
            try:
                return _compare(op, len(v) if use_len else v, ref)
            except (TypeError, ValueError):
                return False
        self.checks.append((label, path, rule, check, f"parameter {label} fails {rule} {ref!r}"))

    @staticmethod
    def _typecheck(label: str, types: list) -> Callable[[Any], bool]:
        def check(v):
            for t in types:
                fn = _PYTYPE.get(t)
                if fn is None:
                    if isinstance(v, t):
                        return True
                    continue
                try:
                    fn(label, v)
                    return True
                except ValidationError:
                    continue
            return False
        return check

    def run(self, request, group: dict, args: dict) -> None:
        """Validate ``group``; converted values are written into it and into ``args``."""
        if self.method and request.method != self.method:
            return
        for n in self.required:
            v = group.get(n, _MISSING)
            if v is _MISSING or v == "" or v is None:
                _fail(n, "required", f"parameter {n} is required")
        if self.oneof and sum(1 for n in self.oneof if group.get(n) not in (None, "")) != 1:
            _fail(",".join(self.oneof), "oneof", f"exactly one of {', '.join(self.oneof)} is required")
        if self.manyof and not any(group.get(n) not in (None, "") for n in self.manyof):
            _fail(",".join(self.manyof), "manyof", f"at least one of {', '.join(self.manyof)} is required")
        for n, rule, fn in self.conversions:
            if n not in group:
                continue
            v = group[n]
            if v is None or (v == "" and rule not in ("booleans", "nones", "strings")):
                continue
            nv = fn(n, v)
            if nv is not v:
                group[n] = nv
                args[n] = nv
        for label, path, rule, check, message in self.checks:
            v = _get_path(group, path)
            if v is _MISSING or v is None:
                continue
            if not check(v):
                _fail(label, rule, message)


def make_spec(scope=None, required=None, *args, **kwargs) -> Spec:
    if isinstance(scope, (list, tuple)):
        scope, required = None, scope
    if args:
        raise TypeError("inspect() takes a scope, a required list and keyword rules")
    return Spec(scope, required, **kwargs)
