"""Membership history (join, leave, re-join) and gift-pack claims, kept in a store.

The domain stays pure: :func:`~ecrm.tiers.claim_gift_pack` decides, a :class:`MemberStore`
remembers. Two stores implement the protocol: :class:`InMemoryMemberStore` (a lock) and
:class:`SqliteMemberStore` (a file on ecrm's one SQLite seam, ``BEGIN IMMEDIATE``
transactions and a UNIQUE claim per customer, so two processes claiming at once give
exactly one claim). :func:`claim_stored_gift_pack` reads the customer's history and claim,
decides and records the claim in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Final, Protocol, runtime_checkable

import attrs

from ecrm._deprecate import renamed_kwarg
from ecrm._sqlite import SqliteBacked, SqliteStore, Synchronous
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.tiers._giftpack import Claimed, ClaimResult, GiftPack, claim_gift_pack
from ecrm.tiers._membership import MembershipError

__all__ = [
    "InMemoryMemberStore",
    "MemberEventKind",
    "MemberHistory",
    "MemberStore",
    "SqliteMemberStore",
    "claim_stored_gift_pack",
]

CustomerId = str | int


class MemberEventKind(enum.Enum):
    """A stored membership event: joining (领卡 / 入会) or leaving (退会)."""

    JOIN = "join"
    LEAVE = "leave"


def _check_customer(customer_id: object) -> CustomerId:
    if isinstance(customer_id, bool) or not isinstance(customer_id, str | int):
        raise InvalidTypeError(
            f"customer_id must be a str or an int, got {type(customer_id).__name__}"
        )
    if isinstance(customer_id, str) and not customer_id.strip():
        raise InvalidValueError("customer_id", "must not be empty", customer_id)
    return customer_id


@attrs.frozen
class MemberHistory:
    """One customer's stored joins and leaves, oldest first, and their gift-pack claim.

    Attributes:
        customer_id: the customer.
        events: ``(kind, at)`` pairs, oldest first (aware UTC datetimes).
        claimed_at: when the new-member gift pack was claimed, or ``None``.
    """

    customer_id: CustomerId
    events: tuple[tuple[MemberEventKind, dt.datetime], ...] = ()
    claimed_at: dt.datetime | None = None

    @property
    def joined_at(self) -> dt.datetime | None:
        """The start of the current membership period, ``None`` when not a member now."""
        if self.events and self.events[-1][0] is MemberEventKind.JOIN:
            return self.events[-1][1]
        return None

    @property
    def first_joined_at(self) -> dt.datetime | None:
        """The first registration (the gift pack's window counts from it), or ``None``."""
        return next((at for kind, at in self.events if kind is MemberEventKind.JOIN), None)

    def periods(self) -> list[tuple[dt.datetime, dt.datetime | None]]:
        """Every membership period as ``(joined_at, left_at or None)``, oldest first."""
        out: list[tuple[dt.datetime, dt.datetime | None]] = []
        for kind, at in self.events:
            if kind is MemberEventKind.JOIN:
                out.append((at, None))
            else:
                out[-1] = (out[-1][0], at)
        return out

    def after(self, kind: MemberEventKind, at: dt.datetime) -> MemberHistory:
        """This history with one more event; refuses an impossible one.

        Raises:
            MembershipError: a join while a member, a leave while not one, or ``at``
                earlier than the last event.
        """
        when = require_aware(at, "at").astimezone(dt.UTC)
        if self.events and when < self.events[-1][1]:
            raise MembershipError(
                "at", f"must not be earlier than the last event ({self.events[-1][1]})", when
            )
        member = self.joined_at is not None
        if kind is MemberEventKind.JOIN and member:
            raise MembershipError("customer", "is already a member", self.customer_id)
        if kind is MemberEventKind.LEAVE and not member:
            raise MembershipError("customer", "is not a member, so cannot leave",
                                  self.customer_id)
        return attrs.evolve(self, events=(*self.events, (kind, when)))


@runtime_checkable
class MemberStore(Protocol):
    """Where membership events and gift-pack claims are kept."""

    def history(self, customer_id: CustomerId) -> MemberHistory:
        """The customer's stored history (empty when unknown)."""
        ...

    def record(self, customer_id: CustomerId, kind: MemberEventKind, at: dt.datetime) -> None:
        """Append a join or leave (refused by :meth:`MemberHistory.after` rules)."""
        ...

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        """A block in which reads and writes are one atomic step (nested blocks join)."""
        ...

    def record_claim(self, customer_id: CustomerId, at: dt.datetime) -> bool:
        """Record the customer's claim; ``False`` (and nothing changed) when already there."""
        ...


class InMemoryMemberStore:
    """A :class:`MemberStore` in memory, safe across threads (one re-entrant lock)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._histories: dict[CustomerId, MemberHistory] = {}

    def history(self, customer_id: CustomerId) -> MemberHistory:
        """The customer's history (empty when unknown)."""
        cid = _check_customer(customer_id)
        with self._lock:
            return self._histories.get(cid, MemberHistory(cid))

    def record(self, customer_id: CustomerId, kind: MemberEventKind, at: dt.datetime) -> None:
        """Append a join or leave.

        Raises:
            MembershipError: the event is impossible after the stored ones.
        """
        with self._lock:
            self._histories[customer_id] = self.history(customer_id).after(kind, at)

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """Hold the store's lock for the block."""
        with self._lock:
            yield

    def record_claim(self, customer_id: CustomerId, at: dt.datetime) -> bool:
        """Record a claim once per customer; ``False`` when one is there."""
        when = require_aware(at, "at").astimezone(dt.UTC)
        with self._lock:
            current = self.history(customer_id)
            if current.claimed_at is not None:
                return False
            self._histories[current.customer_id] = attrs.evolve(current, claimed_at=when)
            return True


_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS member_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at_us INTEGER NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS member_events_customer
        ON member_events (customer, customer_is_int, seq)""",
    """CREATE TABLE IF NOT EXISTS gift_pack_claims (
        customer TEXT NOT NULL,
        customer_is_int INTEGER NOT NULL,
        claimed_at_us INTEGER NOT NULL,
        PRIMARY KEY (customer, customer_is_int)
    )""",
)


class SqliteMemberStore(SqliteBacked):
    """A :class:`MemberStore` in a SQLite file; safe for several processes at once.

    Args:
        path: the database file (created with its tables when missing).
        busy_timeout: seconds a writer waits for another process's transaction (> 0).
        synchronous: SQLite's ``synchronous`` setting (``"FULL"`` default, or ``"NORMAL"``).

    Raises:
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
        StoreError: the file cannot be opened or is not a SQLite database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
    ) -> None:
        self._db = SqliteStore(path, what="member store", schema=_SCHEMA,
                               busy_timeout=busy_timeout, synchronous=synchronous)

    def history(self, customer_id: CustomerId) -> MemberHistory:
        """The customer's stored history (empty when unknown)."""
        cid = _check_customer(customer_id)
        key = (str(cid), int(isinstance(cid, int)))
        rows = self._db.read(
            "SELECT kind, at_us FROM member_events WHERE customer = ? AND customer_is_int = ? "
            "ORDER BY seq", key)
        claim = self._db.read(
            "SELECT claimed_at_us FROM gift_pack_claims WHERE customer = ? "
            "AND customer_is_int = ?", key)
        return MemberHistory(
            cid,
            tuple((MemberEventKind(kind), us_to_datetime(at_us, dt.UTC)) for kind, at_us in rows),
            us_to_datetime(claim[0][0], dt.UTC) if claim else None,
        )

    def record(self, customer_id: CustomerId, kind: MemberEventKind, at: dt.datetime) -> None:
        """Append a join or leave in one transaction.

        Raises:
            MembershipError: the event is impossible after the stored ones (nothing written).
            StoreError: the file is busy past ``busy_timeout`` or unusable.
        """
        with self._db.transaction() as conn:
            after = self.history(customer_id).after(kind, at)
            cid = after.customer_id
            conn.execute(
                "INSERT INTO member_events (customer, customer_is_int, kind, at_us) "
                "VALUES (?, ?, ?, ?)",
                (str(cid), int(isinstance(cid, int)), kind.value,
                 datetime_to_us(after.events[-1][1])),
            )

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction for the block (the write lock from the start)."""
        with self._db.transaction():
            yield

    def record_claim(self, customer_id: CustomerId, at: dt.datetime) -> bool:
        """Record a claim once per customer (a UNIQUE key); ``False`` when one is there."""
        cid = _check_customer(customer_id)
        when = datetime_to_us(require_aware(at, "at"))
        with self._db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO gift_pack_claims (customer, customer_is_int, claimed_at_us) "
                    "VALUES (?, ?, ?)", (str(cid), int(isinstance(cid, int)), when))
            except sqlite3.IntegrityError:
                return False
        return True

@renamed_kwarg("at", "as_of")
def claim_stored_gift_pack(
    pack: GiftPack, store: MemberStore, customer_id: CustomerId, *, as_of: dt.datetime
) -> ClaimResult:
    """Claim ``pack`` for a customer whose history is in ``store``, and record the claim.

    Reads the stored history and any earlier claim, decides with
    :func:`~ecrm.tiers.claim_gift_pack` (the window counts from the first registration)
    and records a successful claim, all in one atomic step of the store: however many
    processes claim at once, one claim is recorded and the others are refused
    ``ALREADY_CLAIMED``.

    Args:
        pack: the gift pack.
        store: the member store.
        customer_id: the customer.
        as_of: the claim instant (aware), as for :func:`~ecrm.tiers.claim_gift_pack`;
            ``at=`` is the deprecated alias.

    Returns:
        :class:`~ecrm.tiers.Claimed` or :class:`~ecrm.tiers.Refused`.

    Raises:
        InvalidTypeError / InvalidValueError: bad arguments.
        StoreError: the store is busy past its timeout or unusable (nothing recorded).
    """
    if not isinstance(store, MemberStore):
        raise InvalidTypeError(f"store must be a MemberStore, got {type(store).__name__}")
    with store.atomically():
        history = store.history(customer_id)
        member = history if history.events else None
        result = claim_gift_pack(pack, member=member, as_of=as_of,
                                 already_claimed=history.claimed_at is not None)
        if isinstance(result, Claimed) and not store.record_claim(customer_id, as_of):
            # Unreachable inside one atomic step; kept as the UNIQUE key's second guard.
            return claim_gift_pack(pack, member=member, as_of=as_of, already_claimed=True)
        return result
