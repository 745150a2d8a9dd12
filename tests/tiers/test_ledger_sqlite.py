"""SqliteLedgerStore on real files: round trips, transactions, uniqueness, two processes."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from ledger_reference import CUSTOMERS, ReferenceLedger, Script, ledger_for, scripts

from ecrm import EcrmError, Money, StoreError
from ecrm.errors import InvalidValueError
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
    LotState,
    PointsLedger,
    PointsRules,
    SqliteLedgerStore,
    TaskReward,
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


def assert_snapshot_matches_history(store: SqliteLedgerStore, customer: str) -> None:
    """The stored open lots are what a plain FIFO over the customer's entries leaves."""
    lots = ReferenceLedger._lots(store.entries_for(customer))
    assert [(lot.key, lot.remaining) for lot in store.open_lots(customer)] == [
        (key, left) for key, (left, _) in lots.items() if left > 0
    ]


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
        for customer in ("shared", "p1", "p2"):
            assert_snapshot_matches_history(store, customer)


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
        assert_snapshot_matches_history(store, "tight")


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


# -- both stores against a plain reference ledger ---------------------------------------------


@settings(max_examples=40, deadline=None)
@given(scripts())
def test_both_stores_match_a_plain_reference_ledger(script: Script) -> None:
    """Every result, every entry, and the lots at every moment of the script are those of a
    reference that scans the whole history each time, on both stores, with ids that would
    collide under ``:``-joined keys."""
    reference = ReferenceLedger(script.rules)
    expected = script.run(reference)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SqliteLedgerStore(Path(tmp) / "p.db", synchronous="NORMAL") as sqlite,
    ):
        for store in (InMemoryLedgerStore(), sqlite):
            ledger = ledger_for(store, script.rules)
            assert script.run(ledger) == expected
            assert list(ledger.entries()) == reference.entries
            moments = sorted({*script.times, *(t + dt.timedelta(days=40) for t in script.times)})
            for customer in CUSTOMERS:
                for moment in moments:
                    got = [(lot.key, lot.remaining) for lot in ledger.lots(customer, moment)]
                    assert got == reference.lots(customer, moment), (customer, moment)
                # the snapshot holds exactly the lots with points left
                assert [(lot.key, lot.remaining) for lot in store.open_lots(customer)] == [
                    (k, r) for k, (r, _) in reference._lots(reference._of(customer)).items()
                    if r > 0
                ]


# -- the shared seam: argument names, errors, a full disk -------------------------------------


def test_ledger_store_error_is_the_seams_store_error(tmp_path: Path) -> None:
    assert issubclass(LedgerStoreError, StoreError)
    assert issubclass(LedgerStoreError, EcrmError)
    assert issubclass(LedgerStoreError, OSError)
    path = tmp_path / "p.db"
    with SqliteLedgerStore(path, busy_timeout=0.05) as store:
        ledger = ledger_on(store)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LedgerStoreError, match=r"busy or unusable.*nothing changed"):
                ledger.earn_for_order("c1", "o1", Money(100), at=T0)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.all_entries() == []
        assert store.open_lots("c1") == []


def test_busy_timeout_is_applied_and_timeout_s_is_a_deprecated_alias(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "p.db", busy_timeout=2.5) as store:
        assert store._db.read("PRAGMA busy_timeout") == [(2_500,)]
    with pytest.deprecated_call(match="timeout_s= is deprecated.*busy_timeout="):
        store = SqliteLedgerStore(tmp_path / "p.db", timeout_s=1.5)
    with store:
        assert store._db.read("PRAGMA busy_timeout") == [(1_500,)]
    with pytest.deprecated_call(), pytest.raises(InvalidValueError, match="timeout_s"):
        SqliteLedgerStore(tmp_path / "p.db", timeout_s=0)
    with pytest.raises(InvalidValueError, match="busy_timeout"):
        SqliteLedgerStore(tmp_path / "p.db", busy_timeout=-1)


@pytest.mark.parametrize("room_pages", [1, 2, 3])
def test_a_full_disk_is_a_store_error_and_leaves_no_half_operation(
    tmp_path: Path, room_pages: int
) -> None:
    """Writes hit SQLITE_FULL (the file is capped with ``max_page_count``) during
    redemptions that first post an expiry: the failing one leaves no trace, the ones before
    are whole, and once there is room again the same redemption goes through. (With the
    SQLite of the time of writing, 1 page of room fails on the expiry's insert and 2 or 3
    on the redemption's, after the expiry's: both places are covered.)"""
    path = tmp_path / "full.db"
    store = SqliteLedgerStore(path, synchronous="NORMAL")
    ledger = ledger_on(store)  # points expire after one month
    n_customers = 400
    with store.transaction():  # one commit for the set-up
        for n in range(n_customers):
            ledger.earn_for_order(f"c{n}", f"o{n}", Money(10_000), at=T0)  # 100, exp +1 month
            ledger.earn_for_order(f"c{n}", f"p{n}", Money(5_000), at=T0 + dt.timedelta(days=20))
    [(pages,)] = store._db.read("PRAGMA page_count")
    store._db.read(f"PRAGMA max_page_count = {pages + room_pages}")
    day40 = T0 + dt.timedelta(days=40)
    failure: Exception | None = None
    done = 0
    for n in range(n_customers):
        before_entries, before_lots = store.entries_for(f"c{n}"), store.open_lots(f"c{n}")
        count = len(store.all_entries())
        try:
            ledger.redeem(f"c{n}", "mug", f"r{n}", at=day40)  # expire o{n}, then redeem
        except Exception as exc:
            failure = exc
            break
        done += 1
    assert failure is not None, "the cap was never reached"
    assert type(failure) is LedgerStoreError
    assert isinstance(failure, StoreError)
    assert "full" in str(failure)
    assert "nothing changed" in str(failure)
    assert isinstance(failure.__cause__, sqlite3.OperationalError)
    assert done > 0
    failed = f"c{done}"
    assert store.entries_for(failed) == before_entries  # no EXPIRE, no REDEEM
    assert store.open_lots(failed) == before_lots
    assert len(store.all_entries()) == count
    assert ledger.balance(failed, day40) == 50  # o's 100 are due; p's 50 stay
    for n in range(done):  # the redemptions before are whole: expiry and redemption
        assert [e.kind for e in store.entries_for(f"c{n}")][2:] == [
            EntryKind.EXPIRE, EntryKind.REDEEM
        ]
    assert store._db.read("PRAGMA integrity_check") == [("ok",)]
    store.close()
    with SqliteLedgerStore(path) as roomy:  # a new connection has no cap
        entry = ledger_on(roomy).redeem(failed, "mug", f"r{done}", at=day40)
        assert entry.seq == count + 2  # after its expiry; no gap left by the failed attempt
        assert ledger_on(roomy).balance(failed, day40) == 20


# -- files written before the typed keys ------------------------------------------------------

V1_SCHEMA = (
    "CREATE TABLE points_entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL "
    "UNIQUE, customer TEXT NOT NULL, customer_is_int INTEGER NOT NULL, kind TEXT NOT NULL, "
    "points INTEGER NOT NULL, at_us INTEGER NOT NULL, ref TEXT NOT NULL, expires_at_us "
    "INTEGER, unrecovered INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX points_entries_customer ON points_entries (customer, customer_is_int, seq)",
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _write_v1(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """A file as ecrm < 0.1.0 wrote it: colon-joined keys, no lot table, user_version 0."""
    conn = sqlite3.connect(path)
    try:
        for statement in V1_SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO points_entries (key, customer, customer_is_int, kind, points, at_us, "
            "ref, expires_at_us, unrecovered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.commit()
    finally:
        conn.close()


def _raw(path: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


MONTH = T0 + dt.timedelta(days=31)  # T0 + 1 month (Jan 1 → Feb 1)
V1_ROWS = [
    ("task:share:a:b:c", "a:b", 0, "earn", 200, _us(T0), "share", _us(T0 + dt.timedelta(days=365)), 0),
    ("task:share:a:x", "a", 0, "earn", 200, _us(T0), "share", None, 0),
    ("task:share:3:2026-11", "3", 1, "earn", 200, _us(T0), "share", None, 0),
    ("earn:o", "c1", 0, "earn", 100, _us(T0), "o", _us(MONTH), 0),
    ("earn:o:1", "c1", 0, "earn", 50, _us(T0), "o:1", None, 0),
    # order "o", partial refund "1": the old key that blocked the full refund of order "o:1"
    ("reverse:o:1", "c1", 0, "reverse", -10, _us(T0 + dt.timedelta(days=1)), "earn:o", None, 0),
    ("redeem:r:1", "c1", 0, "redeem", -30, _us(T0 + dt.timedelta(days=2)), "mug", None, 0),
    ("expire:earn:o", "c1", 0, "expire", -60, _us(MONTH), "earn:o", None, 0),
]


def test_an_old_format_file_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _write_v1(path, V1_ROWS)
    with SqliteLedgerStore(path) as store:
        assert [(e.seq, e.key, e.ref) for e in store.all_entries()] == [
            (1, '["task","share","a:b","c"]', "share"),
            (2, '["task","share","a","x"]', "share"),
            (3, '["task","share",3,"2026-11"]', "share"),
            (4, '["earn","o"]', "o"),
            (5, '["earn","o:1"]', "o:1"),
            (6, '["reverse","o","1"]', '["earn","o"]'),
            (7, '["redeem","r:1"]', "mug"),
            (8, '["expire","earn","o"]', '["earn","o"]'),
        ]
        assert store.customers() == ["a:b", "a", 3, "c1"]
        # the lot snapshot is built: o is spent (10 asked back, 30 redeemed, 60 expired)
        assert store.lot('["earn","o"]') == LotState(
            '["earn","o"]', "c1", 4, T0, MONTH, 100, 0, asked_back=10, expired=60
        )
        assert [(lot.key, lot.remaining) for lot in store.open_lots("c1")] == [
            ('["earn","o:1"]', 50)
        ]
        ledger = ledger_on(store, PointsRules(expiry_months=1, tasks=[TaskReward("share", points=200)]))
        later = T0 + dt.timedelta(days=40)
        assert [ledger.balance(c, later) for c in ("a:b", "a", 3, "c1")] == [200, 200, 200, 50]
        # the full refund of order "o:1" no longer collides with o's partial refund "1"
        full = ledger.reverse_for_refund("o:1", at=later)
        assert (full.key, full.points) == ('["reverse","o:1"]', -50)
        # retrying the migrated task posts nothing new; int customer 3's key kept its type
        assert ledger.earn_for_task(3, "share", "2026-11", at=later).seq == 3
    assert _raw(path, "PRAGMA user_version") == [(2,)]
    with SqliteLedgerStore(path) as again:  # a second open migrates nothing
        assert len(again.all_entries()) == 9
        assert again.all_entries()[0].key == '["task","share","a:b","c"]'


def test_an_old_row_the_migration_cannot_read_is_a_clear_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.db"
    rows = [*V1_ROWS[:3], ("bonus-2026", "c9", 0, "earn", 5, _us(T0), "gift", None, 0)]
    _write_v1(path, rows)
    with pytest.raises(LedgerStoreError, match=r"cannot migrate .*entry seq 4 .*'bonus-2026'"):
        SqliteLedgerStore(path)
    assert _raw(path, "PRAGMA user_version") == [(0,)]
    assert [k for (k,) in _raw(path, "SELECT key FROM points_entries ORDER BY seq")] == [
        r[0] for r in rows
    ]
    assert _raw(path, "SELECT name FROM sqlite_master WHERE name = 'points_lots'") == []


def test_a_file_from_a_newer_ecrm_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqliteLedgerStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with pytest.raises(LedgerStoreError, match="schema version 3, written by a newer ecrm"):
        SqliteLedgerStore(path)


# -- a writer killed with SIGKILL -----------------------------------------------------------------


def _busy_writer(path: str, start: int) -> None:
    """Earn, redeem, refund and expire for ten customers until killed."""
    store = SqliteLedgerStore(path, synchronous="NORMAL")
    ledger = PointsLedger(store, PointsRules(expiry_months=1), catalog=CATALOG)
    n = start
    while True:
        customer = f"k{n % 10}"
        at = T0 + dt.timedelta(hours=n)
        ledger.earn_for_order(customer, f"k-o{n}", Money(4_000 + n % 7 * 1_000), at=at)
        with contextlib.suppress(InsufficientPointsError):
            ledger.redeem(customer, "mug", f"k-r{n}", at=at)
        if n % 3 == 0:
            ledger.reverse_for_refund(f"k-o{n}", at=at, refund_id="part", points=5)
        if n % 50 == 0:
            ledger.expire(at)
        n += 1


def test_a_writer_killed_mid_operation_leaves_whole_operations_and_a_true_snapshot(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "killed.db")
    SqliteLedgerStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    start = 0
    for round_ in range(3):
        proc = ctx.Process(target=_busy_writer, args=(path, start))
        proc.start()
        deadline = time.monotonic() + 60
        with SqliteLedgerStore(path) as store:
            # let it get going (spawn start-up is slow on a busy machine), then kill it
            while len(store.all_entries()) < (round_ + 1) * 150:
                assert proc.is_alive()
                assert time.monotonic() < deadline
                time.sleep(0.05)
        time.sleep(0.05 * (round_ + 1))
        os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        with SqliteLedgerStore(path) as store:
            assert store._db.read("PRAGMA integrity_check") == [("ok",)]
            entries = store.all_entries()
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
            for customer in {e.customer_id for e in entries}:
                assert isinstance(customer, str)
                assert_snapshot_matches_history(store, customer)
                running = 0
                for entry in store.entries_for(customer):
                    running += entry.points
                    assert running >= 0
            # the next writer picks up after the last whole earn
            start = 1 + max(int(e.ref.removeprefix("k-o")) for e in entries
                            if e.kind is EntryKind.EARN)


def test_threads_sharing_one_store_never_overspend(tmp_path: Path) -> None:
    with SqliteLedgerStore(tmp_path / "threads.db", synchronous="NORMAL") as store:
        ledger = PointsLedger(store, PointsRules(expiry_months=None), catalog=CATALOG)
        ledger.earn_for_order("t", "seed", Money(100_000), at=T0)  # 1000 points: 33 mugs
        outcomes: list[str] = []

        def spend(name: str) -> None:
            for n in range(25):
                try:
                    ledger.redeem("t", "mug", f"{name}-{n}", at=T0 + dt.timedelta(hours=1))
                    outcomes.append("redeemed")
                except InsufficientPointsError:
                    outcomes.append("refused")

        workers = [threading.Thread(target=spend, args=(f"w{i}",)) for i in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert outcomes.count("redeemed") == 33
        assert outcomes.count("refused") == 50 - 33
        assert ledger.balance("t", T0 + dt.timedelta(hours=1)) == 1000 - 33 * 30
        assert_snapshot_matches_history(store, "t")


def test_an_old_refund_of_another_customers_order_is_refused_by_the_migration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crossed.db"
    rows = [
        ("earn:o", "c1", 0, "earn", 100, _us(T0), "o", None, 0),
        ("reverse:o", "c2", 0, "reverse", 0, _us(T0), "earn:o", None, 0),
    ]
    _write_v1(path, rows)
    with pytest.raises(LedgerStoreError, match=r"entry seq 2 .*never earned; nothing changed"):
        SqliteLedgerStore(path)
    assert _raw(path, "PRAGMA user_version") == [(0,)]
    assert _raw(path, "SELECT key FROM points_entries ORDER BY seq") == [("earn:o",), ("reverse:o",)]
