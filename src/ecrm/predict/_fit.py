"""Maximum-likelihood fits of the transaction models (BG/NBD, MBG/NBD, Pareto/NBD) and of
the Gamma-Gamma spend model."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable
from typing import Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
from ecrm.predict import _kernels as kern
from ecrm.predict._errors import FitError, ThinDataWarning, require_scipy
from ecrm.predict._newton import BGTerms, GGTerms, Terms, newton_minimise
from ecrm.predict._summary import UNIT_DAYS, Summary, _unit, distinct_histories

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_HISTORY_DAYS",
    "MIN_REPEATERS",
    "SpendModel",
    "ThinData",
    "TransactionModel",
    "fit_bgnbd",
    "fit_gammagamma",
    "fit_mbgnbd",
    "fit_paretonbd",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ThinData = Literal["warn", "refuse", "ignore"]
TransactionKind = Literal["bgnbd", "mbgnbd", "paretonbd"]

#: Below these the fit goes on with a :class:`ThinDataWarning` (or refuses): customers in
#: the summary, customers with at least one repeat purchase, and days from the earliest
#: first purchase to ``as_of``. Klaviyo asks for 500 customers with orders and 180 days of
#: history before it shows predictions; a four-parameter model needs some repeaters to
#: separate purchase rate from dropout.
MIN_CUSTOMERS: Final = 500
MIN_REPEATERS: Final = 100
MIN_HISTORY_DAYS: Final = 180
#: Parameters outside [1e-8, 1e8] mean the optimiser ran off to a boundary.
_PARAM_RANGE: Final = (1e-8, 1e8)
#: Above this many distinct rows a fit starts from a fit on a sample of the customers.
_WARM_ROWS: Final = 100_000
_WARM_SHARE: Final = 0.05
_NAMES: Final = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD", "gammagamma": "Gamma-Gamma"}


def _check_positive(instance: object, attribute: attrs.Attribute[tuple[float, ...]], value: tuple[float, ...]) -> None:
    names = kern.PARAMS[instance.model]  # type: ignore[attr-defined]
    if len(value) != len(names):
        raise InvalidValueError("params", f"must be {len(names)} numbers ({', '.join(names)})",
                                value)
    for name, v in zip(names, value, strict=True):
        if not (isinstance(v, float) and math.isfinite(v) and v > 0):
            raise InvalidValueError(f"params.{name}", "must be a finite float > 0", v)


def _to_floats(value: object) -> tuple[float, ...]:
    if not isinstance(value, tuple | list | np.ndarray) or len(value) > 8:  # bounded work
        raise InvalidTypeError(f"params must be a short tuple of floats, got {_short_repr(value)}")
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"params must hold numbers, got {_short_repr(value)}") from None


def _check_model(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    allowed = ("gammagamma",) if attribute.name == "model" and isinstance(instance, SpendModel) else (
        "bgnbd", "mbgnbd", "paretonbd")
    if value not in allowed:
        raise InvalidValueError("model", f"must be one of {', '.join(allowed)}", value)


@attrs.frozen(repr=False)
class TransactionModel:
    """A fitted (or given) transaction model: BG/NBD, MBG/NBD or Pareto/NBD.

    Attributes:
        model: ``"bgnbd"``, ``"mbgnbd"`` or ``"paretonbd"``.
        params: the parameters in :attr:`param_names` order — (r, alpha, a, b) for BG/NBD
            and MBG/NBD, (r, alpha, s, beta) for Pareto/NBD; alpha and beta are in ``unit``.
        unit: the time unit the parameters are in (``"days"`` or ``"weeks"``).
        standard_errors: asymptotic standard errors from the observed information (the
            inverse Hessian of the log-likelihood), or ``None`` for given parameters.
        log_likelihood: total log-likelihood at ``params`` over the fitted customers.
        n_customers: customers fitted; ``n_rows``: distinct (x, t_x, T) rows the fit cost.
        l2: the L2 penalty used.
    """

    model: str = attrs.field(validator=_check_model)
    params: tuple[float, ...] = attrs.field(converter=_to_floats, validator=_check_positive)
    unit: str = attrs.field(default="days", converter=_unit)
    standard_errors: tuple[float, ...] | None = None
    log_likelihood: float | None = None
    n_customers: int = 0
    n_rows: int = 0
    l2: float = 0.0

    @property
    def param_names(self) -> tuple[str, ...]:
        return kern.PARAMS[self.model]

    def as_dict(self) -> dict[str, float]:
        """The parameters by name."""
        return dict(zip(self.param_names, self.params, strict=True))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.as_dict().items())
        return f"TransactionModel({_NAMES[self.model]}, {body}, unit={self.unit!r})"

    # -- kernels over arrays in the model unit -------------------------------------------
    def loglik(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """float64 per-row log-likelihood of histories (x, t_x, T) in the model unit."""
        require_scipy("the prediction models")
        if self.model == "paretonbd":
            return kern.pareto_loglik(self.params, x, tx, T)
        return kern.bg_loglik(self.model, self.params, x, tx, T)

    def log_odds_dead(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """float64 log(P(dead) / P(alive)) per row (−inf: surely alive)."""
        require_scipy("the prediction models")
        if self.model == "paretonbd":
            return kern.pareto_log_odds_dead(self.params, x, tx, T)
        return kern.bg_log_odds_dead(self.model, self.params, x, tx, T)

    def expected_if_alive(self, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
        """float64 expected purchases in the next ``t`` model units for a customer still
        alive, per (x, T) pair; times probability alive it is :meth:`expected`."""
        require_scipy("the prediction models")
        if self.model == "paretonbd":
            return kern.pareto_expected_if_alive(self.params, x, T, t)
        return kern.bg_expected_if_alive(self.model, self.params, x, T, t)

    def expected(self, x: FloatArray, tx: FloatArray, T: FloatArray, t: float,
                 xt_index: tuple[FloatArray, FloatArray, npt.NDArray[np.intp]] | None = None,
                 ) -> FloatArray:
        """float64 expected purchases in the next ``t`` model units per row.

        ``xt_index`` (distinct x, distinct T, inverse) of the (x, T) pairs lets BG/NBD and
        MBG/NBD take their hypergeometric factor once per distinct pair.
        """
        require_scipy("the prediction models")
        if self.model == "paretonbd":
            return kern.pareto_expected(self.params, x, tx, T, t)
        return kern.bg_expected(self.model, self.params, x, tx, T, t, xt_index)


@attrs.frozen(repr=False)
class SpendModel:
    """A fitted (or given) Gamma-Gamma spend model: (p, q, v), v in fen.

    Attributes are as in :class:`TransactionModel`; ``model`` is ``"gammagamma"``.
    """

    model: str = attrs.field(validator=_check_model)
    params: tuple[float, ...] = attrs.field(converter=_to_floats, validator=_check_positive)
    standard_errors: tuple[float, ...] | None = None
    log_likelihood: float | None = None
    n_customers: int = 0
    n_rows: int = 0
    l2: float = 0.0

    @property
    def param_names(self) -> tuple[str, ...]:
        return kern.PARAMS[self.model]

    def as_dict(self) -> dict[str, float]:
        """The parameters by name."""
        return dict(zip(self.param_names, self.params, strict=True))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.as_dict().items())
        return f"SpendModel(Gamma-Gamma, {body})"

    def expected_spend_fen(self, x: FloatArray, mean_fen: FloatArray) -> FloatArray:
        """float64 expected spend per future purchase, fen (population mean where x is 0).

        Raises:
            FitError: q <= 1, where the Gamma-Gamma mean does not exist.
        """
        q = self.params[1]
        if q <= 1.0:
            raise FitError(
                f"Gamma-Gamma q = {q:.4g} <= 1: expected spend is infinite; fit with an l2 "
                "penalty or check the spend column for outliers"
            )
        return kern.gg_expected_spend(self.params, x, np.nan_to_num(mean_fen))


# -- grouping, thin data, optimiser -----------------------------------------------------------


def _group(*cols: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Distinct rows of the columns and their weights (counts)."""
    if not len(cols[0]):
        return [c.copy() for c in cols], np.zeros(0)
    stacked = np.stack(cols, axis=1)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [np.ascontiguousarray(uniq[:, i]) for i in range(len(cols))], counts.astype(np.float64)


def _group_spend(x: IntArray, spend_fen: IntArray) -> tuple[list[FloatArray], FloatArray]:
    """Distinct (x, mean spend) rows and their weights, grouped on the integers (x, total
    spend) through one int64 key: one sort of a vector, not a row-wise unique."""
    top = int(spend_fen.max()) + 1
    if int(x.max()) >= (2**62) // top:  # the key would overflow: group the float rows
        return _group(x.astype(np.float64), spend_fen / x)
    key, counts = np.unique(x * top + spend_fen, return_counts=True)
    xs, totals = np.divmod(key, top)
    return [xs.astype(np.float64), totals / xs], counts.astype(np.float64)


def _thin(policy: str, problems: list[str], what: str) -> None:
    if policy not in ("warn", "refuse", "ignore"):
        raise InvalidValueError("thin_data", "must be 'warn', 'refuse' or 'ignore'", policy)
    if not problems or policy == "ignore":
        return
    text = f"{what}: the data are thin ({'; '.join(problems)}); estimates are uncertain"
    if policy == "refuse":
        raise FitError(text + " (thin_data='refuse'); gather more history or pass thin_data='warn'")
    warnings.warn(text, ThinDataWarning, stacklevel=3)


def _numeric_hessian(f: Callable[[FloatArray], float], theta: FloatArray) -> FloatArray:
    n = len(theta)
    h = 1e-4 * np.maximum(1.0, np.abs(theta))
    out = np.empty((n, n))
    f0 = f(theta)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                e = np.zeros(n)
                e[i] = h[i]
                out[i, i] = (f(theta + e) - 2 * f0 + f(theta - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                out[i, j] = out[j, i] = (
                    f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
                ) / (4 * h[i] * h[j])
    return out


def _numeric_grad(f: Callable[[FloatArray], float], theta: FloatArray) -> FloatArray:
    n = len(theta)
    g = np.empty(n)
    for i in range(n):
        h = 1e-6 * max(1.0, abs(theta[i]))
        e = np.zeros(n)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def _maximise(
    name: str,
    ll: Callable[[FloatArray], FloatArray],
    ll_grad: Callable[[FloatArray], tuple[FloatArray, FloatArray]] | None,
    weights: FloatArray,
    start: FloatArray,
    l2: float,
    summed: Callable[[FloatArray], tuple[float, FloatArray]] | None = None,
    hess_inv0: FloatArray | None = None,
    terms: Callable[[FloatArray, int], Terms] | None = None,
) -> tuple[FloatArray, FloatArray, float, FloatArray]:
    """Maximise the weighted mean log-likelihood over log-parameters.

    Where the model has an exact Hessian (``terms``), damped Newton steps find the optimum
    in a few passes over the rows. Otherwise, or if those steps do not converge, BFGS finds
    it, Newton steps on a Hessian (finite differences of the analytic
    gradient where the model has one) polish it — quadratic convergence, so the estimate is
    limited by floating point, not by a tolerance — and the same Hessian gives the standard
    errors.

    Args:
        ll: per-row log-likelihood of the natural parameters, shape (rows,).
        ll_grad: per-row log-likelihood and gradient, shapes (rows,) and (k, rows), in one
            pass; ``None`` for central differences of ``ll``.
        summed: the weighted sums of both directly (float, shape (k,)), cheaper where a
            model allows it; used instead of ``ll_grad`` when given.
        hess_inv0: BFGS's first inverse Hessian (from a fit on a sample), or identity.
        terms: the weighted log-likelihood with its gradient and Hessian in natural
            parameters (``ecrm.predict._newton``), for Newton's method.

    Returns:
        (params, standard errors, total log-likelihood, Hessian of the mean objective in
        log-parameters).
    """
    from scipy.optimize import minimize

    total = float(weights.sum())
    if l2 < 0 or not math.isfinite(l2):
        raise InvalidValueError("l2", "must be a finite float >= 0", l2)

    def objective(theta: FloatArray) -> float:
        if np.any(np.abs(theta) > 40):
            return math.inf
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            value = -float(np.dot(weights, ll(params))) / total + l2 * float(np.sum(params**2))
        return value if math.isfinite(value) else math.inf

    def value_and_gradient(theta: FloatArray) -> tuple[float, FloatArray]:
        if ll_grad is None or np.any(np.abs(theta) > 40):
            return objective(theta), _numeric_grad(objective, theta)
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            if summed is not None:
                sum_ll, sum_grad = summed(params)
            else:
                rows, grads = ll_grad(params)
                sum_ll, sum_grad = float(np.dot(weights, rows)), grads @ weights
            value = -sum_ll / total + l2 * float(np.sum(params**2))
            g = -sum_grad / total + 2 * l2 * params
        out: FloatArray = g * params  # chain rule to log-parameters
        if not (math.isfinite(value) and np.all(np.isfinite(out))):
            return math.inf, np.zeros_like(out)
        return value, out

    def gradient(theta: FloatArray) -> FloatArray:
        return value_and_gradient(theta)[1]

    def hessian(theta: FloatArray) -> FloatArray:
        if ll_grad is None:
            return _numeric_hessian(objective, theta)
        n = len(theta)
        out = np.empty((n, n))
        for i in range(n):
            h = 1e-5 * max(1.0, abs(theta[i]))
            e = np.zeros(n)
            e[i] = h
            out[:, i] = (gradient(theta + e) - gradient(theta - e)) / (2 * h)
        sym: FloatArray = (out + out.T) / 2
        return sym

    hint = "try an l2 penalty (l2=0.01), another model, or more history"
    if terms is not None:
        found = newton_minimise(terms, start, total, l2)
        if found is not None:
            params = np.exp(found.theta)
            _check_estimate(name, params, found.grad, hint)
            return params, _standard_errors(name, params, found.hess, total, hint), found.loglik, found.hess
    if not math.isfinite(objective(np.log(start))):
        raise FitError(f"{name}: the log-likelihood is not finite at the start values; {hint}")
    options: dict[str, object] = {"gtol": 1e-6, "maxiter": 2000}
    if hess_inv0 is not None:
        options["hess_inv0"] = hess_inv0
    res = minimize(value_and_gradient, np.log(start), method="BFGS", jac=True, options=options)
    theta = np.asarray(res.x, dtype=np.float64)
    if not math.isfinite(res.fun):
        raise FitError(f"{name}: the optimiser ended where the log-likelihood is not finite; {hint}")
    hess = hessian(theta)
    for _ in range(5):
        value, g = value_and_gradient(theta)
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) > 1.0:
            break
        candidate = theta - step
        if objective(candidate) > value + 1e-15:
            break
        theta = candidate
        if np.max(np.abs(step)) < 1e-10:
            break
    params = np.exp(theta)
    g = gradient(theta)
    _check_estimate(name, params, g, hint)
    # Observed information of the total log-likelihood, log-parameters (with the penalty,
    # which is zero by default).
    se = _standard_errors(name, params, hess, total, hint)
    loglik = float(np.dot(weights, ll(params)))
    return params, se, loglik, hess


def _check_estimate(name: str, params: FloatArray, grad: FloatArray, hint: str) -> None:
    """A boundary estimate or a gradient far from zero is a FitError."""
    low, high = _PARAM_RANGE
    if np.any(params < low) or np.any(params > high):
        body = ", ".join(f"{v:.3g}" for v in params)
        raise FitError(f"{name}: the fit ran to a boundary (parameters {body}): the data do not "
                       f"identify the model; {hint}")
    if not np.all(np.isfinite(grad)) or np.max(np.abs(grad)) > 1e-4:
        raise FitError(f"{name}: the optimiser did not converge (gradient {np.max(np.abs(grad)):.2g}); {hint}")


def _standard_errors(name: str, params: FloatArray, mean_hess: FloatArray, total: float, hint: str) -> FloatArray:
    """Standard errors from the observed information (the Hessian of the total objective in
    log-parameters, with the penalty, which is zero by default), by the delta method."""
    try:
        cov = np.linalg.inv(mean_hess * total)
    except np.linalg.LinAlgError:
        cov = np.full_like(mean_hess, np.nan)
    diag = np.diag(cov)
    if np.any(~np.isfinite(diag)) or np.any(diag <= 0):
        raise FitError(f"{name}: the likelihood is flat or not concave at the estimate, so the "
                       f"parameters are not identified; {hint}")
    se: FloatArray = params * np.sqrt(diag)
    return se


def _bg_closures(
    model: str, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray
) -> tuple[
    Callable[[FloatArray], FloatArray],
    Callable[[FloatArray], tuple[FloatArray, FloatArray]] | None,
    Callable[[FloatArray], tuple[float, FloatArray]] | None,
]:
    """The per-row log-likelihood, per-row gradient and summed objective of one model."""
    if model == "paretonbd":
        def pareto_ll(p: FloatArray) -> FloatArray:
            return kern.pareto_loglik(p, x, tx, T)

        return pareto_ll, None, None
    index: list[tuple[FloatArray, npt.NDArray[np.intp], FloatArray]] = []

    def x_index() -> tuple[FloatArray, npt.NDArray[np.intp], FloatArray]:
        # made on first use: Newton's method (the usual path) does not need it
        if not index:
            distinct_x, inverse = np.unique(x, return_inverse=True)
            at = inverse.reshape(-1).astype(np.intp)
            index.append((distinct_x, at, np.bincount(at, weights=w, minlength=len(distinct_x)).astype(np.float64)))
        return index[0]

    def ll(p: FloatArray) -> FloatArray:
        return kern.bg_loglik(model, p, x, tx, T, x_index()[:2])

    def grad(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        return kern.bg_loglik_and_grad(model, p, x, tx, T, x_index()[:2])

    def summed(p: FloatArray) -> tuple[float, FloatArray]:
        return kern.bg_weighted(model, p, x, tx, T, w, x_index())

    return ll, grad, summed


def _bg_terms(model: str, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray) -> BGTerms | None:
    """Newton's terms of BG/NBD and MBG/NBD (Pareto/NBD has none: BFGS)."""
    return None if model == "paretonbd" else BGTerms(model, x, tx, T, w)


def _transaction_fit(
    model: TransactionKind, summary: Summary, l2: float, thin_data: ThinData
) -> TransactionModel:
    require_scipy(f"fitting {_NAMES[model]}")
    _v.check_instance("summary", summary, Summary)
    n = len(summary)
    if n == 0:
        raise FitError(f"{_NAMES[model]}: no customers to fit; widen the calibration window")
    repeaters = int(np.count_nonzero(summary.x))
    history_days = float(np.max(summary.T)) * UNIT_DAYS[summary.unit]
    problems = []
    if n < MIN_CUSTOMERS:
        problems.append(f"{n} customers < {MIN_CUSTOMERS}")
    if repeaters < MIN_REPEATERS:
        problems.append(f"{repeaters} repeat customers < {MIN_REPEATERS}")
    if history_days < MIN_HISTORY_DAYS:
        problems.append(f"{history_days:g} days of history < {MIN_HISTORY_DAYS}")
    _thin(thin_data, problems, _NAMES[model])
    if repeaters == 0:
        raise FitError(f"{_NAMES[model]}: nobody made a repeat purchase, so the purchase rate "
                       "and dropout cannot be told apart; use a longer calibration window")
    x, tx, T, w, _ = distinct_histories(summary)
    rate = float(np.dot(w, x) / np.dot(w, T)) if np.dot(w, T) > 0 else 1.0
    if model == "paretonbd":
        start = np.array([1.0, 1.0 / max(rate, 1e-6), 1.0, float(np.dot(w, T) / w.sum())])
    else:
        start = np.array([1.0, 1.0 / max(rate, 1e-6), 1.0, 3.0])
    hess_inv0: FloatArray | None = None
    if len(x) > _WARM_ROWS:
        # Start from the estimate on a random 5% of the customers: the full fit then needs
        # a few iterations instead of a few dozen (the optimum is the full data's own).
        sub_w = np.random.default_rng(0).binomial(w.astype(np.int64), _WARM_SHARE).astype(np.float64)
        keep = sub_w > 0
        sub_ll, sub_grad, sub_summed = _bg_closures(model, x[keep], tx[keep], T[keep], sub_w[keep])
        sub_terms = _bg_terms(model, x[keep], tx[keep], T[keep], sub_w[keep])
        with contextlib.suppress(FitError, np.linalg.LinAlgError):
            # (the full data may still fit from the default start)
            warm = _maximise(_NAMES[model], sub_ll, sub_grad, sub_w[keep], start, l2, sub_summed,
                             terms=sub_terms)
            start = warm[0]
            inv = np.linalg.inv(warm[3])
            inv = (inv + inv.T) / 2
            np.linalg.cholesky(inv)  # BFGS needs it positive definite; LinAlgError if not
            hess_inv0 = inv.astype(np.float64)
    ll, grad, summed = _bg_closures(model, x, tx, T, w)
    params, se, loglik, _ = _maximise(_NAMES[model], ll, grad, w, start, l2, summed, hess_inv0,
                                      _bg_terms(model, x, tx, T, w))
    return TransactionModel(
        model, tuple(params), unit=summary.unit, standard_errors=tuple(float(s) for s in se),
        log_likelihood=loglik, n_customers=n, n_rows=len(x), l2=l2,
    )


def fit_bgnbd(summary: Summary, *, l2: float = 0.0, thin_data: ThinData = "warn") -> TransactionModel:
    """Fit BG/NBD (Fader, Hardie & Lee 2005) by maximum likelihood.

    Args:
        summary: per-customer (x, t_x, T); rows with equal values are fitted once, weighted.
        l2: L2 penalty on the parameters, added to the negative mean log-likelihood.
        thin_data: what to do below :data:`MIN_CUSTOMERS`, :data:`MIN_REPEATERS` or
            :data:`MIN_HISTORY_DAYS`: ``"warn"`` (:class:`ThinDataWarning`), ``"refuse"``
            (:class:`FitError`) or ``"ignore"``.

    Returns:
        The fitted :class:`TransactionModel` with standard errors.

    Raises:
        FitError: no repeaters, an optimiser failure or a degenerate estimate.
        MissingDependencyError: scipy (the ``predict`` extra) is not installed.
        InvalidTypeError: ``summary`` is not a :class:`Summary`.
    """
    return _transaction_fit("bgnbd", summary, l2, thin_data)


def fit_mbgnbd(summary: Summary, *, l2: float = 0.0, thin_data: ThinData = "warn") -> TransactionModel:
    """Fit MBG/NBD (Batislam et al. 2007: customers may also drop out before a repeat).

    Arguments, result and errors as :func:`fit_bgnbd`.
    """
    return _transaction_fit("mbgnbd", summary, l2, thin_data)


def fit_paretonbd(summary: Summary, *, l2: float = 0.0, thin_data: ThinData = "warn") -> TransactionModel:
    """Fit Pareto/NBD (Schmittlein, Morrison & Colombo 1987) by maximum likelihood.

    Arguments, result and errors as :func:`fit_bgnbd`.
    """
    return _transaction_fit("paretonbd", summary, l2, thin_data)


def fit_gammagamma(summary: Summary, *, l2: float = 0.0, thin_data: ThinData = "warn") -> SpendModel:
    """Fit the Gamma-Gamma spend model on customers with at least one repeat purchase.

    The model takes each customer's mean spend per repeat purchase (fen) and their repeat
    count x; it assumes spend is independent of purchase frequency.

    Args:
        summary: per-customer x and repeat spend.
        l2: L2 penalty on (p, q, v).
        thin_data: as :func:`fit_bgnbd` (the repeater count is what matters here).

    Returns:
        The fitted :class:`SpendModel`; ``v`` is in fen.

    Raises:
        FitError: no repeat spend, an optimiser failure, or a degenerate estimate.
        MissingDependencyError: scipy (the ``predict`` extra) is not installed.
        InvalidTypeError: ``summary`` is not a :class:`Summary`.
    """
    require_scipy("fitting Gamma-Gamma")
    _v.check_instance("summary", summary, Summary)
    rep = (summary.x > 0) & (summary.repeat_spend_fen > 0)
    n = int(np.count_nonzero(rep))
    _thin(thin_data, [f"{n} repeat customers with spend < {MIN_REPEATERS}"] if n < MIN_REPEATERS else [],
          "Gamma-Gamma")
    if n < 2:
        raise FitError("Gamma-Gamma: fewer than 2 customers with repeat spend; nothing to fit")
    (x, m), w = _group_spend(summary.x[rep], summary.repeat_spend_fen[rep])
    mean = float(np.dot(w, m) / w.sum())

    index: list[tuple[FloatArray, npt.NDArray[np.intp], FloatArray, float, float]] = []

    def x_index() -> tuple[FloatArray, npt.NDArray[np.intp], FloatArray, float, float]:
        # made on first use: Newton's method (the usual path) does not need it
        if not index:
            distinct_x, inverse = np.unique(x, return_inverse=True)
            at = inverse.reshape(-1).astype(np.intp)
            log_m = np.log(m)
            index.append((distinct_x, at, np.bincount(at, weights=w, minlength=len(distinct_x)).astype(np.float64),
                          float(np.dot(w * x, log_m)), float(np.dot(w, log_m))))
        return index[0]

    def ll(p: FloatArray) -> FloatArray:
        return kern.gg_loglik(p, x, m, x_index()[:2])

    def grad(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        return kern.gg_loglik(p, x, m, x_index()[:2]), kern.gg_grad(p, x, m, x_index()[:2]).T

    def summed(p: FloatArray) -> tuple[float, FloatArray]:
        ux, at, wx, wx_log_m, w_log_m = x_index()
        return kern.gg_weighted(p, x, m, w, (ux, at, wx), wx_log_m, w_log_m)

    params, se, loglik, _ = _maximise("Gamma-Gamma", ll, grad, w, np.array([2.0, 3.0, mean]), l2,
                                      summed, terms=GGTerms(x, m, w))
    return SpendModel("gammagamma", tuple(params), standard_errors=tuple(float(s) for s in se),
                      log_likelihood=loglik, n_customers=n, n_rows=len(x), l2=l2)
