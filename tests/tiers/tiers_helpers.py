"""Shared helpers of the tier tests: the store zone, ``at`` and the cheap ``light_logs``."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from ecrm import OrderLog, OrderStatus
from ecrm.tiers import TAOBAO_STORE_VIP

TZ = ZoneInfo("Asia/Shanghai")
VIP = TAOBAO_STORE_VIP


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc,arg-type]


@st.composite
def light_logs(draw: st.DrawFn, *, max_size: int = 30, max_customers: int = 8) -> OrderLog:
    """Cheap logs straight from columns: repeat customers, every status, partial and full
    refunds, times over 2023-2025 (``order_logs()`` builds Order values and is slower)."""
    n = draw(st.integers(0, max_size))
    base = dt.datetime(2023, 1, 1, tzinfo=TZ)
    ids = draw(st.lists(st.integers(1, max_customers), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 3 * 365 * 1440), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(0, 300_000), min_size=n, max_size=n))
    statuses = draw(st.lists(st.sampled_from(list(OrderStatus)), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from([0, 0, 1, 2]), min_size=n, max_size=n))
    refunded = [0 if k == 0 else (a // 2 if k == 1 else a)
                for k, a in zip(kinds, amounts, strict=True)]
    if n == 0:
        return OrderLog.from_orders([], tz=TZ)
    return OrderLog.from_arrays(
        [f"c{i:03d}" for i in ids], [base + dt.timedelta(minutes=m) for m in minutes],
        amounts, statuses=statuses, refunded=refunded, tz=TZ,
    )
