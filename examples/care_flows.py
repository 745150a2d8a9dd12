"""The daily care flows of the sample tea shop (小林茶铺), as a dry run.

Run from the repository root::

    python examples/care_flows.py              # 2,000 customers, November 2025
    python examples/care_flows.py 20000 --days 14

It builds the flow context (SMS signature, customers, item names), shows today's payment
reminders, logistics notices and day-level messages with their keys and texts, then replays
a month through every standard flow and the default send policy and prints the per-day
backtest table: volume, SMS cost, deferrals, skips by rule and collisions. Nothing is sent;
the candidates are enqueued into an in-memory outbox for inspection.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from ecrm import Money, Window
from ecrm.analytics import backtest, standard_flows
from ecrm.datasets import STORE_NAME, sample_shop
from ecrm.lifecycle import cycles_by, repurchase_cycle
from ecrm.touch import (
    InMemoryOptOutRegistry,
    InMemoryOutbox,
    PolicyContext,
    SendPolicy,
    SmsComposer,
)
from ecrm.touch.flows import (
    FlowContext,
    birthday_greetings,
    order_events_from_log,
    payment_reminders,
    returning_customer_offers,
    shipping_notices,
    win_back_offers,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30, help="days to replay before as_of")
    args = parser.parse_args()

    shop = sample_shop(args.customers)
    print(f"{shop.orders!r}\n{shop.customers!r}")
    ctx = FlowContext(SmsComposer(f"【{STORE_NAME}】"), customers=shop.customers,
                      # the sample shop's links: a shop sets its own (there is no default)
                      link="m.tb.cn/xlcp", member_card_link="m.tb.cn/xlcard",
                      item_names={item.sku: item.name for item in shop.catalogue})
    events = order_events_from_log(shop.orders)
    as_of = shop.as_of
    day_before = as_of - dt.timedelta(days=1)
    # the shop's own repurchase cycle says when a customer has churned (past P90)
    store_cycle = repurchase_cycle(shop.orders, as_of=as_of)
    bands = store_cycle.bands if store_cycle.has_bands else (30, 60, 90)

    print("\n== the last day before as_of ==")
    for title, msgs in (
        ("payment reminders", payment_reminders(shop.orders, start=day_before, as_of=as_of,
                                                ctx=ctx)),
        ("shipping notices", shipping_notices(events, start=day_before, as_of=as_of, ctx=ctx)),
        ("birthday greetings", birthday_greetings(start=day_before, as_of=as_of, ctx=ctx)),
        ("returning-customer offers (30 days inactive)", returning_customer_offers(
            shop.orders, start=day_before, as_of=as_of, ctx=ctx)),
        ("win-back offers (just churned)", win_back_offers(
            shop.orders, start=day_before, as_of=as_of, ctx=ctx, cycle=bands)),
    ):
        print(f"{title}: {len(msgs)}")
        for m in msgs[:2]:
            print(f"  {m.key}  due {m.not_before:%m-%d %H:%M}  {m.body}")

    start = (as_of - dt.timedelta(days=args.days)).date()
    cycles = cycles_by(shop.orders, by="sku",
                       as_of=dt.datetime.combine(start, dt.time(0), as_of.tzinfo))
    flows = standard_flows(shop.orders, ctx=ctx, events=events, cycles=cycles,
                           first_order_coupon="NEW5", store_cycle=bands)
    outbox = InMemoryOutbox()
    t = time.perf_counter()
    report = backtest(flows, window=Window.of_dates(start, as_of.date(), as_of.tzinfo),
                      policy=SendPolicy(),
                      context=PolicyContext(opt_outs=InMemoryOptOutRegistry()),
                      customers=shop.customers, price_per_segment=Money(5), outbox=outbox)
    took = time.perf_counter() - t
    print(f"\n== backtest {start} .. {as_of.date()} (SMS at ¥0.05 per segment) ==")
    print(report.table())
    print(f"\n{len(outbox):,} candidates enqueued for inspection; replay took {took:.2f} s")


if __name__ == "__main__":
    main()
