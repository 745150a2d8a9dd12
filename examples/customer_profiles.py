"""客户画像: one profile per customer of the sample tea shop, every part joined.

Run from the repository root::

    python examples/customer_profiles.py          # 2,000 customer profiles
    python examples/customer_profiles.py 50000    # a bigger shop

It scores RFM, the lifecycle stage and the store VIP tier, recommends each customer's top
3 (association rules, then the popularity fill), sends the playbook's related-product
offers through an outbox (the recipients of the SENT messages are the touches), records two
opt-outs and a few service tickets, predicts churn and CLV (given BG/NBD and Gamma-Gamma
parameters) when scipy is installed, and
joins it all into ``ecrm.profile.profiles``: one row per customer, explained in words.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import time

from ecrm.datasets import sample_shop
from ecrm.lifecycle import repurchase_cycle, stages
from ecrm.profile import profiles
from ecrm.recommend import associations, recommend
from ecrm.rfm import score
from ecrm.service import Ticket
from ecrm.tiers import TAOBAO_STORE_VIP
from ecrm.touch import ChannelKind, InMemoryOptOutRegistry, InMemoryOutbox, OutboxState, SmsComposer
from ecrm.touch.flows import FlowContext, related_product_offers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("customers", nargs="?", type=int, default=2_000)
    a = p.parse_args()
    shop = sample_shop(a.customers)
    orders, customers, as_of = shop.orders, shop.customers, shop.as_of
    print(shop)

    rfm = score(orders, as_of=as_of, warn_undersized=False)
    cycle = repurchase_cycle(orders, as_of=as_of, min_repurchasers=10)
    lifecycle = stages(orders, as_of=as_of, cycle=cycle)
    tiers = TAOBAO_STORE_VIP.evaluate_log(orders, as_of=as_of, opted_in=customers)
    rules = associations(orders, as_of=as_of, basis="days", within_days=30, min_count=3)
    recs = recommend(orders, rules, as_of=as_of, k=3, fill=True)

    # Touches: the related-product offers of the day, sent through an outbox.
    ctx = FlowContext(SmsComposer(f"【{shop.store_name}】"), customers=customers,
                      link="https://s.cn/tea")
    offers = related_product_offers(recs, lifecycle, start=as_of - dt.timedelta(days=1),
                                    as_of=as_of, ctx=ctx)
    outbox = InMemoryOutbox()
    outbox.enqueue_many(offers)
    for entry in outbox.claim(as_of=as_of, lease=dt.timedelta(minutes=5), limit=len(offers)):
        outbox.mark_sent(entry, at=as_of, provider_id=None)
    touches = [e.message.recipient.customer_id for e in outbox.entries(OutboxState.SENT)]
    # Opt-outs: two customers replied T; the registry is keyed by phone.
    registry = InMemoryOptOutRegistry()
    phones = dict(zip(customers.customer_ids.tolist(), customers.phones.tolist(), strict=True))
    for cid in touches[:2]:
        registry.opt_out(phones[cid], ChannelKind.SMS, at=as_of)
    opted_out = [c for c, ph in phones.items() if ph and registry.is_opted_out(ph, ChannelKind.SMS)]
    tickets = [Ticket.open(f"T{i}", kind=kind, customer_id=str(cid),
                           created_at=as_of - dt.timedelta(days=2))
               for i, (cid, kind) in enumerate(zip(touches[:3], ("complaint", "return", "inquiry"),
                                                   strict=False))]
    predictions = None
    if importlib.util.find_spec("scipy") is not None:
        from ecrm.predict import SpendModel, TransactionModel, predict, summaries

        # Given parameters (as from an earlier fit on the shop's history; see docs/predict.md).
        s = summaries(orders, as_of=as_of, calibration_start=as_of - dt.timedelta(days=800))
        predictions = predict(TransactionModel("bgnbd", (0.5, 30.0, 0.6, 2.0)), s,
                              spend=SpendModel("gammagamma", (6.0, 4.0, 15_000.0)))

    t0 = time.perf_counter()
    table = profiles(orders, as_of=as_of, customers=customers, events=shop.events, rfm=rfm,
                     stages=lifecycle, recommendations=recs, tiers=tiers, touches=touches,
                     opted_out=opted_out, predictions=predictions, tickets=tickets)
    print(f"\n{table}  ({time.perf_counter() - t0:.2f}s)")
    print(f"{len(offers):,} related-product offers sent; parts joined: {sorted(table.parts)}")
    who = touches[0] if touches else table.customer_ids[0]
    print(f"\n{table.explain(who)}")
    row = next(r for r in table.to_dicts() if r["customer_id"] == who)
    print("\nThe same customer as a row:")
    for key in ("rfm_grade", "stage", "level_name", "spend_to_next_fen", "recommended",
                "touches", "opted_out", "p_alive", "clv_fen", "open_tickets"):
        print(f"  {key:<18} {row[key]}")


if __name__ == "__main__":
    main()
