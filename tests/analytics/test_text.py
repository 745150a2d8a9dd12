"""The array helpers behind the tables: hashed string factorisation and sorted distinct."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm.analytics
import ecrm.analytics._text as text
import ecrm.touch
from ecrm.analytics._text import distinct, factorize_text, format_rows


@given(st.lists(st.text(max_size=6), max_size=60))
def test_factorize_text_reconstructs_the_values(values: list[str]) -> None:
    uniq, codes = factorize_text(np.asarray(values, dtype=str))
    assert uniq[codes].tolist() == [str(v) for v in np.asarray(values, dtype=str)]
    assert len(set(uniq.tolist())) == len(uniq) == len(set(np.asarray(values, dtype=str).tolist()))


def test_factorize_text_falls_back_on_a_hash_collision(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A prime of 0 hashes every value to the same number: the check must notice.
    monkeypatch.setattr(text, "_FNV_PRIME", np.uint64(0))
    uniq, codes = factorize_text(["b", "a", "b", "c"])
    assert uniq[codes].tolist() == ["b", "a", "b", "c"]
    assert sorted(uniq.tolist()) == ["a", "b", "c"]


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=80))
def test_distinct_is_sorted_set(values: list[int]) -> None:
    assert distinct(np.asarray(values, dtype=np.int64)).tolist() == sorted(set(values))


def test_format_rows_counts_cjk_as_two_columns() -> None:
    assert format_rows([["省", "n"], ["ab", "10"]]).splitlines() == ["省   n", "ab  10"]


def test_the_old_touch_paths_of_campaign_names_are_deprecated_aliases() -> None:
    for name in ("CampaignReport", "campaign_effect", "split_audience", "backtest"):
        with pytest.warns(DeprecationWarning, match=f"ecrm.analytics.{name}"):
            assert getattr(ecrm.touch, name) is getattr(ecrm.analytics, name)


def test_importing_analytics_and_segments_does_not_import_touch() -> None:
    import subprocess
    import sys

    code = ("import sys, ecrm.analytics, ecrm.segments; "
            "print('ecrm.touch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
