"""Calendar periods in the store zone and period-over-period changes."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ecrm import InvalidTypeError, InvalidValueError, Window
from ecrm.analytics import Freq, Period, change, periods

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int = 1) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=TZ)


def test_months_cover_the_range_half_open() -> None:
    ps = periods(Window.of_dates(dt.date(2024, 1, 31), dt.date(2024, 4, 1), TZ))
    assert [p.label for p in ps] == ["2024-01", "2024-02", "2024-03"]
    assert [(p.start, p.end) for p in ps] == [
        (at(2024, 1), at(2024, 2)), (at(2024, 2), at(2024, 3)), (at(2024, 3), at(2024, 4))]
    # An end just after midnight still includes the period that begins that day.
    ps = periods(Window(at(2024, 1, 5), at(2024, 4, 1) + dt.timedelta(seconds=1)), tz=TZ)
    assert [p.label for p in ps] == ["2024-01", "2024-02", "2024-03", "2024-04"]


def test_quarters_and_years() -> None:
    qs = periods(Window.of_dates(dt.date(2024, 2, 29), dt.date(2025, 1, 1), TZ), "quarter")
    assert [q.label for q in qs] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert qs[1].start == at(2024, 4)
    assert qs[1].end == at(2024, 7)
    ys = periods(Window.of_dates(dt.date(2023, 6, 1), dt.date(2025, 1, 1), TZ), Freq.YEAR)
    assert [(y.label, y.start, y.end) for y in ys] == [
        ("2023", at(2023, 1), at(2024, 1)), ("2024", at(2024, 1), at(2025, 1))]


def test_aware_bounds_are_read_in_the_store_zone() -> None:
    # 2024-01-31 20:00 UTC is Feb 1 04:00 in Shanghai.
    ps = periods(Window(dt.datetime(2024, 1, 31, 20, tzinfo=dt.UTC), at(2024, 3, 1)), tz=TZ)
    assert [p.label for p in ps] == ["2024-02"]


def test_shifts() -> None:
    p = periods(Window.of_dates(dt.date(2024, 3, 1), dt.date(2024, 3, 2), TZ))[0]
    assert p.previous().label == "2024-02"
    assert p.year_ago().label == "2023-03"
    q = periods(Window.of_dates(dt.date(2024, 1, 1), dt.date(2024, 1, 2), TZ), "quarter")[0]
    assert q.previous().label == "2023Q4"
    assert q.year_ago().label == "2023Q1"
    y = periods(Window.of_dates(dt.date(2024, 1, 1), dt.date(2024, 1, 2), TZ), "year")[0]
    assert y.previous() == y.year_ago()
    assert y.previous().label == "2023"
    assert str(p) == "2024-03"


def test_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="after start"):
        periods(Window.of_dates(dt.date(2024, 3, 1), dt.date(2024, 3, 1), TZ))
    with pytest.raises(InvalidValueError, match="month, quarter or year") as info:
        periods(Window.of_dates(dt.date(2024, 3, 1), dt.date(2024, 4, 1), TZ), "week")
    assert info.value.field == "freq"
    with pytest.raises(InvalidTypeError, match=r"window must be an ecrm\.Window"):
        periods("2024-01-01")  # type: ignore[arg-type]
    old: Any = periods
    with pytest.raises(InvalidValueError, match="start"):
        old(dt.datetime(2024, 1, 1), dt.date(2024, 4, 1))  # naive: refused before a warning


def test_start_end_are_the_deprecated_form_of_a_window() -> None:
    """``periods(start, end, freq)`` (dates local in ``tz``) still works, with a warning."""
    old: Any = periods
    with pytest.warns(DeprecationWarning, match=r"periods\(\): the bounds start, end"):
        qs = old(dt.date(2024, 2, 29), dt.date(2025, 1, 1), "quarter", tz=TZ)
    assert [q.label for q in qs] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    with pytest.warns(DeprecationWarning, match="bounds start, end"):
        ms = old(start=at(2024, 1, 5), end=dt.date(2024, 3, 1), tz=TZ)
    assert [m.label for m in ms] == ["2024-01", "2024-02"]
    with pytest.raises(TypeError, match="window= and its deprecated"):
        old(start=at(2024, 1, 5), window=Window(at(2024, 1, 5), at(2024, 2, 1)))


def test_change_math() -> None:
    c = change(150, 120)
    assert (c.absolute, c.relative) == (30, Fraction(1, 4))
    assert c.format() == "+25.0%"
    assert change(90, 120).format() == "-25.0%"
    zero = change(5, 0)
    assert (zero.absolute, zero.relative, zero.format()) == (5, None, "-")
    missing = change(5, None)
    assert (missing.absolute, missing.relative) == (None, None)
    assert change(None, 3).absolute is None
    rate = change(Fraction(3, 10), Fraction(1, 4))
    assert rate.absolute == Fraction(1, 20)
    assert rate.format(percent_points=True) == "+5.0pt"
    assert change(0, 0).relative is None


def test_period_is_ordered_and_hashable() -> None:
    a, b = periods(Window.of_dates(dt.date(2024, 1, 1), dt.date(2024, 3, 1), TZ))
    assert a < b
    assert len({a, b, a}) == 2
    assert isinstance(a, Period)


def test_period_window_is_its_half_open_range() -> None:
    (march,) = periods(Window.of_dates(dt.date(2024, 3, 1), dt.date(2024, 4, 1), TZ), tz=TZ)
    assert march.window == Window(at(2024, 3, 1), at(2024, 4, 1))
    assert at(2024, 3, 31) + dt.timedelta(hours=23, minutes=59) in march.window
    assert at(2024, 4, 1) not in march.window
