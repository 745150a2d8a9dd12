"""JSON form of audience predicates: a stable, versioned schema other tools can store and edit.

A document is ``{"version": 1, "predicate": NODE}``. A node is a combination
``{"op": "and" | "or", "args": [NODE, ...]}`` / ``{"op": "not", "arg": NODE}`` or a leaf
``{"field": NAME, ...}`` whose keys are listed in docs/segments.md. Unknown fields, ops or
keys are refused with a :class:`PredicateFormatError` naming the path
(``predicate.args[1].in``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final

from ecrm._deprecate import RENAMED_IN
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError, PredicateFormatError
from ecrm.segments._predicates import (
    AgeBetween,
    And,
    BirthdayBetween,
    Blocked,
    Carted,
    Favorited,
    FavoritedNotBought,
    GenderIn,
    HasTags,
    MemberLevelIn,
    Not,
    OccupationIn,
    Or,
    Ordered,
    Predicate,
    PredictedClvBetween,
    ProbabilityAliveBetween,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
    _Behaviour,
    register_codec,
)

__all__ = [
    "SCHEMA_VERSION",
    "PredicateFormatError",
    "predicate_from_json",
    "predicate_from_str",
    "predicate_to_json",
    "predicate_to_str",
]

#: The version written by :func:`predicate_to_json` and the only one read.
SCHEMA_VERSION: Final = 1

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- writing --------------------------------------------------------------------------------
def _bound_json(value: dt.date | dt.datetime) -> str:
    return value.isoformat()


def _behaviour_json(p: _Behaviour) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.window is not None:
        out["window"] = {"start": p.window.start.isoformat(), "end": p.window.end.isoformat()}
    if p.legacy_bounds is not None:  # deprecated bounds are written back as they came
        start, end = p.legacy_bounds
        if start is not None:
            out["start"] = _bound_json(start)
        if end is not None:
            out["end"] = _bound_json(end)
    if p.last_days is not None:
        out["last_days"] = p.last_days
    return out


def _node(p: Predicate) -> dict[str, Any]:
    if isinstance(p, And | Or):
        return {"op": "and" if isinstance(p, And) else "or", "args": [_node(a) for a in p.args]}
    if isinstance(p, Not):
        return {"op": "not", "arg": _node(p.arg)}
    field: str = p.field  # type: ignore[attr-defined]
    out: dict[str, Any] = {"field": field}
    if isinstance(p, GenderIn):
        out["in"] = [g.value for g in p.values]
    elif isinstance(p, AgeBetween):
        if p.min_age is not None:
            out["min"] = p.min_age
        if p.max_age is not None:
            out["max"] = p.max_age
    elif isinstance(p, BirthdayBetween):
        out["from"], out["to"] = p.start, p.end
    elif isinstance(p, OccupationIn | ProvinceIn | MemberLevelIn):
        out["in"] = list(p.values)
    elif isinstance(p, HasTags):
        out["all" if p.require_all else "any"] = list(p.tags)
    elif isinstance(p, RfmGradeIn | StageIn):
        out["in"] = [v.value for v in p.values]
        if p.as_of is not None:
            out["as_of"] = _bound_json(p.as_of)
    elif isinstance(p, ProbabilityAliveBetween | PredictedClvBetween):
        lo, hi = (p.min_value, p.max_value) if isinstance(p, ProbabilityAliveBetween) else (p.min_fen, p.max_fen)
        if lo is not None:
            out["min"] = lo
        if hi is not None:
            out["max"] = hi
    elif isinstance(p, _Behaviour):
        out.update(_behaviour_json(p))
        if isinstance(p, Ordered):
            out["valid"] = p.valid_only
        elif isinstance(p, Repurchased):
            out["min_days"] = p.min_days
    elif not isinstance(p, Blocked):
        raise InvalidTypeError(f"cannot serialise {type(p).__name__}: not an ecrm predicate")
    return out


def predicate_to_json(predicate: Predicate) -> dict[str, Any]:
    """The JSON document (plain dicts, lists, strings, ints, bools) of ``predicate``.

    Public as :meth:`Predicate.to_dict` (this name is deprecated in :mod:`ecrm.segments`).

    >>> from ecrm.segments import OccupationIn
    >>> predicate_to_json(OccupationIn(["医生", "教师"]))
    {'version': 1, 'predicate': {'field': 'occupation', 'in': ['医生', '教师']}}

    Raises:
        InvalidTypeError: ``predicate`` is not a Predicate.
    """
    if not isinstance(predicate, Predicate):
        raise InvalidTypeError(
            f"predicate must be a Predicate, got {type(predicate).__name__} {predicate!r}"
        )
    return {"version": SCHEMA_VERSION, "predicate": _node(predicate)}


def predicate_to_str(predicate: Predicate) -> str:
    """:func:`predicate_to_json` as compact JSON text (UTF-8 characters kept, keys in order)."""
    return json.dumps(predicate_to_json(predicate), ensure_ascii=False, separators=(",", ":"))


# -- reading --------------------------------------------------------------------------------
def _fail(path: str, rule: str, value: Any) -> PredicateFormatError:
    return PredicateFormatError(path, rule, value)


def _keys(node: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    extra = sorted(set(node) - allowed)
    if extra:
        where = f"{path}.{extra[0]}" if path else extra[0]
        raise _fail(where, f"is not a key of this node (allowed: "
                    f"{', '.join(sorted(allowed))})", node[extra[0]])


def _list(node: Mapping[str, Any], key: str, path: str) -> list[Any]:
    if key not in node:
        raise _fail(f"{path}.{key}", "is required", None)
    value = node[key]
    if not isinstance(value, list) or not value:
        raise _fail(f"{path}.{key}", "must be a non-empty list", value)
    return value


def _opt_int(node: Mapping[str, Any], key: str, path: str) -> int | None:
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _fail(f"{path}.{key}", "must be an integer", value)
    return value


def _bool(node: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = node.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{path}.{key}", "must be true or false", value)
    return value


def _parse_bound(node: Mapping[str, Any], key: str, path: str) -> dt.date | dt.datetime | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}", "must be an ISO date or datetime string", value)
    try:
        if _DATE_RE.fullmatch(value):
            return dt.date.fromisoformat(value)
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{path}.{key}", "must be an ISO date or datetime string", value) from None
    if at.tzinfo is None:
        raise _fail(f"{path}.{key}", "must carry a UTC offset (aware datetime)", value)
    return at


_WINDOW_KEYS: Final = {"field", "window", "start", "end", "last_days"}


def _window_node(node: Any, path: str) -> Window:
    """``{"start": ..., "end": ...}``: aware ISO datetimes, or local dates with ``"tz"``."""
    if not isinstance(node, Mapping):
        raise _fail(path, 'must be an object {"start": ..., "end": ...}', node)
    _keys(node, path, {"start", "end", "tz"})
    start, end = _parse_bound(node, "start", path), _parse_bound(node, "end", path)
    if start is None or end is None:
        raise _fail(f"{path}.{'end' if start is not None else 'start'}", "is required", None)
    kinds = {type(start) is dt.date, type(end) is dt.date}
    if kinds == {True}:
        tz = node.get("tz")
        if not isinstance(tz, str):
            raise _fail(f"{path}.tz", "is required (an IANA zone name) when the bounds are "
                        "dates: they are local days in that zone", tz)
        return _build_window(lambda: Window.of_dates(start, end, tz), path)
    if kinds != {False} or "tz" in node:
        raise _fail(path, "must hold two aware datetimes, or two dates and a tz", dict(node))
    first, last = start, end
    return _build_window(lambda: Window(first, last), path)  # type: ignore[arg-type]


def _build_window(make: Callable[[], Window], path: str) -> Window:
    try:
        return make()
    except InvalidValueError as exc:
        raise _fail(f"{path}.{exc.field}", exc.rule, exc.value) from exc


def _window(node: Mapping[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"last_days": _opt_int(node, "last_days", path)}
    if "window" in node:
        if "start" in node or "end" in node:
            raise _fail(f"{path}.window", "must not be given with its deprecated start/end",
                        node["window"])
        out["window"] = _window_node(node["window"], f"{path}.window")
    elif "start" in node or "end" in node:
        out["start"] = _parse_bound(node, "start", path)
        out["end"] = _parse_bound(node, "end", path)
        warnings.warn(
            f'{path}: the keys "start"/"end" are deprecated since {RENAMED_IN} and will be '
            'removed in the next release; use "window": {"start": ..., "end": ...} (aware '
            'datetimes, or dates with "tz")', DeprecationWarning, stacklevel=4)
    return out


def _make_leaf(make: Callable[[], Predicate], path: str, window: Mapping[str, Any]) -> Predicate:
    """Build a behaviour leaf; the JSON reader already warned about deprecated keys."""
    with warnings.catch_warnings():
        if "start" in window:
            warnings.simplefilter("ignore", DeprecationWarning)
        return _build(make, path)


_LeafReader = Callable[[Mapping[str, Any], str], Predicate]


def _in_reader(cls: Callable[[Any], Predicate]) -> _LeafReader:
    def read(node: Mapping[str, Any], path: str) -> Predicate:
        _keys(node, path, {"field", "in"})
        values = _list(node, "in", path)
        return _build(lambda: cls(values), f"{path}.in")

    return read


def _at_reader(cls: type[RfmGradeIn | StageIn]) -> _LeafReader:
    def read(node: Mapping[str, Any], path: str) -> Predicate:
        _keys(node, path, {"field", "in", "as_of", "at"})
        values = _list(node, "in", path)
        key = "as_of"
        if "at" in node:
            if "as_of" in node:
                raise _fail(f"{path}.at", "must not be given with its new name as_of",
                            node["at"])
            warnings.warn(
                f'{path}: the key "at" is deprecated since {RENAMED_IN} and will be removed '
                'in the next release; use "as_of"', DeprecationWarning, stacklevel=2)
            key = "at"
        as_of = _parse_bound(node, key, path)
        return _build(lambda: cls(values, as_of=as_of), f"{path}.in")

    return read


def _tags(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field", "any", "all"})
    if ("any" in node) == ("all" in node):
        raise _fail(path, "needs exactly one of the keys any / all", dict(node))
    key = "all" if "all" in node else "any"
    values = _list(node, key, path)
    return _build(lambda: HasTags(values, require_all=key == "all"), f"{path}.{key}")


def _age(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field", "min", "max"})
    lo, hi = _opt_int(node, "min", path), _opt_int(node, "max", path)
    return _build(lambda: AgeBetween(lo, hi), path)


def _p_alive(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field", "min", "max"})
    bounds = []
    for key in ("min", "max"):
        value = node.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _fail(f"{path}.{key}", "must be a number", value)
        bounds.append(value)
    return _build(lambda: ProbabilityAliveBetween(bounds[0], bounds[1]), path)


def _clv(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field", "min", "max"})
    lo, hi = _opt_int(node, "min", path), _opt_int(node, "max", path)
    return _build(lambda: PredictedClvBetween(lo, hi), path)


def _birthday(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field", "from", "to"})
    for key in ("from", "to"):
        if key not in node:
            raise _fail(f"{path}.{key}", "is required", None)
    return _build(lambda: BirthdayBetween(node["from"], node["to"]), path)


def _blocked(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, {"field"})
    return Blocked()


def _behaviour(cls: type[_Behaviour]) -> _LeafReader:
    def read(node: Mapping[str, Any], path: str) -> Predicate:
        _keys(node, path, _WINDOW_KEYS)
        window = _window(node, path)
        return _make_leaf(lambda: cls(**window), path, window)

    return read


def _ordered(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, _WINDOW_KEYS | {"valid"})
    window = _window(node, path)
    valid = _bool(node, "valid", path, True)
    return _make_leaf(lambda: Ordered(**window, valid_only=valid), path, window)


def _repurchased(node: Mapping[str, Any], path: str) -> Predicate:
    _keys(node, path, _WINDOW_KEYS | {"min_days"})
    window = _window(node, path)
    min_days = _opt_int(node, "min_days", path)
    return _make_leaf(
        lambda: Repurchased(**window, min_days=2 if min_days is None else min_days), path,
        window,
    )


_READERS: Final[Mapping[str, _LeafReader]] = {
    "gender": _in_reader(GenderIn),
    "age": _age,
    "birthday": _birthday,
    "occupation": _in_reader(OccupationIn),
    "province": _in_reader(ProvinceIn),
    "member_level": _in_reader(MemberLevelIn),
    "tags": _tags,
    "blocked": _blocked,
    "visited": _behaviour(Visited),
    "carted": _behaviour(Carted),
    "favorited": _behaviour(Favorited),
    "favorited_not_bought": _behaviour(FavoritedNotBought),
    "ordered": _ordered,
    "repurchased": _repurchased,
    "rfm_grade": _at_reader(RfmGradeIn),
    "stage": _at_reader(StageIn),
    "p_alive": _p_alive,
    "clv": _clv,
}


def _build(make: Callable[[], Predicate], path: str) -> Predicate:
    try:
        return make()
    except InvalidValueError as exc:
        sub = exc.field
        # Leaf errors name their own field ("values[1]", "window"); put it under the path.
        where = path if not sub or sub in ("window", "age", "birthday", "p_alive", "clv") else (
            f"{path}{sub[len('values'):]}" if sub.startswith("values") else f"{path}.{sub}"
        )
        raise _fail(where, exc.rule, exc.value) from exc
    except InvalidTypeError as exc:
        raise _fail(path, f"has a value of the wrong type ({exc})", None) from exc


def _read(node: Any, path: str) -> Predicate:
    if not isinstance(node, Mapping):
        raise _fail(path, "must be an object with 'op' or 'field'", node)
    if "op" in node and "field" in node:
        raise _fail(path, "must have 'op' or 'field', not both", dict(node))
    if "op" in node:
        op = node["op"]
        if op in ("and", "or"):
            _keys(node, path, {"op", "args"})
            args = _list(node, "args", path)
            parts = tuple(_read(a, f"{path}.args[{i}]") for i, a in enumerate(args))
            return And(parts) if op == "and" else Or(parts)
        if op == "not":
            _keys(node, path, {"op", "arg"})
            if "arg" not in node:
                raise _fail(f"{path}.arg", "is required", None)
            return Not(_read(node["arg"], f"{path}.arg"))
        raise _fail(f"{path}.op", "must be one of and, or, not", op)
    if "field" in node:
        field = node["field"]
        reader = _READERS.get(field) if isinstance(field, str) else None
        if reader is None:
            raise _fail(f"{path}.field", f"must be one of {', '.join(sorted(_READERS))}", field)
        return reader(node, path)
    raise _fail(path, "must have an 'op' or a 'field' key", dict(node))


def predicate_from_json(document: Any) -> Predicate:
    """The predicate of a JSON document written by :func:`predicate_to_json`.

    Public as :meth:`Predicate.from_dict` (this name is deprecated in :mod:`ecrm.segments`).

    >>> predicate_from_json({"version": 1, "predicate":
    ...     {"op": "or", "args": [{"field": "occupation", "in": ["医生"]},
    ...                           {"field": "carted", "last_days": 30}]}})
    Or(args=(OccupationIn(values=('医生',)), Carted(window=None, last_days=30)))

    Raises:
        PredicateFormatError: the document breaks the schema; ``field`` is the path
            (``predicate.args[0].in[1]``) and the message says which rule.
    """
    if not isinstance(document, Mapping):
        raise _fail("", "document must be an object with version and predicate", document)
    _keys(document, "", {"version", "predicate"})
    version = document.get("version")
    if version != SCHEMA_VERSION:
        raise _fail("version", f"must be {SCHEMA_VERSION}", version)
    if "predicate" not in document:
        raise _fail("predicate", "is required", None)
    try:
        return _read(document["predicate"], "predicate")
    except RecursionError:  # nesting past Python's stack: refuse it, do not crash
        raise _fail("predicate", "nests too deeply", None) from None


def predicate_from_str(text: str) -> Predicate:
    """:func:`predicate_from_json` of JSON text.

    Raises:
        PredicateFormatError: not JSON, or a document that breaks the schema.
    """
    if not isinstance(text, str):
        raise InvalidTypeError(f"text must be a str, got {type(text).__name__}")
    try:
        document = json.loads(text)
    except RecursionError:  # "[" * 100_000: refuse it, do not crash
        raise _fail("text", "must be JSON text that does not nest too deeply", text) from None
    except json.JSONDecodeError as exc:
        raise _fail("", f"must be JSON text ({exc.msg} at line {exc.lineno} column "
                    f"{exc.colno})", None, ) from exc
    return predicate_from_json(document)


# Predicate.to_dict / from_dict (and the JSON text helpers on top) use this schema.
register_codec(predicate_to_json, predicate_from_json)
