"""The rules of one message class: local time ranges, frequency caps and :class:`ClassRules`.

A :class:`ClassRules` says who a message of its class may reach (block list, consent,
opt-outs, membership), when (an allowed local window, blocked ranges), how often (caps),
and what happens to a message that may not go out now (:class:`OnBlocked`).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from typing import Any, Final

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["ClassRules", "FrequencyCap", "LocalTimeRange", "OnBlocked"]

_MINUTES_PER_DAY: Final = 1440
_MINUTE: Final = dt.timedelta(minutes=1)
_UTC: Final = dt.UTC


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


def time_range(value: LocalTimeRange | str | None) -> LocalTimeRange | None:
    """A range, or ``None``, from a range, ``"HH:MM-HH:MM"`` text or ``None``."""
    if value is None or isinstance(value, LocalTimeRange):
        return value
    return LocalTimeRange.parse(value)


def time_ranges(values: Iterable[LocalTimeRange | str]) -> tuple[LocalTimeRange, ...]:
    """Ranges from ranges or ``"HH:MM-HH:MM"`` texts (one text alone is one range)."""
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
    allowed: LocalTimeRange | None = attrs.field(default=None, converter=time_range)
    blocked: tuple[LocalTimeRange, ...] = attrs.field(default=(), converter=time_ranges)
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


def marketing_defaults() -> ClassRules:
    """The default rules of marketing messages (see :class:`~ecrm.touch.SendPolicy`)."""
    return ClassRules(
        respect_opt_out=True, members_only=True, allowed=LocalTimeRange(dt.time(8), dt.time(21)),
        caps=(FrequencyCap(1, dt.timedelta(days=1)), FrequencyCap(3, dt.timedelta(days=7))),
        on_blocked=OnBlocked.DEFER, max_lateness=dt.timedelta(hours=24),
    )


def care_defaults() -> ClassRules:
    """The default rules of care messages."""
    return ClassRules(
        respect_opt_out=False, allowed=LocalTimeRange(dt.time(8), dt.time(21)),
        on_blocked=OnBlocked.DEFER, max_lateness=dt.timedelta(days=2),
    )


def transactional_defaults() -> ClassRules:
    """The default rules of transactional messages: any time, block list and dedupe."""
    return ClassRules(respect_opt_out=False, on_blocked=OnBlocked.DEFER)
