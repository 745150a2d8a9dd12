"""The one problem collector of every loader and column checker: :class:`Problems`.

A loader records each bad cell (source, line, column, value, rule) and goes on reading, so one
:class:`~ecrm.DataFormatErrorGroup` lists every problem of the input at once. At most ``cap`` cells
are listed per column; the rest are counted per rule and summarised in one extra
:class:`~ecrm.errors.RowError` per column, so a file with a million bad cells still gives a
short report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm.errors import DataFormatErrorGroup, InvalidValueError, RowError

__all__ = ["MAX_REPORTED", "Problems"]

#: At most this many bad cells are listed per column; the message counts the rest.
MAX_REPORTED: Final = 20


class Problems:
    """Collects the bad cells of one input and raises them together.

    Args:
        source: the file name (or ``"<arrays>"``, ``"<pandas>"`` …) named in each error.
        columns: the column order used to sort errors of one line (optional).
        cap: the most cells listed per column.
        line_offset: added to 0-based row positions given to :meth:`add_rows`.
    """

    def __init__(
        self,
        source: str,
        columns: Sequence[str] = (),
        *,
        cap: int = MAX_REPORTED,
        line_offset: int = 0,
    ) -> None:
        self.source = source
        self.cap = cap
        self.line_offset = line_offset
        self._order = {c: i for i, c in enumerate(columns)}
        self._listed: list[InvalidValueError] = []
        self._per_column: Counter[str] = Counter()
        self._more: dict[str, Counter[str]] = {}
        self._more_first: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._listed)

    def add_cell(self, line: int, column: str, value: Any, rule: str) -> None:
        """Record one bad cell (``line``: the 1-based physical line, or a 0-based row)."""
        if self._per_column[column] < self.cap:
            self._per_column[column] += 1
            self._listed.append(RowError(self.source, int(line), column, _py(value), rule))
            return
        more = self._more.setdefault(column, Counter())
        more[rule] += 1
        first = self._more_first.get(column)
        if first is None or line < first:
            self._more_first[column] = int(line)

    def add(self, error: InvalidValueError) -> None:
        """Record an already-built error (a :class:`RowError` counts toward its column's cap)."""
        if isinstance(error, RowError):
            self.add_cell(error.line, error.column, error.value, error.rule)
        else:
            self._listed.append(error)

    def add_rows(
        self,
        rows: npt.NDArray[np.intp] | Sequence[int],
        column: str,
        values: Any,
        rule: str,
        *,
        lines: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Record ``rule`` broken at positions ``rows`` of ``values``.

        Args:
            rows: 0-based positions.
            column: the column name shown.
            values: indexable by position (the bad value shown).
            rule: what the value must be.
            lines: maps a position to its physical line; without it the line is
                ``position + line_offset``.
        """
        for r in np.asarray(rows, dtype=np.int64).tolist():
            line = int(lines[r]) if lines is not None else r + self.line_offset
            self.add_cell(line, column, values[r], rule)

    def extend(self, other: Problems) -> None:
        """Record every error of ``other`` (listed ones and summaries)."""
        for err in other.errors:
            self._listed.append(err)

    @property
    def errors(self) -> list[InvalidValueError]:
        """The listed errors in input order, then one summary per capped column."""
        def key(e: InvalidValueError) -> tuple[int, int]:
            if isinstance(e, RowError):
                return (e.line, self._order.get(e.column, len(self._order)))
            return (-1, 0)

        listed = sorted(self._listed, key=key)
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
        """Raise one :class:`~ecrm.DataFormatErrorGroup` listing every problem, if there is any."""
        if self._listed:
            raise DataFormatErrorGroup(f"invalid {what} in {self.source}", self.errors)


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
