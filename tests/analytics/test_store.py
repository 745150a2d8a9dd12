"""Store metrics against a plain-Python recomputation, on the sample shop and random logs."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from analytics_helpers import store_reference
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, Window
from ecrm.analytics import (
    METRICS,
    NewCustomerDefinition,
    RepurchaseBase,
    periods,
    store_metrics,
)
from ecrm.datasets import sample_shop
from ecrm.testing import order_logs

TZ = ZoneInfo("Asia/Shanghai")
FIELDS = ["sales_fen", "orders", "customers", "new_customers", "new_orders", "new_sales_fen",
          "returning_customers", "returning_sales_fen", "repurchasers", "repurchase_base",
          "new_repurchasers", "returning_repurchasers", "attributed_sales_fen"]


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return sample_shop(400, seed=1)


def _check(log: OrderLog, ps, definition: str, lookback: int, base: str,  # type: ignore[no-untyped-def]
           attributed: set[str] | None) -> None:
    ids = None if attributed is None else sorted(int(i) if i.isdigit() else i for i in attributed)
    m = store_metrics(log, ps, new_definition=definition, lookback_days=lookback,
                      repurchase_base=base, attributed=ids)
    for p, row, prev, ago in zip(ps, m.rows, m.previous, m.year_ago, strict=True):
        for period, got in ((p, row), (p.previous(), prev), (p.year_ago(), ago)):
            pp = period.previous()
            want = store_reference(log, period.start, period.end, (pp.start, pp.end),
                                   definition=definition, lookback_days=lookback, base=base,
                                   attributed=attributed)
            assert {f: getattr(got, f) for f in FIELDS} == want, period.label


@pytest.mark.parametrize("definition", ["first_order_ever", "first_in_window"])
@pytest.mark.parametrize("base", ["in_period", "previous_period", "ever_before"])
def test_sample_shop_months(shop, definition: str, base: str) -> None:  # type: ignore[no-untyped-def]
    ps = periods(Window.of_dates(dt.date(2025, 5, 1), dt.date(2025, 12, 1), TZ), tz=TZ)
    app = shop.orders.order_ids[shop.orders.channels == "app"]
    _check(shop.orders, ps, definition, 90, base, {str(i) for i in app.tolist()})


def test_sample_shop_quarters_and_years(shop) -> None:  # type: ignore[no-untyped-def]
    for freq in ("quarter", "year"):
        ps = periods(Window.of_dates(dt.date(2024, 10, 1), dt.date(2025, 12, 1), TZ), freq, tz=TZ)
        _check(shop.orders, ps, "first_in_window", 365, "previous_period", None)


def test_definitions_differ_on_the_sample(shop) -> None:  # type: ignore[no-untyped-def]
    """A short lookback makes lapsed customers new again: FIRST_IN_WINDOW counts more new."""
    ps = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 12, 1), TZ), tz=TZ)
    ever = store_metrics(shop.orders, ps)
    window = store_metrics(shop.orders, ps, new_definition="first_in_window", lookback_days=60)
    assert sum(window.values("new_customers")) > sum(ever.values("new_customers"))
    assert ever.values("sales_fen") == window.values("sales_fen")


WHEN = st.datetimes(min_value=dt.datetime(2023, 11, 25), max_value=dt.datetime(2025, 3, 5),
                    timezones=st.just(TZ))


@settings(max_examples=30)
@given(order_logs(max_size=30, max_customers=8, placed_at=WHEN),
       st.sampled_from(list(NewCustomerDefinition)), st.sampled_from(list(RepurchaseBase)),
       st.integers(min_value=1, max_value=400))
def test_random_logs(log: OrderLog, definition, base, lookback: int) -> None:  # type: ignore[no-untyped-def]
    ps = periods(Window.of_dates(dt.date(2024, 11, 1), dt.date(2025, 3, 1), TZ), tz=TZ)
    _check(log, ps, definition.value, lookback, base.value, None)


def _log(rows: list[tuple[str, dt.datetime, int]], statuses: list[str] | None = None) -> OrderLog:
    return OrderLog.from_arrays(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        order_ids=[f"o{i}" for i in range(len(rows))], statuses=statuses, tz=TZ)


def at(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=TZ)


def test_period_boundaries_are_half_open_in_the_store_zone() -> None:
    log = _log([
        ("a", at(2025, 1, 31, 23, 59), 100),
        ("b", at(2025, 2, 1), 200),
        # Jan 31 16:00 UTC is Feb 1 00:00 in Shanghai: February.
        ("c", dt.datetime(2025, 1, 31, 16, tzinfo=dt.UTC), 400),
        ("d", at(2025, 3, 1) - dt.timedelta(microseconds=1), 800),
        ("e", at(2025, 3, 1), 1600),
    ])
    m = store_metrics(log, periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 4, 1), TZ), tz=TZ))
    assert m.values("sales_fen") == [100, 1400, 1600]
    assert m.values("customers") == [1, 3, 1]


def test_hand_worked_month() -> None:
    log = _log([
        ("a", at(2024, 12, 5), 1000),  # a: returning in January
        ("a", at(2025, 1, 3), 3000),
        ("a", at(2025, 1, 3, 20), 1000),  # same day: one purchase day
        ("b", at(2025, 1, 10), 2000),  # b: new, two purchase days
        ("b", at(2025, 1, 20), 2000),
        ("c", at(2025, 1, 15), 9000),  # closed: not valid
    ], statuses=["paid", "paid", "paid", "paid", "paid", "closed"])
    jan = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 2, 1), TZ), tz=TZ)
    m = store_metrics(log, jan)
    r = m.rows[0]
    assert (r.sales_fen, r.orders, r.customers) == (8000, 4, 2)
    assert (r.new_customers, r.new_sales_fen, r.new_orders) == (1, 4000, 2)
    assert (r.returning_customers, r.returning_sales_fen, r.returning_orders) == (1, 4000, 2)
    assert r.average_order_fen == 2000
    assert r.new_average_order_fen == 2000
    assert r.repurchase_rate == Fraction(1, 2)  # b has two purchase days, a one
    assert (r.new_repurchase_rate, r.returning_repurchase_rate) == (1, 0)
    assert r.returning_share == Fraction(1, 2)
    assert r.attributed_share is None
    prev = store_metrics(log, jan, repurchase_base="previous_period").rows[0]
    assert (prev.repurchasers, prev.repurchase_base) == (1, 1)
    ever = store_metrics(log, jan, repurchase_base=RepurchaseBase.EVER_BEFORE).rows[0]
    assert (ever.repurchasers, ever.repurchase_base) == (1, 1)
    # December: only a, who is new then.
    assert m.previous[0].new_customers == 1
    assert m.year_ago[0].customers == 0
    # a's December order is 29 days before January: a 20-day window makes a new again.
    w = store_metrics(log, jan, new_definition="first_in_window", lookback_days=20).rows[0]
    assert w.new_customers == 2
    w = store_metrics(log, jan, new_definition="first_in_window", lookback_days=29).rows[0]
    assert w.new_customers == 1  # Dec 5 00:00 is exactly 29 days back: inside the window
    attributed = store_metrics(log, jan, attributed=["o1", "o4", "o5"]).rows[0]
    assert attributed.attributed_sales_fen == 5000  # o5 is closed: not a sale
    assert attributed.attributed_share == Fraction(5, 8)
    mask = np.zeros(len(log), dtype=bool)
    mask[[0, 1]] = True  # rows are sorted by customer then time: a's first two orders
    assert store_metrics(log, jan, attributed=mask).rows[0].attributed_sales_fen == 3000


def test_comparisons_and_tables() -> None:
    log = _log([("a", at(2024, 1, 5), 1000), ("a", at(2025, 1, 5), 1500),
                ("b", at(2024, 12, 5), 3000)])
    m = store_metrics(log, periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 2, 1), TZ), tz=TZ))
    yoy = m.changes("sales_fen", "year_ago")[0]
    assert (yoy.base, yoy.absolute, yoy.relative) == (1000, 500, Fraction(1, 2))
    pop = m.changes("sales_fen")[0]
    assert (pop.base, pop.relative) == (3000, Fraction(-1, 2))
    assert m.changes("new_customers", "year_ago")[0].relative == Fraction(-1)
    row = m.table()[0]
    assert row["period"] == "2025-01"
    assert row["sales_fen"] == 1500
    assert row["sales_fen_yoy"] == yoy
    assert set(row) == {"period"} | {f"{n}{s}" for n, _ in METRICS for s in ("", "_pop", "_yoy")}
    text = m.format_table(["sales_fen", "repurchase_rate"], compare="year_ago")
    assert text.splitlines()[0].split() == ["period", "sales", "YoY", "repurchase", "YoY"]
    assert text.splitlines()[1].split() == ["2025-01", "¥15.00", "+50.0%", "0.0%", "+0.0pt"]
    assert "PoP" not in m.format_table(compare=None)


def test_bad_arguments() -> None:
    log = _log([("a", at(2025, 1, 5), 1000)])
    jan = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 2, 1), TZ), tz=TZ)
    with pytest.raises(InvalidValueError, match="at least one period"):
        store_metrics(log, [])
    with pytest.raises(InvalidValueError, match="must be a month"):
        store_metrics(log, [*jan, *periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 2, 1), TZ), "year")])
    with pytest.raises(InvalidValueError, match="first_order_ever, first_in_window"):
        store_metrics(log, jan, new_definition="oldest")
    with pytest.raises(InvalidValueError, match="in_period"):
        store_metrics(log, jan, repurchase_base="x")
    with pytest.raises(InvalidValueError, match=">= 1"):
        store_metrics(log, jan, lookback_days=0)
    with pytest.raises(InvalidValueError, match="shape"):
        store_metrics(log, jan, attributed=np.zeros(3, dtype=bool))
    with pytest.raises(InvalidTypeError):
        store_metrics("log", jan)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="metric"):
        store_metrics(log, jan).values("profit")
    with pytest.raises(InvalidValueError, match="against"):
        store_metrics(log, jan).changes("orders", "last_week")
