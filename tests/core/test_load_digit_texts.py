"""Digit ids written back as text (``_load._idcodes._digit_texts``) equal numpy's zfill."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ecrm._load._idcodes import _digit_texts


@given(st.integers(1, 18).flatmap(
    lambda w: st.tuples(st.just(w), st.lists(st.integers(0, 10**w - 1), max_size=40))))
def test_digit_texts_are_the_numbers_zero_filled_to_the_width(case: tuple[int, list[int]]) -> None:
    width, numbers = case
    got = _digit_texts(np.asarray(numbers, dtype=np.int64), width)
    assert got.tolist() == [str(v).zfill(width) for v in numbers]
    assert got.dtype == np.dtype(f"U{width}")


def test_hand_worked_ids() -> None:
    got = _digit_texts(np.asarray([7, 0, 12345678, 10455221], dtype=np.int64), 8)
    assert got.tolist() == ["00000007", "00000000", "12345678", "10455221"]
    assert _digit_texts(np.zeros(0, dtype=np.int64), 3).shape == (0,)
