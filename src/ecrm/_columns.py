"""Private helpers that coerce and validate input columns for the columnar tables.

Every checker looks at a whole column at once (vectorised) and reports the bad rows to the
one problem collector, :class:`ecrm._load._problems.Problems`; the caller raises them together
as one :class:`DataFormatErrorGroup`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm._load._problems import Problems
from ecrm._time import NAT_US, US_PER_DAY, datetime_to_us, naive_to_wall_us, one_wall_offset
from ecrm._time import wall_to_utc_us as wall_to_utc_us  # the loaders import it from here
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

#: The largest amount one order may have: 10^15 fen (¥10 trillion). Far above any real
#: order, far below int64's 9.2 * 10^18, so a typo such as 999,999,999,999,999,999 is
#: caught on its own row instead of overflowing a sum later.
MAX_ORDER_FEN: Final = 10**15
#: The rule an amount over :data:`MAX_ORDER_FEN` breaks.
ORDER_FEN_RULE: Final = "must be at most 10^15 fen (¥10,000,000,000,000.00) per order"
_INT64_MAX: Final = int(np.iinfo(np.int64).max)

IntArray = npt.NDArray[np.int64]


def check_lengths(source: str, columns: dict[str, Any]) -> int:
    """All non-None columns must have the same length; return it.

    Raises:
        InvalidTypeError: a column is a single ``str``/``bytes`` (``channels="xy"``: a
            string is a sequence of characters, never a column) or has no length.
        InvalidValueError: the lengths differ.
    """
    for name, col in columns.items():
        if isinstance(col, str | bytes):
            raise InvalidTypeError(
                f"{name} must be a sequence or array of values, one per row, "
                f"got a single {type(col).__name__} {_short_repr(col)}"
            )
        if col is not None and not hasattr(col, "__len__"):
            raise InvalidTypeError(
                f"{name} must be a sequence or array of values, one per row, "
                f"got {type(col).__name__}"
            )
    lengths = {name: len(col) for name, col in columns.items() if col is not None}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise InvalidValueError("columns", f"must all have the same length ({detail})", source, show_value=False)
    return distinct.pop() if distinct else 0


def field_columns(fields: Sequence[str], columns: Mapping[str, str] | None) -> dict[str, str]:
    """Field -> the column (or header) holding it: the field's own name unless ``columns``
    maps it to another.

    Raises:
        InvalidValueError: ``columns`` maps a name that is not one of ``fields``.
    """
    mapping = {f: f for f in fields}
    if columns:
        unknown = sorted(set(columns) - set(fields))
        if unknown:
            raise InvalidValueError(
                "columns", f"may only map the fields {', '.join(fields)}", unknown
            )
        mapping.update(columns)
    return mapping


def ids_column(values: Any, column: str, problems: Problems) -> npt.NDArray[Any]:
    """Customer (or other) ids: an int64 array, or a str array; never mixed, never empty."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidValueError(column, "must be one-dimensional", f"shape {arr.shape}", show_value=True)
    if arr.size == 0 and arr.dtype.kind == "f":  # np.asarray([]) is float64
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        raise InvalidTypeError(f"{column} must hold str or int ids, got booleans")
    if arr.dtype.kind == "f":
        raise InvalidTypeError(
            f"{column} must hold str or int ids, got floats (dtype {arr.dtype}); "
            "convert whole-number ids with .astype('int64') or pass strings"
        )
    if arr.dtype.kind == "O":
        kinds = {type(v) for v in arr.tolist()}
        if kinds <= {int}:
            return arr.astype(np.int64)
        bad = [i for i, v in enumerate(arr.tolist()) if not isinstance(v, str)] if kinds - {str} else []
        if bad:
            problems.add_rows(np.asarray(bad), column, arr, "must be a non-empty str (ids in one column are all str or all int)")
            # Empty strings beside them are reported too: every bad cell at once.
            empty_rows = [
                i for i, v in enumerate(arr.tolist()) if isinstance(v, str) and not v.strip()
            ]
            if empty_rows:
                problems.add_rows(np.asarray(empty_rows), column, arr, "must not be empty")
            return np.zeros(0, dtype="U1")
        arr = arr.astype(str)
    if arr.dtype.kind != "U":
        raise InvalidTypeError(f"{column} must hold str or int ids, got dtype {arr.dtype}")
    stripped = np.char.strip(arr) if arr.size else arr
    empty = np.flatnonzero(stripped == "")
    if empty.size:
        problems.add_rows(empty, column, arr, "must not be empty")
    return arr


def fen_column(
    values: Any, column: str, problems: Problems, *, allow_none: bool = False,
    max_fen: int | None = None,
) -> IntArray:
    """Integer fen, >= 0 (and <= ``max_fen`` when given: :data:`MAX_ORDER_FEN` for order
    amounts). Floats are refused with a TypeError that says why."""
    arr = np.asarray(values)
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        raise InvalidTypeError(
            f"{column} must be integer fen, got floats (dtype {arr.dtype}): floats cannot hold fen "
            "exactly; convert yuan with Money.from_decimal or pass integer fen"
        )
    if arr.dtype.kind == "O":
        pylist = arr.tolist()
        if any(isinstance(v, float) for v in pylist):
            raise InvalidTypeError(
                f"{column} must be integer fen, got a float: floats cannot hold fen exactly"
            )
        bad = [i for i, v in enumerate(pylist) if isinstance(v, bool) or not isinstance(v, int)]
        if bad:
            problems.add_rows(np.asarray(bad), column, arr, "must be an integer number of fen")
            return np.zeros(len(arr), dtype=np.int64)
        huge = [i for i, v in enumerate(pylist) if abs(v) > _INT64_MAX]
        if huge:
            rule = ORDER_FEN_RULE if max_fen is not None else "must fit in int64 fen"
            problems.add_rows(np.asarray(huge), column, arr, rule)
            return np.zeros(len(arr), dtype=np.int64)
        arr = np.asarray(pylist, dtype=np.int64)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        raise InvalidTypeError(f"{column} must be integer fen, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64_MAX:
        if max_fen is not None:
            problems.add_rows(np.flatnonzero(arr > max_fen), column, arr, ORDER_FEN_RULE)
            return np.zeros(len(arr), dtype=np.int64)
        raise InvalidValueError(column, "must fit in int64 fen", int(arr.max()))
    out = arr.astype(np.int64, copy=False)
    if not out.size:
        return out
    # two reductions decide for a good column; the bad rows are looked for only then
    if int(out.min()) < 0:
        problems.add_rows(np.flatnonzero(out < 0), column, out, "must be >= 0 fen")
    if max_fen is not None and int(out.max()) > max_fen:
        problems.add_rows(np.flatnonzero(out > max_fen), column, out, ORDER_FEN_RULE)
    return out


def check_total_fen(amount_fen: IntArray, column: str, source: str) -> None:
    """The sum of ``amount_fen`` (all >= 0) must fit in int64, so that every per-customer,
    per-period and store-wide sum of a log does too.

    A float64 sum decides at once for every real log; only a total near the limit is
    summed exactly, as high and low 32-bit halves that cannot overflow.

    Raises:
        InvalidValueError: the total is over 9,223,372,036,854,775,807 fen.
    """
    if amount_fen.size == 0 or int(amount_fen.max()) * amount_fen.size <= _INT64_MAX:
        return  # (the usual case, decided by one reduction)
    if float(amount_fen.sum(dtype=np.float64)) < 2.0**62:
        return
    high = int((amount_fen >> 32).sum(dtype=np.int64))
    low = int((amount_fen & 0xFFFFFFFF).sum(dtype=np.int64))
    total = (high << 32) + low
    if total > _INT64_MAX:
        raise InvalidValueError(
            column,
            f"must sum to at most {_INT64_MAX:,} fen over all orders of {source} (int64), "
            "so that per-customer and store totals are exact",
            total,
        )


def instants_column(
    values: Any,
    column: str,
    tz: dt.tzinfo | None,
    problems: Problems,
    *,
    allow_missing: bool = False,
) -> IntArray:
    """Instants as int64 epoch microseconds (UTC).

    Accepts numpy ``datetime64`` (wall-clock time in ``tz``; ``tz`` is then required) or a
    sequence of aware ``datetime`` s (naive ones need ``tz``). Missing values (NaT / None)
    are errors unless ``allow_missing``, when they become ``NAT_US``.
    """
    arr = values if isinstance(values, np.ndarray) else None
    if arr is not None and arr.dtype.kind == "M":
        if tz is None:
            raise InvalidValueError(
                column,
                "holds naive numpy datetime64 values; pass tz='Asia/Shanghai' (or the zone they are in)",
                str(arr.dtype),
            )
        fast = _utc_by_one_offset(arr, tz)
        if fast is not None:
            return fast
        # (a fresh array of our own: converted in place)
        wall = arr.astype("datetime64[us]", copy=True).view(np.int64)
        if len(wall) and int(wall.min()) == NAT_US and not allow_missing:
            problems.add_rows(np.flatnonzero(wall == NAT_US), column, arr, "must not be NaT (missing)")
        return wall_to_utc_us(wall, tz, in_place=True)
    if arr is not None and arr.dtype.kind in "iufb":
        raise InvalidTypeError(
            f"{column} must be numpy datetime64 or a sequence of datetimes, got dtype {arr.dtype}"
        )
    seq: Sequence[Any] = arr.tolist() if arr is not None else list(values)
    out = np.empty(len(seq), dtype=np.int64)
    naive_rows: list[int] = []
    missing_rows: list[int] = []
    wrong_rows: list[int] = []
    for i, v in enumerate(seq):
        if v is None:
            out[i] = NAT_US
            missing_rows.append(i)
        elif isinstance(v, dt.datetime):
            if v.tzinfo is None or v.utcoffset() is None:
                out[i] = naive_to_wall_us(v)
                naive_rows.append(i)
            else:
                out[i] = datetime_to_us(v)
        else:
            wrong_rows.append(i)
            out[i] = NAT_US
    if naive_rows and tz is not None:
        # one DST rule for every path: gap -> forward by the gap, fold -> earlier instant
        # (a naive datetime's own ``fold`` is ignored, as numpy wall times have none)
        idx = np.asarray(naive_rows)
        out[idx] = wall_to_utc_us(out[idx], tz)
    elif naive_rows:
        out[np.asarray(naive_rows)] = NAT_US
        problems.add_rows(
            np.asarray(naive_rows), column, seq,
            "must be timezone-aware (or pass tz= to say which zone naive times are in)",
        )
    if missing_rows and not allow_missing:
        problems.add_rows(np.asarray(missing_rows), column, seq, "must not be missing")
    if wrong_rows:
        problems.add_rows(np.asarray(wrong_rows), column, seq, "must be a datetime")
    return out


#: Microseconds per unit of the ``datetime64`` units that convert by one multiplication.
_UNIT_US: Final = {"D": US_PER_DAY, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000,
                   "ms": 1_000, "us": 1}
#: Rows per block of :func:`_utc_by_one_offset` (its two passes meet a block in cache).
_BLOCK_ROWS: Final = 1 << 16


def _utc_by_one_offset(arr: npt.NDArray[np.datetime64], tz: dt.tzinfo) -> IntArray | None:
    """``arr`` (wall times in ``tz``) as UTC microseconds in one blocked pass, when no value
    is missing, every one fits in int64 microseconds and ``tz`` keeps one UTC offset over
    them all (Asia/Shanghai since 1991); else ``None`` (the general path then converts).

    numpy's datetime cast checks every value; this is a multiply and a subtract per block.
    """
    unit, count = np.datetime_data(arr.dtype)
    factor = _UNIT_US.get(unit)
    if factor is None or count != 1 or not len(arr) or arr.ndim != 1:
        return None
    raw = arr.view(np.int64)
    lo, hi = int(raw.min()), int(raw.max())
    limit = np.iinfo(np.int64).max - 2 * US_PER_DAY
    if lo == NAT_US or not -limit < lo * factor <= hi * factor < limit:
        return None
    offset = one_wall_offset(tz, lo * factor, hi * factor)
    if offset is None:
        return None
    out = np.empty(len(raw), dtype=np.int64)
    for start in range(0, len(raw), _BLOCK_ROWS):
        src, dst = raw[start:start + _BLOCK_ROWS], out[start:start + _BLOCK_ROWS]
        if factor == 1:
            np.subtract(src, offset, out=dst)
        else:
            np.multiply(src, factor, out=dst)
            np.subtract(dst, offset, out=dst)
    return out


def text_column(values: Any, column: str) -> npt.NDArray[np.str_]:
    """Optional free-text column: a str array with ``""`` for missing values."""
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "O" or arr.dtype.kind == "S":
        pylist = arr.tolist()
        return np.asarray(["" if v is None else str(v) for v in pylist], dtype=str)
    raise InvalidTypeError(f"{column} must hold strings, got dtype {arr.dtype}")


def factorize(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32] | IntArray]:
    """Dense codes for ``ids``: (sorted unique ids, code of each row).

    Integer ids within a compact range use an O(n) direct-address table; others sort.
    """
    n = len(ids)
    if n == 0:
        return ids[:0], np.zeros(0, dtype=np.int32)
    if ids.dtype.kind == "i":
        lo, hi = int(ids.min()), int(ids.max())
        span = hi - lo + 1
        if span <= max(4 * n, 1 << 16):
            # Small non-negative ids (auto-increment keys) index a table of hi + 1 entries
            # directly, which saves shifting every id by ``lo`` first.
            base = 0 if lo >= 0 and hi < max(2 * n, 1 << 16) else lo
            index = ids if base == 0 else ids - base
            present = np.zeros(hi - base + 1, dtype=bool)
            present[index] = True
            # int32 codes straight from the table when they fit: no int64 detour
            small = span < np.iinfo(np.int32).max
            mapping: npt.NDArray[Any] = np.empty(len(present), np.int32 if small else np.int64)
            # (entries below ``lo`` are never read, so never written: untouched pages cost no
            # memory)
            np.cumsum(present[lo - base:], out=mapping[lo - base:])
            np.subtract(mapping[lo - base:], 1, out=mapping[lo - base:])
            uniq = np.flatnonzero(present).astype(np.int64) + base
            codes = mapping[index]
            return uniq, _narrow(codes, len(uniq))
    if ids.dtype.kind == "U":
        values = _decimal_values(ids)
        if values is not None:
            # Same-length decimal ids (what a CSV of numeric ids gives) sort as their numbers
            # do: factorise the numbers, then pick any row of each code for its text.
            _, codes = factorize(values)
            rep = np.empty(int(codes.max()) + 1, dtype=np.intp)
            rep[codes] = np.arange(n)
            return ids[rep], codes
    uniq, inverse = np.unique(ids, return_inverse=True)
    return uniq, _narrow(inverse.reshape(-1), len(uniq))


def _decimal_values(ids: npt.NDArray[np.str_]) -> IntArray | None:
    """The numbers of ``ids`` when every id is the same number (1..18) of ASCII digits, so
    that their numeric order is their string order; else ``None``.

    Sorting 10M such strings with ``np.unique`` takes seconds; this is a few passes.
    """
    n, width = len(ids), ids.dtype.itemsize // 4
    length = len(str(ids[0])) if n else 0
    if not (0 < length <= 18 and ids.flags.c_contiguous):
        return None
    points = ids.view(np.uint32).reshape(n, width)  # UCS-4 code points, NUL-padded
    if length < width and bool(points[:, length].any()):
        return None  # a longer id (its NUL padding would be checked column by column)
    values = np.zeros(n, dtype=np.int64)
    for k in range(length):
        digit = points[:, k] - np.uint32(48)  # wraps around below "0": one test per cell
        if not bool((digit <= 9).all()):
            return None
        values *= 10
        values += digit
    return values


def customer_time_order(
    codes: npt.NDArray[np.integer[Any]], placed: IntArray, n_codes: int
) -> npt.NDArray[np.intp] | None:
    """The row order by customer code, then ``placed``, ties in input order; ``None`` if
    the rows are already in that order.

    The same permutation as ``np.lexsort((placed, codes))``, computed faster: a stable sort
    by time (skipped when the rows are already in time order, as exports usually are), then
    a stable LSD radix sort of the dense codes in 16-bit digits (numpy's stable sort of
    ``uint16`` is a radix sort), which is O(n) where a comparison sort of the codes is not.

    Args:
        codes: int32/int64, shape (n,), dense codes in ``[0, n_codes)``.
        placed: int64, shape (n,).
        n_codes: the number of distinct codes.
    """
    n = len(codes)
    if n < 2:
        return None
    if bool(np.all(codes[1:] >= codes[:-1])):
        same = codes[1:] == codes[:-1]
        if bool(np.all(placed[1:][same] >= placed[:-1][same])):
            return None
    if n_codes > 1 << 32:  # pragma: no cover - more customers than any shop has
        return np.lexsort((placed, codes))
    by_time: npt.NDArray[np.intp] | None = None
    if not bool(np.all(placed[1:] >= placed[:-1])):
        by_time = np.argsort(placed, kind="stable")
        codes = codes[by_time]
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    if n_codes > 1 << 16:
        high = (codes[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order if by_time is None else by_time[order]


def _narrow(codes: npt.NDArray[np.int64], n_unique: int) -> npt.NDArray[np.int32] | IntArray:
    if n_unique < np.iinfo(np.int32).max:
        return codes.astype(np.int32, copy=False)
    return codes.astype(np.int64, copy=False)


def distinct_values(values: Sequence[Any] | npt.NDArray[Any]) -> tuple[list[Any], npt.NDArray[np.intp]]:
    """(distinct values in first-seen order, index of each value among them).

    One dict pass, no sort: columns such as gender, tags, zones or flags hold a handful of
    distinct values, and each is then parsed once.
    """
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    uniq = list(dict.fromkeys(items))
    index = {v: k for k, v in enumerate(uniq)}
    inverse = np.fromiter(map(index.__getitem__, items), dtype=np.intp, count=len(items))
    return uniq, inverse


def read_only(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a`` itself, made read-only (for the arrays a frozen result value owns)."""
    a.flags.writeable = False
    return a
