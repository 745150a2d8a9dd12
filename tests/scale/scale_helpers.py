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

