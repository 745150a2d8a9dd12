"""Calendar periods (month / quarter / year) in the store zone, and period-over-period changes."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import warnings
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any, ParamSpec

import attrs
import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._deprecate import RENAMED_IN
from ecrm._time import as_zone, require_aware
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["Change", "Freq", "Period", "change", "check_periods", "periods"]


class Freq(enum.Enum):
    """How long a reporting period is."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def months(self) -> int:
        """Calendar months per period (1, 3, 12)."""
        return {Freq.MONTH: 1, Freq.QUARTER: 3, Freq.YEAR: 12}[self]


def _freq(value: object) -> Freq:
    if isinstance(value, Freq):
        return value
    try:
        return Freq(value)
    except ValueError:
        raise InvalidValueError("freq", "must be month, quarter or year", value) from None


@attrs.frozen(order=True)
class Period:
    """A half-open calendar period ``[start, end)`` in the store zone.

    Attributes:
        start, end: aware local midnights (day 1 of a month).
        freq: month, quarter or year.
    """

    start: dt.datetime = attrs.field(validator=lambda _i, a, v: require_aware(v, a.name))
    end: dt.datetime = attrs.field(validator=lambda _i, a, v: require_aware(v, a.name))
    freq: Freq = attrs.field(validator=_v.instance_of(Freq))

    @property
    def label(self) -> str:
        """``2025-03``, ``2025Q1`` or ``2025``."""
        s = self.start
        if self.freq is Freq.MONTH:
            return f"{s.year:04d}-{s.month:02d}"
        if self.freq is Freq.QUARTER:
            return f"{s.year:04d}Q{(s.month - 1) // 3 + 1}"
        return f"{s.year:04d}"

    @property
    def window(self) -> Window:
        """The period as an :class:`ecrm.Window` (``[start, end)``), for ``window=``."""
        return Window(self.start, self.end)

    def shifted(self, n: int) -> Period:
        """The period ``n`` steps later (negative: earlier), same length."""
        tz = self.start.tzinfo
        months = self.freq.months * n
        s = _local_first(self.start.replace(tzinfo=None) + relativedelta(months=months), tz)
        e = _local_first(self.end.replace(tzinfo=None) + relativedelta(months=months), tz)
        return Period(s, e, self.freq)

    def previous(self) -> Period:
        """The period just before (period over period)."""
        return self.shifted(-1)

    def year_ago(self) -> Period:
        """The same period one year earlier (year over year)."""
        return self.shifted(-12 // self.freq.months)

    def __str__(self) -> str:
        return self.label



def check_periods(periods: Iterable[Any], *, same_freq: bool = False) -> tuple[Period, ...]:
    """``periods`` as a non-empty tuple of :class:`Period` (all of one freq if ``same_freq``).

    Raises:
        InvalidValueError: no periods; with ``same_freq``, a period of another freq than the
            first.
        InvalidTypeError: an element is not a :class:`Period`.
    """
    wanted = tuple(periods)
    if not wanted:
        raise InvalidValueError("periods", "must hold at least one period", [])
    for i, p in enumerate(wanted):
        if not isinstance(p, Period):
            raise InvalidTypeError(f"periods[{i}] must be a Period, got {type(p).__name__}")
        if same_freq and p.freq is not wanted[0].freq:
            raise InvalidValueError(f"periods[{i}]", f"must be a {wanted[0].freq.value}", p.label)
    return wanted

def _local_first(naive: dt.datetime, tz: Any) -> dt.datetime:
    return dt.datetime(naive.year, naive.month, 1, tzinfo=tz)


def _floor(day: dt.date, freq: Freq) -> tuple[int, int]:
    month = day.month - (day.month - 1) % freq.months
    return day.year, month


def _legacy_instant(value: object, zone: dt.tzinfo, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return require_aware(value, field)
    if isinstance(value, dt.date):
        return Window.of_dates(value, value + dt.timedelta(days=1), zone).start
    raise InvalidTypeError(
        f"{field} must be a date or an aware datetime, got {type(value).__name__} {value!r}"
    )


_P = ParamSpec("_P")


def _legacy_bounds(func: Callable[_P, tuple[Period, ...]]) -> Callable[_P, tuple[Period, ...]]:
    """Accept the deprecated ``periods(start, end[, freq])`` form (also ``start=``/``end=``)
    for one release: dates are local midnights in ``tz``."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> tuple[Period, ...]:
        old = dict(kwargs)
        lead = list(args)
        if (lead and isinstance(lead[0], dt.date)) or "start" in old or "end" in old:
            if "window" in old:
                raise TypeError("periods() got window= and its deprecated start=/end=; "
                                "pass only window=")
            start = lead.pop(0) if lead and isinstance(lead[0], dt.date) else old.pop("start", None)
            end = lead.pop(0) if lead else old.pop("end", None)
            if start is None or end is None:
                raise TypeError("periods() needs window= (an ecrm.Window)")
            zone = as_zone(old.get("tz"))  # type: ignore[arg-type]
            bounds = (_legacy_instant(start, zone, "start"), _legacy_instant(end, zone, "end"))
            warnings.warn(
                f"periods(): the bounds start, end are deprecated since {RENAMED_IN} and will "
                "be removed in the next release; pass window=ecrm.Window(start, end) (or "
                "Window.of_dates(first_day, end_day, tz)) instead",
                DeprecationWarning, stacklevel=2,
            )
            return func(Window(*bounds), *lead, **old)  # type: ignore[arg-type]
        return func(*args, **kwargs)

    return wrapper


@_legacy_bounds
def periods(
    window: Window,
    freq: Freq | str = Freq.MONTH,
    *,
    tz: str | dt.tzinfo | None = None,
) -> tuple[Period, ...]:
    """The calendar periods from the one holding ``window.start`` up to the last one
    beginning before ``window.end`` (read on the local calendar of ``tz``).

    >>> from ecrm import Window
    >>> spring = Window.of_dates(dt.date(2025, 2, 10), dt.date(2025, 5, 1), "Asia/Shanghai")
    >>> [p.label for p in periods(spring)]
    ['2025-02', '2025-03', '2025-04']
    >>> winter = Window.of_dates(dt.date(2024, 11, 1), dt.date(2025, 4, 1), "Asia/Shanghai")
    >>> [p.label for p in periods(winter, "quarter")]
    ['2024Q4', '2025Q1']

    Args:
        window: an :class:`ecrm.Window` (``Window.of_dates(first_day, end_day, tz)`` for
            local days). The old form ``periods(start, end[, freq])`` (dates as local
            midnights in ``tz``, or aware datetimes) still works for one release with a
            :class:`DeprecationWarning`.
        freq: ``"month"``, ``"quarter"`` or ``"year"`` (quarters start in Jan/Apr/Jul/Oct).
        tz: the store zone (default Asia/Shanghai); pass ``orders.tz``.

    Raises:
        InvalidValueError: unknown ``freq``; an empty or naive window.
        InvalidTypeError: ``window`` is not a :class:`ecrm.Window`.
    """
    zone = as_zone(tz)
    if not isinstance(window, Window):
        raise InvalidTypeError(
            f"window must be an ecrm.Window, got {type(window).__name__} {window!r}"
        )
    f = _freq(freq)
    lo = window.start.astimezone(zone).date()
    local_end = window.end.astimezone(zone)
    hi = local_end.date()
    if local_end.time() != dt.time(0):
        hi = hi + dt.timedelta(days=1)  # a period beginning on end's day begins before end
    y, m = _floor(lo, f)
    first = dt.datetime(y, m, 1, tzinfo=zone)
    out = [Period(first, _local_first(dt.datetime(y, m, 1) + relativedelta(months=f.months),
                                      zone), f)]
    while out[-1].end.date() < hi:
        out.append(out[-1].shifted(1))
    return tuple(out)


@attrs.frozen
class Change:
    """A value against its base: absolute change and relative change.

    Attributes:
        value: this period's value (``None`` when unknown).
        base: the comparison period's value (``None`` when missing).
        absolute: ``value − base`` (``None`` when either is missing).
        relative: ``absolute / base`` (``None`` when the base is 0 or missing).
    """

    value: int | Fraction | None
    base: int | Fraction | None
    absolute: int | Fraction | None
    relative: Fraction | None

    def format(self, *, percent_points: bool = False) -> str:
        """``+12.5%`` (relative), or for rates ``+3.1pt`` (absolute, percentage points)."""
        if percent_points:
            if self.absolute is None:
                return "-"
            return f"{float(self.absolute) * 100:+.1f}pt"
        if self.relative is None:
            return "-"
        return f"{float(self.relative):+.1%}"


def change(value: int | Fraction | None, base: int | Fraction | None) -> Change:
    """The :class:`Change` of ``value`` against ``base``.

    >>> change(120, 100).relative, change(5, 0).relative, change(5, None).absolute
    (Fraction(1, 5), None, None)

    Raises:
        InvalidTypeError: ``value`` or ``base`` is not an int, a Fraction or None (a float
            would make the exact change inexact, and NaN has none).
    """
    for name, x in (("value", value), ("base", base)):
        if x is not None:
            _v.check_instance(name, x, (int, Fraction, np.integer))
    if value is None or base is None:
        return Change(value, base, None, None)
    absolute = value - base
    relative = None if base == 0 else Fraction(absolute) / Fraction(base)
    return Change(value, base, absolute, relative)
