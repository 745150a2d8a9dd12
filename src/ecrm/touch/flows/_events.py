"""Order-level logistics events (placed, paid, shipped, delivered …) as flow input.

The care flows read these events (and the :class:`~ecrm.OrderLog` directly where the data
is there). :class:`OrderEvents` is the columnar form; :func:`order_events_from_log`
simulates the events of an order log for backtests.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._deprecate import renamed_kwarg
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import NAT_US, US_PER_DAY, as_zone, datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = ["OrderEvent", "OrderEventKind", "OrderEvents", "order_events_from_log"]

IntArray = npt.NDArray[np.int64]


class OrderEventKind(enum.Enum):
    """What happened to an order. The value is the name used in message types and keys."""

    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    MULTI_WAREHOUSE_SHIPPED = "multi_warehouse_shipped"
    DELIVERED = "delivered"
    RECEIPT_CONFIRMED = "receipt_confirmed"
    REFUND_REQUESTED = "refund_requested"
    RETURN_RECEIVED = "return_received"
    REFUNDED = "refunded"
    CLOSED = "closed"

    @property
    def code(self) -> int:
        """The small integer stored in :attr:`OrderEvents.kind_codes`."""
        return _CODES[self]


_CODES: Final = {k: i for i, k in enumerate(OrderEventKind)}
KIND_BY_CODE: Final = tuple(OrderEventKind)


def _id(field: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidTypeError(f"{field} must be a str or int, got {type(value).__name__}")
        if isinstance(value, str) and not value.strip():
            raise InvalidValueError(field, "must not be empty", value)

    return check


def _kind(value: object) -> OrderEventKind:
    if isinstance(value, OrderEventKind):
        return value
    try:
        return OrderEventKind(str(value).strip().lower())
    except ValueError:
        raise InvalidValueError(
            "kind", f"must be one of {[k.value for k in OrderEventKind]}", value
        ) from None


@attrs.frozen
class OrderEvent:
    """One thing that happened to an order.

    >>> import datetime as dt
    >>> e = OrderEvent("A1", "c1", "shipped", dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC),
    ...                tracking_number="SF123")
    >>> e.kind, e.warehouses
    (<OrderEventKind.SHIPPED: 'shipped'>, 1)

    Attributes:
        order_id: the order (str or int).
        customer_id: its customer (str or int).
        kind: an :class:`OrderEventKind` (or its value).
        at: when it happened (aware).
        tracking_number: the waybill number (shipping events).
        carrier: the carrier's name (顺丰, 中通 …).
        warehouses: how many warehouses ship the order (> 1 ⇒ several parcels).
        amount: the refunded amount (refund events), else ``None``.
    """

    order_id: str | int = attrs.field(validator=_id("order_id"))
    customer_id: str | int = attrs.field(validator=_id("customer_id"))
    kind: OrderEventKind = attrs.field(converter=_kind)
    at: dt.datetime = attrs.field()
    tracking_number: str | None = attrs.field(default=None, kw_only=True)
    carrier: str | None = attrs.field(default=None, kw_only=True)
    warehouses: int = attrs.field(default=1, kw_only=True)
    amount: Money | None = attrs.field(
        default=None, kw_only=True,
        validator=attrs.validators.optional(attrs.validators.instance_of(Money)),
    )

    @at.validator
    def _check_at(self, attribute: attrs.Attribute[Any], value: object) -> None:
        require_aware(value, "at")

    @warehouses.validator
    def _check_warehouses(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(f"warehouses must be an int, got {type(value).__name__}")
        if value < 1:
            raise InvalidValueError("warehouses", "must be >= 1", value)


@attrs.frozen(eq=False)
class OrderEvents:
    """Order events as columns, in input order. :meth:`between` finds a time window by
    binary search when the events are in time order (a feed usually is), else by one
    vectorised comparison over all events; no sort is paid when the columns are built.

    Attributes:
        order_ids: shape (n,), int64 when every order id is an int, else str.
        customer_ids: shape (n,), int64 or str as given.
        kind_codes: int8, shape (n,), :attr:`OrderEventKind.code`.
        at_us: int64, shape (n,), epoch microseconds (UTC).
        tracking_numbers, carriers: str, shape (n,), ``""`` when unknown.
        warehouses: int64, shape (n,), >= 1.
        amount_fen: int64, shape (n,), refunded fen (0 when not a refund).
        currency: the currency of ``amount_fen``.
    """

    order_ids: npt.NDArray[Any]
    customer_ids: npt.NDArray[Any]
    kind_codes: npt.NDArray[np.int8]
    at_us: IntArray
    tracking_numbers: npt.NDArray[np.str_]
    carriers: npt.NDArray[np.str_]
    warehouses: IntArray
    amount_fen: IntArray
    currency: str = "CNY"
    _in_time_order: bool = attrs.field(init=False, repr=False)

    @_in_time_order.default
    def _check_order(self) -> bool:
        return bool(np.all(self.at_us[1:] >= self.at_us[:-1]))

    def __len__(self) -> int:
        return len(self.at_us)

    def __repr__(self) -> str:
        return f"OrderEvents({len(self):,} events)"

    @classmethod
    def from_events(cls, events: Iterable[OrderEvent], *, currency: str = "CNY") -> OrderEvents:
        """Build the columns from :class:`OrderEvent` values.

        Raises:
            InvalidTypeError: an element is not an ``OrderEvent``, or customer ids mix
                str and int.
            InvalidValueError: a refund amount is in another currency.
        """
        rows = list(events)
        for i, e in enumerate(rows):
            if not isinstance(e, OrderEvent):
                raise InvalidTypeError(f"events[{i}] must be an OrderEvent, got "
                                       f"{type(e).__name__} {_short_repr(e)}")
            if e.amount is not None and e.amount.currency != currency:
                raise InvalidValueError(f"events[{i}].amount", f"must be in {currency}",
                                        e.amount)
        kinds = {type(e.customer_id) for e in rows}
        if len(kinds) > 1:
            raise InvalidTypeError("customer_id values must be all str or all int, got a mix")
        n = len(rows)
        ids = np.asarray([e.customer_id for e in rows],
                         dtype=np.int64 if kinds == {int} else str).reshape(n)
        int_orders = all(type(e.order_id) is int for e in rows)
        return cls._build(
            np.asarray([e.order_id if int_orders else str(e.order_id) for e in rows],
                       dtype=np.int64 if int_orders else str).reshape(n),
            ids,
            np.asarray([e.kind.code for e in rows], dtype=np.int8),
            np.asarray([datetime_to_us(e.at) for e in rows], dtype=np.int64),
            np.asarray([e.tracking_number or "" for e in rows], dtype=str).reshape(n),
            np.asarray([e.carrier or "" for e in rows], dtype=str).reshape(n),
            np.asarray([e.warehouses for e in rows], dtype=np.int64),
            np.asarray([0 if e.amount is None else e.amount.fen for e in rows], dtype=np.int64),
            currency,
        )

    @classmethod
    def _build(cls, order_ids: npt.NDArray[Any], customer_ids: npt.NDArray[Any],
               kind_codes: npt.NDArray[np.int8], at_us: IntArray,
               tracking: npt.NDArray[np.str_], carriers: npt.NDArray[np.str_],
               warehouses: IntArray, amount_fen: IntArray, currency: str) -> OrderEvents:
        cols: list[Any] = [order_ids, customer_ids, kind_codes, at_us, tracking, carriers,
                           warehouses, amount_fen]
        for c in cols:
            c.flags.writeable = False
        return cls(cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7],
                   currency)

    def event_at(self, i: int, tz: dt.tzinfo | str | None = None) -> OrderEvent:
        """Row ``i`` as an :class:`OrderEvent` (``at`` in ``tz``, default the store zone)."""
        cid = self.customer_ids[i]
        oid = self.order_ids[i]
        fen = int(self.amount_fen[i])
        return OrderEvent(
            oid.item() if isinstance(oid, np.generic) else oid,
            cid.item() if isinstance(cid, np.generic) else cid,
            KIND_BY_CODE[int(self.kind_codes[i])],
            us_to_datetime(int(self.at_us[i]), as_zone(tz)),
            tracking_number=str(self.tracking_numbers[i]) or None,
            carrier=str(self.carriers[i]) or None,
            warehouses=int(self.warehouses[i]),
            amount=Money(fen, self.currency) if fen else None,
        )

    @renamed_kwarg("since", "start")
    def between(self, start: dt.datetime, as_of: dt.datetime,
                kinds: Iterable[OrderEventKind] | None = None) -> npt.NDArray[np.intp]:
        """Rows with ``start < at <= as_of`` (of ``kinds``, all when ``None``), in time order.

        Returns:
            intp, shape (k,).
        """
        s = datetime_to_us(require_aware(start, "start"))
        a = datetime_to_us(require_aware(as_of, "as_of"))
        at = self.at_us
        if self._in_time_order:
            lo, hi = np.searchsorted(at, s, "right"), np.searchsorted(at, a, "right")
            rows = np.arange(lo, hi, dtype=np.intp)
        else:
            rows = np.flatnonzero((at > s) & (at <= a))
            rows = rows[np.argsort(at[rows], kind="stable")]
        if kinds is not None:
            codes = np.asarray([k.code for k in kinds], dtype=np.int8)
            rows = rows[np.isin(self.kind_codes[rows], codes)]
        return rows


_SHIPPED_STATUSES: Final = frozenset(
    {OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.REFUNDED}
)


_MAX_DELAY: Final = dt.timedelta(days=3650)


def order_events_from_log(
    orders: OrderLog,
    *,
    ship_after: dt.timedelta = dt.timedelta(days=1),
    deliver_after: dt.timedelta = dt.timedelta(days=3),
    confirm_after: dt.timedelta = dt.timedelta(days=7),
    refund_after: dt.timedelta = dt.timedelta(days=10),
    refund_request_after: dt.timedelta = dt.timedelta(days=7),
    multi_warehouse_min_lines: int = 3,
) -> OrderEvents:
    """Simulate the logistics events of an order log (for backtests and demos).

    An :class:`~ecrm.OrderLog` holds placing and payment times and the final status,
    not the logistics history, so this derives it with fixed delays after payment:
    PLACED at ``placed_at``; PAID at ``paid_at``; SHIPPED (MULTI_WAREHOUSE_SHIPPED for
    orders with at least ``multi_warehouse_min_lines`` order lines, 2 warehouses) at
    ``paid_at + ship_after`` for shipped, completed and refunded orders; DELIVERED at
    ``paid_at + deliver_after`` and RECEIPT_CONFIRMED at ``paid_at + confirm_after`` for
    completed ones; REFUNDED (amount = refunded fen) at ``paid_at + refund_after`` for
    orders with a refund (RETURN_RECEIVED a day before, for shipped ones, and
    REFUND_REQUESTED at ``paid_at + refund_request_after``, for all). Tracking
    numbers and carriers are left empty (texts say 见订单详情). Vectorised; no per-order
    Python loop.

    Returns:
        :class:`OrderEvents` (grouped by kind; :meth:`OrderEvents.between` is in time
        order).

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog; a delay is not a timedelta;
            ``multi_warehouse_min_lines`` not an int.
        InvalidValueError: the log has no ``paid_at`` or ``order_ids`` column; a delay
            outside 0 to 3,650 days; ``multi_warehouse_min_lines`` outside 1 to 2**31 − 1.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    us = {"ship": ship_after, "deliver": deliver_after, "confirm": confirm_after,
          "refund": refund_after, "request": refund_request_after}
    names = {"ship": "ship_after", "deliver": "deliver_after", "confirm": "confirm_after",
             "refund": "refund_after", "request": "refund_request_after"}
    for key, value in us.items():  # checked before any arithmetic can overflow int64
        _v.check_instance(names[key], value, dt.timedelta)
        if not dt.timedelta(0) <= value <= _MAX_DELAY:
            raise InvalidValueError(names[key], "must be between 0 and 3,650 days", value)
    if isinstance(multi_warehouse_min_lines, bool) or not isinstance(
            multi_warehouse_min_lines, int):
        raise InvalidTypeError(f"multi_warehouse_min_lines must be an int, got "
                               f"{type(multi_warehouse_min_lines).__name__}")
    if not 1 <= multi_warehouse_min_lines <= 2**31 - 1:
        raise InvalidValueError("multi_warehouse_min_lines", "must be between 1 and 2**31 - 1",
                                multi_warehouse_min_lines)
    if orders.paid_at_us is None or orders.order_ids is None:
        raise InvalidValueError("orders", "need paid_at and order_id columns to simulate "
                                "logistics events", repr(orders), show_value=False)
    n = len(orders)
    delay = {k: int(v / dt.timedelta(microseconds=1)) for k, v in us.items()}
    status = orders.status_codes
    paid = orders.paid_at_us
    has_paid = paid != NAT_US
    code_of = {s: s.code for s in OrderStatus}
    shipped = has_paid & np.isin(status, [code_of[s] for s in _SHIPPED_STATUSES])
    completed = has_paid & (status == code_of[OrderStatus.COMPLETED])
    refunded = has_paid & (orders.refunded_fen > 0)
    closed = status == code_of[OrderStatus.CLOSED]
    lines = np.zeros(n, dtype=np.int64)
    if orders.items is not None and orders.items.order_rows is not None:
        lines = np.bincount(orders.items.order_rows, minlength=n).astype(np.int64)
    multi = lines >= multi_warehouse_min_lines
    rows_all = np.arange(n)
    parts: list[tuple[npt.NDArray[np.intp], OrderEventKind | npt.NDArray[np.int8], IntArray]] = [
        (rows_all, OrderEventKind.PLACED, orders.placed_at_us),
        (np.flatnonzero(has_paid), OrderEventKind.PAID, paid),
        (np.flatnonzero(shipped), np.where(multi, OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code,
                                           OrderEventKind.SHIPPED.code).astype(np.int8),
         paid + delay["ship"]),
        (np.flatnonzero(completed), OrderEventKind.DELIVERED, paid + delay["deliver"]),
        (np.flatnonzero(completed), OrderEventKind.RECEIPT_CONFIRMED, paid + delay["confirm"]),
        (np.flatnonzero(refunded), OrderEventKind.REFUND_REQUESTED, paid + delay["request"]),
        (np.flatnonzero(refunded & shipped), OrderEventKind.RETURN_RECEIVED,
         paid + delay["refund"] - US_PER_DAY),
        (np.flatnonzero(refunded), OrderEventKind.REFUNDED, paid + delay["refund"]),
        (np.flatnonzero(closed & ~has_paid), OrderEventKind.CLOSED,
         orders.placed_at_us + 30 * 60_000_000),
    ]
    rows_l, kinds_l, at_l = [], [], []
    for rows, kind, at in parts:
        rows_l.append(rows)
        if isinstance(kind, OrderEventKind):
            kinds_l.append(np.full(len(rows), kind.code, dtype=np.int8))
        else:
            kinds_l.append(kind[rows])
        at_l.append(at[rows])
    rows = np.concatenate(rows_l)
    kinds = np.concatenate(kinds_l)
    fen = np.where(kinds == OrderEventKind.REFUNDED.code, orders.refunded_fen[rows], 0)
    wh = np.where(kinds == OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code, 2, 1).astype(np.int64)
    blank = np.full(len(rows), "", dtype="<U1")
    return OrderEvents._build(
        orders.order_ids[rows], orders.customer_ids[orders.customer_codes[rows]], kinds,
        np.concatenate(at_l).astype(np.int64), blank, blank.copy(), wh, fen.astype(np.int64),
        orders.currency,
    )
