"""Tickets to and from CSV: one row per ticket (notes and the full history stay in stores).

Columns: ``ticket_id, kind, priority, channel, customer_id, order_id, state, assignee,
created_at, first_response_at, resolved_at, closed_at, pauses, subject``. Times are ISO
8601; a time without an offset is read in the store's zone. ``pauses`` lists the stretches
the resolution clock stood still as ``start/end`` pairs separated by ``;`` (an open pause
has no end); a ``waiting`` ticket without an open pause gets one from its last known
event. Kinds may be given in English or Chinese (``退货``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Mapping
from typing import IO, Final

from ecrm._time import as_zone
from ecrm.errors import EcrmError, EcrmErrorGroup, InvalidValueError, RowError
from ecrm.service._ticket import (
    HistoryEntry,
    Pause,
    Priority,
    Ticket,
    TicketChannel,
    TicketKind,
    TicketState,
)

__all__ = ["TICKET_COLUMNS", "tickets_from_csv", "tickets_to_csv"]

TICKET_COLUMNS: Final = ("ticket_id", "kind", "priority", "channel", "customer_id", "order_id",
                         "state", "assignee", "created_at", "first_response_at", "resolved_at",
                         "closed_at", "pauses", "subject")
_REQUIRED: Final = ("ticket_id", "kind", "customer_id", "created_at")
_KIND_WORDS: Final = {k.zh: k for k in TicketKind} | {k.value: k for k in TicketKind}


def _iso(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat()


def tickets_to_csv(tickets: Iterable[Ticket], path_or_file: str | os.PathLike[str] | IO[str]
                   ) -> None:
    """Write tickets as CSV (UTF-8, a header, one row per ticket).

    Args:
        tickets: the tickets.
        path_or_file: a path or an open text file.
    """
    rows = [
        [t.ticket_id, t.kind.value, t.priority.value, t.channel.value, t.customer_id,
         t.order_id or "", t.state.value, t.assignee or "", _iso(t.created_at),
         _iso(t.first_response_at), _iso(t.resolved_at), _iso(t.closed_at),
         ";".join(f"{_iso(p.start)}/{_iso(p.end)}" for p in t.pauses), t.subject]
        for t in tickets
    ]
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "w", encoding="utf-8", newline="") as fh:
            _write(fh, rows)
    else:
        _write(path_or_file, rows)


def _write(fh: IO[str], rows: list[list[str]]) -> None:
    writer = csv.writer(fh)
    writer.writerow(TICKET_COLUMNS)
    writer.writerows(rows)


def tickets_from_csv(
    path_or_text: str | os.PathLike[str] | IO[str],
    *,
    tz: str | dt.tzinfo | None = None,
    actor: str = "import",
) -> list[Ticket]:
    """Read tickets from CSV (the columns of :data:`TICKET_COLUMNS`; only ``ticket_id,
    kind, customer_id, created_at`` are required).

    Each ticket's history starts with its creation and one ``import`` entry.

    Args:
        path_or_text: a path, or an open text file.
        tz: the zone of times written without an offset (default Asia/Shanghai).
        actor: the actor of the import history entry.

    Returns:
        The tickets in file order.

    Raises:
        EcrmErrorGroup: every bad cell, each a :class:`RowError` naming file, line, column,
            value and rule (nothing is returned).
        InvalidValueError: a required column is missing, or an id repeats.
    """
    zone = as_zone(tz)
    if isinstance(path_or_text, (str, os.PathLike)):
        source = os.fspath(path_or_text)
        with open(path_or_text, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    else:
        source = "<file>"
        text = path_or_text.read()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or ())]
    if missing:
        raise InvalidValueError("columns", f"must include {', '.join(_REQUIRED)}", missing)
    tickets: list[Ticket] = []
    problems: list[InvalidValueError] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        try:
            ticket = _ticket(row, zone, source, line, actor)
        except RowError as exc:
            problems.append(exc)
            continue
        if ticket.ticket_id in seen:
            problems.append(RowError(source, line, "ticket_id", ticket.ticket_id,
                                     f"repeats line {seen[ticket.ticket_id]}"))
            continue
        seen[ticket.ticket_id] = line
        tickets.append(ticket)
    if problems:
        raise EcrmErrorGroup(f"cannot read tickets from {source}", problems)
    return tickets


def _ticket(row: Mapping[str, str | None], zone: dt.tzinfo, source: str, line: int,
            actor: str) -> Ticket:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def when(name: str) -> dt.datetime | None:
        value = cell(name)
        if not value:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise RowError(source, line, name, value, "must be an ISO 8601 time") from None
        return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed

    for name in _REQUIRED:
        if not cell(name):
            raise RowError(source, line, name, cell(name), "must not be empty")
    kind = _KIND_WORDS.get(cell("kind").lower()) or _KIND_WORDS.get(cell("kind"))
    if kind is None:
        raise RowError(source, line, "kind", cell("kind"),
                       "must be one of " + ", ".join(k.value for k in TicketKind) + " or 退货 …")
    values: dict[str, object] = {}
    for name, cls, default in (("priority", Priority, "normal"), ("channel", TicketChannel, "other"),
                               ("state", TicketState, "open")):
        text = cell(name).lower() or default
        try:
            values[name] = cls(text)
        except ValueError:
            raise RowError(source, line, name, cell(name),
                           "must be one of " + ", ".join(m.value for m in cls)) from None
    created = when("created_at")
    assert created is not None
    pauses = []
    for part in filter(None, (p.strip() for p in cell("pauses").split(";"))):
        start, _, end = part.partition("/")
        try:
            a = dt.datetime.fromisoformat(start)
            b = dt.datetime.fromisoformat(end) if end else None
        except ValueError:
            raise RowError(source, line, "pauses", part, "must be start/end ISO times") from None
        a = a.replace(tzinfo=zone) if a.tzinfo is None else a
        b = b.replace(tzinfo=zone) if b is not None and b.tzinfo is None else b
        pauses.append((a, b))
    state = values["state"]
    resolved = when("resolved_at")
    if state in (TicketState.RESOLVED, TicketState.CLOSED) and resolved is None:
        raise RowError(source, line, "resolved_at", "", f"must be given for a {state} ticket")
    times = [t for t in (created, when("first_response_at"), resolved, when("closed_at"))
             if t is not None] + [t for p in pauses for t in p if t is not None]
    last = max(times)
    if state is TicketState.WAITING and (not pauses or pauses[-1][1] is not None):
        # waiting since an unknown moment: the clock stands still from the last known event
        pauses.append((last, None))
    history = (HistoryEntry(created, "customer", "created", "", "open"),
               HistoryEntry(last, actor, "import", "", str(state)))
    try:
        return Ticket(cell("ticket_id"), kind, values["priority"],  # type: ignore[arg-type]
                      values["channel"], cell("customer_id"), created,  # type: ignore[arg-type]
                      order_id=cell("order_id") or None, state=state,  # type: ignore[arg-type]
                      assignee=cell("assignee") or None, subject=cell("subject"),
                      first_response_at=when("first_response_at"), resolved_at=resolved,
                      closed_at=when("closed_at"),
                      pauses=tuple(Pause(a, b) for a, b in pauses), history=history)
    except EcrmError as exc:
        raise RowError(source, line, getattr(exc, "field", "") or "row", "", str(exc)) from exc
