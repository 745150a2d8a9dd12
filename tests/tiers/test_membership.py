"""Opt-in membership records: entry rule, leave, re-join, re-evaluation, downgrade policy."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import InvalidValueError, Money, OrderLog
from ecrm.errors import StateError
from ecrm.testing import memberships, tier_ladders
from ecrm.tiers import (
    TAOBAO_STORE_VIP,
    ChangeReason,
    DowngradePolicy,
    EntryRuleError,
    LevelChange,
    Membership,
    MembershipError,
    MembershipEvent,
    TierLadder,
    replay_memberships,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc,arg-type]


def yuan(v: str) -> Money:
    return Money.from_decimal(v)


def test_join_requires_the_entry_rule() -> None:
    m = Membership("c1")
    with pytest.raises(EntryRuleError) as info:
        m.join(at(2024, 1, 1), yuan("99.99"), 2)
    assert isinstance(info.value, MembershipError)
    assert isinstance(info.value, StateError)
    assert not isinstance(info.value, ValueError)
    assert "¥100.00 or 3 orders" in str(info.value)
    assert "¥99.99 and 2 orders" in str(info.value)
    assert m.history == ()  # unchanged


@pytest.mark.parametrize(("spend", "orders", "level"), [
    ("100", 0, 1), ("0", 3, 1), ("250", 1, 2), ("0", 10, 3), ("2000", 0, 4),
])
def test_join_sets_the_qualified_level(spend: str, orders: int, level: int) -> None:
    m = Membership("c1").join(at(2024, 1, 1), yuan(spend), orders)
    assert (m.is_member, m.level, m.joined_at, m.left_at) == (True, level, at(2024, 1, 1), None)
    assert m.history == (LevelChange(at(2024, 1, 1), level, ChangeReason.JOIN),)


def test_upgrades_apply_at_the_next_evaluation() -> None:
    m = Membership("c1").join(at(2024, 1, 1), yuan("100"), 1)
    # more orders happen, but the record only moves when re-evaluated
    assert m.level == 1
    m2 = m.reevaluate(at(2024, 2, 1), yuan("600"), 4)
    assert m2.level == 3
    assert m2.history[-1] == LevelChange(at(2024, 2, 1), 3, ChangeReason.UPGRADE)
    assert m.level == 1  # the old value is untouched


def test_reevaluate_without_change_returns_the_same_record() -> None:
    m = Membership("c1").join(at(2024, 1, 1), yuan("150"), 1)
    assert m.reevaluate(at(2024, 2, 1), yuan("199.99"), 4) is m


def test_never_policy_keeps_the_level() -> None:
    m = Membership("c1").join(at(2024, 1, 1), yuan("600"), 1)
    assert m.reevaluate(at(2025, 1, 1), yuan("0"), 0).level == 3


def test_rolling_window_downgrades_but_not_below_level_one() -> None:
    policy = DowngradePolicy.rolling_window(months=12)
    m = Membership("c1", policy=policy).join(at(2024, 1, 1), yuan("600"), 1)
    down = m.reevaluate(at(2025, 1, 1), yuan("250"), 1)
    assert down.level == 2
    assert down.history[-1].reason is ChangeReason.DOWNGRADE
    floor = down.reevaluate(at(2025, 6, 1), yuan("0"), 0)
    assert (floor.is_member, floor.level) == (True, 1)
    # a per-call policy overrides the record's
    assert m.reevaluate(at(2025, 1, 1), yuan("0"), 0, DowngradePolicy.NEVER).level == 3


def test_policy_window() -> None:
    lo, hi = DowngradePolicy.rolling_window(1).window(at(2024, 3, 31), TZ)
    assert (lo, hi) == (at(2024, 2, 29), at(2024, 3, 31))
    assert DowngradePolicy.NEVER.window(at(2024, 3, 31), TZ) == (None, at(2024, 3, 31))
    assert DowngradePolicy.never() == DowngradePolicy.NEVER
    with pytest.raises(ValueError, match="lookback_months"):
        DowngradePolicy.rolling_window(0)
    with pytest.raises(TypeError):
        DowngradePolicy.rolling_window(True)


def test_level_at_is_member_at_and_window_take_at_as_a_deprecated_alias_of_as_of() -> None:
    m = (Membership("c1")
         .join(at(2024, 1, 1), yuan("100"), 1)
         .leave(at(2024, 3, 1))
         .join(at(2024, 6, 1), yuan("300"), 4))
    april, july = at(2024, 4, 15), at(2024, 7, 15)
    old_april: Any = {"at": april}
    old_july: Any = {"at": july}
    # levels as in test_leave_and_rejoin_keep_history: out in April, level 2 in July
    with pytest.warns(DeprecationWarning, match=r"level_at\(\): the keyword at= .*as_of="):
        assert m.level_at(**old_july) == 2 == m.level_at(as_of=july)
    with pytest.warns(DeprecationWarning, match=r"is_member_at\(\): the keyword at="):
        assert m.is_member_at(**old_april) is False
    assert m.is_member_at(as_of=july) is True
    policy = DowngradePolicy.rolling_window(1)
    old_end: Any = {"at": at(2024, 3, 31)}
    with pytest.warns(DeprecationWarning, match=r"window\(\): the keyword at="):
        assert policy.window(tz=TZ, **old_end) == (at(2024, 2, 29), at(2024, 3, 31))
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias at="):
        m.level_at(as_of=july, **old_july)


def test_leave_and_rejoin_keep_history() -> None:
    m = (Membership("c1")
         .join(at(2024, 1, 1), yuan("100"), 1)
         .leave(at(2024, 3, 1))
         .join(at(2024, 6, 1), yuan("300"), 4))
    reasons = [c.reason for c in m.history]
    assert reasons == [ChangeReason.JOIN, ChangeReason.LEAVE, ChangeReason.JOIN]
    assert m.level == 2
    assert m.joined_at == at(2024, 6, 1)
    assert m.periods() == ((at(2024, 1, 1), at(2024, 3, 1)), (at(2024, 6, 1), None))
    assert [m.is_member_at(at(2024, x, 15)) for x in (1, 4, 7)] == [True, False, True]
    assert [m.level_at(at(2024, x, 15)) for x in (1, 4, 7)] == [1, 0, 2]
    assert not m.is_member_at(at(2023, 12, 31))
    left = m.leave(at(2024, 8, 1))
    assert (left.is_member, left.level, left.left_at) == (False, 0, at(2024, 8, 1))


def test_state_errors_change_nothing() -> None:
    m = Membership("c1").join(at(2024, 1, 1), yuan("100"), 1)
    with pytest.raises(MembershipError, match="already a member"):
        m.join(at(2024, 2, 1), yuan("100"), 1)
    with pytest.raises(MembershipError, match="earlier than the last change"):
        m.reevaluate(at(2023, 12, 1), yuan("500"), 1)
    with pytest.raises(MembershipError, match="not a member"):
        Membership("c2").leave(at(2024, 1, 1))
    with pytest.raises(InvalidValueError):
        m.leave(dt.datetime(2024, 5, 1))  # naive
    assert len(m.history) == 1


def test_non_member_is_not_reevaluated() -> None:
    m = Membership("c1")
    assert m.reevaluate(at(2024, 1, 1), yuan("5000"), 30) is m


def test_history_must_be_in_time_order() -> None:
    with pytest.raises(InvalidValueError):
        Membership("c1", history=(
            LevelChange(at(2024, 2, 1), 1, ChangeReason.JOIN),
            LevelChange(at(2024, 1, 1), 0, ChangeReason.LEAVE),
        ))


@given(memberships())
def test_generated_records_are_consistent(m: Membership) -> None:
    assert m.history[0].reason is ChangeReason.JOIN
    assert all(a.at <= b.at for a, b in zip(m.history, m.history[1:], strict=False))
    assert m.is_member == (m.history[-1].reason is not ChangeReason.LEAVE)
    for c in m.history:
        if c.reason is ChangeReason.LEAVE:
            assert c.level == 0
        else:
            assert 1 <= c.level <= m.ladder.top_level
    assert attrs.evolve(m) == m


@given(
    tier_ladders(max_levels=4),
    st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 4)), min_size=1, max_size=12),
)
def test_under_never_a_members_level_never_falls_as_orders_are_added(
    ladder: TierLadder, increments: list[tuple[int, int]]
) -> None:
    first = ladder.tiers[0]
    spend, orders = first.min_spend.fen, 0
    m = Membership("c", ladder=ladder).join(at(2024, 1, 1), Money(spend), orders)
    when = at(2024, 1, 1)
    for extra_fen, extra_orders in increments:
        spend += extra_fen
        orders += extra_orders
        when += dt.timedelta(days=7)
        before = m.level
        m = m.reevaluate(when, Money(spend), orders)
        assert m.level >= before
        assert m.level == ladder.evaluate(Money(spend), orders, opted_in=True).level


# -- replay over a log ---------------------------------------------------------------------


def _log() -> OrderLog:
    rows = [
        ("a", at(2024, 1, 1), 6000), ("a", at(2024, 2, 1), 6000),   # ¥120 by Feb 1
        ("a", at(2024, 3, 1), 20000),                                # ¥320 by Mar 1
        ("b", at(2024, 1, 1), 5000),                                 # never qualifies
        ("c", at(2023, 1, 1), 60000),                                # ¥600 long ago
    ]
    cid, placed, amount = zip(*rows, strict=True)
    return OrderLog.from_arrays(cid, placed, amount, tz=TZ)


def test_replay_by_hand() -> None:
    events = [
        MembershipEvent("a", at(2024, 2, 10), "join"),
        MembershipEvent("b", at(2024, 2, 10), "join"),
        MembershipEvent("c", at(2024, 1, 10), "join"),
        MembershipEvent("c", at(2024, 5, 10), "leave"),
        MembershipEvent("zz", at(2024, 5, 10), "leave"),
    ]
    result = replay_memberships(_log(), events, evaluations=[at(2024, 4, 1)])
    a, c = result.memberships["a"], result.memberships["c"]
    assert [(x.at, x.level, x.reason) for x in a.history] == [
        (at(2024, 2, 10), 1, ChangeReason.JOIN),
        (at(2024, 4, 1), 2, ChangeReason.UPGRADE),
    ]
    changes = [(x.level, x.reason) for x in c.history]
    assert changes == [(3, ChangeReason.JOIN), (0, ChangeReason.LEAVE)]
    assert set(result.memberships) == {"a", "c"}
    refused = [(e.customer_id, type(err)) for e, err in result.refused]
    assert refused == [("b", EntryRuleError), ("zz", MembershipError)]


def test_replay_rolling_window_downgrades() -> None:
    events = [MembershipEvent("c", at(2024, 1, 10), "join")]
    result = replay_memberships(
        _log(), events, evaluations=[at(2024, 2, 1)],
        policy=DowngradePolicy.rolling_window(6),
    )
    # on 2024-02-01 the 6-month window holds no order of c: down to the floor, level 1
    assert result.memberships["c"].level == 1
    never = replay_memberships(_log(), events, evaluations=[at(2024, 2, 1)])
    assert never.memberships["c"].level == 3


def test_replay_bad_events() -> None:
    with pytest.raises(TypeError):
        replay_memberships(_log(), ["a"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="kind"):
        MembershipEvent("a", at(2024, 1, 1), "upgrade")


def test_default_ladder_is_the_preset() -> None:
    assert Membership("x").ladder is TAOBAO_STORE_VIP
