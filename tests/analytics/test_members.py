"""Member metrics against per-customer scalar evaluation and ecrm.tiers' monthly upgrade rate."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from analytics_helpers import is_valid, net

from ecrm import InvalidTypeError, InvalidValueError, Money, Window
from ecrm._time import NAT_US
from ecrm.analytics import member_metrics, periods
from ecrm.datasets import sample_shop
from ecrm.tiers import TAOBAO_STORE_VIP, monthly_upgrade_rate

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return sample_shop(300, seed=2)


def test_levels_sales_activity_joins_match_plain_python(shop) -> None:  # type: ignore[no-untyped-def]
    ps = periods(Window.of_dates(dt.date(2025, 8, 1), dt.date(2025, 12, 1), TZ), tz=TZ)
    m = member_metrics(shop.orders, shop.customers, ps)
    orders = list(shop.orders)
    since = {int(c): int(s) for c, s in zip(shop.customers.customer_ids,
                                            shop.customers.member_since_us, strict=True)}
    for p, row in zip(ps, m.rows, strict=True):
        e_us = int(p.end.timestamp() * 1_000_000)
        spend: dict[int, int] = defaultdict(int)
        count: dict[int, int] = defaultdict(int)
        known = set()
        for o in orders:
            if o.placed_at < p.end:
                known.add(o.customer_id)
                if is_valid(o):
                    spend[o.customer_id] += net(o)
                    count[o.customer_id] += 1
        level = {}
        for c in known:
            # Half-open: a member at the end joined strictly before it.
            joined = since.get(c, NAT_US) != NAT_US and since[c] < e_us
            level[c] = TAOBAO_STORE_VIP.evaluate(Money(spend[c]), count[c], opted_in=joined).level
        counts = [sum(1 for v in level.values() if v == lv) for lv in range(5)]
        sales = [0] * 5
        active: list[set[int]] = [set() for _ in range(5)]
        for o in orders:
            if is_valid(o) and p.start <= o.placed_at < p.end:
                sales[level[o.customer_id]] += net(o)
                active[level[o.customer_id]].add(o.customer_id)
        assert list(row.customers_by_level) == counts
        assert list(row.sales_by_level_fen) == sales
        assert list(row.active_by_level) == [len(a) for a in active]
        s_us = int(p.start.timestamp() * 1_000_000)
        assert row.joins == sum(1 for v in since.values() if v != NAT_US and s_us <= v < e_us)
        assert row.leaves == 0
    assert m.leaves_known is False
    assert sum(r.joins for r in m.rows) > 0


def test_upgrades_agree_with_monthly_upgrade_rate(shop) -> None:  # type: ignore[no-untyped-def]
    ps = periods(Window.of_dates(dt.date(2025, 3, 1), dt.date(2025, 12, 1), TZ), tz=TZ)
    m = member_metrics(shop.orders, shop.customers, ps)
    rate = monthly_upgrade_rate(shop.orders, TAOBAO_STORE_VIP, opted_in=shop.customers,
                                months=[p.start for p in ps])
    assert [r.members_at_start for r in m.rows] == rate.members.tolist()
    assert [r.upgraded for r in m.rows] == rate.upgraded.tolist()
    assert sum(r.upgraded for r in m.rows) > 0


def test_shares_and_tables(shop) -> None:  # type: ignore[no-untyped-def]
    ps = periods(Window.of_dates(dt.date(2025, 10, 1), dt.date(2025, 12, 1), TZ), "quarter", tz=TZ)
    m = member_metrics(shop.orders, shop.customers, ps)
    r = m.rows[0]
    assert r.members == sum(r.customers_by_level[1:])
    assert sum(r.tier_share(lv) or 0 for lv in range(1, 5)) == 1
    assert sum(r.sales_share(lv) or 0 for lv in range(5)) == 1
    assert r.activity(4) == Fraction(r.active_by_level[4], r.customers_by_level[4])
    rows = m.table()
    assert [d["level"] for d in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["name"] == "店铺客户"
    assert rows[0]["tier_share"] is None
    assert rows[4]["name"] == "至尊VIP"
    assert m.period_table()[0]["period"] == "2025Q4"
    text = m.format_table()
    assert text.splitlines()[0].split()[:3] == ["period", "level", "name"]
    assert len(text.splitlines()) == 6
    assert r.flow.n_customers == int(r.flow.matrix.sum())


def test_bad_arguments(shop) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match="at least one period"):
        member_metrics(shop.orders, shop.customers, [])
    with pytest.raises(InvalidTypeError):
        member_metrics(shop.orders, "customers", [])  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        member_metrics(shop.orders, shop.customers, ["2025-01"])  # type: ignore[list-item]


def test_membership_records_give_joins_and_leaves() -> None:
    """Hand-worked: four customers with ¥150 each by 10 September (level 1 qualifies).
    a joined in September and spends ¥500 more on 5 November (¥650 → level 3); b joined
    5 October and left 10 November; c joined 20 October, left 25 October, re-joined
    3 November; d never joined."""
    from ecrm import OrderLog
    from ecrm.tiers import Membership

    def at(m: int, d: int) -> dt.datetime:
        return dt.datetime(2025, m, d, 12, tzinfo=TZ)

    log = OrderLog.from_arrays(["a", "a", "b", "c", "d"],
                               [at(9, 10), at(11, 5), at(9, 10), at(9, 10), at(9, 10)],
                               [15_000, 50_000, 15_000, 15_000, 15_000], tz=TZ)
    spend = Money(15_000)
    records = {
        "a": Membership("a").join(at(9, 15), spend, 1),
        "b": Membership("b").join(at(10, 5), spend, 1).leave(at(11, 10)),
        "c": Membership("c").join(at(10, 20), spend, 1).leave(at(10, 25)).join(
            at(11, 3), spend, 1),
        "d": Membership("d"),
    }
    oct_, nov = periods(Window.of_dates(dt.date(2025, 10, 1), dt.date(2025, 12, 1), TZ), tz=TZ)
    m = member_metrics(log, records, [oct_, nov])
    assert m.leaves_known is True
    first, second = m.rows
    assert (first.joins, first.leaves) == (2, 1)    # b, c joined; c left
    assert first.customers_by_level == (2, 2, 0, 0, 0)   # a, b members; c, d not
    assert (second.joins, second.leaves) == (1, 1)  # c re-joined; b left
    assert second.customers_by_level == (2, 1, 0, 1, 0)  # a at 3, c at 1; b, d not
    assert second.members_at_start == 2  # a and b on 1 November
    assert second.upgraded == 1          # a: 1 → 3 (b left: a downgrade to 0)
    assert second.flow.matrix.tolist() == [[1, 1, 0, 0, 0],   # d stays, c re-joins
                                           [1, 0, 0, 1, 0],   # b leaves, a upgrades
                                           [0] * 5, [0] * 5, [0] * 5]
    assert m.period_table()[1]["leaves"] == 1
    table = member_metrics(log, {}, [nov])  # no records: nobody is a member
    assert table.rows[0].customers_by_level == (4, 0, 0, 0, 0)
    assert table.leaves_known is True
    with pytest.raises(InvalidTypeError, match=r"customers\['a'\] must be a Membership"):
        member_metrics(log, {"a": "gold"}, [nov])  # type: ignore[dict-item]


def test_a_join_at_midnight_feb_1_is_a_february_member_and_join() -> None:
    """One half-open rule for period edges: a join or leave at exactly 00:00 on the 1st
    belongs to the month that starts there, for member counts, joins, leaves and flow."""
    from ecrm import Customer, CustomerTable, OrderLog
    from ecrm.tiers import Membership

    midnight_feb = dt.datetime(2025, 2, 1, tzinfo=TZ)
    midnight_mar = dt.datetime(2025, 3, 1, tzinfo=TZ)
    log = OrderLog.from_arrays(["e", "x"], [dt.datetime(2025, 1, 10, 12, tzinfo=TZ)] * 2,
                               [15_000, 15_000], tz=TZ)  # ¥150 each: level 1 qualifies
    jan, feb, mar = periods(Window.of_dates(dt.date(2025, 1, 1), dt.date(2025, 4, 1), TZ), tz=TZ)
    table = CustomerTable.from_customers(
        [Customer("e", member_since=midnight_feb), Customer("x")]
    )
    m = member_metrics(log, table, [jan, feb])
    assert (m.rows[0].joins, m.rows[0].customers_by_level) == (0, (2, 0, 0, 0, 0))
    assert (m.rows[1].joins, m.rows[1].customers_by_level) == (1, (1, 1, 0, 0, 0))
    assert m.rows[1].members_at_start == 0  # not a member on 1 February's start state
    records = {
        "e": Membership("e").join(midnight_feb, Money(15_000), 1).leave(midnight_mar),
        "x": Membership("x"),
    }
    r = member_metrics(log, records, [jan, feb, mar])
    assert [(row.joins, row.leaves) for row in r.rows] == [(0, 0), (1, 0), (0, 1)]
    assert [row.customers_by_level[1] for row in r.rows] == [0, 1, 0]
    assert r.rows[1].flow.matrix.tolist()[0][1] == 1  # e: 0 → 1 in February
    assert r.rows[2].flow.matrix.tolist()[1][0] == 1  # e: 1 → 0 in March
