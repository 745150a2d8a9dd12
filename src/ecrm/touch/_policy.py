"""The send policy: a pure, explainable decision per candidate message.

``SendPolicy.decide(message, as_of=..., context=...)`` returns :class:`Send`,
:class:`Defer` (with the next allowed moment) or :class:`Skip` (with the reason), each
carrying a ``trace`` of the rule checks made. Everything the decision depends on (send
history, opt-outs, block list, membership) comes in through :class:`PolicyContext`; the
policy itself does no I/O and never reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeAlias

import attrs

from ecrm._deprecate import renamed_kwarg
from ecrm._time import DEFAULT_TZ, MAX_YEAR, MIN_YEAR, as_zone, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._context import PolicyContext, SendHistory, SendLog
from ecrm.touch._decision import Decision, Defer, RuleCheck, Send, Skip
from ecrm.touch._message import ChannelKind, Message, MessageClass
from ecrm.touch._rules import (
    ClassRules,
    FrequencyCap,
    LocalTimeRange,
    OnBlocked,
    care_defaults,
    marketing_defaults,
    transactional_defaults,
)
from ecrm.touch._type_rules import (
    DEFAULT_REST_HOURS,
    DEFAULT_TYPE_RULES,
    TimeRules,
    as_type_rules,
    logistics_rules,
    payment_reminder_rules,
)

# The policy's rules, history and decisions lived in this module before it was split, and
# pickles written then name it: it re-exports them (see __all__).
__all__ = [
    "DEFAULT_REST_HOURS",
    "DEFAULT_TYPE_RULES",
    "ClassRules",
    "Decision",
    "Defer",
    "FrequencyCap",
    "LocalTimeRange",
    "OnBlocked",
    "PolicyContext",
    "RuleCheck",
    "Send",
    "SendHistory",
    "SendLog",
    "SendPolicy",
    "Skip",
    "TimeRules",
    "logistics_rules",
    "payment_reminder_rules",
]

_MINUTE: Final = dt.timedelta(minutes=1)
_UTC: Final = dt.UTC
#: The default context: nothing sent, no opt-out list, no block list, membership unknown.
_NO_CONTEXT: Final = PolicyContext()


def _utc_in_range(now: object) -> bool:
    """The hot path's test: ``now`` is already a UTC datetime that needs no checking."""
    return (
        type(now) is dt.datetime and now.tzinfo is _UTC and MIN_YEAR <= now.year <= MAX_YEAR
    )


# Passing checks are shared constants: a decision allocates only for what failed.
_OK_BLOCK: Final = RuleCheck("block_list", True, "not on the block list")
_OK_CONSENT: Final = RuleCheck("consent", True, "consent recorded")
_OK_OPT_OUT: Final = RuleCheck("opt_out", True, "not opted out on this channel")
_OK_MEMBER: Final = RuleCheck("members_only", True, "is a member")
_OK_DEDUPE: Final = RuleCheck("dedupe", True, "not sent before")
_OK_FRESH: Final = RuleCheck("max_lateness", True, "not stale")
_OK_CAPS: Final = RuleCheck("frequency_cap", True, "under every cap")
_OK_WINDOW: Final = RuleCheck("time_window", True, "inside the allowed local time")
_OK_NO_WINDOW: Final = RuleCheck("time_window", True, "no time rules for this class")
_OK_WINDOW_THEN: Final = RuleCheck("time_window", True, "the due minute is allowed")
_NO_ZONE: Final = RuleCheck("time_window", False, "no time zone known for the recipient or store")
#: What the rules and their caches are keyed by: a class, or (message type, class).
_RulesKey: TypeAlias = MessageClass | tuple[str, MessageClass]
# the order of the static checks (a prefix of passed checks ends before a stage)
_BLOCK, _CONSENT, _OPT_OUT, _MEMBERS, _DEDUPE, _FRESH, _END = range(7)


if len(MessageClass) != 3:  # pragma: no cover - the hot path picks a plan by identity
    raise AssertionError("SendPolicy._decide knows three message classes")
_TRANSACTIONAL: Final = MessageClass.TRANSACTIONAL
_CARE: Final = MessageClass.CARE
_MARKETING: Final = MessageClass.MARKETING
_SMS: Final = ChannelKind.SMS
_NO_ADDRESS: Final = {c: f"recipient has no {c.name} address" for c in ChannelKind}
_OPTED_OUT: Final = {c: f"address opted out of marketing on {c.name}" for c in ChannelKind}


class _Plan:
    """What :meth:`SendPolicy.decide` reads of one rules key, derived once.

    ``tick`` holds what depends only on the decision instant, for the last instant seen:
    ``(now, since per cap, staleness bound)``; a bound of ``None`` (out of the datetime
    range) means compare durations instead.
    """

    __slots__ = ("block", "caps", "consent", "dedupe", "flags", "key", "lateness", "members",
                 "opt_out", "refusal", "refusals", "rules", "sends", "skip", "tick", "timed")

    def __init__(self, key: _RulesKey, rules: ClassRules, sends: tuple[Send, Send]) -> None:
        self.key = key
        self.rules = rules
        self.block = rules.respect_block_list
        self.consent = rules.requires_consent
        self.opt_out = rules.respect_opt_out
        self.members = rules.members_only
        self.dedupe = rules.dedupe
        self.lateness = rules.max_lateness
        self.caps = rules.caps
        self.timed = rules.has_time_rules
        self.flags = rules._flags
        self.skip = rules.on_blocked is OnBlocked.SKIP
        self.sends = sends  # indexed by "the dedupe check ran"
        self.refusal: Skip | None = None
        self.refusals: dict[str, Skip] = {}
        self.tick: tuple[dt.datetime | None, tuple[dt.datetime, ...] | None,
                         dt.datetime | None] = (None, None, None)

    @classmethod
    def refusing(cls, key: _RulesKey, refusal: Skip) -> _Plan:
        """A plan that refuses every message (its windows share no minute)."""
        plan = cls(key, ClassRules(), (Send(), Send()))
        plan.refusal = refusal
        return plan

    def at(self, now: dt.datetime) -> tuple[dt.datetime, tuple[dt.datetime, ...] | None,
                                            dt.datetime | None]:
        """The instant-dependent values at ``now``."""
        try:
            sinces: tuple[dt.datetime, ...] | None = tuple(now - c.period for c in self.caps)
        except OverflowError:  # the reference path raises it where it computes the bound
            sinces = None
        bound = None
        if self.lateness is not None:
            try:
                bound = now - self.lateness
            except OverflowError:
                bound = None
        return now, sinces, bound


def _check_rules(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ClassRules):
        raise InvalidTypeError(f"{attribute.name} must be ClassRules, got {value!r}")


def _check_store_tz(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        as_zone(value, "store_tz")  # type: ignore[arg-type]


@attrs.frozen
class SendPolicy:
    """Per-class and per-type rules plus the store's time zone; decides each candidate.

    Defaults: marketing goes to members who have not opted out, 08:00–21:00 local time,
    at most 1 per day and 3 per 7 days per channel, deferred at most 24 h; care messages
    08:00–21:00, deferred at most 2 days; transactional messages at any time, except the
    types of :data:`DEFAULT_TYPE_RULES`: payment reminders (催付) and logistics notices
    wait out the rest hours 22:00–08:00. All classes honour the block list and dedupe.
    A message whose ``expires_at`` metadata (an aware ISO time) has passed, or would
    pass before the next allowed moment, is skipped (rule ``expiry``; an ``expiry``
    metadata value says why, e.g. ``order auto-close``).

    >>> import datetime as dt
    >>> from ecrm.touch import ChannelKind, Message, MessageClass, Recipient
    >>> policy = SendPolicy()
    >>> msg = Message("mkt:1212:c1", "broadcast", MessageClass.MARKETING, ChannelKind.SMS,
    ...               Recipient("c1", phone="13800000000"), "【小林茶铺】上新回T退订",
    ...               created_at=dt.datetime(2026, 12, 12, 13, tzinfo=dt.UTC))
    >>> policy.decide(msg, as_of=msg.created_at, context=PolicyContext(members={"c1"})).reason
    'opt-out list not provided: cannot prove the address did not opt out'

    Attributes:
        transactional, care, marketing: the rules for each class.
        store_tz: the zone used when the recipient's is unknown; ``None`` means classes
            with time rules skip recipients without a zone.
        by_type: time rules per message type (per flow), replacing the class's window
            for messages of that type (default :data:`DEFAULT_TYPE_RULES`; ``{}`` for
            none); the class's other rules still apply.
    """

    transactional: ClassRules = attrs.field(factory=transactional_defaults, validator=_check_rules)
    care: ClassRules = attrs.field(factory=care_defaults, validator=_check_rules)
    marketing: ClassRules = attrs.field(factory=marketing_defaults, validator=_check_rules)
    store_tz: str | None = attrs.field(default=DEFAULT_TZ, validator=_check_store_tz)
    by_type: Mapping[str, TimeRules] = attrs.field(default=DEFAULT_TYPE_RULES,
                                                   converter=as_type_rules)
    _by_class: dict[_RulesKey, ClassRules] = attrs.field(init=False, repr=False, eq=False)
    # caches for the hot path (pure functions of their keys, so they do not affect equality)
    _zones: dict[str, dt.tzinfo] = attrs.field(init=False, repr=False, eq=False, factory=dict)
    _minutes: dict[tuple[dt.datetime, dt.tzinfo], int] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _next: dict[tuple[dt.datetime, dt.tzinfo, _RulesKey], dt.datetime] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _prefixes: dict[tuple[_RulesKey, int, bool], tuple[RuleCheck, ...]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _sends: dict[tuple[_RulesKey, bool], Send] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _closed: dict[tuple[int, dt.tzinfo], tuple[tuple[RuleCheck], str, str]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _isos: dict[dt.datetime, str] = attrs.field(init=False, repr=False, eq=False, factory=dict)
    _plans: dict[str, tuple[_Plan, _Plan, _Plan]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _locals: dict[str, tuple[dt.datetime, dt.tzinfo, int]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _defers: dict[tuple[dt.datetime, dt.tzinfo, _RulesKey, bool, bool], Defer] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    @_by_class.default
    def _index(self) -> dict[_RulesKey, ClassRules]:
        # keyed by class, and (filled on first use) by (type, class) for the types with
        # their own window
        return {
            MessageClass.TRANSACTIONAL: self.transactional,
            MessageClass.CARE: self.care,
            MessageClass.MARKETING: self.marketing,
        }

    def _merged(self, key: tuple[str, MessageClass]) -> ClassRules:
        """The class's rules narrowed by the type's window (cached).

        Raises:
            InvalidValueError: the two windows share no minute of the day.
        """
        rules = self._by_class.get(key)
        if rules is None:
            rules = self._by_class[key] = self.by_type[key[0]].apply_to(self._by_class[key[1]])
        return rules

    def rules_for(self, message_class: MessageClass) -> ClassRules:
        """The rules of ``message_class``."""
        return self._by_class[message_class]

    def rules_of(self, message: Message) -> ClassRules:
        """The rules that decide ``message``: its class's, with its type's window when
        ``by_type`` has one."""
        mtype, cls = message.message_type, message.message_class
        return self._merged((mtype, cls)) if mtype in self.by_type else self._by_class[cls]

    def zone_for(self, message: Message) -> dt.tzinfo | None:
        """The zone the time rules use: the recipient's, else the store's, else ``None``."""
        tz = message.recipient.tz or self.store_tz
        if tz is None:
            return None
        zone = self._zones.get(tz)
        if zone is None:
            zone = self._zones[tz] = as_zone(tz)
        return zone

    def _local_minute(self, now: dt.datetime, zone: dt.tzinfo) -> int:
        # many decisions share one `now` (a dispatcher tick): convert once per zone
        key = (now, zone)
        minute = self._minutes.get(key)
        if minute is None:
            if len(self._minutes) > 256:
                self._minutes.clear()
            local = now.astimezone(zone)
            minute = self._minutes[key] = local.hour * 60 + local.minute
        return minute

    @renamed_kwarg("now", "as_of")
    def decide(self, message: Message, *, as_of: dt.datetime,
               context: PolicyContext = _NO_CONTEXT) -> Decision:
        """Decide whether ``message`` may be sent at ``as_of``.

        Checks, in order: block list, consent, opt-out, membership, dedupe, staleness,
        ``not_before``, frequency caps, local time rules; the first hard refusal skips,
        soft ones (time, caps, not yet due) defer to the next allowed minute or skip per
        the class's ``on_blocked`` (a message not due yet is deferred to its due minute
        even under SKIP, unless that minute is blocked); a deferral beyond
        ``max_lateness`` skips.

        Args:
            message: the candidate.
            as_of: the decision instant (aware); ``now=`` is its deprecated alias.
            context: history, opt-outs, block list, membership.

        Returns:
            :class:`Send`, :class:`Defer` (``until`` in the recipient's zone, a whole
            allowed minute) or :class:`Skip`; each with its ``trace``.
        """
        now = as_of
        if not _utc_in_range(now):
            # UTC keys the caches safely: equal wall times in a DST fold are equal (and
            # hash alike) within their own zone although they are different instants
            now = require_aware(now, "as_of").astimezone(_UTC)
        return self._decide(message, now, context)

    def _decide(self, message: Message, now: dt.datetime, context: PolicyContext) -> Decision:
        """:meth:`decide` at a UTC ``now``: the hot path, reading one :class:`_Plan`.

        Same checks, order, decisions and traces as
        :func:`ecrm.touch._policy_reference.decide_reference`; what does
        not depend on the message is derived once per rules key (the plan) or once per
        instant (cap windows, the staleness bound, each zone's local minute), and
        refusals whose text is static are shared objects.
        """
        plans = self._plans.get(message.message_type)
        if plans is None:
            plans = self._plans_of(message.message_type)
        mclass = message.message_class
        plan = (plans[0] if mclass is _TRANSACTIONAL else plans[1] if mclass is _CARE
                else plans[2])
        if plan.refusal is not None:  # the type's and the class's windows share no minute
            return plan.refusal
        cls = plan.key
        recipient = message.recipient
        cid = recipient.customer_id
        if plan.block and cid in context.blocked:
            return self._shared_refusal(plan, _BLOCK, "block_list",
                                        "customer is on the shop's block list")
        if plan.consent:
            if context.consented is None:
                return self._shared_refusal(plan, _CONSENT, "consent",
                                            "consent records not provided")
            if cid not in context.consented:
                return self._shared_refusal(plan, _CONSENT, "consent",
                                            "no consent recorded for the customer")
        if plan.opt_out:
            opt_outs = context.opt_outs
            if opt_outs is None:
                return self._shared_refusal(plan, _OPT_OUT, "opt_out", "opt-out list not "
                                            "provided: cannot prove the address did not "
                                            "opt out")
            channel = message.channel
            address = (recipient.phone if channel is _SMS else message.address) or ""
            if not address:
                return self._shared_refusal(plan, _OPT_OUT, "opt_out",
                                            _NO_ADDRESS[channel])
            if opt_outs.is_opted_out(address, channel):
                return self._shared_refusal(plan, _OPT_OUT, "opt_out", _OPTED_OUT[channel])
        if plan.members:
            if context.members is None:
                return self._shared_refusal(plan, _MEMBERS, "members_only",
                                            "membership not provided")
            if cid not in context.members:
                return self._shared_refusal(plan, _MEMBERS, "members_only",
                                            "customer is not a member")
        history = context.history
        deduped = False
        dedupe_key = message.dedupe_key
        if plan.dedupe and dedupe_key is not None:
            deduped = True
            if history.has_sent(message.message_type, dedupe_key):
                return self._refuse(cls, _DEDUPE, False, "dedupe", f"a {message.message_type} "
                                    f"for {dedupe_key!r} was already sent")
        tick = plan.tick
        if tick[0] is not now:
            # one tuple, swapped whole, so threads sharing the policy never mix instants
            tick = plan.tick = plan.at(now)
        not_before = message.not_before
        origin = not_before or message.created_at
        lateness = plan.lateness
        if lateness is not None and (origin < tick[2] if tick[2] is not None
                                     else now - origin > lateness):
            return self._refuse(cls, _FRESH, deduped, "max_lateness",
                                f"stale: due {origin.isoformat()}, more than {lateness} ago")
        expires: dt.datetime | None = None
        if message.metadata:
            expires, refusal = _expiry(message, now)
            if refusal is not None:
                return Skip(refusal.detail, (*self._prefix(cls, _END, deduped), refusal))

        extra: list[RuleCheck] | None = None  # checks beyond the static prefix
        earliest = now
        why = ""
        if not_before is not None and not_before > now:
            earliest, why = not_before, "not due yet"
            extra = [RuleCheck("not_before", False, f"due at {earliest.isoformat()}")]
        caps_ok: tuple[RuleCheck, ...] = ()
        if plan.caps:
            capped = False
            channel = message.channel
            sinces = tick[1]
            if sinces is None:
                sinces = tuple(now - cap.period for cap in plan.caps)
            caps = plan.caps
            if type(history) is SendLog:
                # an in-memory log answers "nothing in any window" from its own list,
                # without a call per cap (the calls would each return ())
                sent = history._times.get((cid, channel, mclass))
                if not sent or sent[-1] <= min(sinces):
                    caps = ()
            for cap, since in zip(caps, sinces, strict=False):  # no since when caps = ()
                times = history.sent_times(cid, channel, mclass, since)
                if len(times) >= cap.max_count:
                    free_at = times[len(times) - cap.max_count] + cap.period
                    detail = f"{len(times)} sent in the last {cap.period} (cap {cap.max_count})"
                    extra = extra or []
                    extra.append(RuleCheck("frequency_cap", False, detail))
                    capped = True
                    if plan.skip:
                        return Skip(f"frequency cap reached: {detail}",
                                    self._prefix(cls, _END, deduped) + tuple(extra))
                    if free_at > earliest:
                        earliest, why = free_at, f"frequency cap reached: {detail}"
            if not capped:
                caps_ok = (_OK_CAPS,)
        window: tuple[RuleCheck, ...] = ()
        shared: tuple[dt.datetime, dt.tzinfo, _RulesKey, bool, bool] | None = None
        if plan.timed:
            tz = recipient.tz or self.store_tz
            if tz is None:
                return Skip("no time zone known for the recipient or store",
                            self._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok
                            + (_NO_ZONE,))
            local = self._locals.get(tz)
            if local is None or local[0] is not now:
                local = self._local_at(tz, now)
            zone = local[1]
            if earliest is now:
                minute = local[2]
                if plan.flags[minute]:
                    return plan.sends[deduped]
                closed = self._closed.get((minute, zone))
                if closed is None:
                    closed = self._closed_texts(minute, zone)
                window, short, long = closed
                if plan.skip:
                    return Skip(short, self._prefix(cls, _END, deduped) + tuple(extra or ())
                                + caps_ok + window)
                why = why or long
                if extra is None and expires is None:
                    # closed now, nothing else in the way: every such message of this
                    # rules key in this zone at this instant gets the same deferral
                    shared = (now, zone, cls, deduped, bool(caps_ok))
                    defer = self._defers.get(shared)
                    if defer is not None and (lateness is None
                                              or defer.until - origin <= lateness):
                        return defer
            # a tick defers many messages from the same instant in the same zone
            key = (earliest if earliest is now else earliest.astimezone(_UTC), zone, cls)
            until = self._next.get(key)
            if until is None:
                if len(self._next) > 4096:
                    self._next.clear()
                until = self._next[key] = plan.rules.next_allowed(earliest, zone)
            if earliest is not now:
                if until == _ceil_minute(earliest):
                    window = (_OK_WINDOW_THEN,)
                else:
                    window = (RuleCheck("time_window", False,
                                        f"{_ceil_minute(earliest).astimezone(zone):%H:%M}"
                                        f" local is outside the allowed time; next allowed "
                                        f"{until:%H:%M}"),)
        else:
            if earliest is now:
                return plan.sends[deduped]
            until = _ceil_minute(earliest)
        trace = self._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok + window
        if expires is not None and until >= expires:
            late = RuleCheck("expiry", False, f"the next allowed moment {self._iso(until)} is "
                             f"not before it expires at {_expiry_text(message)}")
            return Skip(f"{why}; it would go out after it expires at {_expiry_text(message)}",
                        (*trace, late))
        if plan.skip and until != _ceil_minute(earliest):
            # only "not due yet" gets here under SKIP (closed time and caps returned above):
            # wait for the due minute if it is allowed, but never past it
            return Skip(f"{why}; due at a blocked local time", trace)
        if lateness is not None and until - origin > lateness:
            late = RuleCheck("max_lateness", False,
                             f"next allowed moment {self._iso(until)} is more than "
                             f"{lateness} after {origin.isoformat()}")
            return Skip(f"{why}; deferring would be too late", (*trace, late))
        defer = Defer(until, why, trace)
        if shared is not None:
            if len(self._defers) > 4096:
                self._defers.clear()
            self._defers[shared] = defer
        return defer

    def _plans_of(self, message_type: str) -> tuple[_Plan, _Plan, _Plan]:
        """The plans of ``message_type`` for the transactional, care and marketing
        classes (cached)."""
        if len(self._plans) > 4096:
            self._plans.clear()
        plans = []
        for mclass in (_TRANSACTIONAL, _CARE, _MARKETING):
            key: _RulesKey = mclass
            if message_type in self.by_type:
                key = (message_type, mclass)
            try:
                rules = self._by_class[mclass] if key is mclass else self._merged(
                    (message_type, mclass))
            except InvalidValueError:
                reason = (f"the time window of {message_type} messages and that of "
                          f"the {mclass.name} class share no minute")
                plans.append(_Plan.refusing(key, Skip(reason, (RuleCheck("time_window", False,
                                                                          reason),))))
                continue
            plans.append(_Plan(key, rules, (self._send(key, False), self._send(key, True))))
        out = self._plans[message_type] = (plans[0], plans[1], plans[2])
        return out

    def _local_at(self, tz: str, now: dt.datetime) -> tuple[dt.datetime, dt.tzinfo, int]:
        """``(now, zone, local minute of the day)`` for the zone named ``tz`` (cached: a
        tick converts ``now`` once per zone)."""
        zone = self._zones.get(tz)
        if zone is None:
            zone = self._zones[tz] = as_zone(tz)
        if len(self._locals) > 256:
            self._locals.clear()
        local = now.astimezone(zone)
        out = self._locals[tz] = (now, zone, local.hour * 60 + local.minute)
        return out

    def _shared_refusal(self, plan: _Plan, stage: int, rule: str, reason: str) -> Skip:
        """A refusal whose text does not depend on the message: one object per plan."""
        skip = plan.refusals.get(reason)
        if skip is None:
            skip = plan.refusals[reason] = self._refuse(plan.key, stage, False, rule, reason)
        return skip

    def _closed_texts(self, minute: int, zone: dt.tzinfo) -> tuple[
        tuple[RuleCheck], str, str
    ]:
        """The trace entry and reasons for "closed at local ``minute`` in ``zone``"."""
        if len(self._closed) > 4096:
            self._closed.clear()
        hhmm = f"{minute // 60:02d}:{minute % 60:02d}"
        texts = (
            (RuleCheck("time_window", False, f"{hhmm} local is outside the allowed time"),),
            f"outside the allowed local time ({hhmm})",
            f"outside the allowed local time ({hhmm} {_zname(zone)})",
        )
        self._closed[(minute, zone)] = texts
        return texts

    def _iso(self, value: dt.datetime) -> str:
        text = self._isos.get(value)
        if text is None:
            if len(self._isos) > 4096:
                self._isos.clear()
            text = self._isos[value] = value.isoformat()
        return text

    def _prefix(self, cls: _RulesKey, stage: int,
                deduped: bool) -> tuple[RuleCheck, ...]:
        """The passing checks of ``cls`` before ``stage`` (cached; static per class)."""
        key = (cls, stage, deduped)
        prefix = self._prefixes.get(key)
        if prefix is None:
            rules = self._by_class[cls]
            enabled = (
                (_BLOCK, rules.respect_block_list, _OK_BLOCK),
                (_CONSENT, rules.requires_consent, _OK_CONSENT),
                (_OPT_OUT, rules.respect_opt_out, _OK_OPT_OUT),
                (_MEMBERS, rules.members_only, _OK_MEMBER),
                (_DEDUPE, deduped, _OK_DEDUPE),
                (_FRESH, rules.max_lateness is not None, _OK_FRESH),
            )
            prefix = self._prefixes[key] = tuple(
                check for at, on, check in enabled if on and at < stage
            )
        return prefix

    def _refuse(self, cls: _RulesKey, stage: int, deduped: bool, rule: str,
                reason: str) -> Skip:
        return Skip(reason, (*self._prefix(cls, stage, deduped), RuleCheck(rule, False, reason)))

    def _send(self, cls: _RulesKey, deduped: bool) -> Send:
        key = (cls, deduped)
        send = self._sends.get(key)
        if send is None:
            rules = self._by_class[cls]
            tail: tuple[RuleCheck, ...] = (_OK_CAPS,) if rules.caps else ()
            tail += (_OK_WINDOW if rules._has_time_rules else _OK_NO_WINDOW,)
            send = self._sends[key] = Send(self._prefix(cls, _END, deduped) + tail)
        return send

    @renamed_kwarg("now", "as_of")
    def decide_many(self, messages: Iterable[Message], *, as_of: dt.datetime,
                    context: PolicyContext = _NO_CONTEXT) -> list[Decision]:
        """:meth:`decide` for each message at the same ``as_of``, in order (``now=`` is
        its deprecated alias)."""
        now = require_aware(as_of, "as_of").astimezone(_UTC)
        decide = self._decide
        return [decide(m, now, context) for m in messages]


def _expiry_text(message: Message) -> str:
    why = message.meta("expiry")
    return f"{message.meta('expires_at')}" + (f" ({why})" if why else "")


def _expiry(message: Message, now: dt.datetime) -> tuple[dt.datetime | None, RuleCheck | None]:
    """The message's ``expires_at`` (or ``None``), and the failed check when it may not
    go out at ``now`` any more (expired, or not an aware ISO time)."""
    text = message.meta("expires_at")
    if text is None:
        return None, None
    try:
        expires = dt.datetime.fromisoformat(text)
    except ValueError:
        expires = None
    if expires is None or expires.tzinfo is None:
        return None, RuleCheck("expiry", False,
                               f"expires_at metadata must be an aware ISO time, got {text!r}")
    if now >= expires:
        return expires, RuleCheck("expiry", False, f"expired at {_expiry_text(message)}")
    return expires, None


def _ceil_minute(value: dt.datetime) -> dt.datetime:
    if value.second or value.microsecond:
        return value.replace(second=0, microsecond=0) + _MINUTE
    return value


def _zname(zone: dt.tzinfo) -> str:
    return str(getattr(zone, "key", zone))
