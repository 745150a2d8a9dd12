"""Reading orders from CSV files: :func:`read_orders_csv` (and its column spec, :class:`CsvColumns`).

The loading itself lives in :mod:`ecrm._load` (one reader, one problem collector, one set of
cell parsers for every table); this module sits above the model and is the public function
form of :meth:`ecrm.OrderLog.from_csv`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import IO, Any

from ecrm._load._csv import DEFAULT_CHUNK_ROWS
from ecrm._load._spec import (
    FIELDS,
    AmountUnit,
    CsvColumns,
    Engine,
    Progress,
    coerce_columns,
)
from ecrm._money import DEFAULT_CURRENCY
from ecrm._orderlog import OrderLog

__all__ = ["FIELDS", "CsvColumns", "Progress", "coerce_columns", "read_orders_csv"]


def read_orders_csv(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    encoding: str = "auto",
    amount_unit: AmountUnit | None = None,
    engine: Engine = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> OrderLog:
    """Read a CSV file of orders into an :class:`~ecrm.OrderLog`, streaming it in chunks.

    The first line is the header. One row is one order, unless the file has a ``sku``
    column: then each row is one order line, rows sharing an ``order_id`` form one order,
    and their order-level cells (customer, times, amount, status, refund, province, channel)
    must agree. ``quantity`` defaults to 1; ``unit_price`` is required for orders with
    several lines and otherwise defaults to ``amount / quantity`` when that is whole fen.
    Blank lines are skipped; quoted fields may hold commas and newlines.

    Args:
        path: the CSV file (``.gz`` and one-file ``.zip`` archives are read compressed),
            ``"-"`` for standard input, or a binary file object.
        columns: which header holds each field (:class:`CsvColumns`, a mapping
            ``{field: header}``, or ``None`` for the canonical names). Use
            ``CsvColumns.taobao()`` for a Taobao seller-centre export.
        tz: the store's time zone, also the zone of times written without an offset
            (default ``Asia/Shanghai``).
        currency: the currency of every amount.
        chunk_rows: rows parsed per chunk (memory vs. overhead), > 0.
        progress: called with an :class:`ecrm.ProgressUpdate` after each chunk.
        encoding: ``"auto"`` (default): UTF-8, UTF-8 with a byte-order mark, or GB18030 /
            GBK (Taobao exports), detected from the bytes; or a codec name (``"gbk"``).
        amount_unit: ``"auto"``, ``"fen"`` or ``"yuan"`` for every money column (default:
            ``columns``'s, which is ``"auto"``: a header naming a unit decides, then
            decimals / separators / ``¥`` mean yuan; an integer-only column with no unit in
            its header is fen).
        engine: ``"auto"`` (pyarrow when installed), ``"python"`` or ``"arrow"``; both give
            the same log and the same errors.

    Returns:
        One validated log; rows sorted by customer, then ``placed_at``. Its ``load_info``
        says which encoding, money units and engine were used.

    Raises:
        DataFormatErrorGroup: every problem of the file (path, 1-based physical line, column
            header, value, rule) at once, listing at most 20 per column plus a count of the
            rest: bad cells, a missing or duplicate header, ragged rows, undecodable bytes, a
            quote that is not closed, amounts that do not fit in int64 fen.
        InvalidValueError: bad arguments (unknown zone, encoding or currency,
            ``chunk_rows`` < 1).
        OSError: the file cannot be opened.
    """
    return OrderLog.from_csv(
        path, columns=columns, tz=tz, currency=currency, encoding=encoding,
        amount_unit=amount_unit, engine=engine, chunk_rows=chunk_rows, progress=progress,
    )
