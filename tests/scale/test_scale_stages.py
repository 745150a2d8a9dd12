"""Lifecycle stages from merged summaries equal ``ecrm.lifecycle.stages`` on the whole log:
for orders split by customer or by time into consecutive slices (any merge tree of
neighbours) exactly, and for any other split exactly or with a clear refusal."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidValueError, OrderLog
from ecrm.lifecycle import Bands, StageResult, stages
from ecrm.scale import (
    UNKNOWN_DAYS,
    CustomerSummary,
    merge,
    merge_all,
    stages_from_summary,
    summarize,
)
from ecrm.testing import aware_datetimes, order_logs

SH = ZoneInfo("Asia/Shanghai")

# Orders packed into a few weeks, so customers buy several times a day and slices often
# share a day; or spread over years.
PLACED = st.sampled_from([
    aware_datetimes(min_value=dt.datetime(2025, 3, 1), max_value=dt.datetime(2025, 3, 20)),
    aware_datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 6, 30)),
])
BANDS = st.lists(st.integers(0, 400), min_size=3, max_size=3).map(
    lambda v: Bands(*sorted(v)))


@st.composite
def logs(draw: st.DrawFn) -> tuple[OrderLog, dt.datetime, Bands]:
    kind = draw(st.sampled_from(["str", "int"]))
    log = draw(order_logs(max_size=40, max_customers=6, customer_kind=kind,
                          placed_at=draw(PLACED)))
    as_of = draw(aware_datetimes(min_value=dt.datetime(2025, 3, 5),
                                 max_value=dt.datetime(2025, 9, 1)))
    return log, as_of, draw(BANDS)


def assert_same_stages(got: StageResult, want: StageResult) -> None:
    for name in ("customer_ids", "stage_codes", "days_since_last", "n_purchase_days"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype.kind == b.dtype.kind, name
        assert np.array_equal(a, b), (name, a, b)
    assert got.bands == want.bands
    assert got.scope == want.scope
    assert got.as_of == want.as_of
    assert got.to_dicts() == want.to_dicts()


def _fold(parts: list[CustomerSummary]) -> CustomerSummary:
    out = parts[0]
    for p in parts[1:]:
        out = merge(out, p)
    return out


@settings(max_examples=40, deadline=None)
@given(logs(), st.data())
def test_split_by_customer_any_merge_order(case: tuple, data: st.DataObject) -> None:
    log, as_of, bands = case
    parts = data.draw(st.integers(1, 4))
    ids = log.customer_ids.tolist()
    label = {c: data.draw(st.integers(0, parts - 1)) for c in ids}
    row_label = np.asarray([label[o.customer_id] for o in log], dtype=np.int64) \
        if len(log) else np.zeros(0, np.int64)
    sums = [summarize(log.select(row_label == k), as_of=as_of) for k in range(parts)]
    order = data.draw(st.permutations(list(range(parts))))
    want = stages(log, as_of=as_of, cycle=bands)
    assert_same_stages(stages_from_summary(_fold([sums[i] for i in order]), cycle=bands), want)


@settings(max_examples=40, deadline=None)
@given(logs(), st.data())
def test_split_by_time_into_consecutive_slices(case: tuple, data: st.DataObject) -> None:
    """Cut the orders at random instants (often inside a day a customer bought on twice);
    merge neighbours: a left fold and the balanced tree."""
    log, as_of, bands = case
    placed = log.placed_at_us
    cuts = sorted(data.draw(st.lists(
        st.sampled_from(placed.tolist()) if len(placed) else st.just(0), max_size=4)))
    edges = [np.iinfo(np.int64).min, *cuts, np.iinfo(np.int64).max]
    slices = [summarize(log.select((placed >= lo) & (placed < hi)), as_of=as_of)
              for lo, hi in itertools.pairwise(edges)]
    want = stages(log, as_of=as_of, cycle=bands)
    assert_same_stages(stages_from_summary(_fold(slices), cycle=bands), want)
    assert_same_stages(stages_from_summary(merge_all(slices), cycle=bands), want)


@settings(max_examples=40, deadline=None)
@given(logs(), st.data())
def test_any_split_is_exact_or_refused_never_wrong(case: tuple, data: st.DataObject) -> None:
    log, as_of, bands = case
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    merged = _fold([summarize(log.select(labels == k), as_of=as_of) for k in range(parts)])
    want = stages(log, as_of=as_of, cycle=bands)
    if np.any(merged.n_days == UNKNOWN_DAYS):
        with pytest.raises(InvalidValueError, match="n_purchase_days"):
            stages_from_summary(merged, cycle=bands)
        # What the stage needs (last day, a second day) merged exactly all the same.
        known = merged.known
        assert np.array_equal(merged.customer_ids[known], want.customer_ids)
    else:
        assert_same_stages(stages_from_summary(merged, cycle=bands), want)


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=SH)


def test_hand_worked_boundary_day_and_overlap() -> None:
    """a buys Mar 1, Mar 3 at 10:00 and 20:00, Mar 6. Sliced at Mar 3 15:00 the slices
    hold days {1, 3} and {3, 6}: 2 + 2 − 1 = 3 distinct days. Sliced by rows as
    {Mar 1, Mar 6} and {Mar 3, Mar 3} the ranges overlap: the count is refused."""
    log = OrderLog.from_arrays(["a"] * 4, [_at(1, 9), _at(3, 10), _at(3, 20), _at(6, 9)],
                               [100] * 4, tz=SH)
    as_of = _at(10, 0)
    cut = log.placed_at_us < int(_at(3, 15).timestamp() * 1_000_000)
    merged = merge(summarize(log.select(cut), as_of=as_of),
                   summarize(log.select(~cut), as_of=as_of))
    assert merged.n_days.tolist() == [3]
    got = stages_from_summary(merged, cycle=(3, 5, 7))
    # last purchase day Mar 6, as_of day Mar 10: 4 days, P50 < 4 <= P70: silent.
    assert got.days_since_last.tolist() == [4]
    assert got.stage_of("a").value == "silent"
    assert got.n_purchase_days.tolist() == [3]
    outer = np.asarray([True, False, False, True])
    mixed = merge(summarize(log.select(outer), as_of=as_of),
                  summarize(log.select(~outer), as_of=as_of))
    assert mixed.n_days.tolist() == [UNKNOWN_DAYS]
    with pytest.raises(InvalidValueError, match=r"1 customer\(s\).*'a'"):
        stages_from_summary(mixed, cycle=(3, 5, 7))
