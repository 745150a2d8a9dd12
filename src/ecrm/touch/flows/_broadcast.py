"""Broadcasts to an audience inside a time window, and the audiences of the default playbook.

A broadcast message is due at the window start and carries the window end as its
``expires_at`` metadata: the send policy may defer it (quiet hours, caps) but the
backtest, and a :class:`~ecrm.touch.Dispatcher` given ``guard=order_guard(...)``, drop it
once the window has closed.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._deprecate import RENAMED_IN
from ecrm._events import EventKind, EventLog
from ecrm._holdout import split_audience
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone, datetime_to_us, require_aware
from ecrm._window import Window, window_arg
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.rfm import score
from ecrm.tiers import CouponCatalog, CouponScope
from ecrm.touch._message import ChannelKind, Message, MessageClass
from ecrm.touch._outbox import Guard, Outbox, OutboxState
from ecrm.touch.flows._care import (
    FlowContext,
    _as_list,
    _emit,
    _require_links,
    checked_arguments,
)

__all__ = [
    "broadcast",
    "cart_abandoners",
    "coupon_care",
    "coupon_grant_guard",
    "double_twelve_audience",
    "double_twelve_push",
    "high_potential_returners",
    "new_arrivals",
    "sale_window",
]


def sale_window(year: int, month: int, first_day: int, end_day: int,
                tz: str | dt.tzinfo | None = None) -> Window:
    """The local half-open window ``[year-month-first_day 00:00, year-month-end_day 00:00)``.

    Returns an :class:`ecrm.Window` (it unpacks as ``start, end`` like the tuple it was).

    >>> june = sale_window(2025, 6, 1, 19)   # the 6.18 sale
    >>> june.start.isoformat(), june.end.isoformat()
    ('2025-06-01T00:00:00+08:00', '2025-06-19T00:00:00+08:00')
    """
    try:
        first, end = dt.date(year, month, first_day), dt.date(year, month, end_day)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValueError("sale_window", "must name real dates",
                                (year, month, first_day, end_day)) from None
    return Window.of_dates(first, end, tz)


@checked_arguments
def broadcast(
    audience: Any,
    *,
    campaign_id: str,
    window: Window | tuple[dt.datetime, dt.datetime],
    ctx: FlowContext,
    message_type: str = "broadcast",
    values: Mapping[str, object] | None = None,
    message_class: MessageClass = MessageClass.MARKETING,
    created_at: dt.datetime | None = None,
) -> list[Message]:
    """One message per customer of ``audience`` for ``campaign_id``, due inside ``window``.

    Args:
        audience: customer ids (any sequence / array; duplicates are sent once).
        campaign_id: names the campaign in keys (``mkt:<type>:<campaign>:customer-<id>``),
            dedupe and the ``campaign`` metadata.
        window: an :class:`ecrm.Window`: ``not_before = start``, ``expires_at = end``
            (12.12 push: 18:00–20:00 local); a ``(start, end)`` tuple is deprecated.
        ctx: addressing and templates (``message_type`` selects the template).
        values: extra template values (``item_name`` for new arrivals).
        message_class: MARKETING by default.
        created_at: the flow moment (default ``start``).

    Raises:
        InvalidValueError: an empty campaign id, a window with ``end <= start``, a
            context on the COUPON channel (a broadcast carries no coupon: use
            :func:`coupon_care`), or a template link the context lacks.
    """
    if ctx.channel is ChannelKind.COUPON:
        raise InvalidValueError("ctx.channel", "cannot be COUPON for a broadcast, which carries "
                                "no coupon; use coupon_care to grant coupons", "COUPON")
    start, end = _check_window(window)
    _check_campaign_id(campaign_id)
    _require_links(ctx, [message_type])
    ids_arr = np.unique(_v.flat_array("audience", audience))
    ids = _as_list(ids_arr)
    parts = [f"{campaign_id}:customer-{c}" for c in ids]
    n = len(ids)
    return _emit(ctx, message_type, message_class, ids_arr,
                 np.full(n, datetime_to_us(start), dtype=np.int64), created_at or start,
                 parts=parts, dedupe=parts, values=[dict(values or {})] * n,
                 metadata=[{"campaign": campaign_id, "expires_at": end.isoformat()}] * n)


def coupon_grant_guard(outbox: Outbox) -> Guard:
    """A dispatch-time guard for :func:`coupon_care` notices: skip a notice whose grant
    (its ``grant_key`` metadata) is not in ``outbox`` or ended DEAD or SKIPPED, so no
    customer is told of a coupon they did not get. Other messages pass.

    Returns:
        ``guard(message, now)`` → the skip reason, or ``None``.

    Raises:
        InvalidTypeError: ``outbox`` is not an :class:`~ecrm.touch.Outbox`.
    """
    if not isinstance(outbox, Outbox):
        raise InvalidTypeError(f"outbox must be an Outbox, got {type(outbox).__name__}")

    def guard(message: Message, now: dt.datetime) -> str | None:
        key = message.meta("grant_key")
        if key is None:
            return None
        entry = outbox.get(key)
        if entry is None:
            return f"its coupon grant {key} is not in the outbox"
        if entry.state in (OutboxState.DEAD, OutboxState.SKIPPED):
            return f"its coupon grant {key} was not made ({entry.state.name})"
        return None

    return guard


def _check_window(window: object) -> tuple[dt.datetime, dt.datetime]:
    if isinstance(window, Window):
        return window.start, window.end
    warnings.warn(
        f"a (start, end) tuple as window= is deprecated since {RENAMED_IN} and will be "
        "removed in the next release; pass an ecrm.Window", DeprecationWarning, stacklevel=3,
    )
    if not isinstance(window, tuple) or len(window) != 2:
        raise InvalidTypeError(f"window must be an ecrm.Window, got {window!r}")
    start, end = (require_aware(w, "window") for w in window)
    if end <= start:
        raise InvalidValueError("window", "must end after it starts",
                                (start.isoformat(), end.isoformat()))
    return start, end


def _check_campaign_id(campaign_id: object) -> None:
    if not isinstance(campaign_id, str) or not campaign_id.strip() or ":" in campaign_id:
        raise InvalidValueError("campaign_id", "must be a non-empty text without ':'",
                                campaign_id)


@checked_arguments
def coupon_care(
    audience: Any,
    *,
    campaign_id: str,
    window: Window | tuple[dt.datetime, dt.datetime],
    ctx: FlowContext,
    coupon_id: str,
    catalog: CouponCatalog,
    notice_after: dt.timedelta = dt.timedelta(minutes=10),
    message_class: MessageClass = MessageClass.MARKETING,
) -> list[Message]:
    """Coupon care (优惠券关怀) to an audience: grant each customer the coupon, then tell them.

    The coupon comes from the shop's :class:`~ecrm.tiers.CouponCatalog`, so its limits
    hold: it must be one of the catalogue's denominations (at most 50, each within the
    face-value limit), a store coupon (店铺优惠券: a shop cannot grant platform coupons),
    and still valid when the window opens. Per customer two messages: a grant on the
    COUPON channel at the window start (metadata ``coupon`` for
    :class:`~ecrm.touch.CouponGrantChannel`, plus ``valid_from`` / ``valid_until`` of the
    issued coupon), and a notice on ``ctx.channel`` ``notice_after`` later (template
    ``coupon_care``: the coupon as 满X减Y and its last valid day), both expiring when the
    window ends. Dispatch with ``guard=coupon_grant_guard(outbox)`` so a notice whose grant
    failed is skipped (metadata ``grant_key`` names the grant).

    Args:
        audience: customer ids (duplicates are served once).
        campaign_id: names the campaign in keys (``mkt:coupon_grant:<campaign>:customer-<id>``
            and ``mkt:coupon_care:<campaign>:customer-<id>``).
        window: an :class:`ecrm.Window`: grants at ``start``, everything expires at
            ``end`` (a ``(start, end)`` tuple is deprecated).
        ctx: addressing and templates (its channel carries the notice; not COUPON).
        coupon_id: the denomination to grant.
        catalog: the shop's coupon catalogue.
        notice_after: how long after the grant the notice is due (``>= 0``, inside the window).
        message_class: MARKETING by default (opt-outs, membership and caps apply).

    Returns:
        Grant and notice messages, grants first.

    Raises:
        InvalidValueError: the coupon is not in the catalogue, not a store coupon, or no
            longer valid at the window start; a bad window, campaign id or delay; a
            context on the COUPON channel; ``ctx.link`` not set.
    """
    if not isinstance(catalog, CouponCatalog):
        raise InvalidTypeError(f"catalog must be a CouponCatalog, got {type(catalog).__name__}")
    coupon = catalog.get(coupon_id)
    if coupon.scope is not CouponScope.STORE:
        raise InvalidValueError("coupon_id", f"must name a store coupon (店铺优惠券), not a "
                                f"{coupon.scope.label_zh}", coupon_id)
    start, end = _check_window(window)
    _check_campaign_id(campaign_id)
    if ctx.channel is ChannelKind.COUPON:
        raise InvalidValueError("ctx.channel", "must be the notice's channel (SMS, EMAIL, "
                                "IN_APP), not COUPON", "COUPON")
    if not isinstance(notice_after, dt.timedelta) or not (
            dt.timedelta(0) <= notice_after < end - start):
        raise InvalidValueError("notice_after", "must be >= 0 and inside the window",
                                notice_after)
    valid_from, valid_until = coupon.window(start)
    if valid_until <= start:
        raise InvalidValueError("coupon_id", f"is no longer valid at the window start "
                                f"{start.isoformat()} (valid until {valid_until.isoformat()})",
                                coupon_id)
    _require_links(ctx, ["coupon_care"])
    ids_arr = np.unique(_v.flat_array("audience", audience))
    ids = _as_list(ids_arr)
    n = len(ids)
    grant_keys = [f"mkt:coupon_grant:{campaign_id}:customer-{c}" for c in ids]
    parts = [f"{campaign_id}:customer-{c}" for c in ids]
    base = {"campaign": campaign_id, "coupon": coupon.coupon_id, "expires_at": end.isoformat(),
            "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat()}
    last_day = (valid_until - dt.timedelta(microseconds=1)).astimezone(ctx.zone).date()
    values = [{"coupon": coupon.describe(),
               "coupon_expires_on": f"{last_day.month}月{last_day.day}日"}] * n
    # the grant's body is the notice text too (an adapter may show it with the coupon)
    grants = _emit(ctx, "coupon_grant", message_class, ids_arr,
                   np.full(n, datetime_to_us(start), dtype=np.int64), start, parts=parts,
                   dedupe=parts, values=values, metadata=[base] * n,
                   channel=ChannelKind.COUPON, template="coupon_care")
    due = datetime_to_us(start + notice_after)
    notices = _emit(ctx, "coupon_care", message_class, ids_arr, np.full(n, due, dtype=np.int64),
                    start, parts=parts, dedupe=parts, values=values,
                    metadata=[{**base, "grant_key": k} for k in grant_keys])
    return grants + notices


@checked_arguments
def new_arrivals(audience: Any, *, campaign_id: str, item_name: str,
                 window: Window | tuple[dt.datetime, dt.datetime],
                 ctx: FlowContext) -> list[Message]:
    """A new-arrival (上新) broadcast of ``item_name`` (template ``new_arrivals``).

    Raises:
        InvalidValueError: an empty ``item_name``, or as :func:`broadcast`.
    """
    if not isinstance(item_name, str) or not item_name.strip():
        raise InvalidValueError("item_name", "must not be empty", item_name)
    if not isinstance(window, Window):
        window = Window(*_check_window(window))  # warns here, at the caller's level
    return broadcast(audience, campaign_id=campaign_id, window=window, ctx=ctx,
                     message_type="new_arrivals", values={"item_name": item_name})


@checked_arguments
def high_potential_returners(orders: OrderLog, *, as_of: dt.datetime, min_orders: int = 2,
                             min_total: int = 17) -> npt.NDArray[Any]:
    """High-potential returning customers: the 12.12 audience of the playbook.

    Defined with :func:`ecrm.rfm.score` (TAOBAO_PGSB, the year before ``as_of``):
    *returning* = at least ``min_orders`` valid orders in the year (F); *high potential*
    = an RFM total of at least ``min_total`` (17 = grade S 白银 or better), i.e. recent,
    repeated or big spenders worth a prime-time push.

    Not to be confused with the audience predicate
    :func:`ecrm.segments.high_potential_returning`, which asks about stages and grades.

    .. versionchanged:: 0.1.0
       Renamed from ``high_potential_returning`` (still importable, with a
       :class:`DeprecationWarning`, for one release).

    Returns:
        The sorted customer ids (dtype of ``orders.customer_ids``).
    """
    for name, v in (("min_orders", min_orders), ("min_total", min_total)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidValueError(name, "must be an int >= 1", v)
    res = score(orders, as_of=as_of, warn_undersized=False)
    keep = (res.frequency >= min_orders) & (res.total >= min_total)
    return res.customer_ids[keep]


@checked_arguments
def cart_abandoners(events: EventLog, orders: OrderLog, *, window: Window | None = None,
                    start: dt.datetime | None = None,
                    end: dt.datetime | None = None) -> npt.NDArray[Any]:
    """Customers who added to cart in ``window`` but placed no valid order in it.

    For the 12.12 push to 6.18 carters: ``window=sale_window(2025, 6, 1, 19)``.
    ``start=``/``end=`` are deprecated aliases of ``window=Window(start, end)``.

    Returns:
        Sorted ids (dtype of ``events.customer_ids``).

    Raises:
        InvalidTypeError: ids of the event log and the order log are of different kinds.
        TypeError: no window, or a window together with ``start``/``end``.
    """
    w = window_arg(window, start, end, where="cart_abandoners")
    if not isinstance(events, EventLog) or not isinstance(orders, OrderLog):
        raise InvalidTypeError("events must be an EventLog and orders an OrderLog")
    carted = events.customers_with(EventKind.CART, window=w)
    s, e = w.bounds_us
    rows = orders.valid_mask() & (orders.placed_at_us >= s) & (orders.placed_at_us < e)
    bought = np.unique(orders.customer_ids[orders.customer_codes[rows]])
    if len(carted) and len(bought) and (carted.dtype.kind == "U") != (bought.dtype.kind == "U"):
        raise InvalidTypeError("event and order logs must use the same kind of customer ids")
    return carted[~np.isin(carted, bought)]


@checked_arguments
def double_twelve_audience(orders: OrderLog, events: EventLog, *, year: int,
                           tz: str | dt.tzinfo | None = None) -> npt.NDArray[Any]:
    """The 12.12 push audience: :func:`high_potential_returners` as of Dec 12 18:00 local
    plus the :func:`cart_abandoners` of that year's 6.18 sale (June 1 to June 19).

    Returns:
        Sorted unique ids.
    """
    zone = as_zone(tz if tz is not None else orders.tz)
    june = sale_window(year, 6, 1, 19, zone)
    start = dt.datetime(year, 12, 12, 18, tzinfo=zone)
    return np.union1d(high_potential_returners(orders, as_of=start),
                      cart_abandoners(events, orders, window=june))


@checked_arguments
def double_twelve_push(orders: OrderLog, events: EventLog, *, year: int, ctx: FlowContext,
                       offer: str = "满200减30", holdout_share: float = 0.0) -> list[Message]:
    """The 12.12 push: :func:`double_twelve_audience` in the window Dec 12 18:00–20:00
    (store zone), campaign ``"1212-<year>"``, template ``double_12``; customers in the
    campaign's hash holdout (:func:`~ecrm.analytics.split_audience`, ``holdout_share``) are
    left out so :func:`~ecrm.analytics.campaign_effect` can measure the push.
    """
    zone = ctx.zone
    start = dt.datetime(year, 12, 12, 18, tzinfo=zone)
    campaign = f"1212-{year}"
    treated, _ = split_audience(campaign, double_twelve_audience(orders, events, year=year,
                                                                 tz=zone), holdout_share)
    return broadcast(treated, campaign_id=campaign, window=Window(start, start.replace(hour=20)),
                     ctx=ctx, message_type="double_12", values={"offer": offer})
