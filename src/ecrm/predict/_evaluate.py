"""Calibration / holdout evaluation: actual against predicted repeat purchases, per period
and per customer, beside two naive baselines."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, local_day, require_aware
from ecrm.errors import InvalidValueError
from ecrm.lifecycle._cycle import repurchase_cycle
from ecrm.predict._fit import ThinData, TransactionModel, fit_bgnbd, fit_mbgnbd, fit_paretonbd
from ecrm.predict._summary import UNIT_DAYS, TimeUnit, distinct_histories, summaries

__all__ = ["Evaluation", "evaluate"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_FITS = {"bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "paretonbd": fit_paretonbd}


@attrs.frozen(repr=False, eq=False)
class Evaluation:
    """A model's holdout forecast beside the actual purchases and two naive baselines.

    Per period (arrays shape (n_periods,)), summed over the calibration customers:

    Attributes:
        period_end_days: int64, days from the calibration end to each period's end.
        actual: float64, repeat purchase days made in the period.
        predicted: float64, the model's expected purchases in the period.
        baseline_last: float64, "last period's rate": each customer's purchase days in the
            last stretch of the calibration as long as the holdout, spread evenly over it.
        baseline_cycle: float64, the 5221 cycle: customers within P90 days of their last
            purchase buy once every P50 days, the rest not at all.

    Per customer (arrays shape (n_customers,)):

    Attributes:
        customer_ids: the calibration customers.
        actual_per_customer: int64 purchase days in the holdout.
        predicted_per_customer, baseline_last_per_customer, baseline_cycle_per_customer:
            float64 forecasts for the whole holdout.
        model: the transaction model fitted on the calibration period.
    """

    period_end_days: IntArray
    actual: FloatArray
    predicted: FloatArray
    baseline_last: FloatArray
    baseline_cycle: FloatArray
    customer_ids: npt.NDArray[Any]
    actual_per_customer: IntArray
    predicted_per_customer: FloatArray
    baseline_last_per_customer: FloatArray
    baseline_cycle_per_customer: FloatArray
    model: TransactionModel

    def mean_absolute_error(self) -> dict[str, float]:
        """Mean absolute per-customer error of the model and of each baseline."""
        a = self.actual_per_customer
        return {
            "model": float(np.mean(np.abs(self.predicted_per_customer - a))),
            "baseline_last": float(np.mean(np.abs(self.baseline_last_per_customer - a))),
            "baseline_cycle": float(np.mean(np.abs(self.baseline_cycle_per_customer - a))),
        }

    def __repr__(self) -> str:
        return (f"Evaluation({len(self.customer_ids):,} customers, {len(self.actual)} periods, "
                f"actual {self.actual.sum():,.0f}, predicted {self.predicted.sum():,.1f})")

    def _columns(self) -> dict[str, Any]:
        """Per-period columns (the tracking plot), for the shared result protocol."""
        return {
            "period_end_days": self.period_end_days,
            "actual": self.actual,
            "predicted": self.predicted,
            "baseline_last": self.baseline_last,
            "baseline_cycle": self.baseline_cycle,
        }

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per period."""
        cols = self._columns()
        return [{k: v[i].item() for k, v in cols.items()} for i in range(len(self.actual))]


def _purchase_days(log: OrderLog, mask: npt.NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
    """Distinct (customer code, local day) pairs of the masked rows."""
    codes = log.customer_codes[mask].astype(np.int64)
    days = log.placed_day[mask]
    if not len(codes):
        return codes, days
    span = int(days.max() - days.min()) + 1
    key = np.unique(codes * span + (days - days.min()))
    return key // span, key % span + int(days.min())


def evaluate(
    log: OrderLog,
    *,
    calibration_start: dt.datetime,
    calibration_end: dt.datetime,
    holdout_end: dt.datetime,
    model: Literal["bgnbd", "mbgnbd", "paretonbd"] | TransactionModel = "bgnbd",
    period_days: int = 7,
    unit: TimeUnit = "days",
    l2: float = 0.0,
    thin_data: ThinData = "warn",
    statuses: Any = None,
) -> Evaluation:
    """Fit on ``[calibration_start, calibration_end)`` and forecast ``[calibration_end, holdout_end)``.

    Args:
        log: the orders.
        calibration_start, calibration_end, holdout_end: aware datetimes, in this order.
        model: the transaction model to fit, or a :class:`TransactionModel` to use as it is
            (its unit must be ``unit``).
        period_days: length of each tracking period.
        unit, l2, thin_data, statuses: as :func:`summaries` and the fits.

    Returns:
        An :class:`Evaluation`.

    Raises:
        InvalidValueError: the three moments are out of order, or a bad period or model.
        FitError: the calibration data cannot be fitted.
    """
    if not isinstance(model, TransactionModel) and model not in _FITS:
        raise InvalidValueError("model", "must be 'bgnbd', 'mbgnbd' or 'paretonbd'", model)
    if isinstance(period_days, bool) or not isinstance(period_days, int) or period_days <= 0:
        raise InvalidValueError("period_days", "must be an int > 0", period_days)
    cal_end = require_aware(calibration_end, "calibration_end")
    end = require_aware(holdout_end, "holdout_end")
    if not cal_end < end:
        raise InvalidValueError("holdout_end", f"must be after calibration_end {cal_end.isoformat()}", end)
    s = summaries(log, as_of=cal_end, calibration_start=calibration_start, unit=unit, statuses=statuses)
    if isinstance(model, TransactionModel):
        if model.unit != s.unit:
            raise InvalidValueError("model.unit", f"must match unit {s.unit!r}", model.unit)
        fitted = model
    else:
        fitted = _FITS[model](s, l2=l2, thin_data=thin_data)
    holdout_days = local_day(end, log.tz) - s.as_of_day
    n_periods = -(-holdout_days // period_days)
    ends = np.minimum(np.arange(1, n_periods + 1) * period_days, holdout_days).astype(np.int64)
    # Actual purchase days in the holdout, per customer and per period.
    row_of = np.full(log.n_customers, -1, dtype=np.int64)
    row_of[np.searchsorted(log.customer_ids, s.customer_ids)] = np.arange(len(s))
    valid = log.valid_mask(statuses)
    placed = log.placed_at_us
    hold = valid & (placed >= datetime_to_us(cal_end)) & (placed < datetime_to_us(end))
    codes, days = _purchase_days(log, hold)
    rows = row_of[codes]
    keep = rows >= 0
    rows, offset = rows[keep], days[keep] - s.as_of_day
    actual_per = np.bincount(rows, minlength=len(s)).astype(np.int64)
    period = np.minimum(offset // period_days, n_periods - 1)
    actual = np.bincount(period, minlength=n_periods).astype(np.float64)
    # The model: cumulative expectations at each period end, differenced.
    x, tx, T, w, inverse = distinct_histories(s)
    unit_days = UNIT_DAYS[s.unit]
    cumulative = np.stack([fitted.expected(x, tx, T, float(e) / unit_days) for e in ends])
    predicted = np.diff(np.concatenate([[0.0], cumulative @ w]))
    predicted_per = cumulative[-1][inverse]
    # Baseline 1: the last stretch of the calibration as long as the holdout, repeated.
    last_start = s.as_of_day - holdout_days
    last = valid & (placed < datetime_to_us(cal_end))
    codes_l, days_l = _purchase_days(log, last)
    rows_l = row_of[codes_l]
    first_day = s.as_of_day - s.T_days
    ok = (rows_l >= 0) & (days_l >= last_start)
    ok[ok] &= days_l[ok] > first_day[rows_l[ok]]  # repeat purchases only
    base_last_per = np.bincount(rows_l[ok], minlength=len(s)).astype(np.float64)
    share = np.diff(np.concatenate([[0], ends])) / holdout_days
    base_last = base_last_per.sum() * share
    # Baseline 2: the 5221 cycle at the calibration end.
    cycle = repurchase_cycle(log, as_of=cal_end, statuses=statuses, min_repurchasers=1,
                             fallback=(30, 60, 90))
    p50, p90 = cycle.bands.p50_days, cycle.bands.p90_days
    since_last = s.T_days - s.t_x_days
    active = since_last <= p90
    base_cycle_per = np.where(active, holdout_days / max(p50, 1), 0.0)
    base_cycle = base_cycle_per.sum() * share
    return Evaluation(ends, actual, predicted, base_last, base_cycle, s.customer_ids, actual_per,
                      predicted_per, base_last_per, base_cycle_per, fitted)
