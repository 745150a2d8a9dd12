"""Fixtures of the predict tests: the CDNOW reference summary (see data/README.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ecrm.predict import Summary

DATA = Path(__file__).parent / "data" / "cdnow_summary.csv"


@pytest.fixture(scope="session")
def cdnow() -> Summary:
    """The 2,357 CDNOW customers in weeks; repeat spend in cents (dollars × 100 × x)."""
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    x = np.array([int(r["frequency"]) for r in rows])
    spend = np.array([round(float(r["monetary_value"]) * 100 * int(r["frequency"])) for r in rows])
    return Summary.from_arrays(
        [int(r["customer_id"]) for r in rows],
        x,
        [float(r["recency"]) for r in rows],
        [float(r["T"]) for r in rows],
        spend,
        unit="weeks",
    )
