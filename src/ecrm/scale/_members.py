"""Member metrics per period from summaries that merge exactly.

:func:`ecrm.analytics.member_metrics` needs, per customer and per period edge (every
period's start and end), the member level there — a function of the cumulative valid spend
and order count before the edge and of opt-in — and whether the customer is a store
customer yet (an order of any status before the edge: the first-ever order is global, no
slice of the orders knows it alone). A :class:`MemberSummary` keeps the first-ever instant
(merge: min) and the valid net fen and orders per (customer, slice between two consecutive
edges) (merge: sums); the cumulative values at each edge, and from them the levels, the
period's sales and whether the customer bought in it, come out of the merged summary.

That is the two-pass plan (pass 1: the first-ever table, a min; pass 2: per-period sums
given that table) run as one pass: the sums are kept per (customer, slice) rather than per
(period, level), so making them needs no table, and the table is applied once, to the
merged summary (see docs/scale.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import read_only
from ecrm._customers import CustomerTable
from ecrm._load._spec import AmountUnit, CsvColumns
from ecrm._money import DEFAULT_CURRENCY
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, zone_name
from ecrm.analytics import MemberMetrics, Period
from ecrm.analytics._members import member_inputs, member_period
from ecrm.analytics._periods import check_periods
from ecrm.errors import CurrencyMismatchError, InvalidTypeError
from ecrm.scale._ooc import DEFAULT_BATCH_ROWS, PathLike, fold_parquet
from ecrm.scale._summary import _statuses, check_mergeable, sorted_union
from ecrm.tiers import TAOBAO_STORE_VIP, Membership, TierLadder
from ecrm.tiers._ladder import opted_in_of

__all__ = ["MemberSummary", "member_metrics_from_summary", "member_metrics_parquet", "merge_members",
           "summarize_members"]

IntArray = npt.NDArray[np.int64]
_NO_FIRST = np.iinfo(np.int64).max



@attrs.frozen(eq=False, repr=False)
class MemberSummary:
    """What member metrics need of each customer's orders, per slice between period edges.

    The edges are the sorted distinct starts and ends of the periods, ``k`` of them; slice
    ``j`` holds the orders in ``[edges[j − 1], edges[j])`` (slice 0: before the first edge).
    Orders at or after the last edge are not needed and not kept.

    Attributes:
        periods: the requested periods (any freqs, as
            :func:`ecrm.analytics.member_metrics` takes them).
        edges_us: int64, shape (k,): the period edges in epoch µs, ascending.
        customer_ids: sorted, every customer with an order (any status) before the last edge.
        first_us: int64, each one's first order of any status (the first-ever order, which
            makes them a store customer). Merge: min.
        group_ids, group_slices: shape (g,): the (customer, slice) groups with a valid
            order, sorted by customer then slice.
        g_spend_fen, g_orders: int64 valid net fen and valid orders of each group.
            Merge: sum.
        statuses, tz, currency: must agree to merge.
    """

    periods: tuple[Period, ...]
    edges_us: IntArray
    customer_ids: npt.NDArray[Any]
    first_us: IntArray
    group_ids: npt.NDArray[Any]
    group_slices: IntArray
    g_spend_fen: IntArray
    g_orders: IntArray
    statuses: frozenset[OrderStatus]
    tz: Any
    currency: str

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (f"MemberSummary({len(self):,} customers, {len(self.group_ids):,} customer "
                f"slices, {len(self.periods)} periods, tz={zone_name(self.tz)})")


def _edges(periods: tuple[Period, ...]) -> IntArray:
    instants = [datetime_to_us(t) for p in periods for t in (p.start, p.end)]
    return np.unique(np.asarray(instants, dtype=np.int64))


def _sum_groups(ids: npt.NDArray[Any], slices: IntArray, spend: IntArray,
                count: IntArray) -> tuple[npt.NDArray[Any], IntArray, IntArray, IntArray]:
    """Rows sorted by (id, slice): one row per group with the summed fen and orders."""
    if not len(ids):
        zero = np.zeros(0, dtype=np.int64)
        return ids, zero, zero.copy(), zero.copy()
    new = np.ones(len(ids), dtype=np.bool_)
    new[1:] = (ids[1:] != ids[:-1]) | (slices[1:] != slices[:-1])
    starts = np.flatnonzero(new)
    return (ids[starts], slices[starts], np.add.reduceat(spend, starts).astype(np.int64),
            np.add.reduceat(count, starts).astype(np.int64))


def summarize_members(
    orders: OrderLog,
    periods: Iterable[Period],
    *,
    statuses: Iterable[OrderStatus] | None = None,
) -> MemberSummary:
    """The member summary of some orders, for :func:`member_metrics_from_summary`.

    Args:
        orders: some or all of the shop's orders.
        periods: the periods to report (as :func:`ecrm.analytics.member_metrics`).
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).

    Returns:
        A :class:`MemberSummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog; a period is not a Period.
        InvalidValueError: no periods.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    wanted = check_periods(periods)
    chosen = _statuses(statuses)
    edges = _edges(wanted)
    placed = orders.placed_at_us
    n = orders.n_customers
    # Rows are in (customer, time) order: each customer's first row is their first order.
    first = placed[orders.customer_starts[:-1]] if n else np.zeros(0, dtype=np.int64)
    seen = np.flatnonzero(first < edges[-1])
    rows = np.flatnonzero(orders.valid_mask(chosen) & (placed < edges[-1]))
    code = orders.customer_codes[rows].astype(np.int64)
    # side="right": an order at exactly an edge belongs to the slice that starts there.
    slices = np.searchsorted(edges, placed[rows], side="right").astype(np.int64)
    ids, gs, spend, count = _sum_groups(code, slices, orders.net_fen[rows].astype(np.int64),
                                        np.ones(len(rows), dtype=np.int64))
    return MemberSummary(
        periods=wanted, edges_us=read_only(edges),
        customer_ids=read_only(orders.customer_ids[seen]),
        first_us=read_only(first[seen].astype(np.int64)),
        group_ids=read_only(orders.customer_ids[ids]), group_slices=read_only(gs),
        g_spend_fen=read_only(spend), g_orders=read_only(count),
        statuses=chosen, tz=orders.tz, currency=orders.currency,
    )


def merge_members(a: MemberSummary, b: MemberSummary) -> MemberSummary:
    """The member summary of the union of two disjoint sets of orders.

    Exact, associative and commutative: first-ever instants take the min, each (customer,
    slice) group's fen and orders add.

    Raises:
        InvalidTypeError: an argument is not a MemberSummary.
        InvalidValueError: their periods, statuses, zone, currency or id kinds differ.
    """
    check_mergeable(a, b, ("periods", "statuses", "currency"), kind=MemberSummary)
    if not len(b):
        return a
    if not len(a):
        return b
    ids = sorted_union(a.customer_ids, b.customer_ids)
    first = np.full(len(ids), _NO_FIRST, dtype=np.int64)
    first[np.searchsorted(ids, a.customer_ids)] = a.first_us
    ib = np.searchsorted(ids, b.customer_ids)
    first[ib] = np.minimum(first[ib], b.first_us)
    gid = np.concatenate([a.group_ids, b.group_ids])
    gs = np.concatenate([a.group_slices, b.group_slices])
    order = np.lexsort((gs, gid))
    gid, gs, spend, count = _sum_groups(
        gid[order], gs[order], np.concatenate([a.g_spend_fen, b.g_spend_fen])[order],
        np.concatenate([a.g_orders, b.g_orders])[order])
    return MemberSummary(
        periods=a.periods, edges_us=a.edges_us, customer_ids=read_only(ids),
        first_us=read_only(first), group_ids=read_only(gid), group_slices=read_only(gs),
        g_spend_fen=read_only(spend), g_orders=read_only(count),
        statuses=a.statuses, tz=a.tz, currency=a.currency,
    )


class _Cumulative:
    """Cumulative valid fen and orders of every customer before an edge, one edge at a
    time (memory O(customers), not O(customers × edges))."""

    def __init__(self, summary: MemberSummary) -> None:
        s = summary
        self.k = len(s.edges_us)
        code = np.searchsorted(s.customer_ids, s.group_ids).astype(np.int64)
        # Ascending: groups are sorted by customer, then slice.
        self.key = code * self.k + s.group_slices
        # A running sum over all groups, less the sum before the customer's first group
        # (int64 wrap-around in the running sum cancels in the difference).
        self.run_fen = np.concatenate([[0], np.cumsum(s.g_spend_fen)]).astype(np.int64)
        self.run_orders = np.concatenate([[0], np.cumsum(s.g_orders)]).astype(np.int64)
        self.base = np.arange(len(s), dtype=np.int64) * self.k
        self.head = np.searchsorted(self.key, self.base)

    def at(self, j: int) -> tuple[IntArray, IntArray]:
        """int64 fen and orders, shape (n,), of the orders before edge ``j`` (slices 0..j)."""
        end = np.searchsorted(self.key, self.base + j, side="right")
        return (self.run_fen[end] - self.run_fen[self.head],
                self.run_orders[end] - self.run_orders[self.head])


def member_metrics_from_summary(
    summary: MemberSummary,
    customers: CustomerTable | Mapping[Any, Membership],
    *,
    ladder: TierLadder = TAOBAO_STORE_VIP,
) -> MemberMetrics:
    """Member metrics of the summary's periods, equal to
    :func:`ecrm.analytics.member_metrics` on the whole log with the same periods, customers,
    ladder and statuses.

    Args:
        summary: the merged member summary of every order of the shop.
        customers: the customer table or membership records (as
            :func:`ecrm.analytics.member_metrics`).
        ladder: the tier ladder (default ``TAOBAO_STORE_VIP``).

    Returns:
        A :class:`~ecrm.analytics.MemberMetrics`.

    Raises:
        InvalidTypeError: arguments of the wrong type.
        CurrencyMismatchError: the ladder's currency differs from the summary's.
    """
    if not isinstance(summary, MemberSummary):
        raise InvalidTypeError(f"summary must be a MemberSummary, got {type(summary).__name__}")
    opted, joined, left = member_inputs(customers)
    if not isinstance(ladder, TierLadder):
        raise InvalidTypeError(f"ladder must be a TierLadder, got {type(ladder).__name__}")
    s = summary
    if s.currency != ladder.currency:
        raise CurrencyMismatchError(
            "summary.currency", f"must be the ladder's currency {ladder.currency}", s.currency)
    cumulative = _Cumulative(s)
    edges = s.edges_us.tolist()

    def at(when: Any) -> tuple[IntArray, IntArray, IntArray]:
        j = edges.index(datetime_to_us(when))
        fen, count = cumulative.at(j)
        opted_now = opted_in_of(s.customer_ids, opted, when)
        return fen, count, np.where(opted_now, ladder.levels_of(fen, count), 0)

    rows = []
    for p in s.periods:
        fen_s, count_s, level_s = at(p.start)
        fen_e, count_e, level_e = at(p.end)
        known = s.first_us < datetime_to_us(p.end)
        rows.append(member_period(p, ladder, s.customer_ids, level_s, level_e, known,
                                  fen_e - fen_s, count_e > count_s, joined, left))
    return MemberMetrics(ladder, tuple(rows), s.currency,
                         leaves_known=not isinstance(opted, CustomerTable))


def member_metrics_parquet(
    source: PathLike | Sequence[PathLike],
    customers: CustomerTable | Mapping[Any, Membership],
    periods: Iterable[Period],
    *,
    ladder: TierLadder = TAOBAO_STORE_VIP,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> MemberMetrics:
    """Member metrics per period of a Parquet dataset of orders, one record batch at a time,
    equal to :func:`ecrm.analytics.member_metrics` on the whole log.

    Args:
        source, columns, tz, currency, amount_unit, batch_rows: as
            :func:`~ecrm.scale.summarize_parquet`.
        customers, periods, ladder, statuses: as :func:`ecrm.analytics.member_metrics`.

    Returns:
        A :class:`~ecrm.analytics.MemberMetrics`.

    Raises:
        As :func:`~ecrm.scale.fold_parquet` and :func:`member_metrics_from_summary`.
    """
    wanted = check_periods(periods)
    member_inputs(customers)  # a bad customers argument fails before any reading
    merged = fold_parquet(
        source, summarize=functools.partial(summarize_members, periods=wanted, statuses=statuses),
        merge=merge_members, columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, batch_rows=batch_rows)
    return member_metrics_from_summary(merged, customers, ladder=ladder)
