"""Fitting a transaction model per acquisition cohort (first-purchase month or quarter)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs
import numpy as np

from ecrm import _validators as _v
from ecrm.errors import InvalidValueError
from ecrm.predict._errors import FitError
from ecrm.predict._fit import ThinData, TransactionModel, fit_bgnbd, fit_mbgnbd, fit_paretonbd
from ecrm.predict._summary import Summary

__all__ = ["CohortFits", "fit_by_cohort"]

_FITS = {"bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "paretonbd": fit_paretonbd}
_EPOCH = dt.date(1970, 1, 1)


@attrs.frozen
class CohortFits:
    """One transaction model per cohort.

    Attributes:
        cohorts: the cohort labels in time order (``"2024-03"`` or ``"2024Q1"``).
        sizes: customers per cohort, in the same order.
        models: label → fitted model, for the cohorts that could be fitted.
        errors: label → why the cohort could not be fitted (a :class:`FitError` message).
    """

    cohorts: tuple[str, ...]
    sizes: tuple[int, ...]
    models: dict[str, TransactionModel]
    errors: dict[str, str]


def _label(first_day: int, by: str) -> str:
    d = _EPOCH + dt.timedelta(days=first_day)
    if by == "month":
        return f"{d.year}-{d.month:02d}"
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def fit_by_cohort(
    summary: Summary,
    *,
    by: Literal["month", "quarter"] = "quarter",
    model: Literal["bgnbd", "mbgnbd", "paretonbd"] = "bgnbd",
    l2: float = 0.0,
    thin_data: ThinData = "ignore",
) -> CohortFits:
    """Fit ``model`` separately on each cohort of first-purchase month or quarter.

    These models are conventionally fitted per acquisition cohort, whose customers share a
    calendar and a start; a cohort that cannot be fitted is reported in ``errors`` instead
    of failing the others.

    Args:
        summary: the customers (their first purchase day is ``as_of_day − T_days``).
        by: ``"month"`` or ``"quarter"``.
        model: the transaction model.
        l2, thin_data: as the fits (``thin_data`` defaults to ``"ignore"`` since cohorts are
            small by construction; read the standard errors).

    Returns:
        :class:`CohortFits`.

    Raises:
        InvalidValueError: a bad ``by`` or ``model``.
        InvalidTypeError: ``summary`` is not a :class:`Summary`.
    """
    _v.check_instance("summary", summary, Summary)
    if by not in ("month", "quarter"):
        raise InvalidValueError("by", "must be 'month' or 'quarter'", by)
    if model not in _FITS:
        raise InvalidValueError("model", "must be 'bgnbd', 'mbgnbd' or 'paretonbd'", model)
    first = summary.as_of_day - summary.T_days
    days, inverse = np.unique(first, return_inverse=True)
    # One label per distinct first-purchase day, spread to customers without a Python loop.
    labels = np.asarray([_label(int(d), by) for d in days], dtype="U7")
    per_customer = labels[inverse.reshape(-1)] if len(first) else np.zeros(0, "U7")
    cohorts = tuple(sorted(set(labels.tolist())))
    models: dict[str, TransactionModel] = {}
    errors: dict[str, str] = {}
    sizes = []
    for label in cohorts:
        mask = per_customer == label
        sizes.append(int(mask.sum()))
        try:
            models[label] = _FITS[model](summary.select(mask), l2=l2, thin_data=thin_data)
        except FitError as exc:
            errors[label] = str(exc)
    return CohortFits(cohorts, tuple(sizes), models, errors)
