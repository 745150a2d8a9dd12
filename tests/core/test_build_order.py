"""The OrderLog build's fast paths give exactly what the plain numpy/zoneinfo versions give.

``customer_time_order`` (radix sort) against ``np.lexsort``; ``factorize`` (direct-address
table) against ``np.unique``; ``wall_to_utc_us`` (one-offset fast path) against
``datetime.replace(tzinfo=...)`` row by row.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ecrm._columns import customer_time_order, factorize, wall_to_utc_us
from ecrm._time import NAT_US, datetime_to_us

ZONES = ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Europe/London", "UTC"]


def _order_or_identity(codes: np.ndarray, placed: np.ndarray, n_codes: int) -> np.ndarray:
    perm = customer_time_order(codes, placed, n_codes)
    return np.arange(len(codes)) if perm is None else perm


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=60),
    st.booleans(),
)
def test_customer_time_order_is_lexsort(rows: list[tuple[int, int]], time_sorted: bool) -> None:
    if time_sorted:
        rows = sorted(rows, key=lambda r: r[1])
    codes = np.asarray([c for c, _ in rows], dtype=np.int32)
    placed = np.asarray([t for _, t in rows], dtype=np.int64)
    got = _order_or_identity(codes, placed, 31)
    assert got.tolist() == np.lexsort((placed, codes)).tolist()


def test_customer_time_order_with_more_codes_than_one_radix_digit() -> None:
    rng = np.random.default_rng(7)
    n_codes = 300_000  # > 2**16: two 16-bit digits
    codes = rng.integers(0, n_codes, size=200_000).astype(np.int32)
    placed = rng.integers(0, 1_000, size=200_000).astype(np.int64)
    expected = np.lexsort((placed, codes))
    assert np.array_equal(_order_or_identity(codes, placed, n_codes), expected)
    placed.sort()  # time-ordered input takes the no-time-sort path
    expected = np.lexsort((placed, codes))
    assert np.array_equal(_order_or_identity(codes, placed, n_codes), expected)


def test_customer_time_order_says_none_when_already_in_order() -> None:
    codes = np.asarray([0, 0, 1, 2, 2], dtype=np.int32)
    assert customer_time_order(codes, np.asarray([1, 2, 0, 5, 5]), 3) is None
    # sorted codes but time out of order within a customer: a real permutation
    perm = customer_time_order(codes, np.asarray([2, 1, 0, 5, 5]), 3)
    assert perm is not None
    assert perm.tolist() == [1, 0, 2, 3, 4]


@given(
    st.lists(st.integers(-50, 50), min_size=1, max_size=80)
    | st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=40)
)
def test_factorize_is_np_unique(values: list[int]) -> None:
    ids = np.asarray(values, dtype=np.int64)
    uniq, codes = factorize(ids)
    expected_uniq, expected_codes = np.unique(ids, return_inverse=True)
    assert uniq.tolist() == expected_uniq.tolist()
    assert codes.tolist() == expected_codes.reshape(-1).tolist()
    assert codes.dtype == np.int32


def _expected_utc(wall_us: list[int], tz: ZoneInfo) -> list[int]:
    out = []
    for w in wall_us:
        if w == NAT_US:
            out.append(NAT_US)
        else:
            naive = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=w)
            out.append(datetime_to_us(naive.replace(tzinfo=tz)))
    return out


@given(
    st.lists(
        st.integers(0, 2_000_000_000).map(lambda s: s * 1_000_000) | st.just(NAT_US),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(ZONES),
    st.integers(0, 3_600_000_000),
)
def test_wall_to_utc_matches_replace_tzinfo(wall: list[int], zone: str, span_us: int) -> None:
    # short spans (one offset: the fast path) and long ones (across DST: the general path)
    base = wall[0] if wall[0] != NAT_US else 1_700_000_000_000_000
    short = [w if w == NAT_US else base + (w % (span_us + 1)) for w in wall]
    tz = ZoneInfo(zone)
    for values in (wall, short):
        got = wall_to_utc_us(np.asarray(values, dtype=np.int64), tz)
        assert got.tolist() == _expected_utc(values, tz)


def test_wall_to_utc_of_a_year_in_shanghai_is_one_subtraction() -> None:
    wall = np.arange(0, 366 * 86_400, 3_600, dtype=np.int64) * 1_000_000 + 1_704_067_200_000_000
    tz = ZoneInfo("Asia/Shanghai")
    assert np.array_equal(wall_to_utc_us(wall, tz), wall - 8 * 3_600_000_000)
    assert wall_to_utc_us(wall, tz).tolist() == _expected_utc(wall.tolist()[:50], tz) + (
        wall[50:] - 8 * 3_600_000_000
    ).tolist()
