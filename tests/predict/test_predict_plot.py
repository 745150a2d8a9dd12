"""The plot helpers: the P(alive) matrix by hand, the calibration groups by a plain loop,
and PNGs drawn (matplotlib, the plot extra) or a clear error without it."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ecrm import MissingDependencyError
from ecrm.predict import (
    Evaluation,
    TransactionModel,
    calibration_bins,
    p_alive_matrix,
    plot_calibration,
    plot_p_alive_matrix,
    plot_tracking,
)

MODEL = TransactionModel("bgnbd", (1.0, 1.0, 2.0, 4.0))


def _evaluation() -> Evaluation:
    rng = np.random.default_rng(3)
    predicted = rng.gamma(1.0, 1.0, 25)
    return Evaluation(
        np.array([7, 14, 21]), np.array([5.0, 4.0, 6.0]), np.array([4.5, 4.8, 5.1]),
        np.array([6.0, 6.0, 6.0]), np.array([3.0, 3.0, 3.0]), np.arange(25),
        rng.poisson(predicted).astype(np.int64), predicted, np.zeros(25), np.zeros(25), MODEL,
    )


def test_p_alive_matrix_by_hand() -> None:
    """BG/NBD: P(alive) = 1 / (1 + a/(b+x−1)·((α+T)/(α+t_x))^(r+x)); at T = 4 with
    (r, α, a, b) = (1, 1, 2, 4): x = 1, t_x = 2 → 18/43; x = 2, t_x = 3 → 1/(1 + 2/5·(5/4)³)."""
    grid = p_alive_matrix(MODEL, age_days=4, max_repeats=2)
    assert grid.shape == (3, 5)
    assert grid[0, 0] == 1.0
    assert np.isnan(grid[0, 1:]).all()
    assert grid[1, 2] == pytest.approx(18 / 43, rel=1e-12)
    assert grid[1, 4] == pytest.approx(1 / (1 + 0.5), rel=1e-12)  # bought on the last day
    want = 1 / (1 + Fraction(2, 5) * Fraction(5, 4) ** 3)
    assert grid[2, 3] == pytest.approx(float(want), rel=1e-12)
    weekly = TransactionModel("bgnbd", (1.0, 1.0 / 7, 2.0, 4.0), unit="weeks")
    np.testing.assert_allclose(p_alive_matrix(weekly, age_days=4, max_repeats=2), grid, rtol=1e-12)
    with pytest.raises(ValueError, match="age_days must be a whole number >= 0"):
        p_alive_matrix(MODEL, age_days=-1, max_repeats=2)


def test_calibration_bins_against_a_plain_loop() -> None:
    ev = _evaluation()
    predicted, actual = calibration_bins(ev, bins=4)
    order = sorted(range(25), key=lambda i: (ev.predicted_per_customer[i], i))
    sizes = [7, 6, 6, 6]  # 25 customers in 4 groups, the first one larger
    start = 0
    for k, size in enumerate(sizes):
        group = order[start:start + size]
        start += size
        assert predicted[k] == pytest.approx(np.mean([ev.predicted_per_customer[i] for i in group]))
        assert actual[k] == pytest.approx(np.mean([ev.actual_per_customer[i] for i in group]))


def test_plots_are_drawn_as_png(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, fig in (("matrix", plot_p_alive_matrix(MODEL, age_days=60, max_repeats=10)),
                      ("tracking", plot_tracking(_evaluation())),
                      ("calibration", plot_calibration(_evaluation(), bins=5))):
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match=r"^evaluation must be Evaluation, got TransactionModel"):
        plot_tracking(MODEL)  # type: ignore[arg-type]


def test_plots_without_matplotlib_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match="plot"):
        plot_p_alive_matrix(MODEL, age_days=10)
