"""The one zoned-ISO codec (tickets, survey scores): same instant back, stable text, DST nights."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ecrm._time import parse_zoned_iso, zoned_iso

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_wall_time_in_the_spring_gap_is_written_as_the_real_wall_time() -> None:
    # 02:30 on 2024-03-10 does not exist in New York; fold=0 gives it EST (-05:00) = 07:30Z,
    # which the clock shows as 03:30 EDT.
    gap = dt.datetime(2024, 3, 10, 2, 30, tzinfo=NY)
    assert zoned_iso(gap) == "2024-03-10T03:30:00-04:00[America/New_York]"
    # the same instant (same-zone == compares wall times, so compare in UTC)
    assert parse_zoned_iso(zoned_iso(gap)).astimezone(dt.UTC) == gap.astimezone(dt.UTC)


def test_both_autumn_instants_keep_their_offsets() -> None:
    first = dt.datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN)
    second = dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN)
    assert zoned_iso(first) == "2024-10-27T02:30:00+02:00[Europe/Berlin]"
    assert zoned_iso(second) == "2024-10-27T02:30:00+01:00[Europe/Berlin]"
    assert parse_zoned_iso(zoned_iso(second)) == second
    assert parse_zoned_iso(zoned_iso(second)).utcoffset() == dt.timedelta(hours=1)


def test_fixed_offsets_have_no_bracket() -> None:
    value = dt.datetime(2024, 5, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert zoned_iso(value) == "2024-05-01T08:00:00+08:00"
    assert parse_zoned_iso("2024-05-01T08:00:00+08:00") == value


@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2037, 12, 31),
                    timezones=st.sampled_from([NY, BERLIN, ZoneInfo("America/Santiago"),
                                               ZoneInfo("Asia/Shanghai")]),
                    allow_imaginary=True))
def test_same_instant_and_stable_text(value: dt.datetime) -> None:
    text = zoned_iso(value)
    back = parse_zoned_iso(text)
    assert back.astimezone(dt.UTC) == value.astimezone(dt.UTC)
    assert back.tzinfo is value.tzinfo
    assert zoned_iso(back) == text
