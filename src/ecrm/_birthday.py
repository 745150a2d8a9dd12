"""A customer's birthday: :class:`Birthday` (month and day, the year when known)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["Birthday"]

#: Days in each month (index 1..12), Feb 29 included.
DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    """Whether ``year`` is a Gregorian leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _check_birthday(month: int, day: int, year: int | None) -> str | None:
    """The broken rule, or ``None`` when (month, day, year) is a real date."""
    if not 1 <= month <= 12:
        return "month must be 1..12"
    if not 1 <= day <= DAYS_IN_MONTH[month]:
        return f"day must be 1..{DAYS_IN_MONTH[month]} in month {month}"
    if year is not None:
        if not 1900 <= year <= 2100:
            return "year must be 1900..2100 (or unknown)"
        if month == 2 and day == 29 and not is_leap(year):
            return f"Feb 29 needs a leap year, {year} is not one"
    return None


def _int_field(field: str, *, optional: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")

    return check


@attrs.frozen(order=True)
class Birthday:
    """A birthday: month and day, and the year when known.

    Shops often know only the month and day. Feb 29 is allowed (with a leap year or no
    year); :meth:`falls_on` celebrates it on Feb 28 in other years.

    >>> Birthday(2, 29).falls_on(dt.date(2025, 2, 28))
    True
    >>> Birthday(5, 17, 1990).age_on(dt.date(2025, 5, 16))
    34

    Raises:
        InvalidValueError: no such date (month 13, Apr 31, Feb 29 of a common year).
    """

    month: int = attrs.field(validator=_int_field("birthday.month"))
    day: int = attrs.field(validator=_int_field("birthday.day"))
    year: int | None = attrs.field(
        default=None, validator=_int_field("birthday.year", optional=True)
    )

    def __attrs_post_init__(self) -> None:
        rule = _check_birthday(self.month, self.day, self.year)
        if rule is not None:
            raise InvalidValueError("birthday", rule, str(self))

    @classmethod
    def from_date(cls, value: dt.date) -> Birthday:
        """The birthday of a full date (year known)."""
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise InvalidTypeError(f"birthday must be a date, got {type(value).__name__} {value!r}")
        return cls(value.month, value.day, value.year)

    @classmethod
    def parse(cls, text: str, field: str = "birthday") -> Birthday:
        """Read ``YYYY-MM-DD``, ``MM-DD`` or ``--MM-DD`` (ISO 8601 without year).

        Raises:
            InvalidValueError: another shape, or no such date.
        """
        m = re.fullmatch(r"\s*(?:(\d{4})-|--)?(\d{1,2})-(\d{1,2})\s*", text)
        if m is None:
            raise InvalidValueError(field, "must be YYYY-MM-DD, MM-DD or --MM-DD", text)
        year = int(m.group(1)) if m.group(1) else None
        month, day = int(m.group(2)), int(m.group(3))
        rule = _check_birthday(month, day, year)
        if rule is not None:
            raise InvalidValueError(field, rule, text)
        return cls(month, day, year)

    def falls_on(self, day: dt.date) -> bool:
        """Whether the birthday is celebrated on ``day`` (Feb 29 → Feb 28 in common years)."""
        if (day.month, day.day) == (self.month, self.day):
            return True
        return (
            (self.month, self.day) == (2, 29)
            and (day.month, day.day) == (2, 28)
            and not is_leap(day.year)
        )

    def age_on(self, day: dt.date) -> int | None:
        """Whole years of age on ``day``, or ``None`` when the year is unknown.

        A Feb 29 birthday adds a year on Mar 1 in common years.
        """
        if self.year is None:
            return None
        return day.year - self.year - ((day.month, day.day) < (self.month, self.day))

    def __str__(self) -> str:
        head = f"{self.year:04d}-" if self.year is not None else "--"
        return f"{head}{self.month:02d}-{self.day:02d}"

