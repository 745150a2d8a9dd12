"""Derived leaves: values ecrm computes from the orders at evaluation time — the member
level (tier ladder), the RFM grade, the lifecycle stage — or that the context carries
(predicted probability alive and CLV).

Each class registers its kind (the JSON ``field``), evaluates itself through the shared,
once-per-call computations of :mod:`ecrm.segments._context`, writes and reads its JSON node
and says itself in words.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import warnings
from collections.abc import Mapping
from typing import Any, Self, TypeVar

import attrs
import numpy as np

from ecrm._deprecate import RENAMED_IN, renamed_kwarg
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import Stage
from ecrm.rfm import Grade
from ecrm.segments._attributes import read_in, set_text
from ecrm.segments._context import (
    BoolArray,
    Cache,
    _Shop,
    between,
    grade_codes,
    member_levels,
    predicted,
    stage_codes,
)
from ecrm.segments._predicates import Predicate
from ecrm.segments._schema import (
    build,
    check_keys,
    fail,
    opt_int,
    opt_number,
    parse_bound,
    required_list,
    shown,
)

__all__ = [
    "MemberLevelIn",
    "PredictedClvBetween",
    "ProbabilityAliveBetween",
    "RfmGradeIn",
    "StageIn",
]

E = TypeVar("E", bound=enum.Enum)


def _levels(values: Any) -> tuple[int, ...]:
    if isinstance(values, int):
        values = [values]
    if not hasattr(values, "__iter__") or isinstance(values, str | bytes):
        raise InvalidTypeError(
            f"values must be a collection of levels, got {type(values).__name__} {shown(values)}"
        )
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InvalidValueError(f"values[{i}]", "must be a level >= 0", v)
        out.append(v)
    if not out:
        raise InvalidValueError("values", "must name at least one level", [])
    return tuple(sorted(set(out)))


@attrs.frozen
class MemberLevelIn(Predicate, kind="member_level"):
    """The customer's member level at ``as_of`` is one of ``values``.

    Levels come from the context's ladder (default ``TAOBAO_STORE_VIP``) with opt-in from
    the customer table (``member_since``); level 0 is a non-member (store customer,
    potential member or someone who never ordered).
    """

    values: tuple[int, ...] = attrs.field(converter=_levels)

    def describe(self) -> str:
        return f"member level in {set_text(tuple(str(v) for v in self.values))}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return np.isin(member_levels(shop, cache), list(self.values))

    def _fields(self) -> dict[str, Any]:
        return {"in": list(self.values)}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return read_in(cls, node, path)  # type: ignore[no-any-return]


def _members(enum_type: type[E], values: Any, rule: str) -> list[E]:
    """Members of ``enum_type`` from members or their values; ``values[i]`` names a bad one."""
    if isinstance(values, str | enum_type):
        values = [values]
    if not hasattr(values, "__iter__") or isinstance(values, bytes):
        raise InvalidTypeError(
            f"values must be a collection of {enum_type.__name__} or their names, "
            f"got {type(values).__name__} {shown(values)}"
        )
    out: list[E] = []
    for i, v in enumerate(values):
        member: E | None = v if isinstance(v, enum_type) else None
        if member is None and isinstance(v, str):  # Enum's own message would repr any value
            with contextlib.suppress(ValueError):
                member = enum_type(v)
        if member is None:
            raise InvalidValueError(f"values[{i}]", rule, v)
        out.append(member)
    return out


def _grades(values: Any) -> tuple[Grade, ...]:
    out = _members(Grade, values, "must be a grade P, G, S or B")
    if not out:
        raise InvalidValueError("values", "must name at least one grade", [])
    return tuple(sorted(set(out), key=lambda g: -g.code))


def _at(value: object) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidValueError("as_of", "must be a date or an aware datetime", value)
    if value is None or isinstance(value, dt.date):
        return value
    raise InvalidTypeError(
        f"as_of must be a date or an aware datetime, got {type(value).__name__} {shown(value)}"
    )


def _at_alias(self: RfmGradeIn | StageIn) -> dt.date | dt.datetime | None:
    """Deprecated alias of ``as_of`` (renamed in 0.1.0)."""
    warnings.warn(
        f"{type(self).__name__}.at is deprecated since {RENAMED_IN} and will be removed in the "
        "next release; use .as_of instead", DeprecationWarning, stacklevel=2,
    )
    return self.as_of


def _at_text(at: dt.date | dt.datetime | None) -> str:
    return "" if at is None else f" at {at.isoformat()}"


def _at_fields(values: list[str], as_of: dt.date | dt.datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {"in": values}
    if as_of is not None:
        out["as_of"] = as_of.isoformat()
    return out


def _read_at(cls: type[RfmGradeIn | StageIn], node: Mapping[str, Any], path: str) -> Any:
    check_keys(node, path, {"field", "in", "as_of", "at"})
    values = required_list(node, "in", path)
    key = "as_of"
    if "at" in node:
        if "as_of" in node:
            raise fail(f"{path}.at", "must not be given with its new name as_of", node["at"])
        warnings.warn(
            f'{path}: the key "at" is deprecated since {RENAMED_IN} and will be removed '
            'in the next release; use "as_of"', DeprecationWarning, stacklevel=2)
        key = "at"
    as_of = parse_bound(node, key, path)
    return build(lambda: cls(values, as_of=as_of), f"{path}.in")


@attrs.frozen
class RfmGradeIn(Predicate, kind="rfm_grade"):
    """The customer's RFM grade (context's scheme) is one of ``values``.

    The grade is scored over the scheme's window (default the year) ending at ``as_of``:
    a date is the local midnight starting that day in the store zone, an aware datetime an
    instant; ``None`` (default) is the audience's ``as_of``, and a later ``as_of`` is cut
    to it. ``RfmGradeIn(["P"], as_of=date(2025, 6, 1)) & RfmGradeIn(["B"])`` finds
    customers who fell from P to B. Customers without a valid order in that window have no
    grade and never match. ``at=`` (and the ``.at`` attribute) is the deprecated alias of
    ``as_of``.
    """

    values: tuple[Grade, ...] = attrs.field(converter=_grades)
    as_of: dt.date | dt.datetime | None = attrs.field(default=None, converter=_at, kw_only=True)

    at = property(_at_alias)

    def describe(self) -> str:
        values = set_text(tuple(g.value for g in self.values))
        return f"RFM grade in {values}{_at_text(self.as_of)}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        codes = grade_codes(shop, cache, shop.at(self.as_of))
        return np.isin(codes, [g.code for g in self.values])

    def _fields(self) -> dict[str, Any]:
        return _at_fields([g.value for g in self.values], self.as_of)

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return _read_at(cls, node, path)  # type: ignore[no-any-return]


def _stages(values: Any) -> tuple[Stage, ...]:
    names = ", ".join(s.value for s in Stage)
    out = _members(Stage, values, f"must be a stage ({names})")
    if not out:
        raise InvalidValueError("values", "must name at least one stage", [])
    return tuple(sorted(set(out), key=lambda s: s.code))


@attrs.frozen
class StageIn(Predicate, kind="stage"):
    """The customer's lifecycle stage (5221 bands) at ``as_of`` is one of ``values``.

    ``as_of`` is read as for :class:`RfmGradeIn` (default: the audience's ``as_of``; a
    later one is cut to it); only orders before it count, and with no cycle in the context
    the shop's own cycle is estimated at that instant. Customers in the table without a
    valid order before it are PROSPECT. ``at=`` (and ``.at``) is the deprecated alias.
    """

    values: tuple[Stage, ...] = attrs.field(converter=_stages)
    as_of: dt.date | dt.datetime | None = attrs.field(default=None, converter=_at, kw_only=True)

    at = property(_at_alias)

    def describe(self) -> str:
        values = set_text(tuple(s.value for s in self.values))
        return f"stage in {values}{_at_text(self.as_of)}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        codes = stage_codes(shop, cache, shop.at(self.as_of))
        return np.isin(codes, [s.code for s in self.values])

    def _fields(self) -> dict[str, Any]:
        return _at_fields([s.value for s in self.values], self.as_of)

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return _read_at(cls, node, path)  # type: ignore[no-any-return]


def _opt_probability(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTypeError(
            f"probability bound must be a number, got {type(value).__name__} {shown(value)}"
        )
    if not 0.0 <= value <= 1.0:
        raise InvalidValueError("p_alive", "bounds must be probabilities in [0, 1]", value)
    return float(value)


def _opt_fen(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise InvalidTypeError(f"CLV bound must be integer fen, not a float, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"CLV bound must be integer fen, got {type(value).__name__} {shown(value)}"
        )
    if value < 0:
        raise InvalidValueError("clv", "bounds must be >= 0 fen", value)
    return value


def _check_bounds(field: str, lo: float | None, hi: float | None) -> None:
    if lo is None and hi is None:
        raise InvalidValueError(field, "needs a lower or an upper bound", None, show_value=False)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValueError(field, "the lower bound must not exceed the upper", (lo, hi))


def _bounds_fields(lo: float | None, hi: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if lo is not None:
        out["min"] = lo
    if hi is not None:
        out["max"] = hi
    return out


@attrs.frozen
class ProbabilityAliveBetween(Predicate, kind="p_alive"):
    """The customer's predicted probability of being alive (still a customer, from
    :mod:`ecrm.predict`) is in ``[min_value, max_value]``; either bound may be ``None``.

    The predictions come from the audience's context (``AudienceContext(predictions=…)``);
    customers without a prediction (no valid order in its calibration window) never match.
    ``ProbabilityAliveBetween(max_value=0.3)`` is the churn-risk audience of a win-back.
    """

    min_value: float | None = attrs.field(default=None, converter=_opt_probability)
    max_value: float | None = attrs.field(default=None, converter=_opt_probability)

    def __attrs_post_init__(self) -> None:
        _check_bounds("p_alive", self.min_value, self.max_value)

    def describe(self) -> str:
        lo = "" if self.min_value is None else f"{self.min_value:g} <= "
        hi = "" if self.max_value is None else f" <= {self.max_value:g}"
        return f"{lo}P(alive){hi}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return between(predicted(shop, cache, "p_alive"), self.min_value, self.max_value)

    def _fields(self) -> dict[str, Any]:
        return _bounds_fields(self.min_value, self.max_value)

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"field", "min", "max"})
        lo, hi = opt_number(node, "min", path), opt_number(node, "max", path)
        return build(lambda: cls(lo, hi), path, whole=("p_alive",))


@attrs.frozen
class PredictedClvBetween(Predicate, kind="clv"):
    """The customer's predicted lifetime value (:mod:`ecrm.predict`, integer fen over the
    predictions' CLV horizon) is in ``[min_fen, max_fen]``; either bound may be ``None``.

    As :class:`ProbabilityAliveBetween`, from the context's predictions, which must have
    been made with a spend model (``predict(…, spend=…)``).
    """

    min_fen: int | None = attrs.field(default=None, converter=_opt_fen)
    max_fen: int | None = attrs.field(default=None, converter=_opt_fen)

    def __attrs_post_init__(self) -> None:
        _check_bounds("clv", self.min_fen, self.max_fen)

    def describe(self) -> str:
        lo = "" if self.min_fen is None else f"¥{self.min_fen / 100:,.2f} <= "
        hi = "" if self.max_fen is None else f" <= ¥{self.max_fen / 100:,.2f}"
        return f"{lo}predicted CLV{hi}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return between(predicted(shop, cache, "clv_fen"), self.min_fen, self.max_fen)

    def _fields(self) -> dict[str, Any]:
        return _bounds_fields(self.min_fen, self.max_fen)

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"field", "min", "max"})
        lo, hi = opt_int(node, "min", path), opt_int(node, "max", path)
        return build(lambda: cls(lo, hi), path, whole=("clv",))


# The attrs-made __init__ takes the old keyword for one release.
for _cls in (RfmGradeIn, StageIn):
    setattr(_cls, "__init__", renamed_kwarg("at", "as_of")(_cls.__init__))  # noqa: B010
