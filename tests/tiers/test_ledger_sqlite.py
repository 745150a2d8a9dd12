"""SqliteLedgerStore on real files: round trips, transactions, uniqueness, two processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from ecrm import Money
from ecrm._errors import InvalidValueError
from ecrm.testing import ledger_operations
from ecrm.testing._benefits import LedgerScript
from ecrm.tiers import (
    Benefit,
    BenefitCatalog,
    BenefitKind,
    EntryKind,
    Gift,
    InMemoryLedgerStore,
    InsufficientPointsError,
    LedgerConflictError,
    LedgerEntry,
    LedgerStore,
    LedgerStoreError,
    PointsLedger,
    PointsRules,
    SqliteLedgerStore,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 1, 1, 9, tzinfo=SH)
CATALOG = BenefitCatalog(
    [Benefit("mug", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=30)]
)


def ledger_on(store: LedgerStore, rules: PointsRules | None = None) -> PointsLedger:
    return PointsLedger(store, rules or PointsRules(expiry_months=1), catalog=CATALOG)


def test_store_satisfies_the_protocol_and_uses_wal(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "points.db") as store:
        assert isinstance(store, LedgerStore)
    conn = sqlite3.connect(tmp_path / "points.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_reopening_the_file_reads_the_same_entries_and_balance(tmp_path: Path) -> None:
    path = tmp_path / "points.db"
    with SqliteLedgerStore(path) as store:
        ledger = ledger_on(store)
        ledger.earn_for_order("c1", "o1", Money(10_000), at=T0)
        ledger.earn_for_order(42, "o2", Money(5_000), at=T0)
        ledger.redeem("c1", "mug", "r1", at=T0 + dt.timedelta(days=1))
        ledger.reverse_for_refund("o1", at=T0 + dt.timedelta(days=2))
        written = ledger.entries()
    with SqliteLedgerStore(path) as again:
        ledger = ledger_on(again)
        assert ledger.entries() == written
        assert ledger.balance("c1", T0 + dt.timedelta(days=2)) == 0
        assert ledger.balance(42, T0 + dt.timedelta(days=2)) == 50
        assert again.customers() == ["c1", 42]
        # Expiry is computed from the stored instants.
        posted = ledger.expire(T0 + dt.timedelta(days=40))
        assert [(e.key, e.points) for e in posted] == [('["expire","earn","o2"]', -50)]
    reverse = written[-1]
    assert (reverse.kind, reverse.points, reverse.unrecovered) == (EntryKind.REVERSE, -70, 30)


def test_entries_round_trip_exactly(tmp_path: Path) -> None:
    memory, sqlite = InMemoryLedgerStore(), SqliteLedgerStore(tmp_path / "p.db")
    try:
        at = dt.datetime(2026, 3, 8, 1, 59, 59, 123_456, tzinfo=ZoneInfo("America/New_York"))
        for store in (memory, sqlite):
            ledger_on(store).earn_for_order("c1", "o1", Money(12_345), at=at)
        assert sqlite.all_entries() == memory.all_entries()
        [entry] = sqlite.all_entries()
        assert entry.at == at
        assert entry.at.tzinfo is dt.UTC
    finally:
        sqlite.close()


def test_unique_key_is_enforced_by_the_file(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "p.db") as store:
        entry = ledger_on(store).earn_for_order("c1", "o1", Money(100), at=T0)
        with pytest.raises(LedgerConflictError):
            store.append(entry)
        assert len(store.all_entries()) == 1


class FailingSqliteStore(SqliteLedgerStore):
    """Raises after the first insert of an operation (the insert itself succeeded)."""

    armed = False

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        stored = super().append(entry)
        if self.armed:
            raise RuntimeError(f"crash after inserting {stored.key} (injected)")
        return stored


def test_an_error_after_the_first_insert_rolls_the_whole_operation_back(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = FailingSqliteStore(path)
    ledger = ledger_on(store)
    ledger.earn_for_order("c1", "o1", Money(10_000), at=T0)
    ledger.earn_for_order("c1", "o2", Money(10_000), at=T0 + dt.timedelta(days=20))
    before = ledger.entries()
    store.armed = True
    # The redemption must first expire o1 (one insert), then redeem (a second insert).
    with pytest.raises(RuntimeError, match=r"crash after inserting \[\"expire\",\"earn\",\"o1\"\]"):
        ledger.redeem("c1", "mug", "r1", at=T0 + dt.timedelta(days=40))
    with pytest.raises(RuntimeError, match="injected"):
        ledger.expire(T0 + dt.timedelta(days=400))
    assert ledger.entries() == before
    store.close()
    with SqliteLedgerStore(path) as fresh:  # nothing reached the file either
        assert fresh.all_entries() == list(before)
        ledger = ledger_on(fresh)
        entry = ledger.redeem("c1", "mug", "r1", at=T0 + dt.timedelta(days=40))
        assert entry.seq == 4  # the expiry got 3; no gap left by the rolled-back inserts


def test_synchronous_setting_is_checked_and_applied(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="synchronous"):
        SqliteLedgerStore(tmp_path / "p.db", synchronous="OFF")  # type: ignore[arg-type]
    with SqliteLedgerStore(tmp_path / "p.db", synchronous="NORMAL") as store:
        assert store._db.read("PRAGMA synchronous") == [(1,)]
    with SqliteLedgerStore(tmp_path / "p.db") as store:
        assert store._db.read("PRAGMA synchronous") == [(2,)]


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerStoreError, match="cannot open points ledger"):
        SqliteLedgerStore(path)
    with pytest.raises(LedgerStoreError, match="cannot open points ledger") as info:
        SqliteLedgerStore(tmp_path / "no" / "such" / "dir" / "p.db")
    assert isinstance(info.value, OSError)


def test_a_closed_store_raises_its_own_error(tmp_path: Path) -> None:
    store = SqliteLedgerStore(tmp_path / "p.db")
    ledger = ledger_on(store)
    ledger.earn_for_order("c1", "o1", Money(10_000), at=T0)
    store.close()
    for read in (store.customers, store.all_entries, lambda: store.get('["earn","o1"]'),
                 lambda: store.entries_for("c1")):
        with pytest.raises(LedgerStoreError, match="points ledger"):
            read()
    with pytest.raises(LedgerStoreError):
        ledger.earn_for_order("c1", "o2", Money(10_000), at=T0)
    with SqliteLedgerStore(tmp_path / "p.db") as again:
        assert [e.key for e in again.all_entries()] == ['["earn","o1"]']


# -- two processes -----------------------------------------------------------------------------

N_ORDERS = 150


def _writer(path: str, name: str, barrier: Any, queue: Any) -> None:
    """Post N_ORDERS shared orders (same keys in both processes) and own orders/redemptions."""
    problems: list[str] = []
    try:
        # NORMAL keeps the test fast (no fsync per commit); locking is the same as FULL.
        store = SqliteLedgerStore(path, synchronous="NORMAL")
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        barrier.wait()
        for n in range(N_ORDERS):
            at = T0 + dt.timedelta(minutes=n)
            ledger.earn_for_order("shared", f"shared-{n}", Money(1_000 + n), at=at)
            ledger.earn_for_order(name, f"{name}-{n}", Money(2_000), at=at)
            if n % 3 == 2:
                ledger.redeem(name, "mug", f"{name}-r{n}", at=at)
                ledger.redeem("shared", "mug", f"shared-r{n}", at=at)  # same key in both
        store.close()
    except Exception as exc:  # reported to the parent, which fails the test
        problems.append(f"{type(exc).__name__}: {exc}")
    queue.put((name, problems))


def test_two_processes_writing_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SqliteLedgerStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(path, name, barrier, queue)) for name in ("p1", "p2")
    ]
    for proc in procs:
        proc.start()
    reports = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert reports == {"p1": [], "p2": []}  # in particular no "database is locked"

    with SqliteLedgerStore(path) as store:
        entries = store.all_entries()
        keys = [e.key for e in entries]
        assert len(keys) == len(set(keys))
        redemptions = N_ORDERS // 3
        assert len(entries) == 3 * N_ORDERS + 3 * redemptions
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        end = T0 + dt.timedelta(days=1)
        # Shared: an order of ¥10.00 + n fen earns 10 points (n < 100), 11 from n = 100.
        shared_earned = sum((1_000 + n) // 100 for n in range(N_ORDERS))
        assert ledger.balance("shared", end) == shared_earned - 30 * redemptions
        for name in ("p1", "p2"):
            assert ledger.balance(name, end) == 20 * N_ORDERS - 30 * redemptions
        for customer in ("shared", "p1", "p2"):
            running = 0
            for entry in store.entries_for(customer):
                running += entry.points
                assert running >= 0
        conn = sqlite3.connect(path)
        try:
            [(count, distinct)] = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT key) FROM points_entries"
            ).fetchall()
        finally:
            conn.close()
        assert count == distinct == len(entries)


def _spender(path: str, name: str, barrier: Any, queue: Any) -> None:
    """Try TRIES redemptions of the 30-point mug from the shared customer "tight"."""
    outcomes: list[str] = []
    try:
        store = SqliteLedgerStore(path, synchronous="NORMAL")
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        barrier.wait()
        for n in range(TRIES):
            try:
                ledger.redeem("tight", "mug", f"{name}-{n}", at=T0 + dt.timedelta(hours=1))
                outcomes.append("redeemed")
            except InsufficientPointsError:
                outcomes.append("refused")
        store.close()
    except Exception as exc:  # e.g. "database is locked": reported, fails the test
        outcomes.append(f"{type(exc).__name__}: {exc}")
    queue.put((name, outcomes))


TRIES = 12


def test_two_processes_spending_one_balance_never_overspend(tmp_path: Path) -> None:
    # 100 points and a 30-point mug: whichever process wins each race, exactly three
    # redemptions fit. A store that let both processes read the balance before either
    # wrote would let both spend the same points (a negative balance); one that upgraded a
    # read transaction to a write would fail with "database is locked".
    path = str(tmp_path / "tight.db")
    with SqliteLedgerStore(path) as store:
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        ledger.earn_for_order("tight", "seed", Money(10_000), at=T0)
        assert ledger.balance("tight", T0 + dt.timedelta(hours=1)) == 100
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_spender, args=(path, name, barrier, queue)) for name in ("p1", "p2")
    ]
    for proc in procs:
        proc.start()
    reports = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    outcomes = reports["p1"] + reports["p2"]
    assert sorted(set(outcomes)) == ["redeemed", "refused"], outcomes
    assert outcomes.count("redeemed") == 3
    assert outcomes.count("refused") == 2 * TRIES - 3
    with SqliteLedgerStore(path) as store:
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        assert ledger.balance("tight", T0 + dt.timedelta(hours=2)) == 10
        assert [e.points for e in store.entries_for("tight")] == [100, -30, -30, -30]


# -- same script, same entries -------------------------------------------------------------------


def _outcome(result: object) -> object:
    if isinstance(result, Exception):
        return (type(result).__name__, str(result))
    return result


@settings(max_examples=25)
@given(ledger_operations(max_size=25))
def test_memory_and_sqlite_stores_give_identical_entries(script: LedgerScript) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SqliteLedgerStore(Path(tmp) / "p.db", synchronous="NORMAL") as sqlite,
    ):
        memory_ledger, memory_results = script.run(InMemoryLedgerStore())
        sqlite_ledger, sqlite_results = script.run(sqlite)
        assert [_outcome(r) for r in sqlite_results] == [_outcome(r) for r in memory_results]
        assert sqlite_ledger.entries() == memory_ledger.entries()
        for customer in script.customers:
            assert sqlite_ledger.balance(customer, script.end) == memory_ledger.balance(
                customer, script.end
            )
