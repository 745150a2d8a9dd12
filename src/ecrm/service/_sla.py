"""SLA clocks: first-response and resolution targets, due times and breaches, vectorised.

Every ticket's clocks come from one business timeline (see :mod:`._calendar`): the
business time between two instants is a difference of prefix sums, and a due time is the
inverse lookup, so a million tickets cost a few ``searchsorted`` passes and no Python loop.
The resolution clock stands still during a ticket's pauses (waiting for the customer, or
resolved until a reopen); the first-response clock never pauses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _enums
from ecrm import _validators as _v
from ecrm._results import ResultFrame, instants
from ecrm._time import NAT_US, as_zone, datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
from ecrm.service._calendar import BusinessCalendar, Clock, WallClock
from ecrm.service._ticket import Priority, Ticket, TicketKind

__all__ = ["SlaPolicy", "SlaStatus", "SlaTarget", "TicketClocks", "sla_status"]

_US_PER_S: Final = 1_000_000
_MAX_EXTEND: Final = 12


def _positive(_inst: object, attr: attrs.Attribute[Any], value: dt.timedelta) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise InvalidValueError(attr.name, "must be a positive timedelta", value)


@attrs.frozen
class SlaTarget:
    """How long a ticket may take: to the first reply and to resolution.

    Both are counted on the policy's clock (business hours or wall-clock time).
    """

    first_response: dt.timedelta = attrs.field(validator=_positive)
    resolution: dt.timedelta = attrs.field(validator=_positive)

    @resolution.validator
    def _after_first(self, _attr: object, value: dt.timedelta) -> None:
        if value < self.first_response:
            raise InvalidValueError("resolution", f"must be >= first_response "
                                    f"{self.first_response}", value)


def _targets(value: Mapping[tuple[Any, Any], SlaTarget] | Iterable[tuple[tuple[Any, Any], SlaTarget]]
             ) -> tuple[tuple[tuple[TicketKind | None, Priority | None], SlaTarget], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2
                and isinstance(item[0], tuple) and len(item[0]) == 2):
            raise InvalidTypeError(
                f"targets must map (kind, priority) to an SlaTarget, got {_short_repr(item)}"
            )
        key, target = item
        kind, priority = key
        k = None if kind is None else _enums.member(TicketKind, kind, "kind")
        p = None if priority is None else _enums.member(Priority, priority, "priority")
        if not isinstance(target, SlaTarget):
            raise InvalidValueError(f"targets[{key!r}]", "must be an SlaTarget", target)
        out.append(((k, p), target))
    return tuple(out)


@attrs.frozen
class SlaPolicy:
    """SLA targets per ticket kind and priority, and the clock they count on.

    The target of a ticket is the first of ``targets[(kind, priority)]``,
    ``targets[(kind, None)]``, ``targets[(None, priority)]`` and ``default``.

    Attributes:
        default: the target when no more specific one is given.
        targets: ``(kind or None, priority or None) → SlaTarget``.
        calendar: the store's business hours; ``None`` counts wall-clock time.
    """

    default: SlaTarget = attrs.field(validator=_v.instance_of(SlaTarget))
    targets: tuple[tuple[tuple[TicketKind | None, Priority | None], SlaTarget], ...] = \
        attrs.field(default=(), converter=_targets)
    calendar: BusinessCalendar | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(BusinessCalendar)))

    def target_for(self, kind: TicketKind | str, priority: Priority | str) -> SlaTarget:
        """The target that applies to a ticket of this kind and priority."""
        table = dict(self.targets)
        k = _enums.member(TicketKind, kind, "kind")
        p = _enums.member(Priority, priority, "priority")
        for key in ((k, p), (k, None), (None, p)):
            if key in table:
                return table[key]
        return self.default

    def _tables(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        first = np.zeros((len(TicketKind), len(Priority)), dtype=np.int64)
        resolution = np.zeros_like(first)
        for k in TicketKind:
            for p in Priority:
                t = self.target_for(k, p)
                first[k.code, p.code] = t.first_response // dt.timedelta(microseconds=1)
                resolution[k.code, p.code] = t.resolution // dt.timedelta(microseconds=1)
        return first, resolution


def _i64(name: str, value: npt.ArrayLike, n: int | None = None) -> npt.NDArray[np.int64]:
    arr = _v.flat_array(name, value)
    if arr.dtype.kind not in "iu":
        raise InvalidValueError(name, "must hold integers (epoch µs or codes)", arr.dtype)
    if n is not None and len(arr) != n:
        raise InvalidValueError(name, f"must have one value per ticket ({n})", len(arr))
    return arr.astype(np.int64, copy=False)


@attrs.frozen(eq=False)
class TicketClocks:
    """The clock inputs of many tickets as arrays (the fast path of :func:`sla_status`).

    Instants are int64 epoch µs; :data:`ecrm._time.NAT_US` marks "not yet".

    Attributes:
        ticket_ids: shape (n,).
        kind_codes, priority_codes: int64 (n,), :attr:`TicketKind.code` / :attr:`Priority.code`.
        created_us, first_response_us, resolved_us: int64 (n,).
        pause_ticket: int64 (m,), the ticket row of each pause.
        pause_start_us, pause_end_us: int64 (m,); an open pause ends at NAT.
    """

    ticket_ids: npt.NDArray[Any]
    kind_codes: npt.NDArray[np.int64]
    priority_codes: npt.NDArray[np.int64]
    created_us: npt.NDArray[np.int64]
    first_response_us: npt.NDArray[np.int64]
    resolved_us: npt.NDArray[np.int64]
    pause_ticket: npt.NDArray[np.int64] = attrs.field(factory=lambda: np.zeros(0, np.int64))
    pause_start_us: npt.NDArray[np.int64] = attrs.field(factory=lambda: np.zeros(0, np.int64))
    pause_end_us: npt.NDArray[np.int64] = attrs.field(factory=lambda: np.zeros(0, np.int64))

    def __attrs_post_init__(self) -> None:
        n = len(_v.flat_array("ticket_ids", self.ticket_ids))
        for name in ("kind_codes", "priority_codes", "created_us", "first_response_us",
                     "resolved_us"):
            object.__setattr__(self, name, _i64(name, getattr(self, name), n))
        m = len(self.pause_ticket)
        for name in ("pause_ticket", "pause_start_us", "pause_end_us"):
            object.__setattr__(self, name, _i64(name, getattr(self, name), m))
        if n and (self.kind_codes.min() < 0 or self.kind_codes.max() >= len(TicketKind)):
            raise InvalidValueError("kind_codes", f"must be in 0..{len(TicketKind) - 1}",
                                    int(self.kind_codes.max()))
        if n and (self.priority_codes.min() < 0 or self.priority_codes.max() >= len(Priority)):
            raise InvalidValueError("priority_codes", f"must be in 0..{len(Priority) - 1}",
                                    int(self.priority_codes.max()))
        if (self.created_us == NAT_US).any():
            raise InvalidValueError("created_us", "must not be missing",
                                    int(np.flatnonzero(self.created_us == NAT_US)[0]))
        if m and (self.pause_ticket.min() < 0 or self.pause_ticket.max() >= n):
            raise InvalidValueError("pause_ticket", f"must be ticket rows 0..{n - 1}",
                                    int(self.pause_ticket.max()))

    def __len__(self) -> int:
        return len(self.ticket_ids)

    @classmethod
    def from_tickets(cls, tickets: Sequence[Ticket]) -> TicketClocks:
        """Collect the clock inputs of ticket values.

        Raises:
            InvalidTypeError: ``tickets`` is not an iterable of :class:`Ticket`.
        """
        tickets = _v.check_items("tickets", tickets, Ticket)

        def us(value: dt.datetime | None) -> int:
            return NAT_US if value is None else datetime_to_us(value)

        pauses = [(i, us(p.start), us(p.end)) for i, t in enumerate(tickets) for p in t.pauses]
        pause = np.asarray(pauses, dtype=np.int64).reshape(-1, 3)
        return cls(
            np.asarray([t.ticket_id for t in tickets], dtype=object),
            np.asarray([t.kind.code for t in tickets], dtype=np.int64),
            np.asarray([t.priority.code for t in tickets], dtype=np.int64),
            np.asarray([us(t.created_at) for t in tickets], dtype=np.int64),
            np.asarray([us(t.first_response_at) for t in tickets], dtype=np.int64),
            np.asarray([us(t.resolved_at) for t in tickets], dtype=np.int64),
            pause[:, 0].copy(), pause[:, 1].copy(), pause[:, 2].copy(),
        )


@attrs.frozen(eq=False, repr=False)
class SlaStatus(ResultFrame):
    """Due times, elapsed clock time and breaches of many tickets at ``as_of``.

    Durations are int64 microseconds of the policy's clock (business time under a
    calendar). Columns out (``to_dicts`` …) give them in seconds.

    Attributes:
        ticket_ids: shape (n,).
        as_of: the moment of the status.
        tz: the zone instants are shown in.
        first_response_due_us: int64 (n,), when the first reply is due.
        first_response_elapsed_us: int64 (n,), clock time to the first reply (to ``as_of``
            when there is none yet).
        first_response_breached: bool (n,): elapsed > target.
        responded: bool (n,).
        resolution_due_us: int64 (n,), NAT while the clock is paused.
        resolution_elapsed_us: int64 (n,), clock time to resolution (or ``as_of``) minus pauses.
        resolution_remaining_us: int64 (n,), target − elapsed (negative: overdue).
        resolution_breached: bool (n,).
        resolved: bool (n,); paused: bool (n,), clock standing still at ``as_of``.
    """

    ticket_ids: npt.NDArray[Any]
    as_of: dt.datetime
    tz: dt.tzinfo
    first_response_due_us: npt.NDArray[np.int64]
    first_response_elapsed_us: npt.NDArray[np.int64]
    first_response_breached: npt.NDArray[np.bool_]
    responded: npt.NDArray[np.bool_]
    resolution_due_us: npt.NDArray[np.int64]
    resolution_elapsed_us: npt.NDArray[np.int64]
    resolution_remaining_us: npt.NDArray[np.int64]
    resolution_breached: npt.NDArray[np.bool_]
    resolved: npt.NDArray[np.bool_]
    paused: npt.NDArray[np.bool_]

    def __attrs_post_init__(self) -> None:
        _v.check_same_length("SlaStatus", {
            f.name: getattr(self, f.name) for f in attrs.fields(SlaStatus)
            if f.name not in ("as_of", "tz")})

    def __len__(self) -> int:
        return len(self.ticket_ids)

    def __repr__(self) -> str:
        return (f"SlaStatus({len(self):,} tickets at {self.as_of.isoformat()}, "
                f"first-response breached {int(self.first_response_breached.sum()):,}, "
                f"resolution breached {int(self.resolution_breached.sum()):,})")

    def first_response_attainment(self) -> float | None:
        """Share of decided tickets (replied, or already past due) replied in time;
        ``None`` when none is decided."""
        decided = self.responded | self.first_response_breached
        n = int(decided.sum())
        return None if n == 0 else float((decided & ~self.first_response_breached).sum() / n)

    def resolution_attainment(self) -> float | None:
        """Share of decided tickets (resolved, or already past due) resolved in time."""
        decided = self.resolved | self.resolution_breached
        n = int(decided.sum())
        return None if n == 0 else float((decided & ~self.resolution_breached).sum() / n)

    def row(self, ticket_id: str) -> dict[str, Any]:
        """The status of one ticket as a dict (as in :meth:`to_dicts`).

        Raises:
            KeyError: no such ticket.
        """
        hits = np.flatnonzero(self.ticket_ids == ticket_id)
        if not len(hits):
            raise KeyError(ticket_id)
        return _one_row(self, int(hits[0]))

    def _columns(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_ids.astype(str) if len(self) else np.zeros(0, "U1"),
            "first_response_due": instants(self.first_response_due_us, self.tz),
            "first_response_elapsed_s": self.first_response_elapsed_us / _US_PER_S,
            "first_response_breached": self.first_response_breached,
            "responded": self.responded,
            "resolution_due": instants(self.resolution_due_us, self.tz,
                                       self.resolution_due_us == NAT_US),
            "resolution_elapsed_s": self.resolution_elapsed_us / _US_PER_S,
            "resolution_remaining_s": self.resolution_remaining_us / _US_PER_S,
            "resolution_breached": self.resolution_breached,
            "resolved": self.resolved,
            "paused": self.paused,
        }


def _one_row(status: SlaStatus, i: int) -> dict[str, Any]:
    due = int(status.resolution_due_us[i])
    return {
        "ticket_id": str(status.ticket_ids[i]),
        "first_response_due": us_to_datetime(int(status.first_response_due_us[i]), status.tz),
        "first_response_elapsed_s": int(status.first_response_elapsed_us[i]) / _US_PER_S,
        "first_response_breached": bool(status.first_response_breached[i]),
        "responded": bool(status.responded[i]),
        "resolution_due": None if due == NAT_US else us_to_datetime(due, status.tz),
        "resolution_elapsed_s": int(status.resolution_elapsed_us[i]) / _US_PER_S,
        "resolution_remaining_s": int(status.resolution_remaining_us[i]) / _US_PER_S,
        "resolution_breached": bool(status.resolution_breached[i]),
        "resolved": bool(status.resolved[i]),
        "paused": bool(status.paused[i]),
    }


def sla_status(
    tickets: Sequence[Ticket] | TicketClocks,
    policy: SlaPolicy,
    *,
    as_of: dt.datetime,
) -> SlaStatus:
    """Due times, time remaining and breaches of every ticket at ``as_of``.

    Args:
        tickets: ticket values, or their :class:`TicketClocks` (the fast path).
        policy: targets and the clock (business calendar or wall-clock).
        as_of: the moment to judge at (aware). Replies, resolutions and pauses after it
            have not happened yet; an open pause runs to ``as_of``.

    Returns:
        An :class:`SlaStatus`, rows in input order.

    Raises:
        InvalidTypeError: ``as_of`` is not an aware datetime, ``policy`` not an
            :class:`SlaPolicy`, or ``tickets`` neither tickets nor :class:`TicketClocks`.
        InvalidValueError: a ticket created after ``as_of``, or a calendar without
            working hours.
    """
    _v.check_instance("policy", policy, SlaPolicy)
    require_aware(as_of, "as_of")
    clocks = tickets if isinstance(tickets, TicketClocks) else TicketClocks.from_tickets(tickets)
    tz = as_zone(policy.calendar.tz) if policy.calendar is not None else as_of.tzinfo
    assert tz is not None
    as_of_us = datetime_to_us(as_of)
    first_t, res_t = policy._tables()
    fr_target = first_t[clocks.kind_codes, clocks.priority_codes]
    res_target = res_t[clocks.kind_codes, clocks.priority_codes]
    n = len(clocks)
    if n == 0:
        empty_i = np.zeros(0, np.int64)
        empty_b = np.zeros(0, np.bool_)
        return SlaStatus(clocks.ticket_ids, as_of, tz, empty_i, empty_i, empty_b, empty_b,
                         empty_i, empty_i, empty_i, empty_b, empty_b, empty_b)
    late = np.flatnonzero(clocks.created_us > as_of_us)
    if len(late):
        i = int(late[0])
        raise InvalidValueError(
            f"tickets[{i}].created_at",
            f"must not be after as_of {as_of.isoformat()} (ticket {clocks.ticket_ids[i]!r}; "
            "leave out tickets created later)",
            us_to_datetime(int(clocks.created_us[i]), tz))
    lo = int(min(clocks.created_us.min(), as_of_us))
    hi = max(int(clocks.created_us.max()), as_of_us)
    most = int(max(fr_target.max(), res_target.max()))
    clock = _clock(policy.calendar, lo, hi, most)

    created = clocks.created_us
    b_created = clock.business_us(created)
    # what happens after as_of has not happened yet
    responded = (clocks.first_response_us != NAT_US) & (clocks.first_response_us <= as_of_us)
    fr_end = np.where(responded, clocks.first_response_us, as_of_us)
    fr_elapsed = clock.business_us(fr_end) - b_created
    fr_need = b_created + fr_target

    resolved = (clocks.resolved_us != NAT_US) & (clocks.resolved_us <= as_of_us)
    end = np.where(resolved, clocks.resolved_us, as_of_us)
    paused_b = np.zeros(n, dtype=np.int64)
    open_pause = np.zeros(n, dtype=np.bool_)
    if len(clocks.pause_ticket):
        row = clocks.pause_ticket
        stop = end[row]
        p_end = np.where(clocks.pause_end_us == NAT_US, as_of_us, clocks.pause_end_us)
        p_from = clock.business_us(np.minimum(clocks.pause_start_us, stop))
        p_to = clock.business_us(np.minimum(p_end, stop))
        np.add.at(paused_b, row, np.maximum(p_to - p_from, 0))
        ongoing = ((clocks.pause_end_us == NAT_US) | (clocks.pause_end_us > as_of_us)) & (
            clocks.pause_start_us <= as_of_us)
        open_pause[row[ongoing]] = True
    paused = open_pause & ~resolved
    res_elapsed = clock.business_us(end) - b_created - paused_b
    res_need = b_created + paused_b + res_target

    needed = int(max(fr_need.max(), res_need.max()))
    if needed > clock.total_us:  # a far target: widen the timeline once more
        clock = _clock(policy.calendar, lo, hi, most, need_us=needed)
    fr_due = clock.instant_at(fr_need)
    res_due = np.where(paused, NAT_US, clock.instant_at(res_need))
    return SlaStatus(
        ticket_ids=clocks.ticket_ids, as_of=as_of, tz=tz,
        first_response_due_us=fr_due,
        first_response_elapsed_us=fr_elapsed,
        first_response_breached=fr_elapsed > fr_target,
        responded=responded,
        resolution_due_us=res_due,
        resolution_elapsed_us=res_elapsed,
        resolution_remaining_us=res_target - res_elapsed,
        resolution_breached=res_elapsed > res_target,
        resolved=resolved,
        paused=paused,
    )


def _clock(calendar: BusinessCalendar | None, lo: int, hi: int, most_us: int,
           need_us: int = 0) -> Clock:
    if calendar is None:
        return WallClock()
    if not any(calendar.weekly) and not calendar.workdays:
        raise InvalidValueError("calendar", "must have working hours on some weekday", calendar)
    weekly_us = sum(e - s for day in calendar.weekly for s, e in day) * 60_000_000
    # enough calendar for the longest target, with room for holiday runs
    span = 86_400_000_000 * 30 + (most_us * 7 * 86_400_000_000) // max(weekly_us, 1) * 2
    for _ in range(_MAX_EXTEND):
        timeline = calendar._timeline(lo, hi + span)
        if timeline.total_us and timeline.business_us(np.asarray([hi]))[0] + most_us <= \
                timeline.total_us and need_us <= timeline.total_us:
            return timeline
        span *= 2
    raise InvalidValueError("calendar", "leaves too few working hours to reach the SLA targets",
                            calendar)
