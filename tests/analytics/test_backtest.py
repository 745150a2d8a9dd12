"""The dry-run backtest: hand-worked days, conservation properties, a month of the sample shop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import Money, Window
from ecrm.analytics import BacktestReport, Flow, backtest, standard_flows
from ecrm.datasets import sample_shop
from ecrm.lifecycle import cycles_by
from ecrm.touch import (
    ChannelKind,
    InMemoryOptOutRegistry,
    InMemoryOutbox,
    ManualClock,
    Message,
    MessageClass,
    PolicyContext,
    Recipient,
    SendPolicy,
    SmsComposer,
)
from ecrm.touch.flows import FlowContext

SH = ZoneInfo("Asia/Shanghai")


def days(n: int) -> Window:
    """The ``n`` local days from D1."""
    return Window.of_dates(D1, D1 + dt.timedelta(days=n), SH)
D1 = dt.date(2025, 6, 1)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(D1 + dt.timedelta(days=day - 1), dt.time(hour, minute), SH)


def msg(key: str, cid: str, due: dt.datetime, *, klass: MessageClass = MessageClass.MARKETING,
        expires: dt.datetime | None = None) -> Message:
    body = "【小林茶铺】好物推荐回T退订" if klass is MessageClass.MARKETING else "【小林茶铺】已发货"
    return Message(key, key.split(":")[1], klass, ChannelKind.SMS,
                   Recipient(cid, phone="13800000000"), body, created_at=due, not_before=due,
                   dedupe_key=key, metadata={"expires_at": expires.isoformat()} if expires
                   else None)


def listed(messages: Sequence[Message]) -> Flow:
    def flow(since: dt.datetime, as_of: dt.datetime) -> list[Message]:
        return [m for m in messages if since < (m.not_before or m.created_at) <= as_of]
    return flow


CTX = PolicyContext(opt_outs=InMemoryOptOutRegistry(), members={"c1", "c2"})


def test_hand_worked_three_days() -> None:
    flows = {
        "a": listed([msg("mkt:a:1", "c1", at(1, 7)),  # quiet hours: deferred to 08:00
                     msg("mkt:a:2", "c9", at(1, 9))]),  # not a member: skipped
        "b": listed([msg("mkt:b:1", "c1", at(1, 12)),  # 1/day cap: deferred to day 2 08:00
                     msg("care:b:2", "c2", at(3, 3), klass=MessageClass.TRANSACTIONAL),
                     msg("mkt:b:3", "c2", at(3, 6), expires=at(3, 9)),  # deferred, then sent
                     msg("mkt:b:4", "c1", at(3, 6), expires=at(3, 7, 30))]),  # window closes
    }
    r = backtest(flows, window=days(3), context=CTX, price_per_segment=Money(4))
    d1, d2, d3 = r.days
    assert d1.candidates == (("a", 2), ("b", 1))
    assert d1.sent == (("a", 1),)
    assert (d1.deferrals, d1.cap_hits, d1.collisions) == (2, 1, 1)
    assert d1.skips == (("members_only", 1),)
    assert (d2.candidates, d2.sent, d2.deferrals) == ((), (("b", 1),), 0)
    assert d3.candidates == (("b", 3),)
    assert d3.sent == (("b", 2),)
    # b:4 could only go at 08:00, after its window closed at 07:30: skipped by the policy
    assert d3.skips == (("expiry", 1),)
    assert d3.deferrals == 1
    assert (r.segments, r.cost, r.pending) == (4, Money(16), 0)
    assert r.sent_by_channel == (("sms", 4),)
    table = r.table()
    assert table.splitlines()[0].split() == ["day", "cand", "sent", "segs", "cost", "defer",
                                             "skip", "collide", "caps"]
    # day 3: b:4 at 06:00 also meets c1's cap (b:1 went out on day 2 08:00): a second hit
    assert d3.cap_hits == 1
    assert table.splitlines()[4].split() == ["total", "6", "4", "4", "¥0.16", "3", "2", "1",
                                             "2"]


def test_pending_deferrals_past_the_last_day() -> None:
    flows = {"a": listed([msg("mkt:a:1", "c1", at(1, 22))])}  # deferred to 08:00 day 2
    r = backtest(flows, window=days(1), context=CTX)
    assert (r.days[0].deferrals, r.pending, r.days[0].n_sent) == (1, 1, 0)
    assert "still deferred after the last day: 1" in r.table()


def test_injected_clock_follows_the_replay() -> None:
    seen: list[dt.datetime] = []
    clock = ManualClock(at(1, 0))

    def flow(since: dt.datetime, as_of: dt.datetime) -> list[Message]:
        seen.append(clock.now())
        return list(listed([msg("mkt:a:1", "c1", at(1, 7))])(since, as_of))

    backtest({"a": flow}, window=days(2), context=CTX, clock=clock)
    assert seen == [at(2, 0), at(3, 0)]  # each day's flows run at the end of their window
    assert clock.now() == at(3, 0)


def test_start_end_dates_are_the_deprecated_form_of_the_window() -> None:
    """The local dates ``start``/``end`` still work for one release, with a warning."""
    flows = {"a": listed([msg("mkt:a:1", "c1", at(1, 22))])}
    old: Any = {"start": D1, "end": D1 + dt.timedelta(days=1)}
    with pytest.warns(DeprecationWarning, match=r"start=/end= are deprecated.*window="):
        r = backtest(flows, context=CTX, **old)
    assert (r.days[0].day, r.days[0].deferrals, r.pending) == (D1, 1, 1)
    with pytest.warns(DeprecationWarning, match="start=/end="):
        assert backtest({}, start=D1, end=D1).days == ()
    with pytest.raises(ValueError, match="end must not be before start"):
        backtest({}, start=D1, end=D1 - dt.timedelta(days=1))
    with pytest.raises(TypeError, match="window= and its deprecated"):
        backtest({}, window=days(1), start=D1, end=D1)


def test_days_are_the_local_midnights_inside_the_window() -> None:
    """A window not on midnights replays only the days whose midnight it holds."""
    seen: list[dt.datetime] = []

    def flow(since: dt.datetime, as_of: dt.datetime) -> list[Message]:
        seen.append(since)
        return []

    backtest({"a": flow}, window=Window(at(1, 6), at(3, 0, 1)), context=CTX)
    assert seen == [at(2, 0), at(3, 0)]
    with pytest.raises(TypeError, match=r"window must be an ecrm\.Window"):
        backtest({}, window=(at(1, 0), at(2, 0)))  # type: ignore[arg-type]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 23), st.sampled_from(["c1", "c2",
                                                                                  "c3"]),
                          st.sampled_from(list(MessageClass)), st.sampled_from(["x", "y"])),
                max_size=25),
       st.integers(1, 6))
def test_totals_are_the_sum_of_the_days_and_every_candidate_is_accounted_for(
    rows: list[tuple[int, int, str, MessageClass, str]], n_days: int
) -> None:
    msgs = [msg(f"{'mkt' if k is MessageClass.MARKETING else 'care'}:{f}:{i}", c, at(d, h),
                klass=k) for i, (d, h, c, k, f) in enumerate(rows)]
    flows = {f: listed([m for m, r in zip(msgs, rows, strict=True) if r[4] == f])
             for f in ("x", "y")}
    r = backtest(flows, window=days(n_days), context=CTX, price_per_segment=Money(3))
    assert len(r.days) == n_days
    first, last = at(1, 0), at(n_days + 1, 0)  # days are (midnight, next midnight]
    in_range = sum(1 for d, h, *_ in rows if first < at(d, h) <= last)
    assert sum(d.n_candidates for d in r.days) == in_range == sum(v for _, v in r.candidates)
    assert sum(v for _, v in r.sent) == sum(d.n_sent for d in r.days)
    assert r.segments == sum(d.segments for d in r.days)
    assert r.cost == Money(3 * r.segments) == Money(sum(d.cost.fen for d in r.days))
    assert r.deferrals == sum(d.deferrals for d in r.days)
    # conservation: each candidate is sent, skipped or still pending at the end
    assert in_range == sum(d.n_sent + d.n_skipped for d in r.days) + r.pending


def test_a_month_of_the_sample_shop() -> None:
    shop = sample_shop(500)
    ctx = FlowContext(SmsComposer("【小林茶铺】"), customers=shop.customers, link="m.tb.cn/xlcp",
                      member_card_link="m.tb.cn/xlcard",
                      item_names={c.sku: c.name for c in shop.catalogue})
    start = dt.date(2025, 11, 1)
    cycles = cycles_by(shop.orders, by="sku", as_of=dt.datetime(2025, 11, 1, tzinfo=SH))
    flows = standard_flows(shop.orders, ctx=ctx, cycles=cycles, first_order_coupon="NEW5",
                           store_cycle=(20, 40, 60))
    assert list(flows)[:9] == ["payment_reminder", "shipping", "delivery", "receipt_confirmed",
                               "refund_request", "refund", "usage_tutorial", "satisfaction",
                               "returning_offer"]
    assert "win_back" in flows
    assert "win_back" not in standard_flows(shop.orders, ctx=ctx)  # needs the shop's cycle
    outbox = InMemoryOutbox()
    r = backtest(flows, window=Window.of_dates(start, dt.date(2025, 12, 1), SH),
                 policy=SendPolicy(),
                 context=PolicyContext(opt_outs=InMemoryOptOutRegistry()),
                 customers=shop.customers, price_per_segment=Money(5), outbox=outbox)
    assert isinstance(r, BacktestReport)
    assert len(r.days) == 30
    n_cand = sum(v for _, v in r.candidates)
    assert n_cand > 100
    assert n_cand == sum(d.n_sent + d.n_skipped for d in r.days) + r.pending
    assert len(outbox) == n_cand  # every candidate enqueued once under its key
    names = {k for k, _ in r.candidates}
    assert {"shipping", "delivery", "receipt_confirmed", "birthday", "returning_offer",
            "win_back", "refund_request"} <= names
    # marketing only reaches members: every member-only skip is a non-member
    assert r.cost == Money(5) * r.segments
    assert dict(r.skips).get("opt_out", 0) == 0  # nobody opted out in this run
    # transactional notices are never refused for membership; marketing to non-members is
    sent = dict(r.sent)
    assert sent["shipping"] == dict(r.candidates)["shipping"]
    assert dict(r.skips)["members_only"] > 0
