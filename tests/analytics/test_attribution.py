"""CRM attribution: sends and coupon grants credited with the later valid orders.

A small shop worked by hand (every figure below is computed in the comments, not by
ecrm), a plain-Python reference implementation for generated shops, and the invariants:
CRM sales never exceed valid sales, an order is credited at most once, a zero period
credits nothing.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, Money, Order, OrderLog, OrderStatus, Window
from ecrm.analytics import (
    Attribution,
    AttributionModel,
    Touches,
    attribute_sales,
    periods,
    store_metrics,
)
from ecrm.touch import ChannelKind, InMemoryOutbox, Message, MessageClass, Recipient

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, second, tzinfo=SH)


def shop() -> OrderLog:
    return OrderLog.from_orders([
        Order("o1", "a", at(3), Money(10_001)),  # T0 (2 days 2 h) and T1 (3 h) eligible
        Order("o2", "a", at(8, 10), Money(3_333)),  # T0 exactly 7 days before: out; T1 in
        Order("o8", "a", at(4), Money(9_999), status=OrderStatus.CLOSED),  # not valid
        Order("o9", "a", at(21, 9), Money(6_000), refunded=Money(1_000)),  # net 5,000; T5
        Order("o4", "b", at(4), Money(8_000)),  # before b's coupon
        Order("o3", "b", at(5, 20), Money(5_000)),  # at the coupon grant's instant: in
        Order("o5", "c", at(17), Money(2_000)),  # T3 exactly 7 days before: out
        Order("o6", "c", at(17, 11, 59, 59), Money(1_500)),  # one second inside T3's period
        Order("o10", "d", at(2, month=7), Money(12_000)),  # never touched
    ], tz="Asia/Shanghai")


def touches() -> Touches:
    sends = Touches.from_arrays(
        ["a", "a", "c", "z", "a"],  # z has no orders: ignored
        [at(1, 10), at(3, 9), at(10), at(1), at(20, 8)],
        channels=["sms", "email", "sms", "sms", "sms"],
        campaigns=["618-warmup", "618-warmup", "618", "618", "618"],
    )
    return sends + Touches.from_coupon_grants(["b"], [at(5, 20)], ["NEW10"])


# valid sales 10,001 + 3,333 + 5,000 + 8,000 + 5,000 + 2,000 + 1,500 + 12,000 = 46,834
# attributed (7 days) o1 10,001 + o2 3,333 + o3 5,000 + o6 1,500 + o9 5,000 = 24,834
TOTAL, CRM = 46_834, 24_834


def test_hand_worked_shop_last_touch() -> None:
    a = attribute_sales(shop(), touches())
    assert (a.sales_fen, a.crm_sales_fen, a.crm_orders, len(a)) == (TOTAL, CRM, 5, 8)
    assert a.crm_share == Fraction(CRM, TOTAL)
    by_order = {r["order_id"]: r for r in a.to_dicts()}
    assert "o8" not in by_order  # a closed order is no sale
    assert {k for k, r in by_order.items() if r["attributed"]} == {"o1", "o2", "o3", "o6", "o9"}
    assert by_order["o1"]["eligible_touches"] == 2
    assert by_order["o9"]["net_fen"] == 5_000
    credits = {r["order_id"]: (r["touched_at"], r["channel"], r["credit_fen"])
               for r in a.credits().to_dicts()}
    assert credits == {
        "o1": (at(3, 9), "email", 10_001), "o2": (at(3, 9), "email", 3_333),
        "o3": (at(5, 20), "coupon", 5_000), "o6": (at(10), "sms", 1_500),
        "o9": (at(20, 8), "sms", 5_000),
    }
    # email 10,001 + 3,333; sms 1,500 + 5,000; coupon 5,000
    assert a.credits().by("channel") == {"email": 13_334, "sms": 6_500, "coupon": 5_000}
    assert a.credits().by("campaign") == {"618-warmup": 13_334, "618": 6_500, "NEW10": 5_000}


def test_first_touch_and_linear_move_credit_not_sales() -> None:
    first = attribute_sales(shop(), touches(), model="first_touch")
    linear = attribute_sales(shop(), touches(), model=AttributionModel.LINEAR)
    assert first.crm_sales_fen == linear.crm_sales_fen == CRM
    # o1 goes to T0 (sms) under first touch: sms 10,001 + 1,500 + 5,000
    assert first.credits().by() == {"sms": 16_501, "coupon": 5_000, "email": 3_333}
    # linear: o1's 10,001 fen split 5,001 (T0, the earlier) / 5,000 (T1)
    o1 = [(r["channel"], r["credit_fen"]) for r in linear.credits().to_dicts()
          if r["order_id"] == "o1"]
    assert o1 == [("sms", 5_001), ("email", 5_000)]
    assert linear.credits().by() == {"sms": 11_501, "email": 8_333, "coupon": 5_000}


def test_by_day_and_by_month() -> None:
    a = attribute_sales(shop(), touches())
    days = [(r["day"], r["sales_fen"], r["orders"], r["crm_sales_fen"], r["crm_orders"])
            for r in a.by_day().to_dicts()]
    d = dt.date
    assert days == [
        (d(2025, 6, 3), 10_001, 1, 10_001, 1), (d(2025, 6, 4), 8_000, 1, 0, 0),
        (d(2025, 6, 5), 5_000, 1, 5_000, 1), (d(2025, 6, 8), 3_333, 1, 3_333, 1),
        (d(2025, 6, 17), 3_500, 2, 1_500, 1), (d(2025, 6, 21), 5_000, 1, 5_000, 1),
        (d(2025, 7, 2), 12_000, 1, 0, 0),
    ]
    months = a.by_month()
    assert [(r["month"], r["sales_fen"], r["crm_sales_fen"]) for r in months.to_dicts()] == [
        (d(2025, 6, 1), 34_834, CRM), (d(2025, 7, 1), 12_000, 0)]
    assert months.crm_share == [Fraction(CRM, 34_834), Fraction(0)]


def test_the_period_and_the_order_window() -> None:
    # one day: o1 (T1 3 h before) and o3 (same instant) only; o9 is 25 h after T5
    assert attribute_sales(shop(), touches(), within=dt.timedelta(days=1)).crm_sales_fen == (
        10_001 + 5_000)
    assert attribute_sales(shop(), touches(), within=dt.timedelta(0)).crm_sales_fen == 0
    june = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 7, 1), SH)
    a = attribute_sales(shop(), touches(), window=june)
    assert (a.sales_fen, a.crm_sales_fen) == (TOTAL - 12_000, CRM)


def test_store_metrics_take_the_attribution() -> None:
    log = shop()
    a = attribute_sales(log, touches())
    june = periods(Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 7, 1), SH), tz=SH)
    row = store_metrics(log, june, attributed=a).rows[0]
    assert (row.sales_fen, row.attributed_sales_fen) == (34_834, CRM)
    assert row.attributed_share == Fraction(CRM, 34_834)
    same = store_metrics(log, june, attributed=["o1", "o2", "o3", "o6", "o9"]).rows[0]
    assert same.attributed_sales_fen == CRM
    other = OrderLog.from_orders([Order("x", "a", at(3), Money(1))], tz="Asia/Shanghai")
    with pytest.raises(InvalidValueError, match="attribution of this order log"):
        store_metrics(other, june, attributed=a)


def _sent(outbox: InMemoryOutbox, message: Message, when: dt.datetime) -> None:
    outbox.enqueue(message)
    (entry,) = outbox.claim(as_of=when, lease=dt.timedelta(minutes=5))
    assert outbox.mark_sent(entry, at=when, provider_id="p")


def _message(key: str, cid: str, channel: ChannelKind, klass: MessageClass,
             when: dt.datetime, campaign: str | None = None) -> Message:
    body = "【小林茶铺】好物推荐回T退订" if klass is MessageClass.MARKETING else "【小林茶铺】已发货"
    return Message(key, key.split(":")[1], klass, channel, Recipient(cid, phone="13800000000"),
                   body, created_at=when, metadata={"campaign": campaign} if campaign else None)


def test_touches_from_a_real_outbox_are_its_sent_messages() -> None:
    outbox = InMemoryOutbox()
    _sent(outbox, _message("mkt:push:618:a", "a", ChannelKind.SMS, MessageClass.MARKETING,
                           at(3, 9), "618"), at(3, 9, 1))
    _sent(outbox, _message("care:shipped:o4", "b", ChannelKind.SMS, MessageClass.TRANSACTIONAL,
                           at(4, 13)), at(4, 13))
    outbox.enqueue(_message("mkt:push:618:c", "c", ChannelKind.SMS, MessageClass.MARKETING,
                            at(10)))  # never sent: no touch
    t = Touches.from_outbox(outbox.entries())
    assert sorted(zip(t.customer_ids.tolist(), t.campaigns.tolist(), t.at_us.tolist(),
                      strict=True)) == [
        ("a", "618", int(at(3, 9, 1).timestamp() * 1_000_000)),
        ("b", "shipped", int(at(4, 13).timestamp() * 1_000_000)),
    ]
    marketing = Touches.from_outbox(outbox.entries(), message_classes=[MessageClass.MARKETING])
    assert marketing.customer_ids.tolist() == ["a"]
    # o1 (a, June 3 12:00) is 2 h 59 min after the send
    assert attribute_sales(shop(), marketing).crm_sales_fen == 10_001 + 3_333


def test_bad_input_is_refused_naming_the_field() -> None:
    log = shop()
    with pytest.raises(InvalidValueError, match="within must be a duration >= 0"):
        attribute_sales(log, touches(), within=dt.timedelta(seconds=-1))
    with pytest.raises(InvalidValueError, match="model must be one of"):
        attribute_sales(log, touches(), model="u-shaped")
    with pytest.raises(InvalidTypeError, match="of the order log's kind"):
        attribute_sales(log, Touches.from_arrays([1], [at(1)]))
    with pytest.raises(InvalidValueError, match="at must have 2 entries"):
        Touches.from_arrays(["a", "b"], [at(1)])
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        Touches.from_arrays(["a"], [dt.datetime(2025, 6, 1)])
    with pytest.raises(InvalidTypeError, match="touches must be Touches"):
        attribute_sales(log, [("a", at(1))])  # type: ignore[arg-type]


# -- generated shops against a plain reference ----------------------------------------------
def reference(orders: list[Order], sends: list[tuple[str, dt.datetime]], within: dt.timedelta,
              model: str) -> dict[str, list[tuple[int, int]]]:
    """order id → [(touch index, credit fen)], by the definition, one order at a time."""
    out: dict[str, list[tuple[int, int]]] = {}
    for o in orders:
        if o.status not in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            continue
        net = o.amount.fen - (o.refunded.fen if o.refunded else 0)
        if net == 0:  # fully refunded: not valid
            continue
        hits = sorted((t, i) for i, (c, t) in enumerate(sends)
                      if c == o.customer_id and t <= o.placed_at < t + within)
        if not hits:
            out[o.order_id] = []
        elif model == "last_touch":
            out[o.order_id] = [(hits[-1][1], net)]
        elif model == "first_touch":
            out[o.order_id] = [(hits[0][1], net)]
        else:
            k = len(hits)
            out[o.order_id] = [(i, net // k + (1 if r < net % k else 0))
                               for r, (_, i) in enumerate(hits)]
    return out


T0 = dt.datetime(2025, 1, 1, tzinfo=SH)
_minutes = st.integers(min_value=0, max_value=20 * 24 * 60)


@st.composite
def shops(draw: st.DrawFn) -> tuple[list[Order], list[tuple[str, dt.datetime]]]:
    customers = ["a", "b", "c"]
    orders = []
    for i in range(draw(st.integers(min_value=0, max_value=12))):
        amount = draw(st.integers(min_value=1, max_value=50_000))
        refunded = draw(st.integers(min_value=0, max_value=amount))
        orders.append(Order(
            f"o{i}", draw(st.sampled_from(customers)),
            T0 + dt.timedelta(minutes=draw(_minutes)), Money(amount),
            status=draw(st.sampled_from([OrderStatus.PAID, OrderStatus.COMPLETED,
                                         OrderStatus.CLOSED])),
            refunded=Money(refunded) if refunded else None))
    sends = [(draw(st.sampled_from([*customers, "zz"])),
              T0 + dt.timedelta(minutes=draw(_minutes)))
             for _ in range(draw(st.integers(min_value=0, max_value=10)))]
    return orders, sends


@settings(deadline=None, max_examples=120)
@given(shops(), st.integers(min_value=0, max_value=6 * 24 * 60),
       st.sampled_from(["last_touch", "first_touch", "linear"]))
def test_agrees_with_the_plain_reference(
    shop_: tuple[list[Order], list[tuple[str, dt.datetime]]], minutes: int, model: str
) -> None:
    orders, sends = shop_
    within = dt.timedelta(minutes=minutes)
    log = OrderLog.from_orders(orders, tz="Asia/Shanghai")
    touch = Touches.from_arrays(np.asarray([c for c, _ in sends], dtype=str),
                                [t for _, t in sends])
    a = attribute_sales(log, touch, within=within, model=model)
    expected = reference(orders, sends, within, model)
    got: dict[str, list[tuple[int, int]]] = {r["order_id"]: [] for r in a.to_dicts()}
    credits = a.credits()
    for oid, touch_row, credit in zip(log.order_ids[credits.order_rows].tolist(),  # type: ignore[index]
                                      credits.touch_rows.tolist(), credits.credit_fen.tolist(),
                                      strict=True):
        got[oid].append((touch_row, credit))
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}
    _check_invariants(a, within)


def _check_invariants(a: Attribution, within: dt.timedelta) -> None:
    net = a.net_fen
    assert 0 <= a.crm_sales_fen <= a.sales_fen
    # each order credited at most once: its credits sum to its net (attributed) or to 0
    per_order = np.zeros(len(a), dtype=np.int64)
    np.add.at(per_order, np.searchsorted(a.rows, a.credits().order_rows), a.credits().credit_fen)
    assert per_order.tolist() == np.where(a.attributed, net, 0).tolist()
    if a.model is not AttributionModel.LINEAR:
        assert len(np.unique(a.credits().order_rows)) == len(a.credits())
    assert int(a.by_day().crm_sales_fen.sum()) == a.crm_sales_fen
    assert int(a.by_month().sales_fen.sum()) == a.sales_fen
    if within == dt.timedelta(0):
        assert a.crm_orders == 0
        assert len(a.credits()) == 0


@settings(deadline=None, max_examples=40)
@given(shops())
def test_a_zero_period_attributes_nothing_and_a_longer_one_never_less(
    shop_: tuple[list[Order], list[tuple[str, dt.datetime]]]
) -> None:
    orders, sends = shop_
    log = OrderLog.from_orders(orders, tz="Asia/Shanghai")
    touch = Touches.from_arrays(np.asarray([c for c, _ in sends], dtype=str),
                                [t for _, t in sends])
    previous = -1
    for days in (0, 1, 3, 7, 30):
        a = attribute_sales(log, touch, within=dt.timedelta(days=days))
        assert a.crm_sales_fen >= previous
        previous = a.crm_sales_fen
        if days == 0:
            assert a.crm_sales_fen == 0
