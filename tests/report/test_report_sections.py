"""The sections drawn from other packages, on hand-checked shops: quarter and year views,
tier history, predicted churn and CLV, product associations and service. Each figure is
checked against a hand computation and against the analytics function's own result."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import InvalidTypeError, Money, Order, OrderItem, OrderLog, Window
from ecrm.analytics import periods, store_metrics
from ecrm.report import DEFAULT_SLA, build_report, render_html

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=SH)


def _at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 12, tzinfo=SH)


def _order(i: int, customer: str, placed: dt.datetime, fen: int, sku: str = "TEA",
           status: str = "completed") -> Order:
    return Order(order_id=f"o{i}", customer_id=customer, placed_at=placed, amount=Money(fen),
                 status=status, items=[OrderItem(sku, Money(fen), 1, "tea")], province="浙江省")


def small_log() -> OrderLog:
    """The shop of test_report.py: valid orders alice 2025-10-02 ¥100, 2025-11-20 ¥2,500;
    bob 2025-03-01 ¥50; dave 2024-11-15 ¥800; erin 2025-11-03 ¥120, 2025-11-04 ¥30."""
    return OrderLog.from_orders([
        _order(1, "alice", _at(2025, 10, 2), 10_000), _order(2, "alice", _at(2025, 11, 20), 250_000),
        _order(3, "bob", _at(2025, 3, 1), 5_000),
        _order(4, "carol", _at(2025, 11, 30), 80_000, status="refunded"),
        _order(5, "dave", _at(2024, 11, 15), 80_000), _order(6, "erin", _at(2025, 11, 3), 12_000),
        _order(7, "erin", _at(2025, 11, 4), 3_000),
    ])


def test_quarters_and_years_by_hand_and_as_store_metrics() -> None:
    section = build_report(small_log(), lang="en", as_of=AS_OF).section("periods")
    quarters, years = section.tables
    # complete quarters before 2025-12-01: 2024Q4 (dave ¥800), 2025Q1 (bob ¥50), Q2, Q3
    # empty; alice's October order is in the incomplete 2025Q4
    rows = {r[0]: r for r in quarters.rows}
    assert list(rows) == ["2025Q3", "2025Q2", "2025Q1", "2024Q4"]
    assert [rows[q][1] for q in rows] == ["¥0.00", "¥0.00", "¥50.00", "¥800.00"]
    assert [rows[q][2] for q in rows] == ["0", "0", "1", "1"]
    # 2025Q1 against 2024Q4: ¥50 / ¥800 − 1 = −93.75%; against 2024Q1 (nothing): new
    assert rows["2025Q1"][7:9] == ("-93.8%", "new")
    assert rows["2025Q2"][7] == "-100.0%"
    # complete years: 2022, 2023 empty, 2024 dave's ¥800
    assert [(r[0], r[1]) for r in years.rows] == [("2024", "¥800.00"), ("2023", "¥0.00"),
                                                  ("2022", "¥0.00")]
    # the same figures as ecrm.analytics.store_metrics
    sm = store_metrics(small_log(), periods(
        Window.of_dates(dt.date(2024, 10, 1), dt.date(2025, 10, 1), SH), "quarter", tz=SH))
    assert [rows[r.period.label][1] for r in sm.rows] == [
        str(Money(r.sales_fen)) for r in sm.rows]
    line = section.charts[0]
    assert line.series[0][1] == (800.0, 50.0, 0.0, 0.0)  # type: ignore[union-attr]


def test_monthly_tier_history_with_members() -> None:
    from ecrm import Customer, CustomerTable

    customers = CustomerTable.from_customers([
        Customer(n, member_since=dt.datetime(2024, 1, 1, tzinfo=SH))
        for n in ("alice", "bob", "carol", "dave", "erin")])
    tiers = build_report(small_log(), lang="en", as_of=AS_OF,
                         customers=customers).section("tiers")
    (history,) = [t for t in tiers.tables if t.caption.startswith("Tier share and flow")]
    rows = {r[0]: r for r in history.rows}
    assert len(rows) == 12
    # at the end of November: alice ¥2,600 → level 4, dave ¥800 → 3, erin ¥150 → 1,
    # bob ¥50 → none: members 3, shares 1/3 each at levels 1, 3 and 4
    assert rows["2025-11"][1:5] == ("33.3%", "0.0%", "33.3%", "33.3%")
    # November: alice 1 → 4 upgraded (erin 0 → 1 is a new level, not an upgrade of a member)
    assert rows["2025-11"][6] == "1"
    # end of October: alice ¥100 → 1, dave 3
    assert rows["2025-10"][1:5] == ("50.0%", "0.0%", "50.0%", "0.0%")
    # and the same as ecrm.analytics.member_metrics month by month
    from ecrm.analytics import member_metrics

    mm = member_metrics(small_log(), customers, periods(
        Window.of_dates(dt.date(2024, 12, 1), dt.date(2025, 12, 1), SH), tz=SH))
    assert [rows[r.period.label][5:7] for r in mm.rows] == [
        (str(r.joins), str(r.upgraded)) for r in mm.rows]
    stacked = next(c for c in tiers.charts if c.title.startswith("Members per level"))
    assert stacked.labels[-2:] == ("2025-10", "2025-11")  # type: ignore[union-attr]
    # level 1 members at the end of each of the last two months: alice, then erin
    assert stacked.series[0][1][-2:] == (1.0, 1.0)  # type: ignore[union-attr]


def test_associations_by_hand() -> None:
    """c1, c2 buy TEA then CUP 4 days later; c3 only TEA; c4 only CUP."""
    log = OrderLog.from_orders([
        _order(1, "c1", _at(2025, 11, 1), 1_000, "TEA"), _order(2, "c1", _at(2025, 11, 5), 1_000, "CUP"),
        _order(3, "c2", _at(2025, 11, 2), 1_000, "TEA"), _order(4, "c2", _at(2025, 11, 6), 1_000, "CUP"),
        _order(5, "c3", _at(2025, 11, 3), 1_000, "TEA"), _order(6, "c4", _at(2025, 11, 4), 1_000, "CUP"),
    ])
    (table,) = build_report(log, lang="en", as_of=AS_OF).section("associations").tables
    # TEA → CUP: 2 of the 3 TEA buyers bought CUP within 14 days: confidence 2/3;
    # CUP's base rate 3/4: lift (2/3)/(3/4) = 0.89; added chance (2 + 10·0.75)/(3 + 10)
    # − 0.75 = −0.019. CUP → TEA never happened in that order: no rule.
    assert table.rows == (("1", "TEA", "CUP", "2", "3", "66.7%", "0.89", "-0.019"),)


def test_predicted_churn_equals_ecrm_predict() -> None:
    pytest.importorskip("scipy")
    from ecrm.datasets import sample_shop
    from ecrm.predict import fit_bgnbd, fit_gammagamma, predict, summaries

    shop = sample_shop(300, seed=4)
    report = build_report(shop.orders, lang="en", as_of=shop.as_of)
    section = report.section("predict")
    (table,) = section.tables
    log = shop.orders
    valid = log.valid_mask() & (log.placed_at_us < int(shop.as_of.timestamp() * 1e6))
    start = dt.datetime.fromtimestamp(int(log.placed_at_us[valid].min()) / 1e6, tz=SH)
    summary = summaries(log, as_of=shop.as_of, calibration_start=start)
    p = predict(fit_bgnbd(summary, thin_data="ignore"), summary, horizon_days=90,
                spend=fit_gammagamma(summary, thin_data="ignore"), clv_horizon_days=365)
    counts = {band: int((p.risk == band).sum()) for band in ("high", "medium", "low")}
    in_page = [int(r[2].replace(",", "")) for r in table.rows]
    assert in_page == [counts["high"], counts["medium"], counts["low"]]
    assert sum(in_page) == len(summary.customer_ids)
    ids = np.asarray(p.customer_ids)
    assert set(table.customers[0]) == {str(x) for x in ids[p.risk == "high"].tolist()}
    assert table.rows[0][6] == str(Money(int(p.clv_fen[p.risk == "high"].sum())))


TICKETS = """ticket_id,kind,customer_id,created_at,first_response_at,resolved_at,state,subject
t1,complaint,alice,2025-11-10 10:00,2025-11-10 11:00,2025-11-10 20:00,resolved,物流太慢了
t2,complaint,erin,2025-11-20 10:00,2025-11-20 16:00,2025-11-22 10:00,resolved,收到的杯子破损
t3,inquiry,bob,2025-11-28 09:00,,,open,什么时候有货
"""


def test_service_by_hand_and_as_ecrm_service() -> None:
    from ecrm.service import (
        complaints_by_period,
        service_summary,
        sla_status,
        tickets_from_csv,
    )

    tickets = tickets_from_csv(io.StringIO(TICKETS), tz="Asia/Shanghai")
    assert "service" not in [s.key for s in build_report(small_log(), lang="en",
                                                         as_of=AS_OF).sections]
    report = build_report(small_log(), lang="en", as_of=AS_OF, tickets=tickets)
    section = report.section("service")
    values = {m.label: m.value for m in section.metrics}
    # targets 4 h / 24 h wall clock: t1 answered in 1 h, resolved in 10 h (both met);
    # t2 answered in 6 h, resolved in 48 h (both late); t3 unanswered for 63 h (both late)
    assert values["tickets"] == "3"
    assert values["open"] == "1"
    assert values["first response in time"] == "33.3%"
    assert values["resolved in time"] == "33.3%"
    s = service_summary(sla_status(tickets, DEFAULT_SLA, as_of=AS_OF))
    assert values["first response median / P90"].startswith(f"{s.first_response_median_h:.1f} h")
    complaints = complaints_by_period(tickets, tz=SH)
    table = section.tables[0]
    # t1 "物流太慢了" is a logistics delay, t2 "杯子破损" a quality complaint; t3 is an
    # inquiry, not a complaint
    assert table.header == ("category", "2025-11", "all months")
    assert table.rows == (("logistics_delay", "1", "1"), ("quality", "1", "1"))
    assert [complaints.count("2025-11", r[0]) for r in table.rows] == [1, 1]
    page = render_html(build_report(small_log(), as_of=AS_OF, tickets=tickets))
    assert "<h2>售后服务</h2>" in page


def test_an_unidentified_fit_is_refitted_with_the_suggested_penalty() -> None:
    """sample_shop(500, seed=1): unpenalised BG/NBD is not identified (FitError), so the
    section fits it with l2 = 0.01, says so, and shows what ecrm.predict gives then."""
    pytest.importorskip("scipy")
    from ecrm.datasets import sample_shop
    from ecrm.predict import FitError, fit_bgnbd, fit_gammagamma, predict, summaries

    shop = sample_shop(500, seed=1)
    log = shop.orders
    valid = log.valid_mask() & (log.placed_at_us < int(shop.as_of.timestamp() * 1e6))
    start = dt.datetime.fromtimestamp(int(log.placed_at_us[valid].min()) / 1e6, tz=SH)
    summary = summaries(log, as_of=shop.as_of, calibration_start=start)
    with pytest.raises(FitError):
        fit_bgnbd(summary, thin_data="ignore")
    p = predict(fit_bgnbd(summary, l2=0.01, thin_data="ignore"), summary, horizon_days=90,
                spend=fit_gammagamma(summary, thin_data="ignore"), clv_horizon_days=365)
    section = build_report(log, lang="en", as_of=shop.as_of).section("predict")
    assert any("l2 penalty of 0.01" in n for n in section.notes)
    (table,) = section.tables
    assert [int(r[2]) for r in table.rows] == [int((p.risk == b).sum())
                                               for b in ("high", "medium", "low")]
    assert table.rows[2][6] == str(Money(int(p.clv_fen[p.risk == "low"].sum())))


def test_service_satisfaction_from_stored_replies() -> None:
    """Four CSAT replies (5, 4, 2 and 5, the last one the same customer's second order):
    3 of 4 score 4-5, so CSAT is 75.0%. Two NPS replies, 10 (a promoter) and 6 (a
    detractor): NPS = (1 - 1) / 2 = 0."""
    from ecrm.service import SurveyScore, csat, nps, tickets_from_csv

    tickets = tickets_from_csv(io.StringIO(TICKETS), tz="Asia/Shanghai")
    at = dt.datetime(2025, 11, 25, 12, tzinfo=SH)
    scores = [
        SurveyScore("order", f"o{i}", cid, "csat", v, at + dt.timedelta(hours=i), f"r{i}")
        for i, (cid, v) in enumerate([("alice", 5), ("bob", 4), ("erin", 2), ("alice", 5)])
    ] + [SurveyScore("ticket", "t1", "alice", "nps", 10, at, "n1"),
         SurveyScore("ticket", "t2", "erin", "nps", 6, at, "n2")]
    report = build_report(small_log(), lang="en", as_of=AS_OF, tickets=tickets,
                          survey_scores=scores)
    metrics = {m.label: m for m in report.section("service").metrics}
    assert metrics["CSAT (scores 4-5)"].value == "75.0%"
    assert metrics["CSAT (scores 4-5)"].comparisons == (("replies", "4"),)
    assert metrics["NPS"].value == "+0"
    assert csat(scores) == pytest.approx(0.75)  # the function the section reads
    assert nps(scores) == pytest.approx(0.0)
    no_scores = build_report(small_log(), lang="en", as_of=AS_OF, tickets=tickets)
    assert "CSAT (scores 4-5)" not in {m.label for m in no_scores.section("service").metrics}


def test_membership_cost_per_level_as_level_costs() -> None:
    """Two level-2 members each granted one ¥10 coupon in November; one used it. Cost at
    level 2 = ¥10.00 and the redemption rate 50.0%."""
    from ecrm import Window
    from ecrm.tiers import TAOBAO_STORE_VIP, Grant, level_costs

    at = dt.datetime(2025, 11, 1, 9, tzinfo=SH)
    grants = [Grant(c, "silver", "2025-11", 2, 1, Money(1_000), at) for c in ("alice", "bob")]
    window = Window(dt.datetime(2025, 11, 1, tzinfo=SH), AS_OF)
    costs = level_costs(TAOBAO_STORE_VIP, {"alice": 2, "bob": 2, "erin": 1}, window=window,
                        grants=grants, redeemed=[grants[0].key], orders=small_log())
    assert "membership-cost" not in [s.key for s in build_report(
        small_log(), lang="en", as_of=AS_OF).sections]
    section = build_report(small_log(), lang="en", as_of=AS_OF,
                           level_costs=costs).section("membership-cost")
    (table,) = section.tables
    row = next(r for r in table.rows if r[0].startswith("2 "))
    assert row[1:5] == ("2", "2", "50.0%", "¥10.00")
    assert row[7] == "¥10.00"  # total cost: the used coupon only
    i = costs.levels.index(2)
    assert (costs.cost_fen[i], costs.redeemed_units[i]) == (1_000, 1)
    with pytest.raises(InvalidTypeError, match="level_costs"):
        build_report(small_log(), as_of=AS_OF, level_costs={"2": 1})  # type: ignore[arg-type]


def test_crm_sales_and_campaign_effect_by_hand() -> None:
    """Touches: alice on 2025-11-18 (her ¥2,500 order on 11-20 is within 7 days), bob on
    2025-02-27 (his ¥50 order on 03-01 is too), erin on 2025-10-01 (her November orders are
    not). The last 12 complete months hold ¥2,800.00 of valid sales (dave's 2024 order is
    before them, carol's is refunded): CRM sales ¥2,550.00, share 2,550 / 2,800 = 91.1%."""
    from ecrm.analytics import Touches, attribute_sales, campaign_effect

    touches = Touches.from_arrays(["alice", "bob", "erin"],
                                  [_at(2025, 11, 18), _at(2025, 2, 27), _at(2025, 10, 1)])
    report = build_report(small_log(), lang="en", as_of=AS_OF, touches=touches)
    section = report.section("crm-sales")
    values = {m.label: m.value for m in section.metrics}
    assert values["CRM share of sales"] == "91.1%"
    assert values["CRM orders"] == "2"
    rows = {r[0]: r[1:4] for r in section.tables[0].rows}
    assert rows["2025-03"] == ("¥50.00", "¥50.00", "100.0%")
    assert rows["2025-11"] == ("¥2,650.00", "¥2,500.00", "94.3%")
    a = attribute_sales(small_log(), touches,
                        window=Window(dt.datetime(2024, 12, 1, tzinfo=SH), AS_OF))
    assert (a.sales_fen, a.crm_sales_fen) == (280_000, 255_000)  # the function the section reads

    # treated alice and erin, held out bob and dave, 7 days from 11-18: alice responded (1/2),
    # nobody held out did (0/2): uplift +50pt; se = sqrt(.5 * .5 / 2) = 0.35355, so the 95%
    # interval is 0.5 -/+ 1.96 * 0.35355 = -19.3 ... +119.3pt
    effect = campaign_effect(small_log(), campaign_id="1118", treated=["alice", "erin"],
                             holdout=["bob", "dave"], start=_at(2025, 11, 18), days=7)
    report = build_report(small_log(), lang="en", as_of=AS_OF, campaigns=[effect])
    (row,) = report.section("campaigns").tables[0].rows
    assert row[:7] == ("1118", "2", "2", "50.0%", "0.0%", "+50.0pt", "-19.3 … +119.3pt")
    keys = [s.key for s in build_report(small_log(), lang="en", as_of=AS_OF).sections]
    assert "crm-sales" not in keys
    assert "campaigns" not in keys
    with pytest.raises(InvalidTypeError, match="touches"):
        build_report(small_log(), as_of=AS_OF, touches=["alice"])  # type: ignore[arg-type]
