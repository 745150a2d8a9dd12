"""The private numpy kernels against naive Python loops on random arrays."""

from __future__ import annotations

import bisect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm._compact import SparseFen
from ecrm.rfm._kernels import (
    NO_ORDER_US,
    grade_codes,
    net_fen_sums,
    score_lower_edges,
    score_recency,
    window_metrics,
    window_metrics_unsorted,
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


#: Status codes 0..5 (UNPAID, PAID, SHIPPED, COMPLETED, REFUNDED, CLOSED); 1-3 count.
VALID_STATUS = np.asarray([False, True, True, True, False, False])


@st.composite
def input_rows(draw: st.DrawFn) -> dict[str, list[int]]:
    """Rows in any order (or in time order), with ties, refunds and every status."""
    n = draw(st.integers(min_value=0, max_value=40))
    amounts = draw(st.lists(st.integers(min_value=0, max_value=2**40), min_size=n, max_size=n))
    refunded = [draw(st.sampled_from([0, 0, a // 2, a])) for a in amounts]
    placed = draw(st.lists(st.integers(min_value=0, max_value=30), min_size=n, max_size=n))
    if draw(st.booleans()):
        placed.sort()
    return {
        "codes": draw(st.lists(st.integers(min_value=0, max_value=7), min_size=n, max_size=n)),
        "placed": placed,
        "amounts": amounts,
        "refunded": refunded,
        "statuses": draw(st.lists(st.integers(min_value=0, max_value=5), min_size=n, max_size=n)),
    }


@given(input_rows(), st.integers(min_value=-3, max_value=33), st.integers(min_value=0, max_value=20))
def test_window_metrics_unsorted_match_a_loop(rows: dict[str, list[int]], start: int,
                                               length: int) -> None:
    """Valid status, not fully refunded (refunded > 0 and >= amount), in [start, end): counted;
    M sums amount − refunded; the last order is the latest counted time."""
    end = start + length
    n_customers = 8
    a = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}
    any_refund = bool(a["refunded"].any())
    freq, money, last = window_metrics_unsorted(
        n_customers, a["codes"].astype(np.int32), a["placed"], a["amounts"],
        SparseFen.of(a["refunded"]) if any_refund else None, a["statuses"].astype(np.int8), VALID_STATUS,
        start, end, time_sorted=rows["placed"] == sorted(rows["placed"]),
    )
    for c in range(n_customers):
        counted = [
            i for i in range(len(rows["codes"]))
            if rows["codes"][i] == c and 1 <= rows["statuses"][i] <= 3
            and not (rows["refunded"][i] > 0 and rows["refunded"][i] >= rows["amounts"][i])
            and start <= rows["placed"][i] < end
        ]
        assert freq[c] == len(counted)
        assert money[c] == sum(rows["amounts"][i] - rows["refunded"][i] for i in counted)
        assert last[c] == (max(rows["placed"][i] for i in counted) if counted else NO_ORDER_US)
    assert freq.dtype == money.dtype == last.dtype == np.int64


@given(input_rows(), st.integers(min_value=-3, max_value=33), st.integers(min_value=0, max_value=20))
def test_both_window_kernels_agree_on_the_same_rows(rows: dict[str, list[int]], start: int,
                                                    length: int) -> None:
    """The unsorted kernel on rows as they came equals the sorted one on the rows laid out by
    customer then time (np.lexsort), bit for bit."""
    n_customers = 8
    a = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}
    order = np.lexsort((a["placed"], a["codes"]))
    starts = np.zeros(n_customers + 1, dtype=np.int64)
    np.cumsum(np.bincount(a["codes"], minlength=n_customers), out=starts[1:])
    fully = (a["refunded"] > 0) & (a["refunded"] >= a["amounts"])
    valid = VALID_STATUS[a["statuses"]] & ~fully
    want = window_metrics(starts, a["codes"][order].astype(np.int32), a["placed"][order],
                          (a["amounts"] - a["refunded"])[order], valid[order], start,
                          start + length)
    got = window_metrics_unsorted(
        n_customers, a["codes"].astype(np.int32), a["placed"], a["amounts"],
        SparseFen.of(a["refunded"]), a["statuses"].astype(np.int8), VALID_STATUS, start, start + length,
        time_sorted=bool(np.all(np.diff(a["placed"]) >= 0)),
    )
    for w, g in zip(want, got, strict=True):
        assert np.array_equal(w, g)
        assert g.dtype == np.int64


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


def test_net_fen_sums_stay_exact_past_float64s_integers() -> None:
    """2^52 + 1 twice and 1 sum to 2^53 + 3, which float64 cannot hold (it rounds to
    2^53 + 4): such amounts are summed in int64, not by a weighted bincount."""
    big = 2**52 + 1
    bucket = np.asarray([0, 0, 0, 1], dtype=np.intp)
    amounts = np.asarray([big, big, 1, 5], dtype=np.int64)
    sums = net_fen_sums(1, [(bucket, amounts, None)])
    assert sums.tolist() == [2**53 + 3, 5]
    assert float(2**53 + 3) != 2**53 + 3  # (the case is one float64 gets wrong)


@pytest.mark.parametrize("largest", [10**6, 10**15])  # (a bincount, np.add.at)
@given(data=st.data())
def test_net_fen_sums_match_python_ints(largest: int, data: st.DataObject) -> None:
    """Per slot, the sum of amount − refund over two parts of the rows, as Python ints add
    them (slot 3 is the extra one); small and huge amounts (both ways of summing)."""
    rows = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, largest),
                                        st.integers(0, largest)), max_size=30))
    cut = data.draw(st.integers(0, 30))
    slots = np.asarray([r[0] for r in rows], dtype=np.intp)
    amounts = np.asarray([r[1] for r in rows], dtype=np.int64)
    refunded = np.asarray([min(r[2], r[1]) if r[2] % 3 == 0 else 0 for r in rows], dtype=np.int64)
    cut = min(cut, len(rows))
    parts = [(slots[:cut], amounts[:cut], SparseFen.of(refunded[:cut])),
             (slots[cut:], amounts[cut:], SparseFen.of(refunded[cut:]))]
    want = [sum(int(a) - int(r) for (s, _, _), a, r in zip(rows, amounts, refunded, strict=True)
                if s == slot) for slot in range(4)]
    assert net_fen_sums(3, parts).tolist() == want
