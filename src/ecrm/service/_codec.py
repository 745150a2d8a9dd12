"""Tickets to and from the SQLite store's row format: :meth:`Ticket.to_dict` without the
version, which the store keeps in its own column."""

from __future__ import annotations

from typing import Any

from ecrm.service._ticket import Ticket

__all__ = ["ticket_from_dict", "ticket_to_dict"]


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    """Every field of a ticket (but ``version``) as JSON-ready values."""
    data = ticket.to_dict()
    del data["version"]
    return data


def ticket_from_dict(data: dict[str, Any], version: int) -> Ticket:
    """The ticket of :func:`ticket_to_dict`'s output, at store ``version``."""
    return Ticket.from_dict({**data, "version": version})
