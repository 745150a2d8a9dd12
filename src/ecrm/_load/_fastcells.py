"""Whole columns of plain cells parsed at once, for both engines' order reader.

Each function settles in Arrow or numpy the cells whose text has one plain shape (digit-only
amounts, zero-padded naive date-times, a handful of status names) and hands the others
(empty, odd or bad cells) to the exact per-cell parsers of :mod:`ecrm._load._cells`, so
both paths give the same values and the same problems; ``tests/core/test_load_fast.py``
checks the agreement on generated cells. Pure functions of a column: safe on any thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._load._cells import (
    _MAX_WALL_US,
    _MIN_WALL_US,
    ByteCells,
    MoneyCells,
    coded_column,
    parse_ids,
    parse_instants,
    parse_money,
    wall_from_codes,
)
from ecrm._load._csv import arrow_bytes, arrow_cells, arrow_numbers, arrow_text
from ecrm._time import NAT_US, wall_to_utc_us

__all__ = ["arrow_coded", "arrow_ids", "arrow_instants", "arrow_money", "fast_instants", "fast_money"]

IntArray = npt.NDArray[np.int64]


def arrow_coded(
    arr: Any, parse: Callable[[str], int]
) -> tuple[npt.NDArray[np.int8], list[tuple[int, str, str]]]:
    """:func:`coded_column` of a pyarrow string array: each distinct text parsed once.

    Returns:
        (codes, bad): ``bad`` lists (position, text, rule) in row order.
    """
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(arr)
    texts: list[str] = encoded.dictionary.to_pylist()
    index = np.asarray(arrow_numbers(encoded.indices, np.int32), dtype=np.int64)
    per_text, wrong = coded_column(texts, parse)
    codes = per_text[index] if len(index) else np.zeros(0, np.int8)
    bad: list[tuple[int, str, str]] = []
    if wrong:
        rule_of = dict(wrong)
        hit = np.flatnonzero(np.isin(index, np.asarray(list(rule_of), dtype=np.int64)))
        bad = [(i, texts[k], rule_of[k]) for i, k in zip(hit.tolist(), index[hit].tolist(), strict=True)]
    return np.asarray(codes, dtype=np.int8), bad


def arrow_ids(arr: Any) -> npt.NDArray[np.str_]:
    """:func:`parse_ids` of a pyarrow string array; skipped when no cell needs it.

    A cell needs it when it is empty, starts with ``=`` or ``'``, or starts or ends with a
    byte that is not printable ASCII (whitespace of any kind, or a multi-byte character).
    """
    text = arrow_text(arr)
    data, off = arrow_bytes(arr)
    length = np.diff(off)
    if len(length) == 0:
        return text
    if not bool((length > 0).all()):
        return parse_ids(text)
    first = data[off[:-1]]
    last = data[off[1:] - 1]
    plain = (first > 32) & (first < 127) & (first != ord("=")) & (first != ord("'"))
    plain &= (last > 32) & (last < 127)
    return text if bool(plain.all()) else parse_ids(text)


def arrow_instants(
    arr: Any, zone: dt.tzinfo
) -> tuple[IntArray, IntArray, npt.NDArray[np.str_], list[int]]:
    """:func:`fast_instants` of a pyarrow string array.

    A column whose every cell is ``YYYY-MM-DD HH:MM:SS`` (or ``T``) is cast in Arrow as a
    whole, which rejects impossible dates and times as the exact parser does (then the
    column takes the general path); years outside 1900-2199 take it too.
    """
    cells = arrow_cells(arr)
    whole = _arrow_iso_seconds(arr, cells)
    if whole is not None:
        none = np.zeros(0, dtype=np.int64)
        return wall_to_utc_us(whole, zone), none, np.zeros(0, dtype="U1"), []
    return fast_instants(cells, lambda rows: arrow_text(arr.take(rows)), zone)


# ``YYYY-MM-DD HH:MM:SS`` byte by byte: the least byte each position may hold ("0" for a
# digit; the "-", " " and ":" themselves) and how far above it (9 for a digit, 0 for "-" and
# ":", and "T" - " " at 10, where the two are told apart after)
_ISO_LEAST = np.frombuffer(b"0000-00-00 00:00:00", dtype=np.uint8)
_ISO_SPAN = np.asarray([9, 9, 9, 9, 0, 9, 9, 0, 9, 9, ord("T") - ord(" "), 9, 9, 0, 9, 9, 0,
                        9, 9], dtype=np.uint8)


class _IsoPattern:
    """:data:`_ISO_LEAST` and :data:`_ISO_SPAN` repeated for ``n`` cells, kept for the next
    chunk (the check is then two flat passes over the cells' bytes)."""

    def __init__(self) -> None:
        self.least = np.zeros(0, dtype=np.uint8)
        self.span = np.zeros(0, dtype=np.uint8)

    def for_cells(self, n: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        if len(self.least) < 19 * n:
            self.least, self.span = np.tile(_ISO_LEAST, n), np.tile(_ISO_SPAN, n)
        return self.least[:19 * n], self.span[:19 * n]


#: (shared by every read: a thread that tiles a longer pattern replaces it whole, and the
#: slices already handed out keep the old one alive)
_ISO_PATTERN = _IsoPattern()


def _arrow_iso_seconds(arr: Any, cells: ByteCells) -> IntArray | None:
    """Wall microseconds of a column of ``YYYY-MM-DD HH:MM:SS`` cells only, else ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    if n == 0 or not bool((cells.lengths == 19).all()):
        return None
    # cells of one length follow each other: their bytes are one run of 19 n bytes
    first = int(cells.starts[0])
    flat = cells.data[first:first + 19 * n]
    least, span = _ISO_PATTERN.for_cells(n)
    if len(flat) != 19 * n or not bool(np.less_equal(flat - least, span).all()):
        return None  # (below the least byte wraps round to above every span)
    middle = flat[10::19]
    if not bool(((middle == 32) | (middle == 84)).all()):  # " " or "T"
        return None
    try:
        stamps = pc.cast(arr, pa.timestamp("us"))
    except pa.ArrowInvalid:
        return None
    wall: IntArray = arrow_numbers(stamps, np.int64)
    if not bool(((wall >= _MIN_WALL_US) & (wall < _MAX_WALL_US)).all()):
        return None
    return wall


def fast_instants(
    cells: ByteCells, text_of: Callable[[IntArray], npt.NDArray[np.str_]], zone: dt.tzinfo
) -> tuple[IntArray, IntArray, npt.NDArray[np.str_], list[int]]:
    """:func:`parse_instants` of a column given as bytes.

    Plain zero-padded naive cells are parsed from their bytes; the others, as text
    (``text_of(rows)``), by the exact parser. Wall times go to UTC through the one rule,
    ``wall_to_utc_us``.

    Returns:
        (us, rest, texts, bad): ``rest`` the positions parsed exactly, ``texts`` their text,
        ``bad`` positions in ``rest`` of the cells that are not date-times.
    """
    length = cells.lengths
    n = len(length)
    wall = np.full(n, NAT_US, dtype=np.int64)
    width = min(int(length.max(initial=0)), 26)
    done = wall_from_codes(cells.matrix(width), length, wall)
    fast = np.flatnonzero(done)
    out = np.full(n, NAT_US, dtype=np.int64)
    if fast.size:
        out[fast] = wall_to_utc_us(wall[fast], zone)
    rest = np.flatnonzero(~done)
    texts = text_of(rest) if rest.size else np.zeros(0, dtype="U1")
    bad: list[int] = []
    if rest.size:
        slow, bad = parse_instants(texts, zone)
        out[rest] = slow
    return out, rest, texts, bad


def arrow_money(
    arr: Any, unit: str
) -> tuple[MoneyCells, IntArray, npt.NDArray[np.str_], list[tuple[int, str]]]:
    """:func:`fast_money` of a pyarrow string array; a column of digits only is cast in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data, off = arrow_bytes(arr)
    length = np.diff(off)
    body = data[off[0]:off[-1]]
    if (len(arr) and int(length.min()) >= 1 and int(length.max()) <= 18
            and int(body.min()) >= 48 and int(body.max()) <= 57):  # digits only
        whole: IntArray = arrow_numbers(pc.cast(arr, pa.int64()), np.int64)
        n = len(whole)
        none = np.zeros(0, dtype=np.int64)
        cells = MoneyCells(whole, np.zeros(n, np.int64), np.zeros(n, dtype=bool))
        return cells, none, np.zeros(0, dtype="U1"), []
    return fast_money(arrow_cells(arr), lambda rows: arrow_text(arr.take(rows)), unit)


def fast_money(
    cells: ByteCells, text_of: Callable[[IntArray], npt.NDArray[np.str_]], unit: str
) -> tuple[MoneyCells, IntArray, npt.NDArray[np.str_], list[tuple[int, str]]]:
    """:func:`parse_money` of a column given as bytes: digit-only cells read from their bytes.

    Returns:
        (cells, rest, texts, bad): ``rest`` the positions parsed exactly (``text_of(rows)``),
        ``texts`` their text, ``bad`` (position in ``rest``, rule).
    """
    length = cells.lengths
    n = len(length)
    whole = np.full(n, -1, dtype=np.int64)
    cents = np.zeros(n, dtype=np.int64)
    marked = np.zeros(n, dtype=bool)
    width = min(int(length.max(initial=0)), 18)
    codes = cells.matrix(width).astype(np.int64) - 48
    inside = np.arange(width) < length[:, None]
    plain = (length >= 1) & (length <= 18)
    plain &= (((codes >= 0) & (codes <= 9)) | ~inside).all(axis=1)
    value = np.zeros(n, dtype=np.int64)
    for j in range(width):
        value = np.where(inside[:, j], value * 10 + codes[:, j], value)
    whole[plain] = value[plain]
    rest = np.flatnonzero(~plain)
    texts = text_of(rest) if rest.size else np.zeros(0, dtype="U1")
    bad: list[tuple[int, str]] = []
    if rest.size:
        exact, bad = parse_money(texts, unit)
        whole[rest], cents[rest], marked[rest] = exact.whole, exact.cents, exact.marked
    return MoneyCells(whole, cents, marked), rest, texts, bad
