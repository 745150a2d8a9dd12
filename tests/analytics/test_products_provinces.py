"""Product preference and province distribution against plain-Python recomputations."""

from __future__ import annotations

import datetime as dt
import inspect
from collections import defaultdict
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from analytics_helpers import is_valid, net
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrm.analytics
from ecrm import InvalidValueError, OrderItems, OrderLog, Window
from ecrm.analytics import normalize_province, product_preference, province_distribution
from ecrm.datasets import sample_shop
from ecrm.testing import order_logs

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2025, 6, 1, tzinfo=TZ)
END = dt.datetime(2025, 12, 1, tzinfo=TZ)


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return sample_shop(400, seed=4)


def preference_reference(log: OrderLog, start: dt.datetime, end: dt.datetime,
                         by: str, lookback: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """``lookback`` None: purchase days counted from the first ever; else the count starts
    again at a purchase day more than ``lookback`` days after the previous one."""
    per: dict[Any, list[Any]] = defaultdict(list)
    for o in log:
        if is_valid(o):
            per[o.customer_id].append(o)
    scopes: dict[str, list[Any]] = {"first_purchase": [], "first_repurchase": [],
                                    "repurchase": []}
    for orders in per.values():
        orders.sort(key=lambda o: o.placed_at)
        days = sorted({o.placed_at.astimezone(TZ).date() for o in orders})
        ordinal = {}
        for i, day in enumerate(days):
            again = lookback is not None and i > 0 and (day - days[i - 1]).days > lookback
            ordinal[day] = 1 if i == 0 or again else ordinal[days[i - 1]] + 1
        for o in orders:
            n = ordinal[o.placed_at.astimezone(TZ).date()]
            if not start <= o.placed_at < end:
                continue
            if n == 1:
                scopes["first_purchase"].append(o)
            if n == 2:
                scopes["first_repurchase"].append(o)
            if n >= 2:
                scopes["repurchase"].append(o)
    out = {}
    for name, orders in scopes.items():
        n_customers = len({o.customer_id for o in orders})
        cust: dict[str, set[Any]] = defaultdict(set)
        ords: dict[str, set[str]] = defaultdict(set)
        qty: dict[str, int] = defaultdict(int)
        sales: dict[str, int] = defaultdict(int)
        for o in orders:
            for it in o.items:
                key = it.sku if by == "sku" else (it.category or "")
                cust[key].add(o.customer_id)
                ords[key].add(o.order_id)
                qty[key] += it.quantity
                sales[key] += it.quantity * it.unit_price.fen
        rows = [(k, len(cust[k]), len(ords[k]), qty[k], sales[k],
                 Fraction(len(cust[k]), n_customers)) for k in cust]
        rows.sort(key=lambda r: (-r[1], -r[3], r[0]))
        out[name] = [(n_customers, *r) for r in rows]
    return out


def _rows(table) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return [(table.customers, r.key, r.customers, r.orders, r.quantity, r.sales_fen, r.share)
            for r in table.rows]


@pytest.mark.parametrize("by", ["sku", "category"])
def test_sample_preferences(shop, by: str) -> None:  # type: ignore[no-untyped-def]
    got = product_preference(shop.orders, window=Window(START, END), by=by, top=50)  # type: ignore[arg-type]
    want = preference_reference(shop.orders, START, END, by)
    for name in want:
        table = getattr(got, name)
        assert _rows(table) == want[name], name
        assert table.scope == name
        assert len(table.rows) > 0
    top3 = product_preference(shop.orders, window=Window(START, END), by=by, top=3)  # type: ignore[arg-type]
    assert _rows(top3.repurchase) == want["repurchase"][:3]
    assert top3.first_purchase.table()[0]["rank"] == 1
    assert top3.first_purchase.format_table().splitlines()[0].split()[:2] == ["#", by]


@pytest.mark.parametrize("lookback", [30, 90])
def test_sample_preferences_first_in_window(shop, lookback: int) -> None:  # type: ignore[no-untyped-def]
    got = product_preference(shop.orders, window=Window(START, END), top=50,
                             new_definition="first_in_window", lookback_days=lookback)
    want = preference_reference(shop.orders, START, END, "sku", lookback)
    ever = preference_reference(shop.orders, START, END, "sku")
    for name in want:
        assert _rows(getattr(got, name)) == want[name], name
    # customers back after a long gap are new again: more first purchases than "ever"
    assert want["first_purchase"][0][0] > ever["first_purchase"][0][0]


def test_first_in_window_by_hand() -> None:
    """c buys TEA on 1 Jan, CUP on 1 Feb, POT on 1 Jul 2025 (150 days later): with a
    90-day lookback the July day is a first purchase again; ever, it is the third."""
    from ecrm import Money, Order, OrderItem

    def order(i: int, month: int, sku: str) -> Order:
        return Order(order_id=f"o{i}", customer_id="c", amount=Money(1000),
                     placed_at=dt.datetime(2025, month, 1, 12, tzinfo=TZ), status="paid",
                     items=[OrderItem(sku, Money(1000), 1)])

    log = OrderLog.from_orders([order(1, 1, "TEA"), order(2, 2, "CUP"), order(3, 7, "POT")])
    july = {"window": Window(dt.datetime(2025, 7, 1, tzinfo=TZ), END)}
    ever = product_preference(log, **july)
    assert [r.key for r in ever.first_purchase.rows] == []
    assert [r.key for r in ever.repurchase.rows] == ["POT"]
    again = product_preference(log, **july, new_definition="first_in_window", lookback_days=90)
    assert [r.key for r in again.first_purchase.rows] == ["POT"]
    assert [r.key for r in again.repurchase.rows] == []
    # 150 days is not more than a 150-day lookback: still a repurchase
    same = product_preference(log, **july, new_definition="first_in_window", lookback_days=150)
    assert [r.key for r in same.repurchase.rows] == ["POT"]
    with pytest.raises(InvalidValueError, match="new_definition"):
        product_preference(log, **july, new_definition="first")
    with pytest.raises(InvalidValueError, match="lookback_days"):
        product_preference(log, **july, lookback_days=0)


WHEN = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2025, 12, 31),
                    timezones=st.just(TZ))


@settings(max_examples=30)
@given(order_logs(max_size=25, max_customers=6, placed_at=WHEN),
       st.none() | st.integers(min_value=1, max_value=120))
def test_random_logs(log: OrderLog, lookback: int | None) -> None:
    if log.items is None:
        with pytest.raises(InvalidValueError, match=r"orders\.items are needed"):
            product_preference(log, window=Window(START, END))
        return
    if lookback is None:
        got = product_preference(log, window=Window(START, END), top=100)
    else:
        got = product_preference(log, window=Window(START, END), top=100,
                                 new_definition="first_in_window", lookback_days=lookback)
    want = preference_reference(log, START, END, "sku", lookback)
    for name in want:
        assert _rows(getattr(got, name)) == want[name]


def test_preference_errors(shop) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match="must be after start"):
        product_preference(shop.orders, window=Window(END, START))
    with pytest.raises(TypeError, match=r"product_preference\(\) needs window="):
        product_preference(shop.orders)
    with pytest.raises(InvalidValueError, match="'sku' or 'category'"):
        product_preference(shop.orders, window=Window(START, END), by="brand")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="top"):
        product_preference(shop.orders, window=Window(START, END), top=0)


def distribution_reference(log: OrderLog, start: dt.datetime | None, end: dt.datetime | None
                           ) -> list[tuple[Any, ...]]:
    cust: dict[str, set[Any]] = defaultdict(set)
    orders: dict[str, int] = defaultdict(int)
    sales: dict[str, int] = defaultdict(int)
    for o in log:
        if not is_valid(o) or (start and o.placed_at < start) or (end and o.placed_at >= end):
            continue
        name = normalize_province(o.province) or "未知"
        cust[name].add(o.customer_id)
        orders[name] += 1
        sales[name] += net(o)
    total = sum(sales.values())
    rows = [(k, len(cust[k]), orders[k], sales[k], Fraction(sales[k], total) if total else None)
            for k in cust]
    rows.sort(key=lambda r: (r[0] == "未知", -r[3], -r[2], r[0]))
    return rows


def test_sample_provinces(shop) -> None:  # type: ignore[no-untyped-def]
    for start, end in ((None, None), (START, END)):
        d = province_distribution(shop.orders,
                                  window=None if start is None else Window(start, end))
        got = [(r.province, r.customers, r.orders, r.sales_fen, r.sales_share) for r in d.rows]
        assert got == distribution_reference(shop.orders, start, end)
    # Mixed spellings in the sample all resolve: 浙江 / 浙江省 / Zhejiang are one row.
    names = [r.province for r in d.rows]
    assert len(names) == len(set(names))
    assert all(n.endswith(("省", "市", "区")) or n == "未知" for n in names)
    assert d.table()[0]["province"] == d.rows[0].province


def test_unknown_provinces_are_counted_apart() -> None:
    log = OrderLog.from_arrays(
        ["a", "b", "c", "d"], [START] * 4, [100, 200, 400, 800],
        provinces=["浙江", "Zhejiang", "火星", ""], tz=TZ)
    d = province_distribution(log)
    assert [(r.province, r.customers, r.orders, r.sales_fen) for r in d.rows] == [
        ("浙江省", 2, 2, 300), ("未知", 2, 2, 1200)]
    assert d.unknown_spellings == ("火星",)
    assert "浙江省" in d.format_table()
    with pytest.raises(InvalidValueError, match="provinces"):
        province_distribution(OrderLog.from_arrays(["a"], [START], [1], tz=TZ))


def test_public_surface_is_exactly_all() -> None:
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    public = {n for n in dir(ecrm.analytics) if not n.startswith("_")}
    assert public == set(ecrm.analytics.__all__) == {
        "METRICS", "PROVINCES", "TAOBAO_LEGACY_PROVINCE_CODES", "UNKNOWN_PROVINCE",
        "Attribution", "AttributionCredits", "AttributionModel", "AttributionSeries",
        "BacktestDay", "BacktestReport", "CampaignReport", "Change", "Flow", "Freq",
        "MemberMetrics", "MemberPeriod", "NewCustomerDefinition", "Period", "PeriodMetrics",
        "PreferenceRow", "PreferenceTable", "ProductPreference", "Province",
        "ProvinceDistribution", "ProvinceRow", "RepurchaseBase", "StoreMetrics", "Touches",
        "attribute_sales", "backtest",
        "campaign_effect", "change", "holdout_mask", "holdout_score", "member_metrics",
        "normalize_province", "normalize_provinces", "periods", "product_preference",
        "province_distribution", "split_audience", "standard_flows", "store_metrics",
    }
    assert list(ecrm.analytics.__all__) == sorted(ecrm.analytics.__all__, key=kind)
    for name in ecrm.analytics.__all__:
        value = getattr(ecrm.analytics, name)
        if inspect.isclass(value) or inspect.isfunction(value):  # not type aliases (Flow)
            assert value.__doc__, name


def test_items_type_is_used() -> None:
    """Guard: the sample's order lines are what the preference tables read."""
    assert isinstance(sample_shop(50).orders.items, OrderItems)


def test_start_end_are_deprecated_aliases_of_window(shop) -> None:  # type: ignore[no-untyped-def]
    """The old bounds still work (with a warning) and give the window's result."""
    with pytest.warns(DeprecationWarning, match=r"product_preference\(\): the keywords start="):
        old = product_preference(shop.orders, start=START, end=END, top=5)
    assert old == product_preference(shop.orders, window=Window(START, END), top=5)
    with pytest.warns(DeprecationWarning, match=r"province_distribution\(\): the keywords"):
        half_open = province_distribution(shop.orders, start=START)
    assert [(r.province, r.sales_fen) for r in half_open.rows] == [
        (p, fen) for p, _, _, fen, _ in distribution_reference(shop.orders, START, None)]
    with pytest.raises(TypeError, match="got window= and its deprecated start=/end="):
        province_distribution(shop.orders, window=Window(START, END), end=END)
