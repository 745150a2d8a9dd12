"""Properties of the event-driven flows over generated order events and coupon grants."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm._time import datetime_to_us
from ecrm.testing import coupon_grants, order_event_columns
from ecrm.touch import ChannelKind, SmsComposer
from ecrm.touch.flows import (
    CouponGrants,
    FlowContext,
    OrderEvent,
    OrderEventKind,
    OrderEvents,
    coupon_expiry_reminders,
    delivery_notices,
    receipt_confirmations,
    refund_notices,
    shipping_notices,
)

CTX = FlowContext(SmsComposer("【小林茶铺】"), channel=ChannelKind.IN_APP, link="m.tb.cn/xlcp",
                  member_card_link="m.tb.cn/xlcard")
UTC = dt.UTC
LO = dt.datetime(2023, 12, 30, tzinfo=UTC)
HI = dt.datetime(2027, 1, 2, tzinfo=UTC)
FLOWS = {
    shipping_notices: (OrderEventKind.SHIPPED, OrderEventKind.MULTI_WAREHOUSE_SHIPPED),
    delivery_notices: (OrderEventKind.DELIVERED,),
    receipt_confirmations: (OrderEventKind.RECEIPT_CONFIRMED,),
    refund_notices: (OrderEventKind.RETURN_RECEIVED, OrderEventKind.REFUNDED),
}


@settings(deadline=None)
@given(order_event_columns(), st.lists(st.datetimes(min_value=LO.replace(tzinfo=None),
                                                    max_value=HI.replace(tzinfo=None),
                                                    timezones=st.just(UTC)), max_size=6))
def test_event_flows_partition_over_windows_and_follow_the_events(
    events: OrderEvents, cuts: list[dt.datetime]
) -> None:
    bounds = [LO, *sorted(cuts), HI]
    for flow, kinds in FLOWS.items():
        whole = flow(events, start=LO, as_of=HI, ctx=CTX)
        pieces = [m for a, b in itertools.pairwise(bounds)
                  for m in flow(events, start=a, as_of=b, ctx=CTX)]
        assert sorted(m.key for m in pieces) == sorted(m.key for m in whole)
        # one message per event of the flow's kinds, due at the event, keyed by its order
        codes = {k.code for k in kinds}
        expect = Counter(f"order-{events.order_ids[i]}" for i in range(len(events))
                         if int(events.kind_codes[i]) in codes)
        assert Counter(m.dedupe_key for m in whole) == expect
        for m in whole:
            assert m.not_before is not None
            assert LO < m.not_before <= HI
            assert m.key.endswith(f":{m.dedupe_key}")
            assert m.key.startswith(f"care:{m.message_type}:")


@settings(deadline=None)
@given(coupon_grants(), st.integers(1, 10))
def test_coupon_expiry_counts_every_unused_coupon_once(grants: CouponGrants, days: int) -> None:
    notice = dt.timedelta(days=days)
    msgs = coupon_expiry_reminders(grants, start=LO, as_of=HI, ctx=CTX, notice=notice)
    due = grants.valid_until_us - int(notice / dt.timedelta(microseconds=1))
    expect = sum(1 for i in range(len(grants)) if not grants.used[i]
                 and datetime_to_us(LO) < due[i] <= datetime_to_us(HI))
    assert sum(int(m.meta("count") or 0) for m in msgs) == expect
    assert len({m.key for m in msgs}) == len(msgs)


@given(st.from_type(OrderEvent), st.from_type(OrderEvents), st.from_type(CouponGrants))
def test_flow_types_are_registered_with_hypothesis(
    event: OrderEvent, events: OrderEvents, grants: CouponGrants
) -> None:
    assert isinstance(event, OrderEvent)
    assert event.at.tzinfo is not None
    assert isinstance(events, OrderEvents)
    assert len(grants.coupon_ids) == len(grants)
