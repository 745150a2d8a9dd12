"""Tier flow: level-to-level transitions between two dates, monthly upgrade rates, what-if.

All functions are vectorised over the whole log (one pass over the columns per date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._deprecate import renamed_kwarg
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, dates
from ecrm._time import datetime_to_us, require_aware
from ecrm._window import Window, bounds_renamed, window_arg
from ecrm.errors import CurrencyMismatchError, InvalidValueError
from ecrm.tiers._ladder import (
    OptedIn,
    TierLadder,
    TierResult,
    _format_table,
    _qualify,
    _window_start_us,
    resolve_opted_in,
)
from ecrm.tiers._membership import DowngradePolicy

__all__ = ["TierFlow", "UpgradeRate", "WhatIf", "monthly_upgrade_rate", "tier_flow", "what_if"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _levels_at(
    orders: OrderLog,
    ladder: TierLadder,
    when: dt.datetime,
    opted_in: OptedIn,
    statuses: Iterable[OrderStatus] | None,
    policy: DowngradePolicy | None,
    qualified: bool,
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Level of every log customer at ``when`` and whether they are known (ordered) by then."""
    lo = _window_start_us(when, orders, policy)
    _, _, q, known, _ = _qualify(ladder, orders, datetime_to_us(when), lo, statuses)
    if qualified:
        return q, known
    opted = resolve_opted_in(orders, opted_in, when)
    return np.where(opted, q, 0), known


def _check(orders: OrderLog, ladder: TierLadder, name: str = "ladder") -> None:
    _v.check_instance("orders", orders, OrderLog)
    _v.check_instance(name, ladder, TierLadder)
    if orders.currency != ladder.currency:
        raise CurrencyMismatchError(
            "orders.currency", f"must be the ladder's currency {ladder.currency}", orders.currency
        )


def _matrix(a: IntArray, b: IntArray, rows: int, cols: int) -> IntArray:
    flat = np.bincount(a * cols + b, minlength=rows * cols)
    return flat.reshape(rows, cols).astype(np.int64, copy=False)


@attrs.frozen(eq=False)
class TierFlow(ResultFrame):
    """How customers moved between levels from ``start`` to ``end``.

    The customers are those with an order (any status) placed before ``end``; a customer
    who first ordered after ``start`` starts at level 0.

    Attributes:
        ladder: the ladder evaluated.
        start, end: the two instants.
        customer_ids: shape (k,).
        level_start, level_end: int64, shape (k,).
        matrix: int64, shape (n + 1, n + 1): ``matrix[i, j]`` customers at level ``i`` at
            ``start`` and level ``j`` at ``end``; it sums to ``k``.
    """

    ladder: TierLadder
    start: dt.datetime
    end: dt.datetime
    customer_ids: npt.NDArray[Any] = attrs.field(repr=False)
    level_start: IntArray = attrs.field(repr=False)
    level_end: IntArray = attrs.field(repr=False)
    matrix: IntArray = attrs.field(repr=False)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, level_start, level_end``: one row per customer in the flow."""
        return {
            "customer_id": self.customer_ids,
            "level_start": self.level_start,
            "level_end": self.level_end,
        }

    @property
    def n_customers(self) -> int:
        """Number of customers in the flow (the matrix total)."""
        return len(self.customer_ids)

    @property
    def upgraded(self) -> int:
        """Customers whose level rose (above the diagonal)."""
        return int(np.triu(self.matrix, 1).sum())

    @property
    def downgraded(self) -> int:
        """Customers whose level fell (below the diagonal)."""
        return int(np.tril(self.matrix, -1).sum())

    @property
    def unchanged(self) -> int:
        """Customers on the diagonal."""
        return int(np.trace(self.matrix))

    def table(self) -> str:
        """The transition matrix as text: rows = level at start, columns = level at end."""
        n = self.matrix.shape[0]
        header = ("start \\ end", *(str(j) for j in range(n)))
        rows = [header]
        for i in range(n):
            rows.append((f"{i} {self.ladder.name_of(i)}", *(str(int(v)) for v in self.matrix[i])))
        return _format_table(rows)


@renamed_kwarg("end", "as_of")
def tier_flow(
    orders: OrderLog,
    ladder: TierLadder,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    opted_in: OptedIn,
    statuses: Iterable[OrderStatus] | None = None,
    policy: DowngradePolicy | None = None,
    qualified: bool = False,
) -> TierFlow:
    """The level-to-level transition matrix of a shop between ``start`` and ``as_of``.

    Args:
        orders: the order log.
        ladder: the ladder.
        start: the earlier moment (aware).
        as_of: the later moment (aware), ``start < as_of``; ``end=`` is its deprecated
            alias. Levels are evaluated as :meth:`TierLadder.evaluate_log` does at each.
        opted_in: who has joined (see :meth:`TierLadder.evaluate_log`); a mapping of
            memberships is resolved at each instant.
        statuses: valid statuses (default PAID, SHIPPED, COMPLETED).
        policy: downgrade policy for the evaluation (default never).
        qualified: use qualified levels (ignore opt-in) instead of member levels.

    Raises:
        InvalidValueError: ``start`` is not before ``as_of``; naive datetimes.
        CurrencyMismatchError: the log and the ladder use different currencies.
    """
    s = require_aware(start, "start")
    e = require_aware(as_of, "as_of")
    if not s < e:
        raise InvalidValueError("start", f"must be before as_of ({e})", s)
    _check(orders, ladder)
    ls, _ = _levels_at(orders, ladder, s, opted_in, statuses, policy, qualified)
    le, known = _levels_at(orders, ladder, e, opted_in, statuses, policy, qualified)
    keep = np.flatnonzero(known)
    ls, le = ls[keep], le[keep]
    n = ladder.top_level + 1
    return TierFlow(ladder, s, e, orders.customer_ids[keep], ls, le, _matrix(ls, le, n, n))


@attrs.frozen(eq=False)
class UpgradeRate(ResultFrame):
    """Per calendar month: members at the month's start and how many moved up during it.

    Attributes:
        months: the first day of each month (store zone).
        members: int64, shape (m,): customers at level >= 1 at the month's start.
        upgraded: int64, shape (m,): of those, how many were at a higher level at its end.
    """

    months: tuple[dt.date, ...]
    members: IntArray = attrs.field(repr=False)
    upgraded: IntArray = attrs.field(repr=False)

    def _columns(self) -> dict[str, Any]:
        """``month, members, upgraded, rate``: one row per month (``rate`` missing for a
        month without members)."""
        return {
            "month": dates(list(self.months)),
            "members": self.members,
            "upgraded": self.upgraded,
            "rate": self.rate,
        }

    @property
    def rate(self) -> FloatArray:
        """``upgraded / members`` per month; NaN for a month with no members."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.members > 0, self.upgraded / np.maximum(self.members, 1), np.nan)

    def table(self) -> str:
        """Month, members, upgraded and rate as text."""
        rows = [("month", "members", "upgraded", "rate")]
        for m, a, u, r in zip(self.months, self.members, self.upgraded, self.rate, strict=True):
            rows.append((m.strftime("%Y-%m"), str(int(a)), str(int(u)),
                         "-" if np.isnan(r) else f"{r:.1%}"))
        return _format_table(rows)


@bounds_renamed("monthly_upgrade_rate")
def monthly_upgrade_rate(
    orders: OrderLog,
    ladder: TierLadder,
    *,
    opted_in: OptedIn,
    window: Window | None = None,
    months: Iterable[dt.date] | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    policy: DowngradePolicy | None = None,
) -> UpgradeRate:
    """The share of members who moved up during each calendar month.

    Give the months either as ``window`` (an :class:`ecrm.Window`: every calendar month in
    the log's zone from the month holding ``window.start`` up to the last one beginning
    before ``window.end``; ``start=``/``end=`` is the deprecated form) or as ``months``, a list of dates or aware datetimes each naming its calendar month (any day
    of it). For each month ``[m, m + 1 month)`` (midnights of day 1 in the store zone) the
    denominator is the customers at level >= 1 at ``m`` and the numerator those of them at a
    higher level at ``m + 1 month``. Levels are evaluated once per distinct month boundary.

    Raises:
        InvalidValueError: both or neither of ``months`` and ``window``; naive
            datetimes; an empty ``months``.
        InvalidTypeError: ``window`` is not a :class:`ecrm.Window`.
    """
    _check(orders, ladder)
    tz = orders.tz
    if months is not None:
        if window is not None:
            raise InvalidValueError(
                "months", "must not be given together with window", None, show_value=False
            )
        firsts = []
        for i, m in enumerate(months):
            if isinstance(m, dt.datetime):
                m = require_aware(m, f"months[{i}]").astimezone(tz).date()
            elif not isinstance(m, dt.date):
                raise InvalidValueError(f"months[{i}]", "must be a date or datetime", m)
            firsts.append(dt.datetime(m.year, m.month, 1, tzinfo=tz))
        if not firsts:
            raise InvalidValueError("months", "must name at least one month", [])
    else:
        if window is None:
            raise InvalidValueError(
                "window", "(or months) is required", None, show_value=False
            )
        w = window_arg(window, None, None, where="monthly_upgrade_rate")
        s, e = w.start.astimezone(tz), w.end
        first = s.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        # relativedelta from the first month avoids drifting through month-end clipping
        firsts = [first]
        while (nxt := first + relativedelta(months=len(firsts))) < e:
            firsts.append(nxt)
    cache: dict[dt.datetime, IntArray] = {}

    def levels(when: dt.datetime) -> IntArray:
        if when not in cache:
            cache[when] = _levels_at(orders, ladder, when, opted_in, statuses, policy, False)[0]
        return cache[when]

    members = []
    upgraded = []
    for m in firsts:
        a, b = levels(m), levels(m + relativedelta(months=1))
        was = a >= 1
        members.append(int(was.sum()))
        upgraded.append(int((was & (b > a)).sum()))
    return UpgradeRate(
        tuple(m.date() for m in firsts),
        np.asarray(members, dtype=np.int64),
        np.asarray(upgraded, dtype=np.int64),
    )


@attrs.frozen(eq=False)
class WhatIf(ResultFrame):
    """Levels under the current and a proposed ladder, side by side.

    Attributes:
        current, proposed: the two :class:`TierResult` (same customers, same order).
        moves: int64, shape (n_current + 1, n_proposed + 1): ``moves[i, j]`` customers at
            level ``i`` now who would be at level ``j`` under the proposal.
        flow_current, flow_proposed: the :class:`TierFlow` from ``start`` to ``as_of``
            under each ladder, when ``start`` was given.
    """

    current: TierResult
    proposed: TierResult
    moves: IntArray = attrs.field(repr=False)
    flow_current: TierFlow | None = attrs.field(default=None, repr=False)
    flow_proposed: TierFlow | None = attrs.field(default=None, repr=False)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, level_current, level_proposed``: one row per customer."""
        return {
            "customer_id": self.current.customer_ids,
            "level_current": self.current.level,
            "level_proposed": self.proposed.level,
        }

    @property
    def raised(self) -> int:
        """Customers the proposal would put at a higher level number."""
        return int(np.count_nonzero(self.proposed.level > self.current.level))

    @property
    def lowered(self) -> int:
        """Customers the proposal would put at a lower level number."""
        return int(np.count_nonzero(self.proposed.level < self.current.level))

    @property
    def unchanged(self) -> int:
        """Customers at the same level number under both ladders."""
        return int(np.count_nonzero(self.proposed.level == self.current.level))

    def table(self) -> str:
        """Customers per level under both ladders, side by side."""
        cur, new = self.current.counts(), self.proposed.counts()
        rows = [("level", "current", "customers", "proposed", "customers")]
        for lv in range(max(len(cur), len(new))):
            rows.append((
                str(lv),
                self.current.ladder.name_of(lv) if lv in cur else "-",
                str(cur[lv]) if lv in cur else "-",
                self.proposed.ladder.name_of(lv) if lv in new else "-",
                str(new[lv]) if lv in new else "-",
            ))
        return _format_table(rows)


def what_if(
    orders: OrderLog,
    current: TierLadder,
    proposed: TierLadder,
    *,
    as_of: dt.datetime,
    opted_in: OptedIn,
    start: dt.datetime | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    policy: DowngradePolicy | None = None,
) -> WhatIf:
    """What a proposed ladder would do to the shop's levels before applying it.

    Evaluates both ladders on the same log at ``as_of`` (and, with ``start``, the flow
    from ``start`` to ``as_of`` under each).

    Raises:
        CurrencyMismatchError: a ladder's currency differs from the log's.
        InvalidValueError: naive datetimes; ``start`` not before ``as_of``.
        InvalidTypeError: ``orders`` is not an OrderLog, a ladder not a TierLadder,
            ``policy`` not a DowngradePolicy.
    """
    _check(orders, current, "current")
    _check(orders, proposed, "proposed")
    kw: dict[str, Any] = {"as_of": as_of, "opted_in": opted_in, "statuses": statuses,
                          "policy": policy}
    cur = current.evaluate_log(orders, **kw)
    new = proposed.evaluate_log(orders, **kw)
    moves = _matrix(cur.level, new.level, current.top_level + 1, proposed.top_level + 1)
    fc = fp = None
    if start is not None:
        fc = tier_flow(orders, current, start=start, as_of=as_of, opted_in=opted_in,
                       statuses=statuses, policy=policy)
        fp = tier_flow(orders, proposed, start=start, as_of=as_of, opted_in=opted_in,
                       statuses=statuses, policy=policy)
    return WhatIf(cur, new, moves, fc, fp)
