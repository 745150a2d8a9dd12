"""Injectable clocks: the dispatcher and flows never read the wall clock directly."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the time as an aware datetime."""

    def now(self) -> dt.datetime:
        """The current instant (timezone-aware)."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to (for tests, backtests and dry runs).

    >>> import datetime as dt
    >>> clock = ManualClock(dt.datetime(2026, 11, 11, 9, tzinfo=dt.UTC))
    >>> clock.advance(dt.timedelta(minutes=5))
    >>> clock.now().isoformat()
    '2026-11-11T09:05:00+00:00'
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = require_aware(start, "start")

    def now(self) -> dt.datetime:
        return self._now

    def set(self, value: dt.datetime) -> None:
        """Jump to ``value`` (aware; may go backwards, which tests sometimes want)."""
        self._now = require_aware(value, "value")

    def advance(self, delta: dt.timedelta) -> None:
        """Move forward by ``delta``."""
        if not isinstance(delta, dt.timedelta):
            raise InvalidTypeError(f"delta must be a timedelta, got {type(delta).__name__}")
        self._now = self._now + delta

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()!r})"
