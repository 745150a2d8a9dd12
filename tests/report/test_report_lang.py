"""The report's languages: 万/亿 number forms checked on hand cases, a Chinese page whose own
words are all Chinese, an English one with none, and the currency taken from the log."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from ecrm import InvalidValueError, Money, Order, OrderItem, OrderLog
from ecrm.report import build_report, render_html
from ecrm.report._numbers import compact, money, percent, plain

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=SH)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("value", "zh", "en"), [
    (12_345, "1.23万", "12.3K"),
    (123_456_789, "1.23亿", "123M"),
    (9_999, "9,999", "9,999"),
    (10_000, "1万", "10K"),
    (120_000, "12万", "120K"),
    (12_345_678, "1235万", "12.3M"),
    (99_995_000, "1亿", "100M"),         # 9999.5万 rounds up into the next unit
    (-12_345, "-1.23万", "-12.3K"),
    (0.5, "0.5", "0.5"),
    (-0.001, "0", "0"),                  # never "-0"
    (0, "0", "0"),
])
def test_compact_numbers_by_hand(value: float, zh: str, en: str) -> None:
    assert compact(value, "zh") == zh
    assert compact(value, "en") == en


def test_money_and_percent_forms() -> None:
    assert money(123_456, "CNY", "zh") == "¥1,234.56"
    assert money(1_234_567_89, "CNY", "zh", short=True) == "¥123万"
    assert money(1_234_500, "CNY", "zh", short=True) == "¥1.23万"
    assert money(999_900, "CNY", "zh", short=True) == "¥9,999.00"
    assert money(250_000, "USD", "en") == "$2,500.00"
    assert money(-5, "USD", "en") == "-$0.05"
    assert money(-0.4, "CNY", "zh") == "¥0.00"
    assert percent(0.1234) == "12.3%"
    assert percent(-0.0001) == "0.0%"
    assert plain(-0.004, decimals=2) == "0.00"


def _order(i: int, customer: str, day: int, fen: int, currency: str = "CNY") -> Order:
    return Order(order_id=f"o{i}", customer_id=customer,
                 placed_at=dt.datetime(2025, 11, day, 12, tzinfo=SH),
                 amount=Money(fen, currency), status="completed",
                 items=[OrderItem("TEA", Money(fen, currency), 1, "tea")], province="浙江省")


def _log(currency: str = "CNY") -> OrderLog:
    return OrderLog.from_orders([
        _order(1, "a", 2, 1_200_000, currency), _order(2, "a", 20, 34_500, currency),
        _order(3, "b", 5, 50_000, currency)])


def _own_words(page: str) -> list[str]:
    """Headings, captions, header cells, metric labels, notes: the page's own words."""
    pattern = (r"<h[12]>(.*?)</h[12]>|<caption>(.*?)</caption>|<th [^>]*>(.*?)</th>|"
               r'<div class="label">(.*?)</div>|<li>(.*?)</li>|<figcaption>(.*?)</figcaption>')
    return [next(g for g in m.groups() if g is not None) for m in re.finditer(pattern, page)]


def test_a_cny_shop_gets_a_chinese_page() -> None:
    report = build_report(_log(), as_of=AS_OF, store_name="小林茶铺")
    assert report.lang == "zh"
    page = render_html(report)
    assert '<html lang="zh-CN"' in page
    for section in report.sections:
        assert CJK.search(section.title), section.title
    words = _own_words(page)
    assert len(words) > 80
    # every heading, caption and label is Chinese, or a code (P50, sku, #, RFM letters)
    allowed = re.compile(r"^(#|sku|P\d\d|[0-9PGSB]|[0-9] .*|.*<span.*|)$")
    english = [t for t in words if not CJK.search(t) and not allowed.match(t)]
    assert english == []
    overview = {m.label: m for m in report.section("overview").metrics}
    # November 2025: ¥12,000 + ¥345 + ¥500 = ¥12,845 → 1.28万 in the headline
    assert overview["销售额"].value == "¥1.28万"
    assert overview["销售额"].comparisons[0][0] == "环比 2025-10"
    assert overview["销售额"].comparisons[1][0] == "同比 2024-11"


def test_english_on_request_and_for_other_currencies() -> None:
    page = render_html(build_report(_log(), lang="en", as_of=AS_OF, store_name="Tea"))
    assert '<html lang="en"' in page
    own = [t for t in _own_words(page) if CJK.search(t)]
    # only data and glosses may be Chinese: grade, stage and level names, provinces, 领卡
    assert all(re.search(r"铂金|黄金|白银|青铜|客户|会员|VIP|浙江|中文|领卡", t) for t in own), own
    usd = build_report(_log("USD"), as_of=AS_OF, store_name="Tea")
    assert usd.lang == "en"
    usd_page = render_html(usd)
    # no ¥ but for the SMS price (in yuan) in the touches section
    start = usd_page.index('<section id="touches"')
    assert "¥" not in usd_page[:start] + usd_page[usd_page.index("</section>", start):]
    overview = {m.label: m.value for m in usd.section("overview").metrics}
    assert overview["sales"] == "$12.8K"
    assert "$12,845.00" in usd_page  # the monthly table keeps exact figures
    # the SMS price is in yuan whatever the shop sells in
    touches = {m.label: m.value for m in usd.section("touches").metrics}
    assert touches["SMS cost"] == "¥0.00"
    assert any("× ¥0.05 per segment" in n for n in usd.section("touches").notes)
    with pytest.raises(InvalidValueError, match="lang"):
        build_report(_log(), lang="fr", as_of=AS_OF)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_number_is_written_minus_zero(lang: str) -> None:
    """Anywhere in the page: tables, metrics, chart ticks and labels (the CDNOW glitch)."""
    from ecrm.datasets import sample_shop

    shop = sample_shop(300, seed=2)
    page = render_html(build_report(shop.orders, as_of=shop.as_of, customers=shop.customers,
                                    lang=lang))
    text = re.sub(r"<[^>]+>", " ", page[page.index("<body>"):])
    assert re.findall(r"(?<![\w.,])-[¥$]?0(?:\.0+)?(?![\d.,])%?", text) == []
