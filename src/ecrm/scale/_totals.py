"""The four numbers RFM needs of each customer, gathered without a customer layout.

:func:`~ecrm.scale.score_parquet` and :func:`~ecrm.scale.score_dask` need of every customer
only the valid orders, net fen and last valid instant in the RFM window, and whether any
order came before ``as_of`` (plus the ids of everyone, for the unscored list). That is
less than a :class:`~ecrm.scale.CustomerSummary` holds, and it needs no customer/time
layout of the rows: sums and maxima over a customer code per row are enough.

Two ways to get the code of a row:

* :class:`DenseTotals`: integer ids in a compact range address the per-customer arrays
  directly (``id - lo``), so a chunk's rows are added into the running totals with
  ``np.add.at`` / ``np.maximum.at``: no sort, no per-chunk summary, no merge.
* :func:`chunk_totals` + :func:`merge_totals`: any ids (text, or integers spread too
  thinly) are coded per chunk (a sort) into a small :class:`RfmTotals`, and those merge
  exactly (counts and fen add, last instants take the max, ``known`` is OR).

Both add the same int64 values as :func:`ecrm.rfm.score`, so the results are equal to it
bit for bit whatever the order of the chunks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import factorize
from ecrm._compact import SparseFen
from ecrm._time import datetime_to_us, require_aware
from ecrm.errors import InvalidValueError
from ecrm.rfm import RfmResult, RfmScheme
from ecrm.rfm._kernels import NO_ORDER_US, _status_in, window_metrics_unsorted
from ecrm.rfm._score import result_from_totals
from ecrm.scale._summary import Accumulator, check_mergeable, sorted_union

__all__ = ["DENSE_MAX_SPAN", "DenseTotals", "RfmTotals", "RowColumns", "chunk_totals",
           "empty_totals", "fold_totals", "merge_totals", "merge_totals_many", "rfm_bounds",
           "score_totals"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_SEEN, _KNOWN = np.uint8(1), np.uint8(2)

#: The largest id range addressed directly: 25 bytes per slot, so at most ~1.7 GB.
DENSE_MAX_SPAN = 1 << 26


@attrs.frozen(eq=False)
class RowColumns:
    """One chunk's checked order rows, in input order (what the loading layer gives).

    Attributes:
        customer_ids: shape (n,), int64 or str, the customer of each row.
        placed_at_us: int64, shape (n,), epoch µs (UTC).
        amount_fen, refunded_fen: int64, shape (n,).
        status_codes: int8, shape (n,), ``OrderStatus.code``.
        tz: the store's zone; load_info: what the loader decided (or ``None``).
    """

    customer_ids: npt.NDArray[Any]
    placed_at_us: IntArray
    amount_fen: IntArray
    refunded_fen: IntArray
    status_codes: npt.NDArray[np.int8]
    tz: dt.tzinfo
    load_info: Any = None

    def __len__(self) -> int:
        return len(self.placed_at_us)


@attrs.frozen(eq=False, repr=False)
class RfmTotals:
    """Per customer RFM totals of some orders (arrays of shape (n,) in id order).

    Attributes:
        customer_ids: sorted distinct ids of every customer with an order (any status, any
            time), int64 or str.
        count: int64 valid orders in the RFM window. Merge: sum.
        net_fen: int64 net fen of those orders. Merge: sum.
        last_us: int64 last valid instant in the window, ``NO_ORDER_US`` if none. Merge: max.
        known: bool, an order of any status before ``as_of``. Merge: OR.
        start_us, end_us: the window ``[start_us, end_us)``; must agree to merge.
    """

    customer_ids: npt.NDArray[Any]
    count: IntArray
    net_fen: IntArray
    last_us: IntArray
    known: BoolArray
    start_us: int
    end_us: int

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return f"RfmTotals({len(self):,} customers)"


def rfm_bounds(as_of: dt.datetime, scheme: RfmScheme, tz: dt.tzinfo) -> tuple[int, int]:
    """The RFM window ``[start_us, end_us)`` at ``as_of`` in ``tz``, as
    :func:`ecrm.scale.summarize` and :func:`ecrm.rfm.score` compute it."""
    local = require_aware(as_of, "as_of").astimezone(tz)
    return datetime_to_us(local - scheme.lookback), datetime_to_us(local)


def _time_sorted(placed: IntArray) -> bool:
    return len(placed) < 2 or bool(np.all(placed[1:] >= placed[:-1]))


def chunk_totals(rows: RowColumns, valid_status: BoolArray, start_us: int,
                 end_us: int) -> RfmTotals:
    """The totals of one chunk of rows (their ids coded by a sort).

    Args:
        rows: the chunk.
        valid_status: bool by status code, which statuses count.
        start_us, end_us: the RFM window.
    """
    uniq, codes = factorize(rows.customer_ids)
    n = len(uniq)
    placed, amount, refunded = rows.placed_at_us, rows.amount_fen, rows.refunded_fen
    refunds = SparseFen.of(refunded)
    count, net, last = window_metrics_unsorted(
        n, codes, placed, amount, refunds if refunds.rows.size else None, rows.status_codes,
        valid_status, start_us, end_us, time_sorted=_time_sorted(placed),
    )
    known = np.zeros(n, dtype=np.bool_)
    known[codes[placed < end_us]] = True
    return RfmTotals(uniq, count, net, last, known, start_us, end_us)


def empty_totals(start_us: int, end_us: int) -> RfmTotals:
    """The totals of no orders (the identity of :func:`merge_totals`)."""
    zero = np.zeros(0, dtype=np.int64)
    return RfmTotals(zero, zero.copy(), zero.copy(), zero.copy(), np.zeros(0, np.bool_),
                     start_us, end_us)


def merge_totals(a: RfmTotals, b: RfmTotals) -> RfmTotals:
    """The totals of the union of two disjoint sets of orders (exact, associative and
    commutative).

    Raises:
        InvalidTypeError: an argument is not an RfmTotals.
        InvalidValueError: the windows differ, or one side has str ids and the other int.
    """
    check_mergeable(a, b, ("start_us", "end_us"), kind=RfmTotals, zone=False)
    if not len(b):
        return a
    if not len(a):
        return b
    ids = sorted_union(a.customer_ids, b.customer_ids)
    ia, ib = np.searchsorted(ids, a.customer_ids), np.searchsorted(ids, b.customer_ids)
    n = len(ids)
    count = np.zeros(n, dtype=np.int64)
    count[ia] = a.count
    count[ib] += b.count
    net = np.zeros(n, dtype=np.int64)
    net[ia] = a.net_fen
    net[ib] += b.net_fen
    last = np.full(n, NO_ORDER_US, dtype=np.int64)
    last[ia] = a.last_us
    last[ib] = np.maximum(last[ib], b.last_us)
    known = np.zeros(n, dtype=np.bool_)
    known[ia] = a.known
    known[ib] |= b.known
    return RfmTotals(ids, count, net, last, known, a.start_us, a.end_us)


def merge_totals_many(parts: Iterable[RfmTotals]) -> RfmTotals:
    """The merge of many totals at once: one stable sort of all their ids (sorted runs, so
    timsort merges them in O(n log k)) and one reduction per field, instead of k − 1
    pairwise merges whose left side keeps growing.

    Raises:
        InvalidValueError: no parts, or their windows or id kinds differ.
    """
    items = list(parts)
    if not items:
        raise InvalidValueError("parts", "must hold at least one RfmTotals", "[]")
    for other in items[1:]:
        check_mergeable(items[0], other, ("start_us", "end_us"), kind=RfmTotals, zone=False)
    full = [p for p in items if len(p)]
    if len(full) <= 2:
        return merge_totals(full[0], full[1]) if len(full) == 2 else (full or items)[0]
    ids = np.concatenate([p.customer_ids for p in full])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    new = np.ones(len(ids), dtype=np.bool_)
    np.not_equal(ids[1:], ids[:-1], out=new[1:])
    starts = np.flatnonzero(new)

    def gathered(name: str) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = np.concatenate([getattr(p, name) for p in full])[order]
        return out

    return RfmTotals(
        ids[starts], np.add.reduceat(gathered("count"), starts),
        np.add.reduceat(gathered("net_fen"), starts),
        np.maximum.reduceat(gathered("last_us"), starts),
        np.logical_or.reduceat(gathered("known"), starts), full[0].start_us, full[0].end_us,
    )


class DenseTotals:
    """Running totals over integer ids in a compact range, addressed directly.

    The arrays cover ``[lo, lo + span)`` and grow (by half again) when a chunk's ids fall
    outside; :meth:`fits` says whether a chunk's ids keep the range within ``max_span``.
    Adding a chunk is a few ``ufunc.at`` passes over its counted rows.
    """

    def __init__(self, valid_status: BoolArray, start_us: int, end_us: int,
                 max_span: int) -> None:
        self._valid = valid_status
        self._start, self._end = start_us, end_us
        self._max_span = max_span
        self._lo = 0
        self._span = 0
        self._count = np.zeros(0, dtype=np.int64)
        self._net = np.zeros(0, dtype=np.int64)
        self._last = np.zeros(0, dtype=np.int64)
        # bit 0: an order of the customer seen; bit 1: one before ``as_of`` (``known``)
        self._flags = np.zeros(0, dtype=np.uint8)

    def fits(self, ids: npt.NDArray[Any]) -> bool:
        """Whether the chunk's ids are integers that keep the range within the cap."""
        if ids.dtype.kind != "i" or not len(ids):
            return ids.dtype.kind == "i"
        lo, hi = int(ids.min()), int(ids.max())
        if self._span:
            lo, hi = min(lo, self._lo), max(hi, self._lo + self._span - 1)
        return hi - lo + 1 <= self._max_span

    def _cover(self, lo: int, hi: int) -> None:
        """Grow the arrays to cover ``[lo, hi]`` (with headroom, so growth is amortised)."""
        if self._span and lo >= self._lo and hi < self._lo + self._span:
            return
        if self._span:
            # Headroom in the direction of growth, an eighth of the range or four times
            # the step if more: ids that creep upwards batch by batch (auto-increment keys)
            # reallocate a bounded number of times; a range that is nearly known from the
            # start does not double.
            old_lo, old_hi = self._lo, self._lo + self._span - 1
            new_lo, new_hi = min(lo, old_lo), max(hi, old_hi)
            room = self._max_span - (new_hi - new_lo + 1)  # >= 0: the chunk fits
            if hi > old_hi:
                pad = min(max(self._span // 8, 4 * (hi - old_hi)), room)
                new_hi += pad
                room -= pad
            if lo < old_lo:
                pad = min(max(self._span // 8, 4 * (old_lo - lo)), room)
                new_lo = max(new_lo - pad, int(np.iinfo(np.int64).min))
            lo, hi = new_lo, new_hi
        span = hi - lo + 1
        shift = self._lo - lo
        old = self._span

        def grown(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            out = np.full(span, fill, dtype=a.dtype)
            out[shift:shift + old] = a
            return out

        self._count = grown(self._count, 0)
        self._net = grown(self._net, 0)
        self._last = grown(self._last, NO_ORDER_US)
        self._flags = grown(self._flags, 0)
        self._lo, self._span = lo, span

    def reserve(self, lo: int, hi: int) -> None:
        """Cover the ids ``[lo, hi]`` at once (known from Parquet statistics), so the
        arrays need not grow; ignored when the range is over the cap."""
        if hi - lo + 1 <= self._max_span:
            self._cover(lo, hi)

    def add(self, rows: RowColumns) -> None:
        """Add one chunk (its ids must :meth:`fit`)."""
        ids = rows.customer_ids
        if not len(ids):
            return
        lo, hi = int(ids.min()), int(ids.max())
        self._cover(lo, hi)
        idx = ids - self._lo if self._lo else ids
        placed = rows.placed_at_us
        flags = self._flags
        sorted_ = _time_sorted(placed)
        if sorted_:
            a, b = (int(i) for i in np.searchsorted(placed, [self._start, self._end]))
            if b < len(idx):
                flags[idx[b:]] |= _SEEN  # every row of a repeated id ORs the same old value
            flags[idx[:b]] = _SEEN | _KNOWN
        else:
            a, b = 0, len(placed)
            early = placed < self._end
            flags[idx[~early]] |= _SEEN
            flags[idx[early]] = _SEEN | _KNOWN
        if a >= b:
            return
        idx, placed = idx[a:b], placed[a:b]
        amount, refunded = rows.amount_fen[a:b], rows.refunded_fen[a:b]
        keep = _status_in(rows.status_codes[a:b], self._valid)
        if not sorted_:
            keep &= placed >= self._start
            keep &= placed < self._end
        refund = refunded.any()
        if refund:
            keep &= ~((refunded > 0) & (refunded >= amount))
        counted = np.flatnonzero(keep)
        k = idx[counted]
        np.add.at(self._count, k, 1)
        np.add.at(self._net, k, (amount - refunded)[counted] if refund else amount[counted])
        np.maximum.at(self._last, k, placed[counted])

    def totals(self) -> RfmTotals:
        """The totals of everything added, compacted to the ids seen."""
        present = np.flatnonzero(self._flags)
        ids = present.astype(np.int64) + self._lo
        known = (self._flags[present] & _KNOWN).astype(np.bool_)
        return RfmTotals(ids, self._count[present], self._net[present], self._last[present],
                         known, self._start, self._end)


def fold_totals(chunks: Iterable[RowColumns], *, valid_status: BoolArray, start_us: int,
                end_us: int, max_span: int, id_range: tuple[int, int] | None = None
                ) -> RfmTotals:
    """The totals of every chunk: added straight into a :class:`DenseTotals` while the ids
    are integers within ``max_span`` of each other; from the first chunk that breaks that
    (text ids, ids spread too thinly) on, each chunk is coded by a sort into an
    :class:`RfmTotals` and merged (the dense totals so far become one more part).

    Args:
        chunks: the chunks of checked rows, any order, disjoint.
        valid_status: bool by status code, which statuses count.
        start_us, end_us: the RFM window.
        max_span: the largest id range addressed directly.
        id_range: the smallest and largest integer id, when known beforehand.
    """
    first = DenseTotals(valid_status, start_us, end_us, max_span)
    if id_range is not None:
        first.reserve(*id_range)
    dense: DenseTotals | None = first
    acc: Accumulator[RfmTotals] = Accumulator(merge_totals)
    for rows in chunks:
        if dense is not None and dense.fits(rows.customer_ids):
            dense.add(rows)
            continue
        if dense is not None:
            acc.add(dense.totals())
            dense = None
        acc.add(chunk_totals(rows, valid_status, start_us, end_us))
    parts = acc.partials() + ([] if dense is None else [dense.totals()])
    return merge_totals_many(parts) if parts else empty_totals(start_us, end_us)


def score_totals(totals: RfmTotals, *, as_of: dt.datetime, scheme: RfmScheme,
                 tz: dt.tzinfo, currency: str, warn_undersized: bool) -> RfmResult:
    """RFM scores and grades of merged totals (as :func:`~ecrm.scale.score_summary`)."""
    scored = totals.count > 0
    return result_from_totals(
        totals.customer_ids[scored], totals.count[scored], totals.net_fen[scored],
        totals.last_us[scored], totals.customer_ids[~scored],
        accumulated=int(np.count_nonzero(totals.known)), as_of=as_of, scheme=scheme, tz=tz,
        currency=currency, warn_undersized=warn_undersized,
    )
