"""One range type for the whole API: :class:`Window`, a half-open ``[start, end)``.

``as_of=`` is a moment; ``window=`` is a range. Functions that used to take ``start=`` and
``end=`` take a :class:`Window` (the two old keywords stay one release as deprecated
aliases, folded into a window by :func:`window_arg`).
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import attrs
from dateutil.relativedelta import relativedelta

from ecrm._deprecate import RENAMED_IN
from ecrm._time import MAX_YEAR, MIN_YEAR, as_zone, datetime_to_us, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["Window", "bounds_renamed", "open_window_arg", "window_arg"]


def _aware(_: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    require_aware(value, attribute.name)


def _count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise InvalidValueError(field, "must be >= 0", value)
    return value


def _midnight(day: object, zone: dt.tzinfo, field: str) -> dt.datetime:
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise InvalidTypeError(f"{field} must be a date, got {type(day).__name__} {day!r}")
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # the shift through UTC must stay in range
        raise InvalidValueError(field, f"must be in the years {MIN_YEAR} to {MAX_YEAR}", day)
    # Through UTC and back: a midnight inside a DST gap moves forward by the gap (the
    # zoneinfo fold=0 rule every ecrm loader follows), so it is a real instant.
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


@attrs.frozen
class Window:
    """A half-open range of instants ``[start, end)``: ``start`` is in it, ``end`` is not.

    Both bounds are aware datetimes and ``start < end``. Build one from bounds, or with
    :meth:`ending` (the span before a moment) or :meth:`of_dates` (local calendar days).

    >>> import datetime as dt
    >>> june = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 7, 1), "Asia/Shanghai")
    >>> june.start.isoformat(), june.end.isoformat()
    ('2025-06-01T00:00:00+08:00', '2025-07-01T00:00:00+08:00')
    >>> dt.datetime(2025, 6, 30, 23, 59, tzinfo=june.start.tzinfo) in june
    True
    >>> june.end in june
    False

    Attributes:
        start: the first instant in the window (aware).
        end: the first instant after it (aware, later than ``start``).

    Raises:
        InvalidTypeError: a bound is not a datetime.
        InvalidValueError: a bound is naive, or ``start >= end``.
    """

    start: dt.datetime = attrs.field(validator=_aware)
    end: dt.datetime = attrs.field(validator=_aware)

    def __attrs_post_init__(self) -> None:
        if not self.start < self.end:
            raise InvalidValueError(
                "end", f"must be after start ({self.start.isoformat()})", self.end.isoformat()
            )

    @classmethod
    def ending(
        cls,
        as_of: dt.datetime,
        *,
        days: int = 0,
        months: int = 0,
        years: int = 0,
    ) -> Window:
        """The window of the given span that ends at ``as_of``: ``[as_of - span, as_of)``.

        Calendar maths is ``dateutil.relativedelta`` on ``as_of``'s wall clock in its own
        zone, so ``months=1`` before 31 March is 28 or 29 February and ``days=1`` across a
        DST change is one calendar day (23 or 25 hours).

        Args:
            as_of: the end of the window (aware); not itself in the window.
            days, months, years: the span (ints >= 0, at least one > 0).

        Raises:
            InvalidValueError: ``as_of`` naive, a negative count, an empty span, or a span
                reaching back before the year 1.
        """
        end = require_aware(as_of, "as_of")
        span = relativedelta(
            years=_count("years", years), months=_count("months", months),
            days=_count("days", days),
        )
        if not (days or months or years):
            raise InvalidValueError("days", "the span must be at least one day, month or year", 0)
        try:
            start = (end.replace(tzinfo=None) - span).replace(tzinfo=end.tzinfo)
        except (OverflowError, ValueError):  # before year 1
            raise InvalidValueError(
                "days" if days else "months" if months else "years",
                "the span must not reach back before the year 1",
                f"{years} years, {months} months, {days} days",
            ) from None
        # normalise a wall time that fell into a DST gap (fold=0 rule) to a real instant
        return cls(start.astimezone(dt.UTC).astimezone(end.tzinfo), end)

    @classmethod
    def of_dates(
        cls, start: dt.date, end: dt.date, tz: str | dt.tzinfo | None = None
    ) -> Window:
        """The local days ``start`` up to, not including, ``end``, in zone ``tz``.

        Args:
            start: the first local day in the window.
            end: the first local day after it (later than ``start``).
            tz: an IANA zone name or tzinfo; ``None`` is the default zone (Asia/Shanghai).

        Raises:
            InvalidTypeError: a bound is not a date (a datetime is refused: use bounds).
            InvalidValueError: ``start >= end`` or a bad zone.
        """
        zone = as_zone(tz)
        return cls(_midnight(start, zone, "start"), _midnight(end, zone, "end"))

    def __contains__(self, instant: object) -> bool:
        """Whether the aware ``instant`` is in ``[start, end)``."""
        moment = require_aware(instant, "instant")
        return self.start <= moment < self.end

    def __iter__(self) -> Iterator[dt.datetime]:
        """``start, end = window`` unpacks the bounds (as the ``(start, end)`` tuples the
        window replaces did)."""
        return iter((self.start, self.end))

    def __getitem__(self, index: int) -> dt.datetime:
        """Deprecated: ``window[0]`` / ``window[1]`` as on the old tuples; use ``.start`` /
        ``.end``."""
        warnings.warn(
            f"indexing a Window is deprecated since {RENAMED_IN} and will be removed in the "
            "next release; use .start / .end", DeprecationWarning, stacklevel=2,
        )
        return (self.start, self.end)[index]

    @property
    def bounds_us(self) -> tuple[int, int]:
        """``(start, end)`` as int64 microseconds since the epoch (UTC), end exclusive."""
        return datetime_to_us(self.start), datetime_to_us(self.end)


def window_arg(
    window: Window | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    where: str,
) -> Window:
    """The window a range-taking function was given, through ``window=`` or the deprecated
    ``start=``/``end=`` pair.

    Args:
        window: the ``window=`` argument.
        start, end: the deprecated bounds (both or neither).
        where: the public function's name, for the messages.

    Returns:
        ``window``, or ``Window(start, end)`` after a :class:`DeprecationWarning`.

    Raises:
        TypeError: ``window`` together with a bound, or neither a window nor both bounds.
        InvalidTypeError: ``window`` is not a :class:`Window`.
    """
    if window is not None:
        if start is not None or end is not None:
            raise TypeError(
                f"{where}() got window= and its deprecated start=/end=; pass only window="
            )
        if not isinstance(window, Window):
            raise InvalidTypeError(
                f"window must be an ecrm.Window, got {type(window).__name__} {window!r}"
            )
        return window
    if start is None or end is None:
        raise InvalidTypeError(f"{where}() needs window= (an ecrm.Window)")
    _warn_bounds(where)
    return Window(start, end)


def _warn_bounds(where: str) -> None:
    warnings.warn(
        f"{where}(): the keywords start=/end= are deprecated since {RENAMED_IN} and will be "
        "removed in the next release; use window=ecrm.Window(start, end) instead",
        DeprecationWarning,
        stacklevel=4,
    )


def open_window_arg(
    window: Window | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    where: str,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The bounds of an optional range: ``window=``, the deprecated ``start=``/``end=``
    (either may be open), or neither (the whole log).

    Returns:
        ``(start, end)``, each ``None`` when open; a deprecated bound is returned as given
        after a :class:`DeprecationWarning`.

    Raises:
        TypeError: ``window`` together with a bound.
        InvalidTypeError: ``window`` is not a :class:`Window`.
    """
    if window is not None:
        w = window_arg(window, start, end, where=where)
        return w.start, w.end
    if start is not None or end is not None:
        _warn_bounds(where)
    return start, end


_P = ParamSpec("_P")
_R = TypeVar("_R")


def bounds_renamed(where: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """A decorator taking the deprecated ``start=``/``end=`` aware bounds of a function
    whose range is now ``window=`` (an :class:`Window`), for one release.

    The decorated function keeps its new signature (for type checkers and
    :func:`inspect.signature`); a call with ``start=`` and ``end=`` warns
    (:class:`DeprecationWarning` naming ``window=``) and passes ``window=Window(start,
    end)`` on.

    Args:
        where: the public function's name, for the messages.

    Raises:
        TypeError: (from the decorated function) ``window=`` together with a bound, or
            only one of the two bounds.
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if "start" not in kwargs and "end" not in kwargs:
                return func(*args, **kwargs)
            moved: dict[str, Any] = dict(kwargs)
            window = window_arg(moved.pop("window", None), moved.pop("start", None),
                                moved.pop("end", None), where=where)
            return func(*args, window=window, **moved)  # type: ignore[arg-type]

        return wrapper

    return decorate
