"""Store metrics per period from summaries that merge exactly.

:func:`ecrm.analytics.store_metrics` groups the valid orders by (customer, period) over a
run of consecutive periods and needs, per group, its sales, orders, whether it spans two
purchase days and the instant of the customer's previous valid order; and per customer the
first valid instant ever. Each is a min, max or sum, so a :class:`PeriodSummary` of any
slice of the orders merges exactly: the "first-ever" facts that a month's orders cannot
know alone come out of the merge itself (the earliest group, the last order before the
run), with no second pass over the orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import InvalidTypeError
from ecrm._columns import read_only
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import zone_name
from ecrm.analytics import NewCustomerDefinition, Period, RepurchaseBase, StoreMetrics
from ecrm.analytics._periods import check_periods
from ecrm.analytics._store import (
    check_store_options,
    metrics_from_groups,
    period_run,
    run_bounds,
    store_metrics_result,
)
from ecrm.scale._summary import NO_INSTANT_US, _statuses, check_mergeable, sorted_union

__all__ = ["PeriodSummary", "merge_periods", "store_metrics_from_summary", "summarize_periods"]

IntArray = npt.NDArray[np.int64]
_NO_FIRST = np.iinfo(np.int64).max
_GROUP_FIELDS = ("g_sales_fen", "g_orders", "g_first_us", "g_last_us", "g_first_day",
                 "g_last_day")



@attrs.frozen(eq=False, repr=False)
class PeriodSummary:
    """Valid orders per (customer, period) over the run of periods store metrics need.

    Attributes:
        periods: the requested periods; run: the consecutive periods around them (each
            one's previous and year-ago period, and one more before).
        customer_ids: sorted, every customer with a valid order (any time).
        first_us: int64, each customer's first valid instant. Merge: min.
        before_us: int64, each one's last valid instant before the run
            (``NO_INSTANT_US`` if none). Merge: max.
        group_ids, group_periods: shape (k,), the (customer, run index) groups with a
            valid order, sorted by customer then period.
        g_sales_fen, g_orders: int64 net fen and valid orders of the group. Merge: sum.
        g_first_us, g_last_us: int64 first and last instant. Merge: min, max.
        g_first_day, g_last_day: int64 first and last local day (two purchase days when
            they differ). Merge: min, max.
        statuses, tz, currency: must agree to merge.
    """

    periods: tuple[Period, ...]
    run: tuple[Period, ...]
    customer_ids: npt.NDArray[Any]
    first_us: IntArray
    before_us: IntArray
    group_ids: npt.NDArray[Any]
    group_periods: IntArray
    g_sales_fen: IntArray
    g_orders: IntArray
    g_first_us: IntArray
    g_last_us: IntArray
    g_first_day: IntArray
    g_last_day: IntArray
    statuses: frozenset[OrderStatus]
    tz: Any
    currency: str

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (f"PeriodSummary({len(self):,} customers, {len(self.group_ids):,} customer "
                f"periods, {self.run[0]}..{self.run[-1]}, tz={zone_name(self.tz)})")


def _reduce(starts: npt.NDArray[np.intp], values: dict[str, IntArray]) -> dict[str, IntArray]:
    """Sum / min / max of each group field over runs beginning at ``starts``."""
    return {
        "g_sales_fen": np.add.reduceat(values["g_sales_fen"], starts),
        "g_orders": np.add.reduceat(values["g_orders"], starts),
        "g_first_us": np.minimum.reduceat(values["g_first_us"], starts),
        "g_last_us": np.maximum.reduceat(values["g_last_us"], starts),
        "g_first_day": np.minimum.reduceat(values["g_first_day"], starts),
        "g_last_day": np.maximum.reduceat(values["g_last_day"], starts),
    }


def summarize_periods(
    orders: OrderLog,
    periods: Iterable[Period],
    *,
    statuses: Iterable[OrderStatus] | None = None,
) -> PeriodSummary:
    """The period summary of some orders, for :func:`store_metrics_from_summary`.

    Args:
        orders: some or all of the shop's orders.
        periods: the periods to report, of one freq (as :func:`ecrm.analytics.store_metrics`).
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).

    Returns:
        A :class:`PeriodSummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog.
        InvalidValueError: no periods, or periods of mixed freq.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    wanted = check_periods(periods, same_freq=True)
    run = period_run(wanted)
    chosen = _statuses(statuses)
    bounds, _ = run_bounds(run, 1)
    rows = np.flatnonzero(orders.valid_mask(chosen))
    code = orders.customer_codes[rows].astype(np.int64)
    at = orders.placed_at_us[rows]
    net = orders.net_fen[rows]
    n = orders.n_customers
    first = np.full(n, _NO_FIRST, dtype=np.int64)
    np.minimum.at(first, code, at)
    before = np.full(n, NO_INSTANT_US, dtype=np.int64)
    early = at < bounds[0]
    np.maximum.at(before, code[early], at[early])
    seen = np.flatnonzero(first != _NO_FIRST)
    p = np.searchsorted(bounds, at, side="right") - 1
    inside = np.flatnonzero((p >= 0) & (p < len(run)))
    code, p, at, net = code[inside], p[inside], at[inside], net[inside]
    day = orders.placed_day[rows[inside]]
    # Rows are customer- then time-sorted, so each (customer, period) group is one run.
    new = np.ones(len(code), dtype=np.bool_)
    if len(code) > 1:
        new[1:] = (code[1:] != code[:-1]) | (p[1:] != p[:-1])
    starts = np.flatnonzero(new)
    groups = _reduce(starts, {
        "g_sales_fen": net, "g_orders": np.ones(len(code), dtype=np.int64), "g_first_us": at,
        "g_last_us": at, "g_first_day": day, "g_last_day": day,
    }) if len(starts) else {name: np.zeros(0, np.int64) for name in _GROUP_FIELDS}
    return PeriodSummary(
        periods=wanted, run=tuple(run),
        customer_ids=read_only(orders.customer_ids[seen]), first_us=read_only(first[seen]),
        before_us=read_only(before[seen]),
        group_ids=read_only(orders.customer_ids[code[starts]]),
        group_periods=read_only(p[starts].astype(np.int64)),
        **{k: read_only(v.astype(np.int64)) for k, v in groups.items()},
        statuses=chosen, tz=orders.tz, currency=orders.currency,
    )


def merge_periods(a: PeriodSummary, b: PeriodSummary) -> PeriodSummary:
    """The period summary of the union of two disjoint sets of orders.

    Raises:
        InvalidTypeError: an argument is not a PeriodSummary.
        InvalidValueError: their periods, statuses, zone, currency or id kinds differ.
    """
    check_mergeable(a, b, ("periods", "statuses", "currency"), kind=PeriodSummary)
    if not len(b):
        return a
    if not len(a):
        return b
    ids = sorted_union(a.customer_ids, b.customer_ids)
    ia, ib = np.searchsorted(ids, a.customer_ids), np.searchsorted(ids, b.customer_ids)
    first = np.full(len(ids), _NO_FIRST, dtype=np.int64)
    first[ia] = a.first_us
    first[ib] = np.minimum(first[ib], b.first_us)
    before = np.full(len(ids), NO_INSTANT_US, dtype=np.int64)
    before[ia] = a.before_us
    before[ib] = np.maximum(before[ib], b.before_us)
    gid = np.concatenate([a.group_ids, b.group_ids])
    gp = np.concatenate([a.group_periods, b.group_periods])
    order = np.lexsort((gp, gid))
    gid, gp = gid[order], gp[order]
    values = {k: np.concatenate([getattr(a, k), getattr(b, k)])[order] for k in _GROUP_FIELDS}
    new = np.ones(len(gid), dtype=np.bool_)
    new[1:] = (gid[1:] != gid[:-1]) | (gp[1:] != gp[:-1])
    starts = np.flatnonzero(new)
    groups = _reduce(starts, values)
    return PeriodSummary(
        periods=a.periods, run=a.run, customer_ids=read_only(ids), first_us=read_only(first),
        before_us=read_only(before), group_ids=read_only(gid[starts]),
        group_periods=read_only(gp[starts]), **{k: read_only(v) for k, v in groups.items()},
        statuses=a.statuses, tz=a.tz, currency=a.currency,
    )


def store_metrics_from_summary(
    summary: PeriodSummary,
    *,
    new_definition: NewCustomerDefinition | str = NewCustomerDefinition.FIRST_ORDER_EVER,
    lookback_days: int = 365,
    repurchase_base: RepurchaseBase | str = RepurchaseBase.IN_PERIOD,
) -> StoreMetrics:
    """Store metrics of the summary's periods, equal to :func:`ecrm.analytics.store_metrics`
    on the whole log with the same periods, options and statuses (without attribution:
    the attributed columns are ``None``).

    Args:
        summary: the merged period summary of every order of the shop.
        new_definition, lookback_days, repurchase_base: as
            :func:`ecrm.analytics.store_metrics`.

    Returns:
        A :class:`~ecrm.analytics.StoreMetrics`.

    Raises:
        InvalidTypeError: ``summary`` is not a PeriodSummary.
        InvalidValueError: a bad definition or base name; ``lookback_days`` < 1.
    """
    if not isinstance(summary, PeriodSummary):
        raise InvalidTypeError(f"summary must be a PeriodSummary, got {type(summary).__name__}")
    s = summary
    definition, base = check_store_options(new_definition, lookback_days, repurchase_base)
    run = list(s.run)
    n_p = len(run)
    bounds, lookback = run_bounds(run, lookback_days)
    code = np.searchsorted(s.customer_ids, s.group_ids).astype(np.int64)
    # The group before in the same customer holds the latest earlier valid order; else the
    # last one before the run.
    same = np.zeros(len(code), dtype=np.bool_)
    same[1:] = code[1:] == code[:-1]
    prev_group = np.where(same, np.concatenate([[NO_INSTANT_US], s.g_last_us[:-1]]),
                          NO_INSTANT_US)
    prev_at = np.maximum(prev_group, s.before_us[code])
    has_prev = prev_at != NO_INSTANT_US
    metrics = metrics_from_groups(
        run, bounds, lookback, s.group_periods, code * n_p + s.group_periods, s.g_sales_fen,
        s.g_orders, s.g_first_day < s.g_last_day, has_prev, prev_at, np.sort(s.first_us),
        definition, base, None,
    )
    return store_metrics_result(s.periods, run, metrics, s.currency, definition,
                                lookback_days, base)
