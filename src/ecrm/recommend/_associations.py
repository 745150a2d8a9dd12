"""Item-to-item associations: bought in one order, bought within N days, or browsed then bought."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._events import EventKind, EventLog, parse_event_kind
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import local_days
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.recommend._kernels import (
    combine,
    count_pairs,
    cross_pairs,
    group_starts,
    label_codes,
    sorted_distinct,
)

__all__ = ["Associations", "Basis", "associations"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Basis = Literal["order", "days", "events"]
By = Literal["sku", "category"]

_BASES: Final = ("order", "days", "events")
_EVENT_VERBS: Final = {
    EventKind.BROWSE: "viewed",
    EventKind.CART: "carted",
    EventKind.FAVORITE: "favourited",
}


_RULE_FIELDS: Final = ("antecedents", "consequents", "n_pair", "n_antecedent", "n_consequent")
_RULE_KINDS: Final = {"antecedents": _v.TEXT, "consequents": _v.TEXT, "n_pair": _v.INTEGERS,
                      "n_antecedent": _v.INTEGERS, "n_consequent": _v.INTEGERS}


@attrs.frozen(eq=False, repr=False)
class Associations(ResultFrame):
    """Association rules ``antecedent → consequent`` with their counts and measures.

    Rows are sorted by antecedent, then by ``score`` (highest first), then by consequent.
    A *unit* is an order (basis ``order``) or a customer (``days`` and ``events``).

    Attributes:
        antecedents, consequents: str, shape (n,): the SKUs (or categories) of each rule.
        n_pair: int64, shape (n,): units that showed the rule (bought both in one order;
            bought the consequent 0..``within_days`` days after the antecedent; or did an
            event on the antecedent and bought the consequent within the window).
        n_antecedent: int64, shape (n,): units with the antecedent.
        n_consequent: int64, shape (n,): units that bought the consequent.
        n_units: the number of units (orders with lines, or customers).
        support: float64, shape (n,): ``n_pair / n_units``.
        confidence: float64, shape (n,): ``n_pair / n_antecedent``.
        lift: float64, shape (n,): ``confidence / (n_consequent / n_units)``.
        score: float64, shape (n,): the confidence shrunk towards the consequent's base
            rate ``p = n_consequent / n_units`` with ``shrink`` pseudo-units, minus that
            base rate: ``(n_pair + shrink·p) / (n_antecedent + shrink) − p``. It is the
            added chance of buying the consequent, and small counts cannot make it large.
        basis, by, within_days, shrink, min_count, as_of, event_kinds: as passed.
    """

    antecedents: npt.NDArray[np.str_]
    consequents: npt.NDArray[np.str_]
    n_pair: IntArray
    n_antecedent: IntArray
    n_consequent: IntArray
    n_units: int
    basis: str
    by: str
    within_days: int
    shrink: float
    min_count: int
    as_of: dt.datetime
    event_kinds: tuple[EventKind, ...] = ()

    def __attrs_post_init__(self) -> None:
        _v.check_same_length("Associations", {name: getattr(self, name) for name in _RULE_FIELDS},
                             _RULE_KINDS)

    def __len__(self) -> int:
        return len(self.antecedents)

    def __repr__(self) -> str:
        return (
            f"Associations({len(self):,} rules by {self.by}, basis={self.basis!r}, "
            f"within_days={self.within_days}, {self.n_units:,} units, as_of={self.as_of.isoformat()})"
        )

    @property
    def support(self) -> FloatArray:
        """float64, shape (n,): ``n_pair / n_units``."""
        return self.n_pair / max(self.n_units, 1)

    @property
    def confidence(self) -> FloatArray:
        """float64, shape (n,): ``n_pair / n_antecedent``."""
        return self.n_pair / np.maximum(self.n_antecedent, 1)

    @property
    def base_rate(self) -> FloatArray:
        """float64, shape (n,): ``n_consequent / n_units``."""
        return self.n_consequent / max(self.n_units, 1)

    @property
    def lift(self) -> FloatArray:
        """float64, shape (n,): ``confidence / base_rate``."""
        return self.confidence / np.maximum(self.base_rate, 1e-300)

    @property
    def score(self) -> FloatArray:
        """float64, shape (n,): shrunk confidence minus the base rate (see the class)."""
        p = self.base_rate
        return (self.n_pair + self.shrink * p) / (self.n_antecedent + self.shrink) - p

    def _columns(self) -> dict[str, Any]:
        """``antecedent, consequent, n_pair, n_antecedent, n_consequent, support,
        confidence, lift, score``: one row per rule."""
        return {
            "antecedent": self.antecedents,
            "consequent": self.consequents,
            "n_pair": self.n_pair,
            "n_antecedent": self.n_antecedent,
            "n_consequent": self.n_consequent,
            "support": self.support,
            "confidence": self.confidence,
            "lift": self.lift,
            "score": self.score,
        }

    def rows_of(self, antecedent: str) -> slice:
        """The rows whose antecedent is ``antecedent`` (an empty slice if none)."""
        lo = int(np.searchsorted(self.antecedents, antecedent, side="left"))
        hi = int(np.searchsorted(self.antecedents, antecedent, side="right"))
        return slice(lo, hi)

    def top(self, antecedent: str, k: int = 5) -> list[str]:
        """The ``k`` best consequents of ``antecedent``, best first."""
        rows = self.rows_of(antecedent)
        return [str(x) for x in self.consequents[rows][:k]]

    def row(self, antecedent: str, consequent: str) -> int:
        """The row of the rule ``antecedent → consequent``.

        Raises:
            KeyError: no such rule (fewer than ``min_count`` units showed it).
        """
        rows = self.rows_of(antecedent)
        hit = np.flatnonzero(self.consequents[rows] == consequent)
        if not hit.size:
            raise KeyError((antecedent, consequent))
        return int(rows.start) + int(hit[0])

    def explain(self, antecedent: str, consequent: str) -> str:
        """The rule in words, e.g. ``because you bought 咖啡豆: 38% of its buyers bought
        糖包 within 14 days, lift 4.2``.

        Raises:
            KeyError: no such rule.
        """
        return self.explain_row(self.row(antecedent, consequent))

    def explain_row(self, i: int) -> str:
        """:meth:`explain` of row ``i``."""
        a, b = str(self.antecedents[i]), str(self.consequents[i])
        conf = float(self.n_pair[i] / max(int(self.n_antecedent[i]), 1))
        p = float(self.n_consequent[i] / max(self.n_units, 1))
        lift = conf / p if p else float("inf")
        share = f"{conf:.0%}"
        counts = f"({int(self.n_pair[i])} of {int(self.n_antecedent[i])})"
        if self.basis == "order":
            return (f"because you bought {a}: {share} of orders with {a} also had {b} "
                    f"{counts}, lift {lift:.1f}")
        window = "the same day" if self.within_days == 0 else f"within {self.within_days} days"
        if self.basis == "days":
            return (f"because you bought {a}: {share} of its buyers bought {b} {window} "
                    f"{counts}, lift {lift:.1f}")
        verbs = "/".join(_EVENT_VERBS[k] for k in self.event_kinds)
        return (f"because you {verbs} {a}: {share} of customers who did bought {b} {window} "
                f"{counts}, lift {lift:.1f}")


#: The longest window in days (a century): day arithmetic stays far inside int64.
MAX_DAYS: Final = 36_500


def _check_int(field: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InvalidValueError(field, f"must be an integer >= {low}", value)
    if high is not None and value > high:
        raise InvalidValueError(field, f"must be an integer <= {high:,}", value)
    return int(value)


@attrs.frozen
class Lines:
    """Valid purchase lines before ``as_of``: customer code, order row, day and item code."""

    customer: IntArray
    order_row: IntArray
    day: IntArray
    item: IntArray
    keys: npt.NDArray[np.str_]
    n_customers: int


def purchase_lines(
    orders: OrderLog, as_of: dt.datetime, by: str, statuses: Iterable[OrderStatus] | None,
    extra_keys: npt.NDArray[np.str_] | None = None,
) -> Lines:
    """The valid lines placed before ``as_of``, items coded over the sorted keys of every line
    (and ``extra_keys``)."""
    _v.check_instance("orders", orders, OrderLog)
    items = orders.items
    if items is None or items.order_rows is None:
        raise InvalidValueError(
            "orders.items", "are needed for recommendations (build the log with order lines)",
            None, show_value=False,
        )
    if by not in ("sku", "category"):
        raise InvalidValueError("by", "must be 'sku' or 'category'", by)
    cut = orders.instant_us(as_of)
    rows = items.order_rows
    labels = items.skus if by == "sku" else items.categories
    ok = (orders.valid_mask(statuses) & (orders.placed_at_us < cut))[rows] & (labels != "")
    sel = np.flatnonzero(ok)
    picked = labels[sel]
    if extra_keys is not None and len(extra_keys):
        picked = np.concatenate([picked, extra_keys[extra_keys != ""]])
    keys, codes = label_codes(picked)
    r = rows[sel]
    return Lines(
        customer=orders.customer_codes[r].astype(np.int64),
        order_row=r.astype(np.int64),
        day=orders.placed_day[r].astype(np.int64),
        item=codes[: len(sel)],
        keys=keys,
        n_customers=orders.n_customers,
    )


def sku_categories(orders: OrderLog) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """Every SKU of the lines (sorted) and its category (the smallest non-empty one seen)."""
    items = orders.items
    assert items is not None
    skus = np.unique(items.skus)
    order = np.lexsort((items.categories == "", items.categories, items.skus))
    s, c = items.skus[order], items.categories[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    return skus, c[first]


def _event_items(
    events: EventLog, orders: OrderLog, as_of: dt.datetime, kinds: tuple[EventKind, ...], by: str,
) -> tuple[IntArray, IntArray, npt.NDArray[np.str_], IntArray, int]:
    """The events' customer codes, local days and labels, with customers coded over the
    ids of both logs; also the code of each of the orders' customers and their number."""
    _v.check_instance("events", events, EventLog)
    cut = orders.instant_us(as_of)
    wanted = np.isin(events.kind_codes, [k.code for k in kinds])
    ok = wanted & (events.at_us < cut) & (events.skus != "")
    sel = np.flatnonzero(ok)
    labels = events.skus[sel]
    if by == "category":
        skus, cats = sku_categories(orders)
        pos = np.minimum(np.searchsorted(skus, labels), max(len(skus) - 1, 0))
        known = (skus[pos] == labels) if len(skus) else np.zeros(len(labels), bool)
        labels = np.where(known, cats[pos] if len(skus) else labels, "")
    ev_ids = events.customer_ids[events.customer_codes[sel]]
    if len(orders.customer_ids) and len(ev_ids) and ev_ids.dtype.kind != orders.customer_ids.dtype.kind:
        raise InvalidTypeError(
            "events.customer_ids and orders.customer_ids must be of one kind (str or int), "
            f"got {ev_ids.dtype} and {orders.customer_ids.dtype}"
        )
    everyone = np.unique(np.concatenate([orders.customer_ids, ev_ids]))
    order_codes = np.searchsorted(everyone, orders.customer_ids).astype(np.int64)
    cust = np.searchsorted(everyone, ev_ids).astype(np.int64)
    keep = labels != ""
    days = local_days(events.at_us[sel][keep], orders.tz)
    return cust[keep], days, labels[keep], order_codes, len(everyone)


def associations(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    basis: Basis = "days",
    within_days: int = 14,
    events: EventLog | None = None,
    event_kinds: Iterable[EventKind | str] = (EventKind.BROWSE, EventKind.CART, EventKind.FAVORITE),
    by: By = "sku",
    min_count: int = 2,
    shrink: float = 10.0,
    statuses: Iterable[OrderStatus] | None = None,
) -> Associations:
    """Item-to-item association rules from the valid order lines placed before ``as_of``.

    Bases:

    - ``order``: a unit is an order; ``A → B`` counts the orders holding both A and B.
    - ``days``: a unit is a customer; ``A → B`` counts the customers who bought B on the
      day they bought A or up to ``within_days`` calendar days later (in the store's zone).
    - ``events``: a unit is a customer; ``A → B`` counts the customers who did one of
      ``event_kinds`` on A (viewed, carted, favourited) and bought B (≠ A) that day or up
      to ``within_days`` days later. ``n_antecedent`` counts the customers with such an
      event on A; ``n_units`` the customers with a purchase or such an event.

    Counting is vectorised: the (A, B) pairs are generated per unit with numpy and counted
    over int64 pair codes; no Python loop runs per customer or per order.

    Args:
        orders: an order log with order lines.
        as_of: only orders (and events) before this moment count.
        basis: ``order``, ``days`` or ``events``.
        within_days: the window of ``days`` and ``events`` (0..36,500).
        events: the behaviour log (needed for ``events``); events are matched to orders by
            customer id.
        event_kinds: the kinds of event that make an antecedent.
        by: ``sku`` or ``category`` (lines without a category are left out).
        min_count: rules shown by fewer units are dropped (>= 1).
        shrink: pseudo-units of the score's shrinkage (>= 0).
        statuses: the valid order statuses (default: paid, not fully refunded).

    Returns:
        An :class:`Associations` table.

    Raises:
        InvalidValueError: a bad option, or a log without lines (or no events for ``events``).
        InvalidTypeError: ``orders`` is not an OrderLog.
    """
    if basis not in _BASES:
        raise InvalidValueError("basis", "must be 'order', 'days' or 'events'", basis)
    window = _check_int("within_days", within_days, 0, MAX_DAYS)
    least = _check_int("min_count", min_count, 1)
    if isinstance(shrink, bool) or not isinstance(shrink, int | float) or not shrink >= 0:
        raise InvalidValueError("shrink", "must be a number >= 0", shrink)
    kinds = tuple(dict.fromkeys(parse_event_kind(k, "event_kinds") for k in event_kinds))
    if basis == "events":
        if events is None:
            raise InvalidValueError("events", "are needed for basis 'events'", None, show_value=False)
        if not kinds:
            raise InvalidValueError("event_kinds", "must name at least one kind", event_kinds)
    extra = None
    ev_cust = ev_day = ev_label = None
    if basis == "events":
        assert events is not None
        ev_cust, ev_day, ev_label, order_codes, n_everyone = _event_items(
            events, orders, as_of, kinds, by
        )
        extra = ev_label
    lines = purchase_lines(orders, as_of, by, statuses, extra)
    if basis == "events":
        lines = attrs.evolve(lines, customer=order_codes[lines.customer], n_customers=n_everyone)
    n_items = len(lines.keys)
    if basis == "order":
        pa, pb, n_pair, n_a, n_b, n_units = _order_counts(lines, n_items)
    elif basis == "days":
        pa, pb, n_pair, n_a, n_b, n_units = _days_counts(lines, n_items, window)
    else:
        assert ev_cust is not None
        assert ev_day is not None
        assert ev_label is not None
        ev_item = np.searchsorted(lines.keys, ev_label).astype(np.int64)
        pa, pb, n_pair, n_a, n_b, n_units = _event_counts(
            lines, n_items, window, ev_cust, ev_day, ev_item
        )
    keep = n_pair >= least
    pa, pb, n_pair = pa[keep], pb[keep], n_pair[keep]
    na, nb = n_a[pa], n_b[pb]
    p = nb / max(n_units, 1)
    score = (n_pair + shrink * p) / (na + float(shrink)) - p
    # Sort by antecedent, then score (highest first), then consequent: rank the scores once
    # (a stable sort keeps pairs, already in (a, b) order, in b order among equal scores)
    # and sort one int64 key instead of a two-key lexsort.
    rank = np.empty(len(score), dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(len(score))
    order = np.argsort(pa * max(len(score), 1) + rank)
    return Associations(
        antecedents=lines.keys[pa[order]],
        consequents=lines.keys[pb[order]],
        n_pair=n_pair[order],
        n_antecedent=na[order].astype(np.int64),
        n_consequent=nb[order].astype(np.int64),
        n_units=int(n_units),
        basis=basis,
        by=by,
        within_days=0 if basis == "order" else window,
        shrink=float(shrink),
        min_count=least,
        as_of=as_of,
        event_kinds=kinds if basis == "events" else (),
    )


Counts = tuple[IntArray, IntArray, IntArray, IntArray, IntArray, int]


def _distinct_count(units: IntArray, items: IntArray, n_items: int) -> IntArray:
    """Distinct units per item, int64 shape (n_items,)."""
    if not len(units):
        return np.zeros(n_items, dtype=np.int64)
    code = sorted_distinct(units * n_items + items)
    return np.bincount(code % n_items, minlength=n_items).astype(np.int64)


def _order_counts(lines: Lines, n_items: int) -> Counts:
    codes = sorted_distinct(lines.order_row * n_items + lines.item)  # one line per (order, item)
    order_row, item = codes // n_items, codes % n_items
    # Codes are sorted by order row: a unit number per distinct order row.
    unit = np.zeros(len(order_row), dtype=np.int64)
    if len(order_row):
        unit[1:] = np.cumsum(order_row[1:] != order_row[:-1])
    n_units = int(unit.max()) + 1 if len(unit) else 0
    starts = group_starts(unit, n_units)
    left, right = cross_pairs(unit, starts)
    diff = item[left] != item[right]
    left, right = left[diff], right[diff]
    # Items are distinct within an order, so each (order, a, b) occurs once.
    pa, pb, n_pair = count_pairs(unit[left], item[left], item[right], n_items, n_units, repeats=False)
    per_item = np.bincount(item, minlength=n_items).astype(np.int64)
    return pa, pb, n_pair, per_item, per_item, n_units


def _days_counts(lines: Lines, n_items: int, window: int) -> Counts:
    cust, day, item = _distinct_occurrences(lines.customer, lines.day, lines.item)
    starts = group_starts(cust, lines.n_customers)
    left, right = cross_pairs(cust, starts)
    gap = day[right] - day[left]
    ok = (item[left] != item[right]) & (gap >= 0) & (gap <= window)
    left, right = left[ok], right[ok]
    pa, pb, n_pair = count_pairs(cust[left], item[left], item[right], n_items, lines.n_customers)
    per_item = _distinct_count(cust, item, n_items)
    n_units = len(sorted_distinct(cust))
    return pa, pb, n_pair, per_item, per_item, n_units


def _event_counts(
    lines: Lines, n_items: int, window: int, ev_cust: IntArray, ev_day: IntArray, ev_item: IntArray,
) -> Counts:
    cust, day, item = _distinct_occurrences(lines.customer, lines.day, lines.item)
    ecust, eday, eitem = _distinct_occurrences(ev_cust, ev_day, ev_item)
    starts = group_starts(cust, lines.n_customers)
    left, right = cross_pairs(ecust, starts)
    gap = day[right] - eday[left]
    ok = (eitem[left] != item[right]) & (gap >= 0) & (gap <= window)
    left, right = left[ok], right[ok]
    pa, pb, n_pair = count_pairs(ecust[left], eitem[left], item[right], n_items, lines.n_customers)
    n_a = _distinct_count(ecust, eitem, n_items)
    n_b = _distinct_count(cust, item, n_items)
    n_units = len(sorted_distinct(np.concatenate([cust, ecust])))
    return pa, pb, n_pair, n_a, n_b, n_units


def _distinct_occurrences(cust: IntArray, day: IntArray, item: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """One row per distinct (customer, day, item), sorted by customer."""
    if not len(cust):
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    low = int(day.min())
    span = int(day.max()) - low + 1
    n_items = int(item.max()) + 1
    code = combine((cust, day - low, item), (int(cust.max()) + 1, span, n_items))
    if code is not None:
        code = sorted_distinct(code)
        item_code = code % n_items
        rest = code // n_items
        return rest // span, rest % span + low, item_code
    order = np.lexsort((item, day, cust))
    c, d, i = cust[order], day[order], item[order]
    first = np.ones(len(c), dtype=bool)
    first[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1]) | (i[1:] != i[:-1])
    return c[first], d[first], i[first]
