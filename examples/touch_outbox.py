"""Touch walk-through: compose SMS, decide with the policy, send through a durable outbox.

Run from the repository root::

    python examples/touch_outbox.py [directory]

A simulated day at a tea shop (clock in Asia/Shanghai): a shipping notice, a payment
reminder, a 12.12 marketing push to three customers (one opted out by replying "TD", one
not a member), and a gateway that fails once with a timeout. The dispatcher runs every
30 minutes of simulated time; every send goes to a JSON-lines dry-run file next to the
outbox (phone numbers masked). Without a directory everything lives in a temporary one.
Running twice on the same directory shows idempotency: nothing is enqueued or sent again.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from ecrm import Money
from ecrm.touch import (
    ChannelKind,
    Dispatcher,
    Failed,
    JsonLinesChannel,
    ManualClock,
    Message,
    MessageClass,
    PolicyContext,
    Receipt,
    Recipient,
    SendPolicy,
    SmsComposer,
    SqliteOptOutRegistry,
    SqliteOutbox,
    Template,
    handle_reply,
)

SH = ZoneInfo("Asia/Shanghai")
COMPOSER = SmsComposer(signature="【小林茶铺】")
SHIPPED = Template("{customer_name}您好，您的订单{order_id}已由{carrier}发出，运单号{tracking_number}")
REMINDER = Template("{customer_name}您好，您的订单{order_id}还未付款，库存有限哦")
PUSH = Template("双12全场8折，领券{coupon}再减10元")


class FlakyGateway:
    """Fails the first attempt of each message with a timeout, then writes the dry run."""

    def __init__(self, inner: JsonLinesChannel) -> None:
        self.inner = inner
        self.seen: set[str] = set()

    def send(self, message: Message) -> Receipt:
        if message.key not in self.seen:
            self.seen.add(message.key)
            return Failed("gateway timed out", transient=True)
        return self.inner.send(message)


def sms(key: str, mtype: str, cls: MessageClass, who: Recipient, template: Template,
        values: dict[str, object], at: dt.datetime, dedupe: str | None = None) -> Message:
    text = COMPOSER.render(template, values, cls).text
    return Message(key, mtype, cls, ChannelKind.SMS, who, text, created_at=at, dedupe_key=dedupe)


def main(workdir: Path) -> None:
    start = dt.datetime(2026, 12, 12, 7, 0, tzinfo=SH)
    alice = Recipient("c1", phone="13800000001", tz="Asia/Shanghai")
    bob = Recipient("c2", phone="13800000002")  # no zone: the store's is used
    carol = Recipient("c3", phone="13800000003", tz="America/Los_Angeles")
    outbox = SqliteOutbox(workdir / "outbox.sqlite")
    optouts = SqliteOptOutRegistry(workdir / "optouts.sqlite")
    print(handle_reply("138 0000 0002", "TD", at=start, registry=optouts))

    candidates = [
        sms("care:shipped:order-1", "shipped", MessageClass.CARE, alice, SHIPPED,
            {"customer_name": "小林", "order_id": "order-1", "carrier": "顺丰",
             "tracking_number": "SF100"}, start, "order-1"),
        sms("care:payment_reminder:order-2", "payment_reminder", MessageClass.TRANSACTIONAL,
            bob, REMINDER, {"customer_name": "老王", "order_id": "order-2"}, start, "order-2"),
    ] + [
        sms(f"mkt:1212:{who.customer_id}", "broadcast", MessageClass.MARKETING, who, PUSH,
            {"coupon": "TEA10"}, start)
        for who in (alice, bob, carol)
    ]
    new = outbox.enqueue_many(candidates)
    print(f"enqueued {new} new of {len(candidates)} candidates")
    forecast = COMPOSER.forecast(
        [COMPOSER.compose(m.body, m.message_class) for m in candidates],
        Money.from_decimal("0.05"),
    )
    print(f"cost forecast: {forecast.segments} segments, {forecast.cost}")

    clock = ManualClock(start)
    channel = FlakyGateway(JsonLinesChannel(workdir / "sent.jsonl"))
    context = PolicyContext(opt_outs=optouts.snapshot(), members={"c1", "c2"})
    dispatcher = Dispatcher(outbox, channel, clock=clock, policy=SendPolicy(), context=context)
    for _ in range(8):
        report = dispatcher.run_once()
        if report.claimed:
            print(f"{clock.now().astimezone(SH):%H:%M}  {report}")
        clock.advance(dt.timedelta(minutes=30))
    for entry in outbox.entries():
        print(f"{entry.key:32} {entry.state.name:8} attempts={entry.attempts} "
              f"{entry.last_error or ''}")
    outbox.close()
    optouts.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        directory = Path(sys.argv[1])
        directory.mkdir(parents=True, exist_ok=True)
        main(directory)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
