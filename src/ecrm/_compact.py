"""Compact forms of an order log's row columns, kept while its rows are in input order.

* :class:`SparseFen`: a fen column that is zero on most rows, kept as its non-zero rows.
  A few percent of a shop's orders carry a refund, so the column is a few megabytes
  instead of eight bytes a row, and a kernel that takes refunds off its sums visits only
  those rows.
* :class:`OffsetCodes`: the customer of each row as its id's offset from the smallest id,
  for compact integer ids (auto-increment keys). A kernel that sums per customer addresses
  its totals by offset directly; the dense customer codes (a random read of a table per
  row) are made only when something asks for them.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["OffsetCodes", "SparseFen", "offset_codes"]

IntArray = npt.NDArray[np.int64]


def _read_only(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


@attrs.frozen(eq=False)
class SparseFen:
    """An int64 column of ``size`` rows, zero except at ``rows``.

    Attributes:
        size: the number of rows of the column.
        rows: intp, ascending and distinct: the rows that are not zero.
        values: int64, the non-zero values at ``rows``.
    """

    size: int
    rows: npt.NDArray[np.intp] = attrs.field(converter=_read_only)
    values: IntArray = attrs.field(converter=_read_only)

    @classmethod
    def of(cls, column: IntArray) -> SparseFen:
        """The non-zero rows of a dense column (its values copied)."""
        rows = np.flatnonzero(column != 0)  # (twice as fast as on the ints)
        return cls(len(column), rows, column[rows])

    def dense(self) -> IntArray:
        """The column as a fresh int64 array of ``size`` rows."""
        out = np.zeros(self.size, dtype=np.int64)
        out[self.rows] = self.values
        return out

    def between(self, lo: int, hi: int) -> SparseFen:
        """The column's rows ``[lo, hi)`` as a column of their own (row numbers from 0)."""
        a, b = (int(i) for i in np.searchsorted(self.rows, [lo, hi]))
        rows = self.rows[a:b] - lo if lo else self.rows[a:b]
        return SparseFen(hi - lo, rows, self.values[a:b])

    def __len__(self) -> int:
        return self.size


@attrs.frozen(eq=False)
class OffsetCodes:
    """The customer of each row as ``id − base``, for integer ids in a compact range.

    Customer code ``c`` (the index of the id in the sorted distinct ids) is the id at offset
    ``buckets[c]``; so a total summed by offset over ``span`` slots is, taken at
    ``buckets``, the total per customer code.

    Attributes:
        offsets: int32, shape (n,): the offset of each row's id from the smallest id.
        buckets: intp, ascending, shape (n_customers,): the offset of each customer code.
        span: the number of offsets (largest id − smallest id + 1).
    """

    offsets: npt.NDArray[np.int32] = attrs.field(converter=_read_only)
    buckets: npt.NDArray[np.intp] = attrs.field(converter=_read_only)
    span: int

    def codes(self) -> npt.NDArray[np.int32]:
        """The customer code of each row (int32, fresh)."""
        table = np.zeros(self.span, dtype=np.int32)
        table[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)
        return table[self.offsets]

    def __len__(self) -> int:
        return len(self.offsets)


def offset_codes(ids: npt.NDArray[np.int64]) -> tuple[IntArray, OffsetCodes] | None:
    """The sorted distinct ids and the rows' :class:`OffsetCodes`, for int64 ids whose
    range is at most four times the rows (and fits int32 offsets); else ``None``.

    One subtraction and one scatter of a flag per row: no per-row table read.
    """
    n = len(ids)
    if not n or ids.dtype.kind != "i":
        return None
    lo, hi = int(ids.min()), int(ids.max())
    span = hi - lo + 1
    if span > max(4 * n, 1 << 16) or span >= np.iinfo(np.int32).max:
        return None
    offsets = np.empty(n, dtype=np.int32)
    np.subtract(ids, lo, out=offsets, casting="unsafe")  # (exact: every offset < span)
    present = np.zeros(span, dtype=np.bool_)
    present[offsets] = True
    buckets = np.flatnonzero(present)
    return buckets + lo, OffsetCodes(offsets, buckets, span)
