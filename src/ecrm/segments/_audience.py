"""Evaluate a predicate over a whole shop: :func:`audience` → :class:`Audience`.

The universe is the customer table: every customer of ``customers`` is in or out. Orders
and events of ids that are not in the table are ignored (attribute predicates have no
profile for them); build the table from every id you want considered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._customers import CustomerTable
from ecrm._events import EventKind, EventLog
from ecrm._ids import find_id
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import datetime_to_us, day_to_date, local_day, local_days, require_aware
from ecrm.analytics._province import normalize_provinces
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.lifecycle import Bands, RepurchaseCycle, repurchase_cycle, stages
from ecrm.predict import Predictions
from ecrm.rfm import TAOBAO_PGSB, RfmScheme, score
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
)
from ecrm.tiers import TAOBAO_STORE_VIP, TierLadder

__all__ = ["Audience", "AudienceContext", "Clause", "Explanation", "audience"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
_NEG_INF = np.iinfo(np.int64).min


def _statuses(value: Any) -> frozenset[OrderStatus] | None:
    if value is None:
        return None
    return frozenset(OrderStatus(v) if not isinstance(v, OrderStatus) else v for v in value)


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
        statuses: which statuses make an order valid (default paid, shipped, completed).
        predictions: per-customer predictions (:func:`ecrm.predict.predict`) made at the
            audience's ``as_of`` day, for :class:`ProbabilityAliveBetween` and
            :class:`PredictedClvBetween`; ``None`` when no clause needs them.
    """

    ladder: TierLadder = attrs.field(
        default=TAOBAO_STORE_VIP, validator=attrs.validators.instance_of(TierLadder)
    )
    rfm_scheme: RfmScheme = attrs.field(
        default=TAOBAO_PGSB, validator=attrs.validators.instance_of(RfmScheme)
    )
    cycle: RepurchaseCycle | Bands | tuple[int, int, int] | None = None
    cycle_fallback: Bands = attrs.field(default=Bands(30, 60, 90), converter=_bands)
    statuses: frozenset[OrderStatus] | None = attrs.field(default=None, converter=_statuses)
    predictions: Predictions | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Predictions))
    )


@attrs.frozen
class Clause:
    """One node of a predicate and whether it held for one customer.

    Attributes:
        path: where the node sits (``predicate.args[1]``), as in the JSON form.
        depth: nesting depth (0 for the root).
        text: the node in words (a combination says only ``and`` / ``or`` / ``not``).
        held: whether it held.
    """

    path: str
    depth: int
    text: str
    held: bool


@attrs.frozen
class Explanation:
    """Why one customer is in or out of an audience: every clause, in tree order.

    ``str()`` prints one line per clause, ``✓`` or ``✗``, indented by depth.
    """

    customer_id: str | int
    held: bool
    clauses: tuple[Clause, ...]

    def __str__(self) -> str:
        head = f"customer {self.customer_id}: {'in' if self.held else 'not in'} the audience"
        lines = [head]
        for c in self.clauses:
            lines.append(f"{'  ' * (c.depth + 1)}{'✓' if c.held else '✗'} {c.text}")
        return "\n".join(lines)


@attrs.frozen(eq=False)
class Audience(ResultFrame):
    """The customers of a shop a predicate selects at ``as_of``.

    Attributes:
        predicate: the predicate evaluated.
        as_of: the evaluation instant (aware).
        customer_ids: the selected ids, sorted (the table's dtype), shape (count,).
        mask: bool, shape (n,): aligned with ``universe_ids`` (``customers.customer_ids``).
        universe_ids: every customer considered, shape (n,).
    """

    predicate: Predicate
    as_of: dt.datetime
    customer_ids: npt.NDArray[Any] = attrs.field(repr=False)
    mask: BoolArray = attrs.field(repr=False)
    universe_ids: npt.NDArray[Any] = attrs.field(repr=False)
    _clauses: tuple[tuple[str, int, str, BoolArray], ...] = attrs.field(
        repr=False, alias="_clauses"
    )

    def _columns(self) -> dict[str, Any]:
        """``customer_id``: the selected customers, sorted (the list to upload)."""
        return {"customer_id": self.customer_ids}

    @property
    def count(self) -> int:
        """How many customers are selected."""
        return len(self.customer_ids)

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"Audience({self.count:,} of {len(self.universe_ids):,} customers, "
            f"as_of={self.as_of.isoformat()}: {self.predicate.describe()})"
        )

    def __contains__(self, customer_id: object) -> bool:
        try:
            return bool(self.mask[self._row(customer_id)])
        except KeyError:
            return False

    def _row(self, customer_id: object) -> int:
        pos = find_id(self.universe_ids, customer_id)
        if pos is None:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in the universe")
        return pos

    def explain(self, customer_id: str | int) -> Explanation:
        """Which clauses held for one customer.

        Raises:
            UnknownCustomerError: the id is not in the customer table.
        """
        row = self._row(customer_id)
        clauses = tuple(
            Clause(path, depth, text, bool(mask[row]))
            for path, depth, text, mask in self._clauses
        )
        return Explanation(customer_id, bool(self.mask[row]), clauses)

    def table(self) -> list[dict[str, object]]:
        """Counts per clause: ``path``, ``clause`` (in words) and ``customers`` holding it."""
        return [
            {"path": path, "clause": text, "customers": int(np.count_nonzero(mask))}
            for path, _, text, mask in self._clauses
        ]


class _Shop:
    """Per-evaluation state: id mappings and caches shared by every clause."""

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
        if self._valid is None:
            statuses = None if self.ctx.statuses is None else sorted(
                self.ctx.statuses, key=lambda s: s.code
            )
            self._valid = self.orders.valid_mask(statuses) & self.before
        return self._valid

    def window(self, leaf: _Behaviour) -> tuple[int, int]:
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
        out = np.zeros(self.n, dtype=bool)
        u = row_customers[rows]
        out[u[u >= 0]] = True
        return out

    def events_of(self, kind: EventKind, leaf: _Behaviour) -> BoolArray:
        if self.events is None or self.event_cust is None:
            raise InvalidValueError(
                "events", f"are needed to evaluate '{leaf.describe()}'", None, show_value=False
            )
        lo, hi = self.window(leaf)
        at = self.events.at_us
        rows = (self.events.kind_codes == kind.code) & (at >= lo) & (at < hi)
        return self.mark(self.event_cust, rows)

    def order_rows(self, leaf: _Behaviour, valid_only: bool) -> BoolArray:
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


def _evaluate(
    p: Predicate, shop: _Shop, path: str, depth: int,
    out: list[tuple[str, int, str, BoolArray]], cache: dict[str, Any],
) -> BoolArray:
    slot = len(out)
    out.append((path, depth, "", np.zeros(0, dtype=bool)))  # placeholder keeps tree order
    if isinstance(p, And | Or):
        masks = [_evaluate(a, shop, f"{path}.args[{i}]", depth + 1, out, cache)
                 for i, a in enumerate(p.args)]
        mask = np.logical_and.reduce(masks) if isinstance(p, And) else np.logical_or.reduce(masks)
        text = "all of:" if isinstance(p, And) else "any of:"
    elif isinstance(p, Not):
        mask = ~_evaluate(p.arg, shop, f"{path}.arg", depth + 1, out, cache)
        text = "not:"
    else:
        mask = _leaf(p, shop, cache)
        text = p.describe()
    out[slot] = (path, depth, text, mask)
    return np.asarray(mask, dtype=bool)


def _leaf(p: Predicate, shop: _Shop, cache: dict[str, Any]) -> BoolArray:
    c = shop.customers
    if isinstance(p, GenderIn):
        return np.isin(c.gender_codes, [g.code for g in p.values])
    if isinstance(p, AgeBetween):
        ages = c.ages_on(shop.as_of.astimezone(shop.tz).date())
        hit = ages >= (0 if p.min_age is None else p.min_age)
        if p.max_age is not None:
            hit &= ages <= p.max_age
        return hit & (ages >= 0)
    if isinstance(p, BirthdayBetween):
        key = c.birth_months.astype(np.int64) * 100 + c.birth_days
        lo = int(p.start[:2]) * 100 + int(p.start[3:])
        hi = int(p.end[:2]) * 100 + int(p.end[3:])
        inside = (key >= lo) & (key <= hi) if lo <= hi else (key >= lo) | (key <= hi)
        return inside & (c.birth_months > 0)
    if isinstance(p, OccupationIn):
        return np.isin(c.occupations, list(p.values))
    if isinstance(p, ProvinceIn):
        if "provinces" not in cache:
            cache["provinces"] = normalize_provinces(c.provinces)
        return np.isin(cache["provinces"], list(p.values))
    if isinstance(p, HasTags):
        masks = [c.has_tag(t) for t in p.tags]
        any_all: BoolArray = (
            np.logical_and.reduce(masks) if p.require_all else np.logical_or.reduce(masks)
        )
        return any_all
    if isinstance(p, Blocked):
        return c.blocked.copy()
    if isinstance(p, MemberLevelIn):
        return np.isin(_levels(shop, cache), list(p.values))
    if isinstance(p, RfmGradeIn):
        return np.isin(_grade_codes(shop, cache, shop.at(p.as_of)), [g.code for g in p.values])
    if isinstance(p, StageIn):
        return np.isin(_stage_codes(shop, cache, shop.at(p.as_of)), [s.code for s in p.values])
    if isinstance(p, ProbabilityAliveBetween):
        return _between(_predicted(shop, cache, "p_alive"), p.min_value, p.max_value)
    if isinstance(p, PredictedClvBetween):
        return _between(_predicted(shop, cache, "clv_fen"), p.min_fen, p.max_fen)
    if isinstance(p, Visited):
        return shop.events_of(EventKind.BROWSE, p)
    if isinstance(p, Carted):
        return shop.events_of(EventKind.CART, p)
    if isinstance(p, Favorited):
        return shop.events_of(EventKind.FAVORITE, p)
    if isinstance(p, Ordered):
        return shop.mark(shop.order_cust, shop.order_rows(p, p.valid_only))
    if isinstance(p, Repurchased):
        return _repurchased(p, shop, cache)
    if isinstance(p, FavoritedNotBought):
        return _favorited_not_bought(p, shop)
    raise InvalidTypeError(f"cannot evaluate {type(p).__name__}: not an ecrm predicate")


def _days(shop: _Shop, cache: dict[str, Any]) -> IntArray:
    if "days" not in cache:
        cache["days"] = local_days(shop.orders.placed_at_us, shop.tz)
    return cache["days"]  # type: ignore[no-any-return]


def _repurchased(p: Repurchased, shop: _Shop, cache: dict[str, Any]) -> BoolArray:
    rows = np.flatnonzero(shop.order_rows(p, True))
    u = shop.order_cust[rows]
    d = _days(shop, cache)[rows]
    # Rows are sorted by customer then time, so a new purchase day starts wherever the
    # customer or the local day changes.
    new_day = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        new_day[1:] = (u[1:] != u[:-1]) | (d[1:] != d[:-1])
    keep = new_day & (u >= 0)
    counts = np.bincount(u[keep], minlength=shop.n)
    enough: BoolArray = counts >= p.min_days
    return enough


def _favorited_not_bought(p: FavoritedNotBought, shop: _Shop) -> BoolArray:
    items = shop.orders.items
    if items is not None and items.order_rows is not None:
        line_rows = np.asarray(items.order_rows, dtype=np.int64)
        line_skus = np.asarray(items.skus)
    elif len(shop.orders) == 0:  # nothing was bought, so no lines are needed to tell
        line_rows, line_skus = np.zeros(0, dtype=np.int64), np.zeros(0, dtype="<U1")
    else:
        raise InvalidValueError(
            "orders.items", "are needed to tell which favourited items were bought", None,
            show_value=False,
        )
    if shop.events is None or shop.event_cust is None:
        raise InvalidValueError(
            "events", f"are needed to evaluate '{p.describe()}'", None, show_value=False
        )
    lo, hi = shop.window(p)
    ev = shop.events
    rows = (ev.kind_codes == EventKind.FAVORITE.code) & (ev.at_us >= lo) & (ev.at_us < hi)
    fav_u = shop.event_cust[rows]
    fav_sku = ev.skus[rows]
    keep = fav_u >= 0
    fav_u, fav_sku = fav_u[keep], fav_sku[keep]
    # Only the lines of customers who favourited something can matter: select them with
    # integer indexing first, so the string work is on a small subset.
    faved = np.zeros(shop.n, dtype=bool)
    faved[fav_u] = True
    line_u_all = shop.order_cust[line_rows]
    line_ok = shop.valid[line_rows] & (line_u_all >= 0)
    line_ok[line_ok] = faved[line_u_all[line_ok]]
    line_u = line_u_all[line_ok]
    line_sku = line_skus[line_ok]
    all_skus = np.concatenate([fav_sku.astype(str), line_sku.astype(str)])
    _, codes = np.unique(all_skus, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    k = int(codes.max()) + 1 if len(codes) else 1
    fav_key = fav_u * k + codes[: len(fav_u)]
    line_key = line_u * k + codes[len(fav_u):]
    bought_item = np.isin(fav_key, line_key)
    has_valid = shop.mark(shop.order_cust, shop.valid)
    shop_level = fav_sku == ""
    hit_rows = np.where(shop_level, ~has_valid[fav_u], ~bought_item)
    out = np.zeros(shop.n, dtype=bool)
    out[fav_u[hit_rows]] = True
    return out


def _to_universe(shop: _Shop, ids: npt.NDArray[Any], values: npt.NDArray[Any],
                 fill: int) -> IntArray:
    out = np.full(shop.n, fill, dtype=np.int64)
    if len(ids) == 0:
        return out
    rows = shop.customers.index_of(ids)
    ok = rows >= 0
    out[rows[ok]] = values[ok]
    return out


def _between(values: npt.NDArray[np.float64], lo: float | None, hi: float | None) -> BoolArray:
    """``lo <= values <= hi`` (open where a bound is None); NaN never holds."""
    hit = ~np.isnan(values)
    if lo is not None:
        hit &= values >= lo
    if hi is not None:
        hit &= values <= hi
    return hit


def _predicted(shop: _Shop, cache: dict[str, Any], column: str) -> npt.NDArray[np.float64]:
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


def _levels(shop: _Shop, cache: dict[str, Any]) -> IntArray:
    if "levels" not in cache:
        result = shop.ctx.ladder.evaluate_log(
            shop.orders, as_of=shop.as_of, opted_in=shop.customers,
            statuses=shop.ctx.statuses,
        )
        cache["levels"] = _to_universe(shop, result.customer_ids, result.level, 0)
    return cache["levels"]  # type: ignore[no-any-return]


def _grade_codes(shop: _Shop, cache: dict[str, Any], at: dt.datetime) -> IntArray:
    key = f"grades@{datetime_to_us(at)}"  # one scoring per instant, shared by clauses
    if key not in cache:
        result = score(shop.orders, as_of=at, scheme=shop.ctx.rfm_scheme,
                       statuses=shop.ctx.statuses, warn_undersized=False)
        cache[key] = _to_universe(shop, result.customer_ids, result.grade, -1)
    return cache[key]  # type: ignore[no-any-return]


def _stage_codes(shop: _Shop, cache: dict[str, Any], at: dt.datetime) -> IntArray:
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


def audience(
    predicate: Predicate,
    *,
    customers: CustomerTable,
    orders: OrderLog,
    events: EventLog | None = None,
    as_of: dt.datetime,
    context: AudienceContext | None = None,
) -> Audience:
    """The customers of ``customers`` for whom ``predicate`` holds at ``as_of``.

    Every clause is a vectorised pass over the table, the order log or the event log; the
    RFM scores, tier levels, lifecycle stages and normalised provinces are computed at most
    once per call, however many clauses use them. Behaviour at or after ``as_of`` is
    ignored (windows are cut there).

    Args:
        predicate: the predicate.
        customers: the universe: every customer is in or out.
        orders: the shop's orders (ids of the table's kind; other ids are ignored).
        events: browse / cart / favourite events; needed only by behaviour clauses on them.
        as_of: aware evaluation instant.
        context: ladder, RFM scheme, cycle and valid statuses (defaults: the Taobao ones).

    Returns:
        An :class:`Audience`.

    Raises:
        InvalidTypeError: a wrong type of argument.
        InvalidValueError: naive ``as_of``; ids of another kind than the table's; a clause
            that needs ``events`` (or the log's order lines) without them.
    """
    if not isinstance(predicate, Predicate):
        raise InvalidTypeError(
            f"predicate must be a Predicate, got {type(predicate).__name__} {predicate!r}"
        )
    if not isinstance(customers, CustomerTable):
        raise InvalidTypeError(f"customers must be a CustomerTable, got {type(customers).__name__}")
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if events is not None and not isinstance(events, EventLog):
        raise InvalidTypeError(f"events must be an EventLog or None, got {type(events).__name__}")
    when = require_aware(as_of, "as_of")
    ctx = AudienceContext() if context is None else context
    if not isinstance(ctx, AudienceContext):
        raise InvalidTypeError(f"context must be an AudienceContext, got {type(ctx).__name__}")
    shop = _Shop(customers, orders, events, when, ctx)
    clauses: list[tuple[str, int, str, BoolArray]] = []
    mask = _evaluate(predicate, shop, "predicate", 0, clauses, {})
    for _, _, _, m in clauses:
        m.flags.writeable = False
    mask = mask.copy()
    mask.flags.writeable = False
    ids = customers.customer_ids[mask]
    return Audience(predicate, when, ids, mask, customers.customer_ids, tuple(clauses))
