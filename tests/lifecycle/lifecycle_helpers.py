"""Shared helpers of the lifecycle tests: small logs and plain-Python reference answers.

The references read the log back as :class:`Order` values and recompute everything with
dicts, sorted lists and exact fractions — no numpy, nothing from ``ecrm.lifecycle``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from ecrm import Money, Order, OrderItem, OrderLog, OrderStatus

SH = ZoneInfo("Asia/Shanghai")
VALID = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}
_ids = itertools.count()


def at(y: int, mo: int, d: int, h: int = 12, tz: Any = SH) -> dt.datetime:
    return dt.datetime(y, mo, d, h, tzinfo=tz)


def day(n: int, h: int = 12) -> dt.datetime:
    """Noon (or hour ``h``) of day ``n`` counted from 2024-01-01, Shanghai."""
    return at(2024, 1, 1, h) + dt.timedelta(days=n)


def order(
    customer: str | int,
    placed_at: dt.datetime,
    *,
    status: OrderStatus = OrderStatus.PAID,
    fen: int = 10_000,
    refunded: int = 0,
    skus: Sequence[tuple[str, str | None]] = (),
) -> Order:
    return Order(
        order_id=f"t{next(_ids):07d}",
        customer_id=customer,
        placed_at=placed_at,
        amount=Money(fen),
        status=status,
        paid_at=None if status in (OrderStatus.UNPAID, OrderStatus.CLOSED) else placed_at,
        refunded=Money(refunded) if refunded else None,
        items=[OrderItem(sku=s, unit_price=Money(100), category=c) for s, c in skus],
    )


def log_of(orders: Iterable[Order], tz: Any = SH) -> OrderLog:
    return OrderLog.from_orders(list(orders), tz=tz)


def histories(spec: dict[Any, Sequence[int]], tz: Any = SH) -> OrderLog:
    """A log from {customer: [day numbers of paid orders]}."""
    return log_of([order(c, day(d)) for c, days in spec.items() for d in days], tz)


# -- plain reference ---------------------------------------------------------------------


def is_valid(o: Order, statuses: set[OrderStatus] = VALID) -> bool:
    fully_refunded = o.refunded_amount.fen > 0 and o.refunded_amount.fen >= o.amount.fen
    return o.status in statuses and not fully_refunded


def purchases(
    log: OrderLog, as_of: dt.datetime, *, same_day: str = "merge",
    group_of: Any = None,
) -> dict[Any, list[dt.date]]:
    """Purchase dates per subject. ``group_of(order)`` returns the groups an order counts
    for (subjects are then (group, customer)); ``None`` means the whole store."""
    out: dict[Any, list[dt.date]] = defaultdict(list)
    for o in log:
        if o.placed_at >= as_of or not is_valid(o):
            continue
        d = o.placed_at.astimezone(log.tz).date()
        keys = [o.customer_id] if group_of is None else [(g, o.customer_id) for g in group_of(o)]
        for k in keys:
            out[k].append(d)
    for k, dates in out.items():
        dates.sort()
        if same_day == "merge":
            out[k] = sorted(set(dates))
    return dict(out)


def first_intervals(p: dict[Any, list[dt.date]]) -> dict[Any, int]:
    return {k: (d[1] - d[0]).days for k, d in p.items() if len(d) >= 2}


def observed_p(intervals: Iterable[int], q: Fraction) -> int | None:
    """Smallest d with #(interval <= d) >= q · N, by walking every candidate day."""
    values = sorted(intervals)
    if not values:
        return None
    n = len(values)
    d = 0
    while sum(1 for v in values if v <= d) < q * n:
        d += 1
    return d


def km_curve(subjects: Iterable[tuple[int, bool]]) -> list[tuple[int, Fraction]]:
    """Textbook product-limit estimate: [(event time t, F(t))], exact fractions.

    At a time with both events and censorings, the censored subjects are still at risk.
    """
    subs = list(subjects)
    times = sorted({t for t, e in subs if e})
    s = Fraction(1)
    out = []
    for t in times:
        at_risk = sum(1 for u, _ in subs if u >= t)
        events = sum(1 for u, e in subs if e and u == t)
        s *= Fraction(at_risk - events, at_risk)
        out.append((t, 1 - s))
    return out


def km_p(subjects: Iterable[tuple[int, bool]], q: Fraction) -> int | None:
    curve = km_curve(subjects)
    if not curve:
        return None
    f_max = curve[-1][1]
    for t, f in curve:
        if f >= q * f_max:
            return t
    raise AssertionError("unreachable: F(t_max) >= q F(t_max)")


def km_subjects(p: dict[Any, list[dt.date]], as_of_date: dt.date) -> list[tuple[int, bool]]:
    out = []
    for dates in p.values():
        if len(dates) >= 2:
            out.append(((dates[1] - dates[0]).days, True))
        else:
            out.append(((as_of_date - dates[0]).days, False))
    return out


QS = (Fraction(1, 2), Fraction(7, 10), Fraction(9, 10))


def reference_cycle(
    log: OrderLog, as_of: dt.datetime, *, method: str = "observed", same_day: str = "merge",
    group_of: Any = None,
) -> dict[Any, tuple[tuple[int | None, ...], int, int]]:
    """{subject-group: ((p50, p70, p90), n_first_time_buyers, n_repurchasers)}; the store is
    the group ``None``."""
    p = purchases(log, as_of, same_day=same_day, group_of=group_of)
    by_group: dict[Any, dict[Any, list[dt.date]]] = defaultdict(dict)
    for k, v in p.items():
        by_group[None if group_of is None else k[0]][k] = v
    as_of_date = as_of.astimezone(log.tz).date()
    out = {}
    for g, sub in by_group.items():
        iv = first_intervals(sub)
        if method == "observed":
            ps = tuple(observed_p(iv.values(), q) for q in QS)
        else:
            subjects = km_subjects(sub, as_of_date)
            ps = tuple(km_p(subjects, q) for q in QS)
        out[g] = (ps, len(sub), len(iv))
    return out


def reference_stage(dates: list[dt.date], as_of_date: dt.date, bands: tuple[int, int, int]) -> str:
    if not dates:
        return "PROSPECT"
    d = (as_of_date - max(dates)).days
    p50, p70, p90 = bands
    if d <= p50:
        return "NEW" if len(set(dates)) == 1 else "ACTIVE"
    if d <= p70:
        return "SILENT"
    if d <= p90:
        return "SLEEPING"
    return "CHURNED"
