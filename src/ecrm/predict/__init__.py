"""Buy-till-you-die prediction: probability alive, purchases ahead, next purchase, CLV.

``summaries`` turns an :class:`~ecrm.OrderLog` into per-customer (x, t_x, T, repeat spend);
``fit_bgnbd``, ``fit_mbgnbd``, ``fit_paretonbd`` and ``fit_gammagamma`` fit the models by
maximum likelihood; ``predict`` gives every customer's probability alive, expected purchases,
chance of buying, median next-purchase date, churn-risk band and CLV. Fitting and predicting
need scipy (``pip install 'ecrm[predict]'``); importing this package does not.
"""

from ecrm.predict._cohort import CohortFits, fit_by_cohort
from ecrm.predict._errors import FitError, ThinDataWarning
from ecrm.predict._evaluate import Evaluation, evaluate
from ecrm.predict._fit import (
    MIN_CUSTOMERS,
    MIN_HISTORY_DAYS,
    MIN_REPEATERS,
    SpendModel,
    TransactionModel,
    fit_bgnbd,
    fit_gammagamma,
    fit_mbgnbd,
    fit_paretonbd,
)
from ecrm.predict._predict import RISK_BANDS, Predictions, predict
from ecrm.predict._summary import Summary, summaries

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_HISTORY_DAYS",
    "MIN_REPEATERS",
    "RISK_BANDS",
    "CohortFits",
    "Evaluation",
    "FitError",
    "Predictions",
    "SpendModel",
    "Summary",
    "ThinDataWarning",
    "TransactionModel",
    "evaluate",
    "fit_bgnbd",
    "fit_by_cohort",
    "fit_gammagamma",
    "fit_mbgnbd",
    "fit_paretonbd",
    "predict",
    "summaries",
]
