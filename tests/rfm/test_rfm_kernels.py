"""The private numpy kernels against naive Python loops on random arrays."""

from __future__ import annotations

import bisect

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ecrm.rfm._kernels import (
    NO_ORDER_US,
    grade_codes,
    score_lower_edges,
    score_recency,
    window_metrics,
)


@st.composite
def columns(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[bool]]:
    sizes = draw(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=12))
    codes, placed, net, valid = [], [], [], []
    for c, size in enumerate(sizes):  # customers may have no rows at all
        times = sorted(draw(st.lists(st.integers(min_value=0, max_value=100), min_size=size,
                                     max_size=size)))
        for t in times:
            codes.append(c)
            placed.append(t)
            net.append(draw(st.integers(min_value=0, max_value=2**40)))
            valid.append(draw(st.booleans()))
    return sizes, codes, placed, net, valid  # type: ignore[return-value]


@given(columns(), st.integers(min_value=-5, max_value=105), st.integers(min_value=0, max_value=60))
def test_window_metrics_match_a_loop(data: tuple, start: int, length: int) -> None:  # type: ignore[type-arg]
    sizes, codes, placed, net, valid = data
    end = start + length
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    freq, money, last = window_metrics(
        starts, np.asarray(codes, dtype=np.int32), np.asarray(placed, dtype=np.int64),
        np.asarray(net, dtype=np.int64), np.asarray(valid, dtype=bool), start, end,
    )
    for c in range(len(sizes)):
        rows = [i for i in range(len(codes))
                if codes[i] == c and valid[i] and start <= placed[i] < end]
        assert freq[c] == len(rows)
        assert money[c] == sum(net[i] for i in rows)
        assert last[c] == (max(placed[i] for i in rows) if rows else NO_ORDER_US)
    assert money.dtype == np.int64


edge_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=25,
                      unique=True).map(sorted)


@given(edge_lists, st.lists(st.integers(min_value=0, max_value=10**9), max_size=30))
def test_score_lower_edges_matches_bisect(edges: list[int], values: list[int]) -> None:
    values = [max(v, edges[0]) for v in values]
    scores = np.arange(10, 10 + len(edges), dtype=np.int64)
    got = score_lower_edges(np.asarray(values, dtype=np.int64),
                            np.asarray(edges, dtype=np.int64), scores)
    want = [int(scores[bisect.bisect_right(edges, v) - 1]) for v in values]
    assert got.tolist() == want


@given(edge_lists, st.lists(st.integers(min_value=-10, max_value=10**9 + 10), max_size=30))
def test_score_recency_takes_the_first_threshold_met(
    ascending: list[int], lasts: list[int]
) -> None:
    thresholds = ascending[::-1]  # latest first, as as_of − 1 month, − 3 months, …
    scores = list(range(len(thresholds) + 1, 0, -1))
    got = score_recency(np.asarray(lasts, dtype=np.int64),
                        np.asarray(thresholds, dtype=np.int64),
                        np.asarray(scores, dtype=np.int64))
    want = []
    for t in lasts:
        met = [i for i, th in enumerate(thresholds) if t >= th]
        want.append(scores[met[0]] if met else scores[-1])
    assert got.tolist() == want


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=30))
def test_grade_codes(totals: list[int]) -> None:
    got = grade_codes(np.asarray(totals, dtype=np.int64), np.asarray([36, 26, 17]))
    want = [3 if t >= 36 else 2 if t >= 26 else 1 if t >= 17 else 0 for t in totals]
    assert got.tolist() == want
    assert got.dtype == np.int8
