"""Broadcasts to an audience inside a time window, and the audiences of the default playbook.

A broadcast message is due at the window start and carries the window end as its
``expires_at`` metadata: the send policy may defer it (quiet hours, caps) but the
backtest, and a :class:`~ecrm.touch.Dispatcher` given ``guard=order_guard(...)``, drop it
once the window has closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm._events import EventKind, EventLog
from ecrm._holdout import split_audience
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone, datetime_to_us, require_aware
from ecrm.rfm import score
from ecrm.touch._message import Message, MessageClass
from ecrm.touch.flows._care import FlowContext, _as_list, _emit

__all__ = [
    "broadcast",
    "cart_abandoners",
    "double_twelve_audience",
    "double_twelve_push",
    "high_potential_returning",
    "new_arrivals",
    "sale_window",
]


def sale_window(year: int, month: int, first_day: int, end_day: int,
                tz: str | dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The local half-open window ``[year-month-first_day 00:00, year-month-end_day 00:00)``.

    >>> start, end = sale_window(2025, 6, 1, 19)   # the 6.18 sale
    >>> start.isoformat(), end.isoformat()
    ('2025-06-01T00:00:00+08:00', '2025-06-19T00:00:00+08:00')
    """
    zone = as_zone(tz)
    return (dt.datetime(year, month, first_day, tzinfo=zone),
            dt.datetime(year, month, end_day, tzinfo=zone))


def broadcast(
    audience: Any,
    *,
    campaign_id: str,
    window: tuple[dt.datetime, dt.datetime],
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
        window: ``(start, end)`` aware: ``not_before = start``, ``expires_at = end``
            (12.12 push: 18:00–20:00 local).
        ctx: addressing and templates (``message_type`` selects the template).
        values: extra template values (``item_name`` for new arrivals).
        message_class: MARKETING by default.
        created_at: the flow moment (default ``start``).

    Raises:
        InvalidValueError: an empty campaign id or a window with ``end <= start``.
    """
    start, end = (require_aware(w, "window") for w in window)
    if end <= start:
        raise InvalidValueError("window", "must end after it starts",
                                (start.isoformat(), end.isoformat()))
    if not isinstance(campaign_id, str) or not campaign_id.strip() or ":" in campaign_id:
        raise InvalidValueError("campaign_id", "must be a non-empty text without ':'",
                                campaign_id)
    ids_arr = np.unique(np.asarray(audience))
    ids = _as_list(ids_arr)
    parts = [f"{campaign_id}:customer-{c}" for c in ids]
    n = len(ids)
    return _emit(ctx, message_type, message_class, ids_arr,
                 np.full(n, datetime_to_us(start), dtype=np.int64), created_at or start,
                 parts=parts, dedupe=parts, values=[dict(values or {})] * n,
                 metadata=[{"campaign": campaign_id, "expires_at": end.isoformat()}] * n)


def new_arrivals(audience: Any, *, campaign_id: str, item_name: str,
                 window: tuple[dt.datetime, dt.datetime], ctx: FlowContext) -> list[Message]:
    """A new-arrival (上新) broadcast of ``item_name`` (template ``new_arrivals``)."""
    if not isinstance(item_name, str) or not item_name.strip():
        raise InvalidValueError("item_name", "must not be empty", item_name)
    return broadcast(audience, campaign_id=campaign_id, window=window, ctx=ctx,
                     message_type="new_arrivals", values={"item_name": item_name})


def high_potential_returning(orders: OrderLog, *, as_of: dt.datetime, min_orders: int = 2,
                             min_total: int = 17) -> npt.NDArray[Any]:
    """High-potential returning customers: the 12.12 audience of the playbook.

    Defined with :func:`ecrm.rfm.score` (TAOBAO_PGSB, the year before ``as_of``):
    *returning* = at least ``min_orders`` valid orders in the year (F); *high potential*
    = an RFM total of at least ``min_total`` (17 = grade S 白银 or better), i.e. recent,
    repeated or big spenders worth a prime-time push.

    Returns:
        The sorted customer ids (dtype of ``orders.customer_ids``).
    """
    for name, v in (("min_orders", min_orders), ("min_total", min_total)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidValueError(name, "must be an int >= 1", v)
    res = score(orders, as_of=as_of, warn_undersized=False)
    keep = (res.frequency >= min_orders) & (res.total >= min_total)
    return res.customer_ids[keep]


def cart_abandoners(events: EventLog, orders: OrderLog, *, start: dt.datetime,
                    end: dt.datetime) -> npt.NDArray[Any]:
    """Customers who added to cart in ``[start, end)`` but placed no valid order in it.

    For the 12.12 push to 6.18 carters: ``start, end = sale_window(2025, 6, 1, 19)``.

    Returns:
        Sorted ids (dtype of ``events.customer_ids``).

    Raises:
        InvalidTypeError: ids of the event log and the order log are of different kinds.
    """
    if not isinstance(events, EventLog) or not isinstance(orders, OrderLog):
        raise InvalidTypeError("events must be an EventLog and orders an OrderLog")
    carted = events.customers_with(EventKind.CART, start=start, end=end)
    s = datetime_to_us(require_aware(start, "start"))
    e = datetime_to_us(require_aware(end, "end"))
    rows = orders.valid_mask() & (orders.placed_at_us >= s) & (orders.placed_at_us < e)
    bought = np.unique(orders.customer_ids[orders.customer_codes[rows]])
    if len(carted) and len(bought) and (carted.dtype.kind == "U") != (bought.dtype.kind == "U"):
        raise InvalidTypeError("event and order logs must use the same kind of customer ids")
    return carted[~np.isin(carted, bought)]


def double_twelve_audience(orders: OrderLog, events: EventLog, *, year: int,
                           tz: str | dt.tzinfo | None = None) -> npt.NDArray[Any]:
    """The 12.12 push audience: :func:`high_potential_returning` as of Dec 12 18:00 local
    plus the :func:`cart_abandoners` of that year's 6.18 sale (June 1 to June 19).

    Returns:
        Sorted unique ids.
    """
    zone = as_zone(tz if tz is not None else orders.tz)
    start = dt.datetime(year, 12, 12, 18, tzinfo=zone)
    june = sale_window(year, 6, 1, 19, zone)
    return np.union1d(high_potential_returning(orders, as_of=start),
                      cart_abandoners(events, orders, start=june[0], end=june[1]))


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
    return broadcast(treated, campaign_id=campaign, window=(start, start.replace(hour=20)),
                     ctx=ctx, message_type="double_12", values={"offer": offer})
