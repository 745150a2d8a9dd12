"""The send policy: hand-worked decisions and properties over every zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ecrm import InvalidValueError
from ecrm.testing import (
    aware_datetimes,
    messages,
    phone_numbers,
    recipients,
    send_policies,
    time_zone_names,
)
from ecrm.touch import (
    DEFAULT_TYPE_RULES,
    Accepted,
    ChannelKind,
    ClassRules,
    Defer,
    Dispatcher,
    FrequencyCap,
    InMemoryOptOutRegistry,
    InMemoryOutbox,
    LocalTimeRange,
    ManualClock,
    Message,
    MessageClass,
    MockChannel,
    OnBlocked,
    PolicyContext,
    Recipient,
    Send,
    SendLog,
    SendPolicy,
    Skip,
    TimeRules,
    logistics_rules,
    payment_reminder_rules,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def _msg(
    at: dt.datetime,
    *,
    cls: MessageClass = MessageClass.MARKETING,
    tz: str | None = "Asia/Shanghai",
    cid: str = "c1",
    phone: str = "13800000000",
    key: str = "k1",
    mtype: str = "broadcast",
    dedupe: str | None = None,
    not_before: dt.datetime | None = None,
) -> Message:
    return Message(key, mtype, cls, ChannelKind.SMS, Recipient(cid, phone=phone, tz=tz),
                   "【小林茶铺】上新啦回T退订", created_at=at, dedupe_key=dedupe,
                   not_before=not_before)


def _ctx(**kw: object) -> PolicyContext:
    base: dict[str, object] = {"opt_outs": InMemoryOptOutRegistry(), "members": {"c1", "c2"}}
    base.update(kw)
    return PolicyContext(**base)  # type: ignore[arg-type]


NO_CAPS = attrs.evolve(SendPolicy().marketing, caps=())
POLICY = SendPolicy(marketing=NO_CAPS)


# -- hand-worked examples ---------------------------------------------------------------
def test_marketing_inside_the_window_is_sent_with_a_trace() -> None:
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    d = POLICY.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Send)
    assert [c.rule for c in d.trace] == [
        "block_list", "opt_out", "members_only", "max_lateness", "time_window"
    ]
    assert all(c.passed for c in d.trace)


def test_marketing_at_21_00_is_deferred_to_08_00_next_day() -> None:
    now = dt.datetime(2026, 12, 12, 21, 0, tzinfo=SH)  # the window is [08:00, 21:00)
    d = POLICY.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 13, 8, 0, tzinfo=SH)
    assert "outside the allowed local time" in d.reason
    assert d.trace[-1].rule == "time_window"
    assert not d.trace[-1].passed


def test_20_59_30_is_inside_the_window() -> None:
    now = dt.datetime(2026, 12, 12, 20, 59, 30, tzinfo=SH)
    assert isinstance(POLICY.decide(_msg(now), as_of=now, context=_ctx()), Send)


def test_window_uses_the_recipients_zone_not_the_stores() -> None:
    # 10:00 in Shanghai is 21:00 the day before in New York: outside NY's window
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    d = POLICY.decide(_msg(now, tz="America/New_York"), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 8, 0, tzinfo=NY)
    assert d.until.utcoffset() == dt.timedelta(hours=-5)


def test_zone_falls_back_to_the_store_and_skips_when_none_is_known() -> None:
    now = dt.datetime(2026, 12, 12, 23, 0, tzinfo=dt.UTC)  # 07:00 next day in Shanghai
    d = POLICY.decide(_msg(now, tz=None), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 13, 8, 0, tzinfo=SH)
    no_store = attrs.evolve(POLICY, store_tz=None)
    s = no_store.decide(_msg(now, tz=None), as_of=now, context=_ctx())
    assert isinstance(s, Skip)
    assert "no time zone" in s.reason


def test_transactional_needs_no_zone_and_ignores_opt_outs() -> None:
    now = dt.datetime(2026, 12, 12, 3, 0, tzinfo=SH)
    optouts = InMemoryOptOutRegistry([("13800000000", ChannelKind.SMS)])
    policy = attrs.evolve(POLICY, store_tz=None)
    msg = _msg(now, cls=MessageClass.TRANSACTIONAL, tz=None)
    assert isinstance(policy.decide(msg, as_of=now, context=_ctx(opt_outs=optouts)), Send)


def test_blocked_hours_defer_past_the_lunch_break() -> None:
    rules = attrs.evolve(NO_CAPS, blocked=("12:00-13:30", "17:30-19:00"))
    policy = SendPolicy(marketing=rules)
    now = dt.datetime(2026, 12, 12, 12, 10, tzinfo=SH)
    d = policy.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 13, 30, tzinfo=SH)
    now = dt.datetime(2026, 12, 12, 20, 59, 59, tzinfo=SH)  # next minute is 21:00: closed
    d = policy.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Send)


def test_skip_policy_skips_instead_of_deferring() -> None:
    policy = SendPolicy(marketing=attrs.evolve(NO_CAPS, on_blocked=OnBlocked.SKIP))
    now = dt.datetime(2026, 12, 12, 22, 0, tzinfo=SH)
    d = policy.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Skip)
    assert "22:00" in d.reason


def test_skip_rules_still_wait_for_a_message_that_is_not_due_yet() -> None:
    policy = SendPolicy(marketing=attrs.evolve(NO_CAPS, on_blocked=OnBlocked.SKIP))
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    due_open = dt.datetime(2026, 12, 12, 18, 0, 30, tzinfo=SH)
    d = policy.decide(_msg(now, not_before=due_open), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 18, 1, tzinfo=SH)
    due_closed = dt.datetime(2026, 12, 12, 22, 0, tzinfo=SH)
    s = policy.decide(_msg(now, not_before=due_closed), as_of=now, context=_ctx())
    assert isinstance(s, Skip)
    assert s.reason == "not due yet; due at a blocked local time"


def test_max_lateness_turns_a_long_deferral_into_a_skip() -> None:
    policy = SendPolicy(marketing=attrs.evolve(NO_CAPS, max_lateness=dt.timedelta(hours=6)))
    created = dt.datetime(2026, 12, 12, 20, 0, tzinfo=SH)
    now = dt.datetime(2026, 12, 12, 21, 30, tzinfo=SH)
    d = policy.decide(_msg(created), as_of=now, context=_ctx())
    assert isinstance(d, Skip)  # 08:00 next day is 12 h after creation
    assert "too late" in d.reason
    later = dt.datetime(2026, 12, 13, 3, 0, tzinfo=SH)
    stale = policy.decide(_msg(created), as_of=later, context=_ctx())
    assert isinstance(stale, Skip)
    assert stale.reason.startswith("stale")


def test_opt_out_block_list_and_membership_skip_marketing() -> None:
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    optouts = InMemoryOptOutRegistry([("+86 138 0000 0000", ChannelKind.SMS)])
    assert "opted out" in _reason(POLICY.decide(_msg(now), as_of=now,
                                                context=_ctx(opt_outs=optouts)))
    # an opt-out on another channel does not count
    email_only = InMemoryOptOutRegistry([("13800000000", ChannelKind.EMAIL)])
    assert isinstance(POLICY.decide(_msg(now), as_of=now, context=_ctx(opt_outs=email_only)),
                      Send)
    assert "block list" in _reason(POLICY.decide(_msg(now), as_of=now,
                                                 context=_ctx(blocked={"c1"})))
    assert "not a member" in _reason(POLICY.decide(_msg(now, cid="c9"), as_of=now,
                                                   context=_ctx()))
    assert "membership not provided" in _reason(POLICY.decide(_msg(now), as_of=now,
                                                              context=_ctx(members=None)))
    assert "opt-out list not provided" in _reason(POLICY.decide(
        _msg(now), as_of=now, context=PolicyContext(members={"c1"})))


def test_consent_rule() -> None:
    policy = SendPolicy(marketing=attrs.evolve(NO_CAPS, requires_consent=True))
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    assert "consent records" in _reason(policy.decide(_msg(now), as_of=now, context=_ctx()))
    assert "no consent" in _reason(policy.decide(_msg(now), as_of=now,
                                                 context=_ctx(consented={"c2"})))
    assert isinstance(policy.decide(_msg(now), as_of=now, context=_ctx(consented={"c1"})), Send)


def _reason(d: object) -> str:
    assert isinstance(d, Skip), d
    return d.reason


def test_dedupe_one_payment_reminder_per_order() -> None:
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    log = SendLog()
    first = _msg(now, cls=MessageClass.TRANSACTIONAL, mtype="payment_reminder", dedupe="o-1")
    assert isinstance(POLICY.decide(first, as_of=now, context=_ctx(history=log)), Send)
    log.record(first, now)
    again = attrs.evolve(first, key="k2")
    assert "already sent" in _reason(POLICY.decide(again, as_of=now, context=_ctx(history=log)))
    other_order = attrs.evolve(first, key="k3", dedupe_key="o-2")
    assert isinstance(POLICY.decide(other_order, as_of=now, context=_ctx(history=log)), Send)


def test_frequency_cap_defers_until_the_oldest_send_leaves_the_window() -> None:
    rules = attrs.evolve(NO_CAPS, caps=(FrequencyCap(2, dt.timedelta(days=7)),),
                         max_lateness=None)
    policy = SendPolicy(marketing=rules)
    log = SendLog()
    t1 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
    t2 = dt.datetime(2026, 12, 3, 22, 30, tzinfo=SH)  # recorded sends, times as given
    log.record(_msg(t1, key="a"), t1)
    log.record(_msg(t2, key="b"), t2)
    now = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SH)
    d = policy.decide(_msg(now, key="c"), as_of=now, context=_ctx(history=log))
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 8, 10, 0, tzinfo=SH)  # t1 + 7 days, allowed
    # other customers and other channels are not capped
    assert isinstance(policy.decide(_msg(now, key="d", cid="c2"), as_of=now,
                                    context=_ctx(history=log)), Send)
    # when the freed moment is outside the window, it moves to the next allowed minute
    log2 = SendLog()
    t3 = dt.datetime(2026, 12, 1, 20, 59, 30, tzinfo=SH)
    log2.record(_msg(t3, key="x"), t3)
    log2.record(_msg(t3, key="y"), t3)
    d2 = policy.decide(_msg(now, key="z"), as_of=now, context=_ctx(history=log2))
    assert isinstance(d2, Defer)
    assert d2.until == dt.datetime(2026, 12, 9, 8, 0, tzinfo=SH)
    assert [(c.rule, c.passed) for c in d2.trace[-2:]] == [
        ("frequency_cap", False), ("time_window", False)]
    assert d2.trace[-1].detail == "21:00 local is outside the allowed time; next allowed 08:00"


def test_not_before_defers_to_the_next_whole_minute() -> None:
    now = dt.datetime(2026, 12, 12, 10, 0, tzinfo=SH)
    nb = dt.datetime(2026, 12, 12, 10, 30, 15, tzinfo=SH)
    d = POLICY.decide(_msg(now, cls=MessageClass.TRANSACTIONAL, not_before=nb), as_of=now,
                      context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 10, 31, tzinfo=SH)


def test_window_wrapping_midnight() -> None:
    night = attrs.evolve(NO_CAPS, allowed="22:00-02:00", max_lateness=None)
    policy = SendPolicy(marketing=night)
    now = dt.datetime(2026, 12, 12, 1, 59, tzinfo=SH)
    assert isinstance(policy.decide(_msg(now), as_of=now, context=_ctx()), Send)
    now = dt.datetime(2026, 12, 12, 2, 0, tzinfo=SH)
    d = policy.decide(_msg(now), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 22, 0, tzinfo=SH)


def test_deferral_across_a_spring_forward_gap() -> None:
    # New York, 2026-03-08: 02:00 → 03:00. A window opening at 02:30 first opens at 03:00.
    rules = attrs.evolve(NO_CAPS, allowed="02:30-21:00", max_lateness=None)
    policy = SendPolicy(marketing=rules)
    now = dt.datetime(2026, 3, 8, 1, 45, tzinfo=NY)
    d = policy.decide(_msg(now, tz="America/New_York"), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until.astimezone(dt.UTC) == dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC)
    assert d.until.astimezone(NY).strftime("%H:%M %Z") == "03:00 EDT"


def test_deferral_across_a_fall_back_fold() -> None:
    # New York, 2026-11-01: 02:00 EDT → 01:00 EST. Window 08:00–21:00 from 23:00 the day before.
    now = dt.datetime(2026, 10, 31, 23, 0, tzinfo=NY)
    d = POLICY.decide(_msg(now, tz="America/New_York"), as_of=now, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until.astimezone(dt.UTC) == dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)


def test_decisions_in_a_fold_are_not_confused_by_the_caches() -> None:
    # 01:30 EDT and 01:30 EST on 2026-11-01 are equal wall times an hour apart: in
    # Shanghai they are 13:30 and 14:30, both allowed, but the blocked hour 14:00-15:00
    # stops the second one only
    policy = SendPolicy(marketing=attrs.evolve(NO_CAPS, blocked=("14:00-15:00",)))
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY)
    second = first.replace(fold=1)
    assert second - first == dt.timedelta(0)  # intra-zone arithmetic ignores fold...
    assert second.astimezone(dt.UTC) - first.astimezone(dt.UTC) == dt.timedelta(hours=1)
    m = _msg(first.astimezone(dt.UTC) - dt.timedelta(hours=1))
    assert isinstance(policy.decide(m, as_of=first, context=_ctx()), Send)
    d = policy.decide(m, as_of=second, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 11, 1, 15, 0, tzinfo=SH)


def test_explain_lists_each_check() -> None:
    now = dt.datetime(2026, 12, 12, 22, 0, tzinfo=SH)
    text = POLICY.decide(_msg(now), as_of=now, context=_ctx()).explain()
    assert text.splitlines()[0].startswith("defer until 2026-12-13T08:00:00+08:00")
    assert "FAIL time_window" in text


# -- construction errors ------------------------------------------------------------------
def test_rules_that_leave_no_allowed_minute_are_refused() -> None:
    with pytest.raises(InvalidValueError, match="no allowed minute"):
        ClassRules(allowed="08:00-21:00", blocked=("07:00-22:00",))


@pytest.mark.parametrize("text", ["8-21", "08:00", "25:00-26:00", "08:00-08:00", "08:61-09:00"])
def test_bad_time_ranges_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        LocalTimeRange.parse(text)


def test_bad_policy_values_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        SendPolicy(store_tz="Mars/Olympus")
    with pytest.raises(InvalidValueError):
        FrequencyCap(1, dt.timedelta(0))
    with pytest.raises(TypeError, match="both period= and its deprecated alias window="):
        FrequencyCap(1, period=dt.timedelta(days=1), window=dt.timedelta(days=1))
    with pytest.raises(ValueError, match="max_count"):
        FrequencyCap(0, dt.timedelta(days=1))
    with pytest.raises(InvalidValueError):
        ClassRules(max_lateness=dt.timedelta(hours=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        POLICY.decide(_msg(dt.datetime(2026, 1, 1, tzinfo=SH)), as_of=dt.datetime(2026, 1, 1))


# -- properties ---------------------------------------------------------------------------
def _allowed_at(policy: SendPolicy, message: Message, instant: dt.datetime) -> bool:
    """Independent recomputation: is ``instant`` inside the allowed local time of the
    message's rules (its class's, narrowed by its type's window)?"""
    rules = policy.rules_of(message)
    tz = message.recipient.tz or policy.store_tz
    assert tz is not None
    local = instant.astimezone(ZoneInfo(tz)).time()
    if rules.allowed is not None and not _in(rules.allowed, local):
        return False
    return not any(_in(r, local) for r in rules.blocked)


def _in(r: LocalTimeRange, t: dt.time) -> bool:
    t = t.replace(second=0, microsecond=0)
    if r.start < r.end or r.end == dt.time(0):
        return r.start <= t and (r.end == dt.time(0) or t < r.end)
    return t >= r.start or t < r.end


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[SendPolicy, Message, PolicyContext, dt.datetime]:
    policy = draw(send_policies(store_tz=st.sampled_from(
        ("Asia/Shanghai", "America/New_York", "Pacific/Chatham", "Australia/Lord_Howe", None)
    )))
    msg = draw(messages(message_class=MessageClass.MARKETING, channel=ChannelKind.SMS))
    # decide within two days of creation (so lateness rules matter but do not always skip)
    delay = dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=2880)))
    now = (msg.created_at.astimezone(dt.UTC) + delay).astimezone(msg.created_at.tzinfo)
    opted = draw(st.lists(phone_numbers(), max_size=3))
    if draw(st.booleans()):
        opted.append(msg.address)
    blocked = draw(st.sets(st.sampled_from(["c0001", "c0002", msg.recipient.customer_id])))
    members = draw(st.sets(st.sampled_from(["c0001", "c0003", msg.recipient.customer_id])))
    ctx = PolicyContext(opt_outs=InMemoryOptOutRegistry((p, ChannelKind.SMS) for p in opted),
                        blocked=blocked, members=members)
    return policy, msg, ctx, now


@given(_scenarios())
def test_marketing_is_never_sent_to_opted_out_or_blocked_or_in_quiet_hours(
    scenario: tuple[SendPolicy, Message, PolicyContext, dt.datetime],
) -> None:
    policy, msg, ctx, now = scenario
    d = policy.decide(msg, as_of=now, context=ctx)
    if isinstance(d, Send):
        assert ctx.opt_outs is not None
        assert not ctx.opt_outs.is_opted_out(msg.address, ChannelKind.SMS)
        assert msg.recipient.customer_id not in ctx.blocked
        if policy.marketing.members_only:
            assert ctx.members is not None
            assert msg.recipient.customer_id in ctx.members
        assert _allowed_at(policy, msg, now)


_PEOPLE = ("c0001", "c0002", "c0003")


@given(st.data())
def test_the_dispatcher_never_sends_marketing_against_the_rules(data: st.DataObject) -> None:
    """End to end: whatever reaches the channel passed every rule at the moment it went."""
    policy = data.draw(send_policies(store_tz=st.sampled_from(
        ("Asia/Shanghai", "America/New_York", "Pacific/Chatham", None))))
    created = aware_datetimes(min_value=dt.datetime(2026, 3, 7, 20),
                              max_value=dt.datetime(2026, 3, 8, 8))  # US DST: 8th, 02:00
    msgs = data.draw(st.lists(
        messages(message_class=MessageClass.MARKETING, channel=ChannelKind.SMS,
                 recipient=recipients(max_customers=len(_PEOPLE)), created_at=created),
        min_size=1, max_size=8, unique_by=lambda m: m.key))
    # at most one customer refused per rule, so that most examples do send something
    opted = data.draw(st.sets(st.sampled_from(sorted({m.address for m in msgs})), max_size=1))
    blocked = data.draw(st.sets(st.sampled_from(_PEOPLE), max_size=1))
    members = data.draw(st.sets(st.sampled_from(_PEOPLE), min_size=2))
    steps = data.draw(st.lists(st.integers(min_value=1, max_value=18 * 60), min_size=1,
                               max_size=8).map(lambda s: [*s, 3 * 24 * 60]))  # and a late run
    ctx = PolicyContext(opt_outs=InMemoryOptOutRegistry((a, ChannelKind.SMS) for a in opted),
                        blocked=blocked, members=members)
    outbox = InMemoryOutbox()
    outbox.enqueue_many(msgs)
    first_due = min(m.not_before or m.created_at for m in msgs)
    clock = ManualClock(first_due.astimezone(dt.UTC) - dt.timedelta(minutes=1))
    sent: list[tuple[Message, dt.datetime]] = []

    def record(m: Message) -> Accepted:  # never raise here: an adapter error is a retry
        sent.append((m, clock.now()))
        return Accepted(f"p-{len(sent)}")

    dispatcher = Dispatcher(outbox, MockChannel(record), clock=clock, policy=policy,
                            context=ctx)
    for minutes in steps:
        clock.advance(dt.timedelta(minutes=minutes))
        dispatcher.run_once()
    event(f"{'some' if sent else 'no'} sends, {'some' if len(sent) < len(msgs) else 'none'} held")
    for m, at in sent:
        assert m.address not in opted
        assert m.recipient.customer_id not in blocked
        if policy.marketing.members_only:
            assert m.recipient.customer_id in members
        assert _allowed_at(policy, m, at)  # (and a zone was known: the check needs one)
        assert at >= (m.not_before or m.created_at)
        for cap in policy.marketing.caps:  # a send at t counts for moments in [t, t + period)
            same = [t for x, t in sent if x.recipient.customer_id == m.recipient.customer_id]
            assert sum(at - cap.period < t <= at for t in same) <= cap.max_count
    assert len({m.key for m, _ in sent}) == len(sent)  # nothing sent twice


@given(_scenarios())
def test_defer_until_is_the_next_allowed_minute(
    scenario: tuple[SendPolicy, Message, PolicyContext, dt.datetime],
) -> None:
    policy, msg, _, now = scenario
    ctx = PolicyContext(opt_outs=InMemoryOptOutRegistry(), members={msg.recipient.customer_id})
    d = policy.decide(msg, as_of=now, context=ctx)
    if not isinstance(d, Defer):
        return
    assert d.until > now
    assert d.until.second == 0
    assert d.until.microsecond == 0
    assert _allowed_at(policy, msg, d.until)
    earliest = max(now, msg.not_before or now)
    if earliest == now:
        # no allowed whole minute between now and until (walk real UTC minutes)
        t = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
        if t < now:
            t += dt.timedelta(minutes=1)
        while t < d.until:
            assert not _allowed_at(policy, msg, t), t
            t += dt.timedelta(minutes=1)


@given(time_zone_names(), aware_datetimes(), st.sampled_from(list(MessageClass)))
def test_decisions_are_pure(tz: str, now: dt.datetime, cls: MessageClass) -> None:
    msg = _msg(now, cls=cls, tz=tz)
    ctx = _ctx()
    assert POLICY.decide(msg, as_of=now, context=ctx) == POLICY.decide(msg, as_of=now, context=ctx)


# -- time windows per flow (DESIGN 3.6a) ------------------------------------------------
BERLIN = ZoneInfo("Europe/Berlin")


def _reminder(due: dt.datetime, *, tz: str | None = "Asia/Shanghai",
              expires: dt.datetime | None = None, mtype: str = "payment_reminder",
              cls: MessageClass = MessageClass.TRANSACTIONAL) -> Message:
    meta = {"order_id": "A1"}
    if expires is not None:
        meta |= {"expires_at": expires.isoformat(), "expiry": "order auto-close"}
    return Message(f"care:{mtype}:order-A1", mtype, cls, ChannelKind.SMS,
                   Recipient("c1", phone="13800000000", tz=tz), "【小林茶铺】您的订单还未付款",
                   created_at=due, not_before=due, dedupe_key="order-A1", metadata=meta)


def test_a_payment_reminder_at_02_00_waits_for_08_00_in_the_store_zone() -> None:
    """The issue's case: a 02:00 reminder went out at once; now it waits out rest hours."""
    due = dt.datetime(2026, 6, 2, 2, 0, tzinfo=SH)
    d = SendPolicy().decide(_reminder(due, tz=None), as_of=due, context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=SH)
    assert "02:00" in d.reason
    assert [c.rule for c in d.trace if not c.passed] == ["time_window"]


@pytest.mark.parametrize(("local", "sent"), [
    (dt.time(21, 59), True), (dt.time(22, 0), False), (dt.time(3, 0), False),
    (dt.time(7, 59), False), (dt.time(8, 0), True), (dt.time(13, 0), True),
])
def test_rest_hours_are_22_to_08_in_the_recipients_zone(local: dt.time, sent: bool) -> None:
    due = dt.datetime.combine(dt.date(2026, 6, 2), local, BERLIN)
    d = SendPolicy().decide(_reminder(due, tz="Europe/Berlin"), as_of=due,
                            context=PolicyContext())
    assert isinstance(d, Send) is sent
    if not sent:
        assert isinstance(d, Defer)
        assert d.until.astimezone(BERLIN).time() == dt.time(8, 0)


def test_rest_hours_across_the_spring_forward_night_in_berlin() -> None:
    # 2026-03-29: clocks jump 02:00 CET → 03:00 CEST; 23:30 CET = 22:30 UTC, and 08:00
    # CEST next morning = 06:00 UTC (a night of 7.5 h, one hour shorter than the wall says)
    due = dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC)
    d = SendPolicy().decide(_reminder(due, tz="Europe/Berlin"), as_of=due,
                            context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)
    assert d.until.astimezone(BERLIN).utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize("now_utc", [
    dt.datetime(2026, 10, 24, 20, 15, tzinfo=dt.UTC),  # 22:15 CEST, before the change
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),   # 02:30 CEST, first pass of the fold
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),   # 02:30 CET, the repeated hour
])
def test_rest_hours_across_the_fall_back_night_in_berlin(now_utc: dt.datetime) -> None:
    # 2026-10-25: clocks go back 03:00 CEST → 02:00 CET; 08:00 CET = 07:00 UTC
    d = SendPolicy().decide(_reminder(now_utc, tz="Europe/Berlin"), as_of=now_utc,
                            context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC)


def test_a_reminder_that_could_only_go_after_the_order_closes_is_skipped() -> None:
    # a flash-sale order placed at 23:00 closes at 23:30; its 23:25 reminder would wait
    # until 08:00, after the close: skipped, saying why
    due = dt.datetime(2026, 6, 1, 23, 25, tzinfo=SH)
    closes = dt.datetime(2026, 6, 1, 23, 30, tzinfo=SH)
    d = SendPolicy().decide(_reminder(due, expires=closes), as_of=due, context=PolicyContext())
    assert isinstance(d, Skip)
    assert "expires at 2026-06-01T23:30:00+08:00 (order auto-close)" in d.reason
    assert [c.rule for c in d.trace if not c.passed] == ["time_window", "expiry"]
    # the same order reminded in the day goes out
    noon = dt.datetime(2026, 6, 1, 12, 25, tzinfo=SH)
    assert isinstance(SendPolicy().decide(
        _reminder(noon, expires=noon + dt.timedelta(minutes=5)), as_of=noon,
        context=PolicyContext()), Send)


def test_a_normal_order_reminded_at_night_waits_while_it_is_still_open() -> None:
    due = dt.datetime(2026, 6, 1, 22, 20, tzinfo=SH)  # placed 21:50, closes 72 h later
    d = SendPolicy().decide(_reminder(due, expires=due + dt.timedelta(hours=71, minutes=30)),
                            as_of=due, context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=SH)
    # re-decided after the close (the dispatcher picked it up late): skipped
    late = due + dt.timedelta(hours=72)
    d = SendPolicy().decide(_reminder(due, expires=due + dt.timedelta(hours=71, minutes=30)),
                            as_of=late, context=PolicyContext())
    assert isinstance(d, Skip)
    assert d.reason.startswith("expired at 2026-06-04T21:50:00+08:00 (order auto-close)")


def test_expiry_must_be_an_aware_iso_time() -> None:
    due = dt.datetime(2026, 6, 1, 12, tzinfo=SH)
    msg = attrs.evolve(_reminder(due), metadata={"expires_at": "2026-06-01 13:00"})
    d = SendPolicy().decide(msg, as_of=due, context=PolicyContext())
    assert isinstance(d, Skip)
    assert "expires_at metadata must be an aware ISO time, got '2026-06-01 13:00'" in d.reason


def test_commute_hours_the_shop_blocks() -> None:
    policy = SendPolicy(by_type={"payment_reminder": payment_reminder_rules(
        commute=["07:30-09:00", "17:30-19:00"])})
    due = dt.datetime(2026, 6, 1, 18, 0, tzinfo=SH)
    d = policy.decide(_reminder(due), as_of=due, context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 6, 1, 19, 0, tzinfo=SH)
    night = dt.datetime(2026, 6, 1, 23, 0, tzinfo=SH)  # rest hours run into the commute
    d = policy.decide(_reminder(night), as_of=night, context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 6, 2, 9, 0, tzinfo=SH)


def test_logistics_notices_wait_out_the_night_unless_the_shop_says_so() -> None:
    night = dt.datetime(2026, 6, 1, 23, 0, tzinfo=SH)
    shipped = _reminder(night, mtype="shipped")
    d = SendPolicy().decide(shipped, as_of=night, context=PolicyContext())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=SH)
    at_night = SendPolicy(by_type={**DEFAULT_TYPE_RULES,
                                   "shipped": logistics_rules(at_night=True)})
    assert isinstance(at_night.decide(shipped, as_of=night, context=PolicyContext()), Send)
    # other transactional messages keep the class rules: any time
    refunded = _reminder(night, mtype="refunded")
    assert isinstance(SendPolicy().decide(refunded, as_of=night, context=PolicyContext()), Send)
    # and without per-type rules, reminders too
    assert isinstance(SendPolicy(by_type={}).decide(_reminder(night), as_of=night,
                                                    context=PolicyContext()), Send)


def test_a_type_window_narrows_the_class_window_never_widens_it() -> None:
    policy = SendPolicy(marketing=NO_CAPS, by_type={
        "double_12": TimeRules(allowed="18:00-20:00"),
        "broadcast": TimeRules(allowed="20:00-23:30")})
    five = dt.datetime(2026, 12, 12, 17, 0, tzinfo=SH)
    d = policy.decide(_msg(five, mtype="double_12"), as_of=five, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 12, 18, 0, tzinfo=SH)
    # 20:00–23:30 inside marketing's 08:00–21:00 leaves 20:00–21:00
    ten = dt.datetime(2026, 12, 12, 22, 0, tzinfo=SH)
    d = policy.decide(_msg(ten), as_of=ten, context=_ctx())
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 13, 20, 0, tzinfo=SH)
    # compliance stays the class's: an opted-out address is skipped whatever the type
    out = _ctx(opt_outs=InMemoryOptOutRegistry([("13800000000", ChannelKind.SMS)]))
    assert isinstance(policy.decide(_msg(five, mtype="double_12"), as_of=five, context=out),
                      Skip)
    assert policy.rules_of(_msg(five, mtype="double_12")).members_only


def test_a_type_window_sharing_no_minute_with_the_class_skips_with_the_reason() -> None:
    policy = SendPolicy(by_type={"night_owl": TimeRules(allowed="23:00-01:00")})
    at = dt.datetime(2026, 6, 1, 12, tzinfo=SH)
    d = policy.decide(_msg(at, mtype="night_owl"), as_of=at, context=_ctx())
    assert isinstance(d, Skip)
    assert d.reason == ("the time window of night_owl messages and that of the MARKETING "
                        "class share no minute")
    with pytest.raises(InvalidValueError, match="no allowed minute"):
        policy.rules_of(_msg(at, mtype="night_owl"))


def test_bad_type_rules_are_refused() -> None:
    with pytest.raises(TypeError, match=r"by_type\['x'\] must be TimeRules"):
        SendPolicy(by_type={"x": ClassRules()})  # type: ignore[dict-item]
    with pytest.raises(InvalidValueError, match="by_type keys must be non-empty"):
        SendPolicy(by_type={" ": TimeRules()})
    with pytest.raises(InvalidValueError, match="no allowed minute"):
        TimeRules(allowed="08:00-09:00", blocked=["07:00-10:00"])
    with pytest.raises(InvalidValueError, match="time range"):
        payment_reminder_rules(commute=["rush hour"])


def test_policies_with_type_rules_compare_and_hash_by_value() -> None:
    a = SendPolicy(by_type={"payment_reminder": payment_reminder_rules(commute=["18:00-19:00"])})
    b = SendPolicy(by_type={"payment_reminder": payment_reminder_rules(commute=["18:00-19:00"])})
    assert a == b
    assert hash(a) == hash(b)
    assert a != SendPolicy()
    assert SendPolicy().by_type == DEFAULT_TYPE_RULES
    assert sorted(DEFAULT_TYPE_RULES) == ["delivered", "multi_warehouse_shipped",
                                          "payment_reminder", "shipped"]


@given(time_zone_names(), aware_datetimes())
def test_payment_reminders_go_out_only_between_08_and_22_local_in_any_zone(
        tz: str, now: dt.datetime) -> None:
    """Whatever the zone (DST ones included): a reminder is sent at once exactly when the
    recipient's wall clock reads 08:00–21:59, else deferred to the next 08:00-ish minute,
    at most one rest night (10 h, plus a DST hour) later."""
    d = SendPolicy().decide(_reminder(now, tz=tz), as_of=now, context=PolicyContext())
    local = now.astimezone(ZoneInfo(tz))
    if 8 <= local.hour < 22:
        assert isinstance(d, Send)
        return
    assert isinstance(d, Defer)
    until = d.until.astimezone(ZoneInfo(tz))
    assert 8 <= until.hour < 22
    assert dt.timedelta(0) < d.until - now <= dt.timedelta(hours=11, minutes=1)
    if until.hour != 8 or until.minute != 0:  # 08:00 can only be missed inside a DST gap
        event("08:00 skipped by a DST gap")
        before = (d.until - dt.timedelta(minutes=1)).astimezone(ZoneInfo(tz))
        assert before.hour < 8 or before.hour >= 22


# -- deprecated keyword aliases (one release) -------------------------------------------
def test_decide_and_decide_many_take_now_as_a_deprecated_alias_of_as_of() -> None:
    at = dt.datetime(2026, 12, 12, 23, 0, tzinfo=SH)  # after 21:00: deferred to 08:00
    old: Any = {"now": at}
    with pytest.warns(DeprecationWarning, match=r"decide\(\): the keyword now= .*as_of="):
        d = POLICY.decide(_msg(at), context=_ctx(), **old)
    assert isinstance(d, Defer)
    assert d.until == dt.datetime(2026, 12, 13, 8, 0, tzinfo=SH)
    with pytest.warns(DeprecationWarning, match=r"decide_many\(\): the keyword now="):
        (many,) = POLICY.decide_many([_msg(at)], context=_ctx(), **old)
    assert many == d
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias now="):
        POLICY.decide(_msg(at), context=_ctx(), as_of=at, **old)


def test_next_allowed_takes_at_as_a_deprecated_alias_of_as_of() -> None:
    rules = ClassRules(allowed="08:00-21:00")
    night = dt.datetime(2026, 12, 12, 22, 30, tzinfo=SH)
    old: Any = {"at": night}
    with pytest.warns(DeprecationWarning, match=r"next_allowed\(\): the keyword at="):
        got = rules.next_allowed(zone=SH, **old)
    assert got == dt.datetime(2026, 12, 13, 8, 0, tzinfo=SH)


def test_frequency_cap_window_is_the_deprecated_alias_of_period() -> None:
    """A cap's duration was named ``window``; keyword and attribute still work, warning."""
    with pytest.warns(DeprecationWarning, match=r"window= is deprecated.*use period="):
        cap = FrequencyCap(2, window=dt.timedelta(days=7))
    assert cap == FrequencyCap(2, period=dt.timedelta(days=7))
    with pytest.warns(DeprecationWarning, match=r"FrequencyCap.window is deprecated.*\.period"):
        assert cap.window == dt.timedelta(days=7)
    assert str(cap) == "2 per 7 days, 0:00:00"
