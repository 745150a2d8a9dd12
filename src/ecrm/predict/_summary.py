"""Per-customer summaries for the BTYD models: repeat purchases x, recency t_x, age T, spend."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone, datetime_to_us, local_day, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.lifecycle._kernels import subject_events

__all__ = ["UNIT_DAYS", "Summary", "TimeUnit", "distinct_histories", "summaries"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TimeUnit = Literal["days", "weeks"]
#: Days per model time unit.
UNIT_DAYS: Final = {"days": 1, "weeks": 7}


_COLUMNS: Final = ("customer_ids", "x", "t_x_days", "T_days", "repeat_spend_fen", "t_x_scale",
                   "T_scale")
_KINDS: Final = {"customer_ids": _v.IDS, "x": _v.INTEGERS, "t_x_days": _v.INTEGERS,
                 "T_days": _v.INTEGERS, "repeat_spend_fen": _v.INTEGERS, "t_x_scale": _v.FLOATS,
                 "T_scale": _v.FLOATS}


def _unit(value: str) -> str:
    if value not in UNIT_DAYS:
        raise InvalidValueError("unit", "must be 'days' or 'weeks'", value)
    return value


@attrs.frozen(repr=False, eq=False)
class Summary:
    """Per-customer purchase summaries at ``as_of`` (arrays shape (n,), one row a customer).

    Purchases are purchase days: a customer's valid orders on one local calendar day are
    one purchase. The first purchase day is the customer's birth; the rest are repeats.

    Attributes:
        customer_ids: the ids as the shop has them.
        x: int64, repeat purchases (purchase days after the first).
        t_x_days: int64, days from the first purchase day to the last.
        T_days: int64, days from the first purchase day to ``as_of``'s local day.
        repeat_spend_fen: int64, total valid net spend of the repeat purchase days.
        unit: the model time unit, ``"days"`` or ``"weeks"`` (7 days).
        as_of_day: local day number (days since 1970-01-01) of ``as_of`` in ``tz``.
        tz: the store's time zone.
        n_excluded: customers left out because they bought before the calibration start.
        t_x_scale, T_scale: optional float overrides of t_x and T in ``unit`` (summaries made
            elsewhere, e.g. the CDNOW reference, whose times are fractional weeks).
    """

    customer_ids: npt.NDArray[Any]
    x: IntArray
    t_x_days: IntArray
    T_days: IntArray
    repeat_spend_fen: IntArray
    unit: str = attrs.field(default="days", converter=_unit)
    as_of_day: int = 0
    tz: dt.tzinfo = attrs.field(factory=lambda: as_zone(None))
    n_excluded: int = 0
    t_x_scale: FloatArray | None = None
    T_scale: FloatArray | None = None
    # distinct histories, made once and shared by the fits and the predictions
    _cache: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False, alias="_cache")

    def __attrs_post_init__(self) -> None:
        columns = {name: getattr(self, name) for name in _COLUMNS
                   if getattr(self, name) is not None}
        _v.check_same_length("Summary", columns, _KINDS)

    @classmethod
    def from_arrays(
        cls,
        customer_ids: npt.ArrayLike,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        repeat_spend_fen: npt.ArrayLike | None = None,
        *,
        unit: TimeUnit = "days",
        as_of: dt.datetime | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> Summary:
        """Summaries made elsewhere (another tool, a published data set).

        Args:
            customer_ids: shape (n,), distinct ids.
            x: shape (n,), repeat purchases, whole numbers >= 0.
            t_x: shape (n,), time of the last purchase after the first, in ``unit``
                (may be fractional), 0 when ``x`` is 0.
            T: shape (n,), the customer's age at ``as_of`` in ``unit``, ``T >= t_x``.
            repeat_spend_fen: shape (n,), total spend of the repeat purchases in fen
                (integers); zeros when omitted.
            unit: ``"days"`` or ``"weeks"``.
            as_of: the moment the summaries describe (gives next-purchase dates); the
                epoch when omitted.
            tz: the store's zone (default Asia/Shanghai).

        Raises:
            InvalidValueError: a rule above is broken (the message names the first row), or
                an array is not one-dimensional.
            InvalidTypeError: an array that is not numbers (ids: not str or int), or spend
                that is not integer fen.
        """
        ids = _v.flat_array("customer_ids", customer_ids)
        if ids.dtype.kind not in "iuUO":
            raise InvalidTypeError(f"customer_ids must hold str or int ids, got dtype {ids.dtype}")
        n = len(ids)
        xs = _v.flat_array("x", x)
        if xs.dtype.kind not in "iuf":
            raise InvalidTypeError(f"x must hold whole repeat counts, got dtype {xs.dtype}")
        if xs.dtype.kind == "f" and np.any(xs != np.round(xs)):
            raise InvalidValueError("x", "must hold whole repeat counts", xs[xs != np.round(xs)][0])
        if xs.dtype.kind == "f" and np.any(np.abs(xs) >= 2.0**63):
            raise InvalidValueError("x", "must hold repeat counts below 2**63",
                                    xs[np.abs(xs) >= 2.0**63][0])
        xs = xs.astype(np.int64)
        tx = _v.flat_array("t_x", t_x, np.float64)
        tt = _v.flat_array("T", T, np.float64)
        spend = (np.zeros(n, np.int64) if repeat_spend_fen is None
                 else _v.flat_array("repeat_spend_fen", repeat_spend_fen))
        if spend.dtype.kind not in "iu":
            raise InvalidTypeError(f"repeat_spend_fen must be integer fen, got dtype {spend.dtype}")
        spend = spend.astype(np.int64)
        for name, arr in (("x", xs), ("t_x", tx), ("T", tt), ("repeat_spend_fen", spend)):
            if arr.shape != (n,):
                raise InvalidValueError(name, f"must have shape ({n},) like customer_ids", arr.shape)
            bad = ~(arr >= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidValueError(f"{name}[{i}]", "must be >= 0", arr[i].item())
        checks = (
            (tx > tt, "t_x", "must be <= T"),
            ((xs == 0) & (tx != 0), "t_x", "must be 0 when x is 0"),
            ((xs == 0) & (spend != 0), "repeat_spend_fen", "must be 0 when x is 0"),
            (~np.isfinite(tt), "T", "must be finite"),
        )
        for bad, name, rule in checks:
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                value = {"t_x": tx, "T": tt, "repeat_spend_fen": spend}[name][i].item()
                raise InvalidValueError(f"{name}[{i}]", rule, value)
        if len(np.unique(ids)) != n:
            raise InvalidValueError("customer_ids", "must be distinct", n - len(np.unique(ids)))
        zone = as_zone(tz)
        day = 0 if as_of is None else local_day(require_aware(as_of, "as_of"), zone)
        days = UNIT_DAYS[_unit(unit)]
        return cls(
            ids,
            xs,
            np.round(tx * days).astype(np.int64),
            np.round(tt * days).astype(np.int64),
            spend,
            unit=unit,
            as_of_day=day,
            tz=zone,
            t_x_scale=tx,
            T_scale=tt,
        )

    # -- views ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        n_rep = int(np.count_nonzero(self.x))
        return f"Summary({len(self):,} customers, {n_rep:,} with repeats, unit={self.unit!r})"

    @property
    def t_x(self) -> FloatArray:
        """float64, recency in the model unit."""
        if self.t_x_scale is not None:
            return self.t_x_scale
        return self.t_x_days / UNIT_DAYS[self.unit]

    @property
    def T(self) -> FloatArray:  # noqa: N802
        """float64, age in the model unit."""
        if self.T_scale is not None:
            return self.T_scale
        return self.T_days / UNIT_DAYS[self.unit]

    @property
    def mean_repeat_spend_fen(self) -> FloatArray:
        """float64, mean spend per repeat purchase in fen (NaN where ``x`` is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.x > 0, self.repeat_spend_fen / np.maximum(self.x, 1), np.nan)

    def select(self, mask: npt.NDArray[np.bool_]) -> Summary:
        """The customers where ``mask`` (bool, shape (n,)) is true."""
        return attrs.evolve(
            self,
            customer_ids=self.customer_ids[mask],
            x=self.x[mask],
            t_x_days=self.t_x_days[mask],
            T_days=self.T_days[mask],
            repeat_spend_fen=self.repeat_spend_fen[mask],
            t_x_scale=None if self.t_x_scale is None else self.t_x_scale[mask],
            T_scale=None if self.T_scale is None else self.T_scale[mask],
        )

    def index_of(self, customer_id: Any) -> int:
        """The row of ``customer_id``.

        Raises:
            UnknownCustomerError: the customer has no row.
        """
        hits = np.flatnonzero(self.customer_ids == customer_id)
        if not len(hits):
            raise UnknownCustomerError(f"customer {customer_id!r} has no prediction summary")
        return int(hits[0])


def summaries(
    log: OrderLog,
    *,
    as_of: dt.datetime,
    calibration_start: dt.datetime,
    unit: TimeUnit = "days",
    statuses: Any = None,
) -> Summary:
    """Per-customer (x, t_x, T, repeat spend) from valid orders in ``[calibration_start, as_of)``.

    The models assume each customer is watched from their first purchase, so only customers
    whose first valid order falls in the window are summarised; those who bought before
    ``calibration_start`` are left out (counted in ``Summary.n_excluded``). Several orders
    on one local calendar day are one purchase, as in repurchase cycles.

    Args:
        log: the orders.
        as_of: end of the calibration window (exclusive), an aware datetime.
        calibration_start: start of the window (inclusive), an aware datetime.
        unit: model time unit, ``"days"`` (default) or ``"weeks"``.
        statuses: which order statuses are valid (default: paid and not fully refunded).

    Returns:
        A :class:`Summary`, customers in the log's id order.

    Raises:
        InvalidTypeError: a naive or non-datetime ``as_of`` / ``calibration_start``.
        InvalidValueError: ``calibration_start`` not before ``as_of``, or a bad ``unit``.
        InvalidTypeError: ``log`` is not an :class:`~ecrm.OrderLog`.
    """
    _v.check_instance("log", log, OrderLog)
    _unit(unit)
    end = require_aware(as_of, "as_of")
    start = require_aware(calibration_start, "calibration_start")
    if not start < end:
        raise InvalidValueError("calibration_start", f"must be before as_of {end.isoformat()}", start)
    end_us, start_us = datetime_to_us(end), datetime_to_us(start)
    valid = log.valid_mask(statuses)
    placed = log.placed_at_us
    before = valid & (placed < start_us)
    prior = np.zeros(log.n_customers, dtype=bool)
    prior[log.customer_codes[before]] = True
    mask = valid & (placed >= start_us) & (placed < end_us) & ~prior[log.customer_codes]
    codes = log.customer_codes[mask].astype(np.int64)
    day = log.placed_day[mask]
    net = log.net_fen[mask]
    n = len(codes)
    same = np.zeros(n, dtype=bool)
    if n:
        np.equal(codes[1:], codes[:-1], out=same[1:])
        # Local days can only go backwards within a customer across a DST change at midnight.
        if np.any(same[1:] & (day[1:] < day[:-1])):
            order = np.lexsort((day, codes))
            codes, day, net = codes[order], day[order], net[order]
            np.equal(codes[1:], codes[:-1], out=same[1:])
    ev = subject_events(~same, day, count_each=None)
    subject_codes = codes[ev.starts]
    as_of_day = local_day(end, log.tz)
    # Repeat spend: everything the customer spent in the window but on the first day.
    subject_of_row = np.cumsum(~same) - 1
    on_first_day = day == ev.first_day[subject_of_row] if n else np.zeros(0, bool)
    total = np.bincount(subject_of_row, weights=net, minlength=len(ev.starts)) if n else np.zeros(0)
    first = (
        np.bincount(subject_of_row[on_first_day], weights=net[on_first_day], minlength=len(ev.starts))
        if n
        else np.zeros(0)
    )
    # bincount sums in float64: exact for totals below 2**53 fen.
    repeat = np.rint(total - first).astype(np.int64)
    return Summary(
        log.customer_ids[subject_codes],
        (ev.n_days - 1).astype(np.int64),
        (ev.last_day - ev.first_day).astype(np.int64),
        (as_of_day - ev.first_day).astype(np.int64),
        repeat,
        unit=unit,
        as_of_day=as_of_day,
        tz=log.tz,
        n_excluded=int(np.count_nonzero(prior)),
    )


def distinct_histories(
    summary: Summary,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """The distinct (x, t_x, T) rows of a summary, in the model unit.

    Returns:
        (x, t_x, T, weights, inverse): the distinct rows (float64, shape (m,)) sorted by x,
        then t_x, then T; how many customers share each; and each customer's row (shape
        (n,)). Made once per summary and shared (read-only arrays).
    """
    found: tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.intp]] | None = (
        summary._cache.get("distinct"))
    if found is None:
        found = _distinct(summary)
        for arr in found:
            arr.flags.writeable = False
        summary._cache["distinct"] = found
    return found


def _distinct(summary: Summary) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.intp]]:
    n = len(summary)
    if n == 0:
        e = np.zeros(0)
        return e, e, e, e, np.zeros(0, dtype=np.intp)
    if summary.t_x_scale is None and summary.T_scale is None:
        # Whole days: rows sorted by (x, t_x, T) with three stable radix passes of 16-bit
        # keys (numpy radix-sorts 16-bit integers), then runs of equal rows; a third faster
        # than sorting one combined int64 key, which in turn is far faster than np.unique
        # over rows.
        days = UNIT_DAYS[summary.unit]
        x, tx, T = summary.x, summary.t_x_days, summary.T_days
        if int(T.max()) < 2**16 and int(x.max()) < 2**16:
            order = np.argsort(T.astype(np.uint16), kind="stable")
            order = order[np.argsort(tx.astype(np.uint16)[order], kind="stable")]
            order = order[np.argsort(x.astype(np.uint16)[order], kind="stable")]
        else:
            span = int(T.max()) + 1
            order = np.argsort((x * span + tx) * span + T, kind="stable")
        xs, txs, Ts = x[order], tx[order], T[order]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(Ts[1:], Ts[:-1], out=new[1:])
        new[1:] |= txs[1:] != txs[:-1]
        new[1:] |= xs[1:] != xs[:-1]
        starts = np.flatnonzero(new)
        inverse = np.empty(n, dtype=np.intp)
        inverse[order] = np.cumsum(new) - 1
        weights = np.diff(np.append(starts, n)).astype(np.float64)
        return (xs[starts].astype(np.float64), txs[starts] / days, Ts[starts] / days, weights, inverse)
    cols = np.stack([summary.x.astype(np.float64), summary.t_x, summary.T], axis=1)
    rows, row_of, counts = np.unique(cols, axis=0, return_inverse=True, return_counts=True)
    return (np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1]),
            np.ascontiguousarray(rows[:, 2]), counts.astype(np.float64), row_of.reshape(-1))
