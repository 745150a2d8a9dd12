"""The summaries over a ``dask.dataframe``: partitions → partial summaries → a tree merge.

Dask schedules the work (threads, processes, or a ``dask.distributed`` cluster when a
``Client`` is active); ecrm only supplies the per-partition summary and the exact merge.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecrm._load._spec import AmountUnit, CsvColumns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._ordercolumns import status_table
from ecrm._time import as_zone
from ecrm.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from ecrm.rfm import TAOBAO_PGSB, RfmResult, RfmScheme
from ecrm.scale._chunks import pandas_chunk_rows, pandas_chunk_summary, row_column_names
from ecrm.scale._ooc import (
    DEFAULT_BATCH_ROWS,
    PathLike,
    _check_batch_rows,
    _dataset,
    _rfm_totals_parquet,
    summarize_csv,
)
from ecrm.scale._summary import CustomerSummary, _statuses, empty_summary, merge_all
from ecrm.scale._totals import (
    RfmTotals,
    chunk_totals,
    empty_totals,
    merge_totals_many,
    rfm_bounds,
    score_totals,
)

__all__ = ["csv_files", "frame_dask", "score_dask", "score_parquet_dask", "summarize_csv_dask",
           "summarize_dask"]


def _partition_summary(
    frame: Any,
    as_of: dt.datetime,
    scheme: RfmScheme,
    tier_months: int | None,
    statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> CustomerSummary:
    return pandas_chunk_summary(
        frame, as_of=as_of, scheme=scheme, statuses=statuses,
        tier_months=tier_months, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit,
    )


def _merge_group(*parts: CustomerSummary) -> CustomerSummary:
    return merge_all(parts)


def summarize_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    tier_months: int | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> CustomerSummary:
    """Summarise a ``dask.dataframe.DataFrame`` of orders (one row per order).

    Each partition becomes an :class:`~ecrm.OrderLog` (:meth:`~ecrm.OrderLog.from_pandas`)
    and a partial summary on a worker; partials are merged in a tree, ``split_every`` at a
    time, and only the final summary comes back. Runs on the active ``dask.distributed``
    client if there is one, else on dask's default scheduler.

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        as_of, scheme, tier_months, statuses: as :func:`~ecrm.scale.summarize`.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame.
        InvalidValueError: ``split_every`` < 2.
    """
    dask = _dask("ecrm.scale.summarize_dask")
    try:
        dd: Any = importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", "ecrm.scale.summarize_dask") from None
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    _check_split(split_every)
    zone = as_zone(tz)
    Money(0, currency)
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_partition_summary, pure=True)
    level = [
        part(p, as_of, scheme, tier_months, wanted, columns, zone, currency, amount_unit)
        for p in frame.to_delayed()
    ]
    if not level:
        return empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                             tier_months=tier_months, tz=zone,
                             currency=currency)
    return _tree(dask, level, split_every)


def _csv_summary(
    path: str, as_of: dt.datetime, scheme: RfmScheme, tier_months: int | None,
    statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None, encoding: str, batch_rows: int,
) -> CustomerSummary:
    return summarize_csv(
        path, as_of=as_of, scheme=scheme, statuses=statuses,
        tier_months=tier_months, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit, encoding=encoding, batch_rows=batch_rows,
    )


def summarize_csv_dask(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    tier_months: int | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    encoding: str = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    split_every: int = 8,
) -> CustomerSummary:
    """Summarise CSV files on dask: each file is one task that reads it in batches through
    ecrm's own loading layer (encodings, yuan, Taobao headers, errors by file and line, as
    :func:`~ecrm.scale.summarize_csv`), and the partial summaries merge in a tree.

    The workers must see the paths (a shared or local file system).

    Args:
        paths: a CSV file or a sequence of them.
        as_of, scheme, tier_months, statuses, columns, tz, currency, amount_unit, encoding,
        batch_rows:
            as :func:`~ecrm.scale.summarize_csv`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidValueError: no path; ``split_every`` < 2; ``batch_rows`` < 1.
        DataFormatErrorGroup: bad cells in a file (raised from the worker's task).
    """
    dask = _dask("ecrm.scale.summarize_csv_dask")
    files = csv_files(paths, split_every, batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_csv_summary, pure=True)
    level = [
        part(p, as_of, scheme, tier_months, wanted, columns, zone, currency, amount_unit,
             encoding, batch_rows)
        for p in files
    ]
    return _tree(dask, level, split_every)


def _dask(purpose: str) -> Any:
    try:
        return importlib.import_module("dask")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None


def _check_split(split_every: object) -> None:
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise InvalidValueError("split_every", "must be an int >= 2", split_every)


def frame_dask(frame: Any, purpose: str) -> Any:
    """dask, once ``frame`` is known to be a dask DataFrame."""
    dask = _dask(purpose)
    try:
        dd: Any = importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    return dask


def csv_files(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], split_every: object,
    batch_rows: object,
) -> list[str]:
    """The CSV files of a dask run (one task each), once the run's arguments are checked."""
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not files:
        raise InvalidValueError("paths", "must name at least one CSV file", "[]")
    _check_split(split_every)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidValueError("batch_rows", "must be an int >= 1", batch_rows)
    return [os.fspath(p) for p in files]


def _tree(dask: Any, level: list[Any], split_every: int) -> CustomerSummary:
    """Merge delayed summaries ``split_every`` at a time and compute the root."""
    join = dask.delayed(_merge_group, pure=True)
    while len(level) > 1:
        level = [join(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    (summary,) = dask.compute(level[0])
    if not isinstance(summary, CustomerSummary):  # pragma: no cover - dask contract
        raise InvalidTypeError(f"dask returned {type(summary).__name__}, not a summary")
    return summary


def score_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
    warn_undersized: bool = True,
) -> RfmResult:
    """RFM scores and grades of a dask DataFrame of orders, equal to
    :func:`ecrm.rfm.score` on the same orders in one log.

    Only the columns RFM reads (customer, time, amount, refund, status) are selected (dask
    pushes that into ``read_parquet``) and checked as the loading layer checks them; each
    partition becomes per-customer RFM totals (valid orders, net fen and last instant in
    the window, an order before ``as_of``: 25 bytes a customer), which merge in a tree.

    Args:
        As :func:`summarize_dask`; ``warn_undersized`` as :func:`ecrm.rfm.score`.

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        As :func:`summarize_dask`.
    """
    dask = _dask("ecrm.scale.score_dask")
    dd = _dask_dataframe("ecrm.scale.score_dask")
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    if not isinstance(scheme, RfmScheme):
        raise InvalidTypeError(f"scheme must be an RfmScheme, got {type(scheme).__name__}")
    _check_split(split_every)
    zone = as_zone(tz)
    Money(0, currency)
    start_us, end_us = rfm_bounds(as_of, scheme, zone)
    valid = status_table(_statuses(statuses))
    # Only the five columns RFM reads travel: dask pushes the selection into read_parquet.
    frame = frame[row_column_names([str(c) for c in frame.columns], columns)]
    part = dask.delayed(_partition_totals, pure=True)
    level = [part(p, valid, start_us, end_us, columns, zone, currency, amount_unit)
             for p in frame.to_delayed()]
    if level:
        join = dask.delayed(_merge_totals_group, pure=True)
        while len(level) > 1:
            level = [join(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
        (totals,) = dask.compute(level[0])
    else:
        totals = empty_totals(start_us, end_us)
    return score_totals(totals, as_of=as_of, scheme=scheme, tz=zone, currency=currency,
                        warn_undersized=warn_undersized)


def _partition_totals(
    frame: Any, valid: Any, start_us: int, end_us: int,
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None,
) -> RfmTotals:
    """One partition's RFM totals (its five columns checked as the loading layer does)."""
    if len(frame) == 0:
        return empty_totals(start_us, end_us)
    rows = pandas_chunk_rows(frame, columns=columns, tz=tz, currency=currency,
                             amount_unit=amount_unit)
    return chunk_totals(rows, valid, start_us, end_us)


def _merge_totals_group(*parts: RfmTotals) -> RfmTotals:
    return merge_totals_many(parts)


def _dask_dataframe(purpose: str) -> Any:
    try:
        return importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None


def score_parquet_dask(
    source: PathLike | Sequence[PathLike],
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    tasks: int | None = None,
    split_every: int = 8,
    warn_undersized: bool = True,
) -> RfmResult:
    """RFM scores and grades of a Parquet dataset on dask, each task reading its share of
    the files itself, as :func:`~ecrm.scale.score_parquet` reads them.

    The dataset's files are dealt out to ``tasks`` tasks (task k takes files k, k + n, …,
    so a time-ordered dataset's recent files are shared out); each task reads its files
    with pyarrow (no pandas conversion, only the RFM columns) into per-customer
    RFM totals (compact integer ids addressed directly), and the totals merge in a tree.
    Equal to :func:`ecrm.rfm.score` on the whole dataset bit for bit. The workers must see
    the paths (a shared or local file system).

    Args:
        source, as_of, scheme, statuses, columns, tz, currency, amount_unit, batch_rows,
        warn_undersized: as :func:`~ecrm.scale.score_parquet`.
        tasks: how many tasks (default: the active client's worker threads, else the
            machine's cores; at most one per file).
        split_every: how many totals one merge task takes (>= 2).

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        MissingDependencyError: dask or pyarrow is not installed.
        FileNotFoundError: a path does not exist.
        InvalidValueError: no Parquet file; ``tasks`` < 1; ``split_every`` < 2;
            ``batch_rows`` < 1.
        DataFormatErrorGroup: bad cells in a batch (raised from the worker's task).
    """
    dask = _dask("ecrm.scale.score_parquet_dask")
    _check_split(split_every)
    _check_batch_rows(batch_rows)
    if not isinstance(scheme, RfmScheme):
        raise InvalidTypeError(f"scheme must be an RfmScheme, got {type(scheme).__name__}")
    zone = as_zone(tz)
    Money(0, currency)
    n_files = len(_dataset(source, "ecrm.scale.score_parquet_dask").files)
    if tasks is None:
        tasks = _default_tasks()
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise InvalidValueError("tasks", "must be an int >= 1", tasks)
    # Task k takes files k, k + n, k + 2n …: a time-ordered dataset's recent files (the
    # RFM window's rows, the ones counted) are shared out, not all given to the last task.
    # The totals merge exactly in any order.
    n = min(tasks, n_files)
    paths = os.fspath(source) if isinstance(source, (str, os.PathLike)) else [
        os.fspath(p) for p in source]
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_files_totals, pure=True)
    level = [part(paths, slice(k, None, n), as_of, scheme, wanted, columns, zone, currency,
                  amount_unit, batch_rows) for k in range(n)]
    join = dask.delayed(_merge_totals_group, pure=True)
    while len(level) > 1:
        level = [join(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    (totals,) = dask.compute(level[0])
    return score_totals(totals, as_of=as_of, scheme=scheme, tz=zone, currency=currency,
                        warn_undersized=warn_undersized)


def _files_totals(
    source: str | list[str], files: slice, as_of: dt.datetime, scheme: RfmScheme,
    statuses: Iterable[OrderStatus] | None, columns: CsvColumns | Mapping[str, Any] | None,
    zone: dt.tzinfo, currency: str, amount_unit: AmountUnit | None, batch_rows: int,
) -> RfmTotals:
    """One task: the RFM totals of a run of the dataset's files."""
    return _rfm_totals_parquet(source, as_of=as_of, scheme=scheme, statuses=statuses,
                               columns=columns, zone=zone, currency=currency,
                               amount_unit=amount_unit, batch_rows=batch_rows, files=files)


def _default_tasks() -> int:
    """The active dask.distributed client's worker threads, else the machine's cores."""
    try:
        from distributed import get_client

        threads: dict[str, int] = get_client().nthreads()  # type: ignore[no-untyped-call]
        return max(1, sum(threads.values()))
    except (ImportError, ValueError):
        return os.cpu_count() or 1
