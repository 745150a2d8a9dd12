"""Strategies for :mod:`ecrm.service`: business calendars, tickets built by valid
transitions, and survey scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ecrm.service import (
    TRANSITIONS,
    WEEKDAYS,
    BusinessCalendar,
    SurveyScale,
    SurveyScore,
    SurveyTarget,
    Ticket,
    TicketKind,
    TicketState,
)
from ecrm.testing._core import aware_datetimes, customer_ids

__all__ = ["business_calendars", "survey_scores", "tickets"]

_MIN = dt.datetime(2024, 1, 1)
_MAX = dt.datetime(2026, 12, 31)
_ZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin")


@st.composite
def _day_spans(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    """0–2 sorted, disjoint ``(start, end)`` minute spans of one day (whole quarter hours)."""
    cuts = draw(st.lists(st.integers(0, 96), min_size=0, max_size=4, unique=True))
    cuts = sorted(cuts)[: len(cuts) // 2 * 2]
    return tuple((cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts), 2))


def business_calendars(
    *,
    tz: str | None = None,
    min_value: dt.date = dt.date(2026, 1, 1),
    max_value: dt.date = dt.date(2026, 12, 31),
    max_holidays: int = 5,
) -> st.SearchStrategy[BusinessCalendar]:
    """:class:`~ecrm.service.BusinessCalendar` s with working hours on at least one
    weekday.

    Args:
        tz: the zone (default: one of a few, DST ones included).
        min_value, max_value: the range holidays and make-up days are drawn from.
        max_holidays: at most this many holidays (and as many make-up days).
    """
    @st.composite
    def build(draw: st.DrawFn) -> BusinessCalendar:
        zone = tz or draw(st.sampled_from(_ZONES))
        weekly = [draw(_day_spans()) for _ in WEEKDAYS]
        if not any(weekly):  # some weekday works
            weekly[draw(st.integers(0, 6))] = ((9 * 60, 18 * 60),)
        days = st.dates(min_value=min_value, max_value=max_value)
        holidays = draw(st.frozensets(days, max_size=max_holidays))
        workdays = draw(st.frozensets(days, max_size=max_holidays)) - holidays
        makeup = weekly[0] or ((9 * 60, 18 * 60),)
        return BusinessCalendar(zone, tuple(weekly), holidays, workdays, makeup)

    return build()


_ACTIONS = ("assign", "respond", "note", "wait", "customer_replied", "resolve", "close",
            "reopen")


def _allowed(t: Ticket) -> list[str]:
    state = t.state
    out = ["note"]
    if state in (TicketState.OPEN, TicketState.ASSIGNED, TicketState.WAITING):
        out.append("assign")
    if state is not TicketState.CLOSED:
        out.append("respond")
    reach = TRANSITIONS[state]
    if TicketState.WAITING in reach and t.assignee:
        out.append("wait")
    if state is TicketState.WAITING:
        out.append("customer_replied")
    if TicketState.RESOLVED in reach:
        out.append("resolve")
    if TicketState.CLOSED in reach:
        out.append("close")
    if state is TicketState.RESOLVED:
        out.append("reopen")
    return out


def tickets(
    *,
    min_value: dt.datetime = _MIN,
    max_value: dt.datetime = _MAX,
    kinds: tuple[TicketKind, ...] | None = None,
    max_steps: int = 8,
    max_customers: int = 20,
    zones: tuple[str, ...] | None = None,
) -> st.SearchStrategy[Ticket]:
    """:class:`~ecrm.service.Ticket` s built through valid transitions, so their
    history, pauses and clocks are consistent: opened at an aware time between
    ``min_value`` and ``max_value`` (naive wall-clock bounds), then up to ``max_steps``
    changes (assign, reply, note, wait for the customer, customer replied, resolve,
    close, reopen), each a few minutes to a few days after the last.

    Args:
        min_value, max_value: bounds of the creation time.
        kinds: the ticket kinds to draw from (default all).
        max_steps: at most this many changes after opening.
        max_customers: customer ids come from a pool of this size.
        zones: the zones of the creation time (default a few, DST ones included).
    """
    @st.composite
    def build(draw: st.DrawFn) -> Ticket:
        created = draw(aware_datetimes(min_value=min_value, max_value=max_value,
                                       zones=zones))
        t = Ticket.open(
            f"T{draw(st.integers(0, 99_999)):05d}",
            kind=draw(st.sampled_from(kinds or tuple(TicketKind))),
            customer_id=str(draw(customer_ids(max_customers=max_customers))),
            created_at=created,
            priority=draw(st.sampled_from(("low", "normal", "high", "urgent"))),
            order_id=draw(st.none() | st.integers(0, 999).map(lambda i: f"A{i}")),
            subject=draw(st.sampled_from(("", "物流太慢", "质量问题", "发错货", "退款"))),
        )
        at = created
        for _ in range(draw(st.integers(0, max_steps))):
            at = at + dt.timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
            action = draw(st.sampled_from(_allowed(t)))
            t = _apply(t, action, at, draw(st.sampled_from(("小王", "小李", "组长"))))
        return t

    return build()


def _apply(t: Ticket, action: str, at: dt.datetime, who: str) -> Ticket:
    if action == "assign":
        return t.assign(who, at=at, actor="组长")
    if action == "respond":
        return t.respond("您好", at=at, actor=who)
    if action == "note":
        return t.add_note("跟进", at=at, actor=who)
    if action == "wait":
        return t.wait_for_customer(at=at, actor=who)
    if action == "customer_replied":
        return t.customer_replied(at=at)
    if action == "resolve":
        return t.resolve(at=at, actor=who)
    if action == "close":
        return t.close(at=at, actor=who)
    return t.reopen(at=at, actor="customer")


def survey_scores(
    *,
    scale: SurveyScale | str | None = None,
    min_value: dt.datetime = _MIN,
    max_value: dt.datetime = _MAX,
    max_targets: int = 20,
    max_customers: int = 20,
) -> st.SearchStrategy[SurveyScore]:
    """:class:`~ecrm.service.SurveyScore` s: a score within the scale's bounds, about an
    order (``A0…``) or a ticket (``T0…``) from a small pool (so surveys repeat), replied
    at an aware time between ``min_value`` and ``max_value`` (naive wall-clock bounds).

    Args:
        scale: ``"csat"`` or ``"nps"`` (default either).
        min_value, max_value: bounds of the reply time.
        max_targets: orders and tickets come from pools of this size.
        max_customers: customer ids come from a pool of this size.
    """
    scales = st.just(SurveyScale(scale)) if scale is not None else st.sampled_from(
        tuple(SurveyScale))

    @st.composite
    def build(draw: st.DrawFn) -> SurveyScore:
        sc = draw(scales)
        lo, hi = sc.bounds
        target = draw(st.sampled_from(tuple(SurveyTarget)))
        prefix = "A" if target is SurveyTarget.ORDER else "T"
        fields: dict[str, Any] = {
            "target": target,
            "target_id": f"{prefix}{draw(st.integers(0, max_targets - 1))}",
            "customer_id": str(draw(customer_ids(max_customers=max_customers))),
            "scale": sc,
            "score": draw(st.integers(lo, hi)),
            "replied_at": draw(aware_datetimes(min_value=min_value, max_value=max_value)),
            "reply_id": f"r{draw(st.integers(0, 10**9))}",
            "group": draw(st.sampled_from(("", "茶叶", "茶具"))),
        }
        fields["text"] = str(fields["score"])
        fields["evidence"] = fields["text"]
        return SurveyScore(**fields)

    return build()
