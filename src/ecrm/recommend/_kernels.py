"""Numpy kernels of the recommender: pairs within groups and distinct counts.

Every function here is pure and takes plain arrays; the public wrappers check inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "combine", "count_pairs", "cross_pairs", "distinct_rows", "group_starts", "label_codes",
    "sorted_distinct",
]

IntArray = npt.NDArray[np.int64]


_MIX = np.uint64(0x9E3779B97F4A7C15)


def label_codes(labels: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], IntArray]:
    """Sorted distinct labels and each label's position among them.

    Sorting millions of strings is slow; their UTF-32 code units are folded into one
    uint64 per label, the distinct integers are found by an integer sort, and only one
    label per distinct hash is sorted as text. A collision (checked exactly) falls back to
    sorting the strings.
    """
    n = len(labels)
    if n == 0 or labels.dtype.kind != "U" or labels.dtype.itemsize == 0:
        keys, inverse = np.unique(labels, return_inverse=True)
        return keys, inverse.reshape(-1).astype(np.int64)
    flat = np.ascontiguousarray(labels)
    units = flat.view(np.uint32).reshape(n, flat.dtype.itemsize // 4)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(units.shape[1]):
            h = (h ^ units[:, j]) * _MIX
            h ^= h >> np.uint64(29)
    distinct, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    reps = flat[first]
    if not np.array_equal(reps[inverse], flat):
        keys, inv = np.unique(labels, return_inverse=True)
        return keys, inv.reshape(-1).astype(np.int64)
    order = np.argsort(reps, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    del distinct
    return reps[order], rank[inverse]


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


def combine(columns: tuple[IntArray, ...], sizes: tuple[int, ...]) -> IntArray | None:
    """One int64 code per row, ordered like the tuples of ``columns`` (each in
    ``[0, size)``), or ``None`` when the codes would not fit in int64."""
    total = 1
    for size in sizes:
        total *= max(size, 1)
    if total >= 2**62:
        return None
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for col, size in zip(columns, sizes, strict=True):
        code *= max(size, 1)
        code += col
    return code


def sorted_distinct(codes: IntArray) -> IntArray:
    """The distinct values of ``codes``, sorted (a sort and one comparison; no hashing)."""
    s = np.sort(codes)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


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


def count_pairs(
    units: IntArray, a: IntArray, b: IntArray, n_items: int, n_units: int, *, repeats: bool = True
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct units per (a, b) pair.

    Args:
        units, a, b: int64, shape (m,): the unit (customer or order) and item codes of each
            observed pair (repeats allowed).
        n_items: the number of item codes (codes are in ``[0, n_items)``).
        n_units: the number of unit codes.
        repeats: whether a (unit, a, b) triple may occur more than once; ``False`` (each
            unit's items already distinct) skips the dedupe sort.

    Returns:
        ``(pair_a, pair_b, n_units)``: the distinct pairs sorted by (a, b) and, for each,
        how many distinct units showed it.
    """
    key = None if not repeats else combine((units, a, b), (n_units, n_items, n_items))
    if not repeats:
        code = a * n_items + b
    elif key is None:
        keep = distinct_rows(units, a, b)
        code = a[keep] * n_items + b[keep]
    else:
        code = sorted_distinct(key) % (n_items * n_items)
    code.sort()
    if not len(code):
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
    counts = np.diff(np.append(starts, len(code))).astype(np.int64)
    pairs = code[starts]
    return pairs // n_items, pairs % n_items, counts
