"""Plain-Python references for the analytics tests."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from ecrm import Order, OrderLog, OrderStatus

VALID = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}


def is_valid(o: Order) -> bool:
    refunded = o.refunded.fen if o.refunded is not None else 0
    return o.status in VALID and not (refunded > 0 and refunded >= o.amount.fen)


def net(o: Order) -> int:
    return o.amount.fen - (o.refunded.fen if o.refunded is not None else 0)


_CACHE: dict[int, tuple[OrderLog, list[Order]]] = {}


def valid_orders(log: OrderLog) -> list[Order]:
    """The valid orders of ``log`` as values (cached: building them is the slow part)."""
    hit = _CACHE.get(id(log))
    if hit is None or hit[0] is not log:
        hit = (log, [o for o in log if is_valid(o)])
        _CACHE.clear()
        _CACHE[id(log)] = hit
    return hit[1]


def by_customer(orders: list[Order]) -> dict[Any, list[Order]]:
    out: dict[Any, list[Order]] = defaultdict(list)
    for o in sorted(orders, key=lambda o: o.placed_at):
        out[o.customer_id].append(o)
    return out


def store_reference(
    log: OrderLog, start: dt.datetime, end: dt.datetime, prev: tuple[dt.datetime, dt.datetime],
    *, definition: str, lookback_days: int, base: str, attributed: set[str] | None,
) -> dict[str, Any]:
    tz = log.tz
    valid = valid_orders(log)
    per = by_customer(valid)
    inside = [o for o in valid if start <= o.placed_at < end]
    customers = {o.customer_id for o in inside}
    lb = (start.astimezone(tz).replace(tzinfo=None) - dt.timedelta(days=lookback_days)).replace(
        tzinfo=tz)
    new = set()
    for c in customers:
        prior = [o for o in per[c] if o.placed_at < start]
        if definition == "first_order_ever":
            is_new = not prior
        else:
            is_new = not any(o.placed_at >= lb for o in prior)
        if is_new:
            new.add(c)
    days: dict[Any, set[dt.date]] = defaultdict(set)
    for o in inside:
        days[o.customer_id].add(o.placed_at.astimezone(tz).date())
    multi = {c for c in customers if len(days[c]) >= 2}
    if base == "in_period":
        num = len(multi)
        den = len(customers)
    elif base == "previous_period":
        before = {o.customer_id for o in valid if prev[0] <= o.placed_at < prev[1]}
        num, den = len(before & customers), len(before)
    else:
        before = {o.customer_id for o in valid if o.placed_at < start}
        num, den = len(before & customers), len(before)
    return {
        "sales_fen": sum(net(o) for o in inside),
        "orders": len(inside),
        "customers": len(customers),
        "new_customers": len(new),
        "new_orders": sum(1 for o in inside if o.customer_id in new),
        "new_sales_fen": sum(net(o) for o in inside if o.customer_id in new),
        "returning_customers": len(customers - new),
        "returning_sales_fen": sum(net(o) for o in inside if o.customer_id not in new),
        "repurchasers": num,
        "repurchase_base": den,
        "new_repurchasers": len(multi & new),
        "returning_repurchasers": len(multi - new),
        "attributed_sales_fen": None if attributed is None else sum(
            net(o) for o in inside if o.order_id in attributed),
    }
