"""Where the loyalty programme's records live: fee terms, task occurrences, benefit grants.

One store serves the three protocols (:class:`~ecrm.tiers.FeeStore`,
:class:`~ecrm.tiers.TaskStore`, :class:`~ecrm.tiers.GrantStore`):
:class:`InMemoryLoyaltyStore` (a re-entrant lock, undone on error) and
:class:`SqliteLoyaltyStore` (a file on ecrm's one SQLite seam: ``BEGIN IMMEDIATE``
transactions that hold the write lock from their first read, and a UNIQUE key per fee term,
per occurrence and per grant, so the file itself refuses a second one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, Final, TypeAlias

from ecrm._money import Money
from ecrm._sqlite import SqliteBacked, SqliteStore, Synchronous
from ecrm._time import datetime_to_us, us_to_datetime
from ecrm.tiers._fees import FeeOutcome, FeeTerm
from ecrm.tiers._ledger_sqlite import SqliteLedgerStore
from ecrm.tiers._points import LedgerConflictError, _check_customer
from ecrm.tiers._scheduled import Grant
from ecrm.tiers._task_counter import OccurrenceStatus, TaskOccurrence

__all__ = ["InMemoryLoyaltyStore", "SqliteLoyaltyStore"]

CustomerId: TypeAlias = str | int


def _ckey(customer_id: CustomerId) -> tuple[str, int]:
    # 7 and "7" are different customers.
    return (str(customer_id), int(isinstance(customer_id, int)))


def _customer_id(text: str, is_int: int) -> CustomerId:
    return int(text) if is_int else str(text)


class InMemoryLoyaltyStore:
    """Fee terms, task occurrences and grants in process memory (thread-safe; for tests and
    small tools). A transaction that raises leaves the store as it was."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._fees: dict[tuple[str, int], list[FeeTerm]] = {}
        self._tasks: dict[tuple[str, int, str], list[TaskOccurrence]] = {}
        self._grants: dict[str, Grant] = {}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock for the block; undo its writes when it raises."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            saved = (
                {k: list(v) for k, v in self._fees.items()},
                {k: list(v) for k, v in self._tasks.items()},
                dict(self._grants),
            )
            self._depth = 1
            try:
                yield
            except BaseException:
                self._fees, self._tasks, self._grants = saved
                raise
            finally:
                self._depth = 0

    # -- fees -----------------------------------------------------------------------------
    def fee_terms(self, customer_id: CustomerId) -> list[FeeTerm]:
        """The customer's terms in ``term`` order."""
        with self._lock:
            return list(self._fees.get(_ckey(_check_customer(customer_id)), ()))

    def add_fee_term(self, term: FeeTerm) -> None:
        """Store a new term (the next number of its customer)."""
        with self._lock:
            terms = self._fees.setdefault(_ckey(term.customer_id), [])
            if any(t.term == term.term for t in terms):
                raise LedgerConflictError("key", "is already stored", term.key)
            terms.append(term)
            terms.sort(key=lambda t: t.term)

    def replace_fee_term(self, term: FeeTerm) -> None:
        """Replace the stored term with the same customer and number."""
        with self._lock:
            terms = self._fees.get(_ckey(term.customer_id), [])
            for i, t in enumerate(terms):
                if t.term == term.term:
                    terms[i] = term
                    return
            raise LedgerConflictError("key", "is not stored, so cannot be replaced", term.key)

    # -- tasks ----------------------------------------------------------------------------
    def task_occurrence(
        self, customer_id: CustomerId, task: str, occurrence: str
    ) -> TaskOccurrence | None:
        """The stored occurrence, or ``None``."""
        with self._lock:
            found = self._tasks.get((*_ckey(customer_id), task), ())
            return next((o for o in found if o.occurrence == occurrence), None)

    def task_occurrences(self, customer_id: CustomerId, task: str) -> list[TaskOccurrence]:
        """The customer's occurrences of ``task`` in recorded order."""
        with self._lock:
            return list(self._tasks.get((*_ckey(customer_id), task), ()))

    def add_task_occurrence(self, occurrence: TaskOccurrence) -> None:
        """Store a new occurrence."""
        with self._lock:
            if self.task_occurrence(occurrence.customer_id, occurrence.task,
                                    occurrence.occurrence) is not None:
                raise LedgerConflictError("key", "is already stored", occurrence.ledger_key)
            self._tasks.setdefault((*_ckey(occurrence.customer_id), occurrence.task),
                                   []).append(occurrence)

    # -- grants ---------------------------------------------------------------------------
    def add_grant(self, grant: Grant) -> bool:
        """Store ``grant`` unless its key is there."""
        with self._lock:
            if grant.key in self._grants:
                return False
            self._grants[grant.key] = grant
            return True

    def grants(self) -> list[Grant]:
        """Every grant in stored order."""
        with self._lock:
            return list(self._grants.values())


_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS fee_terms (
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        term INTEGER NOT NULL,
        starts_at_us INTEGER NOT NULL,
        ends_at_us INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        currency TEXT NOT NULL,
        fee_fen INTEGER NOT NULL,
        spend_fen INTEGER NOT NULL,
        refunded_fen INTEGER,
        refunded_at_us INTEGER,
        PRIMARY KEY (customer, customer_is_int, term)
    )""",
    """CREATE TABLE IF NOT EXISTS task_occurrences (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        task TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        status TEXT NOT NULL,
        points INTEGER NOT NULL,
        UNIQUE (customer, customer_is_int, task, occurrence)
    )""",
    """CREATE INDEX IF NOT EXISTS task_occurrences_customer
        ON task_occurrences (customer, customer_is_int, task, seq)""",
    """CREATE TABLE IF NOT EXISTS benefit_grants (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        benefit_id TEXT NOT NULL,
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        period TEXT NOT NULL,
        level INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        currency TEXT NOT NULL,
        unit_cost_fen INTEGER NOT NULL,
        granted_at_us INTEGER NOT NULL,
        UNIQUE (benefit_id, customer, customer_is_int, period)
    )""",
)
_FEE_COLUMNS: Final = (
    "customer, customer_is_int, term, starts_at_us, ends_at_us, outcome, currency, fee_fen, "
    "spend_fen, refunded_fen, refunded_at_us"
)
_TASK_COLUMNS: Final = "customer, customer_is_int, task, occurrence, at_us, status, points"
_GRANT_COLUMNS: Final = (
    "benefit_id, customer, customer_is_int, period, level, quantity, currency, "
    "unit_cost_fen, granted_at_us"
)


class SqliteLoyaltyStore(SqliteBacked):
    """Fee terms, task occurrences and grants in a SQLite file; safe for several processes.

    Args:
        path: the database file (created with its tables when missing; may be the file of
            another ecrm store, whose tables it leaves alone), or a
            :class:`~ecrm.tiers.SqliteLedgerStore` to keep the records in the ledger's file
            on the ledger's connection: then a task occurrence and the reward it posts
            commit in one transaction (``busy_timeout`` and ``synchronous`` are the
            ledger's; closing this store leaves the ledger open).
        busy_timeout: seconds a writer waits for another process's transaction (> 0).
        synchronous: SQLite's ``synchronous`` setting (``"FULL"`` default, or ``"NORMAL"``).

    Raises:
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
        StoreError: the file cannot be opened or is not a SQLite database; raised from a
            write (a lock held past ``busy_timeout``, a full disk), nothing was kept.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | SqliteLedgerStore,
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if isinstance(path, SqliteLedgerStore):
            # The ledger's own file and connection: a transaction of this store and the
            # ledger's writes inside it commit together.
            self._db = path._db
            self._owns = False
            with self._db.transaction() as conn:
                for statement in _SCHEMA:
                    conn.execute(statement)
        else:
            self._db = SqliteStore(path, what="loyalty store", schema=_SCHEMA,
                                   busy_timeout=busy_timeout, synchronous=synchronous)
            self._owns = True

    def shares_connection_with(self, ledger: object) -> bool:
        """Whether ``ledger`` is the :class:`SqliteLedgerStore` this store was opened on."""
        return isinstance(ledger, SqliteLedgerStore) and ledger._db is self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` when the block raises (nests)."""
        with self._db.transaction():
            yield

    def _insert(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Run one INSERT in this thread's transaction (or its own); ``False`` on a UNIQUE
        clash."""
        with self._db.transaction() as conn:
            try:
                conn.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                    return False
                raise
        return True

    # -- fees -----------------------------------------------------------------------------
    def fee_terms(self, customer_id: CustomerId) -> list[FeeTerm]:
        """The customer's terms in ``term`` order."""
        rows = self._db.read(
            f"SELECT {_FEE_COLUMNS} FROM fee_terms WHERE customer = ? AND customer_is_int = ? "
            "ORDER BY term", _ckey(_check_customer(customer_id)))
        return [_fee_term(row) for row in rows]

    def add_fee_term(self, term: FeeTerm) -> None:
        """Store a new term.

        Raises:
            LedgerConflictError: the customer's term number is already stored.
        """
        if not self._insert(f"INSERT INTO fee_terms ({_FEE_COLUMNS}) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _fee_row(term)):
            raise LedgerConflictError("key", "is already stored", term.key)

    def replace_fee_term(self, term: FeeTerm) -> None:
        """Replace the stored term with the same customer and number (a refund).

        Raises:
            LedgerConflictError: no such term is stored.
        """
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE fee_terms SET refunded_fen = ?, refunded_at_us = ? "
                "WHERE customer = ? AND customer_is_int = ? AND term = ?",
                (None if term.refunded is None else term.refunded.fen,
                 None if term.refunded_at is None else datetime_to_us(term.refunded_at),
                 *_ckey(term.customer_id), term.term),
            ).rowcount
        if changed != 1:
            raise LedgerConflictError("key", "is not stored, so cannot be replaced", term.key)

    # -- tasks ----------------------------------------------------------------------------
    def task_occurrence(
        self, customer_id: CustomerId, task: str, occurrence: str
    ) -> TaskOccurrence | None:
        """The stored occurrence, or ``None``."""
        rows = self._db.read(
            f"SELECT {_TASK_COLUMNS} FROM task_occurrences WHERE customer = ? "
            "AND customer_is_int = ? AND task = ? AND occurrence = ?",
            (*_ckey(_check_customer(customer_id)), task, occurrence))
        return _occurrence(rows[0]) if rows else None

    def task_occurrences(self, customer_id: CustomerId, task: str) -> list[TaskOccurrence]:
        """The customer's occurrences of ``task`` in recorded order."""
        rows = self._db.read(
            f"SELECT {_TASK_COLUMNS} FROM task_occurrences WHERE customer = ? "
            "AND customer_is_int = ? AND task = ? ORDER BY seq",
            (*_ckey(_check_customer(customer_id)), task))
        return [_occurrence(row) for row in rows]

    def add_task_occurrence(self, occurrence: TaskOccurrence) -> None:
        """Store a new occurrence.

        Raises:
            LedgerConflictError: the occurrence is already stored.
        """
        o = occurrence
        if not self._insert(
            f"INSERT INTO task_occurrences ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*_ckey(o.customer_id), o.task, o.occurrence, datetime_to_us(o.at), o.status.value,
             o.points),
        ):
            raise LedgerConflictError("key", "is already stored", o.ledger_key)

    # -- grants ---------------------------------------------------------------------------
    def add_grant(self, grant: Grant) -> bool:
        """Store ``grant``; ``False`` when its key is there (the UNIQUE key decides)."""
        g = grant
        with self._db.transaction() as conn:
            # DO NOTHING on the UNIQUE key only: a repeat is not an error, so a rerun over a
            # whole shop costs no exception per member
            return conn.execute(
                f"INSERT INTO benefit_grants ({_GRANT_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (benefit_id, customer, customer_is_int, period) DO NOTHING",
                (g.benefit_id, *_ckey(g.customer_id), g.period, g.level, g.quantity,
                 g.unit_cost.currency, g.unit_cost.fen, datetime_to_us(g.granted_at)),
            ).rowcount == 1

    def grants(self) -> list[Grant]:
        """Every grant in stored order."""
        rows = self._db.read(f"SELECT {_GRANT_COLUMNS} FROM benefit_grants ORDER BY seq")
        return [_grant(row) for row in rows]

    def close(self) -> None:
        """Close the file (a store opened on a ledger leaves the ledger's connection open)."""
        if self._owns:
            self._db.close()

def _utc(us: int) -> dt.datetime:
    return us_to_datetime(us, dt.UTC)


def _fee_row(t: FeeTerm) -> tuple[Any, ...]:
    return (
        *_ckey(t.customer_id), t.term, datetime_to_us(t.starts_at), datetime_to_us(t.ends_at),
        t.outcome.value, t.fee.currency, t.fee.fen, t.spend.fen,
        None if t.refunded is None else t.refunded.fen,
        None if t.refunded_at is None else datetime_to_us(t.refunded_at),
    )


def _fee_term(row: tuple[Any, ...]) -> FeeTerm:
    customer, is_int, term, starts, ends, outcome, currency, fee, spend, back, back_at = row
    return FeeTerm(
        _customer_id(customer, is_int), term, _utc(starts), _utc(ends), FeeOutcome(outcome),
        Money(fee, currency), Money(spend, currency),
        None if back is None else Money(back, currency),
        None if back_at is None else _utc(back_at),
    )


def _occurrence(row: tuple[Any, ...]) -> TaskOccurrence:
    customer, is_int, task, occurrence, at_us, status, points = row
    return TaskOccurrence(_customer_id(customer, is_int), task, occurrence, _utc(at_us),
                          OccurrenceStatus(status), points)


def _grant(row: tuple[Any, ...]) -> Grant:
    benefit_id, customer, is_int, period, level, quantity, currency, cost, at_us = row
    return Grant(_customer_id(customer, is_int), benefit_id, period, level, quantity,
                 Money(cost, currency), _utc(at_us))

