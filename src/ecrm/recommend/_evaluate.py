"""A time-split holdout: fit before a date, score hit rate@k and recall@k on the next days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import require_aware
from ecrm.errors import InvalidValueError
from ecrm.recommend._associations import (
    MAX_DAYS,
    Basis,
    Lines,
    _check_int,
    associations,
    purchase_lines,
    sku_categories,
)
from ecrm.recommend._kernels import cross_pairs, group_starts
from ecrm.recommend._recommend import _codes_in, recommend

__all__ = ["HoldoutResult", "evaluate_holdout"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen(eq=False, repr=False)
class HoldoutResult(ResultFrame):
    """Hit rate@k and recall@k of the recommender and two baselines on a time split.

    Attributes:
        methods: the methods compared: ``recommend``, ``popularity``, ``same_category``.
        hit_rate: float64, shape (3,): share of evaluated customers with at least one
            recommended item among the new items they bought in the horizon.
        recall: float64, shape (3,): mean over evaluated customers of (new items bought
            and recommended) / (new items bought).
        n_customers: customers evaluated: bought before ``split`` and bought at least one
            item new to them in ``[split, split + horizon_days)``.
        k, split, horizon_days: as passed.
    """

    methods: tuple[str, ...]
    hit_rate: FloatArray
    recall: FloatArray
    n_customers: int
    k: int
    split: dt.datetime
    horizon_days: int

    def __len__(self) -> int:
        return len(self.methods)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{m} hit@{self.k}={h:.3f} recall@{self.k}={r:.3f}"
            for m, h, r in zip(self.methods, self.hit_rate.tolist(), self.recall.tolist(), strict=True)
        )
        return f"HoldoutResult({self.n_customers:,} customers, {parts})"

    def _columns(self) -> dict[str, Any]:
        """``method, k, n_customers, hit_rate, recall``: one row per method."""
        n = len(self.methods)
        return {
            "method": np.asarray(self.methods, dtype=str),
            "k": np.full(n, self.k, dtype=np.int64),
            "n_customers": np.full(n, self.n_customers, dtype=np.int64),
            "hit_rate": self.hit_rate,
            "recall": self.recall,
        }


def _metrics(hit_code: IntArray, truth: IntArray, n_items: int) -> tuple[float, float]:
    """Hit rate and mean recall from the hit (customer·n_items + item) codes and the truth codes."""
    cust = truth // n_items
    customers, per_customer = np.unique(cust, return_counts=True)
    if not len(customers):
        return float("nan"), float("nan")
    hits = np.isin(truth, hit_code)
    hit_count = np.bincount(np.searchsorted(customers, cust[hits]), minlength=len(customers))
    return float(np.mean(hit_count > 0)), float(np.mean(hit_count / per_customer))


def _ranked_hits(
    truth: IntArray, owned: IntArray, rank: IntArray, n_items: int, k: int,
    pool_before: IntArray | None = None, in_pool: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """The truth codes a ranked list (global ``rank`` per item, −1 = never listed) puts in a
    customer's top-k after leaving out what they own: an item is listed at
    ``(items listed before it) − (owned items listed before it)``."""
    c, b = truth // n_items, truth % n_items
    r = rank[b]
    listed = r >= 0 if in_pool is None else (r >= 0) & in_pool
    # Owned items are listed (they have buyers), so each has a rank.
    ranked_owned = np.sort((owned // n_items) * (n_items + 1) + rank[owned % n_items])
    base = c * (n_items + 1)
    before_owned = np.searchsorted(ranked_owned, base + r) - np.searchsorted(ranked_owned, base)
    before = r if pool_before is None else pool_before
    position = before - before_owned
    return truth[listed & (position < k)]


def evaluate_holdout(
    orders: OrderLog,
    *,
    split: dt.datetime,
    horizon_days: int = 30,
    k: int = 5,
    basis: Basis = "days",
    within_days: int = 14,
    min_count: int = 2,
    shrink: float = 10.0,
    fallback: bool = True,
    fill: bool = False,
    statuses: Iterable[OrderStatus] | None = None,
) -> HoldoutResult:
    """Fit on the orders before ``split``; score the next ``horizon_days`` days.

    The truth of a customer is the set of SKUs they bought in ``[split, split +
    horizon_days)`` that they had not bought before ``split``; only customers with a purchase
    before ``split`` and a non-empty truth are evaluated. Each method lists ``k`` SKUs the
    customer does not own:

    - ``recommend``: :func:`recommend` with rules from :func:`associations` (``basis``,
      ``within_days``, ``min_count``, ``shrink``), with ``fallback`` category rules, and
      with ``fill`` the popularity fill;
    - ``popularity``: the SKUs with the most buyers before ``split`` (ties by SKU);
    - ``same_category``: the same ranking, within the categories the customer bought.

    Args:
        orders: an order log with lines covering both periods.
        split: the moment that separates fitting from scoring.
        horizon_days: days scored after ``split`` (>= 1).
        k: items listed per customer (>= 1).
        basis, within_days, min_count, shrink: passed to :func:`associations`.
        fallback: also fit category rules for the recommender's fallback.
        fill: let the recommender fill short lists from popularity (see :func:`recommend`).
        statuses: the valid order statuses.

    Returns:
        A :class:`HoldoutResult` with rows ``recommend``, ``popularity``, ``same_category``.

    Raises:
        InvalidValueError: ``horizon_days`` outside 1..36,500, a bad ``k``, or a log without
            lines.
        InvalidTypeError: ``split`` is not an aware datetime.
    """
    _check_int("horizon_days", horizon_days, 1, MAX_DAYS)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidValueError("k", "must be an integer >= 1", k)
    end = require_aware(split, "split") + dt.timedelta(days=horizon_days)
    rules = associations(orders, as_of=split, basis=basis, within_days=within_days,
                         min_count=min_count, shrink=shrink, statuses=statuses)
    fb = (associations(orders, as_of=split, basis=basis, within_days=within_days, by="category",
                       min_count=min_count, shrink=shrink, statuses=statuses) if fallback else None)
    recs = recommend(orders, rules, as_of=split, k=k, fallback_rules=fb, fill=fill,
                     statuses=statuses)
    everything = purchase_lines(orders, end, "sku", statuses)
    keys, n_items = everything.keys, max(len(everything.keys), 1)
    cut = orders.instant_us(split)
    before = orders.placed_at_us[everything.order_row] < cut
    owned = np.unique(everything.customer[before] * n_items + everything.item[before])
    fitted_customers = np.unique(everything.customer[before])
    later = np.unique(everything.customer[~before] * n_items + everything.item[~before])
    truth = later[~np.isin(later, owned) & np.isin(later // n_items, fitted_customers)]

    rec_code = _customer_codes_of(orders, recs.customer_ids) * n_items + _codes_in(keys, recs.skus)
    hit_rate = [0.0, 0.0, 0.0]
    recall = [0.0, 0.0, 0.0]
    hit_rate[0], recall[0] = _metrics(rec_code, truth, n_items)

    buyers = np.bincount(owned % n_items, minlength=n_items)
    by_popularity = np.lexsort((np.arange(n_items), -buyers))
    rank = np.full(n_items, -1, dtype=np.int64)
    rank[by_popularity] = np.arange(n_items)
    rank[buyers == 0] = -1
    pop_hits = _ranked_hits(truth, owned, rank, n_items, k)
    hit_rate[1], recall[1] = _metrics(pop_hits, truth, n_items)

    cat_hits = _same_category_hits(orders, everything, truth, owned, rank, n_items, k)
    hit_rate[2], recall[2] = _metrics(cat_hits, truth, n_items)
    return HoldoutResult(
        methods=("recommend", "popularity", "same_category"),
        hit_rate=np.asarray(hit_rate, dtype=np.float64),
        recall=np.asarray(recall, dtype=np.float64),
        n_customers=len(np.unique(truth // n_items)),
        k=k,
        split=split,
        horizon_days=horizon_days,
    )


def _customer_codes_of(orders: OrderLog, ids: npt.NDArray[Any]) -> IntArray:
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    return np.searchsorted(orders.customer_ids, ids).astype(np.int64)


def _same_category_hits(
    orders: OrderLog, lines: Lines, truth: IntArray, owned: IntArray, rank: IntArray,
    n_items: int, k: int,
) -> IntArray:
    """Truth codes in the customer's top-k of the popularity list cut to their categories."""
    skus, cats = sku_categories(orders)
    cat_keys = np.unique(cats[cats != ""]) if len(cats) else np.zeros(0, "U1")
    item_cat = np.full(n_items, -1, dtype=np.int64)
    pos = _codes_in(lines.keys, skus)
    item_cat[pos[pos >= 0]] = _codes_in(cat_keys, cats[pos >= 0])
    n_cats = max(len(cat_keys), 1)
    # The pool's owned items: owned and in a category; owned items always have a rank.
    owned_cat = item_cat[owned % n_items]
    cust_cats = np.unique((owned // n_items)[owned_cat >= 0] * n_cats + owned_cat[owned_cat >= 0])
    in_pool = np.isin((truth // n_items) * n_cats + item_cat[truth % n_items], cust_cats) & (item_cat[truth % n_items] >= 0)
    # Items listed before r in the customer's categories: per category, ranks sorted.
    listed = np.flatnonzero((rank >= 0) & (item_cat >= 0))
    cat_rank = np.sort(item_cat[listed] * (n_items + 1) + rank[listed])
    c, b = truth // n_items, truth % n_items
    r = np.where(rank[b] >= 0, rank[b], n_items)
    cc = cust_cats // n_cats
    if len(c) and len(cc):
        starts = group_starts(cc, max(int(c.max()), int(cc.max())) + 1)
        left, right = cross_pairs(c, starts)
        cat = cust_cats[right] % n_cats
        counts = np.searchsorted(cat_rank, cat * (n_items + 1) + r[left]) - np.searchsorted(cat_rank, cat * (n_items + 1))
        pool_before = np.bincount(left, weights=counts, minlength=len(c)).astype(np.int64)
    else:
        pool_before = np.zeros(len(c), dtype=np.int64)
    pool_owned = owned[owned_cat >= 0]
    return _ranked_hits(truth, pool_owned, rank, n_items, k, pool_before, in_pool)
