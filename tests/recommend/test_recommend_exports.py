"""ecrm.recommend's door: ``__all__`` is exactly the public surface, and it is pure."""

from __future__ import annotations

import subprocess
import sys
import types

import ecrm.recommend


def test_public_surface_is_exactly_all() -> None:
    public = {
        n for n, v in vars(ecrm.recommend).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert set(ecrm.recommend.__all__) == public == {
        "Associations", "Basis", "HoldoutResult", "Recommendations", "StrongestAssociations",
        "associations", "evaluate_holdout", "recommend", "strongest_associations",
    }


def test_importing_it_pulls_in_no_delivery_analytics_or_frames() -> None:
    code = (
        "import sys, ecrm.recommend; "
        "bad = [m for m in sys.modules if m.split('.')[:2] in (['ecrm','touch'], ['ecrm','analytics'], "
        "['ecrm','cli'], ['ecrm','report']) or m in ('pandas', 'polars', 'scipy')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
