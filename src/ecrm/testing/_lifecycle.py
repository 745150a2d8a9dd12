"""Strategies for repurchase cycles and lifecycle stages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._time import as_zone
from ecrm.lifecycle import Bands, RepurchaseCycle

__all__ = ["cycle_bands", "purchase_histories", "repurchase_cycles"]

_START = dt.datetime(2024, 1, 1)
#: A small catalogue: SKU → category ("" = unknown category).
_CATALOGUE = {
    "TEA-1": "tea", "TEA-2": "tea", "TEA-3": "tea",
    "SNK-1": "snacks", "SNK-2": "snacks",
    "MISC-1": "",
    "GIFT-1": "gifts",
}
#: SKUs whose lines carry one of several categories (shops re-file products): drawn per line.
_REFILED = {"GIFT-1": ("gifts", "tea")}
_INVALID = (OrderStatus.UNPAID, OrderStatus.REFUNDED, OrderStatus.CLOSED)


@st.composite
def _histories(
    draw: st.DrawFn,
    *,
    min_customers: int,
    max_customers: int,
    max_orders: int,
    max_days: int,
    tz: str,
    invalid: bool,
    items: bool,
    customer_kind: str,
) -> OrderLog:
    zone = as_zone(tz)
    n_customers = draw(st.integers(min_value=min_customers, max_value=max_customers))
    cust: list[Any] = []
    placed: list[dt.datetime] = []
    amount: list[int] = []
    refunded: list[int] = []
    status: list[str] = []
    line_oid: list[str] = []
    line_sku: list[str] = []
    line_cat: list[str] = []
    skus = sorted(_CATALOGUE)
    for c in range(n_customers):
        cid: Any = c + 1 if customer_kind == "int" else f"c{c:04d}"
        k = draw(st.integers(min_value=1, max_value=max_orders))
        for _ in range(k):
            day = draw(st.integers(min_value=0, max_value=max_days))
            second = draw(st.integers(min_value=0, max_value=86_399))
            when = (_START + dt.timedelta(days=day, seconds=second)).replace(tzinfo=zone)
            # Re-read the wall clock in the zone (a gap time moves to a real instant).
            when = when.astimezone(dt.UTC).astimezone(zone)
            fen = draw(st.integers(min_value=100, max_value=50_000))
            stat = OrderStatus.PAID
            ref = 0
            if invalid:
                roll = draw(st.integers(min_value=0, max_value=9))
                if roll == 0:
                    stat = draw(st.sampled_from(_INVALID))
                elif roll == 1:  # fully refunded although completed: not valid
                    stat, ref = OrderStatus.COMPLETED, fen
                elif roll == 2:  # partly refunded: still valid
                    stat, ref = OrderStatus.SHIPPED, fen // 2
            oid = f"o{len(placed):06d}"
            cust.append(cid)
            placed.append(when)
            amount.append(fen)
            refunded.append(ref)
            status.append(stat.value)
            if items:
                for sku in draw(st.lists(st.sampled_from(skus), min_size=1, max_size=2)):
                    line_oid.append(oid)
                    line_sku.append(sku)
                    refiled = _REFILED.get(sku)
                    line_cat.append(_CATALOGUE[sku] if refiled is None
                                    else draw(st.sampled_from(refiled)))
    order_ids = [f"o{i:06d}" for i in range(len(placed))]
    lines = None
    if items:
        lines = OrderItems.from_arrays(
            order_ids=line_oid, skus=line_sku, unit_price_fen=[100] * len(line_sku),
            categories=line_cat,
        )
    return OrderLog.from_arrays(
        cust, placed, amount, tz=zone, statuses=status, order_ids=order_ids,
        refunded=refunded, items=lines,
    )


def purchase_histories(
    *,
    min_customers: int = 1,
    max_customers: int = 12,
    max_orders: int = 5,
    max_days: int = 120,
    tz: str = "Asia/Shanghai",
    invalid: bool = True,
    items: bool = True,
    customer_kind: str = "str",
) -> st.SearchStrategy[OrderLog]:
    """Order logs shaped for cycle tests: each customer has 1..``max_orders`` orders on days
    0..``max_days`` from 2024-01-01 (local), several per day possible.

    Args:
        min_customers, max_customers: how many customers.
        max_orders: orders per customer at most.
        max_days: the span of order days.
        tz: the store zone.
        invalid: also draw unpaid / closed / refunded and fully refunded orders (and
            partly refunded valid ones).
        items: attach order lines from a small catalogue of SKUs in categories
            "tea", "snacks" and "" (unknown), and one SKU ("GIFT-1") whose lines are
            filed under "gifts" or "tea" (a SKU's category may differ line by line).
        customer_kind: "str" ids ("c0000") or "int" ids.
    """
    return _histories(
        min_customers=min_customers, max_customers=max_customers, max_orders=max_orders,
        max_days=max_days, tz=tz, invalid=invalid, items=items, customer_kind=customer_kind,
    )


@st.composite
def _bands(draw: st.DrawFn, max_days: int) -> Bands:
    p50 = draw(st.integers(min_value=0, max_value=max_days))
    p70 = draw(st.integers(min_value=p50, max_value=max_days))
    p90 = draw(st.integers(min_value=p70, max_value=max_days))
    return Bands(p50, p70, p90)


def cycle_bands(*, max_days: int = 400) -> st.SearchStrategy[Bands]:
    """:class:`Bands` with 0 <= P50 <= P70 <= P90 <= ``max_days``."""
    return _bands(max_days)


@st.composite
def _cycles(draw: st.DrawFn, max_days: int) -> RepurchaseCycle:
    n_buyers = draw(st.integers(min_value=0, max_value=10_000))
    n_rep = draw(st.integers(min_value=0, max_value=n_buyers))
    bands = draw(cycle_bands(max_days=max_days)) if n_rep else None
    answer = bands if bands is not None else draw(st.none() | cycle_bands(max_days=max_days))
    days = sorted(draw(st.sets(st.integers(min_value=0, max_value=max_days), max_size=8)))
    shares = sorted(draw(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=len(days),
                                  max_size=len(days))))
    when = draw(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1),
                             allow_imaginary=False,
                             timezones=st.sampled_from([as_zone("Asia/Shanghai"), as_zone("UTC"),
                                                        as_zone("America/New_York")])))
    return RepurchaseCycle(
        p50_days=None if answer is None else answer.p50_days,
        p70_days=None if answer is None else answer.p70_days,
        p90_days=None if answer is None else answer.p90_days,
        n_first_time_buyers=n_buyers,
        n_repurchasers=n_rep,
        repurchase_rate=n_rep / n_buyers if n_buyers else 0.0,
        curve_days=days,
        curve_share=shares,
        method=draw(st.sampled_from(["observed", "kaplan-meier"])),
        same_day=draw(st.sampled_from(["merge", "count"])),
        scope=draw(st.sampled_from(["store", "default", "category:tea", "sku:TEA-1"])),
        min_repurchasers=draw(st.integers(min_value=1, max_value=100)),
        estimate=bands,
        as_of=when,
    )


def repurchase_cycles(*, max_days: int = 400) -> st.SearchStrategy[RepurchaseCycle]:
    """Well-formed :class:`RepurchaseCycle` values (for snapshot and report tests)."""
    return _cycles(max_days)
