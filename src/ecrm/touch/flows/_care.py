"""Care flows (events and logs in → candidate :class:`Message` s out; the policy decides).

Every flow is a pure function run at an evaluation moment ``as_of`` after a previous run
at ``start`` (the earlier moment; ``since=`` is its deprecated alias): it returns the
messages that fell due in ``start < due <= as_of``, so runs
over consecutive windows never produce a message twice, and the natural idempotency key
(``care:payment_reminder:order-123``) makes a repeated run harmless in the outbox.
Selection is vectorised numpy; the Python loop only renders the messages produced.
Customers without an address on the context's channel get no message.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeAlias, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._customers import CustomerTable
from ecrm._deprecate import renamed_kwarg
from ecrm._events import EventLog
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import (
    DEFAULT_TZ,
    NAT_US,
    as_zone,
    datetime_to_us,
    local_days,
    require_aware,
    us_to_datetime,
)
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
from ecrm.lifecycle import (
    DEFAULT_PLAYBOOK,
    Bands,
    CycleTable,
    Playbook,
    PlaybookRule,
    RepurchaseCycle,
    Trigger,
    due_repurchase_reminders,
    inactive_customers,
)
from ecrm.tiers import IssuedCoupon
from ecrm.touch._compose import STANDARD_VARIABLES, SmsComposer, Template
from ecrm.touch._message import ChannelKind, Message, MessageClass, Recipient
from ecrm.touch._outbox import Guard
from ecrm.touch.flows._events import OrderEventKind, OrderEvents

__all__ = [
    "DEFAULT_HOLIDAYS",
    "DEFAULT_TEMPLATES",
    "CouponGrants",
    "FlowContext",
    "Holiday",
    "birthday_greetings",
    "coupon_expiry_reminders",
    "delivery_notices",
    "gift_pack_notices",
    "holiday_greetings",
    "order_guard",
    "payment_reminders",
    "receipt_confirmations",
    "refund_notices",
    "refund_request_care",
    "repurchase_reminders",
    "returning_customer_offers",
    "satisfaction_follow_ups",
    "shipping_notices",
    "still_due",
    "usage_tutorials",
    "why_not_due",
    "win_back_offers",
]

IntArray = npt.NDArray[np.int64]
_US_PER_MINUTE: Final = 60_000_000
_EXTRA_VARIABLES: Final = STANDARD_VARIABLES | {"parcels", "count", "holiday", "offer"}


def _t(text: str) -> Template:
    return Template(text, variables=_EXTRA_VARIABLES)


#: The default Chinese template of each message type (override per type in
#: :class:`FlowContext`). Variables: the standard ones plus ``parcels``, ``count``,
#: ``holiday`` and ``offer``.
DEFAULT_TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType({
    "payment_reminder": _t("{customer_name}，您的订单{order_id}还未付款，库存有限，请尽快支付哦"),
    "shipped": _t("{customer_name}，您的订单{order_id}已发货，{carrier}单号{tracking_number}"),
    "multi_warehouse_shipped": _t(
        "{customer_name}，您的订单{order_id}分{parcels}个包裹从不同仓库发出，请分别查收"),
    "delivered": _t("{customer_name}，您的订单{order_id}已送达，请及时查收"),
    "receipt_confirmed": _t("{customer_name}，感谢您确认收货，期待您的评价"),
    "receipt_confirmed_invite": _t(
        "{customer_name}，感谢您确认收货！点击{member_card_link}领取会员卡，享会员专属价"),
    # the source's 退货关怀 sample, with the shop's name for its 小爱
    "refund_requested": _t("{customer_name}，已经收到您的退款申请啦！请您尽快退回宝贝并上传单号，"
                           "款项才会尽快回到钱包哦~感谢您给予{store_name}的配合"),
    "return_received": _t("{customer_name}，我们已收到订单{order_id}的退货，将尽快为您退款"),
    "refunded": _t("{customer_name}，订单{order_id}的退款{amount}已原路退回，请查收"),
    "usage_tutorial": _t("{customer_name}，您购买的{item_name}已发货，使用教程：{link}"),
    "first_order_coupon": _t("{customer_name}，首单专享优惠券{coupon}已发放，下次购物可用"),
    "satisfaction_follow_up": _t(
        "{customer_name}，订单{order_id}的商品用得还满意吗？欢迎告诉我们您的感受"),
    "birthday": _t("{customer_name}，{store_name}祝您生日快乐！"),
    "holiday": _t("{customer_name}，{store_name}祝您{holiday}快乐！"),
    "repurchase": _t("{customer_name}，您上次买的{item_name}快用完了吧？点击{link}一键回购"),
    "coupon_expiry": _t("{customer_name}，您有{count}张优惠券将于{coupon_expires_on}到期，别浪费哦"),
    "gift_pack": _t("{customer_name}，欢迎入会！新会员礼包请在24小时内领取：{link}"),
    "returning_offer": _t("{customer_name}，{store_name}老客专属：{offer}，点击{link}选购"),
    "win_back": _t("{customer_name}，好久不见！回店享{offer}：{link}"),
    "coupon_care": _t("{customer_name}，{store_name}送您一张{coupon}优惠券，"
                      "{coupon_expires_on}前有效，点击{link}使用"),
    "new_arrivals": _t("{customer_name}，{store_name}上新：{item_name}，抢先看{link}"),
    "broadcast": _t("{customer_name}，{store_name}专属福利，点击{link}查看"),
    "double_12": _t("{customer_name}，12.12狂欢夜专属福利，今晚20点前下单享{offer}：{link}"),
})


def _templates(value: Mapping[str, Template] | None) -> Mapping[str, Template]:
    merged = dict(DEFAULT_TEMPLATES)
    if value is not None:
        _v.check_instance("templates", value, Mapping)
    for k, v in (value or {}).items():
        if not isinstance(v, Template):
            raise InvalidTypeError(f"templates[{k!r}] must be a Template, "
                                   f"got {type(v).__name__} {_short_repr(v)}")
        merged[k] = v
    return MappingProxyType(merged)


def _read_only_names(value: Mapping[str, str]) -> Mapping[str, str]:
    # a read-only copy: the caller changing their dict later must not change the context
    return MappingProxyType(dict(_v.check_instance("item_names", value, Mapping)))


def _check_time(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise InvalidTypeError(f"{attribute.name} must be a naive datetime.time, got {value!r}")


def _check_link(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidTypeError(f"{attribute.name} must be a str or None, got {value!r}")
    if not value.strip() or any(c.isspace() for c in value):
        raise InvalidValueError(attribute.name, "must be a link without spaces", value)


_LINKS: Final = ("link", "member_card_link")


def _require_links(ctx: FlowContext, templates: Iterable[str]) -> None:
    """Refuse before rendering anything when a template uses a link the context lacks."""
    for key in dict.fromkeys(templates):
        needed = ctx.template(key).required
        for name in _LINKS:
            if name in needed and getattr(ctx, name) is None:
                raise InvalidValueError(
                    f"ctx.{name}", f"must be set: the {key} template uses {{{name}}} and "
                    "FlowContext has no default link", None, show_value=False)


@attrs.frozen
class FlowContext:
    """What every flow needs to address and render its messages.

    >>> ctx = FlowContext(SmsComposer("【小林茶铺】"))
    >>> ctx.channel.name, ctx.send_time.isoformat()
    ('SMS', '10:00:00')

    Attributes:
        composer: the SMS composer (its signature also gives ``store_name``).
        customers: names, phones, e-mails, zones and membership (``None``: recipients
            carry only the customer id, so only IN_APP / COUPON messages can be addressed).
        channel: the channel the flows write for (SMS by default).
        templates: per message type, overriding :data:`DEFAULT_TEMPLATES`.
        link, member_card_link: the shop and member-card links put in texts. There is
            no default: a flow whose template uses one refuses to run without it
            (``InvalidValueError`` naming ``ctx.link``).
        fallback_name: the greeting when a customer's name is unknown (``"亲"``).
        send_time: the local time day-level reminders (birthday, repurchase, win-back)
            fall due on their day.
        tz: the store's zone (local days and ``send_time``).
        item_names: display names per SKU or category (default: the key itself).
    """

    composer: SmsComposer = attrs.field(validator=attrs.validators.instance_of(SmsComposer))
    customers: CustomerTable | None = attrs.field(
        default=None, validator=attrs.validators.optional(
            attrs.validators.instance_of(CustomerTable)))
    channel: ChannelKind = attrs.field(default=ChannelKind.SMS,
                                       validator=attrs.validators.instance_of(ChannelKind))
    templates: Mapping[str, Template] = attrs.field(default=None, converter=_templates)
    link: str | None = attrs.field(default=None, validator=_check_link)
    member_card_link: str | None = attrs.field(default=None, validator=_check_link)
    fallback_name: str = "亲"
    send_time: dt.time = attrs.field(default=dt.time(10), validator=_check_time)
    tz: str = attrs.field(default=DEFAULT_TZ)
    item_names: Mapping[str, str] = attrs.field(factory=dict, converter=_read_only_names)

    @tz.validator
    def _check_tz(self, attribute: attrs.Attribute[Any], value: str) -> None:
        as_zone(value, "tz")

    @property
    def zone(self) -> dt.tzinfo:
        """The store zone as a tzinfo."""
        return as_zone(self.tz)

    def template(self, message_type: str) -> Template:
        """The template of ``message_type``.

        Raises:
            InvalidValueError: no template for it.
        """
        try:
            return self.templates[message_type]
        except KeyError:
            raise InvalidValueError("message_type", "has no template in the context",
                                    message_type) from None


_F = TypeVar("_F", bound=Callable[..., Any])


def checked_arguments(func: _F) -> _F:
    """Refuse, with :class:`~ecrm.InvalidTypeError` naming the parameter, an argument whose
    annotation is one of the flows' data types (an order log, order events, an event log,
    coupon grants, a flow context, a message) but whose value is not one; checked before the flow reads
    anything, so a wrong value never surfaces as an ``AttributeError`` from inside."""
    params = inspect.signature(func).parameters
    wanted = {name: str(p.annotation) for name, p in params.items()
              if str(p.annotation) in _DATA_TYPES}
    names = list(params)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name, annotation in wanted.items():
            if name in kwargs:
                value = kwargs[name]
            else:
                i = names.index(name)
                if i >= len(args):
                    continue
                value = args[i]
            cls = _data_type(annotation)
            if not isinstance(value, cls):
                raise InvalidTypeError(f"{func.__name__}(): {name} must be {cls.__name__}, "
                                       f"got {type(value).__name__}")
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_DATA_TYPES: Final = frozenset({"OrderLog", "OrderEvents", "EventLog", "CouponGrants",
                                "FlowContext", "Message"})


def _data_type(annotation: str) -> type:
    return {"OrderLog": OrderLog, "OrderEvents": OrderEvents, "EventLog": EventLog,
            "CouponGrants": CouponGrants, "FlowContext": FlowContext,
            "Message": Message}[annotation]


def _window(start: dt.datetime, as_of: dt.datetime) -> tuple[int, int]:
    s = datetime_to_us(require_aware(start, "start"))
    a = datetime_to_us(require_aware(as_of, "as_of"))
    if s > a:
        raise InvalidValueError("start", f"must not be after as_of {as_of.isoformat()}",
                                start.isoformat())
    return s, a


def _key_prefix(message_class: MessageClass) -> str:
    return "mkt" if message_class is MessageClass.MARKETING else "care"


def _as_list(values: Any) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in np.asarray(values).tolist()]


def _emit(
    ctx: FlowContext,
    message_type: str,
    message_class: MessageClass,
    customer_ids: Any,
    due_us: IntArray,
    as_of: dt.datetime,
    *,
    parts: Sequence[str],
    values: Sequence[Mapping[str, object]] | None = None,
    dedupe: Sequence[str] | None = None,
    metadata: Sequence[Mapping[str, str]] | None = None,
    template: str | Sequence[str] | None = None,
    channel: ChannelKind | None = None,
) -> list[Message]:
    """Render one message per row (the only per-message Python loop of the flows).

    Raises:
        InvalidValueError: a template needs a link the context does not have (even when
            no row is due, so a misconfigured flow fails on its first run).
    """
    if template is None or isinstance(template, str):
        _require_links(ctx, [template or message_type])
    else:
        _require_links(ctx, [message_type, *template])
    ids = _as_list(customer_ids)
    n = len(ids)
    if n == 0:
        return []
    channel = channel or ctx.channel
    table = ctx.customers
    rows = table.index_of(np.asarray(customer_ids)) if table is not None else np.full(n, -1)
    zone = ctx.zone
    prefix = _key_prefix(message_class)
    out: list[Message] = []
    for i in range(n):
        row = int(rows[i])
        phone = email = tz = name = ""
        if table is not None and row >= 0:
            phone, email = str(table.phones[row]), str(table.emails[row])
            tz, name = str(table.zones[row]), str(table.names[row])
        if (channel is ChannelKind.SMS and not phone) or (
                channel is ChannelKind.EMAIL and not email):
            continue
        tkey = template if isinstance(template, str) or template is None else template[i]
        tmpl = ctx.template(tkey or message_type)
        merged: dict[str, object] = {"customer_name": name or ctx.fallback_name,
                                     "link": ctx.link, "member_card_link": ctx.member_card_link,
                                     "store_name": ctx.composer.signature[1:-1]}
        if values is not None:
            merged.update(values[i])
        if channel is ChannelKind.SMS:
            body = ctx.composer.render(tmpl, merged, message_class).text
        else:
            body = tmpl.render(merged)
        due = us_to_datetime(int(due_us[i]), zone)
        out.append(Message(
            key=f"{prefix}:{message_type}:{parts[i]}",
            message_type=message_type,
            message_class=message_class,
            channel=channel,
            recipient=Recipient(ids[i], phone=phone or None, email=email or None, tz=tz or None),
            body=body,
            created_at=as_of,
            dedupe_key=None if dedupe is None else dedupe[i],
            not_before=due,
            metadata=None if metadata is None else metadata[i],
        ))
    return out


def _due_days(start: dt.datetime, as_of: dt.datetime,
              ctx: FlowContext) -> list[tuple[dt.date, dt.datetime]]:
    """Local dates whose ``send_time`` falls in ``(start, as_of]``, with that moment."""
    _window(start, as_of)
    zone = ctx.zone
    d = start.astimezone(zone).date()
    last = as_of.astimezone(zone).date()
    out = []
    while d <= last:
        due = dt.datetime.combine(d, ctx.send_time, zone)
        if start < due <= as_of:
            out.append((d, due))
        d += dt.timedelta(days=1)
    return out


def _positive_us(field: str, value: object) -> int:
    if not isinstance(value, dt.timedelta):
        raise InvalidTypeError(f"{field} must be a timedelta, got {type(value).__name__}")
    if value <= dt.timedelta(0):
        raise InvalidValueError(field, "must be a positive duration", value)
    return round(value / dt.timedelta(microseconds=1))


def _minutes(field: str, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, dt.timedelta):
        raise InvalidTypeError(f"{field} must be a timedelta, got {type(value).__name__}")
    minutes = value / dt.timedelta(minutes=1)
    if not lo <= minutes <= hi:
        raise InvalidValueError(field, f"must be between {lo} and {hi} minutes", value)
    return round(value / dt.timedelta(microseconds=1))


_UNPAID: Final = OrderStatus.UNPAID.code
_CLOSED: Final = OrderStatus.CLOSED.code
FlashSale: TypeAlias = str | npt.NDArray[np.bool_] | None


# -- payment reminder (催付) ------------------------------------------------------------
@renamed_kwarg("since", "start")
@checked_arguments
def payment_reminders(
    orders: OrderLog,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    delay: dt.timedelta = dt.timedelta(minutes=30),
    flash_sale_delay: dt.timedelta = dt.timedelta(minutes=25),
    flash_sale: FlashSale = "flash_sale",
    flash_sale_closes_after: dt.timedelta = dt.timedelta(minutes=30),
    closes_after: dt.timedelta = dt.timedelta(hours=72),
) -> list[Message]:
    """Payment reminders (催付) for orders still unpaid ``delay`` after placing.

    An order is reminded at ``placed_at + delay`` (flash-sale orders at
    ``placed_at + min(delay, flash_sale_delay)``, as they close after 30 min) when that
    moment is in ``(start, as_of]`` and the order is still unpaid **as of** ``as_of``:
    not CLOSED, and either UNPAID without a payment time or paid after ``as_of`` (a
    replayed log knows later payments). An order paid or closed before the reminder
    moment never gets one. Orders paid between the flow run and the send are stopped by
    :func:`still_due` / :func:`order_guard` at dispatch time. Every reminder carries
    ``expires_at`` metadata, the moment the unpaid order auto-closes (``closes_after``
    placing, 72 h; flash-sale orders ``flash_sale_closes_after``, 30 min), with
    ``expiry = "order auto-close"``: the send policy skips a reminder that could only go
    out after it (the default policy holds reminders out of rest hours 22:00–08:00, see
    :func:`~ecrm.touch.payment_reminder_rules`).

    Args:
        orders: the order log (``paid_at`` optional; its ``channels`` column marks
            flash-sale orders when ``flash_sale`` is a channel name).
        start, as_of: the window of reminder moments, ``start < t <= as_of`` (aware).
        ctx: addressing and templates (``payment_reminder``).
        delay: 10 to 2880 minutes (default 30).
        flash_sale_delay: 10 to 25 minutes (default 25).
        flash_sale: the channel name of flash-sale orders, a bool mask (shape (n,)) of
            them, or ``None`` for none.
        flash_sale_closes_after: when flash-sale orders close (the reminder's expiry).
        closes_after: when other unpaid orders close (default 72 h; at least ``delay``).

    Returns:
        TRANSACTIONAL messages keyed ``care:payment_reminder:order-<id>``, deduped per
        order, ``not_before`` = the reminder moment, in reminder-time order.

    Raises:
        InvalidValueError: a delay out of range, ``start`` after ``as_of``, a mask of the
            wrong shape, or a log without order ids.
    """
    s, a = _window(start, as_of)
    d = _minutes("delay", delay, 10, 2880)
    fd = min(_minutes("flash_sale_delay", flash_sale_delay, 10, 25), d)
    close_us = _positive_us("flash_sale_closes_after", flash_sale_closes_after)
    normal_close_us = _positive_us("closes_after", closes_after)
    if normal_close_us <= d:
        raise InvalidValueError("closes_after", f"must be longer than delay {delay}", closes_after)
    if orders.order_ids is None:
        raise InvalidValueError("orders", "need an order_id column for payment reminders",
                                repr(orders), show_value=False)
    n = len(orders)
    if flash_sale is None:
        flash = np.zeros(n, dtype=bool)
    elif isinstance(flash_sale, str):
        flash = (orders.channels == flash_sale) if orders.channels is not None else np.zeros(
            n, dtype=bool)
    else:
        flash = np.asarray(flash_sale)
        if flash.dtype != np.bool_ or flash.shape != (n,):
            raise InvalidValueError("flash_sale", f"must be a bool mask of shape ({n},)",
                                    f"{flash.dtype} {flash.shape}")
    remind = orders.placed_at_us + np.where(flash, fd, d)
    paid = orders.paid_at_us if orders.paid_at_us is not None else np.full(n, NAT_US)
    status = orders.status_codes
    unpaid = np.where(paid == NAT_US, status == _UNPAID, paid > a) & (status != _CLOSED)
    rows = np.flatnonzero(unpaid & (remind > s) & (remind <= a))
    rows = rows[np.argsort(remind[rows], kind="stable")]
    oids = [str(x) for x in _as_list(orders.order_ids[rows])]
    placed = orders.placed_at_us[rows]
    fl = flash[rows]
    zone = ctx.zone
    meta = [
        {"order_id": o, "expiry": "order auto-close",
         "expires_at": us_to_datetime(int(p) + (close_us if f else normal_close_us),
                                      zone).isoformat()}
        for o, p, f in zip(oids, placed.tolist(), fl.tolist(), strict=True)
    ]
    return _emit(
        ctx, "payment_reminder", MessageClass.TRANSACTIONAL,
        orders.customer_ids[orders.customer_codes[rows]], remind[rows], as_of,
        parts=[f"order-{o}" for o in oids], values=[{"order_id": o} for o in oids],
        dedupe=[f"order-{o}" for o in oids], metadata=meta,
    )


# -- the dispatch-time re-check ----------------------------------------------------------
@renamed_kwarg("now", "as_of")
@checked_arguments
def why_not_due(message: Message, *, as_of: dt.datetime,
                status: OrderStatus | None = None) -> str | None:
    """Why ``message`` must not go out at ``as_of`` any more, or ``None`` when it still may.

    ``as_of`` is the dispatch instant (aware); ``now=`` is its deprecated alias.

    A message past its ``expires_at`` metadata (a flash sale that closed, a broadcast
    window that ended) is no longer due. A payment reminder is due only while its order
    is UNPAID: pass the order's current ``status`` (``None`` = unknown, which is not due).

    >>> import datetime as dt
    >>> from ecrm.touch import ChannelKind, Message, MessageClass, Recipient
    >>> t = dt.datetime(2025, 6, 1, 10, 30, tzinfo=dt.UTC)
    >>> m = Message("care:payment_reminder:order-1", "payment_reminder",
    ...             MessageClass.TRANSACTIONAL, ChannelKind.IN_APP, Recipient("c1"), "请付款",
    ...             created_at=t, metadata={"order_id": "1"})
    >>> why_not_due(m, as_of=t, status=OrderStatus.PAID)
    'order 1 is paid now'
    >>> still_due(m, as_of=t, status=OrderStatus.UNPAID)
    True
    """
    require_aware(as_of, "as_of")
    if status is not None:
        _v.check_instance("status", status, OrderStatus)
    expires = message.meta("expires_at")
    if expires is not None and _expiry(expires) <= as_of:
        return f"expired at {expires}"
    if message.message_type == "payment_reminder":
        oid = message.meta("order_id", "?")
        if status is None:
            return f"order {oid} state unknown"
        if status is not OrderStatus.UNPAID:
            return f"order {oid} is {status.value} now"
    return None


def _expiry(text: str) -> dt.datetime:
    """The ``expires_at`` metadata as an aware moment (the message carries text)."""
    try:
        return require_aware(dt.datetime.fromisoformat(text), "message.metadata['expires_at']")
    except ValueError:
        raise InvalidValueError("message.metadata['expires_at']",
                                "must be an ISO 8601 moment with an offset", text) from None


@renamed_kwarg("now", "as_of")
@checked_arguments
def still_due(message: Message, *, as_of: dt.datetime,
              status: OrderStatus | None = None) -> bool:
    """Whether ``message`` may still go out at ``as_of`` (see :func:`why_not_due`;
    ``now=`` is the deprecated alias of ``as_of=``)."""
    return why_not_due(message, as_of=as_of, status=status) is None


def order_guard(status_of: Callable[[str], OrderStatus | None]) -> Guard:
    """A dispatch-time guard: ``guard(message, now)`` → skip reason or ``None``.

    ``status_of(order_id)`` returns the order's current status (from the shop's order
    system; ``None`` when unknown). Only payment reminders look it up.
    """
    if not callable(status_of):
        raise InvalidTypeError(f"status_of must be callable, got {type(status_of).__name__}")

    def guard(message: Message, now: dt.datetime) -> str | None:
        status = None
        if message.message_type == "payment_reminder":
            status = status_of(message.meta("order_id") or "")
        return why_not_due(message, as_of=now, status=status)

    return guard


# -- logistics -------------------------------------------------------------------------
def _event_messages(events: OrderEvents, rows: npt.NDArray[np.intp], ctx: FlowContext,
                    as_of: dt.datetime, message_types: Sequence[str],
                    message_class: MessageClass, *, templates: Sequence[str] | None = None,
                    delay_us: int = 0) -> list[Message]:
    oids = [str(x) for x in events.order_ids[rows].tolist()]
    values: list[dict[str, object]] = []
    for i, r in enumerate(rows.tolist()):
        values.append({
            "order_id": oids[i],
            "tracking_number": str(events.tracking_numbers[r]) or "见订单详情",
            "carrier": str(events.carriers[r]) or "快递",
            "parcels": int(events.warehouses[r]),
            "amount": Money(int(events.amount_fen[r]), events.currency),
        })
    out: list[Message] = []
    # _emit takes one message type; group the rows by type, keep time order overall
    by_type: dict[str, list[int]] = {}
    for i, t in enumerate(message_types):
        by_type.setdefault(t, []).append(i)
    for mtype, idx in by_type.items():
        sel = rows[idx]
        out += _emit(
            ctx, mtype, message_class, events.customer_ids[sel],
            events.at_us[sel] + delay_us, as_of,
            parts=[f"order-{oids[i]}" for i in idx], values=[values[i] for i in idx],
            dedupe=[f"order-{oids[i]}" for i in idx],
            metadata=[{"order_id": oids[i]} for i in idx],
            template=None if templates is None else [templates[i] for i in idx],
        )
    out.sort(key=lambda m: (m.not_before or m.created_at, m.key))
    return out


@renamed_kwarg("since", "start")
@checked_arguments
def shipping_notices(events: OrderEvents, *, start: dt.datetime, as_of: dt.datetime,
                     ctx: FlowContext) -> list[Message]:
    """Shipped (已发货) and multi-warehouse shipped (分仓发货) notices.

    A SHIPPED event with ``warehouses > 1`` counts as multi-warehouse. TRANSACTIONAL,
    keyed ``care:shipped:order-<id>`` / ``care:multi_warehouse_shipped:order-<id>``,
    due at the event time, for events in ``(start, as_of]``.
    """
    _window(start, as_of)
    rows = events.between(start, as_of, (OrderEventKind.SHIPPED,
                                         OrderEventKind.MULTI_WAREHOUSE_SHIPPED))
    multi = (events.kind_codes[rows] == OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code) | (
        events.warehouses[rows] > 1)
    types = ["multi_warehouse_shipped" if m else "shipped" for m in multi.tolist()]
    return _event_messages(events, rows, ctx, as_of, types, MessageClass.TRANSACTIONAL)


@renamed_kwarg("since", "start")
@checked_arguments
def delivery_notices(events: OrderEvents, *, start: dt.datetime, as_of: dt.datetime,
                     ctx: FlowContext) -> list[Message]:
    """Delivered (已送达) notices: TRANSACTIONAL, ``care:delivered:order-<id>``."""
    _window(start, as_of)
    rows = events.between(start, as_of, (OrderEventKind.DELIVERED,))
    return _event_messages(events, rows, ctx, as_of, ["delivered"] * len(rows),
                           MessageClass.TRANSACTIONAL)


@renamed_kwarg("since", "start")
@checked_arguments
def receipt_confirmations(events: OrderEvents, *, start: dt.datetime, as_of: dt.datetime,
                          ctx: FlowContext) -> list[Message]:
    """Thanks for confirming receipt (确认收货), inviting non-members to claim the member card.

    Customers who were not members at the event time (per ``ctx.customers``; everyone
    when the context has no table) get the ``receipt_confirmed_invite`` text with the
    member-card link. CARE, ``care:receipt_confirmed:order-<id>``.
    """
    _window(start, as_of)
    _require_links(ctx, ["receipt_confirmed", "receipt_confirmed_invite"])
    rows = events.between(start, as_of, (OrderEventKind.RECEIPT_CONFIRMED,))
    member = np.zeros(len(rows), dtype=bool)
    table = ctx.customers
    if table is not None and len(rows) and len(table):
        pos = table.index_of(events.customer_ids[rows])
        since_us = np.where(pos >= 0, table.member_since_us[np.maximum(pos, 0)], NAT_US)
        member = (since_us != NAT_US) & (since_us < events.at_us[rows])
    templates = ["receipt_confirmed" if m else "receipt_confirmed_invite"
                 for m in member.tolist()]
    return _event_messages(events, rows, ctx, as_of, ["receipt_confirmed"] * len(rows),
                           MessageClass.CARE, templates=templates)


@renamed_kwarg("since", "start")
@checked_arguments
def refund_notices(events: OrderEvents, *, start: dt.datetime, as_of: dt.datetime,
                   ctx: FlowContext) -> list[Message]:
    """Return received (退货已收到) and refund done (退款成功) notices: TRANSACTIONAL,
    ``care:return_received:order-<id>`` / ``care:refunded:order-<id>``."""
    _window(start, as_of)
    rows = events.between(start, as_of, (OrderEventKind.RETURN_RECEIVED,
                                         OrderEventKind.REFUNDED))
    types = [OrderEventKind.REFUNDED.value if k == OrderEventKind.REFUNDED.code
             else OrderEventKind.RETURN_RECEIVED.value for k in events.kind_codes[rows].tolist()]
    return _event_messages(events, rows, ctx, as_of, types, MessageClass.TRANSACTIONAL)


@renamed_kwarg("since", "start")
@checked_arguments
def refund_request_care(events: OrderEvents, *, start: dt.datetime, as_of: dt.datetime,
                        ctx: FlowContext) -> list[Message]:
    """Refund-request care (退货关怀): when a customer asks for a refund of a shipped order,
    ask them to send the goods back and upload the tracking number.

    The source: "此时买家申请退款，可能对产品或服务是有不好体验的，主动积极的沟通和配合买家的需求，能提升客户体验"
    and its sample "已经收到您的退款申请啦！请您尽快退回宝贝并上传单号，款项才会尽快回到钱包哦~" (the
    default ``refund_requested`` template). Only orders with a SHIPPED (or
    multi-warehouse SHIPPED) event at or before the request get it: an order refunded
    before shipping has nothing to send back. CARE, keyed
    ``care:refund_requested:order-<id>``, deduped per order, due at the request.

    Raises:
        InvalidValueError: ``start`` after ``as_of``.
    """
    _window(start, as_of)
    rows = events.between(start, as_of, (OrderEventKind.REFUND_REQUESTED,))
    shipped_kinds = np.asarray([OrderEventKind.SHIPPED.code,
                                OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code], dtype=np.int8)
    ship_rows = np.flatnonzero(np.isin(events.kind_codes, shipped_kinds))
    # the earliest shipping moment per order, looked up by order id (sorted search)
    ship_ids, ship_at = events.order_ids[ship_rows], events.at_us[ship_rows]
    order = np.lexsort((ship_at, ship_ids))
    ship_ids, ship_at = ship_ids[order], ship_at[order]
    first = np.ones(len(ship_ids), dtype=bool)
    first[1:] = ship_ids[1:] != ship_ids[:-1]
    ship_ids, ship_at = ship_ids[first], ship_at[first]
    req_ids, ship_ids = _same_kind(events.order_ids[rows], ship_ids)
    if len(ship_ids):
        pos = np.minimum(np.searchsorted(ship_ids, req_ids), len(ship_ids) - 1)
        shipped = (ship_ids[pos] == req_ids) & (ship_at[pos] <= events.at_us[rows])
    else:
        shipped = np.zeros(len(rows), dtype=bool)
    rows = rows[shipped]
    return _event_messages(events, rows, ctx, as_of, ["refund_requested"] * len(rows),
                           MessageClass.CARE)


# -- first purchase: tutorial, coupon, satisfaction follow-up ----------------------------
def _first_orders(orders: OrderLog) -> tuple[npt.NDArray[Any], IntArray]:
    """The order id of each customer's first valid order, sorted, with its log row."""
    if orders.order_ids is None:
        raise InvalidValueError("orders", "need an order_id column", repr(orders),
                                show_value=False)
    valid = np.flatnonzero(orders.valid_mask())
    codes = orders.customer_codes[valid]
    first = np.ones(len(valid), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]  # rows are sorted by customer then placed_at
    rows = valid[first].astype(np.int64)
    ids = orders.order_ids[rows]
    order = np.argsort(ids, kind="stable")
    return ids[order], rows[order]


def _same_kind(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[npt.NDArray[Any],
                                                                   npt.NDArray[Any]]:
    if (a.dtype.kind == "U") == (b.dtype.kind == "U"):
        return a, b
    return a.astype(str), b.astype(str)


def _item_names(orders: OrderLog, log_rows: IntArray, ctx: FlowContext) -> list[str]:
    """The display name of the first line of each log row (``"宝贝"`` without lines)."""
    items = orders.items
    if items is None or items.order_rows is None or not len(items.order_rows):
        return ["宝贝"] * len(log_rows)
    line = np.minimum(np.searchsorted(items.order_rows, log_rows), len(items.order_rows) - 1)
    ok = items.order_rows[line] == log_rows
    return [ctx.item_names.get(str(s), str(s)) if k else "宝贝"
            for s, k in zip(items.skus[line].tolist(), ok.tolist(), strict=True)]


def _first_shipments(orders: OrderLog, events: OrderEvents, start: int, as_of: int,
                     delay_us: int) -> tuple[npt.NDArray[np.intp], IntArray]:
    """Event rows shipping a customer's first valid order (one per order), with the
    order's log row."""
    kinds = np.asarray([OrderEventKind.SHIPPED.code,
                        OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code], dtype=np.int8)
    due = events.at_us + delay_us
    rows = np.flatnonzero(np.isin(events.kind_codes, kinds) & (due > start) & (due <= as_of))
    rows = rows[np.argsort(due[rows], kind="stable")]
    first_ids, first_rows = _first_orders(orders)
    ev_ids, first_ids = _same_kind(events.order_ids[rows], first_ids)
    if not len(first_ids):
        return rows[:0], np.zeros(0, dtype=np.int64)
    pos = np.minimum(np.searchsorted(first_ids, ev_ids), len(first_ids) - 1)
    hit = first_ids[pos] == ev_ids
    rows, pos = rows[hit], pos[hit]
    # one per order even if the feed repeats the shipping event
    _, keep = np.unique(pos, return_index=True)
    keep = np.sort(keep)
    return rows[keep], first_rows[pos[keep]]


@renamed_kwarg("since", "start")
@checked_arguments
def usage_tutorials(orders: OrderLog, events: OrderEvents, *, start: dt.datetime,
                    as_of: dt.datetime, ctx: FlowContext,
                    coupon: str | None = None) -> list[Message]:
    """Usage tutorial (使用教程) when a customer's first valid order ships, and, when a
    ``coupon`` (template id) is given, a coupon grant on the COUPON channel (the
    playbook's first-order coupon).

    The first valid order is read from ``orders`` (as the log knows it). CARE messages
    keyed ``care:usage_tutorial:order-<id>`` and ``care:first_order_coupon:order-<id>``.
    """
    s, a = _window(start, as_of)
    _require_links(ctx, ["usage_tutorial"])
    rows, log_rows = _first_shipments(orders, events, s, a, 0)
    oids = [str(o) for o in events.order_ids[rows].tolist()]
    names = _item_names(orders, log_rows, ctx)
    parts = [f"order-{o}" for o in oids]
    values = [{"order_id": o, "item_name": nm, "coupon": coupon or ""}
              for o, nm in zip(oids, names, strict=True)]
    out = _emit(ctx, "usage_tutorial", MessageClass.CARE, events.customer_ids[rows],
                events.at_us[rows], as_of, parts=parts, values=values, dedupe=parts,
                metadata=[{"order_id": o} for o in oids])
    if coupon:
        out += _emit(ctx, "first_order_coupon", MessageClass.CARE, events.customer_ids[rows],
                     events.at_us[rows], as_of, parts=parts, values=values, dedupe=parts,
                     metadata=[{"order_id": o, "coupon": coupon} for o in oids],
                     channel=ChannelKind.COUPON)
    return out


@renamed_kwarg("since", "start")
@checked_arguments
def satisfaction_follow_ups(orders: OrderLog, events: OrderEvents, *, start: dt.datetime,
                            as_of: dt.datetime, ctx: FlowContext,
                            after: dt.timedelta = dt.timedelta(days=3)) -> list[Message]:
    """Satisfaction follow-up (满意度回访) ``after`` (default 3 days) the first valid order
    shipped; due moments in ``(start, as_of]``. CARE,
    ``care:satisfaction_follow_up:order-<id>``."""
    s, a = _window(start, as_of)
    if not isinstance(after, dt.timedelta) or after < dt.timedelta(0):
        raise InvalidValueError("after", "must be a timedelta >= 0", after)
    delay = int(after / dt.timedelta(microseconds=1))
    rows, _ = _first_shipments(orders, events, s, a, delay)
    oids = [str(o) for o in events.order_ids[rows].tolist()]
    parts = [f"order-{o}" for o in oids]
    return _emit(ctx, "satisfaction_follow_up", MessageClass.CARE, events.customer_ids[rows],
                 events.at_us[rows] + delay, as_of, parts=parts,
                 values=[{"order_id": o} for o in oids], dedupe=parts,
                 metadata=[{"order_id": o} for o in oids])


# -- greetings -----------------------------------------------------------------------------
def _need_customers(ctx: FlowContext, flow: str) -> CustomerTable:
    if ctx.customers is None:
        raise InvalidValueError("ctx.customers", f"must be given for {flow}", None,
                                show_value=False)
    return ctx.customers


@renamed_kwarg("since", "start")
@checked_arguments
def birthday_greetings(*, start: dt.datetime, as_of: dt.datetime, ctx: FlowContext,
                       message_class: MessageClass = MessageClass.CARE) -> list[Message]:
    """Birthday greetings on each local day whose ``ctx.send_time`` is in ``(start, as_of]``.

    The year is ignored; Feb 29 birthdays are greeted on Feb 28 in common years (and on
    Feb 29 in leap years). Keyed ``care:birthday:customer-<id>:<year>`` (once a year).
    """
    table = _need_customers(ctx, "birthday greetings")
    out: list[Message] = []
    for day, due in _due_days(start, as_of, ctx):
        rows = np.flatnonzero(table.birthday_on(day))
        ids = _as_list(table.customer_ids[rows])
        out += _emit(ctx, "birthday", message_class, table.customer_ids[rows],
                     np.full(len(rows), datetime_to_us(due), dtype=np.int64), as_of,
                     parts=[f"customer-{c}:{day.year}" for c in ids],
                     dedupe=[f"customer-{c}:{day.year}" for c in ids])
    return out


@attrs.frozen
class Holiday:
    """A holiday to greet on: ``month``/``day`` every year, or only in ``year``.

    Lunar holidays (春节, 中秋) move: list them per year (``Holiday(1, 29, "春节", 2025)``).
    """

    month: int
    day: int
    name: str
    year: int | None = None

    def __attrs_post_init__(self) -> None:
        try:
            dt.date(self.year or 2024, self.month, self.day)
        except (TypeError, ValueError, OverflowError):
            raise InvalidValueError("holiday", "must be a real date",
                                    (self.year, self.month, self.day)) from None

    def falls_on(self, day: dt.date) -> bool:
        """Whether it is this holiday on ``day``."""
        return (day.month, day.day) == (self.month, self.day) and self.year in (None, day.year)


#: Fixed-date public holidays (元旦, 劳动节, 国庆节); add lunar ones per year.
DEFAULT_HOLIDAYS: Final = (
    Holiday(1, 1, "元旦"),
    Holiday(5, 1, "劳动节"),
    Holiday(10, 1, "国庆节"),
)


@renamed_kwarg("since", "start")
@checked_arguments
def holiday_greetings(*, start: dt.datetime, as_of: dt.datetime, ctx: FlowContext,
                      holidays: Iterable[Holiday] = DEFAULT_HOLIDAYS,
                      audience: Any = None,
                      message_class: MessageClass = MessageClass.MARKETING) -> list[Message]:
    """Holiday greetings to ``audience`` (ids; default every customer of ``ctx.customers``)
    on each holiday whose ``ctx.send_time`` is in ``(start, as_of]``.

    MARKETING by default (a mass send: opt-outs and caps apply), keyed
    ``mkt:holiday:customer-<id>:<date>``.
    """
    days = list(holidays)
    for h in days:
        if not isinstance(h, Holiday):
            raise InvalidTypeError(f"holidays must hold Holiday values, got {h!r}")
    if audience is None:
        audience = _need_customers(ctx, "holiday greetings").customer_ids
    ids_arr = np.unique(np.asarray(audience))
    ids = _as_list(ids_arr)
    out: list[Message] = []
    for day, due in _due_days(start, as_of, ctx):
        names = [h.name for h in days if h.falls_on(day)]
        if not names:
            continue
        parts = [f"customer-{c}:{day.isoformat()}" for c in ids]
        out += _emit(ctx, "holiday", message_class, ids_arr,
                     np.full(len(ids), datetime_to_us(due), dtype=np.int64), as_of,
                     parts=parts, dedupe=parts,
                     values=[{"holiday": "、".join(names)}] * len(ids))
    return out


# -- lifecycle-driven ----------------------------------------------------------------------
@renamed_kwarg("since", "start")
@checked_arguments
def repurchase_reminders(orders: OrderLog, cycles: CycleTable, *, start: dt.datetime,
                         as_of: dt.datetime, ctx: FlowContext) -> list[Message]:
    """Repurchase reminders at the item's cycle (:func:`ecrm.lifecycle.due_repurchase_reminders`)
    on each local day whose ``ctx.send_time`` is in ``(start, as_of]``.

    MARKETING, keyed ``mkt:repurchase:customer-<id>:<sku or category>:<date>``; the
    item name comes from ``ctx.item_names`` (default the key).
    """
    _require_links(ctx, ["repurchase"])
    out: list[Message] = []
    for day, due in _due_days(start, as_of, ctx):
        rem = due_repurchase_reminders(orders, as_of=day, cycles=cycles)
        ids = _as_list(rem.customer_ids)
        keys = [str(k) for k in rem.keys.tolist()]
        parts = [f"customer-{c}:{k}:{day.isoformat()}" for c, k in zip(ids, keys, strict=True)]
        out += _emit(ctx, "repurchase", MessageClass.MARKETING, rem.customer_ids,
                     np.full(len(ids), datetime_to_us(due), dtype=np.int64), as_of,
                     parts=parts, dedupe=parts,
                     values=[{"item_name": ctx.item_names.get(k, k)} for k in keys],
                     metadata=[{"item": k} for k in keys])
    return out


def _inactivity_offers(orders: OrderLog, *, start: dt.datetime, as_of: dt.datetime,
                       ctx: FlowContext, message_type: str, days: int, offer: str,
                       valid_days: int | None) -> list[Message]:
    """One offer per customer on the local day they reach ``days`` days without a purchase
    (orders before that day's midnight), due at ``ctx.send_time``; it expires
    ``valid_days`` after that day (``None``: the end of the day)."""
    _require_links(ctx, [message_type])
    zone = ctx.zone
    out: list[Message] = []
    for day, due in _due_days(start, as_of, ctx):
        midnight = dt.datetime.combine(day, dt.time(0), zone)
        lst = inactive_customers(orders, as_of=midnight, days=days, exact=True)
        ids = _as_list(lst.customer_ids)
        last = (day - dt.timedelta(days=days)).isoformat()
        ends = dt.datetime.combine(day + dt.timedelta(days=valid_days or 1), dt.time(0), zone)
        parts = [f"customer-{c}:{last}" for c in ids]
        out += _emit(ctx, message_type, MessageClass.MARKETING, lst.customer_ids,
                     np.full(len(ids), datetime_to_us(due), dtype=np.int64), as_of,
                     parts=parts, dedupe=parts, values=[{"offer": offer}] * len(ids),
                     metadata=[{"offer": offer, "last_purchase": last,
                                "expires_at": ends.isoformat()}] * len(ids))
    return out


def _playbook_rule(playbook: Playbook, key: str, trigger: Trigger) -> PlaybookRule:
    if not isinstance(playbook, Playbook):
        raise InvalidTypeError(f"playbook must be a Playbook, got {type(playbook).__name__}")
    try:
        rule = playbook[key]
    except KeyError:
        raise InvalidValueError("playbook", f"has no {key!r} rule", key) from None
    if rule.trigger is not trigger:
        raise InvalidValueError(f"playbook[{key!r}].trigger", f"must be {trigger.name}",
                                rule.trigger.name)
    return rule


@renamed_kwarg("since", "start")
@checked_arguments
def returning_customer_offers(orders: OrderLog, *, start: dt.datetime, as_of: dt.datetime,
                              ctx: FlowContext, playbook: Playbook = DEFAULT_PLAYBOOK,
                              offer: str = "老客专属折扣") -> list[Message]:
    """The declining stage's returning-customer offer (衰退期 老客专属折扣).

    The source: "对30天未消费客户发送『老客专属折扣』". Driven by the playbook's
    ``returning_discount`` rule (:data:`ecrm.lifecycle.DEFAULT_PLAYBOOK`: 30 days after
    the last purchase): each customer gets it once per inactivity spell, on the local day
    they reach that many days without a purchase, at ``ctx.send_time``; it expires at the
    end of that day. MARKETING (template ``returning_offer``), keyed
    ``mkt:returning_offer:customer-<id>:<last purchase date>``.

    Raises:
        InvalidValueError: the playbook has no ``returning_discount`` rule counted from
            the last purchase, ``ctx.link`` is not set, or ``start`` is after ``as_of``.
    """
    rule = _playbook_rule(playbook, "returning_discount", Trigger.LAST_PURCHASE)
    return _inactivity_offers(orders, start=start, as_of=as_of, ctx=ctx,
                              message_type="returning_offer", days=rule.offset_days,
                              offer=offer, valid_days=rule.valid_days)


@renamed_kwarg("since", "start")
@checked_arguments
def win_back_offers(orders: OrderLog, *, start: dt.datetime, as_of: dt.datetime,
                    ctx: FlowContext, cycle: RepurchaseCycle | Bands | tuple[int, int, int],
                    playbook: Playbook = DEFAULT_PLAYBOOK,
                    offer: str | None = None) -> list[Message]:
    """Win-back after churn (好久不见, 满100返50), within 30 days of churning.

    The source: "流失客户专属召回活动(如『好久不见』满100返50) — 流失后30天内". A customer churns
    on the day their days without a purchase pass the shop's P90 (``cycle``, see
    :func:`ecrm.lifecycle.repurchase_cycle`). Driven by the playbook's ``win_back`` rule
    (counted from churning; default: on the churn day, offer 满100返50, 30-day window):
    each customer gets it once per spell, on the day ``P90 + 1 + offset_days`` days after
    their last purchase, at ``ctx.send_time``; it expires (``expires_at``) when the
    window ends, so a deferral past it is skipped. MARKETING (template ``win_back``), keyed
    ``mkt:win_back:customer-<id>:<last purchase date>``.

    Args:
        cycle: the shop's repurchase cycle, its bands, or ``(P50, P70, P90)`` days.
        playbook: where the rule comes from.
        offer: the offer text (default the rule's offer).

    Raises:
        InvalidValueError: the playbook has no ``win_back`` rule counted from churning,
            ``ctx.link`` is not set, or ``start`` is after ``as_of``.
    """
    rule = _playbook_rule(playbook, "win_back", Trigger.CHURNED)
    bands = cycle.bands if isinstance(cycle, RepurchaseCycle) else Bands.of(cycle)
    text = offer if offer is not None else (rule.offer or "满100返50")
    return _inactivity_offers(orders, start=start, as_of=as_of, ctx=ctx,
                              message_type="win_back",
                              days=bands.p90_days + 1 + rule.offset_days, offer=text,
                              valid_days=rule.valid_days)


@renamed_kwarg("since", "start")
@renamed_kwarg("claim_window", "claim_period")
@checked_arguments
def gift_pack_notices(*, start: dt.datetime, as_of: dt.datetime, ctx: FlowContext,
                      after: dt.timedelta = dt.timedelta(minutes=10),
                      claim_period: dt.timedelta = dt.timedelta(hours=24)) -> list[Message]:
    """New-member gift-pack notices (新会员礼包), ``after`` joining (default 10 min).

    Members of ``ctx.customers`` whose ``member_since + after`` is in ``(start, as_of]``;
    ``after`` must be inside the claim period (24 h by default; ``claim_window=`` is its
    deprecated alias). The message expires (``expires_at``) when the claim period ends.
    CARE, ``care:gift_pack:customer-<id>``.

    .. versionchanged:: 0.1.0
       ``claim_window=`` renamed ``claim_period=``.
    """
    s, a = _window(start, as_of)
    _positive_us("claim_period", claim_period)
    if not isinstance(after, dt.timedelta) or not dt.timedelta(0) <= after < claim_period:
        raise InvalidValueError("after", f"must be >= 0 and inside the claim period "
                                f"{claim_period}", after)
    table = _need_customers(ctx, "gift-pack notices")
    _require_links(ctx, ["gift_pack"])
    delay = int(after / dt.timedelta(microseconds=1))
    window = int(claim_period / dt.timedelta(microseconds=1))
    joined = table.member_since_us
    due = joined + delay
    rows = np.flatnonzero((joined != NAT_US) & (due > s) & (due <= a))
    rows = rows[np.argsort(due[rows], kind="stable")]
    ids = _as_list(table.customer_ids[rows])
    zone = ctx.zone
    return _emit(ctx, "gift_pack", MessageClass.CARE, table.customer_ids[rows], due[rows],
                 as_of, parts=[f"customer-{c}" for c in ids],
                 dedupe=[f"customer-{c}" for c in ids],
                 metadata=[{"expires_at": us_to_datetime(int(j) + window, zone).isoformat()}
                           for j in joined[rows].tolist()])


# -- coupons -------------------------------------------------------------------------------
@attrs.frozen(eq=False)
class CouponGrants:
    """Coupons granted to customers, with their validity end (columnar).

    Attributes:
        customer_ids: shape (n,), int64 or str.
        coupon_ids: str, shape (n,).
        valid_until_us: int64, shape (n,), the end of validity (exclusive), epoch µs.
        used: bool, shape (n,), already redeemed.
    """

    customer_ids: npt.NDArray[Any]
    coupon_ids: npt.NDArray[np.str_]
    valid_until_us: IntArray
    used: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.valid_until_us)

    @classmethod
    def from_arrays(cls, customer_ids: Any, coupon_ids: Any, valid_until: Any, *,
                    used: Any = None) -> CouponGrants:
        """Build from equal-length columns; ``valid_until`` holds aware datetimes or
        int64 epoch microseconds.

        Raises:
            InvalidValueError: columns of different lengths, or not one-dimensional.
            InvalidTypeError: a column numpy cannot read as flat values of its kind (a
                nested list; text as ``valid_until``).
        """
        ids = _v.flat_array("customer_ids", customer_ids)
        n = len(ids)
        until = _v.flat_array("valid_until", valid_until)
        if until.dtype == object:
            until = np.asarray([datetime_to_us(require_aware(v, "valid_until"))
                                for v in until.tolist()], dtype=np.int64)
        elif until.dtype.kind not in "iu":
            raise InvalidTypeError(f"valid_until must hold aware datetimes or int64 epoch "
                                   f"microseconds, got dtype {until.dtype}")
        used_arr = (np.zeros(n, dtype=bool) if used is None
                    else _v.flat_array("used", used, dtype=bool))
        coupons = _v.flat_array("coupon_ids", coupon_ids, dtype=str)
        for name, col in (("coupon_ids", coupons), ("valid_until", until), ("used", used_arr)):
            if col.shape != (n,):
                raise InvalidValueError(name, f"must have {n} entries like customer_ids",
                                        col.shape)
        return cls(ids, coupons, until.astype(np.int64), used_arr)

    @classmethod
    def from_issued(cls, issued: Iterable[tuple[str | int, IssuedCoupon]], *,
                    used: Iterable[bool] | None = None) -> CouponGrants:
        """Build from ``(customer_id, IssuedCoupon)`` pairs (a gift-pack claim's coupons).

        Raises:
            InvalidTypeError: an element is not such a pair.
        """
        pairs = list(issued)
        for i, p in enumerate(pairs):
            if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[1], IssuedCoupon)):
                raise InvalidTypeError(f"issued[{i}] must be (customer_id, IssuedCoupon), "
                                       f"got {type(p).__name__} {_short_repr(p)}")
        kinds = {type(c) for c, _ in pairs}
        ids = np.asarray([c for c, _ in pairs],
                         dtype=np.int64 if kinds == {int} else str).reshape(len(pairs))
        return cls.from_arrays(
            ids, [ic.coupon.coupon_id for _, ic in pairs],
            np.asarray([datetime_to_us(ic.valid_until) for _, ic in pairs], dtype=np.int64),
            used=None if used is None else list(used),
        )


@renamed_kwarg("since", "start")
@checked_arguments
def coupon_expiry_reminders(grants: CouponGrants, *, start: dt.datetime, as_of: dt.datetime,
                            ctx: FlowContext,
                            notice: dt.timedelta = dt.timedelta(days=3)) -> list[Message]:
    """"You have 3 coupons expiring" (优惠券到期提醒): unused coupons whose
    ``valid_until − notice`` is in ``(start, as_of]``, one message per customer and
    local due day with the count and the earliest expiry date.

    MARKETING, keyed ``mkt:coupon_expiry:customer-<id>:<due date>``.
    """
    s, a = _window(start, as_of)
    if not isinstance(notice, dt.timedelta) or notice <= dt.timedelta(0):
        raise InvalidValueError("notice", "must be a positive timedelta", notice)
    due = grants.valid_until_us - int(notice / dt.timedelta(microseconds=1))
    rows = np.flatnonzero(~grants.used & (due > s) & (due <= a))
    if not len(rows):
        return []
    zone = ctx.zone
    days = local_days(due[rows], zone)
    uniq, inv = np.unique(grants.customer_ids[rows], return_inverse=True)
    inv = inv.reshape(-1)
    order = np.lexsort((due[rows], days, inv))
    g_c, g_d = inv[order], days[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (g_c[1:] != g_c[:-1]) | (g_d[1:] != g_d[:-1])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(order)))
    lead = rows[order[starts]]
    ids = _as_list(uniq[g_c[starts]])
    ends = [us_to_datetime(int(u), zone).date() for u in grants.valid_until_us[lead].tolist()]
    dues = [us_to_datetime(int(u), zone).date() for u in due[lead].tolist()]
    parts = [f"customer-{c}:{d.isoformat()}" for c, d in zip(ids, dues, strict=True)]
    return _emit(ctx, "coupon_expiry", MessageClass.MARKETING, uniq[g_c[starts]], due[lead],
                 as_of, parts=parts, dedupe=parts,
                 values=[{"count": int(k), "coupon_expires_on": f"{e.month}月{e.day}日"}
                         for k, e in zip(counts.tolist(), ends, strict=True)],
                 metadata=[{"count": str(int(k))} for k in counts.tolist()])
