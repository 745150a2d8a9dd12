"""Service care flows through touch: the survey 24 h after shipping and the operator's
callback reminder, against hand-worked cases, through a real SQLite outbox, the send
policy (quiet hours across DST, caps) and opt-outs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import Customer, InvalidValueError
from ecrm._customers import CustomerTable
from ecrm.service import (
    MemoryScoreStore,
    RecordOutcome,
    SqliteScoreStore,
    SqliteTicketStore,
    Ticket,
    TicketState,
)
from ecrm.testing import order_events
from ecrm.touch import (
    ChannelKind,
    ClassRules,
    Dispatcher,
    FrequencyCap,
    LocalTimeRange,
    ManualClock,
    Message,
    MessageClass,
    OutboxState,
    Recipient,
    RecordingChannel,
    SendPolicy,
    Skip,
    SmsComposer,
    SqliteOptOutRegistry,
    SqliteOutbox,
    TimeRules,
    handle_reply,
)
from ecrm.touch.flows import (
    FlowContext,
    OrderEvent,
    OrderEventKind,
    OrderEvents,
    callback_reminders,
    record_survey_reply,
    satisfaction_surveys,
    service_guard,
    ticket_surveys,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
H = dt.timedelta(hours=1)


def _ctx(**kwargs: object) -> FlowContext:
    table = CustomerTable.from_customers([
        Customer("c1", name="小林", phone="13800000001"),
        Customer("c2", name="Anna", phone="13800000002", tz="Europe/Berlin"),
        Customer("c3", name="无号"),  # no phone: no SMS
        Customer("c4", name="小周", phone="13800000004"),
    ])
    return FlowContext(SmsComposer("【小林茶铺】"), table, **kwargs)  # type: ignore[arg-type]


def _events() -> OrderEvents:
    d1 = dt.datetime(2026, 12, 1, tzinfo=SH)
    return OrderEvents.from_events([
        OrderEvent("A1", "c1", "shipped", d1 + 10 * H, tracking_number="SF1"),
        # the second parcel of A1: the survey stays at 24 h after the first
        OrderEvent("A1", "c1", "multi_warehouse_shipped", d1 + 15 * H, warehouses=2),
        OrderEvent("A2", "c1", "shipped", d1 + 11 * H),
        OrderEvent("A2", "c1", "refunded", d1 + 33 * H),  # refunded before its survey
        OrderEvent("A3", "c3", "shipped", d1 + 11 * H),  # no phone
        OrderEvent("A4", "c4", "shipped", d1 + 12 * H),
        OrderEvent("A5", "c4", "paid", d1 + 9 * H),  # not shipped: no survey
    ])


D1 = dt.datetime(2026, 12, 1, tzinfo=SH)


def test_a_survey_falls_due_24_hours_after_the_first_shipping_event() -> None:
    got = satisfaction_surveys(_events(), start=D1, as_of=D1 + 3 * 24 * H, ctx=_ctx())
    # A1 due 12-02 10:00, A4 due 12-02 12:00; A2 refunded at 12-02 09:00 before its
    # 11:00 survey, A3 has no phone, A5 never shipped
    assert [m.key for m in got] == ["care:satisfaction_survey:order-A1",
                                    "care:satisfaction_survey:order-A4"]
    a1 = got[0]
    assert a1.not_before == dt.datetime(2026, 12, 2, 10, tzinfo=SH)
    assert a1.message_class is MessageClass.CARE
    assert a1.body == "【小林茶铺】小林，订单A1的购物体验您满意吗？请回复1-5分（5分非常满意）"
    assert a1.dedupe_key == "order-A1"
    assert dict(a1.metadata) == {"order_id": "A1", "survey_id": "A1", "survey_scale": "csat",
                                 "survey_target": "order"}


def test_consecutive_runs_produce_each_survey_once_and_the_delay_is_configurable() -> None:
    ctx = _ctx()
    cut = dt.datetime(2026, 12, 2, 11, tzinfo=SH)
    first = satisfaction_surveys(_events(), start=D1, as_of=cut, ctx=ctx)
    second = satisfaction_surveys(_events(), start=cut, as_of=D1 + 72 * H, ctx=ctx)
    assert [m.key for m in first] == ["care:satisfaction_survey:order-A1"]
    assert [m.key for m in second] == ["care:satisfaction_survey:order-A4"]
    quick = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=ctx,
                                 after=dt.timedelta(hours=2))
    # A2 is surveyed at 13:00 on 12-01, before its refund
    assert [(m.key[-2:], m.not_before.hour) for m in quick] == [  # type: ignore[union-attr]
        ("A1", 12), ("A2", 13), ("A4", 14)]


def test_an_nps_survey_asks_0_to_10_and_says_so_in_its_metadata() -> None:
    got = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=_ctx(),
                               scale="nps")
    assert got[0].body == "【小林茶铺】小林，您有多大可能把小林茶铺推荐给朋友？请回复0-10分（订单A1）"
    assert got[0].meta("survey_scale") == "nps"
    with pytest.raises(InvalidValueError, match="scale"):
        satisfaction_surveys(_events(), start=D1, as_of=D1 + H, ctx=_ctx(), scale="stars")
    with pytest.raises(InvalidValueError, match="after"):
        satisfaction_surveys(_events(), start=D1, as_of=D1 + H, ctx=_ctx(), after=-H)


def test_a_shop_template_overrides_the_default_survey_text() -> None:
    from ecrm.touch import Template
    ctx = _ctx(templates={"satisfaction_survey": Template("{customer_name}，给订单{order_id}打个分吧")})
    got = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=ctx)
    assert got[0].body == "【小林茶铺】小林，给订单A1打个分吧"


def test_the_sqlite_outbox_keeps_one_survey_per_order_across_repeated_runs(
        tmp_path: Path) -> None:
    ctx = _ctx()
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        for _ in range(2):  # a rerun after a crash covers the same window again
            outbox.enqueue_many(satisfaction_surveys(_events(), start=D1,
                                                     as_of=D1 + 72 * H, ctx=ctx))
        assert len(outbox) == 2
        # a shipping event repeated days later (a feed replay) makes no second survey
        late = OrderEvents.from_events([
            *[OrderEvent("A1", "c1", "shipped", D1 + 80 * H)]])
        again = satisfaction_surveys(late, start=D1 + 72 * H, as_of=D1 + 200 * H, ctx=ctx)
        assert [m.key for m in again] == ["care:satisfaction_survey:order-A1"]
        assert outbox.enqueue_many(again) == 0
        assert len(outbox) == 2


def _berlin_ctx() -> FlowContext:
    return _ctx()


def _dispatch(outbox: SqliteOutbox, clock: ManualClock, channel: RecordingChannel,
              **kwargs: object) -> Dispatcher:
    return Dispatcher(outbox, channel, clock=clock, policy=kwargs.pop("policy", SendPolicy()),
                      **kwargs)  # type: ignore[arg-type]


def test_spring_forward_pushes_a_24_hour_survey_into_quiet_hours(tmp_path: Path) -> None:
    """Shipped Sat 2026-03-28 20:30 CET (19:30 UTC) in Berlin; 24 h later is
    Sun 19:30 UTC = 21:30 CEST (the clocks went forward that night), after the care
    window 08:00–21:00, so it waits for Mon 08:00 CEST = 06:00 UTC. A Shanghai customer
    shipped at 20:30 local gets theirs at 20:30 the next evening (no DST)."""
    shipped_berlin = dt.datetime(2026, 3, 28, 20, 30, tzinfo=BERLIN)
    shipped_sh = dt.datetime(2026, 3, 28, 20, 30, tzinfo=SH)
    events = OrderEvents.from_events([OrderEvent("B1", "c2", "shipped", shipped_berlin),
                                      OrderEvent("S1", "c1", "shipped", shipped_sh)])
    since = dt.datetime(2026, 3, 28, tzinfo=UTC)
    as_of = dt.datetime(2026, 3, 29, 20, tzinfo=UTC)
    msgs = satisfaction_surveys(events, start=since, as_of=as_of, ctx=_ctx())
    due = {m.key[-2:]: m.not_before for m in msgs}
    assert due["B1"] == dt.datetime(2026, 3, 29, 19, 30, tzinfo=UTC)
    assert due["S1"] == dt.datetime(2026, 3, 29, 12, 30, tzinfo=UTC)
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        outbox.enqueue_many(msgs)
        clock = ManualClock(dt.datetime(2026, 3, 29, 12, 30, tzinfo=UTC))
        channel = RecordingChannel()
        report = _dispatch(outbox, clock, channel).run_once()  # 20:30 in Shanghai
        assert (report.claimed, report.sent) == (1, 1)
        assert [m.key[-2:] for m in channel.sent] == ["S1"]
        clock.set(dt.datetime(2026, 3, 29, 19, 30, tzinfo=UTC))
        report = _dispatch(outbox, clock, channel).run_once()
        assert (report.sent, report.deferred) == (0, 1)
        entry = outbox.get("care:satisfaction_survey:order-B1")
        assert entry is not None
        assert entry.state is OutboxState.PENDING
        assert entry.due_at == dt.datetime(2026, 3, 30, 6, tzinfo=UTC)
        assert entry.due_at.astimezone(BERLIN).strftime("%H:%M %Z") == "08:00 CEST"
        clock.set(dt.datetime(2026, 3, 30, 5, 59, tzinfo=UTC))
        assert _dispatch(outbox, clock, channel).run_once().claimed == 0
        clock.set(dt.datetime(2026, 3, 30, 6, tzinfo=UTC))
        assert _dispatch(outbox, clock, channel).run_once().sent == 1
        assert [m.key[-2:] for m in channel.sent] == ["S1", "B1"]


def test_fall_back_pulls_a_24_hour_survey_before_the_morning_window(tmp_path: Path) -> None:
    """Shipped Sat 2026-10-24 08:30 CEST (06:30 UTC); 24 h later is Sun 06:30 UTC = 07:30
    CET (the clocks went back that night), before 08:00, so it waits for 08:00 CET =
    07:00 UTC."""
    events = OrderEvents.from_events([
        OrderEvent("B2", "c2", "shipped", dt.datetime(2026, 10, 24, 8, 30, tzinfo=BERLIN))])
    msgs = satisfaction_surveys(events, start=dt.datetime(2026, 10, 24, tzinfo=UTC),
                                as_of=dt.datetime(2026, 10, 26, tzinfo=UTC), ctx=_ctx())
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        outbox.enqueue_many(msgs)
        clock = ManualClock(dt.datetime(2026, 10, 25, 6, 30, tzinfo=UTC))
        channel = RecordingChannel()
        assert _dispatch(outbox, clock, channel).run_once().deferred == 1
        entry = outbox.get("care:satisfaction_survey:order-B2")
        assert entry is not None
        assert entry.due_at == dt.datetime(2026, 10, 25, 7, tzinfo=UTC)
        assert entry.due_at.astimezone(BERLIN).strftime("%H:%M %Z") == "08:00 CET"


def test_a_care_frequency_cap_defers_the_survey(tmp_path: Path) -> None:
    """With at most 1 care SMS per customer per day, a survey due at 10:00 after a care
    message sent at 09:00 waits until 09:00 the next day."""
    policy = SendPolicy(care=ClassRules(respect_opt_out=False,
                                        allowed=LocalTimeRange(dt.time(8), dt.time(21)),
                                        caps=(FrequencyCap(1, dt.timedelta(days=1)),)))
    t9 = dt.datetime(2026, 12, 2, 9, tzinfo=SH)
    earlier = Message("care:usage_tutorial:order-A0", "usage_tutorial", MessageClass.CARE,
                      ChannelKind.SMS, Recipient("c1", phone="13800000001",),
                      "【小林茶铺】使用教程", created_at=t9, not_before=t9)
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        outbox.enqueue(earlier)
        clock = ManualClock(t9)
        channel = RecordingChannel()
        assert _dispatch(outbox, clock, channel, policy=policy).run_once().sent == 1
        outbox.enqueue_many(satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H,
                                                 ctx=_ctx()))
        clock.set(t9 + H)
        report = _dispatch(outbox, clock, channel, policy=policy).run_once()
        assert (report.sent, report.deferred) == (0, 1)  # A4 (c4) is not due until 12:00
        entry = outbox.get("care:satisfaction_survey:order-A1")
        assert entry is not None
        assert entry.due_at == t9 + 24 * H


def test_a_customer_who_opted_out_gets_no_survey(tmp_path: Path) -> None:
    at = dt.datetime(2026, 12, 1, 20, tzinfo=SH)
    with SqliteOptOutRegistry(tmp_path / "optout.db") as registry:
        assert handle_reply("138 0000 0001", "TD", at=at, registry=registry).opted_out
        got = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=_ctx(),
                                   opt_outs=registry)
        assert [m.key for m in got] == ["care:satisfaction_survey:order-A4"]


def test_an_opt_out_after_the_survey_was_queued_stops_it_at_dispatch(tmp_path: Path) -> None:
    msgs = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=_ctx())
    with SqliteOutbox(tmp_path / "outbox.db") as outbox, \
            SqliteOptOutRegistry(tmp_path / "optout.db") as registry:
        outbox.enqueue_many(msgs)
        handle_reply("13800000001", "退订", at=D1 + 20 * H, registry=registry)
        clock = ManualClock(dt.datetime(2026, 12, 2, 13, tzinfo=SH))
        channel = RecordingChannel()
        report = _dispatch(outbox, clock, channel,
                           guard=service_guard(opt_outs=registry)).run_once()
        assert (report.sent, report.skipped) == (1, 1)
        assert [m.recipient.customer_id for m in channel.sent] == ["c4"]
        entry = outbox.get("care:satisfaction_survey:order-A1")
        assert entry is not None
        assert entry.state is OutboxState.SKIPPED
        assert entry.last_error == "skipped: address opted out on SMS: no survey"


# -- the survey after a ticket ----------------------------------------------------------
T0 = dt.datetime(2026, 12, 4, 17, 0, tzinfo=SH)  # a Friday


def _complaint(tid: str = "T-1", customer: str = "c1", assignee: str | None = "小王"
               ) -> Ticket:
    t = Ticket.open(tid, kind="complaint", customer_id=customer, order_id="A1",
                    created_at=T0, subject="发货三天还没到，物流太慢")
    return t if assignee is None else t.assign(assignee, at=T0 + 5 * dt.timedelta(minutes=1),
                                                actor="组长")


def test_a_ticket_survey_follows_the_last_resolution_unless_reopened() -> None:
    done = _complaint().resolve(at=T0 + 2 * H, actor="小王")
    reopened = _complaint("T-2", "c4").resolve(at=T0 + H, actor="小王").reopen(
        at=T0 + 1.5 * H, actor="c4")
    got = ticket_surveys([done, reopened], start=T0, as_of=T0 + 24 * H, ctx=_ctx())
    assert [m.key for m in got] == ["care:ticket_survey:ticket-T-1"]
    assert got[0].not_before == T0 + 3 * H
    assert got[0].body == ("【小林茶铺】小林，您的售后问题（工单T-1）已处理，对本次服务满意吗？"
                           "请回复1-5分")
    assert got[0].meta("survey_target") == "ticket"
    assert got[0].meta("order_id") == "A1"


# -- the operator's callback reminder -------------------------------------------------------
OPS = {"小王": Recipient("op-xw", phone="13900000001")}
LEAD = Recipient("op-lead", phone="13900000009")


def test_a_complaint_reminds_its_operator_at_once_of_the_48_hour_callback() -> None:
    got = callback_reminders([_complaint()], start=T0 - H, as_of=T0 + H, ctx=_ctx(),
                             operators=OPS)
    assert len(got) == 1
    m = got[0]
    assert m.key == "care:callback_reminder:ticket-T-1"
    assert m.recipient.customer_id == "op-xw"
    assert m.message_class is MessageClass.TRANSACTIONAL
    assert m.not_before == T0
    assert m.body == ("【小林茶铺】小王：请在 2026-12-06 17:00 前电话回访客户 c1"
                      "（工单 T-1：发货三天还没到，物流太慢）")
    assert m.meta("expires_at") == "2026-12-06T17:00:00+08:00"


def test_a_lead_moves_the_reminder_before_the_due_time_and_unassigned_goes_to_fallback(
        ) -> None:
    window = {"start": T0, "as_of": T0 + 72 * H, "ctx": _ctx(), "operators": OPS}
    got = callback_reminders([_complaint(), _complaint("T-3", "c4", None)],
                             lead=4 * H, fallback=LEAD, **window)  # type: ignore[arg-type]
    assert [(m.key[-3:], m.recipient.customer_id, m.not_before) for m in got] == [
        ("T-1", "op-xw", dt.datetime(2026, 12, 6, 13, tzinfo=SH)),
        ("T-3", "op-lead", dt.datetime(2026, 12, 6, 13, tzinfo=SH))]
    # no fallback: the unassigned ticket reminds nobody; other kinds owe no callback
    other = Ticket.open("T-4", kind="inquiry", customer_id="c1", created_at=T0)
    got = callback_reminders([_complaint("T-3", "c4", None), other], lead=4 * H,
                             **window)  # type: ignore[arg-type]
    assert got == []
    closed = _complaint().resolve(at=T0 + H, actor="小王").close(at=T0 + 2 * H, actor="小王")
    assert callback_reminders([closed], lead=4 * H, **window) == []  # type: ignore[arg-type]


def test_a_reminder_that_cannot_go_out_before_the_callback_is_due_is_skipped() -> None:
    """Reminders only 09:00–12:00: one due Sun 13:00 would wait until Mon 09:00, after
    the callback was due (Sun 17:00), so the policy skips it."""
    policy = SendPolicy(by_type={"callback_reminder": TimeRules(allowed="09:00-12:00")})
    m = callback_reminders([_complaint()], start=T0, as_of=T0 + 72 * H, ctx=_ctx(),
                           operators=OPS, lead=4 * H)[0]
    decision = policy.decide(m, as_of=m.not_before)  # type: ignore[arg-type]
    assert isinstance(decision, Skip)
    assert decision.reason == ("outside the allowed local time (13:00 Asia/Shanghai); it would "
                               "go out after it expires at 2026-12-06T17:00:00+08:00 "
                               "(callback due)")
    early = callback_reminders([_complaint()], start=T0, as_of=T0 + 72 * H, ctx=_ctx(),
                               operators=OPS, lead=10 * H)[0]  # Sun 07:00
    assert policy.decide(early, as_of=early.not_before).until == dt.datetime(  # type: ignore
        2026, 12, 6, 9, tzinfo=SH)


def test_the_guard_skips_a_reminder_whose_ticket_was_closed_since(tmp_path: Path) -> None:
    with SqliteTicketStore(tmp_path / "tickets.db") as tickets, \
            SqliteOutbox(tmp_path / "outbox.db") as outbox:
        tickets.add(_complaint())
        outbox.enqueue_many(callback_reminders(tickets.tickets(), start=T0 - H, as_of=T0,
                                               ctx=_ctx(), operators=OPS))
        tickets.update("T-1", lambda t: t.resolve(at=T0 + H, actor="小王").close(
            at=T0 + H, actor="小王"))
        channel = RecordingChannel()
        guard = service_guard(ticket_state=lambda tid: tickets.get(tid).state)
        report = _dispatch(outbox, ManualClock(T0 + 2 * H), channel, guard=guard).run_once()
        assert (report.sent, report.skipped) == (0, 1)
        entry = outbox.get("care:callback_reminder:ticket-T-1")
        assert entry is not None
        assert entry.last_error == "skipped: ticket T-1 is closed"
        assert tickets.get("T-1").state is TicketState.CLOSED


# -- replies -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_reply_to_a_survey_is_stored_against_its_order_once(kind: str,
                                                               tmp_path: Path) -> None:
    survey = satisfaction_surveys(_events(), start=D1, as_of=D1 + 72 * H, ctx=_ctx())[0]
    store = MemoryScoreStore() if kind == "memory" else SqliteScoreStore(tmp_path / "s.db")
    at = dt.datetime(2026, 12, 2, 10, 30, tzinfo=SH)
    assert record_survey_reply(store, survey, "非常满意！", replied_at=at) is \
        RecordOutcome.RECORDED
    assert record_survey_reply(store, survey, "非常满意！", replied_at=at) is \
        RecordOutcome.DUPLICATE
    assert record_survey_reply(store, survey, "T", replied_at=at + H) is None
    [score] = store.scores()
    assert (score.target.value, score.target_id, score.customer_id, score.score) == (
        "order", "A1", "c1", 5)
    with pytest.raises(InvalidValueError, match="survey"):
        record_survey_reply(store, attrs_evolve_meta(survey), "5", replied_at=at)


def attrs_evolve_meta(m: Message) -> Message:
    import attrs
    return attrs.evolve(m, metadata={"order_id": "A1"})


def test_the_guard_lets_a_reminder_of_an_unknown_ticket_go(tmp_path: Path) -> None:
    [m] = callback_reminders([_complaint()], start=T0 - H, as_of=T0, ctx=_ctx(),
                             operators=OPS)
    with SqliteTicketStore(tmp_path / "tickets.db") as tickets:
        guard = service_guard(ticket_state=lambda tid: tickets.get(tid).state)
        assert guard(m, T0) is None


# -- properties: windows split anywhere, and a plain reference for the due moments ----------
@settings(max_examples=60, deadline=None)
@given(st.lists(order_events(max_customers=4, min_value=dt.datetime(2026, 1, 1),
                             max_value=dt.datetime(2026, 1, 20)), max_size=25),
       st.integers(0, 30 * 24), st.integers(0, 72))
def test_surveys_match_a_plain_reference_and_windows_split_anywhere(
        drawn: list[OrderEvent], cut_h: int, after_h: int) -> None:
    events = OrderEvents.from_events(drawn)
    ctx = FlowContext(SmsComposer("【小林茶铺】"))  # no table: in-app messages by customer id
    ctx = attrs.evolve(ctx, channel=ChannelKind.IN_APP)
    start = dt.datetime(2025, 12, 30, tzinfo=UTC)
    end = dt.datetime(2026, 2, 1, tzinfo=UTC)
    cut = start + cut_h * H
    after = after_h * H
    whole = satisfaction_surveys(events, start=start, as_of=end, ctx=ctx, after=after)
    parts = (satisfaction_surveys(events, start=start, as_of=cut, ctx=ctx, after=after)
             + satisfaction_surveys(events, start=cut, as_of=end, ctx=ctx, after=after))
    assert sorted(m.key for m in parts) == sorted(m.key for m in whole)
    # the reference: first shipping instant per order + after, unless refunded/closed by then
    first: dict[str, dt.datetime] = {}
    stop: dict[str, dt.datetime] = {}
    for e in drawn:
        oid = str(e.order_id)
        if e.kind in (OrderEventKind.SHIPPED, OrderEventKind.MULTI_WAREHOUSE_SHIPPED):
            first[oid] = min(first.get(oid, e.at), e.at)
        if e.kind in (OrderEventKind.REFUNDED, OrderEventKind.CLOSED):
            stop[oid] = min(stop.get(oid, e.at), e.at)
    expected = {f"care:satisfaction_survey:order-{o}": t + after for o, t in first.items()
                if start < t + after <= end and not (o in stop and stop[o] <= t + after)}
    assert {m.key: m.not_before for m in whole} == expected
    assert [m.not_before for m in whole] == sorted(expected.values())
