"""Repurchase cycles per SKU or per category, for a whole shop in one vectorised pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm.errors import InvalidValueError
from ecrm.lifecycle._cycle import (
    METHODS,
    SAME_DAY,
    Bands,
    Fallback,
    Method,
    RepurchaseCycle,
    SameDay,
    check_choice,
    check_fallback,
    check_log,
    check_min_repurchasers,
    check_rows,
    repurchase_cycle,
)
from ecrm.lifecycle._kernels import (
    NONE_DAYS,
    AsOf,
    GroupQuantiles,
    as_of_for,
    km_quantiles,
    observed_quantiles,
    subject_events,
    valid_before,
)

__all__ = ["CycleTable", "cycles_by"]

IntArray = npt.NDArray[np.int64]
By = Literal["sku", "category"]


@attrs.frozen(eq=False)
class CycleTable(ResultFrame):
    """Repurchase cycles of every SKU (or category) of a shop, with the scope that answered.

    Row ``i`` describes ``keys[i]``. Groups with fewer than ``min_repurchasers``
    repurchasers take their boundaries from the next scope: SKU → its category → the store
    → the given default; ``scopes[i]`` says which one answered.

    Attributes:
        by: "sku" or "category".
        keys: str, shape (n,), sorted: every SKU / non-empty category in the log's lines.
        p_days: int64, shape (n, 3): P50, P70, P90 in days, −1 where no scope had any.
        estimate_days: int64, shape (n, 3): the group's own P50/P70/P90 (−1 without any
            repurchaser of the group).
        n_first_time_buyers: int64, shape (n,): customers who bought the group before ``as_of``.
        n_repurchasers: int64, shape (n,): those who bought it again on a later purchase.
        scopes: str, shape (n,): "sku:<key>", "category:<name>", "store" or the default's scope.
        categories: str, shape (n,), the category used as each SKU's fallback ("" when none);
            ``None`` for a table by category.
        store: the store-wide cycle (no fallback applied), the next-to-last scope.
        method, same_day, min_repurchasers, as_of: as passed.
    """

    by: str
    keys: npt.NDArray[np.str_]
    p_days: IntArray
    estimate_days: IntArray
    n_first_time_buyers: IntArray
    n_repurchasers: IntArray
    scopes: npt.NDArray[np.str_]
    categories: npt.NDArray[np.str_] | None
    store: RepurchaseCycle
    method: str
    same_day: str
    min_repurchasers: int
    as_of: dt.datetime

    def __attrs_post_init__(self) -> None:
        check_choice("CycleTable.by", self.by, ("sku", "category"))
        columns = {"keys": self.keys, "n_first_time_buyers": self.n_first_time_buyers,
                   "n_repurchasers": self.n_repurchasers, "scopes": self.scopes}
        texts: tuple[str, ...] = ("keys", "scopes")
        if self.categories is not None:
            columns["categories"] = self.categories
            texts += ("categories",)
        n = check_rows("CycleTable", columns, ints=("n_first_time_buyers", "n_repurchasers"),
                       texts=texts)
        for name in ("p_days", "estimate_days"):
            values = getattr(self, name)
            shape = getattr(values, "shape", None)
            if shape != (n, 3) or values.dtype.kind not in "iu":
                raise InvalidValueError(f"CycleTable.{name}", f"must be an int array of shape "
                                        f"({n}, 3) (P50, P70, P90 per key)",
                                        f"shape {shape}" if shape is not None else values)

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        own = int(np.count_nonzero(np.char.startswith(self.scopes, f"{self.by}:"))) if len(self) else 0
        return (
            f"CycleTable({len(self):,} {self.by} keys, {own:,} with their own cycle, "
            f"method={self.method!r}, as_of={self.as_of.isoformat()})"
        )

    def __contains__(self, key: object) -> bool:
        try:
            self.index(key)
        except KeyError:
            return False
        return True

    def index(self, key: object) -> int:
        """The row of ``key``.

        Raises:
            KeyError: the key is not in the table.
        """
        if not isinstance(key, str):
            raise KeyError(key)
        pos = int(np.searchsorted(self.keys, key))
        if pos >= len(self.keys) or self.keys[pos] != key:
            raise KeyError(key)
        return pos

    def _columns(self) -> dict[str, Any]:
        """``<by> (sku or category), [category,] p50_days, p70_days, p90_days,
        estimate_p50_days, estimate_p70_days, estimate_p90_days, n_first_time_buyers,
        n_repurchasers, scope``: one row per key; days are missing where no scope had any
        repurchaser (``category`` only in a table by SKU, missing for SKUs without one)."""
        cols: dict[str, Any] = {self.by: self.keys}
        if self.categories is not None:
            cols["category"] = nullable(self.categories, self.categories == "")
        for j, p in enumerate(("p50", "p70", "p90")):
            cols[f"{p}_days"] = nullable(self.p_days[:, j], self.p_days[:, j] == NONE_DAYS)
        for j, p in enumerate(("p50", "p70", "p90")):
            est = self.estimate_days[:, j]
            cols[f"estimate_{p}_days"] = nullable(est, est == NONE_DAYS)
        cols["n_first_time_buyers"] = self.n_first_time_buyers
        cols["n_repurchasers"] = self.n_repurchasers
        cols["scope"] = self.scopes
        return cols

    @property
    def p50_days(self) -> IntArray:
        """int64, shape (n,): P50 per row (−1 where none)."""
        return self.p_days[:, 0]

    def bands(self, key: str) -> Bands:
        """The boundaries that answered for ``key``.

        Raises:
            KeyError: unknown key.
            InvalidValueError: no scope had any repurchaser and no default was given.
        """
        return self.cycle(key).bands

    def cycle(self, key: str) -> RepurchaseCycle:
        """The cycle of one key as a :class:`RepurchaseCycle` (without a curve)."""
        i = self.index(key)
        p = [int(v) for v in self.p_days[i]]
        est = self.estimate_days[i]
        n_buyers = int(self.n_first_time_buyers[i])
        n_rep = int(self.n_repurchasers[i])
        return RepurchaseCycle(
            p50_days=None if p[0] == NONE_DAYS else p[0],
            p70_days=None if p[1] == NONE_DAYS else p[1],
            p90_days=None if p[2] == NONE_DAYS else p[2],
            n_first_time_buyers=n_buyers,
            n_repurchasers=n_rep,
            repurchase_rate=n_rep / n_buyers if n_buyers else 0.0,
            curve_days=(),
            curve_share=(),
            method=self.method,
            same_day=self.same_day,
            scope=str(self.scopes[i]),
            min_repurchasers=self.min_repurchasers,
            estimate=None if est[0] == NONE_DAYS else Bands(int(est[0]), int(est[1]), int(est[2])),
            as_of=self.as_of,
        )


def _items_of(log: OrderLog, by: str) -> OrderItems:
    items = log.items
    if items is None or items.order_rows is None:
        raise InvalidValueError(
            "orders.items",
            f"are needed for cycles by {by} (build the log with order lines)",
            None,
            show_value=False,
        )
    return items


#: Multiplier of the polynomial hash that factorises label columns.
_HASH_MUL: Final = np.uint64(0x100000001B3)


def factorize(labels: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], IntArray]:
    """Sorted distinct labels and the code of each label (``keys[codes] == labels``).

    Strings compare slowly, so each label is first hashed (a polynomial over its UTF-32
    code units, vectorised per character position) and the distinct hashes are found among
    integers; the result is checked exactly, and a hash collision falls back to sorting
    the strings themselves.
    """
    n = len(labels)
    labels = np.ascontiguousarray(labels)
    width = labels.dtype.itemsize // 4
    if n == 0 or labels.dtype.kind != "U" or width == 0:
        keys = np.unique(labels)
        return keys, np.searchsorted(keys, labels).astype(np.int64)
    units = labels.view(np.uint32).reshape(n, width)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(width):
        np.multiply(h, _HASH_MUL, out=h)
        np.bitwise_xor(h, units[:, j], out=h)
    distinct = np.unique(h)
    inverse = np.searchsorted(distinct, h)
    first = np.empty(len(distinct), dtype=np.int64)
    first[inverse] = np.arange(n)  # any row of each hash is a representative
    reps = labels[first]
    if not np.array_equal(reps[inverse], labels):  # a collision: fall back to strings
        keys = np.unique(labels)
        return keys, np.searchsorted(keys, labels).astype(np.int64)
    order = np.argsort(reps, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return reps[order], rank[inverse]


def group_quantiles(
    log: OrderLog,
    items: OrderItems,
    codes: IntArray,
    n_groups: int,
    when: AsOf,
    statuses: Any,
    same_day: str,
    method: str,
) -> GroupQuantiles:
    """P50/P70/P90 per group, where a customer's purchase days in a group are the days they
    bought a line of that group. ``codes``: int64 group of each line, −1 to leave it out."""
    assert items.order_rows is not None
    rows_all = items.order_rows
    ok = valid_before(log, when.us, statuses)[rows_all] & (codes >= 0)
    lines = np.flatnonzero(ok)
    g = codes[lines]
    rows = rows_all[lines]
    order = np.argsort(g, kind="stable")  # lines stay in log-row order (customer, time)
    g, rows = g[order], rows[order]
    c = log.customer_codes[rows]
    day = log.placed_day[rows]
    n = len(g)
    same = np.zeros(n, dtype=bool)
    if n:
        same[1:] = (g[1:] == g[:-1]) & (c[1:] == c[:-1])
        if np.any(same[1:] & (day[1:] < day[:-1])):  # a DST change at midnight (rare)
            o2 = np.lexsort((day, c, g))
            g, rows, c, day = g[o2], rows[o2], c[o2], day[o2]
            same[1:] = (g[1:] == g[:-1]) & (c[1:] == c[:-1])
    count_each = None
    if same_day == "count":
        # Several lines of one order are one purchase of the group.
        count_each = np.ones(n, dtype=bool)
        count_each[1:] = rows[1:] != rows[:-1]
    ev = subject_events(~same, day, count_each=count_each)
    subject_group = g[ev.starts]
    if method == "observed":
        return observed_quantiles(subject_group, ev.has_second, ev.interval_days, n_groups)
    time = when.day - ev.first_day
    time[ev.has_second] = ev.interval_days
    q, _runs = km_quantiles(subject_group, time, ev.has_second, n_groups)
    return q


def _sku_categories(sku_codes: IntArray, n_skus: int, cat_codes: IntArray) -> IntArray:
    """Each SKU's category code: the smallest non-empty one among its lines (−1 if none).

    ``cat_codes`` are −1 for lines without a category; codes follow the sorted names, so
    the smallest code is the smallest name.
    """
    out = np.full(n_skus, np.iinfo(np.int64).max, dtype=np.int64)
    has = cat_codes >= 0
    np.minimum.at(out, sku_codes[has], cat_codes[has])
    out[out == np.iinfo(np.int64).max] = -1
    return out


def category_codes(categories: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], IntArray]:
    """The sorted non-empty categories of some lines and each line's code into them (−1
    for a line without a category)."""
    cat_names, cat_codes = factorize(categories)
    if len(cat_names) and cat_names[0] == "":  # "" sorts first: lines without a category
        cat_names = cat_names[1:]
        cat_codes = cat_codes - 1
    return cat_names, cat_codes


def sku_fallbacks(
    sku_cat: IntArray,
    cat_names: npt.NDArray[np.str_],
    cat: GroupQuantiles | None,
    min_repurchasers: int,
) -> tuple[npt.NDArray[np.str_], tuple[npt.NDArray[np.bool_], IntArray, npt.NDArray[Any]] | None]:
    """Each SKU's category name (``""`` when none) and the category scope of
    :func:`cycle_table` (``None`` without categories).

    Args:
        sku_cat: int64, shape (n,): each SKU's category code into ``cat_names``, −1 if none.
        cat_names: the sorted non-empty categories.
        cat: the quantiles per category (``None`` when there are none).
        min_repurchasers: the fewest repurchasers for a category to answer.
    """
    categories = np.full(len(sku_cat), "", dtype=cat_names.dtype if len(cat_names) else "U1")
    categories[sku_cat >= 0] = cat_names[sku_cat[sku_cat >= 0]]
    if cat is None:
        return categories, None
    ci = np.maximum(sku_cat, 0)
    cat_ok = (sku_cat >= 0) & (cat.n_events[ci] >= min_repurchasers)
    cat_scopes = np.asarray([f"category:{k}" for k in categories.tolist()], dtype=object)
    return categories, (cat_ok, cat.p[ci], cat_scopes)


def cycles_by(
    orders: OrderLog,
    *,
    by: By = "sku",
    as_of: dt.datetime,
    method: Method = "observed",
    same_day: SameDay = "merge",
    min_repurchasers: int = 30,
    fallback: Fallback = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> CycleTable:
    """Repurchase cycles of every SKU or category of a shop, with fallback for thin groups.

    A customer's purchase days within a group are the days they bought a line of that group
    (a valid order placed before ``as_of``). The quantiles per group are those of
    :func:`repurchase_cycle` (same ``method`` and ``same_day``). Groups with fewer than
    ``min_repurchasers`` repurchasers take the first scope that has enough: SKU → its
    category → the store → ``fallback``; without a fallback, the store's own estimate
    answers even when thin.

    Args:
        orders: an order log with order lines (``items``).
        by: "sku" or "category" (lines with an empty category are left out).
        as_of, method, same_day, min_repurchasers, fallback, statuses: as for
            :func:`repurchase_cycle`.

    Returns:
        A :class:`CycleTable`, one row per SKU / category found in the log's lines.

    Raises:
        InvalidValueError: the log has no order lines, unknown ``by`` / ``method`` /
            ``same_day``, ``min_repurchasers < 1``.
    """
    log = check_log(orders)
    when = as_of_for(log, as_of)
    check_choice("by", by, ("sku", "category"))
    check_choice("method", method, METHODS)
    check_choice("same_day", same_day, SAME_DAY)
    min_rep = check_min_repurchasers(min_repurchasers)
    fb = check_fallback(fallback)
    items = _items_of(log, by)
    statuses = None if statuses is None else tuple(statuses)  # used three times
    store = repurchase_cycle(
        log, as_of=when.when, method=method, same_day=same_day,
        min_repurchasers=min_rep, statuses=statuses,
    )
    cat_names, cat_codes = category_codes(items.categories)
    if by == "sku":
        keys, codes = factorize(items.skus)
    else:
        keys, codes = cat_names, cat_codes
    own = group_quantiles(log, items, codes, len(keys), when, statuses, same_day, method)
    n = len(keys)
    categories = None
    category_scope = None
    if by == "sku":
        sku_cat = _sku_categories(codes, n, cat_codes)
        cat = group_quantiles(
            log, items, cat_codes, len(cat_names), when, statuses, same_day, method
        ) if len(cat_names) else None
        categories, category_scope = sku_fallbacks(sku_cat, cat_names, cat, min_rep)
    return cycle_table(
        by, keys, own, store, categories=categories, category_scope=category_scope,
        method=method, same_day=same_day, min_repurchasers=min_rep, fallback=fb,
        as_of=when.when,
    )


def cycle_table(
    by: str,
    keys: npt.NDArray[np.str_],
    own: GroupQuantiles,
    store: RepurchaseCycle,
    *,
    categories: npt.NDArray[np.str_] | None,
    category_scope: tuple[npt.NDArray[np.bool_], IntArray, npt.NDArray[Any]] | None,
    method: str,
    same_day: str,
    min_repurchasers: int,
    fallback: tuple[Bands, str] | None,
    as_of: dt.datetime,
) -> CycleTable:
    """A :class:`CycleTable` from each group's own quantiles, taking the first scope with
    enough repurchasers: the group → (for SKUs) its category → the store → ``fallback`` →
    the store's own estimate. The one fallback rule of every path (a log, summaries)."""
    min_rep, fb = min_repurchasers, fallback
    n = len(keys)
    p = np.full((n, 3), NONE_DAYS, dtype=np.int64)
    scopes = np.full(n, "", dtype=object)
    decided = np.zeros(n, dtype=bool)

    def take(rows: npt.NDArray[np.bool_], values: Any, scope: Any) -> None:
        rows = rows & ~decided
        p[rows] = values[rows] if np.ndim(values) == 2 else values
        scopes[rows] = scope[rows] if isinstance(scope, np.ndarray) else scope
        decided[rows] = True

    own_scopes = np.asarray([f"{by}:{k}" for k in keys.tolist()], dtype=object)
    take(own.n_events >= min_rep, own.p, own_scopes)
    if category_scope is not None:
        take(*category_scope)
    store_p = np.asarray(
        [NONE_DAYS] * 3 if store.estimate is None else store.estimate.as_tuple(), dtype=np.int64
    )
    all_rows = np.ones(n, dtype=bool)
    if store.n_repurchasers >= min_rep:
        take(all_rows, store_p, "store")
    if fb is not None:
        bands, scope = fb
        take(all_rows, np.asarray(bands.as_tuple(), dtype=np.int64), scope)
    take(all_rows, store_p, "store")
    return CycleTable(
        by=by,
        keys=keys,
        p_days=p,
        estimate_days=own.p,
        n_first_time_buyers=own.n_subjects,
        n_repurchasers=own.n_events,
        scopes=scopes.astype(str) if n else np.zeros(0, dtype="U1"),
        categories=categories,
        store=store,
        method=method,
        same_day=same_day,
        min_repurchasers=min_rep,
        as_of=as_of,
    )
