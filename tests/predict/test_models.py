"""Likelihoods and predictions against independent values: closed forms worked by hand,
direct numerical integration over the latent rates, and Monte Carlo of the generative
process."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaincinv

from ecrm.predict import Summary, TransactionModel, predict

BG = (0.5, 3.0, 0.8, 2.5)
PARETO = (0.6, 8.0, 0.7, 12.0)


def gamma_pdf(v: float, shape: float, rate: float) -> float:
    if v <= 0:
        return 0.0
    return math.exp(shape * math.log(rate) + (shape - 1) * math.log(v) - rate * v - math.lgamma(shape))


def beta_pdf(v: float, a: float, b: float) -> float:
    if not 0 < v < 1:
        return 0.0
    log_b = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return math.exp((a - 1) * math.log(v) + (b - 1) * math.log1p(-v) - log_b)


def arr(*v: float) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def test_bgnbd_x0_likelihood_is_nbd_zero_term() -> None:
    """With no repeat, BG/NBD's likelihood is P(no purchase in T) = (α/(α+T))^r."""
    r, alpha, _, _ = BG
    m = TransactionModel("bgnbd", BG)
    got = m.loglik(arr(0), arr(0), arr(7))[0]
    assert got == pytest.approx(r * math.log(alpha / (alpha + 7)), rel=1e-12)


def _bg_integrated(x: int, tx: float, T: float, mbg: bool) -> float:
    """BG/NBD / MBG/NBD likelihood by integrating λ ~ Gamma(r, α) and p ~ Beta(a, b)."""
    r, alpha, a, b = BG

    def inner(p: float, lam: float) -> float:
        alive = (1 - p) ** (x + (1 if mbg else 0)) * lam**x * math.exp(-lam * T)
        dead = 0.0
        if x > 0 or mbg:
            dead = p * (1 - p) ** (x - 1 + (1 if mbg else 0)) * lam**x * math.exp(-lam * tx)
        return (alive + dead) * beta_pdf(p, a, b) * gamma_pdf(lam, r, alpha)

    val, _ = integrate.dblquad(inner, 0, 40, 0, 1, epsabs=1e-12, epsrel=1e-8)
    return val


@pytest.mark.parametrize(("model", "x", "tx", "T"), [
    ("bgnbd", 2, 4.0, 9.0), ("bgnbd", 1, 1.5, 6.0), ("mbgnbd", 0, 0.0, 5.0), ("mbgnbd", 3, 7.0, 8.0),
])
def test_bg_likelihood_matches_integration(model: str, x: int, tx: float, T: float) -> None:
    m = TransactionModel(model, BG)
    got = math.exp(m.loglik(arr(x), arr(tx), arr(T))[0])
    assert got == pytest.approx(_bg_integrated(x, tx, T, model == "mbgnbd"), rel=1e-5)


def test_pareto_likelihood_matches_integration() -> None:
    """Pareto/NBD: λ ~ Gamma(r, α), μ ~ Gamma(s, β); death at τ ~ Exp(μ)."""
    r, alpha, s, beta = PARETO
    x, tx, T = 3, 4.0, 10.0

    # Integrate over the quantiles of λ and μ (inverse gamma CDFs), where the integrand is
    # bounded, with a 400 × 400 Gauss–Legendre grid.
    nodes, weights = np.polynomial.legendre.leggauss(400)
    q = (nodes + 1) / 2
    lam = gammaincinv(r, q)[:, None] / alpha
    mu = gammaincinv(s, q)[None, :] / beta
    alive = lam**x * np.exp(-(lam + mu) * T)
    dead = lam**x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
    want = float(weights @ (alive + dead) @ weights) / 4
    got = math.exp(TransactionModel("paretonbd", PARETO).loglik(arr(x), arr(tx), arr(T))[0])
    assert got == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_loglik_finite_for_thousands_of_purchases_over_years(model: str) -> None:
    m = TransactionModel(model, BG if model != "paretonbd" else PARETO)
    x, tx, T = arr(0, 5000, 3000, 1), arr(0, 3600, 10, 3650), arr(3650, 3650, 3650, 3650)
    assert np.all(np.isfinite(m.loglik(x, tx, T)))
    s = Summary.from_arrays([1, 2, 3, 4], x, tx, T)
    p = predict(m, s, horizon_days=30)
    assert np.all(np.isfinite(p.p_alive))
    assert np.all(np.isfinite(p.expected_purchases))
    assert np.all((p.p_any_purchase >= 0) & (p.p_any_purchase <= 1))


def test_bgnbd_predictions_by_hand() -> None:
    """x = 0: BG/NBD cannot have died (P(alive) = 1); P(≥1 in t) = 1 − ((α+T)/(α+T+t))^r;
    the median next purchase solves that = 1/2."""
    r, _, a, b = BG
    s = Summary.from_arrays(["c"], [0], [0.0], [10.0])
    p = predict(TransactionModel("bgnbd", BG), s, horizon_days=5)
    assert p.p_alive[0] == 1.0
    assert p.p_any_purchase[0] == pytest.approx(1 - (13 / 18) ** r, rel=1e-12)
    median = 13 * (2 ** (1 / r) - 1)
    assert p.next_purchase_day[0] == math.floor(median)
    # x = 1 at t_x = 2, T = 10: odds dead = a/(b+x−1) · ((α+T)/(α+t_x))^(r+x).
    s1 = Summary.from_arrays(["d"], [1], [2.0], [10.0])
    odds = a / b * (13 / 5) ** (r + 1)
    assert predict(TransactionModel("bgnbd", BG), s1).p_alive[0] == pytest.approx(1 / (1 + odds), rel=1e-12)


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_predictions_match_monte_carlo(model: str) -> None:
    """Simulate the posterior future of one history and compare expected purchases and P(≥1)."""
    rng = np.random.default_rng(7)
    n = 400_000
    x, tx, T, t = 2, 6.0, 10.0, 8.0
    if model == "bgnbd":
        r, alpha, a, b = BG
        # Importance sampling from the prior, weighted by each draw's likelihood.
        lam = rng.gamma(r, 1 / alpha, n)
        pp = rng.beta(a, b, n)
        w_alive = (1 - pp) ** x * lam**x * np.exp(-lam * T)
        w_dead = pp * (1 - pp) ** (x - 1) * lam**x * np.exp(-lam * tx)
        alive = rng.random(n) < w_alive / (w_alive + w_dead)
        w = w_alive + w_dead
        # Future purchases of the alive: purchases at rate λ, death after each with prob p.
        counts = np.zeros(n)
        clock = np.zeros(n)
        live = alive.copy()
        while live.any():
            clock[live] += rng.exponential(1 / lam[live])
            buy = live & (clock <= t)
            counts[buy] += 1
            live = buy & (rng.random(n) >= pp)
    else:
        r, alpha, s, beta = PARETO
        lam = rng.gamma(r, 1 / alpha, n)
        mu = rng.gamma(s, 1 / beta, n)
        w_alive = lam**x * np.exp(-(lam + mu) * T)
        w_dead = lam**x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
        w = w_alive + w_dead
        alive = rng.random(n) < w_alive / w
        life = rng.exponential(1 / mu)
        counts = np.where(alive, rng.poisson(lam * np.minimum(life, t)), 0)
    params = BG if model == "bgnbd" else PARETO
    pred = predict(TransactionModel(model, params), Summary.from_arrays([1], [x], [tx], [T]),
                   horizon_days=int(t))
    wn = w / w.sum()
    assert pred.p_alive[0] == pytest.approx(np.dot(wn, alive), abs=0.01)
    assert pred.expected_purchases[0] == pytest.approx(np.dot(wn, counts), rel=0.03)
    assert pred.p_any_purchase[0] == pytest.approx(np.dot(wn, counts > 0), abs=0.01)
