"""Dask: the summaries over a dask DataFrame on a real two-process LocalCluster equal the
in-memory results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scale_helpers import assert_same_rfm, synthetic_orders

from ecrm import InvalidTypeError, InvalidValueError, OrderLog
from ecrm.rfm import score
from ecrm.scale import (
    score_dask,
    score_parquet_dask,
    score_summary,
    summarize_csv_dask,
    summarize_dask,
    tiers_from_summary,
)
from ecrm.tiers import TAOBAO_STORE_VIP

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)


# ``client``: the session's one two-process LocalCluster (tests/conftest.py).


def _csv_parts(frame, folder: Path, n: int) -> list[Path]:  # type: ignore[no-untyped-def]
    folder.mkdir()
    paths = []
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), n)):
        part = frame.iloc[rows]
        p = folder / f"orders-{k}.csv"
        part.assign(placed_at=part["placed_at"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")).to_csv(
            p, index=False)
        paths.append(p)
    return paths


def test_csv_files_as_tasks_on_the_cluster_equal_the_in_memory_scores(
    client: object, tmp_path: Path
) -> None:
    frame = synthetic_orders(4_000, 500, seed=13, str_ids=True)
    whole = OrderLog.from_pandas(frame, tz=SH)
    paths = _csv_parts(frame, tmp_path / "csv", 5)
    summary = summarize_csv_dask(paths, as_of=AS_OF, tz=SH, amount_unit="fen",
                                 batch_rows=300, split_every=2)
    assert_same_rfm(score_summary(summary, warn_undersized=False),
                    score(whole, as_of=AS_OF, warn_undersized=False))


def test_cli_engine_dask_on_a_running_scheduler(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``ecrm rfm DIR --engine dask --scheduler ADDRESS`` runs on that cluster."""
    import csv

    from ecrm.cli import main

    frame = synthetic_orders(2_000, 300, seed=14, str_ids=True)
    want = score(OrderLog.from_pandas(frame, tz=SH), as_of=AS_OF, warn_undersized=False)
    _csv_parts(frame, tmp_path / "csv", 3)
    out = tmp_path / "scores.csv"
    address = client.scheduler.address  # type: ignore[attr-defined]
    assert main(["rfm", str(tmp_path / "csv"), "--as-of", "2025-07-01", "--amount-unit", "fen",
                 "--engine", "dask", "--scheduler", address, "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as fh:
        got = {row["customer_id"]: int(row["total"]) for row in csv.DictReader(fh)}
    assert got == dict(zip(want.customer_ids.tolist(), want.total.tolist(), strict=True))


def test_two_worker_processes_give_the_in_memory_scores_and_tiers(client: object) -> None:
    frame = synthetic_orders(8_000, 1_000, seed=11, str_ids=True)
    whole = OrderLog.from_pandas(frame, tz=SH)
    ddf = dd.from_pandas(frame, npartitions=7)
    got = score_dask(ddf, as_of=AS_OF, tz=SH, split_every=3, warn_undersized=False)
    assert_same_rfm(got, score(whole, as_of=AS_OF, warn_undersized=False))
    summary = summarize_dask(ddf, as_of=AS_OF, tz=SH)
    tiers = tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=False)
    want = TAOBAO_STORE_VIP.evaluate_log(whole, as_of=AS_OF, opted_in=False)
    assert np.array_equal(tiers.customer_ids, want.customer_ids)
    assert np.array_equal(tiers.qualified_level, want.qualified_level)


def test_int_ids_and_an_empty_partition(client: object) -> None:
    frame = synthetic_orders(3_000, 400, seed=12)
    whole = OrderLog.from_pandas(frame, tz=SH)
    ddf = dd.from_pandas(frame, npartitions=3)
    ddf = ddf[ddf["customer_id"] >= 0]  # keeps every row; partitions stay as they are
    early = ddf[ddf["placed_at"] < frame["placed_at"].min()]  # every partition empty
    got = score_dask(dd.concat([ddf, early]), as_of=AS_OF, tz=SH, warn_undersized=False)
    assert_same_rfm(got, score(whole, as_of=AS_OF, warn_undersized=False))


def test_parquet_files_read_by_the_tasks_equal_the_in_memory_scores(
    client: object, tmp_path: Path
) -> None:
    """Five files in three tasks (int ids, read by each task with pyarrow), and text ids in
    one task per file: both equal rfm.score on the whole dataset."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    for str_ids in (False, True):
        frame = synthetic_orders(5_000, 600, seed=15, str_ids=str_ids)
        folder = tmp_path / f"pq{str_ids}"
        folder.mkdir()
        for k, rows in enumerate(np.array_split(np.arange(len(frame)), 5)):
            pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False),
                           folder / f"part-{k}.parquet")
        want = score(OrderLog.from_pandas(frame, tz=SH), as_of=AS_OF, warn_undersized=False)
        got = score_parquet_dask(folder, as_of=AS_OF, tz=SH, tasks=3 if not str_ids else 9,
                                 batch_rows=400, split_every=2, warn_undersized=False)
        assert_same_rfm(got, want)
    with pytest.raises(InvalidValueError, match="tasks"):
        score_parquet_dask(folder, as_of=AS_OF, tz=SH, tasks=0)


def test_bad_arguments_are_refused_clearly() -> None:
    frame = synthetic_orders(10, 5, seed=1)
    with pytest.raises(InvalidTypeError, match="dask DataFrame"):
        summarize_dask(frame, as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="split_every"):
        summarize_dask(dd.from_pandas(frame, npartitions=1), as_of=AS_OF, split_every=1)
