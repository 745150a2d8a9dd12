"""Task points with counted occurrences and per-period caps (seed 002: 分享3次得200积分).

Expectations are worked by hand: three shares make one reward of 200 points; a daily
check-in capped at once a day and 20 times a month earns at most 20 rewards in January,
and 00:00 on 1 February opens a new month.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers_helpers import TZ, at

from ecrm import InvalidTypeError, InvalidValueError, Money
from ecrm.tiers import (
    Cadence,
    InMemoryLedgerStore,
    InMemoryLoyaltyStore,
    LedgerEntry,
    OccurrenceStatus,
    PointsLedger,
    PointsRules,
    SqliteLedgerStore,
    SqliteLoyaltyStore,
    TaskCap,
    TaskCounter,
    TaskReward,
    TaskStore,
)

C, R, X = OccurrenceStatus.COUNTED, OccurrenceStatus.REWARDED, OccurrenceStatus.CAPPED
SHARE = TaskReward("share", points=200, times=3)                       # 分享3次得200积分
CHECKIN = TaskReward("checkin", points=5,
                     caps=[TaskCap(Cadence.DAY, 1), TaskCap(Cadence.MONTH, 20)])
RULES = PointsRules(tasks=[SHARE, CHECKIN, TaskReward("晒单:photo", points=10)],
                    expiry_months=None)


@pytest.fixture(params=["memory", "sqlite"])
def counter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskCounter]:
    if request.param == "memory":
        yield TaskCounter(InMemoryLoyaltyStore(), PointsLedger(InMemoryLedgerStore(), RULES))
    else:
        # one file, one connection: an occurrence and its reward commit together
        ledger_store = SqliteLedgerStore(tmp_path / "shop.db")
        store = SqliteLoyaltyStore(ledger_store)
        yield TaskCounter(store, PointsLedger(ledger_store, RULES))
        store.close()
        ledger_store.close()


def test_three_shares_make_one_reward_of_200(counter: TaskCounter) -> None:
    assert isinstance(counter.store, TaskStore)
    done = [counter.record("c1", "share", f"s{i}", at=at(2026, 3, 1, 9, i)).status
            for i in range(1, 8)]
    assert done == [C, C, R, C, C, R, C]
    assert counter.ledger.balance("c1", at(2026, 3, 2)) == 400
    assert counter.progress("c1", "share") == (1, 3)
    keys = [e.key for e in counter.ledger.entries("c1")]
    assert keys == ['["task","share","c1","s3"]', '["task","share","c1","s6"]']


def test_daily_checkin_capped_per_day_and_per_month(counter: TaskCounter) -> None:
    statuses = []
    for day in range(1, 26):  # twice a day, 1..25 January
        for hour in (8, 20):
            statuses.append(
                counter.record("c1", "checkin", f"{day}-{hour}", at=at(2026, 1, day, hour)).status
            )
    # each day: the morning is rewarded, the evening is over the day's cap; from the 21st
    # the month's 20 rewards are used up and both are capped.
    assert statuses == [R, X] * 20 + [X, X] * 5
    assert counter.ledger.balance("c1", at(2026, 2, 1)) == 20 * 5
    # The period edge: the last instant of January is still capped; 00:00 on 1 February is
    # February, a new month and a new day.
    assert counter.record("c1", "checkin", "jan-end",
                          at=at(2026, 1, 31, 23, 59, 59)).status is X
    assert counter.record("c1", "checkin", "feb-1", at=at(2026, 2, 1)).status is R
    assert counter.ledger.balance("c1", at(2026, 2, 1)) == 21 * 5


def test_recording_an_occurrence_again_is_a_no_op(counter: TaskCounter) -> None:
    first = [counter.record(7, "share", f"s{i}", at=at(2026, 3, 1, 9, i)) for i in range(3)]
    again = counter.record(7, "share", "s2", at=at(2026, 3, 5))  # a retry, days later
    assert again == first[2]
    assert again.status is R
    assert len(counter.ledger.entries(7)) == 1
    assert len(counter.occurrences(7, "share")) == 3
    assert counter.occurrences("7", "share") == ()  # 7 and "7" are different customers
    assert counter.reward_entry(first[2]) == counter.ledger.entries(7)[0]
    assert counter.reward_entry(first[0]) is None


def test_task_names_may_hold_colons_now_that_keys_are_typed(counter: TaskCounter) -> None:
    reward = TaskReward("晒单:photo", points=10)  # refused before the ledger keys were typed
    assert reward.task == "晒单:photo"
    entry = counter.record("a:b", "晒单:photo", "o:1", at=at(2026, 3, 1)).ledger_key
    assert json.loads(entry) == ["task", "晒单:photo", "a:b", "o:1"]
    other = counter.record("a", "晒单:photo", "b:o:1", at=at(2026, 3, 1)).ledger_key
    assert other != entry
    assert counter.ledger.balance("a:b", at(2026, 3, 2)) == 10
    assert counter.ledger.balance("a", at(2026, 3, 2)) == 10


def test_bad_input_is_refused_and_changes_nothing(counter: TaskCounter) -> None:
    counter.record("c", "share", "s1", at=at(2026, 3, 2))
    with pytest.raises(InvalidValueError, match="earlier than customer 'c'"):
        counter.record("c", "share", "s0", at=at(2026, 3, 1))
    with pytest.raises(InvalidValueError, match="task is not one of"):
        counter.record("c", "dance", "d1", at=at(2026, 3, 2))
    with pytest.raises(InvalidValueError, match="occurrence must not be empty"):
        counter.record("c", "share", "", at=at(2026, 3, 2))
    assert [o.occurrence for o in counter.occurrences("c", "share")] == ["s1"]


def test_task_reward_values_are_checked() -> None:
    with pytest.raises(InvalidValueError, match="task must be a non-empty name"):
        TaskReward(" ", points=1)
    with pytest.raises(InvalidValueError, match="times must be > 0"):
        TaskReward("t", points=1, times=0)
    with pytest.raises(InvalidValueError, match="max_rewards must be > 0"):
        TaskCap(Cadence.DAY, 0)
    with pytest.raises(InvalidValueError, match="caps must not cap one period twice"):
        TaskReward("t", points=1, caps=[TaskCap(Cadence.DAY, 1), TaskCap(Cadence.DAY, 2)])
    with pytest.raises(InvalidTypeError, match="caps\\[0\\] must be a TaskCap"):
        TaskReward("t", points=1, caps=[(Cadence.DAY, 1)])  # type: ignore[list-item]


class _FailingOnce(InMemoryLedgerStore):
    """A ledger store whose first append fails, as a process dying after the decision."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        if self.fail:
            self.fail = False
            raise OSError("disk gone")
        return super().append(entry)


def test_a_reward_that_cannot_be_posted_keeps_no_occurrence_and_the_retry_posts_it() -> None:
    ledger = PointsLedger(_FailingOnce(), RULES)
    counter = TaskCounter(InMemoryLoyaltyStore(), ledger)
    counter.record("c", "share", "s1", at=at(2026, 3, 1))
    counter.record("c", "share", "s2", at=at(2026, 3, 1))
    with pytest.raises(OSError, match="disk gone"):
        counter.record("c", "share", "s3", at=at(2026, 3, 1))
    assert ledger.balance("c", at(2026, 3, 1)) == 0
    assert len(counter.occurrences("c", "share")) == 2  # undone with the failed posting
    assert counter.record("c", "share", "s3", at=at(2026, 3, 1, 1)).status is R
    assert ledger.balance("c", at(2026, 3, 2)) == 200
    counter.record("c", "share", "s3", at=at(2026, 3, 1, 2))
    assert ledger.balance("c", at(2026, 3, 2)) == 200  # exactly once


def _reference_checkins(times: list[dt.datetime], per_month: int) -> int:
    """Rewards of a check-in capped at 1 a day and ``per_month`` a month: in each month,
    the first ``per_month`` distinct days that have a check-in."""
    months: dict[tuple[int, int], set[dt.date]] = {}
    for t in times:
        local = t.astimezone(TZ)
        months.setdefault((local.year, local.month), set()).add(local.date())
    return sum(min(len(days), per_month) for days in months.values())


@settings(max_examples=60, deadline=None)
@given(minutes=st.lists(st.integers(0, 90 * 1440), max_size=40),
       per_month=st.integers(1, 5))
def test_checkin_rewards_match_a_plain_count_of_days(minutes: list[int], per_month: int) -> None:
    rules = PointsRules(tasks=[TaskReward("checkin", points=1, caps=[
        TaskCap(Cadence.DAY, 1), TaskCap(Cadence.MONTH, per_month)])], expiry_months=None)
    counter = TaskCounter(InMemoryLoyaltyStore(), PointsLedger(InMemoryLedgerStore(), rules))
    times = [at(2026, 1, 1) + dt.timedelta(minutes=m) for m in sorted(minutes)]
    for i, t in enumerate(times):
        counter.record("c", "checkin", f"o{i}", at=t)
    assert counter.ledger.balance("c", at(2027, 1, 1)) == _reference_checkins(times, per_month)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 30), times=st.integers(1, 5))
def test_every_times_th_occurrence_without_caps_is_rewarded(n: int, times: int) -> None:
    rules = PointsRules(tasks=[TaskReward("t", points=7, times=times)], expiry_months=None)
    counter = TaskCounter(InMemoryLoyaltyStore(), PointsLedger(InMemoryLedgerStore(), rules))
    got = [counter.record("c", "t", str(i), at=at(2026, 1, 1)).status for i in range(n)]
    assert [i + 1 for i, s in enumerate(got) if s is R] == list(range(times, n + 1, times))
    assert counter.ledger.balance("c", at(2026, 1, 2)) == 7 * (n // times)
    assert counter.progress("c", "t") == (n % times, times)


def test_counter_checks_its_arguments() -> None:
    with pytest.raises(InvalidTypeError, match="TaskStore"):
        TaskCounter(object(), PointsLedger(InMemoryLedgerStore(), RULES))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="PointsLedger"):
        TaskCounter(InMemoryLoyaltyStore(), object())  # type: ignore[arg-type]



def test_a_store_opening_the_ledgers_file_twice_is_refused(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "shop.db") as ledger_store, \
            SqliteLoyaltyStore(tmp_path / "shop.db") as second:
        with pytest.raises(InvalidValueError, match=r"SqliteLoyaltyStore\(ledger_store\)"):
            TaskCounter(second, PointsLedger(ledger_store, RULES))
        shared = SqliteLoyaltyStore(ledger_store)
        assert shared.shares_connection_with(ledger_store)
        assert not second.shares_connection_with(ledger_store)
        shared.close()  # leaves the ledger's connection open
        assert ledger_store.all_entries() == []


def test_two_files_work_and_a_ledger_failure_keeps_nothing(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "points.db") as ledger_store, \
            SqliteLoyaltyStore(tmp_path / "tasks.db") as store:
        counter = TaskCounter(store, PointsLedger(ledger_store, RULES))
        for i in range(3):
            counter.record("c", "share", f"s{i}", at=at(2026, 3, 2))
        assert counter.ledger.balance("c", at(2026, 3, 2)) == 200
        counter.ledger.earn_for_order("c", "o1", Money(1_000), at=at(2026, 3, 9))
        for i in range(3, 5):
            counter.record("c", "share", f"s{i}", at=at(2026, 3, 3))
        # the ledger refuses a reward dated before its last entry: the occurrence goes too
        with pytest.raises(InvalidValueError, match="last ledger entry"):
            counter.record("c", "share", "s5", at=at(2026, 3, 3))
        assert len(counter.occurrences("c", "share")) == 5


def _sharer(path: str, barrier: Any, queue: Any) -> None:
    try:
        ledger_store = SqliteLedgerStore(path)
        counter = TaskCounter(SqliteLoyaltyStore(ledger_store), PointsLedger(ledger_store, RULES))
        barrier.wait(timeout=60)
        statuses = [counter.record("c", "share", f"s{i:02d}", at=at(2026, 3, 1, 9, i)).status.value
                    for i in range(30)]
        ledger_store.close()
        queue.put(statuses)
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_recording_the_same_shares_reward_each_set_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SqliteLedgerStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_sharer, args=(path, barrier, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    # Both see the same stored outcome of every share: every third is rewarded.
    expected = ["counted", "counted", "rewarded"] * 10
    assert results == [expected, expected], results
    with SqliteLedgerStore(path) as ledger_store:
        ledger = PointsLedger(ledger_store, RULES)
        assert ledger.balance("c", at(2026, 3, 2)) == 10 * 200
        assert len(ledger.entries("c")) == 10
