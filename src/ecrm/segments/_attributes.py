"""Attribute leaves: one column of the customer table (gender, age, birthday, occupation,
province, tags, the block list).

Each class registers its kind (the JSON ``field``), evaluates itself over the table
(``_mask``), writes and reads its JSON node and says itself in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Self

import attrs
import numpy as np

from ecrm._gender import Gender, parse_gender
from ecrm.analytics._province import normalize_province, normalize_provinces
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.segments._context import BoolArray, Cache, _Shop
from ecrm.segments._predicates import Predicate
from ecrm.segments._schema import build, check_keys, fail, opt_int, required, required_list, shown

__all__ = [
    "AgeBetween",
    "BirthdayBetween",
    "Blocked",
    "GenderIn",
    "HasTags",
    "OccupationIn",
    "ProvinceIn",
]


def texts(field: str, values: Any) -> tuple[str, ...]:
    """Non-empty strings, stripped, first-seen order without repeats (one string is one)."""
    if isinstance(values, str):
        values = [values]
    try:
        items = list(values)
    except TypeError:
        raise InvalidTypeError(
            f"{field} must be a collection of strings, got {type(values).__name__}"
        ) from None
    for i, v in enumerate(items):
        if not isinstance(v, str) or not v.strip():
            raise InvalidValueError(f"{field}[{i}]", "must be a non-empty string", v)
    if not items:
        raise InvalidValueError(field, "must name at least one value", [])
    return tuple(dict.fromkeys(v.strip() for v in items))


def _value_texts(values: Any) -> tuple[str, ...]:
    return texts("values", values)


def _tag_texts(values: Any) -> tuple[str, ...]:
    return texts("tags", values)


def set_text(values: tuple[str, ...]) -> str:
    """``{a, b}``: a set of values in a description."""
    return "{" + ", ".join(values) + "}"


def read_in(cls: type[Predicate], node: Mapping[str, Any], path: str) -> Any:
    """``cls(values)`` of a node ``{"field": ..., "in": [values]}``."""
    check_keys(node, path, {"field", "in"})
    values = required_list(node, "in", path)
    return build(lambda: cls(values), f"{path}.in")  # type: ignore[call-arg]


def _genders(values: Any) -> tuple[Gender, ...]:
    if isinstance(values, str | Gender):
        values = [values]
    if not hasattr(values, "__iter__"):
        raise InvalidTypeError(
            f"values must be a collection of genders, got {type(values).__name__} {shown(values)}"
        )
    out: list[Gender] = []
    for i, v in enumerate(values):
        if v is None:
            raise InvalidValueError(f"values[{i}]", "must name a gender", v)
        out.append(parse_gender(v, f"values[{i}]"))
    if not out:
        raise InvalidValueError("values", "must name at least one gender", [])
    return tuple(dict.fromkeys(out))


@attrs.frozen
class GenderIn(Predicate, kind="gender"):
    """The customer's gender is one of ``values`` (``"female"``, ``"男"``, :class:`Gender`)."""

    values: tuple[Gender, ...] = attrs.field(converter=_genders)

    def describe(self) -> str:
        return f"gender in {set_text(tuple(g.value for g in self.values))}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return np.isin(shop.customers.gender_codes, [g.code for g in self.values])

    def _fields(self) -> dict[str, Any]:
        return {"in": [g.value for g in self.values]}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return read_in(cls, node, path)  # type: ignore[no-any-return]


def _opt_age(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"age bound must be an int, got {type(value).__name__} {shown(value)}")
    if not 0 <= value <= 150:
        raise InvalidValueError("age", "bounds must be 0..150", value)
    return value


@attrs.frozen
class AgeBetween(Predicate, kind="age"):
    """Whole years of age on the ``as_of`` day (store zone) in ``[min_age, max_age]``.

    Either bound may be ``None`` (open). Customers whose birth year is unknown (or after
    ``as_of``) never match.
    """

    min_age: int | None = attrs.field(default=None, converter=_opt_age)
    max_age: int | None = attrs.field(default=None, converter=_opt_age)

    def __attrs_post_init__(self) -> None:
        if self.min_age is None and self.max_age is None:
            raise InvalidValueError("age", "needs min_age or max_age", None, show_value=False)
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise InvalidValueError(
                "age", "min_age must not exceed max_age", (self.min_age, self.max_age)
            )

    def describe(self) -> str:
        lo = "" if self.min_age is None else f"{self.min_age} <= "
        hi = "" if self.max_age is None else f" <= {self.max_age}"
        return f"{lo}age{hi}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        ages = shop.customers.ages_on(shop.as_of.astimezone(shop.tz).date())
        hit = ages >= (0 if self.min_age is None else self.min_age)
        if self.max_age is not None:
            hit &= ages <= self.max_age
        out: BoolArray = hit & (ages >= 0)
        return out

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min_age is not None:
            out["min"] = self.min_age
        if self.max_age is not None:
            out["max"] = self.max_age
        return out

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"field", "min", "max"})
        lo, hi = opt_int(node, "min", path), opt_int(node, "max", path)
        return build(lambda: cls(lo, hi), path, whole=("age",))


_MONTH_DAY_RE: Final = re.compile(r"(\d{2})-(\d{2})")
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"month-day must be a 'MM-DD' string, got {shown(value)}")
    m = _MONTH_DAY_RE.fullmatch(value)
    if m is None or not 1 <= int(m.group(1)) <= 12:
        raise InvalidValueError("birthday", "bounds must be 'MM-DD'", value)
    if not 1 <= int(m.group(2)) <= _DAYS_IN_MONTH[int(m.group(1)) - 1]:
        raise InvalidValueError("birthday", "bounds must be a real month and day", value)
    return value


@attrs.frozen
class BirthdayBetween(Predicate, kind="birthday"):
    """The birthday's month and day lies in ``[start, end]`` (both ``"MM-DD"``, inclusive).

    When ``start`` is after ``end`` the window wraps the year end (``"12-20"`` to
    ``"01-10"``). The year is ignored; a Feb 29 birthday falls inside a window when
    ``02-29`` does (so ``"02-01"``–``"02-28"`` leaves it out). Unknown birthdays never match.
    """

    start: str = attrs.field(converter=_month_day)
    end: str = attrs.field(converter=_month_day)

    def describe(self) -> str:
        return f"birthday between {self.start} and {self.end}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        c = shop.customers
        key = c.birth_months.astype(np.int64) * 100 + c.birth_days
        lo = int(self.start[:2]) * 100 + int(self.start[3:])
        hi = int(self.end[:2]) * 100 + int(self.end[3:])
        inside = (key >= lo) & (key <= hi) if lo <= hi else (key >= lo) | (key <= hi)
        out: BoolArray = inside & (c.birth_months > 0)
        return out

    def _fields(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"field", "from", "to"})
        start, end = required(node, "from", path), required(node, "to", path)
        return build(lambda: cls(start, end), path, whole=("birthday",))


@attrs.frozen
class OccupationIn(Predicate, kind="occupation"):
    """The customer's occupation is one of ``values`` (exact text, e.g. ``医生``, ``教师``)."""

    values: tuple[str, ...] = attrs.field(converter=_value_texts)

    def describe(self) -> str:
        return f"occupation in {set_text(self.values)}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return np.isin(shop.customers.occupations, list(self.values))

    def _fields(self) -> dict[str, Any]:
        return {"in": list(self.values)}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return read_in(cls, node, path)  # type: ignore[no-any-return]


def _provinces(values: Any) -> tuple[str, ...]:
    names = _value_texts(values)
    out = []
    for i, v in enumerate(names):
        name = normalize_province(v)
        if name is None:
            raise InvalidValueError(f"values[{i}]", "must name a province", v)
        out.append(name)
    return tuple(dict.fromkeys(out))


@attrs.frozen
class ProvinceIn(Predicate, kind="province"):
    """The customer's profile province is one of ``values``.

    Values and the profile column are both normalised (``浙江``, ``Zhejiang``, ``33`` →
    ``浙江省``, see :func:`ecrm.analytics.normalize_province`); the predicate stores full names.
    """

    values: tuple[str, ...] = attrs.field(converter=_provinces)

    def describe(self) -> str:
        return f"province in {set_text(self.values)}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        if "provinces" not in cache:
            cache["provinces"] = normalize_provinces(shop.customers.provinces)
        return np.isin(cache["provinces"], list(self.values))

    def _fields(self) -> dict[str, Any]:
        return {"in": list(self.values)}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return read_in(cls, node, path)  # type: ignore[no-any-return]


@attrs.frozen
class HasTags(Predicate, kind="tags"):
    """The customer carries any (or, with ``require_all``, every) tag of ``tags``."""

    tags: tuple[str, ...] = attrs.field(converter=_tag_texts)
    require_all: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def describe(self) -> str:
        return f"has {'all' if self.require_all else 'any'} of tags {set_text(self.tags)}"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        masks = [shop.customers.has_tag(t) for t in self.tags]
        reduce = np.logical_and.reduce if self.require_all else np.logical_or.reduce
        out: BoolArray = reduce(masks)
        return out

    def _fields(self) -> dict[str, Any]:
        return {"all" if self.require_all else "any": list(self.tags)}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"field", "any", "all"})
        if ("any" in node) == ("all" in node):
            raise fail(path, "needs exactly one of the keys any / all", dict(node))
        key = "all" if "all" in node else "any"
        values = required_list(node, key, path)
        return build(lambda: cls(values, require_all=key == "all"), f"{path}.{key}")


@attrs.frozen
class Blocked(Predicate, kind="blocked"):
    """The customer is on the shop's block list (恶意客户)."""

    def describe(self) -> str:
        return "blocked"

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return shop.customers.blocked.copy()
