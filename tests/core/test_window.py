"""ecrm.Window: the one half-open range type, its constructors and the start/end alias."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, Window
from ecrm._window import window_arg

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
UTC = dt.UTC


def test_half_open_start_in_end_out() -> None:
    w = Window(dt.datetime(2025, 6, 1, tzinfo=SH), dt.datetime(2025, 6, 2, tzinfo=SH))
    assert w.start in w
    assert dt.datetime(2025, 6, 1, 23, 59, 59, 999_999, tzinfo=SH) in w
    assert w.end not in w
    # the same instant written in another zone: 2025-06-01 16:00 UTC is 06-02 00:00 SH
    assert dt.datetime(2025, 6, 1, 15, 59, tzinfo=UTC) in w
    assert dt.datetime(2025, 6, 1, 16, 0, tzinfo=UTC) not in w


def test_bounds_must_be_aware_and_ordered() -> None:
    t = dt.datetime(2025, 6, 1, tzinfo=SH)
    with pytest.raises(InvalidValueError, match="end must be after start"):
        Window(t, t)
    with pytest.raises(InvalidValueError, match="start"):
        Window(dt.datetime(2025, 6, 1), t + dt.timedelta(days=1))
    with pytest.raises(InvalidTypeError, match="end must be a timezone-aware datetime"):
        Window(t, dt.date(2025, 6, 2))  # type: ignore[arg-type]


def test_frozen() -> None:
    w = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 2))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        w.start = w.end  # type: ignore[misc]


def test_of_dates_is_local_midnights_end_day_excluded() -> None:
    w = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), "Asia/Shanghai")
    assert (w.start, w.end) == (dt.datetime(2025, 6, 1, tzinfo=SH),
                                dt.datetime(2025, 6, 19, tzinfo=SH))
    # default zone is the store default, Asia/Shanghai: 00:00+08:00 is 16:00 UTC the day before
    assert Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 2)).bounds_us == (
        int(dt.datetime(2025, 5, 31, 16, tzinfo=UTC).timestamp()) * 1_000_000,
        int(dt.datetime(2025, 6, 1, 16, tzinfo=UTC).timestamp()) * 1_000_000,
    )


def test_of_dates_midnight_in_a_dst_gap_moves_forward() -> None:
    # Santiago sprang forward at 2024-09-08 00:00 (-04 → -03): that midnight does not
    # exist; the day starts at 01:00 -03, which is 04:00 UTC.
    w = Window.of_dates(dt.date(2024, 9, 8), dt.date(2024, 9, 9), SANTIAGO)
    assert w.start.astimezone(UTC) == dt.datetime(2024, 9, 8, 4, tzinfo=UTC)
    assert w.end.astimezone(UTC) - w.start.astimezone(UTC) == dt.timedelta(hours=23)


def test_of_dates_refuses_datetimes_and_reversed_days() -> None:
    with pytest.raises(InvalidTypeError, match="start must be a date"):
        Window.of_dates(dt.datetime(2025, 6, 1, tzinfo=SH), dt.date(2025, 6, 2))
    with pytest.raises(InvalidValueError, match="end must be after start"):
        Window.of_dates(dt.date(2025, 6, 2), dt.date(2025, 6, 1))


def test_ending_is_calendar_maths_before_as_of() -> None:
    as_of = dt.datetime(2025, 3, 31, 12, tzinfo=SH)
    assert Window.ending(as_of, months=1).start == dt.datetime(2025, 2, 28, 12, tzinfo=SH)
    assert Window.ending(as_of, years=1).start == dt.datetime(2024, 3, 31, 12, tzinfo=SH)
    assert Window.ending(as_of, days=30).end == as_of
    # one calendar day across New York's spring-forward is 23 hours
    after = dt.datetime(2024, 3, 10, 12, tzinfo=NY)
    start = Window.ending(after, days=1).start
    assert start == dt.datetime(2024, 3, 9, 12, tzinfo=NY)
    assert after.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=23)


def test_ending_refuses_empty_or_negative_spans() -> None:
    as_of = dt.datetime(2025, 3, 31, tzinfo=SH)
    with pytest.raises(InvalidValueError, match="at least one day"):
        Window.ending(as_of)
    with pytest.raises(InvalidValueError, match="days must be >= 0"):
        Window.ending(as_of, days=-1)
    with pytest.raises(InvalidValueError, match="as_of"):
        Window.ending(dt.datetime(2025, 3, 31), days=1)


@given(st.integers(0, 3_000), st.integers(1, 400), st.sampled_from([SH, NY, SANTIAGO, UTC]))
@example(941, 400, SANTIAGO)  # ends 2023-09-03, a day that starts at 01:00 in Santiago
def test_of_dates_holds_exactly_the_local_days(first: int, n_days: int, zone: Any) -> None:
    """Every instant's local date is in [start, end) iff the instant is in the window."""
    start = dt.date(2020, 1, 1) + dt.timedelta(days=first)
    end = start + dt.timedelta(days=n_days)
    w = Window.of_dates(start, end, zone)
    # the probes one microsecond off the edges are made in UTC: wall-clock arithmetic on an
    # aware datetime can land in a DST gap (Santiago's 2023-09-03 starts at 01:00)
    one = dt.timedelta(microseconds=1)
    first_us, end_us = w.start.astimezone(UTC), w.end.astimezone(UTC)
    for probe in (first_us, end_us - one, first_us - one, end_us):
        local_date = probe.astimezone(zone).date()
        assert (probe in w) == (start <= local_date < end)


def test_window_arg_takes_window_or_the_deprecated_pair() -> None:
    a, b = dt.datetime(2025, 6, 1, tzinfo=SH), dt.datetime(2025, 7, 1, tzinfo=SH)
    w = Window(a, b)
    assert window_arg(w, None, None, where="f") is w
    with pytest.warns(DeprecationWarning, match=r"f\(\): the keywords start=/end= are deprec"):
        assert window_arg(None, a, b, where="f") == w
    with pytest.raises(TypeError, match="got window= and its deprecated start=/end="):
        window_arg(w, a, None, where="f")
    with pytest.raises(TypeError, match=r"f\(\) needs window="):
        window_arg(None, a, None, where="f")
    with pytest.raises(InvalidTypeError, match=r"window must be an ecrm\.Window"):
        window_arg((a, b), None, None, where="f")  # type: ignore[arg-type]
