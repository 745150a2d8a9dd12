"""Benchmark: out-of-core RFM over a Parquet dataset against DuckDB on the same files, and
Dask LocalCluster runs with 1 and 2 workers (issue 12).

Run from the repository root (needs the ``bench`` and ``dask`` extras)::

    python benchmarks/scale.py                      # 10,000,000 orders, 1,000,000 customers
    python benchmarks/scale.py --orders 1000000     # a smaller run
    python benchmarks/scale.py --orders 100000000 --dir /data/bench   # the issue's size

The data come from ``benchmarks/_data.py`` (above 20,000,000 orders generated file by
file with the same distributions, so 100M orders fit) and are written once as a Parquet
dataset of ``--files`` files (``customer_id`` int64, ``placed_at`` naive wall time in Asia/Shanghai,
``amount`` and ``refunded`` int64 fen, ``status`` text such as ``completed``, as an export
holds it). Each measured step runs in its own fresh Python process, which prints its wall
time and its own peak RSS (``ru_maxrss``), so one step's memory does not hide another's:

* ecrm out-of-core: ``ecrm.scale.score_parquet`` (record batches of ``--batch-rows`` of
  the five RFM columns → per-customer RFM totals, compact int ids addressed directly →
  scores and grades); its CPU seconds are ``time.process_time`` of the process;
* DuckDB: the same RFM (valid statuses, not fully refunded, the one-year window, calendar
  month cut-offs, the TAOBAO_PGSB table) in SQL over ``read_parquet`` of the same files;
  CPU seconds of all its threads;
* Dask, on a ``LocalCluster`` of 1 and 2 worker processes (one thread each; start-up
  timed apart): ``files`` is ``ecrm.scale.score_parquet_dask`` (one task per worker
  reads its share of the files with pyarrow), ``frame`` is ``ecrm.scale.score_dask`` over
  ``dask.dataframe.read_parquet`` (pandas partitions). CPU seconds are the workers'
  (``process_time`` through ``Client.run``) plus the client's; the task stream gives the
  seconds spent per kind of task and in transfers.

The script checks that every run gives the same number of scored customers and the same
grade counts (ecrm's runs are bit-for-bit equal to ``rfm.score`` by the test suite; DuckDB
is checked here), then prints a table of times, throughput and ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=TZ)
STATUS_NAMES = np.asarray(["unpaid", "paid", "shipped", "completed", "refunded", "closed"])

DUCKDB_SQL = """
WITH k AS (
    SELECT CAST($as_of AS TIMESTAMP) AS as_of,
           CAST($as_of AS TIMESTAMP) - INTERVAL 1 MONTH AS c1,
           CAST($as_of AS TIMESTAMP) - INTERVAL 3 MONTH AS c3,
           CAST($as_of AS TIMESTAMP) - INTERVAL 4 MONTH AS c4,
           CAST($as_of AS TIMESTAMP) - INTERVAL 7 MONTH AS c7,
           CAST($as_of AS TIMESTAMP) - INTERVAL 12 MONTH AS c12
), agg AS (
    SELECT o.customer_id, max(o.placed_at) AS last, count(*) AS frequency,
           sum(o.amount - o.refunded) AS monetary_fen
    FROM read_parquet($files) o, k
    WHERE o.status IN ('paid', 'shipped', 'completed')
      AND NOT (o.refunded > 0 AND o.refunded >= o.amount)
      AND o.placed_at >= k.c12 AND o.placed_at < k.as_of
    GROUP BY o.customer_id
), s AS (
    SELECT CASE WHEN a.last >= k.c1 THEN 5 WHEN a.last >= k.c3 THEN 4
                WHEN a.last >= k.c4 THEN 3 WHEN a.last >= k.c7 THEN 2 ELSE 1 END AS r,
           CASE WHEN a.frequency >= 6 THEN 5 WHEN a.frequency >= 4 THEN 4
                WHEN a.frequency = 3 THEN 3 WHEN a.frequency = 2 THEN 2 ELSE 1 END AS f,
           CASE WHEN a.monetary_fen >= 200000 THEN 5 WHEN a.monetary_fen >= 100000 THEN 4
                WHEN a.monetary_fen >= 50000 THEN 3 WHEN a.monetary_fen >= 30000 THEN 2
                ELSE 1 END AS m
    FROM agg a, k
)
SELECT CASE WHEN r + 3 * f + 4 * m >= 36 THEN 3 WHEN r + 3 * f + 4 * m >= 26 THEN 2
            WHEN r + 3 * f + 4 * m >= 17 THEN 1 ELSE 0 END AS grade, count(*) AS n
FROM s GROUP BY 1 ORDER BY 1
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


#: Above this many orders the data are generated file by file (bounded memory).
IN_MEMORY_MAX = 20_000_000


def _table(customer_ids: Any, placed_at: Any, amounts: Any, refunded: Any, statuses: Any) -> Any:
    import pyarrow as pa

    return pa.table({
        "customer_id": customer_ids,
        "placed_at": placed_at.astype("datetime64[us]"),
        "amount": amounts,
        "refunded": refunded,
        "status": pa.array(STATUS_NAMES[statuses]).dictionary_encode(),
    })


def write_dataset(folder: Path, n_orders: int, n_customers: int, n_files: int) -> None:
    """Generate the orders and write them as ``n_files`` Parquet files (rows in time order,
    as exports come, so each file is a period). Up to ``IN_MEMORY_MAX`` orders the arrays
    come from ``benchmarks/_data.generate`` at once; above it, file by file with the same
    distributions (:func:`write_dataset_chunked`)."""
    import pyarrow.parquet as pq
    from _data import generate

    if n_orders > IN_MEMORY_MAX:
        write_dataset_chunked(folder, n_orders, n_customers, n_files)
        return
    cols = generate(n_orders=n_orders, n_customers=n_customers, seed=0)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, n_orders, n_files + 1).astype(np.int64)
    for k in range(n_files):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        table = _table(cols["customer_ids"][lo:hi], cols["placed_at"][lo:hi],
                       cols["amounts"][lo:hi], cols["refunded"][lo:hi], cols["statuses"][lo:hi])
        pq.write_table(table, folder / f"part-{k:03d}.parquet", row_group_size=1_000_000)


def write_dataset_chunked(folder: Path, n_orders: int, n_customers: int, n_files: int) -> None:
    """The distributions of ``_data.generate`` (lognormal purchase rates, volume growing to
    3x, lognormal amounts, the same status and refund shares), one file in memory at a time:
    each customer's order count is drawn once; each file takes its orders from the counts
    left (a multivariate hypergeometric draw, as a random permutation split into files
    would) and its times from its slice of the growth curve, sorted."""
    import pyarrow.parquet as pq
    from _data import (
        _ID_BASE,
        _MAX_FEN,
        _MEDIAN_FEN,
        _MIN_FEN,
        FULL_REFUND_SHARE,
        PARTIAL_REFUND_SHARE,
        STATUS_SHARES,
    )

    rng = np.random.default_rng(0)
    weights = rng.lognormal(mean=0.0, sigma=1.8, size=n_customers)
    left = rng.multinomial(n_orders - n_customers, weights / weights.sum()) + 1
    del weights
    span = int(1.25 * n_customers)
    keep = np.zeros(span, dtype=bool)
    keep[rng.choice(span, size=n_customers, replace=False)] = True
    ids = np.flatnonzero(keep).astype(np.int64) + _ID_BASE
    del keep
    lo = np.datetime64("2023-01-01", "s").astype(np.int64)
    hi = np.datetime64("2025-12-01", "s").astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, n_orders, n_files + 1).astype(np.int64)
    for k in range(n_files):
        n = int(bounds[k + 1] - bounds[k])
        take = left if k == n_files - 1 else rng.multivariate_hypergeometric(
            left, n, method="marginals")
        left = left - take
        customer_ids = rng.permutation(np.repeat(ids, take))
        u = k / n_files + rng.random(n) / n_files
        frac = (np.sqrt(1.0 + 8.0 * u) - 1.0) / 2.0  # growth 3: (sqrt(1 + 8u) - 1) / 2
        secs = lo + (frac * (hi - lo)).astype(np.int64)
        secs.sort()
        amounts = np.clip(rng.lognormal(np.log(_MEDIAN_FEN), 0.9, size=n),
                          _MIN_FEN, _MAX_FEN).astype(np.int64)
        statuses = rng.choice(np.arange(len(STATUS_SHARES), dtype=np.int8), size=n,
                              p=STATUS_SHARES)
        r = rng.random(n)
        valid_status = (statuses >= 1) & (statuses <= 3)
        refunded = np.zeros(n, dtype=np.int64)
        partial = valid_status & (r < PARTIAL_REFUND_SHARE)
        full = valid_status & (r >= PARTIAL_REFUND_SHARE) & (
            r < PARTIAL_REFUND_SHARE + FULL_REFUND_SHARE)
        share = rng.integers(10, 91, size=n)
        refunded[partial] = amounts[partial] * share[partial] // 100
        refunded[full] = amounts[full]
        refunded[statuses == 4] = amounts[statuses == 4]
        table = _table(customer_ids, secs.view("datetime64[s]"), amounts, refunded, statuses)
        pq.write_table(table, folder / f"part-{k:03d}.parquet", row_group_size=1_000_000)
        del table, customer_ids, secs, amounts, statuses, refunded


# -- the steps, each run in a child process --------------------------------------------------
def step_ecrm(folder: str, batch_rows: int) -> dict[str, Any]:
    from ecrm.scale import score_parquet

    t0, c0 = time.perf_counter(), time.process_time()
    res = score_parquet(folder, as_of=AS_OF, tz=TZ, batch_rows=batch_rows, amount_unit="fen",
                        warn_undersized=False)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": took, "cpu": cpu, "rss_mb": peak_rss_mb(), "scored": len(res),
            "grades": np.bincount(res.grade, minlength=4).tolist()}


def step_duckdb(folder: str) -> dict[str, Any]:
    import duckdb

    files = sorted(str(p) for p in Path(folder).glob("*.parquet"))
    con = duckdb.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    rows = con.sql(DUCKDB_SQL, params={
        "as_of": AS_OF.replace(tzinfo=None).isoformat(sep=" "), "files": files,
    }).fetchall()
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    grades = [0, 0, 0, 0]
    for g, n in rows:
        grades[int(g)] = int(n)
    return {"seconds": took, "cpu": cpu, "rss_mb": peak_rss_mb(), "scored": sum(grades),
            "grades": grades}


def step_dask(folder: str, workers: int, how: str = "files") -> dict[str, Any]:
    import dask.dataframe as dd
    from dask.utils import key_split
    from distributed import Client, LocalCluster, get_task_stream

    from ecrm.scale import score_dask, score_parquet_dask

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as cluster, \
            Client(cluster) as client:
        up = time.perf_counter() - t0
        worker_cpu0 = client.run(time.process_time)
        t1, c1 = time.perf_counter(), time.process_time()
        with get_task_stream(client) as stream:
            if how == "frame":  # dask.dataframe partitions (pandas) → score_dask
                frame = dd.read_parquet(folder)
                parts = frame.npartitions
                res = score_dask(frame, as_of=AS_OF, tz=TZ, amount_unit="fen",
                                 warn_undersized=False)
            else:  # one task per worker thread reads its share of the files with pyarrow
                parts = workers
                res = score_parquet_dask(folder, as_of=AS_OF, tz=TZ, amount_unit="fen",
                                         warn_undersized=False)
        took, client_cpu = time.perf_counter() - t1, time.process_time() - c1
        worker_cpu = sum(client.run(time.process_time).values()) - sum(worker_cpu0.values())
        worker_rss = max(client.run(peak_rss_mb).values())
    # Where the workers' time went: compute per kind of task, and transfers between workers.
    spent: dict[str, float] = {}
    for task in stream.data:
        for step in task["startstops"]:
            kind = step["action"] if step["action"] != "compute" else key_split(task["key"])
            spent[kind] = spent.get(kind, 0.0) + step["stop"] - step["start"]
    return {"seconds": took, "startup": up, "partitions": parts, "rss_mb": peak_rss_mb(),
            "worker_rss_mb": worker_rss, "cpu": worker_cpu + client_cpu,
            "worker_cpu": worker_cpu, "client_cpu": client_cpu,
            "tasks": {k: round(v, 2) for k, v in sorted(spent.items())},
            "scored": len(res), "grades": np.bincount(res.grade, minlength=4).tolist()}


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=10_000_000)
    p.add_argument("--customers", type=int, default=None, help="default: orders / 10")
    p.add_argument("--files", type=int, default=None,
                   help="Parquet files (default: one per 1,250,000 orders, at least 8)")
    p.add_argument("--batch-rows", type=int, default=1_000_000)
    p.add_argument("--workers", default="1,2", help="Dask worker counts, comma-separated; '' skips")
    p.add_argument("--dask", default="files,frame",
                   help="Dask paths, comma-separated: files (score_parquet_dask: tasks read "
                        "their files), frame (score_dask over dd.read_parquet)")
    p.add_argument("--skip", default="", help="steps to skip: duckdb")
    p.add_argument("--dir", default=None, help="keep the dataset here (default: a temp dir)")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        kind, folder, *rest = a.child
        if kind == "ecrm":
            print(json.dumps(step_ecrm(folder, int(rest[0]))))
        elif kind == "duckdb":
            print(json.dumps(step_duckdb(folder)))
        else:
            print(json.dumps(step_dask(folder, int(rest[0]), rest[1] if len(rest) > 1 else "files")))
        return 0
    n_customers = a.customers or max(1, a.orders // 10)
    a.files = a.files or max(8, a.orders // 1_250_000)
    tmp = None if a.dir else tempfile.mkdtemp(prefix="ecrm-scale-")
    folder = Path(a.dir or tmp or ".") / "orders"
    try:
        t0 = time.perf_counter()
        if not folder.exists():
            write_dataset(folder, a.orders, n_customers, a.files)
        size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
        print(f"{a.orders:,} orders, {n_customers:,} customers, {a.files} Parquet files, "
              f"{size / 2**20:,.0f} MiB (written in {time.perf_counter() - t0:.1f} s); "
              f"cpus {os.cpu_count()}")
        print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        runs: dict[str, dict[str, Any]] = {}

        def run(name: str, *args: str) -> None:
            runs[name] = run_child(*args)
            print(f"{name}: {json.dumps(runs[name])}", flush=True)  # as each run ends

        run("ecrm out-of-core", "ecrm", str(folder), str(a.batch_rows))
        if "duckdb" not in a.skip:
            run("duckdb", "duckdb", str(folder))
        for how in [h for h in a.dask.split(",") if h.strip()]:
            for w in [int(x) for x in a.workers.split(",") if x.strip()]:
                run(f"dask {how} {w}w", "dask", str(folder), str(w), how)
        base = runs["ecrm out-of-core"]
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"(wall times on a busy machine scatter; CPU seconds are steadier)")
        print(f"{'run':<20}{'wall s':>8}{'CPU s':>8}{'M orders/s':>11}{'wall/ooc':>9}"
              f"{'CPU/ooc':>8}{'peak RSS MiB':>13}  scored, grades B/S/G/P")
        for name, r in runs.items():
            extra = f" (+{r['startup']:.1f} s start-up, {r['partitions']} partitions)" \
                if "startup" in r else ""
            print(f"{name:<20}{r['seconds']:>8.2f}{r['cpu']:>8.1f}"
                  f"{a.orders / r['seconds'] / 1e6:>11.2f}{r['seconds'] / base['seconds']:>9.2f}"
                  f"{r['cpu'] / base['cpu']:>8.2f}{r['rss_mb']:>13,.0f}"
                  f"  {r['scored']:,} {r['grades']}{extra}")
        for name, r in runs.items():
            if "tasks" in r:
                print(f"{name}: CPU {r['worker_cpu']:.1f} s in workers + {r['client_cpu']:.1f} s "
                      f"in the client, worker peak RSS {r['worker_rss_mb']:,.0f} MiB; task "
                      f"seconds by kind: {r['tasks']}")
        same = all(r["grades"] == base["grades"] and r["scored"] == base["scored"]
                   for r in runs.values())
        print("all runs agree on scored customers and grade counts:", same)
        return 0 if same else 1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
