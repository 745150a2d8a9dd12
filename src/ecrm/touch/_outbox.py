"""The durable outbox: one message per idempotency key, claimed under a lease.

A message is enqueued once per key. A dispatcher claims due messages under a lease, sends
them and records the outcome:

``PENDING`` → ``CLAIMED`` (in flight, lease) → ``SENT`` | ``RETRY`` (backoff) → … |
``DEAD`` (permanent failure, too many attempts, a poison message) | ``SKIPPED`` (policy or
guard said no). An operator brings a ``DEAD`` message back with :meth:`~Outbox.requeue`.

**Caps and dedupe stay exact with any number of dispatchers.** When :meth:`~Outbox.claim`
is given a ``decide`` function, the send decision is made *inside* the claim's write
transaction (SQLite: one ``BEGIN IMMEDIATE``, so claims of all processes are serialised),
against a history in which a claimed-but-unsent message already counts:

- a ``CLAIMED`` message holds a frequency-cap slot of its customer, channel and class (it
  counts as sent inside every window until it is recorded as sent, or gives the slot back
  by failing, being deferred or skipped);
- while a message is ``CLAIMED``, another message with the same ``(message_type,
  dedupe_key)`` is not decided but deferred by a second (at most to the end of that
  claim's lease), so the policy sees the first one's outcome (sent: dedupe skips;
  failed: this one may go).

Every claim is decided against everything claimed or sent before it, in one order, so two
dispatchers can never both take the last slot of a cap or both send a deduped reminder.

**Leases and fencing.** A claim carries a fresh ``claim_token`` (the fencing token): the
outcome of a claim is recorded only while the row still holds that token, so a message
whose lease was lost is never recorded twice. A dispatcher renews the lease while a send is
in flight (:meth:`~Outbox.renew`). A claim whose lease expires anyway (the dispatcher was
killed or frozen) is claimed again *without a new decision* (its first attempt may have
reached the provider, so it keeps its reservation), and its ``possible_duplicates``
counter goes up. With a provider that honours the idempotency key nothing is delivered
twice; with one that does not, duplicates are bounded by that counter.

Every stored reason goes through :func:`ecrm._redact.redact`: no phone number, e-mail
address or credential lands in an outbox row.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm._deprecate import renamed_kwarg
from ecrm._redact import redact
from ecrm._sqlite import SqliteStore, StoreError, Synchronous
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError, OutboxError
from ecrm.touch._context import SendHistory
from ecrm.touch._decision import Decision, Defer, Skip
from ecrm.touch._message import ChannelKind, Message, MessageClass, Recipient

__all__ = [
    "Decide",
    "Guard",
    "InMemoryOutbox",
    "Outbox",
    "OutboxEntry",
    "OutboxState",
    "SqliteOutbox",
]

log = logging.getLogger("ecrm.touch")
_UTC: Final = dt.UTC
_DEDUPE_WAIT_US: Final = 1_000_000

#: The send decision made inside a claim: ``decide(message, history)`` with ``history``
#: the outbox's own view (sent messages plus the claims in flight, this claim's earlier
#: decisions included). A :class:`~ecrm.touch.Send` claims the message, a
#: :class:`~ecrm.touch.Defer` puts it back until ``until``, a :class:`~ecrm.touch.Skip`
#: ends it as ``SKIPPED``; an exception dead-letters that one message.
Decide: TypeAlias = Callable[[Message, SendHistory], Decision]

#: A dispatch-time re-check: ``guard(message, now)`` returns why ``message`` must not go
#: out at ``now`` (an order paid since it was enqueued, a closed sale window), or ``None``.
Guard = Callable[[Message, dt.datetime], "str | None"]


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
        """``SENT``, ``DEAD`` and ``SKIPPED`` never change again (but an operator may
        :meth:`~Outbox.requeue` a ``DEAD`` message)."""
        return self in (OutboxState.SENT, OutboxState.DEAD, OutboxState.SKIPPED)


@attrs.frozen
class OutboxEntry:
    """A stored message and its delivery state.

    Attributes:
        message: the message (for a stored row that cannot be read back: a placeholder
            with the row's key, type, class, channel and customer and an empty body; the
            entry is then ``DEAD`` and ``last_error`` says why).
        state: its state.
        due_at: when it is (next) due.
        attempts: claims for sending so far (including one in flight).
        possible_duplicates: times it was reclaimed after a lease expired, i.e. an
            earlier attempt may have reached the provider.
        lease_until: while ``CLAIMED``, when the claim expires.
        claim_token: the fencing token of the current claim; outcomes of older claims
            are ignored.
        sent_at, provider_id: set once ``SENT``.
        last_error: the last failure, deferral, skip or operator reason (masked).
        requeues: times an operator brought it back from ``DEAD``.
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
    requeues: int = 0

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

    def claim(self, *, as_of: dt.datetime, lease: dt.timedelta, limit: int = 1,
              decide: Decide | None = None,
              max_attempts: int | None = None) -> list[OutboxEntry]:
        """Take up to ``limit`` due messages (and expired claims) in one transaction.

        Without ``decide`` each is claimed until ``as_of + lease`` (``as_of`` is the
        claiming instant, aware; the shipped outboxes still accept ``now=`` as its
        deprecated alias). With it, each new claim is decided first (see the module
        docstring): the entries come back ``CLAIMED`` (send it), ``PENDING`` (deferred),
        ``SKIPPED`` or ``DEAD`` (the decision raised). A message that already had
        ``max_attempts`` claims is dead-lettered instead of claimed again.
        """
        ...

    def renew(self, entry: OutboxEntry, *, until: dt.datetime) -> bool:
        """Extend a claim's lease to ``until``; ``False`` if the claim was lost."""
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

    def requeue(self, key: str, *, at: dt.datetime, reason: str) -> bool:
        """Bring a ``DEAD`` message back as ``PENDING`` due at ``at`` with a fresh attempt
        count (an operator action, kept in ``last_error`` and the outbox's history);
        ``False`` when the message is not ``DEAD``."""
        ...

    def get(self, key: str) -> OutboxEntry | None:
        """The entry stored under ``key``, or ``None``."""
        ...

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """All entries (in ``state`` if given), ordered by key."""
        ...

    def counts(self) -> dict[OutboxState, int]:
        """Number of messages in each state (every state present)."""
        ...

    def possible_duplicates(self) -> int:
        """Total reclaims after an expired lease over all messages."""
        ...


def _check_claim(as_of: dt.datetime, lease: dt.timedelta, limit: int,
                 max_attempts: int | None) -> None:
    require_aware(as_of, "as_of")
    if not isinstance(lease, dt.timedelta) or lease <= dt.timedelta(0):
        raise InvalidValueError("lease", "must be a positive timedelta", lease)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidValueError("limit", "must be an int >= 1", limit)
    if max_attempts is not None and (
        isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
    ):
        raise InvalidValueError("max_attempts", "must be an int >= 1 or None", max_attempts)


def _due(message: Message, due_at: dt.datetime | None) -> dt.datetime:
    if not isinstance(message, Message):
        raise InvalidTypeError(f"can only enqueue a Message, got {type(message).__name__}")
    if due_at is not None:
        return require_aware(due_at, "due_at")
    return message.not_before or message.created_at


def _check_reason(reason: object) -> str:
    if not isinstance(reason, str):
        raise InvalidTypeError(f"reason must be a string, got {type(reason).__name__}")
    return redact(reason)


def _log_reclaim(key: str) -> None:
    log.warning("reclaimed %s after its lease expired: the earlier attempt may have been sent",
                redact(key))


def _log_outcome(entry: OutboxEntry) -> None:
    if entry.state is OutboxState.SKIPPED:
        log.info("%s %s", redact(entry.key), entry.last_error)
    elif entry.state is OutboxState.DEAD:
        log.warning("dead letter %s: %s", redact(entry.key), entry.last_error)
    elif entry.state is OutboxState.PENDING:
        log.debug("%s %s", redact(entry.key), entry.last_error)


def _dedupe_wait(lease_us: int, now_us: int) -> int:
    # look again when the holder's lease ends, or in a second if sooner (a send is short)
    return max(min(lease_us, now_us + _DEDUPE_WAIT_US), now_us + 1)


def _token() -> str:
    return os.urandom(8).hex()


def _gave_up(attempts: int) -> str:
    return (f"gave up: {attempts} attempts made (max_attempts), the last one's outcome "
            "unknown")


def _decision_failed(exc: BaseException) -> str:
    return redact(f"decision raised {type(exc).__name__}: {exc}")


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


class SqliteOutbox(SqliteStore):
    """An :class:`Outbox` in a SQLite file (WAL mode), safe for several processes.

    Built on ecrm's one SQLite seam (:class:`ecrm._sqlite.SqliteStore`): every change is
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
            super().__init__(path, what="outbox", schema=_SCHEMA, busy_timeout=busy_timeout,
                             synchronous=synchronous)
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
            with super().transaction() as conn:
                yield conn
        except OutboxError:
            raise
        except StoreError as exc:
            raise OutboxError(str(exc)) from exc.__cause__

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return super().read(sql, params)
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
        values = self._values(message, _due(message, due_at))
        with self.transaction() as conn:
            return conn.execute(self._INSERT, values).rowcount == 1

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        rows = [self._values(m, _due(m, due_at)) for m in messages]  # validate all first
        new = 0
        with self.transaction() as conn:
            for values in rows:
                new += conn.execute(self._INSERT, values).rowcount
        return new

    @renamed_kwarg("now", "as_of")
    def claim(self, *, as_of: dt.datetime, lease: dt.timedelta, limit: int = 1,
              decide: Decide | None = None,
              max_attempts: int | None = None) -> list[OutboxEntry]:
        _check_claim(as_of, lease, limit, max_attempts)
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
            _log_outcome(entry)
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
            self._settle(conn, key, OutboxState.DEAD, None, _gave_up(attempts), now_us)
            return self._reread(conn, key, message)
        if reclaim:
            # its first attempt may have gone out: it keeps its reservation, no new decision
            _log_reclaim(key)
            conn.execute(
                "UPDATE outbox SET ready_us = ?, claim_token = ?, attempts = attempts + 1,"
                " possible_duplicates = possible_duplicates + 1, updated_us = ? WHERE key = ?",
                (lease_us, _token(), now_us, key))
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
                                 _dedupe_wait(held[0], now_us), reason, now_us)
                    return self._reread(conn, key, message)
            try:
                decision = decide(message, self)
            except Exception as exc:  # a poison message: dead-letter it, go on
                self._settle(conn, key, OutboxState.DEAD, None, _decision_failed(exc), now_us)
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
            (lease_us, _token(), now_us, now_us, key))
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
        reason = _check_reason(reason)
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
        reason = _check_reason(reason)
        return self._finish(entry, "UPDATE outbox SET state = 'pending', ready_us = ?, due_us = ?,"
                            " claim_token = NULL, reserved_us = NULL, attempts = attempts - 1,"
                            " last_error = ?", (u_us, u_us, f"deferred: {reason}"))

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        reason = _check_reason(reason)
        return self._finish(entry, "UPDATE outbox SET state = 'skipped', ready_us = NULL,"
                            " claim_token = NULL, reserved_us = NULL, attempts = attempts - 1,"
                            " last_error = ?, updated_us = ?", (f"skipped: {reason}", us))

    def requeue(self, key: str, *, at: dt.datetime, reason: str) -> bool:
        """Bring a ``DEAD`` message back (an operator action); see :meth:`Outbox.requeue`.

        Raises:
            InvalidValueError: no message is stored under ``key``.
        """
        us = datetime_to_us(require_aware(at, "at"))
        reason = _check_reason(reason)
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

    def __enter__(self) -> SqliteOutbox:
        return self


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
    reserved_us: int | None = None
    requeues: int = 0

    def entry(self) -> OutboxEntry:
        return OutboxEntry(
            message=self.message, state=self.state, due_at=us_to_datetime(self.due_us, _UTC),
            attempts=self.attempts, possible_duplicates=self.possible_duplicates,
            lease_until=(us_to_datetime(self.ready_us, _UTC)
                         if self.state is OutboxState.CLAIMED and self.ready_us is not None
                         else None),
            claim_token=self.claim_token,
            sent_at=None if self.sent_us is None else us_to_datetime(self.sent_us, _UTC),
            provider_id=self.provider_id, last_error=self.last_error, requeues=self.requeues,
        )


class InMemoryOutbox:
    """An :class:`Outbox` in memory, with the same state machine as :class:`SqliteOutbox`.

    For tests, dry runs and backtests; it is lost with the process. Also a
    :class:`~ecrm.touch.SendHistory` that counts the claims in flight, like the SQLite one.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._heap: list[tuple[int, str]] = []
        self._history = _SentIndex()
        # claims in flight: cap slots per (customer, channel, class), dedupe keys held
        self._inflight: dict[tuple[str | int, ChannelKind, MessageClass], set[str]] = {}
        self._held: dict[tuple[str, str], str] = {}
        self._log: list[tuple[str, dt.datetime, str, str]] = []

    def _push(self, row: _Row) -> None:
        if row.ready_us is not None:
            heapq.heappush(self._heap, (row.ready_us, row.message.key))

    def _hold(self, row: _Row, now_us: int) -> None:
        m = row.message
        row.reserved_us = now_us
        self._inflight.setdefault((m.recipient.customer_id, m.channel, m.message_class),
                                  set()).add(m.key)
        if m.dedupe_key is not None:
            self._held[(m.message_type, m.dedupe_key)] = m.key

    def _unhold(self, row: _Row) -> None:
        m = row.message
        row.reserved_us = None
        self._inflight.get((m.recipient.customer_id, m.channel, m.message_class),
                           set()).discard(m.key)
        if m.dedupe_key is not None and self._held.get((m.message_type, m.dedupe_key)) == m.key:
            del self._held[(m.message_type, m.dedupe_key)]

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

    @renamed_kwarg("now", "as_of")
    def claim(self, *, as_of: dt.datetime, lease: dt.timedelta, limit: int = 1,
              decide: Decide | None = None,
              max_attempts: int | None = None) -> list[OutboxEntry]:
        _check_claim(as_of, lease, limit, max_attempts)
        now_us = datetime_to_us(as_of)
        lease_us = datetime_to_us(as_of + lease)
        out: list[OutboxEntry] = []
        with self._lock:
            while self._heap and len(out) < limit and self._heap[0][0] <= now_us:
                ready_us, key = heapq.heappop(self._heap)
                row = self._rows[key]
                if row.ready_us != ready_us or row.state.terminal:
                    continue  # stale heap entry
                self._claim_one(row, now_us, lease_us, decide, max_attempts)
                self._push(row)
                out.append(row.entry())
        for entry in out:
            _log_outcome(entry)
        return out

    def _settle(self, row: _Row, state: OutboxState, ready_us: int | None,
                reason: str) -> None:
        if row.state is OutboxState.CLAIMED:
            self._unhold(row)
        row.state, row.ready_us, row.claim_token, row.last_error = (
            state, ready_us, None, reason)
        if ready_us is not None:
            row.due_us = ready_us

    def _claim_one(self, row: _Row, now_us: int, lease_us: int, decide: Decide | None,
                   max_attempts: int | None) -> None:
        message = row.message
        if max_attempts is not None and row.attempts >= max_attempts:
            self._settle(row, OutboxState.DEAD, None, _gave_up(row.attempts))
            return
        if row.state is OutboxState.CLAIMED:
            row.possible_duplicates += 1
            _log_reclaim(message.key)
            row.ready_us, row.claim_token = lease_us, _token()
            row.attempts += 1
            return
        if decide is not None:
            if message.dedupe_key is not None:
                holder = self._held.get((message.message_type, message.dedupe_key))
                if holder is not None and holder != message.key:
                    until = self._rows[holder].ready_us or now_us
                    self._settle(row, OutboxState.PENDING, _dedupe_wait(until, now_us), redact(
                        f"deferred: a {message.message_type} for {message.dedupe_key!r} is "
                        "in flight"))
                    return
            try:
                decision = decide(message, self)
            except Exception as exc:  # a poison message: dead-letter it, go on
                self._settle(row, OutboxState.DEAD, None, _decision_failed(exc))
                return
            if isinstance(decision, Skip):
                self._settle(row, OutboxState.SKIPPED, None,
                             redact(f"skipped: {decision.reason}"))
                return
            if isinstance(decision, Defer):
                until_us = max(datetime_to_us(decision.until), now_us + 1)
                self._settle(row, OutboxState.PENDING, until_us,
                             redact(f"deferred: {decision.reason}"))
                return
        row.state, row.ready_us, row.claim_token = OutboxState.CLAIMED, lease_us, _token()
        row.attempts += 1
        self._hold(row, now_us)

    def _claimed(self, entry: OutboxEntry) -> _Row | None:
        row = self._rows.get(entry.key)
        if row is None or row.state is not OutboxState.CLAIMED:
            return None
        if row.claim_token != entry.claim_token:
            return None
        return row

    def renew(self, entry: OutboxEntry, *, until: dt.datetime) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            row.ready_us = u_us
            self._push(row)
            return True

    def mark_sent(self, entry: OutboxEntry, *, at: dt.datetime,
                  provider_id: str | None) -> bool:
        us = datetime_to_us(require_aware(at, "at"))
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            self._unhold(row)
            row.state, row.ready_us, row.claim_token = OutboxState.SENT, None, None
            row.sent_us, row.provider_id, row.last_error = us, provider_id, None
            self._history.add(row.message, us)
            return True

    def mark_failed(self, entry: OutboxEntry, *, at: dt.datetime, reason: str,
                    retry_at: dt.datetime | None) -> bool:
        require_aware(at, "at")
        reason = _check_reason(reason)
        r_us = None if retry_at is None else datetime_to_us(require_aware(retry_at, "retry_at"))
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            if r_us is None:
                self._settle(row, OutboxState.DEAD, None, reason)
            else:
                self._settle(row, OutboxState.RETRY, r_us, reason)
                self._push(row)
            return True

    def release(self, entry: OutboxEntry, *, until: dt.datetime, reason: str) -> bool:
        u_us = datetime_to_us(require_aware(until, "until"))
        reason = _check_reason(reason)
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            self._settle(row, OutboxState.PENDING, u_us, f"deferred: {reason}")
            row.attempts -= 1
            self._push(row)
            return True

    def skip(self, entry: OutboxEntry, *, at: dt.datetime, reason: str) -> bool:
        require_aware(at, "at")
        reason = _check_reason(reason)
        with self._lock:
            row = self._claimed(entry)
            if row is None:
                return False
            self._settle(row, OutboxState.SKIPPED, None, f"skipped: {reason}")
            row.attempts -= 1
            return True

    def requeue(self, key: str, *, at: dt.datetime, reason: str) -> bool:
        """Bring a ``DEAD`` message back (an operator action); see :meth:`Outbox.requeue`.

        Raises:
            InvalidValueError: no message is stored under ``key``.
        """
        us = datetime_to_us(require_aware(at, "at"))
        reason = _check_reason(reason)
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                raise InvalidValueError("key", "is not in the outbox", redact(str(key)))
            if row.state is not OutboxState.DEAD:
                return False
            note = f"requeued: {reason} (was: {row.last_error})"
            self._settle(row, OutboxState.PENDING, us, note)
            row.attempts = 0
            row.requeues += 1
            self._push(row)
            self._log.append((key, us_to_datetime(us, _UTC), "requeue", reason))
        log.info("requeued %s: %s", redact(key), reason)
        return True

    def history(self, key: str) -> list[tuple[dt.datetime, str, str]]:
        """The operator actions recorded for ``key``: ``(at, action, reason)``, oldest first."""
        with self._lock:
            return [(at, action, reason) for k, at, action, reason in self._log if k == key]

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
        """Send times after ``since``, ascending; a claim in flight counts as sent at its
        claim time, or just after ``since`` if that is earlier (inside every window)."""
        with self._lock:
            sent = self._history.sent_times(customer_id, channel, message_class, since)
            keys = self._inflight.get((customer_id, channel, message_class))
            if not keys:
                return sent
            since_us = datetime_to_us(since)
            held = [us_to_datetime(max(self._rows[k].reserved_us or 0, since_us + 1), _UTC)
                    for k in keys]
            return sorted(sent + held)

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
        times.insert(bisect.bisect_right(times, us), us)
        if message.dedupe_key is not None:
            self._dedupe.add((message.message_type, message.dedupe_key))

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> list[dt.datetime]:
        times = self._times.get((customer_id, channel, message_class), [])
        i = bisect.bisect_right(times, datetime_to_us(since))
        return [us_to_datetime(us, _UTC) for us in times[i:]]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return (message_type, dedupe_key) in self._dedupe
