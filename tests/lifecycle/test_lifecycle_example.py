"""examples/lifecycle_cycles.py runs on a small sample shop and saves the curve with --plot."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lifecycle_cycles.py"


def test_example_runs_and_saves_the_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "300", "--plot"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    for needle in ("5221 bands: P50 = ", "Kaplan–Meier: P50/P70/P90 = ", "category    P50",
                   "stage flow over the last 30 days:", "repurchase reminders",
                   "win_back                 CHURNED", "saved repurchase_curve.png"):
        assert needle in out
    png = tmp_path / "repurchase_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    plt.close("all")
