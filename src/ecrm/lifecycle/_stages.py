"""Lifecycle stages (潜客 / 新客 / 活跃 / 沉默 / 睡眠 / 流失) and transitions between dates."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._deprecate import renamed_kwarg
from ecrm._ids import find_id
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, dates, nullable
from ecrm._time import day_to_date
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.lifecycle._cycle import Bands, RepurchaseCycle, check_log, check_rows
from ecrm.lifecycle._kernels import as_of_for, store_events

__all__ = ["Stage", "StageResult", "TransitionMatrix", "stage_transitions", "stages"]

IntArray = npt.NDArray[np.int64]


class Stage(enum.Enum):
    """A customer's lifecycle stage under the 5221 rule. ``code`` orders them."""

    PROSPECT = "prospect"  # 潜客: known to the shop, no valid order yet
    NEW = "new"  # 新客: one purchase day, within P50 of it
    ACTIVE = "active"  # 活跃: last purchase day within P50
    SILENT = "silent"  # 沉默: P50 < days <= P70
    SLEEPING = "sleeping"  # 睡眠: P70 < days <= P90
    CHURNED = "churned"  # 流失: days > P90

    @property
    def code(self) -> int:
        """The small integer stored in result arrays (0 = PROSPECT … 5 = CHURNED)."""
        return _STAGE_CODES[self]

    @property
    def label_zh(self) -> str:
        """The operator's Chinese name (潜客, 新客, 活跃, 沉默, 睡眠, 流失)."""
        return _LABELS_ZH[self]


_STAGE_CODES: Final = {s: i for i, s in enumerate(Stage)}
STAGE_BY_CODE: Final = tuple(Stage)
_LABELS_ZH: Final = {
    Stage.PROSPECT: "潜客",
    Stage.NEW: "新客",
    Stage.ACTIVE: "活跃",
    Stage.SILENT: "沉默",
    Stage.SLEEPING: "睡眠",
    Stage.CHURNED: "流失",
}
_STAGE_VALUES: Final = np.asarray([s.value for s in Stage])
_STAGE_ZH: Final = np.asarray([_LABELS_ZH[s] for s in Stage])
#: The boundary a customer has most recently crossed, by stage code ("" = none).
_BOUNDARY_BY_STAGE: Final = ("", "", "", "P50", "P70", "P90")
_NO_DAYS: Final = -1


def customer_universe(
    log: OrderLog, as_of_us: int, customers: Any
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]:
    """Customers known at ``as_of`` (any order placed before it, plus ``customers``), and
    when no ``customers`` were added, the position of each log customer code among them."""
    # Rows are in time order per customer: known at as_of <=> the first row is before it.
    seen = log.placed_at_us[log.customer_starts[:-1]] < as_of_us
    known = log.customer_ids[seen]
    if customers is None:
        return known, np.cumsum(seen, dtype=np.int64) - 1
    extra = getattr(customers, "customer_ids", customers)
    extra = _v.flat_array("customers", extra)  # a nested list: an ecrm error, not numpy's
    if len(extra) == 0:
        return known, np.cumsum(seen, dtype=np.int64) - 1
    kinds = {extra.dtype.kind}
    if len(log.customer_ids):
        kinds.add(log.customer_ids.dtype.kind)
    if kinds - {"i", "u"} and kinds - {"U"}:
        raise InvalidTypeError(
            f"customers must hold ids of the log's kind ({log.customer_ids.dtype}), "
            f"got {extra.dtype}"
        )
    if extra.dtype.kind == "u":
        extra = extra.astype(np.int64)
    if len(known) == 0:
        return np.unique(extra), None
    # No cast to the log's string width: a longer id passed in must stay whole.
    return np.union1d(known, extra), None


def _check_stage_rows(owner: str, columns: dict[str, Any], codes: tuple[str, ...]) -> None:
    """Rows line up, and every stage code names a :class:`Stage`."""
    check_rows(owner, columns, ints=tuple(k for k in columns if k != "customer_ids"))
    for name in codes:
        values = columns[name]
        if len(values) and not (values.min() >= 0 and values.max() < len(Stage)):
            raise InvalidValueError(f"{owner}.{name}", f"must hold Stage codes 0 to "
                                    f"{len(Stage) - 1}", f"{values.min()} to {values.max()}")


@attrs.frozen
class StageComputation:
    customer_ids: npt.NDArray[Any]
    stage_codes: npt.NDArray[np.int8]
    days_since_last: IntArray
    n_purchase_days: IntArray
    last_day: IntArray


def compute_stages(
    log: OrderLog, as_of: dt.datetime, bands: Bands, customers: Any, statuses: Any
) -> tuple[StageComputation, int]:
    when = as_of_for(log, as_of)
    codes, ev = store_events(log, when.us, statuses, "merge")
    ids, code_pos = customer_universe(log, when.us, customers)
    n = len(ids)
    # Position of each buyer among the known customers (buyers are always known).
    if code_pos is not None:
        pos = code_pos[codes]
    else:
        pos = np.searchsorted(ids, log.customer_ids[codes]) if n else np.zeros(0, np.intp)
    last_day = np.full(n, _NO_DAYS, dtype=np.int64)
    n_days = np.zeros(n, dtype=np.int64)
    last_day[pos] = ev.last_day
    n_days[pos] = ev.n_days
    days = np.full(n, _NO_DAYS, dtype=np.int64)
    days[pos] = when.day - ev.last_day
    return StageComputation(ids, stage_codes_of(days, n_days, bands), days, n_days,
                            last_day), when.day


def stage_codes_of(days: IntArray, n_days: IntArray, bands: Bands) -> npt.NDArray[np.int8]:
    """``Stage.code`` per customer from the days since the last purchase day and the
    number of purchase days (0 = prospect); the one stage rule of every path."""
    # Bands first, by days since the last purchase day; NEW only replaces ACTIVE.
    stage = np.searchsorted(
        np.asarray([bands.p50_days, bands.p70_days, bands.p90_days], dtype=np.int64),
        days, side="left",
    ).astype(np.int8) + np.int8(Stage.ACTIVE.code)
    stage[(stage == Stage.ACTIVE.code) & (n_days == 1)] = Stage.NEW.code
    stage[n_days == 0] = Stage.PROSPECT.code
    return stage


@attrs.frozen(eq=False)
class StageResult(ResultFrame):
    """Every known customer's lifecycle stage at ``as_of``.

    Attributes:
        customer_ids: shape (n,), sorted: customers with any order placed before ``as_of``
            (valid or not), plus the ``customers`` passed in.
        stage_codes: int8, shape (n,), ``Stage.code`` of each customer.
        days_since_last: int64, shape (n,): whole local days from the last purchase day to
            the ``as_of`` day; −1 for prospects.
        n_purchase_days: int64, shape (n,): distinct purchase days before ``as_of``.
        bands: the boundaries used.
        scope: the scope of the cycle that gave the boundaries ("store", "default", ...).
        as_of: the aware datetime.
    """

    customer_ids: npt.NDArray[Any]
    stage_codes: npt.NDArray[np.int8]
    days_since_last: IntArray
    n_purchase_days: IntArray
    bands: Bands
    scope: str
    as_of: dt.datetime
    _as_of_day: int = attrs.field(alias="_as_of_day", repr=False)

    def __attrs_post_init__(self) -> None:
        _check_stage_rows("StageResult", {
            "customer_ids": self.customer_ids, "stage_codes": self.stage_codes,
            "days_since_last": self.days_since_last, "n_purchase_days": self.n_purchase_days,
        }, ("stage_codes",))

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, stage, stage_zh, days_since_last, last_purchase_date,
        n_purchase_days, boundary``: one row per customer; prospects have no
        ``days_since_last``, ``last_purchase_date`` or ``boundary``."""
        codes = self.stage_codes.astype(np.int64)
        prospect = codes == Stage.PROSPECT.code
        empty = np.zeros(0, dtype="U1")
        boundary = np.asarray(_BOUNDARY_BY_STAGE)[codes] if len(codes) else empty
        return {
            "customer_id": self.customer_ids,
            "stage": _STAGE_VALUES[codes] if len(codes) else empty,
            "stage_zh": _STAGE_ZH[codes] if len(codes) else empty,
            "days_since_last": nullable(self.days_since_last, prospect),
            "last_purchase_date": dates(self._as_of_day - self.days_since_last, prospect),
            "n_purchase_days": self.n_purchase_days,
            "boundary": nullable(boundary, boundary == ""),
        }
    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n:,}" for s, n in self.counts.items())
        b = self.bands
        return (
            f"StageResult({len(self):,} customers, as_of={self.as_of.isoformat()}, "
            f"bands=P50/P70/P90 {b.p50_days}/{b.p70_days}/{b.p90_days} days "
            f"({self.scope}), {counts})"
        )

    @property
    def stage(self) -> npt.NDArray[np.object_]:
        """object, shape (n,): the :class:`Stage` of each customer (built on access)."""
        return np.asarray(STAGE_BY_CODE, dtype=object)[self.stage_codes]

    @property
    def boundary(self) -> npt.NDArray[np.str_]:
        """str, shape (n,): the boundary last crossed ("P50", "P70", "P90" or "")."""
        return np.asarray(_BOUNDARY_BY_STAGE)[self.stage_codes]

    @property
    def counts(self) -> dict[Stage, int]:
        """Customers per stage, every stage present (0 when empty), in stage order."""
        c = np.bincount(self.stage_codes, minlength=len(Stage))
        return {s: int(c[s.code]) for s in Stage}

    def ids_in(self, stage: Stage) -> npt.NDArray[Any]:
        """The ids of the customers in ``stage`` (sorted)."""
        ids: npt.NDArray[Any] = self.customer_ids[self.stage_codes == Stage(stage).code]
        return ids

    def _index(self, customer_id: Any) -> int:
        pos = find_id(self.customer_ids, customer_id)
        if pos is None:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this result")
        return pos

    def stage_of(self, customer_id: Any) -> Stage:
        """The stage of one customer.

        Raises:
            UnknownCustomerError: not in this result.
        """
        return STAGE_BY_CODE[int(self.stage_codes[self._index(customer_id)])]

    def explain(self, customer_id: Any) -> str:
        """Why one customer is in their stage, in one line of English.

        Raises:
            UnknownCustomerError: not in this result.
        """
        i = self._index(customer_id)
        st = STAGE_BY_CODE[int(self.stage_codes[i])]
        b = self.bands
        cid = self.customer_ids[i]
        cid = cid.item() if isinstance(cid, np.generic) else cid
        # The store's local day of as_of (the day the days are counted to), not as_of's own.
        head = f"customer {cid!r} is {st.name} ({st.label_zh}) on {day_to_date(self._as_of_day)}"
        if st is Stage.PROSPECT:
            return head + ": no valid order before as_of"
        d = int(self.days_since_last[i])
        last = day_to_date(self._as_of_day - d)
        nd = int(self.n_purchase_days[i])
        why = (
            f": last purchase day {last}, {d} day(s) ago, {nd} purchase day(s); "
            f"5221 bands P50={b.p50_days} P70={b.p70_days} P90={b.p90_days} "
            f"(scope {self.scope})"
        )
        def crossed(p: int) -> dt.date:
            return last + dt.timedelta(days=p + 1)

        rule = {
            Stage.NEW: f"; {d} <= P50 and only one purchase day "
                       f"(silent from {crossed(b.p50_days)} without another purchase)",
            Stage.ACTIVE: f"; {d} <= P50 (silent from {crossed(b.p50_days)} without a purchase)",
            Stage.SILENT: f"; P50 < {d} <= P70 (crossed P50 on {crossed(b.p50_days)}; "
                          f"sleeping from {crossed(b.p70_days)})",
            Stage.SLEEPING: f"; P70 < {d} <= P90 (crossed P70 on {crossed(b.p70_days)}; "
                            f"churned from {crossed(b.p90_days)})",
            Stage.CHURNED: f"; {d} > P90 (crossed P90 on {crossed(b.p90_days)})",
        }[st]
        return head + why + rule


def _bands_and_scope(cycle: object) -> tuple[Bands, str]:
    if isinstance(cycle, RepurchaseCycle):
        return cycle.bands, cycle.scope
    return Bands.of(cycle), "default"  # type: ignore[arg-type]


def stages(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int],
    customers: Any = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> StageResult:
    """Each customer's lifecycle stage at ``as_of`` by the 5221 bands of ``cycle``.

    With ``d`` = whole local days from the last purchase day to the ``as_of`` day:
    ``d <= P50`` → ACTIVE (NEW when the customer has only one purchase day);
    ``P50 < d <= P70`` → SILENT; ``P70 < d <= P90`` → SLEEPING; ``d > P90`` → CHURNED;
    no valid order before ``as_of`` → PROSPECT. NEW is only the young part of ACTIVE: a
    one-purchase-day customer past P50 follows the bands like everyone else.

    Args:
        orders: the order log.
        as_of: aware datetime; orders at or after it are ignored.
        cycle: a :class:`RepurchaseCycle` with boundaries, :class:`Bands` or a
            (p50, p70, p90) tuple of days.
        customers: more customer ids to include as prospects unless they bought (any
            1-d array of ids of the log's kind, or an object with ``customer_ids``).
        statuses: which statuses count as valid (default: paid, shipped, completed).

    Returns:
        A :class:`StageResult` over every customer known at ``as_of``.

    Raises:
        InvalidValueError: a cycle without boundaries, naive ``as_of``.
        InvalidTypeError: ``customers`` of another id kind than the log's.
    """
    log = check_log(orders)
    bands, scope = _bands_and_scope(cycle)
    comp, as_day = compute_stages(log, as_of, bands, customers, statuses)
    return StageResult(
        customer_ids=comp.customer_ids,
        stage_codes=comp.stage_codes,
        days_since_last=comp.days_since_last,
        n_purchase_days=comp.n_purchase_days,
        bands=bands,
        scope=scope,
        as_of=as_of,
        _as_of_day=as_day,
    )


@attrs.frozen(eq=False)
class TransitionMatrix(ResultFrame):
    """Who moved between lifecycle stages from ``start`` to ``end``.

    Attributes:
        start, end: the two aware datetimes.
        customer_ids: shape (n,), customers known at ``end`` (plus ``customers``).
        from_codes, to_codes: int8, shape (n,): ``Stage.code`` at start and at end. A
            customer the shop did not know yet at ``start`` counts as PROSPECT then.
        counts: int64, shape (6, 6): ``counts[i, j]`` customers from stage code i to j.
    """

    start: dt.datetime
    end: dt.datetime
    customer_ids: npt.NDArray[Any]
    from_codes: npt.NDArray[np.int8]
    to_codes: npt.NDArray[np.int8]
    counts: IntArray

    def __attrs_post_init__(self) -> None:
        _check_stage_rows("TransitionMatrix", {
            "customer_ids": self.customer_ids, "from_codes": self.from_codes,
            "to_codes": self.to_codes,
        }, ("from_codes", "to_codes"))
        shape = getattr(self.counts, "shape", None)
        if shape != (len(Stage), len(Stage)):
            raise InvalidValueError("TransitionMatrix.counts",
                                    f"must be a {len(Stage)} x {len(Stage)} array", shape)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, from_stage, to_stage``: one row per customer."""
        empty = np.zeros(0, dtype="U1")
        start = self.from_codes.astype(np.int64)
        end = self.to_codes.astype(np.int64)
        return {
            "customer_id": self.customer_ids,
            "from_stage": _STAGE_VALUES[start] if len(start) else empty,
            "to_stage": _STAGE_VALUES[end] if len(end) else empty,
        }
    def __repr__(self) -> str:
        moved = int(np.count_nonzero(self.from_codes != self.to_codes))
        return (
            f"TransitionMatrix({len(self.customer_ids):,} customers, {moved:,} moved, "
            f"start={self.start.isoformat()}, end={self.end.isoformat()})"
        )

    def count(self, from_stage: Stage, to_stage: Stage) -> int:
        """Number of customers who were in ``from_stage`` and are in ``to_stage``."""
        return int(self.counts[Stage(from_stage).code, Stage(to_stage).code])

    def moved(
        self, from_stage: Stage | None = None, to_stage: Stage | None = None
    ) -> npt.NDArray[Any]:
        """Ids of customers who changed stage (optionally only from / to given stages)."""
        mask = self.from_codes != self.to_codes
        if from_stage is not None:
            mask &= self.from_codes == Stage(from_stage).code
        if to_stage is not None:
            mask &= self.to_codes == Stage(to_stage).code
        ids: npt.NDArray[Any] = self.customer_ids[mask]
        return ids

    def to_text(self) -> str:
        """The matrix as an aligned text table (rows: from, columns: to)."""
        names = [s.name for s in Stage]
        width = max(len(n) for n in names) + 1
        lines = ["from \\ to".ljust(width) + "".join(n.rjust(width) for n in names)]
        for i, n in enumerate(names):
            lines.append(n.ljust(width) + "".join(str(int(v)).rjust(width) for v in self.counts[i]))
        return "\n".join(lines)


@renamed_kwarg("end", "as_of")
def stage_transitions(
    orders: OrderLog,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int],
    customers: Any = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> TransitionMatrix:
    """Stage of every customer at ``start`` and at ``as_of`` (same boundaries), and the flow.

    Args:
        orders: the order log.
        start: the earlier moment.
        as_of: the later moment, not before ``start``; ``end=`` is its deprecated alias.
        cycle: the stage boundaries (a cycle, bands or ``(active, at_risk, dormant)`` days).
        customers: restrict to these customer ids (default: everyone in the log).
        statuses: valid statuses (default PAID, SHIPPED, COMPLETED).

    Returns:
        A :class:`TransitionMatrix` from the stages at ``start`` to those at ``as_of``.

    Raises:
        InvalidValueError: ``as_of`` before ``start``, a cycle without boundaries.
    """
    log = check_log(orders)
    bands, _scope = _bands_and_scope(cycle)
    a = as_of_for(log, start, "start")
    b = as_of_for(log, as_of, "as_of")
    if b.us < a.us:
        raise InvalidValueError("as_of", f"must not be before start {start.isoformat()}", as_of)
    statuses = None if statuses is None else tuple(statuses)  # used twice
    at_end, _ = compute_stages(log, as_of, bands, customers, statuses)
    at_start, _ = compute_stages(log, start, bands, customers, statuses)
    from_codes = np.full(len(at_end.customer_ids), Stage.PROSPECT.code, dtype=np.int8)
    if len(at_start.customer_ids):
        pos = np.searchsorted(at_end.customer_ids, at_start.customer_ids)
        from_codes[pos] = at_start.stage_codes
    k = len(Stage)
    flat = from_codes.astype(np.int64) * k + at_end.stage_codes
    counts = np.bincount(flat, minlength=k * k).astype(np.int64).reshape(k, k)
    return TransitionMatrix(start, as_of, at_end.customer_ids, from_codes, at_end.stage_codes, counts)
