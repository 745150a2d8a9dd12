"""Out-of-core runs over Parquet datasets and CSV files equal the in-memory path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scale_helpers import assert_same_rfm, synthetic_orders

from ecrm import DataFormatErrorGroup, InvalidTypeError, InvalidValueError, OrderLog
from ecrm.rfm import score
from ecrm.scale import (
    score_parquet,
    score_summary,
    summarize_csv,
    summarize_parquet,
    tiers_from_summary,
)
from ecrm.tiers import TAOBAO_STORE_VIP

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pandas")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)


@pytest.fixture(scope="module")
def frame():  # type: ignore[no-untyped-def]
    return synthetic_orders(6_000, 800, seed=7, str_ids=True)


@pytest.fixture(scope="module")
def whole(frame) -> OrderLog:  # type: ignore[no-untyped-def]
    return OrderLog.from_pandas(frame, tz=SH)


def test_single_file_in_small_batches_equals_score(tmp_path: Path, frame, whole) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=500)
    got = score_parquet(path, as_of=AS_OF, tz=SH, batch_rows=700, warn_undersized=False)
    assert_same_rfm(got, score(whole, as_of=AS_OF, warn_undersized=False))


def test_hive_partitioned_directory_equals_score(tmp_path: Path, frame, whole) -> None:  # type: ignore[no-untyped-def]
    table = pa.Table.from_pandas(frame.assign(year=frame["placed_at"].dt.year),
                                 preserve_index=False)
    pq.write_to_dataset(table, tmp_path / "ds", partition_cols=["year"])
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["year=2024", "year=2025"]
    out = tmp_path / "rfm.parquet"
    got = score_parquet(tmp_path / "ds", as_of=AS_OF, tz=SH, batch_rows=1_000,
                        warn_undersized=False, output=out)
    want = score(whole, as_of=AS_OF, warn_undersized=False)
    assert_same_rfm(got, want)
    back = pq.read_table(out)
    assert back.num_rows == len(want) + len(want.unscored_customer_ids)
    assert back.column("customer_id").to_pylist()[: len(want)] == want.customer_ids.tolist()
    assert back.column("grade").to_pylist()[: len(want)] == [g.value for g in want.grades()]


def test_list_of_files_gives_tiers_too(tmp_path: Path, frame, whole) -> None:  # type: ignore[no-untyped-def]
    paths = []
    for k, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        p = tmp_path / f"part{k}.parquet"
        pq.write_table(pa.Table.from_pandas(frame.iloc[part], preserve_index=False), p)
        paths.append(p)
    summary = summarize_parquet(paths, as_of=AS_OF, tz=SH, batch_rows=999)
    got = tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=True)
    want = TAOBAO_STORE_VIP.evaluate_log(whole, as_of=AS_OF, opted_in=True)
    assert np.array_equal(got.customer_ids, want.customer_ids)
    assert np.array_equal(got.level, want.level)
    assert np.array_equal(got.spend_fen, want.spend_fen)


def test_several_csv_files_equal_score(tmp_path: Path, frame, whole) -> None:  # type: ignore[no-untyped-def]
    paths = []
    for k, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
        p = tmp_path / f"orders{k}.csv"
        chunk = frame.iloc[part].assign(
            placed_at=frame["placed_at"].iloc[part].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        )
        chunk.to_csv(p, index=False)
        paths.append(p)
    summary = summarize_csv(paths, as_of=AS_OF, tz=SH, amount_unit="fen")
    assert_same_rfm(score_summary(summary, warn_undersized=False),
                    score(whole, as_of=AS_OF, warn_undersized=False))


def test_bad_arguments_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        summarize_parquet(tmp_path / "missing", as_of=AS_OF)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidValueError, match="at least one Parquet file"):
        summarize_parquet(tmp_path / "empty", as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="batch_rows"):
        summarize_parquet(tmp_path, as_of=AS_OF, batch_rows=0)
    with pytest.raises(InvalidValueError, match="at least one CSV"):
        summarize_csv([], as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="batch_rows"):
        summarize_csv(tmp_path / "a.csv", as_of=AS_OF, batch_rows=0)
    with pytest.raises(InvalidTypeError, match="batch_rows"):
        summarize_parquet(tmp_path, as_of=AS_OF, batch_rows=1.5)  # type: ignore[arg-type]


def test_a_bad_status_is_reported_by_the_loading_layer(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    bad = frame.iloc[:50].copy()
    bad.loc[bad.index[17], "status"] = "teleported"
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path)
    with pytest.raises(DataFormatErrorGroup) as info:
        summarize_parquet(path, as_of=AS_OF, tz=SH)
    assert "row 17" in str(info.value.exceptions[0])
    assert "teleported" in str(info.value.exceptions[0])


def test_dictionary_encoded_statuses_are_read(tmp_path: Path, frame, whole) -> None:  # type: ignore[no-untyped-def]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    idx = table.schema.get_field_index("status")
    table = table.set_column(idx, "status", table.column("status").dictionary_encode())
    path = tmp_path / "dict.parquet"
    pq.write_table(table, path)
    got = score_parquet(path, as_of=AS_OF, tz=SH, batch_rows=2_000, warn_undersized=False)
    assert_same_rfm(got, score(whole, as_of=AS_OF, warn_undersized=False))


def test_categorical_statuses_in_a_pandas_chunk_are_read(frame, whole) -> None:  # type: ignore[no-untyped-def]
    """pandas reads a dictionary-encoded Parquet column back as a categorical."""
    from ecrm.rfm import TAOBAO_PGSB
    from ecrm.scale._chunks import pandas_chunk_summary

    cat = frame.assign(status=frame["status"].astype("category"))
    summary = pandas_chunk_summary(
        cat, as_of=AS_OF, scheme=TAOBAO_PGSB, tier_months=None, statuses=None, columns=None, tz=SH,
        currency="CNY", amount_unit=None,
    )
    assert_same_rfm(score_summary(summary, warn_undersized=False),
                    score(whole, as_of=AS_OF, warn_undersized=False))
