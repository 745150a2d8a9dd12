"""One way out for every result: ``to_pandas``, ``to_polars``, ``to_arrow``, ``to_dicts``,
``to_csv``.

A result class inherits :class:`ResultFrame` and declares its columns once in
``_columns()``: an ordered mapping of column name to a numpy array or list (ints, bools,
floats, strings, customer ids) or to a :class:`Column` made by :func:`instants`,
:func:`dates` or :func:`nullable` for the kinds a bare array cannot say. Every output is
built from that one declaration here, so the five ways out always agree:

- money is integer fen in a column whose name ends in ``_fen`` (never a float);
- an instant is timezone-aware in the store's zone (pandas ``datetime64[us, zone]``, polars
  ``Datetime("us", zone)``, arrow ``timestamp("us", zone)``, an aware ``datetime`` in
  dicts, ISO 8601 with its offset in CSV);
- a calendar date is a date (polars ``Date``, arrow ``date32``, ``datetime.date`` in pandas
  and dicts, ``YYYY-MM-DD`` in CSV);
- a missing value is a null (pandas ``<NA>``/``NaN``/``NaT``, polars and arrow null,
  ``None`` in dicts, an empty CSV cell); a float NaN counts as missing;
- booleans are ``true`` / ``false`` in CSV.

pandas, polars and pyarrow are imported on first use; a missing one raises
:class:`~ecrm.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import IO, Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._money import Money
from ecrm._threads import OrderedWorkers, worker_threads
from ecrm._time import US_PER_SECOND, date_to_day, day_to_date, us_to_datetime, utc_offsets_us
from ecrm.errors import InvalidTypeError, MissingDependencyError

__all__ = [
    "Column",
    "ResultFrame",
    "dates",
    "fen",
    "instants",
    "isoformat_us",
    "moments",
    "nullable",
    "ratios",
    "table_arrow",
    "table_csv",
    "table_dicts",
    "table_pandas",
    "table_polars",
]

Kind = Literal["int", "bool", "float", "str", "instant", "date"]
_BOOL_TEXT: Final = np.asarray(["false", "true"])


@attrs.frozen(eq=False)
class Column:
    """One output column: its values, its kind and which rows are missing.

    Attributes:
        kind: ``int`` (int64), ``bool``, ``float`` (float64), ``str``, ``instant`` (int64
            epoch microseconds, shown in ``tz``) or ``date`` (int64 day numbers since
            1970-01-01).
        values: the data, shape (n,); missing rows hold any placeholder.
        missing: bool, shape (n,), or ``None`` when the column has no missing values
            by construction (a column declared nullable keeps its mask even when no row
            is missing, so its frame dtype does not depend on the data: pandas ``Int64``).
        tz: the zone of an ``instant`` column.
    """

    kind: Kind
    values: npt.NDArray[Any]
    missing: npt.NDArray[np.bool_] | None = None
    tz: dt.tzinfo | None = None

    def __len__(self) -> int:
        return len(self.values)

    def is_missing(self) -> npt.NDArray[np.bool_]:
        """bool, shape (n,): the missing rows (all False when nothing is missing)."""
        if self.missing is None:
            return np.zeros(len(self.values), dtype=np.bool_)
        return self.missing


def _mask(missing: Any, n: int) -> npt.NDArray[np.bool_] | None:
    if missing is None:
        return None
    mask = np.asarray(missing, dtype=np.bool_)
    if mask.shape != (n,):
        raise ValueError(f"missing must have shape ({n},), got {mask.shape}")
    return mask


def instants(
    us: npt.ArrayLike, tz: dt.tzinfo, missing: npt.ArrayLike | None = None
) -> Column:
    """An instant column: int64 epoch microseconds shown in the zone ``tz``."""
    values = np.asarray(us, dtype=np.int64)
    return Column("instant", values, _mask(missing, len(values)), tz)


def dates(
    days: npt.NDArray[np.int64] | Sequence[dt.date | None], missing: npt.ArrayLike | None = None
) -> Column:
    """A calendar-date column from day numbers (int64 days since 1970-01-01, with
    ``missing`` marking rows) or ``date`` values (``None`` for a missing date)."""
    if not isinstance(days, np.ndarray):
        seq = list(days)
        missing = np.asarray([v is None for v in seq], dtype=np.bool_)
        numbers = [0 if v is None else date_to_day(v) for v in seq]
        values = np.asarray(numbers, dtype=np.int64)
        return Column("date", values, _mask(missing, len(values)))
    values = np.asarray(days, dtype=np.int64)
    return Column("date", values, _mask(missing, len(values)))


def nullable(values: npt.NDArray[Any] | Sequence[Any], missing: npt.ArrayLike | None = None) -> Column:
    """A column with missing values: either ``values`` holds ``None`` where missing, or
    ``missing`` (bool, same shape) marks the rows."""
    if missing is None:
        seq = list(values) if not isinstance(values, np.ndarray) else values.tolist()
        gaps = [v is None for v in seq]
        present = [v for v in seq if v is not None]
        fill: Any = present[0] if present else 0
        col = as_column([fill if v is None else v for v in seq])
        return attrs.evolve(col, missing=_mask(gaps, len(seq)))
    col = as_column(values)
    return attrs.evolve(col, missing=_mask(missing, len(col)))


def as_column(value: Any) -> Column:
    """The :class:`Column` of a declared value (a Column, a numpy array or a list).

    The kind of an array follows its dtype (integers, bools, floats, strings); an object
    array or list follows its values (all ints, all bools, all strings, ``Fraction`` or
    float, ``None`` marking missing rows).

    Raises:
        InvalidTypeError: values of no supported kind (a programming error in a result).
    """
    if isinstance(value, Column):
        return value
    arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if arr.ndim != 1:
        arr = np.asarray(list(value), dtype=object)
    kind = arr.dtype.kind
    if kind == "b":
        return Column("bool", arr)
    if kind in "iu":
        return Column("int", arr.astype(np.int64, copy=False))
    if kind == "f":
        nan = np.isnan(arr)
        return Column("float", arr.astype(np.float64, copy=False), nan if nan.any() else None)
    if kind == "U":
        return Column("str", arr)
    if kind == "O":
        items = arr.tolist()
        if any(v is None for v in items):
            return nullable(items)
        if all(isinstance(v, bool | np.bool_) for v in items):
            return Column("bool", np.asarray(items, dtype=np.bool_))
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
            return Column("int", np.asarray(items, dtype=np.int64))
        if all(isinstance(v, str) for v in items):
            return Column("str", np.asarray(items, dtype=str) if items else np.zeros(0, "U1"))
        try:
            floats = np.asarray([float(v) for v in items], dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            return as_column(floats)
    raise InvalidTypeError(f"a result column must hold ints, bools, floats or strings, got {arr.dtype}")


def _table(columns: Mapping[str, Any]) -> dict[str, Column]:
    out = {name: as_column(value) for name, value in columns.items()}
    lengths = {len(c) for c in out.values()}
    if len(lengths) > 1:
        sizes = {name: len(c) for name, c in out.items()}
        raise ValueError(f"result columns must have one length, got {sizes}")
    return out


def _n_rows(table: Mapping[str, Column]) -> int:
    return len(next(iter(table.values()))) if table else 0


# -- text -----------------------------------------------------------------------------------
def _offset_text(offset_us: int) -> str:
    sign = "-" if offset_us < 0 else "+"
    seconds = abs(offset_us) // US_PER_SECOND
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def isoformat_us(us: npt.NDArray[np.int64], tz: dt.tzinfo) -> npt.NDArray[np.str_]:
    """``datetime.isoformat()`` in ``tz`` of each instant (epoch µs), vectorised (same text)."""
    if len(us) == 0:
        return np.zeros(0, dtype="U1")
    offsets = utc_offsets_us(us, tz)
    wall = (us + offsets).astype("datetime64[us]")
    text = np.datetime_as_string(wall, unit="s").astype("U26")
    fraction = (us % US_PER_SECOND) != 0
    if fraction.any():
        text[fraction] = np.datetime_as_string(wall[fraction], unit="us")
    kinds, inverse = np.unique(offsets, return_inverse=True)
    suffix = np.asarray([_offset_text(int(k)) for k in kinds])[inverse.reshape(-1)]
    return np.char.add(text, suffix)


def _text(col: Column) -> list[str]:
    """Each cell of ``col`` as CSV text, quoted where CSV needs it ("" where missing)."""
    v = col.values
    missing = col.missing
    if col.kind == "instant":
        assert col.tz is not None
        safe = v if missing is None else np.where(missing, 0, v)
        text: list[str] = isoformat_us(safe, col.tz).tolist()
    elif col.kind == "date":
        text = np.datetime_as_string(v.astype("datetime64[D]"), unit="D").tolist() if len(v) else []
    elif col.kind == "bool":
        text = _BOOL_TEXT[v.astype(np.int64)].tolist() if len(v) else []
    elif col.kind == "float":
        text = [repr(x) for x in v.tolist()]
    elif col.kind == "int":
        text = list(map(str, v.tolist()))
    else:
        text = list(map(str, v.tolist()))
        # One C-speed scan decides whether any cell needs quoting at all.
        if any(c in "\x00".join(text) for c in _SPECIAL):
            text = [_quote(t) for t in text]
    if missing is not None:
        for i in np.flatnonzero(missing).tolist():
            text[i] = ""
    return text


_SPECIAL: Final = (",", '"', "\n", "\r")
#: Rows written per block: memory stays bounded by the block, not the result.
_CSV_BLOCK_ROWS: Final = 100_000


def _quote(text: str) -> str:
    """A CSV cell as ``csv.writer`` (QUOTE_MINIMAL) writes it."""
    if any(c in text for c in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def _rows_of(table: Mapping[str, Column], start: int, stop: int) -> str:
    """Rows ``[start, stop)`` as CSV text, cell by cell: the plain writer (the reference the
    vectorised one, :func:`_block_bytes`, must equal; it takes the blocks that one cannot)."""
    cells = [
        _text(Column(c.kind, c.values[start:stop],
                     None if c.missing is None else c.missing[start:stop], c.tz))
        for c in table.values()
    ]
    if len(cells) == 1:  # csv.writer writes a lone empty cell as "" so the row is not blank
        lines = [t or '""' for t in cells[0]]
    else:
        lines = list(map(",".join, zip(*cells, strict=True)))
    return "\n".join(lines) + "\n" if lines else ""


# -- the vectorised CSV writer ------------------------------------------------------------------
# A block of rows is laid out as one byte matrix, a fixed slot of columns per table column
# (its widest cell) and one for the comma or line end after it, with a mask of the bytes
# that are text (digits are right-aligned in their slot, other text left-aligned; the rest is
# padding). ``matrix[mask]`` is then the block's CSV in one pass. A column whose cells are
# not plain (non-ASCII or quoted text, floats, odd instants) is encoded cell by cell by
# :func:`_text` and placed in the matrix the same way; a block with a very wide cell is left
# to the plain writer. Both give the same bytes (tests compare them).

#: The widest slot (bytes) of a column in the matrix; wider cells go to the plain writer.
_WIDEST_SLOT: Final = 256
_DIGIT: Final = np.uint8(48)


class _Cells:
    """One column of a block as bytes: ``matrix`` (n, width) and ``keep`` (n, width), the
    bytes that are text; ``None`` for ``keep`` means every byte is."""

    __slots__ = ("keep", "matrix")

    def __init__(self, matrix: npt.NDArray[np.uint8], keep: npt.NDArray[np.bool_] | None) -> None:
        self.matrix = matrix
        self.keep = keep


def _int_cells(v: npt.NDArray[np.int64]) -> _Cells:
    """Decimal text of int64 values, right-aligned (``str(int)`` of each)."""
    v = np.asarray(v, dtype=np.int64)
    n = len(v)
    neg = v < 0
    any_neg = bool(neg.any())
    x = v.view(np.uint64).copy()
    if any_neg:
        np.negative(x, out=x, where=neg)  # modular: -INT64_MIN is 2**63, as wanted
    digits = len(str(int(x.max()))) if n else 1
    width = digits + any_neg
    matrix = np.empty((n, width), dtype=np.uint8)
    keep = np.empty((n, width), dtype=np.bool_)
    q = np.empty_like(x)
    r = np.empty_like(x)
    for k in range(digits):
        col = width - 1 - k
        np.floor_divide(x, 10, out=q)
        np.multiply(q, 10, out=r)
        np.subtract(x, r, out=r)
        matrix[:, col] = r
        if k:
            np.greater(x, 0, out=keep[:, col])
        x, q = q, x
    matrix[:, width - digits:] += _DIGIT
    keep[:, width - 1] = True
    if any_neg:
        keep[:, 0] = False
        rows = np.flatnonzero(neg)
        sign_at = width - 1 - keep[rows, width - digits:].sum(axis=1)
        matrix[rows, sign_at] = ord("-")
        keep[rows, sign_at] = True
    return _Cells(matrix, keep)


def _ascii_cells(text: npt.NDArray[np.str_]) -> _Cells | None:
    """The cells of a numpy ``str`` array of ASCII text without NUL or CSV specials (left-
    aligned); ``None`` when a cell is not so."""
    n = len(text)
    width = text.dtype.itemsize // 4
    if width == 0 or n == 0:
        return _Cells(np.zeros((n, 0), np.uint8), None)
    if width > _WIDEST_SLOT:
        return None
    codes = np.ascontiguousarray(text).view(np.uint32).reshape(n, width)
    if int(codes.max()) >= 128:
        return None
    matrix = codes.astype(np.uint8)
    lengths = np.strings.str_len(text)
    keep = np.arange(width) < lengths[:, None]
    inside = matrix[keep]
    if inside.size and bool(((inside == 0) | (inside == 44) | (inside == 34) | (inside == 10)
                             | (inside == 13)).any()):
        return None
    return _Cells(matrix, None if bool(keep.all()) else keep)


def _text_cells(text: list[str]) -> _Cells | None:
    """Cells given as text (already quoted), left-aligned; ``None`` when one is too wide."""
    encoded = [t.encode("utf-8") for t in text]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    width = int(lengths.max(initial=0))
    if width > _WIDEST_SLOT:
        return None
    matrix = np.zeros((len(encoded), width), dtype=np.uint8)
    keep = np.arange(width) < lengths[:, None]
    matrix[keep] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return _Cells(matrix, keep)


#: "00" … "99" as bytes: the two digits of a number below 100.
_PAIRS: Final = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode("ascii"),
                              dtype=np.uint8).reshape(100, 2)


def _civil(days: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """(year, month, day) of day numbers since 1970-01-01 (proleptic Gregorian), vectorised
    (H. Hinnant's ``civil_from_days``)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _date_bytes(matrix: npt.NDArray[np.uint8], days: npt.NDArray[np.int64]) -> bool:
    """Write ``YYYY-MM-DD`` of each day number into ``matrix[:, :10]``; ``False`` (nothing
    to trust) when a year is outside 1000-9999."""
    year, month, day = _civil(days)
    if len(year) and (int(year.min()) < 1000 or int(year.max()) > 9999):
        return False
    matrix[:, 0:2] = _PAIRS[year // 100]
    matrix[:, 2:4] = _PAIRS[year % 100]
    matrix[:, 4] = ord("-")
    matrix[:, 5:7] = _PAIRS[month]
    matrix[:, 7] = ord("-")
    matrix[:, 8:10] = _PAIRS[day]
    return True


def _instant_cells(us: npt.NDArray[np.int64], tz: dt.tzinfo) -> _Cells | None:
    """``isoformat()`` of whole-second instants of years 1000-9999 in zones whose offsets are
    whole minutes; ``None`` for the others (the text path writes them)."""
    n = len(us)
    if n == 0 or bool((us % US_PER_SECOND != 0).any()):
        return None
    offsets = utc_offsets_us(us, tz)
    if bool((offsets == offsets[0]).all()):
        kinds, inverse = offsets[:1], np.zeros(n, dtype=np.intp)
    else:
        kinds, inverse = np.unique(offsets, return_inverse=True)
    suffixes = [_offset_text(int(k)) for k in kinds]
    if any(len(t) != 6 for t in suffixes):
        return None
    seconds = (us + offsets) // US_PER_SECOND
    days = seconds // 86_400
    of_day = seconds - days * 86_400
    matrix = np.empty((n, 25), dtype=np.uint8)
    if not _date_bytes(matrix, days):
        return None
    hours = of_day // 3600
    rest = of_day - hours * 3600
    minutes = rest // 60
    matrix[:, 10] = ord("T")
    matrix[:, 11:13] = _PAIRS[hours]
    matrix[:, 13] = ord(":")
    matrix[:, 14:16] = _PAIRS[minutes]
    matrix[:, 16] = ord(":")
    matrix[:, 17:19] = _PAIRS[rest - minutes * 60]
    table = np.frombuffer("".join(suffixes).encode("ascii"), dtype=np.uint8).reshape(-1, 6)
    matrix[:, 19:] = table[0] if len(table) == 1 else table[inverse.reshape(-1)]
    return _Cells(matrix, None)


def _date_cells(days: npt.NDArray[np.int64]) -> _Cells | None:
    """``YYYY-MM-DD`` of day numbers of years 1000-9999 (``None`` for others)."""
    matrix = np.empty((len(days), 10), dtype=np.uint8)
    return _Cells(matrix, None) if _date_bytes(matrix, days) else None


def _bool_cells(v: npt.NDArray[np.bool_]) -> _Cells:
    table = np.frombuffer(b"falsetrue\0", dtype=np.uint8).reshape(2, 5)
    picks = v.astype(np.intp)
    keep = np.ones((len(v), 5), dtype=np.bool_)
    keep[:, 4] = picks == 0
    return _Cells(table[picks], keep)


def _column_cells(col: Column) -> _Cells | None:
    """The bytes of one column of a block (missing cells still hold a placeholder)."""
    v = col.values
    if col.kind == "int":
        return _int_cells(v)
    if col.kind == "bool":
        return _bool_cells(v)
    if col.kind == "instant":
        assert col.tz is not None
        safe = v if col.missing is None else np.where(col.missing, 0, v)
        cells = _instant_cells(safe, col.tz)
        if cells is not None:
            return cells
    elif col.kind == "date":
        safe = v if col.missing is None else np.where(col.missing, 0, v)
        cells = _date_cells(safe)
        if cells is not None:
            return cells
    elif col.kind == "str" and v.dtype.kind == "U":
        cells = _ascii_cells(v)
        if cells is not None:
            return cells
    return _text_cells(_text(col))


class _Scratch:
    """The block matrices, allocated once and reused block after block (fresh pages for
    every block would cost more than filling them)."""

    def __init__(self) -> None:
        self._bytes = np.zeros(0, dtype=np.uint8)
        self._keep = np.zeros(0, dtype=np.bool_)

    def matrices(self, n: int, width: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
        """(bytes, keep) matrices of shape (n, width), contents undefined."""
        size = n * width
        if len(self._bytes) < size:
            self._bytes = np.empty(size, dtype=np.uint8)
            self._keep = np.empty(size, dtype=np.bool_)
        return self._bytes[:size].reshape(n, width), self._keep[:size].reshape(n, width)


def _block_bytes(
    table: Mapping[str, Column], start: int, stop: int, scratch: _Scratch
) -> bytes | None:
    """Rows ``[start, stop)`` as UTF-8 CSV bytes, vectorised (the bytes of :func:`_rows_of`);
    ``None`` when the plain writer must write the block."""
    n = stop - start
    if len(table) < 2 or n == 0:
        return None  # (a lone column writes an empty cell as "": the plain writer does)
    parts: list[tuple[_Cells, npt.NDArray[np.bool_] | None]] = []
    for c in table.values():
        missing = None if c.missing is None else c.missing[start:stop]
        cells = _column_cells(Column(c.kind, c.values[start:stop], missing, c.tz))
        if cells is None:
            return None
        parts.append((cells, missing))
    width = sum(cells.matrix.shape[1] + 1 for cells, _ in parts)
    matrix, keep = scratch.matrices(n, width)
    at = 0
    for j, (cells, missing) in enumerate(parts):
        w = cells.matrix.shape[1]
        matrix[:, at:at + w] = cells.matrix
        if cells.keep is not None:
            keep[:, at:at + w] = cells.keep
        else:
            keep[:, at:at + w] = True
        if missing is not None and w:
            keep[missing, at:at + w] = False
        matrix[:, at + w] = ord(",") if j < len(parts) - 1 else ord("\n")
        keep[:, at + w] = True
        at += w + 1
    return matrix[keep].tobytes()


def table_csv(columns: Mapping[str, Any], path_or_file: str | os.PathLike[str] | IO[str]) -> None:
    """Write the declared columns as CSV: a header line, then one line per row (UTF-8, ``\\n``,
    cells quoted only where needed, as ``csv.writer`` does)."""
    table = _table(columns)
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "wb") as fh:
            for block in _csv_blocks(table):
                fh.write(block.encode("utf-8") if isinstance(block, str) else block)
    else:
        for block in _csv_blocks(table):
            path_or_file.write(block if isinstance(block, str) else block.decode("utf-8"))


def _csv_blocks(table: Mapping[str, Column]) -> Iterator[str | bytes]:
    """The CSV of ``table`` in pieces: the header line, then blocks of rows (bytes from the
    vectorised writer, text from the plain one)."""
    header = [_quote(name) for name in table]
    yield (",".join(header) if len(header) != 1 else header[0] or '""') + "\n"
    n = _n_rows(table)
    scratch = threading.local()  # each thread's own byte matrices, reused block to block

    def block(start: int, stop: int) -> str | bytes:
        if not hasattr(scratch, "matrices"):
            scratch.matrices = _Scratch()
        made = _block_bytes(table, start, stop, scratch.matrices) if VECTORISED_CSV else None
        return made if made is not None else _rows_of(table, start, stop)

    # blocks are made on worker threads (numpy lets go of the GIL) and written in order
    with OrderedWorkers(worker_threads() if n > _CSV_BLOCK_ROWS else 0) as workers:
        for start in range(0, n, _CSV_BLOCK_ROWS):
            workers.submit(block, start, min(n, start + _CSV_BLOCK_ROWS))
            yield from workers.due()
        yield from workers.rest()


#: The vectorised CSV writer is on (tests turn it off to compare with the plain one).
VECTORISED_CSV = True


# -- Python values ------------------------------------------------------------------------------
def _python(col: Column) -> list[Any]:
    """Each cell of ``col`` as a plain Python value (``None`` where missing)."""
    if col.kind == "instant":
        assert col.tz is not None
        tz = col.tz
        out: list[Any] = [us_to_datetime(u, tz) for u in col.values.tolist()]
    elif col.kind == "date":
        out = [day_to_date(d) for d in col.values.tolist()]
    elif col.kind == "float":
        out = [float(x) for x in col.values.tolist()]
    else:
        out = col.values.tolist()
    if col.missing is not None:
        for i in np.flatnonzero(col.missing).tolist():
            out[i] = None
    return out


def table_dicts(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per row, keys in column order, plain Python values."""
    table = _table(columns)
    names = list(table)
    values = [_python(c) for c in table.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


# -- frames ---------------------------------------------------------------------------------
def zone_text(tz: dt.tzinfo) -> str:
    """The zone as frame libraries spell it: the IANA key, ``UTC`` or ``+08:00``."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    off = tz.utcoffset(None)
    if off is None:
        raise InvalidTypeError(f"result instants need a zone with a name or fixed offset, got {tz!r}")
    if off == dt.timedelta(0):
        return "UTC"
    return _offset_text((off.days * 86_400 + off.seconds) * US_PER_SECOND + off.microseconds)


def table_pandas(columns: Mapping[str, Any], purpose: str) -> Any:
    """A pandas ``DataFrame`` of the declared columns."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError.for_extra("pandas", "pandas", purpose) from None
    table = _table(columns)
    data: dict[str, Any] = {}
    for name, col in table.items():
        v, missing = col.values, col.missing
        if col.kind == "instant":
            assert col.tz is not None
            stamps = v.astype("datetime64[us]")
            if missing is not None:
                stamps = np.where(missing, np.datetime64("NaT", "us"), stamps)
            series = pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(col.tz))
        elif col.kind == "date":
            series = pd.Series(_python(col), dtype=object)
        elif col.kind == "int" and missing is not None:
            series = pd.Series(pd.arrays.IntegerArray(v.astype(np.int64), missing.copy()))
        elif col.kind == "bool" and missing is not None:
            series = pd.Series(pd.arrays.BooleanArray(v.astype(np.bool_), missing.copy()))
        elif col.kind == "float":
            series = pd.Series(v if missing is None else np.where(missing, np.nan, v))
        elif col.kind == "str":
            series = pd.Series(v if missing is None else _python(col))
        else:
            series = pd.Series(v)
        data[name] = series
    return pd.DataFrame(data, index=pd.RangeIndex(_n_rows(table)))


def table_polars(columns: Mapping[str, Any], purpose: str) -> Any:
    """A polars ``DataFrame`` of the declared columns."""
    try:
        import polars as pl
    except ImportError:
        raise MissingDependencyError.for_extra("polars", "polars", purpose) from None
    table = _table(columns)
    series = []
    for name, col in table.items():
        v = col.values
        if col.kind == "instant":
            assert col.tz is not None
            s = pl.Series(name, v, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
            s = s.dt.convert_time_zone(zone_text(col.tz))
        elif col.kind == "date":
            s = pl.Series(name, v, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date)
        elif col.kind == "str":
            s = pl.Series(name, v.tolist(), dtype=pl.String)
        elif col.kind == "int":
            s = pl.Series(name, v, dtype=pl.Int64)
        elif col.kind == "bool":
            s = pl.Series(name, v, dtype=pl.Boolean)
        else:
            s = pl.Series(name, v, dtype=pl.Float64)
        if col.missing is not None:
            s = pl.select(
                pl.when(pl.Series(col.missing)).then(None).otherwise(s).alias(name)
            ).to_series()
        series.append(s)
    return pl.DataFrame(series)


def table_arrow(columns: Mapping[str, Any], purpose: str) -> Any:
    """A pyarrow ``Table`` of the declared columns."""
    try:
        import pyarrow as pa
    except ImportError:
        raise MissingDependencyError.for_extra("pyarrow", "arrow", purpose) from None
    table = _table(columns)
    arrays = []
    for col in table.values():
        v, missing = col.values, col.missing
        if col.kind == "instant":
            assert col.tz is not None
            arr = pa.array(v, type=pa.timestamp("us", tz=zone_text(col.tz)), mask=missing)
        elif col.kind == "date":
            arr = pa.array(v.astype(np.int32), type=pa.date32(), mask=missing)
        elif col.kind == "str":
            arr = pa.array(v.tolist(), type=pa.string(), mask=missing)
        else:
            types = {"int": pa.int64(), "bool": pa.bool_(), "float": pa.float64()}
            arr = pa.array(v, type=types[col.kind], mask=missing)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=list(table))


class ResultFrame:
    """The way out every ecrm result shares, built from its ``_columns()`` declaration.

    Per-customer results are keyed by a ``customer_id`` column, one row per customer;
    summaries have one row per period, level, province, item or campaign. Money columns
    are integer fen and end in ``_fen``; instants are aware in the store's zone.
    """

    __slots__ = ()

    def _columns(self) -> Mapping[str, Any]:
        """The result's columns in order (see :func:`as_column` for what a value may be)."""
        raise NotImplementedError

    def _purpose(self, method: str) -> str:
        return f"{type(self).__name__}.{method}()"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per row (column name → plain Python value; ``None`` where missing).

        Returns:
            The rows; instants are aware ``datetime`` values, dates ``datetime.date``.
        """
        return table_dicts(self._columns())

    def to_csv(self, path_or_file: str | os.PathLike[str] | IO[str]) -> None:
        """Write the rows as CSV: a header, one line per row, empty cells where missing.

        Args:
            path_or_file: a path (written as UTF-8) or an open text file.
        """
        table_csv(self._columns(), path_or_file)

    def to_pandas(self) -> Any:
        """The rows as a pandas ``DataFrame``.

        Raises:
            MissingDependencyError: pandas is not installed (``pip install 'ecrm[pandas]'``).
        """
        return table_pandas(self._columns(), self._purpose("to_pandas"))

    def to_polars(self) -> Any:
        """The rows as a polars ``DataFrame``.

        Raises:
            MissingDependencyError: polars is not installed (``pip install 'ecrm[polars]'``).
        """
        return table_polars(self._columns(), self._purpose("to_polars"))

    def to_arrow(self) -> Any:
        """The rows as a pyarrow ``Table``.

        Raises:
            MissingDependencyError: pyarrow is not installed (``pip install 'ecrm[arrow]'``).
        """
        return table_arrow(self._columns(), self._purpose("to_arrow"))


def moments(values: Sequence[dt.datetime | None], tz: dt.tzinfo | None = None) -> Column:
    """An instant column from aware datetimes (``None`` where missing), shown in ``tz``
    (default: the zone of the first value)."""
    present = [v for v in values if v is not None]
    zone = tz if tz is not None else (present[0].tzinfo if present else dt.UTC)
    assert zone is not None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    us = [0 if v is None else (v - epoch) // dt.timedelta(microseconds=1) for v in values]
    return instants(np.asarray(us, dtype=np.int64), zone, [v is None for v in values])


def ratios(values: Sequence[Any]) -> Column:
    """A float column from ratios (``Fraction``, float or ``None`` where undefined)."""
    floats = [np.nan if v is None else float(v) for v in values]
    return as_column(np.asarray(floats, dtype=np.float64))


def _fen_of(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, Money):
        return value.fen
    if isinstance(value, Fraction):
        return round(value)  # half to even, exact
    return int(value)


def fen(values: Sequence[Any]) -> Column:
    """An integer-fen column from ints, exact ``Fraction`` fen (rounded half to even) or
    ``Money`` values (``None`` where missing)."""
    ints = [_fen_of(v) for v in values]
    missing = [v is None for v in ints]
    return nullable(np.asarray([0 if v is None else v for v in ints], dtype=np.int64), missing)
