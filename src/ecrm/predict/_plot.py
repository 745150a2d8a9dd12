"""Plots of the prediction models (the ``plot`` extra, matplotlib imported lazily)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm.errors import InvalidValueError, MissingDependencyError
from ecrm.predict._errors import require_scipy
from ecrm.predict._evaluate import Evaluation
from ecrm.predict._fit import TransactionModel
from ecrm.predict._summary import UNIT_DAYS

__all__ = ["calibration_bins", "p_alive_matrix", "plot_calibration", "plot_p_alive_matrix", "plot_tracking"]

FloatArray = npt.NDArray[np.float64]


def _pyplot(purpose: str) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError.for_extra("matplotlib", "plot", purpose) from exc
    return plt


def _axes(ax: Any, plt: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


#: The largest P(alive) grid drawn ((age_days + 1) * (max_repeats + 1) cells, 80 MB).
MAX_GRID_CELLS: Final = 10_000_000


def p_alive_matrix(model: TransactionModel, *, age_days: int, max_repeats: int) -> FloatArray:
    """P(alive) of a customer first seen ``age_days`` ago, by repeat purchases and recency.

    Args:
        model: a transaction model (any unit; days are converted).
        age_days: T, the customer's age in days.
        max_repeats: the largest repeat count x of the grid.

    Returns:
        float64, shape (max_repeats + 1, age_days + 1): row x, column t_x (days from the
        first purchase to the last). With x = 0 only t_x = 0 is a history; the other
        cells of that row are NaN.

    Raises:
        InvalidValueError: a negative age or repeat count, or a grid of more than
            10,000,000 cells.
        InvalidTypeError: ``model`` is not a :class:`TransactionModel`.
    """
    _v.check_instance("model", model, TransactionModel)
    for name, value in (("age_days", age_days), ("max_repeats", max_repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidValueError(name, "must be a whole number >= 0", value)
    if (age_days + 1) * (max_repeats + 1) > MAX_GRID_CELLS:
        raise InvalidValueError(
            "max_repeats", f"and age_days={age_days:,} must make a grid of at most "
            f"{MAX_GRID_CELLS:,} cells", max_repeats)
    require_scipy("P(alive) matrix")
    from scipy.special import expit

    days = UNIT_DAYS[model.unit]
    x, tx = np.meshgrid(np.arange(max_repeats + 1.0), np.arange(age_days + 1.0), indexing="ij")
    T = np.full(x.shape, age_days / days)
    with np.errstate(over="ignore"):
        out: FloatArray = expit(-model.log_odds_dead(x.ravel(), tx.ravel() / days, T.ravel())).reshape(x.shape)
    out[0, 1:] = np.nan
    return out


def plot_p_alive_matrix(model: TransactionModel, *, age_days: int, max_repeats: int = 20,
                        ax: Any = None) -> Any:
    """The frequency / recency P(alive) matrix of a customer ``age_days`` old.

    Each cell is a history (x repeat purchases, the last ``t_x`` days after the first);
    its colour is the probability the customer is still a customer (see
    :func:`p_alive_matrix`). Save it with ``fig.savefig("p_alive.png")``.

    Args:
        model: a fitted transaction model.
        age_days: T, the customer's age in days.
        max_repeats: the largest repeat count shown.
        ax: a matplotlib Axes to draw on; a new figure when ``None``.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        MissingDependencyError: matplotlib (the ``plot`` extra) is not installed.
        InvalidValueError, InvalidTypeError: as :func:`p_alive_matrix`.
    """
    grid = p_alive_matrix(model, age_days=age_days, max_repeats=max_repeats)
    plt = _pyplot("plotting the P(alive) matrix")
    fig, ax = _axes(ax, plt, (7, 5))
    image = ax.imshow(grid, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="RdYlGn",
                      extent=(-0.5, age_days + 0.5, -0.5, max_repeats + 0.5))
    fig.colorbar(image, ax=ax, label="P(alive)")
    ax.set_xlabel("days from the first purchase to the last (recency t_x)")
    ax.set_ylabel("repeat purchases (x)")
    ax.set_title(f"P(alive) of a customer {age_days} days after the first purchase")
    return fig


def _check_evaluation(evaluation: Evaluation) -> Evaluation:
    return _v.check_instance("evaluation", evaluation, Evaluation)


def plot_tracking(evaluation: Evaluation, *, ax: Any = None) -> Any:
    """The tracking plot: repeat purchases per holdout period, actual against the model's
    forecast and the two naive baselines of :func:`~ecrm.predict.evaluate`.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        InvalidTypeError: not an :class:`Evaluation`.
        MissingDependencyError: matplotlib (the ``plot`` extra) is not installed.
    """
    ev = _check_evaluation(evaluation)
    plt = _pyplot("plotting the tracking plot")
    fig, ax = _axes(ax, plt, (7, 4))
    ends = ev.period_end_days
    ax.plot(ends, ev.actual, marker="o", color="black", label="actual")
    ax.plot(ends, ev.predicted, marker=".", label=f"model ({ev.model.model})")
    ax.plot(ends, ev.baseline_last, linestyle="--", label="last period's rate")
    ax.plot(ends, ev.baseline_cycle, linestyle=":", label="5221 cycle")
    ax.set_xlabel("days after the calibration end (period end)")
    ax.set_ylabel("repeat purchase days in the period")
    ax.set_title("Holdout: actual and forecast repeat purchases")
    ax.legend()
    return fig


def plot_calibration(evaluation: Evaluation, *, bins: int = 10, ax: Any = None) -> Any:
    """Calibration of the per-customer forecast: customers in ``bins`` groups of equal size
    by their forecast holdout purchases, each group's mean forecast against its mean actual
    (points on the diagonal: a well-calibrated model).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        InvalidTypeError: not an :class:`Evaluation`.
        InvalidValueError: ``bins`` < 1.
        MissingDependencyError: matplotlib (the ``plot`` extra) is not installed.
    """
    ev = _check_evaluation(evaluation)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidValueError("bins", "must be a whole number >= 1", bins)
    plt = _pyplot("plotting the calibration plot")
    predicted, actual = calibration_bins(ev, bins=bins)
    fig, ax = _axes(ax, plt, (5, 5))
    top = float(max(np.max(predicted, initial=0.0), np.max(actual, initial=0.0), 1e-9)) * 1.05
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label="perfect")
    ax.plot(predicted, actual, marker="o", label=f"model ({ev.model.model})")
    ax.set_xlabel("mean forecast holdout purchases")
    ax.set_ylabel("mean actual holdout purchases")
    ax.set_title("Calibration by forecast group")
    ax.legend()
    return fig


def calibration_bins(evaluation: Evaluation, *, bins: int = 10) -> tuple[FloatArray, FloatArray]:
    """(mean forecast, mean actual) holdout purchases of ``bins`` groups of customers of
    (near) equal size, by rising forecast; shape (k,) each, k <= ``bins`` (empty groups
    of a tiny evaluation are left out)."""
    ev = _check_evaluation(evaluation)
    order = np.argsort(ev.predicted_per_customer, kind="stable")
    groups = [g for g in np.array_split(order, bins) if len(g)]
    predicted = np.array([ev.predicted_per_customer[g].mean() for g in groups])
    actual = np.array([ev.actual_per_customer[g].mean() for g in groups])
    return predicted, actual
