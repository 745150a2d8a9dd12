"""Row-shaped order values: :class:`OrderStatus`, :class:`OrderItem` and :class:`Order`.

These are the friendly, validated, one-at-a-time shapes. Heavy functions take the
columnar :class:`ecrm.OrderLog` built from them (or from arrays, CSV, data frames).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from ecrm._enums import parse_alias
from ecrm._ids import check_customer_id
from ecrm._money import Money
from ecrm._time import require_aware
from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

__all__ = ["DEFAULT_VALID_STATUSES", "Order", "OrderItem", "OrderStatus", "parse_status"]


class OrderStatus(enum.Enum):
    """Where an order is in its life. The value is the lower-case name used in files.

    Only valid orders count toward RFM, tiers and cycles; by default those are
    ``PAID``, ``SHIPPED`` and ``COMPLETED`` orders that were not fully refunded
    (see :data:`DEFAULT_VALID_STATUSES`).
    """

    UNPAID = "unpaid"  # placed, waiting for payment (待付款)
    PAID = "paid"  # paid, not yet shipped (待发货)
    SHIPPED = "shipped"  # shipped, not yet confirmed (已发货)
    COMPLETED = "completed"  # receipt confirmed (交易成功)
    REFUNDED = "refunded"  # fully refunded (退款成功)
    CLOSED = "closed"  # closed without payment, or cancelled (交易关闭)

    @property
    def code(self) -> int:
        """The small integer stored in columnar logs."""
        return _STATUS_CODES[self]


_STATUS_CODES: Final = {s: i for i, s in enumerate(OrderStatus)}
STATUS_BY_CODE: Final = tuple(OrderStatus)
_STATUS_ALIASES: Final = {
    **{s.value: s for s in OrderStatus},
    **{s.name.lower(): s for s in OrderStatus},
    "trade_finished": OrderStatus.COMPLETED,
    "finished": OrderStatus.COMPLETED,
    "success": OrderStatus.COMPLETED,
    "wait_buyer_pay": OrderStatus.UNPAID,
    "wait_seller_send_goods": OrderStatus.PAID,
    "wait_buyer_confirm_goods": OrderStatus.SHIPPED,
    "trade_closed": OrderStatus.CLOSED,
    "cancelled": OrderStatus.CLOSED,
    "canceled": OrderStatus.CLOSED,
    "待付款": OrderStatus.UNPAID,
    "等待买家付款": OrderStatus.UNPAID,
    "待发货": OrderStatus.PAID,
    "买家已付款": OrderStatus.PAID,
    "已付款": OrderStatus.PAID,
    "已发货": OrderStatus.SHIPPED,
    "卖家已发货": OrderStatus.SHIPPED,
    "交易成功": OrderStatus.COMPLETED,
    "已完成": OrderStatus.COMPLETED,
    "退款成功": OrderStatus.REFUNDED,
    "已退款": OrderStatus.REFUNDED,
    "交易关闭": OrderStatus.CLOSED,
    "已关闭": OrderStatus.CLOSED,
    # the long labels of Taobao seller-centre order exports (订单状态)
    "买家已付款，等待卖家发货": OrderStatus.PAID,
    "卖家已发货，等待买家确认": OrderStatus.SHIPPED,
    "卖家部分发货": OrderStatus.SHIPPED,
    "付款以前，卖家或买家主动关闭交易": OrderStatus.CLOSED,
}
_STATUS_RULE: Final = (
    f"must be one of {', '.join(s.value for s in OrderStatus)} (or a Taobao status name)"
)

#: Statuses that count as valid (paid) orders unless a function is told otherwise.
DEFAULT_VALID_STATUSES: Final = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED})


def parse_status(value: object, field: str = "status") -> OrderStatus:
    """Read an :class:`OrderStatus` from a member, its value/name, a Taobao export status
    (``TRADE_FINISHED``) or its Chinese label (``交易成功``).

    Raises:
        InvalidValueError: the text names no status.
    """
    return parse_alias(OrderStatus, _STATUS_ALIASES, value, field, _STATUS_RULE)


def _money_field(field: str) -> _Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, Money):
            raise InvalidTypeError(
                f"{field} must be Money (e.g. Money(1250) or Money.from_decimal('12.50')), "
                f"got {type(value).__name__} {value!r}"
            )
        if value.fen < 0:
            raise InvalidValueError(field, "must be >= 0 fen", value.fen)

    return check


def _check_text(field: str, *, optional: bool = False) -> _Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            raise InvalidTypeError(f"{field} must be a string, got {type(value).__name__} {value!r}")
        if not optional and not value.strip():
            raise InvalidValueError(field, "must not be empty", value)

    return check


@attrs.frozen
class OrderItem:
    """One line of an order: a SKU, its category, a quantity and the unit price paid."""

    sku: str = attrs.field(validator=_check_text("sku"))
    unit_price: Money = attrs.field(validator=_money_field("unit_price"))
    quantity: int = attrs.field(default=1)
    category: str | None = attrs.field(default=None, validator=_check_text("category", optional=True))

    @quantity.validator
    def _check_quantity(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(f"quantity must be an int, got {type(value).__name__} {value!r}")
        if value < 1:
            raise InvalidValueError("quantity", "must be >= 1", value)

    @property
    def line_total(self) -> Money:
        """``unit_price × quantity``."""
        return self.unit_price * self.quantity


def _to_items(value: Iterable[OrderItem]) -> tuple[OrderItem, ...]:
    return tuple(value)


@attrs.frozen
class Order:
    """One customer order.

    Args:
        order_id: the shop's order number.
        customer_id: the buyer (str or int, as the shop has them).
        placed_at: when the order was placed (timezone-aware).
        amount: the amount paid or payable, >= 0.
        status: where the order is (default ``PAID``).
        paid_at: when it was paid (aware), if it was.
        refunded: the amount refunded so far (0 ≤ refunded ≤ amount).
        items: the order lines.
        province: the delivery province as written in the source (normalised later).
        channel: the source channel (``"taobao"``, ``"tmall"``, ``"app"`` …).

    Raises:
        InvalidValueError / InvalidTypeError naming the field.
    """

    order_id: str = attrs.field(validator=_check_text("order_id"))
    customer_id: str | int = attrs.field(validator=check_customer_id)
    placed_at: dt.datetime = attrs.field()
    amount: Money = attrs.field(validator=_money_field("amount"))
    status: OrderStatus = attrs.field(default=OrderStatus.PAID, converter=parse_status)
    paid_at: dt.datetime | None = attrs.field(default=None)
    refunded: Money | None = attrs.field(default=None)
    items: tuple[OrderItem, ...] = attrs.field(default=(), converter=_to_items)
    province: str | None = attrs.field(default=None, validator=_check_text("province", optional=True))
    channel: str | None = attrs.field(default=None, validator=_check_text("channel", optional=True))

    @placed_at.validator
    def _check_placed_at(self, attribute: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
        require_aware(value, "placed_at")

    @paid_at.validator
    def _check_paid_at(self, attribute: attrs.Attribute[dt.datetime | None], value: dt.datetime | None) -> None:
        if value is not None:
            require_aware(value, "paid_at")

    @refunded.validator
    def _check_refunded(self, attribute: attrs.Attribute[Money | None], value: Money | None) -> None:
        if value is None:
            return
        _money_field("refunded")(self, attribute, value)
        if value.currency != self.amount.currency:
            raise CurrencyMismatchError(
                "refunded", f"must be in the order's currency {self.amount.currency}", value.currency
            )
        if value.fen > self.amount.fen:
            raise InvalidValueError("refunded", f"must be <= amount {self.amount}", str(value))

    @items.validator
    def _check_items(self, attribute: attrs.Attribute[tuple[OrderItem, ...]], value: tuple[OrderItem, ...]) -> None:
        for i, item in enumerate(value):
            if not isinstance(item, OrderItem):
                raise InvalidTypeError(f"items[{i}] must be an OrderItem, got {type(item).__name__}")
            if item.unit_price.currency != self.amount.currency:
                raise CurrencyMismatchError(
                    f"items[{i}].unit_price",
                    f"must be in the order's currency {self.amount.currency}",
                    item.unit_price.currency,
                )

    @property
    def refunded_amount(self) -> Money:
        """The refunded amount (zero when none)."""
        return self.refunded if self.refunded is not None else Money(0, self.amount.currency)

    @property
    def net_amount(self) -> Money:
        """``amount − refunded``: what the customer finally spent on this order."""
        return self.amount - self.refunded_amount

    def is_valid(self, statuses: frozenset[OrderStatus] = DEFAULT_VALID_STATUSES) -> bool:
        """Whether the order counts: its status is in ``statuses`` and it is not fully
        refunded (a refund > 0 that reaches the amount). A ¥0 order (a free gift) counts."""
        refunded = self.refunded_amount.fen
        return self.status in statuses and not (refunded > 0 and refunded >= self.amount.fen)
