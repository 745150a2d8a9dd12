"""The figures of a report's service section in one result: :func:`service_overview`.

The report (``ecrm.report``) renders them; this module only computes. One row per figure
(``section``, ``figure``, ``group``, ``value``, ``count``) on the way out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ecrm import _validators as _v
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm._time import require_aware
from ecrm._window import Window
from ecrm.errors import InvalidValueError
from ecrm.service._analytics import (
    ServiceRetention,
    ServiceSummary,
    complaints_by_period,
    service_retention,
    service_summary,
)
from ecrm.service._calendar import BusinessCalendar
from ecrm.service._classify import ComplaintClassifier
from ecrm.service._scores import SurveyScore, csat, nps
from ecrm.service._sla import SlaPolicy, sla_status
from ecrm.service._survey import SurveyScale
from ecrm.service._ticket import Ticket

__all__ = ["ServiceOverview", "service_overview"]


@attrs.frozen(eq=False, repr=False)
class ServiceOverview(ResultFrame):
    """The figures of a report's service section: SLA attainment and times, complaints
    by category, satisfaction, and service versus retention.

    Columns out (``to_dicts`` …) are one row per figure: ``section`` (``"sla"``,
    ``"complaints"``, ``"satisfaction"``, ``"retention"``), ``figure``, ``group`` (a
    complaint category or retention group, else ``""``), ``value`` (a share, hours or
    points; empty for plain counts and undefined figures) and ``count`` (the number the
    value is over: tickets decided, complaints, replies, customers).

    Attributes:
        as_of: the moment of the figures; window: the tickets and replies counted
            (``None``: everything up to ``as_of``).
        sla: attainment and median / P90 times (:class:`ServiceSummary`).
        first_response_decided, resolution_decided: the tickets each attainment is over
            (replied or resolved, or already past due).
        complaints: ``(category, complaints)`` pairs, most first, then by name.
        csat, csat_responses: share of CSAT scores 4–5 and how many scores
            (``None`` without any).
        nps, nps_responses: NPS in points −100…100 and how many scores.
        retention: repurchase and churn by service time, ``None`` without orders.
    """

    as_of: dt.datetime
    window: Window | None
    sla: ServiceSummary
    first_response_decided: int
    resolution_decided: int
    complaints: tuple[tuple[str, int], ...]
    csat: float | None
    csat_responses: int
    nps: float | None
    nps_responses: int
    retention: ServiceRetention | None

    def __repr__(self) -> str:
        def pct(x: float | None) -> str:
            return "–" if x is None else f"{x:.1%}"

        return (f"ServiceOverview({self.sla.tickets:,} tickets, first response met "
                f"{pct(self.sla.first_response_attainment)}, resolution met "
                f"{pct(self.sla.resolution_attainment)}, {sum(n for _, n in self.complaints):,}"
                f" complaints, CSAT {pct(self.csat)} of {self.csat_responses:,})")

    def rows(self) -> list[tuple[str, str, str, float | None, int | None]]:
        """The figures as ``(section, figure, group, value, count)`` rows."""
        s = self.sla
        out: list[tuple[str, str, str, float | None, int | None]] = [
            ("sla", "tickets", "", None, s.tickets),
            ("sla", "first_response_attainment", "", s.first_response_attainment,
             self.first_response_decided),
            ("sla", "resolution_attainment", "", s.resolution_attainment,
             self.resolution_decided),
            ("sla", "first_response_median_h", "", s.first_response_median_h, s.responded),
            ("sla", "first_response_p90_h", "", s.first_response_p90_h, s.responded),
            ("sla", "resolution_median_h", "", s.resolution_median_h, s.resolved),
            ("sla", "resolution_p90_h", "", s.resolution_p90_h, s.resolved),
        ]
        out += [("complaints", "complaints", c, None, n) for c, n in self.complaints]
        out += [("satisfaction", "csat", "", self.csat, self.csat_responses),
                ("satisfaction", "nps", "", self.nps, self.nps_responses)]
        r = self.retention
        if r is not None:
            for g, n in zip(r.groups, r.customers, strict=True):
                rate = r.repurchase_rate(g) if n else None
                churn = r.churn_rate(g) if n else None
                out += [("retention", "repurchase_rate", g, rate, n),
                        ("retention", "churn_rate", g, churn, n)]
        return out

    def _columns(self) -> dict[str, Any]:
        rows = self.rows()
        return {"section": [r[0] for r in rows], "figure": [r[1] for r in rows],
                "group": [r[2] for r in rows], "value": nullable([r[3] for r in rows]),
                "count": nullable([r[4] for r in rows])}


def service_overview(
    tickets: Iterable[Ticket],
    policy: SlaPolicy,
    *,
    as_of: dt.datetime,
    window: Window | None = None,
    scores: Iterable[SurveyScore] = (),
    orders: OrderLog | None = None,
    classifier: ComplaintClassifier | None = None,
    horizon_days: int = 90,
    bands_h: Sequence[float] = (12, 24, 72),
    retention_calendar: BusinessCalendar | str | None = "policy",
) -> ServiceOverview:
    """The figures of a report's service section, in one result.

    Tickets count when created in ``window`` (all up to ``as_of`` without one) and are
    judged on the SLA clock at ``as_of``; complaints are those tickets' complaint kinds
    (complaint, quality, logistics) classified by their subject and text; satisfaction
    counts the ``scores`` replied in the window (pass a store's ``scores()``: one per
    survey). Service versus retention (:func:`service_retention`) looks at every ticket
    up to ``as_of``, banded by resolution time counted on the policy's business calendar
    (or ``retention_calendar``), and needs ``orders``.

    Args:
        tickets: the tickets.
        policy: SLA targets and clock.
        as_of: the moment (aware).
        window: the period of the report (a :class:`~ecrm.Window`), or ``None``.
        scores: stored survey scores.
        orders: the order log, for service versus retention (``None``: left out).
        classifier: the complaint classifier (default the phrase classifier).
        horizon_days, bands_h: as in :func:`service_retention`.
        retention_calendar: the clock of the retention bands: ``"policy"`` (default, the
            policy's calendar), a :class:`BusinessCalendar`, or ``None`` for wall-clock.

    Returns:
        The :class:`ServiceOverview`.

    Raises:
        InvalidValueError: bad band edges, horizon or ``retention_calendar`` (tickets
            created after ``as_of`` are left out, not refused).
        InvalidTypeError: ``as_of`` is not aware; ``tickets`` or ``scores`` hold values
            of the wrong type; ``policy``, ``window``, ``orders``, ``classifier`` or
            ``retention_calendar`` has the wrong type.
    """
    require_aware(as_of, "as_of")
    _v.check_instance("policy", policy, SlaPolicy)
    if window is not None:
        _v.check_instance("window", window, Window)
    if orders is not None:
        _v.check_instance("orders", orders, OrderLog)
    if isinstance(retention_calendar, str) and retention_calendar != "policy":
        raise InvalidValueError("retention_calendar",
                                "must be 'policy', a BusinessCalendar or None",
                                retention_calendar)
    if retention_calendar is not None:
        _v.check_instance("retention_calendar", retention_calendar, (str, BusinessCalendar))
    scores = _v.check_items("scores", scores, SurveyScore)
    everything = [t for t in _v.check_items("tickets", tickets, Ticket) if t.created_at <= as_of]
    in_scope = [t for t in everything if window is None or t.created_at in window]
    status = sla_status(in_scope, policy, as_of=as_of)
    summary = service_summary(status)
    fr_decided = int((status.responded | status.first_response_breached).sum())
    res_decided = int((status.resolved | status.resolution_breached).sum())
    by_class = complaints_by_period(in_scope, tz=as_of.tzinfo, classifier=classifier)
    totals: dict[str, int] = {}
    for category, n in zip(by_class.categories, by_class.counts, strict=True):
        totals[category] = totals.get(category, 0) + n
    complaints = tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
    counted = [s for s in scores if s.replied_at <= as_of
               and (window is None or s.replied_at in window)]
    n_csat = sum(1 for s in counted if s.scale is SurveyScale.CSAT)
    n_nps = len(counted) - n_csat
    retention = None
    if orders is not None:
        cal = policy.calendar if isinstance(retention_calendar, str) else retention_calendar
        retention = service_retention(everything, orders, as_of=as_of,
                                      horizon_days=horizon_days, bands_h=bands_h, calendar=cal)
    return ServiceOverview(as_of, window, summary, fr_decided, res_decided, complaints,
                           csat(counted), n_csat, nps(counted), n_nps, retention)
