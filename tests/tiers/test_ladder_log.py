"""``TierLadder.evaluate_log``: the vectorised shop-wide evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st
from tiers_helpers import TZ, VIP, at, light_logs

from ecrm import (
    DEFAULT_VALID_STATUSES,
    CurrencyMismatchError,
    InvalidTypeError,
    InvalidValueError,
    Money,
    OrderLog,
    OrderStatus,
    UnknownCustomerError,
)
from ecrm.testing import aware_datetimes, order_logs, tier_ladders
from ecrm.tiers import (
    Condition,
    DowngradePolicy,
    Membership,
    Tier,
    TierLadder,
)


def small_log() -> OrderLog:
    """a: 3 valid orders of ¥30 (count fires); b: ¥150 valid + a fully refunded one;
    c: only a closed order; d: first order after as_of; e: ¥250 with ¥60 partly refunded."""
    rows = [
        ("a", at(2024, 1, 1), 3000, "paid", 0),
        ("a", at(2024, 2, 1), 3000, "completed", 0),
        ("a", at(2024, 3, 1), 3000, "shipped", 0),
        ("b", at(2024, 1, 5), 15000, "paid", 0),
        ("b", at(2024, 6, 1), 60000, "completed", 60000),
        ("c", at(2024, 2, 2), 5000, "closed", 0),
        ("d", at(2025, 1, 1), 999999, "paid", 0),
        ("e", at(2024, 5, 1), 25000, "completed", 6000),
    ]
    cid, placed, amount, status, refunded = zip(*rows, strict=True)
    return OrderLog.from_arrays(cid, placed, amount, statuses=status, refunded=refunded, tz=TZ)


AS_OF = at(2024, 12, 1)


def test_small_log_by_hand() -> None:
    r = VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in={"a", "e"})
    assert r.customer_ids.tolist() == ["a", "b", "c", "e"]  # d ordered only after as_of
    assert r.spend_fen.tolist() == [9000, 15000, 0, 19000]
    assert r.orders.tolist() == [3, 1, 0, 1]
    assert r.qualified_level.tolist() == [1, 1, 0, 1]
    assert r.level.tolist() == [1, 0, 0, 1]
    assert r.potential.tolist() == [False, True, False, False]
    assert r.counts() == {0: 2, 1: 2, 2: 0, 3: 0, 4: 0}
    assert r.counts(qualified=True) == {0: 1, 1: 3, 2: 0, 3: 0, 4: 0}
    assert r.share() == {0: 0.5, 1: 0.5, 2: 0.0, 3: 0.0, 4: 0.0}
    assert r.n_potential == 1
    assert r.explain("b").startswith("b: level 0 店铺客户: qualifies for level 1 普通会员")


def test_orders_at_exactly_as_of_are_the_future() -> None:
    log = small_log()
    before = VIP.evaluate_log(log, as_of=at(2024, 3, 1), opted_in=True)
    after = VIP.evaluate_log(log, as_of=at(2024, 3, 1, 0, 0, 1), opted_in=True)
    assert before.decision("a").orders == 2
    assert after.decision("a").orders == 3


def test_opted_in_shapes_agree() -> None:
    log = small_log()
    ids = log.customer_ids
    mask = np.isin(ids, ["a", "e"])
    memberships = {
        "a": Membership("a").join(at(2024, 3, 2), Money(9000), 3),
        "e": Membership("e").join(at(2024, 5, 2), Money(19000), 1),
        "b": Membership("b").join(at(2024, 1, 6), Money(15000), 1).leave(at(2024, 2, 1)),
    }
    results = [
        VIP.evaluate_log(log, as_of=AS_OF, opted_in=x).level.tolist()
        for x in ({"a", "e"}, ["e", "a", "zz"], mask, memberships)
    ]
    assert results == [[1, 0, 0, 1]] * 4
    assert VIP.evaluate_log(log, as_of=AS_OF, opted_in=False).level.tolist() == [0, 0, 0, 0]
    assert VIP.evaluate_log(log, as_of=AS_OF, opted_in=True).level.tolist() == [1, 1, 0, 1]


def test_bad_opted_in() -> None:
    log = small_log()
    with pytest.raises(InvalidValueError, match="shape"):
        VIP.evaluate_log(log, as_of=AS_OF, opted_in=np.ones(2, dtype=bool))
    with pytest.raises(InvalidTypeError):
        VIP.evaluate_log(log, as_of=AS_OF, opted_in="a")
    with pytest.raises(InvalidTypeError):
        VIP.evaluate_log(log, as_of=AS_OF, opted_in=3)  # type: ignore[arg-type]


def test_bad_as_of_and_currency() -> None:
    log = small_log()
    with pytest.raises(InvalidValueError):
        VIP.evaluate_log(log, as_of=dt.datetime(2024, 1, 1), opted_in=True)
    usd = OrderLog.from_arrays(["a"], [at(2024, 1, 1)], [100], currency="USD")
    with pytest.raises(CurrencyMismatchError):
        VIP.evaluate_log(usd, as_of=AS_OF, opted_in=True)


def test_unknown_customer() -> None:
    r = VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in=True)
    with pytest.raises(UnknownCustomerError):
        r.explain("d")
    with pytest.raises(UnknownCustomerError):
        r.decision(7)


def test_custom_statuses() -> None:
    # counting only COMPLETED orders: a keeps 1 order, e keeps its ¥190
    r = VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in=True,
                         statuses=[OrderStatus.COMPLETED])
    assert r.orders.tolist() == [1, 0, 0, 1]
    assert r.spend_fen.tolist() == [3000, 0, 0, 19000]


def test_empty_log() -> None:
    empty = OrderLog.from_orders([], tz=TZ)
    r = VIP.evaluate_log(empty, as_of=AS_OF, opted_in=True)
    assert len(r) == 0
    assert r.counts() == {0: 0, 1: 0, 2: 0, 3: 0, 4: 0}
    assert r.share()[0] == 0.0


def test_rolling_window_counts_only_recent_orders() -> None:
    # the window of 3 months before 2024-06-15 is [2024-03-15, 2024-06-15): e's order only
    r = VIP.evaluate_log(small_log(), as_of=at(2024, 6, 15), opted_in=True,
                         policy=DowngradePolicy.rolling_window(3))
    assert dict(zip(r.customer_ids.tolist(), r.orders.tolist(), strict=True)) == {
        "a": 0, "b": 0, "c": 0, "e": 1
    }


def test_rolling_window_keeps_members_at_level_one_at_least() -> None:
    # Window [2024-03-15, 2024-06-15): a's three orders (count fires) and b's ¥150 lie
    # before it, b's later order is fully refunded; c never met the entry rule; e's ¥190
    # net lies inside the window and meets level 1 by spend.
    r = VIP.evaluate_log(small_log(), as_of=at(2024, 6, 15), opted_in={"a", "b", "c"},
                         policy=DowngradePolicy.rolling_window(3))
    assert r.customer_ids.tolist() == ["a", "b", "c", "e"]
    assert r.spend_fen.tolist() == [0, 0, 0, 19_000]
    assert r.qualified_level.tolist() == [1, 1, 0, 1]
    assert r.level.tolist() == [1, 1, 0, 0]
    assert r.potential.tolist() == [False, False, False, True]
    assert r.kept is not None
    assert r.kept.tolist() == [True, True, False, False]
    d = r.decision("a")
    assert (d.level, d.qualified_level, d.fired, d.potential) == (1, 1, Condition.NONE, False)
    assert (d.next_level, d.spend_to_next, d.orders_to_next) == (2, Money(20_000), 5)
    assert "never goes below level 1" in r.explain("a")
    e = r.decision("e")
    assert (e.level, e.qualified_level, e.fired, e.potential) == (0, 1, Condition.SPEND, True)
    # The same customers re-evaluated one by one as members agree.
    for cid, level in (("a", 1), ("b", 1)):
        m = Membership(cid, policy=DowngradePolicy.rolling_window(3))
        m = m.join(at(2024, 3, 2), Money(15_000), 3).reevaluate(at(2024, 6, 15), Money(0), 0)
        assert m.level == level
    # Without a policy nobody is kept.
    assert VIP.evaluate_log(small_log(), as_of=at(2024, 6, 15), opted_in=True).kept is None


def _plain(log: OrderLog, ladder: TierLadder, as_of: dt.datetime, lo: dt.datetime | None,
           opted: set[Any]) -> dict[Any, tuple[int, int, int, int]]:
    """Recompute from Order values, one at a time."""
    spend: dict[Any, int] = {}
    count: dict[Any, int] = {}
    for o in log:
        if o.placed_at >= as_of:
            continue
        spend.setdefault(o.customer_id, 0)
        count.setdefault(o.customer_id, 0)
        valid = o.status in DEFAULT_VALID_STATUSES and not (
            o.refunded_amount.fen > 0 and o.refunded_amount.fen >= o.amount.fen
        )
        if valid and (lo is None or o.placed_at >= lo):
            spend[o.customer_id] += o.amount.fen - o.refunded_amount.fen
            count[o.customer_id] += 1
    out = {}
    for cid, s in spend.items():
        q = 0
        for t in ladder.tiers:
            if s >= t.min_spend.fen or count[cid] >= t.min_orders:
                q = t.level
        if lo is not None and q == 0:
            # A rolling re-evaluation keeps anyone whose whole history meets the entry
            # rule at level 1 (Membership.reevaluate never drops a member below 1).
            whole = _plain(log, ladder, as_of, None, set())[cid]
            q = 1 if whole[2] > 0 else 0
        out[cid] = (s, count[cid], q, q if cid in opted else 0)
    return out


@given(
    st.one_of(order_logs(max_size=12, max_customers=5), light_logs()),
    tier_ladders(max_levels=4, max_amount=600_000, max_orders=6),
    aware_datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 8, 1)),
    st.data(),
    st.sampled_from([None, 1, 6, 12]),
)
def test_evaluate_log_matches_a_plain_recomputation(
    log: OrderLog, ladder: TierLadder, as_of: dt.datetime, data: st.DataObject,
    window: int | None,
) -> None:
    ids = log.customer_ids.tolist()
    opted = set(data.draw(st.lists(st.sampled_from(ids), unique=True))) if ids else set()
    policy = DowngradePolicy.never() if window is None else DowngradePolicy.rolling_window(window)
    r = ladder.evaluate_log(log, as_of=as_of, opted_in=opted, policy=policy)
    lo = None if window is None else as_of.astimezone(log.tz) - relativedelta(months=window)
    expected = _plain(log, ladder, as_of, lo, opted)
    got = {
        cid: (int(s), int(c), int(q), int(lv))
        for cid, s, c, q, lv in zip(r.customer_ids.tolist(), r.spend_fen, r.orders,
                                    r.qualified_level, r.level, strict=True)
    }
    assert got == expected
    assert np.array_equal(r.potential, (r.qualified_level > 0) & ~r.opted_in)
    assert sum(r.counts().values()) == len(r)
    for cid in list(got)[:2]:
        d = r.decision(cid)
        assert (d.qualified_level, d.level) == expected[cid][2:]


@given(light_logs(),
       aware_datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 8, 1)),
       st.integers(1, 400))
def test_levels_never_fall_as_time_passes_under_never(
    log: OrderLog, as_of: dt.datetime, days: int
) -> None:
    early = VIP.evaluate_log(log, as_of=as_of, opted_in=True)
    late = VIP.evaluate_log(log, as_of=as_of + dt.timedelta(days=days), opted_in=True)
    late_level = dict(zip(late.customer_ids.tolist(), late.level.tolist(), strict=True))
    for cid, level in zip(early.customer_ids.tolist(), early.level.tolist(), strict=True):
        assert late_level[cid] >= level


def test_opted_in_from_a_customer_table() -> None:
    import attrs as _attrs

    from ecrm._time import NAT_US, datetime_to_us

    @_attrs.frozen
    class Table:
        customer_ids: np.ndarray[Any, Any]
        member_since_us: np.ndarray[Any, Any]

    since = [datetime_to_us(at(2024, 3, 2)), NAT_US, datetime_to_us(at(2025, 1, 1)),
             datetime_to_us(at(2024, 6, 1))]
    table = Table(np.asarray(["a", "b", "d", "e"]), np.asarray(since, dtype=np.int64))
    r = VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in=table)
    # a joined before as_of; b never; d joins after as_of (and is not a customer yet); e joined
    assert r.opted_in.tolist() == [True, False, False, True]
    assert r.level.tolist() == [1, 0, 0, 1]


def test_opted_in_ids_of_the_wrong_kind_are_refused() -> None:
    with pytest.raises(InvalidTypeError, match="must be str"):
        VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in={1, 2})
    with pytest.raises(InvalidTypeError, match="got int 7"):
        VIP.evaluate_log(small_log(), as_of=AS_OF, opted_in=["a", "b", 7, "e"])
    int_log = OrderLog.from_arrays([10, 11], [at(2024, 1, 1), at(2024, 1, 2)], [100, 20_000])
    with pytest.raises(InvalidTypeError, match="must be int"):
        VIP.evaluate_log(int_log, as_of=AS_OF, opted_in=["10"])
    r = VIP.evaluate_log(int_log, as_of=AS_OF, opted_in=np.asarray([11, 99]))
    assert r.level.tolist() == [0, 2]
    for bad in ([10, True], [np.int64(10), np.bool_(True)], [10, 11.0]):
        with pytest.raises(InvalidTypeError, match="must be int"):
            VIP.evaluate_log(int_log, as_of=AS_OF, opted_in=bad)


def test_levels_of_with_few_and_many_levels_counts_thresholds_met() -> None:
    # Up to 16 levels one comparison pass per level; beyond, a binary search: same answer.
    for n in (1, 4, 16, 17, 30):
        ladder = TierLadder([
            Tier(i, f"L{i}", Money(1_000 * i), 2 * i, max(700, 1_000 - 10 * i))
            for i in range(1, n + 1)
        ])
        spend = np.asarray([0, 999, 1_000, 1_001, 5_000, 10**9], dtype=np.int64)
        count = np.asarray([0, 1, 0, 2, 13, 0], dtype=np.int64)
        expected = [
            max([0] + [i for i in range(1, n + 1) if s >= 1_000 * i or c >= 2 * i])
            for s, c in zip(spend.tolist(), count.tolist(), strict=True)
        ]
        got = ladder.levels_of(spend, count)
        assert got.dtype == np.int64
        assert got.tolist() == expected


@given(light_logs(), st.data())
def test_replayed_members_agree_with_evaluate_log_under_never(
    log: OrderLog, data: st.DataObject
) -> None:
    """Joining at t0 and re-evaluating at t1 gives evaluate_log's level at t1 (never policy)."""
    from ecrm.tiers import MembershipEvent, replay_memberships

    ids = log.customer_ids.tolist()
    joiners = data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    t0 = at(2024, 1, 1)
    t1 = at(2025, 12, 1)
    events = [MembershipEvent(cid, t0, "join") for cid in joiners]
    replay = replay_memberships(log, events, evaluations=[t1])
    r = VIP.evaluate_log(log, as_of=t1, opted_in=set(replay.memberships))
    level = dict(zip(r.customer_ids.tolist(), r.level.tolist(), strict=True))
    for cid, m in replay.memberships.items():
        assert m.level == level[cid]
    before = VIP.evaluate_log(log, as_of=t0, opted_in=True)
    qualified_at_t0 = {
        c for c, q in zip(before.customer_ids.tolist(), before.qualified_level.tolist(),
                          strict=True) if q > 0
    }
    assert set(replay.memberships) == qualified_at_t0 & set(joiners)
    assert {e.customer_id for e, _ in replay.refused} == set(joiners) - qualified_at_t0


@given(light_logs(), st.data(), st.sampled_from([1, 3, 12]),
       st.sampled_from([at(2024, 7, 1), at(2025, 3, 15), at(2025, 12, 1)]))
def test_replayed_members_agree_with_evaluate_log_under_a_rolling_window(
    log: OrderLog, data: st.DataObject, months: int, t1: dt.datetime
) -> None:
    """Joining at t0 and a rolling re-evaluation at t1 give evaluate_log's level at t1."""
    from ecrm.tiers import MembershipEvent, replay_memberships

    policy = DowngradePolicy.rolling_window(months)
    ids = log.customer_ids.tolist()
    joiners = data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    t0 = at(2024, 1, 1)
    events = [MembershipEvent(cid, t0, "join") for cid in joiners]
    replay = replay_memberships(log, events, evaluations=[t1], policy=policy)
    r = VIP.evaluate_log(log, as_of=t1, opted_in=dict(replay.memberships), policy=policy)
    level = dict(zip(r.customer_ids.tolist(), r.level.tolist(), strict=True))
    for cid, m in replay.memberships.items():
        assert m.level == level[cid] >= 1
    for cid in set(level) - set(replay.memberships):
        assert level[cid] == 0
