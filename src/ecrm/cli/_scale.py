"""``ecrm rfm`` past one file in memory: Parquet datasets, globs, batches and Dask.

FILE may be a CSV file (as before), a ``.parquet`` file, a directory of Parquet files
(``key=value`` folders are hive partitions) or of CSV files, or a quoted glob
(``'orders/*.parquet'``). Several files, Parquet, ``--batch-rows`` or ``--engine dask`` run
through :mod:`ecrm.scale`: per-customer summaries merged exactly, so the scores equal the
in-memory path's while memory holds one batch plus the summaries.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecrm.cli._main import UsageError

__all__ = ["Inputs", "add_scale_arguments", "resolve_inputs", "score_scaled", "wants_scale"]

_PARQUET = (".parquet", ".pq", ".parq")


def add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``--batch-rows``, ``--scheduler`` and ``--workers`` on ``parser``."""
    group = parser.add_argument_group(
        "larger than memory (FILE may also be a .parquet file, a directory or a quoted glob)")
    group.add_argument("--batch-rows", type=int, default=None, metavar="N",
                       help="read N rows at a time and merge per-customer summaries "
                            "(the default for Parquet and several files: 1,000,000)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="with --engine dask: the dask.distributed scheduler to run on "
                            "(e.g. tcp://10.0.0.5:8786)")
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="with --engine dask and no --scheduler: start a local cluster "
                            "of N worker processes (default: one per CPU)")


class Inputs:
    """FILE resolved: ``kind`` is ``"csv"`` or ``"parquet"``; ``paths`` the files (or the
    one directory of a Parquet dataset)."""

    def __init__(self, kind: str, paths: list[str], label: str) -> None:
        self.kind = kind
        self.paths = paths
        self.label = label


def _kind(path: str) -> str:
    return "parquet" if path.lower().endswith(_PARQUET) else "csv"


def resolve_inputs(file: str) -> Inputs:
    """What FILE names.

    Raises:
        UsageError: a glob that matches nothing, a directory without Parquet or CSV files,
            or CSV and Parquet files mixed.
    """
    if file != "-" and any(ch in file for ch in "*?["):
        paths = sorted(p for p in glob.glob(file, recursive=True) if os.path.isfile(p))
        if not paths:
            raise UsageError(f"FILE {file!r} matches no file")
        label = f"{len(paths)} files matching {file}"
    elif file != "-" and os.path.isdir(file):
        found = sorted(
            os.path.join(root, name)
            for root, _dirs, names in os.walk(file) for name in names
            if not name.startswith((".", "_"))
        )
        parquet = [p for p in found if _kind(p) == "parquet"]
        if parquet:
            return Inputs("parquet", [file], f"Parquet dataset {file} ({len(parquet)} files)")
        paths = [p for p in found if p.lower().endswith((".csv", ".csv.gz", ".zip", ".txt"))]
        if not paths:
            raise UsageError(f"directory {file} holds no .parquet or .csv files")
        label = f"{len(paths)} CSV files in {file}"
    else:
        paths = [file]
        label = file
    kinds = {_kind(p) for p in paths}
    if len(kinds) > 1:
        raise UsageError(f"FILE {file!r} mixes Parquet and CSV files; give one kind")
    return Inputs(kinds.pop(), paths, label)


def wants_scale(args: argparse.Namespace, inputs: Inputs) -> bool:
    """Whether FILE and the flags call for the summaries path (else one log in memory).

    Raises:
        UsageError: flags that do not fit together (checked whichever path runs).
    """
    _check_flags(args)
    scaled = (args.engine == "dask" or args.batch_rows is not None
              or inputs.kind == "parquet" or len(inputs.paths) > 1)
    if scaled and args.file == "-":
        raise UsageError("--batch-rows and --engine dask read files, not stdin")
    return scaled


def _check_flags(args: argparse.Namespace) -> None:
    if args.batch_rows is not None and args.batch_rows < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {args.batch_rows}")
    if args.engine != "dask" and (args.scheduler or args.workers is not None):
        raise UsageError("--scheduler and --workers need --engine dask")
    if args.scheduler and args.workers is not None:
        raise UsageError("give --scheduler (a running cluster) or --workers (a local one), "
                         "not both")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")


@contextmanager
def _client(args: argparse.Namespace) -> Iterator[str]:
    """A dask.distributed client for the run; yields a description of it."""
    from ecrm import MissingDependencyError

    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise MissingDependencyError.for_extra(
            "dask[distributed]", "dask", "--engine dask") from None
    if args.scheduler:
        with distributed.Client(args.scheduler) as client:
            yield f"dask scheduler {args.scheduler} ({len(client.scheduler_info()['workers'])} workers)"
        return
    n = args.workers or os.cpu_count() or 1
    # ":0", not None: None still binds 8787 and warns when it is taken (dask/distributed#8136)
    with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster, \
            distributed.Client(cluster):
        yield f"dask local cluster of {n} worker process{'es' if n > 1 else ''}"


def score_scaled(args: argparse.Namespace, as_of: Any) -> tuple[Any, str]:
    """Score FILE through :mod:`ecrm.scale`; returns (the RfmResult, what was read).

    Warnings (an undersized shop) are left to the caller to catch.

    Raises:
        UsageError: bad flags or FILE.
        EcrmError: bad data (as the loaders report it).
    """
    from ecrm.cli._loading import columns_from_args
    from ecrm.scale import (
        DEFAULT_BATCH_ROWS,
        score_summary,
        summarize_csv,
        summarize_csv_dask,
        summarize_dask,
        summarize_parquet,
    )

    inputs = resolve_inputs(args.file)
    wants_scale(args, inputs)
    first = inputs.paths[0] if inputs.kind == "csv" else ""
    columns = columns_from_args(argparse.Namespace(**{**vars(args), "file": first}))
    batch = args.batch_rows or DEFAULT_BATCH_ROWS
    common: dict[str, Any] = {
        "as_of": as_of, "columns": columns, "tz": args.tz, "currency": args.currency,
        "amount_unit": args.amount_unit,
    }
    if args.engine == "dask":
        with _client(args) as where:
            if inputs.kind == "parquet":
                import dask.dataframe as dd

                frame = dd.read_parquet(inputs.paths if len(inputs.paths) > 1 else inputs.paths[0])
                summary = summarize_dask(frame, **common)
            else:
                summary = summarize_csv_dask(inputs.paths, encoding=args.encoding,
                                             batch_rows=batch, **common)
        how = f"on a {where}"
    elif inputs.kind == "parquet":
        summary = summarize_parquet(inputs.paths, batch_rows=batch, **common)
        how = f"in batches of {batch:,} rows"
    else:
        summary = summarize_csv(inputs.paths, encoding=args.encoding, engine=args.engine,
                                batch_rows=batch, **common)
        how = f"in batches of {batch:,} rows"
    what = f"{inputs.label}, {how}: {summary!r}"
    print(f"ecrm {getattr(args, 'command', 'rfm')}: read {what}", file=sys.stderr)
    return score_summary(summary), what
