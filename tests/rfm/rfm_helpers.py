"""Shared helpers of the RFM tests: small hand-made logs and a plain-Python reference."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from ecrm import Money, Order, OrderLog, OrderStatus
from ecrm.rfm import RfmScheme

SH = ZoneInfo("Asia/Shanghai")
_ids = itertools.count()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, tz: Any = SH) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=tz)


def order(
    customer: str | int,
    placed_at: dt.datetime,
    fen: int = 10_000,
    status: OrderStatus = OrderStatus.PAID,
    refunded: int = 0,
) -> Order:
    return Order(
        order_id=f"t{next(_ids)}",
        customer_id=customer,
        placed_at=placed_at,
        amount=Money(fen),
        status=status,
        refunded=Money(refunded) if refunded else None,
    )


def log_of(orders: Iterable[Order], tz: Any = SH) -> OrderLog:
    return OrderLog.from_orders(list(orders), tz=tz)


def reference_scores(
    orders: Iterable[Order], as_of: dt.datetime, scheme: RfmScheme, tz: Any,
    statuses: frozenset[OrderStatus] | None = None,
) -> dict[Any, dict[str, Any]]:
    """RFM of every customer by plain Python over Order values (independent of the kernels)."""
    local = as_of.astimezone(tz)
    start = local - scheme.lookback
    per: dict[Any, list[Order]] = {}
    for o in orders:
        ok = o.is_valid() if statuses is None else o.is_valid(statuses)
        if ok and start <= o.placed_at < as_of:
            per.setdefault(o.customer_id, []).append(o)
    out: dict[Any, dict[str, Any]] = {}
    for cid, rows in per.items():
        last = max(o.placed_at for o in rows)
        freq = len(rows)
        money = sum(o.amount.fen - o.refunded_amount.fen for o in rows)
        r = scheme.recency.scores[-1]
        for d, s in zip(scheme.recency.within, scheme.recency.scores, strict=False):
            if last >= local - d:
                r = s
                break
        f = [s for e, s in zip(scheme.frequency.edges, scheme.frequency.scores, strict=True)
             if e <= freq][-1]
        m = [s for e, s in zip(scheme.monetary.edges, scheme.monetary.scores, strict=True)
             if e <= money][-1]
        w_r, w_f, w_m = scheme.weights
        total = w_r * r + w_f * f + w_m * m
        p, g, s_ = scheme.grade_cutoffs
        grade = "P" if total >= p else "G" if total >= g else "S" if total >= s_ else "B"
        out[cid] = {
            "recency_days": (local.date() - last.astimezone(tz).date()).days,
            "frequency": freq,
            "monetary_fen": money,
            "r": r, "f": f, "m": m, "total": total, "grade": grade,
        }
    return out


ONE_MONTH = relativedelta(months=1)
