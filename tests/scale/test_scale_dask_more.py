"""Dask beyond RFM, on the session's real two-process LocalCluster: tiers (cumulative and
rolling), stages, the store cycle, cycles per category, prediction summaries (and the
models fitted on them) and store metrics per period equal the in-memory results bit for
bit; per-customer rows come back as a dask DataFrame."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scale_helpers import synthetic_orders

from ecrm import InvalidTypeError, InvalidValueError, OrderItems, OrderLog, Window
from ecrm.analytics import periods, store_metrics
from ecrm.lifecycle import cycles_by, repurchase_cycle, stages
from ecrm.predict import fit_bgnbd, fit_gammagamma, predict, summaries
from ecrm.rfm import score
from ecrm.scale import (
    cycle_from_summary,
    cycles_by_category_dask,
    fold_csv_dask,
    fold_dask,
    merge,
    merge_periods,
    rows_dask,
    stages_from_summary,
    store_metrics_dask,
    store_metrics_from_summary,
    summaries_dask,
    summarize,
    summarize_dask,
    summarize_periods,
    tiers_from_summary,
    to_dask,
)
from ecrm.tiers import TAOBAO_STORE_VIP, DowngradePolicy

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)
CAL_START = dt.datetime(2024, 3, 1, tzinfo=SH)
CYCLE_FIELDS = ("p50_days", "p70_days", "p90_days", "n_first_time_buyers", "n_repurchasers",
                "repurchase_rate", "curve_days", "curve_share", "method", "same_day", "scope",
                "min_repurchasers", "estimate", "as_of")


def _same_arrays(got: Any, want: Any, names: tuple[str, ...]) -> None:
    for name in names:
        a, b = getattr(got, name), getattr(want, name)
        if a is None or b is None:
            assert a is b, name
            continue
        assert a.dtype == b.dtype or (a.dtype.kind == b.dtype.kind == "U"), (name, a.dtype,
                                                                          b.dtype)
        assert np.array_equal(a, b), name


@pytest.fixture(scope="module")
def by_time():  # type: ignore[no-untyped-def]
    """Random orders sorted by time: the partitions of dd.from_pandas are consecutive time
    slices, as Parquet files named by month are."""
    frame = synthetic_orders(6_000, 700, seed=31, str_ids=True)
    return frame.sort_values("placed_at", kind="stable").reset_index(drop=True)


def test_tiers_stages_and_cycle_from_dask_summaries_equal_the_log(
    client: object, by_time  # type: ignore[no-untyped-def]
) -> None:
    whole = OrderLog.from_pandas(by_time, tz=SH)
    ddf = dd.from_pandas(by_time, npartitions=6, sort=False)
    summary = summarize_dask(ddf, as_of=AS_OF, tz=SH, tier_months=12, split_every=2)
    tier_names = ("customer_ids", "spend_fen", "orders", "qualified_level", "level",
                  "opted_in", "potential", "kept")
    joined = whole.customer_ids[::3].tolist()
    _same_arrays(tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=joined),
                 TAOBAO_STORE_VIP.evaluate_log(whole, as_of=AS_OF, opted_in=joined),
                 tier_names)
    rolling = DowngradePolicy.rolling_window(12)
    _same_arrays(tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=True, policy=rolling),
                 TAOBAO_STORE_VIP.evaluate_log(whole, as_of=AS_OF, opted_in=True,
                                               policy=rolling),
                 tier_names)
    for method in ("observed", "kaplan-meier"):
        got = cycle_from_summary(summary, method=method)
        want = repurchase_cycle(whole, as_of=AS_OF, method=method)
        for name in CYCLE_FIELDS:
            assert getattr(got, name) == getattr(want, name), (method, name)
    cycle = repurchase_cycle(whole, as_of=AS_OF)
    got_stages = stages_from_summary(summary, cycle=cycle)
    want_stages = stages(whole, as_of=AS_OF, cycle=cycle)
    _same_arrays(got_stages, want_stages,
                 ("customer_ids", "stage_codes", "days_since_last", "n_purchase_days"))
    assert got_stages.to_dicts() == want_stages.to_dicts()


def test_prediction_summaries_and_the_fits_on_them_equal_the_log(
    client: object, by_time  # type: ignore[no-untyped-def]
) -> None:
    whole = OrderLog.from_pandas(by_time, tz=SH)
    want = summaries(whole, as_of=AS_OF, calibration_start=CAL_START)
    got = summaries_dask(dd.from_pandas(by_time, npartitions=5, sort=False), as_of=AS_OF,
                         calibration_start=CAL_START, tz=SH, split_every=3)
    _same_arrays(got, want, ("customer_ids", "x", "t_x_days", "T_days", "repeat_spend_fen",
                             "t_x", "T"))
    assert (got.unit, got.as_of_day, got.n_excluded) == (want.unit, want.as_of_day,
                                                         want.n_excluded)
    assert want.n_excluded > 0  # some customers bought before the window: left out
    # The same inputs give the same floats: the fitted parameters and every prediction are
    # bit for bit equal (uniform random orders need the l2 penalty to identify BG/NBD).
    model_got = fit_bgnbd(got, l2=0.01, thin_data="ignore")
    model_want = fit_bgnbd(want, l2=0.01, thin_data="ignore")
    assert np.array_equal(model_got.params, model_want.params)
    spend_got = fit_gammagamma(got, l2=0.01, thin_data="ignore")
    assert np.array_equal(spend_got.params,
                          fit_gammagamma(want, l2=0.01, thin_data="ignore").params)
    p_got = predict(model_got, got, horizon_days=30)
    p_want = predict(model_want, want, horizon_days=30)
    assert p_got.to_dicts() == p_want.to_dicts()


def test_prediction_summaries_split_by_customer(client: object) -> None:
    """Partitions holding whole customers (sorted by customer, then time) are exact too;
    partitions overlapping in time for one customer are refused, never wrong."""
    frame = synthetic_orders(3_000, 300, seed=32)
    whole = OrderLog.from_pandas(frame, tz=SH)
    want = summaries(whole, as_of=AS_OF, calibration_start=CAL_START, unit="weeks")
    by_customer = frame.sort_values(["customer_id", "placed_at"]).reset_index(drop=True)
    got = summaries_dask(dd.from_pandas(by_customer, npartitions=4, sort=False), as_of=AS_OF,
                         calibration_start=CAL_START, unit="weeks", tz=SH)
    _same_arrays(got, want, ("customer_ids", "x", "t_x", "T", "repeat_spend_fen"))
    with pytest.raises(InvalidValueError, match="cannot be counted exactly"):
        summaries_dask(dd.from_pandas(frame, npartitions=4, sort=False), as_of=AS_OF,
                       calibration_start=CAL_START, tz=SH)


def test_store_metrics_per_month_from_any_partition(client: object) -> None:
    """Store metrics need no time order: random partitions give the in-memory table."""
    frame = synthetic_orders(5_000, 600, seed=33, str_ids=True)
    whole = OrderLog.from_pandas(frame, tz=SH)
    months = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 7, 1), SH), tz=SH)
    ddf = dd.from_pandas(frame, npartitions=7, sort=False)
    for options in ({}, {"new_definition": "first_in_window", "lookback_days": 90,
                         "repurchase_base": "previous_period"}):
        got = store_metrics_dask(ddf, months, tz=SH, split_every=2, **options)
        assert got == store_metrics(whole, months, **options), options
    # The generic fold with the user's own summarize (a lambda travels by cloudpickle).
    merged = fold_dask(ddf, summarize=lambda log: summarize_periods(log, months),
                       merge=merge_periods, tz=SH)
    assert store_metrics_from_summary(merged) == store_metrics(whole, months)


def _lines(seed: int) -> tuple[Any, OrderLog]:
    """Order lines (one to three per order, a few categories, some unknown) as a pandas
    frame in random row order, and the same orders as one log with items."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    orders = synthetic_orders(1_500, 200, seed=seed, str_ids=True)
    cats = np.asarray(["tea", "snacks", "cups", ""])
    n_lines = rng.integers(1, 4, len(orders))
    row = np.repeat(np.arange(len(orders)), n_lines)
    line_cat = cats[rng.integers(0, len(cats), len(row))]
    lines = orders.iloc[row].reset_index(drop=True).assign(
        category=pd.Series(line_cat, dtype=object).where(line_cat != "", None))
    lines = lines.iloc[rng.permutation(len(lines))].reset_index(drop=True)
    items = OrderItems.from_arrays(
        order_ids=orders["order_id"].to_numpy()[row], skus=np.full(len(row), "SKU"),
        unit_price_fen=np.zeros(len(row), dtype=np.int64), categories=line_cat)
    whole = OrderLog.from_arrays(
        orders["customer_id"].tolist(), orders["placed_at"].dt.to_pydatetime().tolist(),
        orders["amount"].tolist(), refunded=orders["refunded"].tolist(),
        statuses=orders["status"].str.upper().tolist(), order_ids=orders["order_id"].tolist(),
        items=items, tz=SH)
    return lines, whole


@pytest.mark.parametrize("method", ["observed", "kaplan-meier"])
def test_cycles_by_category_from_order_lines_in_random_partitions(
    client: object, method: str
) -> None:
    """An order's lines scattered over partitions count once: the category facts merge
    by minimum days and union."""
    lines, whole = _lines(34)
    ddf = dd.from_pandas(lines, npartitions=5, sort=False)
    got = cycles_by_category_dask(ddf, as_of=AS_OF, method=method, min_repurchasers=40,
                                  fallback=(10, 20, 30), tz=SH, split_every=2)
    want = cycles_by(whole, by="category", as_of=AS_OF, method=method, min_repurchasers=40,
                     fallback=(10, 20, 30))
    for name in ("keys", "p_days", "estimate_days", "n_first_time_buyers", "n_repurchasers",
                 "scopes"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert got.keys.tolist() == ["cups", "snacks", "tea"]
    for name in CYCLE_FIELDS:
        assert getattr(got.store, name) == getattr(want.store, name), name
    assert got.to_dicts() == want.to_dicts()


def test_hand_worked_category_cycles_with_an_order_split_over_partitions(
    client: object
) -> None:
    """Tea: a 1 → 4 Mar (3 days), b 2 → 22 Mar (20): P50 3, P70 = P90 20. Snacks: e 1 → 2
    Mar (1 day), f once: 1/1/1. Cups: a, b, f once each (c's order closed): no repurchaser,
    so the store's bands, from a 3, b 20, e 1, f 10 → 11 Mar (1): [1, 1, 3, 20] gives P50 1
    (2 of 4), P70 3 (3 of 4), P90 20. Order o4's two lines sit in different partitions."""
    import pandas as pd

    def line(order: str, who: str, day: int, category: str, status: str = "paid") -> dict:
        return {"order_id": order, "customer_id": who, "amount": 1_000, "status": status,
                "placed_at": pd.Timestamp(2025, 3, day, 12, tz="Asia/Shanghai"),
                "category": category}

    rows = [line("o4", "b", 22, "tea"), line("o1", "a", 1, "tea"), line("o1", "a", 1, "cups"),
            line("o2", "a", 4, "tea"), line("o3", "b", 2, "tea"),
            line("o5", "c", 5, "cups", "closed"), line("o6", "e", 1, "snacks"),
            line("o7", "e", 2, "snacks"), line("o8", "f", 10, "snacks"),
            line("o9", "f", 11, "cups"), line("o4", "b", 22, "cups")]
    ddf = dd.from_pandas(pd.DataFrame(rows), npartitions=3, sort=False)
    assert ddf.npartitions == 3
    got = cycles_by_category_dask(ddf, as_of=dt.datetime(2025, 4, 1, tzinfo=SH),
                                  min_repurchasers=1, split_every=2)
    assert got.keys.tolist() == ["cups", "snacks", "tea"]
    assert got.p_days.tolist() == [[1, 3, 20], [1, 1, 1], [3, 20, 20]]
    assert got.scopes.tolist() == ["store", "category:snacks", "category:tea"]
    assert got.n_first_time_buyers.tolist() == [3, 2, 2]
    assert got.n_repurchasers.tolist() == [0, 1, 2]
    assert (got.store.p50_days, got.store.p70_days, got.store.p90_days) == (1, 3, 20)


def test_category_lines_of_one_order_that_disagree_are_refused(client: object) -> None:
    """The order's columns repeat on each of its lines: a line of o1 naming customer b
    while o1's first line names a is an error naming the column, the order and both rows
    (raised on the worker, as the SKU path and sku_cycles_parquet raise it)."""
    import pandas as pd

    placed = pd.Timestamp(2025, 3, 1, 12, tz="Asia/Shanghai")
    lines = pd.DataFrame({
        "order_id": ["o1", "o2", "o1"], "customer_id": ["a", "b", "b"],
        "placed_at": [placed] * 3, "amount": [100, 200, 100], "status": ["paid"] * 3,
        "category": ["tea", None, "tea"]})
    with pytest.raises(InvalidValueError, match=r"customer_id must be the same on every line "
                       r"of order 'o1' \(row 2 of the chunk differs from the order's first "
                       r"line, row 0, which has 'a'\)"):
        cycles_by_category_dask(dd.from_pandas(lines, npartitions=1), as_of=AS_OF, tz=SH,
                                min_repurchasers=1)
    # a SKU column is not read by the category path: its empty cell is no error
    agreeing = lines.assign(customer_id=["a", "b", "a"], sku=["GREEN", "", "GREEN"])
    got = cycles_by_category_dask(dd.from_pandas(agreeing, npartitions=1), as_of=AS_OF, tz=SH,
                                  min_repurchasers=1)
    # o2's line has no category: only tea is a key, a's one order its one first-time buyer
    assert got.keys.tolist() == ["tea"]
    assert got.n_first_time_buyers.tolist() == [1]


def test_fold_csv_dask_reads_item_lines_per_file(client: object, tmp_path: Path) -> None:
    """CSV files with item lines, one task each: the category summary of each file merged
    on the cluster gives cycles_by on the log of every file."""
    from ecrm.scale import cycles_from_summary, fold_csv, merge_categories, summarize_categories

    header = "order_id,customer_id,placed_at,amount,status,sku,category,unit_price\n"
    files = {
        "a.csv": ["o1,a,2025-03-01 10:00,500,paid,GREEN,tea,500",
                  "o1,a,2025-03-01 10:00,500,paid,MUG,cups,0",
                  "o2,b,2025-03-02 10:00,500,paid,GREEN,tea,500"],
        "b.csv": ["o3,a,2025-03-06 10:00,500,paid,BLACK,tea,500",
                  "o4,b,2025-03-12 10:00,500,shipped,GREEN,tea,500",
                  "o5,c,2025-03-12 10:00,500,closed,GREEN,tea,500"],
    }
    paths = []
    for name, body in files.items():
        (tmp_path / name).write_text(header + "\n".join(body) + "\n", encoding="utf-8")
        paths.append(tmp_path / name)
    as_of = dt.datetime(2025, 4, 1, tzinfo=SH)

    def by_category(log: OrderLog) -> Any:
        return summarize_categories(log, as_of=as_of)

    got = fold_csv_dask(paths, summarize=by_category, merge=merge_categories, tz=SH,
                        amount_unit="fen", batch_rows=1)
    want = fold_csv(paths, summarize=by_category, merge=merge_categories, tz=SH,
                    amount_unit="fen", batch_rows=1)
    for name in ("categories", "pair_categories", "pair_customer_ids", "first_day",
                 "second_day"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    store = fold_csv(paths, summarize=lambda log: summarize(log, as_of=as_of),
                     merge=merge, tz=SH, amount_unit="fen")
    table = cycles_from_summary(got, store, min_repurchasers=1)
    # tea: a 1 → 6 Mar (5 days), b 2 → 12 Mar (10 days); c's order closed
    assert table.keys.tolist() == ["cups", "tea"]
    assert table.p_days.tolist()[1] == [5, 10, 10]


def _plain(frame: Any) -> dict[str, list[Any]]:
    """Column → values, missing as None (whatever the frame's dtypes)."""
    import pandas as pd

    return {c: [None if pd.isna(v) else v for v in frame[c].astype(object)]
            for c in frame.columns}


def test_per_customer_rows_as_a_dask_frame_and_parquet(
    client: object, by_time, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    pytest.importorskip("pyarrow")
    whole = OrderLog.from_pandas(by_time, tz=SH)
    result = score(whole, as_of=AS_OF, warn_undersized=False)
    rows = to_dask(result, npartitions=3, include_unscored=True)
    assert rows.npartitions == 3
    back = rows.compute().reset_index(drop=True)
    want = result.to_pandas(include_unscored=True)
    assert list(back.columns) == list(want.columns)
    assert _plain(back) == _plain(want)  # dask may store text as pyarrow strings
    rows.to_parquet(tmp_path / "rfm")
    # read back with pyarrow (dask's read_parquet warns under pandas 3.1): one file per
    # partition, in order
    import pyarrow.parquet as pq

    files = sorted((tmp_path / "rfm").glob("*.parquet"))
    assert len(files) == 3
    tables = [pq.read_table(f) for f in files]
    assert [c for t in tables for c in t.column("customer_id").to_pylist()] == \
        want["customer_id"].tolist()
    assert [v for t in tables for v in t.column("total").to_pylist()] == \
        _plain(want)["total"]


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 4), min_size=1, max_size=9),
       split_every=st.integers(2, 5))
def test_the_tree_merges_neighbours_in_partition_order(sizes: list[int],
                                                       split_every: int) -> None:
    """Whatever the partition sizes (empty ones too) and ``split_every``, the tree hands
    ``merge`` neighbours in partition order: concatenating each partition's order ids gives
    the frame's order (what keeps time-ordered partitions consecutive slices)."""
    import dask

    if not sum(sizes):
        sizes = [*sizes, 1]
    frame = synthetic_orders(sum(sizes), 5, seed=len(sizes))
    cuts = np.cumsum([0, *sizes])
    parts = [dd.from_pandas(frame.iloc[a:b], npartitions=1, sort=False)
             for a, b in itertools.pairwise(cuts)]
    ddf = dd.concat(parts)
    assert ddf.npartitions == len(sizes)

    def ids(log: OrderLog) -> list[str]:
        # the log is customer-sorted; the ids o0, o1 … number the frame's rows
        return sorted(log.order_ids.astype(str).tolist(), key=lambda o: int(o[1:]))

    with dask.config.set(scheduler="sync"):
        got = fold_dask(ddf, summarize=ids, merge=lambda a, b: a + b, split_every=split_every,
                        tz=SH)
    assert got == frame["order_id"].tolist()


def test_rows_on_the_workers_after_a_shuffle_by_customer(client: object) -> None:
    """RFM and stage rows computed per partition of whole customers equal the in-memory
    rows (sorted by customer: partitions are hash-partitioned)."""
    frame = synthetic_orders(2_000, 300, seed=35, str_ids=True)
    whole = OrderLog.from_pandas(frame, tz=SH)
    ddf = dd.from_pandas(frame, npartitions=5, sort=False)
    cycle = repurchase_cycle(whole, as_of=AS_OF)  # global: computed first, then passed in
    cases = [
        (lambda log: score(log, as_of=AS_OF, warn_undersized=False).to_pandas(
            include_unscored=True),
         score(whole, as_of=AS_OF, warn_undersized=False).to_pandas(include_unscored=True)),
        (lambda log: stages(log, as_of=AS_OF, cycle=cycle),
         stages(whole, as_of=AS_OF, cycle=cycle).to_pandas()),
    ]
    for rows, want in cases:
        lazy = rows_dask(ddf, rows=rows, npartitions=3, tz=SH)
        assert lazy.npartitions == 3
        got = lazy.compute().sort_values("customer_id").reset_index(drop=True)
        assert list(got.columns) == list(want.columns)
        assert _plain(got) == _plain(want.sort_values("customer_id").reset_index(drop=True))


def test_bad_arguments_are_refused_before_any_work() -> None:
    frame = synthetic_orders(20, 5, seed=1)
    ddf = dd.from_pandas(frame, npartitions=2)
    months = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 3, 1), SH), tz=SH)
    with pytest.raises(InvalidTypeError, match="dask DataFrame"):
        fold_dask(frame, summarize=len, merge=max)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="split_every"):
        fold_dask(ddf, summarize=len, merge=max, split_every=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="lookback_days"):
        store_metrics_dask(ddf, months, lookback_days=0)
    with pytest.raises(InvalidValueError, match="calibration_start"):
        summaries_dask(ddf, as_of=CAL_START, calibration_start=AS_OF)
    with pytest.raises(InvalidValueError, match="category"):
        cycles_by_category_dask(ddf, as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="method"):
        cycles_by_category_dask(ddf, as_of=AS_OF, method="median")
    with pytest.raises(InvalidTypeError, match="ecrm result"):
        to_dask(frame)
    with pytest.raises(InvalidValueError, match="npartitions"):
        rows_dask(ddf, rows=len, npartitions=0)
    with pytest.raises(InvalidValueError, match="customer_id"):
        rows_dask(ddf.rename(columns={"customer_id": "buyer"}), rows=len)
    with pytest.raises(InvalidValueError, match="must hold at least one order"):
        fold_dask(ddf[ddf["amount"] < 0], summarize=len, merge=max)  # every partition empty
