"""What a predicate is evaluated against: the shop's settings and one evaluation's state.

:class:`AudienceContext` is the public settings value (ladder, RFM scheme, cycle, valid
statuses, predictions). ``_Shop`` is the state of one :func:`ecrm.segments.audience` call —
the customer table, the logs, ``as_of``, id mappings — with the helpers a predicate's
``_mask`` uses; the computations several clauses share (tier levels, RFM grades, stages,
predictions, local days) live here too, each done at most once per call through the
call's ``cache``. This module sits below every predicate module: it imports none of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._customers import CustomerTable
from ecrm._events import EventKind, EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, day_to_date, local_day, local_days
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import Bands, RepurchaseCycle, repurchase_cycle, stages
from ecrm.predict import Predictions
from ecrm.rfm import TAOBAO_PGSB, RfmScheme, score
from ecrm.segments._schema import shown
from ecrm.tiers import TAOBAO_STORE_VIP, TierLadder

__all__ = ["AudienceContext"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: What a predicate's ``_mask`` may store between clauses of one evaluation.
Cache = dict[str, Any]
_NEG_INF = np.iinfo(np.int64).min


def _statuses(value: Any) -> frozenset[OrderStatus] | None:
    if value is None:
        return None
    if isinstance(value, str | OrderStatus) or not hasattr(value, "__iter__"):
        raise InvalidTypeError(
            f"statuses must be a collection of OrderStatus (or None), "
            f"got {type(value).__name__} {shown(value)}"
        )
    out = []
    for i, v in enumerate(value):
        if isinstance(v, OrderStatus):
            out.append(v)
            continue
        if not isinstance(v, str):
            raise InvalidTypeError(
                f"statuses[{i}] must be an OrderStatus, got {type(v).__name__} {shown(v)}"
            )
        try:
            out.append(OrderStatus(v))
        except ValueError:
            names = ", ".join(s.value for s in OrderStatus)
            raise InvalidValueError(
                f"statuses[{i}]", f"must be an order status ({names})", v
            ) from None
    return frozenset(out)


def _cycle(value: Any) -> RepurchaseCycle | Bands | tuple[int, int, int] | None:
    if value is not None:
        Bands.of(value)  # refuses a wrong type or bad days, naming the rule
    return value  # type: ignore[no-any-return]


def _bands(value: Any) -> Bands:
    return value if isinstance(value, Bands) else Bands.of(value)


@attrs.frozen
class AudienceContext:
    """The shop settings behaviour predicates are evaluated with.

    Attributes:
        ladder: the tier ladder for :class:`MemberLevelIn` (opt-in from the customer table).
        rfm_scheme: the scheme for :class:`RfmGradeIn`.
        cycle: the 5221 boundaries for :class:`StageIn`: a ``RepurchaseCycle``, ``Bands`` or
            (p50, p70, p90) days; ``None`` estimates the shop's own cycle at ``as_of``
            (observed method) with ``cycle_fallback`` when fewer than 30 customers repurchased.
        cycle_fallback: the bands used for a thin sample (default 30 / 60 / 90 days).
        statuses: which statuses make an order valid (default paid, shipped, completed):
            :class:`ecrm.OrderStatus` members or their values (``"paid"``).
        predictions: per-customer predictions (:func:`ecrm.predict.predict`) made at the
            audience's ``as_of`` day, for :class:`ProbabilityAliveBetween` and
            :class:`PredictedClvBetween`; ``None`` when no clause needs them.

    Raises:
        InvalidTypeError: a setting of the wrong type (``statuses[1]`` names the item).
        InvalidValueError: a status that is not an order status, or bad cycle days.
    """

    ladder: TierLadder = attrs.field(
        default=TAOBAO_STORE_VIP, validator=attrs.validators.instance_of(TierLadder)
    )
    rfm_scheme: RfmScheme = attrs.field(
        default=TAOBAO_PGSB, validator=attrs.validators.instance_of(RfmScheme)
    )
    cycle: RepurchaseCycle | Bands | tuple[int, int, int] | None = attrs.field(
        default=None, converter=_cycle
    )
    cycle_fallback: Bands = attrs.field(default=Bands(30, 60, 90), converter=_bands)
    statuses: frozenset[OrderStatus] | None = attrs.field(default=None, converter=_statuses)
    predictions: Predictions | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Predictions))
    )


class Ranged(Protocol):
    """A behaviour leaf as ``_Shop`` reads it: its range and its words."""

    @property
    def window(self) -> Window | None: ...

    @property
    def last_days(self) -> int | None: ...

    @property
    def legacy_bounds(self) -> tuple[dt.date | None, dt.date | None] | None: ...

    def describe(self) -> str: ...


class _Shop:
    """One evaluation: the shop's data at ``as_of`` and the helpers predicates use.

    Attributes:
        customers: the universe (:class:`ecrm.CustomerTable`); a mask has one entry per row.
        orders: the order log; ``order_cust`` maps each order row to its customer's row
            in ``customers`` (-1: not in the table).
        events: the event log or None; ``event_cust`` as ``order_cust``.
        as_of: the aware evaluation instant; ``as_of_us`` in microseconds (UTC).
        tz: the store's zone (``orders.tz``).
        ctx: the :class:`AudienceContext`.
        n: how many customers (the length of every mask).
        before: bool per order row, placed before ``as_of``.
    """

    def __init__(
        self,
        customers: CustomerTable,
        orders: OrderLog,
        events: EventLog | None,
        as_of: dt.datetime,
        context: AudienceContext,
    ) -> None:
        self.customers = customers
        self.orders = orders
        self.events = events
        self.as_of = as_of
        self.ctx = context
        self.tz = orders.tz
        self.n = len(customers)
        self.as_of_us = datetime_to_us(as_of)
        self.order_cust = _row_customers(customers, orders.customer_ids, orders.customer_codes,
                                         "orders")
        self.before = orders.placed_at_us < self.as_of_us
        self.event_cust = (
            None if events is None else
            _row_customers(customers, events.customer_ids, events.customer_codes, "events")
        )
        self._valid: BoolArray | None = None

    @property
    def valid(self) -> BoolArray:
        """bool per order row: a valid order (the context's statuses) placed before as_of."""
        if self._valid is None:
            statuses = None if self.ctx.statuses is None else sorted(
                self.ctx.statuses, key=lambda s: s.code
            )
            self._valid = self.orders.valid_mask(statuses) & self.before
        return self._valid

    def window(self, leaf: Ranged) -> tuple[int, int]:
        """The ``[lo, hi)`` microseconds of a behaviour leaf's range, cut at as_of."""
        if leaf.last_days is not None:
            local = self.as_of.astimezone(self.tz)
            # Calendar days: step the wall clock, then re-resolve the offset (DST zones).
            wall = local.replace(tzinfo=None) - dt.timedelta(days=leaf.last_days)
            lo = datetime_to_us(wall.replace(tzinfo=self.tz))
            return lo, self.as_of_us
        if leaf.window is not None:
            lo, hi = leaf.window.bounds_us
            return lo, min(hi, self.as_of_us)
        if leaf.legacy_bounds is None:
            return _NEG_INF, self.as_of_us
        start, end = leaf.legacy_bounds  # deprecated start=/end=: dates are local midnights
        lo = _NEG_INF if start is None else self._us(start)
        hi = self.as_of_us if end is None else min(self._us(end), self.as_of_us)
        return lo, hi

    def at(self, value: dt.date | dt.datetime | None) -> dt.datetime:
        """The instant a grade or stage is evaluated at: ``value`` cut to ``as_of``."""
        if value is None:
            return self.as_of
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day, tzinfo=self.tz)
        return min(value, self.as_of, key=datetime_to_us)

    def _us(self, value: dt.date | dt.datetime) -> int:
        if isinstance(value, dt.datetime):
            return datetime_to_us(value)
        return datetime_to_us(dt.datetime(value.year, value.month, value.day, tzinfo=self.tz))

    def mark(self, row_customers: IntArray, rows: BoolArray) -> BoolArray:
        """bool per customer: has at least one of ``rows`` (a mask over log rows)."""
        out = np.zeros(self.n, dtype=bool)
        u = row_customers[rows]
        out[u[u >= 0]] = True
        return out

    def need_events(self, leaf: Ranged) -> tuple[EventLog, IntArray]:
        """The event log and its customer rows, or an error naming the clause."""
        if self.events is None or self.event_cust is None:
            raise InvalidValueError(
                "events", f"are needed to evaluate '{leaf.describe()}'", None, show_value=False
            )
        return self.events, self.event_cust

    def events_of(self, kind: EventKind, leaf: Ranged) -> BoolArray:
        """bool per customer: an event of ``kind`` in the leaf's range."""
        events, event_cust = self.need_events(leaf)
        lo, hi = self.window(leaf)
        at = events.at_us
        rows = (events.kind_codes == kind.code) & (at >= lo) & (at < hi)
        return self.mark(event_cust, rows)

    def order_rows(self, leaf: Ranged, valid_only: bool) -> BoolArray:
        """bool per order row: placed in the leaf's range (and valid, with ``valid_only``)."""
        lo, hi = self.window(leaf)
        at = self.orders.placed_at_us
        base = self.valid if valid_only else self.before
        return base & (at >= lo) & (at < hi)


def _row_customers(
    customers: CustomerTable, ids: npt.NDArray[Any], codes: npt.NDArray[Any], what: str
) -> IntArray:
    if len(ids) and len(customers) and (ids.dtype.kind == "U") != (
        customers.customer_ids.dtype.kind == "U"
    ):
        raise InvalidValueError(
            f"{what}.customer_ids",
            "must be of the customer table's id kind (both str or both int)",
            f"{ids.dtype} vs {customers.customer_ids.dtype}",
        )
    rows: IntArray = customers.index_of(ids)[codes]
    return rows


# -- computations shared by clauses (at most once per evaluation) ---------------------------
def order_days(shop: _Shop, cache: Cache) -> IntArray:
    """The local calendar day of every order row (days since the epoch, store zone)."""
    if "days" not in cache:
        cache["days"] = local_days(shop.orders.placed_at_us, shop.tz)
    return cache["days"]  # type: ignore[no-any-return]


def _to_universe(shop: _Shop, ids: npt.NDArray[Any], values: npt.NDArray[Any],
                 fill: int) -> IntArray:
    out = np.full(shop.n, fill, dtype=np.int64)
    if len(ids) == 0:
        return out
    rows = shop.customers.index_of(ids)
    ok = rows >= 0
    out[rows[ok]] = values[ok]
    return out


def between(values: FloatArray, lo: float | None, hi: float | None) -> BoolArray:
    """``lo <= values <= hi`` (open where a bound is None); NaN never holds."""
    hit = ~np.isnan(values)
    if lo is not None:
        hit &= values >= lo
    if hi is not None:
        hit &= values <= hi
    return hit


def predicted(shop: _Shop, cache: Cache, column: str) -> FloatArray:
    """A column of the context's predictions on the universe (NaN: no prediction)."""
    key = f"predicted:{column}"
    if key in cache:
        return cache[key]  # type: ignore[no-any-return]
    p = shop.ctx.predictions
    clause = "p_alive" if column == "p_alive" else "clv"
    if p is None:
        raise InvalidValueError(
            "context.predictions", f"is needed by a {clause} clause: pass "
            "AudienceContext(predictions=ecrm.predict.predict(...)) made at the audience's as_of", None,
            show_value=False)
    day = local_day(shop.as_of, p.summary.tz)
    if p.summary.as_of_day != day:
        raise InvalidValueError(
            "context.predictions", f"must be made at the audience's as_of day {day_to_date(day)}",
            str(day_to_date(p.summary.as_of_day)))
    if column == "clv_fen" and p.spend is None:
        raise InvalidValueError(
            "context.predictions", "have no CLV for a clv clause: predict with spend=fit_gammagamma(...)",
            None, show_value=False)
    values = np.asarray(getattr(p, column), dtype=np.float64)
    out = np.full(shop.n, np.nan)
    if len(p.customer_ids):
        rows = shop.customers.index_of(p.customer_ids)
        ok = rows >= 0
        out[rows[ok]] = values[ok]
    cache[key] = out
    return out


def member_levels(shop: _Shop, cache: Cache) -> IntArray:
    """Each customer's member level at as_of by the context's ladder (0: not a member)."""
    if "levels" not in cache:
        result = shop.ctx.ladder.evaluate_log(
            shop.orders, as_of=shop.as_of, opted_in=shop.customers,
            statuses=shop.ctx.statuses,
        )
        cache["levels"] = _to_universe(shop, result.customer_ids, result.level, 0)
    return cache["levels"]  # type: ignore[no-any-return]


def grade_codes(shop: _Shop, cache: Cache, at: dt.datetime) -> IntArray:
    """Each customer's RFM grade code at ``at`` by the context's scheme (-1: no grade)."""
    key = f"grades@{datetime_to_us(at)}"  # one scoring per instant, shared by clauses
    if key not in cache:
        result = score(shop.orders, as_of=at, scheme=shop.ctx.rfm_scheme,
                       statuses=shop.ctx.statuses, warn_undersized=False)
        cache[key] = _to_universe(shop, result.customer_ids, result.grade, -1)
    return cache[key]  # type: ignore[no-any-return]


def stage_codes(shop: _Shop, cache: Cache, at: dt.datetime) -> IntArray:
    """Each customer's lifecycle stage code at ``at`` (the context's cycle, or the shop's)."""
    key = f"stages@{datetime_to_us(at)}"
    if key not in cache:
        cycle = shop.ctx.cycle
        if cycle is None:
            cycle = repurchase_cycle(shop.orders, as_of=at,
                                     fallback=shop.ctx.cycle_fallback,
                                     statuses=shop.ctx.statuses)
        ids = shop.customers.customer_ids
        result = stages(shop.orders, as_of=at, cycle=cycle,
                        customers=ids if len(ids) else None, statuses=shop.ctx.statuses)
        cache[key] = _to_universe(shop, result.customer_ids, result.stage_codes, 0)
    return cache[key]  # type: ignore[no-any-return]
