"""Store metrics per period from merged period summaries equal
``ecrm.analytics.store_metrics`` on the whole log, for any partition of the orders and any
definition of new customers and repurchase base."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, Window
from ecrm.analytics import NewCustomerDefinition, RepurchaseBase, periods, store_metrics
from ecrm.scale import (
    merge_periods,
    store_metrics_from_summary,
    summarize,
    summarize_periods,
)
from ecrm.testing import order_logs

SH = ZoneInfo("Asia/Shanghai")
WHEN = st.datetimes(min_value=dt.datetime(2023, 11, 25), max_value=dt.datetime(2025, 3, 5),
                    timezones=st.just(SH))


@settings(max_examples=50, deadline=None)
@given(order_logs(max_size=30, max_customers=8, placed_at=WHEN),
       st.sampled_from(list(NewCustomerDefinition)), st.sampled_from(list(RepurchaseBase)),
       st.integers(min_value=1, max_value=400), st.data())
def test_any_partition_gives_store_metrics(log: OrderLog, definition, base,  # type: ignore[no-untyped-def]
                                           lookback: int, data: st.DataObject) -> None:
    freq = data.draw(st.sampled_from(["month", "quarter"]))
    ps = periods(Window.of_dates(dt.date(2024, 11, 1), dt.date(2025, 3, 1), SH), freq, tz=SH)
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    order = data.draw(st.permutations(list(range(parts))))
    pieces = [summarize_periods(log.select(labels == k), ps) for k in order]
    merged = pieces[0]
    for p in pieces[1:]:
        merged = merge_periods(merged, p)
    got = store_metrics_from_summary(merged, new_definition=definition,
                                     lookback_days=lookback, repurchase_base=base)
    want = store_metrics(log, ps, new_definition=definition, lookback_days=lookback,
                         repurchase_base=base)
    assert got == want


def test_hand_worked_first_ever_is_global() -> None:
    """a first bought in October (one slice); its December order (the other slice) makes
    a a returning customer in December. b buys twice in December on two days."""
    def at(m: int, d: int, y: int = 2024) -> dt.datetime:
        return dt.datetime(y, m, d, 12, tzinfo=SH)

    october = OrderLog.from_arrays(["a"], [at(10, 3)], [1_000], tz=SH)
    december = OrderLog.from_arrays(["a", "b", "b"], [at(12, 5), at(12, 6), at(12, 9)],
                                    [2_000, 300, 400], tz=SH)
    ps = periods(Window.of_dates(dt.date(2024, 12, 1), dt.date(2025, 1, 1), SH), tz=SH)
    merged = merge_periods(summarize_periods(december, ps), summarize_periods(october, ps))
    (dec,) = store_metrics_from_summary(merged).rows
    assert (dec.customers, dec.new_customers, dec.returning_customers) == (2, 1, 1)
    assert (dec.sales_fen, dec.new_sales_fen, dec.returning_sales_fen) == (2_700, 700, 2_000)
    assert (dec.repurchasers, dec.repurchase_base) == (1, 2)  # b: Dec 6 and Dec 9
    assert dec.attributed_sales_fen is None


def test_merge_refuses_other_periods_and_types() -> None:
    log = OrderLog.from_arrays(["a"], [dt.datetime(2024, 12, 3, tzinfo=SH)], [100], tz=SH)
    months = periods(Window.of_dates(dt.date(2024, 12, 1), dt.date(2025, 1, 1), SH), tz=SH)
    quarters = periods(Window.of_dates(dt.date(2024, 10, 1), dt.date(2025, 1, 1), SH), "quarter",
                       tz=SH)
    with pytest.raises(InvalidValueError, match="periods"):
        merge_periods(summarize_periods(log, months), summarize_periods(log, quarters))
    with pytest.raises(InvalidTypeError, match="PeriodSummary"):
        store_metrics_from_summary(summarize(log, as_of=dt.datetime(2025, 1, 1, tzinfo=SH)))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="lookback_days"):
        store_metrics_from_summary(summarize_periods(log, months), lookback_days=0)
