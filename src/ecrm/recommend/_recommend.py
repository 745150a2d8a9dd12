"""Per-customer top-k recommendations from association rules, with a category fallback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._deprecate import renamed_kwarg
from ecrm._events import EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import local_day, local_days
from ecrm.errors import InvalidValueError, UnknownCustomerError
from ecrm.recommend._associations import Associations, purchase_lines, sku_categories
from ecrm.recommend._kernels import combine, cross_pairs, group_starts

if TYPE_CHECKING:
    from ecrm.lifecycle import CycleTable

__all__ = ["Recommendations", "recommend"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_SOURCES: Final = np.asarray(["rule", "category", "popular_in_category", "popular"])
_FILL_SOURCES: Final = frozenset({"popular_in_category", "popular"})


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
        sources: str, shape (n,): where the row came from — ``rule`` (an item rule),
            ``category`` (a category rule of the fallback), ``popular_in_category`` or
            ``popular`` (the popularity fill: a best seller of a category the customer
            bought, or of the whole shop).
        buyers: int64, shape (n,): customers who bought the item before ``as_of``.
        rules, fallback_rules: the association tables used.
        k, as_of, min_score: as passed.
        n_buyers: customers with a valid purchase before ``as_of`` (the popularity base).
    """

    customer_ids: npt.NDArray[Any]
    ranks: IntArray
    skus: npt.NDArray[np.str_]
    scores: FloatArray
    because: npt.NDArray[np.str_]
    fallback: BoolArray
    rule_rows: IntArray
    due: BoolArray
    sources: npt.NDArray[np.str_]
    buyers: IntArray
    rules: Associations
    fallback_rules: Associations | None
    k: int
    as_of: dt.datetime
    min_score: float = 0.0
    n_buyers: int = 0

    def __len__(self) -> int:
        return len(self.skus)

    def __repr__(self) -> str:
        n = len(np.unique(self.customer_ids)) if len(self.customer_ids) else 0
        return (f"Recommendations({len(self):,} items for {n:,} customers, k={self.k}, "
                f"as_of={self.as_of.isoformat()})")

    def _columns(self) -> dict[str, Any]:
        """``customer_id, rank, sku, score, because, fallback, due, source``: one row per item."""
        return {
            "customer_id": self.customer_ids,
            "rank": self.ranks,
            "sku": self.skus,
            "score": self.scores,
            "because": self.because,
            "fallback": self.fallback,
            "due": self.due,
            "source": self.sources,
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
        return "\n".join(
            f"{int(self.ranks[i])}. {self.skus[i]} — {self.explain_row(i)}" for i in rows.tolist()
        )

    def explain_row(self, i: int) -> str:
        """Why row ``i`` was recommended, in words (one line of :meth:`explain`)."""
        sku = str(self.skus[i])
        source = str(self.sources[i])
        if source in _FILL_SOURCES:
            where = (f"popular in {self.because[i]}, a category you bought"
                     if source == "popular_in_category" else "popular in the shop")
            return (f"{where}: {int(self.buyers[i])} of {self.n_buyers} customers bought it "
                    "(popularity fill)")
        if self.fallback[i]:
            assert self.fallback_rules is not None
            why = self.fallback_rules.explain_row(int(self.rule_rows[i]))
            why += f"; {sku} is a best seller of {self.fallback_rules.consequents[self.rule_rows[i]]}"
        else:
            why = self.rules.explain_row(int(self.rule_rows[i]))
        if self.due[i]:
            why += f"; you bought {sku} before and its repurchase is due"
        return why


def _codes_in(keys: npt.NDArray[np.str_], labels: npt.NDArray[np.str_]) -> IntArray:
    """The position of each label in the sorted ``keys``, −1 where absent."""
    if not len(keys):
        return np.full(len(labels), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, labels), len(keys) - 1)
    return np.where(keys[pos] == labels, pos, -1).astype(np.int64)


def _expand(
    cust: IntArray, ante: IntArray, rules: Associations, keys: npt.NDArray[np.str_],
    limit: IntArray | None = None, min_score: float | None = None,
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Candidates ``(customer, consequent code, score, rule row)`` of every (customer,
    antecedent label code over ``keys``) through ``rules``.

    Rules are sorted by antecedent and then by score (best first), so the rules above
    ``min_score`` are a prefix of each antecedent's rows and the best ``limit[i]`` of them
    (per candidate row ``i``) are the first ones: only those are generated.
    """
    score_all = rules.score
    uniq, starts_at = np.unique(rules.antecedents, return_index=True)
    group = _codes_in(uniq, keys[ante]) if len(ante) else np.zeros(0, np.int64)
    have = group >= 0
    cust, group = cust[have], group[have]
    starts = np.append(starts_at, len(rules)).astype(np.int64)
    sizes = starts[group + 1] - starts[group]
    if min_score is not None:
        above = np.concatenate([[0], np.cumsum(score_all > min_score)])
        sizes = above[starts[group + 1]] - above[starts[group]]
    if limit is not None:
        sizes = np.minimum(sizes, limit[have])
    left, offset = _take_prefixes(sizes)
    rule = starts[group[left]] + offset
    return cust[left], rule, score_all[rule], rule


@renamed_kwarg("recent_days", "lookback_days")
def recommend(
    orders: OrderLog,
    rules: Associations,
    *,
    as_of: dt.datetime,
    k: int = 5,
    events: EventLog | None = None,
    lookback_days: int = 30,
    cycles: CycleTable | None = None,
    exclude: Iterable[str] = (),
    fallback_rules: Associations | None = None,
    min_score: float = 0.0,
    fill: bool = False,
    statuses: Iterable[OrderStatus] | None = None,
) -> Recommendations:
    """Each customer's top-``k`` items from association rules.

    A customer's antecedents are the SKUs they bought (valid orders before ``as_of``) and,
    with ``events``, the SKUs they viewed, carted or favourited in the ``lookback_days``
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
    the category rule's score; fallback rows rank after every item-level row. With
    ``fill``, a list still shorter than ``k`` is filled from popularity (distinct buyers
    before ``as_of``, ties by SKU): first the best sellers of the categories the customer
    bought, then the shop's best sellers; a fill never repeats an item of the list and
    never proposes an item the customer bought (due or not) or an excluded one. Fill rows
    rank last, with ``source`` ``popular_in_category`` or ``popular`` and the item's share
    of buyers as their score.

    All of it runs as numpy over (customer, item) codes: no Python loop per customer.

    Args:
        orders: the order log with lines (the one the rules came from, or a later one).
        rules: item-level rules (``by="sku"``).
        as_of: recommendations for this moment.
        k: items per customer (>= 1).
        events: behaviour events that add antecedents.
        lookback_days: how many days back events count (>= 0); ``recent_days=`` is its
            deprecated alias.
        cycles: per-SKU repurchase cycles; without it nothing bought is recommended again.
        exclude: SKUs never to recommend.
        fallback_rules: category-level rules (``by="category"``).
        min_score: rules with a score at or below it propose nothing.
        fill: fill lists shorter than ``k`` from popularity (within category first).
        statuses: the valid order statuses.

    Returns:
        A :class:`Recommendations` table.

    Raises:
        InvalidValueError: a bad ``k`` or ``lookback_days``, rules of the wrong level, or a
            log without order lines.

    .. versionchanged:: 0.1.0
       ``recent_days=`` renamed ``lookback_days=`` (a span back from ``as_of``).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidValueError("k", "must be an integer >= 1", k)
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 0:
        raise InvalidValueError("lookback_days", "must be an integer >= 0", lookback_days)
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
    if not isinstance(fill, bool | np.bool_):
        raise InvalidValueError("fill", "must be True or False", fill)
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
        ante_c, ante_i = _with_events(orders, events, as_of, lookback_days, keys, ante_c, ante_i)

    blocked = np.zeros(n_items, dtype=bool)
    if excluded:
        gone = _codes_in(keys, np.asarray(excluded, dtype=str))
        blocked[gone[gone >= 0]] = True

    # A customer's top k needs at most k + (items they own) + (excluded items) rules of
    # each antecedent: every better rule's consequent is either listed before or left out.
    owned_n = np.bincount(owned // max(n_items, 1), minlength=orders.n_customers) if n_items else (
        np.zeros(orders.n_customers, dtype=np.int64))
    limit = k + owned_n[ante_c] + int(blocked.sum())
    c, rule, score, _ = _expand(ante_c, ante_i, rules, keys, limit, min_score)
    item = _codes_in(keys, rules.consequents)[rule]
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
    # Scores as ranks over the rule tables (0 = best), so that each sort below folds its
    # five columns into one int64 key (or two, when one would overflow).
    srank, n_ranks = _score_ranks(rules, fallback_rules, rule, is_fb)
    n_rules = max(len(rules), len(fallback_rules) if fallback_rules is not None else 0, 1)
    n_tie = int(tie.max()) + 1 if len(tie) else 1
    # Best rule per (customer, item): item-level rows before fallback, then by score.
    order = _ranked_order(
        (code, is_fb.astype(np.int64), srank), (max(orders.n_customers * n_items, 1), 2, n_ranks),
        (tie, rule), (n_tie, n_rules), (rule, tie, -score, is_fb, code),
    )
    first = np.ones(len(order), dtype=bool)
    first[1:] = code[order][1:] != code[order][:-1]
    pick = order[first]
    # Rank within customer.
    c, item, score, rule, is_fb, due, tie, srank = (
        c[pick], item[pick], score[pick], rule[pick], is_fb[pick], due[pick], tie[pick], srank[pick]
    )
    # Best first; among fallback rows of one score, the better seller first.
    order = _ranked_order(
        (c, is_fb.astype(np.int64), srank), (max(orders.n_customers, 1), 2, n_ranks),
        (tie, item), (n_tie, max(n_items, 1)), (item, tie, -score, is_fb, c),
    )
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
    source = np.where(is_fb, 1, 0).astype(np.int64)
    buyers = _buyers(owned, n_items)
    n_buyers = len(np.unique(owned // n_items)) if n_items else 0
    if fill:
        item_cat, cat_keys = _item_categories(orders, keys)
        fc, fi, f_in_cat, f_rank = _popularity_fill(
            c, item, owned, buyers, blocked, item_cat, orders.n_customers, k
        )
        fill_because = np.where(f_in_cat, cat_keys[np.maximum(item_cat[fi], 0)] if len(cat_keys) else "", "")
        c = np.concatenate([c, fc])
        item = np.concatenate([item, fi])
        score = np.concatenate([score, buyers[fi] / max(n_buyers, 1)])
        rule = np.concatenate([rule, np.full(len(fc), -1, dtype=np.int64)])
        is_fb = np.concatenate([is_fb, np.zeros(len(fc), dtype=bool)])
        due = np.concatenate([due, np.zeros(len(fc), dtype=bool)])
        rank = np.concatenate([rank, f_rank])
        source = np.concatenate([source, np.where(f_in_cat, 2, 3)])
        because = np.concatenate([because, fill_because.astype(str)]) if len(fc) else because
        order = np.lexsort((rank, c))
        c, item, score, rule, is_fb, due, rank, source, because = (
            c[order], item[order], score[order], rule[order], is_fb[order], due[order],
            rank[order], source[order], because[order],
        )
    return Recommendations(
        customer_ids=orders.customer_ids[c],
        ranks=rank + 1,
        skus=keys[item] if len(item) else np.zeros(0, dtype="U1"),
        scores=score.astype(np.float64),
        because=because if len(because) else np.zeros(0, dtype="U1"),
        fallback=is_fb,
        rule_rows=rule.astype(np.int64),
        due=due,
        sources=_SOURCES[source] if len(source) else np.zeros(0, dtype="U1"),
        buyers=buyers[item] if len(item) else np.zeros(0, dtype=np.int64),
        rules=rules,
        fallback_rules=fallback_rules,
        k=k,
        as_of=as_of,
        min_score=float(min_score),
        n_buyers=n_buyers,
    )


def _score_ranks(
    rules: Associations, fallback_rules: Associations | None, rule: IntArray, is_fb: BoolArray,
) -> tuple[IntArray, int]:
    """Each candidate's score as its rank among the distinct scores of both rule tables
    (0 = the highest), and the number of ranks."""
    fb_scores = fallback_rules.score if fallback_rules is not None else np.zeros(0)
    _, inverse = np.unique(-np.concatenate([rules.score, fb_scores]), return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    n_ranks = int(inverse.max()) + 1 if len(inverse) else 1
    if not len(rule):
        return np.zeros(0, dtype=np.int64), n_ranks
    at = np.where(is_fb, len(rules) + rule, rule)
    return inverse[at], n_ranks


def _ranked_order(
    major: tuple[IntArray, ...], major_sizes: tuple[int, ...],
    minor: tuple[IntArray, ...], minor_sizes: tuple[int, ...],
    fallback: tuple[npt.NDArray[Any], ...],
) -> npt.NDArray[np.intp]:
    """The order of the rows by ``major`` then ``minor`` columns: all folded into one int64
    key (one sort) when it fits, else each part into one (two passes), else
    ``np.lexsort(fallback)``. Rows equal on every column may come in any order."""
    whole = combine(major + minor, major_sizes + minor_sizes)
    if whole is not None:
        return np.argsort(whole)
    a, b = combine(major, major_sizes), combine(minor, minor_sizes)
    if a is None or b is None:
        return np.lexsort(fallback)
    return np.lexsort((b, a))


def _buyers(owned: IntArray, n_items: int) -> IntArray:
    """int64, shape (n_items,): distinct buyers of each item (``owned`` holds distinct
    customer·n_items + item codes)."""
    if not n_items:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(owned % n_items, minlength=n_items).astype(np.int64)


def _item_categories(orders: OrderLog, keys: npt.NDArray[np.str_]) -> tuple[IntArray, npt.NDArray[np.str_]]:
    """Each item's category code (−1 without one) and the sorted category names."""
    skus, cats = sku_categories(orders)
    cat_keys = np.unique(cats[cats != ""]) if len(cats) else np.zeros(0, dtype="U1")
    item_cat = np.full(len(keys), -1, dtype=np.int64)
    pos = _codes_in(keys, skus)
    item_cat[pos[pos >= 0]] = _codes_in(cat_keys, cats[pos >= 0])
    return item_cat, cat_keys


def _take_prefixes(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """``(i, offset)`` for every offset ``0 .. sizes[i] − 1`` of every ``i``."""
    sizes = np.maximum(sizes, 0).astype(np.int64)
    owner = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    ends = np.cumsum(sizes)
    offset = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(ends - sizes, sizes)
    return owner, offset


def _popularity_fill(
    listed_c: IntArray, listed_item: IntArray, owned: IntArray, buyers: IntArray,
    blocked: BoolArray, item_cat: IntArray, n_customers: int, k: int,
) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
    """The popularity fill of every list shorter than ``k``: ``(customer, item,
    within category, rank within the customer's list counted from 0)``.

    Candidates are prefixes of the popularity order — per (customer, bought category) and
    for the whole shop — just long enough that, after leaving out what the customer owns,
    what is listed and what the category pass already took, ``k`` items remain; each
    prefix is cut with ``np.repeat`` offsets (no loop per customer).
    """
    n_items = len(buyers)
    z = np.zeros(0, dtype=np.int64)
    if not n_items or not n_customers:
        return z, z, np.zeros(0, dtype=bool), z
    listed_n = np.bincount(listed_c, minlength=n_customers).astype(np.int64)
    need = np.maximum(k - listed_n, 0)
    own_c = owned // n_items
    owned_n = np.bincount(own_c, minlength=n_customers).astype(np.int64)
    eligible = np.flatnonzero((buyers > 0) & ~blocked)
    popular = eligible[np.lexsort((eligible, -buyers[eligible]))]
    pop_rank = np.full(n_items, n_items, dtype=np.int64)
    pop_rank[popular] = np.arange(len(popular))

    # Whole shop: the first 2·need + owned + listed best sellers cover every customer.
    wanting = np.flatnonzero(need > 0)
    size = np.minimum(2 * need[wanting] + owned_n[wanting] + listed_n[wanting], len(popular))
    who, off = _take_prefixes(size)
    cand_c, cand_i = wanting[who], popular[off]
    cand_in = np.zeros(len(cand_c), dtype=bool)

    # Within the categories each wanting customer bought.
    n_cats = int(item_cat.max()) + 1 if len(item_cat) and item_cat.max() >= 0 else 0
    if n_cats:
        in_cat = popular[item_cat[popular] >= 0]
        in_cat = in_cat[np.argsort(item_cat[in_cat], kind="stable")]  # by category, then popularity
        cat_starts = group_starts(item_cat[in_cat], n_cats)
        oc = item_cat[owned % n_items]
        keep = (oc >= 0) & (need[own_c] > 0)
        pair, owned_in = np.unique(own_c[keep] * n_cats + oc[keep], return_counts=True)
        pc, pcat = pair // n_cats, pair % n_cats
        avail = cat_starts[pcat + 1] - cat_starts[pcat]
        size = np.minimum(2 * need[pc] + owned_in + listed_n[pc], avail)
        who, off = _take_prefixes(size)
        cand_c = np.concatenate([pc[who], cand_c])
        cand_i = np.concatenate([in_cat[cat_starts[pcat][who] + off], cand_i])
        cand_in = np.concatenate([np.ones(len(who), dtype=bool), cand_in])

    # Leave out what is owned or listed; keep each item once (the category pass first).
    code = cand_c * n_items + cand_i
    taken = np.sort(np.concatenate([owned, listed_c * n_items + listed_item]))
    if len(taken):
        pos = np.minimum(np.searchsorted(taken, code), len(taken) - 1)
        fresh = taken[pos] != code
        code, cand_c, cand_i, cand_in = code[fresh], cand_c[fresh], cand_i[fresh], cand_in[fresh]
    order = np.lexsort((~cand_in, code))
    first = np.ones(len(order), dtype=bool)
    first[1:] = code[order][1:] != code[order][:-1]
    pick = order[first]
    cand_c, cand_i, cand_in = cand_c[pick], cand_i[pick], cand_in[pick]
    # Category best sellers first, then the shop's, each by popularity.
    order = np.lexsort((pop_rank[cand_i], ~cand_in, cand_c))
    cand_c, cand_i, cand_in = cand_c[order], cand_i[order], cand_in[order]
    starts = group_starts(cand_c, n_customers)
    rank = np.arange(len(cand_c), dtype=np.int64) - starts[cand_c]
    top = rank < need[cand_c]
    return cand_c[top], cand_i[top], cand_in[top], (rank + listed_n[cand_c])[top]


def _with_events(
    orders: OrderLog, events: EventLog, as_of: dt.datetime, lookback_days: int,
    keys: npt.NDArray[np.str_], cust: IntArray, item: IntArray,
) -> tuple[IntArray, IntArray]:
    """Antecedents plus the SKUs of the customers' events in the ``lookback_days`` before ``as_of``."""
    cut = orders.instant_us(as_of)
    today = local_day(as_of, orders.tz)
    days = local_days(events.at_us, orders.tz)
    ok = (events.at_us < cut) & (days >= today - lookback_days) & (events.skus != "")
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
    target = _codes_in(cat_keys, rules.consequents)[rule]
    have = target >= 0
    c, rule, score, target = c[have], rule[have], score[have], target[have]
    left, right = cross_pairs(target, best_starts)
    return c[left], sellers[right].astype(np.int64), score[left], rule[left], seller_rank[right]
