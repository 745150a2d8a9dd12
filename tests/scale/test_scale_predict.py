"""Prediction summaries from partitions merge into ``ecrm.predict.summaries`` of the whole
log: (x, t_x, T, repeat spend, n_excluded), bit for bit."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderLog
from ecrm.predict import Summary, summaries
from ecrm.scale import (
    UNKNOWN_DAYS,
    PredictionSummary,
    merge_predict,
    predict_summary,
    summarize,
    summarize_for_predict,
)
from ecrm.testing import aware_datetimes, order_logs

SH = ZoneInfo("Asia/Shanghai")
PLACED = st.sampled_from([
    aware_datetimes(min_value=dt.datetime(2025, 3, 1), max_value=dt.datetime(2025, 3, 20)),
    aware_datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2025, 6, 30)),
])


@st.composite
def cases(draw: st.DrawFn) -> tuple[OrderLog, dt.datetime, dt.datetime, str]:
    kind = draw(st.sampled_from(["str", "int"]))
    log = draw(order_logs(max_size=40, max_customers=6, customer_kind=kind,
                          placed_at=draw(PLACED)))
    start = draw(aware_datetimes(min_value=dt.datetime(2024, 1, 1),
                                 max_value=dt.datetime(2025, 3, 10)))
    as_of = start + dt.timedelta(hours=draw(st.integers(1, 24 * 400)))
    return log, start, as_of, draw(st.sampled_from(["days", "weeks"]))


def assert_same(got: Summary, want: Summary) -> None:
    for name in ("customer_ids", "x", "t_x_days", "T_days", "repeat_spend_fen"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype.kind == b.dtype.kind, name
        assert np.array_equal(a, b), (name, a, b)
    assert np.array_equal(got.t_x, want.t_x)
    assert np.array_equal(got.T, want.T)
    assert (got.unit, got.as_of_day, got.n_excluded) == (want.unit, want.as_of_day,
                                                         want.n_excluded)


def _fold(parts: list[PredictionSummary]) -> PredictionSummary:
    out = parts[0]
    for p in parts[1:]:
        out = merge_predict(out, p)
    return out


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_split_by_customer_in_any_order(case: tuple, data: st.DataObject) -> None:
    log, start, as_of, unit = case
    parts = data.draw(st.integers(1, 4))
    label = {c: data.draw(st.integers(0, parts - 1)) for c in log.customer_ids.tolist()}
    rows = np.asarray([label[o.customer_id] for o in log], dtype=np.int64)
    pieces = [summarize_for_predict(log.select(rows == k), as_of=as_of,
                                    calibration_start=start) for k in range(parts)]
    order = data.draw(st.permutations(list(range(parts))))
    got = predict_summary(_fold([pieces[i] for i in order]), unit=unit)
    assert_same(got, summaries(log, as_of=as_of, calibration_start=start, unit=unit))


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_split_by_time_slices_merged_in_order(case: tuple, data: st.DataObject) -> None:
    log, start, as_of, unit = case
    placed = log.placed_at_us
    cuts = sorted(data.draw(st.lists(
        st.sampled_from(placed.tolist()) if len(placed) else st.just(0), max_size=4)))
    edges = [np.iinfo(np.int64).min, *cuts, np.iinfo(np.int64).max]
    pieces = [summarize_for_predict(log.select((placed >= lo) & (placed < hi)), as_of=as_of,
                                    calibration_start=start)
              for lo, hi in itertools.pairwise(edges)]
    got = predict_summary(_fold(pieces), unit=unit)
    assert_same(got, summaries(log, as_of=as_of, calibration_start=start, unit=unit))


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_any_split_is_exact_or_refused(case: tuple, data: st.DataObject) -> None:
    log, start, as_of, unit = case
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    merged = _fold([summarize_for_predict(log.select(labels == k), as_of=as_of,
                                          calibration_start=start) for k in range(parts)])
    want = summaries(log, as_of=as_of, calibration_start=start, unit=unit)
    wanted = ~merged.prior & (merged.n_days != 0)
    if np.any(merged.n_days[wanted] == UNKNOWN_DAYS):
        with pytest.raises(InvalidValueError, match="cannot be counted exactly"):
            predict_summary(merged, unit=unit)
    else:
        assert_same(predict_summary(merged, unit=unit), want)


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=SH)


def test_hand_worked_two_halves() -> None:
    """Window Mar 1 – Mar 20. a: Mar 2 (¥10 + ¥5 that day, in two slices), Mar 5 (¥7),
    Mar 9 (¥3) → x = 2, t_x = 7, T = 18, repeat spend ¥10. b bought Feb 20, before the
    window: left out (n_excluded 1)."""
    left = OrderLog.from_arrays(["a", "a", "b"], [_at(2, 9), _at(5), dt.datetime(
        2025, 2, 20, tzinfo=SH)], [1_000, 700, 100], tz=SH)
    right = OrderLog.from_arrays(["a", "a", "b"], [_at(2, 20), _at(9), _at(10)],
                                 [500, 300, 100], tz=SH)
    start, as_of = _at(1, 0), _at(20, 0)
    merged = merge_predict(summarize_for_predict(right, as_of=as_of, calibration_start=start),
                           summarize_for_predict(left, as_of=as_of, calibration_start=start))
    # the two slices overlap in time (Mar 2 – Mar 9 both): a's days cannot be counted
    with pytest.raises(InvalidValueError, match="'a'"):
        predict_summary(merged)
    whole = OrderLog.from_arrays(["a", "a", "a", "a", "b", "b"],
                                 [_at(2, 9), _at(2, 20), _at(5), _at(9),
                                  dt.datetime(2025, 2, 20, tzinfo=SH), _at(10)],
                                 [1_000, 500, 700, 300, 100, 100], tz=SH)
    early = whole.placed_at_us < int(_at(4).timestamp() * 1_000_000)
    got = predict_summary(merge_predict(
        summarize_for_predict(whole.select(early), as_of=as_of, calibration_start=start),
        summarize_for_predict(whole.select(~early), as_of=as_of, calibration_start=start)))
    assert got.customer_ids.tolist() == ["a"]
    assert (got.x.tolist(), got.t_x_days.tolist(), got.T_days.tolist()) == ([2], [7], [18])
    assert got.repeat_spend_fen.tolist() == [1_000]
    assert got.n_excluded == 1


def test_merge_refuses_other_windows_and_types() -> None:
    log = OrderLog.from_arrays(["a"], [_at(2)], [100], tz=SH)
    one = summarize_for_predict(log, as_of=_at(20), calibration_start=_at(1))
    with pytest.raises(InvalidValueError, match="calibration_start"):
        merge_predict(one, summarize_for_predict(log, as_of=_at(20), calibration_start=_at(2, 0)))
    with pytest.raises(InvalidValueError, match="calibration_start"):
        summarize_for_predict(log, as_of=_at(1), calibration_start=_at(2))
    with pytest.raises(InvalidTypeError, match="PredictionSummary"):
        merge_predict(one, summarize(log, as_of=_at(20)))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="PredictionSummary"):
        predict_summary(summarize(log, as_of=_at(20)))  # type: ignore[arg-type]
