"""``ecrm tiers``, ``stages``, ``cycle`` and ``predict`` on a Parquet directory, a glob, a
directory of CSV files and on Dask give the same output as the in-memory run on one CSV of
the same orders: the same rows, the same JSON, the same report (but the line that says
what was read)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ecrm.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

AS_OF = "2025-07-01"
STATUSES = np.asarray(["paid", "completed", "shipped", "closed", "paid", "completed"])


def _orders(seed: int = 5, n_customers: int = 600) -> list[dict[str, Any]]:
    """Orders of a BTYD-like shop (each customer buys at a rate and spends around a mean
    of their own from a first day in 2024, until a drop-out), some closed or refunded,
    sorted by time."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1, 9)
    rows: list[dict[str, Any]] = []
    for c in range(n_customers):
        day = float(rng.uniform(0, 500))
        rate = float(rng.gamma(0.8, 1 / 20))  # purchases per day
        p_drop = float(rng.beta(1.5, 4))
        mean_fen = float(rng.gamma(3, 5_000))  # each customer's own typical spend
        while day < 560:
            at = start + dt.timedelta(days=day, minutes=int(rng.integers(0, 600)))
            amount = 100 + int(rng.gamma(6, mean_fen / 6))
            status = str(STATUSES[rng.integers(0, len(STATUSES))])
            refunded = amount if rng.random() < 0.05 else 0
            rows.append({"customer_id": f"c{c:04d}", "placed_at": at, "amount": amount,
                         "refunded": refunded, "status": status})
            if rng.random() < p_drop:
                break
            day += float(rng.exponential(1 / rate))
    rows.sort(key=lambda r: r["placed_at"])
    for i, r in enumerate(rows):
        r["order_id"] = f"o{i:06d}"
    return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CSV of every order; the same orders as 3 Parquet files and as 3 CSV files split
    by time (named in time order); customers.csv with members and customers without
    orders."""
    root = tmp_path_factory.mktemp("scaled-shop")
    rows = _orders()
    header = ["order_id", "customer_id", "placed_at", "amount", "refunded", "status"]

    def csv_text(part: list[dict[str, Any]]) -> str:
        lines = [",".join(header)]
        lines += [f"{r['order_id']},{r['customer_id']},{r['placed_at']:%Y-%m-%d %H:%M:%S},"
                  f"{r['amount']},{r['refunded']},{r['status']}" for r in part]
        return "\n".join(lines) + "\n"

    (root / "orders.csv").write_text(csv_text(rows), encoding="utf-8")
    (root / "pq").mkdir()
    (root / "csv").mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(rows)), 3)):
        chunk = [rows[i] for i in part]
        (root / "csv" / f"part-{k}.csv").write_text(csv_text(chunk), encoding="utf-8")
        table = pa.table({
            "order_id": [r["order_id"] for r in chunk],
            "customer_id": [r["customer_id"] for r in chunk],
            # naive wall times in the store zone, as in the CSV
            "placed_at": pa.array([r["placed_at"] for r in chunk], pa.timestamp("us")),
            "amount": pa.array([r["amount"] for r in chunk], pa.int64()),
            "refunded": pa.array([r["refunded"] for r in chunk], pa.int64()),
            "status": [r["status"] for r in chunk],
        })
        pq.write_table(table, root / "pq" / f"part-{k}.parquet")
    members = ["customer_id,member_since"]
    members += [f"c{c:04d},2024-0{1 + c % 9}-15" for c in range(0, 600, 4)]
    members += ["zz-new-1,", "zz-new-2,2025-01-01"]  # no orders: prospects in stages
    (root / "customers.csv").write_text("\n".join(members) + "\n", encoding="utf-8")
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main([*argv, "--as-of", AS_OF, "--amount-unit", "fen"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _body(text: str) -> str:
    """The output after its first line (which says what was read)."""
    return text.split("\n", 1)[1]


def test_tiers_and_stages_rows_equal_the_in_memory_run(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, extra in (("tiers", ["--customers", str(shop / "customers.csv")]),
                           ("stages", ["--customers", str(shop / "customers.csv")]),
                           ("stages", ["--bands", "20,45,90", "--json"]),
                           ("stages", ["--method", "kaplan-meier"])):
        want = _run(capsys, command, str(shop / "orders.csv"), *extra)
        for source in ("pq", "csv"):
            got = _run(capsys, command, str(shop / source), *extra)
            assert got == want, (command, extra, source)
        glob_got = _run(capsys, command, str(shop / "pq" / "part-*.parquet"), "--batch-rows",
                        "700", *extra)
        assert glob_got == want, (command, extra, "glob")
    rows = want.splitlines()
    assert rows[0].startswith("customer_id,stage")
    members = _run(capsys, "tiers", str(shop / "pq"), "--customers", str(shop / "customers.csv"),
                   "--json")
    assert json.loads(members)["members"] > 0  # the table's members did join


def test_out_parquet_writes_the_rows_the_library_gives(
    shop: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--out NAME.parquet``: the columns of ``result.to_arrow()`` of the in-memory
    result, from the Parquet dataset."""
    from ecrm import OrderLog
    from ecrm.lifecycle import repurchase_cycle, stages
    from ecrm.tiers import TAOBAO_STORE_VIP

    log = OrderLog.from_csv(shop / "orders.csv", amount_unit="fen")
    as_of = dt.datetime(2025, 7, 1, tzinfo=log.tz)
    target = tmp_path / "tiers.parquet"
    said = _run(capsys, "tiers", str(shop / "pq"), "--out", str(target))
    want = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=False).to_arrow()
    assert said == f"wrote {want.num_rows:,} rows (Parquet) to {target}\n"
    assert pq.read_table(target).equals(want)
    target = tmp_path / "stages.parquet"
    _run(capsys, "stages", str(shop / "csv"), "--out", str(target))
    want = stages(log, as_of=as_of, cycle=repurchase_cycle(log, as_of=as_of)).to_arrow()
    assert pq.read_table(target).equals(want)


def test_cycle_report_and_json_equal_the_in_memory_run(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in ([], ["--method", "kaplan-meier"]):
        want = _run(capsys, "cycle", str(shop / "orders.csv"), *extra)
        got = _run(capsys, "cycle", str(shop / "pq"), *extra)
        assert got.splitlines()[0].startswith("Parquet dataset")
        assert _body(got) == _body(want)
        assert "P50" in want
        want_json = _run(capsys, "cycle", str(shop / "orders.csv"), "--json", *extra)
        assert _run(capsys, "cycle", str(shop / "csv"), "--json", *extra) == want_json


def test_predict_rows_and_report_equal_the_in_memory_run(
    shop: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    want_csv = tmp_path / "want.csv"
    want = _run(capsys, "predict", str(shop / "orders.csv"), "--out", str(want_csv))
    for source, extra in (("pq", []), ("csv", ["--since", "2024-03-01"])):
        got_csv = tmp_path / f"got-{source}.csv"
        if extra:
            want = _run(capsys, "predict", str(shop / "orders.csv"), "--out", str(want_csv),
                        *extra)
        got = _run(capsys, "predict", str(shop / source), "--out", str(got_csv), *extra)
        assert _body(got).replace(str(got_csv), "OUT") == _body(want).replace(str(want_csv),
                                                                              "OUT")
        assert got_csv.read_bytes() == want_csv.read_bytes()
    assert "calibration from 2024-03-01" in want


def test_engine_dask_on_the_sessions_cluster_in_process(
    client: Any, shop: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--engine dask --scheduler ADDRESS: the Parquet dataset as a dask DataFrame, the CSV
    files as one task each; the same output as in memory."""
    dask = ["--engine", "dask", "--scheduler", client.scheduler.address]
    customers = ["--customers", str(shop / "customers.csv")]
    assert _run(capsys, "tiers", str(shop / "pq"), *customers, *dask) == \
        _run(capsys, "tiers", str(shop / "orders.csv"), *customers)
    assert _run(capsys, "stages", str(shop / "csv"), *customers, *dask) == \
        _run(capsys, "stages", str(shop / "orders.csv"), *customers)
    got = _run(capsys, "cycle", str(shop / "pq"), *dask)
    assert "on a dask scheduler tcp://" in got.splitlines()[0]
    assert _body(got) == _body(_run(capsys, "cycle", str(shop / "orders.csv")))
    want_csv, got_csv = tmp_path / "want.csv", tmp_path / "got.csv"
    want = _run(capsys, "predict", str(shop / "orders.csv"), "--out", str(want_csv))
    for source in ("pq", "csv"):
        got = _run(capsys, "predict", str(shop / source), "--out", str(got_csv), *dask)
        assert got_csv.read_bytes() == want_csv.read_bytes(), source
        assert _body(got).replace(str(got_csv), "OUT") == _body(want).replace(str(want_csv),
                                                                              "OUT")


def test_the_real_command_in_a_subprocess(
    client: Any, shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ecrm``: stages out of core and predict on the running Dask scheduler,
    against the in-memory runs in this process."""
    def run(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "ecrm", *argv, "--as-of", AS_OF,
                               "--amount-unit", "fen"], capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run("stages", str(shop / "pq"), "--json") == \
        _run(capsys, "stages", str(shop / "orders.csv"), "--json")
    got = run("predict", str(shop / "pq"), "--engine", "dask", "--scheduler",
              client.scheduler.address)
    assert _body(got) == _body(_run(capsys, "predict", str(shop / "orders.csv")))


def test_flags_that_do_not_fit_are_usage_errors(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["tiers", "-", "--batch-rows", "10"], "not stdin"),
        (["stages", str(shop / "orders.csv"), "--workers", "2"], "need --engine dask"),
        (["cycle", str(shop / "nothing-*.parquet")], "matches no file"),
        (["predict", str(shop / "pq"), "--engine", "dask", "--workers", "0"],
         "--workers must be at least 1"),
    ]
    for argv, message in cases:
        assert main([*argv, "--as-of", AS_OF]) == 2, argv
        assert message in capsys.readouterr().err, argv
