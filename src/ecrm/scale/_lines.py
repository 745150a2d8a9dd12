"""Order lines in chunks (Parquet batches, dask partitions) into SKU summaries.

A table of order lines has one row per line: the order's columns (``order_id``,
``customer_id``, ``placed_at``, ``amount``, ``status`` …) repeated on each of its lines, and
the line's ``sku`` and ``category``. Each chunk becomes a small :class:`~ecrm.OrderLog`
with its lines (the first line of an order gives the order's columns) and a
:class:`~ecrm.scale.SkuSummary` plus the store :class:`~ecrm.scale.CustomerSummary` the
fallback needs. Only first and second purchase days are used, and their merges are
idempotent, so an order whose lines fall into two chunks counts once.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from ecrm._load._frames import orders_from_frame
from ecrm._load._spec import AmountUnit, CsvColumns, coerce_columns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._time import as_zone
from ecrm.errors import InvalidValueError
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.scale._ooc import (
    DEFAULT_BATCH_ROWS,
    PathLike,
    _batches,
    _check_batch_rows,
    _dataset,
    _join,
)
from ecrm.scale._skus import SkuSummary, merge_skus, sku_cycles_from_summary, summarize_skus
from ecrm.scale._summary import Accumulator, CustomerSummary, merge, summarize

__all__ = [
    "LineSummaries", "find_column", "frame_column", "line_chunk_log", "line_chunk_summaries",
    "line_summaries", "merge_line_summaries", "sku_cycles_parquet",
]


@attrs.frozen(eq=False)
class LineSummaries:
    """The SKU summary and the store summary of some order lines (merged together)."""

    skus: SkuSummary
    store: CustomerSummary

    def __len__(self) -> int:
        return len(self.skus) + len(self.store)


def find_column(names: Sequence[str], spec: object) -> str | None:
    """The frame column a field's header spec names: the name, or its first candidate present."""
    options = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, tuple) else []
    for name in options:
        if name in names:
            return str(name)
    return None


def frame_column(names: Sequence[str], spec: object, field: str) -> str:
    """The frame column of a field the computation cannot do without.

    Raises:
        InvalidValueError: no column of the frame is named by ``columns.<field>``.
    """
    found = find_column(names, spec)
    if found is None:
        raise InvalidValueError(
            f"columns.{field}", f"must name a column of the frame (its columns: {list(names)})",
            spec)
    return found


#: The order's own columns, repeated on each of its lines: they must agree.
_ORDER_FIELDS = ("customer_id", "placed_at", "amount", "status", "refunded")


def _check_same_order_columns(frame: Any, oid: str, order_columns: list[str]) -> None:
    """Every line of an order has the same order columns as the order's first line."""
    import pandas as pd

    codes, distinct = pd.factorize(frame[oid])  # -1: a missing id (the loader reports it)
    n = len(codes)
    named = np.flatnonzero(codes >= 0)
    first = np.full(len(distinct), n, dtype=np.int64)
    np.minimum.at(first, codes[named], named)
    head = np.arange(n, dtype=np.int64)
    head[named] = first[codes[named]]
    repeat = np.flatnonzero(head != np.arange(n))
    if not repeat.size:
        return
    for column in order_columns:
        values = frame[column].to_numpy()
        mine, theirs = values[repeat], values[head[repeat]]
        differ = ~(pd.isna(mine) & pd.isna(theirs)) & (mine != theirs)
        if differ.any():
            row = int(repeat[np.flatnonzero(differ)[0]])
            raise InvalidValueError(
                column, f"must be the same on every line of order {_value_at(frame, oid, row)!r} "
                f"(row {row} of the chunk differs from the order's first line, row "
                f"{int(head[row])}, which has {values[head[row]]!r})", values[row])


def _value_at(frame: Any, column: str, row: int) -> Any:
    value = frame[column].iloc[row]
    return value.item() if isinstance(value, np.generic) else value


def line_chunk_log(
    frame: Any,
    *,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
    require: str = "sku",
) -> OrderLog:
    """One pandas DataFrame of order lines as an OrderLog with its lines (``items``).

    The first line of an order gives the order's columns; every other line of it must
    agree. Only the lines' SKUs and categories are kept (a zero unit price: cycles read the
    orders' days, not the lines' prices); a missing category is the unknown category ``""``.

    Args:
        frame: the order lines; order columns as :meth:`ecrm.OrderLog.from_pandas`
            (``order_id`` required), the line's ``sku`` and ``category`` as ``columns``
            names them.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.
        require: the line field that must have a column: ``"sku"`` (the category is
            read if there is a column for it) or ``"category"`` (the SKUs are not read:
            each line's SKU is ``"-"``).

    Returns:
        The chunk's orders with their lines.

    Raises:
        InvalidValueError: the frame has no order id column or no ``require`` column; two
            lines of one order disagree on an order column (naming the column, the order and
            both rows).
        DataFormatErrorGroup: bad cells (as :meth:`ecrm.OrderLog.from_pandas` and
            :meth:`ecrm.OrderItems.from_arrays` report them).
    """
    cols = coerce_columns(columns)
    names = [str(c) for c in frame.columns]
    oid = frame_column(names, cols.order_id, "order_id")
    if require == "sku":
        sku: str | None = frame_column(names, cols.sku, "sku")
        category = find_column(names, cols.category)
    elif require == "category":
        # the category path reads no SKU: an empty SKU cell there is no error
        sku, category = None, frame_column(names, cols.category, "category")
    else:
        raise InvalidValueError("require", "must be 'sku' or 'category'", require)
    n = len(frame)
    lines = OrderItems.from_arrays(
        order_ids=frame[oid].to_numpy(),
        skus=np.full(n, "-") if sku is None else frame[sku].astype(str).to_numpy(),
        unit_price_fen=np.zeros(n, dtype=np.int64),
        categories=None if category is None else frame[category].fillna("").astype(str)
        .to_numpy(), source="<order lines>",
    )
    _check_same_order_columns(frame, oid, [
        c for c in (find_column(names, getattr(cols, f)) for f in _ORDER_FIELDS)
        if c is not None])
    orders = frame.drop_duplicates(subset=[oid], keep="first")
    return orders_from_frame("pandas", orders, build=functools.partial(
        OrderLog.from_arrays, items=lines), columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, source="<order lines>")


def line_summaries(
    log: OrderLog, *, as_of: dt.datetime, statuses: Iterable[OrderStatus] | None,
) -> LineSummaries:
    """The SKU summary and the store summary of a log with its lines."""
    return LineSummaries(summarize_skus(log, as_of=as_of, statuses=statuses),
                         summarize(log, as_of=as_of, statuses=statuses))


def line_chunk_summaries(
    frame: Any,
    *,
    as_of: dt.datetime,
    statuses: Iterable[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> LineSummaries:
    """The SKU summary and the store summary of one pandas DataFrame of order lines."""
    log = line_chunk_log(frame, columns=columns, tz=tz, currency=currency,
                         amount_unit=amount_unit)
    return line_summaries(log, as_of=as_of, statuses=statuses)


def merge_line_summaries(a: LineSummaries, b: LineSummaries) -> LineSummaries:
    """Both parts merged (:func:`~ecrm.scale.merge_skus`, :func:`~ecrm.scale.merge`)."""
    return LineSummaries(merge_skus(a.skus, b.skus), merge(a.store, b.store))


def sku_cycles_parquet(
    source: PathLike | Sequence[PathLike],
    *,
    as_of: dt.datetime,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> CycleTable:
    """Repurchase cycles per SKU of a Parquet dataset of order lines, one record batch at a
    time, equal to :func:`ecrm.lifecycle.cycles_by` with ``by="sku"`` on the whole log.

    The dataset holds one row per order line: the order's columns repeated on each line
    (the first line of an order in a batch gives them), ``sku`` and ``category``. An order
    whose lines fall into two batches still counts once.

    Args:
        source, columns, tz, currency, amount_unit, batch_rows: as
            :func:`~ecrm.scale.summarize_parquet` (``columns`` also names the ``sku`` and
            ``category`` columns).
        as_of, method, min_repurchasers, fallback, statuses: as
            :func:`ecrm.lifecycle.cycles_by`.

    Returns:
        A :class:`~ecrm.lifecycle.CycleTable` by SKU.

    Raises:
        MissingDependencyError: pyarrow or pandas is not installed.
        FileNotFoundError: a path does not exist.
        InvalidValueError: no Parquet file or no rows; no order id or SKU column;
            ``batch_rows`` < 1; a bad method, ``min_repurchasers`` or fallback.
        DataFormatErrorGroup: bad cells in a batch (rows counted within the batch).
    """
    _check_batch_rows(batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    dataset = _dataset(source, "ecrm.scale.sku_cycles_parquet")
    acc: Accumulator[LineSummaries] = Accumulator(merge_line_summaries)
    for batch in _batches(dataset, batch_rows):
        if batch.num_rows:
            acc.add(line_chunk_summaries(
                batch.to_pandas(), as_of=as_of, statuses=statuses, columns=columns, tz=zone,
                currency=currency, amount_unit=amount_unit))
    merged = _join(acc.partials(), merge_line_summaries)
    if merged is None:
        raise InvalidValueError("source", "must hold at least one order line", os.fspath(
            source if isinstance(source, (str, os.PathLike)) else source[0]))
    return sku_cycles_from_summary(merged.skus, merged.store, method=method,
                                   min_repurchasers=min_repurchasers, fallback=fallback)
