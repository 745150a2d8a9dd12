"""A :class:`~ecrm.tiers.LedgerStore` in a SQLite file, on ecrm's one SQLite seam.

The file is opened by :class:`ecrm._sqlite.SqliteStore`: WAL mode (switched on with a retry),
``synchronous`` FULL or NORMAL, a busy timeout in seconds, and transactions that start with
``BEGIN IMMEDIATE`` so they hold the write lock from their first read (two processes cannot
both read a balance and both spend it). The natural key has a UNIQUE constraint, so the file
itself refuses a second entry with the same key. Next to the entries, ``points_lots`` holds
one row per lot (the ledger's snapshot), indexed for a customer's open lots and for the lots
due to expire.

Schema versions (``PRAGMA user_version``): 0 with a ``points_entries`` table is the format
of ecrm before 0.1.0, whose keys were colon-joined (``earn:o-1``) and could collide; opening
such a file migrates it, in one transaction, to version 2 (typed JSON keys and the lot
snapshot). A version above 2 was written by a newer ecrm and is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Final

from ecrm._sqlite import SqliteBacked, SqliteStore, StoreError, Synchronous
from ecrm._time import datetime_to_us, us_to_datetime
from ecrm.errors import InvalidValueError, LedgerStoreError
from ecrm.tiers._points import (
    CustomerId,
    EntryKind,
    LedgerConflictError,
    LedgerEntry,
    LotState,
    _key,
    _Lots,
)

__all__ = ["LedgerStoreError", "SqliteLedgerStore"]

VERSION: Final = 2

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS points_entries (
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
    )""",
    """CREATE INDEX IF NOT EXISTS points_entries_customer
        ON points_entries (customer, customer_is_int, seq)""",
    """CREATE TABLE IF NOT EXISTS points_lots (
        key TEXT PRIMARY KEY,
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        earned_at_us INTEGER NOT NULL,
        expires_at_us INTEGER,
        earned INTEGER NOT NULL,
        remaining INTEGER NOT NULL,
        asked_back INTEGER NOT NULL,
        expired INTEGER NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS points_lots_open
        ON points_lots (customer, customer_is_int, seq) WHERE remaining > 0""",
    """CREATE INDEX IF NOT EXISTS points_lots_due
        ON points_lots (expires_at_us) WHERE remaining > 0 AND expires_at_us IS NOT NULL""",
)
_COLUMNS: Final = (
    "seq, key, customer, customer_is_int, kind, points, at_us, ref, expires_at_us, unrecovered"
)
_LOT_COLUMNS: Final = (
    "key, customer, customer_is_int, seq, earned_at_us, expires_at_us, earned, remaining, "
    "asked_back, expired"
)


class SqliteLedgerStore(SqliteBacked):
    """Ledger entries in a SQLite file; safe for several processes at once.

    Args:
        path: the database file (created with its tables when missing; a file in the
            format of ecrm before 0.1.0 is migrated on open).
        busy_timeout: seconds a writer waits for another process's transaction (> 0).
        synchronous: SQLite's ``synchronous`` setting. ``"FULL"`` (default) makes every
            committed operation survive a power cut; ``"NORMAL"`` is faster and in WAL mode
            still never corrupts the file, but the last commits may be lost on power loss
            (not on a crash of the process) — safe when the caller re-posts by natural key.
        timeout_s: deprecated alias of ``busy_timeout`` (emits :class:`DeprecationWarning`;
            removed in the next release).

    Raises:
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
        LedgerStoreError: the file cannot be opened, is not a SQLite database, was written
            by a newer ecrm, or holds an old-format row the migration cannot read.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
        timeout_s: float | None = None,
    ) -> None:
        busy_timeout = _timeout_alias(busy_timeout, "timeout_s", timeout_s)
        with _translated():
            self._db = SqliteStore(
                path, what="points ledger", busy_timeout=busy_timeout, synchronous=synchronous
            )
        self.busy_timeout: Final = busy_timeout
        self._owner: int | None = None  # the thread inside transaction(), if any
        self._conn: sqlite3.Connection | None = None
        try:
            with _translated():
                self._open_schema()
        except BaseException:
            self._db.close()
            raise

    def _open_schema(self) -> None:
        # Inside one BEGIN IMMEDIATE transaction: a second process opening the same file
        # waits, then sees the version this one wrote.
        with self._db.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == VERSION:
                return
            if version > VERSION:
                raise LedgerStoreError(
                    f"points ledger {self.path!r} has schema version {version}, written by a "
                    f"newer ecrm; this one reads version {VERSION}"
                )
            old = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'points_entries'"
            ).fetchone()
            for statement in _SCHEMA:
                conn.execute(statement)
            if old is not None:
                _migrate_v1(conn, self.path)
            conn.execute(f"PRAGMA user_version = {VERSION}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` when the block raises.

        Nested calls join the outer transaction. A SQLite failure (a lock held past
        ``busy_timeout``, a full disk) is a :class:`LedgerStoreError` with nothing kept.
        """
        with _translated(), self._db.transaction() as conn:
            if self._owner is not None:  # nested: the outer block (this thread's) decides
                yield
                return
            # the seam's lock is held until the block ends: no other thread is in here
            self._owner, self._conn = threading.get_ident(), conn
            try:
                yield
            finally:
                self._owner = None

    def _write(self, sql: str, params: tuple[Any, ...], *, key: str | None = None) -> int | None:
        """Run one write; return the new row id. In this thread's open transaction it runs
        on the spot; otherwise it is a transaction of its own."""
        held = self._conn
        if held is not None and self._owner == threading.get_ident():
            return self._execute(held, sql, params, key)
        with _translated(), self._db.transaction() as conn:
            return self._execute(conn, sql, params, key)

    def _execute(
        self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], key: str | None
    ) -> int | None:
        # SQLite errors become ours here, inside the transaction, so the outermost one
        # rolls back everything.
        try:
            return conn.execute(sql, params).lastrowid
        except sqlite3.IntegrityError as exc:
            if key is not None and "UNIQUE" in str(exc):
                raise LedgerConflictError("key", "is already in the ledger", key) from exc
            raise self._failed(exc) from exc
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: sqlite3.Error) -> LedgerStoreError:
        return LedgerStoreError(
            f"cannot write points ledger {self.path!r}: {exc}; nothing changed"
        )

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with _translated():
            return self._db.read(sql, params)

    def get(self, key: str) -> LedgerEntry | None:
        found = self._rows(f"SELECT {_COLUMNS} FROM points_entries WHERE key = ?", (key,))
        return _entry(found[0]) if found else None

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM points_entries "
            "WHERE customer = ? AND customer_is_int = ? ORDER BY seq",
            _customer(customer_id),
        )
        return [_entry(row) for row in rows]

    def last_entry(self, customer_id: CustomerId) -> LedgerEntry | None:
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM points_entries "
            "WHERE customer = ? AND customer_is_int = ? ORDER BY seq DESC LIMIT 1",
            _customer(customer_id),
        )
        return _entry(rows[0]) if rows else None

    def all_entries(self) -> list[LedgerEntry]:
        return [_entry(row) for row in self._rows(f"SELECT {_COLUMNS} FROM points_entries "
                                                  "ORDER BY seq")]

    def customers(self) -> list[CustomerId]:
        rows = self._rows(
            "SELECT customer, customer_is_int FROM points_entries "
            "GROUP BY customer, customer_is_int ORDER BY MIN(seq)"
        )
        return [_customer_id(c, is_int) for c, is_int in rows]

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        seq = self._write(
            "INSERT INTO points_entries (key, customer, customer_is_int, kind, points, "
            "at_us, ref, expires_at_us, unrecovered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.key,
                *_customer(entry.customer_id),
                entry.kind.value,
                entry.points,
                datetime_to_us(entry.at),
                entry.ref,
                _us(entry.expires_at),
                entry.unrecovered,
            ),
            key=entry.key,
        )
        assert seq is not None
        return LedgerEntry(
            seq, entry.key, entry.customer_id, entry.kind, entry.points, entry.at, entry.ref,
            entry.expires_at, entry.unrecovered,
        )

    def lot(self, key: str) -> LotState | None:
        rows = self._rows(f"SELECT {_LOT_COLUMNS} FROM points_lots WHERE key = ?", (key,))
        return _lot(rows[0]) if rows else None

    def open_lots(self, customer_id: CustomerId) -> list[LotState]:
        rows = self._rows(
            f"SELECT {_LOT_COLUMNS} FROM points_lots "
            "WHERE customer = ? AND customer_is_int = ? AND remaining > 0 ORDER BY seq",
            _customer(customer_id),
        )
        return [_lot(row) for row in rows]

    def due_lots(
        self, as_of: dt.datetime, customer_id: CustomerId | None = None
    ) -> list[LotState]:
        where = ""
        params: list[Any] = [datetime_to_us(as_of)]
        if customer_id is not None:
            where = "AND l.customer = ? AND l.customer_is_int = ? "
            params.extend(_customer(customer_id))
        rows = self._rows(
            f"SELECT {_LOT_COLUMNS} FROM points_lots AS l "
            "WHERE remaining > 0 AND expires_at_us IS NOT NULL AND expires_at_us <= ? "
            f"{where}"
            "ORDER BY (SELECT MIN(e.seq) FROM points_entries AS e "
            "          WHERE e.customer = l.customer AND e.customer_is_int = l.customer_is_int),"
            " expires_at_us, seq",
            tuple(params),
        )
        return [_lot(row) for row in rows]

    def put_lot(self, lot: LotState) -> None:
        self._write(
            f"INSERT INTO points_lots ({_LOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET customer = excluded.customer, "
            "customer_is_int = excluded.customer_is_int, seq = excluded.seq, "
            "earned_at_us = excluded.earned_at_us, expires_at_us = excluded.expires_at_us, "
            "earned = excluded.earned, remaining = excluded.remaining, "
            "asked_back = excluded.asked_back, expired = excluded.expired",
            _lot_row(lot),
        )


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """The seam's :class:`StoreError` as this store's :class:`LedgerStoreError`."""
    try:
        yield
    except LedgerStoreError:
        raise
    except StoreError as exc:
        raise LedgerStoreError(str(exc)) from exc.__cause__


def _timeout_alias(busy_timeout: float, alias: str, value: float | None) -> float:
    if value is None:
        return busy_timeout
    warnings.warn(
        f"{alias}= is deprecated and will be removed in the next release; use busy_timeout=",
        DeprecationWarning,
        stacklevel=3,
    )
    if not value > 0:
        raise InvalidValueError(alias, "must be > 0 seconds", value)
    return value


def _customer(customer_id: CustomerId) -> tuple[str, int]:
    return (str(customer_id), int(isinstance(customer_id, int)))


def _customer_id(text: str, is_int: int) -> CustomerId:
    return int(text) if is_int else str(text)


def _us(at: dt.datetime | None) -> int | None:
    return None if at is None else datetime_to_us(at)


def _at(us: int | None) -> dt.datetime | None:
    return None if us is None else us_to_datetime(us, dt.UTC)


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    seq, key, customer, is_int, kind, points, at_us, ref, expires_us, unrecovered = row
    return LedgerEntry(
        seq, key, _customer_id(customer, is_int), EntryKind(kind), points,
        us_to_datetime(at_us, dt.UTC), ref, _at(expires_us), unrecovered,
    )


def _lot(row: tuple[Any, ...]) -> LotState:
    key, customer, is_int, seq, earned_us, expires_us, earned, remaining, asked, expired = row
    return LotState(
        key, _customer_id(customer, is_int), seq, us_to_datetime(earned_us, dt.UTC),
        _at(expires_us), earned, remaining, asked, expired,
    )


def _lot_row(lot: LotState) -> tuple[Any, ...]:
    return (
        lot.key, *_customer(lot.customer_id), lot.seq, datetime_to_us(lot.earned_at),
        _us(lot.expires_at), lot.earned, lot.remaining, lot.asked_back, lot.expired,
    )


# -- migration from the colon-joined keys of ecrm before 0.1.0 ------------------------------------


def _migrate_v1(conn: sqlite3.Connection, path: str) -> None:
    """Rewrite every key (and every ref that names an earn key) in the typed JSON form and
    build the lot snapshot, in the caller's transaction.

    The old keys cannot be split on ``:`` safely, but each row also stores its customer, its
    kind and its ref, and with them every old key reads one way only.
    """
    rows = conn.execute(f"SELECT {_COLUMNS} FROM points_entries ORDER BY seq").fetchall()
    earn_keys: dict[str, str] = {}  # old earn key -> new
    order_of: dict[str, str] = {}  # old earn key -> order id
    renamed: list[tuple[str, str, int]] = []
    entries: list[LedgerEntry] = []
    for row in rows:
        entry = _entry(row)
        new_key, new_ref = _new_key(entry, earn_keys, order_of, path)
        renamed.append((new_key, new_ref, entry.seq))
        entries.append(
            LedgerEntry(
                entry.seq, new_key, entry.customer_id, entry.kind, entry.points, entry.at,
                new_ref, entry.expires_at, entry.unrecovered,
            )
        )
    conn.executemany("UPDATE points_entries SET key = ?, ref = ? WHERE seq = ?", renamed)
    by_customer: dict[tuple[str, int], list[LedgerEntry]] = {}
    for entry in entries:
        by_customer.setdefault(_customer(entry.customer_id), []).append(entry)
    for history in by_customer.values():
        lots = _Lots()
        for entry in history:
            try:
                lots.apply(entry)
            except KeyError as exc:  # a REVERSE or EXPIRE of another customer's lot
                raise _unreadable(entry, path, "names a lot its customer never earned") from exc
        conn.executemany(
            f"INSERT INTO points_lots ({_LOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_lot_row(lot.state()) for lot in lots.by_key.values()],
        )


def _new_key(
    entry: LedgerEntry, earn_keys: dict[str, str], order_of: dict[str, str], path: str
) -> tuple[str, str]:
    key, ref, kind = entry.key, entry.ref, entry.kind
    if kind is EntryKind.EARN:
        task_prefix = f"task:{ref}:{entry.customer_id}:"
        if key == f"earn:{ref}":
            new = _key("earn", ref)
            order_of[key] = ref
        elif key.startswith(task_prefix) and len(key) > len(task_prefix):
            new = _key("task", ref, entry.customer_id, key[len(task_prefix) :])
        else:
            raise _unreadable(entry, path)
        earn_keys[key] = new
        return new, ref
    if kind is EntryKind.REDEEM:
        if not key.startswith("redeem:") or len(key) == len("redeem:"):
            raise _unreadable(entry, path)
        return _key("redeem", key[len("redeem:") :]), ref
    if ref not in earn_keys:
        raise _unreadable(entry, path)
    if kind is EntryKind.EXPIRE:
        if key != f"expire:{ref}":
            raise _unreadable(entry, path)
        return _key("expire", *json.loads(earn_keys[ref])), earn_keys[ref]
    order = order_of.get(ref)
    if order is None:
        raise _unreadable(entry, path)
    full = f"reverse:{order}"
    if key == full:
        return _key("reverse", order), earn_keys[ref]
    if key.startswith(full + ":") and len(key) > len(full) + 1:
        return _key("reverse", order, key[len(full) + 1 :]), earn_keys[ref]
    raise _unreadable(entry, path)


def _unreadable(
    entry: LedgerEntry, path: str, problem: str = "does not have the old key format"
) -> LedgerStoreError:
    return LedgerStoreError(
        f"cannot migrate points ledger {path!r} from the colon-joined keys of ecrm < 0.1.0 "
        f"to schema version {VERSION}: entry seq {entry.seq} ({entry.kind.name}, key "
        f"{entry.key!r}, ref {entry.ref!r}) {problem}; nothing changed"
    )
