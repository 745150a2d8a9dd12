"""Customer ids of a file, coded chunk by chunk: never a whole column of id text.

A CSV gives its ids as text. Held as a numpy ``str`` column until the log factorises them,
10,000,000 eight-character ids are 320 MB (UCS-4) plus copies, more than the other columns
together. :class:`IdCoder` instead turns each chunk's cells into integer codes as it is read:

* **digit ids** (every cell of the file so far the same number, 1..18, of ASCII digits: what
  a shop's numeric member ids look like) are kept as their int64 values; sorted as numbers
  they are in the text's order, and the text is the number written back with its width;
* **other ids** are looked up in one dictionary of the distinct cell texts seen (raw code per
  text, in order of first appearance); each new text is cleaned once (stripped, spreadsheet
  guards unwrapped: :func:`~ecrm._load._cells.parse_ids`), so cleaning costs per distinct id,
  not per row.

:meth:`IdCoder.finish` gives :class:`CodedIds`, the sorted distinct ids and each row's code
into them: what ``OrderLog`` keeps, with no factorisation left to do. Both engines feed the
same coder (lists of cells or pyarrow arrays), so they give the same ids and codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import factorize
from ecrm._load._cells import ByteCells, bytes_text, parse_ids, text_bytes
from ecrm._load._csv import arrow_numbers
from ecrm._load._grow import GrowingColumn

__all__ = ["CodedIds", "IdCoder", "arrow_digit_values"]

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int32] | IntArray
#: Longest digit id kept as a number (19 digits could pass int64).
_MAX_DIGITS = 18


@attrs.frozen(eq=False)
class CodedIds:
    """A column of ids as its distinct values and a code per row.

    Attributes:
        ids: str, shape (k,): the distinct (cleaned) ids, sorted.
        codes: int32 (int64 past 2**31 ids), shape (n,): row ``i`` has id ``ids[codes[i]]``.
    """

    ids: npt.NDArray[np.str_]
    codes: CodeArray

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, rows: IntArray) -> CodedIds:
        """The rows ``rows`` (ids that no longer occur are dropped, codes renumbered)."""
        codes = self.codes[rows]
        used = np.zeros(len(self.ids), dtype=bool)
        used[codes] = True
        if bool(used.all()):
            return CodedIds(self.ids, codes)
        renumber: npt.NDArray[Any] = (np.cumsum(used) - 1).astype(codes.dtype)
        renumbered: CodeArray = renumber[codes]
        return CodedIds(self.ids[used], renumbered)

    def texts(self) -> npt.NDArray[np.str_]:
        """The id of every row as a ``str`` array (for small uses: messages, tests)."""
        return self.ids[self.codes] if len(self.codes) else np.zeros(0, dtype="U1")


class IdCoder:
    """Codes the id cells of a file's chunks (see the module docstring).

    Call :meth:`add_cells` (a list of cell texts) or :meth:`add_arrow` (a null-free pyarrow
    string array) once per chunk, in file order, then :meth:`finish` once.
    """

    def __init__(self) -> None:
        #: digit path: the one width of the ids so far (0: no chunk yet; -1: text path)
        self._width = 0
        self._values = GrowingColumn(np.int64)
        #: text path: raw cell text -> raw code; the cleaned id of each raw code, by blocks
        self._index: dict[str, int] = {}
        self._clean: list[npt.NDArray[np.str_]] = []
        self._empty: set[int] = set()
        self._codes = GrowingColumn(np.int32)
        self._rows = 0

    def expect(self, rows: int) -> None:
        """Size the columns for about ``rows`` rows (before the first chunk)."""
        self._values.capacity = self._codes.capacity = rows

    # -- chunks --------------------------------------------------------------------------------
    def add_cells(self, cells: Sequence[str]) -> IntArray:
        """Code one chunk of cell texts (the python engine).

        Returns:
            int64 positions in the chunk of the cells whose id is empty once cleaned.
        """
        if self._width >= 0:
            digits = _digit_values(text_bytes(cells), self._width)
            if digits is not None:
                self._keep_digits(*digits)
                return np.zeros(0, dtype=np.int64)
            self._to_text()
        index = self._index
        before = len(index)
        sd = index.setdefault
        codes = np.fromiter((sd(t, len(index)) for t in cells), dtype=np.int32,
                            count=len(cells))
        if len(index) > before:
            fresh = np.flatnonzero(codes >= before)
            _, first = np.unique(codes[fresh], return_index=True)  # in code order
            self._add_texts([cells[i] for i in fresh[first].tolist()], before)
        return self._store(codes)

    def add_bytes(self, cells: ByteCells) -> IntArray:
        """Code one chunk given as the cells' UTF-8 bytes (the python engine's plain blocks).

        Returns:
            as :meth:`add_cells`.
        """
        if self._width >= 0:
            digits = _digit_values(cells, self._width)
            if digits is not None:
                self._keep_digits(*digits)
                return np.zeros(0, dtype=np.int64)
            self._to_text()
        return self.add_cells(bytes_text(cells).tolist())

    def add_arrow(self, arr: Any, *, digits: tuple[IntArray, int] | object | None = ...) -> IntArray:
        """Code one chunk given as a null-free pyarrow string array (the arrow engine).

        Args:
            arr: the chunk's id cells.
            digits: ``arrow_digit_values(arr)`` when the caller made it already (on
                another thread).

        Returns:
            as :meth:`add_cells`.
        """
        import pyarrow.compute as pc

        from ecrm._load._csv import arrow_cells

        if self._width >= 0:
            if digits is ...:
                digits = _digit_values(arrow_cells(arr), self._width)
            if isinstance(digits, tuple) and (self._width in (0, digits[1]) or not len(arr)):
                self._keep_digits(*digits)
                return np.zeros(0, dtype=np.int64)
            self._to_text()
        encoded = pc.dictionary_encode(arr)
        texts: list[str] = encoded.dictionary.to_pylist()
        index = self._index
        before = len(index)
        sd = index.setdefault
        lut = np.fromiter((sd(t, len(index)) for t in texts), dtype=np.int32, count=len(texts))
        if len(index) > before:
            self._add_texts([texts[j] for j in np.flatnonzero(lut >= before).tolist()], before)
        positions = arrow_numbers(encoded.indices, np.int32)
        return self._store(lut[positions] if len(positions) else np.zeros(0, np.int32))

    def _keep_digits(self, values: IntArray, width: int) -> None:
        if len(values):
            self._width = width
            self._values.put(self._rows, values)
            self._rows += len(values)

    def _add_texts(self, texts: list[str], first_code: int) -> None:
        clean = parse_ids(np.asarray(texts, dtype=str))
        self._clean.append(clean)
        for k in np.flatnonzero(clean == "").tolist():
            self._empty.add(first_code + k)

    def _store(self, codes: npt.NDArray[np.int32]) -> IntArray:
        self._codes.put(self._rows, codes)
        self._rows += len(codes)
        if not self._empty or not len(codes):
            return np.zeros(0, dtype=np.int64)
        empty = np.fromiter(self._empty, dtype=np.int32, count=len(self._empty))
        return np.flatnonzero(np.isin(codes, empty)).astype(np.int64)

    def _to_text(self) -> None:
        """Leave the digit path: the ids so far become texts of the dictionary."""
        width, self._width = self._width, -1
        if not self._rows:
            return
        values = self._values.array(self._rows)
        self._values = GrowingColumn(np.int64)
        uniq, inverse = np.unique(values, return_inverse=True)
        del values
        texts = _digit_texts(uniq, width)
        self._index = dict(zip(texts.tolist(), range(len(texts)), strict=True))
        self._clean = [texts]
        self._codes.put(0, inverse.reshape(-1).astype(np.int32))

    # -- the result ----------------------------------------------------------------------------
    def finish(self) -> CodedIds:
        """The sorted distinct ids and the code of every row added."""
        if self._rows == 0:
            return CodedIds(np.zeros(0, dtype="U1"), np.zeros(0, dtype=np.int32))
        if self._width > 0:
            values = self._values.array(self._rows)
            self._values = GrowingColumn(np.int64)
            uniq, codes = factorize(values)
            del values
            return CodedIds(_digit_texts(uniq, self._width), codes)
        clean = self._clean[0] if len(self._clean) == 1 else np.concatenate(self._clean)
        raw = self._codes.array(self._rows)
        self._codes = GrowingColumn(np.int32)
        ids, code_of_raw = factorize(clean)
        return CodedIds(ids, code_of_raw[raw])


def arrow_digit_values(arr: Any) -> tuple[IntArray, int] | None:
    """(numbers, width) of a null-free pyarrow string array when each cell is the same
    number (1..18) of ASCII digits as the first one; else ``None``. Stateless: what
    :meth:`IdCoder.add_arrow` takes as ``digits``.

    The check is four reductions (cell lengths, bytes); the numbers are Arrow's cast.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from ecrm._load._csv import arrow_bytes

    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    data, off = arrow_bytes(arr)
    width = int(off[1] - off[0])
    if not 1 <= width <= _MAX_DIGITS or int(off[-1] - off[0]) != n * width:
        return None
    lengths = np.diff(off)
    if int(lengths.min()) != width or int(lengths.max()) != width:
        return None
    body = data[off[0]:off[-1]]
    if int(body.min()) < 48 or int(body.max()) > 57:
        return None
    return arrow_numbers(pc.cast(arr, pa.int64()), np.int64), width


def _digit_values(cells: ByteCells | None, width: int) -> tuple[IntArray, int] | None:
    """(numbers, width) of ``cells`` when each is ``width`` ASCII digits (when ``width`` is
    0, before the first cell, the first cell's length, 1..18); else ``None``."""
    if cells is None:
        return None
    lengths = cells.lengths
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.int64), width
    if width == 0:
        width = int(lengths[0])
    if not (1 <= width <= _MAX_DIGITS) or not bool((lengths == width).all()):
        return None
    digits = cells.matrix(width)
    values = np.zeros(n, dtype=np.int64)
    column = np.empty(n, dtype=np.uint8)
    for j in range(width):
        np.subtract(digits[:, j], np.uint8(48), out=column)  # wraps below "0": one test
        if int(column.max()) > 9:
            return None
        values *= 10
        values += column
    return values, width


def _digit_texts(values: IntArray, width: int) -> npt.NDArray[np.str_]:
    """Numbers (each ``0 <= v < 10**width``) written back as ``width`` digits, leading zeros
    restored: each digit's code point is put in place by arithmetic (numpy's int -> str is
    a formatting call per number, ten times slower)."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=f"U{max(width, 1)}")
    points = np.empty((n, width), dtype=np.uint32)
    rest = values.astype(np.int64, copy=True)
    digit = np.empty(n, dtype=np.int64)
    for j in range(width - 1, -1, -1):
        np.remainder(rest, 10, out=digit)
        np.add(digit, ord("0"), out=points[:, j], casting="unsafe")
        np.floor_divide(rest, 10, out=rest)
    return points.view(f"U{width}").reshape(n)
