"""Private numpy kernels of RFM scoring: pure functions over arrays, no ecrm types.

All of them run in a few vectorised passes over the columns; none loops over customers
in Python. Money stays int64 fen throughout (int64 prefix sums are exact).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._compact import SparseFen

__all__ = [
    "grade_codes",
    "last_instants",
    "net_fen_sums",
    "score_lower_edges",
    "score_recency",
    "window_metrics",
    "window_metrics_unsorted",
    "window_slots",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Order amounts in fen: int64, or int32 when a log keeps them so (every one below 2^31).
AmountArray = npt.NDArray[np.signedinteger[Any]]

#: "No order" in a per-customer last-order column (smaller than any real instant).
NO_ORDER_US = np.iinfo(np.int64).min


def window_metrics(
    starts: IntArray,
    codes: npt.NDArray[np.integer[Any]],
    placed_us: IntArray,
    net_fen: IntArray,
    valid: BoolArray,
    start_us: int,
    end_us: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Per-customer frequency, monetary value and last order of valid orders in a window.

    Args:
        starts: int64, shape (c + 1,), CSR row offsets per customer.
        codes: int, shape (n,), the customer code of each row (non-decreasing, matching
            ``starts``).
        placed_us: int64, shape (n,), epoch microseconds of each row.
        net_fen: int64, shape (n,), net fen (amount − refunded) of each row.
        valid: bool, shape (n,), which rows are valid orders.
        start_us, end_us: the half-open window ``[start_us, end_us)``.

    Returns:
        ``(frequency, monetary_fen, last_us)``, each int64 of shape (c,); ``last_us`` is
        ``NO_ORDER_US`` for customers without a valid order in the window.
    """
    n_customers = len(starts) - 1
    if n_customers <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    mask = placed_us >= start_us
    mask &= placed_us < end_us
    mask &= valid
    # Work on the k counted rows only. They stay in (customer, placed_at) order, so each
    # customer's counted rows are one run of ``rows`` (bounds from a count per customer),
    # and the last row of a run is the latest order.
    rows = np.flatnonzero(mask)
    frequency = np.bincount(codes[rows], minlength=n_customers).astype(np.int64, copy=False)
    bounds = np.zeros(n_customers + 1, dtype=np.int64)
    np.cumsum(frequency, out=bounds[1:])
    # Exact int64 running sum of net fen; a difference of two prefix sums per customer.
    prefix = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(net_fen[rows], out=prefix[1:])
    monetary = prefix[bounds[1:]] - prefix[bounds[:-1]]
    last = np.full(n_customers, NO_ORDER_US, dtype=np.int64)
    has = frequency > 0
    last[has] = placed_us[rows[bounds[1:][has] - 1]]
    return frequency, monetary, last


def window_metrics_unsorted(
    n_customers: int,
    codes: npt.NDArray[np.integer[Any]],
    placed_us: IntArray,
    amount_fen: AmountArray,
    refunds: SparseFen | None,
    status_codes: npt.NDArray[np.int8],
    valid_status: BoolArray,
    start_us: int,
    end_us: int,
    *,
    time_sorted: bool,
) -> tuple[IntArray, IntArray, IntArray]:
    """:func:`window_metrics` over rows in any order (no customer layout needed).

    Args:
        n_customers: the number of customer codes.
        codes: int, shape (n,), the customer code of each row, in ``[0, n_customers)``.
        placed_us: int64, shape (n,), epoch microseconds of each row.
        amount_fen: int64 (or int32), shape (n,), order amounts in fen.
        refunds: the refunded fen of the rows (a :class:`~ecrm._compact.SparseFen` of n rows),
            or ``None`` when nothing is refunded.
        status_codes: int8, shape (n,), ``OrderStatus.code`` of each row.
        valid_status: bool, indexed by status code: which statuses count.
        start_us, end_us: the half-open window ``[start_us, end_us)``.
        time_sorted: ``placed_us`` is non-decreasing, so the window is one slice of rows.

    Returns:
        ``(frequency, monetary_fen, last_us)`` as :func:`window_metrics` gives them: a row
        counts when its status is valid, it is not fully refunded (refunded > 0 and
        >= amount) and it lies in the window; M sums ``amount − refunded``.
    """
    if n_customers <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    if time_sorted:
        lo, hi = (int(i) for i in np.searchsorted(placed_us, [start_us, end_us], side="left"))
        codes, placed_us = codes[lo:hi], placed_us[lo:hi]
        amount_fen, status_codes = amount_fen[lo:hi], status_codes[lo:hi]
        refunds = None if refunds is None else refunds.between(lo, hi)
    bucket = window_slots(n_customers, codes, placed_us, amount_fen, refunds, status_codes,
                          valid_status, None if time_sorted else (start_us, end_us))
    frequency = np.bincount(bucket, minlength=n_customers + 1)[:n_customers]
    monetary = net_fen_sums(n_customers, [(bucket, amount_fen, refunds)])
    return (frequency.astype(np.int64, copy=False), monetary[:n_customers],
            last_instants(n_customers, [bucket], placed_us, time_sorted=time_sorted))


def window_slots(
    n_slots: int,
    codes: npt.NDArray[np.integer[Any]],
    placed_us: IntArray,
    amount_fen: AmountArray,
    refunds: SparseFen | None,
    status_codes: npt.NDArray[np.int8],
    valid_status: BoolArray,
    window: tuple[int, int] | None,
) -> npt.NDArray[np.intp]:
    """The slot each row's order counts in: its code, or ``n_slots`` (one extra slot past
    the customers) when it does not count (status not valid, fully refunded, or outside
    ``window``; ``None``: the rows are cut to the window already).

    Rows that do not count go to the extra slot so that no column has to be compressed.
    (intp slots: bincount and ufunc.at would otherwise cast them on every call.)
    """
    keep = _status_in(status_codes, valid_status)
    if window is not None:
        keep &= placed_us >= window[0]
        keep &= placed_us < window[1]
    bucket = np.where(keep, codes, np.intp(n_slots))
    # Refunds are few and kept as their rows: a fully refunded order does not count.
    if refunds is not None and refunds.rows.size:
        full = refunds.values >= amount_fen[refunds.rows]
        bucket[refunds.rows[full]] = n_slots
    return bucket


def net_fen_sums(n_slots: int, parts: list[tuple[npt.NDArray[np.intp], AmountArray, SparseFen | None]]
                 ) -> IntArray:
    """Each slot's sum of net fen (``amount − refunded``) over row parts (their slots,
    amounts and refunds), exact int64, shape (n_slots + 1,) (the extra slot included).

    When no sum can reach 2^53 (largest amount × rows below it) the amounts are summed by
    a weighted ``bincount``: float64 adds integers below 2^53 exactly, and unlike
    ``np.add.at`` it lets go of the GIL, so another thread's work runs alongside. Else
    ``np.add.at`` sums int64. A partial refund comes off at its few rows (a fully refunded
    row's slot is the extra one).
    """
    rows = sum(len(amount) for _, amount, _ in parts)
    largest = max((int(amount.max()) for _, amount, _ in parts if len(amount)), default=0)
    if largest * rows < _FLOAT_EXACT:
        total = np.zeros(n_slots + 1, dtype=np.float64)
        for bucket, amount, _ in parts:
            total += np.bincount(bucket, weights=amount, minlength=n_slots + 1)
        sums = total.astype(np.int64)
    else:
        sums = np.zeros(n_slots + 1, dtype=np.int64)
        for bucket, amount, _ in parts:
            # (int64 values: np.add.at casting int32 ones takes a slow path)
            np.add.at(sums, bucket, amount.astype(np.int64, copy=False))
    for bucket, _, refunds in parts:
        if refunds is not None and refunds.rows.size:
            np.subtract.at(sums, bucket[refunds.rows], refunds.values)
    return sums


#: Integers below this add exactly in float64 (2^53).
_FLOAT_EXACT = 1 << 53


def last_instants(n_slots: int, buckets: list[npt.NDArray[np.intp]], placed_us: IntArray, *,
                  time_sorted: bool) -> IntArray:
    """The latest counted instant per slot (``NO_ORDER_US`` for none) of consecutive row
    parts (their slots ``buckets``, together as long as ``placed_us``)."""
    if time_sorted and 0 < len(placed_us) < np.iinfo(np.int32).max:
        # In time order the latest counted row of a slot is its last order: a maximum of
        # int32 row numbers is several times cheaper than one of int64 instants.
        row = np.full(n_slots + 1, -1, dtype=np.int32)
        first = 0
        for bucket in buckets:
            np.maximum.at(row, bucket, np.arange(first, first + len(bucket), dtype=np.int32))
            first += len(bucket)
        row = row[:n_slots]
        return np.where(row >= 0, placed_us[row], NO_ORDER_US)  # (row -1 reads any row)
    last = np.full(n_slots + 1, NO_ORDER_US, dtype=np.int64)
    first = 0
    for bucket in buckets:
        np.maximum.at(last, bucket, placed_us[first:first + len(bucket)])
        first += len(bucket)
    return last[:n_slots]


def _status_in(status_codes: npt.NDArray[np.int8], valid_status: BoolArray) -> BoolArray:
    """``valid_status[status_codes]``, as a bit test when the codes fit in a byte's bits (two
    one-byte passes instead of a gather through a table)."""
    codes = status_codes.view(np.uint8)
    if len(valid_status) > 8:
        return valid_status[codes]
    bits = np.uint8(sum(1 << int(c) for c in np.flatnonzero(valid_status)))
    hit = np.right_shift(bits, codes)
    hit &= np.uint8(1)
    return hit.view(np.bool_)


def _count_at_or_above(values: IntArray, edges: IntArray) -> npt.NDArray[np.intp]:
    """How many of ``edges`` (ascending) are <= each value."""
    if len(edges) > 16:
        return np.searchsorted(edges, values, side="right")
    # A handful of edges: one comparison pass each beats a binary search per value.
    out = np.zeros(values.shape, dtype=np.intp)
    for edge in edges.tolist():
        out += values >= edge
    return out


def score_lower_edges(values: IntArray, edges: IntArray, scores: IntArray) -> IntArray:
    """Score each value by the last lower edge <= it.

    Args:
        values: int64, shape (c,), each >= ``edges[0]``.
        edges: int64, shape (k,), strictly increasing lower edges.
        scores: int64, shape (k,), the score of each bin.

    Returns:
        int64 scores, shape (c,).
    """
    return scores[_count_at_or_above(values, edges[1:])]


def score_recency(last_us: IntArray, thresholds_us: IntArray, scores: IntArray) -> IntArray:
    """Score each last-order instant by the first threshold it is at or after.

    Args:
        last_us: int64, shape (c,), epoch microseconds of each customer's last order.
        thresholds_us: int64, shape (k,), strictly decreasing instants
            (``as_of − within[i]``).
        scores: int64, shape (k + 1,), the score for each threshold and for the rest.

    Returns:
        int64 scores, shape (c,).
    """
    # The number of thresholds later than the order is the index of the first one met.
    met = _count_at_or_above(last_us, thresholds_us[::-1])
    return scores[len(thresholds_us) - met]


def grade_codes(total: IntArray, cutoffs_desc: IntArray) -> npt.NDArray[np.int8]:
    """Grade code (B = 0, S = 1, G = 2, P = 3) of each total.

    Args:
        total: int64, shape (c,).
        cutoffs_desc: int64, shape (3,), the lowest totals of P, G and S (descending).
    """
    return _count_at_or_above(total, cutoffs_desc[::-1]).astype(np.int8)
