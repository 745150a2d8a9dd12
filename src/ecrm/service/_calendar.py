"""Business hours (营业时间) as data, and the timeline kernel SLA clocks count on.

A :class:`BusinessCalendar` says when the store works: hours per weekday in the store's
zone, holidays (days off) and make-up working days (调休). The private timeline turns it
into sorted UTC intervals with prefix sums, so "business time between two instants" and
"the instant N business seconds after another" are two ``searchsorted`` calls over whole
arrays. Local hours are converted through the zone day by day, so a DST night counts
the hours that really pass.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Final, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._time import as_zone
from ecrm.errors import InvalidValueError

__all__ = ["WEEKDAYS", "BusinessCalendar"]

#: Weekday keys, Monday first (``datetime.date.weekday()`` order).
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_US_PER_S: Final = 1_000_000
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DATE: Final = dt.date(1970, 1, 1)

Windows = tuple[tuple[int, int], ...]


def _parse_windows(text: str, field: str) -> Windows:
    """``"09:00-12:00, 13:00-18:00"`` → ((540, 720), (780, 1080)) in minutes of the day."""
    _v.check_instance(field, text, str)
    if not text.strip():
        return ()
    spans: list[tuple[int, int]] = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if m is None:
            raise InvalidValueError(field, "must be spans like '09:00-18:00' separated by commas",
                                    text)
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or not 0 <= start < end <= 1440:
            raise InvalidValueError(field, "each span must run forward within one day "
                                    "(00:00 to 24:00)", part.strip())
        spans.append((start, end))
    spans.sort()
    for (_, e1), (s2, _) in itertools.pairwise(spans):
        if s2 < e1:
            raise InvalidValueError(field, "spans must not overlap", text)
    return tuple(spans)


def _holidays(value: Iterable[dt.date]) -> frozenset[dt.date]:
    return frozenset(_v.check_items("holidays", value, dt.date))


def _workdays(value: Iterable[dt.date]) -> frozenset[dt.date]:
    return frozenset(_v.check_items("workdays", value, dt.date))


def _check_week(_inst: object, _attr: object, value: tuple[Windows, ...]) -> None:
    if len(value) != 7:
        raise InvalidValueError("weekly", "must give hours for 7 weekdays (Monday first)", value)
    for day, spans in zip(WEEKDAYS, value, strict=True):
        prev_end = -1
        for start, end in spans:
            if not 0 <= start < end <= 1440 or start < prev_end:
                raise InvalidValueError(f"weekly[{day}]", "spans must be sorted, disjoint "
                                        "minutes of the day within 0..1440", spans)
            prev_end = end


@attrs.frozen
class BusinessCalendar:
    """When the store's service desk works, in the store's zone.

    Build one with :meth:`uniform` or :meth:`weekly`.

    Attributes:
        tz: the store's IANA zone name.
        weekly: 7 tuples (Monday first) of ``(start, end)`` minutes of the local day.
        holidays: dates with no working hours (法定节假日), whatever the weekday.
        workdays: make-up working days (调休上班): dates that work ``makeup`` hours even on
            a weekend.
        makeup: the hours of a make-up day (minutes of the day).
    """

    tz: str = attrs.field(validator=_v.instance_of(str))
    weekly: tuple[Windows, ...] = attrs.field(validator=_check_week)
    holidays: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_holidays)
    workdays: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_workdays)
    makeup: Windows = ()

    @tz.validator
    def _known_zone(self, _attr: object, value: str) -> None:
        as_zone(value, "tz")

    @workdays.validator
    def _disjoint(self, _attr: object, value: frozenset[dt.date]) -> None:
        both = sorted(value & self.holidays)
        if both:
            raise InvalidValueError("workdays", "must not also be holidays", both[0])

    @classmethod
    def uniform(
        cls,
        tz: str,
        hours: str = "09:00-18:00",
        *,
        days: Iterable[str] = ("mon", "tue", "wed", "thu", "fri"),
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
    ) -> BusinessCalendar:
        """The same hours on each of ``days`` (and on make-up ``workdays``).

        Args:
            tz: the store's zone (``"Asia/Shanghai"``).
            hours: spans like ``"09:00-12:00,13:00-18:00"`` (``24:00`` ends a day).
            days: weekday keys from :data:`WEEKDAYS`.
            holidays: days off; workdays: make-up working days.

        Raises:
            InvalidValueError: a bad span, an unknown weekday key or zone.
            InvalidTypeError: hours not a string, a day not a string, a holiday or workday
                not a date.
        """
        spans = _parse_windows(hours, "hours")
        chosen = set()
        for day in _v.check_items("days", days, str):
            if day not in WEEKDAYS:
                raise InvalidValueError("days", f"must be keys of {WEEKDAYS}", day)
            chosen.add(day)
        weekly = tuple(spans if d in chosen else () for d in WEEKDAYS)
        return cls(tz, weekly, holidays, workdays, spans)

    @classmethod
    def weekly_hours(
        cls,
        tz: str,
        hours: Mapping[str, str],
        *,
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
        makeup: str | None = None,
    ) -> BusinessCalendar:
        """Hours given per weekday (``{"mon": "09:00-18:00", "sat": "10:00-16:00"}``);
        a weekday left out has none. Make-up days work ``makeup`` (default: Monday's)."""
        _v.check_instance("hours", hours, Mapping)
        unknown = sorted(set(hours) - set(WEEKDAYS))
        if unknown:
            raise InvalidValueError("hours", f"keys must be in {WEEKDAYS}", unknown[0])
        weekly = tuple(_parse_windows(hours.get(d, ""), f"hours[{d}]") for d in WEEKDAYS)
        extra = weekly[0] if makeup is None else _parse_windows(makeup, "makeup")
        return cls(tz, weekly, holidays, workdays, extra)

    def windows_on(self, day: dt.date) -> Windows:
        """The working spans (minutes of the local day) of one date."""
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.makeup
        return self.weekly[day.weekday()]

    def _timeline(self, lo_us: int, hi_us: int) -> Timeline:
        zone = as_zone(self.tz)
        first = _date_of(lo_us, zone) - dt.timedelta(days=1)
        last = _date_of(hi_us, zone) + dt.timedelta(days=1)
        starts: list[int] = []
        ends: list[int] = []
        day = first
        one = dt.timedelta(days=1)
        while day <= last:
            spans = self.windows_on(day)
            if spans:
                _add_day(day, spans, zone, starts, ends)
            day += one
        order = np.argsort(np.asarray(starts, dtype=np.int64), kind="stable")
        return Timeline.from_intervals(np.asarray(starts, dtype=np.int64)[order],
                                       np.asarray(ends, dtype=np.int64)[order])


def _date_of(us: int, zone: dt.tzinfo) -> dt.date:
    return (_EPOCH + dt.timedelta(microseconds=us)).astimezone(zone).date()


def _offset_s(zone: dt.tzinfo, utc_s: int) -> int:
    local = (_EPOCH + dt.timedelta(seconds=utc_s)).astimezone(zone)
    off = local.utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _add_day(day: dt.date, spans: Windows, zone: dt.tzinfo, starts: list[int],
             ends: list[int]) -> None:
    """Append the UTC intervals whose local wall time lies in ``spans`` on ``day``.

    A UTC instant is working time when its local clock reading falls in a span of its
    local date; on a DST day the local minutes map to UTC under the offset in force at
    each side of the change, so a skipped hour counts nothing and a repeated hour counts
    twice, exactly as the clock on the wall reads them.
    """
    base = (day - _EPOCH_DATE).days * 86_400  # the day's midnight as if it were UTC
    lo, hi = base - 16 * 3600, base + 40 * 3600
    o1, o2 = _offset_s(zone, lo), _offset_s(zone, hi)
    change = hi
    if o1 != o2:  # find the change by bisection (at most one per day in real zones)
        left, right = lo, hi
        while right - left > 1:
            mid = (left + right) // 2
            if _offset_s(zone, mid) == o1:
                left = mid
            else:
                right = mid
        change = right
    for start_min, end_min in spans:
        s, e = base + start_min * 60, base + end_min * 60
        if o1 == o2:
            pieces: tuple[tuple[int, int], ...] = ((s - o1, e - o1),)
        else:  # the part read under the old offset, then the part under the new one
            pieces = ((s - o1, min(e - o1, change)), (max(s - o2, change), e - o2))
        for a, b in pieces:
            if b > a:
                starts.append(a * _US_PER_S)
                ends.append(b * _US_PER_S)


class Clock(Protocol):
    """What SLA kernels count on: business µs of instants and the inverse."""

    def business_us(self, t_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    def instant_at(self, b_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    @property
    def total_us(self) -> int: ...


@attrs.frozen(eq=False)
class Timeline:
    """Sorted disjoint working intervals (UTC µs) and the business µs before each."""

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    before: npt.NDArray[np.int64]

    @classmethod
    def from_intervals(cls, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> Timeline:
        durations = ends - starts
        before = np.zeros(len(starts), dtype=np.int64)
        if len(starts):
            np.cumsum(durations[:-1], out=before[1:])
        return cls(starts, ends, before)

    @property
    def total_us(self) -> int:
        return int(self.before[-1] + self.ends[-1] - self.starts[-1]) if len(self.starts) else 0

    def business_us(self, t_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Business µs from the timeline's start up to each instant."""
        idx = np.searchsorted(self.starts, t_us, side="right") - 1
        safe = np.maximum(idx, 0)
        inside = np.clip(t_us - self.starts[safe], 0, self.ends[safe] - self.starts[safe])
        out: npt.NDArray[np.int64] = np.where(idx >= 0, self.before[safe] + inside, 0)
        return out

    def instant_at(self, b_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The first instant by which ``b_us`` business µs have passed (b > 0)."""
        after = self.before + (self.ends - self.starts)
        idx = np.minimum(np.searchsorted(after, b_us, side="left"), len(after) - 1)
        out: npt.NDArray[np.int64] = self.starts[idx] + (b_us - self.before[idx])
        return out


class WallClock:
    """Every microsecond counts (SLA in wall-clock time)."""

    total_us = np.iinfo(np.int64).max

    def business_us(self, t_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return t_us

    def instant_at(self, b_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return b_us

