"""The errors of ecrm.service: an illegal ticket transition and a lost-update conflict."""

from __future__ import annotations

from typing import Any

from ecrm._errors import EcrmError, InvalidValueError
from ecrm._sqlite import StoreError

__all__ = ["IllegalTransitionError", "TicketConflictError", "UnknownTicketError"]


class IllegalTransitionError(InvalidValueError):
    """A ticket was asked to move to a state its current state cannot reach.

    Attributes:
        ticket_id: the ticket.
        from_state: its state (a :class:`TicketState` value).
        to_state: the state asked for.
    """

    def __init__(self, ticket_id: str, from_state: str, to_state: str, allowed: tuple[str, ...]):
        self.ticket_id = ticket_id
        self.from_state = from_state
        self.to_state = to_state
        reach = ", ".join(allowed) if allowed else "nothing (final state)"
        super().__init__(
            f"ticket {ticket_id!r}: state",
            f"cannot go from {from_state!r} to {to_state!r} (from {from_state!r} it can reach "
            f"{reach}); nothing changed",
            show_value=False,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        allowed: tuple[str, ...] = ()
        return (_rebuild_illegal, (self.ticket_id, self.from_state, self.to_state, allowed,
                                   self.args))


def _rebuild_illegal(ticket_id: str, from_state: str, to_state: str, allowed: tuple[str, ...],
                     args: tuple[Any, ...]) -> IllegalTransitionError:
    err = IllegalTransitionError(ticket_id, from_state, to_state, allowed)
    err.args = args
    return err


class TicketConflictError(StoreError):
    """Another writer saved the ticket since it was read: nothing of this save was kept.

    Read the ticket again, redo the change and save again.

    Attributes:
        ticket_id: the ticket.
        expected_version: the version this writer read.
        actual_version: the version in the store now.
    """

    def __init__(self, ticket_id: str, expected_version: int, actual_version: int):
        self.ticket_id = ticket_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"ticket {ticket_id!r} was changed by another writer: read at version "
            f"{expected_version}, stored version is {actual_version}; nothing saved, "
            "read it again and redo the change"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.ticket_id, self.expected_version, self.actual_version))


class UnknownTicketError(EcrmError, KeyError):
    """No ticket with this id is in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown ticket"
