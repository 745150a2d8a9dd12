"""Per-SKU repurchase cycles from summaries that merge exactly.

A :class:`SkuSummary` holds, for every (SKU, customer) pair with a valid order line before
``as_of``, the first two distinct days the customer bought that SKU (merged as the category
summary's: the two smallest distinct days of both sides); every SKU seen in any line with
its category (union; the smallest non-empty category of its lines); and the
:class:`~ecrm.scale.CategorySummary` of the same lines, for the SKU → category fallback.
With the store :class:`~ecrm.scale.CustomerSummary` it gives the
:class:`~ecrm.lifecycle.CycleTable` of :func:`ecrm.lifecycle.cycles_by` with ``by="sku"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._columns import read_only
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import zone_name
from ecrm.errors import InvalidTypeError
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.lifecycle._by import (
    _sku_categories,
    category_codes,
    cycle_table,
    factorize,
    sku_fallbacks,
)
from ecrm.scale._categories import (
    CategorySummary,
    check_cycle_arguments,
    check_lines,
    merge_categories,
    merge_pair_days,
    pair_days,
    pair_quantiles,
    summarize_categories,
)
from ecrm.scale._summary import CustomerSummary, check_mergeable

__all__ = ["SkuSummary", "merge_skus", "sku_cycles_from_summary", "summarize_skus"]

IntArray = npt.NDArray[np.int64]



@attrs.frozen(eq=False, repr=False)
class SkuSummary:
    """First and second purchase days per (SKU, customer) pair, mergeable.

    Attributes:
        skus: str, sorted: every SKU of any order line in the slice (any status, any
            time). Merge: union.
        sku_categories: str, shape ``skus.shape``: the smallest non-empty category among
            the SKU's lines, ``""`` if none. Merge: the smaller non-empty one.
        pair_skus, pair_customer_ids: shape (k,), the pairs sorted by SKU then customer: a
            customer with a valid order line of the SKU before ``as_of``.
        first_day, second_day: int64, shape (k,): the first two distinct local days the
            customer bought the SKU (``NO_DAY`` if no second). Merge: the two smallest
            distinct days of both sides.
        categories: the :class:`~ecrm.scale.CategorySummary` of the same lines (the
            fallback scope). Merge: :func:`~ecrm.scale.merge_categories`.
        as_of, statuses, tz: must agree to merge.
    """

    skus: npt.NDArray[np.str_]
    sku_categories: npt.NDArray[np.str_]
    pair_skus: npt.NDArray[np.str_]
    pair_customer_ids: npt.NDArray[Any]
    first_day: IntArray
    second_day: IntArray
    categories: CategorySummary
    as_of: dt.datetime
    statuses: frozenset[OrderStatus]
    tz: dt.tzinfo

    def __attrs_post_init__(self) -> None:
        _v.check_same_length("SkuSummary", {
            "skus": self.skus, "sku_categories": self.sku_categories}, {
            "skus": _v.TEXT, "sku_categories": _v.TEXT})
        _v.check_same_length("SkuSummary", {
            "pair_skus": self.pair_skus, "pair_customer_ids": self.pair_customer_ids,
            "first_day": self.first_day, "second_day": self.second_day,
        }, {"pair_skus": _v.TEXT, "pair_customer_ids": _v.IDS,
            "first_day": _v.INTEGERS, "second_day": _v.INTEGERS})
        _v.check_instance("categories", self.categories, CategorySummary)

    def __len__(self) -> int:
        return len(self.pair_skus)

    def __repr__(self) -> str:
        return (f"SkuSummary({len(self.skus):,} SKUs, {len(self):,} SKU buyers, "
                f"as_of={self.as_of.isoformat()}, tz={zone_name(self.tz)})")


def summarize_skus(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    statuses: Iterable[OrderStatus] | None = None,
) -> SkuSummary:
    """The SKU summary of some orders with order lines.

    Args:
        orders: an order log with order lines (``items``).
        as_of: aware; orders at or after it are ignored.
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).

    Returns:
        A :class:`SkuSummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog.
        InvalidValueError: the log has no order lines; naive ``as_of``.
    """
    end, wanted, items, rows = check_lines(orders, as_of, statuses, "sku")
    skus = np.asarray(items.skus)
    keys, codes = factorize(skus)
    cat_names, cat_codes = category_codes(items.categories)
    sku_cat = _sku_categories(codes, len(keys), cat_codes)
    named = np.full(len(keys), "", dtype=cat_names.dtype if len(cat_names) else "U1")
    named[sku_cat >= 0] = cat_names[sku_cat[sku_cat >= 0]]
    pair_keys, ids, first, second = pair_days(orders, rows, skus, np.ones(len(skus), np.bool_),
                                              end, wanted)
    return SkuSummary(
        skus=read_only(keys), sku_categories=read_only(named), pair_skus=read_only(pair_keys),
        pair_customer_ids=read_only(ids), first_day=read_only(first), second_day=read_only(second),
        categories=summarize_categories(orders, as_of=end, statuses=wanted),
        as_of=end, statuses=wanted, tz=orders.tz,
    )


def merge_skus(a: SkuSummary, b: SkuSummary) -> SkuSummary:
    """The SKU summary of the union of two disjoint sets of orders.

    Exact, associative and commutative (and idempotent: an order line in both sides changes
    nothing, so lines of one order may fall into two slices).

    Raises:
        InvalidTypeError: an argument is not a SkuSummary.
        InvalidValueError: their ``as_of``, statuses or zone differ, or their id kinds.
    """
    check_mergeable(a, b, ("as_of", "statuses"), kind=SkuSummary, ids="pair_customer_ids")
    categories = merge_categories(a.categories, b.categories)
    sku = np.concatenate([a.skus, b.skus])
    cat = np.concatenate([a.sku_categories, b.sku_categories])
    # By SKU, then non-empty categories first, smallest first: each SKU's head row.
    order = np.lexsort((cat, cat == "", sku))
    sku, cat = sku[order], cat[order]
    head = np.ones(len(sku), dtype=np.bool_)
    head[1:] = sku[1:] != sku[:-1]
    keys, ids, first, second = merge_pair_days(
        (a.pair_skus, a.pair_customer_ids, a.first_day, a.second_day),
        (b.pair_skus, b.pair_customer_ids, b.first_day, b.second_day))
    return SkuSummary(
        skus=read_only(sku[head]), sku_categories=read_only(cat[head]), pair_skus=read_only(keys),
        pair_customer_ids=read_only(ids), first_day=read_only(first), second_day=read_only(second),
        categories=categories, as_of=a.as_of, statuses=a.statuses, tz=a.tz,
    )


def sku_cycles_from_summary(
    skus: SkuSummary,
    summary: CustomerSummary,
    *,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
) -> CycleTable:
    """Repurchase cycles per SKU, equal to :func:`ecrm.lifecycle.cycles_by` with
    ``by="sku"`` (``same_day="merge"``) on the whole log: each SKU's own P50/P70/P90,
    falling back to its category's, then the store's (from ``summary``), then ``fallback``.

    Args:
        skus: the merged SKU summary of every order.
        summary: the merged store summary of the same orders (same ``as_of``, statuses).
        method, min_repurchasers, fallback: as :func:`ecrm.lifecycle.cycles_by`.

    Returns:
        A :class:`~ecrm.lifecycle.CycleTable` by SKU.

    Raises:
        InvalidTypeError: arguments of the wrong type.
        InvalidValueError: the two summaries' ``as_of``, statuses or zone differ; an
            unknown ``method``; ``min_repurchasers`` < 1; a fallback without boundaries.
    """
    if not isinstance(skus, SkuSummary):
        raise InvalidTypeError(f"skus must be a SkuSummary, got {type(skus).__name__}")
    min_rep, fb, store = check_cycle_arguments(skus, summary, method, min_repurchasers,
                                               fallback)
    own = pair_quantiles(skus.skus, skus.pair_skus, skus.first_day, skus.second_day, method,
                         skus.as_of, skus.tz)
    cats = skus.categories
    cat_names = cats.categories
    has_cat = skus.sku_categories != ""
    sku_cat = np.full(len(skus.skus), -1, dtype=np.int64)
    sku_cat[has_cat] = np.searchsorted(cat_names, skus.sku_categories[has_cat])
    cat = pair_quantiles(cat_names, cats.pair_categories, cats.first_day, cats.second_day,
                         method, cats.as_of, cats.tz) if len(cat_names) else None
    categories, category_scope = sku_fallbacks(sku_cat, cat_names, cat, min_rep)
    return cycle_table(
        "sku", skus.skus, own, store, categories=categories, category_scope=category_scope,
        method=method, same_day="merge", min_repurchasers=min_rep, fallback=fb,
        as_of=skus.as_of,
    )
