"""The checks and conversions of the columns a caller hands :meth:`OrderLog.from_arrays`:
statuses, refunds (kept as their non-zero rows), amounts (the log's own copy), the times
(and whether they are in order), the customer ids' codes, and which parts run on threads.

Each function takes plain columns and a :class:`~ecrm._load._problems.Problems` (or its
own, on a thread) and returns plain columns; the log's builder puts them together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from ecrm._columns import factorize, fen_column, instants_column
from ecrm._compact import OffsetCodes, SparseFen, offset_codes
from ecrm._load._cells import enum_column
from ecrm._load._problems import Problems
from ecrm._order import STATUS_BY_CODE, OrderStatus, parse_status
from ecrm._threads import Background

__all__ = [
    "INT32_MAX",
    "BuildJobs",
    "check_refunds",
    "check_unique",
    "coded_ids",
    "non_decreasing",
    "own",
    "own_amounts",
    "placed_instants",
    "refund_rows",
    "status_column",
    "status_table",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_A = TypeVar("_A", bound="npt.NDArray[Any] | None")


def placed_instants(placed_at: npt.NDArray[Any], zone: dt.tzinfo | None,
                    source: str) -> tuple[IntArray, Problems, bool]:
    """``placed_at`` as UTC microseconds, the problems of the column, and whether the
    instants are in time order (on any thread)."""
    problems = Problems(source)
    placed = instants_column(placed_at, "placed_at", zone, problems)
    return placed, problems, non_decreasing(placed)


def non_decreasing(values: IntArray) -> bool:
    """Whether ``values`` never decrease (compared a block at a time: no big mask)."""
    step = 1 << 20
    for lo in range(0, len(values) - 1, step):
        hi = min(lo + step, len(values) - 1)
        if not bool(np.all(values[lo + 1:hi + 1] >= values[lo:hi])):
            return False
    return True


def status_table(statuses: Iterable[OrderStatus]) -> BoolArray:
    """bool, shape (number of status codes,): which ``OrderStatus.code`` s are in ``statuses``."""
    table = np.zeros(len(STATUS_BY_CODE), dtype=bool)
    table[[s.code for s in statuses]] = True
    return table


def status_column(values: Any, n: int, problems: Problems) -> npt.NDArray[np.int8]:
    """``OrderStatus`` codes of ``statuses`` (codes, members or names); all PAID when
    ``None``."""
    if values is None:
        return np.full(n, OrderStatus.PAID.code, dtype=np.int8)
    return enum_column(values, n, OrderStatus, "statuses", "a status", status_code, problems)


def status_code(text: str) -> int:
    return parse_status(text).code


class BuildJobs(NamedTuple):
    """The parts of a large :meth:`OrderLog.from_arrays` that run on threads (or ``None``)."""

    coding: Background[tuple[IntArray, Any]] | None
    timing: Background[tuple[IntArray, Problems, bool]] | None
    refunding: Background[tuple[IntArray | None, SparseFen, Problems]] | None


def refund_rows(refunded: Any, n: int,
                source: str) -> tuple[IntArray | None, SparseFen, Problems]:
    """(On any thread.) The refunds column of :meth:`OrderLog.from_arrays` checked, its
    non-zero rows (their values copied: never the caller's buffer) and its problems."""
    problems = Problems(source)
    none = SparseFen(n, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64))
    if refunded is None:
        return None, none, problems
    refund = fen_column(refunded, "refunded", problems)
    return refund, (SparseFen.of(refund) if len(refund) == n else none), problems


def check_refunds(refund: IntArray | None, refunds: SparseFen, amount: IntArray,
                   problems: Problems) -> None:
    """Report each refund over its order's amount (only a non-zero one can be; a negative
    amount is reported already)."""
    if refund is None or len(amount) != len(refund) or not refunds.rows.size:
        return
    at = amount[refunds.rows]
    over = refunds.values > at
    over &= at >= 0
    if over.any():
        problems.add_rows(refunds.rows[over], "refunded", refund, "must be <= the order amount")


def coded_ids(ids: IntArray) -> tuple[IntArray, npt.NDArray[np.integer[Any]] | OffsetCodes]:
    """The sorted distinct ids and the rows' codes: offsets for compact integer ids."""
    compact = offset_codes(ids)
    return compact if compact is not None else factorize(ids)


def own_amounts(amount: IntArray, given: Any) -> npt.NDArray[np.signedinteger[Any]]:
    """The log's own copy of checked amounts (all >= 0): int32 when every one is below
    2^31 fen, else int64."""
    if len(amount) and int(amount.max()) <= INT32_MAX:
        return amount.astype(np.int32)
    return own(amount, given)


INT32_MAX = int(np.iinfo(np.int32).max)


def own(column: _A, given: Any) -> _A:
    """``column`` (made from ``given``), copied unless it is a fresh array of its own."""
    if column is None or (column is not given and column.flags.owndata):
        return column
    return column.copy()


def check_unique(values: npt.NDArray[Any], column: str, problems: Problems) -> None:
    if len(values) < 2:
        return
    order = np.argsort(values, kind="stable")
    s = values[order]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.size:
        rows = np.sort(order[dup + 1])
        problems.add_rows(rows, column, values, "must be unique (this id appears earlier)")
