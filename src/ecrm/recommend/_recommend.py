"""Per-customer top-k recommendations from association rules, with a category fallback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._events import EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import local_day, local_days
from ecrm.errors import InvalidValueError, UnknownCustomerError
from ecrm.recommend._associations import Associations, purchase_lines, sku_categories
from ecrm.recommend._kernels import cross_pairs, group_starts

if TYPE_CHECKING:
    from ecrm.lifecycle import CycleTable

__all__ = ["Recommendations", "recommend"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@attrs.frozen(eq=False, repr=False)
class Recommendations(ResultFrame):
    """Each customer's top-k items, best first, with the rule behind each.

    Rows are grouped by customer (in the order log's customer order) and ranked within.

    Attributes:
        customer_ids: shape (n,): the customer of each row.
        ranks: int64, shape (n,): 1 for the best item of the customer.
        skus: str, shape (n,): the recommended item.
        scores: float64, shape (n,): the rule's score (see :class:`Associations`).
        because: str, shape (n,): the antecedent that suggested it (a SKU, or a category
            for a fallback row).
        fallback: bool, shape (n,): True where a category-level rule answered.
        rule_rows: int64, shape (n,): the row of the rule in ``rules`` (or in
            ``fallback_rules`` where ``fallback``).
        due: bool, shape (n,): the customer owns the item already and its repurchase is due.
        rules, fallback_rules: the association tables used.
        k, as_of, min_score: as passed.
    """

    customer_ids: npt.NDArray[Any]
    ranks: IntArray
    skus: npt.NDArray[np.str_]
    scores: FloatArray
    because: npt.NDArray[np.str_]
    fallback: BoolArray
    rule_rows: IntArray
    due: BoolArray
    rules: Associations
    fallback_rules: Associations | None
    k: int
    as_of: dt.datetime
    min_score: float = 0.0

    def __len__(self) -> int:
        return len(self.skus)

    def __repr__(self) -> str:
        n = len(np.unique(self.customer_ids)) if len(self.customer_ids) else 0
        return (f"Recommendations({len(self):,} items for {n:,} customers, k={self.k}, "
                f"as_of={self.as_of.isoformat()})")

    def _columns(self) -> dict[str, Any]:
        """``customer_id, rank, sku, score, because, fallback, due``: one row per item."""
        return {
            "customer_id": self.customer_ids,
            "rank": self.ranks,
            "sku": self.skus,
            "score": self.scores,
            "because": self.because,
            "fallback": self.fallback,
            "due": self.due,
        }

    def _rows(self, customer_id: Any) -> npt.NDArray[np.intp]:
        ids = self.customer_ids
        if isinstance(customer_id, bool) or not isinstance(customer_id, str | int | np.integer):
            raise UnknownCustomerError(f"no recommendations for customer {customer_id!r}")
        if len(ids) and (ids.dtype.kind == "U") != isinstance(customer_id, str):
            raise UnknownCustomerError(f"no recommendations for customer {customer_id!r}")
        return np.flatnonzero(ids == customer_id) if len(ids) else np.zeros(0, np.intp)

    def for_customer(self, customer_id: Any) -> list[str]:
        """The customer's recommended SKUs, best first (empty when none)."""
        return [str(x) for x in self.skus[self._rows(customer_id)]]

    def explain(self, customer_id: Any) -> str:
        """Why each item was recommended to the customer, one line per item.

        Raises:
            UnknownCustomerError: the customer has no recommendation.
        """
        rows = self._rows(customer_id)
        if not rows.size:
            raise UnknownCustomerError(f"no recommendations for customer {customer_id!r}")
        lines = []
        for i in rows.tolist():
            sku = str(self.skus[i])
            if self.fallback[i]:
                assert self.fallback_rules is not None
                why = self.fallback_rules.explain_row(int(self.rule_rows[i]))
                why += f"; {sku} is a best seller of {self.fallback_rules.consequents[self.rule_rows[i]]}"
            else:
                why = self.rules.explain_row(int(self.rule_rows[i]))
            if self.due[i]:
                why += f"; you bought {sku} before and its repurchase is due"
            lines.append(f"{int(self.ranks[i])}. {sku} — {why}")
        return "\n".join(lines)


def _codes_in(keys: npt.NDArray[np.str_], labels: npt.NDArray[np.str_]) -> IntArray:
    """The position of each label in the sorted ``keys``, −1 where absent."""
    if not len(keys):
        return np.full(len(labels), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, labels), len(keys) - 1)
    return np.where(keys[pos] == labels, pos, -1).astype(np.int64)


def _expand(
    cust: IntArray, ante: IntArray, rules: Associations, keys: npt.NDArray[np.str_]
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Candidates ``(customer, consequent code, score, rule row)`` of every (customer,
    antecedent label code over ``keys``) through ``rules``."""
    uniq, starts_at = np.unique(rules.antecedents, return_index=True)
    group = _codes_in(uniq, keys[ante]) if len(ante) else np.zeros(0, np.int64)
    have = group >= 0
    cust, group = cust[have], group[have]
    starts = np.append(starts_at, len(rules)).astype(np.int64)
    left, rule = cross_pairs(group, starts)
    return cust[left], rule, rules.score[rule], rule


def recommend(
    orders: OrderLog,
    rules: Associations,
    *,
    as_of: dt.datetime,
    k: int = 5,
    events: EventLog | None = None,
    recent_days: int = 30,
    cycles: CycleTable | None = None,
    exclude: Iterable[str] = (),
    fallback_rules: Associations | None = None,
    min_score: float = 0.0,
    statuses: Iterable[OrderStatus] | None = None,
) -> Recommendations:
    """Each customer's top-``k`` items from association rules.

    A customer's antecedents are the SKUs they bought (valid orders before ``as_of``) and,
    with ``events``, the SKUs they viewed, carted or favourited in the ``recent_days``
    before ``as_of``. Each rule from an antecedent proposes its consequent with the rule's
    score; only rules scoring above ``min_score`` propose (the default 0 keeps the rules
    that raise the chance of buying, lift above 1); an item proposed twice keeps its best
    score. Items the customer already bought
    are left out, unless ``cycles`` (a :func:`ecrm.lifecycle.cycles_by` table by SKU) gives
    the item a P50 cycle and the customer's last purchase of it is at least that many days
    before ``as_of`` (a consumable whose repurchase is due). Items in ``exclude`` (out of
    stock, not for promotion) never appear. When fewer than ``k`` items remain,
    ``fallback_rules`` (rules by category) fill up: from each category the customer bought,
    each consequent category proposes its best-selling SKUs (buyers before ``as_of``) with
    the category rule's score; fallback rows rank after every item-level row.

    All of it runs as numpy over (customer, item) codes: no Python loop per customer.

    Args:
        orders: the order log with lines (the one the rules came from, or a later one).
        rules: item-level rules (``by="sku"``).
        as_of: recommendations for this moment.
        k: items per customer (>= 1).
        events: behaviour events that add antecedents.
        recent_days: how far back events count (>= 0 days).
        cycles: per-SKU repurchase cycles; without it nothing bought is recommended again.
        exclude: SKUs never to recommend.
        fallback_rules: category-level rules (``by="category"``).
        min_score: rules with a score at or below it propose nothing.
        statuses: the valid order statuses.

    Returns:
        A :class:`Recommendations` table.

    Raises:
        InvalidValueError: a bad ``k`` or ``recent_days``, rules of the wrong level, or a
            log without order lines.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidValueError("k", "must be an integer >= 1", k)
    if isinstance(recent_days, bool) or not isinstance(recent_days, int) or recent_days < 0:
        raise InvalidValueError("recent_days", "must be an integer >= 0", recent_days)
    if not isinstance(rules, Associations) or rules.by != "sku":
        raise InvalidValueError("rules", "must be Associations by 'sku'", getattr(rules, "by", rules))
    if fallback_rules is not None and (
        not isinstance(fallback_rules, Associations) or fallback_rules.by != "category"
    ):
        raise InvalidValueError(
            "fallback_rules", "must be Associations by 'category'", getattr(fallback_rules, "by", fallback_rules)
        )
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or np.isnan(min_score):
        raise InvalidValueError("min_score", "must be a number", min_score)
    excluded = [str(s) for s in exclude]
    extra = np.concatenate([rules.consequents, rules.antecedents, np.asarray(excluded, dtype=str)])
    lines = purchase_lines(orders, as_of, "sku", statuses, extra)
    keys, n_items = lines.keys, len(lines.keys)
    today = local_day(as_of, orders.tz)

    # What each customer owns: (customer, item) → last purchase day.
    owned_code = lines.customer * n_items + lines.item
    order = np.lexsort((lines.day, owned_code))
    oc, od = owned_code[order], lines.day[order]
    last = np.ones(len(oc), dtype=bool)
    last[:-1] = oc[1:] != oc[:-1]
    owned, owned_last_day = oc[last], od[last]
    due_item = np.zeros(n_items, dtype=np.int64) - 1
    if cycles is not None:
        p50 = cycles.p50_days
        pos = _codes_in(keys, np.asarray(cycles.keys, dtype=str))
        ok = (pos >= 0) & (p50 >= 0)
        due_item[pos[ok]] = p50[ok]
    owned_item = owned % n_items if n_items else owned
    cycle_days = due_item[owned_item] if n_items else owned
    owned_due = (cycle_days >= 0) & (today - owned_last_day >= cycle_days)

    # Antecedents: bought items, and recent events.
    ante_c, ante_i = owned // max(n_items, 1), owned_item
    if events is not None:
        ante_c, ante_i = _with_events(orders, events, as_of, recent_days, keys, ante_c, ante_i)

    blocked = np.zeros(n_items, dtype=bool)
    if excluded:
        gone = _codes_in(keys, np.asarray(excluded, dtype=str))
        blocked[gone[gone >= 0]] = True

    c, rule, score, _ = _expand(ante_c, ante_i, rules, keys)
    item = _codes_in(keys, rules.consequents[rule])
    is_fb = np.zeros(len(c), dtype=bool)
    tie = np.zeros(len(c), dtype=np.int64)
    if fallback_rules is not None:
        fc, fi, fs, frule, frank = _fallback(orders, lines, keys, owned, fallback_rules, k)
        tie = np.concatenate([tie, frank])
        c, item, score = np.concatenate([c, fc]), np.concatenate([item, fi]), np.concatenate([score, fs])
        rule = np.concatenate([rule, frule])
        is_fb = np.concatenate([is_fb, np.ones(len(fc), dtype=bool)])
    code = c * n_items + item
    pos = np.searchsorted(owned, code)
    pos_c = np.minimum(pos, max(len(owned) - 1, 0))
    is_owned = (owned[pos_c] == code) if len(owned) else np.zeros(len(code), bool)
    due = is_owned & (owned_due[pos_c] if len(owned) else is_owned)
    keep = (~is_owned | due) & ~blocked[item] & (item >= 0) & (score > min_score)
    c, item, score, rule, is_fb, due, code, tie = (
        c[keep], item[keep], score[keep], rule[keep], is_fb[keep], due[keep], code[keep], tie[keep]
    )
    # Best rule per (customer, item): item-level rows before fallback, then by score.
    order = np.lexsort((rule, tie, -score, is_fb, code))
    first = np.ones(len(order), dtype=bool)
    first[1:] = code[order][1:] != code[order][:-1]
    pick = order[first]
    # Rank within customer.
    c, item, score, rule, is_fb, due, tie = (
        c[pick], item[pick], score[pick], rule[pick], is_fb[pick], due[pick], tie[pick]
    )
    # Best first; among fallback rows of one score, the better seller first.
    order = np.lexsort((item, tie, -score, is_fb, c))
    c, item, score, rule, is_fb, due = c[order], item[order], score[order], rule[order], is_fb[order], due[order]
    starts = group_starts(c, orders.n_customers)
    rank = np.arange(len(c), dtype=np.int64) - starts[c] if len(c) else np.zeros(0, np.int64)
    top = rank < k
    c, item, score, rule, is_fb, due, rank = (
        c[top], item[top], score[top], rule[top], is_fb[top], due[top], rank[top]
    )
    because = np.where(
        is_fb,
        fallback_rules.antecedents[np.where(is_fb, rule, 0)] if fallback_rules is not None and len(fallback_rules) else "",
        rules.antecedents[np.where(is_fb, 0, rule)] if len(rules) else "",
    ).astype(str)
    return Recommendations(
        customer_ids=orders.customer_ids[c],
        ranks=rank + 1,
        skus=keys[item] if len(item) else np.zeros(0, dtype="U1"),
        scores=score.astype(np.float64),
        because=because if len(because) else np.zeros(0, dtype="U1"),
        fallback=is_fb,
        rule_rows=rule.astype(np.int64),
        due=due,
        rules=rules,
        fallback_rules=fallback_rules,
        k=k,
        as_of=as_of,
        min_score=float(min_score),
    )


def _with_events(
    orders: OrderLog, events: EventLog, as_of: dt.datetime, recent_days: int,
    keys: npt.NDArray[np.str_], cust: IntArray, item: IntArray,
) -> tuple[IntArray, IntArray]:
    """Antecedents plus the SKUs of the customers' events in the ``recent_days`` before ``as_of``."""
    cut = orders.instant_us(as_of)
    today = local_day(as_of, orders.tz)
    days = local_days(events.at_us, orders.tz)
    ok = (events.at_us < cut) & (days >= today - recent_days) & (events.skus != "")
    sel = np.flatnonzero(ok)
    ids = events.customer_ids[events.customer_codes[sel]]
    c = _customer_codes(orders.customer_ids, ids)
    i = _codes_in(keys, events.skus[sel])
    have = (c >= 0) & (i >= 0)
    return np.concatenate([cust, c[have]]), np.concatenate([item, i[have]])


def _customer_codes(known: npt.NDArray[Any], ids: npt.NDArray[Any]) -> IntArray:
    if not len(known) or not len(ids) or known.dtype.kind != ids.dtype.kind:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return np.where(known[pos] == ids, pos, -1).astype(np.int64)


def _fallback(
    orders: OrderLog, lines: Any, keys: npt.NDArray[np.str_], owned: IntArray,
    rules: Associations, k: int,
) -> tuple[IntArray, IntArray, FloatArray, IntArray, IntArray]:
    """Fallback candidates ``(customer, item, score, rule row, seller rank)``: the best
    sellers of each category the customer's categories lead to."""
    n_items = len(keys)
    skus, cats = sku_categories(orders)
    item_cat = np.full(n_items, "", dtype=cats.dtype if len(cats) else "U1")
    pos = _codes_in(keys, skus)
    item_cat[pos[pos >= 0]] = cats[pos >= 0]
    cat_keys = np.unique(np.concatenate([item_cat[item_cat != ""], rules.antecedents, rules.consequents]))
    item_cat_code = _codes_in(cat_keys, item_cat)
    # Customer categories from what they own.
    own_c = owned // max(n_items, 1)
    own_cat = item_cat_code[owned % n_items] if n_items else owned
    has = own_cat >= 0
    pair = np.unique(own_c[has] * len(cat_keys) + own_cat[has])
    c, rule, score, _ = _expand(pair // max(len(cat_keys), 1), pair % max(len(cat_keys), 1), rules, cat_keys)
    # Best sellers per category (distinct buyers), k of each.
    buyers = np.bincount(np.unique(owned) % n_items, minlength=n_items) if n_items else np.zeros(0, np.int64)
    sellers = np.flatnonzero((item_cat_code >= 0) & (buyers > 0))
    order = np.lexsort((sellers, -buyers[sellers], item_cat_code[sellers]))
    sellers = sellers[order]
    cat_of = item_cat_code[sellers]
    starts = group_starts(cat_of, len(cat_keys))
    rank = np.arange(len(sellers)) - starts[cat_of]
    best = rank < k
    sellers, cat_of, seller_rank = sellers[best], cat_of[best], rank[best]
    best_starts = group_starts(cat_of, len(cat_keys))
    target = _codes_in(cat_keys, rules.consequents[rule])
    have = target >= 0
    c, rule, score, target = c[have], rule[have], score[have], target[have]
    left, right = cross_pairs(target, best_starts)
    return c[left], sellers[right].astype(np.int64), score[left], rule[left], seller_rank[right]
