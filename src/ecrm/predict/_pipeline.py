"""Orders in, predictions out: summaries, a transaction model and Gamma-Gamma in one call."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Literal

from ecrm._orderlog import OrderLog
from ecrm._time import require_aware, us_to_datetime
from ecrm.errors import InvalidValueError
from ecrm.predict._errors import FitError, ThinDataWarning
from ecrm.predict._fit import ThinData, fit_bgnbd, fit_gammagamma, fit_mbgnbd, fit_paretonbd
from ecrm.predict._predict import Predictions, predict
from ecrm.predict._summary import summaries

__all__ = ["predict_orders"]

_FITS = {"bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "paretonbd": fit_paretonbd}


def predict_orders(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    calibration_start: dt.datetime | None = None,
    model: Literal["bgnbd", "mbgnbd", "paretonbd"] = "bgnbd",
    horizon_days: int = 30,
    clv_horizon_days: int = 365,
    discount_rate: float = 0.1,
    thin_data: ThinData = "warn",
) -> Predictions:
    """Every customer's predictions from an order log, in one call.

    Builds the summaries over ``[calibration_start, as_of)``, fits the transaction model
    and Gamma-Gamma, and predicts with both (what ``ecrm predict``, the demo and the
    report do). Where Gamma-Gamma cannot be fitted (too little repeat spend) the
    predictions have no CLV (``spend`` is ``None``), with a :class:`ThinDataWarning`
    (``thin_data="warn"``), silently (``"ignore"``), or not at all: ``"refuse"`` raises.

    Args:
        orders: the shop's orders.
        as_of: the prediction moment (aware).
        calibration_start: the start of the history read (default: the first order).
        model: ``"bgnbd"``, ``"mbgnbd"`` or ``"paretonbd"``.
        horizon_days, clv_horizon_days, discount_rate: as for :func:`predict`.
        thin_data: as for :func:`fit_bgnbd`.

    Returns:
        :class:`Predictions` with the fitted models in ``model`` and ``spend``.

    Raises:
        InvalidValueError: an unknown model, or no orders before ``as_of``.
        FitError: the transaction model cannot be fitted (see its message).
        MissingDependencyError: scipy (the ``predict`` extra) is not installed.
    """
    if model not in _FITS:
        raise InvalidValueError("model", f"must be one of {', '.join(_FITS)}", model)
    end = require_aware(as_of, "as_of")
    if calibration_start is None:
        if not len(orders):
            raise InvalidValueError("orders", "must hold orders to predict from", 0)
        start = us_to_datetime(int(orders.placed_at_us.min()), orders.tz)
    else:
        start = require_aware(calibration_start, "calibration_start")
    s = summaries(orders, as_of=end, calibration_start=start)
    fitted = _FITS[model](s, thin_data=thin_data)
    try:
        spend = fit_gammagamma(s, thin_data=thin_data)
    except FitError as exc:
        if thin_data == "refuse":
            raise
        spend = None
        if thin_data == "warn":
            warnings.warn(f"{exc}; the predictions have no CLV", ThinDataWarning, stacklevel=2)
    return predict(fitted, s, horizon_days=horizon_days, spend=spend,
                   clv_horizon_days=clv_horizon_days, discount_rate=discount_rate)
