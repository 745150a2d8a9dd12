"""Tickets (工单): kinds, priorities, channels, states, typed transitions and history.

A :class:`Ticket` is a frozen value. Every change (:meth:`Ticket.assign`,
:meth:`Ticket.resolve`, …) returns a new ticket with one more :class:`HistoryEntry`; an
illegal move raises :class:`IllegalTransitionError` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, TypeVar

import attrs

from ecrm import _enums
from ecrm import _validators as _v
from ecrm._serial import JsonForm, reading
from ecrm._time import datetime_to_us, parse_zoned_iso, require_aware, zoned_iso
from ecrm.errors import IllegalTransitionError, InvalidValueError

__all__ = [
    "TRANSITIONS",
    "HistoryEntry",
    "Note",
    "Pause",
    "Priority",
    "Ticket",
    "TicketChannel",
    "TicketKind",
    "TicketState",
]


E = TypeVar("E", bound=enum.StrEnum)


class TicketKind(enum.StrEnum):
    """What a ticket is about (``zh`` gives the operator's word)."""

    INQUIRY = "inquiry"
    RETURN = "return"
    EXCHANGE = "exchange"
    REFUND = "refund"
    COMPLAINT = "complaint"
    LOGISTICS = "logistics"
    QUALITY = "quality"
    OTHER = "other"

    @property
    def zh(self) -> str:
        """The operator's word (退货 for return)."""
        return _KIND_ZH[self]

    @classmethod
    def _missing_(cls, value: object) -> TicketKind | None:
        # the operator's word works as well as the English name
        for kind, word in _KIND_ZH.items():
            if value == word:
                return kind
        return None

    @property
    def code(self) -> int:
        """0-based position in declaration order (the index of vectorised tables)."""
        return _KIND_CODE[self]


_KIND_ZH: Final = {
    TicketKind.INQUIRY: "咨询", TicketKind.RETURN: "退货", TicketKind.EXCHANGE: "换货",
    TicketKind.REFUND: "退款", TicketKind.COMPLAINT: "投诉", TicketKind.LOGISTICS: "物流",
    TicketKind.QUALITY: "质量", TicketKind.OTHER: "其他",
}
_KIND_CODE: Final = {k: i for i, k in enumerate(TicketKind)}


class Priority(enum.StrEnum):
    """How urgent a ticket is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def code(self) -> int:
        """0-based position in declaration order."""
        return _PRIORITY_CODE[self]


_PRIORITY_CODE: Final = {p: i for i, p in enumerate(Priority)}


class TicketChannel(enum.StrEnum):
    """Where the request came in (旺旺 chat, phone, e-mail, WeChat, the platform's
    after-sales form, or elsewhere).

    .. versionchanged:: 0.1.0
       Renamed from ``ecrm.service.Channel`` (the touch channel protocol is
       :class:`ecrm.touch.Channel`); the old name warns for one release.
    """

    WANGWANG = "wangwang"
    PHONE = "phone"
    EMAIL = "email"
    WECHAT = "wechat"
    PLATFORM = "platform"
    OTHER = "other"


class TicketState(enum.StrEnum):
    """open → assigned → waiting for customer → resolved → closed; resolved can reopen."""

    OPEN = "open"
    ASSIGNED = "assigned"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: Which states each state can move to (``resolved → assigned`` is a reopen).
TRANSITIONS: Final[dict[TicketState, tuple[TicketState, ...]]] = {
    TicketState.OPEN: (TicketState.ASSIGNED,),
    TicketState.ASSIGNED: (TicketState.WAITING, TicketState.RESOLVED),
    TicketState.WAITING: (TicketState.ASSIGNED, TicketState.RESOLVED),
    TicketState.RESOLVED: (TicketState.CLOSED, TicketState.ASSIGNED),
    TicketState.CLOSED: (),
}

#: States in which the resolution clock stands still.
_PAUSING: Final = frozenset({TicketState.WAITING, TicketState.RESOLVED})


_Check = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _instant(value: dt.datetime | None) -> int | None:
    """The eq/hash key of a ticket time: its instant (epoch µs).

    Plain ``==`` never finds a time in a DST fold equal to the same instant in another
    tzinfo object (PEP 495), e.g. one read back from a file; instants compare exactly.
    """
    return None if value is None else datetime_to_us(value)


def _aware(field: str) -> _Check:
    def check(_inst: object, _attr: object, value: object) -> None:
        require_aware(value, field)

    return check


def _aware_or_none(field: str) -> _Check:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is not None:
            require_aware(value, field)

    return check


@attrs.frozen
class HistoryEntry:
    """One change of a ticket: who changed which field from what to what, and when.

    Attributes:
        at: when (aware).
        actor: who made the change (an operator, ``"system"``, ``"customer"``).
        field: the field changed (``"state"``, ``"assignee"``, ``"note"``, ``"created"``).
        old: the value before, as text (``""`` for none).
        new: the value after, as text.
    """

    at: dt.datetime = attrs.field(validator=_aware("at"), eq=_instant)
    actor: str = attrs.field(validator=_v.instance_of(str))
    field: str = attrs.field(validator=_v.instance_of(str))
    old: str = attrs.field(validator=_v.instance_of(str))
    new: str = attrs.field(validator=_v.instance_of(str))


@attrs.frozen
class Note:
    """A note on a ticket (internal or a reply to the customer)."""

    at: dt.datetime = attrs.field(validator=_aware("at"), eq=_instant)
    author: str = attrs.field(validator=_v.instance_of(str))
    text: str = attrs.field(validator=_v.instance_of(str))


@attrs.frozen
class Pause:
    """A stretch in which the resolution clock stood still (waiting for the customer, or
    resolved until a reopen). ``end`` is ``None`` while it lasts."""

    start: dt.datetime = attrs.field(validator=_aware("start"), eq=_instant)
    end: dt.datetime | None = attrs.field(
        default=None, validator=_aware_or_none("end"), eq=_instant)

    @end.validator
    def _end_after_start(self, _attr: object, value: dt.datetime | None) -> None:
        if value is not None and value < self.start:
            raise InvalidValueError("pause.end", f"must not be before its start {self.start}",
                                    value)


def _text(field: str) -> _Check:
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValueError(field, "must be non-empty text", value)

    return check


def _to_kind(value: TicketKind | str) -> TicketKind:
    return _enums.member(TicketKind, value, "kind")


def _to_priority(value: Priority | str) -> Priority:
    return _enums.member(Priority, value, "priority")


def _to_channel(value: TicketChannel | str) -> TicketChannel:
    return _enums.member(TicketChannel, value, "channel")


def _to_state(value: TicketState | str) -> TicketState:
    return _enums.member(TicketState, value, "state")


@attrs.frozen(repr=False)
class Ticket(JsonForm):
    """An after-sales ticket (售后工单).

    Build a new one with :meth:`Ticket.open`; change it with its methods, each returning
    a new ticket. ``version`` is the stored version a store read it at (0 for a ticket
    never saved); domain changes leave it alone, stores check and bump it.

    Attributes:
        ticket_id: the ticket's id.
        kind, priority, channel: what, how urgent, where from.
        customer_id: the customer; ``order_id`` the order it concerns (``None`` when none).
        created_at: when the request came in (aware).
        state: the current :class:`TicketState`.
        assignee: the operator handling it (``None`` before assignment).
        subject: a one-line summary; ``text`` the customer's words.
        first_response_at: the first reply to the customer (``None`` before it).
        resolved_at: the last resolution (``None`` unless resolved or closed).
        closed_at: when closed (``None`` unless closed).
        pauses: stretches the resolution clock stood still, oldest first.
        notes: notes, oldest first.
        history: every change, oldest first (append-only).
        version: the store version (see above).

    ``to_dict`` / ``from_dict`` and ``to_json`` / ``from_json`` round-trip a ticket (times
    keep their IANA zone).

    .. versionadded:: 0.1.0
       ``to_dict`` / ``from_dict`` / ``to_json`` / ``from_json``.
    """

    _json_field: ClassVar[str] = "ticket"

    ticket_id: str = attrs.field(validator=_text("ticket_id"))
    kind: TicketKind = attrs.field(converter=_to_kind)
    priority: Priority = attrs.field(converter=_to_priority)
    channel: TicketChannel = attrs.field(converter=_to_channel)
    customer_id: str = attrs.field(validator=_text("customer_id"))
    created_at: dt.datetime = attrs.field(validator=_aware("created_at"), eq=_instant)
    order_id: str | None = None
    state: TicketState = attrs.field(default=TicketState.OPEN, converter=_to_state)
    assignee: str | None = None
    subject: str = ""
    text: str = ""
    first_response_at: dt.datetime | None = attrs.field(
        default=None, validator=_aware_or_none("first_response_at"), eq=_instant)
    resolved_at: dt.datetime | None = attrs.field(
        default=None, validator=_aware_or_none("resolved_at"), eq=_instant)
    closed_at: dt.datetime | None = attrs.field(
        default=None, validator=_aware_or_none("closed_at"), eq=_instant)
    pauses: tuple[Pause, ...] = attrs.field(default=(), converter=_tuple)
    notes: tuple[Note, ...] = attrs.field(default=(), converter=_tuple)
    history: tuple[HistoryEntry, ...] = attrs.field(default=(), converter=_tuple)
    version: int = attrs.field(default=0, validator=_v.ge(0))

    @classmethod
    def open(
        cls,
        ticket_id: str,
        *,
        kind: TicketKind | str,
        customer_id: str,
        created_at: dt.datetime,
        priority: Priority | str = Priority.NORMAL,
        channel: TicketChannel | str = TicketChannel.WANGWANG,
        order_id: str | None = None,
        subject: str = "",
        text: str = "",
        actor: str = "customer",
    ) -> Ticket:
        """A new open ticket whose history starts with its creation.

        Raises:
            InvalidValueError: an empty id, an unknown kind, priority or channel.
            InvalidTypeError: ``created_at`` is not an aware datetime.
        """
        kind_ = _enum(TicketKind, kind, "kind")
        priority_ = _enum(Priority, priority, "priority")
        channel_ = _enum(TicketChannel, channel, "channel")
        entry = HistoryEntry(require_aware(created_at, "created_at"), actor, "created", "",
                             TicketState.OPEN.value)
        return cls(ticket_id, kind_, priority_, channel_, customer_id, created_at,
                   order_id=order_id, subject=subject, text=text, history=(entry,))

    # -- serialisation (the SQLite store keeps this dict as JSON, version aside) ---------

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values: times as ISO 8601 with the offset and, when
        known, the IANA zone in brackets (RFC 9557); pauses, notes and history as lists."""
        return {
            "ticket_id": self.ticket_id, "kind": self.kind.value,
            "priority": self.priority.value, "channel": self.channel.value,
            "customer_id": self.customer_id, "created_at": _iso(self.created_at),
            "order_id": self.order_id, "state": self.state.value, "assignee": self.assignee,
            "subject": self.subject, "text": self.text,
            "first_response_at": _iso(self.first_response_at),
            "resolved_at": _iso(self.resolved_at), "closed_at": _iso(self.closed_at),
            "pauses": [[_iso(p.start), _iso(p.end)] for p in self.pauses],
            "notes": [[_iso(n.at), n.author, n.text] for n in self.notes],
            "history": [[_iso(h.at), h.actor, h.field, h.old, h.new] for h in self.history],
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """The ticket of :meth:`to_dict`'s output (``version`` 0 when absent).

        Raises:
            InvalidTypeError: ``data`` is not a mapping.
            InvalidValueError: a missing or malformed field (``ticket`` names the document),
                or a field value the ticket refuses (that field's own error).
        """
        with reading(data, "ticket") as doc:
            return cls(
                doc["ticket_id"], doc["kind"], doc["priority"], doc["channel"],
                doc["customer_id"], _at(doc["created_at"]), order_id=doc["order_id"],
                state=doc["state"], assignee=doc["assignee"], subject=doc["subject"],
                text=doc["text"], first_response_at=_when(doc["first_response_at"]),
                resolved_at=_when(doc["resolved_at"]), closed_at=_when(doc["closed_at"]),
                pauses=tuple(Pause(_at(a), _when(b)) for a, b in doc["pauses"]),
                notes=tuple(Note(_at(a), who, text) for a, who, text in doc["notes"]),
                history=tuple(HistoryEntry(_at(a), who, f, old, new)
                              for a, who, f, old, new in doc["history"]),
                version=doc.get("version", 0),
            )

    # -- changes -------------------------------------------------------------------------

    def assign(self, assignee: str, *, at: dt.datetime, actor: str) -> Ticket:
        """Assign (or reassign) to an operator; an open ticket becomes assigned.

        Raises:
            IllegalTransitionError: the ticket is resolved or closed.
            InvalidValueError: an empty assignee, or ``at`` before the last change.
        """
        if not isinstance(assignee, str) or not assignee.strip():
            raise InvalidValueError("assignee", "must be non-empty text", assignee)
        if self.state not in (TicketState.OPEN, TicketState.ASSIGNED, TicketState.WAITING):
            self._refuse(TicketState.ASSIGNED)
        at = self._check_time(at)
        entries = [HistoryEntry(at, actor, "assignee", self.assignee or "", assignee)]
        state = self.state
        if state is TicketState.OPEN:
            entries.append(HistoryEntry(at, actor, "state", state.value, "assigned"))
            state = TicketState.ASSIGNED
        return attrs.evolve(self, assignee=assignee, state=state,
                            history=self.history + tuple(entries))

    def respond(self, text: str, *, at: dt.datetime, actor: str) -> Ticket:
        """Record a reply to the customer; the first one stops the first-response clock.

        Raises:
            IllegalTransitionError: the ticket is closed.
            InvalidValueError: ``at`` before the last change.
        """
        if self.state is TicketState.CLOSED:
            self._refuse(self.state, action="respond")
        at = self._check_time(at)
        entries = [HistoryEntry(at, actor, "reply", "", text)]
        first = self.first_response_at
        if first is None:
            first = at
            entries.append(HistoryEntry(at, actor, "first_response_at", "", at.isoformat()))
        return attrs.evolve(self, first_response_at=first,
                            notes=(*self.notes, Note(at, actor, text)),
                            history=self.history + tuple(entries))

    def add_note(self, text: str, *, at: dt.datetime, actor: str) -> Ticket:
        """Add an internal note (no clock changes).

        Raises:
            InvalidValueError: ``at`` before the last change.
        """
        at = self._check_time(at)
        return attrs.evolve(self, notes=(*self.notes, Note(at, actor, text)),
                            history=(*self.history, HistoryEntry(at, actor, "note", "", text)))

    def wait_for_customer(self, *, at: dt.datetime, actor: str) -> Ticket:
        """assigned → waiting: the resolution clock pauses."""
        return self.move(TicketState.WAITING, at=at, actor=actor)

    def customer_replied(self, *, at: dt.datetime, actor: str = "customer") -> Ticket:
        """waiting → assigned: the resolution clock runs again.

        Raises:
            IllegalTransitionError: the ticket is not waiting for the customer.
        """
        if self.state is not TicketState.WAITING:
            self._refuse(TicketState.ASSIGNED)
        return self.move(TicketState.ASSIGNED, at=at, actor=actor)

    def resolve(self, *, at: dt.datetime, actor: str) -> Ticket:
        """assigned or waiting → resolved."""
        return self.move(TicketState.RESOLVED, at=at, actor=actor)

    def close(self, *, at: dt.datetime, actor: str) -> Ticket:
        """resolved → closed (final)."""
        return self.move(TicketState.CLOSED, at=at, actor=actor)

    def reopen(self, *, at: dt.datetime, actor: str) -> Ticket:
        """resolved → assigned: the customer was not helped after all."""
        if self.state is not TicketState.RESOLVED:
            self._refuse(TicketState.ASSIGNED)
        return self.move(TicketState.ASSIGNED, at=at, actor=actor)

    def move(self, to: TicketState | str, *, at: dt.datetime, actor: str) -> Ticket:
        """Move to state ``to`` along :data:`TRANSITIONS`.

        Args:
            to: the new state.
            at: when (aware, not before the ticket's last change).
            actor: who.

        Returns:
            The changed ticket (this one is unchanged).

        Raises:
            IllegalTransitionError: ``to`` is not reachable from the current state (the
                message names the ticket, both states and what is reachable).
            InvalidValueError: ``at`` before the last change.
        """
        target = _enum(TicketState, to, "state")
        if target not in TRANSITIONS[self.state]:
            self._refuse(target)
        if target is TicketState.ASSIGNED and self.assignee is None:
            raise InvalidValueError(f"ticket {self.ticket_id!r}: assignee",
                                    "must be set before the ticket is assigned (use assign())",
                                    None)
        at = self._check_time(at)
        pauses = list(self.pauses)
        if self.state in _PAUSING and pauses and pauses[-1].end is None:
            pauses[-1] = Pause(pauses[-1].start, at)
        if target in _PAUSING:
            pauses.append(Pause(at))
        resolved_at = self.resolved_at
        if target is TicketState.RESOLVED:
            resolved_at = at
        elif target is TicketState.ASSIGNED:
            resolved_at = None
        closed_at = at if target is TicketState.CLOSED else None
        entry = HistoryEntry(at, actor, "state", self.state.value, target.value)
        return attrs.evolve(self, state=target, resolved_at=resolved_at, closed_at=closed_at,
                            pauses=tuple(pauses), history=(*self.history, entry))

    # -- helpers -------------------------------------------------------------------------

    def __repr__(self) -> str:
        who = f", assignee {self.assignee!r}" if self.assignee else ""
        order = f", order {self.order_id!r}" if self.order_id else ""
        return (f"Ticket({self.ticket_id!r}, {self.kind.value}, {self.priority.value}, "
                f"{self.state.value}, customer {self.customer_id!r}{order}{who}, created "
                f"{self.created_at.isoformat()}, {len(self.history)} history entries, "
                f"version {self.version})")

    @property
    def last_changed_at(self) -> dt.datetime:
        """When the ticket last changed (its creation if never)."""
        return self.history[-1].at if self.history else self.created_at

    def _check_time(self, at: dt.datetime) -> dt.datetime:
        require_aware(at, "at")
        if at < self.last_changed_at:
            raise InvalidValueError(
                f"ticket {self.ticket_id!r}: at",
                f"must not be before its last change at {self.last_changed_at.isoformat()}", at)
        return at

    def _refuse(self, target: TicketState, action: str | None = None) -> None:
        allowed = tuple(s.value for s in TRANSITIONS[self.state])
        raise IllegalTransitionError(self.ticket_id, self.state.value, action or target.value,
                                     allowed)


def _enum(cls: type[E], value: object, field: str) -> E:
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value).strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in cls)
        raise InvalidValueError(field, f"must be one of {names}", value) from None


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset, plus the IANA zone in brackets (RFC 9557) when known."""
    return None if value is None else zoned_iso(value)


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else _at(value)


def _at(value: str) -> dt.datetime:
    # back in its own zone (rows written before zones were kept have only the offset)
    return parse_zoned_iso(value)
