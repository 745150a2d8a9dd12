"""Vectorised local-day and zone-offset arithmetic agrees with zoneinfo row by row."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError
from ecrm._columns import wall_to_utc_us
from ecrm._time import (
    NAT_US,
    as_zone,
    datetime_to_us,
    day_to_date,
    local_day,
    local_days,
    require_aware,
    us_to_datetime,
)

ZONES = ["Asia/Shanghai", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Europe/London", "UTC"]


@given(
    st.lists(st.integers(min_value=0, max_value=2_000_000_000), min_size=1, max_size=50),
    st.sampled_from(ZONES),
)
def test_local_days_match_zoneinfo(seconds: list[int], zone: str) -> None:
    tz = ZoneInfo(zone)
    us = np.asarray(seconds, dtype=np.int64) * 1_000_000
    expected = [
        (dt.datetime.fromtimestamp(s, tz).date() - dt.date(1970, 1, 1)).days for s in seconds
    ]
    assert local_days(us, tz).tolist() == expected


def test_local_days_at_dst_transitions_are_exact() -> None:
    tz = ZoneInfo("America/St_Johns")  # -3:30, DST switches at 02:00 local
    start = dt.datetime(2024, 3, 9, 12, tzinfo=dt.UTC)
    us = np.asarray([datetime_to_us(start + dt.timedelta(minutes=m)) for m in range(0, 48 * 60, 7)])
    expected = [local_day(us_to_datetime(int(u), dt.UTC), tz) for u in us]
    assert local_days(us, tz).tolist() == expected


def test_nat_stays_nat() -> None:
    out = local_days(np.asarray([NAT_US, 0], dtype=np.int64), ZoneInfo("Asia/Shanghai"))
    assert out.tolist() == [NAT_US, 0]


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    st.sampled_from(ZONES),
)
def test_wall_to_utc_matches_replace_tzinfo_for_unambiguous_times(wall: dt.datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    aware = wall.replace(tzinfo=tz)
    # Round-tripping through UTC detects gaps and folds; only compare where unambiguous.
    back = aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    folded = wall.replace(fold=1, tzinfo=tz).utcoffset() != aware.utcoffset()
    if back != wall or folded:
        return
    wall_us = datetime_to_us(wall.replace(tzinfo=dt.UTC))
    got = wall_to_utc_us(np.asarray([wall_us], dtype=np.int64), tz)
    assert int(got[0]) == datetime_to_us(aware)


def test_day_to_date_round_trip() -> None:
    assert day_to_date(0) == dt.date(1970, 1, 1)
    assert day_to_date(19723) == dt.date(2024, 1, 1)


def test_require_aware_rejects_naive_and_dates() -> None:
    with pytest.raises(InvalidValueError, match="as_of must be timezone-aware"):
        require_aware(dt.datetime(2024, 1, 1), "as_of")
    with pytest.raises(InvalidTypeError, match="as_of must be a timezone-aware datetime"):
        require_aware(dt.date(2024, 1, 1), "as_of")


def test_as_zone_names_the_bad_zone() -> None:
    with pytest.raises(InvalidValueError, match="Mars/Olympus"):
        as_zone("Mars/Olympus")
    assert as_zone(None) == ZoneInfo("Asia/Shanghai")
