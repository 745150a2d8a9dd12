"""Service analytics: hand-worked summaries, backlog, complaints and satisfaction per month,
and the service-versus-retention analysis on a shop where slow service causes churn."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from service_shop import AS_OF, LATE_BUYERS, PLANTED, slow_service_shop

from ecrm import EcrmError, OrderLog
from ecrm.service import (
    SlaPolicy,
    SlaTarget,
    SurveyReply,
    SurveyScale,
    Ticket,
    backlog_by_age,
    complaints_by_period,
    satisfaction_by_period,
    service_retention,
    service_summary,
    sla_status,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=SH)
H = dt.timedelta(hours=1)


def test_summary_medians_and_p90_are_those_worked_by_hand() -> None:
    # ten tickets replied after 1..10 h, resolved after 2..20 h (wall clock)
    tickets = []
    for i in range(1, 11):
        t = Ticket.open(f"T{i:02d}", kind="refund", customer_id="c", created_at=T0)
        t = t.assign("a", at=T0, actor="x").respond("ok", at=T0 + i * H, actor="a")
        tickets.append(t.resolve(at=T0 + 2 * i * H, actor="a"))
    tickets.append(Ticket.open("T99", kind="refund", customer_id="c", created_at=T0))
    pol = SlaPolicy(SlaTarget(4 * H, 12 * H))
    s = service_summary(sla_status(tickets, pol, as_of=T0 + 30 * H))
    # linear quantiles of 1..10: median 5.5, P90 = 1 + 0.9 * 9 = 9.1
    assert s.first_response_median_h == pytest.approx(5.5)
    assert s.first_response_p90_h == pytest.approx(9.1)
    assert s.resolution_median_h == pytest.approx(11.0)
    assert s.resolution_p90_h == pytest.approx(18.2)
    assert (s.tickets, s.responded, s.resolved, s.open) == (11, 10, 10, 1)
    # first response: 4 of 10 replied within 4 h, T99 is 30 h late → 4 / 11
    assert s.first_response_attainment == pytest.approx(4 / 11)
    # resolution: 2..12 h meet 12 h (6 tickets), 14..20 and T99 miss → 6 / 11
    assert s.resolution_attainment == pytest.approx(6 / 11)
    assert "11 tickets" in repr(s)
    assert s.to_dicts()[0]["resolved"] == 10


def test_backlog_counts_open_tickets_by_age_band() -> None:
    def t(i: int, hours_ago: float) -> Ticket:
        return Ticket.open(f"T{i}", kind="inquiry", customer_id="c",
                           created_at=T0 - hours_ago * H)

    waiting = t(3, 50).assign("a", at=T0 - 40 * H, actor="x").wait_for_customer(
        at=T0 - 30 * H, actor="a")
    done = t(9, 500).assign("a", at=T0 - 400 * H, actor="x").resolve(at=T0 - 300 * H,
                                                                      actor="a")
    b = backlog_by_age([t(1, 2), t(2, 24), waiting, t(4, 100), t(5, 200), done], as_of=T0)
    assert b.bands == ("< 24 h", "24–48 h", "48–72 h", "72–168 h", "≥ 168 h")
    assert b.counts == (1, 1, 1, 1, 1)  # 24 h exactly is in the upper band
    assert b.waiting == (0, 0, 1, 0, 0)
    with pytest.raises(EcrmError, match="bands_h must be increasing"):
        backlog_by_age([], as_of=T0, bands_h=(48, 24))


def test_complaints_are_classified_and_counted_per_month() -> None:
    def c(i: int, month: int, subject: str, kind: str = "complaint") -> Ticket:
        return Ticket.open(f"T{i}", kind=kind, customer_id="c", subject=subject,
                           created_at=dt.datetime(2026, month, 15, tzinfo=SH))

    got = complaints_by_period([
        c(1, 10, "物流太慢"), c(2, 10, "快递三天还没到"), c(3, 10, "衣服开线，质量差"),
        c(4, 11, "客服态度差"), c(5, 11, "要退款", kind="refund"),
    ])
    assert list(zip(got.periods, got.categories, got.counts, strict=True)) == [
        ("2026-10", "logistics_delay", 2), ("2026-10", "quality", 1),
        ("2026-11", "service_attitude", 1)]
    assert got.count("2026-10", "logistics_delay") == 2
    assert got.count("2026-11", "quality") == 0


def test_csat_and_nps_per_month_worked_by_hand() -> None:
    def r(month: int, scale: str, score: int) -> tuple[dt.datetime, SurveyReply]:
        return (dt.datetime(2026, month, 3, tzinfo=SH),
                SurveyReply(SurveyScale(scale), score, str(score)))

    got = satisfaction_by_period([r(11, "csat", 5), r(11, "csat", 4), r(11, "csat", 2),
                                  r(11, "csat", 1), r(11, "nps", 10), r(11, "nps", 9),
                                  r(11, "nps", 7), r(11, "nps", 3), r(12, "csat", 3)])
    rows = got.to_dicts()
    assert [(x["period"], x["scale"], x["responses"]) for x in rows] == [
        ("2026-11", "csat", 4), ("2026-11", "nps", 4), ("2026-12", "csat", 1)]
    assert rows[0]["csat"] == 0.5
    assert rows[0]["nps"] is None
    assert rows[0]["mean_score"] == 3.0
    assert rows[1]["nps"] == 25.0  # 2 promoters, 1 detractor of 4 → 50% − 25%
    assert rows[2]["csat"] == 0.0


def test_satisfaction_splits_by_product_category() -> None:
    at = dt.datetime(2026, 11, 3, tzinfo=SH)

    def r(score: int, group: str) -> tuple[dt.datetime, SurveyReply, str]:
        return (at, SurveyReply(SurveyScale.CSAT, score, str(score)), group)

    got = satisfaction_by_period([r(5, "茶叶"), r(2, "茶具"), r(4, "茶具"), r(1, "茶具")])
    assert [(x["group"], x["responses"], x["csat"]) for x in got.to_dicts()] == [
        ("茶具", 3, 1 / 3), ("茶叶", 1, 1.0)]


def test_retention_groups_worked_by_hand() -> None:
    d = dt.timedelta(days=1)
    base = dt.datetime(2026, 1, 10, tzinfo=SH)
    as_of = dt.datetime(2026, 12, 31, tzinfo=SH)
    # a: no complaint, buys again after 30 d; b: complaint fixed in 5 h, buys again after
    # 200 d (not in 90 d, not churned); c: complaint fixed in 100 h, never again;
    # d: complaint unresolved, buys after 10 d; e: joined too late to be watched 90 d
    orders = [("a", base), ("a", base + 30 * d), ("b", base), ("b", base + 202 * d),
              ("c", base), ("d", base), ("d", base + 12 * d), ("e", as_of - 20 * d)]
    log = OrderLog.from_arrays([o[0] for o in orders], [o[1] for o in orders],
                               [100] * len(orders), tz="Asia/Shanghai")
    tb = Ticket.open("B", kind="complaint", customer_id="b", created_at=base + 2 * d)
    tb = tb.assign("x", at=tb.created_at, actor="x").resolve(at=tb.created_at + 5 * H, actor="x")
    tc = Ticket.open("C", kind="complaint", customer_id="c", created_at=base + 2 * d)
    tc = tc.assign("x", at=tc.created_at, actor="x").resolve(at=tc.created_at + 100 * H,
                                                             actor="x")
    td = Ticket.open("D", kind="complaint", customer_id="d", created_at=base + 2 * d)
    r = service_retention([tb, tc, td], log, as_of=as_of)
    assert r.groups == ("no complaint", "< 12 h", "12–24 h", "24–72 h", "≥ 72 h", "unresolved")
    assert r.customers == (1, 1, 0, 0, 1, 1)
    assert r.repurchased == (1, 0, 0, 0, 0, 1)
    assert r.churned == (0, 0, 0, 0, 1, 0)
    assert r.churn_share("≥ 72 h") == 1.0  # the one who left had a slow complaint
    assert math.isnan(r.repurchase_rate("12–24 h"))
    assert r.to_dicts()[2]["repurchase_rate"] is None


def test_the_retention_analysis_finds_the_planted_slow_service_churn() -> None:
    tickets, log = slow_service_shop()
    r = service_retention(tickets, log, as_of=AS_OF, horizon_days=90)
    assert sum(r.customers) == 4000  # every customer watched, each in one group
    for group, (_, p) in PLANTED.items():
        n = r.customers[r.groups.index(group)]
        assert n > 150, (group, n)
        sd = math.sqrt(p * (1 - p) / n)
        assert abs(r.repurchase_rate(group) - p) < 4 * sd + 0.01, (group, r)
        churn = (1 - p) * (1 - LATE_BUYERS)
        assert abs(r.churn_rate(group) - churn) < 0.1, (group, r)
    rates = [r.repurchase_rate(g) for g in ("< 12 h", "12–24 h", "24–72 h", "≥ 72 h")]
    assert rates == sorted(rates, reverse=True)
    assert r.repurchase_rate("< 12 h") - r.repurchase_rate("≥ 72 h") > 0.2
    assert "repurchase in 90 d" in repr(r)


def test_without_a_planted_effect_the_bands_look_alike() -> None:
    tickets, log = slow_service_shop(effect=False, seed=11)
    r = service_retention(tickets, log, as_of=AS_OF)
    rates = np.asarray([r.repurchase_rate(g) for g in r.groups])
    assert np.ptp(rates) < 0.15, r
