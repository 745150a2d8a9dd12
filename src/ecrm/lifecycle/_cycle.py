"""Repurchase cycles (回购周期) of a whole store and the 5221 bands."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, moments, nullable
from ecrm._serial import JsonForm, reading
from ecrm._time import as_zone, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
from ecrm.lifecycle._kernels import (
    NONE_DAYS,
    as_of_for,
    km_quantiles,
    observed_quantiles,
    store_events,
)

__all__ = [
    "CYCLE_SCHEMA_VERSION",
    "Bands",
    "Method",
    "RepurchaseCycle",
    "SameDay",
    "repurchase_cycle",
]

Method = Literal["observed", "kaplan-meier"]
SameDay = Literal["merge", "count"]
METHODS: Final = ("observed", "kaplan-meier")
SAME_DAY: Final = ("merge", "count")
#: Version of the JSON snapshot written by :meth:`RepurchaseCycle.to_json`.
CYCLE_SCHEMA_VERSION: Final = 1
_KIND: Final = "ecrm.RepurchaseCycle"


def _non_negative(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{attribute.name} must be an int of days, got {_short_repr(value)}")
    if value < 0:
        raise InvalidValueError(attribute.name, "must be >= 0 days", value)


@attrs.frozen
class Bands:
    """The 5221 boundaries in whole days: P50 <= P70 <= P90.

    Days since the last purchase day ``d`` fall in a band: ``d <= P50`` active,
    ``P50 < d <= P70`` silent, ``P70 < d <= P90`` sleeping, ``d > P90`` churned.
    """

    p50_days: int = attrs.field(validator=_non_negative)
    p70_days: int = attrs.field(validator=_non_negative)
    p90_days: int = attrs.field(validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if not self.p50_days <= self.p70_days <= self.p90_days:
            raise InvalidValueError(
                "bands",
                "must satisfy p50_days <= p70_days <= p90_days",
                (self.p50_days, self.p70_days, self.p90_days),
            )

    @classmethod
    def of(cls, value: Bands | RepurchaseCycle | tuple[int, int, int]) -> Bands:
        """Bands from a ``Bands``, a cycle with boundaries, or a (p50, p70, p90) tuple."""
        if isinstance(value, Bands):
            return value
        if isinstance(value, RepurchaseCycle):
            return value.bands
        if isinstance(value, tuple) and len(value) == 3:
            return cls(*value)
        raise InvalidTypeError(
            "cycle must be a RepurchaseCycle, Bands or a (p50, p70, p90) tuple of days, "
            f"got {type(value).__name__} {_short_repr(value)}"
        )

    def band(self, days_since_last: int) -> str:
        """The band name ("active", "silent", "sleeping", "churned") of ``days_since_last``."""
        if days_since_last <= self.p50_days:
            return "active"
        if days_since_last <= self.p70_days:
            return "silent"
        if days_since_last <= self.p90_days:
            return "sleeping"
        return "churned"

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.p50_days, self.p70_days, self.p90_days)


def _curve_days(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(_number(v, "curve_days", int) for v in value)


def _curve_share(value: Iterable[float]) -> tuple[float, ...]:
    return tuple(_number(v, "curve_share", float) for v in value)


def _number(value: object, field: str, kind: type[int] | type[float]) -> Any:
    """``kind(value)`` for a real number; an ecrm error for NaN, text or other types."""
    if isinstance(value, str | bytes) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(
            f"{field} must hold numbers, got {type(value).__name__} {_short_repr(value)}")
    if not math.isfinite(value):
        raise InvalidValueError(field, "must hold finite numbers", value)
    return kind(float(value)) if kind is float else int(value)  # type: ignore[call-overload]


@attrs.frozen
class RepurchaseCycle(ResultFrame, JsonForm):
    """A store's (or a group's) repurchase cycle: the 5221 boundaries and how they were found.

    Attributes:
        p50_days, p70_days, p90_days: whole days, or ``None`` when nobody repurchased and no
            fallback was given.
        n_first_time_buyers: customers with at least one purchase day before ``as_of``.
        n_repurchasers: those of them with a second purchase before ``as_of``.
        repurchase_rate: ``n_repurchasers / n_first_time_buyers`` (0.0 without buyers).
        curve_days: the days at which the cumulative curve steps (sorted, distinct).
        curve_share: at each of ``curve_days``, the share of (eventual) repurchasers who had
            repurchased by then: observed — of the repurchasers; Kaplan–Meier —
            ``F(t) / F(t_max)``. Ends at 1.0; empty when there is no repurchaser or for the
            per-group cycles of a :class:`CycleTable`.
        method: "observed" or "kaplan-meier".
        same_day: "merge" (a day counts once) or "count" (each order is a purchase).
        scope: what answered: "store", "category:<name>", "sku:<name>", "default", or the
            scope of a fallback cycle.
        min_repurchasers: the sample size under which a fallback answers.
        estimate: the scope's own boundaries when it had any repurchaser (also when a
            fallback answered), else ``None``.
        as_of: the aware datetime the cycle was estimated at.

    .. versionchanged:: 0.1.0
       ``to_json`` writes compact JSON in the dict's key order, as every ecrm type does
       (``to_dict`` / ``from_dict``, JSON on top); ``from_json`` reads both forms.
    """

    _json_field: ClassVar[str] = "snapshot"

    p50_days: int | None
    p70_days: int | None
    p90_days: int | None
    n_first_time_buyers: int
    n_repurchasers: int
    repurchase_rate: float
    curve_days: tuple[int, ...] = attrs.field(converter=_curve_days)
    curve_share: tuple[float, ...] = attrs.field(converter=_curve_share)
    method: str
    same_day: str
    scope: str
    min_repurchasers: int
    estimate: Bands | None
    as_of: dt.datetime

    @property
    def has_bands(self) -> bool:
        """Whether the cycle has boundaries (someone repurchased, or a fallback answered)."""
        return self.p50_days is not None

    @property
    def bands(self) -> Bands:
        """The 5221 boundaries.

        Raises:
            InvalidValueError: the cycle has no boundaries (no repurchaser, no fallback).
        """
        if self.p50_days is None or self.p70_days is None or self.p90_days is None:
            raise InvalidValueError(
                "cycle",
                f"has no 5221 boundaries: no customer repurchased in scope {self.scope!r} "
                "and no fallback was given",
                None,
                show_value=False,
            )
        return Bands(self.p50_days, self.p70_days, self.p90_days)

    @property
    def curve(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """``(days, share)`` arrays of the cumulative repurchase curve."""
        return (
            np.asarray(self.curve_days, dtype=np.int64),
            np.asarray(self.curve_share, dtype=np.float64),
        )

    def _columns(self) -> dict[str, Any]:
        """One row: ``scope, method, same_day, p50_days, p70_days, p90_days,
        n_first_time_buyers, n_repurchasers, repurchase_rate, as_of`` (the curve stays in
        :attr:`curve`; :meth:`to_dict` is the full snapshot)."""
        return {
            "scope": [self.scope],
            "method": [self.method],
            "same_day": [self.same_day],
            "p50_days": nullable([self.p50_days]),
            "p70_days": nullable([self.p70_days]),
            "p90_days": nullable([self.p90_days]),
            "n_first_time_buyers": [self.n_first_time_buyers],
            "n_repurchasers": [self.n_repurchasers],
            "repurchase_rate": [float(self.repurchase_rate)],
            "as_of": moments([self.as_of]),
        }

    # -- snapshot -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ``kind`` and ``schema_version`` fields."""
        return {
            "kind": _KIND,
            "schema_version": CYCLE_SCHEMA_VERSION,
            "p50_days": self.p50_days,
            "p70_days": self.p70_days,
            "p90_days": self.p90_days,
            "n_first_time_buyers": self.n_first_time_buyers,
            "n_repurchasers": self.n_repurchasers,
            "repurchase_rate": self.repurchase_rate,
            "curve_days": list(self.curve_days),
            "curve_share": list(self.curve_share),
            "method": self.method,
            "same_day": self.same_day,
            "scope": self.scope,
            "min_repurchasers": self.min_repurchasers,
            "estimate": None if self.estimate is None else list(self.estimate.as_tuple()),
            "as_of": self.as_of.isoformat(),
            # An IANA zone is kept by name; other tzinfos come back as the fixed offset.
            "tz": getattr(self.as_of.tzinfo, "key", None),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepurchaseCycle:
        """Read a snapshot written by :meth:`to_dict` (:meth:`from_json` reads
        :meth:`to_json`'s text, compact JSON of the same dict).

        Raises:
            InvalidTypeError: ``data`` is not a mapping.
            InvalidValueError: wrong kind, unknown schema version, a missing field or a
                value of the wrong type.
        """
        with reading(data, "snapshot") as doc:
            if doc.get("kind") != _KIND:
                raise InvalidValueError("snapshot.kind", f"must be {_KIND!r}", doc.get("kind"))
            version = doc.get("schema_version")
            if version != CYCLE_SCHEMA_VERSION:
                raise InvalidValueError(
                    "snapshot.schema_version", f"must be {CYCLE_SCHEMA_VERSION} (this ecrm)",
                    version,
                )
            as_of = dt.datetime.fromisoformat(doc["as_of"])
            if doc.get("tz"):
                as_of = as_of.astimezone(as_zone(doc["tz"], "snapshot.tz"))
            estimate = doc["estimate"]
            return cls(
                p50_days=doc["p50_days"],
                p70_days=doc["p70_days"],
                p90_days=doc["p90_days"],
                n_first_time_buyers=doc["n_first_time_buyers"],
                n_repurchasers=doc["n_repurchasers"],
                repurchase_rate=doc["repurchase_rate"],
                curve_days=doc["curve_days"],
                curve_share=doc["curve_share"],
                method=doc["method"],
                same_day=doc["same_day"],
                scope=doc["scope"],
                min_repurchasers=doc["min_repurchasers"],
                estimate=None if estimate is None else Bands(*estimate),
                as_of=require_aware(as_of, "snapshot.as_of"),
            )


# -- validation shared by the public functions ---------------------------------------------


def check_log(orders: object) -> OrderLog:
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(
            f"orders must be an OrderLog (build one with OrderLog.from_orders / from_csv ...), "
            f"got {type(orders).__name__}"
        )
    return orders


def check_rows(owner: str, columns: dict[str, Any], *, ints: tuple[str, ...] = (),
               texts: tuple[str, ...] = ()) -> int:
    """Check the parallel row arrays of a result value built field by field (``attrs.evolve``,
    ``st.builds``): one-dimensional, equally long, and ``ints`` of an integer dtype, ``texts``
    of a str dtype. Returns the common length.

    Raises:
        InvalidValueError: naming ``owner.field``, the rule and the shape, length or dtype.
    """
    n = _v.check_same_length(owner, columns)
    for name in ints:
        if columns[name].dtype.kind not in "iu":
            raise InvalidValueError(f"{owner}.{name}", "must be an array of integers",
                                    f"dtype {columns[name].dtype}")
    for name in texts:
        if columns[name].dtype.kind != "U":
            raise InvalidValueError(f"{owner}.{name}", "must be an array of str",
                                    f"dtype {columns[name].dtype}")
    return n


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:  # an array: no ambiguous truth
        raise InvalidValueError(field, f"must be one of {', '.join(map(repr, choices))}", value)
    return str(value)


def check_min_repurchasers(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"min_repurchasers must be an int, got {_short_repr(value)}")
    if value < 1:
        raise InvalidValueError("min_repurchasers", "must be >= 1", value)
    return value


Fallback = Bands | RepurchaseCycle | tuple[int, int, int] | None


def check_fallback(value: object) -> tuple[Bands, str] | None:
    """Normalise ``fallback`` to (bands, scope) or ``None``."""
    if value is None:
        return None
    if isinstance(value, RepurchaseCycle):
        return value.bands, value.scope
    try:
        return Bands.of(value), "default"  # type: ignore[arg-type]
    except InvalidTypeError:
        raise InvalidTypeError(
            "fallback must be a RepurchaseCycle, Bands or a (p50, p70, p90) tuple of days, "
            f"got {type(value).__name__} {_short_repr(value)}"
        ) from None


def _bands_or_none(row: npt.NDArray[np.int64]) -> Bands | None:
    if int(row[0]) == NONE_DAYS:
        return None
    return Bands(int(row[0]), int(row[1]), int(row[2]))


def repurchase_cycle(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    method: Method = "observed",
    same_day: SameDay = "merge",
    min_repurchasers: int = 30,
    fallback: Fallback = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> RepurchaseCycle:
    """Estimate the store's repurchase cycle (P50 / P70 / P90 of the first-repurchase interval).

    Purchase days are a customer's valid orders placed before ``as_of``, by local calendar
    day. The first-repurchase interval is the number of days from the first purchase day to
    the second.

    Args:
        orders: the order log.
        as_of: aware datetime; orders at or after it are ignored.
        method: "observed" — over the customers who repurchased, P_q is the smallest whole d
            with at least q of them repurchasing within d days; "kaplan-meier" — every
            first-time buyer is a subject, non-repurchasers are censored at the days from
            their first purchase day to the ``as_of`` day, and P_q is the smallest t with
            F(t) >= q · F(t_max).
        same_day: "merge" counts a day with several orders once; "count" counts each order
            (an interval of 0 days is then possible).
        min_repurchasers: with fewer repurchasers than this, ``fallback`` answers (if given).
        fallback: the boundaries to use for a thin sample: a ``RepurchaseCycle`` (its scope
            is reported) or ``Bands`` / a (p50, p70, p90) tuple (scope "default").
        statuses: which statuses count as valid (default: paid, shipped, completed).

    Returns:
        A frozen :class:`RepurchaseCycle`. Without a fallback, a thin sample still answers
        with its own estimate (``n_repurchasers`` says how thin); with no repurchaser at all
        the boundaries are ``None``.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog, ``as_of`` not a datetime.
        InvalidValueError: naive ``as_of``, unknown ``method`` / ``same_day``,
            ``min_repurchasers < 1``, a fallback cycle without boundaries.
    """
    log = check_log(orders)
    when = as_of_for(log, as_of)
    check_choice("method", method, METHODS)
    check_choice("same_day", same_day, SAME_DAY)
    min_rep = check_min_repurchasers(min_repurchasers)
    fb = check_fallback(fallback)
    _codes, ev = store_events(log, when.us, statuses, same_day)
    return cycle_from_events(
        ev.first_day, ev.has_second, ev.interval_days, as_of=when.when, as_of_day=when.day,
        method=method, same_day=same_day, min_repurchasers=min_rep, fallback=fb,
    )


def cycle_from_events(
    first_day: npt.NDArray[np.int64],
    has_second: npt.NDArray[np.bool_],
    interval_days: npt.NDArray[np.int64],
    *,
    as_of: dt.datetime,
    as_of_day: int,
    method: str,
    same_day: str,
    min_repurchasers: int,
    fallback: tuple[Bands, str] | None,
) -> RepurchaseCycle:
    """The store's cycle from its first-time buyers: each one's first purchase day, whether
    they repurchased, and the intervals of those who did (in buyer order); the one
    estimator of every path (a log, merged summaries)."""
    min_rep, fb = min_repurchasers, fallback
    n_buyers = len(first_day)
    group = np.zeros(n_buyers, dtype=np.int64)
    if method == "observed":
        q = observed_quantiles(group, has_second, interval_days, 1)
        if len(interval_days):
            counts = np.bincount(interval_days)
            days = np.flatnonzero(counts)
            share = np.cumsum(counts[days]) / len(interval_days)
        else:
            days, share = np.zeros(0, np.int64), np.zeros(0)
    else:
        time = as_of_day - first_day
        time[has_second] = interval_days
        q, runs = km_quantiles(group, time, has_second, 1)
        days = runs.time
        share = runs.share / runs.share_max if len(days) else np.zeros(0)
    n_rep = int(q.n_events[0])
    estimate = _bands_or_none(q.p[0])
    answer, scope = estimate, "store"
    if n_rep < min_rep and fb is not None:
        answer, scope = fb
    return RepurchaseCycle(
        p50_days=None if answer is None else answer.p50_days,
        p70_days=None if answer is None else answer.p70_days,
        p90_days=None if answer is None else answer.p90_days,
        n_first_time_buyers=n_buyers,
        n_repurchasers=n_rep,
        repurchase_rate=n_rep / n_buyers if n_buyers else 0.0,
        curve_days=days.tolist(),
        curve_share=share.tolist(),
        method=method,
        same_day=same_day,
        scope=scope,
        min_repurchasers=min_rep,
        estimate=estimate,
        as_of=as_of,
    )
