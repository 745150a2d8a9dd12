"""Orders (and order lines) from a CSV file, as plain columns for ``OrderLog``'s builder.

:func:`read_order_columns` streams the file through :func:`ecrm._load._csv.read_csv`, parses
each chunk's cells (ids, instants, money, statuses) vectorised, checks what needs the whole
file (duplicate order ids, order lines that disagree, refunds above the amount, amounts that
do not fit in int64 fen), and returns :class:`OrderColumns`. It never imports the model:
:meth:`ecrm.OrderLog.from_csv` passes the columns to its own builder.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import MAX_ORDER_FEN, ORDER_FEN_RULE
from ecrm._load._cells import (
    MAX_WHOLE_YUAN,
    TS_RULE,
    ByteCells,
    LineNumbers,
    MoneyCells,
    _strip,
    as_text,
    bytes_text,
    coded_column,
    decide_units,
    parse_ids,
    parse_instants,
    parse_money,
    text_bytes,
    to_fen,
)
from ecrm._load._csv import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    Layout,
    arrow_text,
    read_csv,
    resolve_header,
)
from ecrm._load._fastcells import (
    arrow_coded,
    arrow_ids,
    arrow_instants,
    arrow_money,
    fast_instants,
    fast_money,
)
from ecrm._load._grow import GrowingColumn
from ecrm._load._idcodes import CodedIds, IdCoder, arrow_digit_values
from ecrm._load._problems import Problems
from ecrm._load._spec import (
    FIELDS,
    MONEY_FIELDS,
    REQUIRED,
    TIME_FIELDS,
    CsvColumns,
    Engine,
    LoadInfo,
    Progress,
)
from ecrm._order import STATUS_BY_CODE, parse_status
from ecrm._threads import Background
from ecrm._time import NAT_US, us_to_datetime
from ecrm.errors import InvalidValueError

__all__ = ["OrderColumns", "read_order_batches", "read_order_columns"]

IntArray = npt.NDArray[np.int64]


@attrs.frozen
class OrderColumns:
    """The parsed, checked columns of an orders file (one row per order).

    Attributes:
        customer_ids: the customer id of each row, as sorted distinct ids and a code per
            row (:class:`~ecrm._load._idcodes.CodedIds`; never a full column of id text).
        placed_at_us: int64 UTC microseconds.
        amount_fen, refunded_fen: int64 fen.
        status_codes: int8 ``OrderStatus.code``.
        paid_at_us: int64 (``NAT_US`` = not paid) or ``None`` without the column.
        order_ids, provinces, channels: str or ``None`` without the column.
        items: ``(order_ids, skus, categories, quantities, unit_price_fen)`` of the order
            lines, or ``None`` for a file without a ``sku`` column.
        info: what the read decided.
    """

    customer_ids: CodedIds
    placed_at_us: IntArray
    amount_fen: IntArray
    refunded_fen: IntArray
    status_codes: npt.NDArray[np.int8]
    paid_at_us: IntArray | None
    order_ids: npt.NDArray[np.str_] | None
    provinces: npt.NDArray[np.str_] | None
    channels: npt.NDArray[np.str_] | None
    items: tuple[npt.NDArray[Any], ...] | None
    info: LoadInfo


def _status_code(text: str) -> int:
    return parse_status(text).code


def read_order_columns(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    columns: CsvColumns,
    zone: dt.tzinfo,
    amount_unit: str,
    encoding: str = "auto",
    engine: Engine | str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> OrderColumns:
    """Read and check an orders CSV file; see :func:`ecrm.read_orders_csv` for the rules.

    Raises:
        DataFormatErrorGroup: every problem of the file at once.
    """

    resolve = _order_layout(columns)

    def sink(layout: Layout, problems: Problems) -> _OrderSink:
        return _OrderSink(layout, zone, amount_unit, problems)

    (cols, units), info = read_csv(
        path, what="orders", resolve=resolve, sink=sink, encoding=encoding, engine=engine,
        chunk_rows=chunk_rows, progress=progress,
    )
    info = attrs.evolve(
        info,
        amount_units={h: u for h, (u, _why) in units.items()},
        amount_reasons={h: why for h, (_u, why) in units.items()},
    )
    return attrs.evolve(cols, info=info)


def _order_layout(columns: CsvColumns) -> Callable[[list[str], str], Layout]:
    """The header resolver of an orders file read with ``columns``."""

    def resolve(header_row: list[str], source: str) -> Layout:
        candidates = {f: columns.candidates(f) for f in FIELDS if columns.candidates(f)}
        required: dict[str, str] = {}
        for field in FIELDS:
            if columns.is_promised(field) and columns.candidates(field):
                required[field] = (
                    f"is required (for {field})" if field in REQUIRED
                    else f"was named in columns= (for {field})"
                )
        layout = resolve_header(header_row, candidates, required, source)
        if "sku" in layout.index and "order_id" not in layout.index and columns.candidates("order_id"):
            resolve_header(
                header_row, candidates,
                {"order_id": "is required (for order_id) when the file has item lines (a sku column)"},
                source,
            )
        return layout

    return resolve


def read_order_batches(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    columns: CsvColumns,
    zone: dt.tzinfo,
    amount_unit: str,
    start: Callable[[], Callable[[OrderColumns], None]],
    batch_rows: int,
    encoding: str = "auto",
    engine: Engine | str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> LoadInfo:
    """Read an orders CSV file in batches of about ``batch_rows`` rows, each checked and
    handed on as :class:`OrderColumns`, so memory holds one batch rather than the file.

    Cells are parsed and checked as :func:`read_order_columns` does, with physical line
    numbers of the whole file, and every problem of the file is raised at once at the end.
    What needs the whole file is checked within each batch only (order ids unique, a
    customer's sums within int64): the batches are meant to be summarised and merged.
    ``amount_unit="auto"`` decides per batch; a later batch that decides otherwise than the
    first (integer cells first, yuan decimals later) is a problem naming its first line.
    A file with item lines (a ``sku`` column) is one batch: an order's lines stay together.

    Args:
        path, columns, zone, amount_unit, encoding, engine, chunk_rows, progress: as
            :func:`read_order_columns`.
        start: called at the start of each pass over the file (the arrow engine may hand
            a file to the python engine after some batches); returns the function that
            takes that pass's batches. Only the last pass's batches count.
        batch_rows: rows per batch (>= 1); a batch ends at a chunk boundary at or past it.

    Returns:
        What the read decided (rows counted over the whole file).

    Raises:
        DataFormatErrorGroup: every problem of the file at once (no batch is handed on once a
            problem is found).
    """
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidValueError("batch_rows", "must be an int >= 1", batch_rows)

    def sink(layout: Layout, problems: Problems) -> _BatchSink:
        return _BatchSink(layout, zone, amount_unit, problems, start(), batch_rows)

    units, info = read_csv(
        path, what="orders", resolve=_order_layout(columns), sink=sink, encoding=encoding,
        engine=engine, chunk_rows=min(chunk_rows, batch_rows), progress=progress,
    )
    return attrs.evolve(
        info,
        amount_units={h: u for h, (u, _why) in units.items()},
        amount_reasons={h: why for h, (_u, why) in units.items()},
    )


class _BatchSink:
    """Parses chunks like :class:`_OrderSink` and hands on the columns every ``batch_rows``."""

    #: plain blocks of the python engine come as byte offsets (see ``_csv._Feed``)
    takes_bytes = True

    def __init__(
        self, layout: Layout, zone: dt.tzinfo, unit: str, problems: Problems,
        take: Callable[[OrderColumns], None], batch_rows: int,
    ) -> None:
        self.args = (layout, zone, unit, problems)
        self.problems = problems
        self.take = take
        self.batch_rows = batch_rows if "sku" not in layout.index else None
        self.inner = _OrderSink(*self.args)
        self.rows = 0
        self.units: dict[str, tuple[str, str]] | None = None
        self.first_line = 0

    def prepare(self, chunk: Chunk) -> Chunk:
        return self.inner.prepare(chunk)  # (stateless: any inner sink of the read will do)

    def add(self, chunk: Chunk) -> None:
        if not self.rows and len(chunk.lines):
            self.first_line = int(chunk.lines[0])
        self.inner.add(chunk)
        self.rows += len(chunk.lines)
        if self.batch_rows is not None and self.rows >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if not self.rows and self.units is not None:
            return
        cols, units = self.inner.finish()
        if self.units is None:
            self.units = units
        else:
            for header, (unit, why) in units.items():
                was, _ = self.units.get(header, (unit, why))
                if unit != was:
                    self.problems.add_cell(
                        self.first_line, header, unit,
                        f"is read as {unit} from this line on but as {was} before ({why}); "
                        f"a file read in batches needs one amount unit: pass it",
                    )
        if self.rows and not self.problems:
            self.take(cols)
        self.inner = _OrderSink(*self.args)
        self.rows = 0

    def finish(self) -> dict[str, tuple[str, str]]:
        self._flush()
        return self.units or {}


class _OrderSink:
    """Parses the chunks of one pass over an orders file; ``finish`` builds the columns."""

    #: plain blocks of the python engine come as byte offsets (see ``_csv._Feed``)
    takes_bytes = True

    def __init__(self, layout: Layout, zone: dt.tzinfo, unit: str, problems: Problems) -> None:
        self.layout = layout
        self.zone = zone
        self.unit = unit
        self.problems = problems
        self.chunks = _Chunks()
        # a header that names its unit decides it before any value is read
        money: dict[str, tuple[str, bool]] = {
            f: (layout.header[f], False) for f in MONEY_FIELDS if f in layout.index
        }
        self.parse_units = {
            f: (u if unit != "auto" or why.startswith("the header") else "auto")
            for f, (u, why) in decide_units(unit, money).items()
        }
        self.big: dict[int, str] = {}  # line -> text of amounts too big if read as yuan

    def prepare(self, chunk: Chunk) -> Chunk:
        """The chunk with its arrow columns parsed (on a worker thread; see ``_csv.Sink``)."""
        if not chunk.arrow:
            return chunk
        prepared = {field: _arrow_parsed(field, arr, self.parse_units, self.zone)
                    for field, arr in chunk.arrow.items()}
        return attrs.evolve(chunk, prepared=prepared)

    def add(self, chunk: Chunk) -> None:
        _parse_chunk(chunk, self.layout, self.parse_units, self.zone, self.problems,
                     self.chunks, self.big)

    def finish(self) -> tuple[OrderColumns, dict[str, tuple[str, str]]]:
        chunks = self.chunks
        # the ids are coded (a pass over every row) while the money columns are checked
        coding = Background(chunks.customer_ids.finish)
        try:
            return self._finish(coding)
        finally:
            coding.join()

    def _finish(self, coding: Background[CodedIds]) -> tuple[OrderColumns, dict[str, tuple[str, str]]]:
        layout = self.layout
        chunks = self.chunks
        lines = chunks.lines()
        present = [f for f in chunks.money_fields if f != "quantity"]
        marked = {f: (layout.header[f], chunks.marked(f)) for f in present}
        units = decide_units(self.unit, marked)
        for field in present:
            cells = chunks.money(field)
            fen = to_fen(cells, units[field][0], layout.header[field], lines, self.problems,
                         self.big)
            if field == "amount":
                # one order over 10^15 fen is a typo or a wrong unit, caught on its own line
                over = np.flatnonzero(fen > MAX_ORDER_FEN)
                shown = [str(int(v)) if units[field][0] == "fen" else f"{int(v) // 100}.{int(v) % 100:02d}"
                         for v in fen[over].tolist()]
                self.problems.add_rows(np.arange(len(over)), layout.header[field], shown,
                                       ORDER_FEN_RULE, lines=lines[over])
            chunks.done[field] = fen
            del cells, fen
        cols = _assemble(self.chunks, coding.result(), layout,
                         {f: u for f, (u, _w) in units.items()}, self.zone, self.problems)
        return cols, {layout.header[f]: v for f, v in units.items()}


class _Lines:
    """The physical line of each row, made into an array only when a message needs one
    (rows of a file without blank or multi-line rows are on consecutive lines)."""

    def __init__(self, n: int, first: int, column: GrowingColumn | None) -> None:
        self._n = n
        self._first = first
        self._column = column
        self._array: IntArray | None = None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, rows: Any) -> Any:
        if self._column is None and self._array is None:
            # consecutive lines: the line of row i is first + i, for any integer rows
            # (no column of 10M line numbers made to look up the few rows of a message)
            if isinstance(rows, int | np.integer) and -self._n <= rows < self._n:
                return self._first + int(rows) % self._n
            picked = np.asarray(rows)
            if picked.dtype.kind in "iu" and (
                    not picked.size
                    or (int(picked.min()) >= -self._n and int(picked.max()) < self._n)):
                return self._first + np.where(picked < 0, picked + self._n, picked).astype(np.int64)
        if self._array is None:
            self._array = (
                np.arange(self._first, self._first + self._n, dtype=np.int64)
                if self._column is None else self._column.array(self._n)
            )
        return self._array[rows]


class _Chunks:
    """Accumulates the parsed columns of a file's chunks.

    Numeric columns go into one :class:`GrowingColumn` each, sized from the reader's estimate
    of the file's rows (no parts joined at the end); text columns (order ids, SKUs,
    provinces …) are kept as chunk parts and joined at the end; customer ids are coded as
    they come (:class:`IdCoder`); line numbers are kept only when rows are not on
    consecutive lines.
    """

    def __init__(self) -> None:
        self.parts: dict[str, list[npt.NDArray[Any]]] = {}
        self.columns: dict[str, GrowingColumn] = {}
        self.done: dict[str, npt.NDArray[Any]] = {}
        self.money_fields: list[str] = []
        self.customer_ids = IdCoder()
        self.rows = 0  # rows of every chunk begun
        self.at = 0  # the first row of the current chunk
        self._hint = 0
        self._first_line = 0
        self._next_line = -1
        self._lines: GrowingColumn | None = None

    def begin(self, lines: IntArray, rows_hint: int) -> None:
        """Start a chunk of ``len(lines)`` rows on physical lines ``lines``."""
        n = len(lines)
        self.at = self.rows
        self.rows += n
        # a margin over the reader's estimate (pages never written cost nothing); never
        # below what is already read
        self._hint = max(self._hint, rows_hint + rows_hint // 4, self.rows)
        if self.at == 0:
            self.customer_ids.expect(self._hint)
        if not n:
            return
        first, last = int(lines[0]), int(lines[-1])
        consecutive = last - first == n - 1 and (self.at == 0 or first == self._next_line)
        if self._lines is None and consecutive:
            if self.at == 0:
                self._first_line = first
            self._next_line = last + 1
            return
        if self._lines is None:
            self._lines = GrowingColumn(np.int64, self._hint)
            if self.at:
                self._lines.put(0, np.arange(self._first_line, self._first_line + self.at))
        self._lines.put(self.at, lines)

    def lines(self) -> _Lines:
        """The physical line of every row."""
        return _Lines(self.rows, self._first_line, self._lines)

    def column(self, name: str, dtype: Any) -> GrowingColumn:
        col = self.columns.get(name)
        if col is None:
            col = self.columns[name] = GrowingColumn(dtype, self._hint)
        return col

    def add(self, name: str, arr: npt.NDArray[Any]) -> None:
        """The current chunk's cells of column ``name``."""
        if arr.dtype.kind in "biu":
            self.column(name, arr.dtype).put(self.at, arr)
        else:
            self.parts.setdefault(name, []).append(arr)

    def add_money(self, field: str, cells: MoneyCells) -> None:
        """The current chunk's money cells; cents and marks are stored only once a chunk has
        some (a column of whole fen keeps 8 bytes a cell, not 17)."""
        if field not in self.money_fields:
            self.money_fields.append(field)
        self.column(f"{field}/whole", np.int64).put(self.at, cells.whole)
        if bool(cells.cents.any()):
            self.column(f"{field}/cents", np.int64).put(self.at, cells.cents)
        if bool(cells.marked.any()):
            self.column(f"{field}/marked", np.bool_).put(self.at, cells.marked)

    def marked(self, field: str) -> bool:
        """Whether a cell of money column ``field`` has a decimal point, separator or sign."""
        col = self.columns.get(f"{field}/marked")
        return col is not None and col.written

    def money(self, field: str) -> MoneyCells:
        """The money cells of ``field`` (every chunk)."""
        n = self.rows
        whole = self.column(f"{field}/whole", np.int64).array(n)
        cents = self.column(f"{field}/cents", np.int64).array(n)
        marked = self.column(f"{field}/marked", np.bool_).array(n)
        for part in ("whole", "cents", "marked"):
            self.columns.pop(f"{field}/{part}")
        return MoneyCells(whole, cents, marked)

    def get(self, name: str, dtype: Any) -> npt.NDArray[Any]:
        """Column ``name`` of every chunk."""
        if name in self.done:
            return self.done[name]
        col = self.columns.get(name)
        if col is not None:
            return col.array(self.rows)
        parts = self.parts.get(name)
        if not parts:
            return np.zeros(0, dtype=dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _parse_chunk(
    chunk: Chunk,
    layout: Layout,
    units: Mapping[str, str],
    zone: dt.tzinfo,
    problems: Problems,
    chunks: _Chunks,
    big: dict[int, str],
) -> None:
    lines = chunk.lines
    chunks.begin(lines, chunk.rows_hint)
    n = len(lines)
    arrow = chunk.arrow or {}
    prepared = chunk.prepared or {}
    for field in chunk.cells:
        name = layout.header[field]
        if field in arrow:
            parsed = (prepared[field] if field in prepared
                      else _arrow_parsed(field, arrow[field], units, zone))
            if parsed is not _NO_FAST_PATH:
                _arrow_field(field, arrow[field], parsed, name, lines, units, problems, chunks,
                             big)
                continue
        column = chunk.cells[field]
        if isinstance(column, ByteCells):  # a plain block's cells (the python engine)
            if _bytes_field(field, column, name, lines, units, zone, problems, chunks, big):
                continue
            column = bytes_text(column)
        if (not isinstance(column, np.ndarray) and field in (*TIME_FIELDS, *MONEY_FIELDS)
                and _list_field(field, column, name, lines, units, zone, problems, chunks,
                                big)):
            continue
        if field == "customer_id":  # coded as read: no column of id text (see _idcodes)
            cell_list = column.tolist() if isinstance(column, np.ndarray) else column
            empty = chunks.customer_ids.add_cells(cell_list)
            problems.add_rows(empty, name, cell_list, "must not be empty", lines=lines)
            continue
        if field == "status":  # a few distinct texts: a dict beats a numpy text column
            codes, bad_status = coded_column(column, _status_code)
            for i, rule in bad_status:
                problems.add_cell(int(lines[i]), name, str(column[i]), rule)
            chunks.add(field, codes)
            continue
        if isinstance(column, np.ndarray):
            cells = column if n else np.zeros(0, dtype="U1")
        else:
            cells = as_text(column) if n else np.zeros(0, dtype="U1")
        if field == "order_id":
            ids = parse_ids(cells)
            if n:
                empty = np.flatnonzero(ids == "")
                problems.add_rows(empty, name, cells, "must not be empty", lines=lines)
            chunks.add(field, ids)
        elif field in TIME_FIELDS:
            us, bad = parse_instants(cells, zone)
            for i in bad:
                problems.add_cell(int(lines[i]), name, str(cells[i]), TS_RULE)
            if field == "placed_at" and n:
                missing = np.flatnonzero(_strip(cells) == "")
                problems.add_rows(missing, name, cells, "must not be empty", lines=lines)
            chunks.add(field, us)
        elif field in MONEY_FIELDS:
            parsed, bad_money = parse_money(cells, units[field])
            for i in np.flatnonzero(parsed.whole > MAX_WHOLE_YUAN).tolist():
                big[int(lines[i])] = str(cells[i]).strip()
            for i, rule in bad_money:
                problems.add_cell(int(lines[i]), name, str(cells[i]), rule)
            if field == "amount" and n:
                missing = np.flatnonzero(_strip(cells) == "")
                problems.add_rows(missing, name, cells, "must not be empty", lines=lines)
            chunks.add_money(field, parsed)
        elif field == "quantity":
            qcells, bad_qty = parse_money(cells, "fen")
            for i, _rule in bad_qty:
                problems.add_cell(int(lines[i]), name, str(cells[i]), "must be a whole number >= 1")
            qty = qcells.whole
            zero = np.flatnonzero(qty == 0)
            problems.add_rows(zero, name, cells, "must be a whole number >= 1", lines=lines)
            qty = np.where(qty == -1, 1, qty)
            chunks.add(field, qty)
        else:
            text = _strip(cells)
            if field == "province" and n and bool(np.any(np.strings.find(text, " ") >= 0)):
                # a full address ("浙江省 杭州市 西湖区 …") keeps its first word: the province
                text = np.asarray([t.split()[0] if t else t for t in text.tolist()], dtype=str)
            chunks.add(field, text)


# -- the arrow engine's fast paths -----------------------------------------------------------------
# Each settles in Arrow/numpy the cells whose text has one plain shape and hands the others
# (empty, odd or bad cells) to the exact per-cell parsers above, so both paths give the same
# values; a property test checks the agreement.
#: What :func:`_arrow_parsed` gives for a field it has no fast path for.
_NO_FAST_PATH: Final = object()


def _arrow_parsed(field: str, arr: Any, units: Mapping[str, str], zone: dt.tzinfo) -> Any:
    """The heavy, stateless part of parsing one arrow column of a chunk (safe on any
    thread); :func:`_arrow_field` stores and reports it. ``_NO_FAST_PATH`` for a field
    without one."""
    if field == "status":
        return arrow_coded(arr, _status_code)
    if field == "customer_id":
        return arrow_digit_values(arr)
    if field == "order_id":
        return arrow_ids(arr)
    if field in TIME_FIELDS:
        return arrow_instants(arr, zone)
    if field in MONEY_FIELDS:
        return arrow_money(arr, units[field])
    return _NO_FAST_PATH


def _arrow_field(
    field: str,
    arr: Any,
    parsed: Any,
    name: str,
    lines: IntArray,
    units: Mapping[str, str],
    problems: Problems,
    chunks: _Chunks,
    big: dict[int, str],
) -> None:
    """Store one arrow column of a chunk, parsed by :func:`_arrow_parsed`, and report its
    bad cells."""
    if field == "status":
        codes, bad_status = parsed
        for i, text, rule in bad_status:
            problems.add_cell(int(lines[i]), name, text, rule)
        chunks.add(field, codes)
    elif field == "customer_id":
        empty = chunks.customer_ids.add_arrow(arr, digits=parsed)
        if empty.size:
            problems.add_rows(np.arange(len(empty)), name, arrow_text(arr.take(empty)),
                              "must not be empty", lines=lines[empty])
    elif field == "order_id":
        ids = parsed
        if len(ids):
            empty = np.flatnonzero(ids == "")
            if empty.size:
                problems.add_rows(empty, name, arrow_text(arr), "must not be empty", lines=lines)
        chunks.add(field, ids)
    elif field in TIME_FIELDS:
        us, rest, texts, bad = parsed
        _report_instants(field, name, lines, rest, texts, bad, problems)
        chunks.add(field, us)
    else:  # money
        cells, rest, texts, bad_money = parsed
        for i in np.flatnonzero(cells.whole > MAX_WHOLE_YUAN).tolist():
            big[int(lines[i])] = str(arr[i].as_py()).strip()
        _report_money(field, name, lines, rest, texts, bad_money, problems)
        chunks.add_money(field, cells)


def _bytes_field(
    field: str,
    cells: ByteCells,
    name: str,
    lines: IntArray,
    units: Mapping[str, str],
    zone: dt.tzinfo,
    problems: Problems,
    chunks: _Chunks,
    big: dict[int, str],
) -> bool:
    """A column of a plain block given as its cells' bytes: times, money and customer ids
    are read from the bytes as the arrow engine's are; ``False`` for the other fields
    (their text is made from the bytes)."""

    def text_of(rows: IntArray) -> npt.NDArray[np.str_]:
        return bytes_text(ByteCells(cells.data, cells.starts[rows], cells.lengths[rows]))

    if field in TIME_FIELDS:
        us, rest, texts, bad = fast_instants(cells, text_of, zone)
        _report_instants(field, name, lines, rest, texts, bad, problems)
        chunks.add(field, us)
        return True
    if field in MONEY_FIELDS:
        parsed, rest, texts, bad_money = fast_money(cells, text_of, units[field])
        for i in np.flatnonzero(parsed.whole > MAX_WHOLE_YUAN).tolist():
            big[int(lines[i])] = str(text_of(np.asarray([i]))[0]).strip()
        _report_money(field, name, lines, rest, texts, bad_money, problems)
        chunks.add_money(field, parsed)
        return True
    if field == "customer_id":
        empty = chunks.customer_ids.add_bytes(cells)
        if empty.size:
            problems.add_rows(empty, name, bytes_text(cells), "must not be empty", lines=lines)
        return True
    return False


def _list_field(
    field: str,
    column: list[str],
    name: str,
    lines: IntArray,
    units: Mapping[str, str],
    zone: dt.tzinfo,
    problems: Problems,
    chunks: _Chunks,
    big: dict[int, str],
) -> bool:
    """A time or money column of the python engine, read from its bytes like the arrow one's;
    ``False`` when a cell holds a line break (the text path takes it)."""
    cells = text_bytes(column)
    if cells is None:
        return False

    def text_of(rows: IntArray) -> npt.NDArray[np.str_]:
        return as_text([column[i] for i in rows.tolist()])

    if field in TIME_FIELDS:
        us, rest, texts, bad = fast_instants(cells, text_of, zone)
        _report_instants(field, name, lines, rest, texts, bad, problems)
        chunks.add(field, us)
        return True
    parsed, rest, texts, bad_money = fast_money(cells, text_of, units[field])
    for i in np.flatnonzero(parsed.whole > MAX_WHOLE_YUAN).tolist():
        big[int(lines[i])] = str(as_text([column[i]])[0]).strip()
    _report_money(field, name, lines, rest, texts, bad_money, problems)
    chunks.add_money(field, parsed)
    return True


def _report_instants(
    field: str, name: str, lines: IntArray, rest: IntArray, texts: npt.NDArray[np.str_],
    bad: Any, problems: Problems,
) -> None:
    """Record the bad and the empty cells of a time column the fast path left to the exact
    parser (``rest``: their positions; ``texts``: their text; ``bad``: indexes into both)."""
    for k in bad:
        problems.add_cell(int(lines[rest[k]]), name, str(texts[k]), TS_RULE)
    if field == "placed_at" and len(rest):
        missing = np.flatnonzero(_strip(texts) == "")
        problems.add_rows(missing, name, texts, "must not be empty", lines=lines[rest])


def _report_money(
    field: str, name: str, lines: IntArray, rest: IntArray, texts: npt.NDArray[np.str_],
    bad: Any, problems: Problems,
) -> None:
    """Record the bad and the empty cells of a money column, as :func:`_report_instants`;
    ``bad`` holds (index, rule) pairs."""
    for k, rule in bad:
        problems.add_cell(int(lines[rest[k]]), name, str(texts[k]), rule)
    if field == "amount" and len(rest):
        missing = np.flatnonzero(_strip(texts) == "")
        problems.add_rows(missing, name, texts, "must not be empty", lines=lines[rest])


def _assemble(
    chunks: _Chunks,
    customer: CodedIds,
    layout: Layout,
    units: Mapping[str, str],
    zone: dt.tzinfo,
    problems: Problems,
) -> OrderColumns:
    have = layout.index
    name = layout.header
    lines = chunks.lines()
    n = chunks.rows
    placed = chunks.get("placed_at", np.int64)
    amount = chunks.get("amount", np.int64)
    refund = chunks.get("refunded", np.int64) if "refunded" in have else np.zeros(n, np.int64)
    status = (
        chunks.get("status", np.int8) if "status" in have
        else np.full(n, parse_status("paid").code, dtype=np.int8)
    )
    paid = chunks.get("paid_at", np.int64) if "paid_at" in have else None
    oids = chunks.get("order_id", "U1") if "order_id" in have else None
    prov = chunks.get("province", "U1") if "province" in have else None
    chan = chunks.get("channel", "U1") if "channel" in have else None

    render = _Renderer(units, zone, customer.ids)
    _check_sums(customer.codes, customer.ids, amount, lines, name["customer_id"], problems)
    if "refunded" in have:
        # (empty and bad refunds, -1 and -2, are below every amount: never over)
        over = np.flatnonzero((refund > amount) & (amount >= 0))
        for i in over.tolist():
            problems.add_cell(
                int(lines[i]), name["refunded"], render.money("refunded", int(refund[i])),
                f"must be <= the order amount ({render.money_text('amount', int(amount[i]))})",
            )
        np.maximum(refund, 0, out=refund)  # empty (and bad, reported) refunds count as 0

    items: tuple[npt.NDArray[Any], ...] | None = None
    keep: IntArray | None = None
    if "sku" in have and oids is not None:
        columns_by_field: dict[str, npt.NDArray[Any]] = {
            "customer_id": customer.codes, "placed_at": placed, "amount": amount, "status": status,
        }
        for field, arr in (("paid_at", paid), ("province", prov), ("channel", chan)):
            if arr is not None:
                columns_by_field[field] = arr
        if "refunded" in have:
            columns_by_field["refunded"] = refund
        empty_id = np.flatnonzero(customer.ids == "")
        keep, items = _group_lines(chunks, oids, lines, columns_by_field, amount, layout,
                                   render, problems, int(empty_id[0]) if empty_id.size else -1)
    elif oids is not None and n > 1:
        order = np.argsort(oids, kind="stable")
        s = oids[order]
        dup = np.flatnonzero((s[1:] == s[:-1]) & (s[1:] != ""))
        if dup.size:
            first_pos = _group_first(s, order)
            for k in dup.tolist():
                i = int(order[k + 1])
                earlier = int(lines[first_pos[k + 1]])
                problems.add_cell(int(lines[i]), name["order_id"], str(oids[i]),
                                  f"must be unique (order id already on line {earlier})")

    if keep is not None:
        customer, placed, amount, refund, status = (
            customer.take(keep), placed[keep], amount[keep], refund[keep], status[keep]
        )
        paid = None if paid is None else paid[keep]
        oids = None if oids is None else oids[keep]
        prov = None if prov is None else prov[keep]
        chan = None if chan is None else chan[keep]
    return OrderColumns(
        customer, placed, amount, refund, status, paid, oids, prov, chan, items,
        LoadInfo(source=problems.source, engine=""),
    )


_INT64_MAX = (1 << 63) - 1


def _check_sums(
    codes: npt.NDArray[np.integer[Any]], ids: npt.NDArray[np.str_], amount: IntArray,
    lines: LineNumbers, column: str, problems: Problems,
) -> None:
    """Report customers whose amounts sum past int64 fen (their totals could not be held).

    Each amount fits; only a file with huge amounts can overflow, so the exact check runs
    only when ``max(amount) * rows`` could pass the limit.
    """
    n = len(amount)
    if n == 0 or int(amount.max(initial=0)) * n <= _INT64_MAX:
        return
    # amounts over MAX_ORDER_FEN are already reported on their own lines
    a = np.where((amount > 0) & (amount <= MAX_ORDER_FEN), amount, 0)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    # split each amount into 32-bit halves: each half's sum is exact in int64
    sorted_a = a[order]
    high = np.add.reduceat(sorted_a >> 32, starts)
    low = np.add.reduceat(sorted_a & 0xFFFFFFFF, starts)
    for k in np.flatnonzero(high >= 1 << 30).tolist():
        total = (int(high[k]) << 32) + int(low[k])
        if total > _INT64_MAX:
            first = int(order[starts[k]])
            problems.add_cell(
                int(lines[first]), column, str(ids[codes[starts[k]]]),
                f"has orders summing to {total:,} fen, more than int64 fen can hold "
                f"({_INT64_MAX:,}); an amount is probably in the wrong unit",
            )


def _group_first(sorted_ids: npt.NDArray[Any], order: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """For each position of a sorted id array, the original row of its group's first member."""
    n = len(sorted_ids)
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_ids[1:] != sorted_ids[:-1]
    group = np.cumsum(starts) - 1
    return np.asarray(order[np.flatnonzero(starts)][group])


def _group_lines(
    chunks: _Chunks,
    oids: npt.NDArray[Any],
    lines: LineNumbers,
    order_cols: dict[str, npt.NDArray[Any]],
    amount: IntArray,
    layout: Layout,
    render: _Renderer,
    problems: Problems,
    empty_customer: int,
) -> tuple[IntArray, tuple[npt.NDArray[Any], ...]]:
    """Group item rows into orders; check order-level agreement; build the lines.

    ``order_cols["customer_id"]`` holds customer codes; ``empty_customer`` is the code of
    the empty id (-1 when none).
    """
    n = len(oids)
    have = layout.index
    order = np.argsort(oids, kind="stable")
    s = oids[order]
    first_sorted = _group_first(s, order) if n else np.zeros(0, np.intp)
    first = np.empty(n, dtype=np.intp)
    first[order] = first_sorted
    counts_sorted = np.zeros(n, dtype=np.int64)
    if n:
        starts = np.ones(n, dtype=bool)
        starts[1:] = s[1:] != s[:-1]
        group = np.cumsum(starts) - 1
        sizes = np.bincount(group)
        counts_sorted = sizes[group]
    count = np.empty(n, dtype=np.int64)
    count[order] = counts_sorted
    # rows without an order id (already reported) do not form one big order together
    no_id = np.flatnonzero(oids == "")
    first[no_id] = no_id
    count[no_id] = 1
    rows = np.arange(n)
    repeat = np.flatnonzero(first != rows)
    for field, arr in order_cols.items():
        if not repeat.size:
            break
        a, b = arr[repeat], arr[first[repeat]]
        differ = a != b
        # cells already reported as bad or empty (sentinels) are not also called disagreeing
        if field == "placed_at":
            differ &= (a != NAT_US) & (b != NAT_US)
        elif field == "amount":
            differ &= (a >= 0) & (b >= 0)
        elif field == "customer_id":
            differ &= (a != empty_customer) & (b != empty_customer)
        for i in repeat[np.flatnonzero(differ)].tolist():
            j = int(first[i])
            problems.add_cell(
                int(lines[i]), layout.header[field], render.value(field, arr[i]),
                f"must be the same on every line of order {str(oids[i])!r}; line {int(lines[j])} "
                f"has {render.value(field, arr[j])!r}",
            )
    sku = chunks.get("sku", "U1")
    is_line = sku != ""
    qty = chunks.get("quantity", np.int64) if "quantity" in have else np.ones(n, np.int64)
    price = chunks.get("unit_price", np.int64) if "unit_price" in have else np.full(n, -1, np.int64)
    cat = chunks.get("category", "U1") if "category" in have else np.full(n, "", dtype="U1")
    price_name = layout.header.get("unit_price", "unit_price")
    missing = np.flatnonzero(is_line & (price == -1) & (qty >= 1) & (amount >= 0))
    derived = price.copy()
    for i in missing.tolist():
        if count[i] > 1:
            problems.add_cell(int(lines[i]), price_name, "",
                         f"is required when an order has several lines (order {str(oids[i])!r})")
        elif int(amount[i]) % int(qty[i]):
            problems.add_cell(
                int(lines[i]), price_name, "",
                f"is missing and amount {render.money('amount', int(amount[i]))} is not a whole number "
                f"of fen per unit for quantity {int(qty[i])}",
            )
        else:
            derived[i] = int(amount[i]) // int(qty[i])
    idx = np.flatnonzero(is_line)
    keep = np.sort(np.unique(first)).astype(np.int64) if n else np.zeros(0, np.int64)
    items = (oids[idx], sku[idx], cat[idx], qty[idx], derived[idx])
    return keep, items


class _Renderer:
    """Shows parsed values the way the file writes them, for end-of-file messages."""

    def __init__(
        self, units: Mapping[str, str], tz: dt.tzinfo, customer_ids: npt.NDArray[np.str_]
    ) -> None:
        self.units = units
        self.tz = tz
        self.customer_ids = customer_ids

    def money(self, field: str, fen: int) -> str | int:
        if self.units.get(field, "fen") == "fen":
            return fen
        return f"{fen // 100}.{fen % 100:02d}"

    def money_text(self, field: str, fen: int) -> str:
        shown = self.money(field, fen)
        return f"{shown} fen" if self.units.get(field, "fen") == "fen" else f"{shown} yuan"

    def value(self, field: str, v: Any) -> Any:
        v = v.item() if isinstance(v, np.generic) else v
        if field in TIME_FIELDS:
            return "" if v == NAT_US else us_to_datetime(int(v), self.tz).isoformat()
        if field in ("amount", "refunded"):
            return self.money(field, int(v))
        if field == "status":
            return STATUS_BY_CODE[int(v)].value
        if field == "customer_id":  # a code
            return str(self.customer_ids[int(v)])
        return v
