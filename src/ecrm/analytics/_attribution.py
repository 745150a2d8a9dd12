"""CRM attribution (CRM 销售额 / 销售占比): which valid orders the shop's touches earned.

A *touch* is a send that reached a customer (an SMS, an e-mail, an in-app message, a
coupon granted). A valid order is *attributed* when its customer was touched within the
attribution period before it: a touch at ``t`` covers the orders placed in ``[t, t +
within)`` (half-open, as every ecrm range), so an order at ``p`` has the eligible touches
``p − within < t ≤ p`` of its customer. An order is credited once, whatever the model;
the model only says which touch gets the credit:

- ``LAST_TOUCH`` (default): the latest eligible touch gets the whole net amount;
- ``FIRST_TOUCH``: the earliest eligible touch;
- ``LINEAR``: every eligible touch an equal share, in integer fen (the remainder goes one
  fen at a time to the earliest touches).

CRM sales are the net fen (amount − partial refund) of attributed orders; the CRM share is
CRM sales / all valid sales in the same scope. Everything is one vectorised pass: touches
and orders are keyed together by (customer, time), so each order finds its eligible
touches with two binary searches, without a per-customer loop.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, dates, instants, nullable, ratios
from ecrm._time import datetime_to_us, local_days, require_aware
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "Attribution",
    "AttributionCredits",
    "AttributionModel",
    "AttributionSeries",
    "Touches",
    "attribute_sales",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_COUPON: Final = "coupon"


class AttributionModel(enum.Enum):
    """Which eligible touch gets an attributed order's credit."""

    LAST_TOUCH = "last_touch"
    FIRST_TOUCH = "first_touch"
    LINEAR = "linear"


def _ids(values: Any, field: str) -> npt.NDArray[Any]:
    ids = _v.flat_array(field, values)
    if len(ids) and ids.dtype.kind not in "Uiu":
        raise InvalidTypeError(f"{field} must be str or int ids, got dtype {ids.dtype}")
    return ids


def _instants_us(values: Any, n: int, field: str) -> IntArray:
    raw = _v.flat_array(field, values)
    if raw.dtype == object or len(raw) == 0:
        raw = np.asarray([datetime_to_us(require_aware(v, field)) for v in raw.tolist()],
                         dtype=np.int64)
    if raw.dtype.kind not in "iu":
        raise InvalidTypeError(
            f"{field} must be aware datetimes or int64 epoch microseconds, got dtype {raw.dtype}"
        )
    if raw.shape != (n,):
        raise InvalidValueError(field, f"must have {n} entries like customer_ids", raw.shape)
    return raw.astype(np.int64)


def _labels(values: Any, n: int, field: str, default: str) -> npt.NDArray[np.str_]:
    if values is None:
        return np.full(n, default, dtype=f"<U{max(len(default), 1)}")
    if isinstance(values, str):
        return np.full(n, values, dtype=f"<U{max(len(values), 1)}")
    labels = _v.flat_array(field, values, str)
    if labels.shape != (n,):
        raise InvalidValueError(field, f"must have {n} entries like customer_ids", labels.shape)
    return labels


@attrs.frozen(eq=False)
class Touches:
    """CRM touches as columns: who was reached, when, on which channel, for what.

    Build them from the sent entries of an outbox (:meth:`from_outbox`), from coupon
    grants (:meth:`from_coupon_grants`) or from plain columns (:meth:`from_arrays`);
    join several with ``+``.

    Attributes:
        customer_ids: shape (n,), str or int ids.
        at_us: int64, shape (n,): when each touch reached the customer (epoch µs, UTC).
        channels: str, shape (n,): ``"sms"``, ``"email"``, ``"in_app"``, ``"coupon"`` …
        campaigns: str, shape (n,): the campaign, coupon or message type (``""`` if none).
    """

    customer_ids: npt.NDArray[Any]
    at_us: IntArray
    channels: npt.NDArray[np.str_]
    campaigns: npt.NDArray[np.str_]

    def __attrs_post_init__(self) -> None:
        _v.check_same_length(
            "Touches", {"customer_ids": self.customer_ids, "at_us": self.at_us,
                        "channels": self.channels, "campaigns": self.campaigns},
            {"customer_ids": _v.IDS, "at_us": _v.INTEGERS, "channels": _v.TEXT,
             "campaigns": _v.TEXT})

    def __len__(self) -> int:
        return len(self.at_us)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{c} {int(k):,}" for c, k in zip(
            *np.unique(self.channels, return_counts=True), strict=True))
        return f"Touches({len(self):,} touches" + (f": {kinds})" if kinds else ")")

    @classmethod
    def from_arrays(
        cls,
        customer_ids: Any,
        at: Any,
        *,
        channels: Any = None,
        campaigns: Any = None,
    ) -> Touches:
        """Touches from equal-length columns.

        Args:
            customer_ids: the customers reached (str or int ids).
            at: when each was reached: aware datetimes or int64 epoch microseconds.
            channels: a channel name per touch, or one name for all (default ``"sms"``).
            campaigns: a campaign (or coupon, or message type) per touch, or one for all
                (default ``""``).

        Raises:
            InvalidValueError: columns of different lengths, or not 1-dimensional.
            InvalidTypeError: ids that are neither str nor int; naive datetimes.
        """
        ids = _ids(customer_ids, "customer_ids")
        n = len(ids)
        return cls(ids, _instants_us(at, n, "at"), _labels(channels, n, "channels", "sms"),
                   _labels(campaigns, n, "campaigns", ""))

    @classmethod
    def from_coupon_grants(
        cls, customer_ids: Any, granted_at: Any, coupon_ids: Any = None
    ) -> Touches:
        """Coupon grants as touches on the ``"coupon"`` channel, the coupon id as campaign.

        Args:
            customer_ids: who got a coupon.
            granted_at: when (aware datetimes or epoch µs), e.g. an ``IssuedCoupon``'s
                ``valid_from`` or the platform's grant time.
            coupon_ids: which coupon (one per grant, or one for all; default ``""``).
        """
        return cls.from_arrays(customer_ids, granted_at, channels=_COUPON, campaigns=coupon_ids)

    @classmethod
    def from_outbox(
        cls, entries: Iterable[Any], *, message_classes: Iterable[Any] | None = None
    ) -> Touches:
        """The messages an outbox actually sent, as touches.

        Reads ``outbox.entries()`` (an ``ecrm.touch.OutboxEntry`` each): entries with a
        ``sent_at`` are touches of ``message.recipient.customer_id`` at ``sent_at``, on
        ``message.channel`` (coupon grants go out on the ``coupon`` channel), for the
        message's ``campaign`` metadata (broadcasts set it), else its ``message_type``.
        Entries never sent (pending, skipped, dead) are not touches.

        Args:
            entries: outbox entries (any order).
            message_classes: only these classes (``MessageClass`` or their values, e.g.
                ``("marketing", "care")`` to leave payment and logistics notices out);
                default every class.

        Raises:
            InvalidTypeError: ``entries`` is not an iterable of ``OutboxEntry``, or
                ``message_classes`` not an iterable of classes or their names.
        """
        # entries come from ecrm.touch, which is loaded when there is an outbox to read;
        # importing it here keeps ``import ecrm.analytics`` free of touch
        from ecrm.touch import MessageClass, OutboxEntry

        entries = _v.check_items("entries", entries, OutboxEntry)
        wanted = None if message_classes is None else {
            getattr(c, "value", c)
            for c in _v.check_items("message_classes", message_classes, (MessageClass, str))}
        ids: list[Any] = []
        at: list[int] = []
        channels: list[str] = []
        campaigns: list[str] = []
        for entry in entries:
            sent_at = entry.sent_at
            message = entry.message
            if sent_at is None:
                continue
            if wanted is not None and message.message_class.value not in wanted:
                continue
            ids.append(message.recipient.customer_id)
            at.append(datetime_to_us(require_aware(sent_at, "sent_at")))
            channels.append(message.channel.value)
            campaigns.append(message.meta("campaign") or message.message_type)
        return cls.from_arrays(np.asarray(ids) if ids else np.zeros(0, dtype="<U1"),
                               np.asarray(at, dtype=np.int64), channels=np.asarray(
                                   channels, dtype=str), campaigns=np.asarray(campaigns, dtype=str))

    def __add__(self, other: Touches) -> Touches:
        if not isinstance(other, Touches):
            return NotImplemented
        if len(self) and len(other) and (self.customer_ids.dtype.kind == "U") != (
                other.customer_ids.dtype.kind == "U"):
            raise InvalidTypeError("touches of str and int customer ids cannot be joined")
        return Touches(
            np.concatenate([self.customer_ids, other.customer_ids]) if len(self) and len(other)
            else (self.customer_ids if len(self) else other.customer_ids),
            np.concatenate([self.at_us, other.at_us]),
            np.concatenate([self.channels, other.channels]),
            np.concatenate([self.campaigns, other.campaigns]),
        )


def _counts_at_or_before(
    t_code: IntArray, t_us: IntArray, q_code: IntArray, q_us: list[IntArray]
) -> list[IntArray]:
    """For each query ``(code, us)``: how many touches sort at or before it by (code, time).

    Touches must be sorted by (code, time). Times are replaced by their dense rank among
    all the times involved, so ``code × ranks + rank`` is an exact int64 key in the same
    order (no overflow whatever the time span), and one binary search per query counts.
    """
    every = np.concatenate([t_us, *q_us])
    order = np.argsort(every, kind="stable")
    ordered = every[order]
    new = np.ones(len(every), dtype=np.int64)
    new[1:] = ordered[1:] != ordered[:-1]
    rank = np.empty(len(every), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    width = np.int64(rank.max() + 1) if len(rank) else np.int64(1)
    n_t = len(t_us)
    t_key = t_code * width + rank[:n_t]
    out = []
    for i in range(len(q_us)):
        lo = n_t + i * len(q_code)
        q_key = q_code * width + rank[lo:lo + len(q_code)]
        out.append(np.searchsorted(t_key, q_key, side="right").astype(np.int64))
    return out


def _split_fen(total: IntArray, k: IntArray) -> IntArray:
    """Each order's fen split in ``k`` equal integer parts, the remainder one fen each to
    the first parts: flattened in order (``sum(k)`` parts)."""
    base = np.repeat(total // np.maximum(k, 1), k)
    rem = np.repeat(total % np.maximum(k, 1), k)
    starts = np.repeat(np.cumsum(k) - k, k)
    rank = np.arange(int(k.sum()), dtype=np.int64) - starts
    return base + (rank < rem).astype(np.int64)


@attrs.frozen(eq=False)
class AttributionSeries(ResultFrame):
    """Valid sales and CRM-attributed sales per local day or calendar month.

    Attributes:
        freq: ``"day"`` or ``"month"``.
        days: int64, shape (k,): day numbers (since 1970-01-01) of each row's first day.
        sales_fen, orders: all valid sales and orders of the row.
        crm_sales_fen, crm_orders: the attributed ones.
    """

    freq: str
    days: IntArray
    sales_fen: IntArray
    orders: IntArray
    crm_sales_fen: IntArray
    crm_orders: IntArray

    def __len__(self) -> int:
        return len(self.days)

    @property
    def crm_share(self) -> list[Fraction | None]:
        """CRM sales / sales per row (``None`` where a row has no sales)."""
        return [None if s == 0 else Fraction(int(c), int(s))
                for c, s in zip(self.crm_sales_fen, self.sales_fen, strict=True)]

    def _columns(self) -> dict[str, Any]:
        """``day`` (or ``month``: its first day), ``sales_fen, orders, crm_sales_fen,
        crm_orders, crm_share`` (a float, missing without sales)."""
        return {
            self.freq: dates(self.days),
            "sales_fen": self.sales_fen,
            "orders": self.orders,
            "crm_sales_fen": self.crm_sales_fen,
            "crm_orders": self.crm_orders,
            "crm_share": ratios(self.crm_share),
        }

    def __repr__(self) -> str:
        return (f"AttributionSeries({self.freq}, {len(self):,} rows, CRM "
                f"{int(self.crm_sales_fen.sum()):,} of {int(self.sales_fen.sum()):,} fen)")


@attrs.frozen(eq=False)
class AttributionCredits(ResultFrame):
    """One row per (attributed order, credited touch) with the fen it is credited.

    Attributes:
        order_rows: int64, shape (m,): the order's row in the log.
        touch_rows: int64, shape (m,): the touch's position in the :class:`Touches`.
        credit_fen: int64, shape (m,): the credit; an order's credits sum to its net fen.
    """

    attribution: Attribution = attrs.field(repr=False)
    order_rows: IntArray
    touch_rows: IntArray
    credit_fen: IntArray

    def __len__(self) -> int:
        return len(self.order_rows)

    def _columns(self) -> dict[str, Any]:
        """``order_id`` (missing when the log has none), ``customer_id, placed_at,
        touched_at, channel, campaign, credit_fen``."""
        a = self.attribution
        log, t = a.orders, a.touches
        ids = log.order_ids
        return {
            "order_id": nullable(np.zeros(len(self), dtype=np.int64), np.ones(len(self), bool))
            if ids is None else ids[self.order_rows],
            "customer_id": log.customer_ids[np.asarray(log.customer_codes)[self.order_rows]],
            "placed_at": instants(log.placed_at_us[self.order_rows], log.tz),
            "touched_at": instants(t.at_us[self.touch_rows], log.tz),
            "channel": t.channels[self.touch_rows],
            "campaign": t.campaigns[self.touch_rows],
            "credit_fen": self.credit_fen,
        }

    def by(self, key: str = "channel") -> dict[str, int]:
        """Credited fen per ``"channel"`` or per ``"campaign"``, largest first."""
        if key not in ("channel", "campaign"):
            raise InvalidValueError("key", "must be channel or campaign", key)
        labels = (self.attribution.touches.channels if key == "channel"
                  else self.attribution.touches.campaigns)[self.touch_rows]
        names, inverse = np.unique(labels, return_inverse=True)
        sums = np.zeros(len(names), dtype=np.int64)
        np.add.at(sums, inverse, self.credit_fen)
        order = np.lexsort((names, -sums))
        return {str(names[i]): int(sums[i]) for i in order}


@attrs.frozen(eq=False)
class Attribution(ResultFrame):
    """Valid orders and the CRM touches credited with them (:func:`attribute_sales`).

    Attributes:
        orders: the order log.
        touches: the touches considered.
        within: the attribution period after a touch.
        model: the attribution model.
        window: the orders' range (``None``: the whole log).
        rows: int64, shape (k,): the valid orders in scope, as rows of the log.
        eligible: int64, shape (k,): eligible touches of each (0: not attributed).
        credit_order, credit_touch, credit_fen: int64, shape (m,): one credit each — the
            order (an index into ``rows``), the touch (a position in ``touches``) and the
            fen; :meth:`credits` gives them as a frame.
    """

    orders: OrderLog = attrs.field(repr=False)
    touches: Touches = attrs.field(repr=False)
    within: dt.timedelta
    model: AttributionModel
    window: Window | None
    rows: IntArray = attrs.field(repr=False)
    eligible: IntArray = attrs.field(repr=False)
    credit_order: IntArray = attrs.field(repr=False)
    credit_touch: IntArray = attrs.field(repr=False)
    credit_fen: IntArray = attrs.field(repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def attributed(self) -> BoolArray:
        """bool, shape (k,): which of :attr:`rows` are attributed."""
        out: BoolArray = self.eligible > 0
        return out

    @property
    def attributed_mask(self) -> BoolArray:
        """bool, shape (len(orders),): attributed rows of the whole log, ready for
        ``store_metrics(orders, periods, attributed=...)``."""
        mask = np.zeros(len(self.orders), dtype=bool)
        mask[self.rows[self.attributed]] = True
        return mask

    @property
    def net_fen(self) -> IntArray:
        """int64, shape (k,): each order's net fen (amount − partial refund)."""
        out: IntArray = np.asarray(self.orders.net_fen, dtype=np.int64)[self.rows]
        return out

    @property
    def sales_fen(self) -> int:
        """All valid sales in scope (fen)."""
        return int(self.net_fen.sum())

    @property
    def crm_sales_fen(self) -> int:
        """CRM-attributed sales (CRM 销售额), fen."""
        return int(self.net_fen[self.attributed].sum())

    @property
    def crm_orders(self) -> int:
        """Number of attributed orders."""
        return int(self.attributed.sum())

    @property
    def crm_share(self) -> Fraction | None:
        """CRM sales / sales (销售占比), exact; ``None`` without sales."""
        total = self.sales_fen
        return None if total == 0 else Fraction(self.crm_sales_fen, total)

    def credits(self) -> AttributionCredits:
        """The credit rows: which touch got how much of which order."""
        return AttributionCredits(self, self.rows[self.credit_order], self.credit_touch,
                                  self.credit_fen)

    def _series(self, freq: str, keys: IntArray, first_days: IntArray) -> AttributionSeries:
        uniq, inverse = np.unique(keys, return_inverse=True)
        k = len(uniq)
        net, hit = self.net_fen, self.attributed

        def total(values: IntArray, mask: BoolArray | None = None) -> IntArray:
            out = np.zeros(k, dtype=np.int64)
            if mask is None:
                np.add.at(out, inverse, values)
            else:
                np.add.at(out, inverse[mask], values[mask])
            return out

        ones = np.ones(len(net), dtype=np.int64)
        first = np.zeros(k, dtype=np.int64)
        first[inverse] = first_days
        return AttributionSeries(freq, first, total(net), total(ones), total(net, hit),
                                 total(ones, hit))

    def by_day(self) -> AttributionSeries:
        """Sales and CRM sales per local day (store zone) with at least one valid order."""
        days = local_days(self.orders.placed_at_us[self.rows], self.orders.tz)
        return self._series("day", days, days)

    def by_month(self) -> AttributionSeries:
        """Sales and CRM sales per calendar month (store zone) with a valid order."""
        days = local_days(self.orders.placed_at_us[self.rows], self.orders.tz)
        months = days.astype("datetime64[D]").astype("datetime64[M]")
        firsts = months.astype("datetime64[D]").astype(np.int64)
        return self._series("month", months.astype(np.int64), firsts)

    def _columns(self) -> dict[str, Any]:
        """One row per valid order in scope: ``order_id`` (missing without ids),
        ``customer_id, placed_at, net_fen, attributed, eligible_touches``."""
        log = self.orders
        ids = log.order_ids
        n = len(self)
        return {
            "order_id": nullable(np.zeros(n, dtype=np.int64), np.ones(n, bool))
            if ids is None else ids[self.rows],
            "customer_id": log.customer_ids[np.asarray(log.customer_codes)[self.rows]],
            "placed_at": instants(log.placed_at_us[self.rows], log.tz),
            "net_fen": self.net_fen,
            "attributed": self.attributed,
            "eligible_touches": self.eligible,
        }

    def __repr__(self) -> str:
        share = self.crm_share
        text = "n/a" if share is None else f"{float(share):.1%}"
        return (f"Attribution({self.model.value}, within {self.within}: CRM {self.crm_orders:,}"
                f" of {len(self):,} orders, {self.crm_sales_fen:,} of {self.sales_fen:,} fen,"
                f" share {text})")

    def explain(self) -> str:
        """The figures in words."""
        share = self.crm_share
        return (
            f"{self.crm_orders:,} of {len(self):,} valid orders were placed within "
            f"{self.within} after a CRM touch of their customer; they sold "
            f"{self.crm_sales_fen / 100:,.2f} of {self.sales_fen / 100:,.2f} "
            f"({'n/a' if share is None else f'{float(share):.1%}'}), credited by "
            f"{self.model.value.replace('_', ' ')}."
        )


def _model(value: object) -> AttributionModel:
    if isinstance(value, AttributionModel):
        return value
    try:
        return AttributionModel(value)
    except ValueError:
        names = ", ".join(m.value for m in AttributionModel)
        raise InvalidValueError("model", f"must be one of {names}", value) from None


def _touch_codes(orders: OrderLog, touches: Touches) -> tuple[IntArray, IntArray, IntArray]:
    """``(code, at_us, position)`` of the touches whose customer is in the log, sorted by
    (code, time, position)."""
    log_ids = orders.customer_ids
    ids = touches.customer_ids
    if len(ids) == 0 or len(log_ids) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    if (log_ids.dtype.kind == "U") != (ids.dtype.kind == "U"):
        raise InvalidTypeError(
            f"touch customer ids must be of the order log's kind "
            f"({'str' if log_ids.dtype.kind == 'U' else 'int'}), got dtype {ids.dtype}")
    pos = np.searchsorted(log_ids, ids)
    pos_c = np.minimum(pos, len(log_ids) - 1)
    known = np.flatnonzero(log_ids[pos_c] == ids)
    code, at = pos_c[known].astype(np.int64), touches.at_us[known]
    order = np.lexsort((known, at, code))
    return code[order], at[order], known[order].astype(np.int64)


def attribute_sales(
    orders: OrderLog,
    touches: Touches,
    *,
    within: dt.timedelta = dt.timedelta(days=7),
    model: AttributionModel | str = AttributionModel.LAST_TOUCH,
    window: Window | None = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> Attribution:
    """Credit valid orders to the CRM touches of their customer that came before them.

    An order placed at ``p`` is attributed when its customer had a touch at ``t`` with
    ``t ≤ p < t + within``; ``model`` picks the credited touch (see
    :class:`AttributionModel`). Each order is counted once, so CRM sales never exceed the
    valid sales in scope; ``within`` of zero attributes nothing.

    Args:
        orders: the order log.
        touches: sends and coupon grants (:class:`Touches`); touches of customers not in
            the log are ignored.
        within: the attribution period after a touch (a duration >= 0; default 7 days).
        model: ``"last_touch"`` (default), ``"first_touch"`` or ``"linear"``.
        window: only orders placed in this :class:`ecrm.Window` are in scope (touches
            before it still count); default the whole log.
        statuses: which statuses count as valid (default paid, shipped, completed).

    Returns:
        An :class:`Attribution`: totals (``crm_sales_fen``, ``crm_share``), per-order rows,
        ``by_day()`` / ``by_month()`` series, ``credits()`` per touch, and
        ``attributed_mask`` for :func:`ecrm.analytics.store_metrics`.

    Raises:
        InvalidTypeError: ``orders`` / ``touches`` of the wrong type, or touch ids of another
            kind (str vs int) than the log's.
        InvalidValueError: a negative ``within`` or an unknown model.
    """
    _v.check_instance("orders", orders, OrderLog)
    _v.check_instance("touches", touches, Touches)
    if not isinstance(within, dt.timedelta):
        raise InvalidTypeError(f"within must be a timedelta, got {within!r}")
    if within < dt.timedelta(0):
        raise InvalidValueError("within", "must be a duration >= 0", within)
    if window is not None and not isinstance(window, Window):
        raise InvalidTypeError(f"window must be an ecrm.Window, got {type(window).__name__}")
    how = _model(model)
    span = within // dt.timedelta(microseconds=1)

    valid = orders.valid_mask(None if statuses is None else list(statuses))
    placed = orders.placed_at_us
    if window is not None:
        lo, hi = window.bounds_us
        valid = valid & (placed >= lo) & (placed < hi)
    rows = np.flatnonzero(valid).astype(np.int64)
    o_code = np.asarray(orders.customer_codes, dtype=np.int64)[rows]
    o_at = placed[rows]

    t_code, t_at, t_pos = _touch_codes(orders, touches)
    if len(t_code) and len(rows) and span > 0:
        # touches ≤ (c, p) and ≤ (c, p − w): the difference is c's touches in (p − w, p]
        upto, before = _counts_at_or_before(t_code, t_at, o_code, [o_at, o_at - span])
        eligible = upto - before
    else:
        upto = before = eligible = np.zeros(len(rows), dtype=np.int64)
    hit = np.flatnonzero(eligible > 0)
    net = np.asarray(orders.net_fen, dtype=np.int64)[rows]
    if how is AttributionModel.LAST_TOUCH:
        c_order, c_touch, c_fen = hit, t_pos[upto[hit] - 1], net[hit]
    elif how is AttributionModel.FIRST_TOUCH:
        c_order, c_touch, c_fen = hit, t_pos[before[hit]], net[hit]
    else:
        k = eligible[hit]
        c_order = np.repeat(hit, k)
        starts = np.repeat(before[hit], k)
        rank = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
        c_touch = t_pos[starts + rank]
        c_fen = _split_fen(net[hit], k)
    return Attribution(
        orders=orders, touches=touches, within=within, model=how, window=window, rows=rows,
        eligible=eligible.astype(np.int64), credit_order=c_order.astype(np.int64),
        credit_touch=np.asarray(c_touch, dtype=np.int64), credit_fen=c_fen.astype(np.int64),
    )

