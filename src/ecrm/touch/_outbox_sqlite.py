"""The outbox in a SQLite file: :class:`SqliteOutbox`, safe for several processes.

The state machine, leases, fencing and the in-claim decisions are the :class:`Outbox`'s
(see :mod:`ecrm.touch._outbox`); here they are SQL, each call one ``BEGIN IMMEDIATE``
transaction on ecrm's one SQLite seam.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from ecrm._deprecate import renamed_kwarg
from ecrm._redact import redact
from ecrm._sqlite import SqliteBacked, SqliteStore, StoreError, Synchronous
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidValueError, OutboxError
from ecrm.touch._decision import Defer, Skip
from ecrm.touch._message import ChannelKind, Message, MessageClass, Recipient
from ecrm.touch._outbox import (
    Decide,
    OutboxEntry,
    OutboxState,
    check_claim,
    check_reason,
    decision_failed,
    dedupe_wait,
    due_of,
    gave_up,
    log,
    log_outcome,
    log_reclaim,
    new_token,
)

__all__ = ["SqliteOutbox"]

_UTC: Final = dt.UTC

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS outbox (
        key TEXT PRIMARY KEY,
        message TEXT NOT NULL,
        customer TEXT NOT NULL,
        channel TEXT NOT NULL,
        class TEXT NOT NULL,
        message_type TEXT NOT NULL,
        dedupe_key TEXT,
        state TEXT NOT NULL,
        due_us INTEGER NOT NULL,
        ready_us INTEGER,
        claim_token TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        possible_duplicates INTEGER NOT NULL DEFAULT 0,
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        sent_us INTEGER,
        provider_id TEXT,
        last_error TEXT
    )""",
    # operator actions (requeue), one row each: who did what when, and why
    """CREATE TABLE IF NOT EXISTS outbox_history (
        key TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL
    )""",
    # ready_us: when a row can be claimed (due time, or lease expiry); NULL once terminal
    "CREATE INDEX IF NOT EXISTS outbox_ready ON outbox(ready_us, key) WHERE ready_us IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(customer, channel, class, sent_us)"
    " WHERE state = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_dedupe ON outbox(message_type, dedupe_key)"
    " WHERE state = 'sent' AND dedupe_key IS NOT NULL",
    # the claims in flight: they hold cap slots and dedupe keys
    "CREATE INDEX IF NOT EXISTS outbox_inflight ON outbox(customer, channel, class)"
    " WHERE state = 'claimed'",
    "CREATE INDEX IF NOT EXISTS outbox_inflight_dedupe ON outbox(message_type, dedupe_key)"
    " WHERE state = 'claimed' AND dedupe_key IS NOT NULL",
)
# columns added after the first release: an older file gains them when opened
_ADDED: Final = (("reserved_us", "INTEGER"), ("requeues", "INTEGER NOT NULL DEFAULT 0"))
# the (ready_us, key) index serves this without sorting every due row
_CLAIM: Final = ("SELECT key, state FROM outbox WHERE ready_us IS NOT NULL AND ready_us <= ?"
                 " ORDER BY ready_us, key LIMIT ?")
_COLUMNS: Final = ("key, message, state, due_us, attempts, possible_duplicates, ready_us, "
                   "claim_token, sent_us, provider_id, last_error, requeues, customer, channel,"
                   " class, message_type, dedupe_key, created_us")


def _customer(cid: str | int) -> str:
    # JSON keeps 1 and "1" apart
    return json.dumps(cid, ensure_ascii=False)


class _UnreadableError(Exception):
    """A stored row that cannot be turned back into a message."""


def _decode(row: Sequence[Any]) -> Message:
    try:
        return Message.from_dict(json.loads(row[1]))
    except (ValueError, TypeError, AttributeError, InvalidValueError) as exc:
        raise _UnreadableError(redact(f"unreadable stored message: {type(exc).__name__}: {exc}")
                          ) from exc


def _placeholder(row: Sequence[Any]) -> Message:
    """A stand-in message for a row whose stored message cannot be decoded."""
    key, customer, channel, cls, mtype, dedupe, created_us = (
        row[0], row[12], row[13], row[14], row[15], row[16], row[17])
    try:
        cid = json.loads(customer)
        recipient = Recipient(cid if isinstance(cid, (str, int)) else str(customer))
    except (ValueError, TypeError):
        recipient = Recipient(str(customer) or "?")
    try:
        kind = ChannelKind(channel)
    except ValueError:
        kind = ChannelKind.SMS
    try:
        mcls = MessageClass(cls)
    except ValueError:
        mcls = MessageClass.TRANSACTIONAL
    return Message(str(key) or "?", str(mtype) or "?", mcls, kind, recipient, "",
                   created_at=us_to_datetime(int(created_us), _UTC),
                   dedupe_key=dedupe if isinstance(dedupe, str) else None)


class SqliteOutbox(SqliteBacked):
    """An :class:`Outbox` in a SQLite file (WAL mode), safe for several processes.

    Built on ecrm's one SQLite seam (:class:`ecrm._sqlite.SqliteStore`, held like every
    store's, with ``path``, ``close()`` and use as a context manager): every change is
    one ``BEGIN IMMEDIATE`` transaction, committed before the call returns, so a
    ``kill -9`` loses nothing that was acknowledged. With the default
    ``synchronous="NORMAL"`` a power cut may lose the last transactions (the OS crash
    window of WAL); ``"FULL"`` closes it at some throughput cost.

    It is also a :class:`~ecrm.touch.SendHistory` whose view counts the claims in flight
    (see the module docstring), which keeps caps and dedupe exact across dispatchers.

    Args:
        path: the database file (created with its schema if missing).
        busy_timeout: seconds to wait for another process's write lock.
        synchronous: SQLite's ``synchronous`` pragma, ``"NORMAL"`` or ``"FULL"``.

    Raises:
        OutboxError: the file cannot be opened or is not a SQLite database (an
            :class:`OSError`); also raised by any call that finds the store busy past
            ``busy_timeout`` or the disk full (nothing of that call is kept).
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0,
                 synchronous: Synchronous = "NORMAL") -> None:
        try:
            self._db = SqliteStore(path, what="outbox", schema=_SCHEMA,
                                   busy_timeout=busy_timeout, synchronous=synchronous)
            with self.transaction() as conn:
                have = {r[1] for r in conn.execute("PRAGMA table_info(outbox)")}
                for name, decl in _ADDED:
                    if name not in have:
                        conn.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
        except OutboxError:
            raise
        except StoreError as exc:
            raise OutboxError(str(exc)) from exc.__cause__

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The store's ``BEGIN IMMEDIATE`` transaction, its errors as :class:`OutboxError`."""
        try:
            with self._db.transaction() as conn:
                yield conn
        except OutboxError:
            raise
        except StoreError as exc:
            raise OutboxError(str(exc)) from exc.__cause__

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one read statement, its errors as :class:`OutboxError`."""
        try:
            return self._db.read(sql, params)
        except OutboxError:
            raise
        except StoreError as exc:
            raise OutboxError(str(exc)) from exc.__cause__

    @staticmethod
    def _entry(row: Sequence[Any], message: Message | None = None) -> OutboxEntry:
        (_, _, state, due_us, attempts, dups, ready_us, token, sent_us, pid, err,
         requeues) = row[:12]
        if message is None:
            try:
                message = _decode(row)
            except _UnreadableError as exc:
                # one bad row must not make the whole outbox unreadable: report it dead
                return OutboxEntry(
                    message=_placeholder(row), state=OutboxState.DEAD,
                    due_at=us_to_datetime(due_us, _UTC), attempts=attempts,
                    possible_duplicates=dups, last_error=err or str(exc),
                    requeues=requeues or 0)
        st = OutboxState(state)
        return OutboxEntry(
            message=message, state=st, due_at=us_to_datetime(due_us, _UTC), attempts=attempts,
            possible_duplicates=dups,
            lease_until=us_to_datetime(ready_us, _UTC) if st is OutboxState.CLAIMED else None,
            claim_token=token, sent_at=None if sent_us is None else us_to_datetime(sent_us, _UTC),
            provider_id=pid, last_error=err, requeues=requeues or 0,
        )

    @staticmethod
    def _values(message: Message, due: dt.datetime) -> tuple[Any, ...]:
        due_us = datetime_to_us(due)
        now_us = datetime_to_us(message.created_at)
        return (
            message.key, json.dumps(message.to_dict(), ensure_ascii=False),
            _customer(message.recipient.customer_id), message.channel.value,
            message.message_class.value, message.message_type, message.dedupe_key,
            OutboxState.PENDING.value, due_us, due_us, now_us, now_us,
        )

    _INSERT: Final = (
        "INSERT OR IGNORE INTO outbox (key, message, customer, channel, class, message_type,"
        " dedupe_key, state, due_us, ready_us, created_us, updated_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def enqueue(self, message: Message, *, due_at: dt.datetime | None = None) -> bool:
        values = self._values(message, due_of(message, due_at))
        with self.transaction() as conn:
            return conn.execute(self._INSERT, values).rowcount == 1

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        rows = [self._values(m, due_of(m, due_at)) for m in messages]  # validate all first
        new = 0
        with self.transaction() as conn:
            for values in rows:
                new += conn.execute(self._INSERT, values).rowcount
        return new

    @renamed_kwarg("now", "as_of")
    def claim(self, *, as_of: dt.datetime, lease: dt.timedelta, limit: int = 1,
              decide: Decide | None = None,
              max_attempts: int | None = None) -> list[OutboxEntry]:
        check_claim(as_of, lease, limit, max_attempts)
        now_us = datetime_to_us(as_of)
        lease_us = datetime_to_us(as_of + lease)
        out: list[OutboxEntry] = []
        with self.transaction() as conn:
            for key, state in conn.execute(_CLAIM, (now_us, limit)).fetchall():
                row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?",
                                   (key,)).fetchone()
                entry = self._claim_one(conn, row, state == OutboxState.CLAIMED.value, now_us,
                                        lease_us, decide, max_attempts)
                if entry is not None:
                    out.append(entry)
        for entry in out:
            log_outcome(entry)
        return out

    def _settle(self, conn: sqlite3.Connection, key: str, state: OutboxState,
                ready_us: int | None, reason: str, now_us: int) -> None:
        conn.execute(
            "UPDATE outbox SET state = ?, ready_us = ?, due_us = COALESCE(?, due_us),"
            " claim_token = NULL, reserved_us = NULL, last_error = ?, updated_us = ?"
            " WHERE key = ?", (state.value, ready_us, ready_us, reason, now_us, key))

    def _claim_one(self, conn: sqlite3.Connection, row: Sequence[Any], reclaim: bool,
                   now_us: int, lease_us: int, decide: Decide | None,
                   max_attempts: int | None) -> OutboxEntry | None:
        key, attempts = row[0], row[4]
        try:
            message = _decode(row)
        except _UnreadableError as exc:
            self._settle(conn, key, OutboxState.DEAD, None, str(exc), now_us)
            log.warning("dead letter %s: %s", redact(key), exc)
            return None
        if max_attempts is not None and attempts >= max_attempts:
            self._settle(conn, key, OutboxState.DEAD, None, gave_up(attempts), now_us)
            return self._reread(conn, key, message)
        if reclaim:
            # its first attempt may have gone out: it keeps its reservation, no new decision
            log_reclaim(key)
            conn.execute(
                "UPDATE outbox SET ready_us = ?, claim_token = ?, attempts = attempts + 1,"
                " possible_duplicates = possible_duplicates + 1, updated_us = ? WHERE key = ?",
                (lease_us, new_token(), now_us, key))
            return self._reread(conn, key, message)
        if decide is not None:
            if message.dedupe_key is not None:
                held = conn.execute(
                    "SELECT ready_us FROM outbox WHERE state = 'claimed' AND message_type = ?"
                    " AND dedupe_key = ? AND key != ? LIMIT 1",
                    (message.message_type, message.dedupe_key, key)).fetchone()
                if held is not None:
                    reason = redact(f"deferred: a {message.message_type} for "
                                    f"{message.dedupe_key!r} is in flight")
                    self._settle(conn, key, OutboxState.PENDING,
                                 dedupe_wait(held[0], now_us), reason, now_us)
                    return self._reread(conn, key, message)
            try:
                decision = decide(message, self)
            except Exception as exc:  # a poison message: dead-letter it, go on
                self._settle(conn, key, OutboxState.DEAD, None, decision_failed(exc), now_us)
                return self._reread(conn, key, message)
            if isinstance(decision, Skip):
                self._settle(conn, key, OutboxState.SKIPPED, None,
                             redact(f"skipped: {decision.reason}"), now_us)
                return self._reread(conn, key, message)
            if isinstance(decision, Defer):
                until_us = max(datetime_to_us(decision.until), now_us + 1)
                self._settle(conn, key, OutboxState.PENDING, until_us,
                             redact(f"deferred: {decision.reason}"), now_us)
                return self._reread(conn, key, message)
        conn.execute(
            "UPDATE outbox SET state = 'claimed', ready_us = ?, claim_token = ?,"
            " attempts = attempts + 1, reserved_us = ?, updated_us = ? WHERE key = ?",
            (lease_us, new_token(), now_us, now_us, key))
        return self._reread(conn, key, message)

    def _reread(self, conn: sqlite3.Connection, key: str, message: Message) -> OutboxEntry:
        row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?", (key,)).fetchone()
        return self._entry(row, message)

    def renew(self, entry: OutboxEntry, *, until: dt.datetime) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        return self._finish(entry, "UPDATE outbox SET ready_us = ?", (u_us,))

    def _finish(self, entry: OutboxEntry, sql: str, args: tuple[Any, ...]) -> bool:
        with self.transaction() as conn:
            cur = conn.execute(sql + " WHERE key = ? AND claim_token = ? AND state = 'claimed'",
                               (*args, entry.key, entry.claim_token))
            return cur.rowcount == 1

    def mark_sent(self, entry: OutboxEntry, *, at: dt.datetime,
                  provider_id: str | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        return self._finish(entry, "UPDATE outbox SET state = 'sent', ready_us = NULL,"
                            " claim_token = NULL, sent_us = ?, provider_id = ?, last_error = NULL,"
                            " reserved_us = NULL, updated_us = ?", (us, provider_id, us))

    def mark_failed(self, entry: OutboxEntry, *, at: dt.datetime, reason: str,
                    retry_at: dt.datetime | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        reason = check_reason(reason)
        if retry_at is None:
            return self._finish(entry, "UPDATE outbox SET state = 'dead', ready_us = NULL,"
                                " claim_token = NULL, reserved_us = NULL, last_error = ?,"
                                " updated_us = ?", (reason, us))
        r_us = datetime_to_us(require_aware(retry_at, "retry_at"))
        return self._finish(entry, "UPDATE outbox SET state = 'retry', ready_us = ?, due_us = ?,"
                            " claim_token = NULL, reserved_us = NULL, last_error = ?,"
                            " updated_us = ?", (r_us, r_us, reason, us))

    def release(self, entry: OutboxEntry, *, until: dt.datetime, reason: str) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        reason = check_reason(reason)
        return self._finish(entry, "UPDATE outbox SET state = 'pending', ready_us = ?, due_us = ?,"
                            " claim_token = NULL, reserved_us = NULL, attempts = attempts - 1,"
                            " last_error = ?", (u_us, u_us, f"deferred: {reason}"))

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        reason = check_reason(reason)
        return self._finish(entry, "UPDATE outbox SET state = 'skipped', ready_us = NULL,"
                            " claim_token = NULL, reserved_us = NULL, attempts = attempts - 1,"
                            " last_error = ?, updated_us = ?", (f"skipped: {reason}", us))

    def requeue(self, key: str, *, at: dt.datetime, reason: str) -> bool:
        """Bring a ``DEAD`` message back (an operator action); see :meth:`Outbox.requeue`.

        Raises:
            InvalidValueError: no message is stored under ``key``.
        """
        us = datetime_to_us(require_aware(at, "at"))
        reason = check_reason(reason)
        with self.transaction() as conn:
            row = conn.execute("SELECT state, last_error FROM outbox WHERE key = ?",
                               (key,)).fetchone()
            if row is None:
                raise InvalidValueError("key", "is not in the outbox", redact(str(key)))
            if row[0] != OutboxState.DEAD.value:
                return False
            note = f"requeued: {reason} (was: {row[1]})"
            conn.execute(
                "UPDATE outbox SET state = 'pending', ready_us = ?, due_us = ?, attempts = 0,"
                " claim_token = NULL, reserved_us = NULL, requeues = requeues + 1,"
                " last_error = ?, updated_us = ? WHERE key = ?", (us, us, note, us, key))
            conn.execute("INSERT INTO outbox_history VALUES (?, ?, 'requeue', ?)",
                         (key, us, reason))
        log.info("requeued %s: %s", redact(key), reason)
        return True

    def history(self, key: str) -> list[tuple[dt.datetime, str, str]]:
        """The operator actions recorded for ``key``: ``(at, action, reason)``, oldest first."""
        rows = self.read("SELECT at_us, action, reason FROM outbox_history WHERE key = ?"
                         " ORDER BY rowid", (key,))
        return [(us_to_datetime(us, _UTC), action, reason) for us, action, reason in rows]

    def get(self, key: str) -> OutboxEntry | None:
        rows = self.read(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?", (key,))
        return self._entry(rows[0]) if rows else None

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """All entries (in ``state`` if given), ordered by key; a row whose message cannot
        be read back is reported ``DEAD`` with the reason (see :class:`OutboxEntry`)."""
        rows = self.read(f"SELECT {_COLUMNS} FROM outbox ORDER BY key")
        out = [self._entry(r) for r in rows]
        return out if state is None else [e for e in out if e.state is state]

    def counts(self) -> dict[OutboxState, int]:
        out = dict.fromkeys(OutboxState, 0)
        for state, n in self.read("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
            out[OutboxState(state)] = n
        return out

    def possible_duplicates(self) -> int:
        ((n,),) = self.read("SELECT COALESCE(SUM(possible_duplicates), 0) FROM outbox")
        return int(n)

    # -- SendHistory -----------------------------------------------------------------------
    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        """Send times after ``since``, ascending; a claim in flight counts as sent at its
        claim time, or just after ``since`` if that is earlier (inside every window)."""
        since_us = datetime_to_us(since)
        args = (_customer(customer_id), channel.value, message_class.value)
        times = [us for (us,) in self.read(
            "SELECT sent_us FROM outbox WHERE state = 'sent' AND customer = ?"
            " AND channel = ? AND class = ? AND sent_us > ?", (*args, since_us))]
        times += [max(us or 0, since_us + 1) for (us,) in self.read(
            "SELECT reserved_us FROM outbox WHERE state = 'claimed' AND customer = ?"
            " AND channel = ? AND class = ?", args)]
        times.sort()
        return [us_to_datetime(us, _UTC) for us in times]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        rows = self.read("SELECT 1 FROM outbox WHERE state = 'sent' AND message_type = ?"
                         " AND dedupe_key = ? LIMIT 1", (message_type, dedupe_key))
        return bool(rows)

    def __len__(self) -> int:
        ((n,),) = self.read("SELECT COUNT(*) FROM outbox")
        return int(n)
