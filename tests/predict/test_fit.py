"""Fits: the published CDNOW estimates, parameters recovered from simulated data, and the
errors and warnings of thin or degenerate data."""

from __future__ import annotations

import numpy as np
import pytest

from ecrm.predict import (
    FitError,
    Summary,
    ThinDataWarning,
    fit_bgnbd,
    fit_gammagamma,
    fit_mbgnbd,
    fit_paretonbd,
)


def test_cdnow_bgnbd_reproduces_fader_hardie_lee(cdnow: Summary) -> None:
    """Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426 (weeks), LL = −9582.4."""
    m = fit_bgnbd(cdnow)
    r, alpha, a, b = m.params
    assert (round(r, 3), round(alpha, 3), round(a, 3), round(b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert m.n_customers == 2357
    assert m.n_rows < 2357
    # Standard errors: positive and well below the estimates (a well-identified fit).
    assert m.standard_errors is not None
    assert all(0 < se < p for se, p in zip(m.standard_errors, m.params, strict=True))


def test_cdnow_paretonbd_reproduces_published_ll(cdnow: Summary) -> None:
    """Fader & Hardie's Pareto/NBD note: r = 0.55, α = 10.58, s = 0.61, β = 11.67, LL = −9595.0."""
    m = fit_paretonbd(cdnow)
    r, alpha, s, beta = m.params
    assert (round(r, 2), round(alpha, 2), round(s, 2)) == (0.55, 10.58, 0.61)
    assert beta == pytest.approx(11.67, abs=0.02)
    assert m.log_likelihood == pytest.approx(-9595.0, abs=0.05)


def test_cdnow_gammagamma_reproduces_published(cdnow: Summary) -> None:
    """Fader, Hardie & Lee's Gamma-Gamma note: p = 6.25, q = 3.74, γ = 15.44 dollars."""
    m = fit_gammagamma(cdnow)
    p, q, v = m.params
    assert (round(p, 2), round(q, 2)) == (6.25, 3.74)
    assert v / 100 == pytest.approx(15.44, abs=0.02)  # v is in cents (fen) here


def test_cdnow_mbgnbd_fits_at_least_as_well_as_bgnbd(cdnow: Summary) -> None:
    """MBG/NBD nests no BG/NBD, but on CDNOW both reach LL ≈ −9582 (Batislam et al. report the same)."""
    m = fit_mbgnbd(cdnow)
    assert m.log_likelihood == pytest.approx(-9582.1, abs=0.1)


def _simulate_bg(rng: np.random.Generator, n: int, params: tuple[float, ...], T_max: float,
                 mbg: bool = False) -> Summary:
    """BG/NBD's story: λ ~ Gamma(r, α), p ~ Beta(a, b); after each purchase (and, for MBG,
    at the first) the customer drops out with probability p."""
    r, alpha, a, b = params
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    # Three monthly cohorts, purchases on whole days: as real summaries look, and few
    # distinct (x, t_x, T) rows, so the fit is fast.
    T = rng.choice([T_max / 3, 2 * T_max / 3, T_max], n).round()
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    clock = np.zeros(n)
    live = np.ones(n, dtype=bool)
    if mbg:
        live &= rng.random(n) >= p
    while live.any():
        clock[live] += rng.exponential(1 / lam[live])
        buy = live & (clock <= T)
        x[buy] += 1
        tx[buy] = clock[buy]
        live = buy & (rng.random(n) >= p)
    return Summary.from_arrays(np.arange(n), x, np.floor(tx), T)


@pytest.mark.parametrize(("fit", "mbg"), [(fit_bgnbd, False), (fit_mbgnbd, True)])
def test_bg_parameters_recovered_from_simulation(fit: object, mbg: bool) -> None:
    """20,000 simulated customers: every estimate within 4 standard errors and 25% of the truth."""
    truth = (0.5, 20.0, 0.8, 3.0)
    s = _simulate_bg(np.random.default_rng(11), 20_000, truth, 365.0, mbg)
    m = fit(s)  # type: ignore[operator]
    for est, se, true in zip(m.params, m.standard_errors, truth, strict=True):
        assert abs(est - true) < 4 * se
        assert est == pytest.approx(true, rel=0.25)


def test_paretonbd_parameters_recovered_from_simulation() -> None:
    truth = (0.6, 15.0, 0.8, 60.0)
    rng = np.random.default_rng(5)
    n = 20_000
    lam = rng.gamma(truth[0], 1 / truth[1], n)
    mu = rng.gamma(truth[2], 1 / truth[3], n)
    T = rng.choice([120.0, 240.0, 365.0], n)
    death = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * death)
    # Given x purchases in (0, death), their times are uniform; t_x is the largest.
    tx = np.where(x > 0, death * rng.beta(np.maximum(x, 1), 1), 0.0)
    m = fit_paretonbd(Summary.from_arrays(np.arange(n), x, np.floor(tx), T))
    for est, se, true in zip(m.params, m.standard_errors, truth, strict=True):
        assert abs(est - true) < 4 * se
        assert est == pytest.approx(true, rel=0.35)


def test_gammagamma_recovered_from_simulation() -> None:
    """Spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, v); the mean over x purchases is
    Gamma(p·x, ν·x)."""
    truth = (4.0, 3.0, 5000.0)
    rng = np.random.default_rng(3)
    n = 5000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(truth[1], 1 / truth[2], n)
    mean = rng.gamma(truth[0] * x, 1 / (nu * x))
    spend = np.maximum(np.rint(mean * x), 1).astype(np.int64)
    s = Summary.from_arrays(np.arange(n), x, np.ones(n), np.full(n, 2.0), spend)
    m = fit_gammagamma(s)
    for est, se, true in zip(m.params, m.standard_errors, truth, strict=True):
        assert abs(est - true) < 4 * se


def test_thin_data_warns_refuses_or_stays_quiet() -> None:
    s = _simulate_bg(np.random.default_rng(1), 300, (0.5, 20.0, 0.8, 3.0), 365.0)
    with pytest.warns(ThinDataWarning, match="300 customers < 500"):
        fit_bgnbd(s)
    with pytest.raises(FitError, match="thin_data='refuse'"):
        fit_bgnbd(s, thin_data="refuse")
    fit_bgnbd(s, thin_data="ignore")  # warnings are errors in this suite


def test_nobody_repeats_is_a_clear_error() -> None:
    s = Summary.from_arrays(np.arange(600), np.zeros(600), np.zeros(600), np.full(600, 200.0))
    with pytest.raises(FitError, match="nobody made a repeat purchase"):
        fit_bgnbd(s, thin_data="ignore")
    with pytest.raises(FitError, match="fewer than 2 customers with repeat spend"):
        fit_gammagamma(s, thin_data="ignore")


def test_degenerate_data_raise_not_nan() -> None:
    """Everyone repeats exactly once on their last day: the dropout part is not identified."""
    n = 600
    s = Summary.from_arrays(np.arange(n), np.ones(n), np.full(n, 200.0), np.full(n, 200.0))
    with pytest.raises(FitError, match="try an l2 penalty"):
        fit_bgnbd(s, thin_data="ignore")


def test_l2_penalty_shrinks_parameters(cdnow: Summary) -> None:
    free = fit_bgnbd(cdnow)
    shrunk = fit_bgnbd(cdnow, l2=0.01)
    assert sum(p * p for p in shrunk.params) < sum(p * p for p in free.params)
    assert shrunk.log_likelihood < free.log_likelihood


def test_warm_start_on_a_sample_reaches_the_same_optimum(
    cdnow: Summary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large fits start from a fit on a sample of the customers; the optimum is the same."""
    import ecrm.predict._fit as fit_module

    cold = fit_bgnbd(cdnow)
    monkeypatch.setattr(fit_module, "_WARM_ROWS", 100)
    monkeypatch.setattr(fit_module, "_WARM_SHARE", 0.3)
    warm = fit_bgnbd(cdnow)
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-6)
    np.testing.assert_allclose(warm.standard_errors, cold.standard_errors, rtol=1e-3)
