"""Properties of service values drawn with ecrm.testing's service strategies: tickets built
through valid transitions are consistent and survive the SQLite store; business hours on
a round-the-clock calendar are wall-clock hours; holidays never add time; retention bands
move customers between bands, never in or out; the SQLite score store agrees with the
in-memory one."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import attrs
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm import OrderLog
from ecrm.service import (
    WEEKDAYS,
    BusinessCalendar,
    MemoryScoreStore,
    SlaPolicy,
    SlaTarget,
    SqliteScoreStore,
    SqliteTicketStore,
    SurveyScore,
    Ticket,
    TicketState,
    service_retention,
    sla_status,
)
from ecrm.testing import business_calendars, survey_scores, tickets

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
H = dt.timedelta(hours=1)


@FAST
@given(tickets())
def test_drawn_tickets_are_consistent(t: Ticket) -> None:
    times = [h.at for h in t.history]
    assert times == sorted(times)
    assert (t.resolved_at is not None) == (t.state in (TicketState.RESOLVED,
                                                       TicketState.CLOSED))
    assert (t.closed_at is not None) == (t.state is TicketState.CLOSED)
    open_pauses = [p for p in t.pauses if p.end is None]
    assert len(open_pauses) <= 1
    if open_pauses:
        assert t.pauses[-1].end is None
        assert t.state in (TicketState.WAITING, TicketState.RESOLVED, TicketState.CLOSED)
    replies = [h.at for h in t.history if h.field == "reply"]
    assert t.first_response_at == (replies[0] if replies else None)


@settings(max_examples=15, deadline=None)
@given(st.lists(tickets(), max_size=5, unique_by=lambda t: t.ticket_id))
def test_drawn_tickets_round_trip_through_the_sqlite_store(drawn: list[Ticket]) -> None:
    with tempfile.TemporaryDirectory() as d, SqliteTicketStore(Path(d) / "t.db") as store:
        for t in drawn:
            store.add(t)
        assert store.tickets() == sorted((attrs.evolve(t, version=1) for t in drawn),
                                         key=lambda t: t.ticket_id)


def _as_of(drawn: list[Ticket]) -> dt.datetime:
    return max(t.last_changed_at for t in drawn) + 5 * H


ROUND_THE_CLOCK = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")


@FAST
@given(st.lists(tickets(), min_size=1, max_size=6), st.sampled_from(ROUND_THE_CLOCK))
def test_a_round_the_clock_calendar_counts_wall_clock_time(drawn: list[Ticket],
                                                           tz: str) -> None:
    target = SlaTarget(4 * H, 24 * H)
    always = BusinessCalendar.uniform(tz, "00:00-24:00", days=WEEKDAYS)
    as_of = _as_of(drawn)
    wall = sla_status(drawn, SlaPolicy(target), as_of=as_of)
    business = sla_status(drawn, SlaPolicy(target, calendar=always), as_of=as_of)
    for name in ("first_response_elapsed_us", "resolution_elapsed_us",
                 "first_response_due_us", "resolution_due_us", "resolution_breached"):
        assert np.array_equal(getattr(wall, name), getattr(business, name)), name


@FAST
@given(st.lists(tickets(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 6, 1)),
                min_size=1, max_size=6),
       business_calendars(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 8, 1)),
       st.frozensets(st.dates(dt.date(2026, 1, 1), dt.date(2026, 8, 1)), max_size=6))
def test_more_holidays_never_add_business_time(drawn: list[Ticket], cal: BusinessCalendar,
                                               extra: frozenset[dt.date]) -> None:
    target = SlaTarget(4 * H, 24 * H)
    fewer = attrs.evolve(cal, workdays=cal.workdays - extra)
    more = attrs.evolve(fewer, holidays=fewer.holidays | extra)
    as_of = _as_of(drawn)
    base = sla_status(drawn, SlaPolicy(target, calendar=fewer), as_of=as_of)
    off = sla_status(drawn, SlaPolicy(target, calendar=more), as_of=as_of)
    assert (off.first_response_elapsed_us <= base.first_response_elapsed_us).all()
    assert (off.resolution_elapsed_us <= base.resolution_elapsed_us).all()
    assert (off.resolution_elapsed_us >= 0).all()
    assert np.array_equal(base.resolution_breached,
                          base.resolution_elapsed_us > 24 * 3600 * 10**6)


@FAST
@given(st.lists(tickets(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 3, 1),
                        max_customers=8), max_size=10),
       business_calendars(tz="Asia/Shanghai"),
       st.lists(st.tuples(st.integers(1, 8), st.integers(0, 300)), min_size=1, max_size=30))
def test_business_hour_bands_move_customers_between_bands_only(
        drawn: list[Ticket], cal: BusinessCalendar, buys: list[tuple[int, int]]) -> None:
    start = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    log = OrderLog.from_arrays([f"c{c:04d}" for c, _ in buys],
                               [start + dt.timedelta(days=d) for _, d in buys],
                               [1000] * len(buys), tz="Asia/Shanghai")
    as_of = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    wall = service_retention(drawn, log, as_of=as_of)
    business = service_retention(drawn, log, as_of=as_of, calendar=cal)
    assert sum(wall.customers) == sum(business.customers)
    for r in (wall, business):
        assert r.customers[0] == wall.customers[0]  # no complaint
        assert r.customers[-1] == wall.customers[-1]  # unresolved
        for n, rep, churn in zip(r.customers, r.repurchased, r.churned, strict=True):
            assert rep + churn <= n


@settings(max_examples=20, deadline=None)
@given(st.lists(survey_scores(max_targets=4), max_size=8, unique_by=lambda s: s.reply_id))
def test_the_sqlite_score_store_agrees_with_the_memory_store(drawn: list[SurveyScore]) -> None:
    memory = MemoryScoreStore()
    with tempfile.TemporaryDirectory() as d, \
            SqliteScoreStore(Path(d) / "s.db", synchronous="NORMAL") as sqlite:
        for s in drawn:
            assert memory.record(s) is sqlite.record(s)
        assert sqlite.scores() == memory.scores()
        assert sqlite.replies() == memory.replies()
