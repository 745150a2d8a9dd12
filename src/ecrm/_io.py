"""Reading orders from CSV files: :func:`read_orders_csv`, :class:`CsvColumns`, :class:`Progress`.

The reader streams the file with the standard-library :mod:`csv` module in chunks of
``chunk_rows`` rows, turns each chunk into numpy columns (timestamps and integers are parsed
vectorised where the text allows, with an exact per-cell fallback), collects every bad cell of
the whole file, and only then builds one :class:`~ecrm.OrderLog`. A file with any bad cell
raises one :class:`~ecrm.DataFormatError`; no log comes back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import MAX_ORDER_FEN, MAX_REPORTED, ORDER_FEN_RULE, wall_to_utc_us
from ecrm._errors import DataFormatError, InvalidTypeError, InvalidValueError, RowError
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import STATUS_BY_CODE, parse_status
from ecrm._time import NAT_US, US_PER_DAY, US_PER_SECOND, as_zone, us_to_datetime

if TYPE_CHECKING:
    from ecrm._orderlog import OrderItems, OrderLog

__all__ = ["FIELDS", "CsvColumns", "Progress", "read_orders_csv"]

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]
HeaderSpec = str | tuple[str, ...] | None
AmountUnit = Literal["fen", "yuan"]

#: The logical fields a CSV (or data frame) column can map to, in display order.
FIELDS: Final = (
    "order_id",
    "customer_id",
    "placed_at",
    "amount",
    "status",
    "paid_at",
    "refunded",
    "province",
    "channel",
    "sku",
    "category",
    "quantity",
    "unit_price",
)
_REQUIRED: Final = ("customer_id", "placed_at", "amount")
_ORDER_LEVEL: Final = (
    "customer_id", "placed_at", "amount", "status", "paid_at", "refunded", "province", "channel",
)
_MONEY_FIELDS: Final = ("amount", "refunded", "unit_price")
_TIME_FIELDS: Final = ("placed_at", "paid_at")
_TEXT_FIELDS: Final = ("province", "channel", "category", "sku")

#: Default number of rows parsed per chunk (bounds the memory of Python row lists).
DEFAULT_CHUNK_ROWS: Final = 100_000


class Progress(Protocol):
    """A callback told how far a CSV read has come.

    It is called after each chunk (at least once, even for a header-only file); the last
    call has ``bytes_done == bytes_total``.

    Args:
        rows_done: data rows read so far (not counting the header).
        bytes_done: bytes of the file consumed so far (never decreases).
        bytes_total: the size of the file in bytes.
    """

    def __call__(self, rows_done: int, bytes_done: int, bytes_total: int) -> None: ...


def _check_spec(instance: Any, attribute: Any, value: Any) -> None:
    if value is None or (isinstance(value, str) and value.strip()):
        return
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, str) and v.strip() for v in value)
    ):
        return
    raise InvalidValueError(
        f"columns.{attribute.name}",
        "must be a header name, a tuple of candidate header names, or None",
        value,
    )


def _check_unit(instance: Any, attribute: Any, value: Any) -> None:
    if value not in ("fen", "yuan"):
        raise InvalidValueError("columns.amount_unit", "must be 'fen' or 'yuan'", value)


@attrs.frozen
class CsvColumns:
    """Which CSV header holds each logical order field, and the unit of money columns.

    Every field defaults to its canonical name (``order_id``, ``customer_id``, ``placed_at``,
    ``amount``, ``status``, ``paid_at``, ``refunded``, ``province``, ``channel``, ``sku``,
    ``category``, ``quantity``, ``unit_price``). A field is one header name, a tuple of
    candidate names (the first one present in the header is used), or ``None`` (never read).

    ``customer_id``, ``placed_at`` and ``amount`` must be present; ``order_id`` too when the
    file has a ``sku`` column. The other fields are read when their header is present. A field
    given a header name other than its canonical one is taken as a promise: that header must
    be present (so a typo is reported, not silently ignored); tuples of candidates are optional.

    Attributes:
        amount_unit: ``"fen"`` (default): money columns hold integer fen (``1250``);
            ``"yuan"``: they hold decimal yuan text (``12.50``, at most 2 decimals), converted
            exactly with integer arithmetic, never through float.
    """

    order_id: HeaderSpec = attrs.field(default="order_id", validator=_check_spec)
    customer_id: HeaderSpec = attrs.field(default="customer_id", validator=_check_spec)
    placed_at: HeaderSpec = attrs.field(default="placed_at", validator=_check_spec)
    amount: HeaderSpec = attrs.field(default="amount", validator=_check_spec)
    status: HeaderSpec = attrs.field(default="status", validator=_check_spec)
    paid_at: HeaderSpec = attrs.field(default="paid_at", validator=_check_spec)
    refunded: HeaderSpec = attrs.field(default="refunded", validator=_check_spec)
    province: HeaderSpec = attrs.field(default="province", validator=_check_spec)
    channel: HeaderSpec = attrs.field(default="channel", validator=_check_spec)
    sku: HeaderSpec = attrs.field(default="sku", validator=_check_spec)
    category: HeaderSpec = attrs.field(default="category", validator=_check_spec)
    quantity: HeaderSpec = attrs.field(default="quantity", validator=_check_spec)
    unit_price: HeaderSpec = attrs.field(default="unit_price", validator=_check_spec)
    amount_unit: AmountUnit = attrs.field(default="fen", validator=_check_unit)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> CsvColumns:
        """Build from ``{logical field: header}`` (plus optionally ``"amount_unit"``).

        Fields not in ``mapping`` keep their canonical header names.

        Raises:
            InvalidValueError: a key is not a logical field.
        """
        unknown = sorted(k for k in mapping if k not in FIELDS and k != "amount_unit")
        if unknown:
            raise InvalidValueError(
                "columns", f"keys must be among {', '.join(FIELDS)} or amount_unit", unknown
            )
        return cls(**dict(mapping))

    @classmethod
    def taobao(cls) -> CsvColumns:
        """The headers of a Taobao / Tmall seller-centre order export (订单报表), in yuan.

        订单编号 → order_id, 买家会员名 → customer_id, 订单创建时间 → placed_at,
        买家实际支付金额 → amount (yuan), 订单状态 → status, 订单付款时间 / 付款时间 → paid_at,
        退款金额 → refunded (yuan), 收货地址省份 / 省份 / 收货地址 → province (a full
        address keeps its first word, which is the province). The export has no item lines.
        """
        return cls(
            order_id="订单编号",
            customer_id="买家会员名",
            placed_at="订单创建时间",
            amount="买家实际支付金额",
            status="订单状态",
            paid_at=("订单付款时间", "付款时间"),
            refunded=("退款金额",),
            province=("收货地址省份", "省份", "收货地址"),
            channel=("订单来源",),
            sku=None,
            category=None,
            quantity=None,
            unit_price=None,
            amount_unit="yuan",
        )

    def candidates(self, field: str) -> tuple[str, ...]:
        """The header names that may hold ``field`` (empty when it is not read)."""
        spec = getattr(self, field)
        if spec is None:
            return ()
        return (spec,) if isinstance(spec, str) else tuple(spec)

    def is_promised(self, field: str) -> bool:
        """Whether ``field``'s header must be present (required, or renamed explicitly)."""
        spec = getattr(self, field)
        return field in _REQUIRED or (isinstance(spec, str) and spec != field)


def coerce_columns(columns: CsvColumns | Mapping[str, Any] | None) -> CsvColumns:
    """``None`` → defaults; a mapping → :meth:`CsvColumns.from_mapping`."""
    if columns is None:
        return CsvColumns()
    if isinstance(columns, CsvColumns):
        return columns
    if isinstance(columns, Mapping):
        return CsvColumns.from_mapping(columns)
    raise InvalidTypeError(
        "columns must be a CsvColumns or a mapping of field to header, "
        f"got {type(columns).__name__}"
    )


# -- problem collection ----------------------------------------------------------------------
class RowProblems:
    """Collects bad cells of a whole file, listing at most ``cap`` per column.

    Cells beyond the cap are counted per rule and summarised in one extra :class:`RowError`
    per column, so a file with a million bad cells still gives a short, bounded report.
    """

    def __init__(self, source: str, columns: Sequence[str] = (), cap: int = MAX_REPORTED) -> None:
        self.source = source
        self.cap = cap
        self._order = {c: i for i, c in enumerate(columns)}
        self._listed: list[RowError] = []
        self._per_column: Counter[str] = Counter()
        self._more: dict[str, Counter[str]] = {}
        self._more_first: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._listed)

    def add(self, line: int, column: str, value: Any, rule: str) -> None:
        """Record one bad cell (``line`` is the 1-based physical line)."""
        if self._per_column[column] < self.cap:
            self._per_column[column] += 1
            self._listed.append(RowError(self.source, int(line), column, _py(value), rule))
            return
        more = self._more.setdefault(column, Counter())
        more[rule] += 1
        first = self._more_first.get(column)
        if first is None or line < first:
            self._more_first[column] = int(line)

    def add_rows(
        self, rows: npt.NDArray[np.intp], lines: IntArray, column: str, values: Any, rule: str
    ) -> None:
        """Record ``rule`` broken at positions ``rows`` of a chunk (``lines`` maps them)."""
        for r in np.asarray(rows).tolist():
            self.add(int(lines[r]), column, values[r], rule)

    def errors(self) -> list[RowError]:
        """The listed errors in file order, then one summary per capped column."""
        listed = sorted(
            self._listed, key=lambda e: (e.line, self._order.get(e.column, len(self._order)))
        )
        for column, rules in self._more.items():
            total = sum(rules.values())
            detail = "; ".join(f"{k}× {rule}" for rule, k in rules.most_common())
            listed.append(
                RowError(
                    self.source,
                    self._more_first[column],
                    column,
                    f"... and {total} more rows",
                    f"has more bad cells than listed, from this line on ({detail})",
                )
            )
        return listed

    def raise_if_any(self, what: str) -> None:
        if self._listed:
            raise DataFormatError(f"invalid {what} in {self.source}", self.errors())


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- cell parsers (vectorised with per-cell fallback) ---------------------------------------
_FLOATISH: Final = re.compile(
    r"[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+|inf|nan)", re.IGNORECASE | re.ASCII
)
_YUAN: Final = re.compile(r"\+?(\d*)(?:\.(\d*))?", re.ASCII)
_TS: Final = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE | re.ASCII,
)
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_TS_RULE: Final = (
    "must be a date-time like 2024-05-01 12:00:00, 2024/05/01 12:00 or "
    "2024-05-01T12:00:00+08:00 (a date alone means local midnight; years 1900-2199)"
)
_MIN_WALL_US: Final = (dt.date(1900, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()) * US_PER_DAY
_MAX_WALL_US: Final = (dt.date(2200, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()) * US_PER_DAY


def _strip(arr: StrArray) -> StrArray:
    return np.strings.strip(arr) if arr.size else arr


def _as_text(values: Sequence[str]) -> StrArray:
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


def parse_fen(arr: StrArray, unit: AmountUnit) -> tuple[IntArray, list[tuple[int, str]]]:
    """Money cells to int64 fen.

    Returns:
        (fen, bad): fen is -1 where a cell is empty and -2 where it is bad; ``bad`` lists
        (position, rule) for the bad non-empty cells (empty cells are the caller's business).
    """
    arr = _strip(arr)
    n = len(arr)
    out = np.full(n, -1, dtype=np.int64)
    bad: list[tuple[int, str]] = []
    if n == 0:
        return out, bad
    if unit == "fen":
        ok = np.strings.isdecimal(arr) & (np.strings.str_len(arr) <= 18)
        ok &= _ascii(arr)
        if ok.all():
            return arr.astype(np.int64), bad
        idx = np.flatnonzero(ok)
        out[idx] = arr[idx].astype(np.int64)
        for i in np.flatnonzero(~ok).tolist():
            text = str(arr[i])
            if text == "":
                continue
            out[i] = -2
            bad.append((i, _fen_rule(text)))
        return out, bad
    head, _sep, tail = np.strings.partition(arr, ".")
    hl = np.strings.str_len(head)
    tl = np.strings.str_len(tail)
    ok = (np.strings.isdecimal(head) | ((hl == 0) & (tl > 0))) & (hl <= 16) & (tl <= 2)
    ok &= (np.strings.isdecimal(tail) | (tl == 0)) & _ascii(arr)
    idx = np.flatnonzero(ok)
    if idx.size:
        h = np.where(hl[idx] == 0, "0", head[idx]).astype(np.int64)
        t = np.strings.ljust(tail[idx], 2, "0").astype(np.int64)
        out[idx] = h * 100 + t
    for i in np.flatnonzero(~ok).tolist():
        text = str(arr[i])
        if text == "":
            continue
        out[i] = -2
        bad.append((i, _yuan_rule(text)))
    return out, bad


def _ascii(arr: StrArray) -> BoolArray:
    width = arr.dtype.itemsize // 4
    if width == 0:
        return np.ones(len(arr), dtype=bool)
    cp = np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), width)
    return np.asarray((cp < 128).all(axis=1))


def _fen_rule(text: str) -> str:
    if text.startswith("-") and text[1:].isdecimal() and text[1:].isascii():
        return "must be >= 0 fen"
    if _FLOATISH.fullmatch(text):
        return (
            "must be an integer number of fen (amount_unit='fen'); this looks like a decimal "
            "or float: if the file holds yuan, pass amount_unit='yuan'"
        )
    if text.isdecimal() and text.isascii():
        return "must fit in int64 fen"
    return "must be an integer number of fen (digits 0-9 only)"


def _yuan_rule(text: str) -> str:
    if text.startswith("-") and _YUAN.fullmatch(text[1:]):
        return "must be >= 0 yuan"
    m = _YUAN.fullmatch(text)
    if m and m.group(2) is not None and len(m.group(2)) > 2 and m.group(2).isdecimal():
        return "must have at most 2 decimal places (whole fen) in yuan"
    return (
        "must be a plain decimal amount in yuan like 12.50 "
        "(no exponent, no thousands separators)"
    )


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
    done = np.zeros(n, dtype=bool)
    if width < 10 or n == 0:
        return done
    cp = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
    length = np.strings.str_len(arr)

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
    idx = np.flatnonzero(good)
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
    y, mo, d, hh, mi, ss, frac, off = m.groups()
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


def parse_statuses(
    cells: Sequence[str] | StrArray,
) -> tuple[npt.NDArray[np.int8], list[tuple[int, str]]]:
    """Status cells to ``OrderStatus.code`` (int8); bad cells as (position, rule)."""
    texts: list[str] = cells.tolist() if isinstance(cells, np.ndarray) else list(cells)
    out = np.zeros(len(texts), dtype=np.int8)
    bad: list[tuple[int, str]] = []
    # a file has a handful of distinct statuses: parse each once, then map with a dict
    codes: dict[str, int] = {}
    wrong: dict[str, str] = {}
    for text in set(texts):
        try:
            codes[text] = parse_status(text.strip()).code
        except InvalidValueError as exc:
            wrong[text] = "must not be empty" if not text.strip() else exc.rule
            codes[text] = 0
    out[:] = np.fromiter(map(codes.__getitem__, texts), dtype=np.int8, count=len(texts))
    if wrong:
        bad = [(i, wrong[t]) for i, t in enumerate(texts) if t in wrong]
    return out, bad


# -- the reader ------------------------------------------------------------------------------
@attrs.frozen
class _Layout:
    """Where each used field is in the header."""

    index: dict[str, int]
    header: dict[str, str]  # field -> header name as written
    width: int


def _resolve(header_row: list[str], cols: CsvColumns, source: str) -> _Layout:
    names = [h.strip().lstrip("\ufeff").strip() for h in header_row]
    problems = RowProblems(source)
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(names):
        positions.setdefault(h, []).append(i)
    lowered: dict[str, list[int]] = {}
    for i, h in enumerate(names):
        lowered.setdefault(h.lower(), []).append(i)
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    for field in FIELDS:
        for cand in cols.candidates(field):
            hits = positions.get(cand.strip()) or lowered.get(cand.strip().lower())
            if hits:
                if len(hits) > 1:
                    problems.add(
                        1, names[hits[0]], names[hits[0]],
                        f"appears {len(hits)} times in the header; column names must be unique",
                    )
                index[field] = hits[0]
                header[field] = names[hits[0]]
                break
    required = [f for f in FIELDS if cols.is_promised(f) and cols.candidates(f)]
    if "sku" in index and "order_id" not in index and cols.candidates("order_id"):
        required.append("order_id")
    for field in required:
        if field not in index:
            if field in _REQUIRED:
                why = f"is required (for {field})"
            elif field == "order_id":
                why = "is required (for order_id) when the file has item lines (a sku column)"
            else:
                why = f"was named in columns= (for {field})"
            others = cols.candidates(field)[1:]
            also = f" (nor {', '.join(repr(c) for c in others)})" if others else ""
            problems.add(
                1, cols.candidates(field)[0], tuple(names),
                f"{why} but is missing from the header{also}; the headers found are shown",
            )
    problems.raise_if_any("header")
    return _Layout(index, header, len(names))


class _Chunks:
    """Accumulates parsed per-chunk columns."""

    def __init__(self) -> None:
        self.parts: dict[str, list[npt.NDArray[Any]]] = {}

    def add(self, name: str, arr: npt.NDArray[Any]) -> None:
        self.parts.setdefault(name, []).append(arr)

    def get(self, name: str, dtype: Any) -> npt.NDArray[Any]:
        parts = self.parts.get(name)
        if not parts:
            return np.zeros(0, dtype=dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def read_orders_csv(
    path: str | os.PathLike[str],
    *,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    encoding: str = "utf-8-sig",
) -> OrderLog:
    """Read a CSV file of orders into an :class:`~ecrm.OrderLog`, streaming it in chunks.

    The first line is the header. One row is one order, unless the file has a ``sku``
    column: then each row is one order line, rows sharing an ``order_id`` form one order,
    and their order-level cells (customer, times, amount, status, refund, province, channel)
    must agree. ``quantity`` defaults to 1; ``unit_price`` is required for orders with
    several lines and otherwise defaults to ``amount / quantity`` when that is whole fen.
    Blank lines are skipped; quoted fields may hold commas and newlines.

    Args:
        path: the CSV file.
        columns: which header holds each field (:class:`CsvColumns`, a mapping
            ``{field: header}``, or ``None`` for the canonical names). Use
            ``CsvColumns.taobao()`` for a Taobao seller-centre export.
        tz: the store's time zone, also the zone of times written without an offset
            (default ``Asia/Shanghai``).
        currency: the currency of every amount.
        chunk_rows: rows parsed per chunk (memory vs. overhead), > 0.
        progress: called ``progress(rows_done, bytes_done, bytes_total)`` after each chunk.
        encoding: the text encoding (default ``utf-8-sig``, which drops a BOM; Taobao
            exports are often ``gbk``).

    Returns:
        One validated log; rows sorted by customer, then ``placed_at``.

    Raises:
        DataFormatError: every bad cell of the file (path, 1-based line, column header,
            value, rule) at once, listing at most 20 per column plus a count of the rest;
            also a missing required column (naming the headers found) or an undecodable file.
        InvalidValueError: bad arguments (unknown zone or currency, ``chunk_rows`` < 1).
        OSError: the file cannot be opened.
    """
    cols = coerce_columns(columns)
    zone = as_zone(tz)
    Money(0, currency)  # validates the currency code before any work
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidValueError("chunk_rows", "must be an int >= 1", chunk_rows)
    source = os.fspath(path)
    total = os.path.getsize(source)
    with open(source, "rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        reader = csv.reader(text)
        try:
            return _read(reader, raw, total, cols, zone, currency, chunk_rows, progress, source)
        except UnicodeDecodeError as exc:
            err = RowError(
                source, reader.line_num + 1, "<file>", exc.object[exc.start:exc.end].hex(" "),
                f"cannot be decoded as {encoding} ({exc.reason}); pass encoding= "
                "(Taobao exports are often 'gbk')",
            )
            raise DataFormatError(f"invalid orders in {source}", [err]) from None
        except csv.Error as exc:
            err = RowError(source, reader.line_num, "<file>", str(exc), "is not valid CSV")
            raise DataFormatError(f"invalid orders in {source}", [err]) from None


def _read(
    reader: Any,
    raw: io.BufferedReader,
    total: int,
    cols: CsvColumns,
    zone: dt.tzinfo,
    currency: str,
    chunk_rows: int,
    progress: Progress | None,
    source: str,
) -> OrderLog:
    header_row = next(reader, None)
    if header_row is None:
        err = RowError(source, 1, "<header>", "", "must be a header line naming the columns; "
                       "the file is empty")
        raise DataFormatError(f"invalid orders in {source}", [err])
    layout = _resolve(header_row, cols, source)
    problems = RowProblems(
        source, ["<row>", *(layout.header[f] for f in FIELDS if f in layout.index)]
    )
    chunks = _Chunks()
    rows_done = 0
    prev: int = reader.line_num
    width = layout.width
    reported = -1
    while True:
        # islice + list keep the per-row work in C; line numbers are recovered per chunk
        rows: list[list[str]] = list(itertools.islice(reader, chunk_rows))
        if not rows:
            break
        end: int = reader.line_num
        if end - prev == len(rows):
            lines = np.arange(prev + 1, end + 1, dtype=np.int64)
        else:
            lines = _start_lines(rows, prev)
        prev = end
        if len(rows[0]) != width or len(set(map(len, rows))) > 1:
            rows, lines = _drop_ragged(rows, lines, width, problems)
        rows_done += len(rows)
        _parse_chunk(rows, lines, layout, cols, zone, problems, chunks)
        if progress is not None:
            reported = min(raw.tell(), total)
            progress(rows_done, reported, total)
    if progress is not None and reported < total:
        progress(rows_done, total, total)
    return _assemble(chunks, layout, cols, zone, currency, problems, source)


_NEWLINES: Final = re.compile(r"\r\n|\r|\n")


def _start_lines(rows: list[list[str]], prev: int) -> IntArray:
    """The 1-based first physical line of each record, when some span several lines."""
    out = np.empty(len(rows), dtype=np.int64)
    line = prev
    for k, row in enumerate(rows):
        out[k] = line + 1
        line += 1 + sum(
            len(_NEWLINES.findall(cell)) for cell in row if "\n" in cell or "\r" in cell
        )
    return out


def _drop_ragged(
    rows: list[list[str]], lines: IntArray, width: int, problems: RowProblems
) -> tuple[list[list[str]], IntArray]:
    """Drop blank lines and report rows with the wrong number of fields."""
    keep_rows: list[list[str]] = []
    keep_lines: list[int] = []
    for row, line in zip(rows, lines.tolist(), strict=True):
        if len(row) == width:
            keep_rows.append(row)
            keep_lines.append(line)
        elif not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        else:
            shown = ",".join(row)
            problems.add(line, "<row>", shown[:80] + ("…" if len(shown) > 80 else ""),
                         f"has {len(row)} fields but the header has {width}")
    return keep_rows, np.asarray(keep_lines, dtype=np.int64)


def _parse_chunk(
    rows: list[list[str]],
    lines: IntArray,
    layout: _Layout,
    cols: CsvColumns,
    zone: dt.tzinfo,
    problems: RowProblems,
    chunks: _Chunks,
) -> None:
    chunks.add("line", lines)
    n = len(rows)
    for field, j in layout.index.items():
        column = [r[j] for r in rows]
        name = layout.header[field]
        if field == "status":  # a few distinct texts: a dict beats a numpy text column
            codes, bad_status = parse_statuses(column)
            for i, rule in bad_status:
                problems.add(int(lines[i]), name, column[i], rule)
            chunks.add(field, codes)
            continue
        cells = _as_text(column) if n else np.zeros(0, dtype="U1")
        if field in ("order_id", "customer_id"):
            ids = parse_ids(cells)
            if n:
                empty = np.flatnonzero(ids == "")
                problems.add_rows(empty, lines, name, cells, "must not be empty")
            chunks.add(field, ids)
        elif field in _TIME_FIELDS:
            us, bad = parse_instants(cells, zone)
            for i in bad:
                problems.add(int(lines[i]), name, str(cells[i]), _TS_RULE)
            if field == "placed_at" and n:
                missing = np.flatnonzero(_strip(cells) == "")
                problems.add_rows(missing, lines, name, cells, "must not be empty")
            chunks.add(field, us)
        elif field in _MONEY_FIELDS:
            fen, bad_money = parse_fen(cells, cols.amount_unit)
            for i, rule in bad_money:
                problems.add(int(lines[i]), name, str(cells[i]), rule)
            if field == "amount" and n:
                missing = np.flatnonzero(_strip(cells) == "")
                problems.add_rows(missing, lines, name, cells, "must not be empty")
                over = np.flatnonzero(fen > MAX_ORDER_FEN)
                problems.add_rows(over, lines, name, cells, ORDER_FEN_RULE)
            chunks.add(field, fen)
        elif field == "quantity":
            qty, bad_qty = parse_fen(cells, "fen")
            for i, rule in bad_qty:
                problems.add(int(lines[i]), name, str(cells[i]),
                             "must be a whole number >= 1" if "fen" in rule else rule)
            zero = np.flatnonzero(qty == 0)
            problems.add_rows(zero, lines, name, cells, "must be a whole number >= 1")
            qty = np.where(qty == -1, 1, qty)
            chunks.add(field, qty)
        else:
            text = _strip(cells)
            if field == "province" and n and bool(np.any(np.strings.find(text, " ") >= 0)):
                # a full address ("浙江省 杭州市 西湖区 …") keeps its first word: the province
                text = np.asarray([t.split()[0] if t else t for t in text.tolist()], dtype=str)
            chunks.add(field, text)


def _assemble(
    chunks: _Chunks,
    layout: _Layout,
    cols: CsvColumns,
    zone: dt.tzinfo,
    currency: str,
    problems: RowProblems,
    source: str,
) -> OrderLog:
    from ecrm._orderlog import OrderLog

    have = layout.index
    name = layout.header
    lines = chunks.get("line", np.int64)
    n = len(lines)
    customer = chunks.get("customer_id", "U1")
    placed = chunks.get("placed_at", np.int64)
    amount = chunks.get("amount", np.int64)
    refund = chunks.get("refunded", np.int64) if "refunded" in have else np.zeros(n, np.int64)
    refund = np.where(refund < 0, 0, refund) if "refunded" in have else refund
    status = (
        chunks.get("status", np.int8) if "status" in have
        else np.full(n, parse_status("paid").code, dtype=np.int8)
    )
    paid = chunks.get("paid_at", np.int64) if "paid_at" in have else None
    oids = chunks.get("order_id", "U1") if "order_id" in have else None
    prov = chunks.get("province", "U1") if "province" in have else None
    chan = chunks.get("channel", "U1") if "channel" in have else None

    render = _Renderer(cols.amount_unit, zone)
    if "refunded" in have:
        over = np.flatnonzero((refund > amount) & (amount >= 0))
        raw_refund = chunks.get("refunded", np.int64)
        for i in over.tolist():
            problems.add(int(lines[i]), name["refunded"], render.money(int(raw_refund[i])),
                         f"must be <= the order amount ({render.money_text(int(amount[i]))})")

    items: OrderItems | None = None
    keep: IntArray | None = None
    if "sku" in have and oids is not None:
        columns_by_field: dict[str, npt.NDArray[Any]] = {
            "customer_id": customer, "placed_at": placed, "amount": amount, "status": status,
        }
        for field, arr in (("paid_at", paid), ("province", prov), ("channel", chan)):
            if arr is not None:
                columns_by_field[field] = arr
        if "refunded" in have:
            columns_by_field["refunded"] = refund
        keep, items = _group_lines(chunks, oids, lines, columns_by_field, amount, layout,
                                   render, problems)
    elif oids is not None and n > 1:
        order = np.argsort(oids, kind="stable")
        s = oids[order]
        dup = np.flatnonzero((s[1:] == s[:-1]) & (s[1:] != ""))
        if dup.size:
            first_pos = _group_first(s, order)
            for k in dup.tolist():
                i = int(order[k + 1])
                earlier = int(lines[first_pos[k + 1]])
                problems.add(int(lines[i]), name["order_id"], str(oids[i]),
                             f"must be unique (order id already on line {earlier})")
    problems.raise_if_any("orders")

    if keep is not None:
        customer, placed, amount, refund, status = (
            customer[keep], placed[keep], amount[keep], refund[keep], status[keep]
        )
        paid = None if paid is None else paid[keep]
        oids = None if oids is None else oids[keep]
        prov = None if prov is None else prov[keep]
        chan = None if chan is None else chan[keep]
    return OrderLog._build(
        zone, currency, customer, placed, amount, refund, status, paid, oids, prov, chan, items,
        source,
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
    lines: IntArray,
    order_cols: dict[str, npt.NDArray[Any]],
    amount: IntArray,
    layout: _Layout,
    render: _Renderer,
    problems: RowProblems,
) -> tuple[IntArray, OrderItems]:
    """Group item rows into orders; check order-level agreement; build the lines."""
    from ecrm._orderlog import OrderItems

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
            differ &= (a != "") & (b != "")
        for i in repeat[np.flatnonzero(differ)].tolist():
            j = int(first[i])
            problems.add(
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
            problems.add(int(lines[i]), price_name, "",
                         f"is required when an order has several lines (order {str(oids[i])!r})")
        elif int(amount[i]) % int(qty[i]):
            problems.add(
                int(lines[i]), price_name, "",
                f"is missing and amount {render.money(int(amount[i]))} is not a whole number "
                f"of fen per unit for quantity {int(qty[i])}",
            )
        else:
            derived[i] = int(amount[i]) // int(qty[i])
    idx = np.flatnonzero(is_line)
    keep = np.sort(np.unique(first)).astype(np.int64) if n else np.zeros(0, np.int64)
    items = OrderItems(oids[idx], sku[idx], cat[idx], qty[idx], derived[idx])
    return keep, items


class _Renderer:
    """Shows parsed values the way the file writes them, for end-of-file messages."""

    def __init__(self, unit: AmountUnit, tz: dt.tzinfo) -> None:
        self.unit = unit
        self.tz = tz

    def money(self, fen: int) -> str | int:
        if self.unit == "fen":
            return fen
        return f"{fen // 100}.{fen % 100:02d}"

    def money_text(self, fen: int) -> str:
        return f"{fen} fen" if self.unit == "fen" else f"{self.money(fen)} yuan"

    def value(self, field: str, v: Any) -> Any:
        v = _py(v)
        if field in _TIME_FIELDS:
            return "" if v == NAT_US else us_to_datetime(int(v), self.tz).isoformat()
        if field in ("amount", "refunded"):
            return self.money(int(v))
        if field == "status":
            return STATUS_BY_CODE[int(v)].value
        return v
