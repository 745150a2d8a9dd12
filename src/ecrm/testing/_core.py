"""Strategies for the core values: money, times, orders and order logs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ecrm._deprecate import renamed_kwarg
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import Order, OrderItem, OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone

__all__ = [
    "aware_datetimes",
    "customer_ids",
    "moneys",
    "order_items",
    "order_logs",
    "order_statuses",
    "orders",
]

_DEFAULT_MIN = dt.datetime(2020, 1, 1)
_DEFAULT_MAX = dt.datetime(2026, 12, 31)
_ZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe")


CustomerKind = Literal["str", "int"]
"""Which ids a strategy draws: ``"str"`` (``"c0001"``) or ``"int"`` (``1``)."""


def _fen(value: Money | int, name: str, currency: str) -> int:
    """A bound given as fen or as :class:`Money` (in ``currency``), as fen."""
    if isinstance(value, Money):
        if value.currency != currency:
            raise InvalidArgument(
                f"{name}={value!r} is in {value.currency}, but currency={currency!r}"
            )
        return value.fen
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be Money or an int of fen, got {value!r}")
    return value


def _check_kind(customer_kind: str) -> None:
    if customer_kind not in ("str", "int"):
        raise InvalidArgument(f"customer_kind must be 'str' or 'int', got {customer_kind!r}")


@renamed_kwarg("min_fen", "min_value")
@renamed_kwarg("max_fen", "max_value")
def moneys(
    *,
    min_value: Money | int = 0,
    max_value: Money | int = 10_000_000,
    currency: str = DEFAULT_CURRENCY,
) -> st.SearchStrategy[Money]:
    """``Money`` values from ``min_value`` to ``max_value`` (inclusive) in ``currency``.

    Bounds are :class:`~ecrm.Money` or ints of fen (the smallest unit). ``min_fen`` /
    ``max_fen`` are deprecated aliases.

    Raises:
        hypothesis.errors.InvalidArgument: a bound in another currency, or min > max.
    """
    low = _fen(min_value, "min_value", currency)
    high = _fen(max_value, "max_value", currency)
    if low > high:
        raise InvalidArgument(f"min_value={min_value!r} is above max_value={max_value!r}")
    return st.builds(Money, st.integers(min_value=low, max_value=high), st.just(currency))


def aware_datetimes(
    *,
    min_value: dt.datetime = _DEFAULT_MIN,
    max_value: dt.datetime = _DEFAULT_MAX,
    zones: tuple[str, ...] | None = None,
) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes (whole seconds) in one of ``zones`` (default: a few, DST ones included).

    Wall times that do not exist (inside a DST gap) are never drawn.

    ``min_value`` / ``max_value`` are naive wall-clock bounds.
    """
    tzs = st.sampled_from([as_zone(z) for z in (zones or _ZONES)])
    return st.datetimes(
        min_value=min_value, max_value=max_value, timezones=tzs, allow_imaginary=False
    ).map(
        lambda d: d.replace(microsecond=0)
    )


@renamed_kwarg("kind", "customer_kind")
def customer_ids(
    *, max_customers: int = 50, customer_kind: CustomerKind = "str"
) -> st.SearchStrategy[str | int]:
    """Customer ids drawn from a small pool so that customers repeat.

    ``customer_kind`` is ``"str"`` (``"c0001"``) or ``"int"``; ``kind`` is a deprecated alias.
    """
    _check_kind(customer_kind)
    if customer_kind == "int":
        return st.integers(min_value=1, max_value=max_customers)
    return st.integers(min_value=1, max_value=max_customers).map(lambda i: f"c{i:04d}")


def order_statuses(*, valid_only: bool = False) -> st.SearchStrategy[OrderStatus]:
    """``OrderStatus`` members (only PAID / SHIPPED / COMPLETED when ``valid_only``)."""
    if valid_only:
        return st.sampled_from([OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED])
    return st.sampled_from(list(OrderStatus))


@renamed_kwarg("max_fen", "max_amount")
def order_items(
    *, currency: str = DEFAULT_CURRENCY, max_amount: Money | int = 500_000
) -> st.SearchStrategy[OrderItem]:
    """Order lines with SKUs from a small catalogue, unit prices up to ``max_amount``."""
    return st.builds(
        OrderItem,
        sku=st.sampled_from([f"SKU-{i:03d}" for i in range(12)]),
        unit_price=moneys(max_value=max_amount, currency=currency),
        quantity=st.integers(min_value=1, max_value=5),
        category=st.sampled_from(["skincare", "snacks", "tea", "apparel", None]),
    )


_PROVINCES = st.sampled_from([None, "浙江省", "广东", "北京市", "四川省"])
_PAY_DELAY_MINUTES = st.integers(min_value=0, max_value=120)


@attrs.frozen
class _OrderParts:
    """The strategies of an order's fields, built once and reused for every order drawn.

    Building hypothesis strategies is not free (each new one is validated on first draw);
    drawing from prebuilt ones keeps a 40-order log a few milliseconds to draw.
    """

    customers: st.SearchStrategy[Any]
    placed_at: st.SearchStrategy[dt.datetime]
    statuses: st.SearchStrategy[OrderStatus]
    currency: str
    amounts: st.SearchStrategy[Money]
    items: st.SearchStrategy[list[OrderItem]]

    @classmethod
    def build(
        cls,
        customers: st.SearchStrategy[Any],
        placed_at: st.SearchStrategy[dt.datetime],
        statuses: st.SearchStrategy[OrderStatus],
        currency: str,
        max_amount: Money | int,
    ) -> _OrderParts:
        return cls(
            customers=customers,
            placed_at=placed_at,
            statuses=statuses,
            currency=currency,
            amounts=moneys(max_value=max_amount, currency=currency),
            items=st.lists(order_items(currency=currency), max_size=3),
        )


def _draw_order(draw: st.DrawFn, parts: _OrderParts, order_id: str) -> Order:
    amount = draw(parts.amounts)
    # Half the orders carry no refund; the others any refund up to the whole amount.
    refunded = draw(st.integers(min_value=0, max_value=amount.fen)) if draw(st.booleans()) else 0
    when = draw(parts.placed_at)
    status = draw(parts.statuses)
    paid = None
    if status not in (OrderStatus.UNPAID, OrderStatus.CLOSED):
        paid = when + dt.timedelta(minutes=draw(_PAY_DELAY_MINUTES))
    return Order(
        order_id=order_id,
        customer_id=draw(parts.customers),
        placed_at=when,
        amount=amount,
        status=status,
        paid_at=paid,
        refunded=Money(refunded, parts.currency) if refunded else None,
        items=draw(parts.items),
        province=draw(_PROVINCES),
    )


@st.composite
def _orders(draw: st.DrawFn, parts: _OrderParts) -> Order:
    return _draw_order(draw, parts, f"o-{draw(st.uuids()).hex[:16]}")


@renamed_kwarg("customers", "customer_ids")
@renamed_kwarg("max_fen", "max_amount")
def orders(
    *,
    customer_ids: st.SearchStrategy[Any] | None = None,
    placed_at: st.SearchStrategy[dt.datetime] | None = None,
    statuses: st.SearchStrategy[OrderStatus] | None = None,
    currency: str = DEFAULT_CURRENCY,
    max_amount: Money | int = 1_000_000,
) -> st.SearchStrategy[Order]:
    """Valid :class:`Order` values (refunds never exceed the amount; ids are random).

    Args:
        customer_ids: a strategy of customer ids (default :func:`customer_ids`).
        placed_at: a strategy of aware times (default :func:`aware_datetimes`).
        statuses: a strategy of statuses (default every status).
        currency: the orders' currency.
        max_amount: the largest order amount, Money or fen.

    ``customers`` and ``max_fen`` are deprecated aliases.
    """
    return _orders(_OrderParts.build(
        customers=customer_ids if customer_ids is not None else _customer_ids(),
        placed_at=placed_at if placed_at is not None else aware_datetimes(),
        statuses=statuses if statuses is not None else order_statuses(),
        currency=currency,
        max_amount=max_amount,
    ))


@st.composite
def _order_logs(
    draw: st.DrawFn,
    *,
    min_size: int,
    max_size: int,
    parts: _OrderParts,
    tz: str,
) -> OrderLog:
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    rows = [_draw_order(draw, parts, f"o{i:06d}") for i in range(n)]
    return OrderLog.from_orders(rows, tz=tz)


def order_logs(
    *,
    min_size: int = 0,
    max_size: int = 40,
    max_customers: int = 12,
    placed_at: st.SearchStrategy[dt.datetime] | None = None,
    statuses: st.SearchStrategy[OrderStatus] | None = None,
    tz: str = "Asia/Shanghai",
    customer_kind: CustomerKind = "str",
) -> st.SearchStrategy[OrderLog]:
    """Small :class:`OrderLog` s with repeat customers, mixed statuses and refunds."""
    parts = _OrderParts.build(
        customers=customer_ids(max_customers=max_customers, customer_kind=customer_kind),
        placed_at=placed_at if placed_at is not None else aware_datetimes(
            min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 6, 30)
        ),
        statuses=statuses if statuses is not None else order_statuses(),
        currency=DEFAULT_CURRENCY,
        max_amount=500_000,
    )
    return _order_logs(min_size=min_size, max_size=max_size, parts=parts, tz=tz)


_customer_ids = customer_ids  # for functions whose customer_ids= parameter shadows it
