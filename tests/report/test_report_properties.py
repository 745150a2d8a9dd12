"""Properties of build_report / render_html over random shops (ecrm.testing.order_logs)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm import OrderLog
from ecrm.report import build_report, render_html
from ecrm.rfm import score
from ecrm.testing import order_logs

SH = ZoneInfo("Asia/Shanghai")
AS_OFS = st.sampled_from([dt.datetime(2025, 7, 1, tzinfo=SH),
                          dt.datetime(2024, 12, 31, 18, 30, tzinfo=SH),
                          dt.datetime(2024, 3, 1, tzinfo=SH)])


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(log=order_logs(min_size=0, max_size=30, max_customers=8), as_of=AS_OFS)
def test_any_shop_gives_a_page_whose_grades_match_score(read_tables, log: OrderLog,  # type: ignore[no-untyped-def]
                                                        as_of: dt.datetime) -> None:
    report = build_report(log, lang="en", as_of=as_of)
    page = render_html(report, charts=False)
    parsed = read_tables(page)
    assert parsed.section_ids == [s.key for s in report.sections]
    rows = parsed.tables["Grade distribution"]
    in_page = {r[0]: int(r[3].replace(",", "")) for r in rows[1:] if r[0]}
    expected = {g.value: n for g, n in score(log, as_of=as_of,
                                             warn_undersized=False).grade_counts().items()}
    assert in_page == expected
    assert page.count("<script") == 1
    # every month row of the headline table adds up: new + returning buyers = buyers
    months = parsed.tables[
        "Store figures by month (valid orders, net of refunds), newest first"]
    header = months[0]
    for row in months[1:]:
        cell = dict(zip(header, row, strict=True))
        assert int(cell["new"].replace(",", "")) + int(cell["returning"].replace(",", "")) \
            == int(cell["buyers"].replace(",", ""))


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@settings(max_examples=60, deadline=None)
@given(caption=TEXT, cells=st.lists(st.tuples(TEXT, TEXT), max_size=4), title=TEXT)
def test_any_text_round_trips_through_the_page(read_tables, caption: str,  # type: ignore[no-untyped-def]
                                               cells: list[tuple[str, str]],
                                               title: str) -> None:
    """Whatever the data holds, the browser reads back exactly that text: nothing is markup."""
    from ecrm.report import Report, Section, Table

    table = Table(caption, ["a", "b"], cells)
    report = Report(title, "s", dt.datetime(2025, 1, 1, tzinfo=SH), "Asia/Shanghai", "",
                    [Section("k", title, tables=[table])])
    page = render_html(report, charts=False)
    parsed = read_tables(page)
    assert parsed.tables[caption] == [["a", "b"], *([a, b] for a, b in cells)]
    assert page.count("<script") == 1
    assert page.count("<table>") == 1


IDS = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
               min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(ids=IDS)
def test_any_customer_ids_round_trip_through_a_download_button(ids: list[str]) -> None:
    """What the page's script reads from a button (the attribute, HTML-unescaped, parsed as
    JSON) is exactly the row's customer ids, whatever characters they hold."""
    import json
    from html.parser import HTMLParser

    from ecrm.report import Report, Section, Table

    table = Table("t", ["a"], [("x",)], customers=[ids], key="k")
    report = Report("r", "s", dt.datetime(2025, 1, 1, tzinfo=SH), "Asia/Shanghai", "",
                    [Section("k", "K", tables=[table])])
    found: list[str | None] = []

    class Buttons(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "button":
                found.append(dict(attrs)["data-ids"])

    Buttons(convert_charrefs=True).feed(render_html(report, charts=False))
    assert len(found) == 1
    assert json.loads(found[0] or "") == ids


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(log=order_logs(min_size=0, max_size=30, max_customers=8), as_of=AS_OFS)
def test_any_shop_gives_a_chinese_page_with_every_chart(log: OrderLog,
                                                        as_of: dt.datetime) -> None:
    report = build_report(log, as_of=as_of, lang="zh")
    page = render_html(report)
    assert page.count("<svg") == len(report.charts)
    assert '<html lang="zh-CN"' in page
