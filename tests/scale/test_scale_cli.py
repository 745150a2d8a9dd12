"""``ecrm rfm`` on Parquet files, directories, globs, CSV batches and Dask gives the same
grades and per-customer scores as the in-memory path on the same orders."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scale_helpers import synthetic_orders

from ecrm import OrderLog
from ecrm.cli import main
from ecrm.rfm import score

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = "2025-07-01"
AS_OF_DT = dt.datetime(2025, 7, 1, tzinfo=SH)


@pytest.fixture(scope="module")
def frame():  # type: ignore[no-untyped-def]
    return synthetic_orders(3_000, 400, seed=21, str_ids=True)


@pytest.fixture(scope="module")
def want(frame):  # type: ignore[no-untyped-def]
    return score(OrderLog.from_pandas(frame, tz=SH), as_of=AS_OF_DT, warn_undersized=False)


def _scores(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        return {row["customer_id"]: row["total"] for row in csv.DictReader(fh)}


def _expected(want) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c: str(t) for c, t in zip(want.customer_ids.tolist(), want.total.tolist(),
                                       strict=True)}


def _parts(frame, folder: Path, kind: str, n: int = 3) -> list[Path]:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), n)):
        part = frame.iloc[rows]
        if kind == "parquet":
            p = folder / f"part-{k}.parquet"
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), p)
        else:
            p = folder / f"part-{k}.csv"
            part.assign(placed_at=part["placed_at"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")).to_csv(
                p, index=False)
        paths.append(p)
    return paths


def test_a_parquet_directory_and_a_glob_give_the_in_memory_scores(
    tmp_path: Path, frame, want, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    _parts(frame, tmp_path / "ds", "parquet")
    out = tmp_path / "scores.csv"
    assert main(["rfm", str(tmp_path / "ds"), "--as-of", AS_OF, "--amount-unit", "fen",
                 "--batch-rows", "500", "--out", str(out)]) == 0
    text = capsys.readouterr()
    assert "Parquet dataset" in text.out
    assert "in batches of 500 rows" in text.out
    assert _scores(out) == _expected(want)
    glob_out = tmp_path / "glob.csv"
    assert main(["rfm", str(tmp_path / "ds" / "part-*.parquet"), "--as-of", AS_OF,
                 "--amount-unit", "fen", "--out", str(glob_out)]) == 0
    assert _scores(glob_out) == _expected(want)


def test_csv_files_and_one_csv_in_batches_with_parquet_output(
    tmp_path: Path, frame, want, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    _parts(frame, tmp_path / "csv", "csv", n=4)
    out = tmp_path / "scores.parquet"
    assert main(["rfm", str(tmp_path / "csv"), "--as-of", AS_OF, "--amount-unit", "fen",
                 "--out", str(out), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["scored"] == len(want)
    assert body["grades"] == {g.value: n for g, n in want.grade_counts().items()}
    back = pq.read_table(out)
    assert back.num_rows == len(want) + len(want.unscored_customer_ids)
    got = dict(zip(back.column("customer_id").to_pylist(), back.column("total").to_pylist(),
                   strict=True))
    assert {c: str(t) for c, t in got.items() if t is not None} == _expected(want)
    one = tmp_path / "one.csv"
    frame.assign(placed_at=frame["placed_at"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")).to_csv(
        one, index=False)
    out2 = tmp_path / "one-scores.csv"
    assert main(["rfm", str(one), "--as-of", AS_OF, "--amount-unit", "fen",
                 "--batch-rows", "700", "--engine", "python", "--out", str(out2)]) == 0
    assert _scores(out2) == _expected(want)


def test_bad_flags_and_inputs_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    orders = tmp_path / "o.csv"
    orders.write_text("order_id,customer_id,placed_at,amount\no1,a,2025-06-01,100\n",
                      encoding="utf-8")
    (tmp_path / "x.parquet").write_bytes(b"")
    cases = [
        ([str(tmp_path / "nothing-*.parquet")], "matches no file"),
        ([str(tmp_path / "empty")], "holds no .parquet or .csv files"),
        ([str(tmp_path / "*")], "mixes Parquet and CSV"),
        ([str(orders), "--workers", "2"], "need --engine dask"),
        ([str(orders), "--batch-rows", "0"], "--batch-rows must be at least 1"),
        (["-", "--batch-rows", "10"], "not stdin"),
        ([str(orders), "--engine", "dask", "--workers", "0"], "--workers must be at least 1"),
        ([str(orders), "--engine", "dask", "--workers", "1", "--scheduler", "tcp://x:1"],
         "not both"),
    ]
    for argv, message in cases:
        assert main(["rfm", *argv, "--as-of", AS_OF]) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_engine_dask_workers_starts_a_local_two_process_cluster(tmp_path: Path, frame, want) -> None:  # type: ignore[no-untyped-def]
    """The real command in a subprocess: --engine dask --workers 2 over Parquet files
    (--scheduler and CSV files on dask: tests/scale/test_dask.py)."""
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    _parts(frame, tmp_path / "pq", "parquet")
    out = tmp_path / "scores.csv"
    run = subprocess.run(
        [sys.executable, "-m", "ecrm", "rfm", str(tmp_path / "pq"), "--as-of", AS_OF,
         "--amount-unit", "fen", "--engine", "dask", "--workers", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "on a dask local cluster of 2 worker processes" in run.stdout + run.stderr
    assert _scores(out) == _expected(want)
