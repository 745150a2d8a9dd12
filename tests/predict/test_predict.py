"""predict(): CLV, dates, bands and explanations worked out by hand; lifetimes as a
development cross-check on CDNOW (skipped where lifetimes is not installed)."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import InvalidValueError, UnknownCustomerError
from ecrm.predict import (
    SpendModel,
    Summary,
    TransactionModel,
    fit_bgnbd,
    fit_gammagamma,
    fit_paretonbd,
    predict,
)

BG = TransactionModel("bgnbd", (0.5, 3.0, 0.8, 2.5))
GG = SpendModel("gammagamma", (4.0, 3.0, 5000.0))
SH = ZoneInfo("Asia/Shanghai")


def test_clv_one_step_without_discount_is_expected_purchases_times_spend() -> None:
    """One 30-day step, no discount: CLV = E[purchases in 30 days] × E[spend per purchase];
    the spend is Gamma-Gamma's p(v + x·m)/(p·x + q − 1) = 4(5000 + 2·3000)/(8 + 2)."""
    s = Summary.from_arrays(["a"], [2], [5.0], [9.0], [6000])
    p = predict(BG, s, horizon_days=30, spend=GG, clv_horizon_days=30, discount_rate=0.0)
    assert p.expected_spend_fen[0] == pytest.approx(4400.0)
    assert p.clv_fen[0] == round(p.expected_purchases[0] * 4400.0)


def test_clv_discounts_each_step_to_its_end() -> None:
    """Two 30-day steps at 10% a year: step k is worth its purchases / 1.1^(30k/365)."""
    s = Summary.from_arrays(["a"], [2], [5.0], [9.0], [6000])
    e30 = predict(BG, s, horizon_days=30).expected_purchases[0]
    e60 = predict(BG, s, horizon_days=60).expected_purchases[0]
    want = 4400.0 * (e30 / 1.1 ** (30 / 365) + (e60 - e30) / 1.1 ** (60 / 365))
    got = predict(BG, s, spend=GG, clv_horizon_days=60, discount_rate=0.1).clv_fen[0]
    assert got == round(want)


def test_next_purchase_date_in_the_store_zone() -> None:
    """as_of 2024-03-01 in Shanghai; x = 0, T = 10 days → median 13·(2^(1/r) − 1) = 39 days."""
    s = Summary.from_arrays(["a", "b"], [0, 1], [0.0, 1.0], [10.0, 400.0],
                            as_of=dt.datetime(2024, 3, 1, tzinfo=SH), tz=SH)
    rows = predict(BG, s).to_dicts()
    assert rows[0]["next_purchase_date"] == dt.date(2024, 3, 1) + dt.timedelta(days=math.floor(13 * 3))
    # b bought on day 1 and not in 399 days since: more likely gone; no date, high risk.
    assert rows[1]["next_purchase_date"] is None
    assert rows[1]["risk"] == "high"
    assert rows[0]["clv_fen"] is None


def test_risk_bands_follow_the_cut_offs() -> None:
    s = Summary.from_arrays([1, 2, 3], [0, 1, 1], [0.0, 1.0, 8.0], [10.0, 400.0, 10.0])
    p = predict(BG, s, risk_bands=(0.3, 0.7))
    want = ["low" if v >= 0.7 else "medium" if v >= 0.3 else "high" for v in p.p_alive]
    assert list(p.risk) == want


def test_explain_says_why_in_words() -> None:
    s = Summary.from_arrays(["a"], [2], [5.0], [9.0], [6000])
    text = predict(BG, s, spend=GG).explain("a")
    assert "made 2 repeat purchases in 9 days" in text
    assert "the last was 4 days ago" in text
    assert "chance they are still a customer" in text
    assert "¥44.00" in text
    with pytest.raises(UnknownCustomerError):
        predict(BG, s).explain("zz")


def test_bad_arguments_raise_naming_the_field() -> None:
    s = Summary.from_arrays(["a"], [2], [5.0], [9.0])
    with pytest.raises(InvalidValueError, match="horizon_days"):
        predict(BG, s, horizon_days=0)
    with pytest.raises(InvalidValueError, match="risk_bands"):
        predict(BG, s, risk_bands=(0.8, 0.2))
    with pytest.raises(InvalidValueError, match=r"model\.unit"):
        predict(TransactionModel("bgnbd", BG.params, unit="weeks"), s)
    with pytest.raises(InvalidValueError, match=r"params\.alpha"):
        TransactionModel("bgnbd", (0.5, -1.0, 0.8, 2.5))


def test_repr_is_short() -> None:
    s = Summary.from_arrays(["a"], [2], [5.0], [9.0])
    assert repr(predict(BG, s)) == "Predictions(1 customers, bgnbd, horizon 30 days, risk: high 0, medium 1, low 0)"  # P(alive) = 1/(1 + 0.8/3.5 · 1.5^2.5) = 0.61
    assert repr(BG) == "TransactionModel(BG/NBD, r=0.5, alpha=3, a=0.8, b=2.5, unit='days')"


def test_same_predictions_as_lifetimes_on_cdnow(cdnow: Summary) -> None:
    """Development cross-check: lifetimes (the bench extra) on the same summaries."""
    lt = pytest.importorskip("lifetimes")
    x, tx, T = cdnow.x, cdnow.t_x, cdnow.T
    ours = fit_bgnbd(cdnow)
    theirs = lt.BetaGeoFitter().fit(x, tx, T)
    assert np.allclose(ours.params, list(theirs.params_.values), rtol=1e-4)
    # Predictions from the same parameters agree to rounding.
    bg = TransactionModel("bgnbd", list(theirs.params_.values), unit="weeks")
    p = predict(bg, cdnow, horizon_days=70)
    np.testing.assert_allclose(p.p_alive, theirs.conditional_probability_alive(x, tx, T), rtol=1e-9)
    want = theirs.conditional_expected_number_of_purchases_up_to_time(10, x, tx, T)
    np.testing.assert_allclose(p.expected_purchases, want, rtol=1e-8)
    pareto = lt.ParetoNBDFitter().fit(x, tx, T)
    assert np.allclose(fit_paretonbd(cdnow).params, list(pareto.params_.values), rtol=1e-3)
    rep = cdnow.x > 0
    gg = lt.GammaGammaFitter().fit(x[rep], cdnow.mean_repeat_spend_fen[rep])
    assert np.allclose(fit_gammagamma(cdnow).params, list(gg.params_.values), rtol=1e-4)
