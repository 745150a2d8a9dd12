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
from ecrm.errors import InvalidTypeError
from ecrm.tiers import TAOBAO_STORE_VIP, Membership, TierFlow, TierLadder, tier_flow

__all__ = ["MemberMetrics", "MemberPeriod", "member_metrics"]

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
    records = None
    if isinstance(customers, Mapping):
        records = dict(customers)
        for cid, record in records.items():
            if not isinstance(record, Membership):
                raise InvalidTypeError(f"customers[{cid!r}] must be a Membership, got "
                                       f"{type(record).__name__}")
    elif not isinstance(customers, CustomerTable):
        raise InvalidTypeError("customers must be a CustomerTable or a mapping of id to "
                               f"Membership, got {type(customers).__name__}")
    _v.check_instance("ladder", ladder, TierLadder)
    wanted = check_periods(periods)
    status_list = None if statuses is None else list(statuses)
    valid = orders.valid_mask(status_list)
    codes = np.asarray(orders.customer_codes, dtype=np.int64)
    net = np.asarray(orders.net_fen, dtype=np.int64)
    n_levels = ladder.top_level + 1
    if isinstance(customers, CustomerTable):
        since = customers.member_since_us
        joined = since[since != NAT_US]
        left = np.zeros(0, dtype=np.int64)
    else:
        assert records is not None  # a Mapping, checked above
        spans = [span for r in records.values() for span in r.periods()]
        joined = np.asarray([datetime_to_us(a) for a, _ in spans], dtype=np.int64)
        left = np.asarray([datetime_to_us(b) for _, b in spans if b is not None],
                          dtype=np.int64)
    opted: Any = customers if records is None else records
    rows = []
    for p in wanted:
        s_us, e_us = datetime_to_us(p.start), datetime_to_us(p.end)
        result = ladder.evaluate_log(orders, as_of=p.end, opted_in=opted,
                                     statuses=status_list)
        # evaluate_log covers the customers with an order before the end, in log order.
        level = np.zeros(orders.n_customers, dtype=np.int64)
        level[np.searchsorted(orders.customer_ids, result.customer_ids)] = result.level
        known = np.zeros(orders.n_customers, dtype=bool)
        known[np.searchsorted(orders.customer_ids, result.customer_ids)] = True
        counts = np.bincount(level[known], minlength=n_levels)
        rows_in = valid & (orders.placed_at_us >= s_us) & (orders.placed_at_us < e_us)
        row_level = level[codes[rows_in]]
        sales = np.zeros(n_levels, dtype=np.int64)
        np.add.at(sales, row_level, net[rows_in])
        bought = np.zeros(orders.n_customers, dtype=bool)
        bought[codes[rows_in]] = True
        active = np.bincount(level[bought & known], minlength=n_levels)
        flow = tier_flow(orders, ladder, start=p.start, as_of=p.end, opted_in=opted,
                         statuses=status_list)
        m = flow.matrix
        rows.append(MemberPeriod(
            period=p,
            customers_by_level=tuple(int(x) for x in counts),
            sales_by_level_fen=tuple(int(x) for x in sales),
            active_by_level=tuple(int(x) for x in active),
            joins=int(np.count_nonzero((joined >= s_us) & (joined < e_us))),
            leaves=int(np.count_nonzero((left >= s_us) & (left < e_us))),
            flow=flow,
            members_at_start=int(m[1:, :].sum()),
            upgraded=int(np.triu(m, 1)[1:, :].sum()),
        ))
    return MemberMetrics(ladder, tuple(rows), orders.currency, leaves_known=records is not None)
