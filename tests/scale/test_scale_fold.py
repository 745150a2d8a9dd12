"""fold_parquet / fold_csv: category, prediction and period summaries straight from
Parquet and CSV files, batch by batch, equal to the in-memory functions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scale_helpers import synthetic_orders

from ecrm import InvalidValueError, OrderLog, Window
from ecrm.analytics import periods, store_metrics
from ecrm.lifecycle import cycles_by
from ecrm.predict import summaries
from ecrm.scale import (
    fold_csv,
    fold_parquet,
    merge_categories,
    merge_periods,
    merge_predict,
    predict_summary,
    store_metrics_from_summary,
    summarize_categories,
    summarize_csv,
    summarize_for_predict,
    summarize_periods,
)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)
START = dt.datetime(2025, 1, 1, tzinfo=SH)


@pytest.fixture(scope="module")
def frame():  # type: ignore[no-untyped-def]
    # time order, as exports come: batches are consecutive slices of time
    return synthetic_orders(5_000, 600, seed=31).sort_values("placed_at", kind="stable")


def test_period_and_prediction_summaries_from_parquet_batches(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=700)
    whole = OrderLog.from_pandas(frame, tz=SH)
    months = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 7, 1), SH), tz=SH)
    got = fold_parquet(path, summarize=lambda log: summarize_periods(log, months),
                       merge=merge_periods, tz=SH, batch_rows=700)
    for definition in ("first_order_ever", "first_in_window"):
        assert store_metrics_from_summary(got, new_definition=definition) == store_metrics(
            whole, months, new_definition=definition)
    psum = fold_parquet(path, summarize=lambda log: summarize_for_predict(
        log, as_of=AS_OF, calibration_start=START), merge=merge_predict, tz=SH, batch_rows=900)
    got_p, want_p = predict_summary(psum, unit="weeks"), summaries(
        whole, as_of=AS_OF, calibration_start=START, unit="weeks")
    for name in ("customer_ids", "x", "t_x_days", "T_days", "repeat_spend_fen"):
        assert np.array_equal(getattr(got_p, name), getattr(want_p, name)), name
    assert got_p.n_excluded == want_p.n_excluded


def test_category_cycles_from_csv_files_with_item_lines(tmp_path: Path) -> None:
    """A file with a sku column is one batch (an order's lines stay together); two files
    merge. Tea is rebought after 10 and 12 days, snacks never."""
    header = "order_id,customer_id,placed_at,amount,sku,category,unit_price\n"
    first = header + (
        "o1,a,2025-03-01 10:00,200,GREEN,tea,100\n"
        "o1,a,2025-03-01 10:00,200,CHIPS,snacks,100\n"
        "o2,b,2025-03-02 10:00,100,GREEN,tea,100\n"
    )
    second = header + (
        "o3,a,2025-03-11 10:00,100,BLACK,tea,100\n"
        "o4,b,2025-03-14 10:00,200,GREEN,tea,100\n"
        "o4,b,2025-03-14 10:00,200,MUG,,100\n"
    )
    paths = [tmp_path / "march-1.csv", tmp_path / "march-2.csv"]
    for p, text in zip(paths, (first, second), strict=True):
        p.write_text(text, encoding="utf-8")
    as_of = dt.datetime(2025, 4, 1, tzinfo=SH)
    cats = fold_csv(paths, summarize=lambda log: summarize_categories(log, as_of=as_of),
                    merge=merge_categories, tz=SH, amount_unit="fen", batch_rows=1)
    store = summarize_csv(paths, as_of=as_of, tz=SH, amount_unit="fen")
    from ecrm.scale import cycles_from_summary

    got = cycles_from_summary(cats, store, min_repurchasers=1)
    both = "".join([first, second.split("\n", 1)[1]])
    (tmp_path / "all.csv").write_text(both, encoding="utf-8")
    want = cycles_by(OrderLog.from_csv(tmp_path / "all.csv", tz=SH, amount_unit="fen"),
                     by="category", as_of=as_of, min_repurchasers=1)
    assert got.keys.tolist() == want.keys.tolist() == ["snacks", "tea"]
    assert got.estimate_days.tolist() == want.estimate_days.tolist()
    assert got.estimate_days.tolist()[1] == [10, 12, 12]
    assert got.to_dicts() == want.to_dicts()


def test_no_rows_is_refused(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pandas(frame.iloc[:0], preserve_index=False), path)
    with pytest.raises(InvalidValueError, match="at least one order"):
        fold_parquet(path, summarize=lambda log: log, merge=lambda a, b: a, tz=SH)
    csv = tmp_path / "empty.csv"
    csv.write_text("order_id,customer_id,placed_at,amount\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="at least one order"):
        fold_csv(csv, summarize=lambda log: log, merge=lambda a, b: a, tz=SH)
