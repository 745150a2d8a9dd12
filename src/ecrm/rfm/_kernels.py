"""Private numpy kernels of RFM scoring: pure functions over arrays, no ecrm types.

All of them run in a few vectorised passes over the columns; none loops over customers
in Python. Money stays int64 fen throughout (``np.add.reduceat`` on int64 is exact).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["grade_codes", "score_lower_edges", "score_recency", "window_metrics"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: "No order" in a per-customer last-order column (smaller than any real instant).
NO_ORDER_US = np.iinfo(np.int64).min


def window_metrics(
    starts: IntArray,
    placed_us: IntArray,
    net_fen: IntArray,
    valid: BoolArray,
    start_us: int,
    end_us: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Per-customer frequency, monetary value and last order of valid orders in a window.

    Args:
        starts: int64, shape (c + 1,), CSR row offsets per customer; every customer has at
            least one row (``starts`` strictly increasing).
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
    offsets = starts[:-1]
    frequency = np.add.reduceat(mask, offsets, dtype=np.int64)
    monetary = np.add.reduceat(np.where(mask, net_fen, 0), offsets)
    last = np.maximum.reduceat(np.where(mask, placed_us, NO_ORDER_US), offsets)
    return frequency, monetary.astype(np.int64, copy=False), last.astype(np.int64, copy=False)


def score_lower_edges(values: IntArray, edges: IntArray, scores: IntArray) -> IntArray:
    """Score each value by the last lower edge <= it.

    Args:
        values: int64, shape (c,), each >= ``edges[0]``.
        edges: int64, shape (k,), strictly increasing lower edges.
        scores: int64, shape (k,), the score of each bin.

    Returns:
        int64 scores, shape (c,).
    """
    idx = np.searchsorted(edges, values, side="right") - 1
    return scores[idx]


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
    ascending = thresholds_us[::-1]
    later = len(ascending) - np.searchsorted(ascending, last_us, side="right")
    return scores[later]


def grade_codes(total: IntArray, cutoffs_desc: IntArray) -> npt.NDArray[np.int8]:
    """Grade code (B = 0, S = 1, G = 2, P = 3) of each total.

    Args:
        total: int64, shape (c,).
        cutoffs_desc: int64, shape (3,), the lowest totals of P, G and S (descending).
    """
    return np.searchsorted(cutoffs_desc[::-1], total, side="right").astype(np.int8)
