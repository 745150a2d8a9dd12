"""The send policy's fast path decides exactly as the straightforward reference.

``SendPolicy.decide`` reads per-rules plans and per-instant caches;
``ecrm.touch._policy_reference.decide_reference`` is the code it replaced, run on a separate policy so
that no cache is shared. Over random policies (per-type windows included, some sharing no
minute with their class's), messages, clocks (DST nights included), histories, opt-outs,
block lists, memberships and consents, both return equal decisions with equal traces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ecrm.testing import aware_datetimes, local_time_ranges, messages, send_policies
from ecrm.touch import (
    ChannelKind,
    Decision,
    Defer,
    InMemoryOptOutRegistry,
    Message,
    MessageClass,
    OnBlocked,
    PolicyContext,
    Recipient,
    SendLog,
    SendPolicy,
    Skip,
    TimeRules,
)
from ecrm.touch._policy_reference import decide_reference

# UTC instants of DST changes: New York spring forward and fall back (2026-03-08,
# 2026-11-01), Berlin's (2026-03-29, 2026-10-25)
_DST_CHANGES = (
    dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),
)
_DST_NIGHTS = st.builds(
    lambda base, minutes, zone: (base + dt.timedelta(minutes=minutes)).astimezone(zone),
    st.sampled_from(_DST_CHANGES),
    st.integers(min_value=-6 * 60, max_value=6 * 60),
    st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))]),
)
_CREATED = st.one_of(_DST_NIGHTS, aware_datetimes(min_value=dt.datetime(2026, 1, 1),
                                                  max_value=dt.datetime(2026, 12, 31)))
_ZONES_OF_NOW = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])


def _clocks(pool: list[Message]) -> st.SearchStrategy[dt.datetime]:
    """Instants from a little before a message was made to three days after (so most
    messages are neither stale nor far from due), in UTC or UTC+8."""
    return st.builds(
        lambda m, minutes, zone: (m.created_at + dt.timedelta(minutes=minutes)).astimezone(
            zone),
        st.sampled_from(pool),
        st.integers(min_value=-120, max_value=3 * 1440),
        _ZONES_OF_NOW,
    )


_TIME_RULES = st.builds(
    TimeRules,
    allowed=st.one_of(st.none(), local_time_ranges(min_minutes=60)),
    on_blocked=st.sampled_from(list(OnBlocked)),
)


@st.composite
def _policies(draw: Any) -> SendPolicy:
    policy: SendPolicy = draw(send_policies())
    by_type = draw(st.one_of(
        st.just(None),  # the defaults (payment reminders and logistics)
        st.dictionaries(st.sampled_from(["payment_reminder", "shipped", "broadcast"]),
                        _TIME_RULES, max_size=3),
    ))
    if draw(st.booleans()):
        policy = attrs.evolve(policy, care=attrs.evolve(policy.care, requires_consent=True))
    return policy if by_type is None else attrs.evolve(policy, by_type=by_type)


class _Wrapped:
    """A history that is not a ``SendLog`` (the generic path: one call per cap)."""

    def __init__(self, log: SendLog) -> None:
        self._log = log

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        return self._log.sent_times(customer_id, channel, message_class, since)

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return self._log.has_sent(message_type, dedupe_key)


@st.composite
def _contexts(draw: Any, pool: list[Message], clocks: list[dt.datetime]) -> PolicyContext:
    log = SendLog()
    latest = min(clocks)
    for m in draw(st.lists(st.sampled_from(pool), max_size=12)):
        hours = draw(st.integers(min_value=0, max_value=8 * 24))
        log.record(m, latest - dt.timedelta(hours=hours, minutes=draw(st.integers(0, 59))))
    customers = sorted({m.recipient.customer_id for m in pool})

    def some() -> frozenset[str | int]:
        return frozenset(draw(st.lists(st.sampled_from(customers), max_size=len(customers))))

    def most() -> frozenset[str | int]:
        return frozenset(customers) - some()

    def maybe(value: Any) -> Any:  # "not provided" now and then
        return None if draw(st.integers(0, 9)) == 0 else value

    opted = draw(st.lists(st.sampled_from(pool), max_size=2))
    return PolicyContext(
        history=log if draw(st.booleans()) else _Wrapped(log),
        opt_outs=maybe(InMemoryOptOutRegistry(
            (m.address, m.channel) for m in opted if m.address)),
        blocked=frozenset(draw(st.lists(st.sampled_from(customers), max_size=1))),
        members=maybe(most()),
        consented=maybe(most()),
    )


def _same(fast: Decision, ref: Decision) -> None:
    event(type(fast).__name__ + ': ' + getattr(fast, 'reason', '')[:25])
    assert fast == ref
    assert type(fast) is type(ref)
    assert fast.explain() == ref.explain()  # the same reasons and trace, word for word
    if isinstance(fast, Defer):
        assert isinstance(ref, Defer)
        assert fast.until.utcoffset() == ref.until.utcoffset()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fast_decisions_equal_the_reference(data: st.DataObject) -> None:
    """Each decision (interleaved instants, so cached values from one instant never leak
    into another) equals the reference's, trace and wording included."""
    policy = data.draw(_policies())
    reference = attrs.evolve(policy)  # equal rules, its own caches
    assert reference == policy
    assert reference is not policy
    pool = data.draw(st.lists(messages(created_at=_CREATED), min_size=1, max_size=8))
    clocks = data.draw(st.lists(_clocks(pool), min_size=1, max_size=3))
    context = data.draw(_contexts(pool, clocks))
    for now in clocks * 2:
        for m in pool:
            _same(policy.decide(m, as_of=now, context=context),
                  decide_reference(reference, m, now=now, context=context))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decide_many_equals_the_reference(data: st.DataObject) -> None:
    """``decide_many`` at one instant equals the reference message by message."""
    policy = data.draw(_policies())
    reference = attrs.evolve(policy)
    pool = data.draw(st.lists(messages(created_at=_CREATED), min_size=1, max_size=10))
    now = data.draw(_clocks(pool))
    context = data.draw(_contexts(pool, [now]))
    got = policy.decide_many(pool, as_of=now, context=context)
    assert len(got) == len(pool)
    for d, m in zip(got, pool, strict=True):
        _same(d, decide_reference(reference, m, now=now, context=context))


def test_a_type_window_sharing_no_minute_with_its_class_skips_on_both_paths() -> None:
    """Hand-worked: care is 08:00–21:00; a type allowed only 22:00–23:00 can never send."""
    now = dt.datetime(2026, 6, 1, 4, tzinfo=dt.UTC)  # 12:00 in Shanghai
    m = Message("n1", "night", MessageClass.CARE, ChannelKind.SMS,
                Recipient("c1", phone="13800000000", tz="Asia/Shanghai"), "晚安",
                created_at=now)
    want = "the time window of night messages and that of the CARE class share no minute"
    rules = {"night": TimeRules(allowed="22:00-23:00")}
    fast = SendPolicy(by_type=rules).decide(m, as_of=now)
    ref = decide_reference(SendPolicy(by_type=rules), m, now=now)
    assert isinstance(fast, Skip)
    assert fast.reason == want
    assert fast == ref
