"""Campaign effect: the treated-vs-holdout report over a deterministic hash holdout.

The holdout itself (:func:`holdout_score`, :func:`holdout_mask`, :func:`split_audience`)
is a core function shared with the broadcasts of ``ecrm.touch.flows``; it hashes
``campaign_id`` and the customer id with BLAKE2b, so the same customer lands in the same
group for a campaign on every run, whatever the order of the audience.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._holdout import check_campaign, holdout_mask, holdout_score, split_audience
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, fen, moments, ratios
from ecrm._time import NAT_US, US_PER_DAY, datetime_to_us, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "CampaignReport",
    "campaign_effect",
    "holdout_mask",
    "holdout_score",
    "split_audience",
]


def _ratio(num: int, den: int) -> Fraction | None:
    return None if den == 0 else Fraction(num, den)


def _pct(value: Fraction | None) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.2f}%"


def _interval_text(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "n/a"
    return f"[{interval[0] * 100:.2f}%, {interval[1] * 100:.2f}%]"


@attrs.frozen
class CampaignReport(ResultFrame):
    """Treated vs holdout for one campaign. Exact counts and money; ratios as ``Fraction``.

    Definitions:
        response: a valid order placed in ``[t0, t0 + days)``, ``t0`` = the customer's
            send time (treated) or the campaign start (holdout, and treated without one).
        rate: responders / group size. uplift: treated rate − holdout rate (absolute),
            and / holdout rate (relative; ``None`` when the holdout rate is 0).
        revenue: net fen (amount − refunded) of the responding valid orders in the window.
        incremental revenue: treated revenue − holdout revenue × n_treated / n_holdout
            (the holdout's revenue per head scaled to the treated group), rounded to the
            fen half to even; ``None`` without a holdout.
        uplift interval: the normal-approximation (Wald, unpooled) confidence interval of
            the absolute uplift, ``uplift ± z·√(p_t(1−p_t)/n_t + p_h(1−p_h)/n_h)``
            (:meth:`uplift_interval`; the columns carry the 95% one). It is a large-sample
            interval: with few responders in a group it is too narrow.
        cost: billed SMS segments × price per segment, plus ``other_cost`` (coupon face
            value redeemed, gifts, anything the campaign spent).
        roi: (incremental revenue − cost) / cost; ``None`` when the cost is 0 or there is
            no holdout.
    """

    campaign_id: str
    start: dt.datetime
    days: int
    n_treated: int
    n_holdout: int
    responders_treated: int
    responders_holdout: int
    revenue_treated: Money
    revenue_holdout: Money
    segments: int
    price_per_segment: Money
    other_cost: Money | None = None

    def _columns(self) -> dict[str, Any]:
        """One row: ``campaign_id, start, days, n_treated, n_holdout, responders_treated,
        responders_holdout, rate_treated, rate_holdout, uplift, relative_uplift,
        uplift_low, uplift_high, revenue_treated_fen, revenue_holdout_fen,
        incremental_revenue_fen, segments, price_per_segment_fen, other_cost_fen, cost_fen,
        roi, currency`` (ratios as floats, missing where undefined; the uplift interval at
        95%)."""
        interval = self.uplift_interval()
        low, high = (None, None) if interval is None else interval
        return {
            "campaign_id": [self.campaign_id],
            "start": moments([self.start]),
            "days": [self.days],
            "n_treated": [self.n_treated],
            "n_holdout": [self.n_holdout],
            "responders_treated": [self.responders_treated],
            "responders_holdout": [self.responders_holdout],
            "rate_treated": ratios([self.rate_treated]),
            "rate_holdout": ratios([self.rate_holdout]),
            "uplift": ratios([self.uplift]),
            "relative_uplift": ratios([self.relative_uplift]),
            "uplift_low": ratios([low]),
            "uplift_high": ratios([high]),
            "revenue_treated_fen": [self.revenue_treated.fen],
            "revenue_holdout_fen": [self.revenue_holdout.fen],
            "incremental_revenue_fen": fen([self.incremental_revenue]),
            "segments": [self.segments],
            "price_per_segment_fen": [self.price_per_segment.fen],
            "other_cost_fen": [0 if self.other_cost is None else self.other_cost.fen],
            "cost_fen": [self.cost.fen],
            "roi": ratios([self.roi]),
            "currency": [self.revenue_treated.currency],
        }

    @property
    def rate_treated(self) -> Fraction | None:
        return _ratio(self.responders_treated, self.n_treated)

    @property
    def rate_holdout(self) -> Fraction | None:
        return _ratio(self.responders_holdout, self.n_holdout)

    @property
    def uplift(self) -> Fraction | None:
        """Absolute uplift: treated rate − holdout rate."""
        t, h = self.rate_treated, self.rate_holdout
        return None if t is None or h is None else t - h

    @property
    def relative_uplift(self) -> Fraction | None:
        """Uplift / holdout rate."""
        u, h = self.uplift, self.rate_holdout
        return None if u is None or not h else u / h

    def uplift_interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """The confidence interval of the absolute uplift (normal approximation).

        ``uplift ± z·se`` with ``se = √(p_t(1−p_t)/n_t + p_h(1−p_h)/n_h)`` (unpooled) and
        ``z`` the standard normal quantile at ``1 − (1 − confidence)/2`` (1.96 for 95%).

        Args:
            confidence: in (0, 1), default 0.95.

        Returns:
            ``(low, high)`` as floats, or ``None`` without treated or held-out customers.

        Raises:
            InvalidValueError: ``confidence`` outside (0, 1).
        """
        if isinstance(confidence, bool) or not isinstance(confidence, float | int) or not (
                0 < confidence < 1):
            raise InvalidValueError("confidence", "must be a number in (0, 1)", confidence)
        t, h, u = self.rate_treated, self.rate_holdout, self.uplift
        if t is None or h is None or u is None:
            return None
        var = t * (1 - t) / self.n_treated + h * (1 - h) / self.n_holdout
        z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
        half = z * math.sqrt(var)
        return float(u) - half, float(u) + half

    @property
    def incremental_responders(self) -> Fraction | None:
        """Responders the campaign added: treated responders − holdout rate × n_treated."""
        h = self.rate_holdout
        return None if h is None or self.n_treated == 0 else self.responders_treated - h * self.n_treated

    @property
    def cost(self) -> Money:
        """SMS segments × price per segment, plus ``other_cost``."""
        sms = self.price_per_segment * self.segments
        return sms if self.other_cost is None else sms + self.other_cost

    @property
    def incremental_revenue(self) -> Money | None:
        if self.n_holdout == 0:
            return None
        expected = Fraction(self.revenue_holdout.fen * self.n_treated, self.n_holdout)
        return Money(self.revenue_treated.fen - round(expected), self.revenue_treated.currency)

    @property
    def roi(self) -> Fraction | None:
        inc, cost = self.incremental_revenue, self.cost.fen
        return None if inc is None or cost == 0 else Fraction(inc.fen - cost, cost)

    def table(self) -> str:
        """A two-column text table of the figures."""
        rows = [
            ("campaign", self.campaign_id),
            ("window", f"{self.start.isoformat()} + {self.days} days"),
            ("treated / holdout", f"{self.n_treated:,} / {self.n_holdout:,}"),
            ("responders", f"{self.responders_treated:,} / {self.responders_holdout:,}"),
            ("response rate", f"{_pct(self.rate_treated)} / {_pct(self.rate_holdout)}"),
            ("uplift (abs / rel)", f"{_pct(self.uplift)} / {_pct(self.relative_uplift)}"),
            ("uplift 95% CI", _interval_text(self.uplift_interval())),
            ("revenue", f"{self.revenue_treated} / {self.revenue_holdout}"),
            ("incremental revenue", str(self.incremental_revenue or "n/a")),
            ("cost", f"{self.cost} ({self.segments:,} segments × {self.price_per_segment}"
                     + ("" if self.other_cost is None else f" + other {self.other_cost}") + ")"),
            ("ROI", _pct(self.roi)),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def explain(self) -> str:
        """The figures in words."""
        if self.uplift is None:
            return f"{self.campaign_id}: no holdout or no treated customers, no uplift."
        inc = self.incremental_revenue
        word = "more" if self.uplift >= 0 else "fewer"
        return (
            f"{self.campaign_id}: {_pct(self.rate_treated)} of {self.n_treated:,} treated "
            f"customers ordered within {self.days} days vs {_pct(self.rate_holdout)} of "
            f"{self.n_holdout:,} held out: {_pct(abs(self.uplift))} {word}. "
            f"Incremental revenue {inc} for a cost of {self.cost}; ROI {_pct(self.roi)}."
        )


def campaign_effect(
    orders: OrderLog,
    *,
    campaign_id: str,
    treated: Any,
    holdout: Any,
    start: dt.datetime,
    days: int = 7,
    sent_at: Any = None,
    segments: int = 0,
    price_per_segment: Money | None = None,
    other_cost: Money | None = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> CampaignReport:
    """Measure a campaign against its holdout.

    Args:
        orders: the order log covering the response windows.
        campaign_id: the campaign's name.
        treated: ids of the customers the campaign targeted (send or not: intent to treat).
        holdout: ids held out (:func:`split_audience`).
        start: the campaign start (aware): the holdout's window starts here.
        days: the response window in days (24 h each), >= 1.
        sent_at: optional aware datetimes or int64 µs per treated id (NAT / ``None`` →
            ``start``).
        segments: billed SMS segments of the campaign (``sum(sms.segments)``).
        price_per_segment: the price of one segment (default ¥0).
        other_cost: the campaign's other spend (redeemed coupon value, gifts), added to
            the cost (default none).
        statuses: which statuses count as valid.

    Raises:
        InvalidValueError: ``days`` < 1, negative segments, a customer in both groups,
            or ``sent_at`` of the wrong length.
        InvalidTypeError: ``orders`` is not an :class:`~ecrm.OrderLog`, or ``treated``,
            ``holdout`` or ``sent_at`` is not a flat sequence.
    """
    _v.check_instance("orders", orders, OrderLog)
    check_campaign(campaign_id)
    t0 = datetime_to_us(require_aware(start, "start"))
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidValueError("days", "must be an int >= 1", days)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 0:
        raise InvalidValueError("segments", "must be an int >= 0", segments)
    price = price_per_segment if price_per_segment is not None else Money(0, orders.currency)
    if not isinstance(price, Money):
        raise InvalidTypeError(f"price_per_segment must be Money, got {price!r}")
    if other_cost is not None:
        if not isinstance(other_cost, Money):
            raise InvalidTypeError(f"other_cost must be Money, got {other_cost!r}")
        if other_cost.fen < 0:
            raise InvalidValueError("other_cost", "must be >= 0 fen", other_cost.fen)
        if other_cost.currency != price.currency:
            raise InvalidValueError("other_cost", f"must be in {price.currency} like the "
                                    "price per segment", other_cost.currency)
    t_ids = _v.flat_array("treated", treated)
    h_ids = np.unique(_v.flat_array("holdout", holdout))
    t_start = np.full(len(t_ids), t0, dtype=np.int64)
    if sent_at is not None:
        raw = _v.flat_array("sent_at", sent_at)
        if raw.shape != t_ids.shape:
            raise InvalidValueError("sent_at", f"must have one entry per treated id "
                                    f"({len(t_ids)})", raw.shape)
        if raw.dtype == object:
            raw = np.asarray([NAT_US if v is None else datetime_to_us(require_aware(v, "sent_at"))
                              for v in raw.tolist()], dtype=np.int64)
        t_start = np.where(raw == NAT_US, t0, raw).astype(np.int64)
    # one start per treated customer: the earliest send
    if len(t_ids):
        order = np.lexsort((t_start, t_ids))
        t_ids, t_start = t_ids[order], t_start[order]
        first = np.ones(len(t_ids), dtype=bool)
        first[1:] = t_ids[1:] != t_ids[:-1]
        t_ids, t_start = t_ids[first], t_start[first]
    both = np.intersect1d(t_ids, h_ids)
    if len(both):
        raise InvalidValueError("holdout", "must not share customers with treated",
                                _as_py(both[:5]))
    span = days * US_PER_DAY
    rt, revt = _responses(orders, t_ids, t_start, span, statuses)
    rh, revh = _responses(orders, h_ids, np.full(len(h_ids), t0, dtype=np.int64), span,
                          statuses)
    return CampaignReport(
        campaign_id=campaign_id, start=start, days=days,
        n_treated=len(t_ids), n_holdout=len(h_ids),
        responders_treated=rt, responders_holdout=rh,
        revenue_treated=Money(revt, orders.currency), revenue_holdout=Money(revh, orders.currency),
        segments=segments, price_per_segment=price, other_cost=other_cost,
    )


def _as_py(values: npt.NDArray[Any]) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def _responses(orders: OrderLog, ids: npt.NDArray[Any], starts: npt.NDArray[np.int64],
               span: int, statuses: Iterable[OrderStatus] | None) -> tuple[int, int]:
    """(responders, revenue fen) of ``ids`` with windows ``[starts, starts + span)``."""
    if not len(ids) or not len(orders):
        return 0, 0
    log_ids = orders.customer_ids
    if (log_ids.dtype.kind == "U") != (ids.dtype.kind == "U"):
        raise InvalidTypeError(
            f"customer ids must be of the order log's kind "
            f"({'str' if log_ids.dtype.kind == 'U' else 'int'}), got dtype {ids.dtype}")
    pos = np.searchsorted(log_ids, ids)
    pos_c = np.minimum(pos, len(log_ids) - 1)
    known = log_ids[pos_c] == ids
    # per-order start of its customer's window (-1: not in the group)
    start_of = np.full(orders.n_customers, NAT_US, dtype=np.int64)
    start_of[pos_c[known]] = starts[known]
    row_start = start_of[orders.customer_codes]
    placed = orders.placed_at_us
    hit = (orders.valid_mask(statuses) & (row_start != NAT_US) & (placed >= row_start)
           & (placed < row_start + span))
    responders = len(np.unique(orders.customer_codes[hit]))
    return responders, int(orders.net_fen[hit].sum())
