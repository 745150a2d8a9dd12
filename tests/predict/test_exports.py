"""ecrm.predict exposes exactly its public names, sorted, and imports without scipy."""

from __future__ import annotations

import subprocess
import sys

import ecrm.predict


def test_all_is_sorted_and_complete() -> None:
    public = {n for n in dir(ecrm.predict) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(ecrm.predict, n)).__name__ == "module"}
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, Classes, functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(ecrm.predict.__all__, key=kind) == list(ecrm.predict.__all__)
    assert set(ecrm.predict.__all__) == public - modules
    assert set(ecrm.predict.__all__) == {
        "CohortFits", "Evaluation", "FitError", "MIN_CUSTOMERS", "MIN_HISTORY_DAYS", "MIN_REPEATERS", "Predictions",
        "RISK_BANDS", "SpendModel", "Summary", "ThinDataWarning", "TransactionModel",
        "evaluate", "fit_bgnbd", "fit_by_cohort", "fit_gammagamma", "fit_mbgnbd", "fit_paretonbd", "predict", "summaries",
        "calibration_bins", "p_alive_matrix", "plot_calibration", "plot_p_alive_matrix", "plot_tracking",
        "predict_orders",
    }


def test_import_and_fit_without_scipy() -> None:
    """Importing needs no scipy; fitting without it names the extra to install."""
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import ecrm.predict as p\n"
        "s = p.Summary.from_arrays([1, 2], [1, 0], [3.0, 0.0], [5.0, 5.0])\n"
        "try:\n    p.fit_bgnbd(s, thin_data='ignore')\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("MissingDependencyError")
    assert "ecrm[predict]" in out.stdout
