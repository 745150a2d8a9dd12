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

import datetime as dt
import enum
import logging
import os
from collections.abc import Callable, Iterable
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm._redact import redact
from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._context import SendHistory
from ecrm.touch._decision import Decision
from ecrm.touch._message import Message

__all__ = ["Decide", "Guard", "Outbox", "OutboxEntry", "OutboxState"]

log = logging.getLogger("ecrm.touch")
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


# -- what both outboxes share (ecrm.touch._outbox_sqlite, ecrm.touch._outbox_memory) -----
def check_claim(as_of: dt.datetime, lease: dt.timedelta, limit: int,
                 max_attempts: int | None) -> None:
    """Check the arguments of ``claim``.

    Raises:
        InvalidValueError: a naive ``as_of``, a lease that is not positive, a ``limit`` or
            ``max_attempts`` below 1.
    """
    require_aware(as_of, "as_of")
    if not isinstance(lease, dt.timedelta) or lease <= dt.timedelta(0):
        raise InvalidValueError("lease", "must be a positive timedelta", lease)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidValueError("limit", "must be an int >= 1", limit)
    if max_attempts is not None and (
        isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
    ):
        raise InvalidValueError("max_attempts", "must be an int >= 1 or None", max_attempts)


def due_of(message: Message, due_at: dt.datetime | None) -> dt.datetime:
    """When an enqueued ``message`` is due: ``due_at``, else its ``not_before`` or
    ``created_at``."""
    if not isinstance(message, Message):
        raise InvalidTypeError(f"can only enqueue a Message, got {type(message).__name__}")
    if due_at is not None:
        return require_aware(due_at, "due_at")
    return message.not_before or message.created_at


def check_reason(reason: object) -> str:
    """A reason as stored: a string, with personal data and credentials masked."""
    if not isinstance(reason, str):
        raise InvalidTypeError(f"reason must be a string, got {type(reason).__name__}")
    return redact(reason)


def log_reclaim(key: str) -> None:
    """Warn that the claim of ``key`` was taken again after its lease expired."""
    log.warning("reclaimed %s after its lease expired: the earlier attempt may have been sent",
                redact(key))


def log_outcome(entry: OutboxEntry) -> None:
    """Log what a claim decided for ``entry`` (skipped, dead-lettered or deferred)."""
    if entry.state is OutboxState.SKIPPED:
        log.info("%s %s", redact(entry.key), entry.last_error)
    elif entry.state is OutboxState.DEAD:
        log.warning("dead letter %s: %s", redact(entry.key), entry.last_error)
    elif entry.state is OutboxState.PENDING:
        log.debug("%s %s", redact(entry.key), entry.last_error)


def dedupe_wait(lease_us: int, now_us: int) -> int:
    """When to look again at a message whose dedupe key another claim holds (epoch us)."""
    # look again when the holder's lease ends, or in a second if sooner (a send is short)
    return max(min(lease_us, now_us + _DEDUPE_WAIT_US), now_us + 1)


def new_token() -> str:
    """A fresh fencing token for a claim."""
    return os.urandom(8).hex()


def gave_up(attempts: int) -> str:
    """The reason stored for a message dead-lettered after ``max_attempts`` claims."""
    return (f"gave up: {attempts} attempts made (max_attempts), the last one's outcome "
            "unknown")


def decision_failed(exc: BaseException) -> str:
    """The reason stored for a message whose send decision raised ``exc`` (masked)."""
    return redact(f"decision raised {type(exc).__name__}: {exc}")
