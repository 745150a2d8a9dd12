"""A plain-Python reference evaluator for audience predicates (one customer at a time)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from ecrm import Customer, Event, EventKind, Order, OrderStatus
from ecrm.analytics import normalize_province
from ecrm.segments import (
    AgeBetween,
    And,
    BirthdayBetween,
    Blocked,
    Carted,
    Favorited,
    FavoritedNotBought,
    GenderIn,
    HasTags,
    MemberLevelIn,
    Not,
    OccupationIn,
    Or,
    Ordered,
    Predicate,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
)

VALID = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}


def is_valid(o: Order) -> bool:
    refunded = o.refunded.fen if o.refunded is not None else 0
    return o.status in VALID and not (refunded > 0 and refunded >= o.amount.fen)


class Reference:
    """Everything about a shop as plain Python lists and dicts."""

    def __init__(self, customers: list[Customer], orders: list[Order], events: list[Event],
                 as_of: dt.datetime, tz: Any, lookups: dict[str, dict[Any, Any]] | None = None):
        self.customers = customers
        self.as_of = as_of
        self.tz = tz
        self.orders: dict[Any, list[Order]] = defaultdict(list)
        for o in orders:
            self.orders[o.customer_id].append(o)
        self.events: dict[Any, list[Event]] = defaultdict(list)
        for e in events:
            self.events[e.customer_id].append(e)
        self.lookups = lookups or {}

    def bounds(self, leaf: Any) -> tuple[dt.datetime | None, dt.datetime]:
        if leaf.last_days is not None:
            local = self.as_of.astimezone(self.tz).replace(tzinfo=None)
            return (local - dt.timedelta(days=leaf.last_days)).replace(tzinfo=self.tz), self.as_of

        def at(v: Any) -> dt.datetime | None:
            if v is None or isinstance(v, dt.datetime):
                return v
            return dt.datetime(v.year, v.month, v.day, tzinfo=self.tz)

        if leaf.window is not None:
            lo, hi = leaf.window.start, leaf.window.end
        else:  # the deprecated start=/end= (either open; dates local in the shop's zone)
            start, end = leaf.legacy_bounds or (None, None)
            lo, hi = at(start), at(end)
        hi = self.as_of if hi is None or hi > self.as_of else hi
        return lo, hi

    def inside(self, when: dt.datetime, leaf: Any) -> bool:
        lo, hi = self.bounds(leaf)
        return (lo is None or when >= lo) and when < hi

    def holds(self, p: Predicate, c: Customer) -> bool:
        cid = c.customer_id
        if isinstance(p, And):
            return all(self.holds(a, c) for a in p.args)
        if isinstance(p, Or):
            return any(self.holds(a, c) for a in p.args)
        if isinstance(p, Not):
            return not self.holds(p.arg, c)
        if isinstance(p, GenderIn):
            return c.gender in p.values
        if isinstance(p, AgeBetween):
            age = c.birthday.age_on(self.as_of.astimezone(self.tz).date()) if c.birthday else None
            if age is None or age < 0:  # unknown, or born after as_of
                return False
            return (p.min_age is None or age >= p.min_age) and (
                p.max_age is None or age <= p.max_age)
        if isinstance(p, BirthdayBetween):
            if c.birthday is None:
                return False
            key = (c.birthday.month, c.birthday.day)
            lo = (int(p.start[:2]), int(p.start[3:]))
            hi = (int(p.end[:2]), int(p.end[3:]))
            return lo <= key <= hi if lo <= hi else (key >= lo or key <= hi)
        if isinstance(p, OccupationIn):
            return c.occupation in p.values
        if isinstance(p, ProvinceIn):
            return c.province is not None and normalize_province(c.province) in p.values
        if isinstance(p, HasTags):
            hits = [t in c.tags for t in p.tags]
            return all(hits) if p.require_all else any(hits)
        if isinstance(p, Blocked):
            return c.blocked
        if isinstance(p, MemberLevelIn):
            return self.lookups["level"].get(cid, 0) in p.values
        if isinstance(p, RfmGradeIn):
            return self.lookups[self.at_key("grade", p.as_of)].get(cid) in p.values
        if isinstance(p, StageIn):
            return self.lookups[self.at_key("stage", p.as_of)].get(cid) in p.values
        kinds = {Visited: EventKind.BROWSE, Carted: EventKind.CART, Favorited: EventKind.FAVORITE}
        for cls, kind in kinds.items():
            if type(p) is cls:
                return any(e.kind is kind and self.inside(e.at, p) for e in self.events[cid])
        if isinstance(p, Ordered):
            return any(self.inside(o.placed_at, p) and (is_valid(o) or not p.valid_only)
                       for o in self.orders[cid])
        if isinstance(p, Repurchased):
            days = {o.placed_at.astimezone(self.tz).date() for o in self.orders[cid]
                    if is_valid(o) and self.inside(o.placed_at, p)}
            return len(days) >= p.min_days
        if isinstance(p, FavoritedNotBought):
            before = [o for o in self.orders[cid] if is_valid(o) and o.placed_at < self.as_of]
            bought = {it.sku for o in before for it in o.items}
            for e in self.events[cid]:
                if (e.kind is EventKind.FAVORITE and self.inside(e.at, p)) and (
                    (e.sku and e.sku not in bought) or (not e.sku and not before)
                ):
                    return True
            return False
        raise AssertionError(f"no reference for {p!r}")

    @staticmethod
    def at_key(name: str, at: dt.date | dt.datetime | None) -> str:
        """``lookups`` key of a grade / stage table: ``"grade"`` at as_of, else
        ``"grade@<at.isoformat()>"`` (the test computes the table at that instant)."""
        return name if at is None else f"{name}@{at.isoformat()}"

    def ids(self, p: Predicate) -> list[Any]:
        return sorted(c.customer_id for c in self.customers if self.holds(p, c))
