"""The store's repurchase cycle from merged summaries equals
``ecrm.lifecycle.repurchase_cycle`` on the whole log, for any partition of the orders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderLog
from ecrm.lifecycle import RepurchaseCycle, repurchase_cycle
from ecrm.scale import cycle_from_summary, merge_all, summarize
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
