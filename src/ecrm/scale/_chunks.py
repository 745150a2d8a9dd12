"""One chunk of orders (a Parquet record batch, a pandas partition) into a summary.

A text status column is the slow part of loading a chunk: every cell goes through Python.
Chunks of a big export hold a handful of distinct statuses, so they are parsed once per
distinct value here and handed to the loading layer as status codes (which
:meth:`~ecrm.OrderLog.from_arrays` takes). If any distinct value does not parse, or a cell
is missing, the chunk goes through unchanged so the loading layer reports the bad rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._columns import (
    MAX_ORDER_FEN,
    check_lengths,
    check_total_fen,
    fen_column,
    ids_column,
    instants_column,
)
from ecrm._load._frames import _find, orders_from_frame
from ecrm._load._problems import Problems
from ecrm._load._spec import AmountUnit, CsvColumns, coerce_columns
from ecrm._order import OrderStatus, parse_status
from ecrm._ordercolumns import status_column
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone
from ecrm.errors import EcrmError
from ecrm.rfm import RfmScheme
from ecrm.scale._summary import CustomerSummary, empty_summary, summarize
from ecrm.scale._totals import RowColumns

__all__ = ["arrow_chunk_log", "arrow_chunk_rows", "arrow_chunk_summary", "pandas_chunk_log",
           "pandas_chunk_rows", "pandas_chunk_summary", "row_column_names"]

#: The fields RFM totals read; the other columns of a chunk are neither read nor checked.
ROW_FIELDS = ("customer_id", "placed_at", "amount", "refunded", "status")


def _status_header(columns: CsvColumns | Mapping[str, Any] | None) -> str | None:
    if columns is None:
        return "status"
    spec = columns.status if isinstance(columns, CsvColumns) else columns.get("status", "status")
    return spec if isinstance(spec, str) else None


def _codes(distinct: list[Any], indices: npt.NDArray[Any]) -> npt.NDArray[np.int8] | None:
    try:
        table = np.asarray([parse_status(v).code for v in distinct], dtype=np.int8)
    except (EcrmError, TypeError, ValueError):
        return None
    out: npt.NDArray[np.int8] = table[np.asarray(indices, dtype=np.intp)]
    return out


def arrow_chunk_summary(
    batch: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme,
    tier_months: int | None,
    statuses: Iterable[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> CustomerSummary:
    """The summary of one pyarrow ``RecordBatch`` or ``Table`` of orders."""
    if batch.num_rows == 0:
        return empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                             tier_months=tier_months, tz=tz,
                             currency=currency)
    log = arrow_chunk_log(batch, columns=columns, tz=tz, currency=currency,
                          amount_unit=amount_unit)
    return summarize(log, as_of=as_of, scheme=scheme, statuses=statuses, tier_months=tier_months)


def arrow_chunk_log(
    batch: Any,
    *,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> OrderLog:
    """One pyarrow ``RecordBatch`` or ``Table`` of orders as an OrderLog (a text status
    column parsed once per distinct value)."""
    return OrderLog.from_arrow(_arrow_status_coded(batch, columns), columns=columns, tz=tz,
                               currency=currency, amount_unit=amount_unit)


def _arrow_status_coded(batch: Any, columns: CsvColumns | Mapping[str, Any] | None) -> Any:
    """The batch with a clean text status column replaced by status codes (else as is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    header = _status_header(columns)
    names = list(batch.schema.names)
    if batch.num_rows and header is not None and header in names:
        col = batch.column(header)
        typ = col.type
        if (pa.types.is_string(typ) or pa.types.is_large_string(typ)
                or pa.types.is_dictionary(typ)) and col.null_count == 0:
            enc = col if pa.types.is_dictionary(typ) else pc.dictionary_encode(col)
            if isinstance(enc, pa.ChunkedArray):
                enc = enc.combine_chunks()
            codes = _codes(enc.dictionary.to_pylist(), np.asarray(enc.indices))
            if codes is not None:
                arrays = [pa.array(codes) if n == header else batch.column(n) for n in names]
                batch = _arrow_like(batch, arrays, names)
    return batch


def _arrow_like(batch: Any, arrays: list[Any], names: list[str]) -> Any:
    """A RecordBatch of ``arrays`` when ``batch`` is one (its columns stay single arrays,
    which numpy views without copying), else a Table."""
    import pyarrow as pa

    if isinstance(batch, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, names=names)
    return pa.table(arrays, names=names)


def row_column_names(names: list[str], columns: CsvColumns | Mapping[str, Any] | None) -> list[str]:
    """The columns among ``names`` that hold the fields RFM totals read (``ROW_FIELDS``).

    Raises:
        InvalidValueError: a required column (customer, time, amount) is missing.
    """
    found = _find(list(names), coerce_columns(columns))
    return [found[f] for f in ROW_FIELDS if f in found]


def _check_rows(
    *, customer_ids: Any, placed_at: Any, amounts: Any, tz: str, currency: str, source: str,
    statuses: Any = None, refunded: Any = None,
) -> RowColumns:
    """The loading layer's ``build`` for RFM totals: the checks of
    :meth:`ecrm.OrderLog.from_arrays` on the five columns it reads (the same helpers, the
    same messages), without coding the ids or laying the rows out."""
    n = check_lengths(source, {"customer_ids": customer_ids, "placed_at": placed_at,
                               "amounts": amounts, "statuses": statuses, "refunded": refunded})
    problems = Problems(source)
    ids = ids_column(customer_ids, "customer_ids", problems)
    placed = instants_column(placed_at, "placed_at", as_zone(tz), problems)
    amount = fen_column(amounts, "amounts", problems, max_fen=MAX_ORDER_FEN)
    status = status_column(statuses, n, problems)
    refund = (np.zeros(n, dtype=np.int64) if refunded is None
              else fen_column(refunded, "refunded", problems))
    if refunded is not None and len(refund) == n and len(amount) == n:
        over = np.flatnonzero((refund > amount) & (amount >= 0))
        if over.size:
            problems.add_rows(over, "refunded", refund, "must be <= the order amount")
    problems.raise_if_any("orders")
    check_total_fen(amount, "amount", source)
    return RowColumns(ids, placed, amount, refund, status.astype(np.int8, copy=False),
                      as_zone(tz))


def arrow_chunk_rows(
    batch: Any,
    *,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> RowColumns:
    """The checked rows of a pyarrow ``RecordBatch`` or ``Table`` (only ``ROW_FIELDS``'
    columns are read), in input order."""

    names = row_column_names(batch.schema.names, columns)
    if names != list(batch.schema.names):
        batch = _arrow_like(batch, [batch.column(n) for n in names], names)
    return orders_from_frame("arrow", _arrow_status_coded(batch, columns), build=_check_rows,
                             columns=columns, tz=tz, currency=currency,
                             amount_unit=amount_unit)


def pandas_chunk_rows(
    frame: Any,
    *,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> RowColumns:
    """The checked rows of a pandas DataFrame (only ``ROW_FIELDS``' columns), in input
    order."""
    names = row_column_names([str(c) for c in frame.columns], columns)
    labels = {str(c): c for c in frame.columns}
    frame = frame[[labels[n] for n in names]]
    return orders_from_frame("pandas", _pandas_status_coded(frame, columns), build=_check_rows,
                             columns=columns, tz=tz, currency=currency,
                             amount_unit=amount_unit)


def _pandas_status_coded(frame: Any, columns: CsvColumns | Mapping[str, Any] | None) -> Any:
    """The frame with a clean text status column replaced by status codes (else as is)."""
    import pandas as pd

    header = _status_header(columns)
    if len(frame) and header is not None and header in frame.columns:
        col = frame[header]
        textual = (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
                   or isinstance(col.dtype, pd.CategoricalDtype))
        if textual and not col.isna().any():
            indices, distinct = pd.factorize(col)
            codes = _codes(list(distinct), indices)
            if codes is not None:
                frame = frame.assign(**{header: codes})
    return frame


def pandas_chunk_summary(
    frame: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme,
    tier_months: int | None,
    statuses: Iterable[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> CustomerSummary:
    """The summary of one pandas DataFrame of orders."""
    if len(frame) == 0:
        return empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                             tier_months=tier_months, tz=tz,
                             currency=currency)
    log = pandas_chunk_log(frame, columns=columns, tz=tz, currency=currency,
                           amount_unit=amount_unit)
    return summarize(log, as_of=as_of, scheme=scheme, statuses=statuses, tier_months=tier_months)


def pandas_chunk_log(
    frame: Any,
    *,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
    build: Callable[..., OrderLog] | None = None,
) -> OrderLog:
    """One pandas DataFrame of orders as an OrderLog (a text status column parsed once per
    distinct value); ``build`` replaces ``OrderLog.from_arrays`` (to attach order lines)."""
    frame = _pandas_status_coded(frame, columns)
    return orders_from_frame("pandas", frame, build=build or OrderLog.from_arrays,
                             columns=columns, tz=tz, currency=currency,
                             amount_unit=amount_unit)
