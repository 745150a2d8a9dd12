"""A numeric column filled chunk by chunk into one buffer, sized from an estimate.

Joining a file's chunk parts at the end holds every column twice for a moment, and the many
freed parts leave the heap fragmented (the process keeps their pages). A
:class:`GrowingColumn` is one buffer instead, allocated once for the rows the reader expects
(``rows_hint``: the file's size over the bytes per row read so far, with a margin); rows past
the estimate grow it by half. Pages past the last row filled are never written, so an
overestimate costs address space, not memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GrowingColumn"]


class GrowingColumn:
    """One column of a fixed dtype, written in consecutive slices.

    Args:
        dtype: the numpy dtype.
        capacity: rows to allocate on the first write (at least that write's end).
    """

    def __init__(self, dtype: Any, capacity: int = 0) -> None:
        self.dtype = np.dtype(dtype)
        self.capacity = max(int(capacity), 0)
        self._buf: npt.NDArray[Any] | None = None

    def put(self, at: int, values: npt.NDArray[Any]) -> None:
        """Write ``values`` into rows ``[at, at + len(values))``; rows before ``at`` never
        written read as zero."""
        end = at + len(values)
        buf = self._buf
        if buf is None:
            # np.zeros of a large size is calloc'ed: pages never written stay unallocated
            buf = self._buf = np.zeros(max(self.capacity, end), dtype=self.dtype)
        elif end > len(buf):
            bigger = np.zeros(max(end, len(buf) + len(buf) // 2), dtype=self.dtype)
            bigger[: len(buf)] = buf
            buf = self._buf = bigger
        buf[at:end] = values

    @property
    def written(self) -> bool:
        """Whether any value was put."""
        return self._buf is not None

    def array(self, n: int) -> npt.NDArray[Any]:
        """The first ``n`` rows (zeros where nothing was written): a view of the buffer."""
        buf = self._buf
        if buf is None or len(buf) < n:
            bigger = np.zeros(n, dtype=self.dtype)
            if buf is not None:
                bigger[: len(buf)] = buf
            buf = self._buf = bigger
        return buf[:n]
