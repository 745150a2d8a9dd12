"""Member metrics per period from merged summaries equal ``ecrm.analytics.member_metrics``
on the whole log, for any partition of the orders and any merge order."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import (
    CurrencyMismatchError,
    CustomerTable,
    InvalidTypeError,
    InvalidValueError,
    Money,
    OrderLog,
    Window,
)
from ecrm.analytics import MemberMetrics, Period, member_metrics, periods
from ecrm.scale import (
    MemberSummary,
    member_metrics_from_summary,
    merge_members,
    summarize_members,
)
from ecrm.testing import aware_datetimes, order_logs, tier_ladders
from ecrm.tiers import TAOBAO_STORE_VIP, Membership

SH = ZoneInfo("Asia/Shanghai")
ROW_FIELDS = ("period", "customers_by_level", "sales_by_level_fen", "active_by_level", "joins",
              "leaves", "members_at_start", "upgraded")


def assert_same_members(got: MemberMetrics, want: MemberMetrics) -> None:
    """Every row's numbers and flow arrays equal, bit for bit."""
    assert got.ladder == want.ladder
    assert got.currency == want.currency
    assert got.leaves_known == want.leaves_known
    assert len(got.rows) == len(want.rows)
    for a, b in zip(got.rows, want.rows, strict=True):
        for name in ROW_FIELDS:
            assert getattr(a, name) == getattr(b, name), (a.period.label, name)
        for name in ("customer_ids", "level_start", "level_end", "matrix"):
            x, y = getattr(a.flow, name), getattr(b.flow, name)
            assert x.dtype.kind == y.dtype.kind, name
            assert np.array_equal(x, y), (a.period.label, name)
        assert (a.flow.start, a.flow.end) == (b.flow.start, b.flow.end)
    assert got.table() == want.table()
    assert got.period_table() == want.period_table()


def some_periods(draw: st.DrawFn) -> tuple[Period, ...]:
    """Months, quarters or both (overlapping) within Jan–Jun 2025, maybe out of order."""
    first = draw(st.integers(1, 5))
    last = draw(st.integers(first + 1, 7))
    end = dt.date(2025, last, 1) if last <= 12 else dt.date(2026, 1, 1)
    window = Window.of_dates(dt.date(2025, first, 1), end, SH)
    kind = draw(st.sampled_from(["month", "quarter", "both"]))
    chosen: list[Period] = []
    if kind in ("month", "both"):
        chosen += periods(window, tz=SH)
    if kind in ("quarter", "both"):
        chosen += periods(window, "quarter", tz=SH)
    return tuple(draw(st.permutations(chosen)))


def customers_for(draw: st.DrawFn, log: OrderLog) -> CustomerTable | dict[object, Membership]:
    """A customer table or membership records for some of the log's customers, joining
    (and for records leaving) at random moments of 2025."""
    ids = log.customer_ids.tolist()
    chosen = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    moments = aware_datetimes(min_value=dt.datetime(2024, 12, 1),
                              max_value=dt.datetime(2025, 7, 1))
    if draw(st.booleans()):
        since = [draw(moments) for _ in chosen]
        return CustomerTable.from_arrays(np.asarray(chosen, dtype=log.customer_ids.dtype),
                                         member_since=since, tz=SH)
    records: dict[object, Membership] = {}
    for cid in chosen:
        joined = draw(moments)
        record = Membership(cid).join(joined, Money(100_000), 50)
        if draw(st.booleans()):
            record = record.leave(at=joined + dt.timedelta(days=draw(st.integers(1, 90))))
        records[cid] = record
    return records


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_partition_and_merge_order_give_the_logs_member_metrics(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["str", "int"]))
    log = data.draw(order_logs(max_size=40, max_customers=8, customer_kind=kind,
                               placed_at=aware_datetimes(min_value=dt.datetime(2024, 11, 1),
                                                         max_value=dt.datetime(2025, 8, 1))))
    chosen = data.draw(st.composite(some_periods)())
    customers = data.draw(st.composite(customers_for)(log))
    ladder = data.draw(st.sampled_from([TAOBAO_STORE_VIP]) | tier_ladders(max_amount=200_000,
                                                                         max_orders=6))
    statuses = data.draw(st.sampled_from([None, ["PAID", "COMPLETED"]]))
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    pieces = [summarize_members(log.select(labels == k), chosen, statuses=statuses)
              for k in range(parts)]
    order = data.draw(st.permutations(list(range(parts))))
    merged = pieces[order[0]]
    for i in order[1:]:
        merged = merge_members(merged, pieces[i]) if data.draw(st.booleans()) \
            else merge_members(pieces[i], merged)
    got = member_metrics_from_summary(merged, customers, ladder=ladder)
    want = member_metrics(log, customers, chosen, ladder=ladder, statuses=statuses)
    assert_same_members(got, want)


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=SH)


def test_hand_worked_two_months() -> None:
    """a: ¥150 on Jan 10 (qualifies for 普通会员 by spend), joined Jan 20; ¥80 on Feb 3.
    b: ¥50 on Feb 5, never joins; c: one CLOSED order on Jan 2 (a store customer with no
    valid order); d: first order on Mar 1, after both periods (not a customer yet).
    The two halves of the log are split across the month boundary and by customer."""
    left = OrderLog.from_arrays(["a", "c"], [at(1, 10), at(1, 2)], [15_000, 9_900],
                                statuses=["COMPLETED", "CLOSED"], tz=SH)
    right = OrderLog.from_arrays(["a", "b", "d"], [at(2, 3), at(2, 5), at(3, 1)],
                                 [8_000, 5_000, 1_000], tz=SH)
    customers = CustomerTable.from_arrays(["a", "b"], member_since=[at(1, 20), None], tz=SH)
    months = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 3, 1), SH), tz=SH)
    merged = merge_members(summarize_members(right, months), summarize_members(left, months))
    assert merged.customer_ids.tolist() == ["a", "b", "c"]  # d only ordered after Mar 1
    assert merged.group_slices.tolist() == [1, 2, 2]  # a in Jan and Feb, b in Feb
    got = member_metrics_from_summary(merged, customers)
    jan, feb = got.rows
    assert jan.customers_by_level == (1, 1, 0, 0, 0)  # c at 0; a a member at 普通会员
    assert jan.sales_by_level_fen == (0, 15_000, 0, 0, 0)
    assert jan.active_by_level == (0, 1, 0, 0, 0)
    assert (jan.joins, jan.members_at_start, jan.upgraded) == (1, 0, 0)
    # Feb: a has ¥230 (高级会员 from ¥200), b ¥50 at level 0.
    assert feb.customers_by_level == (2, 0, 1, 0, 0)
    assert feb.sales_by_level_fen == (5_000, 0, 8_000, 0, 0)
    assert feb.active_by_level == (1, 0, 1, 0, 0)
    assert (feb.joins, feb.members_at_start, feb.upgraded) == (0, 1, 1)
    assert feb.flow.customer_ids.tolist() == ["a", "b", "c"]
    assert feb.flow.level_start.tolist() == [1, 0, 0]
    assert feb.flow.level_end.tolist() == [2, 0, 0]


def plain_sales_by_level(log: OrderLog, customers: CustomerTable, p: Period) -> list[int]:
    """Plain Python: sales of the period by the customer's member level at its end (every
    order of these logs is valid and unrefunded)."""
    spend: dict[object, int] = defaultdict(int)
    count: dict[object, int] = defaultdict(int)
    for o in log:
        if o.placed_at < p.end:
            spend[o.customer_id] += o.amount.fen
            count[o.customer_id] += 1
    end_us = int(p.end.timestamp() * 1_000_000)
    joined = {cid for cid, since in zip(customers.customer_ids.tolist(),
                                         customers.member_since_us.tolist(), strict=True)
              if since < end_us}
    sales = [0] * 5
    for o in log:
        if p.start <= o.placed_at < p.end:
            c = o.customer_id
            level = TAOBAO_STORE_VIP.evaluate(Money(spend[c]), count[c],
                                              opted_in=c in joined).level
            sales[level] += o.amount.fen
    return sales


def test_sales_by_level_against_plain_python_over_three_slices() -> None:
    rng = np.random.default_rng(7)
    n = 300
    ids = [f"c{i}" for i in rng.integers(0, 40, n)]
    start = at(1, 1, 0)
    placed = [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 180 * 1440, n)]
    amounts = rng.integers(100, 30_000, n).tolist()
    log = OrderLog.from_arrays(ids, placed, amounts, tz=SH)
    members = sorted(set(ids))[::2]
    customers = CustomerTable.from_arrays(
        members, member_since=[at(1 + i % 6, 15) for i in range(len(members))], tz=SH)
    quarters = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 7, 1), SH),
                       "quarter", tz=SH)
    feb, may = (int(at(m, 1).timestamp()) * 1_000_000 for m in (2, 5))
    placed_us = log.placed_at_us
    slices = [log.select(placed_us < feb), log.select((placed_us >= feb) & (placed_us < may)),
              log.select(placed_us >= may)]
    merged = merge_members(merge_members(*[summarize_members(s, quarters) for s in slices[:2]]),
                           summarize_members(slices[2], quarters))
    got = member_metrics_from_summary(merged, customers)
    for row, p in zip(got.rows, quarters, strict=True):
        assert list(row.sales_by_level_fen) == plain_sales_by_level(log, customers, p)


def test_bad_arguments_and_summaries_that_do_not_merge() -> None:
    log = OrderLog.from_arrays(["a"], [at(1, 5)], [100], tz=SH)
    months = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 3, 1), SH), tz=SH)
    s = summarize_members(log, months)
    assert isinstance(s, MemberSummary)
    assert "1 customers" in repr(s)
    with pytest.raises(InvalidTypeError, match="OrderLog"):
        summarize_members("orders", months)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="periods"):
        summarize_members(log, [])
    with pytest.raises(InvalidValueError, match="periods"):
        merge_members(s, summarize_members(log, months[:1]))
    with pytest.raises(InvalidValueError, match="statuses"):
        merge_members(s, summarize_members(log, months, statuses=["PAID"]))
    with pytest.raises(InvalidTypeError, match="MemberSummary"):
        merge_members(s, log)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="MemberSummary"):
        member_metrics_from_summary(log, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="customers"):
        member_metrics_from_summary(s, ["a"])  # type: ignore[arg-type]
    usd_log = OrderLog.from_arrays(["a"], [at(1, 5)], [100], currency="USD", tz=SH)
    with pytest.raises(CurrencyMismatchError, match="currency"):
        member_metrics_from_summary(summarize_members(usd_log, months), {})


# -- out of core (Parquet batches) and Dask (a two-process LocalCluster) ----------------------


def _shop(str_ids: bool):  # type: ignore[no-untyped-def]
    """A synthetic shop: 4,000 orders of 500 customers over 2024–2025, time-ordered, and a
    customer table where every third customer joined at some moment of 2024–2025."""
    from scale_helpers import synthetic_orders

    frame = synthetic_orders(4_000, 500, seed=41, str_ids=str_ids).sort_values(
        "placed_at", kind="stable")
    log = OrderLog.from_pandas(frame, tz=SH)
    members = log.customer_ids[::3]
    since = [dt.datetime(2024, 1, 1, tzinfo=SH) + dt.timedelta(hours=97 * i)
             for i in range(len(members))]
    return frame, log, CustomerTable.from_arrays(members, member_since=since, tz=SH)


MONTHS_AND_QUARTERS = (
    *periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 7, 1), SH), tz=SH),
    *periods(Window.of_dates(dt.date(2024, 10, 1), dt.date(2025, 7, 1), SH), "quarter", tz=SH),
)


def test_member_metrics_from_parquet_batches_equal_the_in_memory_metrics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from ecrm.scale import member_metrics_parquet

    frame, log, customers = _shop(str_ids=True)
    folder = tmp_path / "orders"
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False),
                       folder / f"part-{k}.parquet", row_group_size=500)
    got = member_metrics_parquet(folder, customers, MONTHS_AND_QUARTERS, tz=SH,
                                 amount_unit="fen", batch_rows=450)
    want = member_metrics(log, customers, MONTHS_AND_QUARTERS)
    assert_same_members(got, want)
    assert sum(sum(r.customers_by_level[1:]) for r in want.rows) > 0  # members at some level


def test_member_metrics_on_the_cluster_equal_the_in_memory_metrics(client: object) -> None:
    dd = pytest.importorskip("dask.dataframe")
    from ecrm.scale import member_metrics_dask

    frame, log, customers = _shop(str_ids=False)
    records = {cid: Membership(cid).join(dt.datetime(2024, 6, 1, tzinfo=SH), Money(100_000), 50)
               for cid in log.customer_ids[::4].tolist()}
    for customers_arg in (customers, records):
        got = member_metrics_dask(dd.from_pandas(frame, npartitions=5), customers_arg,
                                  MONTHS_AND_QUARTERS, tz=SH, amount_unit="fen", split_every=2)
        assert_same_members(got, member_metrics(log, customers_arg, MONTHS_AND_QUARTERS))
    with pytest.raises(InvalidTypeError, match="dask DataFrame"):
        member_metrics_dask(frame, customers, MONTHS_AND_QUARTERS)
    with pytest.raises(InvalidValueError, match="split_every"):
        member_metrics_dask(dd.from_pandas(frame, npartitions=1), customers,
                            MONTHS_AND_QUARTERS, split_every=1)
