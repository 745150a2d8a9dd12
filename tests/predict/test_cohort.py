"""fit_by_cohort(): cohorts by first-purchase quarter, each fitted on its own customers."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ecrm.predict import Summary, fit_bgnbd, fit_by_cohort


def test_cohorts_split_by_first_purchase_and_fit_alone() -> None:
    rng = np.random.default_rng(4)
    as_of = dt.datetime(2025, 1, 1)
    n = 3000
    # Two cohorts: first purchases in 2024Q1 (T = 300..366 days) and 2024Q3 (T = 100..180).
    T = np.where(np.arange(n) < n // 2, rng.integers(300, 366, n), rng.integers(100, 180, n))
    # BG/NBD's story: purchases at rate λ, dropout with probability p after each one.
    lam = rng.gamma(0.5, 1 / 20, n)
    p = rng.beta(0.8, 3.0, n)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    clock = np.zeros(n)
    live = np.ones(n, dtype=bool)
    while live.any():
        clock[live] += rng.exponential(1 / lam[live])
        buy = live & (clock <= T)
        x[buy] += 1
        tx[buy] = np.floor(clock[buy])
        live = buy & (rng.random(n) >= p)
    s = Summary.from_arrays(np.arange(n), x, tx, T.astype(float),
                            as_of=as_of.replace(tzinfo=dt.UTC), tz="UTC")
    fits = fit_by_cohort(s, by="quarter")
    assert fits.cohorts == ("2024Q1", "2024Q3")
    assert fits.sizes == (n // 2, n - n // 2)
    # Each cohort's model is the model of its own customers alone.
    first_half = fit_bgnbd(s.select(np.arange(n) < n // 2), thin_data="ignore")
    np.testing.assert_allclose(fits.models["2024Q1"].params, first_half.params, rtol=1e-9)
    assert set(fits.models) | set(fits.errors) == {"2024Q1", "2024Q3"}
