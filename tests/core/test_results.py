"""The one result protocol: every result type's rows equal a hand-worked expectation, survive
a CSV round trip, and ``to_pandas`` / ``to_polars`` / ``to_arrow`` / ``to_dicts`` agree.

The shop is in ``results_shop.py`` (five customers, worked by hand in its docstring and in
the comments of each test below).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from results_shop import AS_OF, SH, at, shop_customers, shop_log

from ecrm import MissingDependencyError, Money, OrderLog, Window
from ecrm._results import ResultFrame, table_csv
from ecrm.analytics import (
    Touches,
    attribute_sales,
    campaign_effect,
    member_metrics,
    periods,
    product_preference,
    province_distribution,
    store_metrics,
)
from ecrm.datasets import sample_shop
from ecrm.lifecycle import (
    cycles_by,
    due_repurchase_reminders,
    inactive_customers,
    repurchase_cycle,
    stage_transitions,
    stages,
)
from ecrm.rfm import classic_segments, score
from ecrm.segments import audience, lapsed_customers
from ecrm.testing import order_logs
from ecrm.tiers import TAOBAO_STORE_VIP, monthly_upgrade_rate, tier_flow, what_if

D = dt.date
BANDS = (30, 60, 90)


# -- hand-worked rows of every result type ---------------------------------------------------
def rfm_rows() -> list[dict[str, Any]]:
    # a: last 05-20 (12 days, R5), 2 orders (F2), ¥500 (M3): 5 + 6 + 12 = 23 → S
    # b: last 2023-07-01 (336 days, R1), F1, ¥10 M1: 1 + 3 + 4 = 8 → B
    # e: last 03-15 (78 days, within 3 months: R4), F1, ¥150 M1: 4 + 3 + 4 = 11 → B
    return [
        {"customer_id": "a", "last_order_at": at(2024, 5, 20, 15, 30), "recency_days": 12,
         "frequency": 2, "monetary_fen": 50_000, "r": 5, "f": 2, "m": 3, "total": 23,
         "grade": "S"},
        {"customer_id": "b", "last_order_at": at(2023, 7, 1, 9), "recency_days": 336,
         "frequency": 1, "monetary_fen": 1_000, "r": 1, "f": 1, "m": 1, "total": 8,
         "grade": "B"},
        {"customer_id": "e", "last_order_at": at(2024, 3, 15, 12), "recency_days": 78,
         "frequency": 1, "monetary_fen": 15_000, "r": 4, "f": 1, "m": 1, "total": 11,
         "grade": "B"},
    ]


UNSCORED_C = {"customer_id": "c", "last_order_at": None, "recency_days": None, "frequency": 0,
              "monetary_fen": 0, "r": None, "f": None, "m": None, "total": None, "grade": None}

# Reference = mean scores (10/3, 4/3, 5/3): a is high on all three (重要价值), b low on all
# (一般挽留), e high on R only (一般发展).
SEGMENT_ROWS = [
    {"customer_id": "a", "segment": "important_value", "segment_zh": "重要价值客户",
     "r": 5, "f": 2, "m": 3},
    {"customer_id": "b", "segment": "general_win_back", "segment_zh": "一般挽留客户",
     "r": 1, "f": 1, "m": 1},
    {"customer_id": "e", "segment": "general_development", "segment_zh": "一般发展客户",
     "r": 4, "f": 1, "m": 1},
]

# TAOBAO_STORE_VIP: ¥100 / 3 orders, ¥200 / 5, ¥500 / 10, ¥2,000 / 20.
# a: ¥500 → level 3 (joined), next 4 needs ¥1,500 or 18 orders; b: ¥10, joined but no level;
# c: no valid order; e: ¥150 qualifies for 1 but has not joined (potential), next 2 needs
# ¥50 or 4 orders.
TIER_ROWS = [
    {"customer_id": "a", "level": 3, "level_name": "VIP会员", "qualified_level": 3,
     "opted_in": True, "potential": False, "spend_fen": 50_000, "orders": 2,
     "next_level": 4, "spend_to_next_fen": 150_000, "orders_to_next": 18},
    {"customer_id": "b", "level": 0, "level_name": "店铺客户", "qualified_level": 0,
     "opted_in": True, "potential": False, "spend_fen": 1_000, "orders": 1,
     "next_level": 1, "spend_to_next_fen": 9_000, "orders_to_next": 2},
    {"customer_id": "c", "level": 0, "level_name": "店铺客户", "qualified_level": 0,
     "opted_in": False, "potential": False, "spend_fen": 0, "orders": 0,
     "next_level": 1, "spend_to_next_fen": 10_000, "orders_to_next": 3},
    {"customer_id": "e", "level": 0, "level_name": "店铺客户", "qualified_level": 1,
     "opted_in": False, "potential": True, "spend_fen": 15_000, "orders": 1,
     "next_level": 2, "spend_to_next_fen": 5_000, "orders_to_next": 4},
]

# Bands 30 / 60 / 90: a 12 days (2 purchase days) active; b 336 churned; c and d
# prospects; e 78 days sleeping.
STAGE_ROWS = [
    {"customer_id": "a", "stage": "active", "stage_zh": "活跃", "days_since_last": 12,
     "last_purchase_date": D(2024, 5, 20), "n_purchase_days": 2, "boundary": None},
    {"customer_id": "b", "stage": "churned", "stage_zh": "流失", "days_since_last": 336,
     "last_purchase_date": D(2023, 7, 1), "n_purchase_days": 1, "boundary": "P90"},
    {"customer_id": "c", "stage": "prospect", "stage_zh": "潜客", "days_since_last": None,
     "last_purchase_date": None, "n_purchase_days": 0, "boundary": None},
    {"customer_id": "d", "stage": "prospect", "stage_zh": "潜客", "days_since_last": None,
     "last_purchase_date": None, "n_purchase_days": 0, "boundary": None},
    {"customer_id": "e", "stage": "sleeping", "stage_zh": "睡眠", "days_since_last": 78,
     "last_purchase_date": D(2024, 3, 15), "n_purchase_days": 1, "boundary": "P70"},
]


def _store_period(label: str, start: dt.datetime, end: dt.datetime, **v: Any) -> dict[str, Any]:
    row = {"period": label, "start": start, "end": end}
    row.update(v)
    return row


# April: a's first order ever (¥300) → one new customer; May: a again (¥200) → returning;
# c's May order is closed. Nobody has two purchase days within a month.
STORE_ROWS = [
    _store_period(
        "2024-04", at(2024, 4, 1), at(2024, 5, 1), sales_fen=30_000, orders=1, customers=1,
        average_order_fen=30_000, new_customers=1, new_sales_fen=30_000,
        new_average_order_fen=30_000, returning_customers=0, returning_sales_fen=0,
        returning_average_order_fen=None, repurchase_rate=0.0, new_repurchase_rate=0.0,
        returning_repurchase_rate=None, attributed_sales_fen=None, attributed_share=None,
    ),
    _store_period(
        "2024-05", at(2024, 5, 1), at(2024, 6, 1), sales_fen=20_000, orders=1, customers=1,
        average_order_fen=20_000, new_customers=0, new_sales_fen=0,
        new_average_order_fen=None, returning_customers=1, returning_sales_fen=20_000,
        returning_average_order_fen=20_000, repurchase_rate=0.0, new_repurchase_rate=None,
        returning_repurchase_rate=0.0, attributed_sales_fen=None, attributed_share=None,
    ),
]

# May 2024, levels at June 1: a at 3 (member), b / c / e store customers (level 0); d never
# ordered. a's ¥200 is all of May's sales.
MEMBER_ROWS = [
    {"period": "2024-05", "level": 0, "level_name": "店铺客户", "customers": 3,
     "tier_share": None, "sales_fen": 0, "sales_share": 0.0, "active": 0, "activity": 0.0},
    {"period": "2024-05", "level": 1, "level_name": "普通会员", "customers": 0,
     "tier_share": 0.0, "sales_fen": 0, "sales_share": 0.0, "active": 0, "activity": None},
    {"period": "2024-05", "level": 2, "level_name": "高级会员", "customers": 0,
     "tier_share": 0.0, "sales_fen": 0, "sales_share": 0.0, "active": 0, "activity": None},
    {"period": "2024-05", "level": 3, "level_name": "VIP会员", "customers": 1,
     "tier_share": 1.0, "sales_fen": 20_000, "sales_share": 1.0, "active": 1,
     "activity": 1.0},
    {"period": "2024-05", "level": 4, "level_name": "至尊VIP", "customers": 0,
     "tier_share": 0.0, "sales_fen": 0, "sales_share": 0.0, "active": 0, "activity": None},
]

# Valid sales ¥660: 浙江 ¥500 (a, 2 orders), 上海 ¥150 (e), 广东 ¥10 (b; c's order closed).
PROVINCE_ROWS = [
    {"province": "浙江省", "customers": 1, "orders": 2, "sales_fen": 50_000,
     "sales_share": 50_000 / 66_000},
    {"province": "上海市", "customers": 1, "orders": 1, "sales_fen": 15_000,
     "sales_share": 15_000 / 66_000},
    {"province": "广东省", "customers": 1, "orders": 1, "sales_fen": 1_000,
     "sales_share": 1_000 / 66_000},
]

# First purchase days in [2023-06-01, 2024-06-01): a TEA ¥300, b SNK ¥10, e CUP ¥150 (one
# customer each: ties by key). a's second day (TEA ¥200) is the only later one.
FIRST_PURCHASE_ROWS = [
    {"rank": 1, "sku": "CUP", "customers": 1, "share": 1 / 3, "orders": 1, "quantity": 1,
     "sales_fen": 15_000},
    {"rank": 2, "sku": "SNK", "customers": 1, "share": 1 / 3, "orders": 1, "quantity": 1,
     "sales_fen": 1_000},
    {"rank": 3, "sku": "TEA", "customers": 1, "share": 1 / 3, "orders": 1, "quantity": 1,
     "sales_fen": 30_000},
]
LATER_ROW = {"rank": 1, "sku": "TEA", "customers": 1, "share": 1.0, "orders": 1,
             "quantity": 1, "sales_fen": 20_000}


def _results() -> dict[str, tuple[Callable[[], ResultFrame], list[dict[str, Any]]]]:
    """Each result type of the shop and its hand-worked rows."""
    log, customers = shop_log(), shop_customers()

    def rfm() -> Any:
        return score(log, as_of=AS_OF, warn_undersized=False)

    def cycles() -> Any:
        return cycles_by(log, by="sku", as_of=AS_OF, min_repurchasers=1)

    proposed = TAOBAO_STORE_VIP.with_tier(1, min_spend=Money(1_000))
    may = periods(Window.of_dates(D(2024, 5, 1), D(2024, 6, 1), SH), tz=SH)
    treated_start = at(2024, 5, 15)
    return {
        "RfmResult": (rfm, rfm_rows()),
        "SegmentResult": (lambda: classic_segments(rfm()), SEGMENT_ROWS),
        "TierResult": (
            lambda: TAOBAO_STORE_VIP.evaluate_log(log, as_of=AS_OF, opted_in=customers),
            TIER_ROWS,
        ),
        # At 2024-03-01 nobody had ordered enough; at June 1 a is at level 3.
        "TierFlow": (
            lambda: tier_flow(log, TAOBAO_STORE_VIP, start=at(2024, 3, 1), as_of=AS_OF,
                              opted_in=customers),
            [{"customer_id": c, "level_start": 0, "level_end": lv}
             for c, lv in (("a", 3), ("b", 0), ("c", 0), ("e", 0))],
        ),
        # April 1: no member yet; May 1: a at level 2 (¥300), at level 3 on June 1.
        "UpgradeRate": (
            lambda: monthly_upgrade_rate(log, TAOBAO_STORE_VIP, opted_in=customers,
                                         window=Window(at(2024, 4, 1), AS_OF)),
            [{"month": D(2024, 4, 1), "members": 0, "upgraded": 0, "rate": None},
             {"month": D(2024, 5, 1), "members": 1, "upgraded": 1, "rate": 1.0}],
        ),
        # Level 1 from ¥10: b (joined, ¥10) would be a member.
        "WhatIf": (
            lambda: what_if(log, TAOBAO_STORE_VIP, proposed, as_of=AS_OF, opted_in=customers),
            [{"customer_id": c, "level_current": x, "level_proposed": y}
             for c, x, y in (("a", 3, 3), ("b", 0, 1), ("c", 0, 0), ("e", 0, 0))],
        ),
        # One repurchaser (a, 04-02 → 05-20: 48 days) of three first-time buyers.
        "RepurchaseCycle": (
            lambda: repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1),
            [{"scope": "store", "method": "observed", "same_day": "merge", "p50_days": 48,
              "p70_days": 48, "p90_days": 48, "n_first_time_buyers": 3, "n_repurchasers": 1,
              "repurchase_rate": 1 / 3, "as_of": AS_OF}],
        ),
        # TEA has its own repurchaser; CUP and SNK fall back to the store's 48 days.
        "CycleTable": (
            cycles,
            [{"sku": "CUP", "category": "teaware", "p50_days": 48, "p70_days": 48,
              "p90_days": 48, "estimate_p50_days": None, "estimate_p70_days": None,
              "estimate_p90_days": None, "n_first_time_buyers": 1, "n_repurchasers": 0,
              "scope": "store"},
             {"sku": "SNK", "category": "snack", "p50_days": 48, "p70_days": 48,
              "p90_days": 48, "estimate_p50_days": None, "estimate_p70_days": None,
              "estimate_p90_days": None, "n_first_time_buyers": 1, "n_repurchasers": 0,
              "scope": "store"},
             {"sku": "TEA", "category": "tea", "p50_days": 48, "p70_days": 48,
              "p90_days": 48, "estimate_p50_days": 48, "estimate_p70_days": 48,
              "estimate_p90_days": 48, "n_first_time_buyers": 1, "n_repurchasers": 1,
              "scope": "sku:TEA"}],
        ),
        "StageResult": (
            lambda: stages(log, as_of=AS_OF, cycle=BANDS, customers=customers),
            STAGE_ROWS,
        ),
        # On May 1: a one purchase day 29 days ago (new), c not known yet (prospect),
        # e 47 days (silent); on June 1 as in STAGE_ROWS.
        "TransitionMatrix": (
            lambda: stage_transitions(log, start=at(2024, 5, 1), as_of=AS_OF, cycle=BANDS),
            [{"customer_id": "a", "from_stage": "new", "to_stage": "active"},
             {"customer_id": "b", "from_stage": "churned", "to_stage": "churned"},
             {"customer_id": "c", "from_stage": "prospect", "to_stage": "prospect"},
             {"customer_id": "e", "from_stage": "silent", "to_stage": "sleeping"}],
        ),
        "CustomerDays": (
            lambda: inactive_customers(log, as_of=AS_OF, days=30),
            [{"customer_id": "b", "days_since_last": 336},
             {"customer_id": "e", "days_since_last": 78}],
        ),
        # a's last TEA day 05-20 + 48 days = 07-07.
        "DueReminders": (
            lambda: due_repurchase_reminders(log, as_of=D(2024, 7, 7), cycles=cycles()),
            [{"customer_id": "a", "sku": "TEA", "last_purchase_date": D(2024, 5, 20),
              "p50_days": 48, "scope": "sku:TEA"}],
        ),
        "StoreMetrics": (
            lambda: store_metrics(log, periods(Window.of_dates(D(2024, 4, 1), D(2024, 6, 1), SH), tz=SH)),
            STORE_ROWS,
        ),
        "MemberMetrics": (lambda: member_metrics(log, customers, may), MEMBER_ROWS),
        "ProvinceDistribution": (lambda: province_distribution(log), PROVINCE_ROWS),
        "PreferenceTable": (
            lambda: product_preference(log, window=Window(at(2023, 6, 1), AS_OF)).first_purchase,
            FIRST_PURCHASE_ROWS,
        ),
        "ProductPreference": (
            lambda: product_preference(log, window=Window(at(2023, 6, 1), AS_OF)),
            [{"scope": "first_purchase", **r} for r in FIRST_PURCHASE_ROWS]
            + [{"scope": "first_repurchase", **LATER_ROW}, {"scope": "repurchase", **LATER_ROW}],
        ),
        # Lapsed for 60 days: b (336) and e (78).
        "Audience": (
            lambda: audience(lapsed_customers(60), customers=customers, orders=log, as_of=AS_OF),
            [{"customer_id": "b"}, {"customer_id": "e"}],
        ),
        # a orders ¥200 within 7 days of 05-15; e and the holdout b do not. Cost 3 × 5 fen;
        # ROI (20,000 − 15) / 15.
        "CampaignReport": (
            lambda: campaign_effect(
                log, campaign_id="c1", treated=["a", "e"], holdout=["b"], start=treated_start,
                days=7, segments=3, price_per_segment=Money(5),
            ),
            [{"campaign_id": "c1", "start": treated_start, "days": 7, "n_treated": 2,
              "n_holdout": 1, "responders_treated": 1, "responders_holdout": 0,
              "rate_treated": 0.5, "rate_holdout": 0.0, "uplift": 0.5, "relative_uplift": None,
              # 95% normal interval: 0.5 ± 1.96 · √(0.5 · 0.5 / 2 + 0 / 1)
              "uplift_low": 0.5 - 1.959963984540054 * 0.125 ** 0.5,
              "uplift_high": 0.5 + 1.959963984540054 * 0.125 ** 0.5,
              "revenue_treated_fen": 20_000, "revenue_holdout_fen": 0,
              "incremental_revenue_fen": 20_000, "segments": 3, "price_per_segment_fen": 5,
              "other_cost_fen": 0, "cost_fen": 15, "roi": float(Fraction(19_985, 15)), "currency": "CNY"}],
        ),
    }


RESULTS = _results()


def _same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Rows equal, key order included; floats to 1e-12, instants by instant and offset."""
    assert [list(r) for r in got] == [list(r) for r in want]
    for g, w in zip(got, want, strict=True):
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, rel=1e-12), k
            elif isinstance(v, dt.datetime):
                assert g[k] == v, k
                assert g[k].utcoffset() == v.utcoffset(), k
            else:
                assert g[k] == v, k
                assert type(g[k]) is type(v), k
    assert len(got) == len(want)


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_rows_equal_the_hand_worked_expectation(name: str) -> None:
    make, want = RESULTS[name]
    result = make()
    assert type(result).__name__ == name
    _same(result.to_dicts(), want)


def test_rfm_rows_with_the_unscored_customers() -> None:
    result = score(shop_log(), as_of=AS_OF, warn_undersized=False)
    _same(result.to_dicts(include_unscored=True), [*rfm_rows(), UNSCORED_C])


def test_rfm_pandas_frame_equals_a_hand_built_frame() -> None:
    frame = score(shop_log(), as_of=AS_OF, warn_undersized=False).to_pandas()
    want = pd.DataFrame({
        "customer_id": ["a", "b", "e"],
        "last_order_at": pd.to_datetime(
            ["2024-05-20T07:30:00Z", "2023-07-01T01:00:00Z", "2024-03-15T04:00:00Z"]
        ).as_unit("us").tz_convert("Asia/Shanghai"),
        "recency_days": np.asarray([12, 336, 78], dtype=np.int64),
        "frequency": np.asarray([2, 1, 1], dtype=np.int64),
        "monetary_fen": np.asarray([50_000, 1_000, 15_000], dtype=np.int64),
        "r": np.asarray([5, 1, 4], dtype=np.int64),
        "f": np.asarray([2, 1, 1], dtype=np.int64),
        "m": np.asarray([3, 1, 1], dtype=np.int64),
        "total": np.asarray([23, 8, 11], dtype=np.int64),
        "grade": ["S", "B", "B"],
    })
    pd.testing.assert_frame_equal(frame, want)


def test_stage_polars_frame_equals_a_hand_built_frame() -> None:
    frame = stages(shop_log(), as_of=AS_OF, cycle=BANDS, customers=shop_customers()).to_polars()
    want = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "stage": ["active", "churned", "prospect", "prospect", "sleeping"],
            "stage_zh": ["活跃", "流失", "潜客", "潜客", "睡眠"],
            "days_since_last": [12, 336, None, None, 78],
            "last_purchase_date": [D(2024, 5, 20), D(2023, 7, 1), None, None, D(2024, 3, 15)],
            "n_purchase_days": [2, 1, 0, 0, 1],
            "boundary": [None, "P90", None, None, "P70"],
        },
        schema_overrides={"days_since_last": pl.Int64, "n_purchase_days": pl.Int64},
    )
    assert frame.equals(want)
    assert frame.schema == want.schema


def test_money_is_integer_fen_and_times_are_aware_in_every_frame() -> None:
    for name, (make, _) in RESULTS.items():
        result = make()
        table = result.to_arrow()
        frame = result.to_polars()
        pframe = result.to_pandas()
        for field in table.schema:
            if field.name.endswith("_fen"):
                assert pa.types.is_int64(field.type), (name, field)
                assert frame.schema[field.name] == pl.Int64, (name, field.name)
                assert pframe[field.name].dtype.kind == "i", (name, field.name)
            if pa.types.is_timestamp(field.type):
                assert field.type.tz == "Asia/Shanghai", (name, field)
                assert str(pframe[field.name].dt.tz) == "Asia/Shanghai"


# -- the four ways out agree -----------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A frame cell as a plain Python value (nulls → None, pandas / numpy scalars → Python)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def _pandas_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _check_agree(result: ResultFrame, **options: Any) -> None:
    rows = result.to_dicts(**options)
    want = [{k: _plain(v) for k, v in r.items()} for r in rows]
    for got in (
        _pandas_rows(result.to_pandas(**options)),
        [{k: _plain(v) for k, v in r.items()} for r in result.to_polars(**options).to_dicts()],
        [{k: _plain(v) for k, v in r.items()} for r in result.to_arrow(**options).to_pylist()],
    ):
        assert [list(r) for r in got] == [list(r) for r in want] or not want
        for g, w in zip(got, want, strict=True):
            for k in w:
                assert g[k] == w[k], k
                if isinstance(w[k], dt.datetime):
                    assert g[k].utcoffset() == w[k].utcoffset(), k
    _check_csv(result, rows, **options)


def _parse(text: str, like: Any) -> Any:
    if text == "":
        return None
    if isinstance(like, bool):
        return {"true": True, "false": False}[text]
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, dt.datetime):
        return dt.datetime.fromisoformat(text)
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(text)
    return text


def _check_csv(result: ResultFrame, rows: list[dict[str, Any]], **options: Any) -> None:
    """Write CSV, read it back with the csv module and parse each cell by its kind."""
    buf = io.StringIO()
    result.to_csv(buf, **options)
    back = list(csv.reader(io.StringIO(buf.getvalue())))
    names = list(result._columns(**options))
    assert back[0] == names
    assert len(back) == len(rows) + 1
    kinds: dict[str, Any] = {}
    for r in rows:
        for k, v in r.items():
            if v is not None:
                kinds.setdefault(k, v)
    for line, want in zip(back[1:], rows, strict=True):
        got = {k: _parse(cell, kinds.get(k, "")) for k, cell in zip(names, line, strict=True)}
        for k, v in want.items():
            if isinstance(v, str):
                assert got[k] == (v or None), k  # an empty string reads back as missing
            else:
                assert got[k] == v, k
            if isinstance(v, dt.datetime):
                assert got[k].utcoffset() == v.utcoffset()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_the_four_frames_and_the_csv_agree_on_the_shop(name: str) -> None:
    _check_agree(RESULTS[name][0]())


def test_csv_to_a_path_writes_utf8(tmp_path: Path) -> None:
    path = tmp_path / "stages.csv"
    stages(shop_log(), as_of=AS_OF, cycle=BANDS).to_csv(path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[:2] == [
        "customer_id,stage,stage_zh,days_since_last,last_purchase_date,n_purchase_days,boundary",
        "a,active,活跃,12,2024-05-20,2,",
    ]


@settings(max_examples=40, deadline=None)
@given(
    log=st.tuples(
        st.sampled_from(["Asia/Shanghai", "America/New_York", "UTC"]), st.sampled_from(["str", "int"])
    ).flatmap(lambda p: order_logs(max_size=20, tz=p[0], customer_kind=p[1])),
    kind=st.sampled_from(
        ["rfm", "segments", "stages", "transitions", "inactive", "tiers", "cycle", "flow"]
    ),
)
def test_frames_agree_on_random_logs(log: OrderLog, kind: str) -> None:
    as_of = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    if kind == "rfm":
        result = score(log, as_of=as_of, warn_undersized=False)
        _check_agree(result, include_unscored=True)
        _check_agree(result)
        return
    if kind == "stages":
        made: ResultFrame = stages(log, as_of=as_of, cycle=BANDS)
    elif kind == "segments":
        made = classic_segments(score(log, as_of=as_of, warn_undersized=False))
    elif kind == "transitions":
        made = stage_transitions(log, start=as_of - dt.timedelta(days=90), as_of=as_of, cycle=BANDS)
    elif kind == "inactive":
        made = inactive_customers(log, as_of=as_of, days=30)
    elif kind == "tiers":
        made = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=True)
    elif kind == "cycle":
        made = repurchase_cycle(log, as_of=as_of)
    else:
        made = tier_flow(log, TAOBAO_STORE_VIP, start=as_of - dt.timedelta(days=200),
                         as_of=as_of, opted_in=True)
    _check_agree(made)


def test_a_missing_frame_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    result = stages(shop_log(), as_of=AS_OF, cycle=BANDS)
    for module, extra, method in (("pandas", "pandas", result.to_pandas),
                                  ("polars", "polars", result.to_polars),
                                  ("pyarrow", "arrow", result.to_arrow)):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
        with pytest.raises(MissingDependencyError, match=rf"pip install 'ecrm\[{extra}\]'"):
            method()
        monkeypatch.delitem(sys.modules, module)
    assert result.to_dicts()[0]["customer_id"] == "a"  # the rest needs no extra


def test_to_csv_text_is_a_deprecated_alias() -> None:
    result = score(shop_log(), as_of=AS_OF, warn_undersized=False)
    buf = io.StringIO()
    result.to_csv(buf)
    with pytest.warns(DeprecationWarning, match="to_csv"):
        assert result.to_csv_text() == buf.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from('ab,"\n\r 店'), max_size=6), max_size=12),
    single=st.booleans(),
)
def test_csv_quoting_is_what_csv_writer_writes(texts: list[str], single: bool) -> None:
    """Cells with commas, quotes or line breaks are quoted as the csv module quotes them (and
    a lone carriage return too, which csv.writer leaves bare and csv.reader then splits), and
    read back equal."""
    columns: dict[str, Any] = {"name": np.asarray(texts, dtype=str)}
    if not single:
        columns["n"] = np.arange(len(texts), dtype=np.int64)
    buf = io.StringIO()
    table_csv(columns, buf)
    want = io.StringIO()
    writer = csv.writer(want, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*[c.tolist() for c in columns.values()], strict=True))
    if not any("\r" in t for t in texts):
        assert buf.getvalue() == want.getvalue()
    back = list(csv.reader(io.StringIO(buf.getvalue())))
    assert [row[0] for row in back[1:]] == texts


def test_the_four_frames_agree_on_the_sample_shop() -> None:
    """Every result type on a real-sized synthetic shop (int ids, nulls, CJK text)."""
    shop = sample_shop(200, seed=3)
    log, as_of, customers = shop.orders, shop.as_of, shop.customers
    start = as_of - dt.timedelta(days=120)
    rfm = score(log, as_of=as_of, warn_undersized=False)
    cycle = repurchase_cycle(log, as_of=as_of)
    table = cycles_by(log, by="category", as_of=as_of, min_repurchasers=5)
    months = periods(Window(start, as_of))
    results: list[ResultFrame] = [
        rfm, classic_segments(rfm),
        TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=customers),
        tier_flow(log, TAOBAO_STORE_VIP, start=start, as_of=as_of, opted_in=customers),
        monthly_upgrade_rate(log, TAOBAO_STORE_VIP, opted_in=customers,
                             window=Window(start, as_of)),
        what_if(log, TAOBAO_STORE_VIP, TAOBAO_STORE_VIP.with_tier(1, min_spend=Money(5_000)),
                as_of=as_of, opted_in=customers),
        cycle, table, stages(log, as_of=as_of, cycle=cycle, customers=customers),
        stage_transitions(log, start=start, as_of=as_of, cycle=cycle),
        inactive_customers(log, as_of=as_of),
        due_repurchase_reminders(log, as_of=as_of.date(), cycles=table),
        store_metrics(log, months), member_metrics(log, customers, months),
        province_distribution(log), product_preference(log, window=Window(start, as_of)),
        audience(lapsed_customers(90), customers=customers, orders=log, as_of=as_of),
    ]
    # CRM attribution: every customer touched on each month's first day
    firsts = [m.start for m in months]
    ids = log.customer_ids
    touched = Touches.from_arrays(np.repeat(ids, len(firsts)), np.tile(np.asarray(
        [int(f.timestamp() * 1_000_000) for f in firsts], dtype=np.int64), len(ids)))
    crm = attribute_sales(log, touched, within=dt.timedelta(days=10))
    results += [crm, crm.by_day(), crm.by_month(), crm.credits()]
    for result in results:
        assert result.to_dicts(), type(result).__name__
        _check_agree(result)
    _check_agree(rfm, include_unscored=True)
