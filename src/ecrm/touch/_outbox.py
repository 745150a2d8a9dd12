"""The durable outbox and the dispatcher that drains it.

A message is enqueued once per idempotency key. The dispatcher claims due messages
under a lease, sends them through the channel and records the outcome:

``PENDING`` → ``CLAIMED`` (in flight, lease) → ``SENT`` | ``RETRY`` (backoff) → … |
``DEAD`` (permanent failure or too many attempts) | ``SKIPPED`` (policy said no).

A claim whose lease expires (the dispatcher crashed or hung) is claimed again; because
the first attempt may have reached the provider, the row's ``possible_duplicates``
counter goes up. With a provider that honours the idempotency key nothing is delivered
twice; with one that does not, duplicates are bounded by that counter.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import enum
import heapq
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

import attrs

from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.touch._channel import Accepted, Channel, safe_send
from ecrm.touch._clock import Clock, SystemClock
from ecrm.touch._errors import OutboxError
from ecrm.touch._message import ChannelKind, Message, MessageClass
from ecrm.touch._policy import _NO_HISTORY, Defer, PolicyContext, SendHistory, SendPolicy, Skip

__all__ = [
    "Backoff",
    "DispatchReport",
    "Dispatcher",
    "Guard",
    "InMemoryOutbox",
    "Outbox",
    "OutboxEntry",
    "OutboxState",
    "SqliteOutbox",
]

log = logging.getLogger("ecrm.touch")
_UTC: Final = dt.UTC


class OutboxState(enum.Enum):
    """Where a message is in its life."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        """``SENT``, ``DEAD`` and ``SKIPPED`` never change again."""
        return self in (OutboxState.SENT, OutboxState.DEAD, OutboxState.SKIPPED)


@attrs.frozen
class OutboxEntry:
    """A stored message and its delivery state.

    Attributes:
        message: the message.
        state: its state.
        due_at: when it is (next) due.
        attempts: claims for sending so far (including one in flight).
        possible_duplicates: times it was reclaimed after a lease expired, i.e. an
            earlier attempt may have reached the provider.
        lease_until: while ``CLAIMED``, when the claim expires.
        claim_token: identifies the current claim; outcomes of older claims are ignored.
        sent_at, provider_id: set once ``SENT``.
        last_error: the last failure, deferral or skip reason.
    """

    message: Message
    state: OutboxState
    due_at: dt.datetime
    attempts: int = 0
    possible_duplicates: int = 0
    lease_until: dt.datetime | None = None
    claim_token: str | None = None
    sent_at: dt.datetime | None = None
    provider_id: str | None = None
    last_error: str | None = None

    @property
    def key(self) -> str:
        return self.message.key


@runtime_checkable
class Outbox(Protocol):
    """A durable queue of messages keyed by their idempotency key."""

    def enqueue(self, message: Message, *, due_at: dt.datetime | None = None) -> bool:
        """Store ``message`` due at ``due_at`` (default its ``not_before`` or
        ``created_at``); ``False`` when the key is already stored (nothing changes)."""
        ...

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        """Enqueue several in one transaction; the number that were new."""
        ...

    def claim(self, *, now: dt.datetime, lease: dt.timedelta, limit: int = 1) -> list[OutboxEntry]:
        """Claim up to ``limit`` due messages (and expired claims) until ``now + lease``."""
        ...

    def mark_sent(self, entry: OutboxEntry, *, at: dt.datetime,
                  provider_id: str | None) -> bool:
        """Record a delivery; ``False`` if the claim was lost (lease expired, reclaimed)."""
        ...

    def mark_failed(self, entry: OutboxEntry, *, at: dt.datetime, reason: str,
                    retry_at: dt.datetime | None) -> bool:
        """Record a failure: ``RETRY`` at ``retry_at``, or ``DEAD`` when it is ``None``."""
        ...

    def release(self, entry: OutboxEntry, *, until: dt.datetime, reason: str) -> bool:
        """Give a claim back unsent, due again at ``until`` (a policy deferral)."""
        ...

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        """Record that the policy refused the message (``SKIPPED``)."""
        ...

    def get(self, key: str) -> OutboxEntry | None:
        """The entry stored under ``key``, or ``None``."""
        ...

    def counts(self) -> dict[OutboxState, int]:
        """Number of messages in each state (every state present)."""
        ...

    def possible_duplicates(self) -> int:
        """Total reclaims after an expired lease over all messages."""
        ...


def _check_lease(now: dt.datetime, lease: dt.timedelta, limit: int) -> None:
    require_aware(now, "now")
    if not isinstance(lease, dt.timedelta) or lease <= dt.timedelta(0):
        raise InvalidValueError("lease", "must be a positive timedelta", lease)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidValueError("limit", "must be an int >= 1", limit)


def _due(message: Message, due_at: dt.datetime | None) -> dt.datetime:
    if not isinstance(message, Message):
        raise InvalidTypeError(f"can only enqueue a Message, got {type(message).__name__}")
    if due_at is not None:
        return require_aware(due_at, "due_at")
    return message.not_before or message.created_at


def _log_reclaim(key: str) -> None:
    log.warning("reclaimed %s after its lease expired: the earlier attempt may have been sent",
                key)


def _token() -> str:
    return os.urandom(8).hex()


# -- SQLite -------------------------------------------------------------------------
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
    # ready_us: when a row can be claimed (due time, or lease expiry); NULL once terminal
    "CREATE INDEX IF NOT EXISTS outbox_ready ON outbox(ready_us, key) WHERE ready_us IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(customer, channel, class, sent_us)"
    " WHERE state = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_dedupe ON outbox(message_type, dedupe_key)"
    " WHERE state = 'sent' AND dedupe_key IS NOT NULL",
)
# the (ready_us, key) index serves this without sorting every due row
_CLAIM: Final = ("SELECT key, state FROM outbox WHERE ready_us IS NOT NULL AND ready_us <= ?"
                 " ORDER BY ready_us, key LIMIT ?")
_COLUMNS: Final = ("message, state, due_us, attempts, possible_duplicates, ready_us, "
                   "claim_token, sent_us, provider_id, last_error")


def _customer(cid: str | int) -> str:
    # JSON keeps 1 and "1" apart
    return json.dumps(cid, ensure_ascii=False)


def _rollback(cur: sqlite3.Cursor) -> None:
    # SQLite may already have rolled back on its own (a full disk); nothing more to undo
    with contextlib.suppress(sqlite3.Error):
        cur.execute("ROLLBACK")


class SqliteOutbox:
    """An :class:`Outbox` in a SQLite file (WAL mode), safe for several processes.

    Every change is one ``BEGIN IMMEDIATE`` transaction, committed before the call
    returns, so a ``kill -9`` loses nothing that was acknowledged. With the default
    ``synchronous="NORMAL"`` a power cut may lose the last transactions (the OS crash
    window of WAL); ``"FULL"`` closes it at some throughput cost.

    It is also a :class:`~ecrm.touch.SendHistory` (sent messages feed the caps and
    dedupe of the policy).

    Args:
        path: the database file (created with its schema if missing).
        busy_timeout: seconds to wait for another process's write lock.
        synchronous: SQLite's ``synchronous`` pragma, ``"NORMAL"`` or ``"FULL"``.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0,
                 synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise InvalidValueError("synchronous", "must be 'NORMAL' or 'FULL'", synchronous)
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {str(self.path)!r}: {exc}") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            with self._tx() as cur:
                for statement in _SCHEMA:
                    cur.execute(statement)
        except sqlite3.Error as exc:
            self._conn.close()  # no half-open outbox left behind
            raise OutboxError(f"cannot open outbox {str(self.path)!r}: {exc}") from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction; SQLite's errors (a write lock still held by another
        process after ``busy_timeout``, a full disk) become :class:`OutboxError`, and
        nothing of the transaction is kept."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise OutboxError(
                    f"outbox {str(self.path)!r} is busy or unusable: {exc}; nothing changed"
                ) from exc
            try:
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(cur)
                raise OutboxError(
                    f"outbox {str(self.path)!r}: {exc}; nothing changed"
                ) from exc
            except BaseException:
                _rollback(cur)
                raise

    def _row(self, row: Sequence[Any]) -> OutboxEntry:
        (message, state, due_us, attempts, dups, ready_us, token, sent_us, pid, err) = row
        try:
            msg = Message.from_dict(json.loads(message))
        except (ValueError, InvalidValueError) as exc:
            raise OutboxError(f"unreadable message in outbox: {exc}") from exc
        st = OutboxState(state)
        return OutboxEntry(
            message=msg, state=st, due_at=us_to_datetime(due_us, _UTC), attempts=attempts,
            possible_duplicates=dups,
            lease_until=us_to_datetime(ready_us, _UTC) if st is OutboxState.CLAIMED else None,
            claim_token=token, sent_at=None if sent_us is None else us_to_datetime(sent_us, _UTC),
            provider_id=pid, last_error=err,
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
        values = self._values(message, _due(message, due_at))
        with self._tx() as cur:
            cur.execute(self._INSERT, values)
            return cur.rowcount == 1

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        rows = [self._values(m, _due(m, due_at)) for m in messages]  # validate all first
        new = 0
        with self._tx() as cur:
            for values in rows:
                cur.execute(self._INSERT, values)
                new += cur.rowcount
        return new

    def claim(self, *, now: dt.datetime, lease: dt.timedelta, limit: int = 1) -> list[OutboxEntry]:
        _check_lease(now, lease, limit)
        now_us = datetime_to_us(now)
        lease_us = datetime_to_us(now + lease)
        with self._tx() as cur:
            due = cur.execute(_CLAIM, (now_us, limit)).fetchall()
            out = []
            for key, state in due:
                reclaimed = 1 if state == OutboxState.CLAIMED.value else 0
                if reclaimed:
                    _log_reclaim(key)
                token = _token()
                cur.execute(
                    "UPDATE outbox SET state = 'claimed', ready_us = ?, claim_token = ?,"
                    " attempts = attempts + 1, possible_duplicates = possible_duplicates + ?,"
                    " updated_us = ? WHERE key = ?",
                    (lease_us, token, reclaimed, now_us, key),
                )
                row = cur.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?",
                                  (key,)).fetchone()
                out.append(row)
        return [self._row(r) for r in out]

    def _finish(self, entry: OutboxEntry, sql: str, args: tuple[Any, ...]) -> bool:
        with self._tx() as cur:
            cur.execute(sql + " WHERE key = ? AND claim_token = ? AND state = 'claimed'",
                        (*args, entry.key, entry.claim_token))
            return cur.rowcount == 1

    def mark_sent(self, entry: OutboxEntry, *, at: dt.datetime,
                  provider_id: str | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        return self._finish(entry, "UPDATE outbox SET state = 'sent', ready_us = NULL,"
                            " claim_token = NULL, sent_us = ?, provider_id = ?, last_error = NULL,"
                            " updated_us = ?", (us, provider_id, us))

    def mark_failed(self, entry: OutboxEntry, *, at: dt.datetime, reason: str,
                    retry_at: dt.datetime | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        if retry_at is None:
            return self._finish(entry, "UPDATE outbox SET state = 'dead', ready_us = NULL,"
                                " claim_token = NULL, last_error = ?, updated_us = ?", (reason, us))
        r_us = datetime_to_us(require_aware(retry_at, "retry_at"))
        return self._finish(entry, "UPDATE outbox SET state = 'retry', ready_us = ?, due_us = ?,"
                            " claim_token = NULL, last_error = ?, updated_us = ?",
                            (r_us, r_us, reason, us))

    def release(self, entry: OutboxEntry, *, until: dt.datetime, reason: str) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        return self._finish(entry, "UPDATE outbox SET state = 'pending', ready_us = ?, due_us = ?,"
                            " claim_token = NULL, attempts = attempts - 1, last_error = ?",
                            (u_us, u_us, f"deferred: {reason}"))

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        return self._finish(entry, "UPDATE outbox SET state = 'skipped', ready_us = NULL,"
                            " claim_token = NULL, attempts = attempts - 1, last_error = ?,"
                            " updated_us = ?", (f"skipped: {reason}", us))

    def get(self, key: str) -> OutboxEntry | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?",
                                     (key,)).fetchone()
        return None if row is None else self._row(row)

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """All entries (in ``state`` if given), ordered by key."""
        with self._lock:
            if state is None:
                rows = self._conn.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY key")
            else:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY key", (state.value,)
                )
            fetched = rows.fetchall()
        return [self._row(r) for r in fetched]

    def counts(self) -> dict[OutboxState, int]:
        out = dict.fromkeys(OutboxState, 0)
        with self._lock:
            for state, n in self._conn.execute(
                "SELECT state, COUNT(*) FROM outbox GROUP BY state"
            ):
                out[OutboxState(state)] = n
        return out

    def possible_duplicates(self) -> int:
        with self._lock:
            (n,) = self._conn.execute(
                "SELECT COALESCE(SUM(possible_duplicates), 0) FROM outbox").fetchone()
        return int(n)

    # -- SendHistory -----------------------------------------------------------------------
    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT sent_us FROM outbox WHERE state = 'sent' AND customer = ?"
                " AND channel = ? AND class = ? AND sent_us > ? ORDER BY sent_us",
                (_customer(customer_id), channel.value, message_class.value,
                 datetime_to_us(since)),
            ).fetchall()
        return [us_to_datetime(us, _UTC) for (us,) in rows]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM outbox WHERE state = 'sent' AND message_type = ?"
                " AND dedupe_key = ? LIMIT 1", (message_type, dedupe_key),
            ).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteOutbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteOutbox({str(self.path)!r})"


# -- in memory ------------------------------------------------------------------------
@attrs.define
class _Row:
    message: Message
    state: OutboxState
    due_us: int
    ready_us: int | None
    attempts: int = 0
    possible_duplicates: int = 0
    claim_token: str | None = None
    sent_us: int | None = None
    provider_id: str | None = None
    last_error: str | None = None

    def entry(self) -> OutboxEntry:
        return OutboxEntry(
            message=self.message, state=self.state, due_at=us_to_datetime(self.due_us, _UTC),
            attempts=self.attempts, possible_duplicates=self.possible_duplicates,
            lease_until=(us_to_datetime(self.ready_us, _UTC)
                         if self.state is OutboxState.CLAIMED and self.ready_us is not None
                         else None),
            claim_token=self.claim_token,
            sent_at=None if self.sent_us is None else us_to_datetime(self.sent_us, _UTC),
            provider_id=self.provider_id, last_error=self.last_error,
        )


class InMemoryOutbox:
    """An :class:`Outbox` in memory, with the same state machine as :class:`SqliteOutbox`.

    For tests, dry runs and backtests; it is lost with the process. Also a
    :class:`~ecrm.touch.SendHistory`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._heap: list[tuple[int, str]] = []
        self._history = _SentIndex()

    def _push(self, row: _Row) -> None:
        if row.ready_us is not None:
            heapq.heappush(self._heap, (row.ready_us, row.message.key))

    def enqueue(self, message: Message, *, due_at: dt.datetime | None = None) -> bool:
        due_us = datetime_to_us(_due(message, due_at))
        with self._lock:
            if message.key in self._rows:
                return False
            row = _Row(message, OutboxState.PENDING, due_us, due_us)
            self._rows[message.key] = row
            self._push(row)
            return True

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        batch = [(m, _due(m, due_at)) for m in messages]
        return sum(self.enqueue(m, due_at=d) for m, d in batch)

    def claim(self, *, now: dt.datetime, lease: dt.timedelta, limit: int = 1) -> list[OutboxEntry]:
        _check_lease(now, lease, limit)
        now_us = datetime_to_us(now)
        lease_us = datetime_to_us(now + lease)
        out: list[OutboxEntry] = []
        with self._lock:
            while self._heap and len(out) < limit and self._heap[0][0] <= now_us:
                ready_us, key = heapq.heappop(self._heap)
                row = self._rows[key]
                if row.ready_us != ready_us or row.state.terminal:
                    continue  # stale heap entry
                if row.state is OutboxState.CLAIMED:
                    row.possible_duplicates += 1
                    _log_reclaim(key)
                row.state = OutboxState.CLAIMED
                row.ready_us = lease_us
                row.claim_token = _token()
                row.attempts += 1
                self._push(row)
                out.append(row.entry())
        return out

    def _claimed(self, entry: OutboxEntry) -> _Row | None:
        row = self._rows.get(entry.key)
        if row is None or row.state is not OutboxState.CLAIMED:
            return None
        if row.claim_token != entry.claim_token:
            return None
        return row

    def mark_sent(self, entry: OutboxEntry, *, at: dt.datetime,
                  provider_id: str | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            row.state, row.ready_us, row.claim_token = OutboxState.SENT, None, None
            row.sent_us, row.provider_id, row.last_error = us, provider_id, None
            self._history.add(row.message, us)
            return True

    def mark_failed(self, entry: OutboxEntry, *, at: dt.datetime, reason: str,
                    retry_at: dt.datetime | None) -> bool:
        require_aware(at, "at")
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            row.claim_token, row.last_error = None, reason
            if retry_at is None:
                row.state, row.ready_us = OutboxState.DEAD, None
            else:
                r_us = datetime_to_us(require_aware(retry_at, "retry_at"))
                row.state, row.ready_us, row.due_us = OutboxState.RETRY, r_us, r_us
                self._push(row)
            return True

    def release(self, entry: OutboxEntry, *, until: dt.datetime, reason: str) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            row.state, row.ready_us, row.due_us = OutboxState.PENDING, u_us, u_us
            row.claim_token, row.last_error = None, f"deferred: {reason}"
            row.attempts -= 1
            self._push(row)
            return True

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        require_aware(at, "at")
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            row.state, row.ready_us, row.claim_token = OutboxState.SKIPPED, None, None
            row.last_error = f"skipped: {reason}"
            row.attempts -= 1
            return True

    def get(self, key: str) -> OutboxEntry | None:
        with self._lock:
            row = self._rows.get(key)
            return None if row is None else row.entry()

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """All entries (in ``state`` if given), ordered by key."""
        with self._lock:
            return [r.entry() for k, r in sorted(self._rows.items())
                    if state is None or r.state is state]

    def counts(self) -> dict[OutboxState, int]:
        out = dict.fromkeys(OutboxState, 0)
        with self._lock:
            for row in self._rows.values():
                out[row.state] += 1
        return out

    def possible_duplicates(self) -> int:
        with self._lock:
            return sum(r.possible_duplicates for r in self._rows.values())

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        with self._lock:
            return self._history.sent_times(customer_id, channel, message_class, since)

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        with self._lock:
            return self._history.has_sent(message_type, dedupe_key)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"InMemoryOutbox({len(self._rows)} messages)"


class _SentIndex:
    def __init__(self) -> None:
        self._times: dict[tuple[str | int, ChannelKind, MessageClass], list[int]] = {}
        self._dedupe: set[tuple[str, str]] = set()

    def add(self, message: Message, us: int) -> None:
        key = (message.recipient.customer_id, message.channel, message.message_class)
        times = self._times.setdefault(key, [])
        times.insert(_bisect_right(times, us), us)
        if message.dedupe_key is not None:
            self._dedupe.add((message.message_type, message.dedupe_key))

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> list[dt.datetime]:
        times = self._times.get((customer_id, channel, message_class), [])
        i = _bisect_right(times, datetime_to_us(since))
        return [us_to_datetime(us, _UTC) for us in times[i:]]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return (message_type, dedupe_key) in self._dedupe


def _bisect_right(values: list[int], x: int) -> int:
    return bisect.bisect_right(values, x)


# -- dispatch ---------------------------------------------------------------------------
@attrs.frozen
class Backoff:
    """Exponential retry delays: ``base × factor^(attempt − 1)``, at most ``max_delay``.

    >>> b = Backoff(base=dt.timedelta(seconds=30), factor=2, max_delay=dt.timedelta(minutes=5))
    >>> [int(b.delay(n).total_seconds()) for n in (1, 2, 3, 4, 5)]
    [30, 60, 120, 240, 300]
    """

    base: dt.timedelta = attrs.field(default=dt.timedelta(seconds=30))
    factor: int = attrs.field(default=2, validator=[attrs.validators.instance_of(int),
                                                    attrs.validators.ge(1)])
    max_delay: dt.timedelta = attrs.field(default=dt.timedelta(hours=1))

    def __attrs_post_init__(self) -> None:
        for name in ("base", "max_delay"):
            v = getattr(self, name)
            if not isinstance(v, dt.timedelta) or v <= dt.timedelta(0):
                raise InvalidValueError(name, "must be a positive timedelta", v)

    def delay(self, attempt: int) -> dt.timedelta:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise InvalidValueError("attempt", "must be >= 1", attempt)
        # compare in whole steps first so huge attempt numbers do not overflow timedelta
        if self.factor > 1 and attempt > 64:
            return self.max_delay
        delay: dt.timedelta = self.base * self.factor ** (attempt - 1)
        return min(delay, self.max_delay)


@attrs.frozen
class DispatchReport:
    """What one dispatch run did (counts of messages)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0
    lost_claims: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(*(a + b for a, b in zip(attrs.astuple(self),
                                                      attrs.astuple(other), strict=True)))


_ContextSource = PolicyContext | Callable[[], PolicyContext] | None

#: A dispatch-time re-check: ``guard(message, now)`` returns why ``message`` must not go
#: out at ``now`` (an order paid since it was enqueued, a closed sale window), or ``None``.
Guard = Callable[[Message, dt.datetime], "str | None"]


class Dispatcher:
    """Claims due messages from an outbox, sends them and records the outcomes.

    Args:
        outbox: where messages wait.
        channel: the adapter they go out through.
        clock: the time source (default the system clock).
        policy: if given, each claimed message is decided again at send time (a Skip
            becomes ``SKIPPED``, a Defer releases it until the allowed moment).
        guard: if given, ``guard(message, now)`` is asked first for each claimed message;
            a reason (a string) marks it ``SKIPPED`` with that reason, and it never reaches
            the policy or the channel. See :func:`~ecrm.touch.order_guard`.
        context: the policy context, or a callable building a fresh one per run. When
            its ``history`` is left empty and the outbox is a ``SendHistory`` (both
            built-in outboxes are), the outbox's sent messages are used.
        max_attempts: transient failures retry until this many attempts, then go dead.
        backoff: the retry delays.
        lease: how long a claim lasts; make it much longer than a send takes (an
            expired lease lets another dispatcher send the message again).
        batch_size: messages claimed per transaction. 1 keeps "in flight" to one message
            per dispatcher, which bounds crash duplicates to one per crash.
    """

    def __init__(
        self,
        outbox: Outbox,
        channel: Channel,
        *,
        clock: Clock | None = None,
        policy: SendPolicy | None = None,
        guard: Guard | None = None,
        context: _ContextSource = None,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 1,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidValueError("max_attempts", "must be an int >= 1", max_attempts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidValueError("batch_size", "must be an int >= 1", batch_size)
        if not isinstance(lease, dt.timedelta) or lease <= dt.timedelta(0):
            raise InvalidValueError("lease", "must be a positive timedelta", lease)
        if policy is not None and not isinstance(policy, SendPolicy):
            raise InvalidTypeError(f"policy must be a SendPolicy, got {type(policy).__name__}")
        if guard is not None and not callable(guard):
            raise InvalidTypeError(f"guard must be callable, got {type(guard).__name__}")
        self.outbox = outbox
        self.channel = channel
        self.clock: Clock = clock or SystemClock()
        self.policy = policy
        self.guard = guard
        self._context = context
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lease = lease
        self.batch_size = batch_size

    def _policy_context(self) -> PolicyContext:
        ctx = self._context() if callable(self._context) else self._context
        ctx = ctx or PolicyContext()
        if ctx.history is _NO_HISTORY and isinstance(self.outbox, SendHistory):
            ctx = attrs.evolve(ctx, history=self.outbox)
        return ctx

    def dispatch(self, entry: OutboxEntry, context: PolicyContext | None = None) -> str:
        """Handle one claimed entry; returns the outcome name (``"sent"``, ``"retried"``,
        ``"dead"``, ``"deferred"``, ``"skipped"``, or ``"lost_claim"``)."""
        message = entry.message
        if self.guard is not None:
            now = self.clock.now()
            reason = self.guard(message, now)
            if reason is not None:
                ok = self.outbox.skip(entry, at=now, reason=reason)
                log.info("skipped %s (guard): %s", message.key, reason)
                return "skipped" if ok else "lost_claim"
        if self.policy is not None:
            decision = self.policy.decide(message, now=self.clock.now(),
                                          context=context or self._policy_context())
            if isinstance(decision, Skip):
                ok = self.outbox.skip(entry, at=self.clock.now(), reason=decision.reason)
                log.info("skipped %s: %s", message.key, decision.reason)
                return "skipped" if ok else "lost_claim"
            if isinstance(decision, Defer):
                ok = self.outbox.release(entry, until=decision.until, reason=decision.reason)
                return "deferred" if ok else "lost_claim"
        receipt = safe_send(self.channel, message)
        at = self.clock.now()
        if isinstance(receipt, Accepted):
            ok = self.outbox.mark_sent(entry, at=at, provider_id=receipt.provider_id)
            log.debug("sent %s to %s", message.key, message.masked_address)
            return "sent" if ok else "lost_claim"
        if receipt.transient and entry.attempts < self.max_attempts:
            retry_at = at + self.backoff.delay(entry.attempts)
            ok = self.outbox.mark_failed(entry, at=at, reason=receipt.reason, retry_at=retry_at)
            log.info("retry %s at %s: %s", message.key, retry_at.isoformat(), receipt.reason)
            return "retried" if ok else "lost_claim"
        ok = self.outbox.mark_failed(entry, at=at, reason=receipt.reason, retry_at=None)
        log.warning("dead letter %s to %s: %s", message.key, message.masked_address,
                    receipt.reason)
        return "dead" if ok else "lost_claim"

    def run_once(self, *, max_messages: int | None = None) -> DispatchReport:
        """Dispatch every message due now (claims until none is due or ``max_messages``)."""
        counts = dict.fromkeys(("sent", "retried", "dead", "deferred", "skipped",
                                "lost_claim"), 0)
        claimed = 0
        context = self._policy_context() if self.policy is not None else None
        while max_messages is None or claimed < max_messages:
            limit = self.batch_size if max_messages is None else min(
                self.batch_size, max_messages - claimed)
            entries = self.outbox.claim(now=self.clock.now(), lease=self.lease, limit=limit)
            if not entries:
                break
            claimed += len(entries)
            for entry in entries:
                counts[self.dispatch(entry, context)] += 1
        return DispatchReport(claimed, counts["sent"], counts["retried"], counts["dead"],
                              counts["deferred"], counts["skipped"], counts["lost_claim"])

    def run(self, *, should_stop: Callable[[], bool], idle_sleep: float = 1.0,
            sleep: Callable[[float], None] = time.sleep) -> DispatchReport:
        """Dispatch until ``should_stop()`` is true, sleeping ``idle_sleep`` s when idle."""
        total = DispatchReport()
        while not should_stop():
            report = self.run_once()
            total = total + report
            if report.claimed == 0:
                sleep(idle_sleep)
        return total

    def __repr__(self) -> str:
        return f"Dispatcher({self.outbox!r}, {self.channel!r})"
