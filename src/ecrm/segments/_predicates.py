"""Audience predicates: typed, frozen, composable with ``&``, ``|``, ``~``, and JSON-serialisable.

A predicate is a tree. Leaves test one customer attribute (``OccupationIn``) or one kind of
behaviour inside a half-open window (``Carted(window=ecrm.Window(...))`` or
``Carted(last_days=30)``); :class:`And`,
:class:`Or` and :class:`Not` combine them. Predicates hold no data: :func:`ecrm.segments.audience`
evaluates one over a shop.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Self, TypeAlias

import attrs

from ecrm._deprecate import RENAMED_IN, renamed_kwarg
from ecrm._gender import Gender, parse_gender
from ecrm._serial import JsonForm
from ecrm._window import Window
from ecrm.analytics._province import normalize_province
from ecrm.errors import InvalidTypeError, InvalidValueError, PredicateFormatError
from ecrm.lifecycle import Stage
from ecrm.rfm import Grade

__all__ = [
    "AgeBetween",
    "And",
    "BirthdayBetween",
    "Blocked",
    "Carted",
    "Favorited",
    "FavoritedNotBought",
    "GenderIn",
    "HasTags",
    "MemberLevelIn",
    "Not",
    "OccupationIn",
    "Or",
    "Ordered",
    "Predicate",
    "PredictedClvBetween",
    "ProbabilityAliveBetween",
    "ProvinceIn",
    "Repurchased",
    "RfmGradeIn",
    "StageIn",
    "Visited",
]


class Predicate(JsonForm):
    """Base of every audience predicate; combine with ``&`` (and), ``|`` (or), ``~`` (not).

    Every predicate serialises the ecrm way: ``to_dict()`` gives the versioned document
    ``{"version": 1, "predicate": NODE}`` (docs/segments.md), ``Predicate.from_dict(doc)``
    reads it back, and ``to_json()`` / ``Predicate.from_json(text)`` do the same with JSON
    text.

    >>> from ecrm.segments import OccupationIn, Blocked
    >>> p = OccupationIn(["医生", "教师"]) & ~Blocked()
    >>> p
    And(args=(OccupationIn(values=('医生', '教师')), Not(arg=Blocked())))
    >>> print(p.describe())
    (occupation in {医生, 教师}) and (not (blocked))
    """

    __slots__ = ()

    def __and__(self, other: Predicate) -> Predicate:
        _check_operand(other, "&")
        left = self.args if isinstance(self, And) else (self,)
        right = other.args if isinstance(other, And) else (other,)
        return And(left + right)

    def __or__(self, other: Predicate) -> Predicate:
        _check_operand(other, "|")
        left = self.args if isinstance(self, Or) else (self,)
        right = other.args if isinstance(other, Or) else (other,)
        return Or(left + right)

    def __invert__(self) -> Predicate:
        return Not(self)

    def describe(self) -> str:
        """The predicate in words (one line)."""
        raise NotImplementedError

    def children(self) -> tuple[Predicate, ...]:
        """The direct sub-predicates (empty for a leaf)."""
        return ()

    # -- serialisation (the schema lives in ecrm.segments._json, which registers it) ---------
    _json_field: ClassVar[str] = "text"

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON document of this predicate (plain dicts, lists, str, int, bool).

        >>> from ecrm.segments import OccupationIn
        >>> OccupationIn(["医生", "教师"]).to_dict()
        {'version': 1, 'predicate': {'field': 'occupation', 'in': ['医生', '教师']}}

        .. versionadded:: 0.1.0
           Replaces ``predicate_to_json(p)``.
        """
        document: dict[str, Any] = _CODEC["write"](self)
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The predicate of a document written by :meth:`to_dict`.

        On a leaf class (``OccupationIn.from_dict(doc)``) the document must hold that kind.

        Raises:
            PredicateFormatError: the document breaks the schema; ``field`` is the path
                (``predicate.args[0].in[1]``) and the message says which rule.

        .. versionadded:: 0.1.0
           Replaces ``predicate_from_json(doc)``.
        """
        found = _CODEC["read"](data)
        if not isinstance(found, cls):
            raise PredicateFormatError("predicate", f"must be of kind {cls.__name__}",
                                       type(found).__name__)
        return found

    @classmethod
    def _json_error(cls, exc: InvalidValueError) -> InvalidValueError:
        return PredicateFormatError(exc.field, exc.rule, exc.value)


#: The document writer and reader, registered by ecrm.segments._json (which imports this
#: module, so it cannot be imported from here).
_CODEC: Final[dict[str, Callable[[Any], Any]]] = {}


def register_codec(write: Callable[[Predicate], dict[str, Any]],
                   read: Callable[[Any], Predicate]) -> None:
    """Install the document writer and reader behind :meth:`Predicate.to_dict` / ``from_dict``."""
    _CODEC["write"] = write
    _CODEC["read"] = read


def _check_operand(other: object, op: str) -> None:
    if not isinstance(other, Predicate):
        raise InvalidTypeError(
            f"both sides of {op} must be predicates, got {type(other).__name__} {other!r}"
        )


def _predicates(values: Iterable[Predicate]) -> tuple[Predicate, ...]:
    items = tuple(values)
    for i, item in enumerate(items):
        if not isinstance(item, Predicate):
            raise InvalidTypeError(
                f"args[{i}] must be a Predicate, got {type(item).__name__} {item!r}"
            )
    if not items:
        raise InvalidValueError("args", "must hold at least one predicate", [])
    return items


@attrs.frozen
class And(Predicate):
    """All of ``args`` hold."""

    args: tuple[Predicate, ...] = attrs.field(converter=_predicates)

    def describe(self) -> str:
        return " and ".join(f"({a.describe()})" for a in self.args)

    def children(self) -> tuple[Predicate, ...]:
        return self.args


@attrs.frozen
class Or(Predicate):
    """At least one of ``args`` holds."""

    args: tuple[Predicate, ...] = attrs.field(converter=_predicates)

    def describe(self) -> str:
        return " or ".join(f"({a.describe()})" for a in self.args)

    def children(self) -> tuple[Predicate, ...]:
        return self.args


def _predicate(value: object) -> Predicate:
    if not isinstance(value, Predicate):
        raise InvalidTypeError(f"arg must be a Predicate, got {type(value).__name__} {value!r}")
    return value


@attrs.frozen
class Not(Predicate):
    """``arg`` does not hold."""

    arg: Predicate = attrs.field(converter=_predicate)

    def describe(self) -> str:
        return f"not ({self.arg.describe()})"

    def children(self) -> tuple[Predicate, ...]:
        return (self.arg,)


# -- attribute leaves -----------------------------------------------------------------------
def _texts(field: str, values: Any) -> tuple[str, ...]:
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
    return tuple(dict.fromkeys(v.strip() for v in items))  # first-seen order, no repeats


def _value_texts(values: Any) -> tuple[str, ...]:
    return _texts("values", values)


def _tag_texts(values: Any) -> tuple[str, ...]:
    return _texts("tags", values)


def _set_text(values: tuple[str, ...]) -> str:
    return "{" + ", ".join(values) + "}"


def _genders(values: Any) -> tuple[Gender, ...]:
    if isinstance(values, str | Gender):
        values = [values]
    out: list[Gender] = []
    for i, v in enumerate(values):
        if v is None:
            raise InvalidValueError(f"values[{i}]", "must name a gender", v)
        out.append(parse_gender(v, f"values[{i}]"))
    if not out:
        raise InvalidValueError("values", "must name at least one gender", [])
    return tuple(dict.fromkeys(out))


@attrs.frozen
class GenderIn(Predicate):
    """The customer's gender is one of ``values`` (``"female"``, ``"男"``, :class:`Gender`)."""

    field: ClassVar[str] = "gender"
    values: tuple[Gender, ...] = attrs.field(converter=_genders)

    def describe(self) -> str:
        return f"gender in {_set_text(tuple(g.value for g in self.values))}"


def _opt_age(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"age bound must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value <= 150:
        raise InvalidValueError("age", "bounds must be 0..150", value)
    return value


@attrs.frozen
class AgeBetween(Predicate):
    """Whole years of age on the ``as_of`` day (store zone) in ``[min_age, max_age]``.

    Either bound may be ``None`` (open). Customers whose birth year is unknown (or after
    ``as_of``) never match.
    """

    field: ClassVar[str] = "age"
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


_MONTH_DAY_RE: Final = re.compile(r"(\d{2})-(\d{2})")
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"month-day must be a 'MM-DD' string, got {value!r}")
    m = _MONTH_DAY_RE.fullmatch(value)
    if m is None or not 1 <= int(m.group(1)) <= 12:
        raise InvalidValueError("birthday", "bounds must be 'MM-DD'", value)
    if not 1 <= int(m.group(2)) <= _DAYS_IN_MONTH[int(m.group(1)) - 1]:
        raise InvalidValueError("birthday", "bounds must be a real month and day", value)
    return value


@attrs.frozen
class BirthdayBetween(Predicate):
    """The birthday's month and day lies in ``[start, end]`` (both ``"MM-DD"``, inclusive).

    When ``start`` is after ``end`` the window wraps the year end (``"12-20"`` to
    ``"01-10"``). The year is ignored; a Feb 29 birthday falls inside a window when
    ``02-29`` does (so ``"02-01"``–``"02-28"`` leaves it out). Unknown birthdays never match.
    """

    field: ClassVar[str] = "birthday"
    start: str = attrs.field(converter=_month_day)
    end: str = attrs.field(converter=_month_day)

    def describe(self) -> str:
        return f"birthday between {self.start} and {self.end}"


@attrs.frozen
class OccupationIn(Predicate):
    """The customer's occupation is one of ``values`` (exact text, e.g. ``医生``, ``教师``)."""

    field: ClassVar[str] = "occupation"
    values: tuple[str, ...] = attrs.field(converter=_value_texts)

    def describe(self) -> str:
        return f"occupation in {_set_text(self.values)}"


def _provinces(values: Any) -> tuple[str, ...]:
    texts = _value_texts(values)
    out = []
    for i, v in enumerate(texts):
        name = normalize_province(v)
        if name is None:
            raise InvalidValueError(f"values[{i}]", "must name a province", v)
        out.append(name)
    return tuple(dict.fromkeys(out))


@attrs.frozen
class ProvinceIn(Predicate):
    """The customer's profile province is one of ``values``.

    Values and the profile column are both normalised (``浙江``, ``Zhejiang``, ``33`` →
    ``浙江省``, see :func:`ecrm.analytics.normalize_province`); the predicate stores full names.
    """

    field: ClassVar[str] = "province"
    values: tuple[str, ...] = attrs.field(converter=_provinces)

    def describe(self) -> str:
        return f"province in {_set_text(self.values)}"


def _levels(values: Any) -> tuple[int, ...]:
    if isinstance(values, int):
        values = [values]
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InvalidValueError(f"values[{i}]", "must be a level >= 0", v)
        out.append(v)
    if not out:
        raise InvalidValueError("values", "must name at least one level", [])
    return tuple(sorted(set(out)))


@attrs.frozen
class MemberLevelIn(Predicate):
    """The customer's member level at ``as_of`` is one of ``values``.

    Levels come from the context's ladder (default ``TAOBAO_STORE_VIP``) with opt-in from
    the customer table (``member_since``); level 0 is a non-member (store customer,
    potential member or someone who never ordered).
    """

    field: ClassVar[str] = "member_level"
    values: tuple[int, ...] = attrs.field(converter=_levels)

    def describe(self) -> str:
        return f"member level in {_set_text(tuple(str(v) for v in self.values))}"


@attrs.frozen
class HasTags(Predicate):
    """The customer carries any (or, with ``require_all``, every) tag of ``tags``."""

    field: ClassVar[str] = "tags"
    tags: tuple[str, ...] = attrs.field(converter=_tag_texts)
    require_all: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def describe(self) -> str:
        return f"has {'all' if self.require_all else 'any'} of tags {_set_text(self.tags)}"


@attrs.frozen
class Blocked(Predicate):
    """The customer is on the shop's block list (恶意客户)."""

    field: ClassVar[str] = "blocked"

    def describe(self) -> str:
        return "blocked"


# -- behaviour leaves -----------------------------------------------------------------------
#: A deprecated ``start=``/``end=`` bound: a date (the local midnight in the audience's
#: zone), an aware datetime, or ``None`` (open).
Bound: TypeAlias = dt.date | dt.datetime | None


def _bound(value: object) -> Bound:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValueError("window", "bounds must be dates or aware datetimes", value)
        return value
    if isinstance(value, dt.date):
        return value
    raise InvalidTypeError(
        f"window bound must be a date or an aware datetime, got {type(value).__name__} {value!r}"
    )


def _window(value: Window | None) -> Window | None:
    if value is None or isinstance(value, Window):
        return value
    raise InvalidTypeError(f"window must be an ecrm.Window, got {type(value).__name__} {value!r}")


def _last_days(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValueError("last_days", "must be an int >= 1", value)
    return value


def _check_legacy(start: Bound, end: Bound) -> None:
    if start is not None and end is not None and type(start) is type(end) and not start < end:
        raise InvalidValueError("window", "start must be before end", (str(start), str(end)))


@attrs.frozen
class _Behaviour(Predicate):
    """A behaviour inside a half-open range of instants, always cut at ``as_of``.

    Give ``window`` (an :class:`ecrm.Window` ``[start, end)`` of instants; for local
    calendar days build it with ``Window.of_dates(first_day, end_day, tz)``, which states
    the zone) or ``last_days`` (as_of plus a duration: ``[as_of − N days, as_of)`` in
    calendar days on the audience's local clock). With neither the range is all history
    before ``as_of``. ``start=``/``end=`` are deprecated: two aware datetimes become a
    window; dates (local midnights in the audience's zone) or an open bound are kept as
    given for this release.
    """

    window: Window | None = attrs.field(default=None, converter=_window, kw_only=True)
    last_days: int | None = attrs.field(default=None, converter=_last_days, kw_only=True)
    _legacy: tuple[Bound, Bound] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.last_days is not None and self.window is not None:
            raise InvalidValueError(
                "window", "takes either last_days or a window, not both", None,
                show_value=False,
            )

    @property
    def legacy_bounds(self) -> tuple[Bound, Bound] | None:
        """The deprecated ``start``/``end`` bounds this leaf was built with, if any."""
        return self._legacy

    def _window_text(self) -> str:
        if self.last_days is not None:
            return f" in the last {self.last_days} days"
        if self.window is not None:
            return f" in [{self.window.start.isoformat()}, {self.window.end.isoformat()})"
        if self._legacy is None:
            return " ever"
        start, end = self._legacy
        lo = "-∞" if start is None else start.isoformat()
        hi = "as_of" if end is None else end.isoformat()
        return f" in [{lo}, {hi})"


def _legacy_init(cls: type[_Behaviour]) -> None:
    """Let ``cls(start=..., end=...)`` work for one release, with a DeprecationWarning."""
    init = cls.__init__

    @functools.wraps(init)
    def init_with_bounds(self: _Behaviour, *args: Any, **kwargs: Any) -> None:
        if "start" not in kwargs and "end" not in kwargs:
            init(self, *args, **kwargs)
            return
        start, end = _bound(kwargs.pop("start", None)), _bound(kwargs.pop("end", None))
        if kwargs.get("window") is not None:
            raise TypeError(f"{cls.__name__}() got window= and its deprecated start=/end=; "
                            "pass only window=")
        if kwargs.get("last_days") is not None and (start is not None or end is not None):
            raise InvalidValueError(
                "window", "takes either last_days or start/end, not both", None,
                show_value=False,
            )
        _check_legacy(start, end)
        both = isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        window = Window(start, end) if both else None  # type: ignore[arg-type]
        warnings.warn(
            f"{cls.__name__}(): the keywords start=/end= are deprecated since {RENAMED_IN} "
            "and will be removed in the next release; use window=ecrm.Window(start, end) or "
            "window=ecrm.Window.of_dates(first_day, end_day, tz) for local days",
            DeprecationWarning, stacklevel=2,
        )
        if window is not None:
            init(self, *args, window=window, **kwargs)
            return
        init(self, *args, **kwargs)
        if start is not None or end is not None:
            object.__setattr__(self, "_legacy", (start, end))

    setattr(cls, "__init__", init_with_bounds)  # noqa: B010


@attrs.frozen
class Visited(_Behaviour):
    """At least one BROWSE event (浏览) in the window."""

    field: ClassVar[str] = "visited"

    def describe(self) -> str:
        return "visited" + self._window_text()


@attrs.frozen
class Carted(_Behaviour):
    """At least one CART event (加购) in the window."""

    field: ClassVar[str] = "carted"

    def describe(self) -> str:
        return "carted" + self._window_text()


@attrs.frozen
class Favorited(_Behaviour):
    """At least one FAVORITE event (收藏) in the window."""

    field: ClassVar[str] = "favorited"

    def describe(self) -> str:
        return "favorited" + self._window_text()


@attrs.frozen
class FavoritedNotBought(_Behaviour):
    """Favourited something in the window that they never bought before ``as_of``.

    An item favourite (non-empty SKU) counts when the customer has no valid order line of
    that SKU before ``as_of``; a shop favourite (empty SKU) counts when the customer has
    no valid order at all. Needs the log's order lines (``OrderLog.items``).
    """

    field: ClassVar[str] = "favorited_not_bought"

    def describe(self) -> str:
        return "favorited an item never bought" + self._window_text()


@attrs.frozen
class Ordered(_Behaviour):
    """Placed at least one order in the window: a valid one (default) or any status."""

    field: ClassVar[str] = "ordered"
    valid_only: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool), kw_only=True
    )

    def describe(self) -> str:
        kind = "a valid order" if self.valid_only else "an order (any status)"
        return f"placed {kind}" + self._window_text()


def _min_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise InvalidValueError("min_days", "must be an int >= 2", value)
    return value


@attrs.frozen
class Repurchased(_Behaviour):
    """At least ``min_days`` (default 2) distinct purchase days (valid orders) in the window."""

    field: ClassVar[str] = "repurchased"
    min_days: int = attrs.field(default=2, converter=_min_days, kw_only=True)

    def describe(self) -> str:
        return f">= {self.min_days} purchase days" + self._window_text()


def _grades(values: Any) -> tuple[Grade, ...]:
    if isinstance(values, str | Grade):
        values = [values]
    out = []
    for i, v in enumerate(values):
        try:
            out.append(v if isinstance(v, Grade) else Grade(v))
        except ValueError:
            raise InvalidValueError(f"values[{i}]", "must be a grade P, G, S or B", v) from None
    if not out:
        raise InvalidValueError("values", "must name at least one grade", [])
    return tuple(sorted(set(out), key=lambda g: -g.code))


def _at(value: object) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidValueError("as_of", "must be a date or an aware datetime", value)
    if value is None or isinstance(value, dt.date):
        return value
    raise InvalidTypeError(
        f"as_of must be a date or an aware datetime, got {type(value).__name__} {value!r}"
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


@attrs.frozen
class RfmGradeIn(Predicate):
    """The customer's RFM grade (context's scheme) is one of ``values``.

    The grade is scored over the scheme's window (default the year) ending at ``as_of``:
    a date is the local midnight starting that day in the store zone, an aware datetime an
    instant; ``None`` (default) is the audience's ``as_of``, and a later ``as_of`` is cut
    to it. ``RfmGradeIn(["P"], as_of=date(2025, 6, 1)) & RfmGradeIn(["B"])`` finds
    customers who fell from P to B. Customers without a valid order in that window have no
    grade and never match. ``at=`` (and the ``.at`` attribute) is the deprecated alias of
    ``as_of``.
    """

    field: ClassVar[str] = "rfm_grade"
    values: tuple[Grade, ...] = attrs.field(converter=_grades)
    as_of: dt.date | dt.datetime | None = attrs.field(default=None, converter=_at, kw_only=True)

    at = property(_at_alias)

    def describe(self) -> str:
        values = _set_text(tuple(g.value for g in self.values))
        return f"RFM grade in {values}{_at_text(self.as_of)}"


def _stages(values: Any) -> tuple[Stage, ...]:
    if isinstance(values, str | Stage):
        values = [values]
    out = []
    for i, v in enumerate(values):
        try:
            out.append(v if isinstance(v, Stage) else Stage(v))
        except ValueError:
            names = ", ".join(s.value for s in Stage)
            raise InvalidValueError(f"values[{i}]", f"must be a stage ({names})", v) from None
    if not out:
        raise InvalidValueError("values", "must name at least one stage", [])
    return tuple(sorted(set(out), key=lambda s: s.code))


@attrs.frozen
class StageIn(Predicate):
    """The customer's lifecycle stage (5221 bands) at ``as_of`` is one of ``values``.

    ``as_of`` is read as for :class:`RfmGradeIn` (default: the audience's ``as_of``; a
    later one is cut to it); only orders before it count, and with no cycle in the context
    the shop's own cycle is estimated at that instant. Customers in the table without a
    valid order before it are PROSPECT. ``at=`` (and ``.at``) is the deprecated alias.
    """

    field: ClassVar[str] = "stage"
    values: tuple[Stage, ...] = attrs.field(converter=_stages)
    as_of: dt.date | dt.datetime | None = attrs.field(default=None, converter=_at, kw_only=True)

    at = property(_at_alias)

    def describe(self) -> str:
        values = _set_text(tuple(s.value for s in self.values))
        return f"stage in {values}{_at_text(self.as_of)}"


def _opt_probability(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTypeError(f"probability bound must be a number, got {type(value).__name__} {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidValueError("p_alive", "bounds must be probabilities in [0, 1]", value)
    return float(value)


def _opt_fen(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise InvalidTypeError(f"CLV bound must be integer fen, not a float, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"CLV bound must be integer fen, got {type(value).__name__} {value!r}")
    if value < 0:
        raise InvalidValueError("clv", "bounds must be >= 0 fen", value)
    return value


def _check_bounds(field: str, lo: float | None, hi: float | None) -> None:
    if lo is None and hi is None:
        raise InvalidValueError(field, "needs a lower or an upper bound", None, show_value=False)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValueError(field, "the lower bound must not exceed the upper", (lo, hi))


@attrs.frozen
class ProbabilityAliveBetween(Predicate):
    """The customer's predicted probability of being alive (still a customer, from
    :mod:`ecrm.predict`) is in ``[min_value, max_value]``; either bound may be ``None``.

    The predictions come from the audience's context (``AudienceContext(predictions=…)``);
    customers without a prediction (no valid order in its calibration window) never match.
    ``ProbabilityAliveBetween(max_value=0.3)`` is the churn-risk audience of a win-back.
    """

    field: ClassVar[str] = "p_alive"
    min_value: float | None = attrs.field(default=None, converter=_opt_probability)
    max_value: float | None = attrs.field(default=None, converter=_opt_probability)

    def __attrs_post_init__(self) -> None:
        _check_bounds("p_alive", self.min_value, self.max_value)

    def describe(self) -> str:
        lo = "" if self.min_value is None else f"{self.min_value:g} <= "
        hi = "" if self.max_value is None else f" <= {self.max_value:g}"
        return f"{lo}P(alive){hi}"


@attrs.frozen
class PredictedClvBetween(Predicate):
    """The customer's predicted lifetime value (:mod:`ecrm.predict`, integer fen over the
    predictions' CLV horizon) is in ``[min_fen, max_fen]``; either bound may be ``None``.

    As :class:`ProbabilityAliveBetween`, from the context's predictions, which must have
    been made with a spend model (``predict(…, spend=…)``).
    """

    field: ClassVar[str] = "clv"
    min_fen: int | None = attrs.field(default=None, converter=_opt_fen)
    max_fen: int | None = attrs.field(default=None, converter=_opt_fen)

    def __attrs_post_init__(self) -> None:
        _check_bounds("clv", self.min_fen, self.max_fen)

    def describe(self) -> str:
        lo = "" if self.min_fen is None else f"¥{self.min_fen / 100:,.2f} <= "
        hi = "" if self.max_fen is None else f" <= ¥{self.max_fen / 100:,.2f}"
        return f"{lo}predicted CLV{hi}"


# The attrs-made __init__ takes the old keyword for one release.
for _cls in (RfmGradeIn, StageIn):
    setattr(_cls, "__init__", renamed_kwarg("at", "as_of")(_cls.__init__))  # noqa: B010
for _leaf in (Visited, Carted, Favorited, FavoritedNotBought, Ordered, Repurchased):
    _legacy_init(_leaf)


LEAF_TYPES: Final[tuple[type[Predicate], ...]] = (
    GenderIn,
    AgeBetween,
    BirthdayBetween,
    OccupationIn,
    ProvinceIn,
    MemberLevelIn,
    HasTags,
    Blocked,
    Visited,
    Carted,
    Favorited,
    FavoritedNotBought,
    Ordered,
    Repurchased,
    RfmGradeIn,
    StageIn,
    ProbabilityAliveBetween,
    PredictedClvBetween,
)
