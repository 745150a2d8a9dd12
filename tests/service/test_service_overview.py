"""Service versus retention in business hours (by resolution and by first-response time),
and the report's service-section figures (``service_overview``), against a hand-worked
shop; a 24/7 calendar gives the wall-clock answer on the planted slow-service shop."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from service_shop import AS_OF as SHOP_AS_OF
from service_shop import slow_service_shop

from ecrm import InvalidValueError, OrderLog, Window
from ecrm.service import (
    WEEKDAYS,
    BusinessCalendar,
    SlaPolicy,
    SlaTarget,
    SurveyScore,
    Ticket,
    service_overview,
    service_retention,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
AS_OF = dt.datetime(2026, 12, 31, tzinfo=SH)
# weekdays 09:00–18:00; Fri 2026-09-25 (中秋) is a holiday
CAL = BusinessCalendar.uniform("Asia/Shanghai", "09:00-18:00",
                               holidays=[dt.date(2026, 9, 25)])


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


def _ticket(tid: str, cid: str, created: dt.datetime, subject: str, *,
            reply: dt.datetime | None = None, resolved: dt.datetime | None = None) -> Ticket:
    t = Ticket.open(tid, kind="complaint", customer_id=cid, created_at=created,
                    subject=subject).assign("小王", at=created, actor="lead")
    if reply is not None:
        t = t.respond("您好", at=reply, actor="小王")
    if resolved is not None:
        t = t.resolve(at=resolved, actor="小王")
    return t


def shop() -> tuple[list[Ticket], OrderLog]:
    """Hand-worked: business hours are counted on CAL.

    cA: Fri 09-04 17:00 → reply Mon 09:30, resolved Mon 10:00: wall 65 h, business
        1 h + 1 h = 2 h; first reply wall 64.5 h, business 1.5 h. Repurchases 10-01.
    cB: Mon 09-07 09:00 → reply 15:00, resolved Tue 18:00: wall 33 h, business 9 + 9 =
        18 h; first reply 6 h either way. Never buys again: churned.
    cC: Wed 09-16 09:00 → resolved Mon 09-28 09:00, no reply: wall 288 h; business
        Wed–Fri 16–18 27 h + Mon–Thu 21–24 36 h (Fri 25 a holiday) = 63 h (72 h without
        the holiday). Buys again 12-20, 95 days later, past the 90-day horizon: neither
        repurchased nor churned.
    cD: no complaint, first order 09-01, again 09-15.
    cE: Thu 09-10 10:00, never answered nor resolved; churned.
    cF: a complaint on 10-05, but no orders: left out of retention.
    """
    tickets = [
        _ticket("T-A", "cA", at(9, 4, 17), "物流慢", reply=at(9, 7, 9, 30),
                resolved=at(9, 7, 10)),
        _ticket("T-B", "cB", at(9, 7, 9), "物流慢，还没到", reply=at(9, 7, 15),
                resolved=at(9, 8, 18)),
        _ticket("T-C", "cC", at(9, 16, 9), "质量有问题，破损", resolved=at(9, 28, 9)),
        _ticket("T-E", "cE", at(9, 10, 10), "客服态度敷衍"),
        _ticket("T-F", "cF", at(10, 5, 10), "发错了"),
    ]
    orders = [("cA", at(9, 1, 10)), ("cA", at(10, 1, 10)), ("cB", at(9, 1, 10)),
              ("cC", at(9, 1, 10)), ("cC", at(12, 20, 10)), ("cD", at(9, 1, 10)),
              ("cD", at(9, 15, 10)), ("cE", at(9, 1, 10))]
    log = OrderLog.from_arrays([c for c, _ in orders], [t for _, t in orders],
                               [10_000] * len(orders), tz="Asia/Shanghai")
    return tickets, log


GROUPS = ("no complaint", "< 12 h", "12–24 h", "24–72 h", "≥ 72 h")


def test_wall_clock_resolution_bands_by_hand() -> None:
    r = service_retention(*shop(), as_of=AS_OF)
    assert r.groups == (*GROUPS, "unresolved")
    assert r.customers == (1, 0, 0, 2, 1, 1)  # cD | – | – | cA, cB | cC | cE
    assert r.repurchased == (1, 0, 0, 1, 0, 0)
    assert r.churned == (0, 0, 0, 1, 0, 1)
    assert not r.business_hours


def test_business_hour_resolution_bands_by_hand() -> None:
    r = service_retention(*shop(), as_of=AS_OF, calendar=CAL)
    assert r.customers == (1, 1, 1, 1, 0, 1)  # cD | cA 2 h | cB 18 h | cC 63 h | – | cE
    assert r.repurchased == (1, 1, 0, 0, 0, 0)
    assert r.churned == (0, 0, 1, 0, 0, 1)
    assert r.business_hours
    assert r.measure == "resolution"
    assert "business hours" in repr(r)
    # without the holiday cC counts 72 h and falls on the edge into the top band
    plain = BusinessCalendar.uniform("Asia/Shanghai", "09:00-18:00")
    assert service_retention(*shop(), as_of=AS_OF, calendar=plain).customers == (
        1, 1, 1, 0, 1, 1)


def test_business_hour_first_response_bands_by_hand() -> None:
    r = service_retention(*shop(), as_of=AS_OF, calendar=CAL, measure="first_response")
    assert r.groups == (*GROUPS, "no response")
    assert r.customers == (1, 2, 0, 0, 0, 2)  # cD | cA 1.5 h, cB 6 h | cC, cE unanswered
    assert r.repurchased == (1, 1, 0, 0, 0, 0)
    assert r.churned == (0, 1, 0, 0, 0, 1)
    wall = service_retention(*shop(), as_of=AS_OF, measure="first_response")
    assert wall.customers == (1, 1, 0, 1, 0, 2)  # cA's 64.5 h over the weekend
    with pytest.raises(InvalidValueError, match="measure must be 'resolution' or "
                       "'first_response'"):
        service_retention(*shop(), as_of=AS_OF, measure="closing")


def test_a_round_the_clock_calendar_gives_the_wall_clock_answer_on_the_planted_shop() -> None:
    tickets, orders = slow_service_shop(n=1500)
    always = BusinessCalendar.uniform("Asia/Shanghai", "00:00-24:00", days=WEEKDAYS)
    wall = service_retention(tickets, orders, as_of=SHOP_AS_OF)
    business = service_retention(tickets, orders, as_of=SHOP_AS_OF, calendar=always)
    assert (business.customers, business.repurchased, business.churned) == (
        wall.customers, wall.repurchased, wall.churned)
    # and the planted effect shows in business hours too: slow fixes repurchase less
    office = service_retention(tickets, orders, as_of=SHOP_AS_OF, calendar=CAL,
                               bands_h=(4, 8, 24))
    assert office.repurchase_rate("< 4 h") > office.repurchase_rate("≥ 24 h") + 0.1


def _scores() -> list[SurveyScore]:
    return [
        SurveyScore("order", "A-1", "cA", "csat", 5, at(9, 10), "r1"),
        SurveyScore("ticket", "T-B", "cB", "csat", 2, at(9, 12), "r2"),
        SurveyScore("order", "A-2", "cD", "nps", 10, at(9, 15), "r3"),
        SurveyScore("order", "A-3", "cC", "csat", 1, at(10, 5), "r4"),  # after the window
    ]


def test_service_overview_gives_the_section_figures_by_hand() -> None:
    tickets, orders = shop()
    policy = SlaPolicy(SlaTarget(4 * H, 24 * H), calendar=CAL)
    september = Window.of_dates(dt.date(2026, 9, 1), dt.date(2026, 10, 1), "Asia/Shanghai")
    got = service_overview(tickets, policy, as_of=AS_OF, window=september, scores=_scores(),
                           orders=orders)
    s = got.sla
    # T-F (October) is outside the window
    assert (s.tickets, s.responded, s.resolved) == (4, 2, 3)
    # first reply: only cA (1.5 h) met 4 h; cB took 6 h, cC and cE never answered
    assert s.first_response_attainment == 1 / 4
    # resolution within 24 business hours: cA 2 h, cB 18 h met; cC 63 h and cE not
    assert s.resolution_attainment == 2 / 4
    assert s.first_response_median_h == pytest.approx((1.5 + 6) / 2)
    assert s.first_response_p90_h == pytest.approx(1.5 + 0.9 * (6 - 1.5))
    assert s.resolution_median_h == pytest.approx(18)
    assert s.resolution_p90_h == pytest.approx(18 + 0.8 * (63 - 18))
    assert got.complaints == (("logistics_delay", 2), ("quality", 1),
                              ("service_attitude", 1))
    assert (got.csat, got.csat_responses, got.nps, got.nps_responses) == (0.5, 2, 100.0, 1)
    assert got.retention is not None
    assert got.retention.customers == (1, 1, 1, 1, 0, 1)  # the policy's business hours
    rows = {(r["section"], r["figure"], r["group"]): (r["value"], r["count"])
            for r in got.to_dicts()}
    assert rows[("sla", "tickets", "")] == (None, 4)
    assert rows[("sla", "first_response_attainment", "")] == (0.25, 4)
    assert rows[("sla", "resolution_median_h", "")] == (pytest.approx(18), 3)
    assert rows[("complaints", "complaints", "quality")] == (None, 1)
    assert rows[("satisfaction", "csat", "")] == (0.5, 2)
    assert rows[("retention", "repurchase_rate", "< 12 h")] == (1.0, 1)
    assert rows[("retention", "churn_rate", "≥ 72 h")] == (None, 0)
    assert repr(got).startswith("ServiceOverview(4 tickets, first response met 25.0%")


def test_service_overview_without_orders_or_window() -> None:
    tickets, _ = shop()
    got = service_overview(tickets, SlaPolicy(SlaTarget(4 * H, 24 * H)),
                           as_of=at(10, 1), scores=_scores())
    assert got.sla.tickets == 4  # T-F was created after as_of
    assert got.retention is None
    assert (got.csat, got.csat_responses) == (0.5, 2)  # r4 came after as_of
    assert not [r for r in got.to_dicts() if r["section"] == "retention"]
    with pytest.raises(InvalidValueError, match="retention_calendar"):
        service_overview(tickets, SlaPolicy(SlaTarget(4 * H, 24 * H)), as_of=AS_OF,
                         retention_calendar="office")
