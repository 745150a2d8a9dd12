"""Per-category repurchase cycles from summaries that merge exactly.

A :class:`CategorySummary` holds, for every (category, customer) pair with a valid order
line before ``as_of``, the first two distinct days the customer bought that category
(merged as the store summary's first and second days: the two smallest distinct days of
both sides), and every non-empty category seen in any line (merged by union). With the
store :class:`~ecrm.scale.CustomerSummary` it gives the :class:`~ecrm.lifecycle.CycleTable`
of :func:`ecrm.lifecycle.cycles_by` with ``by="category"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import InvalidTypeError, InvalidValueError
from ecrm import _validators as _v
from ecrm._columns import read_only
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._time import datetime_to_us, local_day, require_aware, zone_name
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.lifecycle._by import cycle_table
from ecrm.lifecycle._cycle import METHODS, check_choice, check_fallback, check_min_repurchasers
from ecrm.lifecycle._kernels import GroupQuantiles, km_quantiles, observed_quantiles
from ecrm.scale._results import cycle_from_summary
from ecrm.scale._summary import (
    NO_DAY,
    CustomerSummary,
    _statuses,
    check_mergeable,
    sorted_union,
)

__all__ = ["CategorySummary", "cycles_from_summary", "merge_categories", "summarize_categories"]

IntArray = npt.NDArray[np.int64]



@attrs.frozen(eq=False, repr=False)
class CategorySummary:
    """First and second purchase days per (category, customer) pair, mergeable.

    Attributes:
        categories: str, sorted: every non-empty category of any order line in the slice
            (any status, any time). Merge: union.
        pair_categories, pair_customer_ids: shape (k,), the pairs sorted by category then
            customer: a customer with a valid order line of the category before ``as_of``.
        first_day, second_day: int64, shape (k,): the first two distinct local days the
            customer bought the category (``NO_DAY`` if no second). Merge: the two
            smallest distinct days of both sides.
        as_of, statuses, tz: must agree to merge.
    """

    categories: npt.NDArray[np.str_]
    pair_categories: npt.NDArray[np.str_]
    pair_customer_ids: npt.NDArray[Any]
    first_day: IntArray
    second_day: IntArray
    as_of: dt.datetime
    statuses: frozenset[OrderStatus]
    tz: dt.tzinfo

    def __attrs_post_init__(self) -> None:
        _v.check_same_length("CategorySummary", {"categories": self.categories}, {
            "categories": _v.TEXT})
        _v.check_same_length("CategorySummary", {
            "pair_categories": self.pair_categories, "pair_customer_ids": self.pair_customer_ids,
            "first_day": self.first_day, "second_day": self.second_day,
        }, {"pair_categories": _v.TEXT, "pair_customer_ids": _v.IDS,
            "first_day": _v.INTEGERS, "second_day": _v.INTEGERS})

    def __len__(self) -> int:
        return len(self.pair_categories)

    def __repr__(self) -> str:
        return (f"CategorySummary({len(self.categories):,} categories, {len(self):,} "
                f"category buyers, as_of={self.as_of.isoformat()}, tz={zone_name(self.tz)})")


def _first_two(key_a: npt.NDArray[Any], key_b: npt.NDArray[Any],
               day: IntArray) -> tuple[npt.NDArray[np.intp], IntArray, IntArray]:
    """Rows sorted by (key_a, key_b, day) already: each pair's head row, first and second
    distinct day."""
    n = len(day)
    new_pair = np.ones(n, dtype=np.bool_)
    new_pair[1:] = (key_a[1:] != key_a[:-1]) | (key_b[1:] != key_b[:-1])
    distinct = new_pair.copy()
    distinct[1:] |= day[1:] != day[:-1]
    rows = np.flatnonzero(distinct)
    heads_in = np.flatnonzero(new_pair[rows])
    first = day[rows[heads_in]]
    second = np.full(len(heads_in), NO_DAY, dtype=np.int64)
    nxt = heads_in + 1
    ok = nxt < len(rows)
    ok[ok] = ~new_pair[rows[nxt[ok]]]
    second[ok] = day[rows[nxt[ok]]]
    return rows[heads_in], first, second


def summarize_categories(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    statuses: Iterable[OrderStatus] | None = None,
) -> CategorySummary:
    """The category summary of some orders with order lines.

    Args:
        orders: an order log with order lines (``items``).
        as_of: aware; orders at or after it are ignored.
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).

    Returns:
        A :class:`CategorySummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog.
        InvalidValueError: the log has no order lines; naive ``as_of``.
    """
    end, wanted, items, rows = check_lines(orders, as_of, statuses, "category")
    cats = np.asarray(items.categories)
    named = cats != ""
    keys, ids, first, second = pair_days(orders, rows, cats, named, end, wanted)
    return CategorySummary(
        categories=read_only(sorted_union(np.sort(cats[named]), cats[:0])),
        pair_categories=read_only(keys), pair_customer_ids=read_only(ids),
        first_day=read_only(first), second_day=read_only(second),
        as_of=end, statuses=wanted, tz=orders.tz,
    )


def check_lines(orders: object, as_of: dt.datetime, statuses: Iterable[OrderStatus] | None,
                by: str) -> tuple[dt.datetime, frozenset[OrderStatus], OrderItems, IntArray]:
    """The checked ``as_of``, statuses, order lines and each line's order row of a summary
    by ``by``."""
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    end = require_aware(as_of, "as_of")
    wanted = _statuses(statuses)
    items = orders.items
    if items is None or items.order_rows is None:
        raise InvalidValueError("orders.items", f"are needed for cycles by {by} (build "
                                "the log with order lines)", None, show_value=False)
    return end, wanted, items, items.order_rows


def pair_days(orders: OrderLog, line_rows: IntArray, line_keys: npt.NDArray[Any],
              take: npt.NDArray[np.bool_], as_of: dt.datetime,
              statuses: frozenset[OrderStatus]
              ) -> tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray]:
    """Per (key, customer) pair, sorted so, the first two distinct local days the customer
    bought a line of that key (lines where ``take``, of valid orders before ``as_of``;
    ``line_rows``: each line's order row): the pair keys, customer ids, first and second
    days (``NO_DAY`` if none)."""
    valid = orders.valid_mask(statuses) & (orders.placed_at_us < datetime_to_us(as_of))
    lines = np.flatnonzero(take & valid[line_rows])
    rows = line_rows[lines]
    key, cust, day = line_keys[lines], orders.customer_codes[rows].astype(np.int64), \
        orders.placed_day[rows]
    order = np.lexsort((day, cust, key))
    key, cust, day = key[order], cust[order], day[order]
    heads, first, second = _first_two(key, cust, day)
    return key[heads], orders.customer_ids[cust[heads]], first, second


def merge_pair_days(
    a: tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray],
    b: tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray],
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray]:
    """Two sides' (keys, customer ids, first days, second days) merged: each pair's first
    two distinct days of both sides. Each side is sorted by key, then customer."""
    if not len(b[0]):
        return a
    if not len(a[0]):
        return b
    # Integer codes that keep the order: the keys' (each side's are sorted, so its distinct
    # keys are where they change) and the customers' (one sort of both sides' ids); then a
    # pair is one int64, each side's ascending, and the union is a merge of two runs.
    key_names = sorted_union(_distinct_sorted(a[0]), _distinct_sorted(b[0]))
    cust_names, cust_codes = np.unique(np.concatenate([a[1], b[1]]), return_inverse=True)
    width = np.int64(len(cust_names))
    pa = np.searchsorted(key_names, a[0]).astype(np.int64) * width + cust_codes[:len(a[1])]
    pb = np.searchsorted(key_names, b[0]).astype(np.int64) * width + cust_codes[len(a[1]):]
    pairs = sorted_union(pa, pb)
    ia, ib = np.searchsorted(pairs, pa), np.searchsorted(pairs, pb)
    first = np.full(len(pairs), NO_DAY, dtype=np.int64)
    second = np.full(len(pairs), NO_DAY, dtype=np.int64)
    first[ia], second[ia] = a[2], a[3]
    # Each side's two days are distinct: the second smallest distinct day of the four is the
    # smallest one left once every copy of the first is set aside (as CustomerSummary's).
    days = np.stack([first[ib], second[ib], b[2], b[3]])
    low = days.min(axis=0)
    first[ib] = low
    second[ib] = np.where(days == low, NO_DAY, days).min(axis=0)
    return key_names[pairs // width], cust_names[pairs % width], first, second


def _distinct_sorted(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    keep = np.ones(len(values), dtype=np.bool_)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    out: npt.NDArray[Any] = values[keep]
    return out


def pair_quantiles(keys: npt.NDArray[np.str_], pair_keys: npt.NDArray[np.str_],
                   first: IntArray, second: IntArray, method: str, as_of: dt.datetime,
                   tz: dt.tzinfo) -> GroupQuantiles:
    """P50/P70/P90 per key from its pairs' first two purchase days (the kernels of
    :func:`ecrm.lifecycle.cycles_by`); ``keys`` sorted, holding every pair key."""
    codes = np.searchsorted(keys, pair_keys).astype(np.int64)
    has_second = second != NO_DAY
    interval = (second - first)[has_second]
    if method == "observed":
        return observed_quantiles(codes, has_second, interval, len(keys))
    time = local_day(as_of, tz) - first
    time[has_second] = interval
    own, _runs = km_quantiles(codes, time, has_second, len(keys))
    return own


def merge_categories(a: CategorySummary, b: CategorySummary) -> CategorySummary:
    """The category summary of the union of two disjoint sets of orders.

    Raises:
        InvalidTypeError: an argument is not a CategorySummary.
        InvalidValueError: their ``as_of``, statuses or zone differ, or their id kinds.
    """
    check_mergeable(a, b, ("as_of", "statuses"), kind=CategorySummary, ids="pair_customer_ids")
    categories = sorted_union(a.categories, b.categories)
    if not len(b):
        return attrs.evolve(a, categories=read_only(categories))
    if not len(a):
        return attrs.evolve(b, categories=read_only(categories))
    keys, ids, first, second = merge_pair_days(
        (a.pair_categories, a.pair_customer_ids, a.first_day, a.second_day),
        (b.pair_categories, b.pair_customer_ids, b.first_day, b.second_day))
    return CategorySummary(
        categories=read_only(categories), pair_categories=read_only(keys),
        pair_customer_ids=read_only(ids), first_day=read_only(first),
        second_day=read_only(second), as_of=a.as_of, statuses=a.statuses, tz=a.tz,
    )


def cycles_from_summary(
    categories: CategorySummary,
    summary: CustomerSummary,
    *,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
) -> CycleTable:
    """Repurchase cycles per category, equal to :func:`ecrm.lifecycle.cycles_by` with
    ``by="category"`` (``same_day="merge"``) on the whole log: each category's own
    P50/P70/P90, falling back to the store's (from ``summary``) and then ``fallback``.

    Args:
        categories: the merged category summary of every order.
        summary: the merged store summary of the same orders (same ``as_of``, statuses).
        method, min_repurchasers, fallback: as :func:`ecrm.lifecycle.cycles_by`.

    Returns:
        A :class:`~ecrm.lifecycle.CycleTable` by category.

    Raises:
        InvalidTypeError: arguments of the wrong type.
        InvalidValueError: the two summaries' ``as_of``, statuses or zone differ; an
            unknown ``method``; ``min_repurchasers`` < 1; a fallback without boundaries.
    """
    if not isinstance(categories, CategorySummary):
        raise InvalidTypeError(
            f"categories must be a CategorySummary, got {type(categories).__name__}")
    min_rep, fb, store = check_cycle_arguments(categories, summary, method, min_repurchasers,
                                               fallback)
    own = pair_quantiles(categories.categories, categories.pair_categories,
                         categories.first_day, categories.second_day, method,
                         categories.as_of, categories.tz)
    return cycle_table(
        "category", categories.categories, own, store, categories=None, category_scope=None,
        method=method, same_day="merge", min_repurchasers=min_rep, fallback=fb,
        as_of=categories.as_of,
    )


def check_cycle_arguments(
    pairs: CategorySummary | Any, summary: CustomerSummary, method: str,
    min_repurchasers: int, fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None,
) -> tuple[int, tuple[Bands, str] | None, RepurchaseCycle]:
    """Check the arguments of a cycle table from summaries: the checked
    ``min_repurchasers``, fallback and the store's cycle from ``summary``."""
    if not isinstance(summary, CustomerSummary):
        raise InvalidTypeError(
            f"summary must be a CustomerSummary, got {type(summary).__name__}")
    for name in ("as_of", "statuses"):
        if getattr(pairs, name) != getattr(summary, name):
            raise InvalidValueError(name, "must be the same in both summaries",
                                    f"{getattr(pairs, name)!r} and {getattr(summary, name)!r}")
    if zone_name(pairs.tz) != zone_name(summary.tz):
        raise InvalidValueError("tz", "must be the same in both summaries",
                                f"{zone_name(pairs.tz)} and {zone_name(summary.tz)}")
    check_choice("method", method, METHODS)
    min_rep = check_min_repurchasers(min_repurchasers)
    fb = check_fallback(fallback)
    return min_rep, fb, cycle_from_summary(summary, method=method, min_repurchasers=min_rep)
