"""``ecrm rfm``, ``tiers``, ``stages``, ``cycle`` and ``predict`` past one file in memory:
Parquet datasets, globs, batches and Dask.

FILE may be a CSV file (as before), a ``.parquet`` file, a directory of Parquet files
(``key=value`` folders are hive partitions) or of CSV files, or a quoted glob
(``'orders/*.parquet'``). Several files, Parquet, ``--batch-rows`` or ``--engine dask`` run
through :mod:`ecrm.scale`: per-customer summaries merged exactly, so the results equal the
in-memory path's while memory holds one batch plus the summaries. Every command picks its
engine the same way: :func:`scaled_or_none`, then :func:`scaled_run`.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ecrm.cli._main import UsageError

__all__ = [
    "Inputs",
    "ScaledRun",
    "add_scale_arguments",
    "csv_args",
    "resolve_inputs",
    "scaled_or_none",
    "scaled_run",
    "score_scaled",
    "wants_scale",
    "write_rows",
]

_PARQUET = (".parquet", ".pq", ".parq")
S = TypeVar("S")


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


class ScaledRun:
    """FILE read through :mod:`ecrm.scale` on the engine the flags chose: Parquet or CSV
    batches on this machine, or Dask (a cluster opened once for the whole command).

    Every scaled command reads through one of these: :meth:`summary` for the
    per-customer :class:`~ecrm.scale.CustomerSummary` (RFM, tiers, the cycle, stages),
    :meth:`fold` for any other mergeable summary (prediction, periods, categories).
    """

    def __init__(self, args: argparse.Namespace, inputs: Inputs, where: str | None) -> None:
        from ecrm.cli._loading import columns_from_args
        from ecrm.scale import DEFAULT_BATCH_ROWS

        self.args = args
        self.inputs = inputs
        self.dask = where is not None
        self.batch_rows: int = args.batch_rows or DEFAULT_BATCH_ROWS
        first = inputs.paths[0] if inputs.kind == "csv" else ""
        self.columns = columns_from_args(argparse.Namespace(**{**vars(args), "file": first}))
        self.how = f"on a {where}" if where is not None else f"in batches of {self.batch_rows:,} rows"
        self._frame: Any = None

    def _common(self) -> dict[str, Any]:
        return {"columns": self.columns, "tz": self.args.tz, "currency": self.args.currency,
                "amount_unit": self.args.amount_unit}

    def _dask_frame(self) -> Any:
        if self._frame is None:
            import warnings

            import dask.dataframe as dd

            paths = self.inputs.paths
            with warnings.catch_warnings():
                # pandas 3.1 deprecates a keyword dask's Parquet reader still passes
                warnings.simplefilter("ignore", DeprecationWarning)
                self._frame = dd.read_parquet(paths if len(paths) > 1 else paths[0])
        return self._frame

    def summary(self, *, as_of: Any, tier_months: int | None = None) -> Any:
        """The merged :class:`~ecrm.scale.CustomerSummary` of every order at ``as_of``."""
        from ecrm.scale import (
            summarize_csv,
            summarize_csv_dask,
            summarize_dask,
            summarize_parquet,
        )

        common = {**self._common(), "as_of": as_of, "tier_months": tier_months}
        paths, args = self.inputs.paths, self.args
        if self.dask and self.inputs.kind == "parquet":
            return summarize_dask(self._dask_frame(), **common)
        if self.dask:
            return summarize_csv_dask(paths, encoding=args.encoding, batch_rows=self.batch_rows,
                                      **common)
        if self.inputs.kind == "parquet":
            return summarize_parquet(paths, batch_rows=self.batch_rows, **common)
        return summarize_csv(paths, encoding=args.encoding, engine=args.engine,
                             batch_rows=self.batch_rows, **common)

    def score(self, *, as_of: Any) -> tuple[Any, str]:
        """RFM of a Parquet dataset through the RFM totals (only the five RFM columns are
        read: :func:`ecrm.scale.score_parquet`, or :func:`ecrm.scale.score_parquet_dask`
        with each task reading its share of the files); returns (the RfmResult, what was
        read)."""
        from ecrm.scale import score_parquet, score_parquet_dask

        score = score_parquet_dask if self.dask else score_parquet
        result = score(self.inputs.paths, as_of=as_of, batch_rows=self.batch_rows,
                       **self._common())
        return result, self.say(result)

    def fold(self, summarize: Callable[[Any], S], merge: Callable[[S, S], S]) -> S:
        """Any mergeable summary: ``summarize`` each chunk's OrderLog, ``merge`` the parts
        (see :func:`ecrm.scale.fold_parquet`)."""
        from ecrm.scale import fold_csv, fold_csv_dask, fold_dask, fold_parquet

        common = self._common()
        paths, args = self.inputs.paths, self.args
        if self.dask and self.inputs.kind == "parquet":
            return fold_dask(self._dask_frame(), summarize=summarize, merge=merge, **common)
        if self.dask:
            return fold_csv_dask(paths, summarize=summarize, merge=merge,
                                 encoding=args.encoding, batch_rows=self.batch_rows, **common)
        if self.inputs.kind == "parquet":
            return fold_parquet(paths, summarize=summarize, merge=merge,
                                batch_rows=self.batch_rows, **common)
        return fold_csv(paths, summarize=summarize, merge=merge, encoding=args.encoding,
                        engine=args.engine, batch_rows=self.batch_rows, **common)

    def describe(self, summary: object) -> str:
        """What was read and how, for the command's own output: ``4 CSV files in orders/,
        in batches of 1,000,000 rows: CustomerSummary(…)``."""
        return f"{self.inputs.label}, {self.how}: {summary!r}"

    def say(self, summary: object) -> str:
        """Print :meth:`describe` on stderr (``ecrm tiers: read …``) and return it."""
        what = self.describe(summary)
        print(f"ecrm {getattr(self.args, 'command', '') or ''}: read {what}", file=sys.stderr)
        return what


def write_rows(result: Any, args: argparse.Namespace, out: Any, summary: Any) -> int:
    """``--out NAME.parquet`` (without ``--json``): the per-customer rows as one Parquet
    file (the columns of ``result.to_arrow()``), written whole or not at all; anything else
    as :func:`ecrm.cli._output.write_result` writes it. Returns the exit status (0).

    Raises:
        MissingDependencyError: pyarrow is not installed (the ``arrow`` extra).
    """
    from ecrm.cli._output import write_result

    if args.json or args.out == "-" or not args.out.lower().endswith(_PARQUET):
        return write_result(result, args, out, summary)
    import pathlib

    table = result.to_arrow()
    import pyarrow.parquet as pq

    target = pathlib.Path(args.out)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        pq.write_table(table, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {table.num_rows:,} rows (Parquet) to {args.out}", file=out)
    return 0


def csv_args(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` for reading a side CSV file (``--customers``): ``--engine dask`` names no
    CSV engine, so it reads with ``auto``."""
    if args.engine != "dask":
        return args
    return argparse.Namespace(**{**vars(args), "engine": "auto"})


def scaled_or_none(args: argparse.Namespace) -> Inputs | None:
    """FILE resolved when FILE and the flags call for :mod:`ecrm.scale` (a Parquet file,
    directory or glob, several CSV files, ``--batch-rows``, ``--engine dask``), else
    ``None``: one CSV file loads into memory as before.

    Raises:
        UsageError: bad flags or FILE.
    """
    inputs = resolve_inputs(args.file)
    return inputs if wants_scale(args, inputs) else None


@contextmanager
def scaled_run(args: argparse.Namespace, inputs: Inputs | None = None) -> Iterator[ScaledRun]:
    """A :class:`ScaledRun` for FILE; with ``--engine dask`` the cluster lives until the
    block ends (``--scheduler``: a client to it; ``--workers N``: a local cluster).

    Raises:
        UsageError: bad flags or FILE.
        MissingDependencyError: ``--engine dask`` without dask installed.
    """
    if inputs is None:
        inputs = resolve_inputs(args.file)
        wants_scale(args, inputs)
    if args.engine == "dask":
        with _client(args) as where:
            yield ScaledRun(args, inputs, where)
    else:
        yield ScaledRun(args, inputs, None)


def score_scaled(args: argparse.Namespace, as_of: Any) -> tuple[Any, str]:
    """Score FILE through :mod:`ecrm.scale`; returns (the RfmResult, what was read).

    Warnings (an undersized shop) are left to the caller to catch.

    Raises:
        UsageError: bad flags or FILE.
        EcrmError: bad data (as the loaders report it).
    """
    from ecrm.scale import score_summary

    with scaled_run(args) as run:
        if run.inputs.kind == "parquet":
            return run.score(as_of=as_of)
        summary = run.summary(as_of=as_of)
    return score_summary(summary), run.say(summary)
