"""A :class:`~ecrm.tiers.LedgerStore` in a SQLite file (stdlib ``sqlite3``).

The file is in WAL mode; every transaction starts with ``BEGIN IMMEDIATE`` so it holds the
write lock from its first read, which serialises writers across processes (two processes
cannot both read a balance and both spend it). A busy timeout makes a writer wait for the
lock instead of failing with "database is locked". The natural key has a UNIQUE
constraint, so the file itself refuses a second entry with the same key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any, Final, Literal

from ecrm._errors import EcrmError, InvalidValueError
from ecrm._time import datetime_to_us, us_to_datetime
from ecrm.tiers._points import CustomerId, EntryKind, LedgerConflictError, LedgerEntry

__all__ = ["LedgerStoreError", "SqliteLedgerStore"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS points_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    customer TEXT NOT NULL,
    customer_is_int INTEGER NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    ref TEXT NOT NULL,
    expires_at_us INTEGER,
    unrecovered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS points_entries_customer
    ON points_entries (customer, customer_is_int, seq);
"""
_COLUMNS: Final = (
    "seq, key, customer, customer_is_int, kind, points, at_us, ref, expires_at_us, unrecovered"
)


class LedgerStoreError(EcrmError, OSError):
    """The ledger file could not be opened, read or written (the cause is chained)."""


class SqliteLedgerStore:
    """Ledger entries in a SQLite file; safe for several processes at once.

    Args:
        path: the database file (created with its table when missing).
        timeout_s: how long a writer waits for another's transaction (busy timeout).
        synchronous: SQLite's ``synchronous`` setting. ``"FULL"`` (default) makes every
            committed operation survive a power cut; ``"NORMAL"`` is faster and in WAL mode
            still never corrupts the file, but the last commits may be lost on power loss
            (not on a crash of the process) — safe when the caller re-posts by natural key.

    Raises:
        LedgerStoreError: the file cannot be opened or is not a SQLite database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout_s: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        if timeout_s <= 0:
            raise InvalidValueError("timeout_s", "must be > 0", timeout_s)
        if synchronous not in ("FULL", "NORMAL"):
            raise InvalidValueError("synchronous", "must be 'FULL' or 'NORMAL'", synchronous)
        self.path: Final = os.fspath(path)
        self._timeout_s = timeout_s
        self._lock = threading.RLock()
        self._depth = 0
        try:
            # isolation_level=None: no implicit transactions, we issue BEGIN ourselves.
            self._conn = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerStoreError(f"cannot open points ledger {self.path!r}: {exc}") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._set_wal()
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            with self.transaction():
                # One statement at a time: executescript() would COMMIT our transaction.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
        except (sqlite3.Error, LedgerStoreError) as exc:
            self._conn.close()
            raise LedgerStoreError(f"cannot open points ledger {self.path!r}: {exc}") from exc

    def _set_wal(self) -> None:
        # Switching the journal mode needs a moment of exclusive access; another process
        # opening the same new file at once can make it fail despite the busy timeout.
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close the connection (the store cannot be used afterwards)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteLedgerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteLedgerStore({self.path!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` when the block raises."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LedgerStoreError(
                    f"cannot start a transaction on {self.path!r}: {exc}"
                ) from exc
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise LedgerStoreError(f"cannot commit to {self.path!r}: {exc}") from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[LedgerEntry]:
        with self._lock:
            try:
                rows = self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise LedgerStoreError(f"cannot read points ledger {self.path!r}: {exc}") from exc
        return [_entry(row) for row in rows]

    def get(self, key: str) -> LedgerEntry | None:
        found = self._query(f"SELECT {_COLUMNS} FROM points_entries WHERE key = ?", (key,))
        return found[0] if found else None

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        return self._query(
            f"SELECT {_COLUMNS} FROM points_entries "
            "WHERE customer = ? AND customer_is_int = ? ORDER BY seq",
            (str(customer_id), int(isinstance(customer_id, int))),
        )

    def all_entries(self) -> list[LedgerEntry]:
        return self._query(f"SELECT {_COLUMNS} FROM points_entries ORDER BY seq")

    def customers(self) -> list[CustomerId]:
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT customer, customer_is_int FROM points_entries "
                    "GROUP BY customer, customer_is_int ORDER BY MIN(seq)"
                ).fetchall()
            except sqlite3.Error as exc:
                raise LedgerStoreError(f"cannot read points ledger {self.path!r}: {exc}") from exc
        return [int(c) if is_int else str(c) for c, is_int in rows]

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "INSERT INTO points_entries (key, customer, customer_is_int, kind, points, "
                    "at_us, ref, expires_at_us, unrecovered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.key,
                        str(entry.customer_id),
                        int(isinstance(entry.customer_id, int)),
                        entry.kind.value,
                        entry.points,
                        datetime_to_us(entry.at),
                        entry.ref,
                        None if entry.expires_at is None else datetime_to_us(entry.expires_at),
                        entry.unrecovered,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise LedgerConflictError("key", "is already in the ledger", entry.key) from exc
            except sqlite3.Error as exc:
                raise LedgerStoreError(f"cannot write points ledger {self.path!r}: {exc}") from exc
            seq = cursor.lastrowid
        assert seq is not None
        return LedgerEntry(
            seq, entry.key, entry.customer_id, entry.kind, entry.points, entry.at, entry.ref,
            entry.expires_at, entry.unrecovered,
        )


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    seq, key, customer, is_int, kind, points, at_us, ref, expires_us, unrecovered = row
    return LedgerEntry(
        seq,
        key,
        int(customer) if is_int else str(customer),
        EntryKind(kind),
        points,
        us_to_datetime(at_us, dt.UTC),
        ref,
        None if expires_us is None else us_to_datetime(expires_us, dt.UTC),
        unrecovered,
    )
