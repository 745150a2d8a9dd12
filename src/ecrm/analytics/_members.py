"""Member metrics per period: tier share, tier flow, contribution and activity per tier, joins
and leaves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._customers import CustomerTable
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, ratios
from ecrm._time import NAT_US, datetime_to_us
from ecrm.analytics._periods import Period, check_periods
from ecrm.analytics._text import format_rows
from ecrm.errors import CurrencyMismatchError, InvalidTypeError
from ecrm.tiers import TAOBAO_STORE_VIP, Membership, TierFlow, TierLadder
from ecrm.tiers._flow import _levels_at
from ecrm.tiers._flow import _matrix as flow_matrix

__all__ = ["MemberMetrics", "MemberPeriod", "member_inputs", "member_metrics", "member_period"]

IntArray = npt.NDArray[np.int64]


def _ratio(num: int, den: int) -> Fraction | None:
    return None if den == 0 else Fraction(num, den)


@attrs.frozen
class MemberPeriod:
    """Member numbers of one period ``[start, end)``; per-level tuples are indexed by level.

    Levels are those at the period's end (opt-in from the customer table or the membership
    records); level 0 holds the store customers who are not members (they had an order
    before the end).

    Attributes:
        period: the period.
        customers_by_level: customers at each level at the end (level 0: non-members).
        sales_by_level_fen: valid net sales in the period by the customers of each level.
        active_by_level: customers of each level with a valid order in the period.
        joins: customers whose ``member_since`` falls in the period (with membership
            records: membership periods that began in it, re-joins included).
        leaves: membership periods that ended in the period (always 0 from a customer
            table, which has no leave dates).
        flow: the level transition matrix from start to end (``ecrm.tiers.tier_flow``).
        members_at_start: customers at level >= 1 at the start (the upgrade-rate base).
        upgraded: of those, how many were at a higher level at the end.
    """

    period: Period
    customers_by_level: tuple[int, ...]
    sales_by_level_fen: tuple[int, ...]
    active_by_level: tuple[int, ...]
    joins: int
    leaves: int
    flow: TierFlow = attrs.field(repr=False)
    members_at_start: int
    upgraded: int

    @property
    def members(self) -> int:
        """Customers at level >= 1 at the end."""
        return sum(self.customers_by_level[1:])

    def tier_share(self, level: int) -> Fraction | None:
        """Members at ``level`` / members (``None`` without members)."""
        return _ratio(self.customers_by_level[level], self.members)

    def sales_share(self, level: int) -> Fraction | None:
        """Sales of ``level`` / all sales in the period (level 0 included)."""
        return _ratio(self.sales_by_level_fen[level], sum(self.sales_by_level_fen))

    def activity(self, level: int) -> Fraction | None:
        """Share of the customers at ``level`` who bought in the period."""
        return _ratio(self.active_by_level[level], self.customers_by_level[level])

    @property
    def upgrade_rate(self) -> Fraction | None:
        """``upgraded / members_at_start``."""
        return _ratio(self.upgraded, self.members_at_start)


@attrs.frozen
class MemberMetrics(ResultFrame):
    """Member metrics of each period.

    Attributes:
        ladder: the ladder evaluated.
        rows: one :class:`MemberPeriod` per period.
        currency: the log's currency.
        leaves_known: whether the data had leave dates: ``True`` for membership records,
            ``False`` for a ``CustomerTable`` (none, so ``leaves`` is 0).
    """

    ladder: TierLadder = attrs.field(repr=False)
    rows: tuple[MemberPeriod, ...]
    currency: str
    leaves_known: bool

    def _columns(self) -> dict[str, Any]:
        """The rows of :meth:`table` (one per period and level), shares as floats."""
        rows = self.table()
        return {
            "period": np.asarray([d["period"] for d in rows], dtype=str),
            "level": np.asarray([d["level"] for d in rows], dtype=np.int64),
            "level_name": np.asarray([d["name"] for d in rows], dtype=str),
            "customers": np.asarray([d["customers"] for d in rows], dtype=np.int64),
            "tier_share": ratios([d["tier_share"] for d in rows]),
            "sales_fen": np.asarray([d["sales_fen"] for d in rows], dtype=np.int64),
            "sales_share": ratios([d["sales_share"] for d in rows]),
            "active": np.asarray([d["active"] for d in rows], dtype=np.int64),
            "activity": ratios([d["activity"] for d in rows]),
        }

    def _name(self, level: int) -> str:
        if level == 0:
            return self.ladder.store_customer_name
        return self.ladder.tiers[level - 1].name

    def table(self) -> list[dict[str, Any]]:
        """One dict per (period, level): ``period``, ``level``, ``name``, ``customers``,
        ``tier_share`` (of members; ``None`` for level 0), ``sales_fen``, ``sales_share``,
        ``active``, ``activity``."""
        out = []
        for r in self.rows:
            for level in range(len(r.customers_by_level)):
                out.append({
                    "period": r.period.label,
                    "level": level,
                    "name": self._name(level),
                    "customers": r.customers_by_level[level],
                    "tier_share": None if level == 0 else r.tier_share(level),
                    "sales_fen": r.sales_by_level_fen[level],
                    "sales_share": r.sales_share(level),
                    "active": r.active_by_level[level],
                    "activity": r.activity(level),
                })
        return out

    def period_table(self) -> list[dict[str, Any]]:
        """One dict per period: ``period``, ``members``, ``joins``, ``leaves``,
        ``members_at_start``, ``upgraded``, ``upgrade_rate``."""
        return [
            {
                "period": r.period.label,
                "members": r.members,
                "joins": r.joins,
                "leaves": r.leaves,
                "members_at_start": r.members_at_start,
                "upgraded": r.upgraded,
                "upgrade_rate": r.upgrade_rate,
            }
            for r in self.rows
        ]

    def format_table(self) -> str:
        """The per-level table as text (shares in %, money in yuan)."""
        rows = [["period", "level", "name", "customers", "share", "sales", "sales share",
                 "active"]]
        for d in self.table():
            rows.append([
                d["period"], str(d["level"]), d["name"], f"{d['customers']:,}",
                _pct(d["tier_share"]), str(Money(d["sales_fen"], self.currency)),
                _pct(d["sales_share"]), _pct(d["activity"]),
            ])
        return format_rows(rows, left=3)


def _pct(value: Fraction | None) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def member_metrics(
    orders: OrderLog,
    customers: CustomerTable | Mapping[Any, Membership],
    periods: Iterable[Period],
    *,
    ladder: TierLadder = TAOBAO_STORE_VIP,
    statuses: Iterable[OrderStatus] | None = None,
) -> MemberMetrics:
    """Tier share, tier flow, contribution and activity per tier, joins and leaves, per period.

    Levels are evaluated with ``ladder.evaluate_log`` at each period's end with opt-in from
    ``customers``; the flow and upgrades come from :func:`ecrm.tiers.tier_flow` over
    ``[start, end)``. Each period costs two vectorised ladder evaluations and one pass over
    the log.

    Args:
        orders: the order log.
        customers: the customer table (opt-in from ``member_since``; joins, no leaves), or
            a mapping of customer id to :class:`~ecrm.tiers.Membership` records (e.g.
            ``replay_memberships(...).memberships``): members at an instant are those
            whose record says so, joins and leaves come from their membership periods.
        periods: the periods, e.g. :func:`ecrm.analytics.periods`.
        ladder: the tier ladder (default ``TAOBAO_STORE_VIP``).
        statuses: which statuses count as valid.

    Raises:
        InvalidTypeError: wrong argument types.
        InvalidValueError: no periods.
        CurrencyMismatchError: the ladder's currency differs from the log's.
    """
    _v.check_instance("orders", orders, OrderLog)
    opted, joined, left = member_inputs(customers)
    _v.check_instance("ladder", ladder, TierLadder)
    if orders.currency != ladder.currency:
        raise CurrencyMismatchError(
            "orders.currency", f"must be the ladder's currency {ladder.currency}", orders.currency
        )
    wanted = check_periods(periods)
    status_list = None if statuses is None else list(statuses)
    valid = orders.valid_mask(status_list)
    codes = np.asarray(orders.customer_codes, dtype=np.int64)
    net = np.asarray(orders.net_fen, dtype=np.int64)
    n = orders.n_customers
    rows = []
    for p in wanted:
        s_us, e_us = datetime_to_us(p.start), datetime_to_us(p.end)
        level_end, known = _levels_at(orders, ladder, p.end, opted, status_list, None, False)
        level_start, _ = _levels_at(orders, ladder, p.start, opted, status_list, None, False)
        rows_in = valid & (orders.placed_at_us >= s_us) & (orders.placed_at_us < e_us)
        sales = np.zeros(n, dtype=np.int64)
        np.add.at(sales, codes[rows_in], net[rows_in])
        bought = np.zeros(n, dtype=bool)
        bought[codes[rows_in]] = True
        rows.append(member_period(p, ladder, orders.customer_ids, level_start, level_end, known,
                                  sales, bought, joined, left))
    return MemberMetrics(ladder, tuple(rows), orders.currency,
                         leaves_known=not isinstance(opted, CustomerTable))


def member_inputs(
    customers: CustomerTable | Mapping[Any, Membership],
) -> tuple[CustomerTable | dict[Any, Membership], IntArray, IntArray]:
    """Check :func:`member_metrics`'s ``customers`` and return who is opted in (the table,
    or the records as a dict) and the int64 µs instants of every join and every leave.

    Raises:
        InvalidTypeError: not a CustomerTable nor a mapping of id to Membership.
    """
    if isinstance(customers, CustomerTable):
        since = customers.member_since_us
        return customers, since[since != NAT_US], np.zeros(0, dtype=np.int64)
    if not isinstance(customers, Mapping):
        raise InvalidTypeError("customers must be a CustomerTable or a mapping of id to "
                               f"Membership, got {type(customers).__name__}")
    records = dict(customers)
    for cid, record in records.items():
        if not isinstance(record, Membership):
            raise InvalidTypeError(f"customers[{cid!r}] must be a Membership, got "
                                   f"{type(record).__name__}")
    spans = [span for r in records.values() for span in r.periods()]
    joined = np.asarray([datetime_to_us(a) for a, _ in spans], dtype=np.int64)
    left = np.asarray([datetime_to_us(b) for _, b in spans if b is not None], dtype=np.int64)
    return records, joined, left


def member_period(
    period: Period,
    ladder: TierLadder,
    customer_ids: npt.NDArray[Any],
    level_start: IntArray,
    level_end: IntArray,
    known: npt.NDArray[np.bool_],
    sales_fen: IntArray,
    bought: npt.NDArray[np.bool_],
    joined_us: IntArray,
    left_us: IntArray,
) -> MemberPeriod:
    """One period's member numbers from per-customer facts (the one kernel of the log path
    and of ``ecrm.scale``'s summaries).

    Args:
        period: the period ``[start, end)``.
        ladder: the ladder.
        customer_ids: shape (n,), every customer.
        level_start, level_end: int64, shape (n,): member level at the start and the end
            (0 unless opted in), as ``ladder.evaluate_log`` gives it.
        known: bool, shape (n,): an order (any status) placed before the end.
        sales_fen: int64, shape (n,): valid net fen in the period.
        bought: bool, shape (n,): a valid order in the period.
        joined_us, left_us: int64 µs of every join and every leave.
    """
    n_levels = ladder.top_level + 1
    s_us, e_us = datetime_to_us(period.start), datetime_to_us(period.end)
    keep = np.flatnonzero(known)
    at_end = level_end[keep]
    counts = np.bincount(at_end, minlength=n_levels)
    sales = np.zeros(n_levels, dtype=np.int64)
    np.add.at(sales, at_end, sales_fen[keep])
    active = np.bincount(at_end[bought[keep]], minlength=n_levels)
    at_start = level_start[keep]
    flow = TierFlow(ladder, period.start, period.end, customer_ids[keep], at_start, at_end,
                    flow_matrix(at_start, at_end, n_levels, n_levels))
    m = flow.matrix
    return MemberPeriod(
        period=period,
        customers_by_level=tuple(int(x) for x in counts),
        sales_by_level_fen=tuple(int(x) for x in sales),
        active_by_level=tuple(int(x) for x in active),
        joins=int(np.count_nonzero((joined_us >= s_us) & (joined_us < e_us))),
        leaves=int(np.count_nonzero((left_us >= s_us) & (left_us < e_us))),
        flow=flow,
        members_at_start=int(m[1:, :].sum()),
        upgraded=int(np.triu(m, 1)[1:, :].sum()),
    )
