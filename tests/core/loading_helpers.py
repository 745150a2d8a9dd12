"""Shared helpers of the loading tests (CSV and data frames)."""

from __future__ import annotations

import numpy as np

from ecrm import OrderLog
from ecrm._time import NAT_US


def assert_same_log(a: OrderLog, b: OrderLog) -> None:
    """Two logs hold the same orders in the same layout (``None`` text == all empty)."""
    assert len(a) == len(b)
    assert a.currency == b.currency
    assert list(a.customer_ids) == list(b.customer_ids)
    for name in ("customer_starts", "customer_codes", "placed_at_us", "amount_fen",
                 "refunded_fen", "status_codes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("paid_at_us",):
        x, y = getattr(a, name), getattr(b, name)
        x = np.full(len(a), NAT_US) if x is None else x
        y = np.full(len(b), NAT_US) if y is None else y
        assert np.array_equal(x, y), name
    for name in ("order_ids", "provinces", "channels"):
        x, y = getattr(a, name), getattr(b, name)
        xs = [""] * len(a) if x is None else [str(v) for v in x]
        ys = [""] * len(b) if y is None else [str(v) for v in y]
        assert xs == ys, name
    ia, ib = a.items, b.items
    if ia is None or ib is None:
        assert (ia is None or len(ia) == 0)
        assert (ib is None or len(ib) == 0)
        return
    for name in ("order_ids", "skus", "categories", "quantities", "unit_price_fen", "order_rows"):
        assert [str(v) for v in getattr(ia, name)] == [str(v) for v in getattr(ib, name)], name
