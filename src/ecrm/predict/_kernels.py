"""Private numpy kernels: log-likelihoods and conditional predictions of the BTYD models.

Every function takes the parameters as floats and per-row float64 arrays ``x`` (repeat
purchases), ``tx`` (recency) and ``T`` (age) in one time unit, and works in log space so it
stays finite for x in the thousands and T in years. Formulas follow Fader, Hardie & Lee
(2005) for BG/NBD, Batislam, Denizel & Filiztekin (2007) for MBG/NBD, Fader & Hardie's
note on the Pareto/NBD likelihood (2005) and Fader, Hardie & Lee's Gamma-Gamma note (2005).
scipy.special gives the log-gamma, log-beta and Gauss hypergeometric functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Params = Sequence[float] | npt.NDArray[np.float64]

#: Parameter names of each model, in the order the kernels take them.
PARAMS: Final = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
    "gammagamma": ("p", "q", "v"),
}


XIndex = tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]] | None


def _of_x(fn: Any, offset: float, x: FloatArray, x_index: XIndex) -> FloatArray:
    """``fn(offset + x)``, evaluated once per distinct x when ``x_index`` = (distinct x,
    inverse) is given: repeat counts take few distinct values, and the special functions
    are the costly part of a likelihood evaluation."""
    if x_index is None:
        out: FloatArray = fn(offset + x)
        return out
    values, inverse = x_index
    picked: FloatArray = fn(offset + values)[inverse]
    return picked


def _log_diff_exp(u: FloatArray, v: FloatArray) -> FloatArray:
    """log(e^u − e^v) for u >= v (−inf where equal)."""
    with np.errstate(divide="ignore"):
        out: FloatArray = u + np.log1p(-np.exp(np.minimum(v - u, 0.0)))
    return out


# -- BG/NBD and MBG/NBD -----------------------------------------------------------------------


def _bg_log_dropout_term(
    model: str, a: float, b: float, x: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """log(a / (b + x − 1)) (BG) or log(a / (b + x)) (MBG), and where it applies."""
    if model == "bgnbd":
        has = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a) - np.log(np.where(has, b + x - 1.0, 1.0)), has
    return np.log(a) - np.log(b + x), np.ones(x.shape, dtype=bool)


def bg_loglik(model: str, params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray, x_index: XIndex = None) -> FloatArray:
    """Per-row log-likelihood of BG/NBD (``model="bgnbd"``) or MBG/NBD (``"mbgnbd"``)."""
    r, alpha, a, b = (float(v) for v in params)
    from scipy.special import betaln, gammaln

    shift = 0.0 if model == "bgnbd" else 1.0
    base = (
        _of_x(gammaln, r, x, x_index) - gammaln(r) + r * np.log(alpha)
        + _of_x(lambda v: betaln(a, v), b + shift, x, x_index) - betaln(a, b)
    )
    alive = -(r + x) * np.log(alpha + T)
    log_term, has = _bg_log_dropout_term(model, a, b, x)
    dead = log_term - (r + x) * np.log(alpha + tx)
    bracket = np.where(has, np.logaddexp(alive, np.where(has, dead, -np.inf)), alive)
    out: FloatArray = base + bracket
    return out


def bg_log_odds_dead(model: str, params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    """log of P(dead) / P(alive) given the history (−inf when the customer cannot be dead)."""
    r, alpha, a, b = (float(v) for v in params)
    log_term, has = _bg_log_dropout_term(model, a, b, x)
    odds = log_term + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    out: FloatArray = np.where(has, odds, -np.inf)
    return out


def bg_expected(model: str, params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray, t: float,
    xt_index: tuple[FloatArray, FloatArray, npt.NDArray[np.intp]] | None = None) -> FloatArray:
    """E[purchases in (T, T + t]] given the history.

    The hypergeometric factor goes through Euler's transformation,
    ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+k; a+b+x−1+k; z)
    = (1−z)^(a−1) · 2F1(a+b−1−r+k, a−1; a+b+x−1+k; z) with k = 0 (BG) or 1 (MBG),
    which keeps it bounded when x is large.
    """
    from scipy.special import expit

    # The factor depends on (x, T) only: with ``xt_index`` = (distinct x, distinct T,
    # inverse) it is computed once per distinct pair.
    hx, hT = (x, T) if xt_index is None else xt_index[:2]
    if_alive = bg_expected_if_alive(model, params, hx, hT, t)
    if xt_index is not None:
        if_alive = if_alive[xt_index[2]]
    p_alive = expit(-bg_log_odds_dead(model, params, x, tx, T))
    out: FloatArray = if_alive * p_alive
    return out


def bg_expected_if_alive(model: str, params: Params, hx: FloatArray, hT: FloatArray, t: float) -> FloatArray:
    """E[purchases in (T, T + t] | alive at T] for BG/NBD or MBG/NBD, per (x, T) pair.

    The hypergeometric factor goes through Euler's transformation (see :func:`bg_expected`).
    """
    r, alpha, a, b = (float(v) for v in params)
    from scipy.special import hyp2f1

    k = 0.0 if model == "bgnbd" else 1.0
    z = t / (alpha + hT + t)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r + k, a - 1.0, a + b + hx - 1.0 + k, z)
    bad = ~np.isfinite(tail)
    if bad.any():
        # Very large a and b (a constant dropout probability) overflow the transformed
        # series; the untransformed one, ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+k; …), is fine there.
        xb, zb = hx[bad], z[bad]
        tail[bad] = np.exp((r + xb) * np.log1p(-zb)) * hyp2f1(r + xb, b + xb + k, a + b + xb - 1.0 + k, zb)
    out: FloatArray = (a + b + hx - 1.0 + k) / (a - 1.0) * (1.0 - tail)
    return out


# -- Pareto/NBD --------------------------------------------------------------------------------


def _pareto_log_a0(params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    """log of the A0 term of the Pareto/NBD likelihood (Fader & Hardie 2005, eq. 19-20).

    A0 = F(t_x) − F(T) with F(y) = 2F1(r+s+x, ·; r+s+x+1; z(y)) / (max(α,β)+y)^(r+s+x).
    Euler's transformation turns the 2F1 into (1−z)^(c−a−b) · 2F1(1, ·; r+s+x+1; z),
    bounded for any x, so each F is taken in logs.
    """
    r, alpha, s, beta = (float(v) for v in params)
    from scipy.special import hyp2f1

    c = r + s + x
    if alpha >= beta:
        # 2F1(c, s+1; c+1; z) = (1−z)^(−s) · 2F1(1, r+x; c+1; z)
        big, diff = alpha, alpha - beta
        power: FloatArray | float = -s
        second: FloatArray | float = r + x
    else:
        # 2F1(c, r+x; c+1; z) = (1−z)^(1−r−x) · 2F1(1, s+1; c+1; z)
        big, diff, power = beta, beta - alpha, 1.0 - r - x
        second = s + 1.0

    def log_f(y: FloatArray) -> FloatArray:
        z = diff / (big + y)
        val: FloatArray = (
            power * np.log1p(-z) + np.log(hyp2f1(1.0, second, c + 1.0, z)) - c * np.log(big + y)
        )
        return val

    return _log_diff_exp(log_f(tx), log_f(T))


def pareto_loglik(params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    """Per-row log-likelihood of the Pareto/NBD model."""
    r, alpha, s, beta = (float(v) for v in params)
    from scipy.special import gammaln

    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _pareto_log_a0(params, x, tx, T)
    out: FloatArray = base + np.logaddexp(alive, dead)
    return out


def pareto_log_odds_dead(params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    """log of P(dead) / P(alive) for the Pareto/NBD model."""
    r, alpha, s, beta = (float(v) for v in params)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _pareto_log_a0(params, x, tx, T)
    out: FloatArray = dead - alive
    return out


def pareto_expected(params: Params,
    x: FloatArray, tx: FloatArray, T: FloatArray, t: float) -> FloatArray:
    """E[purchases in (T, T + t]] for Pareto/NBD (s = 1 by its limit)."""
    from scipy.special import expit

    p_alive = expit(-pareto_log_odds_dead(params, x, tx, T))
    out: FloatArray = p_alive * pareto_expected_if_alive(params, x, T, t)
    return out


def pareto_expected_if_alive(params: Params, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
    """E[purchases in (T, T + t] | alive at T] for Pareto/NBD, per (x, T) pair."""
    r, alpha, s, beta = (float(v) for v in params)
    ratio = np.log1p(t / (beta + T))
    tail = ratio if abs(s - 1.0) < 1e-9 else -np.expm1(-(s - 1.0) * ratio) / (s - 1.0)
    out: FloatArray = (r + x) * (beta + T) / (alpha + T) * tail
    return out


# -- Gamma-Gamma ---------------------------------------------------------------------------------


def gg_loglik(params: Params, x: FloatArray, m: FloatArray, x_index: XIndex = None) -> FloatArray:
    """Per-row log-likelihood of the mean spend ``m`` over ``x`` >= 1 purchases."""
    p, q, v = (float(value) for value in params)
    from scipy.special import gammaln

    px = p * x
    out: FloatArray = (
        _of_x(lambda u: gammaln(p * u + q) - gammaln(p * u) + p * u * np.log(u), 0.0, x, x_index)
        - gammaln(q) + q * np.log(v) + (px - 1.0) * np.log(m) - (px + q) * np.log(x * m + v)
    )
    return out


def gg_expected_spend(params: Params, x: FloatArray, m: FloatArray) -> FloatArray:
    """E[spend per purchase | history]: p(v + x·m) / (p·x + q − 1); the population mean
    p·v / (q − 1) where ``x`` is 0."""
    p, q, v = (float(value) for value in params)
    m0 = np.where(x > 0, m, 0.0)
    out: FloatArray = p * (v + x * m0) / (p * x + q - 1.0)
    return out


# -- gradients (per row, with respect to the natural parameters) -------------------------------


def bg_grad(model: str, params: Params, x: FloatArray, tx: FloatArray, T: FloatArray,
            x_index: XIndex = None) -> FloatArray:
    """∂ log-likelihood / ∂(r, α, a, b) per row, shape (n, 4), for BG/NBD or MBG/NBD."""
    r, alpha, a, b = (float(v) for v in params)
    from scipy.special import digamma

    k = 0.0 if model == "bgnbd" else 1.0
    alive = -(r + x) * np.log(alpha + T)
    log_term, has = _bg_log_dropout_term(model, a, b, x)
    dead = np.where(has, log_term - (r + x) * np.log(alpha + tx), -np.inf)
    total = np.logaddexp(alive, dead)
    w1 = np.exp(alive - total)
    w2 = np.exp(dead - total)
    out = np.empty((len(x), 4))
    out[:, 0] = (_of_x(digamma, r, x, x_index) - digamma(r) + np.log(alpha)
                 - w1 * np.log(alpha + T) - w2 * np.log(alpha + tx))
    out[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx))
    ab = digamma(a + b)
    abx = _of_x(digamma, a + b + k, x, x_index)
    out[:, 2] = ab - abx + w2 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.where(has, b + x - 1.0 + k, 1.0)
    out[:, 3] = _of_x(digamma, b + k, x, x_index) - abx - digamma(b) + ab - w2 / denom
    return out


def gg_grad(params: Params, x: FloatArray, m: FloatArray, x_index: XIndex = None) -> FloatArray:
    """∂ log-likelihood / ∂(p, q, v) per row, shape (n, 3), for Gamma-Gamma."""
    p, q, v = (float(value) for value in params)
    from scipy.special import digamma

    px = p * x
    lxv = np.log(x * m + v)
    both = _of_x(lambda u: digamma(p * u + q), 0.0, x, x_index)
    by_x = _of_x(lambda u: u * (digamma(p * u + q) - digamma(p * u) + np.log(u)), 0.0, x, x_index)
    out = np.empty((len(x), 3))
    out[:, 0] = by_x + x * (np.log(m) - lxv)
    out[:, 1] = both - digamma(q) + np.log(v) - lxv
    out[:, 2] = q / v - (px + q) / (x * m + v)
    return out


def bg_loglik_and_grad(model: str, params: Params, x: FloatArray, tx: FloatArray,
                       T: FloatArray, x_index: XIndex = None) -> tuple[FloatArray, FloatArray]:
    """Per-row log-likelihood (n,) and its gradient (4, n) in one pass (shared terms)."""
    r, alpha, a, b = (float(v) for v in params)
    from scipy.special import betaln, digamma, gammaln

    k = 0.0 if model == "bgnbd" else 1.0
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    rx = r + x
    alive = -rx * log_at
    log_term, has = _bg_log_dropout_term(model, a, b, x)
    dead = log_term - rx * log_atx
    if model == "bgnbd":
        dead[~has] = -np.inf
    total = np.logaddexp(alive, dead)
    w1 = np.exp(alive - total)
    w2 = 1.0 - w1
    ll = (
        _of_x(gammaln, r, x, x_index) - gammaln(r) + r * np.log(alpha)
        + _of_x(lambda v: betaln(a, v), b + k, x, x_index) - betaln(a, b) + total
    )
    g = np.empty((4, len(x)))
    g[0] = _of_x(digamma, r, x, x_index) - digamma(r) + np.log(alpha) - w1 * log_at - w2 * log_atx
    g[1] = r / alpha - rx * (w1 / (alpha + T) + w2 / (alpha + tx))
    ab = digamma(a + b)
    abx = _of_x(digamma, a + b + k, x, x_index)
    g[2] = ab - abx + w2 / a
    denom = b + x - 1.0 + k
    if model == "bgnbd":
        denom = np.where(has, denom, 1.0)
    g[3] = _of_x(digamma, b + k, x, x_index) - abx - digamma(b) + ab - w2 / denom
    return ll, g


def gg_weighted(params: Params, x: FloatArray, m: FloatArray, w: FloatArray,
                x_index: tuple[FloatArray, npt.NDArray[np.intp], FloatArray],
                wx_log_m: float, w_log_m: float) -> tuple[float, FloatArray]:
    """Weighted sum of Gamma-Gamma log-likelihoods and its gradient in (p, q, v).

    Only log(x·m + v) is taken per row and per call: the terms in x alone are summed per
    distinct x (``x_index`` = (distinct x, inverse, weight per distinct x)), and
    Σ w·x·log m (``wx_log_m``) and Σ w·log m (``w_log_m``) do not depend on the parameters.
    """
    p, q, v = (float(value) for value in params)
    from scipy.special import digamma, gammaln

    ux, _, wx = x_index
    pu = p * ux
    total_w = float(wx.sum())
    lxv = np.log(x * m + v)
    wl = float(np.dot(w, lxv))
    wxl = float(np.dot(w * x, lxv))
    value = (
        float(np.dot(wx, gammaln(pu + q) - gammaln(pu) + pu * np.log(ux)))
        + total_w * (q * np.log(v) - gammaln(q)) + p * wx_log_m - w_log_m - p * wxl - q * wl
    )
    inv = 1.0 / (x * m + v)
    g = np.empty(3)
    g[0] = float(np.dot(wx, ux * (digamma(pu + q) - digamma(pu) + np.log(ux)))) + wx_log_m - wxl
    g[1] = float(np.dot(wx, digamma(pu + q))) + total_w * (np.log(v) - digamma(q)) - wl
    g[2] = total_w * q / v - p * float(np.dot(w * x, inv)) - q * float(np.dot(w, inv))
    return value, g


def bg_weighted(model: str, params: Params, x: FloatArray, tx: FloatArray, T: FloatArray,
                w: FloatArray, x_index: tuple[FloatArray, npt.NDArray[np.intp], FloatArray],
                ) -> tuple[float, FloatArray]:
    """Weighted sum of BG/NBD (MBG/NBD) log-likelihoods and its gradient in (r, α, a, b).

    The special functions of x are summed per distinct x (``x_index`` = (distinct x,
    inverse, weight per distinct x)); per row and per call only the two logs of the ages,
    the log-sum of the alive and dead branches and a few products remain.
    """
    r, alpha, a, b = (float(v) for v in params)
    from scipy.special import betaln, digamma, gammaln

    k = 0.0 if model == "bgnbd" else 1.0
    ux, _, wx = x_index
    total_w = float(wx.sum())
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    rx = r + x
    alive = -rx * log_at
    if model == "bgnbd":
        has = x > 0
        denom = np.where(has, b + x - 1.0, 1.0)
        dead = np.where(has, np.log(a) - np.log(denom) - rx * log_atx, -np.inf)
    else:
        denom = b + x
        dead = np.log(a) - np.log(denom) - rx * log_atx
    both = np.logaddexp(alive, dead)
    w1 = np.exp(alive - both)
    ww2 = w * (1.0 - w1)
    ww1 = w - ww2
    value = (
        float(np.dot(wx, gammaln(r + ux) + betaln(a, b + ux + k)))
        + total_w * (r * np.log(alpha) - gammaln(r) - betaln(a, b)) + float(np.dot(w, both))
    )
    dab = digamma(a + b)
    dabx = digamma(a + b + ux + k)
    sum_w2 = float(ww2.sum())
    g = np.empty(4)
    g[0] = (float(np.dot(wx, digamma(r + ux))) + total_w * (np.log(alpha) - digamma(r))
            - float(np.dot(ww1, log_at)) - float(np.dot(ww2, log_atx)))
    g[1] = total_w * r / alpha - float(np.dot(ww1 * rx, 1.0 / (alpha + T))) - float(
        np.dot(ww2 * rx, 1.0 / (alpha + tx)))
    g[2] = total_w * dab - float(np.dot(wx, dabx)) + sum_w2 / a
    g[3] = (float(np.dot(wx, digamma(b + ux + k) - dabx)) + total_w * (dab - digamma(b))
            - float(np.dot(ww2, 1.0 / denom)))
    return value, g
