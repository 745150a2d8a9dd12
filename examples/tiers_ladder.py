"""Store VIP ladder walk-through: levels of a whole shop, the rules text, flow and a what-if.

Run from the repository root::

    python examples/tiers_ladder.py

Uses the sample shop 小林茶铺 (``ecrm.datasets.sample_shop``) when it is available, else a
small inline log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from ecrm import Money, OrderLog, Window
from ecrm.tiers import (
    TAOBAO_STORE_VIP,
    Membership,
    monthly_upgrade_rate,
    tier_flow,
    what_if,
)


def load() -> tuple[OrderLog, dt.datetime, Any]:
    """The orders, the evaluation instant and who has joined."""
    try:
        from ecrm.datasets import sample_shop
    except ImportError:
        tz = ZoneInfo("Asia/Shanghai")
        start = dt.datetime(2024, 1, 1, tzinfo=tz)
        ids, placed, amounts = [], [], []
        for c in range(40):
            for k in range(c % 7 + 1):
                ids.append(f"c{c:03d}")
                placed.append(start + dt.timedelta(days=11 * k + 3 * c))
                amounts.append(2_000 + 1_700 * ((c * 7 + k) % 23))
        log = OrderLog.from_arrays(ids, placed, amounts, tz=tz)
        return log, dt.datetime(2025, 1, 1, tzinfo=tz), {f"c{c:03d}" for c in range(0, 40, 3)}
    shop = sample_shop()
    return shop.orders, shop.as_of, shop.customers


def main() -> None:
    ladder = TAOBAO_STORE_VIP
    orders, as_of, members = load()
    print(orders)
    print()
    print(ladder.table())
    print()
    print(ladder.rules_text("zh"))
    print()

    result = ladder.evaluate_log(orders, as_of=as_of, opted_in=members)
    print("members per level:", result.counts())
    print("qualified per level:", result.counts(qualified=True))
    print(f"potential members (qualify, not joined): {result.n_potential}")
    print(result.explain(result.customer_ids[0]))
    print()

    start = as_of - relativedelta(months=6)
    flow = tier_flow(orders, ladder, start=start, as_of=as_of, opted_in=members)
    print(f"flow {start.date()} → {as_of.date()}: {flow.upgraded} up, {flow.downgraded} down")
    print(flow.table())
    print()
    print(monthly_upgrade_rate(orders, ladder, window=Window(start, as_of),
                               opted_in=members).table())
    print()

    proposed = ladder.with_tier(1, min_spend=Money.from_decimal("80")).with_tier(
        2, min_orders=4
    )
    w = what_if(orders, ladder, proposed, as_of=as_of, opted_in=members)
    print("what if level 1 needed ¥80 and level 2 needed 4 orders?")
    print(w.table())
    print(f"{w.raised} customers would move up, {w.lowered} down")
    print()

    m = Membership("demo").join(as_of - relativedelta(months=3), Money(12_000), 1)
    m = m.reevaluate(as_of, Money(65_000), 4)
    for change in m.history:
        print(change.at.date(), change.reason.value, "→ level", change.level)


if __name__ == "__main__":
    main()
