"""Satisfaction surveys 24 h after shipping, complaint callback reminders, and the scores.

Run from the repository root::

    python examples/service_surveys.py          # 200 orders
    python examples/service_surveys.py 2000

A tea shop ships orders over three days. The survey flow puts a CSAT survey for each
order, due 24 h after it shipped, into a SQLite outbox (in a temporary folder); a
dispatcher sends them through a recording channel hour by hour with the default send
policy, so surveys due at night wait for 08:00. A few customers opted out by replying
"TD" and get none. Customers answer ("5", "非常满意", "一般", "T"…); each reply is
stored once against its order in a SQLite score store that shares the file with the
ticket store (one reply is delivered twice by the gateway and counted once). Complaints
remind their operator of the 48 h callback. Last, the service-section figures of the
report (``service_overview``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from ecrm import Customer
from ecrm._customers import CustomerTable
from ecrm.service import (
    BusinessCalendar,
    SlaPolicy,
    SlaTarget,
    SqliteScoreStore,
    SqliteTicketStore,
    Ticket,
    csat,
    service_overview,
)
from ecrm.touch import (
    Dispatcher,
    ManualClock,
    Recipient,
    RecordingChannel,
    SendPolicy,
    SmsComposer,
    SqliteOptOutRegistry,
    SqliteOutbox,
    handle_reply,
)
from ecrm.touch.flows import (
    FlowContext,
    OrderEvent,
    OrderEvents,
    callback_reminders,
    record_survey_reply,
    satisfaction_surveys,
    service_guard,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
START = dt.datetime(2026, 12, 1, 0, 0, tzinfo=SH)
ANSWERS = ["5", "非常满意", "满意", "4分", "一般", "不满意", "很差", "T", "谢谢"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(3)
    n_customers = max(args.orders // 2, 1)
    customers = CustomerTable.from_customers(
        Customer(f"c{i:04d}", name=f"客户{i}", phone=f"138{i:08d}") for i in range(n_customers))
    ctx = FlowContext(SmsComposer("【小林茶铺】"), customers)
    events = OrderEvents.from_events(
        OrderEvent(f"A{i:05d}", f"c{rng.randrange(n_customers):04d}", "shipped",
                   START + dt.timedelta(minutes=rng.randrange(3 * 24 * 60)))
        for i in range(args.orders))

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "service.db"
        # NORMAL: a WAL commit without an fsync each time (a demo need not survive power loss)
        with (SqliteOutbox(Path(folder) / "outbox.db", synchronous="NORMAL") as outbox,
              SqliteOptOutRegistry(Path(folder) / "optout.db") as opt_outs,
              SqliteScoreStore(db, synchronous="NORMAL") as scores,
              SqliteTicketStore(db) as tickets):
            for i in range(0, n_customers, 10):  # every tenth customer opted out
                handle_reply(f"138{i:08d}", "TD", at=START, registry=opt_outs)
            clock = ManualClock(START)
            channel = RecordingChannel()
            dispatcher = Dispatcher(outbox, channel, clock=clock, policy=SendPolicy(),
                                    guard=service_guard(opt_outs=opt_outs))
            since = START
            for hour in range(1, 6 * 24):  # run the flow and the dispatcher every hour
                now = START + hour * H
                clock.set(now)
                outbox.enqueue_many(satisfaction_surveys(events, start=since, as_of=now,
                                                         ctx=ctx, opt_outs=opt_outs))
                dispatcher.run_once()
                since = now
            night = sum(1 for m in channel.sent
                        if m.not_before is not None and not 8 <= m.not_before.hour < 21)
            print(f"{len(channel.sent):,} surveys sent for {args.orders:,} orders "
                  f"({night} were due at night and waited for 08:00); "
                  f"{len(opt_outs)} numbers opted out got none")
            print(f"  e.g. {channel.sent[0].body}")

            outcomes: dict[str, int] = {}
            for survey in channel.sent:
                text = rng.choice(ANSWERS)
                at = (survey.not_before or START) + dt.timedelta(minutes=rng.randrange(5, 600))
                for _ in range(2 if rng.random() < 0.1 else 1):  # the gateway retries
                    got = record_survey_reply(scores, survey, text, replied_at=at,
                                              reply_id=f"sms-{survey.key}")
                    key = "no score" if got is None else got.value
                    outcomes[key] = outcomes.get(key, 0) + 1
            stored = scores.scores()
            share = csat(stored)
            print(f"replies: {outcomes}; {len(stored):,} scores stored, CSAT "
                  f"{'-' if share is None else f'{share:.0%}'}")

            complaint = Ticket.open("T-1", kind="complaint", customer_id="c0001",
                                    created_at=START + 30 * H, order_id="A00001",
                                    subject="茶叶有异味，包装破损").assign(
                "小王", at=START + 30 * H, actor="组长")
            tickets.add(complaint)
            tickets.update("T-1", lambda t: t.respond("抱歉，马上为您补发", at=START + 31 * H,
                                                      actor="小王"))
            [reminder] = callback_reminders(
                tickets.tickets(), start=START, as_of=START + 31 * H, ctx=ctx,
                operators={"小王": Recipient("op-xiaowang", phone="13900000001")})
            print(f"callback reminder to {reminder.recipient.customer_id}: {reminder.body}")

            calendar = BusinessCalendar.uniform("Asia/Shanghai", "09:00-18:00")
            overview = service_overview(tickets.tickets(),
                                        SlaPolicy(SlaTarget(2 * H, 24 * H), calendar=calendar),
                                        as_of=START + 6 * 24 * H, scores=stored)
            print(overview)
            for row in overview.to_dicts():
                if row["section"] in ("complaints", "satisfaction"):
                    print(f"  {row['section']:<12} {row['figure']:<10} {row['group']:<10} "
                          f"{'-' if row['value'] is None else format(row['value'], '.3f')} "
                          f"(n={row['count']})")


if __name__ == "__main__":
    main()
