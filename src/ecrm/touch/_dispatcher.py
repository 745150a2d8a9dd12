"""The dispatcher: claims due messages from an outbox, sends them, records the outcomes.

Any number of dispatchers (threads or processes) may share one outbox. Each claim decides
its messages inside the outbox's write transaction (see :mod:`ecrm.touch._outbox`), so
frequency caps and dedupe hold exactly across dispatchers. While a send is in flight a
heartbeat thread renews the lease of every message the dispatcher holds, so a slow
gateway does not let another dispatcher send the same message again; only a dispatcher
that dies or freezes past its lease loses a claim, and then the outbox counts the
possible duplicate.

Poison never stops the line: an exception from the guard, the policy, the channel or the
decoding of a stored row dead-letters that one message with a masked reason, and the
dispatcher carries on with the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Final

import attrs

from ecrm import _validators as _v
from ecrm._redact import redact
from ecrm._sqlite import StoreError
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._channel import Accepted, Channel, safe_send
from ecrm.touch._clock import Clock, SystemClock
from ecrm.touch._context import _NO_HISTORY, PolicyContext, SendHistory
from ecrm.touch._decision import Decision, RuleCheck, Send, Skip
from ecrm.touch._message import Message
from ecrm.touch._outbox import Decide, Guard, Outbox, OutboxEntry, OutboxState
from ecrm.touch._policy import SendPolicy

__all__ = ["Backoff", "DispatchReport", "Dispatcher"]

log = logging.getLogger("ecrm.touch")
_SEND: Final = Send((RuleCheck("policy", True, "no policy: every message goes out"),))


@attrs.frozen
class Backoff:
    """Exponential retry delays: ``base × factor^(attempt − 1)``, at most ``max_delay``.

    >>> b = Backoff(base=dt.timedelta(seconds=30), factor=2, max_delay=dt.timedelta(minutes=5))
    >>> [int(b.delay(n).total_seconds()) for n in (1, 2, 3, 4, 5)]
    [30, 60, 120, 240, 300]
    """

    base: dt.timedelta = attrs.field(default=dt.timedelta(seconds=30))
    factor: int = attrs.field(default=2, validator=[_v.instance_of(int),
                                                    _v.ge(1)])
    max_delay: dt.timedelta = attrs.field(default=dt.timedelta(hours=1))

    def __attrs_post_init__(self) -> None:
        for name in ("base", "max_delay"):
            v = getattr(self, name)
            if not isinstance(v, dt.timedelta) or v <= dt.timedelta(0):
                raise InvalidValueError(name, "must be a positive timedelta", v)

    def delay(self, attempt: int) -> dt.timedelta:
        """The wait after failed attempt number ``attempt`` (1-based).

        Raises:
            InvalidValueError: ``attempt`` < 1.
        """
        if attempt < 1:
            raise InvalidValueError("attempt", "must be >= 1", attempt)
        # compare in whole steps first so huge attempt numbers do not overflow timedelta
        if self.factor > 1 and attempt > 64:
            return self.max_delay
        delay: dt.timedelta = self.base * self.factor ** (attempt - 1)
        return min(delay, self.max_delay)


@attrs.frozen
class DispatchReport:
    """What one dispatch run did (counts of messages).

    ``claimed`` counts every message taken from the queue, whatever was decided;
    ``lost_claims`` counts outcomes not recorded because another dispatcher took the
    message over after this one's lease ran out.
    """

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
_OUTCOME: Final = {OutboxState.SKIPPED: "skipped", OutboxState.PENDING: "deferred",
                   OutboxState.DEAD: "dead"}


def _why(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")


class _Heartbeat:
    """Renews the leases of the claims a dispatcher holds while it works on them."""

    def __init__(self, outbox: Outbox, clock: Clock, lease: dt.timedelta,
                 every: dt.timedelta) -> None:
        self._outbox, self._clock, self._lease = outbox, clock, lease
        self._every = every.total_seconds()
        self._held: dict[str, OutboxEntry] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: set[str] = set()

    def hold(self, entry: OutboxEntry) -> None:
        with self._lock:
            self._held[entry.key] = entry
        if self._thread is None:  # started on the first claim: an idle tick costs nothing
            self._thread = threading.Thread(target=self._beat, name="ecrm-lease-heartbeat",
                                            daemon=True)
            self._thread.start()

    def drop(self, entry: OutboxEntry) -> None:
        with self._lock:
            self._held.pop(entry.key, None)

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                held = list(self._held.values())
            for entry in held:
                try:
                    ok = self._outbox.renew(entry, until=self._clock.now() + self._lease)
                except Exception as exc:  # a busy store: try again on the next beat
                    log.warning("could not renew the lease of %s: %s", redact(entry.key),
                                _why(exc))
                    continue
                if not ok:
                    log.warning("lost the lease of %s while working on it: another "
                                "dispatcher may send it again (a counted duplicate)",
                                redact(entry.key))
                    self.lost.add(entry.key)
                    self.drop(entry)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Dispatcher:
    """Claims due messages from an outbox, sends them and records the outcomes.

    Args:
        outbox: where messages wait.
        channel: the adapter they go out through.
        clock: the time source (default the system clock).
        policy: if given, each message is decided when it is claimed, inside the claim's
            transaction (a Skip becomes ``SKIPPED``, a Defer puts it back until the
            allowed moment).
        guard: if given, ``guard(message, now)`` is asked first for each message (inside
            the claim's transaction: keep it fast); a reason (a string) marks it
            ``SKIPPED`` with that reason, and it never reaches the policy or the channel.
            See :func:`~ecrm.touch.flows.order_guard`.
        context: the policy context, or a callable building a fresh one per run. Leave
            its ``history`` empty: the outbox's own view (sent messages plus claims in
            flight) is then used, which keeps caps and dedupe exact with several
            dispatchers. A history given here is used as is.
        max_attempts: transient failures retry until this many attempts, then go dead;
            a message is never claimed more often than this.
        backoff: the retry delays.
        lease: how long a claim lasts without a heartbeat.
        heartbeat: how often the leases of the claims in hand are renewed (default a
            third of ``lease``); must be shorter than ``lease``.
        batch_size: messages claimed per transaction. 1 keeps "in flight" to one message
            per dispatcher, which bounds crash duplicates to one per crash.

    Raises:
        InvalidValueError: a setting out of range.
        InvalidTypeError: ``policy`` is not a SendPolicy or ``guard`` is not callable.
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
        heartbeat: dt.timedelta | None = None,
        batch_size: int = 1,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidValueError("max_attempts", "must be an int >= 1", max_attempts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidValueError("batch_size", "must be an int >= 1", batch_size)
        if not isinstance(lease, dt.timedelta) or lease <= dt.timedelta(0):
            raise InvalidValueError("lease", "must be a positive timedelta", lease)
        every = lease / 3 if heartbeat is None else heartbeat
        if not isinstance(every, dt.timedelta) or not dt.timedelta(0) < every < lease:
            raise InvalidValueError("heartbeat", "must be a positive timedelta shorter than "
                                    f"the lease {lease}", heartbeat)
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
        self.heartbeat = every
        self.batch_size = batch_size

    def _policy_context(self) -> PolicyContext:
        ctx = self._context() if callable(self._context) else self._context
        return ctx or PolicyContext()

    def _decider(self, now: dt.datetime, context: PolicyContext | None) -> Decide | None:
        """The decision the outbox makes inside the claim: guard, then policy."""
        guard, policy = self.guard, self.policy
        if guard is None and policy is None:
            return None
        contexts: dict[int, PolicyContext] = {}

        def decide(message: Message, history: SendHistory) -> Decision:
            if guard is not None:
                reason = guard(message, now)
                if reason is not None:
                    return Skip(reason, (RuleCheck("guard", False, reason),))
            if policy is None or context is None:
                return _SEND
            ctx = context
            if context.history is _NO_HISTORY:
                ctx = contexts.get(id(history)) or contexts.setdefault(
                    id(history), attrs.evolve(context, history=history))
            return policy.decide(message, as_of=now, context=ctx)

        return decide

    def dispatch(self, entry: OutboxEntry) -> str:
        """Handle one entry returned by :meth:`Outbox.claim`: send it if it is
        ``CLAIMED`` and record the outcome.

        Returns:
            the outcome name: ``"sent"``, ``"retried"``, ``"dead"``, ``"deferred"``,
            ``"skipped"``, or ``"lost_claim"`` (the lease was lost; another dispatcher
            has the message now).
        """
        if entry.state is not OutboxState.CLAIMED:
            return _OUTCOME.get(entry.state, "lost_claim")  # decided in the claim
        message = entry.message
        receipt = safe_send(self.channel, message)
        at = self.clock.now()
        if isinstance(receipt, Accepted):
            ok = self.outbox.mark_sent(entry, at=at, provider_id=receipt.provider_id)
            if not ok:
                log.warning("sent %s but lost its claim meanwhile: not recorded twice, counted"
                            " as a possible duplicate", redact(message.key))
                return "lost_claim"
            log.debug("sent %s to %s", redact(message.key), message.masked_address)
            return "sent"
        reason = redact(receipt.reason)
        if receipt.transient and entry.attempts < self.max_attempts:
            retry_at = at + self.backoff.delay(entry.attempts)
            ok = self.outbox.mark_failed(entry, at=at, reason=reason, retry_at=retry_at)
            log.info("retry %s at %s: %s", redact(message.key), retry_at.isoformat(), reason)
            return "retried" if ok else "lost_claim"
        ok = self.outbox.mark_failed(entry, at=at, reason=reason, retry_at=None)
        log.warning("dead letter %s to %s: %s", redact(message.key), message.masked_address,
                    reason)
        return "dead" if ok else "lost_claim"

    def _poison(self, entry: OutboxEntry, exc: Exception) -> str:
        """Dead-letter ``entry`` after an exception while handling it."""
        reason = f"dispatch raised {_why(exc)}"
        if isinstance(exc, StoreError):
            # the store itself failed: the claim stays; its lease runs out and it is
            # claimed again (counted), rather than a possibly sent message marked dead
            log.error("could not record the outcome of %s: %s", redact(entry.key), reason)
            return "lost_claim"
        try:
            ok = self.outbox.mark_failed(entry, at=self.clock.now(), reason=reason,
                                         retry_at=None)
        except Exception as again:
            log.error("could not dead-letter %s: %s", redact(entry.key), _why(again))
            return "lost_claim"
        log.warning("dead letter %s: %s", redact(entry.key), reason)
        return "dead" if ok else "lost_claim"

    def run_once(self, *, max_messages: int | None = None) -> DispatchReport:
        """Dispatch every message due now (claims until none is due or ``max_messages``).

        Raises:
            OutboxError: the outbox itself cannot be used (busy past its timeout, a full
                disk); one message's trouble never raises.
        """
        counts = dict.fromkeys(("sent", "retried", "dead", "deferred", "skipped",
                                "lost_claim"), 0)
        claimed = 0
        context = self._policy_context() if self.policy is not None else None
        beat = _Heartbeat(self.outbox, self.clock, self.lease, self.heartbeat)
        try:
            while max_messages is None or claimed < max_messages:
                limit = self.batch_size if max_messages is None else min(
                    self.batch_size, max_messages - claimed)
                now = self.clock.now()
                entries = self.outbox.claim(as_of=now, lease=self.lease, limit=limit,
                                            decide=self._decider(now, context),
                                            max_attempts=self.max_attempts)
                if not entries:
                    break
                claimed += len(entries)
                for entry in entries:
                    if entry.state is OutboxState.CLAIMED:
                        beat.hold(entry)
                for entry in entries:
                    try:
                        outcome = self.dispatch(entry)
                    except Exception as exc:  # poison: this message only
                        outcome = self._poison(entry, exc)
                    finally:
                        beat.drop(entry)
                    counts[outcome] += 1
        finally:
            beat.stop()
        return DispatchReport(claimed, counts["sent"], counts["retried"], counts["dead"],
                              counts["deferred"], counts["skipped"], counts["lost_claim"])

    def run(self, *, should_stop: Callable[[], bool], idle_sleep: float = 1.0,
            sleep: Callable[[float], None] = time.sleep) -> DispatchReport:
        """Dispatch until ``should_stop()`` is true, sleeping ``idle_sleep`` s when idle.

        A run that fails (the outbox busy past its timeout, say) is logged with a masked
        reason and the loop goes on after ``idle_sleep``.
        """
        total = DispatchReport()
        while not should_stop():
            try:
                report = self.run_once()
            except Exception as exc:
                log.error("dispatch run failed, trying again: %s", _why(exc))
                sleep(idle_sleep)
                continue
            total = total + report
            if report.claimed == 0:
                sleep(idle_sleep)
        return total

    def __repr__(self) -> str:
        return f"Dispatcher({self.outbox!r}, {self.channel!r})"

