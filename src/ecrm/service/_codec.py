"""Tickets to and from plain JSON-ready dicts (the SQLite store's row format)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecrm._time import as_zone
from ecrm.service._ticket import HistoryEntry, Note, Pause, Ticket

__all__ = ["ticket_from_dict", "ticket_to_dict"]


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset, plus the IANA zone in brackets (RFC 9557) when known."""
    if value is None:
        return None
    key = getattr(value.tzinfo, "key", None)
    return value.isoformat() + (f"[{key}]" if key else "")


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else _at(value)


def _at(value: str) -> dt.datetime:
    # back in its own zone (rows written before zones were kept have only the offset)
    iso, _, zone = value.partition("[")
    at = dt.datetime.fromisoformat(iso)
    return at.astimezone(as_zone(zone[:-1])) if zone else at


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    """Every field of a ticket (but ``version``) as JSON-ready values."""
    return {
        "ticket_id": ticket.ticket_id, "kind": ticket.kind.value,
        "priority": ticket.priority.value, "channel": ticket.channel.value,
        "customer_id": ticket.customer_id, "created_at": _iso(ticket.created_at),
        "order_id": ticket.order_id, "state": ticket.state.value, "assignee": ticket.assignee,
        "subject": ticket.subject, "text": ticket.text,
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at), "closed_at": _iso(ticket.closed_at),
        "pauses": [[_iso(p.start), _iso(p.end)] for p in ticket.pauses],
        "notes": [[_iso(n.at), n.author, n.text] for n in ticket.notes],
        "history": [[_iso(h.at), h.actor, h.field, h.old, h.new] for h in ticket.history],
    }


def ticket_from_dict(data: dict[str, Any], version: int) -> Ticket:
    """The ticket of :func:`ticket_to_dict`'s output, at store ``version``."""
    return Ticket(
        data["ticket_id"], data["kind"], data["priority"], data["channel"],
        data["customer_id"], _at(data["created_at"]), order_id=data["order_id"],
        state=data["state"], assignee=data["assignee"], subject=data["subject"],
        text=data["text"], first_response_at=_when(data["first_response_at"]),
        resolved_at=_when(data["resolved_at"]), closed_at=_when(data["closed_at"]),
        pauses=tuple(Pause(_at(a), _when(b)) for a, b in data["pauses"]),
        notes=tuple(Note(_at(a), who, text) for a, who, text in data["notes"]),
        history=tuple(HistoryEntry(_at(a), who, f, old, new)
                      for a, who, f, old, new in data["history"]),
        version=version,
    )
