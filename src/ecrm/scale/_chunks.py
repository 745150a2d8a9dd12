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

from ecrm._load._frames import orders_from_frame
from ecrm._load._spec import AmountUnit, CsvColumns
from ecrm._order import OrderStatus, parse_status
from ecrm._orderlog import OrderLog
from ecrm.errors import EcrmError
from ecrm.rfm import RfmScheme
from ecrm.scale._summary import CustomerSummary, empty_summary, summarize

__all__ = ["arrow_chunk_log", "arrow_chunk_summary", "pandas_chunk_log", "pandas_chunk_summary"]


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
                batch = pa.table(arrays, names=names)
    return OrderLog.from_arrow(batch, columns=columns, tz=tz, currency=currency,
                               amount_unit=amount_unit)


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
    import pandas as pd

    header = _status_header(columns)
    if header is not None and header in frame.columns:
        col = frame[header]
        textual = (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
                   or isinstance(col.dtype, pd.CategoricalDtype))
        if textual and not col.isna().any():
            indices, distinct = pd.factorize(col)
            codes = _codes(list(distinct), indices)
            if codes is not None:
                frame = frame.assign(**{header: codes})
    return orders_from_frame("pandas", frame, build=build or OrderLog.from_arrays,
                             columns=columns, tz=tz, currency=currency,
                             amount_unit=amount_unit)
