"""Prediction summaries that merge exactly: what :func:`ecrm.predict.summaries` needs of each
customer's orders in a calibration window ``[calibration_start, as_of)``.

Per customer: whether a valid order came before the window (then the models leave the
customer out), the first and last purchase day in the window, the number of distinct
purchase days (merged as :class:`~ecrm.scale.CustomerSummary.n_days` is), the net fen of
the window and of its first purchase day. :func:`predict_summary` turns the merged arrays
into the usual :class:`ecrm.predict.Summary` (x, t_x, T, repeat spend).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import InvalidTypeError, InvalidValueError
from ecrm import _validators as _v
from ecrm._columns import read_only
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, local_day, require_aware, zone_name
from ecrm.predict import Summary
from ecrm.predict._summary import TimeUnit
from ecrm.scale._summary import (
    _NO_LAST_DAY,
    NO_DAY,
    UNKNOWN_DAYS,
    _statuses,
    check_mergeable,
    merge_day_counts,
    sorted_union,
)

__all__ = ["PredictionSummary", "merge_predict", "predict_summary", "summarize_for_predict"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FIELDS = ("first_day", "last_day", "n_days", "window_fen", "first_day_fen")



@attrs.frozen(eq=False, repr=False)
class PredictionSummary:
    """Per-customer purchase facts in ``[calibration_start, as_of)`` that merge exactly.

    Arrays have shape (n,) in ``customer_ids`` order (sorted); build with
    :func:`summarize_for_predict`, combine with :func:`merge_predict`.

    Attributes:
        customer_ids: every customer with a valid order before ``as_of`` in the slice.
        prior: bool, a valid order before ``calibration_start``. Merge: OR.
        first_day, last_day: int64 local days of the first and last purchase day in the
            window (``NO_DAY`` / ``-2**63`` if none). Merge: min / max.
        n_days: int64 distinct purchase days in the window. Merge: as
            :attr:`CustomerSummary.n_days <ecrm.scale.CustomerSummary>` (exact for splits
            by customer or by consecutive time slices, ``UNKNOWN_DAYS`` otherwise).
        window_fen: int64 net fen of the valid orders in the window. Merge: sum.
        first_day_fen: int64 net fen of those on ``first_day``. Merge: the side with the
            earlier first day, the sum when both have the same.
        as_of, calibration_start, statuses, tz: must agree to merge.
    """

    customer_ids: npt.NDArray[Any]
    prior: BoolArray
    first_day: IntArray
    last_day: IntArray
    n_days: IntArray
    window_fen: IntArray
    first_day_fen: IntArray
    as_of: dt.datetime
    calibration_start: dt.datetime
    statuses: frozenset[OrderStatus]
    tz: dt.tzinfo

    def __attrs_post_init__(self) -> None:
        _v.check_same_length(
            "PredictionSummary",
            {name: getattr(self, name) for name in ("customer_ids", "prior", *_FIELDS)},
            {"customer_ids": _v.IDS, "prior": _v.BOOLS} | dict.fromkeys(_FIELDS, _v.INTEGERS),
        )

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (
            f"PredictionSummary({len(self):,} customers, "
            f"window={self.calibration_start.isoformat()}..{self.as_of.isoformat()}, "
            f"tz={zone_name(self.tz)})"
        )


def summarize_for_predict(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    calibration_start: dt.datetime,
    statuses: Iterable[OrderStatus] | None = None,
) -> PredictionSummary:
    """The prediction summary of some orders (valid as :func:`ecrm.predict.summaries`
    counts them).

    Args:
        orders: some or all of the shop's orders.
        as_of: end of the calibration window (exclusive), aware.
        calibration_start: its start (inclusive), aware, before ``as_of``.
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).

    Returns:
        A :class:`PredictionSummary`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog.
        InvalidValueError: naive datetimes; ``calibration_start`` not before ``as_of``.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    end = require_aware(as_of, "as_of")
    start = require_aware(calibration_start, "calibration_start")
    if not start < end:
        raise InvalidValueError("calibration_start", f"must be before as_of {end.isoformat()}",
                                start)
    wanted = _statuses(statuses)
    end_us, start_us = datetime_to_us(end), datetime_to_us(start)
    valid = orders.valid_mask(wanted) & (orders.placed_at_us < end_us)
    n = orders.n_customers
    codes_all = orders.customer_codes.astype(np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    seen[codes_all[valid]] = True
    prior = np.zeros(n, dtype=np.bool_)
    prior[codes_all[valid & (orders.placed_at_us < start_us)]] = True
    rows = np.flatnonzero(valid & (orders.placed_at_us >= start_us))
    c, d = codes_all[rows], orders.placed_day[rows]
    net = orders.net_fen[rows]
    if np.any((c[1:] == c[:-1]) & (d[1:] < d[:-1])):  # a DST change at midnight
        order = np.lexsort((d, c))
        c, d, net = c[order], d[order], net[order]
    first = np.full(n, NO_DAY, dtype=np.int64)
    last = np.full(n, _NO_LAST_DAY, dtype=np.int64)
    np.minimum.at(first, c, d)
    np.maximum.at(last, c, d)
    new = np.ones(len(c), dtype=np.bool_)
    new[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    n_days = np.bincount(c[new], minlength=n).astype(np.int64)
    window = np.zeros(n, dtype=np.int64)
    np.add.at(window, c, net)
    on_first = d == first[c]
    first_fen = np.zeros(n, dtype=np.int64)
    np.add.at(first_fen, c[on_first], net[on_first])
    keep = np.flatnonzero(seen)
    return PredictionSummary(
        customer_ids=read_only(orders.customer_ids[keep]),
        prior=read_only(prior[keep]),
        first_day=read_only(first[keep]), last_day=read_only(last[keep]),
        n_days=read_only(n_days[keep]), window_fen=read_only(window[keep]),
        first_day_fen=read_only(first_fen[keep]),
        as_of=end, calibration_start=start, statuses=wanted, tz=orders.tz,
    )


def merge_predict(a: PredictionSummary, b: PredictionSummary) -> PredictionSummary:
    """The prediction summary of the union of two disjoint sets of orders.

    Raises:
        InvalidTypeError: an argument is not a PredictionSummary.
        InvalidValueError: their window, statuses or zone differ, or their id kinds.
    """
    check_mergeable(a, b, ("as_of", "calibration_start", "statuses"), kind=PredictionSummary)
    if not len(b):
        return a
    if not len(a):
        return b
    ids = sorted_union(a.customer_ids, b.customer_ids)
    ia = np.searchsorted(ids, a.customer_ids)
    ib = np.searchsorted(ids, b.customer_ids)

    def spread(side: PredictionSummary, pos: npt.NDArray[np.intp], name: str,
               fill: int | bool) -> npt.NDArray[Any]:
        arr = getattr(side, name)
        out = np.full(len(ids), fill, dtype=arr.dtype)
        out[pos] = arr
        return out

    af, bf = spread(a, ia, "first_day", NO_DAY), spread(b, ib, "first_day", NO_DAY)
    al, bl = spread(a, ia, "last_day", _NO_LAST_DAY), spread(b, ib, "last_day", _NO_LAST_DAY)
    afen, bfen = spread(a, ia, "first_day_fen", 0), spread(b, ib, "first_day_fen", 0)
    first = np.minimum(af, bf)
    first_fen = np.where(af == first, afen, 0) + np.where(bf == first, bfen, 0)
    return PredictionSummary(
        customer_ids=read_only(ids),
        prior=read_only(spread(a, ia, "prior", False) | spread(b, ib, "prior", False)),
        first_day=read_only(first), last_day=read_only(np.maximum(al, bl)),
        n_days=read_only(merge_day_counts(af, al, spread(a, ia, "n_days", 0),
                                        bf, bl, spread(b, ib, "n_days", 0))),
        window_fen=read_only(spread(a, ia, "window_fen", 0) + spread(b, ib, "window_fen", 0)),
        first_day_fen=read_only(first_fen),
        as_of=a.as_of, calibration_start=a.calibration_start, statuses=a.statuses, tz=a.tz,
    )


def predict_summary(summary: PredictionSummary, *, unit: TimeUnit = "days") -> Summary:
    """The :class:`ecrm.predict.Summary` of a merged prediction summary, equal to
    :func:`ecrm.predict.summaries` on the whole log with the same window and statuses.

    Args:
        summary: the merged summary of every order of the shop.
        unit: the model time unit, ``"days"`` or ``"weeks"``.

    Returns:
        The per-customer (x, t_x, T, repeat spend) of the customers whose first valid
        order falls in the window; ``n_excluded`` counts those who bought before it.

    Raises:
        InvalidTypeError: ``summary`` is not a PredictionSummary.
        InvalidValueError: a bad ``unit``; a customer's purchase days were split between
            overlapping slices (their number cannot be exact; the first is named).
    """
    if not isinstance(summary, PredictionSummary):
        raise InvalidTypeError(
            f"summary must be a PredictionSummary, got {type(summary).__name__}")
    s = summary
    keep = np.flatnonzero(~s.prior & (s.n_days != 0))
    unknown = keep[s.n_days[keep] == UNKNOWN_DAYS]
    if unknown.size:
        first_id = s.customer_ids[unknown[0]]
        raise InvalidValueError(
            "x",
            f"cannot be counted exactly for {unknown.size:,} customer(s): their orders were "
            "split between slices whose purchase days overlap (split the orders by customer, "
            "or by time into consecutive slices merged in order)",
            first_id.item() if isinstance(first_id, np.generic) else first_id,
        )
    as_of_day = local_day(s.as_of, s.tz)
    first = s.first_day[keep]
    return Summary(
        s.customer_ids[keep],
        (s.n_days[keep] - 1).astype(np.int64),
        (s.last_day[keep] - first).astype(np.int64),
        (as_of_day - first).astype(np.int64),
        (s.window_fen[keep] - s.first_day_fen[keep]).astype(np.int64),
        unit=unit,
        as_of_day=as_of_day,
        tz=s.tz,
        n_excluded=int(np.count_nonzero(s.prior)),
    )
