"""The pieces of the predicate JSON schema a predicate class reads its own node with.

A document is ``{"version": 1, "predicate": NODE}``; a node is ``{"op": ..., ...}`` (a
combination) or ``{"field": KIND, ...}`` (a leaf). Each predicate class writes and reads the
keys of its own node; these helpers check one key each and raise a
:class:`~ecrm.errors.PredicateFormatError` whose ``field`` is the path of the problem
(``predicate.args[1].in``). Nothing here knows any predicate class.
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
import warnings
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Final, TypeVar

from ecrm._deprecate import RENAMED_IN
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError, PredicateFormatError

__all__ = [
    "SCHEMA_VERSION",
    "bool_key",
    "build",
    "check_keys",
    "fail",
    "opt_int",
    "opt_number",
    "parse_bound",
    "required",
    "required_list",
    "shown",
    "window_keys",
]

#: The version written by :meth:`Predicate.to_dict` and the only one read.
SCHEMA_VERSION: Final = 1

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
T = TypeVar("T")

_REPR: Final = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlong = 40


def shown(value: object) -> str:
    """``repr(value)`` bounded in depth and length, for error messages.

    A list nested 100,000 deep or a 100,000-character string is shown in a few dozen
    characters instead of recursing or flooding the message.
    """
    try:
        return _REPR.repr(value)
    except Exception:  # a broken __repr__, an int past Python's digit limit
        return f"<{type(value).__name__}>"


def fail(path: str, rule: str, value: Any) -> PredicateFormatError:
    """The error for the node at ``path`` breaking ``rule``."""
    return PredicateFormatError(path, rule, value)


def check_keys(node: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    """Refuse keys of ``node`` outside ``allowed`` (the first one, sorted, is named)."""
    extra = sorted(set(node) - allowed, key=str)
    if extra:
        where = f"{path}.{extra[0]}" if path else str(extra[0])
        raise fail(where, f"is not a key of this node (allowed: "
                   f"{', '.join(sorted(allowed))})", node[extra[0]])


def required(node: Mapping[str, Any], key: str, path: str) -> Any:
    """The value of ``key``, which must be present."""
    if key not in node:
        raise fail(f"{path}.{key}", "is required", None)
    return node[key]


def required_list(node: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """The value of ``key``, which must be a non-empty JSON list."""
    value = required(node, key, path)
    if not isinstance(value, list) or not value:
        raise fail(f"{path}.{key}", "must be a non-empty list", value)
    return value


def opt_int(node: Mapping[str, Any], key: str, path: str) -> int | None:
    """The integer of ``key``, or None when it is absent (or null)."""
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise fail(f"{path}.{key}", "must be an integer", value)
    return value


def opt_number(node: Mapping[str, Any], key: str, path: str) -> int | float | None:
    """The number of ``key``, or None when it is absent (or null)."""
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise fail(f"{path}.{key}", "must be a number", value)
    return value


def bool_key(node: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    """``true`` / ``false`` of ``key`` (``default`` when absent)."""
    value = node.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"{path}.{key}", "must be true or false", value)
    return value


def parse_bound(node: Mapping[str, Any], key: str, path: str) -> dt.date | dt.datetime | None:
    """An ISO date (``2025-06-01``) or an aware ISO datetime of ``key``, or None."""
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{path}.{key}", "must be an ISO date or datetime string", value)
    try:
        if _DATE_RE.fullmatch(value):
            return dt.date.fromisoformat(value)
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{path}.{key}", "must be an ISO date or datetime string", value) from None
    if at.tzinfo is None:
        raise fail(f"{path}.{key}", "must carry a UTC offset (aware datetime)", value)
    return at


def build(make: Callable[[], T], path: str, *, whole: tuple[str, ...] = ()) -> T:
    """``make()``, with a constructor's ecrm error put under the node's path.

    A constructor names its own field (``values[1]``, ``min_days``): it becomes
    ``PATH[1]`` / ``PATH.min_days``. Errors about the node as a whole (``window`` and the
    names in ``whole``, such as a leaf's kind) are reported at ``path`` itself.
    """
    try:
        return make()
    except InvalidValueError as exc:
        sub = exc.field
        if not sub or sub == "window" or sub in whole:
            where = path
        elif sub.startswith("values"):
            where = f"{path}{sub[len('values'):]}"
        else:
            where = f"{path}.{sub}"
        raise fail(where, exc.rule, exc.value) from exc
    except InvalidTypeError as exc:
        raise fail(path, f"has a value of the wrong type ({exc})", None) from exc


# -- the range of a behaviour leaf ----------------------------------------------------------
_WINDOW_KEYS: Final = frozenset({"field", "window", "start", "end", "last_days"})


def _window_node(node: Any, path: str) -> Window:
    """``{"start": ..., "end": ...}``: aware ISO datetimes, or local dates with ``"tz"``."""
    if not isinstance(node, Mapping):
        raise fail(path, 'must be an object {"start": ..., "end": ...}', node)
    check_keys(node, path, {"start", "end", "tz"})
    start, end = parse_bound(node, "start", path), parse_bound(node, "end", path)
    if start is None or end is None:
        raise fail(f"{path}.{'end' if start is not None else 'start'}", "is required", None)
    kinds = {type(start) is dt.date, type(end) is dt.date}
    if kinds == {True}:
        tz = node.get("tz")
        if not isinstance(tz, str):
            raise fail(f"{path}.tz", "is required (an IANA zone name) when the bounds are "
                       "dates: they are local days in that zone", tz)
        return _window_built(lambda: Window.of_dates(start, end, tz), path)
    if kinds != {False} or "tz" in node:
        raise fail(path, "must hold two aware datetimes, or two dates and a tz", dict(node))
    first, last = start, end
    return _window_built(lambda: Window(first, last), path)  # type: ignore[arg-type]


def _window_built(make: Callable[[], Window], path: str) -> Window:
    try:
        return make()
    except InvalidValueError as exc:
        raise fail(f"{path}.{exc.field}", exc.rule, exc.value) from exc


def window_keys(
    node: Mapping[str, Any], path: str, extra: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    """The range keywords of a behaviour leaf's node (``window``, ``last_days`` or the
    deprecated ``start`` / ``end``, which warn), after refusing keys outside the range keys
    and ``extra``."""
    check_keys(node, path, set(_WINDOW_KEYS) | extra)
    out: dict[str, Any] = {"last_days": opt_int(node, "last_days", path)}
    if "window" in node:
        if "start" in node or "end" in node:
            raise fail(f"{path}.window", "must not be given with its deprecated start/end",
                       node["window"])
        out["window"] = _window_node(node["window"], f"{path}.window")
    elif "start" in node or "end" in node:
        out["start"] = parse_bound(node, "start", path)
        out["end"] = parse_bound(node, "end", path)
        warnings.warn(
            f'{path}: the keys "start"/"end" are deprecated since {RENAMED_IN} and will be '
            'removed in the next release; use "window": {"start": ..., "end": ...} (aware '
            'datetimes, or dates with "tz")', DeprecationWarning, stacklevel=2)
    return out
