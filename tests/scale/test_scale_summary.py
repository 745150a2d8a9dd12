"""Summaries merge exactly: any partition of the orders, merged in any order, gives the
results of the in-memory OrderLog path, bit for bit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scale_helpers import assert_same_rfm, reference_days

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, OrderStatus
from ecrm.rfm import TAOBAO_PGSB, UndersizedShopWarning, score
from ecrm.scale import (
    NO_DAY,
    CustomerSummary,
    SummaryAccumulator,
    empty_summary,
    merge,
    merge_all,
    score_summary,
    summarize,
    tiers_from_summary,
)
from ecrm.testing import aware_datetimes, order_logs
from ecrm.tiers import TAOBAO_STORE_VIP, DowngradePolicy

SH = ZoneInfo("Asia/Shanghai")
AS_OFS = aware_datetimes(min_value=dt.datetime(2023, 6, 1), max_value=dt.datetime(2025, 9, 1))


def _split(log: OrderLog, labels: list[int], parts: int) -> list[OrderLog]:
    lab = np.asarray(labels[: len(log)] + [0] * max(0, len(log) - len(labels)), dtype=np.int64)
    return [log.select(lab % parts == k) for k in range(parts)]


@st.composite
def partitioned(draw: st.DrawFn) -> tuple[OrderLog, list[OrderLog], dt.datetime, list[int]]:
    kind = draw(st.sampled_from(["str", "int"]))
    log = draw(order_logs(max_size=40, max_customers=10, customer_kind=kind))
    parts = draw(st.integers(min_value=1, max_value=5))
    labels = draw(st.lists(st.integers(0, parts - 1), min_size=len(log), max_size=len(log)))
    as_of = draw(AS_OFS)
    order = draw(st.permutations(list(range(parts))))
    return log, _split(log, labels, parts), as_of, order


def _merged(pieces: list[OrderLog], as_of: dt.datetime, order: list[int]) -> CustomerSummary:
    sums = [summarize(pieces[i], as_of=as_of) for i in order]
    # A left fold in the drawn order (merge_all pairs them as a tree instead).
    out = sums[0]
    for s in sums[1:]:
        out = merge(out, s)
    return out


@settings(max_examples=50, deadline=None)
@given(partitioned())
def test_rfm_from_any_partition_equals_score_on_the_whole_log(case: tuple) -> None:
    log, pieces, as_of, order = case
    want = score(log, as_of=as_of, warn_undersized=False)
    assert_same_rfm(score_summary(_merged(pieces, as_of, order), warn_undersized=False), want)
    tree = merge_all(summarize(pieces[i], as_of=as_of) for i in order)
    assert_same_rfm(score_summary(tree, warn_undersized=False), want)


@settings(max_examples=40, deadline=None)
@given(partitioned(), st.booleans())
def test_tiers_from_any_partition_equal_evaluate_log(case: tuple, joined: bool) -> None:
    log, pieces, as_of, order = case
    want = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=joined)
    got = tiers_from_summary(_merged(pieces, as_of, order), TAOBAO_STORE_VIP, opted_in=joined)
    for name in ("customer_ids", "spend_fen", "orders", "qualified_level", "level",
                 "opted_in", "potential"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


@settings(max_examples=40, deadline=None)
@given(partitioned(), st.integers(1, 24), st.booleans())
def test_rolling_window_tiers_from_any_partition_equal_evaluate_log(
    case: tuple, months: int, joined: bool
) -> None:
    """Window sums merge by adding, so any partition gives the rolling policy's levels,
    the level-1 floor (``kept``) included."""
    log, pieces, as_of, order = case
    policy = DowngradePolicy.rolling_window(months)
    merged = merge_all(summarize(pieces[i], as_of=as_of, tier_months=months) for i in order)
    got = tiers_from_summary(merged, TAOBAO_STORE_VIP, opted_in=joined, policy=policy)
    want = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=joined, policy=policy)
    for name in ("customer_ids", "spend_fen", "orders", "qualified_level", "level",
                 "opted_in", "potential", "kept"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_a_rolling_policy_needs_the_summary_of_its_months() -> None:
    """a: ¥300 on Jan 5 and ¥50 on Mar 1; as_of Mar 10. Over 1 month only ¥50 counts
    (level 0), but the whole history (¥350, 2 orders) meets the entry rule: kept at 1."""
    log = OrderLog.from_arrays(["a", "a"], [dt.datetime(2025, 1, 5, 12, tzinfo=SH), _at(1)],
                               [30_000, 5_000], tz=SH)
    one = DowngradePolicy.rolling_window(1)
    got = tiers_from_summary(summarize(log, as_of=_at(10), tier_months=1), TAOBAO_STORE_VIP,
                             opted_in=True, policy=one)
    assert (got.spend_fen.tolist(), got.orders.tolist()) == ([5_000], [1])
    assert (got.level.tolist(), got.kept.tolist()) == ([1], [True])
    with pytest.raises(InvalidValueError, match="tier_months=1"):
        tiers_from_summary(summarize(log, as_of=_at(10)), TAOBAO_STORE_VIP, opted_in=True,
                           policy=one)
    with pytest.raises(InvalidValueError, match="tier_months"):
        merge(summarize(log, as_of=_at(10), tier_months=1), summarize(log, as_of=_at(10)))
    with pytest.raises(InvalidValueError, match="tier_months"):
        summarize(log, as_of=_at(10), tier_months=0)


@settings(max_examples=40, deadline=None)
@given(partitioned())
def test_purchase_days_match_a_plain_reference(case: tuple) -> None:
    log, pieces, as_of, order = case
    s = _merged(pieces, as_of, order)
    ref = reference_days(log, as_of)
    for i, cid in enumerate(s.customer_ids.tolist()):
        days = ref.get(cid, [])
        assert s.first_day[i] == (days[0] if days else NO_DAY)
        assert s.second_day[i] == (days[1] if len(days) > 1 else NO_DAY)
        assert s.last_day[i] == (days[-1] if days else np.iinfo(np.int64).min)


@settings(max_examples=40, deadline=None)
@given(partitioned())
def test_merge_is_commutative_and_accumulator_matches(case: tuple) -> None:
    log, pieces, as_of, _ = case
    sums = [summarize(p, as_of=as_of) for p in pieces]
    acc = SummaryAccumulator()
    for s in sums:
        acc.add(s)
    whole = summarize(log, as_of=as_of)
    empty = empty_summary(as_of=as_of, scheme=TAOBAO_PGSB, statuses=None, tz=log.tz,
                          currency="CNY")
    for got in (acc.result(empty), merge_all(reversed(sums)), merge(empty, merge_all(sums))):
        assert np.array_equal(got.customer_ids, whole.customer_ids)
        for name in ("rfm_last_us", "rfm_count", "rfm_net_fen", "spend_fen", "orders",
                     "first_day", "second_day", "last_day", "known"):
            assert np.array_equal(getattr(got, name), getattr(whole, name)), name


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=SH)


def test_hand_worked_merge_of_two_halves() -> None:
    """Customer a buys on Mar 1 and Mar 3 in one half, Mar 2 (refunded in part) and
    Mar 3 again in the other; b buys once, cancelled; as_of Mar 10."""
    left = OrderLog.from_arrays(["a", "a", "b"], [_at(1), _at(3), _at(4)], [10_000, 5_000, 900],
                                statuses=["PAID", "COMPLETED", "CANCELLED"], tz=SH)
    right = OrderLog.from_arrays(["a", "a"], [_at(2), _at(3, 20)], [8_000, 100],
                                 refunded=[3_000, 0], tz=SH)
    as_of = _at(10, 0)
    m = merge(summarize(left, as_of=as_of), summarize(right, as_of=as_of))
    assert m.customer_ids.tolist() == ["a", "b"]
    mar1 = (dt.date(2025, 3, 1) - dt.date(1970, 1, 1)).days
    assert m.rfm_count.tolist() == [4, 0]
    assert m.rfm_net_fen.tolist() == [10_000 + 5_000 + 5_000 + 100, 0]
    assert m.first_day.tolist() == [mar1, NO_DAY]
    assert m.second_day.tolist() == [mar1 + 1, NO_DAY]
    assert m.last_day[0] == mar1 + 2
    assert m.known.tolist() == [True, True]
    result = score_summary(m, warn_undersized=False)
    assert result.customer_ids.tolist() == ["a"]
    assert result.unscored_customer_ids.tolist() == ["b"]
    assert result.recency_days.tolist() == [7]


def test_merge_refuses_different_parameters_and_kinds() -> None:
    log = OrderLog.from_arrays(["a"], [_at(1)], [100], tz=SH)
    one = summarize(log, as_of=_at(10))
    with pytest.raises(InvalidValueError, match="as_of"):
        merge(one, summarize(log, as_of=_at(11)))
    with pytest.raises(InvalidValueError, match="statuses"):
        merge(one, summarize(log, as_of=_at(10), statuses=[OrderStatus.PAID]))
    ints = summarize(OrderLog.from_arrays([7], [_at(1)], [100], tz=SH), as_of=_at(10))
    with pytest.raises(InvalidValueError, match="customer_ids"):
        merge(one, ints)
    with pytest.raises(InvalidTypeError, match="CustomerSummary"):
        merge(one, log)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="at least one"):
        merge_all([])


def test_score_summary_warns_like_score_when_undersized() -> None:
    log = OrderLog.from_arrays(["a"], [_at(1)], [100], tz=SH)
    with pytest.warns(UndersizedShopWarning, match="accumulated 1 customers"):
        score_summary(summarize(log, as_of=_at(10)))


def test_tiers_from_summary_takes_ids_and_refuses_bad_inputs() -> None:
    """a: 3 valid orders (level 1 by count); b: ¥200 (level 2 by spend); as_of Mar 10."""
    log = OrderLog.from_arrays(["a", "a", "a", "b"], [_at(1), _at(2), _at(3), _at(4)],
                               [100, 100, 100, 20_000], tz=SH)
    s = summarize(log, as_of=_at(10))
    got = tiers_from_summary(s, TAOBAO_STORE_VIP, opted_in=["b"])
    assert got.qualified_level.tolist() == [1, 2]
    assert got.level.tolist() == [0, 2]
    assert got.potential.tolist() == [True, False]
    with pytest.raises(InvalidValueError, match="opted_in"):
        tiers_from_summary(s, TAOBAO_STORE_VIP, opted_in=np.ones(3, dtype=bool))
    usd = summarize(OrderLog.from_arrays(["a"], [_at(1)], [100], tz=SH, currency="USD"),
                    as_of=_at(10))
    with pytest.raises(InvalidValueError, match="currency"):
        tiers_from_summary(usd, TAOBAO_STORE_VIP, opted_in=True)
    with pytest.raises(InvalidTypeError, match="TierLadder"):
        tiers_from_summary(s, "ladder", opted_in=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="CustomerSummary"):
        score_summary(log)  # type: ignore[arg-type]
