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
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, local_day, require_aware, zone_name
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.lifecycle._by import cycle_table
from ecrm.lifecycle._cycle import METHODS, check_choice, check_fallback, check_min_repurchasers
from ecrm.lifecycle._kernels import km_quantiles, observed_quantiles
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


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


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
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    end = require_aware(as_of, "as_of")
    wanted = _statuses(statuses)
    items = orders.items
    if items is None or items.order_rows is None:
        raise InvalidValueError("orders.items", "are needed for cycles by category (build "
                                "the log with order lines)", None, show_value=False)
    cats = np.asarray(items.categories)
    named = cats != ""
    valid = orders.valid_mask(wanted) & (orders.placed_at_us < datetime_to_us(end))
    lines = np.flatnonzero(named & valid[items.order_rows])
    rows = items.order_rows[lines]
    cat, cust, day = cats[lines], orders.customer_codes[rows].astype(np.int64), \
        orders.placed_day[rows]
    order = np.lexsort((day, cust, cat))
    cat, cust, day = cat[order], cust[order], day[order]
    heads, first, second = _first_two(cat, cust, day)
    return CategorySummary(
        categories=_frozen(sorted_union(np.sort(cats[named]), cats[:0])),
        pair_categories=_frozen(cat[heads]),
        pair_customer_ids=_frozen(orders.customer_ids[cust[heads]]),
        first_day=_frozen(first), second_day=_frozen(second),
        as_of=end, statuses=wanted, tz=orders.tz,
    )


def merge_categories(a: CategorySummary, b: CategorySummary) -> CategorySummary:
    """The category summary of the union of two disjoint sets of orders.

    Raises:
        InvalidTypeError: an argument is not a CategorySummary.
        InvalidValueError: their ``as_of``, statuses or zone differ, or their id kinds.
    """
    check_mergeable(a, b, ("as_of", "statuses"), kind=CategorySummary, ids="pair_customer_ids")
    categories = sorted_union(a.categories, b.categories)
    if not len(b):
        return attrs.evolve(a, categories=_frozen(categories))
    if not len(a):
        return attrs.evolve(b, categories=_frozen(categories))
    # Each side holds a pair once with its two distinct days: merge the four days.
    cat = np.concatenate([a.pair_categories, a.pair_categories,
                          b.pair_categories, b.pair_categories])
    cust = np.concatenate([a.pair_customer_ids, a.pair_customer_ids,
                           b.pair_customer_ids, b.pair_customer_ids])
    day = np.concatenate([a.first_day, a.second_day, b.first_day, b.second_day])
    order = np.lexsort((day, cust, cat))
    cat, cust, day = cat[order], cust[order], day[order]
    heads, first, second = _first_two(cat, cust, day)
    return CategorySummary(
        categories=_frozen(categories), pair_categories=_frozen(cat[heads]),
        pair_customer_ids=_frozen(cust[heads]), first_day=_frozen(first),
        second_day=_frozen(second), as_of=a.as_of, statuses=a.statuses, tz=a.tz,
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
    if not isinstance(summary, CustomerSummary):
        raise InvalidTypeError(
            f"summary must be a CustomerSummary, got {type(summary).__name__}")
    for name in ("as_of", "statuses"):
        if getattr(categories, name) != getattr(summary, name):
            raise InvalidValueError(name, "must be the same in both summaries",
                                    f"{getattr(categories, name)!r} and {getattr(summary, name)!r}")
    if zone_name(categories.tz) != zone_name(summary.tz):
        raise InvalidValueError("tz", "must be the same in both summaries",
                                f"{zone_name(categories.tz)} and {zone_name(summary.tz)}")
    check_choice("method", method, METHODS)
    min_rep = check_min_repurchasers(min_repurchasers)
    fb = check_fallback(fallback)
    store = cycle_from_summary(summary, method=method, min_repurchasers=min_rep)
    keys = categories.categories
    codes = np.searchsorted(keys, categories.pair_categories).astype(np.int64)
    first, second = categories.first_day, categories.second_day
    has_second = second != NO_DAY
    interval = (second - first)[has_second]
    if method == "observed":
        own = observed_quantiles(codes, has_second, interval, len(keys))
    else:
        time = local_day(categories.as_of, categories.tz) - first
        time[has_second] = interval
        own, _runs = km_quantiles(codes, time, has_second, len(keys))
    return cycle_table(
        "category", keys, own, store, categories=None, category_scope=None, method=method,
        same_day="merge", min_repurchasers=min_rep, fallback=fb, as_of=categories.as_of,
    )
