"""Newton's method for the BG/NBD, MBG/NBD and Gamma-Gamma fits: weighted log-likelihood,
gradient and Hessian in one pass over preallocated buffers.

A fit on a million customers is a few hundred thousand distinct rows; what a likelihood
evaluation costs there is mostly memory traffic (every numpy temporary of a few MB is new
pages for the kernel to hand out, then streamed through a memory bus shared with other
work), not arithmetic. So the rows go through in chunks of :data:`CHUNK_ROWS` into a
workspace of buffers made once per fit and small enough to stay in cache, every per-row
step writing into them (``out=``). Everything that depends on the repeat count x alone
(log-gamma, digamma, trigamma) is taken once per distinct x; every row-independent constant
(Σ n, Σ n·x, Σ n·x·log m) once per fit.

With the exact Hessian, Newton's method converges quadratically from the estimate on a
sample of the customers: three or four passes over the rows instead of the forty to fifty
that BFGS with a finite-difference Hessian needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["BGTerms", "GGTerms", "NewtonResult", "Terms", "newton_minimise"]

FloatArray = npt.NDArray[np.float64]
#: (value, gradient or None, Hessian or None) of the weighted log-likelihood, natural parameters.
Terms = tuple[float, FloatArray | None, FloatArray | None]


#: Rows per chunk: a chunk's dozen work buffers stay in the core's cache, so the per-row
#: steps do not stream every intermediate through memory (which is what a pass over a few
#: hundred thousand rows costs when the memory bus is shared).
CHUNK_ROWS = 8192


def _dot(a: FloatArray, b: FloatArray) -> float:
    """Σ a·b as a float, single-threaded: a threaded BLAS dot stalls badly when the cores
    are shared with other work, and these vectors are short enough for one core."""
    return float(np.einsum("i,i->", a, b))


class _ByX:
    """Rows sorted by x, cut into chunks, with what per-x sums over a chunk need.

    Attributes:
        ux: the distinct x (ascending); xi: each row's index into ``ux``; nx: Σ n per x.
        chunks: per chunk (lo, hi, x ids present, where each id's run starts in the chunk).
    """

    def __init__(self, x: FloatArray, n: FloatArray) -> None:
        m = len(x)
        new = np.empty(m, dtype=bool)
        new[:1] = True
        np.not_equal(x[1:], x[:-1], out=new[1:])
        self.ux = x[new]
        self.xi = (np.cumsum(new) - 1).astype(np.intp)
        starts = np.flatnonzero(new)
        self.nx = np.add.reduceat(n, starts) if m else np.zeros(0)
        self.chunks = []
        for lo in range(0, m, CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, m)
            ids = np.arange(self.xi[lo], self.xi[hi - 1] + 1)
            local = np.maximum(starts[ids], lo) - lo
            self.chunks.append((lo, hi, ids, local))


def _add(into: FloatArray, ids: npt.NDArray[np.int64], local: npt.NDArray[np.int64], weights: FloatArray) -> None:
    """``into[x] += Σ weights`` over each x's run of rows in a chunk."""
    into[ids] += np.add.reduceat(weights, local)


def _sorted_by_x(x: FloatArray, *cols: FloatArray) -> tuple[FloatArray, ...]:
    """The rows sorted by x (a no-op for the sorted rows the fits pass)."""
    if len(x) < 2 or bool(np.all(x[1:] >= x[:-1])):
        return (x, *cols)
    order = np.argsort(x, kind="stable")
    return (x[order], *(c[order] for c in cols))


class BGTerms:
    """Σ n·log L(r, α, a, b | x, t_x, T) over weighted rows, with gradient and Hessian.

    Per row: L = alive + softplus(δ) with alive = −(r+x)·log(α+T) and δ = dead − alive =
    log(a/(b+x−1+k)) + (r+x)·(log(α+T) − log(α+t_x)) (k = 0 BG/NBD, 1 MBG/NBD; BG/NBD
    rows with x = 0 cannot have died, δ = −∞). Then ∇L = ∇alive + w·∇δ and
    ∇²L = ∇²alive + w·∇²δ + w(1−w)·∇δ∇δᵀ with w = sigmoid(δ), the probability that the
    customer has died given the history; ∇δ = (d, ρ·D, 1/a, −1/β_x) with ρ = r+x,
    d = log(α+T) − log(α+t_x), D = 1/(α+T) − 1/(α+t_x), β_x = b+x−1+k.
    """

    _NAMES = ("u", "v", "A", "B", "d", "rho", "c", "delta", "e", "sp", "w", "s", "q", "t1", "t2", "ib")

    def __init__(self, model: str, x: FloatArray, tx: FloatArray, T: FloatArray, n: FloatArray) -> None:
        self.k = 0.0 if model == "bgnbd" else 1.0
        self.bg = model == "bgnbd"
        self.x, self.tx, self.T, self.n = _sorted_by_x(x, tx, T, n)
        self.by_x = _ByX(self.x, self.n)
        self.ux, self.xi, self.nx = self.by_x.ux, self.by_x.xi, self.by_x.nx
        self.total = float(n.sum())
        self.never = self.ux == 0 if self.bg else np.zeros(len(self.ux), dtype=bool)
        size = min(len(x), CHUNK_ROWS)
        self.buf = {name: np.empty(size) for name in self._NAMES}

    def __call__(self, params: FloatArray, order: int) -> Terms:
        """The weighted sum (order 0), with its gradient (1) and Hessian (2)."""
        from scipy.special import betaln, digamma, gammaln, polygamma

        r, alpha, a, b = (float(v) for v in params)
        ux, nx, k, nux = self.ux, self.nx, self.k, len(self.ux)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta_x = np.where(self.never, 1.0, b + ux - 1.0 + k)
            cx = np.where(self.never, -np.inf, math.log(a) - np.log(beta_x))
        inv_beta = np.where(self.never, 0.0, 1.0 / beta_x)
        # row sums: see _chunk for what each index holds
        acc = np.zeros(16)
        s_x, q_x, qd_x, qrb_x = (np.zeros(nux) for _ in range(4))
        for chunk in self.by_x.chunks:
            self._chunk(chunk, r, alpha, cx, inv_beta, order, acc, (s_x, q_x, qd_x, qrb_x))
        (s_nrho_u, s_n_sp, s_n_u, s_s_d, s_nrho_a, s_srho_d, sum_s, s_e_d, s_n_a, s_s_d2,
         s_e_sp, s_nrho_a2, s_t1_t2, s_c_sp, sum_q, sum_qd) = acc
        total = self.total
        value = (_dot(nx, gammaln(r + ux) + betaln(a, b + ux + k))
                 + total * (r * math.log(alpha) - gammaln(r) - betaln(a, b)) - s_nrho_u + s_n_sp)
        if order == 0:
            return float(value), None, None
        dab = float(digamma(a + b))
        dabx = digamma(a + b + ux + k)
        g = np.empty(4)
        g[0] = _dot(nx, digamma(r + ux)) + total * (math.log(alpha) - float(digamma(r))) - s_n_u + s_s_d
        g[1] = total * r / alpha - s_nrho_a + s_srho_d
        g[2] = total * dab - _dot(nx, dabx) + sum_s / a
        g[3] = _dot(nx, digamma(b + ux + k) - dabx) + total * (dab - float(digamma(b))) - _dot(s_x, inv_beta)
        if order == 1:
            return float(value), g, None
        tri_abx = polygamma(1, a + b + ux + k)
        tri_ab = float(polygamma(1, a + b))
        h = np.empty((4, 4))
        h[0, 0] = _dot(nx, polygamma(1, r + ux)) - total * float(polygamma(1, r)) + s_e_d
        h[0, 1] = total / alpha - s_n_a + s_s_d2 + s_e_sp
        h[1, 1] = -total * r / alpha**2 + s_nrho_a2 - s_t1_t2 + s_c_sp
        h[0, 2] = sum_qd / a
        h[0, 3] = -_dot(qd_x, inv_beta)
        h[1, 2] = float(qrb_x.sum()) / a
        h[1, 3] = -_dot(qrb_x, inv_beta)
        h[2, 2] = total * tri_ab - _dot(nx, tri_abx) - sum_s / a**2 + sum_q / a**2
        h[2, 3] = total * tri_ab - _dot(nx, tri_abx) - _dot(q_x, inv_beta) / a
        h[3, 3] = (_dot(nx, polygamma(1, b + ux + k) - tri_abx) + total * (tri_ab - float(polygamma(1, b)))
                   + _dot(s_x, inv_beta**2) + _dot(q_x, inv_beta**2))
        for i in range(4):
            for j in range(i):
                h[i, j] = h[j, i]
        return float(value), g, h

    def _chunk(self, chunk: tuple[int, int, npt.NDArray[np.int64], npt.NDArray[np.int64]], r: float,
               alpha: float, cx: FloatArray, inv_beta: FloatArray, order: int, acc: FloatArray,
               by_x: tuple[FloatArray, ...]) -> None:
        """Add a chunk's row sums into ``acc`` and its per-x sums into ``by_x``."""
        lo, hi, ids, local = chunk
        m = hi - lo
        u, v, A, B, d, rho, c, delta, e, sp, w, s, q, t1, t2, ib = (self.buf[name][:m] for name in self._NAMES)
        x, n, xi = self.x[lo:hi], self.n[lo:hi], self.xi[lo:hi]
        np.add(self.T[lo:hi], alpha, out=A)
        np.log(A, out=u)
        np.add(self.tx[lo:hi], alpha, out=B)
        np.log(B, out=v)
        np.subtract(u, v, out=d)
        np.add(x, r, out=rho)
        np.take(cx, xi, out=c)
        np.multiply(rho, d, out=delta)
        delta += c
        # softplus(δ) = max(δ, 0) + log(1 + e^−|δ|), exact for δ = −∞ too (log of 1 + e
        # rather than log1p(e): numpy's log is vectorised, log1p is not, and the terms
        # log1p would keep are below 1e-16 of a row's log-likelihood)
        np.abs(delta, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.add(e, 1.0, out=w)
        np.log(w, out=sp)
        np.maximum(delta, 0.0, out=t1)
        sp += t1
        np.multiply(n, rho, out=t2)  # n·ρ
        acc[0] += _dot(t2, u)
        acc[1] += _dot(n, sp)
        if order == 0:
            return
        # w = sigmoid(δ) = 1/(1+e) where δ >= 0, e/(1+e) below (w holds 1+e)
        np.reciprocal(w, out=w)
        np.multiply(e, w, out=t1)
        np.copyto(w, t1, where=delta < 0)
        np.multiply(n, w, out=s)
        np.reciprocal(A, out=A)  # A = 1/(α+T)
        np.reciprocal(B, out=B)
        np.subtract(A, B, out=B)  # B = D = 1/(α+T) − 1/(α+t_x)
        np.multiply(s, rho, out=t1)  # s·ρ
        acc[2] += _dot(n, u)
        acc[3] += _dot(s, d)
        acc[4] += _dot(t2, A)
        acc[5] += _dot(t1, B)
        acc[6] += float(s.sum())
        _add(by_x[0], ids, local, s)
        if order == 1:
            return
        np.multiply(t2, A, out=ib)  # n·ρ·A
        acc[11] += _dot(ib, A)
        np.multiply(s, w, out=q)
        np.subtract(s, q, out=q)  # q = n·w·(1−w)
        np.multiply(q, d, out=e)  # q·d
        np.multiply(rho, B, out=sp)  # ρ·D
        np.multiply(q, sp, out=c)  # q·ρ·D
        acc[7] += _dot(e, d)
        acc[8] += _dot(n, A)
        acc[9] += _dot(s, B)
        acc[10] += _dot(e, sp)
        # ∂²δ/∂α² = ρ(1/(α+t_x)² − 1/(α+T)²) = −ρ·D·(2/(α+T) − D)
        np.multiply(A, 2.0, out=t2)
        t2 -= B
        t2 *= B
        acc[12] += _dot(t1, t2)
        acc[13] += _dot(c, sp)
        acc[14] += float(q.sum())
        acc[15] += float(e.sum())
        _add(by_x[1], ids, local, q)
        _add(by_x[2], ids, local, e)
        _add(by_x[3], ids, local, c)


class GGTerms:
    """Σ n·log L(p, q, v | x, m) of Gamma-Gamma over weighted rows, with gradient and Hessian.

    Per row: log L = [log Γ(px+q) − log Γ(px) + px·log x] − log Γ(q) + q·log v
    + (px−1)·log m − (px+q)·log(x·m + v); only log(x·m + v) and 1/(x·m + v) are per row.
    """

    def __init__(self, x: FloatArray, m: FloatArray, n: FloatArray) -> None:
        x, m, n = _sorted_by_x(x, m, n)
        by_x = _ByX(x, n)
        self.ux, self.nx = by_x.ux, by_x.nx
        self.n, self.nxm = n, n * x
        self.xm = x * m
        self.total = float(n.sum())
        log_m = np.log(m)
        self.nx_log_m = _dot(self.nxm, log_m)
        self.n_log_m = _dot(n, log_m)
        self.z = np.empty(len(x))
        self.lz = np.empty(len(x))
        self.iz = np.empty(len(x))

    def __call__(self, params: FloatArray, order: int) -> Terms:
        """The weighted sum (order 0), with its gradient (1) and Hessian (2)."""
        from scipy.special import digamma, gammaln, polygamma

        p, q, v = (float(value) for value in params)
        ux, nx = self.ux, self.nx
        z, lz, iz = self.z, self.lz, self.iz
        np.add(self.xm, v, out=z)
        np.log(z, out=lz)
        pu = p * ux
        wl, wxl = _dot(self.n, lz), _dot(self.nxm, lz)
        log_ux = np.log(ux)
        value = (_dot(nx, gammaln(pu + q) - gammaln(pu) + pu * log_ux)
                 + self.total * (q * math.log(v) - float(gammaln(q))) + p * self.nx_log_m - self.n_log_m
                 - p * wxl - q * wl)
        if order == 0:
            return value, None, None
        np.reciprocal(z, out=iz)
        s0, s1 = _dot(self.n, iz), _dot(self.nxm, iz)
        dpq = digamma(pu + q)
        g = np.array([
            _dot(nx, ux * (dpq - digamma(pu) + log_ux)) + self.nx_log_m - wxl,
            _dot(nx, dpq) + self.total * (math.log(v) - float(digamma(q))) - wl,
            self.total * q / v - p * s1 - q * s0,
        ])
        if order == 1:
            return value, g, None
        np.multiply(iz, iz, out=z)
        s00, s11 = _dot(self.n, z), _dot(self.nxm, z)
        tpq = polygamma(1, pu + q)
        h = np.empty((3, 3))
        h[0, 0] = _dot(nx, ux * ux * (tpq - polygamma(1, pu)))
        h[0, 1] = h[1, 0] = _dot(nx, ux * tpq)
        h[0, 2] = h[2, 0] = -s1
        h[1, 1] = _dot(nx, tpq) - self.total * float(polygamma(1, q))
        h[1, 2] = h[2, 1] = self.total / v - s0
        h[2, 2] = -self.total * q / v**2 + p * s11 + q * s00
        return value, g, h


class NewtonResult(NamedTuple):
    """Where Newton's method stopped: log-parameters, the weighted log-likelihood there, and
    the gradient and Hessian of the minimised objective in log-parameters."""

    theta: FloatArray
    loglik: float
    grad: FloatArray
    hess: FloatArray


def newton_minimise(
    terms: Callable[[FloatArray, int], Terms],
    start: FloatArray,
    total: float,
    l2: float,
    *,
    max_iter: int = 100,
) -> NewtonResult | None:
    """Minimise −Σ n·log L / total + l2·Σ θ² over log-parameters by damped Newton steps.

    Each step solves with the exact Hessian (its eigenvalues lifted to positive where the
    objective is not convex yet) and halves until the objective falls (Armijo); a full step
    costs one pass over the rows. Stops when the Newton decrement is at floating-point level.

    Args:
        terms: the weighted log-likelihood with gradient and Hessian in natural parameters.
        start: natural parameters to start from, shape (k,).
        total: the sum of the weights (customers).
        l2: the L2 penalty on the natural parameters.
        max_iter: Newton steps allowed.

    Returns:
        The optimum, or ``None`` when the steps did not converge (the caller falls back to
        BFGS).
    """

    def objective(theta: FloatArray, order: int) -> tuple[float, float, FloatArray, FloatArray]:
        if np.any(np.abs(theta) > 40):
            return math.inf, math.nan, np.zeros(0), np.zeros(0)
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            value, g, h = terms(params, order)
        f = -value / total + l2 * float(np.sum(params**2))
        if not math.isfinite(f):
            f = math.inf
        if g is None or h is None:
            return f, value, np.zeros(0), np.zeros(0)
        grad: FloatArray = (-g / total + 2 * l2 * params) * params
        hp = -h / total + 2 * l2 * np.eye(len(params))
        hess: FloatArray = hp * np.outer(params, params) + np.diag(grad)
        return f, value, grad, hess

    theta = np.log(np.asarray(start, dtype=np.float64))
    f, value, grad, hess = objective(theta, 2)
    for _ in range(max_iter):
        if not (math.isfinite(f) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            return None
        lam, vec = np.linalg.eigh(hess)
        floor = 1e-8 * max(1.0, float(np.max(np.abs(lam))))
        step = -(vec @ ((vec.T @ grad) / np.maximum(np.abs(lam), floor)))
        biggest = float(np.max(np.abs(step)))
        if biggest > 2.0:
            step *= 2.0 / biggest
        decrement = -_dot(grad, step)
        # the predicted decrease is below the rounding of the objective itself
        if decrement < 1e-16 * max(1.0, abs(f)) or biggest < 1e-12:
            return NewtonResult(theta, value, grad, hess)
        t = 1.0
        for _ in range(40):
            candidate = theta + t * step
            # the full step is the usual case near the optimum: take its Hessian at once
            found = objective(candidate, 2 if t == 1.0 else 0)
            if found[0] <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
        else:
            # no decrease along the step: at the optimum up to rounding, or stuck
            return NewtonResult(theta, value, grad, hess) if decrement < 1e-12 else None
        if t != 1.0:
            found = objective(candidate, 2)
        theta = candidate
        f, value, grad, hess = found
    return None
