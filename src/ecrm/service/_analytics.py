"""Service analytics: SLA attainment and response times, backlog by age, complaints and
satisfaction per period, and what service does to repurchase and churn.

Every result is a frozen :class:`~ecrm._results.ResultFrame` with a short repr and the
same ways out (``to_dicts``, ``to_csv``, ``to_pandas`` …).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _enums
from ecrm import _validators as _v
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm._time import US_PER_DAY, as_zone, datetime_to_us, require_aware
from ecrm.errors import InvalidValueError
from ecrm.service._calendar import BusinessCalendar
from ecrm.service._classify import ComplaintClassifier, PhraseClassifier
from ecrm.service._scores import SurveyScore
from ecrm.service._sla import SlaStatus
from ecrm.service._survey import SurveyReply, SurveyScale
from ecrm.service._ticket import Ticket, TicketKind, TicketState

__all__ = [
    "BacklogByAge",
    "ComplaintsByPeriod",
    "SatisfactionByPeriod",
    "ServiceRetention",
    "ServiceSummary",
    "backlog_by_age",
    "complaints_by_period",
    "satisfaction_by_period",
    "service_retention",
    "service_summary",
]

# Longer than any shop's history, short enough that day arithmetic stays in int64.
_MAX_HORIZON_DAYS = 36_500

_US_PER_H: Final = 3_600_000_000


def _quantile(values: npt.NDArray[np.int64], q: float) -> float | None:
    """The q-quantile in hours (linear interpolation), ``None`` for no values."""
    if not len(values):
        return None
    return float(np.quantile(values.astype(np.float64), q)) / _US_PER_H


@attrs.frozen(repr=False)
class ServiceSummary(ResultFrame):
    """Attainment and first-response / resolution times of an :class:`SlaStatus`.

    Times are hours of the SLA clock (business hours under a calendar); medians and P90s
    are over tickets replied to / resolved (linear interpolation).

    Attributes:
        tickets, responded, resolved, open: counts.
        first_response_attainment, resolution_attainment: shares met (see
            :meth:`SlaStatus.first_response_attainment`), ``None`` when nothing is decided.
        first_response_median_h, first_response_p90_h, resolution_median_h,
        resolution_p90_h: hours, ``None`` when there is nothing to measure.
    """

    tickets: int
    responded: int
    resolved: int
    open: int
    first_response_attainment: float | None
    resolution_attainment: float | None
    first_response_median_h: float | None
    first_response_p90_h: float | None
    resolution_median_h: float | None
    resolution_p90_h: float | None

    def __repr__(self) -> str:
        def pct(x: float | None) -> str:
            return "–" if x is None else f"{x:.1%}"

        def hours(x: float | None) -> str:
            return "–" if x is None else f"{x:.1f} h"

        return (f"ServiceSummary({self.tickets:,} tickets, first response met "
                f"{pct(self.first_response_attainment)} (median "
                f"{hours(self.first_response_median_h)}), resolution met "
                f"{pct(self.resolution_attainment)} (median {hours(self.resolution_median_h)}))")

    def _columns(self) -> dict[str, Any]:
        return {f.name: nullable([getattr(self, f.name)]) for f in attrs.fields(type(self))}


def service_summary(status: SlaStatus) -> ServiceSummary:
    """SLA attainment and median / P90 first-response and resolution times.

    Args:
        status: the SLA status of the tickets (:func:`sla_status`).

    Returns:
        The :class:`ServiceSummary`.

    Raises:
        InvalidTypeError: ``status`` is not an :class:`SlaStatus`.
    """
    _v.check_instance("status", status, SlaStatus)
    fr = status.first_response_elapsed_us[status.responded]
    res = status.resolution_elapsed_us[status.resolved]
    return ServiceSummary(
        tickets=len(status), responded=int(status.responded.sum()),
        resolved=int(status.resolved.sum()), open=int((~status.resolved).sum()),
        first_response_attainment=status.first_response_attainment(),
        resolution_attainment=status.resolution_attainment(),
        first_response_median_h=_quantile(fr, 0.5), first_response_p90_h=_quantile(fr, 0.9),
        resolution_median_h=_quantile(res, 0.5), resolution_p90_h=_quantile(res, 0.9),
    )


def _band_labels(bounds_h: Sequence[float], unit: str = "h") -> list[str]:
    labels = [f"< {bounds_h[0]:g} {unit}"]
    labels += [f"{a:g}–{b:g} {unit}" for a, b in itertools.pairwise(bounds_h)]
    labels.append(f"≥ {bounds_h[-1]:g} {unit}")
    return labels


def _check_bounds(bounds_h: Sequence[float], field: str) -> list[float]:
    numbers = _v.check_items(field, bounds_h, (int, float, np.integer, np.floating))
    bounds = [float(b) for b in numbers]
    if (not bounds or not all(0 < b < math.inf for b in bounds)
            or bounds != sorted(set(bounds))):
        raise InvalidValueError(field, "must be increasing positive hours", tuple(bounds_h))
    return bounds


@attrs.frozen(eq=False, repr=False)
class BacklogByAge(ResultFrame):
    """Unresolved tickets by how long ago they came in (wall-clock hours).

    Attributes:
        bands: the age band labels (``"< 24 h"``, ``"24–48 h"``, … ``"≥ 168 h"``).
        counts: tickets per band.
        waiting: of those, tickets waiting for the customer.
        as_of: the moment ages are measured at.
    """

    bands: tuple[str, ...]
    counts: tuple[int, ...]
    waiting: tuple[int, ...]
    as_of: dt.datetime

    def __repr__(self) -> str:
        return f"BacklogByAge({sum(self.counts):,} open tickets at {self.as_of.isoformat()})"

    def _columns(self) -> dict[str, Any]:
        return {"band": list(self.bands), "tickets": list(self.counts),
                "waiting": list(self.waiting)}


def backlog_by_age(tickets: Iterable[Ticket], *, as_of: dt.datetime,
                   bands_h: Sequence[float] = (24, 48, 72, 168)) -> BacklogByAge:
    """Open, assigned and waiting tickets created by ``as_of``, by age band.

    Args:
        tickets: the tickets.
        as_of: the moment (aware).
        bands_h: increasing band edges in hours; a ticket exactly on an edge falls in the
            upper band.

    Raises:
        InvalidValueError: bad band edges.
        InvalidTypeError: ``tickets`` is not an iterable of :class:`Ticket`, ``as_of`` not
            an aware datetime, or a band edge not a number.
    """
    require_aware(as_of, "as_of")
    bounds = _check_bounds(bands_h, "bands_h")
    ages, waits = [], []
    for t in _v.check_items("tickets", tickets, Ticket):
        if t.state in (TicketState.RESOLVED, TicketState.CLOSED) or t.created_at > as_of:
            continue
        ages.append((as_of - t.created_at) / dt.timedelta(hours=1))
        waits.append(t.state is TicketState.WAITING)
    band = np.searchsorted(np.asarray(bounds), np.asarray(ages, dtype=np.float64), side="right")
    n = len(bounds) + 1
    counts = np.bincount(band, minlength=n)
    waiting = np.bincount(band, weights=np.asarray(waits, dtype=np.float64), minlength=n)
    return BacklogByAge(tuple(_band_labels(bounds)), tuple(int(c) for c in counts),
                        tuple(int(w) for w in waiting), as_of)


def _period(at: dt.datetime, zone: dt.tzinfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m")


@attrs.frozen(eq=False, repr=False)
class ComplaintsByPeriod(ResultFrame):
    """Complaint tickets per month and category (one row per pair that occurred).

    Attributes:
        periods: ``"YYYY-MM"`` in the store's zone; categories: the classifier's category;
        counts: tickets; rows sorted by period, then count (most first), then category.
    """

    periods: tuple[str, ...]
    categories: tuple[str, ...]
    counts: tuple[int, ...]

    def __repr__(self) -> str:
        return (f"ComplaintsByPeriod({sum(self.counts):,} complaints, "
                f"{len(set(self.periods))} months)")

    def count(self, period: str, category: str) -> int:
        """Complaints of ``category`` in ``period`` (0 when none)."""
        for p, c, n in zip(self.periods, self.categories, self.counts, strict=True):
            if (p, c) == (period, category):
                return n
        return 0

    def _columns(self) -> dict[str, Any]:
        return {"period": list(self.periods), "category": list(self.categories),
                "complaints": list(self.counts)}


def complaints_by_period(
    tickets: Iterable[Ticket],
    *,
    tz: str | dt.tzinfo | None = None,
    classifier: ComplaintClassifier | None = None,
    kinds: Iterable[TicketKind | str] = (TicketKind.COMPLAINT, TicketKind.QUALITY,
                                         TicketKind.LOGISTICS),
) -> ComplaintsByPeriod:
    """Classify each complaint ticket's subject and text, and count per month.

    Args:
        tickets: the tickets; those of ``kinds`` count.
        tz: the store's zone for months (default Asia/Shanghai).
        classifier: the classifier (default the phrase classifier).
        kinds: which ticket kinds are complaints.

    Raises:
        InvalidTypeError: ``tickets`` is not an iterable of :class:`Ticket`, or
            ``classifier`` has no ``classify`` method.
        InvalidValueError: an unknown zone or ticket kind.
    """
    zone = as_zone(tz)
    items = _v.check_items("tickets", tickets, Ticket)
    if classifier is not None:
        _v.check_instance("classifier", classifier, ComplaintClassifier)
    clf = classifier if classifier is not None else PhraseClassifier()
    wanted = {_enums.member(TicketKind, k, "kinds") for k in kinds}
    counts: dict[tuple[str, str], int] = {}
    for t in items:
        if t.kind not in wanted:
            continue
        key = (_period(t.created_at, zone), clf.classify(f"{t.subject} {t.text}").category)
        counts[key] = counts.get(key, 0) + 1
    rows = sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    return ComplaintsByPeriod(tuple(k[0] for k, _ in rows), tuple(k[1] for k, _ in rows),
                              tuple(n for _, n in rows))


@attrs.frozen(eq=False, repr=False)
class SatisfactionByPeriod(ResultFrame):
    """Survey scores per month, group (a product category, a channel …) and scale.

    Attributes:
        periods, groups, scales: the row keys (``"YYYY-MM"``, the group or ``""``,
            ``"csat"`` / ``"nps"``).
        responses: replies with a score.
        mean_score: the mean score.
        csat: share of CSAT replies scoring 4–5 (``None`` on NPS rows).
        nps: % promoters (9–10) − % detractors (0–6), in points −100…100 (``None`` on
            CSAT rows).
    """

    periods: tuple[str, ...]
    groups: tuple[str, ...]
    scales: tuple[str, ...]
    responses: tuple[int, ...]
    mean_score: tuple[float, ...]
    csat: tuple[float | None, ...]
    nps: tuple[float | None, ...]

    def __repr__(self) -> str:
        return (f"SatisfactionByPeriod({sum(self.responses):,} replies, "
                f"{len(set(self.periods))} months)")

    def _columns(self) -> dict[str, Any]:
        return {"period": list(self.periods), "group": list(self.groups),
                "scale": list(self.scales),
                "responses": list(self.responses), "mean_score": list(self.mean_score),
                "csat": nullable(list(self.csat)), "nps": nullable(list(self.nps))}


def satisfaction_by_period(
    replies: Iterable[tuple[dt.datetime, SurveyReply] | tuple[dt.datetime, SurveyReply, str]
                      | SurveyScore],
    *,
    tz: str | dt.tzinfo | None = None,
) -> SatisfactionByPeriod:
    """CSAT and NPS per month (and per group) from dated replies (see :func:`parse_reply`).

    Args:
        replies: ``(when, reply)`` pairs, ``(when, reply, group)`` triples to split each
            month by a product category, channel or anything else (aware datetimes), or
            stored :class:`SurveyScore` s (pass a store's ``scores()``: one per survey).
        tz: the store's zone for months (default Asia/Shanghai).

    Returns:
        One row per (month, group, scale), sorted.

    Raises:
        InvalidTypeError: ``replies`` is not an iterable of scores, pairs or triples, a
            reply is not a :class:`SurveyReply`, or a moment not an aware datetime.
        InvalidValueError: a tuple that is neither a pair nor a triple.
    """
    zone = as_zone(tz)
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, item in enumerate(_v.check_items("replies", replies, (SurveyScore, tuple))):
        if isinstance(item, SurveyScore):
            item = (item.replied_at, item.reply, item.group)
        if len(item) not in (2, 3):
            raise InvalidValueError(f"replies[{i}]", "must be a (when, reply) pair or a "
                                    "(when, reply, group) triple", item)
        at, reply = item[0], item[1]
        _v.check_instance(f"replies[{i}][1]", reply, SurveyReply)
        group = str(item[2]) if len(item) > 2 else ""
        require_aware(at, f"replies[{i}][0]")
        groups.setdefault((_period(at, zone), group, reply.scale.value), []).append(reply.score)
    keys = sorted(groups)
    csat: list[float | None] = []
    nps: list[float | None] = []
    for key in keys:
        scores = groups[key]
        if key[2] == SurveyScale.CSAT.value:
            csat.append(sum(1 for s in scores if s >= 4) / len(scores))
            nps.append(None)
        else:
            csat.append(None)
            promoters = sum(1 for s in scores if s >= 9)
            detractors = sum(1 for s in scores if s <= 6)
            nps.append(100.0 * (promoters - detractors) / len(scores))
    return SatisfactionByPeriod(
        tuple(k[0] for k in keys), tuple(k[1] for k in keys), tuple(k[2] for k in keys),
        tuple(len(groups[k]) for k in keys),
        tuple(sum(groups[k]) / len(groups[k]) for k in keys), tuple(csat), tuple(nps))


@attrs.frozen(eq=False, repr=False)
class ServiceRetention(ResultFrame):
    """Repurchase and churn of customers with and without complaints, by how fast the
    complaint was resolved, with every group's size.

    Attributes:
        groups: ``"no complaint"``, the time bands (``"< 12 h"`` …), then
            ``"unresolved"`` (``"no response"`` when measuring first responses).
        customers: customers in each group (observed for the full horizon).
        repurchased: of them, customers with a valid order within ``horizon_days`` after
            their reference moment (the first complaint, or the first order).
        churned: of them, customers with no valid order after it up to ``as_of``.
        horizon_days, as_of: the observation rule.
        measure: what the bands measure, ``"resolution"`` or ``"first_response"``.
        business_hours: whether the band hours are business hours (else wall-clock).
    """

    groups: tuple[str, ...]
    customers: tuple[int, ...]
    repurchased: tuple[int, ...]
    churned: tuple[int, ...]
    horizon_days: int
    as_of: dt.datetime
    measure: str = "resolution"
    business_hours: bool = False

    def __repr__(self) -> str:
        parts = ", ".join(f"{g} {self.repurchase_rate(g):.0%} of {n:,}"
                          for g, n in zip(self.groups, self.customers, strict=True) if n)
        clock = "business hours" if self.business_hours else "wall-clock hours"
        return (f"ServiceRetention(by {self.measure.replace('_', '-')} time in {clock}, "
                f"repurchase in {self.horizon_days} d: {parts})")

    def _index(self, group: str) -> int:
        try:
            return self.groups.index(group)
        except ValueError:
            raise KeyError(f"no group {group!r}; groups are {self.groups}") from None

    def repurchase_rate(self, group: str) -> float:
        """Share of the group that repurchased within the horizon (NaN for an empty group)."""
        i = self._index(group)
        return self.repurchased[i] / self.customers[i] if self.customers[i] else float("nan")

    def churn_rate(self, group: str) -> float:
        """Share of the group with no order after its reference moment (NaN if empty)."""
        i = self._index(group)
        return self.churned[i] / self.customers[i] if self.customers[i] else float("nan")

    def churn_share(self, group: str) -> float:
        """Share of all churned customers that are in ``group`` (NaN when nobody churned):
        "how many of those who left had a slow complaint" (seed 002: 63 %)."""
        total = sum(self.churned)
        return self.churned[self._index(group)] / total if total else float("nan")

    def _columns(self) -> dict[str, Any]:
        def rate(num: tuple[int, ...]) -> Any:
            return nullable([a / n if n else None for a, n in zip(num, self.customers,
                                                                  strict=True)])

        return {"group": list(self.groups), "customers": list(self.customers),
                "repurchased": list(self.repurchased),
                "repurchase_rate": rate(self.repurchased),
                "churned": list(self.churned), "churn_rate": rate(self.churned)}


_MEASURES: Final = ("resolution", "first_response")
_NONE_YET: Final = {"resolution": "unresolved", "first_response": "no response"}


def _elapsed_h(start_us: npt.NDArray[np.int64], end_us: npt.NDArray[np.int64],
               calendar: BusinessCalendar | None) -> npt.NDArray[np.float64]:
    """Hours from each start to its end: wall-clock, or business hours of ``calendar``."""
    if calendar is None:
        return (end_us - start_us).astype(np.float64) / _US_PER_H
    if not any(calendar.weekly) and not calendar.workdays:
        raise InvalidValueError("calendar", "must have working hours on some weekday", calendar)
    timeline = calendar._timeline(int(start_us.min()), int(end_us.max()))
    business = timeline.business_us(end_us) - timeline.business_us(start_us)
    return business.astype(np.float64) / _US_PER_H


def service_retention(
    tickets: Iterable[Ticket],
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    horizon_days: int = 90,
    bands_h: Sequence[float] = (12, 24, 72),
    kinds: Iterable[TicketKind | str] = (TicketKind.COMPLAINT,),
    measure: str = "resolution",
    calendar: BusinessCalendar | None = None,
) -> ServiceRetention:
    """Repurchase and churn after complaints, by resolution (or first-response) time,
    against customers without complaints.

    A complaining customer's reference moment is their first complaint (a ticket of
    ``kinds``) and their band is that ticket's hours from creation to resolution by
    ``as_of`` (``"unresolved"`` when it was not); with ``measure="first_response"`` the
    hours to the first reply (``"no response"`` when none by ``as_of``). Hours are
    wall-clock hours, or with a ``calendar`` business hours (nights, weekends and holidays
    do not count, as on the SLA clock). Everyone else's reference is their first valid
    order. Only customers whose reference lies at least ``horizon_days`` before ``as_of``
    are counted, so every group is watched for the same time. Tickets of customers absent
    from ``orders`` are ignored.

    Args:
        tickets: the tickets.
        orders: the order log (valid orders count; ids compared as text).
        as_of: the end of observation (aware).
        horizon_days: the repurchase window (> 0).
        bands_h: increasing band edges in hours; a time exactly on an edge falls in the
            upper band.
        kinds: which ticket kinds are complaints.
        measure: ``"resolution"`` (default) or ``"first_response"``.
        calendar: the store's business hours to count in (default wall-clock hours).

    Returns:
        The :class:`ServiceRetention`.

    Raises:
        InvalidValueError: a bad horizon, band edges or measure, or a calendar without
            working hours.
        InvalidTypeError: ``tickets`` is not an iterable of :class:`Ticket`, ``orders``
            not an :class:`~ecrm.OrderLog`, ``calendar`` not a :class:`BusinessCalendar`.
    """
    items = _v.check_items("tickets", tickets, Ticket)
    _v.check_instance("orders", orders, OrderLog)
    if calendar is not None:
        _v.check_instance("calendar", calendar, BusinessCalendar)
    require_aware(as_of, "as_of")
    if not isinstance(horizon_days, int) or not 0 < horizon_days <= _MAX_HORIZON_DAYS:
        raise InvalidValueError(
            "horizon_days", f"must be a whole number of days in 1..{_MAX_HORIZON_DAYS:,}",
            horizon_days,
        )
    bounds = _check_bounds(bands_h, "bands_h")
    if measure not in _MEASURES:
        raise InvalidValueError("measure", "must be 'resolution' or 'first_response'", measure)
    as_of_us = datetime_to_us(as_of)
    wanted = {_enums.member(TicketKind, k, "kinds") for k in kinds}
    first: dict[str, Ticket] = {}
    for t in items:
        if t.kind in wanted and t.created_at <= as_of:
            seen = first.get(t.customer_id)
            if seen is None or t.created_at < seen.created_at:
                first[t.customer_id] = t

    n_cust = orders.n_customers
    ids = [str(c) for c in orders.customer_ids.tolist()]
    codes = orders.customer_codes.astype(np.int64)
    placed = orders.placed_at_us
    valid = orders.valid_mask() & (placed <= as_of_us)
    # the first valid order of each customer (rows are sorted by customer, then time)
    big = np.iinfo(np.int64).max
    first_valid = np.full(n_cust, big, dtype=np.int64)
    np.minimum.at(first_valid, codes[valid], placed[valid])

    ref = first_valid.copy()
    n_groups = len(bounds) + 3  # no complaint, bands…, unresolved
    group = np.zeros(n_cust, dtype=np.int64)
    rows, start_us, end_us = [], [], []
    for code, cid in enumerate(ids):
        complaint = first.get(cid)
        if complaint is None:
            continue
        ref[code] = datetime_to_us(complaint.created_at)
        done = (complaint.resolved_at if measure == "resolution"
                else complaint.first_response_at)
        if done is None or done > as_of:
            group[code] = n_groups - 1
        else:
            rows.append(code)
            start_us.append(ref[code])
            end_us.append(datetime_to_us(done))
    if rows:
        hours = _elapsed_h(np.asarray(start_us, dtype=np.int64),
                           np.asarray(end_us, dtype=np.int64), calendar)
        group[np.asarray(rows)] = 1 + np.searchsorted(bounds, hours, side="right")

    horizon_us = horizon_days * US_PER_DAY
    eligible = (ref != big) & (ref <= as_of_us - horizon_us)
    ref_row = ref[codes]
    after = valid & (placed > ref_row)
    again = np.bincount(codes[after & (placed <= ref_row + horizon_us)], minlength=n_cust) > 0
    any_after = np.bincount(codes[after], minlength=n_cust) > 0

    g = group[eligible]
    customers = np.bincount(g, minlength=n_groups)
    repurchased = np.bincount(g, weights=again[eligible].astype(np.float64), minlength=n_groups)
    churned = np.bincount(g, weights=(~any_after[eligible]).astype(np.float64),
                          minlength=n_groups)
    labels = ["no complaint", *_band_labels(bounds), _NONE_YET[measure]]
    return ServiceRetention(tuple(labels), tuple(int(x) for x in customers),
                            tuple(int(x) for x in repurchased), tuple(int(x) for x in churned),
                            horizon_days, as_of, measure, calendar is not None)

