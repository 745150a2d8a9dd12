"""Per-customer predictions: probability alive, purchases ahead, next purchase date, CLV."""

from __future__ import annotations

import math
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._results import ResultFrame, dates, nullable
from ecrm._time import day_to_date
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.predict._errors import require_scipy
from ecrm.predict._fit import SpendModel, TransactionModel
from ecrm.predict._summary import UNIT_DAYS, Summary, distinct_histories

__all__ = ["RISK_BANDS", "Predictions", "predict"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Default churn-risk cut-offs on probability alive: below 0.3 high, below 0.7 medium.
RISK_BANDS: Final = (0.3, 0.7)
_RISK_NAMES: Final = np.asarray(["high", "medium", "low"])
_MODEL_NAMES: Final = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD"}
#: Gauss–Legendre nodes for the Pareto/NBD "purchase within t" integral.
_GL_NODES: Final = 32


@attrs.frozen(repr=False, eq=False)
class Predictions(ResultFrame):
    """Per-customer predictions at ``as_of`` (arrays shape (n,), rows as in the summary).

    Attributes:
        customer_ids: the ids as the shop has them.
        x, t_x_days, T_days: the history each prediction rests on (repeat purchases, days
            from first to last purchase, days from first purchase to ``as_of``).
        p_alive: float64, probability the customer is still a customer (alive).
        expected_purchases: float64, expected purchase days in the next ``horizon_days``.
        p_any_purchase: float64, probability of at least one purchase in ``horizon_days``.
        next_purchase_day: int64 local day number of the median next purchase (the day by
            which the customer has bought again with probability one half); ``-1`` when
            that probability never reaches one half (more likely gone than not).
        risk: str, churn-risk band, ``"high"`` / ``"medium"`` / ``"low"``.
        expected_spend_fen: float64 expected spend per purchase (NaN without a spend model).
        clv_fen: int64 discounted expected spend over ``clv_horizon_days`` (-1 without a
            spend model).
        horizon_days, clv_horizon_days, discount_rate: the settings used.
        model, spend: the models used.
    """

    customer_ids: npt.NDArray[Any]
    x: IntArray
    t_x_days: IntArray
    T_days: IntArray
    p_alive: FloatArray
    expected_purchases: FloatArray
    p_any_purchase: FloatArray
    next_purchase_day: IntArray
    risk: npt.NDArray[np.str_]
    expected_spend_fen: FloatArray
    clv_fen: IntArray
    horizon_days: int
    clv_horizon_days: int
    discount_rate: float
    model: TransactionModel
    spend: SpendModel | None
    summary: Summary

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        counts = {band: int(np.count_nonzero(self.risk == band)) for band in ("high", "medium", "low")}
        bands = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        return (f"Predictions({len(self):,} customers, {self.model.model}, "
                f"horizon {self.horizon_days} days, risk: {bands})")

    def _columns(self) -> dict[str, Any]:
        """The result columns, for the shared result protocol (``ecrm._results``)."""
        missing_day = self.next_purchase_day < 0
        cols: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "x": self.x,
            "t_x_days": self.t_x_days,
            "T_days": self.T_days,
            "p_alive": self.p_alive,
            "expected_purchases": self.expected_purchases,
            "p_any_purchase": self.p_any_purchase,
            "next_purchase_date": dates(np.where(missing_day, 0, self.next_purchase_day),
                                        missing_day),
            "risk": self.risk,
            "expected_spend_fen": nullable(self.expected_spend_fen,
                                           np.isnan(self.expected_spend_fen)),
            "clv_fen": nullable(self.clv_fen, self.clv_fen < 0),
        }
        return cols

    def explain(self, customer_id: Any) -> str:
        """Why this customer got these predictions, in words.

        Raises:
            UnknownCustomerError: the customer is not in the predictions.
        """
        i = self.summary.index_of(customer_id)
        if isinstance(customer_id, np.generic):
            customer_id = customer_id.item()
        x, tx, T = int(self.x[i]), int(self.t_x_days[i]), int(self.T_days[i])
        if x == 0:
            history = f"bought once, {T} days ago, and not since"
        else:
            history = (f"made {x} repeat purchase{'s' if x != 1 else ''} in {T} days since the first; "
                       f"the last was {T - tx} days ago")
        lines = [
            f"Customer {customer_id!r} {history}.",
            f"{_MODEL_NAMES[self.model.model]} gives a {self.p_alive[i]:.0%} chance they are still a customer "
            f"({self.risk[i]} churn risk).",
            f"Expected purchases in the next {self.horizon_days} days: "
            f"{self.expected_purchases[i]:.2f}; chance of at least one: {self.p_any_purchase[i]:.0%}.",
        ]
        if self.next_purchase_day[i] >= 0:
            lines.append(f"Median next purchase: {day_to_date(int(self.next_purchase_day[i]))}.")
        else:
            lines.append("No next-purchase date: they are more likely never to buy again than to buy.")
        if self.clv_fen[i] >= 0:
            lines.append(
                f"Expected spend per purchase ¥{self.expected_spend_fen[i] / 100:,.2f}; value over "
                f"the next {self.clv_horizon_days} days, discounted at {self.discount_rate:.0%} a year: "
                f"¥{self.clv_fen[i] / 100:,.2f}."
            )
        return " ".join(lines)


def _p_any_pareto(model: TransactionModel, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
    """P(at least one purchase in t | alive) for Pareto/NBD.

    With λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T) independent, the integral
    ∫_0^t E[λe^(−λu)] E[e^(−μu)] du is taken in w = 1 − ((α+T)/(α+T+u))^(r+x), where the
    integrand (β+T)/(β+T+u))^s is smooth and bounded, by Gauss–Legendre quadrature.
    """
    return _p_any_each(model, x, T, np.full(len(x), t))


def _p_any_alive(model: TransactionModel, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
    """P(at least one purchase in the next t units | alive), per row."""
    if model.model == "paretonbd":
        return _p_any_pareto(model, x, T, t)
    r, alpha = model.params[0], model.params[1]
    out: FloatArray = -np.expm1(-(r + x) * np.log1p(t / (alpha + T)))
    return out


def _median_next(model: TransactionModel, x: FloatArray, T: FloatArray, p_alive: FloatArray) -> FloatArray:
    """Median time to the next purchase in model units (inf when P(ever) < 1/2)."""
    target = np.where(p_alive > 0.5, 0.5 / np.maximum(p_alive, 0.5), np.nan)  # P(buy by t | alive)
    out = np.full(len(x), np.inf)
    ok = p_alive > 0.5
    if not ok.any():
        return out
    if model.model != "paretonbd":
        r, alpha = model.params[0], model.params[1]
        k = r + x[ok]
        out[ok] = (alpha + T[ok]) * np.expm1(-np.log1p(-target[ok]) / k)
        return out
    # Pareto/NBD: bisection in log time, all rows at once.
    lo = np.full(int(ok.sum()), -20.0)
    hi = np.full(int(ok.sum()), 20.0)
    xs, Ts, tg = x[ok], T[ok], target[ok]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = _p_any_each(model, xs, Ts, np.exp(mid)) < tg
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    res = np.exp(0.5 * (lo + hi))
    res[res > math.exp(19.9)] = np.inf  # never reached: the customer dies first too often
    out[ok] = res
    return out


def _p_any_each(model: TransactionModel, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
    r, alpha, s, beta = model.params
    k = r + x
    A, B = alpha + T, beta + T
    w_max = -np.expm1(-k * np.log1p(t / A))
    nodes, weights = np.polynomial.legendre.leggauss(_GL_NODES)
    w = (nodes[:, None] + 1.0) * 0.5 * w_max[None, :]
    u = A * np.expm1(-np.log1p(-w) / k)
    out: FloatArray = 0.5 * w_max * (weights @ np.exp(-s * np.log1p(u / B)))
    return out


def _pairs(x: FloatArray, T: FloatArray, unit_days: int) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """The distinct (x, T) pairs of the rows and each row's pair.

    Rows are sorted by x, so x's runs number them; with whole days (``unit_days`` > 0) a
    dense table of (x run, day) marks the pairs present without a sort.
    """
    m = len(x)
    if m == 0:
        return x, T, np.zeros(0, dtype=np.intp)
    new_x = np.empty(m, dtype=bool)
    new_x[0] = True
    np.not_equal(x[1:], x[:-1], out=new_x[1:])
    x_run = np.cumsum(new_x) - 1
    if unit_days > 0:
        day = np.rint(T * unit_days).astype(np.int64)
        width = int(day.max()) + 1
        if int(x_run[-1] + 1) * width <= 4 * m + 1_000_000:
            key = x_run * width + day
            present = np.zeros(int(x_run[-1] + 1) * width, dtype=bool)
            present[key] = True
            cells = np.flatnonzero(present)
            number = np.cumsum(present) - 1
            run_x = x[new_x]
            return run_x[cells // width], (cells % width) / unit_days, number[key].astype(np.intp)
    _, first, of_row = np.unique(x_run * (float(T.max()) + 1.0) + T, return_index=True, return_inverse=True)
    return x[first], T[first], of_row.reshape(-1).astype(np.intp)


#: The longest horizon a prediction looks ahead (a century): the CLV sum takes one step per
#: ``step_days``, so an absurd horizon must not become an absurd loop.
MAX_HORIZON_DAYS: Final = 36_500


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{field} must be an int of days, got {type(value).__name__} {value!r}")
    if not 0 < value <= MAX_HORIZON_DAYS:
        raise InvalidValueError(field, f"must be 1..{MAX_HORIZON_DAYS:,} days", value)
    return value


def predict(
    model: TransactionModel,
    summary: Summary,
    *,
    horizon_days: int = 30,
    spend: SpendModel | None = None,
    clv_horizon_days: int = 365,
    discount_rate: float = 0.1,
    step_days: int = 30,
    risk_bands: tuple[float, float] = RISK_BANDS,
) -> Predictions:
    """Predictions for every customer of ``summary``, vectorised over distinct histories.

    Args:
        model: a fitted (or given) transaction model in the summary's time unit.
        summary: the customers' histories at ``as_of``.
        horizon_days: days ahead for expected purchases and P(at least one purchase).
        spend: a Gamma-Gamma model for expected spend and CLV (no CLV without it).
        clv_horizon_days: days of future value counted in CLV.
        discount_rate: annual discount rate of CLV (0.1 = 10% a year).
        step_days: CLV adds the expected purchases of each step of this many days,
            discounted to the step's end.
        risk_bands: (high, low) cut-offs on probability alive: below the first is ``high``
            risk, below the second ``medium``, else ``low``.

    Returns:
        :class:`Predictions`, rows as in ``summary``.

    Raises:
        InvalidValueError: a horizon or step outside 1..36,500 days, bad bands or discount
            rate, or a model fitted in another time unit.
        InvalidTypeError: ``model``, ``summary`` or ``spend`` of the wrong type, or risk
            bands that are not two numbers.
        MissingDependencyError: scipy (the ``predict`` extra) is not installed.
    """
    _v.check_instance("model", model, TransactionModel)
    _v.check_instance("summary", summary, Summary)
    if spend is not None:
        _v.check_instance("spend", spend, SpendModel)
    bands = _v.check_items("risk_bands", risk_bands, (int, float))
    if len(bands) != 2:
        raise InvalidValueError("risk_bands", "must be two cut-offs (high, low)", risk_bands)
    require_scipy("predictions")
    horizon = _positive_int(horizon_days, "horizon_days")
    clv_horizon = _positive_int(clv_horizon_days, "clv_horizon_days")
    step = _positive_int(step_days, "step_days")
    if model.unit != summary.unit:
        raise InvalidValueError("model.unit", f"must match the summary's unit {summary.unit!r}", model.unit)
    low, high = bands
    if not 0.0 <= low <= high <= 1.0:
        raise InvalidValueError("risk_bands", "must satisfy 0 <= high-risk cut <= low-risk cut <= 1", risk_bands)
    if not (isinstance(discount_rate, float | int) and math.isfinite(discount_rate) and discount_rate > -1):
        raise InvalidValueError("discount_rate", "must be a finite rate > -1", discount_rate)
    unit_days = UNIT_DAYS[summary.unit]
    x, tx, T, _, inverse = distinct_histories(summary)
    # What a customer still alive does next depends on (x, T) only: take it once per pair.
    pair_x, pair_T, pair_of_row = _pairs(x, T, unit_days if summary.T_scale is None else 0)
    from scipy.special import expit

    with np.errstate(over="ignore"):
        p_alive = expit(-model.log_odds_dead(x, tx, T))
    t = horizon / unit_days
    expected = p_alive * model.expected_if_alive(pair_x, pair_T, t)[pair_of_row]
    p_any = p_alive * _p_any_alive(model, pair_x, pair_T, t)[pair_of_row]
    median = _median_next(model, x, T, p_alive)
    finite = np.isfinite(median)
    next_day = np.full(len(x), -1, dtype=np.int64)
    next_day[finite] = summary.as_of_day + np.floor(median[finite] * unit_days).astype(np.int64)
    band = np.searchsorted(np.asarray([low, high]), p_alive, side="right")
    n = len(summary)
    exp_spend = np.full(n, np.nan)
    clv = np.full(n, -1, dtype=np.int64)
    if spend is not None:
        exp_spend = spend.expected_spend_fen(summary.x.astype(np.float64), summary.mean_repeat_spend_fen)
        # Σ over steps of the step's expected purchases, discounted to its end; every term
        # is P(alive) times a function of (x, T), so the sum is taken per pair.
        steps = -(-clv_horizon // step)
        per_pair = np.zeros(len(pair_x))
        previous = np.zeros(len(pair_x))
        for k in range(1, steps + 1):
            end_days = min(k * step, clv_horizon)
            cumulative = model.expected_if_alive(pair_x, pair_T, end_days / unit_days)
            per_pair += (cumulative - previous) / (1.0 + discount_rate) ** (end_days / 365.0)
            previous = cumulative
        value = p_alive * per_pair[pair_of_row]
        clv = np.rint(value[inverse] * exp_spend).astype(np.int64)
    return Predictions(
        summary.customer_ids, summary.x, summary.t_x_days, summary.T_days,
        p_alive[inverse], expected[inverse], p_any[inverse], next_day[inverse],
        _RISK_NAMES[band][inverse], exp_spend, clv, horizon, clv_horizon, float(discount_rate),
        model, spend, summary,
    )
