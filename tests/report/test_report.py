"""build_report / render_html: figures against plain recomputations, escaping, determinism,
offline pages, and the page without matplotlib."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from html import unescape
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta

import ecrm.report
from ecrm import (
    InvalidTypeError,
    InvalidValueError,
    Money,
    Order,
    OrderItem,
    OrderLog,
    OrderStatus,
    ProgressUpdate,
)
from ecrm.datasets import sample_shop
from ecrm.report import (
    BarChart,
    Metric,
    Report,
    Section,
    Table,
    build_report,
    plan_day,
    render_html,
)
from ecrm.report._build import SECTIONS as BUILDERS
from ecrm.rfm import score

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=SH)
VALID = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}
SECTIONS = ["overview", "periods", "grades", "segments", "cycle", "lifecycle", "audiences",
            "tiers", "predict", "provinces", "products", "associations", "touches"]


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return sample_shop(400, seed=3)


@pytest.fixture(scope="module")
def shop_report(shop):  # type: ignore[no-untyped-def]
    return build_report(shop.orders, lang="en", as_of=shop.as_of, customers=shop.customers,
                        events=shop.events, store_name=shop.store_name, source="sample")


@pytest.fixture(scope="module")
def shop_page(shop_report):  # type: ignore[no-untyped-def]
    return render_html(shop_report)


def _valid(o: Order) -> bool:
    refunded = o.refunded.fen if o.refunded is not None else 0
    return o.status in VALID and not (refunded > 0 and refunded >= o.amount.fen)


def _net(o: Order) -> int:
    return o.amount.fen - (o.refunded.fen if o.refunded is not None else 0)


def plain_grades(log: OrderLog, as_of: dt.datetime) -> Counter[str]:
    """The P/G/S/B grade of every customer, straight from DESIGN 3.1, one order at a time."""
    start = as_of - relativedelta(years=1)
    by_customer: dict[object, list[Order]] = {}
    for o in log:
        if _valid(o) and start <= o.placed_at < as_of:
            by_customer.setdefault(o.customer_id, []).append(o)
    grades: Counter[str] = Counter()
    for orders in by_customer.values():
        last = max(o.placed_at for o in orders)
        r = next((s for s, months in ((5, 1), (4, 3), (3, 4), (2, 7))
                  if last >= as_of - relativedelta(months=months)), 1)
        n = len(orders)
        f = 5 if n >= 6 else 4 if n >= 4 else n
        m_fen = sum(_net(o) for o in orders)
        m = next((s for s, fen in ((5, 200_000), (4, 100_000), (3, 50_000), (2, 30_000))
                  if m_fen >= fen), 1)
        total = r + 3 * f + 4 * m
        grades["P" if total >= 36 else "G" if total >= 26 else "S" if total >= 17 else "B"] += 1
    return grades


def _at(y: int, m: int, d: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SH)


def _order(i: int, customer: str, placed: dt.datetime, fen: int, *, status: str = "completed",
           sku: str = "TEA", province: str = "浙江省") -> Order:
    return Order(order_id=f"o{i}", customer_id=customer, placed_at=placed, amount=Money(fen),
                 status=status, items=[OrderItem(sku, Money(fen), 1, "tea")], province=province)


def small_log() -> OrderLog:
    """Hand-checked shop: see the expectations in each test."""
    return OrderLog.from_orders([
        _order(1, "alice", _at(2025, 10, 2), 10_000, sku="TEA"),
        _order(2, "alice", _at(2025, 11, 20), 250_000, sku="POT"),
        _order(3, "bob", _at(2025, 3, 1), 5_000, province="上海市"),
        _order(4, "carol", _at(2025, 11, 30), 80_000, status="refunded"),
        _order(5, "dave", _at(2024, 11, 15), 80_000, sku="CUP"),
        _order(6, "erin", _at(2025, 11, 3), 12_000, sku="CUP", province="上海市"),
        _order(7, "erin", _at(2025, 11, 4), 3_000, sku="TEA", province="上海市"),
        _order(8, "frank", _at(2025, 11, 30, 23) + dt.timedelta(minutes=50), 9_900,
               status="unpaid"),
    ])


def test_public_surface() -> None:
    assert set(ecrm.report.__all__) == {
        "DEFAULT_SLA", "DEFAULT_SMS_PRICE", "BarChart", "Chart", "CycleChart", "FunnelChart", "LineChart",
        "Metric", "Report", "Section", "StackedBarChart", "Table", "build_report",
        "plan_day", "render_html"}


def test_sections_in_order(shop_report: Report, shop_page: str, read_tables) -> None:  # type: ignore[no-untyped-def]
    assert [s.key for s in shop_report.sections] == SECTIONS
    assert read_tables(shop_page).section_ids == SECTIONS


def test_grade_counts_match_score_and_a_plain_recomputation(shop, shop_page: str,  # type: ignore[no-untyped-def]
                                                            read_tables) -> None:
    rows = read_tables(shop_page).tables["Grade distribution"]
    in_page = {r[0]: int(r[3].replace(",", "")) for r in rows[1:] if r[0]}
    api = {g.value: n for g, n in score(shop.orders, as_of=shop.as_of,
                                        warn_undersized=False).grade_counts().items()}
    plain = plain_grades(shop.orders, shop.as_of)
    assert in_page == api == {g: plain.get(g, 0) for g in "PGSB"}
    assert sum(in_page.values()) > 0


def test_small_shop_grades_and_headline(read_tables) -> None:  # type: ignore[no-untyped-def]
    report = build_report(small_log(), lang="en", as_of=AS_OF)
    page = render_html(report, charts=False)
    tables = read_tables(page).tables
    grades = {r[0]: r[3] for r in tables["Grade distribution"][1:] if r[0]}
    # alice R5 F2(2 orders) M5(¥2,600): 5+6+20 = 31 → G; bob 1+3+4 = 8 → B;
    # erin R5 F2 M1(¥150): 5+6+4 = 15 → B; carol refunded, dave too old: unscored
    assert grades == {"P": "0", "G": "1", "S": "0", "B": "2"}
    months = {r[0]: r for r in tables[
        "Store figures by month (valid orders, net of refunds), newest first"][1:]}
    # November 2025: alice ¥2,500 (returning), erin ¥120 + ¥30 (new, on two days);
    # carol refunded, frank unpaid. Columns: sales, orders, buyers, avg, new, new sales,
    # returning, returning sales, repurchase rate (buyers with 2+ purchase days in the month)
    assert months["2025-11"][1:10] == ["¥2,650.00", "3", "2", "¥883.33", "1", "¥150.00", "1",
                                       "¥2,500.00", "50.0%"]
    # October 2025: alice's first order; November 2024: dave's
    assert months["2025-10"][1:10] == ["¥100.00", "1", "1", "¥100.00", "1", "¥100.00", "0",
                                       "¥0.00", "0.0%"]
    assert months["2024-11"][1:10] == ["¥800.00", "1", "1", "¥800.00", "1", "¥800.00", "0",
                                       "¥0.00", "0.0%"]
    assert len(months) == 13
    metrics = {m.label: m for m in report.section("overview").metrics}
    assert metrics["sales"] == Metric("sales", "¥2,650.00", [("vs 2025-10", "+2,550.0%"),
                                                             ("vs 2024-11", "+231.2%")])
    assert metrics["repurchase rate"] == Metric(
        "repurchase rate", "50.0%", [("vs 2025-10", "+50.0pt"), ("vs 2024-11", "+50.0pt")])


def _table(tables: dict[str, list[list[str]]], prefix: str) -> list[list[str]]:
    (hit,) = [rows for caption, rows in tables.items() if caption.startswith(prefix)]
    return hit


def test_small_shop_tiers_without_customers_are_potential_members(read_tables) -> None:  # type: ignore[no-untyped-def]
    page = render_html(build_report(small_log(), lang="en", as_of=AS_OF), charts=False)
    rows = read_tables(page).tables["Tier share"]
    by_level = {r[0]: r for r in rows[1:]}
    # nobody joined: all 6 customers at level 0; qualified: alice ¥2,600 → 4, erin ¥150 → 1,
    # dave ¥800 → 3; bob ¥50 and carol (refunded) and frank (unpaid) qualify for nothing
    assert by_level["0"][2] == "6"
    assert [by_level[str(lv)][4] for lv in range(5)] == ["3", "1", "0", "1", "1"]
    assert [by_level[str(lv)][5] for lv in range(1, 5)] == ["1", "0", "1", "1"]
    assert "potential members" in page


def test_small_shop_products_and_provinces(read_tables) -> None:  # type: ignore[no-untyped-def]
    tables = read_tables(render_html(build_report(small_log(), lang="en", as_of=AS_OF),
                                     charts=False)).tables
    first = _table(tables, "New customers' first purchase")
    # first purchase days in the year: alice TEA, bob TEA, erin CUP (dave's is too old)
    assert {r[1]: r[3] for r in first[1:]} == {"TEA": "2", "CUP": "1"}
    assert _table(tables, "New customers' first purchase (their first purchase day ever): 3 ")
    second = _table(tables, "First repurchase")
    # second purchase days: alice POT (Nov 20), erin TEA (Nov 4)
    assert {r[1]: r[3] for r in second[1:]} == {"POT": "1", "TEA": "1"}
    prov = tables["Orders, buyers and sales per province"]
    # valid orders in the year: alice 2 (浙江省), bob 1 and erin 2 (上海市)
    assert {r[0]: (r[1], r[3]) for r in prov[1:]} == {"上海市": ("3", "2"), "浙江省": ("2", "1")}


def test_tomorrows_payment_reminder_is_planned(read_tables) -> None:  # type: ignore[no-untyped-def]
    report = build_report(small_log(), lang="en", as_of=AS_OF)
    touches = report.section("touches")
    # as_of is midnight of 1 December: the planned day is that day, not "tomorrow"
    assert touches.title == "Planned touches for 2025-12-01"
    later = build_report(small_log(), lang="en", as_of=AS_OF + dt.timedelta(hours=9))
    assert later.section("touches").title == "Tomorrow's planned touches (2025-12-02)"
    flows = {r[0]: r[1:] for r in touches.tables[0].rows}
    # frank's order placed 23:50 and unpaid: the 30-minute reminder falls on Dec 1
    assert flows["payment_reminder"] == ("1", "1")
    assert any("in-app message box" in n for n in touches.notes)


def test_plan_day() -> None:
    assert plan_day(AS_OF) == dt.date(2025, 12, 1)
    assert plan_day(AS_OF + dt.timedelta(seconds=1)) == dt.date(2025, 12, 2)


def test_untrusted_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    log = OrderLog.from_orders([
        _order(1, evil, _at(2025, 11, 2), 10_000, sku="<img src=x onerror=alert(2)>",
               province=evil),
        _order(2, evil, _at(2025, 11, 9), 10_000, sku="a&b\"c'", province=evil),
    ])
    report = build_report(log, lang="en", as_of=AS_OF, store_name=evil, source='"><b>x</b>')
    page = render_html(report)
    assert page.count("<script") == 1  # only the page's own script in <head>
    assert "alert(1)</script>" not in page
    assert "<img" not in page
    assert "<b>x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "a&amp;b&quot;c&#x27;" in page
    # the customer list of a download button: JSON in a single-quoted attribute
    assert """data-ids='["&lt;script&gt;alert(1)&lt;/script&gt;"]'""" in page


def test_chart_labels_are_escaped_and_not_mathtext() -> None:
    chart = BarChart("<b>t</b>", ["<script>x</script>", "$\\alpha$ & $5"], [1, 2])
    report = Report("r", "s", AS_OF, "Asia/Shanghai", "", [Section("k", "K", charts=[chart])])
    page = render_html(report)
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<script" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg
    assert "$\\alpha$ &amp; $5</text>" in svg  # shown as typed, not rendered as maths


def test_same_input_same_bytes(shop, shop_page: str) -> None:  # type: ignore[no-untyped-def]
    again = build_report(shop.orders, lang="en", as_of=shop.as_of, customers=shop.customers,
                         events=shop.events, store_name=shop.store_name, source="sample")
    assert render_html(again) == shop_page


def test_page_is_offline(shop_page: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", shop_page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    for url in urls:  # only as XML namespaces
        assert shop_page.count(url) == shop_page.count(f'="{url}"')
    assert not re.search(r"<(link|img|iframe|object|embed)\b", shop_page)
    assert not re.search(r"\s(src|srcset)=", shop_page)
    assert "@import" not in shop_page
    assert "@font-face" not in shop_page
    assert re.findall(r"url\((?!#)", shop_page) == []
    assert "default-src 'none'" in unescape(shop_page)  # the CSP blocks any request


def test_every_chart_is_an_inline_svg(shop_report: Report, shop_page: str) -> None:
    assert len(shop_report.charts) >= 6
    assert shop_page.count('<figure class="chart"') == len(shop_report.charts)
    assert shop_page.count("<svg") == len(shop_report.charts)
    assert "<?xml" not in shop_page
    assert "<!DOCTYPE svg" not in shop_page
    ids = re.findall(r'\sid="([^"]+)"', shop_page)
    assert len(ids) == len(set(ids))  # several SVGs in one page: no id is repeated


def test_charts_need_no_extra_and_can_be_left_out(shop_report: Report,  # type: ignore[no-untyped-def]
                                                 monkeypatch, read_tables) -> None:
    """The charts are drawn by ecrm itself: a page without matplotlib still has them."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = render_html(shop_report)
    assert page.count("<svg") == len(shop_report.charts)
    assert "matplotlib" not in page
    bare = render_html(shop_report, charts=False)
    assert "<svg" not in bare
    assert "Grade distribution" in read_tables(bare).tables


def test_customers_give_membership_and_prospects(shop, shop_report: Report) -> None:  # type: ignore[no-untyped-def]
    tiers = shop_report.section("tiers")
    members = int(shop.customers.members(shop.as_of).sum())
    rows = {r[0] or r[1]: r for r in tiers.tables[0].rows}
    level0 = int(rows["0"][2].replace(",", ""))
    total = int(rows["total"][2].replace(",", ""))
    ordered = shop.customers.members(shop.as_of)[
        np.isin(shop.customers.customer_ids, shop.orders.customer_ids)].sum()
    assert total - level0 == int(ordered) <= members
    stage_rows = {r[1]: r[3] for r in shop_report.section("lifecycle").tables[0].rows}
    assert stage_rows["total"] == f"{len(shop.customers):,}"  # every profile has a stage
    nov = [dt.datetime(2025, 11, 1, tzinfo=SH), dt.datetime(2025, 12, 1, tzinfo=SH)]
    lo, hi = (int(t.timestamp()) * 1_000_000 for t in nov)
    since = shop.customers.member_since_us
    joined = int(((since >= lo) & (since < hi)).sum())
    (member_table,) = [t for t in tiers.tables if t.caption.startswith("Members in 2025-11")]
    assert f"; {joined:,} joined," in member_table.caption
    classes = {r[0]: r[2] for r in shop_report.section("audiences").tables[0].rows}
    assert classes["恶意客户"] == f"{int(shop.customers.blocked.sum()):,}"
    # 非订购: a browse event and never a successful (paid, shipped, completed) order,
    # recomputed with plain sets
    ev = shop.events
    ids = ev.customer_ids.tolist()
    browsed = {ids[c] for c, k in zip(ev.customer_codes.tolist(), ev.kind_codes.tolist(),
                                      strict=True) if ev.kinds[k].value == "browse"}
    good = {"paid", "shipped", "completed"}
    ordered = {o.customer_id for o in shop.orders if o.status.value in good}
    assert classes["非订购客户"] == f"{len(browsed - ordered):,}"
    assert len(classes) == 7


def test_progress_reports_every_step() -> None:
    updates: list[ProgressUpdate] = []
    build_report(small_log(), lang="en", as_of=AS_OF, progress=updates.append)
    seen = [(u.step, u.done, u.total) for u in updates]
    assert [d for _, d, _ in seen] == list(range(len(seen)))
    assert seen[-1] == ("done", len(seen) - 1, len(seen) - 1)
    assert {u.unit for u in updates} == {"steps"}
    assert {u.rows for u in updates} == {None}
    assert [step for step, _, _ in seen] == [label for label, _ in BUILDERS] + ["done"]
    assert "RFM grades" in [step for step, _, _ in seen]


def test_a_three_argument_report_progress_still_works_with_a_deprecation_warning() -> None:
    seen: list[tuple[str, int, int]] = []
    with pytest.warns(DeprecationWarning, match=r"build_report\(\): a progress callback"):
        build_report(small_log(), as_of=AS_OF,
                     progress=lambda step, done, total: seen.append((step, done, total)))
    assert seen[0] == ("headline numbers", 0, len(seen) - 1)
    assert seen[-1] == ("done", len(seen) - 1, len(seen) - 1)


def test_report_progress_is_a_deprecated_alias_of_the_one_progress_type() -> None:
    import ecrm
    import ecrm.report

    with pytest.warns(DeprecationWarning, match=r"ecrm\.report\.Progress is deprecated"):
        assert ecrm.report.Progress is ecrm.Progress  # type: ignore[attr-defined]


def test_no_repurchaser_no_stages() -> None:
    log = OrderLog.from_orders([_order(1, "a", _at(2025, 11, 2), 10_000)])
    report = build_report(log, lang="en", as_of=AS_OF)
    assert "lifecycle" not in [s.key for s in report.sections]
    assert any("no 5221 boundaries" in n for n in report.section("cycle").notes)
    render_html(report)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"as_of": dt.datetime(2025, 12, 1)}, InvalidValueError),
    ({"as_of": AS_OF, "cycle_method": "median"}, InvalidValueError),
    ({"as_of": AS_OF, "customers": ["a"]}, InvalidTypeError),
    ({"as_of": AS_OF, "sms_price": 0.05}, InvalidTypeError),
])
def test_bad_arguments(kwargs, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        build_report(small_log(), **kwargs)
    with pytest.raises(InvalidTypeError):
        build_report([], lang="en", as_of=AS_OF)  # type: ignore[arg-type]


def test_table_rows_must_match_the_header() -> None:
    with pytest.raises(InvalidValueError, match=r"rows\[1\]"):
        Table("t", ["a", "b"], [("1", "2"), ("3",)])
    with pytest.raises(InvalidValueError, match="values"):
        BarChart("c", ["a"], [1.0, 2.0])


# -- every section of the issue on the hand-checked shop --------------------------------
# Valid orders of small_log(): alice 2025-10-02 ¥100, 2025-11-20 ¥2,500; bob 2025-03-01 ¥50;
# dave 2024-11-15 ¥800; erin 2025-11-03 ¥120, 2025-11-04 ¥30. carol's order is refunded,
# frank's unpaid.
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank"]


def _members(store_joined: dt.datetime | None = dt.datetime(2024, 1, 1, tzinfo=SH)):  # type: ignore[no-untyped-def]
    from ecrm import Customer, CustomerTable

    return CustomerTable.from_customers([
        Customer(n, phone=f"1380013800{i}", member_since=store_joined)
        for i, n in enumerate(NAMES)])


def test_small_shop_rfm_segments_against_the_mean_reference() -> None:
    seg = build_report(small_log(), lang="en", as_of=AS_OF).section("segments")
    # scores (R, F, M): alice (5, 2, 5), bob (1, 1, 1), erin (5, 2, 1); the reference is
    # the mean: R 11/3, F 5/3, M 7/3. alice is high on all three → 重要价值; erin high R
    # and F, low M → 一般价值; bob low on all → 一般挽留.
    rows = {r[0]: r for r in seg.tables[0].rows}
    assert len(rows) == 8
    assert {k: r[2] for k, r in rows.items() if r[2] != "0"} == {
        "重要价值客户": "1", "一般价值客户": "1", "一般挽留客户": "1"}
    assert rows["重要价值客户"][4:] == ("5.00", "2.00", "5.00", "¥2,600.00")
    assert rows["一般价值客户"][4:] == ("5.00", "2.00", "1.00", "¥150.00")
    assert rows["一般挽留客户"][4:] == ("1.00", "1.00", "1.00", "¥50.00")
    assert seg.notes == ("Reference (mean R, F, M scores): 3.67, 1.67, 2.33.",)


def test_small_shop_repurchase_curve_shows_the_5221_boundaries() -> None:
    report = build_report(small_log(), lang="en", as_of=AS_OF)
    cycle = report.section("cycle")
    # first purchase days: alice, bob, dave, erin (4); repurchasers: erin after 1 day,
    # alice after 49 days. Half of them within 1 day; 70% and 90% need 49 days.
    values = {m.label: m.value for m in cycle.metrics}
    assert values == {"first-time buyers": "4", "repurchasers": "2",
                      "repurchase rate": "50.0%", "P50": "1 days", "P70": "49 days",
                      "P90": "49 days"}
    (chart,) = cycle.charts
    assert isinstance(chart, ecrm.report.CycleChart)
    page = render_html(report)
    start = page.index('<section id="cycle"')
    svg = page[page.index("<svg", start):page.index("</svg>", start)]
    for label in ("P50=1d", "P70=49d", "P90=49d"):  # the boundary lines are labelled
        assert label in svg


def test_small_shop_lifecycle_funnel() -> None:
    # P50 = 1, P70 = P90 = 49 days (above); days since the last purchase day at
    # 2025-12-01: alice 11, erin 27 → silent; bob 275, dave 381 → churned;
    # carol and frank have no valid order → prospect.
    life = build_report(small_log(), lang="en", as_of=AS_OF).section("lifecycle")
    counts = {r[1]: r[3] for r in life.tables[0].rows}
    assert counts == {"prospect": "2", "new": "0", "active": "0", "silent": "2",
                      "sleeping": "0", "churned": "2", "total": "6"}
    (chart,) = life.charts
    assert chart.values == (2.0, 0.0, 0.0, 2.0, 0.0, 2.0)  # type: ignore[union-attr]


def test_small_shop_tier_share_and_flow_with_members() -> None:
    tiers = build_report(small_log(), lang="en", as_of=AS_OF, customers=_members()).section("tiers")
    # everyone joined in 2024. Cumulative valid spend at 2025-11-01: alice ¥100 → 1,
    # dave ¥800 → 3, others 0; at 2025-12-01: alice ¥2,600 → 4, erin ¥150 → 1, dave 3.
    share = {r[0] or r[1]: r[2] for r in tiers.tables[0].rows}
    assert share == {"0": "3", "1": "1", "2": "0", "3": "1", "4": "1", "total": "6",
                     "potential members": "0"}
    flow = tiers.tables[1]
    assert flow.caption.endswith(": 2 upgraded, 0 downgraded")
    matrix = [[int(v) for v in r[1:]] for r in flow.rows]
    assert matrix == [[3, 1, 0, 0, 0],   # bob, carol, frank stay; erin 0 → 1
                      [0, 0, 0, 0, 1],   # alice 1 → 4
                      [0, 0, 0, 0, 0],
                      [0, 0, 0, 1, 0],   # dave stays at 3
                      [0, 0, 0, 0, 0]]
    (members,) = [t for t in tiers.tables if t.caption.startswith("Members in 2025-11")]
    # November: nobody joined; of alice and dave (members on 1 November) alice upgraded
    assert members.caption == (
        "Members in 2025-11: contribution and activity per level; 0 joined, 1 of 2 members "
        "upgraded (leaves not counted: the customers file has no leave dates)")


def test_small_shop_tomorrows_touches_are_costed_per_sms_segment() -> None:
    # frank's unpaid order gets the payment reminder by SMS (he has a phone number).
    # A 4-character shop name keeps it in one billed message; an 80-character one
    # pushes the text past 70 characters: billed per 67 characters, so 2 or more.
    short = build_report(small_log(), lang="en", as_of=AS_OF, customers=_members(None),
                         store_name="小林茶铺", sms_price=Money(7)).section("touches")
    values = {m.label: m.value for m in short.metrics}
    assert values["planned sends"] == "1"
    assert values["SMS segments"] == "1"
    assert values["SMS cost"] == "¥0.07"
    long = build_report(small_log(), lang="en", as_of=AS_OF, customers=_members(None),
                        store_name="小林茶铺" * 20, sms_price=Money(7)).section("touches")
    values = {m.label: m.value for m in long.metrics}
    segments = int(values["SMS segments"])
    assert segments >= 2
    assert values["SMS cost"] == str(Money(7 * segments))
    assert any("× ¥0.07 per segment" in n for n in long.notes)


def test_each_charted_section_draws_its_chart(shop_report: Report, shop_page: str) -> None:
    """Grades, curve, funnel, tiers, provinces, the month's sales and tomorrow's sends each
    have a chart, drawn inside their own section."""
    charted = ["overview", "periods", "grades", "cycle", "lifecycle", "tiers", "predict",
               "provinces", "touches"]
    assert [s.key for s in shop_report.sections if s.charts] == charted
    for key in charted:
        start = shop_page.index(f'<section id="{key}"')
        body = shop_page[start:shop_page.index("</section>", start)]
        assert body.count("<svg") == len(shop_report.section(key).charts), key
    provinces = shop_report.section("provinces")
    (chart,) = provinces.charts
    table = {r[0]: int(r[1].replace(",", "")) for r in provinces.tables[0].rows}
    assert dict(zip(chart.labels, chart.values, strict=True)) == {  # type: ignore[union-attr]
        k: float(v) for k, v in list(table.items())[:15]}


def test_small_shop_rows_carry_their_customers_for_download() -> None:
    """Grade, segment, stage and tier rows list exactly their customers (hand-checked)."""
    report = build_report(small_log(), lang="en", as_of=AS_OF, customers=_members())
    grades = report.section("grades").tables[0]
    by_grade = {r[0] or r[2]: ids for r, ids in zip(grades.rows, grades.customers, strict=True)}
    # alice 31 → G; bob 8 and erin 15 → B; no valid order in the year: carol (refunded),
    # dave (too old), frank (unpaid)
    assert by_grade == {"P": (), "G": ("alice",), "S": (), "B": ("bob", "erin"),
                        "scored": (),
                        "unscored (no valid order in the year)": ("carol", "dave", "frank")}
    segs = report.section("segments").tables[0]
    by_seg = {r[0]: ids for r, ids in zip(segs.rows, segs.customers, strict=True) if ids}
    assert by_seg == {"重要价值客户": ("alice",), "一般价值客户": ("erin",),
                      "一般挽留客户": ("bob",)}
    stages = report.section("lifecycle").tables[0]
    by_stage = {r[1]: ids for r, ids in zip(stages.rows, stages.customers, strict=True) if ids}
    assert by_stage == {"prospect": ("carol", "frank"), "silent": ("alice", "erin"),
                        "churned": ("bob", "dave")}
    tiers = report.section("tiers").tables[0]
    by_level = {r[0] or r[1]: ids for r, ids in zip(tiers.rows, tiers.customers, strict=True)}
    assert by_level == {"0": ("bob", "carol", "frank"), "1": ("erin",), "2": (),
                        "3": ("dave",), "4": ("alice",), "total": (),
                        "potential members": ()}
    page = render_html(report)
    assert """data-file="grade-G.csv" data-ids='["alice"]'""" in page
    assert page.count('class="download"') == sum(
        1 for t in (grades, segs, stages, tiers) for ids in t.customers if ids)
