"""Scheduled level benefits (seed 002: 白银会员：每月1张9折券, 黄金会员：每周限量秒杀资格).

One grant per member, benefit and period, however often the job runs — in one process, after
a crash, or in two real processes on one SQLite file at once.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers_helpers import at

from ecrm import InvalidTypeError, InvalidValueError, Money
from ecrm.tiers import (
    Benefit,
    BenefitKind,
    Cadence,
    Coupon,
    CouponCatalog,
    FeeRules,
    Gift,
    Grant,
    GrantStore,
    InMemoryLoyaltyStore,
    PaidMembership,
    ScheduledBenefit,
    SqliteLoyaltyStore,
    grant_scheduled,
)

# 白银会员 (level 2 here) and up: one 满100减10 coupon a month (9折 at the threshold).
MONTHLY = ScheduledBenefit(
    Benefit("silver-coupon", BenefitKind.MEMBER_COUPON,
            Coupon("C10", face_value=Money(1_000), threshold=Money(10_000), valid_days=30),
            min_level=2),
    Cadence.MONTH,
)
# 黄金会员 (level 3 here) and up: a weekly flash-sale right, costing the shop ¥20 when used.
WEEKLY = ScheduledBenefit(
    Benefit("gold-flash", BenefitKind.MEMBER_GIFT, Gift("flash", "限量秒杀资格"), min_level=3),
    Cadence.WEEK, unit_cost=Money(2_000),
)
LEVELS = {"a": 1, "b": 2, "c": 3, 4: 4, "e": 0}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryLoyaltyStore()
    else:
        s = SqliteLoyaltyStore(tmp_path / "loyalty.db")
        yield s
        s.close()


def _keys(grants: Any) -> list[tuple[str, Any, str]]:
    return [(g.benefit_id, g.customer_id, g.period) for g in grants]


def test_monthly_and_weekly_grants_once_per_member_and_period(store: Any) -> None:
    assert isinstance(store, GrantStore)
    run = grant_scheduled(store, [MONTHLY, WEEKLY], LEVELS, at=at(2026, 3, 10, 9))
    # Tuesday 10 March 2026 is in ISO week 11 (Monday 9 March).
    assert _keys(run.granted) == [
        ("silver-coupon", "b", "2026-03"), ("silver-coupon", "c", "2026-03"),
        ("silver-coupon", 4, "2026-03"),
        ("gold-flash", "c", "2026-W11"), ("gold-flash", 4, "2026-W11"),
    ]
    assert run.already == 0
    assert [g.level for g in run.granted] == [2, 3, 4, 3, 4]
    assert run.granted[0].value == Money(1_000)
    assert run.granted[3].value == Money(2_000)
    # The same month and week again: nothing new.
    rerun = grant_scheduled(store, [MONTHLY, WEEKLY], LEVELS, at=at(2026, 3, 15, 23, 59))
    assert rerun.granted == ()
    assert rerun.already == 5
    # Monday 16 March opens week 12 (the month is still March).
    week12 = grant_scheduled(store, [MONTHLY, WEEKLY], LEVELS, at=at(2026, 3, 16))
    assert _keys(week12.granted) == [("gold-flash", "c", "2026-W12"), ("gold-flash", 4, "2026-W12")]
    # 00:00 on 1 April is April: a new month.
    april = grant_scheduled(store, [MONTHLY], LEVELS, at=at(2026, 4, 1))
    assert [g.period for g in april.granted] == ["2026-04"] * 3
    assert len(store.grants()) == 5 + 2 + 3


def test_grant_keys_are_typed_and_name_benefit_customer_and_period() -> None:
    run = grant_scheduled(InMemoryLoyaltyStore(), [MONTHLY], {"4": 2, 4: 2}, at=at(2026, 3, 1))
    assert [g.key for g in run.granted] == [
        '["grant","silver-coupon","4","2026-03"]', '["grant","silver-coupon",4,"2026-03"]',
    ]


def test_paid_only_benefits_go_to_paid_members_only() -> None:
    paid_only = ScheduledBenefit(MONTHLY.benefit, Cadence.MONTH, paid_only=True, quantity=2)
    run = grant_scheduled(InMemoryLoyaltyStore(), [paid_only], LEVELS, at=at(2026, 3, 1),
                          paid_members={"c", "a"})
    assert _keys(run.granted) == [("silver-coupon", "c", "2026-03")]  # a is below level 2
    assert run.granted[0].quantity == 2
    assert run.granted[0].value == Money(2_000)
    with pytest.raises(InvalidValueError, match="paid_members is needed"):
        grant_scheduled(InMemoryLoyaltyStore(), [paid_only], LEVELS, at=at(2026, 3, 1))


def test_bad_schedules_are_refused_by_name() -> None:
    with pytest.raises(InvalidValueError, match="MEMBER_COUPON or MEMBER_GIFT"):
        ScheduledBenefit(Benefit("n", BenefitKind.NEW_MEMBER_GIFT, Gift("g")), Cadence.MONTH,
                         unit_cost=Money(1))
    with pytest.raises(InvalidValueError, match="min_level must be >= 1"):
        ScheduledBenefit(Benefit("m", BenefitKind.MEMBER_GIFT, Gift("g")), Cadence.MONTH,
                         unit_cost=Money(1))
    with pytest.raises(InvalidValueError, match="unit_cost is required for a gift"):
        ScheduledBenefit(Benefit("m", BenefitKind.MEMBER_GIFT, Gift("g"), min_level=1),
                         Cadence.MONTH)
    with pytest.raises(InvalidValueError, match="quantity must be >= 1"):
        ScheduledBenefit(MONTHLY.benefit, Cadence.MONTH, quantity=0)
    with pytest.raises(InvalidValueError, match="must not name a benefit twice"):
        grant_scheduled(InMemoryLoyaltyStore(), [MONTHLY, MONTHLY], LEVELS, at=at(2026, 3, 1))
    with pytest.raises(InvalidValueError, match="levels\\['x'\\] must be an int >= 0"):
        grant_scheduled(InMemoryLoyaltyStore(), [MONTHLY], {"x": -1}, at=at(2026, 3, 1))
    with pytest.raises(InvalidTypeError, match="GrantStore"):
        grant_scheduled(object(), [MONTHLY], LEVELS, at=at(2026, 3, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="at"):
        grant_scheduled(InMemoryLoyaltyStore(), [MONTHLY], LEVELS, at=dt.datetime(2026, 3, 1))


def test_cadence_periods_are_half_open_in_the_store_zone() -> None:
    assert Cadence.MONTH.period(at(2026, 2, 1)).label == "2026-02"
    assert Cadence.MONTH.period(at(2026, 1, 31, 23, 59, 59)).label == "2026-01"
    # 2026 starts on a Thursday, so it has 53 ISO weeks; 1 January 2027 is still in week 53.
    assert Cadence.WEEK.period(at(2027, 1, 1)).label == "2026-W53"
    week = Cadence.WEEK.period(at(2026, 12, 31))
    assert (week.start, week.end) == (at(2026, 12, 28), at(2027, 1, 4))
    assert Cadence.DAY.period(at(2026, 3, 1, 0, 0)).label == "2026-03-01"
    # 23:30 UTC on 28 Feb is 07:30 on 1 March in Shanghai: the store's zone decides.
    assert Cadence.DAY.period(dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)).label == "2026-03-01"
    assert Cadence.YEAR.period(at(2026, 7, 1)).label == "2026"
    assert at(2026, 3, 1) in Cadence.MONTH.period(at(2026, 3, 31))
    assert at(2026, 4, 1) not in Cadence.MONTH.period(at(2026, 3, 31))


@settings(max_examples=40, deadline=None)
@given(
    runs=st.lists(st.tuples(st.integers(0, 120 * 24 * 60),
                            st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 4))),
                  max_size=12),
)
def test_a_member_never_gets_two_grants_of_a_benefit_in_a_period(
    runs: list[tuple[int, dict[str, int]]]
) -> None:
    store = InMemoryLoyaltyStore()
    expected: set[tuple[str, Any, str]] = set()
    for minute, levels in sorted(runs, key=lambda run: run[0]):
        when = at(2026, 1, 1) + dt.timedelta(minutes=minute)
        grant_scheduled(store, [MONTHLY, WEEKLY], levels, at=when)
        expected |= {
            (item.benefit_id, cid, item.every.period(when).label)
            for item in (MONTHLY, WEEKLY) for cid, level in levels.items()
            if level >= item.min_level
        }
    keys = _keys(store.grants())
    assert len(keys) == len(set(keys))  # never two grants of a benefit in one period
    assert set(keys) == expected  # and every member eligible at a run has the grant


def _granter(path: str, barrier: Any, queue: Any, levels: dict[str, int]) -> None:
    try:
        store = SqliteLoyaltyStore(path)
        barrier.wait(timeout=60)
        made = 0
        for day, hour in ((2, 9), (2, 10), (20, 3)):  # the job runs three times in March
            made += len(grant_scheduled(store, [MONTHLY, WEEKLY], levels,
                                        at=at(2026, 3, day, hour)).granted)
        store.close()
        queue.put(made)
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_granting_at_once_give_each_member_one_grant_per_period(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.db")
    SqliteLoyaltyStore(path).close()
    levels = {f"m{i:03d}": i % 5 for i in range(300)}
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_granter, args=(path, barrier, queue, levels))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    made = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    # By hand: levels 2, 3, 4 are 60 members each. March: 180 monthly coupons; weeks 10 (2
    # March) and 12 (20 March): 120 flash-sale rights each.
    expected = 180 + 120 + 120
    assert all(isinstance(m, int) for m in made), made
    assert sum(made) == expected  # between them, the two processes made each grant once
    with SqliteLoyaltyStore(path) as s:
        grants: list[Grant] = s.grants()
    assert len(grants) == expected
    assert Counter(_keys(grants)).most_common(1)[0][1] == 1
    assert {g.period for g in grants} == {"2026-03", "2026-W10", "2026-W12"}
    conn = sqlite3.connect(path)  # the file itself refuses a second grant
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO benefit_grants (benefit_id, customer, customer_is_int, period, "
                     "level, quantity, currency, unit_cost_fen, granted_at_us) "
                     "VALUES ('silver-coupon', 'm002', 0, '2026-03', 2, 1, 'CNY', 1000, 0)")
    conn.close()


def test_scheduled_coupons_must_be_denominations_of_the_catalogue() -> None:
    coupon = MONTHLY.benefit.grants
    assert isinstance(coupon, Coupon)
    ok = grant_scheduled(InMemoryLoyaltyStore(), [MONTHLY], LEVELS, at=at(2026, 3, 1),
                         coupons=CouponCatalog([coupon]))
    assert len(ok.granted) == 3
    other = CouponCatalog([Coupon("C10", face_value=Money(1_500), threshold=Money(10_000),
                                  valid_days=30)])
    store = InMemoryLoyaltyStore()
    for catalog in (CouponCatalog(), other):
        with pytest.raises(InvalidValueError, match=r"schedule\[0\]\.benefit\.grants must be a "
                           "denomination"):
            grant_scheduled(store, [MONTHLY], LEVELS, at=at(2026, 3, 1), coupons=catalog)
    assert store.grants() == []


def test_paid_members_feed_paid_only_benefits() -> None:
    paid = PaidMembership(InMemoryLoyaltyStore(), FeeRules(Money(9_900)))
    paid.renew("b", at=at(2026, 1, 1), spend=Money(0))
    paid.renew("c", at=at(2025, 1, 1), spend=Money(0))  # lapsed on 1 January 2026
    members = paid.paid_members(LEVELS, at(2026, 3, 1))
    assert members == {"b"}
    paid_only = ScheduledBenefit(MONTHLY.benefit, Cadence.MONTH, paid_only=True)
    run = grant_scheduled(InMemoryLoyaltyStore(), [paid_only], LEVELS, at=at(2026, 3, 1),
                          paid_members=members)
    assert _keys(run.granted) == [("silver-coupon", "b", "2026-03")]


def _endless_granter(path: str) -> None:
    """Grant the monthly coupon to 2,000 members, month after month, until killed."""
    store = SqliteLoyaltyStore(path, synchronous="NORMAL")
    levels = {f"k{i:04d}": 2 for i in range(2_000)}
    for month in range(600):
        grant_scheduled(store, [MONTHLY], levels,
                        at=at(2026 + month // 12, month % 12 + 1, 5))


def test_a_granter_killed_mid_run_leaves_whole_batches_and_the_rerun_completes(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "killed.db")
    SqliteLoyaltyStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_endless_granter, args=(path,))
    proc.start()
    deadline = time.monotonic() + 60
    with SqliteLoyaltyStore(path) as s:
        # let it get going (spawn start-up is slow on a busy machine), then kill it
        while s._db.read("SELECT COUNT(*) FROM benefit_grants")[0][0] < 3_000:
            assert proc.is_alive()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL
    with SqliteLoyaltyStore(path) as s:
        assert s._db.read("PRAGMA integrity_check") == [("ok",)]
        per_period = Counter(g.period for g in s.grants())
        # a batch of 500 grants is one transaction: the kill kept whole batches only
        assert all(n % 500 == 0 for n in per_period.values()), per_period
        periods = sorted(per_period)
        levels = {f"k{i:04d}": 2 for i in range(2_000)}
        for label in periods:
            year, month = map(int, label.split("-"))
            grant_scheduled(s, [MONTHLY], levels, at=at(year, month, 20))
        after = Counter(_keys(s.grants()))
        assert all(n == 1 for n in after.values())
        assert Counter(g.period for g in s.grants()) == dict.fromkeys(periods, 2_000)
