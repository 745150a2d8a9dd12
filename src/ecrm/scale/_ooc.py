"""Larger than memory on one machine: Parquet datasets and CSV files, chunk by chunk.

Each chunk (a Parquet record batch, a CSV file) goes through the one loading layer into a
small :class:`~ecrm.OrderLog`, is summarised, and merged into the running summary; only the
per-customer summary and one chunk are ever in memory.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ecrm._columns import check_total_fen
from ecrm._load._orders import OrderColumns, read_order_batches
from ecrm._load._spec import (
    AmountUnit,
    CsvColumns,
    Engine,
    check_amount_unit,
    coerce_columns,
)
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._ordercolumns import status_table
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone
from ecrm.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from ecrm.rfm import TAOBAO_PGSB, RfmResult, RfmScheme
from ecrm.scale._chunks import (
    arrow_chunk_log,
    arrow_chunk_rows,
    arrow_chunk_summary,
    row_column_names,
)
from ecrm.scale._summary import (
    Accumulator,
    CustomerSummary,
    SummaryAccumulator,
    _statuses,
    empty_summary,
    merge,
    summarize,
)
from ecrm.scale._totals import (
    DENSE_MAX_SPAN,
    RfmTotals,
    RowColumns,
    fold_totals,
    rfm_bounds,
    score_totals,
)

__all__ = ["DEFAULT_BATCH_ROWS", "fold_csv", "fold_parquet", "score_parquet", "summarize_csv",
           "summarize_parquet", "write_parquet"]

S = TypeVar("S")

#: Rows per Parquet record batch read at a time.
DEFAULT_BATCH_ROWS = 1_000_000

PathLike = str | os.PathLike[str]


def _arrow(purpose: str) -> Any:
    try:
        import pyarrow.dataset as ds
    except ImportError:
        raise MissingDependencyError.for_extra("pyarrow", "arrow", purpose) from None
    return ds


def _dataset(source: PathLike | Sequence[PathLike], purpose: str) -> Any:
    ds = _arrow(purpose)
    paths = [os.fspath(source)] if isinstance(source, (str, os.PathLike)) else [
        os.fspath(p) for p in source
    ]
    if not paths:
        raise InvalidValueError("source", "must name at least one Parquet file", "[]")
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(2, "No such file or directory", p)
    target: Any = paths[0] if len(paths) == 1 else paths
    dataset = ds.dataset(target, format="parquet", partitioning="hive")
    if not dataset.files:
        raise InvalidValueError("source", "must hold at least one Parquet file", paths[0])
    return dataset


def _batches(dataset: Any, batch_rows: int, columns: list[str] | None = None,
             fragments: list[Any] | None = None) -> Iterator[Any]:
    """The record batches of a dataset in order, one file at a time, read synchronously.

    ``Dataset.to_batches`` keeps its threads reading ahead while a slow consumer works (at
    10M orders it held the decoded rest of the dataset: ~0.3 GB, ~0.9 GB at 30M); file by
    file without threads, memory holds the current batch. Hive partition columns are
    filled in from each file's path as the dataset would. ``columns`` limits the read to
    those columns (Parquet decodes only what is asked for).
    """
    for fragment in dataset.get_fragments() if fragments is None else fragments:
        yield from fragment.to_batches(schema=dataset.schema, columns=columns,
                                       batch_size=batch_rows, batch_readahead=1,
                                       use_threads=False)


def summarize_parquet(
    source: PathLike | Sequence[PathLike],
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    tier_months: int | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> CustomerSummary:
    """Summarise a Parquet dataset of orders one record batch at a time.

    Args:
        source: a ``.parquet`` file, a directory of them (``key=value`` folders are hive
            partitions), or a list of files.
        as_of, scheme, tier_months, statuses: as :func:`~ecrm.scale.summarize`.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_arrow`.
        batch_rows: rows per batch; memory holds one batch plus the summaries.

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary` of every order.

    Raises:
        MissingDependencyError: pyarrow is not installed.
        FileNotFoundError: a path does not exist.
        InvalidValueError: no Parquet file; ``batch_rows`` < 1.
        DataFormatErrorGroup: bad cells in a batch (rows counted within the batch).
    """
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)  # validates the currency before any work
    dataset = _dataset(source, "ecrm.scale.summarize_parquet")
    acc = SummaryAccumulator()
    for batch in _batches(dataset, batch_rows):
        if batch.num_rows == 0:
            continue
        acc.add(arrow_chunk_summary(
            batch, as_of=as_of, scheme=scheme, statuses=statuses,
            tier_months=tier_months, columns=columns, tz=zone,
            currency=currency, amount_unit=amount_unit,
        ))
    empty = empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                          tier_months=tier_months, tz=zone,
                          currency=currency)
    return acc.result(empty)


def summarize_csv(
    paths: PathLike | Sequence[PathLike],
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
    engine: Engine = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> CustomerSummary:
    """Summarise one or several CSV files of orders, ``batch_rows`` rows at a time.

    Each file streams through the loading layer (the cells parsed and checked as
    :meth:`ecrm.OrderLog.from_csv` does, errors with the file's physical lines); every
    batch becomes a small log, is summarised and merged, so memory holds one batch plus
    the summaries however large a file is. Checks that need a whole file (unique order
    ids, a customer's sums within int64) run per batch. With ``amount_unit="auto"`` the
    unit is decided per batch, and a file whose batches decide differently is refused:
    pass the unit. A file with item lines (a ``sku`` column) is read as one batch.

    Args:
        paths: a CSV file (``.gz`` and ``.zip`` too) or a sequence of them (an order in
            two files would count twice).
        as_of, scheme, tier_months, statuses: as :func:`~ecrm.scale.summarize`.
        columns, tz, currency, amount_unit, encoding, engine: as
            :meth:`ecrm.OrderLog.from_csv`.
        batch_rows: rows per batch (>= 1).

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary`.

    Raises:
        InvalidTypeError: ``paths`` is a single path rather than a sequence.
        InvalidValueError: ``batch_rows`` < 1; no path.
        DataFormatErrorGroup: bad cells (file, line, column, value, rule); every problem of a
            file at once.
    """
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not files:
        raise InvalidValueError("paths", "must name at least one CSV file", "[]")
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    cols = coerce_columns(columns)
    unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
    acc = SummaryAccumulator()
    for path in files:
        acc.add(_csv_file_summary(
            path, as_of=as_of, scheme=scheme, statuses=statuses,
            tier_months=tier_months, columns=cols, zone=zone,
            currency=currency, unit=unit, encoding=encoding, engine=engine,
            batch_rows=batch_rows,
        ))
    return acc.result(_empty(as_of, scheme, tier_months, statuses, zone, currency))


def _csv_file_summary(
    path: PathLike, *, as_of: dt.datetime, scheme: RfmScheme, tier_months: int | None,
    statuses: Iterable[OrderStatus] | None, columns: CsvColumns, zone: dt.tzinfo,
    currency: str, unit: AmountUnit, encoding: str, engine: Engine, batch_rows: int,
) -> CustomerSummary:
    """One CSV file's summary, batch by batch."""
    def build(log: OrderLog) -> CustomerSummary:
        return summarize(log, as_of=as_of, scheme=scheme, statuses=statuses,
                         tier_months=tier_months)

    folded = _fold_csv_file(path, build, merge, columns=columns, zone=zone,
                            currency=currency, unit=unit, encoding=encoding, engine=engine,
                            batch_rows=batch_rows)
    return folded if folded is not None else _empty(as_of, scheme, tier_months, statuses,
                                                     zone, currency)


def _fold_csv_file(
    path: PathLike, build: Callable[[OrderLog], S], join: Callable[[S, S], S], *,
    columns: CsvColumns, zone: dt.tzinfo, currency: str, unit: AmountUnit, encoding: str,
    engine: Engine, batch_rows: int,
) -> S | None:
    """A CSV file's batches summarised by ``build`` and merged in order by ``join`` (only
    the last pass over the file counts); ``None`` for a file without rows."""
    passes: list[Accumulator[S]] = []

    def start() -> Callable[[OrderColumns], None]:
        acc: Accumulator[S] = Accumulator(join)
        passes.append(acc)

        def take(read: OrderColumns) -> None:
            acc.add(build(OrderLog._from_loaded(read, zone, currency)))

        return take

    read_order_batches(
        path, columns=columns, zone=zone, amount_unit=unit, start=start,
        batch_rows=batch_rows, encoding=encoding, engine=engine,
    )
    return _join(passes[-1].partials(), join) if passes else None


def _join(parts: list[S], join: Callable[[S, S], S]) -> S | None:
    """Neighbours merged in order (a left fold: the partials fall geometrically in size)."""
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = join(out, part)
    return out


def fold_parquet(
    source: PathLike | Sequence[PathLike],
    *,
    summarize: Callable[[OrderLog], S],
    merge: Callable[[S, S], S],
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> S:
    """Any mergeable summary of a Parquet dataset, one record batch at a time.

    Each batch becomes an :class:`~ecrm.OrderLog` (as in :func:`summarize_parquet`) and
    ``summarize(log)`` a partial summary; partials merge with ``merge``, neighbours only
    and in file order. For example, store metrics per month out of core::

        merged = fold_parquet("orders/", summarize=lambda log: summarize_periods(log, months),
                              merge=merge_periods, tz="Asia/Shanghai")
        table = store_metrics_from_summary(merged)

    Args:
        source, columns, tz, currency, amount_unit, batch_rows: as :func:`summarize_parquet`.
        summarize: one batch's log → its summary (``summarize_periods``,
            ``summarize_for_predict``, ``summarize_categories`` with its arguments bound).
        merge: the summary's merge (``merge_periods``, ``merge_predict``, ...).

    Returns:
        The merged summary of every order.

    Raises:
        As :func:`summarize_parquet`; InvalidValueError: the dataset holds no rows.
    """
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    dataset = _dataset(source, "ecrm.scale.fold_parquet")
    acc: Accumulator[S] = Accumulator(merge)
    for batch in _batches(dataset, batch_rows):
        if batch.num_rows:
            acc.add(summarize(arrow_chunk_log(batch, columns=columns, tz=zone,
                                              currency=currency, amount_unit=amount_unit)))
    out = _join(acc.partials(), merge)
    if out is None:
        raise InvalidValueError("source", "must hold at least one order", os.fspath(
            source if isinstance(source, (str, os.PathLike)) else source[0]))
    return out


def fold_csv(
    paths: PathLike | Sequence[PathLike],
    *,
    summarize: Callable[[OrderLog], S],
    merge: Callable[[S, S], S],
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    encoding: str = "auto",
    engine: Engine = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> S:
    """Any mergeable summary of CSV files, ``batch_rows`` rows at a time (as
    :func:`summarize_csv` reads them; a file with item lines is one batch, so
    ``summarize_categories`` sees whole orders).

    Args:
        paths, columns, tz, currency, amount_unit, encoding, engine, batch_rows: as
            :func:`summarize_csv`.
        summarize, merge: as :func:`fold_parquet`.

    Returns:
        The merged summary of every order.

    Raises:
        As :func:`summarize_csv`; InvalidValueError: no file holds a row.
    """
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not files:
        raise InvalidValueError("paths", "must name at least one CSV file", "[]")
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    cols = coerce_columns(columns)
    unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
    parts = [
        part for path in files
        if (part := _fold_csv_file(path, summarize, merge, columns=cols, zone=zone,
                                   currency=currency, unit=unit, encoding=encoding,
                                   engine=engine, batch_rows=batch_rows)) is not None
    ]
    out = _join(parts, merge)
    if out is None:
        raise InvalidValueError("paths", "must hold at least one order", os.fspath(files[0]))
    return out


def _empty(
    as_of: dt.datetime, scheme: RfmScheme, tier_months: int | None,
    statuses: Iterable[OrderStatus] | None,
    zone: dt.tzinfo, currency: str,
) -> CustomerSummary:
    return empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                         tier_months=tier_months, tz=zone,
                         currency=currency)


def _check_batch_rows(batch_rows: object) -> None:
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int):
        raise InvalidTypeError(f"batch_rows must be an int, got {type(batch_rows).__name__}")
    if batch_rows < 1:
        raise InvalidValueError("batch_rows", "must be >= 1", batch_rows)


def write_parquet(result: RfmResult, path: PathLike, *, row_group_rows: int = 1_000_000) -> None:
    """Write an RFM result's per-customer rows to a Parquet file, in row groups.

    Columns are those of :meth:`ecrm.rfm.RfmResult.to_arrow`, unscored customers
    included (with null scores).

    Args:
        result: the scores.
        path: the ``.parquet`` file to write (replaced if it exists).
        row_group_rows: rows per row group.

    Raises:
        MissingDependencyError: pyarrow is not installed.
        InvalidTypeError: ``result`` is not an RfmResult.
    """
    if not isinstance(result, RfmResult):
        raise InvalidTypeError(f"result must be an RfmResult, got {type(result).__name__}")
    _arrow("ecrm.scale.write_parquet")
    import pyarrow.parquet as pq

    table = result.to_arrow(include_unscored=True)
    pq.write_table(table, os.fspath(path), row_group_size=row_group_rows)


def score_parquet(
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
    output: PathLike | None = None,
    warn_undersized: bool = True,
) -> RfmResult:
    """RFM scores and grades of a Parquet dataset too big to load whole.

    Equal to ``ecrm.rfm.score(OrderLog.from_parquet(source), ...)`` bit for bit. Only the
    columns RFM reads (customer, time, amount, refund, status) are decoded and checked;
    other columns are neither read nor validated. Integer customer ids in a compact range
    (at most four ids per row of the dataset, and 2**26) address per-customer totals
    directly (25 bytes per id in the range), so memory is one batch plus those arrays and
    no batch is sorted or merged; other ids are coded batch by batch and merged.

    Args:
        source, as_of, scheme, statuses, columns, tz, currency, amount_unit, batch_rows:
            as :func:`summarize_parquet`.
        output: also write the per-customer rows to this Parquet file
            (:func:`write_parquet`).
        warn_undersized: as :func:`ecrm.rfm.score`.

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        As :func:`summarize_parquet`; InvalidValueError: the dataset's amounts sum past
        int64 fen (as one log's may not).
    """
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    if not isinstance(scheme, RfmScheme):
        raise InvalidTypeError(f"scheme must be an RfmScheme, got {type(scheme).__name__}")
    totals = _rfm_totals_parquet(
        source, as_of=as_of, scheme=scheme, statuses=statuses, columns=columns, zone=zone,
        currency=currency, amount_unit=amount_unit, batch_rows=batch_rows,
    )
    result = score_totals(totals, as_of=as_of, scheme=scheme, tz=zone, currency=currency,
                          warn_undersized=warn_undersized)
    if output is not None:
        write_parquet(result, output)
    return result


def _rfm_totals_parquet(
    source: PathLike | Sequence[PathLike], *, as_of: dt.datetime, scheme: RfmScheme,
    statuses: Iterable[OrderStatus] | None, columns: CsvColumns | Mapping[str, Any] | None,
    zone: dt.tzinfo, currency: str, amount_unit: AmountUnit | None, batch_rows: int,
    files: slice | None = None,
) -> RfmTotals:
    """The RFM totals of a Parquet dataset, batch by batch.

    Only the five columns RFM reads are decoded. Integer ids in a range of at most four
    slots per row of the dataset (and ``DENSE_MAX_SPAN``) are added straight into
    per-customer arrays (:class:`DenseTotals`); once a batch breaks that (text ids, ids
    spread too thinly) the rest is coded batch by batch and merged. ``files`` takes a slice
    of the dataset's files (one Dask task's share).
    """
    start_us, end_us = rfm_bounds(as_of, scheme, zone)
    valid = status_table(_statuses(statuses))
    dataset = _dataset(source, "ecrm.scale.score_parquet")
    names = row_column_names(list(dataset.schema.names), columns)
    name = os.fspath(source if isinstance(source, (str, os.PathLike)) else source[0])
    fragments = list(dataset.get_fragments())[files or slice(None)]
    rows_total = sum(int(f.count_rows()) for f in fragments)
    span = min(DENSE_MAX_SPAN, max(4 * rows_total, 1 << 16))

    def chunks() -> Iterator[RowColumns]:
        total_fen = 0
        for batch in _batches(dataset, batch_rows, names, fragments):
            if batch.num_rows == 0:
                continue
            rows = arrow_chunk_rows(batch, columns=columns, tz=zone, currency=currency,
                                    amount_unit=amount_unit)
            # The whole dataset's amounts must sum within int64, as one log's must.
            fen = int(rows.amount_fen.sum())
            check_total_fen(np.asarray([total_fen, fen], dtype=np.int64), "amount", name)
            total_fen += fen
            yield rows

    return fold_totals(chunks(), valid_status=valid, start_us=start_us, end_us=end_us,
                       max_span=span, id_range=_id_range(fragments, names[0]))


def _id_range(fragments: list[Any], column: str) -> tuple[int, int] | None:
    """The smallest and largest customer id by the Parquet row groups' statistics, or
    ``None`` when a row group has none (or the ids are not integers)."""
    lo, hi = None, None
    try:
        for fragment in fragments:
            fragment.ensure_complete_metadata()
            for group in fragment.row_groups:
                stats = (group.statistics or {}).get(column)
                if not stats or not isinstance(stats.get("min"), int) \
                        or not isinstance(stats.get("max"), int):
                    return None
                lo = stats["min"] if lo is None else min(lo, stats["min"])
                hi = stats["max"] if hi is None else max(hi, stats["max"])
    except (AttributeError, OSError, TypeError, ValueError):
        return None
    return None if lo is None or hi is None else (int(lo), int(hi))
