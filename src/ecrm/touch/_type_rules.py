"""Time rules per message type (per flow): :class:`TimeRules` and the defaults.

A type's window narrows its class's: payment reminders (催付) and logistics notices wait
out the rest hours 22:00–08:00 by default (:data:`DEFAULT_TYPE_RULES`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

import attrs

from ecrm import _validators as _v
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._rules import ClassRules, LocalTimeRange, OnBlocked, time_range, time_ranges

__all__ = [
    "DEFAULT_REST_HOURS",
    "DEFAULT_TYPE_RULES",
    "TimeRules",
    "logistics_rules",
    "payment_reminder_rules",
]

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

    allowed: LocalTimeRange | None = attrs.field(default=None, converter=time_range)
    blocked: tuple[LocalTimeRange, ...] = attrs.field(default=(), converter=time_ranges)
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
    return TimeRules(blocked=(*(() if rest is None else (rest,)), *time_ranges(commute)))


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


def as_type_rules(value: Mapping[str, TimeRules] | None) -> Mapping[str, TimeRules]:
    """``SendPolicy.by_type`` checked and frozen: a read-only, hashable mapping.

    Raises:
        InvalidTypeError: not a mapping of message type to :class:`TimeRules`.
        InvalidValueError: an empty message type.
    """
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
