"""Small shops for the recommender tests, built from plain tuples."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from ecrm import EventLog, OrderItems, OrderLog

SH = ZoneInfo("Asia/Shanghai")
CAT = {"咖啡豆": "咖啡", "咖啡豆B": "咖啡", "糖包": "配料", "奶精": "配料", "杯子": "器具"}


def day(n: int, h: int = 12) -> dt.datetime:
    """Noon (or hour ``h``) of day ``n`` counted from 2024-01-01, Shanghai."""
    return dt.datetime(2024, 1, 1, h, tzinfo=SH) + dt.timedelta(days=n)


def shop(
    orders: Sequence[tuple[str, int, Sequence[str]]],
    categories: dict[str, str] | None = None,
    statuses: Sequence[str] | None = None,
) -> OrderLog:
    """A log from ``(customer, day, skus)`` rows; order ids are ``o0``, ``o1``, …"""
    cats = CAT if categories is None else categories
    oid, lines_oid, skus = [], [], []
    for i, (_c, _d, items) in enumerate(orders):
        oid.append(f"o{i}")
        for s in items:
            lines_oid.append(f"o{i}")
            skus.append(s)
    items = OrderItems.from_arrays(
        order_ids=lines_oid, skus=skus, unit_price_fen=[100] * len(skus),
        categories=[cats.get(s, "") for s in skus],
    )
    return OrderLog.from_arrays(
        [c for c, _, _ in orders], [day(d) for _, d, _ in orders], [100 * len(x) for *_, x in orders],
        order_ids=oid, items=items, statuses=statuses,
    )


def event_log(rows: Sequence[tuple[str, int, str, str]]) -> EventLog:
    """Events from ``(customer, day, kind, sku)`` rows."""
    return EventLog.from_arrays(
        [r[0] for r in rows], [day(r[1], 10) for r in rows], [r[2] for r in rows],
        skus=[r[3] for r in rows],
    )
