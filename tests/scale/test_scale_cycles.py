"""The store's repurchase cycle from merged summaries equals
``ecrm.lifecycle.repurchase_cycle`` on the whole log, for any partition of the orders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderItems, OrderLog
from ecrm.lifecycle import RepurchaseCycle, cycles_by, repurchase_cycle
from ecrm.scale import (
    cycle_from_summary,
    cycles_from_summary,
    merge_all,
    merge_categories,
    summarize,
    summarize_categories,
)
from ecrm.testing import aware_datetimes, order_logs

SH = ZoneInfo("Asia/Shanghai")
FIELDS = ("p50_days", "p70_days", "p90_days", "n_first_time_buyers", "n_repurchasers",
          "repurchase_rate", "curve_days", "curve_share", "method", "same_day", "scope",
          "min_repurchasers", "estimate", "as_of")


def assert_same_cycle(got: RepurchaseCycle, want: RepurchaseCycle) -> None:
    for name in FIELDS:
        assert getattr(got, name) == getattr(want, name), name


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_partition_gives_the_logs_cycle(data: st.DataObject) -> None:
    log = data.draw(order_logs(max_size=40, max_customers=8, placed_at=aware_datetimes(
        min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2025, 4, 30))))
    as_of = data.draw(aware_datetimes(min_value=dt.datetime(2025, 2, 1),
                                      max_value=dt.datetime(2025, 6, 1)))
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    merged = merge_all(summarize(log.select(labels == k), as_of=as_of) for k in range(parts))
    method = data.draw(st.sampled_from(["observed", "kaplan-meier"]))
    min_rep = data.draw(st.integers(1, 4))
    fallback = data.draw(st.sampled_from([None, (10, 20, 30)]))
    got = cycle_from_summary(merged, method=method, min_repurchasers=min_rep,
                             fallback=fallback)
    want = repurchase_cycle(log, as_of=as_of, method=method, min_repurchasers=min_rep,
                            fallback=fallback)
    assert_same_cycle(got, want)


def test_hand_worked_intervals() -> None:
    """a: Mar 1 and Mar 4 (3 days); b: Mar 2, Mar 2 again, Mar 12 (10 days); c: Mar 5
    only. Observed over 2 repurchasers: P50 = 3, P70 = P90 = 10."""
    def at(day: int, hour: int = 12) -> dt.datetime:
        return dt.datetime(2025, 3, day, hour, tzinfo=SH)

    left = OrderLog.from_arrays(["a", "b", "c"], [at(1), at(2, 9), at(5)], [100] * 3, tz=SH)
    right = OrderLog.from_arrays(["a", "b", "b"], [at(4), at(2, 20), at(12)], [100] * 3, tz=SH)
    as_of = at(20, 0)
    got = cycle_from_summary(merge_all([summarize(right, as_of=as_of),
                                        summarize(left, as_of=as_of)]), min_repurchasers=1)
    assert (got.p50_days, got.p70_days, got.p90_days) == (3, 10, 10)
    assert (got.n_first_time_buyers, got.n_repurchasers) == (3, 2)
    with pytest.raises(InvalidValueError, match="method"):
        cycle_from_summary(summarize(left, as_of=as_of), method="median")
    with pytest.raises(InvalidTypeError, match="CustomerSummary"):
        cycle_from_summary(left)  # type: ignore[arg-type]


SKUS = [("GREEN", "tea"), ("BLACK", "tea"), ("CHIPS", "snacks"), ("MUG", "")]
STATUSES = ["PAID", "COMPLETED", "SHIPPED", "CLOSED"]


@st.composite
def logs_with_lines(draw: st.DrawFn) -> OrderLog:
    """Orders over six weeks, each with one to three lines of a few SKUs (one without a
    category), some orders invalid."""
    n = draw(st.integers(1, 30))
    kind = draw(st.sampled_from(["str", "int"]))
    customers = [draw(st.integers(0, 5)) for _ in range(n)]
    ids: list[str | int] = [f"c{c}" for c in customers] if kind == "str" else customers
    base = dt.datetime(2025, 3, 1, tzinfo=SH)
    placed = [base + dt.timedelta(hours=draw(st.integers(0, 42 * 24))) for _ in range(n)]
    statuses = [draw(st.sampled_from(STATUSES)) for _ in range(n)]
    order_ids, line_skus, line_cats = [], [], []
    for i in range(n):
        for sku, cat in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3)):
            order_ids.append(f"o{i}")
            line_skus.append(sku)
            line_cats.append(cat)
    items = OrderItems.from_arrays(
        order_ids=np.asarray(order_ids, dtype=str), skus=np.asarray(line_skus, dtype=str),
        unit_price_fen=np.full(len(line_skus), 100, dtype=np.int64),
        categories=np.asarray(line_cats, dtype=str))
    return OrderLog.from_arrays(ids, placed, [100] * n, statuses=statuses,
                                order_ids=[f"o{i}" for i in range(n)], items=items, tz=SH)


@settings(max_examples=50, deadline=None)
@given(logs_with_lines(), st.data())
def test_category_cycles_from_any_partition_equal_cycles_by(log: OrderLog,
                                                           data: st.DataObject) -> None:
    as_of = data.draw(aware_datetimes(min_value=dt.datetime(2025, 3, 5),
                                      max_value=dt.datetime(2025, 5, 1)))
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    pieces = [log.select(labels == k) for k in range(parts)]
    order = data.draw(st.permutations(list(range(parts))))
    cats = summarize_categories(pieces[order[0]], as_of=as_of)
    for i in order[1:]:
        cats = merge_categories(cats, summarize_categories(pieces[i], as_of=as_of))
    store = merge_all(summarize(p, as_of=as_of) for p in pieces)
    method = data.draw(st.sampled_from(["observed", "kaplan-meier"]))
    min_rep = data.draw(st.integers(1, 3))
    fallback = data.draw(st.sampled_from([None, (10, 20, 30)]))
    got = cycles_from_summary(cats, store, method=method, min_repurchasers=min_rep,
                              fallback=fallback)
    want = cycles_by(log, by="category", as_of=as_of, method=method,
                     min_repurchasers=min_rep, fallback=fallback)
    for name in ("keys", "p_days", "estimate_days", "n_first_time_buyers", "n_repurchasers",
                 "scopes"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert got.categories is None
    assert want.categories is None
    assert_same_cycle(got.store, want.store)
    assert got.to_dicts() == want.to_dicts()


def test_category_summary_needs_lines_and_matching_summaries() -> None:
    at = dt.datetime(2025, 3, 2, tzinfo=SH)
    bare = OrderLog.from_arrays(["a"], [at], [100], tz=SH)
    with pytest.raises(InvalidValueError, match="order lines"):
        summarize_categories(bare, as_of=at + dt.timedelta(days=1))
    lines = OrderItems.from_arrays(order_ids=["o1"], skus=["GREEN"], unit_price_fen=[100],
                                   categories=["tea"])
    log = OrderLog.from_arrays(["a"], [at], [100], order_ids=["o1"], items=lines, tz=SH)
    cats = summarize_categories(log, as_of=at + dt.timedelta(days=1))
    with pytest.raises(InvalidValueError, match="as_of"):
        cycles_from_summary(cats, summarize(log, as_of=at + dt.timedelta(days=2)))
    with pytest.raises(InvalidTypeError, match="CategorySummary"):
        merge_categories(cats, summarize(log, as_of=at))  # type: ignore[arg-type]
