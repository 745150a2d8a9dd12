"""Care flows against hand-worked examples, and their properties."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import (
    Customer,
    Event,
    EventKind,
    EventLog,
    InvalidValueError,
    Money,
    Order,
    OrderItem,
    OrderLog,
    OrderStatus,
    Window,
)
from ecrm._customers import CustomerTable
from ecrm._time import datetime_to_us
from ecrm.lifecycle import DEFAULT_PLAYBOOK, Bands, Playbook, cycles_by
from ecrm.tiers import Coupon, CouponCatalog, CouponScope, IssuedCoupon
from ecrm.touch import (
    Accepted,
    ChannelKind,
    CouponGrantChannel,
    Defer,
    InMemoryOutbox,
    ManualClock,
    Message,
    MessageClass,
    PolicyContext,
    RecordingChannel,
    SendPolicy,
    Skip,
    SmsComposer,
    Template,
)
from ecrm.touch import Dispatcher as _Dispatcher
from ecrm.touch.flows import (
    CouponGrants,
    FlowContext,
    Holiday,
    OrderEvent,
    OrderEventKind,
    OrderEvents,
    birthday_greetings,
    broadcast,
    cart_abandoners,
    coupon_care,
    coupon_expiry_reminders,
    coupon_grant_guard,
    delivery_notices,
    double_twelve_audience,
    double_twelve_push,
    gift_pack_notices,
    high_potential_returners,
    holiday_greetings,
    new_arrivals,
    order_events_from_log,
    order_guard,
    payment_reminders,
    receipt_confirmations,
    refund_notices,
    refund_request_care,
    repurchase_reminders,
    returning_customer_offers,
    sale_window,
    satisfaction_follow_ups,
    shipping_notices,
    still_due,
    usage_tutorials,
    why_not_due,
    win_back_offers,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 6, 1, 10, 0, tzinfo=SH)
MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)
COMPOSER = SmsComposer("【小林茶铺】")


def customers(*extra: Customer) -> CustomerTable:
    base = [
        Customer("c1", name="小林", phone="13800000001"),
        Customer("c2", name="小王", phone="13800000002",
                 member_since=dt.datetime(2025, 1, 1, tzinfo=SH)),
        Customer("c3", phone="13800000003", birthday="02-29"),
        Customer("c4", name="无号"),  # no phone: no SMS
    ]
    return CustomerTable.from_customers([*base, *extra])


LINKS = {"link": "m.tb.cn/xlcp", "member_card_link": "m.tb.cn/xlcard"}
CTX = FlowContext(COMPOSER, customers=customers(), **LINKS)


def order(oid: str, cid: str, placed: dt.datetime, *, status: OrderStatus = OrderStatus.UNPAID,
          paid: dt.datetime | None = None, channel: str | None = None,
          fen: int = 10_000) -> Order:
    return Order(oid, cid, placed, Money(fen), status=status, paid_at=paid, channel=channel)


# -- payment reminders ----------------------------------------------------------------
def reminders(log: OrderLog, as_of: dt.datetime, **kw: object) -> list[str]:
    msgs = payment_reminders(log, start=as_of - dt.timedelta(hours=2), as_of=as_of, ctx=CTX,
                             **kw)  # type: ignore[arg-type]
    return [m.key for m in msgs]


def test_payment_reminder_boundary_29_59_vs_30_00() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    assert reminders(log, T0 + 30 * MIN - SEC) == []
    assert reminders(log, T0 + 30 * MIN) == ["care:payment_reminder:order-A1"]


def test_payment_reminder_message_is_transactional_due_at_the_reminder_time() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    (m,) = payment_reminders(log, start=T0, as_of=T0 + dt.timedelta(hours=1), ctx=CTX)
    assert m.message_class is MessageClass.TRANSACTIONAL
    assert m.not_before == T0 + 30 * MIN
    assert m.dedupe_key == "order-A1"
    assert m.meta("order_id") == "A1"
    assert m.body == "【小林茶铺】小林，您的订单A1还未付款，库存有限，请尽快支付哦"
    assert m.recipient.phone == "13800000001"


def test_flash_sale_orders_are_reminded_at_25_minutes() -> None:
    log = OrderLog.from_orders([order("F1", "c1", T0, channel="flash_sale"),
                                order("N1", "c2", T0, channel="taobao")])
    assert reminders(log, T0 + 25 * MIN - SEC) == []
    assert reminders(log, T0 + 25 * MIN) == ["care:payment_reminder:order-F1"]
    (m,) = payment_reminders(log, start=T0, as_of=T0 + 25 * MIN, ctx=CTX)
    assert m.meta("expires_at") == (T0 + 30 * MIN).isoformat()


def test_flash_sale_by_mask_and_shorter_general_delay_wins() -> None:
    log = OrderLog.from_orders([order("F1", "c1", T0)])
    keys = reminders(log, T0 + 25 * MIN, flash_sale=np.array([True]))
    assert keys == ["care:payment_reminder:order-F1"]
    # a general delay of 15 min is shorter than the flash-sale delay: 15 min for both
    assert reminders(log, T0 + 15 * MIN, delay=15 * MIN, flash_sale=np.array([True])) == keys


def test_paid_at_29_minutes_gets_no_reminder() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0, status=OrderStatus.PAID,
                                      paid=T0 + 29 * MIN)])
    assert reminders(log, T0 + 30 * MIN) == []


def test_paid_after_the_evaluation_moment_was_unpaid_then() -> None:
    # a replayed log knows the order was paid at 45 min: at 30 min it was still unpaid
    log = OrderLog.from_orders([order("A1", "c1", T0, status=OrderStatus.PAID,
                                      paid=T0 + 45 * MIN)])
    assert reminders(log, T0 + 30 * MIN) == ["care:payment_reminder:order-A1"]
    assert reminders(log, T0 + 50 * MIN) == []  # paid by then: late evaluation sends none


def test_closed_orders_get_no_reminder() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0, status=OrderStatus.CLOSED)])
    assert reminders(log, T0 + 30 * MIN) == []


def test_customer_without_phone_gets_no_sms() -> None:
    log = OrderLog.from_orders([order("A1", "c4", T0)])
    assert reminders(log, T0 + 30 * MIN) == []


@pytest.mark.parametrize("minutes", [9, 2881, 0, -30])
def test_delay_outside_10_to_2880_minutes_is_an_error(minutes: int) -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    with pytest.raises(ValueError, match="delay must be between 10 and 2880 minutes"):
        payment_reminders(log, start=T0, as_of=T0, ctx=CTX, delay=minutes * MIN)


@pytest.mark.parametrize("minutes", [10, 2880])
def test_delay_bounds_are_allowed(minutes: int) -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    at = T0 + minutes * MIN
    keys = [m.key for m in payment_reminders(log, start=at - MIN, as_of=at, ctx=CTX,
                                             delay=minutes * MIN)]
    assert keys == ["care:payment_reminder:order-A1"]


def test_flash_sale_delay_over_25_minutes_is_an_error() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    with pytest.raises(ValueError, match="flash_sale_delay must be between 10 and 25"):
        payment_reminders(log, start=T0, as_of=T0, ctx=CTX, flash_sale_delay=26 * MIN)


def test_start_after_as_of_is_an_error() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    with pytest.raises(ValueError, match="start must not be after as_of"):
        payment_reminders(log, start=T0 + MIN, as_of=T0, ctx=CTX)


def test_consecutive_windows_partition_the_reminders() -> None:
    orders = [order(f"A{i}", "c1", T0 + i * 7 * MIN) for i in range(20)]
    log = OrderLog.from_orders(orders)
    end = T0 + dt.timedelta(hours=4)
    whole = [m.key for m in payment_reminders(log, start=T0, as_of=end, ctx=CTX)]
    cuts = [T0 + k * 13 * MIN for k in range(19)] + [end]
    parts = [m.key for a, b in itertools.pairwise(cuts)
             for m in payment_reminders(log, start=a, as_of=b, ctx=CTX)]
    assert parts == whole
    assert len(whole) == 20


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.sampled_from(list(OrderStatus)),
                          st.one_of(st.none(), st.integers(0, 300))), min_size=1, max_size=12),
       st.integers(0, 400))
def test_no_reminder_for_an_order_paid_or_closed_before_the_reminder_time(
    rows: list[tuple[int, OrderStatus, int | None]], as_of_min: int
) -> None:
    orders = []
    for i, (placed, status, paid) in enumerate(rows):
        paid_at = None if paid is None or status is OrderStatus.UNPAID else T0 + (
            placed + paid) * MIN
        orders.append(order(f"A{i}", "c1", T0 + placed * MIN, status=status, paid=paid_at))
    log = OrderLog.from_orders(orders)
    as_of = T0 + as_of_min * MIN
    msgs = payment_reminders(log, start=T0 - dt.timedelta(days=1), as_of=as_of, ctx=CTX)
    by_id = {o.order_id: o for o in orders}
    for m in msgs:
        o = by_id[m.meta("order_id") or ""]
        remind_at = o.placed_at + 30 * MIN
        assert m.not_before == remind_at <= as_of
        assert o.status is not OrderStatus.CLOSED
        assert o.paid_at is None or o.paid_at > as_of  # never paid before the evaluation
    # and every order unpaid at as_of with its reminder time passed got exactly one
    expected = sorted(
        o.order_id for o in orders
        if o.placed_at + 30 * MIN <= as_of and o.status is not OrderStatus.CLOSED
        and ((o.paid_at is None and o.status is OrderStatus.UNPAID)
             or (o.paid_at is not None and o.paid_at > as_of))
    )
    assert sorted(m.meta("order_id") or "" for m in msgs) == expected


def test_dispatch_time_guard_skips_an_order_paid_after_enqueue() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0), order("A2", "c2", T0)])
    msgs = payment_reminders(log, start=T0, as_of=T0 + 30 * MIN, ctx=CTX)
    outbox = InMemoryOutbox()
    outbox.enqueue_many(msgs)
    status = {"A1": OrderStatus.PAID, "A2": OrderStatus.UNPAID}  # A1 paid meanwhile
    channel = RecordingChannel()
    clock = ManualClock(T0 + 31 * MIN)
    report = _Dispatcher(outbox, channel, clock=clock, guard=order_guard(status.get)).run_once()
    assert (report.claimed, report.sent, report.skipped) == (2, 1, 1)
    assert [m.meta("order_id") for m in channel.sent] == ["A2"]


def test_guard_drops_an_expired_flash_sale_reminder() -> None:
    log = OrderLog.from_orders([order("F1", "c1", T0, channel="flash_sale")])
    (m,) = payment_reminders(log, start=T0, as_of=T0 + 25 * MIN, ctx=CTX)
    guard = order_guard(lambda oid: OrderStatus.UNPAID)
    assert guard(m, T0 + 29 * MIN) is None
    assert guard(m, T0 + 30 * MIN) == f"expired at {(T0 + 30 * MIN).isoformat()}"


# -- logistics --------------------------------------------------------------------------
def ev(oid: str, cid: str, kind: OrderEventKind, at: dt.datetime, **kw: object) -> OrderEvent:
    return OrderEvent(oid, cid, kind, at, **kw)  # type: ignore[arg-type]


EVENTS = OrderEvents.from_events([
    ev("A1", "c1", OrderEventKind.SHIPPED, T0, tracking_number="SF1", carrier="顺丰"),
    ev("A2", "c2", OrderEventKind.SHIPPED, T0 + MIN, warehouses=2),
    ev("A3", "c1", OrderEventKind.MULTI_WAREHOUSE_SHIPPED, T0 + 2 * MIN, warehouses=3),
    ev("A1", "c1", OrderEventKind.DELIVERED, T0 + dt.timedelta(days=2)),
    ev("A1", "c1", OrderEventKind.RECEIPT_CONFIRMED, T0 + dt.timedelta(days=3)),
    ev("A2", "c2", OrderEventKind.RECEIPT_CONFIRMED, T0 + dt.timedelta(days=3)),
    ev("A3", "c1", OrderEventKind.RETURN_RECEIVED, T0 + dt.timedelta(days=4)),
    ev("A3", "c1", OrderEventKind.REFUNDED, T0 + dt.timedelta(days=5), amount=Money(1250)),
])
WEEK = (T0 - MIN, T0 + dt.timedelta(days=7))


def test_shipping_notices_single_and_multi_warehouse() -> None:
    msgs = shipping_notices(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)
    assert [m.key for m in msgs] == ["care:shipped:order-A1",
                                     "care:multi_warehouse_shipped:order-A2",
                                     "care:multi_warehouse_shipped:order-A3"]
    assert msgs[0].body == "【小林茶铺】小林，您的订单A1已发货，顺丰单号SF1"
    assert msgs[2].body == "【小林茶铺】小林，您的订单A3分3个包裹从不同仓库发出，请分别查收"
    assert all(m.message_class is MessageClass.TRANSACTIONAL for m in msgs)


def test_delivery_receipt_and_refund_notices() -> None:
    (d,) = delivery_notices(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)
    assert d.key == "care:delivered:order-A1"
    rc = receipt_confirmations(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)
    by_order = {m.meta("order_id"): m for m in rc}
    # c1 is not a member: invited to claim the card; c2 joined in January: plain thanks
    assert "领取会员卡" in by_order["A1"].body
    assert "m.tb.cn/xlcard" in by_order["A1"].body
    assert "领取会员卡" not in by_order["A2"].body
    assert {m.message_class for m in rc} == {MessageClass.CARE}
    rf = refund_notices(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)
    assert [m.key for m in rf] == ["care:return_received:order-A3", "care:refunded:order-A3"]
    assert "¥12.50" in rf[1].body


def test_event_window_is_half_open_at_since() -> None:
    assert shipping_notices(EVENTS, start=T0, as_of=T0, ctx=CTX) == []
    assert [m.key for m in shipping_notices(EVENTS, start=T0 - SEC, as_of=T0, ctx=CTX)] == [
        "care:shipped:order-A1"]


def test_keys_are_stable_across_runs() -> None:
    a = [m.key for m in shipping_notices(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)]
    b = [m.key for m in shipping_notices(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=CTX)]
    assert a == b


def test_order_event_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        OrderEvent("A1", "c1", "teleported", T0)
    with pytest.raises(ValueError, match="warehouses must be >= 1"):
        OrderEvent("A1", "c1", "shipped", T0, warehouses=0)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        OrderEvent("A1", "c1", "shipped", dt.datetime(2025, 1, 1))


# -- first purchase ---------------------------------------------------------------------
def first_purchase_log() -> tuple[OrderLog, OrderEvents]:
    item = OrderItem("TEA-LJ", Money(10_000), 1)
    log = OrderLog.from_orders([
        Order("B1", "c1", T0, Money(10_000), status=OrderStatus.COMPLETED, paid_at=T0,
              items=(item,)),
        Order("B2", "c1", T0 + dt.timedelta(days=10), Money(10_000),
              status=OrderStatus.SHIPPED, paid_at=T0 + dt.timedelta(days=10), items=(item,)),
    ])
    events = OrderEvents.from_events([
        ev("B1", "c1", OrderEventKind.SHIPPED, T0 + dt.timedelta(days=1)),
        ev("B2", "c1", OrderEventKind.SHIPPED, T0 + dt.timedelta(days=11)),
    ])
    return log, events


def test_usage_tutorial_and_coupon_only_for_the_first_order() -> None:
    log, events = first_purchase_log()
    ctx = FlowContext(COMPOSER, **LINKS, customers=customers(), item_names={"TEA-LJ": "西湖龙井"})
    msgs = usage_tutorials(log, events, start=T0, as_of=T0 + dt.timedelta(days=30), ctx=ctx,
                           coupon="NEW5")
    assert [(m.key, m.channel) for m in msgs] == [
        ("care:usage_tutorial:order-B1", ChannelKind.SMS),
        ("care:first_order_coupon:order-B1", ChannelKind.COUPON),
    ]
    assert "西湖龙井" in msgs[0].body
    assert msgs[1].meta("coupon") == "NEW5"


def test_satisfaction_follow_up_three_days_after_shipping() -> None:
    log, events = first_purchase_log()
    shipped = T0 + dt.timedelta(days=1)
    due = shipped + dt.timedelta(days=3)
    assert satisfaction_follow_ups(log, events, start=shipped, as_of=due - SEC, ctx=CTX) == []
    (m,) = satisfaction_follow_ups(log, events, start=shipped, as_of=due, ctx=CTX)
    assert m.key == "care:satisfaction_follow_up:order-B1"
    assert m.not_before == due


# -- greetings ---------------------------------------------------------------------------
def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), SH)
    return start, start + dt.timedelta(days=1)


@pytest.mark.parametrize(("day", "greeted"), [
    (dt.date(2025, 2, 28), True), (dt.date(2025, 3, 1), False),
    (dt.date(2024, 2, 29), True), (dt.date(2024, 2, 28), False),
])
def test_feb_29_birthday(day: dt.date, greeted: bool) -> None:
    since, as_of = day_window(day)
    msgs = birthday_greetings(start=since, as_of=as_of, ctx=CTX)
    assert [m.key for m in msgs] == ([f"care:birthday:customer-c3:{day.year}"] if greeted
                                     else [])
    if greeted:
        assert msgs[0].not_before == dt.datetime.combine(day, dt.time(10), SH)
        assert msgs[0].body == "【小林茶铺】亲，小林茶铺祝您生日快乐！"


def test_holiday_greetings_configurable_list() -> None:
    since, as_of = day_window(dt.date(2025, 10, 1))
    msgs = holiday_greetings(start=since, as_of=as_of, ctx=CTX)
    assert [m.key for m in msgs] == ["mkt:holiday:customer-c1:2025-10-01",
                                     "mkt:holiday:customer-c2:2025-10-01",
                                     "mkt:holiday:customer-c3:2025-10-01"]
    assert msgs[0].body.endswith("祝您国庆节快乐！回T退订")
    mid = holiday_greetings(start=since, as_of=as_of, ctx=CTX, audience=["c2"],
                            holidays=[Holiday(10, 1, "中秋", 2025)])
    assert [m.key for m in mid] == ["mkt:holiday:customer-c2:2025-10-01"]
    assert holiday_greetings(start=since, as_of=as_of, ctx=CTX,
                             holidays=[Holiday(10, 1, "中秋", 2026)]) == []
    with pytest.raises(ValueError, match="holiday must be a real date"):
        Holiday(2, 30, "x")


# -- win-back, gift pack, coupons -------------------------------------------------------
def test_returning_customer_offer_fires_once_on_day_30() -> None:
    """衰退期: "对30天未消费客户发送『老客专属折扣』" — the playbook's returning_discount rule."""
    log = OrderLog.from_orders([order("W1", "c1", T0, status=OrderStatus.COMPLETED, paid=T0)])
    d30 = T0.date() + dt.timedelta(days=30)
    for day, n in ((d30 - dt.timedelta(days=1), 0), (d30, 1), (d30 + dt.timedelta(days=1), 0)):
        since, as_of = day_window(day)
        assert len(returning_customer_offers(log, start=since, as_of=as_of, ctx=CTX)) == n
    (m,) = returning_customer_offers(log, start=day_window(d30)[0], as_of=day_window(d30)[1],
                                     ctx=CTX)
    assert m.key == "mkt:returning_offer:customer-c1:2025-06-01"
    assert m.message_class is MessageClass.MARKETING
    assert m.body == "【小林茶铺】小林，小林茶铺老客专属：老客专属折扣，点击m.tb.cn/xlcp选购回T退订"
    assert "好久不见" not in m.body  # kept for after churn
    assert m.not_before == dt.datetime(2025, 7, 1, 10, 0, tzinfo=SH)
    assert m.meta("expires_at") == "2025-07-02T00:00:00+08:00"


def test_win_back_fires_once_on_the_churn_day_and_expires_30_days_later() -> None:
    """"流失客户专属召回活动(如『好久不见』满100返50) 流失后30天内": with P90 = 40 days a
    customer churns on day 41 after the last purchase; the offer expires 30 days after."""
    log = OrderLog.from_orders([order("W1", "c1", T0, status=OrderStatus.COMPLETED, paid=T0)])
    churn_day = T0.date() + dt.timedelta(days=41)
    for day, n in ((churn_day - dt.timedelta(days=1), 0), (churn_day, 1),
                   (churn_day + dt.timedelta(days=1), 0), (T0.date() + dt.timedelta(days=30), 0)):
        since, as_of = day_window(day)
        assert len(win_back_offers(log, start=since, as_of=as_of, ctx=CTX,
                                   cycle=(10, 20, 40))) == n, day
    (m,) = win_back_offers(log, start=day_window(churn_day)[0], as_of=day_window(churn_day)[1],
                           ctx=CTX, cycle=Bands(10, 20, 40))
    assert m.key == "mkt:win_back:customer-c1:2025-06-01"
    assert m.body == "【小林茶铺】小林，好久不见！回店享满100返50：m.tb.cn/xlcp回T退订"
    assert churn_day == dt.date(2025, 7, 12)
    assert m.meta("expires_at") == "2025-08-11T00:00:00+08:00"  # churn day + 30 days


def test_win_back_follows_the_playbook() -> None:
    log = OrderLog.from_orders([order("W1", "c1", T0, status=OrderStatus.COMPLETED, paid=T0)])
    later = Playbook([attrs.evolve(DEFAULT_PLAYBOOK["win_back"], offset_days=5,
                                   offer="满200返80")])
    day = T0.date() + dt.timedelta(days=41 + 5)
    (m,) = win_back_offers(log, start=day_window(day)[0], as_of=day_window(day)[1], ctx=CTX,
                           cycle=(10, 20, 40), playbook=later)
    assert "满200返80" in m.body
    with pytest.raises(ValueError, match="playbook has no 'win_back' rule"):
        win_back_offers(log, start=T0, as_of=T0, ctx=CTX, cycle=(10, 20, 40),
                        playbook=Playbook([DEFAULT_PLAYBOOK["churn_warning"]]))
    with pytest.raises(ValueError, match="trigger must be LAST_PURCHASE"):
        returning_customer_offers(log, start=T0, as_of=T0, ctx=CTX, playbook=Playbook(
            [attrs.evolve(DEFAULT_PLAYBOOK["win_back"], key="returning_discount")]))


# -- refund-request care (退货关怀) -----------------------------------------------------------
SOURCE_REFUND_REQUEST = "已经收到您的退款申请啦！请您尽快退回宝贝并上传单号，款项才会尽快回到钱包哦~"


def test_refund_request_care_asks_to_send_the_goods_back() -> None:
    events = OrderEvents.from_events([
        ev("R1", "c1", OrderEventKind.SHIPPED, T0),
        ev("R1", "c1", OrderEventKind.REFUND_REQUESTED, T0 + dt.timedelta(days=2)),
        # refunded before it shipped: nothing to send back, no message
        ev("R2", "c2", OrderEventKind.REFUND_REQUESTED, T0 + dt.timedelta(days=2)),
        # shipped only after the request (the feed's order): not asked either
        ev("R3", "c3", OrderEventKind.REFUND_REQUESTED, T0 + dt.timedelta(days=2)),
        ev("R3", "c3", OrderEventKind.SHIPPED, T0 + dt.timedelta(days=3)),
    ])
    (m,) = refund_request_care(events, start=T0, as_of=T0 + dt.timedelta(days=4), ctx=CTX)
    assert m.key == "care:refund_requested:order-R1"
    assert m.message_class is MessageClass.CARE
    assert m.dedupe_key == "order-R1"
    assert m.not_before == T0 + dt.timedelta(days=2)
    assert SOURCE_REFUND_REQUEST in m.body
    assert m.body == ("【小林茶铺】小林，" + SOURCE_REFUND_REQUEST + "感谢您给予小林茶铺的配合")
    # not due outside its window; no link needed
    assert refund_request_care(events, start=T0 + dt.timedelta(days=2), as_of=T0 +
                               dt.timedelta(days=4), ctx=CTX) == []
    no_links = FlowContext(COMPOSER, customers=customers())
    assert len(refund_request_care(events, start=T0, as_of=T0 + dt.timedelta(days=4),
                                   ctx=no_links)) == 1


def test_simulated_events_request_the_refund_of_refunded_orders() -> None:
    log = OrderLog.from_orders([
        Order("S1", "c1", T0, Money(5000), status=OrderStatus.REFUNDED, paid_at=T0,
              refunded=Money(5000)),
        Order("S2", "c2", T0, Money(5000), status=OrderStatus.COMPLETED, paid_at=T0),
    ])
    events = order_events_from_log(log)
    rows = events.between(T0, T0 + dt.timedelta(days=30), (OrderEventKind.REFUND_REQUESTED,))
    assert events.order_ids[rows].tolist() == ["S1"]
    assert events.at_us[rows].tolist() == [datetime_to_us(T0 + dt.timedelta(days=7))]
    (m,) = refund_request_care(events, start=T0, as_of=T0 + dt.timedelta(days=8), ctx=CTX)
    assert m.key == "care:refund_requested:order-S1"


# -- FlowContext has no default link ---------------------------------------------------------
def test_a_flow_that_needs_a_link_refuses_to_run_without_one() -> None:
    bare = FlowContext(COMPOSER, customers=customers())
    assert bare.link is None
    assert bare.member_card_link is None
    log = OrderLog.from_orders([order("W1", "c1", T0, status=OrderStatus.COMPLETED, paid=T0)])
    since, as_of = day_window(T0.date() + dt.timedelta(days=30))
    with pytest.raises(InvalidValueError, match=r"ctx\.link must be set: the returning_offer "
                       r"template uses \{link\} and FlowContext has no default link"):
        returning_customer_offers(log, start=since, as_of=as_of, ctx=bare)
    # even on a run where nothing is due: a misconfigured flow fails at once
    with pytest.raises(InvalidValueError, match=r"ctx\.link"):
        returning_customer_offers(log, start=T0, as_of=T0, ctx=bare)
    with pytest.raises(InvalidValueError, match=r"ctx\.member_card_link"):
        receipt_confirmations(EVENTS, start=T0, as_of=T0, ctx=bare)
    with pytest.raises(InvalidValueError, match=r"ctx\.link"):
        broadcast(["c1"], campaign_id="x", window=Window(T0, T0 + dt.timedelta(hours=1)), ctx=bare)
    # flows whose texts carry no link run as before
    assert shipping_notices(EVENTS, start=T0 - dt.timedelta(days=1),
                            as_of=T0 + dt.timedelta(days=9), ctx=bare)
    with pytest.raises(InvalidValueError, match="link must be a link without spaces"):
        FlowContext(COMPOSER, link="m.tb.cn/ xl")


# -- coupon care (优惠券关怀) -------------------------------------------------------------
def _catalog() -> CouponCatalog:
    return CouponCatalog([
        Coupon("C20", face_value=Money(2000), threshold=Money(20000), valid_days=7),
        Coupon("P5", face_value=Money(500), valid_days=7, scope=CouponScope.PLATFORM),
        Coupon("OLD", face_value=Money(500), valid_from=dt.datetime(2025, 1, 1, tzinfo=SH),
               valid_until=dt.datetime(2025, 2, 1, tzinfo=SH)),
    ])


def test_coupon_care_grants_each_customer_the_coupon_then_tells_them() -> None:
    window = Window(dt.datetime(2025, 6, 10, 10, tzinfo=SH), dt.datetime(2025, 6, 10, 20, tzinfo=SH))
    msgs = coupon_care(["c2", "c1", "c1"], campaign_id="618-care", window=window, ctx=CTX,
                       coupon_id="C20", catalog=_catalog())
    grants = [m for m in msgs if m.channel is ChannelKind.COUPON]
    notices = [m for m in msgs if m.channel is ChannelKind.SMS]
    assert [m.key for m in grants] == ["mkt:coupon_grant:618-care:customer-c1",
                                       "mkt:coupon_grant:618-care:customer-c2"]
    assert [m.key for m in notices] == ["mkt:coupon_care:618-care:customer-c1",
                                        "mkt:coupon_care:618-care:customer-c2"]
    g = grants[0]
    assert g.meta("coupon") == "C20"
    assert g.meta("valid_from") == "2025-06-10T10:00:00+08:00"
    assert g.meta("valid_until") == "2025-06-17T10:00:00+08:00"  # valid_days=7 from the grant
    assert g.meta("expires_at") == "2025-06-10T20:00:00+08:00"
    assert g.not_before == window.start
    n = notices[0]
    assert n.not_before == window.start + dt.timedelta(minutes=10)
    assert n.meta("grant_key") == g.key
    assert n.body == ("【小林茶铺】小林，小林茶铺送您一张满200减20优惠券，6月17日前有效，"
                      "点击m.tb.cn/xlcp使用回T退订")
    # the grant goes through the CouponGrantChannel (it failed before: no coupon metadata)
    granted: list[tuple[str | int, str]] = []

    def grant(customer_id: str | int, coupon: str, message: Message) -> str:
        granted.append((customer_id, coupon))
        return f"g-{len(granted)}"

    channel = CouponGrantChannel(grant)
    assert [channel.send(m) for m in grants] == [Accepted("g-1"), Accepted("g-2")]
    assert granted == [("c1", "C20"), ("c2", "C20")]


@pytest.mark.parametrize(("coupon_id", "match"), [
    ("NOPE", "coupon_id is not in the catalogue"),
    ("P5", "must name a store coupon"),
    ("OLD", "is no longer valid at the window start"),
])
def test_coupon_care_respects_the_catalogue(coupon_id: str, match: str) -> None:
    window = Window(dt.datetime(2025, 6, 10, 10, tzinfo=SH), dt.datetime(2025, 6, 10, 20, tzinfo=SH))
    with pytest.raises(InvalidValueError, match=match):
        coupon_care(["c1"], campaign_id="x", window=window, ctx=CTX, coupon_id=coupon_id,
                    catalog=_catalog())


def test_coupon_care_refuses_bad_settings() -> None:
    window = Window(dt.datetime(2025, 6, 10, 10, tzinfo=SH), dt.datetime(2025, 6, 10, 20, tzinfo=SH))
    with pytest.raises(InvalidValueError, match="notice_after must be >= 0 and inside the window"):
        coupon_care(["c1"], campaign_id="x", window=window, ctx=CTX, coupon_id="C20",
                    catalog=_catalog(), notice_after=dt.timedelta(hours=10))
    coupon_ctx = attrs.evolve(CTX, channel=ChannelKind.COUPON)
    with pytest.raises(InvalidValueError, match=r"ctx\.channel must be the notice's channel"):
        coupon_care(["c1"], campaign_id="x", window=window, ctx=coupon_ctx, coupon_id="C20",
                    catalog=_catalog())
    # a plain broadcast on the coupon channel carries no coupon: refused with the way out
    with pytest.raises(InvalidValueError, match="use coupon_care to grant coupons"):
        broadcast(["c1"], campaign_id="x", window=window, ctx=coupon_ctx)


# -- payment reminders and the policy's night (DESIGN 3.6a) -----------------------------------
def test_payment_reminders_carry_the_orders_auto_close() -> None:
    log = OrderLog.from_orders([
        order("N1", "c1", T0),
        order("F1", "c2", T0, channel="flash_sale"),
    ])
    msgs = {m.meta("order_id"): m for m in payment_reminders(
        log, start=T0, as_of=T0 + dt.timedelta(hours=1), ctx=CTX)}
    assert msgs["N1"].meta("expires_at") == (T0 + dt.timedelta(hours=72)).isoformat()
    assert msgs["F1"].meta("expires_at") == (T0 + dt.timedelta(minutes=30)).isoformat()
    assert msgs["N1"].meta("expiry") == "order auto-close"
    with pytest.raises(InvalidValueError, match="closes_after must be longer than delay"):
        payment_reminders(log, start=T0, as_of=T0, ctx=CTX, closes_after=dt.timedelta(minutes=20))


def test_a_night_order_is_reminded_at_08_00_and_a_night_flash_sale_never() -> None:
    night = dt.datetime(2025, 6, 1, 23, 0, tzinfo=SH)
    log = OrderLog.from_orders([order("N1", "c1", night), order("F1", "c2", night,
                                                                channel="flash_sale")])
    msgs = payment_reminders(log, start=night, as_of=night + dt.timedelta(hours=1), ctx=CTX)
    policy = SendPolicy()
    got = {m.meta("order_id"): policy.decide(m, as_of=m.not_before or m.created_at,
                                             context=PolicyContext()) for m in msgs}
    assert isinstance(got["N1"], Defer)
    assert got["N1"].until == dt.datetime(2025, 6, 2, 8, 0, tzinfo=SH)
    assert isinstance(got["F1"], Skip)
    assert "order auto-close" in got["F1"].reason


def test_gift_pack_notice_within_the_claim_period() -> None:
    joined = dt.datetime(2025, 1, 1, tzinfo=SH)
    ctx = CTX
    (m,) = gift_pack_notices(start=joined, as_of=joined + 10 * MIN, ctx=ctx)
    assert m.key == "care:gift_pack:customer-c2"
    assert m.meta("expires_at") == (joined + dt.timedelta(hours=24)).isoformat()
    assert gift_pack_notices(start=joined, as_of=joined + 10 * MIN - SEC, ctx=ctx) == []
    with pytest.raises(ValueError, match="after must be >= 0 and inside the claim period"):
        gift_pack_notices(start=joined, as_of=joined, ctx=ctx, after=dt.timedelta(hours=24))


def test_coupon_expiry_groups_per_customer_and_day() -> None:
    until = dt.datetime(2025, 6, 10, tzinfo=SH)
    grants = CouponGrants.from_arrays(
        ["c1", "c1", "c1", "c2", "c2"], ["K1", "K2", "K3", "K1", "K2"],
        [until, until + dt.timedelta(hours=5), until + dt.timedelta(hours=6), until, until],
        used=[False, False, False, True, False],
    )
    msgs = coupon_expiry_reminders(grants, start=until - dt.timedelta(days=4),
                                   as_of=until - dt.timedelta(days=2), ctx=CTX)
    assert [(m.key, m.meta("count")) for m in msgs] == [
        ("mkt:coupon_expiry:customer-c1:2025-06-07", "3"),
        ("mkt:coupon_expiry:customer-c2:2025-06-07", "1"),
    ]
    assert "3张优惠券将于6月10日到期" in msgs[0].body


# -- broadcasts --------------------------------------------------------------------------
def test_broadcast_in_a_window_with_expiry() -> None:
    start = dt.datetime(2025, 12, 12, 18, tzinfo=SH)
    msgs = broadcast(["c2", "c1", "c2"], campaign_id="1212", window=Window(start, start.replace(
        hour=20)), ctx=CTX)
    assert [m.key for m in msgs] == ["mkt:broadcast:1212:customer-c1",
                                     "mkt:broadcast:1212:customer-c2"]
    assert msgs[0].not_before == start
    assert msgs[0].meta("expires_at") == start.replace(hour=20).isoformat()
    with pytest.raises(ValueError, match="end must be after start"):
        broadcast(["c1"], campaign_id="x", window=Window(start, start), ctx=CTX)


def test_a_window_tuple_is_a_deprecated_alias_of_a_window() -> None:
    start = dt.datetime(2025, 12, 12, 18, tzinfo=SH)
    end = start.replace(hour=20)
    with pytest.warns(DeprecationWarning, match=r"a \(start, end\) tuple as window="):
        old = broadcast(["c1"], campaign_id="1212", window=(start, end), ctx=CTX)
    assert old == broadcast(["c1"], campaign_id="1212", window=Window(start, end), ctx=CTX)
    with pytest.warns(DeprecationWarning, match="tuple as window="):
        arrivals = new_arrivals(["c1"], campaign_id="n", item_name="茶", window=(start, end),
                                ctx=CTX)
    assert arrivals[0].not_before == start
    with (pytest.warns(DeprecationWarning, match="tuple as window="),
          pytest.raises(ValueError, match="window must end after it starts")):
        broadcast(["c1"], campaign_id="x", window=(start, start), ctx=CTX)


def test_618_carters_who_bought_are_excluded() -> None:
    june = sale_window(2025, 6, 1, 19)
    assert june == Window(dt.datetime(2025, 6, 1, tzinfo=SH), dt.datetime(2025, 6, 19, tzinfo=SH))
    start, end = june  # a Window unpacks as the (start, end) tuple it replaced
    events = EventLog.from_events([
        *[Event(c, start + dt.timedelta(days=2), EventKind.CART) for c in ("c1", "c2", "c3")],
        Event("c4", end, EventKind.CART),  # after the sale
        Event("c5", start + dt.timedelta(days=3), EventKind.BROWSE),
    ])
    log = OrderLog.from_orders([
        order("S1", "c1", start + dt.timedelta(days=5), status=OrderStatus.PAID,
              paid=start + dt.timedelta(days=5)),
        order("S2", "c2", start + dt.timedelta(days=5), status=OrderStatus.CLOSED),  # not valid
        order("S3", "c3", end, status=OrderStatus.PAID, paid=end),  # after the window
    ])
    assert cart_abandoners(events, log, window=june).tolist() == ["c2", "c3"]
    with pytest.warns(DeprecationWarning, match=r"cart_abandoners\(\): the keywords start="):
        assert cart_abandoners(events, log, start=start, end=end).tolist() == ["c2", "c3"]
    with pytest.warns(DeprecationWarning, match="indexing a Window is deprecated"):
        assert june[0] == start


def test_simulated_events_from_a_log() -> None:
    log, _ = first_purchase_log()
    events = order_events_from_log(log)
    kinds = [(e.order_id, e.kind) for e in (events.event_at(i) for i in range(len(events)))]
    assert ("B1", OrderEventKind.RECEIPT_CONFIRMED) in kinds
    assert ("B2", OrderEventKind.SHIPPED) in kinds
    assert ("B2", OrderEventKind.DELIVERED) not in kinds  # B2 is only shipped
    rows = events.between(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=60))
    assert sorted(rows.tolist()) == list(range(len(events)))
    assert np.all(np.diff(events.at_us[rows]) >= 0)  # in time order


def test_flows_without_a_customer_table_address_in_app_only() -> None:
    ctx = FlowContext(COMPOSER, **LINKS, channel=ChannelKind.IN_APP,
                      templates={"shipped": Template("订单{order_id}已发货")})
    msgs = shipping_notices(EVENTS, start=WEEK[0], as_of=T0, ctx=ctx)
    assert [(m.address, m.body) for m in msgs] == [("c1", "订单A1已发货")]
    assert shipping_notices(EVENTS, start=WEEK[0], as_of=T0,
                            ctx=FlowContext(COMPOSER, **LINKS)) == []  # SMS without phones


# -- repurchase, audiences, guards -------------------------------------------------------
def test_repurchase_reminder_at_the_item_cycle() -> None:
    tea = OrderItem("TEA-LJ", Money(16_800), 1)
    may1 = dt.datetime(2025, 5, 1, 12, tzinfo=SH)
    orders = [Order(f"R{i}{k}", f"r{i}", may1 + dt.timedelta(days=10 * k), Money(16_800),
                    status=OrderStatus.COMPLETED, paid_at=may1, items=(tea,))
              for i in range(3) for k in range(2)]
    orders.append(Order("C1", "c1", dt.datetime(2025, 6, 1, 12, tzinfo=SH), Money(16_800),
                        status=OrderStatus.COMPLETED, paid_at=may1, items=(tea,)))
    log = OrderLog.from_orders(orders)
    cycles = cycles_by(log, by="sku", as_of=dt.datetime(2025, 6, 2, tzinfo=SH),
                       min_repurchasers=1)
    ctx = FlowContext(COMPOSER, **LINKS, channel=ChannelKind.IN_APP, item_names={"TEA-LJ": "西湖龙井"})
    # every repurchaser came back after 10 days: P50 = 10; c1 bought June 1 → due June 11
    june11 = day_window(dt.date(2025, 6, 11))
    (m,) = repurchase_reminders(log, cycles, start=june11[0], as_of=june11[1], ctx=ctx)
    assert m.key == "mkt:repurchase:customer-c1:TEA-LJ:2025-06-11"
    assert m.message_class is MessageClass.MARKETING
    assert "西湖龙井" in m.body
    assert m.not_before == dt.datetime(2025, 6, 11, 10, tzinfo=SH)
    may21 = day_window(dt.date(2025, 5, 21))
    keys = [m.key for m in repurchase_reminders(log, cycles, start=may21[0], as_of=may21[1],
                                                ctx=ctx)]
    assert keys == [f"mkt:repurchase:customer-r{i}:TEA-LJ:2025-05-21" for i in range(3)]


def test_high_potential_returners_by_hand() -> None:
    as_of = dt.datetime(2025, 12, 1, tzinfo=SH)
    recent = as_of - dt.timedelta(days=5)
    old = as_of - dt.timedelta(days=300)
    log = OrderLog.from_orders([
        # h1: F=2 (2), R within a month (5), M ¥2,400 (5): 5 + 6 + 20 = 31 → in
        order("1", "h1", recent, status=OrderStatus.PAID, paid=recent, fen=120_000),
        order("2", "h1", recent, status=OrderStatus.PAID, paid=recent, fen=120_000),
        # h2: one order only: not returning
        order("3", "h2", recent, status=OrderStatus.PAID, paid=recent, fen=500_000),
        # h3: F=2, R 10 months (1), M ¥20 (1): 1 + 6 + 4 = 11 → out
        order("4", "h3", old, status=OrderStatus.PAID, paid=old, fen=1_000),
        order("5", "h3", old, status=OrderStatus.PAID, paid=old, fen=1_000),
        # h4: F=3 (3), R (5), M ¥60 (1): 5 + 9 + 4 = 18 → in
        *[order(f"6{i}", "h4", recent, status=OrderStatus.PAID, paid=recent, fen=2_000)
          for i in range(3)],
    ])
    assert high_potential_returners(log, as_of=as_of).tolist() == ["h1", "h4"]
    assert high_potential_returners(log, as_of=as_of, min_total=19).tolist() == ["h1"]


def test_why_not_due_paths() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    (m,) = payment_reminders(log, start=T0, as_of=T0 + 30 * MIN, ctx=CTX)
    now = T0 + 31 * MIN
    assert why_not_due(m, as_of=now) == "order A1 state unknown"
    assert why_not_due(m, as_of=now, status=OrderStatus.CLOSED) == "order A1 is closed now"
    assert still_due(m, as_of=now, status=OrderStatus.UNPAID)
    (b,) = birthday_greetings(start=day_window(dt.date(2025, 2, 28))[0],
                              as_of=day_window(dt.date(2025, 2, 28))[1], ctx=CTX)
    assert still_due(b, as_of=now)  # no order, no expiry: always still due


def test_new_arrivals_and_coupon_grant_validation() -> None:
    start = dt.datetime(2025, 12, 1, 18, tzinfo=SH)
    (m,) = new_arrivals(["c1"], campaign_id="tea-1201", item_name="福鼎白茶",
                        window=Window(start, start + dt.timedelta(hours=2)), ctx=CTX)
    assert m.key == "mkt:new_arrivals:tea-1201:customer-c1"
    assert m.body == "【小林茶铺】小林，小林茶铺上新：福鼎白茶，抢先看m.tb.cn/xlcp回T退订"
    assert m.meta("campaign") == "tea-1201"
    with pytest.raises(ValueError, match="item_name must not be empty"):
        new_arrivals(["c1"], campaign_id="x", item_name=" ", window=Window(start, start + MIN),
                     ctx=CTX)
    with pytest.raises(ValueError, match="campaign_id must be a non-empty text"):
        broadcast(["c1"], campaign_id="a:b", window=Window(start, start + MIN), ctx=CTX)
    with pytest.raises(ValueError, match="coupon_ids must have 2 entries"):
        CouponGrants.from_arrays(["c1", "c2"], ["K1"], [start, start])


def test_birthdays_over_a_multi_day_window_fall_on_each_day() -> None:
    table = customers(Customer("c5", phone="13800000005", birthday="03-01"))
    ctx = FlowContext(COMPOSER, **LINKS, customers=table, send_time=dt.time(9, 30))
    since = dt.datetime(2025, 2, 27, 12, tzinfo=SH)
    msgs = birthday_greetings(start=since, as_of=since + dt.timedelta(days=3), ctx=ctx)
    assert [(m.recipient.customer_id, m.not_before) for m in msgs] == [
        ("c3", dt.datetime(2025, 2, 28, 9, 30, tzinfo=SH)),
        ("c5", dt.datetime(2025, 3, 1, 9, 30, tzinfo=SH)),
    ]


def test_templates_can_be_overridden_and_must_be_templates() -> None:
    ctx = FlowContext(COMPOSER, **LINKS, customers=customers(),
                      templates={"birthday": Template("{customer_name}生日快乐")})
    since, as_of = day_window(dt.date(2024, 2, 29))
    (m,) = birthday_greetings(start=since, as_of=as_of, ctx=ctx)
    assert m.body == "【小林茶铺】亲生日快乐"
    with pytest.raises(TypeError, match="templates\\['birthday'\\] must be a Template"):
        FlowContext(COMPOSER, **LINKS, templates={"birthday": "x"})  # type: ignore[dict-item]


def test_coupon_grants_from_issued_gift_pack_coupons() -> None:
    claimed = dt.datetime(2025, 6, 1, 9, tzinfo=SH)
    c10 = Coupon("NEW10", face_value=Money(1_000), threshold=Money(9_900), valid_days=7)
    issued = [("c1", IssuedCoupon(c10, claimed, claimed + dt.timedelta(days=7)))] * 2
    grants = CouponGrants.from_issued(issued)
    assert grants.coupon_ids.tolist() == ["NEW10", "NEW10"]
    msgs = coupon_expiry_reminders(grants, start=claimed, as_of=claimed + dt.timedelta(days=5),
                                   ctx=CTX)
    assert [(m.key, m.meta("count")) for m in msgs] == [
        ("mkt:coupon_expiry:customer-c1:2025-06-05", "2")]
    with pytest.raises(TypeError, match="issued\\[0\\] must be"):
        CouponGrants.from_issued([("c1", c10)])  # type: ignore[list-item]


def test_double_twelve_push_to_high_potential_and_618_carters() -> None:
    nov = dt.datetime(2025, 11, 20, 12, tzinfo=SH)
    june5 = dt.datetime(2025, 6, 5, 12, tzinfo=SH)
    table = customers(Customer("h1", phone="13800000011"), Customer("c5", phone="13800000005"))
    log = OrderLog.from_orders([
        order("H1", "h1", nov, status=OrderStatus.PAID, paid=nov, fen=150_000),
        order("H2", "h1", nov, status=OrderStatus.PAID, paid=nov, fen=150_000),
        order("J1", "c3", june5, status=OrderStatus.PAID, paid=june5),  # carted and bought
    ])
    events = EventLog.from_events([Event(c, june5, EventKind.CART) for c in ("c2", "c3")]
                                  + [Event("c5", june5, EventKind.BROWSE)])
    assert double_twelve_audience(log, events, year=2025).tolist() == ["c2", "h1"]
    ctx = FlowContext(COMPOSER, **LINKS, customers=table)
    msgs = double_twelve_push(log, events, year=2025, ctx=ctx)
    assert [m.key for m in msgs] == ["mkt:double_12:1212-2025:customer-c2",
                                     "mkt:double_12:1212-2025:customer-h1"]
    assert msgs[0].not_before == dt.datetime(2025, 12, 12, 18, tzinfo=SH)
    assert msgs[0].meta("expires_at") == dt.datetime(2025, 12, 12, 20, tzinfo=SH).isoformat()
    assert "满200减30" in msgs[0].body
    assert double_twelve_push(log, events, year=2025, ctx=ctx, holdout_share=1.0) == []


def test_receipt_confirmations_with_an_empty_customer_table() -> None:
    ctx = FlowContext(COMPOSER, **LINKS, customers=CustomerTable.from_customers([]),
                      channel=ChannelKind.IN_APP)
    msgs = receipt_confirmations(EVENTS, start=WEEK[0], as_of=WEEK[1], ctx=ctx)
    assert [m.key for m in msgs] == ["care:receipt_confirmed:order-A1",
                                     "care:receipt_confirmed:order-A2"]
    assert all("领取会员卡" in m.body for m in msgs)  # nobody is known as a member


def test_flow_context_keeps_a_read_only_copy_of_item_names() -> None:
    names = {"TEA-LJ": "西湖龙井"}
    ctx = FlowContext(COMPOSER, **LINKS, item_names=names)
    names["TEA-LJ"] = "changed later"
    assert ctx.item_names == {"TEA-LJ": "西湖龙井"}
    with pytest.raises(TypeError):
        ctx.item_names["x"] = "y"  # type: ignore[index]


def test_a_notice_whose_coupon_grant_failed_is_not_sent() -> None:
    """End to end: grants through a CouponGrantChannel whose catalogue refuses one customer
    (a permanent failure → DEAD), then the notices with coupon_grant_guard."""
    window = Window(dt.datetime(2025, 6, 10, 10, tzinfo=SH), dt.datetime(2025, 6, 10, 20, tzinfo=SH))
    msgs = coupon_care(["c1", "c2"], campaign_id="618-care", window=window, ctx=CTX,
                       coupon_id="C20", catalog=_catalog())
    outbox = InMemoryOutbox()
    outbox.enqueue_many(m for m in msgs if m.channel is ChannelKind.COUPON)

    def grant(customer_id: str | int, coupon: str, message: Message) -> str:
        if customer_id == "c2":
            raise InvalidValueError("customer", "has reached the coupon's per-customer limit",
                                    customer_id)
        return "g-1"

    clock = ManualClock(window.start)
    _Dispatcher(outbox, CouponGrantChannel(grant), clock=clock).run_once()
    outbox.enqueue_many(m for m in msgs if m.channel is ChannelKind.SMS)
    sms = RecordingChannel()
    clock.set(window.start + dt.timedelta(minutes=10))
    report = _Dispatcher(outbox, sms, clock=clock, guard=coupon_grant_guard(outbox)).run_once()
    assert (report.sent, report.skipped) == (1, 1)
    assert [m.key for m in sms.sent] == ["mkt:coupon_care:618-care:customer-c1"]
    skipped = outbox.get("mkt:coupon_care:618-care:customer-c2")
    assert skipped is not None
    assert skipped.last_error == ("skipped: its coupon grant mkt:coupon_grant:618-care:"
                                  "customer-c2 was not made (DEAD)")
    with pytest.raises(TypeError, match="outbox must be an Outbox"):
        coupon_grant_guard([])  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["c1", "c2", "c3", "c9"]), max_size=8),
       st.integers(min_value=0, max_value=60))
def test_coupon_care_serves_each_customer_once_grant_before_notice(
        audience: list[str], minutes: int) -> None:
    window = Window(dt.datetime(2025, 6, 10, 10, tzinfo=SH), dt.datetime(2025, 6, 10, 20, tzinfo=SH))
    msgs = coupon_care(audience, campaign_id="p", window=window, ctx=CTX, coupon_id="C20",
                       catalog=_catalog(), notice_after=dt.timedelta(minutes=minutes))
    reachable = {c for c in audience if c != "c9"}  # c9 has no phone: no SMS notice
    grants = {m.recipient.customer_id: m for m in msgs if m.channel is ChannelKind.COUPON}
    notices = {m.recipient.customer_id: m for m in msgs if m.channel is ChannelKind.SMS}
    assert set(grants) == set(audience)
    assert set(notices) == reachable
    assert len(msgs) == len(set(audience)) + len(reachable)
    for cid, n in notices.items():
        assert n.not_before == grants[cid].not_before + dt.timedelta(minutes=minutes)
        assert n.meta("grant_key") == grants[cid].key
        assert n.body.count("回T退订") == 1


def test_why_not_due_and_still_due_take_now_as_a_deprecated_alias_of_as_of() -> None:
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    (m,) = payment_reminders(log, start=T0, as_of=T0 + 30 * MIN, ctx=CTX)
    old: Any = {"now": T0 + 31 * MIN}
    with pytest.warns(DeprecationWarning, match=r"why_not_due\(\): the keyword now="):
        assert why_not_due(m, status=OrderStatus.PAID, **old) == "order A1 is paid now"
    with pytest.warns(DeprecationWarning, match=r"still_due\(\): the keyword now="):
        assert still_due(m, status=OrderStatus.UNPAID, **old)


def test_since_is_the_deprecated_alias_of_start() -> None:
    """``since=`` (the previous run's moment) still works for one release, with a warning."""
    log = OrderLog.from_orders([order("A1", "c1", T0)])
    as_of = T0 + dt.timedelta(hours=1)
    new = payment_reminders(log, start=T0, as_of=as_of, ctx=CTX)
    assert len(new) == 1
    old: Any = {"since": T0}
    with pytest.warns(DeprecationWarning, match=r"since= is deprecated.*use start="):
        assert payment_reminders(log, as_of=as_of, ctx=CTX, **old) == new
    with pytest.raises(TypeError, match="both start= and its deprecated alias since="):
        payment_reminders(log, start=T0, as_of=as_of, ctx=CTX, **old)
