"""Scheduled member benefits reach members through touch: one notice per member and period,
however often the grant job and the flow run, and opt-outs respected at dispatch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecrm import Customer, CustomerTable, InvalidTypeError, InvalidValueError, Money
from ecrm.tiers import (
    Benefit,
    BenefitKind,
    Cadence,
    Coupon,
    ScheduledBenefit,
    SqliteLoyaltyStore,
    grant_scheduled,
)
from ecrm.touch import (
    ChannelKind,
    Dispatcher,
    InMemoryOptOutRegistry,
    ManualClock,
    MessageClass,
    PolicyContext,
    RecordingChannel,
    SendPolicy,
    SmsComposer,
    SqliteOutbox,
)
from ecrm.touch.flows import FlowContext, benefit_grant_notices

SH = dt.timezone(dt.timedelta(hours=8))
# 白银会员 (level 2) and up: one 满100减10 coupon a month.
MONTHLY = ScheduledBenefit(
    Benefit("silver-coupon", BenefitKind.MEMBER_COUPON,
            Coupon("C10", face_value=Money(1_000), threshold=Money(10_000), valid_days=30),
            min_level=2),
    Cadence.MONTH,
)
LEVELS = {"a": 1, "b": 2, "c": 3, "d": 2}
SHOP = CustomerTable.from_customers([
    Customer(cid, name=name, phone=f"1540000000{i}")
    for i, (cid, name) in enumerate([("a", "阿甲"), ("b", "小乙"), ("c", "老丙"), ("d", "丁丁")])
])
CTX = FlowContext(SmsComposer("【小林茶铺】"), customers=SHOP, link="https://t.cn/m")


def test_each_member_gets_one_notice_per_period_however_often_it_runs(tmp_path: Path) -> None:
    store = SqliteLoyaltyStore(tmp_path / "loyalty.db")
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    first = dt.datetime(2026, 11, 1, 9, tzinfo=SH)
    for hour in (0, 3, 6):  # the job runs three times on 1 November
        grant_scheduled(store, [MONTHLY], LEVELS, at=first + dt.timedelta(hours=hour))
    assert len(store.grants()) == 3  # b, c and d (a is level 1); once each
    for _ in range(2):  # the flow runs twice over the same window
        notices = benefit_grant_notices(store.grants(), start=first - dt.timedelta(days=1),
                                        as_of=first + dt.timedelta(hours=7), ctx=CTX,
                                        benefit_names={"silver-coupon": "每月满100减10券"})
        new = outbox.enqueue_many(notices)
    assert new == 0  # the second run added nothing
    keys = sorted(e.key for e in outbox.entries())
    assert keys == ["mkt:benefit_grant:silver-coupon:b:2026-11",
                    "mkt:benefit_grant:silver-coupon:c:2026-11",
                    "mkt:benefit_grant:silver-coupon:d:2026-11"]
    (b,) = [e.message for e in outbox.entries() if e.message.recipient.customer_id == "b"]
    assert b.message_class is MessageClass.MARKETING
    assert b.body == ("【小林茶铺】小乙，您本期（2026-11）的会员权益「每月满100减10券」×1已发放，"
                      "查看：https://t.cn/m 回T退订")
    assert b.not_before == first  # due when granted

    # December: a new period, a new grant and a new notice for each member.
    december = dt.datetime(2026, 12, 1, 9, tzinfo=SH)
    run = grant_scheduled(store, [MONTHLY], LEVELS, at=december)
    notices = benefit_grant_notices(run.granted, start=december - dt.timedelta(hours=1),
                                    as_of=december, ctx=CTX)
    assert outbox.enqueue_many(notices) == 3
    assert {m.body.split("（")[1][:7] for m in notices} == {"2026-12"}
    store.close()
    outbox.close()


def test_an_opted_out_member_gets_nothing(tmp_path: Path) -> None:
    store = SqliteLoyaltyStore(tmp_path / "loyalty.db")
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    at = dt.datetime(2026, 11, 2, 10, tzinfo=SH)
    grant_scheduled(store, [MONTHLY], LEVELS, at=at)
    outbox.enqueue_many(benefit_grant_notices(store.grants(), start=at - dt.timedelta(hours=1),
                                              as_of=at, ctx=CTX))
    opt_outs = InMemoryOptOutRegistry()
    opt_outs.opt_out("15400000002", ChannelKind.SMS, at=at - dt.timedelta(days=3))  # 老丙
    sms = RecordingChannel()
    Dispatcher(outbox, sms, clock=ManualClock(at + dt.timedelta(minutes=1)), policy=SendPolicy(),
               context=PolicyContext(opt_outs=opt_outs, members=set(LEVELS))).run_once()
    assert sorted(m.recipient.customer_id for m in sms.sent) == ["b", "d"]
    store.close()
    outbox.close()


def test_only_grants_inside_the_window_and_bad_arguments_are_named() -> None:
    from ecrm.tiers import Grant

    at = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)
    grants = [Grant("b", "silver-coupon", "2026-11", 2, 1, Money(1_000), at)]
    assert benefit_grant_notices(grants, start=at, as_of=at + dt.timedelta(days=1), ctx=CTX) == []
    assert len(benefit_grant_notices(grants, start=at - dt.timedelta(seconds=1), as_of=at,
                                     ctx=CTX)) == 1
    with pytest.raises(InvalidValueError, match="start"):
        benefit_grant_notices(grants, start=at, as_of=at - dt.timedelta(days=1), ctx=CTX)
    with pytest.raises(InvalidValueError, match=r"ctx\.link"):
        benefit_grant_notices(grants, start=at - dt.timedelta(days=1), as_of=at,
                              ctx=FlowContext(SmsComposer("【小林茶铺】"), customers=SHOP))
    with pytest.raises(InvalidTypeError, match="ctx"):
        benefit_grant_notices(grants, start=at, as_of=at, ctx=None)  # type: ignore[arg-type]
