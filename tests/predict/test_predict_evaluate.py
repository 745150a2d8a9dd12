"""evaluate(): holdout purchases counted by hand, forecasts summed from the model, baselines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import InvalidValueError, OrderLog
from ecrm.datasets import sample_shop
from ecrm.predict import TransactionModel, evaluate, predict, summaries

SH = ZoneInfo("Asia/Shanghai")


def test_holdout_counts_and_forecast_sums() -> None:
    shop = sample_shop(n_customers=2000, seed=0)
    cal_start = dt.datetime(2023, 12, 1, tzinfo=SH)
    cal_end = dt.datetime(2025, 6, 1, tzinfo=SH)
    end = dt.datetime(2025, 12, 1, tzinfo=SH)
    ev = evaluate(shop.orders, calibration_start=cal_start, calibration_end=cal_end,
                  holdout_end=end, period_days=30, model="paretonbd")
    assert len(ev.actual) == 7  # 183 days in periods of 30: six full and one of 3 days
    assert list(ev.period_end_days[-2:]) == [180, 183]
    # Actual: the calibration customers' distinct valid purchase days in the holdout.
    valid = {(o.customer_id, o.placed_at.astimezone(SH).date()) for o in shop.orders
             if o.status.name in ("PAID", "SHIPPED", "COMPLETED") and (o.refunded is None or o.refunded.fen == 0 or o.refunded.fen < o.amount.fen)
             and cal_end <= o.placed_at < end}
    ids = set(ev.customer_ids.tolist())
    assert ev.actual.sum() == sum(1 for c, _ in valid if c in ids)
    assert ev.actual_per_customer.sum() == ev.actual.sum()
    # The model's periods add up to each customer's expected purchases over the holdout.
    s = summaries(shop.orders, as_of=cal_end, calibration_start=cal_start)
    p = predict(ev.model, s, horizon_days=183)
    assert ev.predicted.sum() == pytest.approx(p.expected_purchases.sum(), rel=1e-9)
    np.testing.assert_allclose(ev.predicted_per_customer, p.expected_purchases, rtol=1e-9)
    errors = ev.mean_absolute_error()
    assert set(errors) == {"model", "baseline_last", "baseline_cycle"}
    assert errors["model"] < errors["baseline_cycle"]


def test_last_period_baseline_by_hand() -> None:
    """a buys on days 0, 100, 150, 170 (repeats at 100, 150, 170); the holdout is 60 days
    long, so the baseline counts the repeats in the last 60 calibration days: 150 and 170."""
    base = dt.datetime(2024, 1, 1, 12, tzinfo=SH)
    rows = [("a", d) for d in (0, 100, 150, 170)] + [("b", 5), ("b", 6)] + [("a", 190)]
    ids = [r[0] for r in rows]
    placed = [base + dt.timedelta(days=d) for _, d in rows]
    log = OrderLog.from_arrays(ids, placed, [1000] * len(rows))
    ev = evaluate(log, calibration_start=base - dt.timedelta(days=1),
                  calibration_end=base + dt.timedelta(days=180, hours=12),
                  holdout_end=base + dt.timedelta(days=240, hours=12), period_days=30,
                  model=TransactionModel("bgnbd", (0.5, 30.0, 0.8, 3.0)))
    assert list(ev.customer_ids) == ["a", "b"]
    assert list(ev.actual_per_customer) == [1, 0]
    assert list(ev.baseline_last_per_customer) == [2.0, 0.0]
    assert list(ev.actual) == [1.0, 0.0]  # day 190 is 10 days into the holdout


def test_order_of_moments_is_checked() -> None:
    shop = sample_shop(n_customers=50, seed=0)
    t = dt.datetime(2025, 1, 1, tzinfo=SH)
    with pytest.raises(InvalidValueError, match="holdout_end"):
        evaluate(shop.orders, calibration_start=t - dt.timedelta(days=90), calibration_end=t,
                 holdout_end=t)
