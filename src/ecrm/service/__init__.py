"""After-sales service (售后服务): tickets, SLA clocks, stores, complaints, surveys, analytics.

Pure domain code: tickets are frozen values with typed transitions and an append-only
history; SLA clocks count the store's business hours, vectorised over many tickets. The
SQLite store is the one module here that does I/O. See docs/service.md.
"""

from ecrm.service._calendar import WEEKDAYS, BusinessCalendar
from ecrm.service._errors import IllegalTransitionError, TicketConflictError, UnknownTicketError
from ecrm.service._sla import SlaPolicy, SlaStatus, SlaTarget, TicketClocks, sla_status
from ecrm.service._ticket import (
    TRANSITIONS,
    Channel,
    HistoryEntry,
    Note,
    Pause,
    Priority,
    Ticket,
    TicketKind,
    TicketState,
)

__all__ = [
    "TRANSITIONS",
    "WEEKDAYS",
    "BusinessCalendar",
    "Channel",
    "HistoryEntry",
    "IllegalTransitionError",
    "Note",
    "Pause",
    "Priority",
    "SlaPolicy",
    "SlaStatus",
    "SlaTarget",
    "Ticket",
    "TicketClocks",
    "TicketConflictError",
    "TicketKind",
    "TicketState",
    "UnknownTicketError",
    "sla_status",
]
