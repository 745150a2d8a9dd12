"""Time zones, aware datetimes and vectorised local-day arithmetic.

ecrm stores instants as int64 microseconds since the Unix epoch (UTC). Calendar maths
("1 month before as_of") happens on aware datetimes in the store's zone through
``dateutil.relativedelta``; day counts are whole calendar days in that zone.
"""

from __future__ import annotations

import bisect
import datetime as dt
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "DEFAULT_TZ",
    "ISO_RULE",
    "NAT_US",
    "US_PER_DAY",
    "as_zone",
    "datetime_to_us",
    "local_day",
    "local_days",
    "naive_to_wall_us",
    "one_wall_offset",
    "parse_iso_instants",
    "require_aware",
    "us_to_datetime",
    "utc_offsets_us",
    "wall_to_utc_us",
]

DEFAULT_TZ: Final = "Asia/Shanghai"
US_PER_SECOND: Final = 1_000_000
US_PER_DAY: Final = 86_400 * US_PER_SECOND
#: The "no time" sentinel in int64 microsecond columns (same bit pattern as NaT).
NAT_US: Final = np.iinfo(np.int64).min

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The longest accepted zone name (the longest IANA name, America/Argentina/ComodRivadavia,
#: has 32 characters).
# Moments ecrm accepts: far from datetime's own limits (years 1 and 9999), so that a window
# back from ``as_of``, a horizon forward or a shift into another zone stays representable.
MIN_YEAR: Final = 1000
MAX_YEAR: Final = 8999

MAX_ZONE_NAME: Final = 64


def as_zone(tz: str | dt.tzinfo | None, field: str = "tz") -> dt.tzinfo:
    """Return a tzinfo for ``tz`` (an IANA name or a tzinfo); ``None`` gives the default.

    This is the one place zone names are checked: ``tz=`` arguments, customer-file cells
    and ``Customer.tz`` all come here.

    Raises:
        InvalidValueError: ``tz`` names no known zone (a name over 64 characters, or one
            the system cannot open, included).
        InvalidTypeError: ``tz`` is neither a name nor a tzinfo.
    """
    if tz is None:
        return _zone(DEFAULT_TZ)
    if isinstance(tz, dt.tzinfo):
        return tz
    if isinstance(tz, str):
        # zoneinfo opens a file named after the key: a long or odd name raises OSError
        # ("File name too long") or ValueError instead of ZoneInfoNotFoundError.
        if len(tz) > MAX_ZONE_NAME:
            raise InvalidValueError(
                field,
                f"must name an IANA time zone such as 'Asia/Shanghai' (at most "
                f"{MAX_ZONE_NAME} characters, got {len(tz)})",
                f"{tz[:40]}...",
            )
        try:
            return _zone(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name too long for a file name (zoneinfo looks names up as files)
            shown = tz if len(tz) <= 80 else tz[:80] + "…"
            raise InvalidValueError(field, "must name an IANA time zone such as 'Asia/Shanghai'", shown) from None
    raise InvalidTypeError(f"{field} must be a zone name or tzinfo, got {type(tz).__name__} {tz!r}")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_name(tz: dt.tzinfo) -> str:
    """A printable name of a tzinfo (the IANA key when there is one)."""
    return getattr(tz, "key", None) or str(tz)


def require_aware(value: object, field: str) -> dt.datetime:
    """Check that ``value`` is a timezone-aware ``datetime`` and return it.

    Raises:
        InvalidTypeError: not a datetime (a ``date`` is refused too: it has no zone).
        InvalidValueError: a naive datetime, or one outside the years ``MIN_YEAR`` (1000)
            to ``MAX_YEAR`` (8999).
    """
    if not isinstance(value, dt.datetime):
        raise InvalidTypeError(
            f"{field} must be a timezone-aware datetime, got {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidValueError(
            field,
            "must be timezone-aware (attach a zone, e.g. datetime(..., tzinfo=ZoneInfo('Asia/Shanghai')))",
            value,
        )
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidValueError(field, f"must be in the years {MIN_YEAR} to {MAX_YEAR}", value)
    return value


def datetime_to_us(value: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact integer arithmetic)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def us_to_datetime(us: int, tz: dt.tzinfo) -> dt.datetime:
    """The aware datetime in ``tz`` of an epoch-microsecond instant."""
    return (_EPOCH + dt.timedelta(microseconds=int(us))).astimezone(tz)


def local_day(value: dt.datetime, tz: dt.tzinfo) -> int:
    """Whole days since 1970-01-01 of ``value``'s calendar date in ``tz``."""
    return value.astimezone(tz).date().toordinal() - _EPOCH_ORDINAL


_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()


def day_to_date(day: int) -> dt.date:
    """The calendar date of a local day number (days since 1970-01-01)."""
    return dt.date.fromordinal(int(day) + _EPOCH_ORDINAL)


def date_to_day(value: dt.date) -> int:
    """The local day number (days since 1970-01-01) of a calendar date."""
    return value.toordinal() - _EPOCH_ORDINAL


def _offset_us(tz: dt.tzinfo, us: int) -> int:
    off = us_to_datetime(us, dt.UTC).astimezone(tz).utcoffset()
    assert off is not None
    return (off.days * 86_400 + off.seconds) * US_PER_SECOND + off.microseconds


def _transitions(tz: dt.tzinfo, lo_us: int, hi_us: int) -> tuple[list[int], list[int]]:
    """UTC instants where ``tz``'s offset changes within [lo, hi], and the offsets from them
    (the first "start" is ``lo_us``, with the offset in force there).

    Samples the offset on a 12-hour grid and bisects each change to the exact microsecond;
    real zones never change offset twice within 12 hours. The scan of the grid's span is
    remembered per zone, so a second column over the same days asks the zone nothing.
    """
    a, b = lo_us // _GRID_US * _GRID_US, -(-hi_us // _GRID_US) * _GRID_US
    try:
        starts, offsets = _grid_transitions(tz, a, b)
    except TypeError:  # a tzinfo that cannot be a cache key
        starts, offsets = _scan_transitions(tz, a, b)
    except (OverflowError, ValueError):  # the grid's edge past datetime's range
        return _scan_transitions(tz, lo_us, hi_us)
    k = bisect.bisect_right(starts, lo_us) - 1
    end = bisect.bisect_right(starts, hi_us)
    return [lo_us, *starts[k + 1:end]], offsets[k:end]


#: The sampling step of :func:`_transitions`.
_GRID_US: Final = 12 * 3600 * US_PER_SECOND


@lru_cache(maxsize=64)
def _grid_transitions(tz: dt.tzinfo, lo_us: int, hi_us: int) -> tuple[list[int], list[int]]:
    return _scan_transitions(tz, lo_us, hi_us)


def _scan_transitions(tz: dt.tzinfo, lo_us: int, hi_us: int) -> tuple[list[int], list[int]]:
    step = _GRID_US
    starts = [lo_us]
    offsets = [_offset_us(tz, lo_us)]
    t = lo_us
    current = offsets[0]
    while t < hi_us:
        nxt = min(t + step, hi_us)
        off = _offset_us(tz, nxt)
        if off != current:
            a, b = t, nxt  # offset(a) == current, offset(b) != current
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_us(tz, mid) == current:
                    a = mid
                else:
                    b = mid
            starts.append(b)
            offsets.append(off)
            current = off
        t = nxt
    return starts, offsets


def utc_offsets_us(us: npt.NDArray[np.int64], tz: dt.tzinfo) -> npt.NDArray[np.int64]:
    """The UTC offset of ``tz`` at each instant, in microseconds (vectorised).

    Args:
        us: int64 epoch microseconds, shape (n,). ``NAT_US`` entries get offset 0.
        tz: the zone.

    Returns:
        int64 array, shape (n,).
    """
    us = np.asarray(us, dtype=np.int64)
    if not us.size:
        return np.zeros(us.shape, dtype=np.int64)
    present = _present(us)
    if present is not None and not present.any():
        return np.zeros(us.shape, dtype=np.int64)
    vals = us if present is None else us[present]
    lo, hi = int(vals.min()), int(vals.max())
    fixed = _fixed_offset(tz)
    if fixed is None:
        starts, offsets = _transitions(tz, lo, hi)
        if len(starts) == 1:
            fixed = offsets[0]
    if fixed is not None:  # one offset for every instant
        if present is None:
            return np.full(us.shape, fixed, dtype=np.int64)
        out = np.zeros(us.shape, dtype=np.int64)
        out[present] = fixed
        return out
    out = np.zeros(us.shape, dtype=np.int64)
    if present is None:
        present = np.ones(us.shape, dtype=bool)
    idx = np.searchsorted(np.asarray(starts[1:], dtype=np.int64), vals, side="right")
    out[present] = np.asarray(offsets, dtype=np.int64)[idx]
    return out


def _present(us: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_] | None:
    """Which values of a non-empty ``us`` are not ``NAT_US``; ``None`` when all are (decided
    by one reduction, as NAT_US is int64's minimum: no mask made for a full column)."""
    return None if int(us.min()) != NAT_US else us != NAT_US


def _fixed_offset(tz: dt.tzinfo) -> int | None:
    if isinstance(tz, dt.timezone):
        off = tz.utcoffset(None)
        return (off.days * 86_400 + off.seconds) * US_PER_SECOND + off.microseconds
    return None


def local_days(us: npt.NDArray[np.int64], tz: dt.tzinfo) -> npt.NDArray[np.int64]:
    """Whole local calendar days since 1970-01-01 in ``tz`` of each instant (vectorised).

    ``NAT_US`` entries map to ``NAT_US``.
    """
    us = np.asarray(us, dtype=np.int64)
    days = us + utc_offsets_us(us, tz)
    np.floor_divide(days, US_PER_DAY, out=days)
    present = _present(us) if us.size else None
    return days if present is None else np.where(present, days, NAT_US)


def wall_to_utc_us(
    wall: npt.NDArray[np.int64], tz: dt.tzinfo, *, in_place: bool = False
) -> npt.NDArray[np.int64]:
    """Convert wall-clock microseconds in ``tz`` to UTC microseconds (vectorised).

    One rule, the same as ``zoneinfo`` with ``fold=0``: a wall time is read with the UTC
    offset in force *before* the nearest transition whenever it is not unambiguous. So a
    wall time in a DST gap moves forward by the gap (``2024-03-10 02:30`` in New York is
    03:30 EDT) and an ambiguous wall time in a fold takes the earlier instant. The rule
    holds for any ``tzinfo``: only its UTC -> local offsets are consulted.

    Args:
        wall: int64 wall-clock microseconds since 1970-01-01, shape (n,); ``NAT_US`` stays.
        tz: the zone the wall times are in.
        in_place: write the result into ``wall`` (an int64 array of the caller's own) when
            every value is present; a big column is then not allocated twice.

    Returns:
        int64 epoch microseconds (UTC), shape (n,).
    """
    wall = np.asarray(wall, dtype=np.int64)
    if not len(wall):
        return wall.copy()
    present = _present(wall)
    if present is not None and not present.any():
        return wall.copy()
    vals = wall if present is None else wall[present]
    starts, offsets = _wall_offsets(tz, int(vals.min()), int(vals.max()))
    if len(offsets) == 1:
        if present is None and in_place:
            return np.subtract(wall, offsets[0], out=wall)
        utc_vals = vals - offsets[0]
    else:
        # The transition at UTC instant T from offset a to b covers the wall times up to
        # T + max(a, b) with the old offset a: the whole gap (b > a) and the whole fold
        # (a > b) are read with a, as zoneinfo does for fold=0.
        before = np.asarray(offsets[:-1], dtype=np.int64)
        after = np.asarray(offsets[1:], dtype=np.int64)
        wall_edges = np.asarray(starts[1:], dtype=np.int64) + np.maximum(before, after)
        idx = np.searchsorted(wall_edges, vals, side="right")
        utc_vals = vals - np.asarray(offsets, dtype=np.int64)[idx]
    if present is None:
        return utc_vals
    out = np.full(len(wall), NAT_US, dtype=np.int64)
    out[present] = utc_vals
    return out


def _wall_offsets(tz: dt.tzinfo, lo: int, hi: int) -> tuple[list[int], list[int]]:
    """The UTC offsets of ``tz`` that wall times in ``[lo, hi]`` (µs) can meet, and the UTC
    instants from which each is in force (as :func:`_transitions` gives them)."""
    fixed = _fixed_offset(tz)
    if fixed is not None:
        return [lo], [fixed]
    try:
        # A day's margin on each side covers the UTC instant of every wall time (|offset| < 24 h).
        return _transitions(tz, lo - US_PER_DAY, hi + US_PER_DAY)
    except (OverflowError, ValueError):  # near datetime's limits: clamp the margin
        return _transitions(tz, lo, hi)


def one_wall_offset(tz: dt.tzinfo, lo: int, hi: int) -> int | None:
    """The UTC offset (µs) of every wall time in ``[lo, hi]`` (µs) in ``tz`` when the zone
    keeps one offset over them all, else ``None``: wall time − offset is then UTC."""
    offsets = _wall_offsets(tz, lo, hi)[1]
    return offsets[0] if len(offsets) == 1 else None


def naive_to_wall_us(value: dt.datetime) -> int:
    """Wall-clock microseconds since 1970-01-01 of a datetime, ignoring any tzinfo and fold."""
    delta = value.replace(tzinfo=None) - _EPOCH_NAIVE
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


_EPOCH_NAIVE: Final = dt.datetime(1970, 1, 1)


# -- ISO 8601 text columns ----------------------------------------------------------------
#: The rule a date-time cell of a customer or event file breaks.
ISO_RULE: Final = (
    "must be an ISO 8601 date-time such as 2025-03-01 10:00:00 (years 1900..2199)"
)
_MIN_WALL_US: Final = int(np.datetime64("1900-01-01", "us").view(np.int64))
_MAX_WALL_US: Final = int(np.datetime64("2200-01-01", "us").view(np.int64))
_CUM_DAYS: Final = np.asarray([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365])
_DAYS_IN: Final = np.asarray([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def parse_iso_instants(
    texts: npt.NDArray[np.str_], tz: dt.tzinfo
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """ISO 8601 cells as epoch microseconds (UTC), vectorised.

    ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` and ``YYYY-MM-DD HH:MM:SS`` (space or ``T``) are
    read from the cells' code points; any other cell goes to ``datetime.fromisoformat``
    (offsets, fractions, ``Z`` …). Naive times are wall time in ``tz`` by the one DST rule
    of :func:`wall_to_utc_us`.

    Args:
        texts: str, shape (n,), stripped; ``""`` means no time.

    Returns:
        (us, bad): int64 shape (n,) with ``NAT_US`` for empty and bad cells; the positions
        of the bad cells (not ISO 8601, or a year outside 1900..2199), which break
        :data:`ISO_RULE`.
    """
    n = len(texts)
    out = np.full(n, NAT_US, dtype=np.int64)
    given = np.flatnonzero(texts != "")
    wall = np.zeros(n, dtype=np.int64)
    naive = np.zeros(n, dtype=bool)
    wall[given], naive[given] = _iso_wall_fast(texts[given])
    bad: list[int] = []
    for i in given[~naive[given]].tolist():
        try:
            when = dt.datetime.fromisoformat(str(texts[i]))
        except ValueError:
            bad.append(i)
            continue
        if when.tzinfo is not None and when.utcoffset() is not None:
            if not 1900 <= when.year < 2200:
                bad.append(i)
                continue
            out[i] = datetime_to_us(when)
        else:
            wall[i] = naive_to_wall_us(when)
            naive[i] = True
    far = naive & ((wall < _MIN_WALL_US) | (wall >= _MAX_WALL_US))
    if far.any():
        bad.extend(np.flatnonzero(far).tolist())
        naive &= ~far
    idx = np.flatnonzero(naive)
    if idx.size:
        out[idx] = wall_to_utc_us(wall[idx], tz)
    return out, np.asarray(sorted(bad), dtype=np.intp)


def _iso_wall_fast(
    texts: npt.NDArray[np.str_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Wall microseconds of the ``YYYY-MM-DD[( |T)HH:MM[:SS]]`` cells; which were read."""
    n = len(texts)
    have = texts.dtype.itemsize // 4
    if n == 0 or have < 10:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    # one row per character position (contiguous), 0-padded to 20: longer cells differ
    cp = np.zeros((20, n), dtype=np.int32)
    width = min(have, 20)
    cp[:width] = np.ascontiguousarray(texts).view(np.uint32).reshape(n, have)[:, :width].T
    d = (cp - 48).astype(np.int64)
    isd = d.view(np.uint64) < 10
    end = cp == 0
    ok = isd[0] & isd[1] & isd[2] & isd[3] & (cp[4] == 45) & isd[5] & isd[6] & (cp[7] == 45)
    ok &= isd[8] & isd[9]
    timed = (cp[10] == 32) | (cp[10] == 84)
    timed &= isd[11] & isd[12] & (cp[13] == 58) & isd[14] & isd[15]
    secs = timed & (cp[16] == 58) & isd[17] & isd[18] & end[19]
    ok &= end[10] | (timed & end[16]) | secs
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    day = d[8] * 10 + d[9]
    hour = np.where(timed, d[11] * 10 + d[12], 0)
    minute = np.where(timed, d[14] * 10 + d[15], 0)
    second = np.where(secs, d[17] * 10 + d[18], 0)
    m = np.clip(month, 0, 13)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= _DAYS_IN[np.clip(m, 0, 12)])
    ok &= ~((month == 2) & (day == 29) & ~leap)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    # days since 1970-01-01 of (year, month, day), proleptic Gregorian
    y = year - 1
    days = (y * 365 + y // 4 - y // 100 + y // 400 - 719162
            + _CUM_DAYS[np.clip(m, 0, 13)] + ((month > 2) & leap) + day - 1)
    wall = ((days * 24 + hour) * 60 + minute) * 60 + second
    return np.where(ok, wall * US_PER_SECOND, 0), ok


def zoned_iso(value: dt.datetime) -> str:
    """ISO 8601 with the offset, plus the IANA zone in brackets (RFC 9557) when known.

    The instant is written as its zone shows it: a wall time that does not exist (in a
    spring-forward gap, e.g. after ``timedelta`` arithmetic on a zoned datetime) is written
    as the real wall time of the same instant, so :func:`parse_zoned_iso` reads back the same
    instant and writing it again gives the same text.

    >>> from zoneinfo import ZoneInfo
    >>> zoned_iso(dt.datetime(2024, 3, 10, 2, 30, tzinfo=ZoneInfo("America/New_York")))
    '2024-03-10T03:30:00-04:00[America/New_York]'
    """
    key = getattr(value.tzinfo, "key", None)
    if not key:
        return value.isoformat()
    return value.astimezone(dt.UTC).astimezone(value.tzinfo).isoformat() + f"[{key}]"


def parse_zoned_iso(text: str) -> dt.datetime:
    """The datetime :func:`zoned_iso` wrote, back in its own zone (offset only if none)."""
    iso, _, zone = text.partition("[")
    value = dt.datetime.fromisoformat(iso)
    return value.astimezone(as_zone(zone[:-1])) if zone else value
