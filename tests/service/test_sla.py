"""SLA clocks: hand-worked cases (nights, weekends, holidays, DST, pauses) and a property
test against a plain minute-by-minute reference."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import EcrmError
from ecrm._time import NAT_US, datetime_to_us
from ecrm.service import (
    BusinessCalendar,
    Priority,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketClocks,
    TicketKind,
    sla_status,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
H = dt.timedelta(hours=1)
OFFICE = BusinessCalendar.uniform("Asia/Shanghai", "09:00-12:00,13:00-18:00")


def policy(first_h: float, resolution_h: float, calendar: BusinessCalendar | None = OFFICE,
           **targets: SlaTarget) -> SlaPolicy:
    return SlaPolicy(SlaTarget(first_h * H, resolution_h * H), calendar=calendar)


def ticket(created: dt.datetime, kind: str = "complaint", priority: str = "normal") -> Ticket:
    return Ticket.open("T", kind=kind, customer_id="c", created_at=created, priority=priority)


def status_of(t: Ticket, pol: SlaPolicy, as_of: dt.datetime) -> dict[str, object]:
    return sla_status([t], pol, as_of=as_of).row("T")


def test_a_ticket_at_night_is_due_the_next_morning() -> None:
    # Tuesday 17:30: 30 min left today, 1 h 30 min from 09:00 Wednesday
    row = status_of(ticket(dt.datetime(2026, 12, 1, 17, 30, tzinfo=SH)), policy(2, 8),
                    as_of=dt.datetime(2026, 12, 1, 23, 0, tzinfo=SH))
    assert row["first_response_due"] == dt.datetime(2026, 12, 2, 10, 30, tzinfo=SH)
    assert row["first_response_elapsed_s"] == 30 * 60
    assert row["first_response_breached"] is False
    # 8 h: 0.5 Tue + 3 (9-12) + 4.5 (13-17:30) Wed
    assert row["resolution_due"] == dt.datetime(2026, 12, 2, 17, 30, tzinfo=SH)


def test_the_lunch_break_and_the_weekend_do_not_count() -> None:
    # Friday 17:00: 1 h Friday, then Monday 09:00-10:00; 8 h ends Monday 17:00
    t = ticket(dt.datetime(2026, 12, 4, 17, 0, tzinfo=SH))
    row = status_of(t, policy(2, 8), as_of=dt.datetime(2026, 12, 7, 10, 30, tzinfo=SH))
    assert row["first_response_due"] == dt.datetime(2026, 12, 7, 10, 0, tzinfo=SH)
    assert row["first_response_breached"] is True
    assert row["first_response_elapsed_s"] == 2.5 * 3600
    assert row["resolution_due"] == dt.datetime(2026, 12, 7, 17, 0, tzinfo=SH)
    assert row["resolution_remaining_s"] == 5.5 * 3600


def test_holidays_are_skipped_and_make_up_days_work() -> None:
    holidays = [dt.date(2026, 10, d) for d in range(1, 8)]  # 国庆 1-7 Oct
    cal = BusinessCalendar.uniform("Asia/Shanghai", "09:00-18:00", holidays=holidays,
                                   workdays=[dt.date(2026, 10, 10)])  # Saturday 调休
    # Wednesday 30 Sept 17:00: 1 h, then the whole holiday, then Thursday 8 Oct 09:00-12:00
    row = status_of(ticket(dt.datetime(2026, 9, 30, 17, 0, tzinfo=SH)), policy(4, 40, cal),
                    as_of=dt.datetime(2026, 10, 5, 12, 0, tzinfo=SH))
    assert row["first_response_due"] == dt.datetime(2026, 10, 8, 12, 0, tzinfo=SH)
    assert row["first_response_elapsed_s"] == 3600  # nothing counted during the holiday
    # Friday 9 Oct 17:00: 1 h Friday, then the make-up Saturday 09:00-10:00
    row = status_of(ticket(dt.datetime(2026, 10, 9, 17, 0, tzinfo=SH)), policy(2, 40, cal),
                    as_of=dt.datetime(2026, 10, 9, 17, 0, tzinfo=SH))
    assert row["first_response_due"] == dt.datetime(2026, 10, 10, 10, 0, tzinfo=SH)


def test_a_spring_forward_night_in_new_york_counts_the_hours_that_really_pass() -> None:
    # clocks jump 02:00 EST → 03:00 EDT on Sunday 8 March 2026; a 24/7 desk in New York
    cal = BusinessCalendar.uniform("America/New_York", "00:00-24:00",
                                   days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    t = ticket(dt.datetime(2026, 3, 7, 22, 0, tzinfo=NY))  # 03:00 UTC on the 8th
    row = status_of(t, policy(6, 24, cal), as_of=dt.datetime(2026, 3, 8, 4, 0, tzinfo=NY))
    # 6 real hours after 03:00 UTC is 09:00 UTC = 05:00 EDT (not 04:00 by the wall clock)
    assert row["first_response_due"] == dt.datetime(2026, 3, 8, 5, 0, tzinfo=NY)
    assert row["first_response_elapsed_s"] == 5 * 3600  # 22:00 EST → 04:00 EDT is 5 h


def test_a_fall_back_night_in_berlin_counts_the_repeated_hour_twice() -> None:
    # 25 Oct 2026: 03:00 CEST → 02:00 CET; the night shift 00:00-06:00 lasts 7 real hours
    cal = BusinessCalendar.uniform("Europe/Berlin", "00:00-06:00", days=("sun",))
    t = ticket(dt.datetime(2026, 10, 24, 23, 0, tzinfo=BERLIN))
    row = status_of(t, policy(6.5, 8, cal), as_of=dt.datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN))
    assert row["first_response_elapsed_s"] == 7 * 3600
    assert row["first_response_breached"] is True
    # 6.5 h after 00:00 CEST (22:00 UTC) is 04:30 UTC = 05:30 CET
    assert row["first_response_due"] == dt.datetime(2026, 10, 25, 5, 30, tzinfo=BERLIN)


def test_waiting_for_the_customer_pauses_only_the_resolution_clock() -> None:
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)  # Tuesday
    t = ticket(t0).assign("小王", at=t0 + 0.5 * H, actor="lead")
    t = t.respond("请提供照片", at=t0 + H, actor="小王")
    t = t.wait_for_customer(at=t0 + H, actor="小王")
    # paused at 10:00; at 14:00 the clock still shows 1 h and has no due time
    row = status_of(t, policy(2, 4), as_of=t0 + 5 * H)
    assert row["paused"] is True
    assert row["resolution_due"] is None
    assert row["resolution_elapsed_s"] == 3600
    assert row["resolution_remaining_s"] == 3 * 3600
    # the customer answers at 14:00 (4 h wall, 3 business h paused): due 14:00 + 3 h
    t = t.customer_replied(at=t0 + 5 * H)
    row = status_of(t, policy(2, 4), as_of=t0 + 5 * H)
    assert row["paused"] is False
    assert row["resolution_due"] == dt.datetime(2026, 12, 1, 17, 0, tzinfo=SH)
    # resolved at 16:00: 1 h + 2 h = 3 h elapsed, within 4 h
    t = t.resolve(at=t0 + 7 * H, actor="小王")
    row = status_of(t, policy(2, 4), as_of=t0 + 30 * H)
    assert row["resolved"] is True
    assert row["resolution_elapsed_s"] == 3 * 3600
    assert row["resolution_breached"] is False
    assert row["first_response_breached"] is False


def test_a_reopened_ticket_does_not_count_the_time_it_stood_resolved() -> None:
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)
    t = ticket(t0).assign("a", at=t0, actor="x").resolve(at=t0 + H, actor="a")
    t = t.reopen(at=t0 + 4 * H, actor="customer")  # 13:00 (3 wall h, 2 business h)
    row = status_of(t, policy(2, 4), as_of=t0 + 6 * H)  # 15:00
    assert row["resolution_elapsed_s"] == 3 * 3600  # 09-10 and 13-15


def test_wall_clock_policies_count_every_hour() -> None:
    t = ticket(dt.datetime(2026, 12, 5, 23, 0, tzinfo=SH))  # Saturday night
    row = status_of(t, policy(2, 24, calendar=None),
                    as_of=dt.datetime(2026, 12, 6, 2, 0, tzinfo=SH))
    assert row["first_response_due"] == dt.datetime(2026, 12, 6, 1, 0, tzinfo=SH)
    assert row["first_response_breached"] is True


def test_targets_are_chosen_per_kind_and_priority() -> None:
    pol = SlaPolicy(
        SlaTarget(8 * H, 48 * H),
        targets={("complaint", "urgent"): SlaTarget(H, 4 * H),
                 ("complaint", None): SlaTarget(2 * H, 12 * H),
                 (None, "urgent"): SlaTarget(3 * H, 24 * H)},
    )
    assert pol.target_for("complaint", "urgent") == SlaTarget(H, 4 * H)
    assert pol.target_for(TicketKind.COMPLAINT, Priority.LOW) == SlaTarget(2 * H, 12 * H)
    assert pol.target_for("refund", "urgent") == SlaTarget(3 * H, 24 * H)
    assert pol.target_for("refund", "low") == SlaTarget(8 * H, 48 * H)


def test_bad_targets_and_calendars_are_named() -> None:
    with pytest.raises(EcrmError, match="first_response must be a positive timedelta"):
        SlaTarget(dt.timedelta(0), H)
    with pytest.raises(EcrmError, match="resolution must be >= first_response"):
        SlaTarget(2 * H, H)
    with pytest.raises(EcrmError, match="hours"):
        BusinessCalendar.uniform("Asia/Shanghai", "18:00-09:00")
    with pytest.raises(EcrmError, match="tz must name an IANA time zone"):
        BusinessCalendar.uniform("Mars/Olympus")
    with pytest.raises(EcrmError, match="calendar must have working hours"):
        sla_status([ticket(dt.datetime(2026, 12, 1, tzinfo=SH))],
                   policy(1, 2, BusinessCalendar.uniform("Asia/Shanghai", days=())),
                   as_of=dt.datetime(2026, 12, 2, tzinfo=SH))


def test_attainment_counts_decided_tickets_only() -> None:
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)
    fast = Ticket.open("A", kind="refund", customer_id="c", created_at=t0).respond(
        "ok", at=t0 + 0.5 * H, actor="x")
    late = Ticket.open("B", kind="refund", customer_id="c", created_at=t0)  # past due
    young = Ticket.open("C", kind="refund", customer_id="c", created_at=t0 + 24.5 * H)
    # Wednesday 10:00: A and B have run 9 business hours, C half an hour (undecided)
    status = sla_status([fast, late, young], policy(1, 8), as_of=t0 + 25 * H)
    assert status.first_response_attainment() == 0.5  # A in time, B late
    assert status.resolution_attainment() == 0.0  # A and B past 8 h unresolved
    assert "3 tickets" in repr(status)


# -- the property: the vectorised clocks agree with counting minute by minute -----------

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
# windows that cross the DST changes of the three DST zones in 2026
STARTS = [dt.datetime(2026, 3, 6, tzinfo=dt.UTC), dt.datetime(2026, 10, 23, tzinfo=dt.UTC),
          dt.datetime(2026, 4, 3, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    spans = []
    for _ in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        day = tuple((a * 30, b * 30) for a, b in zip(cuts[::2], cuts[1::2], strict=False)
                    if b > a)
        spans.append(day)
    if not any(spans):
        spans[0] = ((60, 1440),)
    holidays = draw(st.sets(st.integers(0, 12), max_size=3))
    base = STARTS[0].date()
    return BusinessCalendar(zone, tuple(spans),
                            frozenset(base + dt.timedelta(days=d) for d in holidays))


def reference_minutes(cal: BusinessCalendar, start_us: int, end_us: int,
                      skip: list[tuple[int, int]] = ()) -> int:  # type: ignore[assignment]
    zone = ZoneInfo(cal.tz)
    count = 0
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for m in range(start_us // 60_000_000, end_us // 60_000_000):
        u = m * 60_000_000
        if any(a <= u < b for a, b in skip):
            continue
        local = (epoch + dt.timedelta(microseconds=u)).astimezone(zone)
        minute = local.hour * 60 + local.minute
        if any(s <= minute < e for s, e in cal.windows_on(local.date())):
            count += 1
    return count


@settings(max_examples=25, deadline=None)
@given(cal=calendars(), start=st.sampled_from(STARTS), data=st.data())
def test_clocks_match_a_minute_by_minute_reference(
    cal: BusinessCalendar, start: dt.datetime, data: st.DataObject
) -> None:
    minute = 60_000_000
    n = data.draw(st.integers(1, 4))
    base = datetime_to_us(start)
    created = [base + data.draw(st.integers(0, 3 * 1440)) * minute for _ in range(n)]
    responded = [c + data.draw(st.integers(0, 2 * 1440)) * minute for c in created]
    pause_rows, pause_start, pause_end = [], [], []
    resolved = []
    for i, c in enumerate(created):
        p0 = c + data.draw(st.integers(0, 1440)) * minute
        p1 = p0 + data.draw(st.integers(0, 1440)) * minute
        pause_rows.append(i)
        pause_start.append(p0)
        pause_end.append(p1)
        resolved.append(p1 + data.draw(st.integers(0, 1440)) * minute)
    as_of_us = max(*resolved, *responded) + minute
    fr_h = data.draw(st.integers(1, 12))
    pol = SlaPolicy(SlaTarget(fr_h * H, 40 * H), calendar=cal)
    clocks = TicketClocks(
        np.asarray([f"T{i}" for i in range(n)], dtype=object),
        np.zeros(n, np.int64), np.ones(n, np.int64),
        np.asarray(created), np.asarray(responded), np.asarray(resolved),
        np.asarray(pause_rows), np.asarray(pause_start), np.asarray(pause_end))
    as_of = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=as_of_us)
    status = sla_status(clocks, pol, as_of=as_of)
    for i in range(n):
        fr = reference_minutes(cal, created[i], responded[i])
        assert status.first_response_elapsed_us[i] == fr * minute
        res = reference_minutes(cal, created[i], resolved[i],
                                [(pause_start[i], pause_end[i])])
        assert status.resolution_elapsed_us[i] == res * minute
        # due: the target is reached exactly there, and the minute before it worked
        due = int(status.first_response_due_us[i])
        assert due != NAT_US
        assert reference_minutes(cal, created[i], due) == fr_h * 60
        assert reference_minutes(cal, created[i], due - minute) == fr_h * 60 - 1


def test_status_as_of_the_past_ignores_what_happened_later() -> None:
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)
    full = ticket(t0).assign("a", at=t0, actor="x").respond("ok", at=t0 + 3 * H, actor="a")
    full = full.wait_for_customer(at=t0 + 4 * H, actor="a").customer_replied(at=t0 + 6 * H)
    full = full.resolve(at=t0 + 8 * H, actor="a")
    # at 11:00 only the assignment had happened: 2 h run, nothing replied or resolved
    row = status_of(full, policy(1, 4), as_of=t0 + 2 * H)
    assert row["responded"] is False
    assert row["resolved"] is False
    assert row["first_response_breached"] is True
    assert row["resolution_elapsed_s"] == 2 * 3600
    # at 14:00 the ticket waited since 13:00: paused, 3 h counted (09-12 and none since)
    row = status_of(full, policy(1, 4), as_of=t0 + 5 * H)
    assert row["paused"] is True
    assert row["resolution_elapsed_s"] == 3 * 3600
    with pytest.raises(EcrmError, match=r"tickets\[0\].created_at must not be after as_of"):
        sla_status([full], policy(1, 4), as_of=t0 - H)


def test_weekly_hours_holidays_and_make_up_days_as_data() -> None:
    cal = BusinessCalendar.weekly_hours(
        "Asia/Shanghai", {"mon": "09:00-18:00", "sat": "10:00-12:00, 13:00-16:00"},
        holidays=[dt.date(2026, 12, 7)], workdays=[dt.date(2026, 12, 6)])
    assert cal.windows_on(dt.date(2026, 12, 5)) == ((600, 720), (780, 960))  # Saturday
    assert cal.windows_on(dt.date(2026, 12, 6)) == ((540, 1080),)  # make-up Sunday: Monday's
    assert cal.windows_on(dt.date(2026, 12, 7)) == ()  # a Monday holiday
    assert cal.windows_on(dt.date(2026, 12, 8)) == ()  # Tuesday: no hours given
    with pytest.raises(EcrmError, match="spans must not overlap"):
        BusinessCalendar.uniform("Asia/Shanghai", "09:00-12:00,11:00-13:00")
    with pytest.raises(EcrmError, match="keys must be in"):
        BusinessCalendar.weekly_hours("Asia/Shanghai", {"monday": "09:00-18:00"})
    with pytest.raises(EcrmError, match="workdays must not also be holidays"):
        BusinessCalendar.uniform("Asia/Shanghai", holidays=[dt.date(2026, 1, 1)],
                                 workdays=[dt.date(2026, 1, 1)])


def test_each_ticket_gets_the_target_of_its_kind_and_priority() -> None:
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)  # Tuesday
    pol = SlaPolicy(SlaTarget(4 * H, 24 * H),
                    targets={("complaint", None): SlaTarget(1 * H, 8 * H),
                             (None, "urgent"): SlaTarget(0.5 * H, 2 * H)},
                    calendar=OFFICE)
    tickets = [
        Ticket.open("A", kind="complaint", customer_id="c", created_at=t0),
        Ticket.open("B", kind="refund", customer_id="c", created_at=t0, priority="urgent"),
        Ticket.open("C", kind="refund", customer_id="c", created_at=t0),
    ]
    status = sla_status(tickets, pol, as_of=t0)
    due = [r["first_response_due"].strftime("%H:%M") for r in status.to_dicts()]
    assert due == ["10:00", "09:30", "14:00"]  # C: 09-12 and 13-14 (lunch skipped)


def test_ticket_clock_arrays_are_checked() -> None:
    one = np.zeros(1, np.int64)
    with pytest.raises(EcrmError, match=r"created_us must have one value per ticket \(2\)"):
        TicketClocks(np.asarray(["a", "b"], dtype=object), np.zeros(2, np.int64),
                     np.zeros(2, np.int64), one, np.zeros(2, np.int64), np.zeros(2, np.int64))
    with pytest.raises(EcrmError, match=r"kind_codes must be in 0\.\.7"):
        TicketClocks(np.asarray(["a"], dtype=object), one + 9, one, one, one, one)
    with pytest.raises(EcrmError, match="created_us must hold integers"):
        TicketClocks(np.asarray(["a"], dtype=object), one, one, one.astype(float), one, one)
