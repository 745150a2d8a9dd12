"""A customer table's tags (标签) as compressed sparse rows, and the parsers that build them.

Row ``i``'s tags are ``codes[indptr[i]:indptr[i + 1]]``, indices into the sorted tag names,
ascending within each row. Every builder looks at each distinct tag set once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm._columns import distinct_values
from ecrm._load._problems import Problems

__all__ = ["csr_from_dense", "csr_from_sets", "csr_take", "tag_columns", "tags_from_texts"]

IntArray = npt.NDArray[np.int64]


def csr_take(
    indptr: IntArray, codes: npt.NDArray[np.int32], rows: npt.NDArray[np.intp]
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """The CSR (indptr, codes) of ``rows`` (any row indices, in their order)."""
    counts = (indptr[1:] - indptr[:-1])[rows]
    out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    total = int(out_ptr[-1])
    if total == 0:
        return out_ptr, np.zeros(0, dtype=np.int32)
    gather = np.repeat(indptr[:-1][rows] - out_ptr[:-1], counts) + np.arange(total)
    return out_ptr, codes[gather]


def csr_from_sets(
    distinct: Sequence[frozenset[str]], inverse: npt.NDArray[np.intp]
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """CSR tags of rows whose tag set is ``distinct[inverse[i]]`` (codes sorted per row)."""
    vocab = sorted(set().union(*distinct)) if distinct else []
    col = {t: j for j, t in enumerate(vocab)}
    set_ptr = np.zeros(len(distinct) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in distinct], out=set_ptr[1:])
    set_codes = np.asarray(
        [j for tags in distinct for j in sorted(col[t] for t in tags)], dtype=np.int32
    )
    indptr, codes = csr_take(set_ptr, set_codes, inverse)
    return tuple(vocab), indptr, codes


def csr_from_dense(matrix: npt.NDArray[np.bool_]) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """The CSR (indptr, codes) of a dense bool (rows, tags) matrix."""
    rows, cols = np.nonzero(matrix)  # row-major: rows ascending, codes ascending per row
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32)


def tags_from_texts(
    texts: Sequence[str], separator: str
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """Tags of cells like ``"vip;茶友"``: split once per distinct cell, trimmed, empty parts dropped."""
    if len(texts) == 0:
        return (), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    uniq, inverse = distinct_values(texts)
    distinct = [frozenset(t.strip() for t in u.split(separator) if t.strip()) for u in uniq]
    return csr_from_sets(distinct, inverse)


def tag_columns(
    values: Any, n: int, problems: Problems
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """Tags given as one collection of strings per row; each distinct set checked once."""
    if values is None:
        return (), np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    values = list(values)
    fast = _tag_tuples(values)
    if fast is not None:
        tuples, inverse = fast
        distinct = [frozenset(t) for t in tuples]
        return _checked_tag_sets(distinct, inverse, values, problems)
    empty: frozenset[Any] = frozenset()
    keys: list[frozenset[Any]] = []
    wrong: list[int] = []
    for i, v in enumerate(values):  # no isinstance(v, Iterable): the ABC check is slow
        if v is None:
            keys.append(empty)
        elif type(v) is frozenset:
            keys.append(v)
        elif isinstance(v, str | bytes):
            wrong.append(i)
            keys.append(empty)
        else:
            try:
                keys.append(frozenset(v))
            except TypeError:
                if hasattr(v, "__iter__"):  # unhashable elements: not strings either
                    keys.append(frozenset({None}))
                else:
                    wrong.append(i)
                    keys.append(empty)
    distinct, inverse = distinct_values(keys)
    if wrong:
        problems.add_rows(np.asarray(wrong), "tags", values, "must be a collection of strings per row")
    return _checked_tag_sets(distinct, inverse, values, problems)


_TAG_CONTAINERS: Final = frozenset({list, tuple, set, frozenset, type(None)})


def _tag_tuples(values: list[Any]) -> tuple[list[tuple[Any, ...]], npt.NDArray[np.intp]] | None:
    """Distinct rows as tuples and each row's index, when every row is a plain container
    (or None) of hashable items; ``None`` otherwise. Tuples are ten times cheaper to build
    and hash than frozensets, so sets are made once per distinct row."""
    if not set(map(type, values)) <= _TAG_CONTAINERS:
        return None
    try:
        rows = [() if v is None else tuple(v) for v in values]
        return distinct_values(rows)
    except TypeError:  # unhashable items
        return None


def _checked_tag_sets(
    distinct: list[frozenset[Any]],
    inverse: npt.NDArray[np.intp],
    values: list[Any],
    problems: Problems,
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """CSR tags of the distinct sets, after checking each holds non-empty strings only."""
    empty_ok = [all(isinstance(t, str) and t.strip() for t in tags) for tags in distinct]
    if not all(empty_ok):
        bad_sets = np.flatnonzero(~np.asarray(empty_ok))
        rows = np.flatnonzero(np.isin(inverse, bad_sets))
        problems.add_rows(rows, "tags", values, "must hold non-empty strings")
        distinct = [tags if ok else frozenset() for tags, ok in zip(distinct, empty_ok, strict=True)]
    return csr_from_sets(distinct, inverse)

