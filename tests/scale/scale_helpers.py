"""Shared checks for the scale tests: compare results field by field, bit for bit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ecrm import DEFAULT_VALID_STATUSES, OrderLog
from ecrm.rfm import RfmResult

RFM_ARRAYS = (
    "customer_ids", "last_order_us", "recency_days", "frequency", "monetary_fen",
    "r", "f", "m", "total", "grade", "unscored_customer_ids",
)


def assert_same_rfm(got: RfmResult, want: RfmResult) -> None:
    """Every array equal (values and dtype kind) and the same scalars."""
    for name in RFM_ARRAYS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype.kind == b.dtype.kind, (name, a.dtype, b.dtype)
        if a.dtype.kind in "iub":
            assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        assert np.array_equal(a, b), (name, a, b)
    assert got.as_of == want.as_of
    assert got.scheme == want.scheme
    assert got.currency == want.currency
    assert got.undersized == want.undersized


def reference_days(log: OrderLog, as_of: dt.datetime) -> dict[Any, list[int]]:
    """Plain Python: each customer's sorted distinct local purchase days (valid, < as_of)."""
    end = as_of.astimezone(dt.UTC)
    out: dict[Any, set[int]] = {}
    epoch = dt.date(1970, 1, 1)
    for order in log:
        if order.status not in DEFAULT_VALID_STATUSES or order.placed_at >= end:
            continue
        if order.refunded is not None and order.refunded.fen and (
            order.refunded.fen >= order.amount.fen
        ):
            continue
        day = (order.placed_at.astimezone(log.tz).date() - epoch).days
        out.setdefault(order.customer_id, set()).add(day)
    return {k: sorted(v) for k, v in out.items()}



STATUSES = np.asarray(["paid", "completed", "shipped", "closed", "unpaid", "refunded"])


def synthetic_orders(n_orders: int, n_customers: int, seed: int, *, str_ids: bool = False) -> Any:
    """A pandas DataFrame of random orders in canonical columns (placed_at aware,
    Asia/Shanghai; money in integer fen), from 2024-01-01 over two years."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n_orders)
    start = np.datetime64("2023-12-31T16:00:00", "us")  # 2024-01-01 00:00 in Shanghai
    offsets = rng.integers(0, 730 * 86_400_000_000, n_orders)
    amount = rng.integers(0, 300_000, n_orders)
    refunded = np.where(rng.random(n_orders) < 0.1, rng.integers(0, amount + 1), 0)
    return pd.DataFrame({
        "order_id": [f"o{i}" for i in range(n_orders)],
        "customer_id": [f"c{c:05d}" for c in cust] if str_ids else cust.astype(np.int64),
        "placed_at": pd.to_datetime(start + offsets.astype("timedelta64[us]"), utc=True)
        .tz_convert("Asia/Shanghai"),
        "amount": amount.astype(np.int64),
        "refunded": refunded.astype(np.int64),
        "status": STATUSES[rng.integers(0, len(STATUSES), n_orders)],
    })
