"""Numpy kernels of the recommender: pairs within groups and distinct counts.

Every function here is pure and takes plain arrays; the public wrappers check inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["count_pairs", "cross_pairs", "distinct_rows", "group_starts"]

IntArray = npt.NDArray[np.int64]


def group_starts(sorted_groups: IntArray, n_groups: int) -> IntArray:
    """int64, shape (n_groups + 1,): where each group starts in ``sorted_groups`` (sorted)."""
    return np.searchsorted(sorted_groups, np.arange(n_groups + 1)).astype(np.int64)


def cross_pairs(left_groups: IntArray, right_starts: IntArray) -> tuple[IntArray, IntArray]:
    """Every (left row, right row) pair that shares a group.

    Args:
        left_groups: int64, shape (n,): the group of each left row.
        right_starts: int64, shape (n_groups + 1,): row offsets of each group among the
            right rows (sorted by group).

    Returns:
        ``(left, right)`` row indices, int64, one entry per pair, grouped by left row.
    """
    sizes = (right_starts[1:] - right_starts[:-1])[left_groups]
    total = int(sizes.sum())
    left = np.repeat(np.arange(len(left_groups), dtype=np.int64), sizes)
    ends = np.cumsum(sizes)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(ends - sizes, sizes)
    right = np.repeat(right_starts[:-1][left_groups], sizes) + offsets
    return left, right


def distinct_rows(*columns: IntArray) -> IntArray:
    """int64 indices of the first row of each distinct tuple of ``columns`` (lexicographic order)."""
    n = len(columns[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(tuple(reversed(columns)))
    same = np.ones(n - 1, dtype=bool)
    for col in columns:
        s = col[order]
        same &= s[1:] == s[:-1]
    first = np.ones(n, dtype=bool)
    first[1:] = ~same
    return order[first].astype(np.int64)


def count_pairs(units: IntArray, a: IntArray, b: IntArray, n_items: int) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct units per (a, b) pair.

    Args:
        units, a, b: int64, shape (m,): the unit (customer or order) and item codes of each
            observed pair (repeats allowed).
        n_items: the number of item codes (codes are in ``[0, n_items)``).

    Returns:
        ``(pair_a, pair_b, n_units)``: the distinct pairs sorted by (a, b) and, for each,
        how many distinct units showed it.
    """
    keep = distinct_rows(units, a, b)
    code = a[keep] * n_items + b[keep]
    pairs, counts = np.unique(code, return_counts=True)
    return pairs // n_items, pairs % n_items, counts.astype(np.int64)
