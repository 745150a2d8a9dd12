"""The send policy: a pure, explainable decision per candidate message.

``SendPolicy.decide(message, as_of=..., context=...)`` returns :class:`Send`,
:class:`Defer` (with the next allowed moment) or :class:`Skip` (with the reason), each
carrying a ``trace`` of the rule checks made. Everything the decision depends on (send
history, opt-outs, block list, membership) comes in through :class:`PolicyContext`; the
policy itself does no I/O and never reads the clock.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import re
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._time import DEFAULT_TZ, MAX_YEAR, MIN_YEAR, as_zone, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._message import ChannelKind, Message, MessageClass
from ecrm.touch._optout import OptOutLookup

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

_MINUTES_PER_DAY: Final = 1440
_MINUTE: Final = dt.timedelta(minutes=1)
_UTC: Final = dt.UTC


def _utc_in_range(now: object) -> bool:
    """The hot path's test: ``now`` is already a UTC datetime that needs no checking."""
    return (
        type(now) is dt.datetime and now.tzinfo is _UTC and MIN_YEAR <= now.year <= MAX_YEAR
    )


class OnBlocked(enum.Enum):
    """What to do with a message that may not go out now: wait for the next allowed
    moment, or drop it."""

    DEFER = "defer"
    SKIP = "skip"


# -- local time ranges ------------------------------------------------------------------
_HHMM: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


def _check_time(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.time):
        raise InvalidTypeError(f"{attribute.name} must be a datetime.time, got {value!r}")
    if value.tzinfo is not None or value.second or value.microsecond:
        raise InvalidValueError(attribute.name, "must be a naive whole-minute local time", value)


@attrs.frozen
class LocalTimeRange:
    """A half-open range of local wall-clock time ``[start, end)``, minute precision.

    ``end <= start`` wraps past midnight (``22:00–06:00``); ``end == 00:00`` means
    "until midnight".

    >>> r = LocalTimeRange.parse("12:00-13:30")
    >>> r.contains(dt.time(12, 0)), r.contains(dt.time(13, 30))
    (True, False)
    """

    start: dt.time = attrs.field(validator=_check_time)
    end: dt.time = attrs.field(validator=_check_time)

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidValueError("end", f"must differ from start {self.start:%H:%M}",
                                    self.end)

    @classmethod
    def parse(cls, text: str) -> LocalTimeRange:
        """Build from ``"HH:MM-HH:MM"``.

        Raises:
            InvalidValueError: not in that form or not a valid time.
        """
        m = _HHMM.match(text) if isinstance(text, str) else None
        if m is None:
            raise InvalidValueError("time range", "must look like '12:00-13:30'", text)
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        try:
            return cls(dt.time(h1 % 24 if h1 == 24 else h1, m1), dt.time(h2 % 24, m2))
        except ValueError as exc:
            raise InvalidValueError("time range", f"has an invalid time ({exc})", text) from None

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        return self.end.hour * 60 + self.end.minute

    def minute_spans(self) -> tuple[tuple[int, int], ...]:
        """The range as half-open spans of minutes of the day (two when it wraps)."""
        s, e = self.start_minute, self.end_minute
        if s < e:
            return ((s, e),)
        return tuple(span for span in ((s, _MINUTES_PER_DAY), (0, e)) if span[0] < span[1])

    def contains(self, t: dt.time) -> bool:
        """Whether the local time ``t`` is inside (by its minute)."""
        m = t.hour * 60 + t.minute
        s, e = self.start_minute, self.end_minute
        return s <= m < e if s < e else (m >= s or m < e)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def _time_range(value: LocalTimeRange | str | None) -> LocalTimeRange | None:
    if value is None or isinstance(value, LocalTimeRange):
        return value
    return LocalTimeRange.parse(value)


def _time_ranges(values: Iterable[LocalTimeRange | str]) -> tuple[LocalTimeRange, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(v if isinstance(v, LocalTimeRange) else LocalTimeRange.parse(v) for v in values)


@attrs.frozen
class FrequencyCap:
    """At most ``max_count`` messages of a class per customer per channel in any rolling
    ``period`` (a duration: a send at ``t`` counts for moments in ``[t, t + period)``).

    ``window=`` (and ``.window``) is the deprecated alias of ``period``: a duration is not
    a range.
    """

    max_count: int = attrs.field(validator=[_v.instance_of(int),
                                            _v.ge(1)])
    period: dt.timedelta = attrs.field(validator=_v.instance_of(dt.timedelta))

    window = renamed_attribute("window", "period")

    @period.validator
    def _positive(self, attribute: attrs.Attribute[dt.timedelta], value: dt.timedelta) -> None:
        if value <= dt.timedelta(0):
            raise InvalidValueError("period", "must be a positive duration", value)

    def __str__(self) -> str:
        return f"{self.max_count} per {self.period}"


# The attrs-made __init__ takes the old keyword for one release.
setattr(FrequencyCap, "__init__", renamed_kwarg("window", "period")(FrequencyCap.__init__))  # noqa: B010


def _caps(values: Iterable[FrequencyCap]) -> tuple[FrequencyCap, ...]:
    caps = tuple(values)
    for i, c in enumerate(caps):
        if not isinstance(c, FrequencyCap):
            raise InvalidTypeError(f"caps[{i}] must be a FrequencyCap, got {c!r}")
    return caps


def _opt_timedelta(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dt.timedelta):
        raise InvalidTypeError(f"{attribute.name} must be a timedelta or None, got {value!r}")
    if value < dt.timedelta(0):
        raise InvalidValueError(attribute.name, "must not be negative", value)


@attrs.frozen
class ClassRules:
    """The rules for one message class.

    Attributes:
        respect_opt_out: skip addresses opted out of marketing on the message's channel
            (always on for marketing in the defaults; care may honour it too).
        respect_block_list: skip customers on the shop's block list (恶意客户).
        requires_consent: skip customers without a recorded consent.
        members_only: skip non-members (marketing to members only).
        allowed: the local window when sending is allowed (``"08:00-21:00"``), or ``None``
            for any time.
        blocked: local ranges the shop blocks (rest ``"12:00-13:30"``, commute).
        caps: frequency caps, counted per customer, channel and class.
        dedupe: skip a message whose ``(message_type, dedupe_key)`` was already sent.
        on_blocked: defer to the next allowed minute, or skip, when time rules or caps
            forbid sending now.
        max_lateness: skip instead of sending/deferring when the send would happen more
            than this after the message's ``not_before`` (or ``created_at``); ``None``:
            never stale.
    """

    respect_opt_out: bool = attrs.field(default=True, validator=_v.instance_of(bool))
    respect_block_list: bool = attrs.field(default=True,
                                           validator=_v.instance_of(bool))
    requires_consent: bool = attrs.field(default=False,
                                         validator=_v.instance_of(bool))
    members_only: bool = attrs.field(default=False, validator=_v.instance_of(bool))
    allowed: LocalTimeRange | None = attrs.field(default=None, converter=_time_range)
    blocked: tuple[LocalTimeRange, ...] = attrs.field(default=(), converter=_time_ranges)
    caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=_caps)
    dedupe: bool = attrs.field(default=True, validator=_v.instance_of(bool))
    on_blocked: OnBlocked = attrs.field(default=OnBlocked.DEFER,
                                        validator=_v.instance_of(OnBlocked))
    max_lateness: dt.timedelta | None = attrs.field(default=None, validator=_opt_timedelta)
    # derived: which minutes of the local day are allowed, and how far to the next one
    _flags: bytes = attrs.field(init=False, repr=False, eq=False)
    _skip: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    _has_time_rules: bool = attrs.field(init=False, repr=False, eq=False)

    @_flags.default
    def _compute_flags(self) -> bytes:
        if self.allowed is None:
            flags = bytearray(b"\x01" * _MINUTES_PER_DAY)
        else:
            flags = bytearray(_MINUTES_PER_DAY)
            for s, e in self.allowed.minute_spans():
                flags[s:e] = b"\x01" * (e - s)
        for r in self.blocked:
            for s, e in r.minute_spans():
                flags[s:e] = bytes(e - s)
        if not any(flags):
            raise InvalidValueError(
                "blocked", f"leave no allowed minute in the day (allowed {self.allowed})",
                tuple(str(r) for r in self.blocked),
            )
        return bytes(flags)

    @_skip.default
    def _compute_skip(self) -> tuple[int, ...]:
        # minutes from each minute of the day to the next allowed one (0 when allowed)
        out = [0] * _MINUTES_PER_DAY
        doubled = self._flags * 2
        m = 0
        while m < _MINUTES_PER_DAY:
            closed = doubled.find(0, m)
            if closed == -1 or closed >= _MINUTES_PER_DAY:
                break
            opened = doubled.find(1, closed)  # exists: some minute is allowed
            stop = min(opened, _MINUTES_PER_DAY)
            out[closed:stop] = range(opened - closed, opened - stop, -1)
            m = opened
        return tuple(out)

    @property
    def has_time_rules(self) -> bool:
        """Whether some minute of the day is not allowed."""
        return self._has_time_rules

    @_has_time_rules.default
    def _compute_has_time_rules(self) -> bool:
        return self.allowed is not None or bool(self.blocked)

    def allows_minute(self, minute_of_day: int) -> bool:
        """Whether local minute ``minute_of_day`` (0–1439) is allowed."""
        return bool(self._flags[minute_of_day])

    def allows_local(self, local: dt.datetime | dt.time) -> bool:
        """Whether the local wall-clock time ``local`` is in an allowed minute."""
        return bool(self._flags[local.hour * 60 + local.minute])

    @renamed_kwarg("at", "as_of")
    def next_allowed(self, as_of: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        """The first allowed whole minute at or after ``as_of`` (aware), in ``zone``.

        Walks wall-clock time in the zone, so windows hold across midnight and DST: a
        wall time skipped by a spring-forward gap is never returned, and the returned
        instant is always later than or equal to ``as_of``. ``at=`` is the deprecated
        alias of ``as_of=``.
        """
        t = as_of.astimezone(_UTC)
        if t.second or t.microsecond:
            t = t.replace(second=0, microsecond=0) + _MINUTE
        flags, skip = self._flags, self._skip
        for _ in range(4 * _MINUTES_PER_DAY):
            local = t.astimezone(zone)
            m = local.hour * 60 + local.minute
            if flags[m]:
                return local
            wall = local.replace(tzinfo=None) + dt.timedelta(minutes=skip[m])
            cand = wall.replace(tzinfo=zone).astimezone(_UTC)
            if cand <= t or cand.astimezone(zone).replace(tzinfo=None) != wall:
                t = t + _MINUTE  # a DST gap or fold: walk real minutes instead
            else:
                t = cand
        raise AssertionError("no allowed minute within 4 days")  # pragma: no cover


def _marketing_rules() -> ClassRules:
    return ClassRules(
        respect_opt_out=True, members_only=True, allowed=LocalTimeRange(dt.time(8), dt.time(21)),
        caps=(FrequencyCap(1, dt.timedelta(days=1)), FrequencyCap(3, dt.timedelta(days=7))),
        on_blocked=OnBlocked.DEFER, max_lateness=dt.timedelta(hours=24),
    )


def _care_rules() -> ClassRules:
    return ClassRules(
        respect_opt_out=False, allowed=LocalTimeRange(dt.time(8), dt.time(21)),
        on_blocked=OnBlocked.DEFER, max_lateness=dt.timedelta(days=2),
    )


def _transactional_rules() -> ClassRules:
    return ClassRules(respect_opt_out=False, on_blocked=OnBlocked.DEFER)


# -- rules per message type (per flow) ---------------------------------------------------
#: Rest hours (休息时间), local to the recipient (else the store): 22:00–08:00.
DEFAULT_REST_HOURS: Final = LocalTimeRange(dt.time(22), dt.time(8))


@attrs.frozen
class TimeRules:
    """The time window of one message type (one flow), on top of its class's.

    A type's window narrows its class's (a minute must be allowed by both), so it can
    never let a marketing message out at night; block list, consent, opt-outs,
    membership, caps, dedupe and ``max_lateness`` stay the class's. Transactional
    messages have no window of their own, so a type's window is theirs.

    >>> TimeRules(blocked=["22:00-08:00"]).blocked[0].contains(dt.time(7, 59))
    True

    Attributes:
        allowed: the local window when sending is allowed, or ``None`` for any time.
        blocked: local ranges when it is not (rest hours, the commute hours the shop
            blocks).
        on_blocked: defer to the next allowed minute (default), or skip; replaces the
            class's for this type.

    Raises:
        InvalidValueError: a malformed range, or ranges that leave no minute of the day.
    """

    allowed: LocalTimeRange | None = attrs.field(default=None, converter=_time_range)
    blocked: tuple[LocalTimeRange, ...] = attrs.field(default=(), converter=_time_ranges)
    on_blocked: OnBlocked = attrs.field(default=OnBlocked.DEFER,
                                        validator=_v.instance_of(OnBlocked))

    def __attrs_post_init__(self) -> None:
        self.apply_to(ClassRules())  # the same "some minute is allowed" check

    def apply_to(self, rules: ClassRules) -> ClassRules:
        """``rules`` narrowed by this window (and with its ``on_blocked``).

        Raises:
            InvalidValueError: the two windows share no minute of the day.
        """
        outside = () if self.allowed is None else (
            LocalTimeRange(self.allowed.end, self.allowed.start),)
        return attrs.evolve(rules, blocked=(*rules.blocked, *self.blocked, *outside),
                            on_blocked=self.on_blocked)


def payment_reminder_rules(
    *,
    rest: LocalTimeRange | str | None = DEFAULT_REST_HOURS,
    commute: Iterable[LocalTimeRange | str] = (),
) -> TimeRules:
    """The time rules of payment reminders (催付): out of rest and commute hours.

    The source: "在发送短信的时候要把握好时间段，不要在休息的时间发送，不要在别人通勤的时间去发送". A
    reminder due in those hours is deferred to the next allowed minute in the recipient's
    zone (else the store's); one that would then go out at or after the order's
    auto-close (its ``expires_at``, set by :func:`~ecrm.touch.flows.payment_reminders`)
    is skipped with that reason.

    >>> payment_reminder_rules(commute=["07:30-09:00", "17:30-19:00"]).blocked[2]
    LocalTimeRange(start=datetime.time(17, 30), end=datetime.time(19, 0))

    Args:
        rest: the rest hours (default 22:00–08:00), or ``None`` for none.
        commute: the commute hours the shop blocks (``"17:30-19:00"``; none by default).

    Raises:
        InvalidValueError: a malformed range, or ranges that leave no minute of the day.
    """
    return TimeRules(blocked=(*(() if rest is None else (rest,)), *_time_ranges(commute)))


def logistics_rules(*, at_night: bool = False,
                    rest: LocalTimeRange | str = DEFAULT_REST_HOURS) -> TimeRules:
    """The time rules of logistics notices (shipped, multi-warehouse shipped, delivered).

    By default they wait out the rest hours like payment reminders (deferred, never
    dropped); a shop that wants them sent at night too says so with ``at_night=True``.

    >>> logistics_rules().blocked, logistics_rules(at_night=True).blocked
    ((LocalTimeRange(start=datetime.time(22, 0), end=datetime.time(8, 0)),), ())
    """
    if not isinstance(at_night, bool):
        raise InvalidTypeError(f"at_night must be a bool, got {at_night!r}")
    return TimeRules(blocked=() if at_night else (rest,))


class _TypeRules(Mapping[str, TimeRules]):
    """A read-only, hashable ``message_type → TimeRules`` mapping."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, TimeRules]) -> None:
        self._items = dict(sorted(items.items()))

    def __getitem__(self, key: str) -> TimeRules:
        return self._items[key]

    def __contains__(self, key: object) -> bool:  # the hot path: no KeyError round trip
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: ...' for k in self._items)}}}"


_LOGISTICS_TYPES: Final = ("delivered", "multi_warehouse_shipped", "shipped")

#: The rules per message type that replace the class rules by default: payment reminders
#: (:func:`payment_reminder_rules`) and logistics notices (:func:`logistics_rules`) wait
#: out the rest hours 22:00–08:00.
DEFAULT_TYPE_RULES: Final[Mapping[str, TimeRules]] = _TypeRules({
    "payment_reminder": payment_reminder_rules(),
    **dict.fromkeys(_LOGISTICS_TYPES, logistics_rules()),
})


def _type_rules(value: Mapping[str, TimeRules] | None) -> Mapping[str, TimeRules]:
    if value is None:
        return _TypeRules({})
    if isinstance(value, _TypeRules):
        return value
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"by_type must be a mapping of message type to TimeRules, "
                               f"got {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not k.strip():
            raise InvalidValueError("by_type", "keys must be non-empty message types", k)
        if not isinstance(v, TimeRules):
            raise InvalidTypeError(f"by_type[{k!r}] must be TimeRules, got {v!r}")
    return _TypeRules(value)


# -- history ---------------------------------------------------------------------------
@runtime_checkable
class SendHistory(Protocol):
    """What was already sent: the policy's view for frequency caps and dedupe."""

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        """Send times strictly after ``since`` for this customer, channel and class,
        ascending."""
        ...

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        """Whether a message of ``message_type`` with ``dedupe_key`` was sent."""
        ...


class SendLog:
    """An in-memory :class:`SendHistory` (backtests, tests, a snapshot of the outbox)."""

    def __init__(self) -> None:
        self._times: dict[tuple[str | int, ChannelKind, MessageClass], list[dt.datetime]] = {}
        self._dedupe: set[tuple[str, str]] = set()

    def record(self, message: Message, at: dt.datetime) -> None:
        """Remember that ``message`` was sent at ``at``."""
        require_aware(at, "at")
        key = (message.recipient.customer_id, message.channel, message.message_class)
        times = self._times.setdefault(key, [])
        times.insert(bisect.bisect_right(times, at), at)
        if message.dedupe_key is not None:
            self._dedupe.add((message.message_type, message.dedupe_key))

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        times = self._times.get((customer_id, channel, message_class))
        if not times:
            return ()
        if times[-1] <= since:
            return ()
        return times[bisect.bisect_right(times, since):]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return (message_type, dedupe_key) in self._dedupe

    def __len__(self) -> int:
        return sum(len(v) for v in self._times.values())

    def __repr__(self) -> str:
        return f"SendLog({len(self)} sends)"


class _NoHistory:
    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        return ()

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return False

    def __repr__(self) -> str:
        return "NO_HISTORY"


_NO_HISTORY: Final = _NoHistory()


@attrs.frozen
class PolicyContext:
    """Everything outside the message that a decision needs (no I/O happens in the policy).

    Attributes:
        history: past sends (caps, dedupe); default: nothing sent.
        opt_outs: marketing opt-outs per (address, channel); ``None`` means "not known",
            and then classes that respect opt-outs skip everything (compliance first).
        blocked: customer ids on the shop's block list.
        members: member customer ids; ``None`` = unknown (members-only classes skip).
        consented: customer ids with a recorded consent; ``None`` = unknown (classes that
            require consent skip).
    """

    history: SendHistory = attrs.field(default=_NO_HISTORY)
    opt_outs: OptOutLookup | None = None
    blocked: Container[str | int] = attrs.field(default=frozenset())
    members: Container[str | int] | None = None
    consented: Container[str | int] | None = None


# -- decisions -------------------------------------------------------------------------
@attrs.frozen
class RuleCheck:
    """One rule the policy checked: its name, whether it passed, and why."""

    rule: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.rule}: {self.detail}"


@attrs.frozen
class Send:
    """Send now."""

    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join(["send now", *(f"  {c}" for c in self.trace)])


@attrs.frozen
class Defer:
    """Do not send now; try again at ``until`` (an allowed minute, in the recipient's zone)."""

    until: dt.datetime
    reason: str
    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join([f"defer until {self.until.isoformat()}: {self.reason}",
                          *(f"  {c}" for c in self.trace)])


@attrs.frozen
class Skip:
    """Never send this message."""

    reason: str
    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join([f"skip: {self.reason}", *(f"  {c}" for c in self.trace)])


Decision: TypeAlias = Send | Defer | Skip

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

    transactional: ClassRules = attrs.field(factory=_transactional_rules, validator=_check_rules)
    care: ClassRules = attrs.field(factory=_care_rules, validator=_check_rules)
    marketing: ClassRules = attrs.field(factory=_marketing_rules, validator=_check_rules)
    store_tz: str | None = attrs.field(default=DEFAULT_TZ, validator=_check_store_tz)
    by_type: Mapping[str, TimeRules] = attrs.field(default=DEFAULT_TYPE_RULES,
                                                   converter=_type_rules)
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
               context: PolicyContext = PolicyContext()) -> Decision:
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

        Same checks, order, decisions and traces as :meth:`_decide_reference`; what does
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
                    context: PolicyContext = PolicyContext()) -> list[Decision]:
        """:meth:`decide` for each message at the same ``as_of``, in order (``now=`` is
        its deprecated alias)."""
        now = require_aware(as_of, "as_of").astimezone(_UTC)
        decide = self._decide
        return [decide(m, now, context) for m in messages]

    def _decide_reference(self, message: Message, *, now: dt.datetime,
                          context: PolicyContext = PolicyContext()) -> Decision:
        """:meth:`decide` as it was before the per-rules plans: the reference the
        property tests hold the fast path to (equal decisions, equal traces).

        Args:
            message: the candidate.
            now: the decision instant (aware).
            context: history, opt-outs, block list, membership.

        Returns:
            The same decision as :meth:`decide`.
        """
        if not _utc_in_range(now):
            # UTC keys the caches safely: equal wall times in a DST fold are equal (and
            # hash alike) within their own zone although they are different instants
            now = require_aware(now, "as_of").astimezone(_UTC)
        # `cls` keys the rules and the caches: the class, or (type, class) for a type
        # with its own window
        cls: _RulesKey = message.message_class
        if message.message_type in self.by_type:
            cls = (message.message_type, message.message_class)
        rules = self._by_class.get(cls)
        if rules is None:
            try:
                rules = self._merged((message.message_type, message.message_class))
            except InvalidValueError:
                reason = (f"the time window of {message.message_type} messages and that of "
                          f"the {message.message_class.name} class share no minute")
                return Skip(reason, (RuleCheck("time_window", False, reason),))
        cid = message.recipient.customer_id
        # Passing checks are static per class, so the trace of what passed is a cached
        # prefix and a plain Send is a cached object: the common path allocates nothing.
        if rules.respect_block_list and cid in context.blocked:
            return self._refuse(cls, _BLOCK, False, "block_list",
                                "customer is on the shop's block list")
        if rules.requires_consent:
            if context.consented is None:
                return self._refuse(cls, _CONSENT, False, "consent",
                                    "consent records not provided")
            if cid not in context.consented:
                return self._refuse(cls, _CONSENT, False, "consent",
                                    "no consent recorded for the customer")
        if rules.respect_opt_out:
            if context.opt_outs is None:
                return self._refuse(cls, _OPT_OUT, False, "opt_out", "opt-out list not "
                                    "provided: cannot prove the address did not opt out")
            channel = message.channel
            address = (message.recipient.phone if channel is ChannelKind.SMS
                       else message.address) or ""
            if not address:
                return self._refuse(cls, _OPT_OUT, False, "opt_out",
                                    f"recipient has no {channel.name} address")
            if context.opt_outs.is_opted_out(address, channel):
                return self._refuse(cls, _OPT_OUT, False, "opt_out",
                                    f"address opted out of marketing on {channel.name}")
        if rules.members_only:
            if context.members is None:
                return self._refuse(cls, _MEMBERS, False, "members_only",
                                    "membership not provided")
            if cid not in context.members:
                return self._refuse(cls, _MEMBERS, False, "members_only",
                                    "customer is not a member")
        history = context.history
        deduped = False
        dedupe_key = message.dedupe_key
        if rules.dedupe and dedupe_key is not None:
            deduped = True
            if history.has_sent(message.message_type, dedupe_key):
                return self._refuse(cls, _DEDUPE, False, "dedupe", f"a {message.message_type} "
                                    f"for {dedupe_key!r} was already sent")
        origin = message.not_before or message.created_at
        lateness = rules.max_lateness
        if lateness is not None and now - origin > lateness:
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
        if message.not_before is not None and message.not_before > now:
            earliest, why = message.not_before, "not due yet"
            extra = [RuleCheck("not_before", False, f"due at {earliest.isoformat()}")]
        caps_ok: tuple[RuleCheck, ...] = ()
        if rules.caps:
            capped = False
            for cap in rules.caps:
                times = history.sent_times(cid, message.channel, message.message_class,
                                           now - cap.period)
                if len(times) >= cap.max_count:
                    free_at = times[len(times) - cap.max_count] + cap.period
                    detail = f"{len(times)} sent in the last {cap.period} (cap {cap.max_count})"
                    extra = extra or []
                    extra.append(RuleCheck("frequency_cap", False, detail))
                    capped = True
                    if rules.on_blocked is OnBlocked.SKIP:
                        return Skip(f"frequency cap reached: {detail}",
                                    self._prefix(cls, _END, deduped) + tuple(extra))
                    if free_at > earliest:
                        earliest, why = free_at, f"frequency cap reached: {detail}"
            if not capped:
                caps_ok = (_OK_CAPS,)
        window: tuple[RuleCheck, ...] = ()

        if rules._has_time_rules:
            tz = message.recipient.tz or self.store_tz
            zone = None if tz is None else (self._zones.get(tz) or self.zone_for(message))
            if zone is None:
                return Skip("no time zone known for the recipient or store",
                            self._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok
                            + (_NO_ZONE,))
            if earliest is now:
                minute = self._minutes.get((now, zone))
                if minute is None:
                    minute = self._local_minute(now, zone)
                if rules._flags[minute]:
                    return self._send(cls, deduped)
                closed = self._closed.get((minute, zone))
                if closed is None:
                    closed = self._closed_texts(minute, zone)
                window, short, long = closed
                if rules.on_blocked is OnBlocked.SKIP:
                    return Skip(short, self._prefix(cls, _END, deduped) + tuple(extra or ())
                                + caps_ok + window)
                why = why or long
            # a tick defers many messages from the same instant in the same zone
            key = (earliest if earliest is now else earliest.astimezone(_UTC), zone, cls)
            until = self._next.get(key)
            if until is None:
                if len(self._next) > 4096:
                    self._next.clear()
                until = self._next[key] = rules.next_allowed(earliest, zone)
            if earliest is not now:
                if until == _ceil_minute(earliest):
                    window = (_OK_WINDOW_THEN,)
                else:
                    window = (RuleCheck("time_window", False, f"{_ceil_minute(earliest).astimezone(zone):%H:%M}"
                                        f" local is outside the allowed time; next allowed "
                                        f"{until:%H:%M}"),)
        else:
            if earliest is now:
                return self._send(cls, deduped)
            until = _ceil_minute(earliest)
        trace = self._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok + window
        if expires is not None and until >= expires:
            late = RuleCheck("expiry", False, f"the next allowed moment {self._iso(until)} is "
                             f"not before it expires at {_expiry_text(message)}")
            return Skip(f"{why}; it would go out after it expires at {_expiry_text(message)}",
                        (*trace, late))
        if rules.on_blocked is OnBlocked.SKIP and until != _ceil_minute(earliest):
            # only "not due yet" gets here under SKIP (closed time and caps returned above):
            # wait for the due minute if it is allowed, but never past it
            return Skip(f"{why}; due at a blocked local time", trace)
        if lateness is not None and until - origin > lateness:
            late = RuleCheck("max_lateness", False,
                             f"next allowed moment {self._iso(until)} is more than "
                             f"{lateness} after {origin.isoformat()}")
            return Skip(f"{why}; deferring would be too late", (*trace, late))
        return Defer(until, why, trace)


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
