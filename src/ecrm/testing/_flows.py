"""Strategies for the care flows of :mod:`ecrm.touch.flows`: order events and coupon grants."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import strategies as st

from ecrm._money import Money
from ecrm._time import datetime_to_us
from ecrm.testing._core import aware_datetimes, customer_ids
from ecrm.touch.flows import CouponGrants, OrderEvent, OrderEventKind, OrderEvents

__all__ = ["coupon_grants", "order_event_columns", "order_events"]

_MIN = dt.datetime(2024, 1, 1)
_MAX = dt.datetime(2026, 12, 31)


def order_events(
    *,
    kinds: tuple[OrderEventKind, ...] | None = None,
    min_value: dt.datetime = _MIN,
    max_value: dt.datetime = _MAX,
    max_customers: int = 20,
) -> st.SearchStrategy[OrderEvent]:
    """:class:`~ecrm.touch.flows.OrderEvent` values: order ids ``A0..A99``, str customer ids,
    aware times (naive wall-clock bounds), tracking numbers and carriers on shipping
    events, up to 3 warehouses, and a refund amount on REFUNDED events."""
    def build(order: int, cid: str | int, kind: OrderEventKind, at: dt.datetime,
              warehouses: int, fen: int) -> OrderEvent:
        ship = kind in (OrderEventKind.SHIPPED, OrderEventKind.MULTI_WAREHOUSE_SHIPPED)
        return OrderEvent(
            f"A{order}", cid, kind, at,
            tracking_number=f"SF{order:06d}" if ship else None,
            carrier="顺丰" if ship else None,
            warehouses=warehouses if ship else 1,
            amount=Money(fen) if kind is OrderEventKind.REFUNDED else None,
        )

    return st.builds(
        build,
        st.integers(0, 99),
        customer_ids(max_customers=max_customers),
        st.sampled_from(kinds or tuple(OrderEventKind)),
        aware_datetimes(min_value=min_value, max_value=max_value),
        st.integers(1, 3),
        st.integers(1, 100_000),
    )


def order_event_columns(
    *,
    max_size: int = 30,
    kinds: tuple[OrderEventKind, ...] | None = None,
    min_value: dt.datetime = _MIN,
    max_value: dt.datetime = _MAX,
    max_customers: int = 20,
) -> st.SearchStrategy[OrderEvents]:
    """:class:`~ecrm.touch.flows.OrderEvents` built from up to ``max_size`` events drawn by
    :func:`order_events` (the other options are :func:`order_events`' own)."""
    events = order_events(kinds=kinds, min_value=min_value, max_value=max_value,
                          max_customers=max_customers)
    return st.lists(events, max_size=max_size).map(OrderEvents.from_events)


def coupon_grants(*, max_size: int = 30, max_customers: int = 10) -> st.SearchStrategy[
        CouponGrants]:
    """:class:`~ecrm.touch.flows.CouponGrants`: str customer ids, coupon ids ``K0..K4``, aware
    validity ends and a random used flag."""
    row = st.tuples(customer_ids(max_customers=max_customers), st.integers(0, 4),
                    aware_datetimes(min_value=_MIN, max_value=_MAX), st.booleans())

    def build(rows: list[tuple[str | int, int, dt.datetime, bool]]) -> CouponGrants:
        return CouponGrants.from_arrays(
            np.asarray([str(r[0]) for r in rows], dtype=str).reshape(len(rows)),
            [f"K{r[1]}" for r in rows],
            np.asarray([datetime_to_us(r[2]) for r in rows], dtype=np.int64),
            used=[r[3] for r in rows],
        )

    return st.lists(row, max_size=max_size).map(build)
