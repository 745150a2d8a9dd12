"""Calendar periods of the loyalty programme: per day, ISO week, month or year.

Task caps (签到 at most once a day) and scheduled benefits (每月1张券, 每周秒杀资格) count per
calendar period in the store's zone. One half-open rule for every period edge, as for order
windows: a period is ``[start, end)``, so an instant at exactly 00:00 on 1 February is in
February, never in January.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs
from dateutil.relativedelta import relativedelta

from ecrm._time import as_zone, require_aware
from ecrm._window import Window
from ecrm.errors import InvalidValueError

__all__ = ["Cadence", "CalendarPeriod"]


class Cadence(enum.Enum):
    """How often something repeats: every day, ISO week (Monday first), month or year."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def label_zh(self) -> str:
        """The operator's word: 每日 / 每周 / 每月 / 每年."""
        return {"day": "每日", "week": "每周", "month": "每月", "year": "每年"}[self.value]

    def period(self, at: dt.datetime, tz: str | dt.tzinfo | None = None) -> CalendarPeriod:
        """The period of this cadence that holds the instant ``at``, in zone ``tz``.

        Args:
            at: an aware instant.
            tz: the store's zone (IANA name or tzinfo; ``None`` = Asia/Shanghai).

        Returns:
            The :class:`CalendarPeriod` with ``start <= at < end``.

        Raises:
            InvalidValueError: ``at`` is naive or ``tz`` unknown.
        """
        zone = as_zone(tz)
        local = require_aware(at, "at").astimezone(zone)
        day = local.date()
        if self is Cadence.DAY:
            first, step, label = day, relativedelta(days=1), day.isoformat()
        elif self is Cadence.WEEK:
            first = day - dt.timedelta(days=day.weekday())
            iso = day.isocalendar()
            step, label = relativedelta(weeks=1), f"{iso.year:04d}-W{iso.week:02d}"
        elif self is Cadence.MONTH:
            first = day.replace(day=1)
            step, label = relativedelta(months=1), f"{day.year:04d}-{day.month:02d}"
        else:
            first = day.replace(month=1, day=1)
            step, label = relativedelta(years=1), f"{day.year:04d}"
        window = Window.of_dates(first, first + step, zone)
        return CalendarPeriod(self, label, window.start, window.end)


def _cadence(value: object) -> Cadence:
    if isinstance(value, Cadence):
        return value
    try:
        return Cadence(value)
    except ValueError:
        raise InvalidValueError(
            "cadence", "must be one of day, week, month, year", value
        ) from None


@attrs.frozen
class CalendarPeriod:
    """One calendar period ``[start, end)`` in the store's zone.

    Attributes:
        cadence: day, week, month or year.
        label: ``2026-11-03``, ``2026-W45`` (ISO week), ``2026-11`` or ``2026``.
        start: local midnight that opens the period (aware).
        end: local midnight that opens the next one (aware; not in the period).
    """

    cadence: Cadence = attrs.field(converter=_cadence)
    label: str
    start: dt.datetime
    end: dt.datetime

    @property
    def window(self) -> Window:
        """The period as an :class:`ecrm.Window`."""
        return Window(self.start, self.end)

    def __contains__(self, instant: object) -> bool:
        moment = require_aware(instant, "instant")
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return self.label
