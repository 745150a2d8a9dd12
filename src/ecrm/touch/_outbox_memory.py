"""The outbox in memory: :class:`InMemoryOutbox`, the state machine of :class:`SqliteOutbox`
without a file (tests, dry runs, backtests)."""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import threading
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from ecrm._deprecate import renamed_kwarg
from ecrm._redact import redact
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidValueError
from ecrm.touch._decision import Defer, Skip
from ecrm.touch._message import ChannelKind, Message, MessageClass
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

__all__ = ["InMemoryOutbox"]

_UTC: Final = dt.UTC


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
        due_us = datetime_to_us(due_of(message, due_at))
        with self._lock:
            if message.key in self._rows:
                return False
            row = _Row(message, OutboxState.PENDING, due_us, due_us)
            self._rows[message.key] = row
            self._push(row)
            return True

    def enqueue_many(self, messages: Iterable[Message], *,
                     due_at: dt.datetime | None = None) -> int:
        batch = [(m, due_of(m, due_at)) for m in messages]
        return sum(self.enqueue(m, due_at=d) for m, d in batch)

    @renamed_kwarg("now", "as_of")
    def claim(self, *, as_of: dt.datetime, lease: dt.timedelta, limit: int = 1,
              decide: Decide | None = None,
              max_attempts: int | None = None) -> list[OutboxEntry]:
        check_claim(as_of, lease, limit, max_attempts)
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
            log_outcome(entry)
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
            self._settle(row, OutboxState.DEAD, None, gave_up(row.attempts))
            return
        if row.state is OutboxState.CLAIMED:
            row.possible_duplicates += 1
            log_reclaim(message.key)
            row.ready_us, row.claim_token = lease_us, new_token()
            row.attempts += 1
            return
        if decide is not None:
            if message.dedupe_key is not None:
                holder = self._held.get((message.message_type, message.dedupe_key))
                if holder is not None and holder != message.key:
                    until = self._rows[holder].ready_us or now_us
                    self._settle(row, OutboxState.PENDING, dedupe_wait(until, now_us), redact(
                        f"deferred: a {message.message_type} for {message.dedupe_key!r} is "
                        "in flight"))
                    return
            try:
                decision = decide(message, self)
            except Exception as exc:  # a poison message: dead-letter it, go on
                self._settle(row, OutboxState.DEAD, None, decision_failed(exc))
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
        row.state, row.ready_us, row.claim_token = OutboxState.CLAIMED, lease_us, new_token()
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
        reason = check_reason(reason)
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
        reason = check_reason(reason)
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
        reason = check_reason(reason)
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
        reason = check_reason(reason)
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
