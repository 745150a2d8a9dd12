"""An after-sales week of a tea shop: tickets, SLA clocks, complaints and what slow service
costs in repurchase.

Run from the repository root::

    python examples/service_tickets.py            # 400 tickets
    python examples/service_tickets.py 5000

It opens tickets over one week (kinds, priorities, customers' words in Chinese), moves them
through assignment, replies, waiting for the customer and resolution, keeps them in a
SQLite ticket store (in a temporary folder), then prints the SLA status in business hours
(Mon–Fri 09:00–12:00 and 13:00–18:00, Sat 10:00–16:00), the summary, the backlog by age,
complaints by category with the classifier's evidence, the callbacks owed, and the
service-versus-retention table of a year of orders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from ecrm import OrderLog
from ecrm.service import (
    BusinessCalendar,
    SlaPolicy,
    SlaTarget,
    SqliteTicketStore,
    Ticket,
    backlog_by_age,
    callback_tasks,
    classify_complaint,
    complaints_by_period,
    service_retention,
    service_summary,
    sla_status,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
MONDAY = dt.datetime(2026, 11, 30, 8, 0, tzinfo=SH)
WORDS = {
    "complaint": ["物流太慢，五天了还没到", "客服态度很差，半天不理人", "怀疑是假货，不是正品",
                  "少发了一件，缺件", "衣服偏小，尺码不准", "刚买就降价，要求退差价"],
    "quality": ["杯子破损了", "茶叶有异味", "包装开线"],
    "refund": ["退款还没到账", "申请退款三天了"],
    "inquiry": ["什么时候发货", "可以开发票吗"],
    "return": ["七天无理由退货"],
}


def make_tickets(n: int, rng: random.Random) -> list[Ticket]:
    tickets = []
    for i in range(n):
        kind = rng.choice(list(WORDS))
        created = MONDAY + dt.timedelta(minutes=rng.randrange(6 * 24 * 60))
        t = Ticket.open(f"T{i:05d}", kind=kind, customer_id=f"c{rng.randrange(n // 2):05d}",
                        created_at=created, subject=rng.choice(WORDS[kind]),
                        priority=rng.choice(["normal", "normal", "high", "urgent"]))
        at = created + dt.timedelta(minutes=rng.randrange(5, 600))
        t = t.assign(rng.choice(["小王", "小李", "小张"]), at=at, actor="组长")
        if rng.random() < 0.85:
            at += dt.timedelta(minutes=rng.randrange(1, 300))
            t = t.respond("您好，马上为您处理", at=at, actor=t.assignee or "")
        if rng.random() < 0.3:
            at += dt.timedelta(minutes=rng.randrange(1, 120))
            t = t.wait_for_customer(at=at, actor=t.assignee or "")
            if rng.random() < 0.7:
                at += dt.timedelta(hours=rng.randrange(1, 30))
                t = t.customer_replied(at=at)
        if t.state.value == "assigned" and rng.random() < 0.7:
            at += dt.timedelta(hours=rng.uniform(0.5, 60))
            t = t.resolve(at=at, actor=t.assignee or "")
        tickets.append(t)
    return tickets


def year_of_orders(rng: random.Random) -> tuple[list[Ticket], OrderLog]:
    """A year in which customers whose complaint took long came back less often."""
    start = dt.datetime(2025, 1, 1, tzinfo=SH)
    ids, placed, tickets = [], [], []
    for i in range(3000):
        cid = f"y{i:05d}"
        first = start + dt.timedelta(days=rng.uniform(0, 200))
        ids.append(cid)
        placed.append(first)
        ref, p = first, 0.45
        if rng.random() < 0.3:
            ref = first + dt.timedelta(days=rng.uniform(1, 5))
            hours = rng.choice([4, 18, 48, 120])
            p = {4: 0.45, 18: 0.4, 48: 0.3, 120: 0.12}[hours]
            t = Ticket.open(f"Y{i:05d}", kind="complaint", customer_id=cid, created_at=ref)
            t = t.assign("小王", at=ref, actor="组长").resolve(at=ref + hours * H, actor="小王")
            tickets.append(t)
        if rng.random() < p:
            ids.append(cid)
            placed.append(ref + dt.timedelta(days=rng.uniform(1, 85)))
    return tickets, OrderLog.from_arrays(ids, placed, [8_800] * len(ids), tz="Asia/Shanghai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tickets", nargs="?", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(12)

    calendar = BusinessCalendar.weekly_hours(
        "Asia/Shanghai",
        dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-12:00,13:00-18:00")
        | {"sat": "10:00-16:00"})
    policy = SlaPolicy(
        SlaTarget(4 * H, 24 * H),
        targets={("complaint", None): SlaTarget(1 * H, 12 * H),
                 (None, "urgent"): SlaTarget(0.5 * H, 8 * H)},
        calendar=calendar)

    with (tempfile.TemporaryDirectory() as folder,
          SqliteTicketStore(Path(folder) / "tickets.db") as store):
        for t in make_tickets(args.tickets, rng):
            store.add(t)
        tickets = store.tickets()
        print(f"{len(store):,} tickets in {Path(store.path).name}")

    as_of = MONDAY + dt.timedelta(days=6, hours=10)  # Sunday 18:00
    status = sla_status(tickets, policy, as_of=as_of)
    print(status)
    print(service_summary(status))
    print()
    print("backlog by age:")
    backlog = backlog_by_age(tickets, as_of=as_of)
    for row in backlog.to_dicts():
        print(f"  {row['band']:>10}  {row['tickets']:4d} open ({row['waiting']} waiting)")
    print()
    print("complaints by category:")
    for row in complaints_by_period(tickets).to_dicts():
        print(f"  {row['period']}  {row['category']:<22} {row['complaints']:4d}")
    example = classify_complaint("快递太慢，杯子破损，质量太差")
    print(f"  e.g. '快递太慢，杯子破损，质量太差' → {example.category} {example.score:g} "
          f"{example.phrases}; all: {example.scores}")
    print()
    owed = callback_tasks(tickets)
    print(f"{len(owed)} callbacks owed; first: {owed[0].reminder() if owed else '-'}")
    print()
    year_tickets, orders = year_of_orders(rng)
    retention = service_retention(year_tickets, orders,
                                  as_of=dt.datetime(2025, 12, 31, tzinfo=SH))
    print("repurchase within 90 days after the complaint (or first order):")
    for row in retention.to_dicts():
        rate = "-" if row["repurchase_rate"] is None else f"{row['repurchase_rate']:.0%}"
        print(f"  {row['group']:<13} {rate:>4} of {row['customers']:5,}  churned "
              f"{row['churned']:,}")


if __name__ == "__main__":
    main()
