"""Cell parsers shared by every loader: ids, money, instants, coded enums.

Each parser takes a whole column of text cells (a numpy ``str`` array) and works vectorised,
with an exact per-cell fallback that also words the errors. The same instant parser reads the
date-times of files and the CLI's ``--as-of`` (:func:`parse_instant_text`).

Money (fen or yuan):

* ``amount_unit="fen"``: integer fen, digits only (``1250`` = ¥12.50).
* ``amount_unit="yuan"``: yuan with at most two decimals, optionally with thousands
  separators and a currency sign (``12.5``, ``1,234.50``, ``¥12``, ``￥0.10``), converted
  exactly with integer arithmetic, never through float.
* ``amount_unit="auto"`` decides per column (:func:`decide_units`): a header that names a
  unit (``金额(元)``, ``amount_yuan``, ``price_fen`` …) decides; otherwise a column with any
  decimal point, thousands separator or currency sign is yuan; an integer-only column with no
  unit in its header is fen — unless another money column of the same file is yuan, then it
  is yuan too (``refunded`` written ``5`` beside an ``amount`` of ``12.50``).

Instants: ``2024-05-01 12:00:00``, ``2024-05-01T12:00``, ``2024/5/1 9:05``, ``20240501``
(with an optional time), with optional fractional seconds and offset (``+08:00``, ``+0800``,
``Z``); a date alone is local midnight; text without an offset is wall time in the store zone.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import wall_to_utc_us
from ecrm._load._problems import Problems
from ecrm._time import NAT_US, US_PER_DAY, US_PER_SECOND, as_zone, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "ByteCells",
    "LineNumbers",
    "MoneyCells",
    "bytes_text",
    "coded_column",
    "decide_units",
    "enum_column",
    "parse_ids",
    "parse_instant_text",
    "parse_instants",
    "parse_money",
    "text_bytes",
    "wall_from_codes",
]

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]



class LineNumbers(Protocol):
    """The physical line of each row by position: an int64 array, or a stand-in that makes
    one only when a message needs a line."""

    def __getitem__(self, rows: Any, /) -> Any: ...

    def __len__(self) -> int: ...


_TS: Final = re.compile(
    r"(\d{4})(?:[-/](\d{1,2})[-/](\d{1,2})|(\d{2})(\d{2}))"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE | re.ASCII,
)
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
TS_RULE: Final = (
    "must be a date-time like 2024-05-01 12:00:00, 2024/05/01 12:00, 20240501 or "
    "2024-05-01T12:00:00+08:00 (a date alone means local midnight; years 1900-2199)"
)
_MIN_WALL_US: Final = (dt.date(1900, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()) * US_PER_DAY
_MAX_WALL_US: Final = (dt.date(2200, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()) * US_PER_DAY


def _strip(arr: StrArray) -> StrArray:
    return np.strings.strip(arr) if arr.size else arr


#: Cells wider than this (bytes) are decoded one by one rather than through a byte matrix.
_MATRIX_WIDEST: Final = 256
_PREFIX_MASKS: dict[int, npt.NDArray[np.void]] = {}


def _prefix_masks(width: int) -> npt.NDArray[np.void]:
    """Shape (width + 1, 1) of ``width``-byte items: item ``k`` is ``k`` one bytes, then
    zeros (one gather of whole items, not of single bytes)."""
    table = _PREFIX_MASKS.get(width)
    if table is None:
        tri = np.ascontiguousarray(np.tri(width + 1, width, -1, dtype=np.uint8))
        table = _PREFIX_MASKS[width] = tri.view(f"V{width}")
    return table


@attrs.frozen
class ByteCells:
    """A column's cells as UTF-8 bytes: cell ``i`` is ``data[starts[i]:starts[i] + lengths[i]]``."""

    data: npt.NDArray[np.uint8]
    starts: IntArray
    lengths: IntArray

    def matrix(self, width: int) -> npt.NDArray[np.uint8]:
        """The first ``width`` bytes of each cell as rows of a (n, width) matrix, 0-padded."""
        n = len(self.starts)
        data, starts, lengths = self.data, self.starts, self.lengths
        if n == 0 or width == 0 or len(data) == 0:
            return np.zeros((n, width), dtype=np.uint8)
        if bool((lengths == width).all()):
            # evenly spaced cells of one width (the common case) are a strided view
            step = int(starts[1] - starts[0]) if n > 1 else width
            begin = int(starts[0])
            if (step >= width and begin + n * step <= len(data)
                    and (n == 1 or bool((np.diff(starts) == step).all()))):
                return data[begin:begin + n * step].reshape(n, step)[:, :width]
        windows = len(data) - width + 1
        if windows < 1 or width > _MATRIX_WIDEST:
            cols = np.arange(width, dtype=np.int64)
            got = data.take(starts[:, None] + cols, mode="clip")
            return np.where(cols < lengths[:, None], got, 0).astype(np.uint8)
        # every ``width`` bytes from each start, as one gather of ``width``-byte items from
        # the overlapping windows of the data (a start too near the end reads the last
        # window, shifted back below), then the bytes past each cell's length zeroed
        items = np.lib.stride_tricks.sliding_window_view(data, width).view(f"V{width}")[:, 0]
        safe = np.minimum(starts, windows - 1)
        out = items[safe].view(np.uint8).reshape(n, width)
        late = np.flatnonzero(starts != safe)
        for i in late.tolist():  # the last few cells of the data, if any
            row = data[int(starts[i]):int(starts[i]) + width]
            out[i, :len(row)] = row
            out[i, len(row):] = 0
        masks = _prefix_masks(width)
        out *= masks[np.minimum(lengths, width), 0].view(np.uint8).reshape(n, width)
        return out




def bytes_text(cells: ByteCells) -> StrArray:
    """The cells as a numpy ``str`` array: what :func:`as_text` gives for their text (ASCII
    cells are widened from their bytes, others decoded as UTF-8; the width is the longest
    cell's)."""
    lengths = cells.lengths
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype="U1")
    width = max(int(lengths.max()), 1)
    if width > _MATRIX_WIDEST:
        raw = cells.data.tobytes()
        texts = [raw[s:s + k].decode("utf-8", "surrogatepass")
                 for s, k in zip(cells.starts.tolist(), lengths.tolist(), strict=True)]
        return np.asarray(texts, dtype=f"U{max(map(len, texts), default=1) or 1}")
    matrix = np.ascontiguousarray(cells.matrix(width))
    if not bool((matrix >= 128).any()):
        text: StrArray = matrix.astype(np.uint32).view(f"U{width}").reshape(n)
        return text
    decoded = np.strings.decode(matrix.view(f"S{width}").reshape(n), "utf-8", "surrogatepass")
    chars = max(int(np.strings.str_len(decoded).max()), 1)
    return np.asarray(decoded, dtype=f"U{chars}")


def text_bytes(values: Sequence[str]) -> ByteCells | None:
    """The UTF-8 bytes of a list of cells, or ``None`` when a cell holds a line break."""
    n = len(values)
    try:
        joined = ("\n".join(values) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return None
    buf = np.frombuffer(joined, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(ends) != n:
        return None
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = ends[:-1] + 1
    return ByteCells(buf, starts, ends.astype(np.int64) - starts)


def as_text(values: Sequence[str]) -> StrArray:
    """A list of cells as a numpy ``str`` array (ASCII cells are widened from their bytes)."""
    cells = text_bytes(values)
    if cells is not None and len(values) and not bool((cells.data >= 128).any()):
        width = max(int(cells.lengths.max()), 1)
        wide = np.ascontiguousarray(cells.matrix(width).astype(np.uint32))
        text: StrArray = wide.view(f"U{width}").reshape(len(values))
        return text
    # a known width lets numpy skip its own length discovery pass
    width = max(map(len, values), default=1) or 1
    return np.asarray(values, dtype=f"U{width}")


def parse_ids(arr: StrArray) -> StrArray:
    """Strip ids and unwrap spreadsheet guards (``="123"``, a leading ``'`` or tab)."""
    arr = _strip(arr)
    guarded = np.strings.startswith(arr, '="') | np.strings.startswith(arr, "'")
    if arr.size and bool(np.any(guarded)):
        arr = np.asarray([_unwrap(v) for v in arr.tolist()], dtype=str)
    return arr


def _unwrap(v: str) -> str:
    if v.startswith('="') and v.endswith('"') and len(v) >= 3:
        return v[2:-1].strip()
    if v.startswith("'"):
        return v[1:].strip()
    return v


def _ascii(arr: StrArray) -> BoolArray:
    width = arr.dtype.itemsize // 4
    if width == 0:
        return np.ones(len(arr), dtype=bool)
    cp = np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), width)
    return np.asarray((cp < 128).all(axis=1))


def parse_instants(arr: StrArray, tz: dt.tzinfo) -> tuple[IntArray, list[int]]:
    """Date-time cells to int64 epoch microseconds (UTC).

    Naive text is wall-clock time in ``tz``; an offset (``+08:00``, ``Z``) is honoured. A date
    alone is local midnight. Empty cells give ``NAT_US`` and are not reported here.

    Returns:
        (us, bad): ``bad`` lists the positions of non-empty cells that are not date-times.
    """
    arr = _strip(arr)
    n = len(arr)
    wall = np.full(n, NAT_US, dtype=np.int64)
    if n == 0:
        return wall, []
    done = _fast_wall_us(arr, wall)
    _fast_compact_dates(arr, wall, done)
    aware = np.zeros(n, dtype=bool)
    bad: list[int] = []
    todo = np.flatnonzero(~done)
    if todo.size:
        texts = arr[todo].tolist()
        for i, text in zip(todo.tolist(), texts, strict=True):
            if text == "":
                continue
            parsed = _slow_us(text)
            if parsed is None:
                bad.append(i)
                continue
            wall[i], has_offset = parsed
            aware[i] = has_offset
    # far-away years are typos, and would overflow zone arithmetic near year 1 or 9999
    far = (wall != NAT_US) & ((wall < _MIN_WALL_US) | (wall >= _MAX_WALL_US))
    if far.any():
        far_rows = np.flatnonzero(far)
        wall[far_rows] = NAT_US
        bad = sorted({*bad, *far_rows.tolist()})
    naive = (wall != NAT_US) & ~aware
    if naive.all():
        return wall_to_utc_us(wall, tz), bad
    out = wall.copy()
    idx = np.flatnonzero(naive)
    if idx.size:
        out[idx] = wall_to_utc_us(wall[idx], tz)
    return out, bad


def _fast_wall_us(arr: StrArray, out: IntArray) -> BoolArray:
    """Parse the zero-padded naive ISO-like cells with integer maths; return which were parsed.

    Accepts ``YYYY-MM-DD`` and ``YYYY-MM-DD HH:MM[:SS[.ffffff]]`` (``T`` or space, ``-`` or
    ``/``) with valid fields and years 1900-2199. Everything else (offsets, unpadded fields,
    impossible dates) is left to the exact per-cell parser, which also words the errors.
    """
    n = len(arr)
    width = arr.dtype.itemsize // 4
    if width < 10 or n == 0:
        return np.zeros(n, dtype=bool)
    cp = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
    return wall_from_codes(cp, np.strings.str_len(arr).astype(np.int64), out)


def wall_from_codes(cp: npt.NDArray[Any], length: IntArray, out: IntArray) -> BoolArray:
    """:func:`_fast_wall_us` on a (n, width) matrix of code points (or UTF-8 bytes).

    ``cp[i, :length[i]]`` are the cell's first characters, the rest 0; every accepted cell is
    checked character by character over its whole length, so an accepted cell is ASCII and
    its bytes are its characters. Cells longer than ``width`` are not accepted.
    """
    n, width = cp.shape
    done = np.zeros(n, dtype=bool)
    if width < 10 or n == 0:
        return done

    def digit(j: int) -> IntArray:
        return cp[:, j].astype(np.int64) - 48

    def number(*cols: int) -> tuple[IntArray, BoolArray]:
        value = np.zeros(n, dtype=np.int64)
        ok = np.ones(n, dtype=bool)
        for j in cols:
            d = digit(j)
            ok &= (d >= 0) & (d <= 9)
            value = value * 10 + d
        return value, ok

    year, ok_y = number(0, 1, 2, 3)
    month, ok_m = number(5, 6)
    day, ok_d = number(8, 9)
    sep = cp[:, 4]
    ok = ok_y & ok_m & ok_d & ((sep == 45) | (sep == 47)) & (cp[:, 7] == sep)
    ok &= (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12) & (day >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 1, 12)] + ((month == 2) & leap)
    ok &= day <= month_days
    hour = np.zeros(n, dtype=np.int64)
    minute = np.zeros(n, dtype=np.int64)
    second = np.zeros(n, dtype=np.int64)
    micro = np.zeros(n, dtype=np.int64)
    good = ok & (length == 10)
    if width >= 16:
        hour, ok_h = number(11, 12)
        minute, ok_mi = number(14, 15)
        timed = ok & ok_h & ok_mi & ((cp[:, 10] == 32) | (cp[:, 10] == 84)) & (cp[:, 13] == 58)
        timed &= (hour <= 23) & (minute <= 59)
        good |= timed & (length == 16)
        if width >= 19:
            second, ok_s = number(17, 18)
            secs = timed & ok_s & (cp[:, 16] == 58) & (second <= 59)
            good |= secs & (length == 19)
            if width >= 21:
                frac = secs & (cp[:, 19] == 46) & (length >= 21) & (length <= 26)
                for k in range(6):
                    j = 20 + k
                    d = digit(j) if j < width else np.zeros(n, dtype=np.int64)
                    inside = length > j
                    frac &= ~inside | ((d >= 0) & (d <= 9))
                    micro = micro * 10 + np.where(inside, d, 0)
                good |= frac
    # a date alone is midnight; shorter cells read the NUL padding as (garbage) fields
    hour = np.where(length >= 16, hour, 0)
    minute = np.where(length >= 16, minute, 0)
    second = np.where(length >= 19, second, 0)
    micro = np.where(length >= 21, micro, 0)
    idx = np.flatnonzero(good & (length <= width))
    if idx.size == 0:
        return done
    days = _days_from_civil(year[idx], month[idx], day[idx])
    seconds = ((days * 24 + hour[idx]) * 60 + minute[idx]) * 60 + second[idx]
    out[idx] = seconds * US_PER_SECOND + micro[idx]
    done[idx] = True
    return done


_MONTH_DAYS: Final = np.asarray([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _days_from_civil(y: IntArray, m: IntArray, d: IntArray) -> IntArray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468, dtype=np.int64)


def _slow_us(text: str) -> tuple[int, bool] | None:
    """(epoch us, has_offset) of one date-time cell: wall us if naive, UTC us if offset."""
    m = _TS.fullmatch(text)
    if m is None:
        return None
    y, mo, d, mo8, d8, hh, mi, ss, frac, off = m.groups()
    if mo is None:
        mo, d = mo8, d8
    try:
        day = dt.date(int(y), int(mo), int(d))
        h, mn, s = int(hh or 0), int(mi or 0), int(ss or 0)
        dt.time(h, mn, s)
    except ValueError:
        return None
    micro = int((frac or "").ljust(6, "0"))
    us = (day.toordinal() - _EPOCH_ORDINAL) * US_PER_DAY + ((h * 60 + mn) * 60 + s) * US_PER_SECOND
    us += micro
    if off is None:
        return us, False
    if off.upper() in ("Z", "UTC"):
        return us, True
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    oh, om = int(digits[:2]), int(digits[2:4] or 0)
    if oh > 23 or om > 59:
        return None
    return us - sign * (oh * 60 + om) * 60 * US_PER_SECOND, True



def _fast_compact_dates(arr: StrArray, out: IntArray, done: BoolArray) -> None:
    """Parse ``yyyymmdd`` cells (valid dates, years 1900-2199) in place; mark them done."""
    compact = ~done & (np.strings.str_len(arr) == 8) & np.strings.isdecimal(arr) & _ascii(arr)
    idx = np.flatnonzero(compact)
    if idx.size == 0:
        return
    v = arr[idx].astype(np.int64)
    y, m, d = v // 10_000, v // 100 % 100, v % 100
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    ok = (y >= 1900) & (y <= 2199) & (m >= 1) & (m <= 12) & (d >= 1)
    ok &= d <= _MONTH_DAYS[np.clip(m, 1, 12)] + ((m == 2) & leap)
    good = idx[ok]
    out[good] = _days_from_civil(y[ok], m[ok], d[ok]) * US_PER_DAY
    done[good] = True


def parse_instant_text(text: str, tz: str | dt.tzinfo | None, field: str = "as_of") -> dt.datetime:
    """One date-time text as an aware datetime in ``tz`` (the CLI's ``--as-of``).

    The same rules as file cells: ``2024-06-01``, ``20240601``, ``2024/06/01 08:00``,
    ``2024-06-01T08:00:00+08:00`` …; a date alone is midnight in ``tz``.

    Raises:
        InvalidValueError: the text is not a date-time (naming ``field``), or a bad zone.
    """
    zone = as_zone(tz)
    us, bad = parse_instants(np.asarray([str(text)], dtype=str), zone)
    if bad or not str(text).strip():
        raise InvalidValueError(field, TS_RULE, text)
    return us_to_datetime(int(us[0]), zone)


# -- money ------------------------------------------------------------------------------------
_MONEY: Final = re.compile(
    r"(?P<sign>[-+]?)\s*(?P<cur>[¥￥$]?)\s*"
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?",
    re.ASCII,
)
_INT64_MAX: Final = int(np.iinfo(np.int64).max)
#: The largest whole yuan whose fen fit in int64.
MAX_WHOLE_YUAN: Final = (_INT64_MAX - 99) // 100


@attrs.frozen
class MoneyCells:
    """A money column parsed without knowing its unit yet.

    Attributes:
        whole: the number before the decimal point; -1 where the cell is empty, -2 where bad.
        cents: the first two decimals as hundredths (``12.5`` → 50); 0 without decimals.
        marked: the cell has a decimal point, a thousands separator or a currency sign.
    """

    whole: IntArray
    cents: IntArray
    marked: BoolArray


def parse_money(arr: StrArray, unit: str) -> tuple[MoneyCells, list[tuple[int, str]]]:
    """Money cells, vectorised; ``unit`` is ``"fen"``, ``"yuan"`` or ``"auto"``.

    Returns:
        (cells, bad): ``bad`` lists (position, rule) of the non-empty cells that are not
        money under ``unit`` (empty cells are the caller's business).
    """
    arr = _strip(arr)
    n = len(arr)
    whole = np.full(n, -1, dtype=np.int64)
    cents = np.zeros(n, dtype=np.int64)
    marked = np.zeros(n, dtype=bool)
    bad: list[tuple[int, str]] = []
    if n == 0:
        return MoneyCells(whole, cents, marked), bad
    plain = np.strings.isdecimal(arr) & (np.strings.str_len(arr) <= 18) & _ascii(arr)
    idx = np.flatnonzero(plain)
    whole[idx] = arr[idx].astype(np.int64)
    rest = np.flatnonzero(~plain)
    if rest.size and unit != "fen":
        # the common yuan cell "12.50": digits, one point, at most 2 decimals
        sub = arr[rest]
        head, sep, tail = np.strings.partition(sub, ".")
        hl = np.strings.str_len(head)
        tl = np.strings.str_len(tail)
        ok = (sep == ".") & np.strings.isdecimal(head) & (hl >= 1) & (hl <= 18) & (tl <= 2)
        ok &= (np.strings.isdecimal(tail) | (tl == 0)) & _ascii(sub)
        k = np.flatnonzero(ok)
        if k.size:
            rows = rest[k]
            whole[rows] = head[k].astype(np.int64)
            cents[rows] = np.strings.ljust(tail[k], 2, "0").astype(np.int64)
            marked[rows] = True
        rest = rest[~ok]
    for i in rest.tolist():
        text = str(arr[i])
        if text == "":
            continue
        parsed = _money_cell(text, unit)
        if isinstance(parsed, str):
            whole[i] = -2
            bad.append((i, parsed))
        else:
            whole[i], cents[i], marked[i] = parsed
    return MoneyCells(whole, cents, marked), bad


def _money_cell(text: str, unit: str) -> tuple[int, int, bool] | str:
    """(whole, cents, marked) of one money cell, or the rule it breaks."""
    if unit == "fen":
        return _fen_rule(text)
    m = _MONEY.fullmatch(text)
    if m is None or (m["whole"] == "" and not m["frac"]):
        return _yuan_rule(text, unit)
    if m["sign"] == "-":
        return f"must be >= 0 {_unit_word(unit)}"
    frac = m["frac"] or ""
    if len(frac) > 2:
        return f"must have at most 2 decimal places (whole fen) in {_unit_word(unit)}"
    digits = m["whole"].replace(",", "") or "0"
    if len(digits) > 18:
        return "must fit in int64 fen"
    marked = bool(m["cur"] or "," in m["whole"] or m["frac"] is not None or "." in text)
    return int(digits), int(frac.ljust(2, "0")), marked


def _unit_word(unit: str) -> str:
    return "yuan" if unit == "yuan" else "yuan or fen"


_FLOATISH: Final = re.compile(
    r"[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+|inf|nan)", re.IGNORECASE | re.ASCII
)


def _fen_rule(text: str) -> str:
    if text.startswith("-") and text[1:].isdecimal() and text[1:].isascii():
        return "must be >= 0 fen"
    if text.isdecimal() and text.isascii():
        return "must fit in int64 fen"
    if _FLOATISH.fullmatch(text) or _MONEY.fullmatch(text):
        return (
            "must be an integer number of fen (amount_unit='fen'); this looks like a decimal "
            "or formatted amount: if the file holds yuan, pass amount_unit='yuan' or 'auto'"
        )
    return "must be an integer number of fen (digits 0-9 only)"


def _yuan_rule(text: str, unit: str) -> str:
    word = _unit_word(unit)
    if _FLOATISH.fullmatch(text) and any(c in text for c in "eE"):
        return f"must be a plain amount in {word} like 12.50 (no exponent)"
    return (
        f"must be an amount in {word} like 12.50, 1,234.50 or ¥12 "
        "(digits, at most 2 decimals, thousands separators in groups of 3)"
    )


_YUAN_HEADER: Final = re.compile(r"元|yuan|¥|￥|rmb|cny|dollar|usd|\$|major", re.IGNORECASE)
_FEN_HEADER: Final = re.compile(
    r"(?:^|[^a-z])fen(?:$|[^a-z])|\(分\)|（分）|单位[:：]?分|cents?(?:$|[^a-z])|minor", re.IGNORECASE
)


def decide_units(
    requested: str, columns: Mapping[str, tuple[str, bool]]
) -> dict[str, tuple[str, str]]:
    """The unit of each money column of one file.

    Args:
        requested: ``"fen"``, ``"yuan"`` or ``"auto"``.
        columns: field -> (header, whether any of its cells is marked as yuan: a decimal
            point, a thousands separator or a currency sign).

    Returns:
        field -> (unit, reason). The rule for ``"auto"``: a unit named in the header
        decides; else a marked column is yuan; else (an integer-only column with no unit in
        its header) fen, unless another money column of the file is yuan.
    """
    if requested in ("fen", "yuan"):
        return dict.fromkeys(columns, (requested, f"amount_unit={requested!r}"))
    out: dict[str, tuple[str, str]] = {}
    by_values = False
    for field, (header, marked) in columns.items():
        if _FEN_HEADER.search(header):
            out[field] = ("fen", "the header names fen")
        elif _YUAN_HEADER.search(header):
            out[field] = ("yuan", "the header names yuan")
            by_values = True
        elif marked:
            out[field] = ("yuan", "values have decimals, separators or ¥")
            by_values = True
    for field in columns:
        if field not in out:
            out[field] = (
                ("yuan", "another money column is yuan") if by_values
                else ("fen", "integer values, no unit in the header")
            )
    return out


def to_fen(
    cells: MoneyCells,
    unit: str,
    header: str,
    lines: LineNumbers,
    problems: Any,
    texts: Mapping[int, str] | None = None,
) -> IntArray:
    """Fen of a parsed money column in its decided ``unit`` (-1 empty, -2 bad kept).

    Reports to ``problems`` the cells that are not whole fen in a fen column and the amounts
    whose fen do not fit in int64 (``texts`` gives their cells as written, by line).
    """
    whole, cents = cells.whole, cells.cents
    if unit == "fen":
        if not bool(cells.marked.any()):
            return whole  # whole fen throughout (the common case): no copy
        wrong = np.flatnonzero(cells.marked & (whole >= 0))
        for i in wrong.tolist():
            shown = f"{int(whole[i])}.{int(cents[i]):02d}"
            problems.add_cell(
                int(lines[i]), header, shown,
                "must be an integer number of fen (the column is read as fen); "
                "pass amount_unit='yuan' if it holds yuan",
            )
        return np.where(cells.marked & (whole >= 0), -2, whole)
    big = np.flatnonzero(whole > MAX_WHOLE_YUAN)
    for i in big.tolist():
        line = int(lines[i])
        shown = (texts or {}).get(line, f"{int(whole[i])}.{int(cents[i]):02d}")
        problems.add_cell(line, header, shown,
                          "must fit in int64 fen (at most 92,233,720,368,547,757.07 yuan)")
    ok = whole >= 0
    fen = np.where(ok & (whole <= MAX_WHOLE_YUAN), whole * 100 + cents, whole)
    return np.where(whole > MAX_WHOLE_YUAN, -2, fen)


# -- coded enums ------------------------------------------------------------------------------
def coded_column(
    cells: Sequence[str] | StrArray,
    parse: Callable[[str], int],
    *,
    empty_rule: str | None = "must not be empty",
) -> tuple[npt.NDArray[np.int8], list[tuple[int, str]]]:
    """A text column of a small enum (status, gender, event kind …) to int8 codes.

    A file has a handful of distinct texts: each is parsed once, then mapped with a dict.

    Args:
        cells: the texts.
        parse: text -> code; raises :class:`~ecrm.InvalidValueError` (its ``rule`` is
            reported) for text that names no member.
        empty_rule: the rule reported for blank cells (``None``: ``parse``'s own).

    Returns:
        (codes, bad): ``bad`` lists (position, rule); bad cells get code 0.
    """
    texts: list[str] = cells.tolist() if isinstance(cells, np.ndarray) else list(cells)
    codes: dict[str, int] = {}
    wrong: dict[str, str] = {}
    for text in set(texts):
        try:
            codes[text] = parse(text.strip())
        except InvalidValueError as exc:
            wrong[text] = empty_rule if empty_rule and not text.strip() else exc.rule
            codes[text] = 0
    out = np.fromiter(map(codes.__getitem__, texts), dtype=np.int8, count=len(texts))
    bad = [(i, wrong[t]) for i, t in enumerate(texts) if t in wrong] if wrong else []
    return out, bad


def enum_column(values: Any, n: int, members: type[enum.Enum], column: str, noun: str,
                parse: Callable[[str], int], problems: Problems) -> npt.NDArray[np.int8]:
    """A column of a small enum given as codes, members or names, to int8 codes: codes
    outside ``0..len(members) - 1`` and texts that name no member are reported to
    ``problems`` (as ``must be {noun} code 0..k`` and ``parse``'s rule).

    Raises:
        InvalidTypeError: a column of some other dtype.
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    k = len(members)
    if arr.dtype.kind in "iu":
        # (two reductions decide for a good column; the bad rows are looked for only then)
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= k):
            bad = np.flatnonzero((arr < 0) | (arr >= k))
            problems.add_rows(bad, column, arr, f"must be {noun} code 0..{k - 1}")
        return arr.astype(np.int8)
    if arr.dtype.kind == "O":
        arr = np.asarray([v.value if isinstance(v, members) else ("" if v is None else str(v))
                          for v in arr.tolist()], dtype=str).reshape(n)
    if arr.dtype.kind != "U":
        raise InvalidTypeError(
            f"{column} must hold {members.__name__} members or names, got dtype {arr.dtype}")
    codes, wrong = coded_column(arr, parse, empty_rule=None)
    for row, why in wrong:
        problems.add_rows([row], column, arr, why)
    return codes
