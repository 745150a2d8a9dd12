"""Ticket stores: in memory, and a SQLite file shared safely by several processes.

Both follow one optimistic rule: :meth:`save` writes a ticket only when the stored version
is still the one it was read at, and bumps the version; otherwise it raises
:class:`TicketConflictError` and keeps nothing. Two processes changing one ticket therefore
never lose an update: the second one is told, rereads and redoes its change
(:meth:`update` does that loop). The history is append-only: a save that would drop or
rewrite past history entries is refused.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Final, Protocol

import attrs

from ecrm._sqlite import SqliteBacked, SqliteStore, Synchronous
from ecrm.errors import InvalidValueError, TicketConflictError, UnknownTicketError
from ecrm.service._codec import ticket_from_dict, ticket_to_dict
from ecrm.service._ticket import Ticket

__all__ = ["MemoryTicketStore", "SqliteTicketStore", "TicketStore"]

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS tickets (
        ticket_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        customer_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS tickets_customer ON tickets (customer_id)",
)


class TicketStore(Protocol):
    """What a ticket store offers (both stores here follow it)."""

    def add(self, ticket: Ticket) -> Ticket: ...

    def get(self, ticket_id: str) -> Ticket: ...

    def save(self, ticket: Ticket) -> Ticket: ...

    def tickets(self) -> list[Ticket]: ...


def _check_append_only(stored: Ticket, new: Ticket) -> None:
    n = len(stored.history)
    if new.history[:n] != stored.history:
        raise InvalidValueError(f"ticket {new.ticket_id!r}: history",
                                "is append-only: the stored entries must be kept as they are",
                                show_value=False)


class _Update:
    """The read-change-save loop both stores share."""

    def get(self, ticket_id: str) -> Ticket:
        raise NotImplementedError

    def save(self, ticket: Ticket) -> Ticket:
        raise NotImplementedError

    def update(self, ticket_id: str, change: Callable[[Ticket], Ticket], *,
               attempts: int = 20) -> Ticket:
        """Read a ticket, apply ``change``, save; on a conflict reread and try again.

        Args:
            ticket_id: the ticket.
            change: a pure function from the ticket to its changed value (called again
                on each retry, with the fresh ticket).
            attempts: how many conflicts to ride out before giving up (>= 1).

        Returns:
            The saved ticket.

        Raises:
            TicketConflictError: still conflicting after ``attempts`` tries.
            UnknownTicketError: no such ticket.
        """
        if attempts < 1:
            raise InvalidValueError("attempts", "must be >= 1", attempts)
        for left in range(attempts - 1, -1, -1):
            try:
                return self.save(change(self.get(ticket_id)))
            except TicketConflictError:
                if not left:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class MemoryTicketStore(_Update):
    """Tickets in a dict (for tests and single-process tools); thread-safe."""

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tickets)

    def __iter__(self) -> Iterator[Ticket]:
        return iter(self.tickets())

    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket at version 1.

        Raises:
            InvalidValueError: a ticket with this id is already stored.
        """
        with self._lock:
            if ticket.ticket_id in self._tickets:
                raise InvalidValueError("ticket_id", "is already in the store", ticket.ticket_id)
            stored = attrs.evolve(ticket, version=1)
            self._tickets[ticket.ticket_id] = stored
            return stored

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket.

        Raises:
            UnknownTicketError: no such ticket.
        """
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise UnknownTicketError(f"no ticket {ticket_id!r} in the store") from None

    def save(self, ticket: Ticket) -> Ticket:
        """Store a changed ticket read at ``ticket.version``; returns it at the new version.

        Raises:
            TicketConflictError: someone saved it since it was read (nothing kept).
            InvalidValueError: the change rewrote past history.
            UnknownTicketError: no such ticket.
        """
        with self._lock:
            stored = self.get(ticket.ticket_id)
            if stored.version != ticket.version:
                raise TicketConflictError(ticket.ticket_id, ticket.version, stored.version)
            _check_append_only(stored, ticket)
            saved = attrs.evolve(ticket, version=ticket.version + 1)
            self._tickets[ticket.ticket_id] = saved
            return saved

    def tickets(self) -> list[Ticket]:
        """Every ticket, by id."""
        return [self._tickets[k] for k in sorted(self._tickets)]


class SqliteTicketStore(_Update, SqliteBacked):
    """Tickets in a SQLite file, safe for several processes (on :class:`ecrm._sqlite.SqliteStore`).

    Args:
        path: the database file (created when missing).
        busy_timeout: seconds to wait for another process's write lock.
        synchronous: ``"FULL"`` (default) or ``"NORMAL"``.

    Raises:
        StoreError: the file cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0,
                 synchronous: Synchronous = "FULL") -> None:
        self._db = SqliteStore(path, what="ticket store", schema=_SCHEMA,
                               busy_timeout=busy_timeout, synchronous=synchronous)

    def __len__(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM tickets")[0][0])

    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket at version 1.

        Raises:
            InvalidValueError: a ticket with this id is already stored.
            StoreError: the write failed (nothing kept).
        """
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tickets WHERE ticket_id = ?",
                            (ticket.ticket_id,)).fetchone():
                raise InvalidValueError("ticket_id", "is already in the store", ticket.ticket_id)
            conn.execute("INSERT INTO tickets VALUES (?, 1, ?, ?, ?, ?, ?)", _row(ticket))
        return attrs.evolve(ticket, version=1)

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket.

        Raises:
            UnknownTicketError: no such ticket.
        """
        rows = self._db.read("SELECT version, body FROM tickets WHERE ticket_id = ?",
                             (ticket_id,))
        if not rows:
            raise UnknownTicketError(f"no ticket {ticket_id!r} in {self.path!r}")
        return ticket_from_dict(json.loads(rows[0][1]), int(rows[0][0]))

    def save(self, ticket: Ticket) -> Ticket:
        """Store a changed ticket read at ``ticket.version``; returns it at the new version.

        The version check and the write happen in one ``BEGIN IMMEDIATE`` transaction, so
        of two processes saving the same version exactly one wins.

        Raises:
            TicketConflictError: someone saved it since it was read (nothing kept).
            InvalidValueError: the change rewrote past history.
            UnknownTicketError: no such ticket.
            StoreError: the write failed (nothing kept).
        """
        with self._db.transaction() as conn:
            found = conn.execute("SELECT version, body FROM tickets WHERE ticket_id = ?",
                                 (ticket.ticket_id,)).fetchone()
            if found is None:
                raise UnknownTicketError(f"no ticket {ticket.ticket_id!r} in {self.path!r}")
            if int(found[0]) != ticket.version:
                raise TicketConflictError(ticket.ticket_id, ticket.version, int(found[0]))
            _check_append_only(ticket_from_dict(json.loads(found[1]), int(found[0])), ticket)
            _, customer, kind, state, created, body = _row(ticket)
            conn.execute(
                "UPDATE tickets SET version = version + 1, customer_id = ?, kind = ?, "
                "state = ?, created_at = ?, body = ? WHERE ticket_id = ? AND version = ?",
                (customer, kind, state, created, body, ticket.ticket_id, ticket.version))
        return attrs.evolve(ticket, version=ticket.version + 1)

    def tickets(self) -> list[Ticket]:
        """Every ticket, by id."""
        rows = self._db.read("SELECT version, body FROM tickets ORDER BY ticket_id")
        return [ticket_from_dict(json.loads(body), int(v)) for v, body in rows]

    def tickets_of(self, customer_id: str) -> list[Ticket]:
        """The tickets of one customer, by id."""
        rows = self._db.read("SELECT version, body FROM tickets WHERE customer_id = ? "
                             "ORDER BY ticket_id", (customer_id,))
        return [ticket_from_dict(json.loads(body), int(v)) for v, body in rows]


def _row(ticket: Ticket) -> tuple[str, str, str, str, str, str]:
    body = json.dumps(ticket_to_dict(ticket), ensure_ascii=False, separators=(",", ":"))
    return (ticket.ticket_id, ticket.customer_id, ticket.kind.value, ticket.state.value,
            ticket.created_at.isoformat(), body)
