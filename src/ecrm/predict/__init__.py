"""Buy-till-you-die prediction: probability alive, purchases ahead, next purchase, CLV.

``summaries`` turns an :class:`~ecrm.OrderLog` into per-customer (x, t_x, T, repeat spend);
``fit_bgnbd``, ``fit_mbgnbd``, ``fit_paretonbd`` and ``fit_gammagamma`` fit the models by
maximum likelihood; ``predict`` gives every customer's probability alive, expected purchases,
chance of buying, median next-purchase date, churn-risk band and CLV; ``predict_orders`` does
all of it from an order log in one call; the ``plot_*`` helpers draw the P(alive) matrix and
the holdout tracking and calibration plots (matplotlib, the ``plot`` extra). Fitting and
predicting need scipy (``pip install 'ecrm[predict]'``); importing this package does not.
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
from ecrm.predict._pipeline import predict_orders
from ecrm.predict._plot import (
    calibration_bins,
    p_alive_matrix,
    plot_calibration,
    plot_p_alive_matrix,
    plot_tracking,
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
    "calibration_bins",
    "evaluate",
    "fit_bgnbd",
    "fit_by_cohort",
    "fit_gammagamma",
    "fit_mbgnbd",
    "fit_paretonbd",
    "p_alive_matrix",
    "plot_calibration",
    "plot_p_alive_matrix",
    "plot_tracking",
    "predict",
    "predict_orders",
    "summaries",
]
