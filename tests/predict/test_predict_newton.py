"""The fast fit path: Newton terms (value, gradient, Hessian) against the per-row kernels and
finite differences, the grouping of histories and (x, T) pairs against plain Python
references, and Newton's estimate against BFGS's on the same data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.predict import Summary, _newton, fit_bgnbd, fit_gammagamma, fit_mbgnbd
from ecrm.predict import _kernels as kern
from ecrm.predict._fit import _maximise
from ecrm.predict._predict import _pairs
from ecrm.predict._summary import distinct_histories


def _histories(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 400, n).astype(float)
    x = rng.poisson(2.0, n).astype(float)
    tx = np.where(x > 0, np.floor(rng.random(n) * T), 0.0)
    w = rng.integers(1, 5, n).astype(float)
    return x, tx, T, w


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_bg_terms_match_the_row_kernels_and_finite_differences(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Σ n·log L equals the per-row kernel summed; the gradient and Hessian equal central
    differences of the value and of the gradient. Rows come unsorted and the chunks are
    small, so x runs cross chunk boundaries."""
    monkeypatch.setattr(_newton, "CHUNK_ROWS", 37)
    x, tx, T, w = _histories(500, 1)
    terms = _newton.BGTerms(model, x, tx, T, w)
    p = np.array([0.7, 20.0, 1.3, 4.0])
    value, g, h = terms(p, 2)
    assert value == pytest.approx(float(np.dot(w, kern.bg_loglik(model, p, x, tx, T))), rel=1e-12)
    assert g is not None
    assert h is not None
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * p[i]
        fd_value = (terms(p + e, 0)[0] - terms(p - e, 0)[0]) / (2 * e[i])
        assert g[i] == pytest.approx(fd_value, rel=1e-5, abs=1e-4)
        up, down = terms(p + e, 1)[1], terms(p - e, 1)[1]
        assert up is not None
        assert down is not None
        np.testing.assert_allclose(h[:, i], (up - down) / (2 * e[i]), rtol=1e-5, atol=1e-3)


def test_gg_terms_match_the_row_kernel_and_finite_differences() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, 300).astype(float)
    m = rng.lognormal(8, 0.6, 300)
    w = rng.integers(1, 4, 300).astype(float)
    terms = _newton.GGTerms(x, m, w)
    p = np.array([4.0, 3.0, 9000.0])
    value, g, h = terms(p, 2)
    assert value == pytest.approx(float(np.dot(w, kern.gg_loglik(p, x, m))), rel=1e-12)
    assert g is not None
    assert h is not None
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6 * p[i]
        assert g[i] == pytest.approx((terms(p + e, 0)[0] - terms(p - e, 0)[0]) / (2 * e[i]), rel=1e-5, abs=1e-6)
        up, down = terms(p + e, 1)[1], terms(p - e, 1)[1]
        assert up is not None
        assert down is not None
        np.testing.assert_allclose(h[:, i], (up - down) / (2 * e[i]), rtol=1e-5, atol=1e-8)


def test_newton_and_bfgs_reach_the_same_estimate(cdnow: Summary) -> None:
    """The two optimisers of one likelihood agree to 1e-6 on CDNOW (BFGS: no ``terms``)."""
    x, tx, T, w, _ = distinct_histories(cdnow)
    start = np.array([1.0, 1.0, 1.0, 3.0])

    def ll(p: np.ndarray) -> np.ndarray:
        return kern.bg_loglik("bgnbd", p, x, tx, T)

    def grad(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return kern.bg_loglik_and_grad("bgnbd", p, x, tx, T)

    bfgs = _maximise("BG/NBD", ll, grad, w, start, 0.0)
    newton = _maximise("BG/NBD", ll, grad, w, start, 0.0, terms=_newton.BGTerms("bgnbd", x, tx, T, w))
    np.testing.assert_allclose(newton[0], bfgs[0], rtol=1e-6)
    np.testing.assert_allclose(newton[1], bfgs[1], rtol=1e-3)  # standard errors
    assert newton[2] == pytest.approx(bfgs[2], abs=1e-6)


def test_fits_take_the_published_cdnow_values_through_newton(cdnow: Summary) -> None:
    """Fader, Hardie & Lee: BG/NBD (0.243, 4.414, 0.793, 2.426), Gamma-Gamma (6.25, 3.74, 15.44 $)."""
    bg = fit_bgnbd(cdnow)
    assert tuple(round(v, 3) for v in bg.params) == (0.243, 4.414, 0.793, 2.426)
    gg = fit_gammagamma(cdnow)
    p, q, v = gg.params
    assert (round(p, 2), round(q, 2), round(v / 100, 2)) == (6.25, 3.74, 15.45)
    assert fit_mbgnbd(cdnow).log_likelihood is not None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=60))
def test_distinct_histories_group_like_a_counter(rows: list[tuple[int, int, int]]) -> None:
    """Distinct (x, t_x, T) rows, weights and each customer's row, against collections.Counter."""
    rows = [(x, min(tx, T) if x else 0, T) for x, tx, T in rows]
    x, tx, T = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    s = Summary.from_arrays(np.arange(len(rows)), x, tx, T)
    ux, utx, uT, w, inverse = distinct_histories(s)
    expected = Counter(rows)
    got = {(int(a), int(b), int(c)): float(n) for a, b, c, n in zip(ux, utx, uT, w, strict=True)}
    assert got == {k: float(v) for k, v in expected.items()}
    assert list(zip(ux[inverse], utx[inverse], uT[inverse], strict=True)) == [tuple(map(float, r)) for r in rows]
    assert list(ux) == sorted(ux)
    assert distinct_histories(s) is distinct_histories(s)  # made once per summary


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40)), min_size=1, max_size=80), st.sampled_from([1, 7]))
def test_pairs_group_like_a_set(rows: list[tuple[int, int]], unit_days: int) -> None:
    """(x, T) pairs against a set, with the day table (whole days) and with the sort (0)."""
    rows.sort(key=lambda r: r[0])  # distinct histories come sorted by x
    x = np.array([r[0] for r in rows], dtype=float)
    T = np.array([r[1] for r in rows], dtype=float) / unit_days
    for days in (unit_days, 0):
        px, pT, of_row = _pairs(x, T, days)
        assert len(px) == len(set(rows))
        np.testing.assert_allclose(px[of_row], x)
        np.testing.assert_allclose(pT[of_row], T)
