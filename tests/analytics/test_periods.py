"""Calendar periods in the store zone and period-over-period changes."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from ecrm import InvalidTypeError, InvalidValueError, Window
from ecrm.analytics import Freq, Period, change, periods

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int = 1) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=TZ)


def test_months_cover_the_range_half_open() -> None:
    ps = periods(dt.date(2024, 1, 31), dt.date(2024, 4, 1))
    assert [p.label for p in ps] == ["2024-01", "2024-02", "2024-03"]
    assert [(p.start, p.end) for p in ps] == [
        (at(2024, 1), at(2024, 2)), (at(2024, 2), at(2024, 3)), (at(2024, 3), at(2024, 4))]
    # An end just after midnight still includes the period that begins that day.
    ps = periods(at(2024, 1, 5), at(2024, 4, 1) + dt.timedelta(seconds=1), tz=TZ)
    assert [p.label for p in ps] == ["2024-01", "2024-02", "2024-03", "2024-04"]


def test_quarters_and_years() -> None:
    qs = periods(dt.date(2024, 2, 29), dt.date(2025, 1, 1), "quarter")
    assert [q.label for q in qs] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert qs[1].start == at(2024, 4)
    assert qs[1].end == at(2024, 7)
    ys = periods(dt.date(2023, 6, 1), dt.date(2025, 1, 1), Freq.YEAR)
    assert [(y.label, y.start, y.end) for y in ys] == [
        ("2023", at(2023, 1), at(2024, 1)), ("2024", at(2024, 1), at(2025, 1))]


def test_aware_bounds_are_read_in_the_store_zone() -> None:
    # 2024-01-31 20:00 UTC is Feb 1 04:00 in Shanghai.
    ps = periods(dt.datetime(2024, 1, 31, 20, tzinfo=dt.UTC), dt.date(2024, 3, 1), tz=TZ)
    assert [p.label for p in ps] == ["2024-02"]


def test_shifts() -> None:
    p = periods(dt.date(2024, 3, 1), dt.date(2024, 3, 2))[0]
    assert p.previous().label == "2024-02"
    assert p.year_ago().label == "2023-03"
    q = periods(dt.date(2024, 1, 1), dt.date(2024, 1, 2), "quarter")[0]
    assert q.previous().label == "2023Q4"
    assert q.year_ago().label == "2023Q1"
    y = periods(dt.date(2024, 1, 1), dt.date(2024, 1, 2), "year")[0]
    assert y.previous() == y.year_ago()
    assert y.previous().label == "2023"
    assert str(p) == "2024-03"


def test_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="before end"):
        periods(dt.date(2024, 3, 1), dt.date(2024, 3, 1))
    with pytest.raises(InvalidValueError, match="month, quarter or year") as info:
        periods(dt.date(2024, 3, 1), dt.date(2024, 4, 1), "week")
    assert info.value.field == "freq"
    with pytest.raises(InvalidTypeError):
        periods("2024-01-01", dt.date(2024, 4, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        periods(dt.datetime(2024, 1, 1), dt.date(2024, 4, 1))


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
    a, b = periods(dt.date(2024, 1, 1), dt.date(2024, 3, 1))
    assert a < b
    assert len({a, b, a}) == 2
    assert isinstance(a, Period)


def test_period_window_is_its_half_open_range() -> None:
    (march,) = periods(dt.date(2024, 3, 1), dt.date(2024, 4, 1), tz=TZ)
    assert march.window == Window(at(2024, 3, 1), at(2024, 4, 1))
    assert at(2024, 3, 31) + dt.timedelta(hours=23, minutes=59) in march.window
    assert at(2024, 4, 1) not in march.window
