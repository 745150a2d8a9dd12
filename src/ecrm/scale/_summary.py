"""Per-customer summaries of an order log at one ``as_of`` that merge exactly.

A :class:`CustomerSummary` holds, for every customer seen in some orders, the few numbers
the RFM, tier and lifecycle results need. Each field has a merge rule that is associative
and commutative (max, sum, OR, the two smallest distinct days), so summaries of any
partition of the orders, merged in any order, equal the summary of the whole log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._columns import read_only
from ecrm._order import DEFAULT_VALID_STATUSES, OrderStatus, parse_status
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, require_aware, zone_name
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.rfm import TAOBAO_PGSB, RfmScheme
from ecrm.rfm._kernels import NO_ORDER_US, window_metrics

__all__ = [
    "NO_DAY", "NO_INSTANT_US", "UNKNOWN_DAYS", "CustomerSummary", "SummaryAccumulator", "empty_summary", "merge",
    "merge_all", "merge_day_counts", "sorted_union", "summarize",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
S = TypeVar("S")

#: "No order" in ``rfm_last_us`` and ``last_day`` (smaller than any real value).
NO_INSTANT_US = NO_ORDER_US
#: "No such day" in ``first_day`` and ``second_day`` (larger than any real day).
NO_DAY = np.iinfo(np.int64).max
_NO_LAST_DAY = np.iinfo(np.int64).min
#: ``n_days`` of a customer whose distinct purchase days could not be counted exactly
#: (two merged slices whose purchase days overlap by more than one boundary day).
UNKNOWN_DAYS = -1



@attrs.frozen(eq=False, repr=False)
class CustomerSummary:
    """What RFM, tiers and stages need of each customer's orders before ``as_of``.

    Every array has shape (n,) in ``customer_ids`` order. Build one with :func:`summarize`
    (or the out-of-core and Dask readers) and combine them with :func:`merge`.

    Attributes:
        customer_ids: every customer with at least one order (any status, any time) in
            the summarised rows, sorted (int64 or str).
        rfm_last_us: int64 epoch µs of the last valid order in the RFM window
            ``[as_of − scheme.lookback, as_of)``, ``NO_INSTANT_US`` if none. Merge: max.
        rfm_count: int64 valid orders in the window. Merge: sum.
        rfm_net_fen: int64 net fen (amount − refunded) of those orders. Merge: sum.
        spend_fen: int64 net fen of every valid order placed before ``as_of`` (the tier
            ladder's cumulative spend). Merge: sum.
        orders: int64 valid orders placed before ``as_of``. Merge: sum.
        first_day, second_day: int64 local days (since 1970-01-01 in ``tz``) of the first
            and second distinct purchase days (valid orders before ``as_of``), ``NO_DAY``
            if none. Merge: the two smallest distinct values of both sides.
        last_day: int64 local day of the last purchase day, ``-2**63`` if none. Merge: max.
        n_days: int64 distinct purchase days (valid orders before ``as_of``). Merge: the
            sum, less one when one side's last day is the other's first (a day split
            between two slices); ``UNKNOWN_DAYS`` when both sides' day ranges overlap
            further (exact whenever the orders are split by customer, or by time into
            consecutive slices merged with their neighbours; see docs/scale.md).
        tier_spend_fen, tier_orders: int64 net fen and count of the valid orders in the
            rolling tier window ``[as_of − tier_months, as_of)`` (zeros without
            ``tier_months``). Merge: sum.
        known: bool, some order (any status) placed before ``as_of``. Merge: OR.
        as_of: the aware moment; scheme: the RFM scheme (its window);
        statuses: the statuses that count as valid; tz: the store's zone;
        currency: the amounts' currency; tier_months: the rolling tier window in calendar
            months, or ``None``. Summaries merge only when these six agree.
    """

    customer_ids: npt.NDArray[Any]
    rfm_last_us: IntArray
    rfm_count: IntArray
    rfm_net_fen: IntArray
    spend_fen: IntArray
    orders: IntArray
    first_day: IntArray
    second_day: IntArray
    last_day: IntArray
    n_days: IntArray
    tier_spend_fen: IntArray
    tier_orders: IntArray
    known: BoolArray
    as_of: dt.datetime
    scheme: RfmScheme
    statuses: frozenset[OrderStatus]
    tz: dt.tzinfo
    currency: str
    tier_months: int | None = None

    def __attrs_post_init__(self) -> None:
        _v.check_same_length(
            "CustomerSummary",
            {name: getattr(self, name) for name in ("customer_ids", *_INT_FIELDS, "known")},
            {"customer_ids": _v.IDS, "known": _v.BOOLS} | dict.fromkeys(_INT_FIELDS, _v.INTEGERS),
        )

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (
            f"CustomerSummary({len(self):,} customers, as_of={self.as_of.isoformat()}, "
            f"scheme={self.scheme.name!r}, tz={zone_name(self.tz)}, currency={self.currency})"
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the memory a summary costs per customer × n)."""
        return sum(
            getattr(self, name).nbytes
            for name in ("customer_ids", *_INT_FIELDS, "known")
        )


_INT_FIELDS = (
    "rfm_last_us", "rfm_count", "rfm_net_fen", "spend_fen", "orders",
    "first_day", "second_day", "last_day", "n_days", "tier_spend_fen", "tier_orders",
)


def _statuses(statuses: Iterable[OrderStatus] | None) -> frozenset[OrderStatus]:
    if statuses is None:
        return DEFAULT_VALID_STATUSES
    return frozenset(parse_status(s) for s in statuses)


def summarize(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    statuses: Iterable[OrderStatus] | None = None,
    tier_months: int | None = None,
) -> CustomerSummary:
    """The summary of every customer of ``orders`` at ``as_of``.

    Valid orders are those of ``orders.valid_mask(statuses)`` (status in ``statuses``, not
    fully refunded), exactly as :func:`ecrm.rfm.score` and
    :meth:`ecrm.tiers.TierLadder.evaluate_log` count them.

    Args:
        orders: some or all of the shop's orders.
        as_of: the aware moment; orders at or after it are ignored.
        scheme: the RFM scheme whose window the RFM fields cover.
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).
        tier_months: also sum the valid orders of the last ``tier_months`` calendar months
            (the window of ``DowngradePolicy.rolling_window(tier_months)``), for
            :func:`~ecrm.scale.tiers_from_summary` with that policy.

    Returns:
        A :class:`CustomerSummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog or ``scheme`` not an RfmScheme.
        InvalidValueError: naive ``as_of``; an unknown status; ``tier_months`` < 1.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if not isinstance(scheme, RfmScheme):
        raise InvalidTypeError(f"scheme must be an RfmScheme, got {type(scheme).__name__}")
    as_of = require_aware(as_of, "as_of")
    wanted = _statuses(statuses)
    tz = orders.tz
    local = as_of.astimezone(tz)
    end_us = datetime_to_us(local)
    start_us = datetime_to_us(local - scheme.lookback)
    valid = orders.valid_mask(wanted)
    starts, codes, placed = orders.customer_starts, orders.customer_codes, orders.placed_at_us
    net = orders.net_fen
    count, net_fen, last = window_metrics(starts, codes, placed, net, valid, start_us, end_us)
    orders_before, spend, _ = window_metrics(
        starts, codes, placed, net, valid, int(np.iinfo(np.int64).min), end_us
    )
    first, second, last_day, n_days = _purchase_days(orders, valid, end_us)
    months = _tier_months(tier_months)
    if months is None:
        tier_spend, tier_count = np.zeros_like(spend), np.zeros_like(orders_before)
    else:
        lo_us = datetime_to_us(local - relativedelta(months=months))
        tier_count, tier_spend, _ = window_metrics(starts, codes, placed, net, valid, lo_us,
                                                   end_us)
    n = orders.n_customers
    known = placed[starts[:-1]] < end_us if n else np.zeros(0, dtype=np.bool_)
    return CustomerSummary(
        customer_ids=read_only(orders.customer_ids.copy()),
        rfm_last_us=read_only(last), rfm_count=read_only(count), rfm_net_fen=read_only(net_fen),
        spend_fen=read_only(spend), orders=read_only(orders_before),
        first_day=read_only(first), second_day=read_only(second), last_day=read_only(last_day),
        n_days=read_only(n_days), tier_spend_fen=read_only(tier_spend),
        tier_orders=read_only(tier_count), known=read_only(np.asarray(known, dtype=np.bool_)),
        as_of=as_of, scheme=scheme, statuses=wanted, tz=tz, currency=orders.currency,
        tier_months=months,
    )


def _tier_months(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"tier_months must be an int or None, got {type(value).__name__}")
    if value < 1:
        raise InvalidValueError("tier_months", "must be >= 1", value)
    return value


def _purchase_days(
    orders: OrderLog, valid: BoolArray, end_us: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """First, second distinct and last purchase day of each customer and the number of
    distinct purchase days (valid orders placed before ``end_us``)."""
    n = orders.n_customers
    first = np.full(n, NO_DAY, dtype=np.int64)
    second = np.full(n, NO_DAY, dtype=np.int64)
    last = np.full(n, _NO_LAST_DAY, dtype=np.int64)
    rows = np.flatnonzero(valid & (orders.placed_at_us < end_us))
    if rows.size == 0:
        return first, second, last, np.zeros(n, dtype=np.int64)
    # Rows are in (customer, placed_at) order, so local days rise within a customer (but
    # for a DST change at midnight, where they may step back: then sort), and the distinct
    # (customer, day) pairs are where either changes.
    c = orders.customer_codes[rows].astype(np.int64)
    d = orders.placed_day[rows]
    if np.any((c[1:] == c[:-1]) & (d[1:] < d[:-1])):
        order = np.lexsort((d, c))
        c, d = c[order], d[order]
    new = np.ones(len(rows), dtype=np.bool_)
    new[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    c, d = c[new], d[new]
    n_days = np.bincount(c, minlength=n).astype(np.int64)
    head = np.ones(len(c), dtype=np.bool_)
    head[1:] = c[1:] != c[:-1]
    heads = np.flatnonzero(head)
    first[c[heads]] = d[heads]
    nxt = heads + 1
    has_second = nxt < len(c)
    has_second[has_second] = c[nxt[has_second]] == c[heads[has_second]]
    second[c[heads[has_second]]] = d[nxt[has_second]]
    tail = np.ones(len(c), dtype=np.bool_)
    tail[:-1] = c[:-1] != c[1:]
    tails = np.flatnonzero(tail)
    last[c[tails]] = d[tails]
    return first, second, last, n_days


def merge_day_counts(
    a_first: IntArray, a_last: IntArray, a_n: IntArray,
    b_first: IntArray, b_last: IntArray, b_n: IntArray,
) -> IntArray:
    """Distinct purchase days of the union of two sides, per customer (aligned arrays).

    A side without days (``n == 0``) adds nothing; day ranges that do not meet add up;
    ranges that meet in one boundary day (``a_last == b_first`` or ``b_last == a_first``)
    add up less that day; any other overlap, or an unknown side, is ``UNKNOWN_DAYS``.
    """
    total = a_n + b_n
    both = (a_n > 0) & (b_n > 0)
    apart = (a_last < b_first) | (b_last < a_first)
    touch = (a_last == b_first) | (b_last == a_first)
    out = np.where(both & ~apart, np.where(touch, total - 1, UNKNOWN_DAYS), total)
    out[(a_n == UNKNOWN_DAYS) | (b_n == UNKNOWN_DAYS)] = UNKNOWN_DAYS
    result: IntArray = out.astype(np.int64)
    return result


def check_mergeable(a: Any, b: Any, fields: tuple[str, ...], *, kind: type | None = None,
                    ids: str = "customer_ids", zone: bool = True) -> None:
    """Refuse to merge two summaries that do not describe the same question.

    Args:
        a, b: the summaries.
        fields: attributes that must be equal (``as_of``, ``statuses`` …); the zones
            (``tz``) are compared by name unless ``zone`` is false.
        kind: when given, both must be instances of it.
        ids: the id column whose kinds (str or int) must agree when both sides have rows.
        zone: compare the zones (summaries without a ``tz`` pass ``False``).

    Raises:
        InvalidTypeError: ``a`` or ``b`` is not a ``kind``.
        InvalidValueError: a field, the zone or the id kinds differ.
    """
    if kind is not None:
        for name, value in (("a", a), ("b", b)):
            if not isinstance(value, kind):
                raise InvalidTypeError(
                    f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    for name in fields:
        if getattr(a, name) != getattr(b, name):
            raise InvalidValueError(
                name, "must be the same in both summaries to merge them",
                f"{getattr(a, name)!r} and {getattr(b, name)!r}",
            )
    if zone and zone_name(a.tz) != zone_name(b.tz):
        raise InvalidValueError(
            "tz", "must be the same in both summaries to merge them",
            f"{zone_name(a.tz)} and {zone_name(b.tz)}",
        )
    a_ids, b_ids = getattr(a, ids), getattr(b, ids)
    if len(a_ids) and len(b_ids) and a_ids.dtype.kind != b_ids.dtype.kind:
        raise InvalidValueError(
            "customer_ids", "must be of one kind (all str or all int) to merge",
            f"{a_ids.dtype} and {b_ids.dtype}",
        )


def sorted_union(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The sorted distinct values of two sorted arrays of distinct values.

    A stable sort of the two runs is a merge (timsort finds them): about 100 times
    faster than ``np.union1d``, whose hash-based unique dominated a merge of a million ids.
    """
    both = np.concatenate([a, b])
    both.sort(kind="stable")
    keep = np.ones(len(both), dtype=np.bool_)
    np.not_equal(both[1:], both[:-1], out=keep[1:])
    out: npt.NDArray[Any] = both[keep]
    return out


def merge(a: CustomerSummary, b: CustomerSummary) -> CustomerSummary:
    """The summary of the union of two disjoint sets of orders.

    Exact, associative and commutative: counts and fen add, last instants and days take
    the max, the first two distinct purchase days are the two smallest distinct days of
    both sides, ``known`` is OR.

    Args:
        a, b: summaries at the same ``as_of``, scheme, statuses, zone and currency, of
            disjoint orders (an order in both would count twice).

    Returns:
        The merged :class:`CustomerSummary` (ids sorted).

    Raises:
        InvalidTypeError: an argument is not a CustomerSummary.
        InvalidValueError: the parameters differ, or one side has str ids and the other int.
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, CustomerSummary):
            raise InvalidTypeError(f"{name} must be a CustomerSummary, got {type(value).__name__}")
    check_mergeable(a, b, ("as_of", "scheme", "statuses", "currency", "tier_months"))
    if not len(b):
        return a
    if not len(a):
        return b
    ids = sorted_union(a.customer_ids, b.customer_ids)
    ia = np.searchsorted(ids, a.customer_ids)
    ib = np.searchsorted(ids, b.customer_ids)
    n = len(ids)

    # Each output array is made once from a's values, then b's are combined in place at
    # b's positions: the temporaries are the size of b, not of the union.
    def from_a(name: str, fill: int) -> IntArray:
        arr = np.full(n, fill, dtype=np.int64)
        arr[ia] = getattr(a, name)
        return arr

    out: dict[str, Any] = {}
    for name in ("rfm_count", "rfm_net_fen", "spend_fen", "orders", "tier_spend_fen",
                 "tier_orders"):
        arr = from_a(name, 0)
        arr[ib] += getattr(b, name)  # ib holds distinct positions
        out[name] = arr
    rfm_last = from_a("rfm_last_us", NO_INSTANT_US)
    rfm_last[ib] = np.maximum(rfm_last[ib], b.rfm_last_us)
    out["rfm_last_us"] = rfm_last
    first, second = from_a("first_day", NO_DAY), from_a("second_day", NO_DAY)
    last, n_days = from_a("last_day", _NO_LAST_DAY), from_a("n_days", 0)
    af, as_, al, an = first[ib], second[ib], last[ib], n_days[ib]
    days = np.stack([af, as_, b.first_day, b.second_day])
    low = days.min(axis=0)
    # Each side's two days are distinct, so the second smallest distinct day of the four
    # is the smallest one left once every copy of the first is set aside.
    first[ib] = low
    second[ib] = np.where(days == low, NO_DAY, days).min(axis=0)
    n_days[ib] = merge_day_counts(af, al, an, b.first_day, b.last_day, b.n_days)
    last[ib] = np.maximum(al, b.last_day)
    out.update(first_day=first, second_day=second, last_day=last, n_days=n_days)
    known = np.zeros(n, dtype=np.bool_)
    known[ia] = a.known
    known[ib] |= b.known
    return CustomerSummary(
        customer_ids=read_only(ids),
        **{k: read_only(v) for k, v in out.items()},
        known=read_only(known),
        as_of=a.as_of, scheme=a.scheme, statuses=a.statuses, tz=a.tz, currency=a.currency,
        tier_months=a.tier_months,
    )


def merge_all(summaries: Iterable[CustomerSummary]) -> CustomerSummary:
    """Merge many summaries pairwise as a balanced tree (each id is copied O(log k) times).

    Args:
        summaries: at least one summary; all with the same parameters.

    Raises:
        InvalidValueError: no summaries, or their parameters differ.
    """
    level = list(summaries)
    if not level:
        raise InvalidValueError("summaries", "must hold at least one summary", "[]")
    while len(level) > 1:
        paired = [merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def empty_summary(
    *,
    as_of: dt.datetime,
    scheme: RfmScheme,
    statuses: Iterable[OrderStatus] | None,
    tz: dt.tzinfo,
    currency: str,
    tier_months: int | None = None,
) -> CustomerSummary:
    """The summary of no orders (the identity of :func:`merge`)."""
    zero = np.zeros(0, dtype=np.int64)
    return CustomerSummary(
        customer_ids=read_only(zero.copy()),
        **{name: read_only(zero.copy()) for name in _INT_FIELDS},
        known=read_only(np.zeros(0, dtype=np.bool_)),
        as_of=require_aware(as_of, "as_of"), scheme=scheme, statuses=_statuses(statuses),
        tz=tz, currency=currency, tier_months=_tier_months(tier_months),
    )


class Accumulator(Generic[S]):
    """Merges summaries of any kind as they arrive with ``merge``, neighbours only, keeping
    the partials' sizes (``len``) falling geometrically; see :class:`SummaryAccumulator`."""

    def __init__(self, merge: Callable[[S, S], S]) -> None:
        self._merge = merge
        self._stack: list[S] = []

    def add(self, summary: S) -> None:
        """Take one more summary (of orders disjoint from the ones taken so far)."""
        stack = self._stack
        stack.append(summary)
        while len(stack) > 1 and len(stack[-2]) <= 2 * len(stack[-1]):  # type: ignore[arg-type]
            top = stack.pop()
            stack[-1] = self._merge(stack[-1], top)

    def partials(self) -> list[S]:
        """The partial summaries held, in order."""
        return list(self._stack)


class SummaryAccumulator:
    """Merges summaries as they arrive, neighbours only (so slices in time order stay
    consecutive), keeping the partial summaries' sizes falling geometrically: a partial
    is merged into the one before it as soon as that one is less than twice its size.

    Memory holds at most about twice the final summary (a binary counter by count would
    hold up to log2(k) partials as large as the final one, since every slice of a long
    export meets most customers); each id is copied O(log k) times while partials grow,
    and about once per two slices once they are as large as the shop.
    """

    def __init__(self) -> None:
        self._acc: Accumulator[CustomerSummary] = Accumulator(merge)

    def add(self, summary: CustomerSummary) -> None:
        """Take one more summary (of orders disjoint from the ones taken so far)."""
        self._acc.add(summary)

    def result(self, empty: CustomerSummary) -> CustomerSummary:
        """The merge of everything taken, or ``empty`` when nothing was."""
        return merge_all([empty, *self._acc.partials()])
