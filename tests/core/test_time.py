"""Vectorised local-day and zone-offset arithmetic agrees with zoneinfo row by row."""

import bisect
import datetime as dt
import functools
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import (
    CustomerTable,
    EventLog,
    InvalidTypeError,
    InvalidValueError,
    OrderLog,
    read_orders_csv,
)
from ecrm._columns import wall_to_utc_us
from ecrm._time import (
    NAT_US,
    as_zone,
    datetime_to_us,
    day_to_date,
    local_day,
    local_days,
    parse_iso_instants,
    require_aware,
    us_to_datetime,
)
from ecrm._time import _transitions as zone_transitions

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


# -- one DST rule on every wall -> UTC path ---------------------------------------------------
# The rule: a wall time in a gap moves forward by the gap; an ambiguous wall time takes the
# earlier instant. The reference below derives the instant from UTC -> local conversions only
# (which are never ambiguous), not from zoneinfo's fold handling nor from ecrm's code.

DST_ZONES = [
    "America/New_York", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe",
    "Europe/Dublin", "Pacific/Apia", "America/Sao_Paulo", "Asia/Tehran", "Africa/Casablanca",
    "Europe/London", "America/St_Johns", "Pacific/Chatham", "Asia/Shanghai",
]
_UTC_EPOCH = dt.datetime(1970, 1, 1)
_MINUTE = dt.timedelta(minutes=1)


def _utc_offset_at(zone: ZoneInfo, utc_naive: dt.datetime) -> dt.timedelta:
    off = utc_naive.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()
    assert off is not None
    return off


def _reference_utc(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The naive UTC instant of a naive wall time by the rule, from UTC -> local only."""
    # Offsets in force a day and a half either side (no zone changes twice that fast,
    # and Apia's 24-hour jump in 2011 fits).
    before = _utc_offset_at(zone, wall - dt.timedelta(hours=36))
    after = _utc_offset_at(zone, wall + dt.timedelta(hours=36))
    valid = sorted({wall - off for off in (before, after) if _utc_offset_at(zone, wall - off) == off})
    if valid:
        return valid[0]  # one instant, or a fold's earlier one
    return wall - before  # a gap: read with the offset before it, i.e. forward by the gap


@functools.cache
def _wall_transitions(name: str) -> tuple[dt.datetime, ...]:
    """Wall times (in the old offset) at which ``name`` changed offset, 2005-2030."""
    zone = ZoneInfo(name)
    out: list[dt.datetime] = []
    t = dt.datetime(2005, 1, 1)
    prev = _utc_offset_at(zone, t)
    step = dt.timedelta(hours=6)
    while t < dt.datetime(2030, 1, 1):
        nxt = t + step
        off = _utc_offset_at(zone, nxt)
        if off != prev:
            lo, hi = t, nxt
            while hi - lo > _MINUTE:
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    break
                lo, hi = (mid, hi) if _utc_offset_at(zone, mid) == prev else (lo, mid)
            out.append(hi + prev)
            prev = off
        t = nxt
    return tuple(out)


@st.composite
def _walls_near_transitions(draw: st.DrawFn) -> tuple[str, list[dt.datetime]]:
    name = draw(st.sampled_from(DST_ZONES))
    transitions = _wall_transitions(name) or (dt.datetime(2024, 1, 1),)
    first = draw(st.integers(min_value=0, max_value=len(transitions) - 1))
    nearby = transitions[first : first + 3]  # a year or so: keeps the zone scans short
    walls = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        edge = draw(st.sampled_from(nearby))
        minutes = draw(st.integers(min_value=-26 * 60, max_value=26 * 60))
        seconds = draw(st.sampled_from([0, 0, 0, 59]))
        walls.append(edge + dt.timedelta(minutes=minutes, seconds=seconds))
    return name, walls


def _us(naive_utc: dt.datetime) -> int:
    return datetime_to_us(naive_utc.replace(tzinfo=dt.UTC))


def test_the_rule_on_hand_worked_walls() -> None:
    """The issue's cases and the odd zones, worked out from the tz database by hand."""
    cases = [
        # New York springs forward 02:00 EST -> 03:00 EDT: 02:30 is 03:30 EDT = 07:30 UTC
        ("America/New_York", dt.datetime(2024, 3, 10, 2, 30), dt.datetime(2024, 3, 10, 7, 30)),
        # Berlin falls back 03:00 CEST -> 02:00 CET: 02:30 CEST (+2) is the earlier instant
        ("Europe/Berlin", dt.datetime(2024, 10, 27, 2, 30), dt.datetime(2024, 10, 27, 0, 30)),
        # Santiago springs forward at midnight (-4 -> -3): midnight is 01:00 -03 = 04:00 UTC
        ("America/Santiago", dt.datetime(2024, 9, 8), dt.datetime(2024, 9, 8, 4)),
        # Lord Howe: 02:00 +10:30 -> 02:30 +11; 02:15 is read at +10:30
        ("Australia/Lord_Howe", dt.datetime(2024, 10, 6, 2, 15), dt.datetime(2024, 10, 5, 15, 45)),
        # Dublin's negative DST: 02:00 IST (+1) -> 01:00 GMT; 01:30 takes IST
        ("Europe/Dublin", dt.datetime(2024, 10, 27, 1, 30), dt.datetime(2024, 10, 27, 0, 30)),
        # Apia skipped 2011-12-30 entirely (-10 -> +14): noon that day is read at -10
        ("Pacific/Apia", dt.datetime(2011, 12, 30, 12), dt.datetime(2011, 12, 30, 22)),
        # an ordinary time is untouched by the rule
        ("Asia/Shanghai", dt.datetime(2024, 6, 1, 8), dt.datetime(2024, 6, 1, 0)),
    ]
    for name, wall, utc in cases:
        zone = ZoneInfo(name)
        assert _reference_utc(wall, zone) == utc, name
        wall_us = np.asarray([_us(wall)], dtype=np.int64)
        assert wall_to_utc_us(wall_us, zone).tolist() == [_us(utc)], name


@settings(max_examples=60, deadline=None)
@given(_walls_near_transitions())
def test_every_wall_to_utc_path_follows_the_rule(case: tuple[str, list[dt.datetime]]) -> None:
    """numpy datetime64, naive datetimes, orders / customers / events CSV files and pandas,
    polars and arrow frames give the reference instant for wall times around transitions."""
    name, walls = case
    zone = ZoneInfo(name)
    expected = [_us(_reference_utc(w, zone)) for w in walls]
    n = len(walls)
    ids = [f"c{i:03d}" for i in range(n)]  # sorted ids keep the rows in input order

    wall_us = np.asarray([_us(w) for w in walls], dtype=np.int64)
    assert wall_to_utc_us(wall_us, zone).tolist() == expected
    one_by_one = [int(wall_to_utc_us(wall_us[i : i + 1], zone)[0]) for i in range(n)]
    assert one_by_one == expected

    numpy_log = OrderLog.from_arrays(ids, wall_us.view("M8[us]"), [100] * n, tz=name)
    assert numpy_log.placed_at_us.tolist() == expected
    naive_log = OrderLog.from_arrays(ids, walls, [100] * n, tz=name)
    assert naive_log.placed_at_us.tolist() == expected
    columns = {"customer_id": ids, "placed_at": wall_us.view("M8[us]"), "amount": [100] * n}
    assert OrderLog.from_pandas(pd.DataFrame(columns), tz=name).placed_at_us.tolist() == expected
    assert OrderLog.from_polars(pl.DataFrame(columns), tz=name).placed_at_us.tolist() == expected
    assert OrderLog.from_arrow(pa.table(columns), tz=name).placed_at_us.tolist() == expected

    text = [w.isoformat(sep=" ") for w in walls]
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.csv"
        orders.write_text("customer_id,placed_at,amount\n" + "".join(
            f"{c},{t},100\n" for c, t in zip(ids, text, strict=True)), encoding="utf-8")
        assert read_orders_csv(orders, tz=name).placed_at_us.tolist() == expected
        customers = Path(tmp) / "customers.csv"
        customers.write_text("customer_id,member_since\n" + "".join(
            f"{c},{t}\n" for c, t in zip(ids, text, strict=True)), encoding="utf-8")
        table = CustomerTable.from_csv(customers, tz=name)
        assert table.member_since_us[table.index_of(ids)].tolist() == expected
        events = Path(tmp) / "events.csv"
        events.write_text("customer_id,at,kind\n" + "".join(
            f"{c},{t},browse\n" for c, t in zip(ids, text, strict=True)), encoding="utf-8")
        assert sorted(EventLog.from_csv(events, tz=name).at_us.tolist()) == sorted(expected)


def test_date_only_cell_at_a_midnight_gap_is_one_in_the_morning(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2024-09-08,100\n", encoding="utf-8")
    log = read_orders_csv(path, tz="America/Santiago")
    local = us_to_datetime(int(log.placed_at_us[0]), ZoneInfo("America/Santiago"))
    assert (local.date(), local.hour, local.utcoffset()) == (
        dt.date(2024, 9, 8), 1, dt.timedelta(hours=-3))


# -- ISO 8601 text columns ----------------------------------------------------------------
_ISO_TEXTS = st.one_of(
    # a few decades, as real columns span (the zone scan is per range)
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0).isoformat(sep=" ")),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)).map(str),
    st.sampled_from(["2024-02-30", "2023-02-29", "2024-13-01 10:00", "2024-01-01 24:00",
                     "2024-01-01 10:00:60", "2024-01-01 10:00+08:00", "2024-01-01T10:00:00Z",
                     "2024-01-01 10:00:00.250", "20240101", "2024/01/01", "yesterday", "",
                     "2024-01-01 10", "2024-1-1", "0001-01-01", "9999-12-31 23:59",
                     "1899-12-31 23:59", "2200-01-01", "1850-01-01T00:00+08:00"]),
)


def _reference_iso(text: str, zone: ZoneInfo) -> int | None:
    """fromisoformat per cell; naive -> the DST rule's reference; None when refused."""
    if not text:
        return NAT_US
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if not 1900 <= when.year < 2200:
        return None
    if when.tzinfo is not None:
        return datetime_to_us(when)
    return _us(_reference_utc(when, zone))


@settings(max_examples=100, deadline=None)
@given(st.lists(_ISO_TEXTS, min_size=1, max_size=20), st.sampled_from(DST_ZONES))
def test_iso_columns_parse_like_fromisoformat(texts: list[str], name: str) -> None:
    zone = ZoneInfo(name)
    us, bad = parse_iso_instants(np.asarray(texts, dtype=str), zone)
    expected = [_reference_iso(t, zone) for t in texts]
    assert bad.tolist() == [i for i, e in enumerate(expected) if e is None]
    assert [u for u, e in zip(us.tolist(), expected, strict=True) if e is not None] == [
        e for e in expected if e is not None
    ]


def _zoneinfo_offset_us(tz: ZoneInfo, us: int) -> int:
    off = us_to_datetime(us, dt.UTC).astimezone(tz).utcoffset()
    assert off is not None
    return (off.days * 86_400 + off.seconds) * 1_000_000 + off.microseconds


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DST_ZONES + ZONES), st.integers(0, 1_900_000_000),
       st.integers(0, 500 * 86_400), st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_zone_transitions_give_zoneinfos_offsets(name: str, start_s: int, length_s: int,
                                                 fractions: list[float]) -> None:
    """The offsets and changes of a zone over a range, asked twice (the second from the
    cache of the 12-hour grid's scan) and over a part of it, are zoneinfo's: at random
    instants, and on both sides of every change (to the microsecond)."""
    tz = ZoneInfo(name)
    lo, hi = start_s * 1_000_000, (start_s + length_s) * 1_000_000
    for a, b in ((lo, hi), (lo, hi), (lo + (hi - lo) // 3 + 7, hi - (hi - lo) // 3)):
        starts, offsets = zone_transitions(tz, a, b)
        assert starts[0] == a
        assert len(starts) == len(offsets)
        assert all(a < s <= b for s in starts[1:])

        def offset_at(t: int, starts: list[int] = starts, offsets: list[int] = offsets) -> int:
            return offsets[bisect.bisect_right(starts, t) - 1]

        probes = [a + int((b - a) * f) for f in fractions] + [b]
        for change in starts[1:]:
            probes += [change - 1, change]
        for t in probes:
            assert offset_at(t) == _zoneinfo_offset_us(tz, t), (name, t)
