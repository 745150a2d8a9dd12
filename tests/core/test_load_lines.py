"""The line numbers of a read's rows (``_load._orders._Lines``) without a column of them."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ecrm._load._orders import _Lines


@given(st.integers(0, 50), st.integers(1, 10_000), st.data())
def test_lines_of_consecutive_rows_index_like_the_full_column(n: int, first: int,
                                                              data: st.DataObject) -> None:
    full = np.arange(first, first + n, dtype=np.int64)
    lines = _Lines(n, first, None)
    index = st.integers(-n, max(n - 1, 0))
    picks = [
        np.asarray(data.draw(st.lists(index, max_size=8 if n else 0)), dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        slice(data.draw(st.integers(-n - 2, n + 2)), None),
    ]
    if n:
        picks.append(data.draw(index))
    for rows in picks:
        got, want = lines[rows], full[rows]
        assert np.array_equal(np.asarray(got), np.asarray(want)), rows
    assert len(lines) == n


def test_rows_out_of_range_raise_as_numpy_does() -> None:
    lines = _Lines(3, 2, None)
    for bad in (3, -4, np.asarray([0, 5])):
        try:
            lines[bad]
        except IndexError:
            continue
        raise AssertionError(f"{bad!r} did not raise")
