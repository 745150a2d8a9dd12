"""Service care flows: satisfaction surveys and complaint callback reminders, through touch.

The flows follow the care-flow shape (``flow(<sources>, *, start, as_of, ctx, …)``, the
messages due in ``start < due <= as_of``); the send policy (quiet hours, caps), the
outbox (one message per key, so a survey goes out at most once per order) and the
dispatcher deliver them. :func:`service_guard` re-checks at dispatch time what may have
changed since a message was enqueued (an opt-out, a closed ticket), and
:func:`record_survey_reply` stores a reply's score against the order or ticket the
survey asked about. See docs/service.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.service import (
    CallbackTask,
    RecordOutcome,
    ScoreStore,
    SurveyScale,
    Ticket,
    TicketKind,
    TicketState,
    callback_task,
    score_reply,
)
from ecrm.touch._compose import STANDARD_VARIABLES, Template
from ecrm.touch._message import ChannelKind, Message, MessageClass, Recipient
from ecrm.touch._optout import OptOutLookup
from ecrm.touch._outbox import Guard
from ecrm.touch.flows._care import FlowContext, _as_list, _emit, _window
from ecrm.touch.flows._events import OrderEventKind, OrderEvents

__all__ = [
    "SERVICE_TEMPLATES",
    "callback_reminders",
    "record_survey_reply",
    "satisfaction_surveys",
    "service_guard",
    "ticket_surveys",
]

_VARIABLES: Final = STANDARD_VARIABLES | {"ticket_id"}

#: The default Chinese templates of the service flows (override per key in
#: :class:`FlowContext` ``templates``): ``satisfaction_survey`` (CSAT after shipping),
#: ``satisfaction_survey_nps`` (its NPS form), ``ticket_survey`` and ``ticket_survey_nps``
#: (after a ticket is resolved). Variables: the standard ones plus ``ticket_id``.
SERVICE_TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType({
    "satisfaction_survey": Template(
        "{customer_name}，订单{order_id}的购物体验您满意吗？请回复1-5分（5分非常满意）",
        variables=_VARIABLES),
    "satisfaction_survey_nps": Template(
        "{customer_name}，您有多大可能把{store_name}推荐给朋友？请回复0-10分（订单{order_id}）",
        variables=_VARIABLES),
    "ticket_survey": Template(
        "{customer_name}，您的售后问题（工单{ticket_id}）已处理，对本次服务满意吗？请回复1-5分",
        variables=_VARIABLES),
    "ticket_survey_nps": Template(
        "{customer_name}，经过本次售后服务（工单{ticket_id}），您有多大可能把{store_name}"
        "推荐给朋友？请回复0-10分", variables=_VARIABLES),
})

#: Message types that are surveys (an opted-out address gets none of them).
_SURVEY_TYPES: Final = frozenset({"satisfaction_survey", "ticket_survey"})
_SHIPPED: Final = np.asarray([OrderEventKind.SHIPPED.code,
                              OrderEventKind.MULTI_WAREHOUSE_SHIPPED.code], dtype=np.int8)
_STOPS: Final = np.asarray([OrderEventKind.REFUNDED.code, OrderEventKind.CLOSED.code],
                           dtype=np.int8)
_NEVER: Final = np.iinfo(np.int64).max


def _with_service_templates(ctx: FlowContext) -> FlowContext:
    if not isinstance(ctx, FlowContext):
        raise InvalidTypeError(f"ctx must be a FlowContext, got {type(ctx).__name__}")
    # the context's own templates (defaults and the shop's overrides) win over ours
    return attrs.evolve(ctx, templates={**SERVICE_TEMPLATES, **ctx.templates})


def _scale(value: object) -> SurveyScale:
    try:
        return SurveyScale(str(value).strip().lower())
    except ValueError:
        raise InvalidValueError("scale", "must be 'csat' or 'nps'", value) from None


def _delay_us(field: str, value: object) -> int:
    if not isinstance(value, dt.timedelta):
        raise InvalidTypeError(f"{field} must be a timedelta, got {type(value).__name__}")
    if value < dt.timedelta(0):
        raise InvalidValueError(field, "must be a timedelta >= 0", value)
    return value // dt.timedelta(microseconds=1)


def _not_opted_out(messages: list[Message], opt_outs: OptOutLookup | None) -> list[Message]:
    if opt_outs is None:
        return messages
    return [m for m in messages if not opt_outs.is_opted_out(m.address, m.channel)]


# -- the survey after shipping (发货后24小时发送调研问卷) -----------------------------------
def satisfaction_surveys(
    events: OrderEvents,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    after: dt.timedelta = dt.timedelta(hours=24),
    scale: SurveyScale | str = SurveyScale.CSAT,
    opt_outs: OptOutLookup | None = None,
) -> list[Message]:
    """A satisfaction survey ``after`` (default 24 h) an order first shipped.

    An order's survey falls due ``after`` its first shipping event in the feed (shipped or
    multi-warehouse shipped; a repeated or second-parcel event does not move it), counted
    in elapsed time, so across a DST change it lands an hour earlier or later on the wall
    clock; the send policy then holds it out of quiet hours in the recipient's zone. An
    order refunded or closed (per the feed) at or before that moment gets none. Each
    order's survey has the key ``care:satisfaction_survey:order-<id>``, so the outbox
    keeps at most one per order however often the flow runs.

    Args:
        events: the order events (shipping, refund and close events are read).
        start, as_of: the window of due moments, ``start < due <= as_of`` (aware).
        ctx: addressing and templates (``satisfaction_survey`` for CSAT,
            ``satisfaction_survey_nps`` for NPS; see :data:`SERVICE_TEMPLATES`).
        after: the delay after shipping (>= 0).
        scale: ``"csat"`` (1–5) or ``"nps"`` (0–10); stored in the message metadata for
            :func:`record_survey_reply`.
        opt_outs: addresses that opted out (``T`` / ``TD`` / 退订): they get no survey.

    Returns:
        CARE messages of type ``satisfaction_survey``, deduped per order, ``not_before``
        the due moment, in due order; metadata ``order_id``, ``survey_target``
        (``"order"``), ``survey_id`` and ``survey_scale``.

    Raises:
        InvalidValueError: ``start`` after ``as_of``, a negative delay or an unknown scale.
        InvalidTypeError: ``ctx`` is not a FlowContext, ``after`` not a timedelta.
    """
    s, a = _window(start, as_of)
    delay = _delay_us("after", after)
    scale_ = _scale(scale)
    ctx = _with_service_templates(ctx)
    ship = np.flatnonzero(np.isin(events.kind_codes, _SHIPPED))
    if not len(ship):
        return []
    orders, inverse = np.unique(events.order_ids[ship], return_inverse=True)
    first = np.full(len(orders), _NEVER, dtype=np.int64)
    np.minimum.at(first, inverse, events.at_us[ship])
    # one event row per order: its first shipping event
    at_first = events.at_us[ship] == first[inverse]
    _, keep = np.unique(inverse[at_first], return_index=True)
    rows = ship[at_first][keep]
    due = first + delay
    stop = np.full(len(orders), _NEVER, dtype=np.int64)
    stops = np.flatnonzero(np.isin(events.kind_codes, _STOPS))
    if len(stops):
        pos = np.minimum(np.searchsorted(orders, events.order_ids[stops]), len(orders) - 1)
        hit = orders[pos] == events.order_ids[stops]
        np.minimum.at(stop, pos[hit], events.at_us[stops][hit])
    chosen = np.flatnonzero((due > s) & (due <= a) & (stop > due))
    chosen = chosen[np.argsort(due[chosen], kind="stable")]
    oids = [str(o) for o in _as_list(orders[chosen])]
    parts = [f"order-{o}" for o in oids]
    template = "satisfaction_survey" if scale_ is SurveyScale.CSAT else "satisfaction_survey_nps"
    out = _emit(ctx, "satisfaction_survey", MessageClass.CARE,
                events.customer_ids[rows[chosen]], due[chosen], as_of, parts=parts,
                values=[{"order_id": o} for o in oids], dedupe=parts,
                metadata=[{"order_id": o, "survey_target": "order", "survey_id": o,
                           "survey_scale": scale_.value} for o in oids],
                template=template)
    return _not_opted_out(out, opt_outs)


# -- the survey after a ticket is resolved (工单回访) --------------------------------------
def ticket_surveys(
    tickets: Iterable[Ticket],
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    after: dt.timedelta = dt.timedelta(hours=1),
    scale: SurveyScale | str = SurveyScale.CSAT,
    opt_outs: OptOutLookup | None = None,
) -> list[Message]:
    """A satisfaction survey ``after`` (default 1 h) a ticket was resolved.

    Due at the ticket's (last) resolution plus ``after``, if the ticket is still resolved
    or closed then (a reopened ticket is surveyed after its next resolution; the key
    ``care:ticket_survey:ticket-<id>`` keeps it to one survey per ticket in the outbox).

    Args:
        tickets: the tickets (snapshots as of ``as_of`` or later).
        start, as_of: the window of due moments (aware).
        ctx: addressing and templates (``ticket_survey`` / ``ticket_survey_nps``).
        after: the delay after resolution (>= 0).
        scale: ``"csat"`` or ``"nps"``.
        opt_outs: addresses that opted out get no survey.

    Returns:
        CARE messages of type ``ticket_survey``, in due order; metadata ``ticket_id``,
        ``order_id`` (when the ticket has one), ``survey_target`` (``"ticket"``),
        ``survey_id`` and ``survey_scale``.

    Raises:
        InvalidValueError: ``start`` after ``as_of``, a negative delay or an unknown scale.
    """
    s, a = _window(start, as_of)
    delay = _delay_us("after", after)
    scale_ = _scale(scale)
    ctx = _with_service_templates(ctx)
    found: list[tuple[int, Ticket]] = []
    for t in tickets:
        if t.resolved_at is None or t.state not in (TicketState.RESOLVED, TicketState.CLOSED):
            continue
        due = datetime_to_us(t.resolved_at) + delay
        if s < due <= a:
            found.append((due, t))
    found.sort(key=lambda item: (item[0], item[1].ticket_id))
    ids = [t.ticket_id for _, t in found]
    parts = [f"ticket-{i}" for i in ids]
    meta = []
    for _, t in found:
        m = {"ticket_id": t.ticket_id, "survey_target": "ticket", "survey_id": t.ticket_id,
             "survey_scale": scale_.value}
        if t.order_id:
            m["order_id"] = t.order_id
        meta.append(m)
    customers = _customer_ids([t.customer_id for _, t in found], ctx)
    out = _emit(ctx, "ticket_survey", MessageClass.CARE, customers,
                np.asarray([d for d, _ in found], dtype=np.int64), as_of, parts=parts,
                values=[{"ticket_id": i, "order_id": t.order_id or ""} for i, (_, t)
                        in zip(ids, found, strict=True)],
                dedupe=parts, metadata=meta,
                template="ticket_survey" if scale_ is SurveyScale.CSAT else "ticket_survey_nps")
    return _not_opted_out(out, opt_outs)


def _customer_ids(ids: list[str], ctx: FlowContext) -> npt.NDArray[Any]:
    """Ticket customer ids (text) as the customer table keys them (int tables: ints)."""
    table = ctx.customers
    if table is not None and table.customer_ids.dtype.kind in "iu":
        return np.asarray([int(i) if i.lstrip("-").isdigit() else -1 for i in ids],
                          dtype=np.int64)
    return np.asarray(ids, dtype=str).reshape(len(ids))


# -- the operator's callback reminder (投诉48小时内电话回访) --------------------------------
def callback_reminders(
    tickets: Iterable[Ticket],
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    operators: Mapping[str, Recipient],
    fallback: Recipient | None = None,
    within: dt.timedelta = dt.timedelta(hours=48),
    lead: dt.timedelta | None = None,
    kinds: Iterable[TicketKind | str] = (TicketKind.COMPLAINT,),
    channel: ChannelKind | None = None,
) -> list[Message]:
    """Reminders to the operator who owes a complaining customer a callback.

    Each complaint (a ticket of ``kinds``) owes a callback due ``within`` of its creation
    (:func:`~ecrm.service.callback_task`). Its reminder falls due when the task exists
    (the complaint's creation), or with a ``lead`` that long before the callback is due
    (never before the complaint). Tickets closed by ``as_of`` get none. The
    reminder goes to ``operators[ticket.assignee]``, else to ``fallback`` (the team lead),
    else nobody. It carries ``expires_at`` = the callback's due time, so the send policy
    skips a reminder that could only go out after the callback was due.

    Args:
        tickets: the tickets.
        start, as_of: the window of reminder moments (aware).
        ctx: the composer (SMS) and zone (the due time in the text is the store's).
        operators: assignee → the operator's :class:`~ecrm.touch.Recipient` (an id such as
            ``"op-小王"``, a phone for SMS).
        fallback: who gets reminders of unassigned tickets (or of unknown assignees).
        within: how long the shop gives itself for the callback (default 48 h).
        lead: remind this long before the callback is due (``None``: at once).
        kinds: the ticket kinds that owe a callback.
        channel: the channel (default ``ctx.channel``); an operator without an address
            on it gets nothing.

    Returns:
        TRANSACTIONAL messages of type ``callback_reminder`` keyed
        ``care:callback_reminder:ticket-<id>``, in reminder order; metadata
        ``ticket_id``, ``customer_id``, ``due_at``, ``expires_at``, ``expiry``.

    Raises:
        InvalidValueError: ``start`` after ``as_of``, ``within`` not positive, a negative
            ``lead``, an operator that is not a Recipient, an unknown ticket kind.
        InvalidTypeError: ``ctx`` is not a FlowContext, ``operators`` not a mapping, a
            ticket not a Ticket, ``channel`` not a ChannelKind.
    """
    _v.check_instance("ctx", ctx, FlowContext)
    _v.check_instance("operators", operators, Mapping)
    if channel is not None:
        _v.check_instance("channel", channel, ChannelKind)
    tickets = _v.check_items("tickets", tickets, Ticket)
    s, a = _window(start, as_of)
    if not isinstance(within, dt.timedelta) or within <= dt.timedelta(0):
        raise InvalidValueError("within", "must be a positive timedelta", within)
    lead_us = None if lead is None else _delay_us("lead", lead)
    for name, who in [*operators.items(), ("fallback", fallback)]:
        if who is not None and not isinstance(who, Recipient):
            raise InvalidValueError(f"operators[{name!r}]", "must be a Recipient", who)
    wanted = {_ticket_kind(i, k) for i, k in enumerate(kinds)}
    kind_of = channel or ctx.channel
    zone = ctx.zone
    out: list[tuple[int, str, Message]] = []
    for t in tickets:
        if t.kind not in wanted:
            continue
        task = callback_task(t, within=within)
        opened = datetime_to_us(t.created_at)
        due = datetime_to_us(task.due_at)
        at = opened if lead_us is None else max(opened, due - lead_us)
        if not s < at <= a:
            continue
        if t.closed_at is not None and datetime_to_us(t.closed_at) <= a:
            continue  # closed by now: nothing to remind of
        who = operators.get(t.assignee or "", fallback) if t.assignee else fallback
        if who is None:
            continue
        message = _reminder(t, attrs.evolve(task, due_at=task.due_at.astimezone(zone)), who,
                            kind_of, ctx, at, as_of)
        if message is not None:
            out.append((at, t.ticket_id, message))
    out.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in out]


def _ticket_kind(i: int, kind: TicketKind | str) -> TicketKind:
    try:
        return TicketKind(kind)
    except ValueError:
        raise InvalidValueError(f"kinds[{i}]", "must be a TicketKind or its value "
                                f"({', '.join(k.value for k in TicketKind)})", kind) from None


def _reminder(ticket: Ticket, task: CallbackTask, who: Recipient, channel: ChannelKind,
              ctx: FlowContext, at_us: int, as_of: dt.datetime) -> Message | None:
    address = {ChannelKind.SMS: who.phone, ChannelKind.EMAIL: who.email}.get(
        channel, str(who.customer_id))
    if not address:
        return None
    text = task.reminder()
    body = (ctx.composer.compose(text, MessageClass.TRANSACTIONAL).text
            if channel is ChannelKind.SMS else text)
    due = task.due_at.isoformat()
    meta = {"ticket_id": ticket.ticket_id, "customer_id": ticket.customer_id, "due_at": due,
            "expires_at": due, "expiry": "callback due"}
    if ticket.order_id:
        meta["order_id"] = ticket.order_id
    part = f"ticket-{ticket.ticket_id}"
    return Message(
        key=f"care:callback_reminder:{part}", message_type="callback_reminder",
        message_class=MessageClass.TRANSACTIONAL, channel=channel, recipient=who, body=body,
        created_at=as_of, dedupe_key=part,
        not_before=us_to_datetime(at_us, ctx.zone), metadata=meta)


# -- the dispatch-time re-check --------------------------------------------------------------
def service_guard(
    *,
    opt_outs: OptOutLookup | None = None,
    ticket_state: Callable[[str], TicketState | None] | None = None,
) -> Guard:
    """A dispatch-time guard for the service flows: ``guard(message, now)`` → reason or
    ``None``.

    A survey (``satisfaction_survey``, ``ticket_survey``) to an address that has opted
    out on its channel since the flow ran is skipped; a callback reminder whose ticket is
    closed now (``ticket_state(ticket_id)``, e.g. a ticket store's ``get``) is skipped.
    Other messages pass. Give it to :class:`~ecrm.touch.Dispatcher` as ``guard=``.

    Args:
        opt_outs: the opt-out registry (the live one: it is asked at dispatch time).
        ticket_state: a ticket's current state (``None`` or a ``KeyError`` such as
            :class:`~ecrm.service.UnknownTicketError` when unknown: the reminder goes).

    Raises:
        InvalidTypeError: ``ticket_state`` is not callable.
    """
    if ticket_state is not None and not callable(ticket_state):
        raise InvalidTypeError(f"ticket_state must be callable, got {type(ticket_state).__name__}")

    def guard(message: Message, now: dt.datetime) -> str | None:
        if message.message_type in _SURVEY_TYPES and opt_outs is not None and \
                opt_outs.is_opted_out(message.address, message.channel):
            return f"address opted out on {message.channel.name}: no survey"
        if message.message_type == "callback_reminder" and ticket_state is not None:
            tid = message.meta("ticket_id") or ""
            try:
                state = ticket_state(tid)
            except KeyError:  # a store's UnknownTicketError: unknown, so it goes
                state = None
            if state is TicketState.CLOSED:
                return f"ticket {tid} is closed"
        return None

    return guard


# -- replies ------------------------------------------------------------------------------
def record_survey_reply(
    store: ScoreStore,
    survey: Message,
    text: str,
    *,
    replied_at: dt.datetime,
    reply_id: str | None = None,
    group: str = "",
) -> RecordOutcome | None:
    """Read a reply to a survey message as a score and store it against its order or ticket.

    Args:
        store: a score store (:class:`~ecrm.service.SqliteScoreStore` …).
        survey: the survey message the customer answered (from the outbox).
        text: the reply (``"5"``, ``"非常满意"``, ``"9分"``).
        replied_at: when it came in (aware).
        reply_id: the gateway's id of the inbound message (see
            :func:`~ecrm.service.score_reply`).
        group: a product category or channel to split figures by.

    Returns:
        What the store did (:class:`~ecrm.service.RecordOutcome`; recording the same reply
        twice gives ``DUPLICATE`` and counts once), or ``None`` when the reply holds no
        score (nothing stored).

    Raises:
        InvalidValueError: ``survey`` is not a survey message (no ``survey_*`` metadata).
        InvalidTypeError: ``survey`` is not a Message; ``store`` has no ``record`` method.
    """
    _v.check_instance("survey", survey, Message)
    if not callable(getattr(store, "record", None)):
        raise InvalidTypeError(f"store must be a ScoreStore (with a record method), "
                               f"got {type(store).__name__}")
    require_aware(replied_at, "replied_at")
    target, sid, scale = (survey.meta("survey_target"), survey.meta("survey_id"),
                          survey.meta("survey_scale"))
    if target is None or sid is None or scale is None:
        raise InvalidValueError("survey", "must be a survey message (with survey_target, "
                                "survey_id and survey_scale metadata)", survey.key)
    score = score_reply(text, target=target, target_id=sid,
                        customer_id=str(survey.recipient.customer_id), replied_at=replied_at,
                        scale=scale, reply_id=reply_id, group=group)
    return None if score is None else store.record(score)
