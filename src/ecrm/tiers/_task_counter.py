"""Counting task occurrences durably and posting their rewards to the points ledger.

Each occurrence of a task (one share, one check-in) is recorded once under its natural key
``(customer, task, occurrence)``; a retry of the same occurrence is a no-op. Occurrences are
counted in the order they are recorded; every ``times``-th counted one completes a reward,
unless a cap of its period is already full, in which case it is ``CAPPED`` and counts for
nothing. A completing occurrence posts ``points`` to the ledger under the key
``["task",<task>,<customer_id>,<occurrence>]`` — the same key as
:meth:`~ecrm.tiers.PointsLedger.earn_for_task`, so the ledger refuses to post it twice.

The points are posted inside the task store's transaction. When the task store is opened on
the ledger's SQLite file and connection (``SqliteLoyaltyStore(ledger_store)``), an
occurrence and its reward commit together; with two files, a process that dies between the
two commits leaves the reward posted and the occurrence unrecorded, and recording the
occurrence again finds the ledger key and posts nothing more — no reward is lost and none is
doubled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.tiers._points import LedgerEntry, PointsLedger, _check_customer, _check_ref, _key
from ecrm.tiers._tasks import TaskReward

__all__ = ["OccurrenceStatus", "TaskCounter", "TaskOccurrence", "TaskStore"]

CustomerId: TypeAlias = str | int


class OccurrenceStatus(enum.Enum):
    """What one recorded occurrence did."""

    COUNTED = "counted"
    """Counted toward the next reward."""
    REWARDED = "rewarded"
    """Completed a set of ``times``: the reward was posted."""
    CAPPED = "capped"
    """A cap of its period was full: neither counted nor rewarded."""


def _utc(value: object) -> dt.datetime:
    return require_aware(value, "at").astimezone(dt.UTC)


@attrs.frozen
class TaskOccurrence:
    """One recorded occurrence of a task.

    Attributes:
        customer_id: who did it.
        task: the task's name.
        occurrence: names this occurrence (a share id, a date), unique per customer and
            task.
        at: when (UTC).
        status: :class:`OccurrenceStatus`.
        points: points posted for it (0 unless ``REWARDED``).
    """

    customer_id: CustomerId = attrs.field(converter=_check_customer)
    task: str
    occurrence: str
    at: dt.datetime = attrs.field(converter=_utc)
    status: OccurrenceStatus = attrs.field(
        validator=_v.instance_of(OccurrenceStatus)
    )
    points: int = 0

    @property
    def ledger_key(self) -> str:
        """The key of its reward in the ledger: ``["task",<task>,<customer_id>,<occurrence>]``."""
        return _key("task", self.task, self.customer_id, self.occurrence)


@runtime_checkable
class TaskStore(Protocol):
    """Where occurrences live; a :meth:`transaction` serialises with other writers from its
    first read and its writes are all or nothing."""

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes are applied together or not at all."""
        ...

    def task_occurrence(
        self, customer_id: CustomerId, task: str, occurrence: str
    ) -> TaskOccurrence | None:
        """The stored occurrence, or ``None``."""
        ...

    def task_occurrences(self, customer_id: CustomerId, task: str) -> list[TaskOccurrence]:
        """The customer's occurrences of ``task`` in the order they were recorded."""
        ...

    def add_task_occurrence(self, occurrence: TaskOccurrence) -> None:
        """Store a new occurrence.

        Raises:
            LedgerConflictError: the occurrence is already stored.
        """
        ...


class TaskCounter:
    """Records task occurrences and posts the rewards they complete.

    Args:
        store: where occurrences live (:class:`~ecrm.tiers.InMemoryLoyaltyStore`,
            :class:`~ecrm.tiers.SqliteLoyaltyStore`, or your own :class:`TaskStore`).
        ledger: the points ledger; its rules name the tasks (:class:`TaskReward`).

    Raises:
        InvalidTypeError: an argument of the wrong type.
        InvalidValueError: ``store`` opens the ledger's SQLite file on a second connection
            (open it on the ledger: ``SqliteLoyaltyStore(ledger_store)``).
    """

    def __init__(self, store: TaskStore, ledger: PointsLedger) -> None:
        if not isinstance(store, TaskStore):
            raise InvalidTypeError(f"store must be a TaskStore, got {type(store).__name__}")
        if not isinstance(ledger, PointsLedger):
            raise InvalidTypeError(f"ledger must be a PointsLedger, got {type(ledger).__name__}")
        self.store: Final = store
        self.ledger: Final = ledger
        same_file = (
            getattr(store, "path", None) is not None
            and getattr(store, "path", None) == getattr(ledger.store, "path", 0)
        )
        shares = getattr(store, "shares_connection_with", None)
        if same_file and not (callable(shares) and shares(ledger.store)):
            # two connections to one file, one transaction inside the other: the inner one
            # would wait for the outer one's lock until its busy timeout
            raise InvalidValueError(
                "store", "opens the ledger's file a second time; open it on the ledger "
                "instead: SqliteLoyaltyStore(ledger_store)", getattr(store, "path", None),
            )

    def record(
        self, customer_id: CustomerId, task: str, occurrence: str, *, at: dt.datetime
    ) -> TaskOccurrence:
        """Record one occurrence of ``task``; post its reward when it completes one.

        Idempotent: recording the same ``occurrence`` again returns the stored one (and
        posts its reward if an earlier attempt stopped before posting it).

        Args:
            customer_id: who did it.
            task: a task of the ledger's rules.
            occurrence: names this occurrence (unique per customer and task).
            at: when (aware); not earlier than the customer's last occurrence of the task.

        Returns:
            The stored :class:`TaskOccurrence`.

        Raises:
            InvalidValueError: an unknown task, an empty occurrence, ``at`` out of order.
            StoreError / LedgerStoreError: a store is busy or unusable.
        """
        customer_id = _check_customer(customer_id)
        _check_ref(occurrence, "occurrence")
        reward = self.ledger.rules.task(task)
        when = _utc(at)
        with self.store.transaction():
            stored = self.store.task_occurrence(customer_id, task, occurrence)
            if stored is None:
                history = self.store.task_occurrences(customer_id, task)
                if history and when < history[-1].at:
                    raise InvalidValueError(
                        "at", f"must not be earlier than customer {customer_id!r}'s last "
                        f"{task!r} occurrence ({history[-1].at.isoformat()})", when,
                    )
                stored = self._decide(reward, customer_id, occurrence, when, history)
                self.store.add_task_occurrence(stored)
            # Posted inside the store's transaction: the next occurrence of the customer
            # waits for it, so rewards reach the ledger in order; when posting fails, the
            # occurrence is not kept either (one transaction when the store shares the
            # ledger's connection; with two files a retry re-posts by the ledger key).
            if stored.status is OccurrenceStatus.REWARDED:
                self.ledger.earn_for_task(customer_id, task, occurrence, at=stored.at)
        return stored

    def _decide(
        self,
        reward: TaskReward,
        customer_id: CustomerId,
        occurrence: str,
        at: dt.datetime,
        history: list[TaskOccurrence],
    ) -> TaskOccurrence:
        tz = self.ledger.rules.tz
        for cap in reward.caps:
            period = cap.per.period(at, tz)
            rewarded = sum(
                1 for o in history if o.status is OccurrenceStatus.REWARDED and o.at in period
            )
            if rewarded >= cap.max_rewards:
                return TaskOccurrence(customer_id, reward.task, occurrence, at,
                                      OccurrenceStatus.CAPPED)
        counted = sum(1 for o in history if o.status is not OccurrenceStatus.CAPPED)
        if (counted + 1) % reward.times:
            return TaskOccurrence(customer_id, reward.task, occurrence, at,
                                  OccurrenceStatus.COUNTED)
        return TaskOccurrence(customer_id, reward.task, occurrence, at,
                              OccurrenceStatus.REWARDED, reward.points)

    def progress(self, customer_id: CustomerId, task: str) -> tuple[int, int]:
        """``(counted toward the next reward, times needed)`` for the customer's task."""
        reward = self.ledger.rules.task(task)
        history = self.store.task_occurrences(_check_customer(customer_id), task)
        counted = sum(1 for o in history if o.status is not OccurrenceStatus.CAPPED)
        return counted % reward.times, reward.times

    def occurrences(self, customer_id: CustomerId, task: str) -> tuple[TaskOccurrence, ...]:
        """The customer's recorded occurrences of ``task``, in order."""
        return tuple(self.store.task_occurrences(_check_customer(customer_id), task))

    def reward_entry(self, occurrence: TaskOccurrence) -> LedgerEntry | None:
        """The ledger entry a rewarded occurrence posted (``None`` for the others)."""
        return self.ledger.store.get(occurrence.ledger_key)
