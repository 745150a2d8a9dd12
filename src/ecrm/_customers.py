"""Customer profiles: :class:`Customer` (one, validated) and :class:`CustomerTable` (columnar).

Contact data is personal data: phone numbers and e-mail addresses are validated and stored
normalised, and every ``repr`` masks them (``138****0000``, ``a***@example.com``) so that
logs and tracebacks never show them in full.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import Problems, check_lengths, field_columns, ids_column, instants_column
from ecrm._enums import parse_alias
from ecrm._errors import (
    DataFormatError,
    InvalidTypeError,
    InvalidValueError,
    RowError,
)
from ecrm._ids import check_customer_id
from ecrm._time import (
    NAT_US,
    as_zone,
    datetime_to_us,
    require_aware,
    us_to_datetime,
    wall_datetime_to_us,
    zone_name,
)

__all__ = [
    "FAKE_PHONE_PREFIX",
    "Birthday",
    "Customer",
    "CustomerTable",
    "Gender",
    "is_fake_phone",
    "mask_email",
    "mask_phone",
    "normalize_email",
    "normalize_phone",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Phone numbers starting with this prefix are fake. The ``154`` block is not allocated to
#: any carrier in the MIIT mainland numbering plan (checked 2025), so numbers in it reach no
#: real person, yet they look like valid mainland mobiles (11 digits, ``1[3-9]…``) and pass
#: :func:`normalize_phone`. :func:`ecrm.datasets.sample_shop` draws every phone from
#: ``1540xxxxxxx``; demos use :func:`is_fake_phone` to refuse real sends to anything else.
FAKE_PHONE_PREFIX: Final = "1540"

_PHONE_RE: Final = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-().]")
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


# -- contact data -------------------------------------------------------------------------
def normalize_phone(value: str, field: str = "phone") -> str:
    """The 11-digit form of a mainland China mobile number.

    Spaces, dashes, dots and brackets are dropped, and a ``+86`` / ``0086`` / ``86`` country
    prefix is removed.

    >>> normalize_phone("+86 138-0013-8000")
    '13800138000'

    Raises:
        InvalidTypeError: not a string.
        InvalidValueError: not 11 digits starting with ``1`` and then 3–9.
    """
    if not isinstance(value, str):
        raise InvalidTypeError(f"{field} must be a string, got {type(value).__name__}")
    digits = _PHONE_SEPARATORS.sub("", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _PHONE_RE.fullmatch(digits):
        raise InvalidValueError(
            field,
            "must be a mainland mobile number: 11 digits starting with 1 and then 3-9",
            mask_phone(value),
        )
    return digits


def normalize_email(value: str, field: str = "email") -> str:
    """An e-mail address stripped, with its domain lower-cased (basic syntax check only).

    >>> normalize_email(" Li.Na@Example.COM ")
    'Li.Na@example.com'

    Raises:
        InvalidTypeError: not a string.
        InvalidValueError: not ``local@domain.tld`` (one ``@``, no spaces, a dotted domain).
    """
    if not isinstance(value, str):
        raise InvalidTypeError(f"{field} must be a string, got {type(value).__name__}")
    text = value.strip()
    if not _EMAIL_RE.fullmatch(text):
        raise InvalidValueError(field, "must look like local@domain.tld", mask_email(text))
    local, domain = text.split("@")
    return f"{local}@{domain.lower()}"


def mask_phone(phone: str | None) -> str:
    """A phone number with its middle hidden: ``138****8000``.

    >>> mask_phone("13800138000")
    '138****8000'
    """
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_email(email: str | None) -> str:
    """An e-mail address with its local part hidden but the first character: ``a***@example.com``.

    >>> mask_email("alice@example.com")
    'a***@example.com'
    """
    if not email:
        return ""
    local, sep, domain = email.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


def is_fake_phone(phone: str | None) -> bool:
    """Whether ``phone`` is in the reserved fake range :data:`FAKE_PHONE_PREFIX` (sample data).

    >>> is_fake_phone("15400000001"), is_fake_phone("13800138000")
    (True, False)
    """
    if not phone:
        return False
    try:
        return normalize_phone(phone).startswith(FAKE_PHONE_PREFIX)
    except (InvalidValueError, InvalidTypeError):
        return False


# -- gender and birthday ------------------------------------------------------------------
class Gender(enum.Enum):
    """A customer's gender as the shop knows it (``UNKNOWN`` when not given)."""

    UNKNOWN = "unknown"
    FEMALE = "female"
    MALE = "male"

    @property
    def code(self) -> int:
        """The small integer stored in :attr:`CustomerTable.gender_codes` (0, 1, 2)."""
        return _GENDER_CODES[self]


_GENDER_CODES: Final = {g: i for i, g in enumerate(Gender)}
GENDER_BY_CODE: Final = tuple(Gender)
_GENDER_ALIASES: Final = {
    **{g.value: g for g in Gender},
    "": Gender.UNKNOWN,
    "u": Gender.UNKNOWN,
    "未知": Gender.UNKNOWN,
    "f": Gender.FEMALE,
    "女": Gender.FEMALE,
    "m": Gender.MALE,
    "男": Gender.MALE,
}


def parse_gender(value: object, field: str = "gender") -> Gender:
    """A :class:`Gender` from a member, ``"female"``/``"f"``/``"女"`` etc. (``None`` → unknown).

    Raises:
        InvalidValueError: the text names no gender.
    """
    if value is None:
        return Gender.UNKNOWN
    rule = "must be female, male or unknown (or f / m / 女 / 男)"
    return parse_alias(Gender, _GENDER_ALIASES, value, field, rule)


_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _check_birthday(month: int, day: int, year: int | None) -> str | None:
    """The broken rule, or ``None`` when (month, day, year) is a real date."""
    if not 1 <= month <= 12:
        return "month must be 1..12"
    if not 1 <= day <= _DAYS_IN_MONTH[month]:
        return f"day must be 1..{_DAYS_IN_MONTH[month]} in month {month}"
    if year is not None:
        if not 1900 <= year <= 2100:
            return "year must be 1900..2100 (or unknown)"
        if month == 2 and day == 29 and not _is_leap(year):
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
            and not _is_leap(day.year)
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


def _to_birthday(value: object) -> object:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return Birthday.from_date(value)
    if isinstance(value, str):
        return Birthday.parse(value)
    return value


# -- Customer -----------------------------------------------------------------------------
def _text(field: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidTypeError(
                f"{field} must be a string or None, got {type(value).__name__} {value!r}"
            )

    return check


def _empty_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _phone_converter(value: object) -> object:
    value = _empty_to_none(value)
    return normalize_phone(value) if isinstance(value, str) else value


def _email_converter(value: object) -> object:
    value = _empty_to_none(value)
    return normalize_email(value) if isinstance(value, str) else value


def _tags_converter(value: object) -> object:
    if isinstance(value, str):
        raise InvalidTypeError(f"tags must be a collection of strings, not one string {value!r}")
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


def _check_bool(field: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise InvalidTypeError(f"{field} must be a bool, got {type(value).__name__} {value!r}")

    return check


@attrs.frozen(repr=False)
class Customer:
    """One customer's profile.

    Args:
        customer_id: the shop's id (str or int), as in the order log.
        name: display name (``None`` when unknown).
        phone: a mainland mobile number, stored as 11 digits (``+86``, spaces and dashes
            are accepted and removed).
        email: an e-mail address (basic syntax check; domain lower-cased).
        gender: a :class:`Gender` (or ``"female"`` / ``"f"`` / ``"女"`` …).
        birthday: a :class:`Birthday` (year optional), a ``date`` or ``"MM-DD"`` text.
        occupation, province, city: free text as the shop has it (``None`` when unknown).
        tz: the customer's IANA time zone, or ``None`` to fall back to the store's zone.
        tags: the shop's labels (标签).
        member_since: when the customer joined the store membership (opt-in, aware), or
            ``None`` for a customer who never joined.
        blocked: on the shop's block list (恶意客户): never traded with or messaged.
        marketing_opt_in: whether marketing may reach the customer at all (default true;
            per-channel opt-outs such as SMS "T" replies are kept by ``ecrm.touch``).

    ``repr`` masks the phone and e-mail.

    >>> Customer(1, phone="138 0013 8000", email="alice@example.com")
    Customer(customer_id=1, phone='138****8000', email='a***@example.com')

    Raises:
        InvalidValueError / InvalidTypeError naming the field.
    """

    customer_id: str | int = attrs.field(validator=check_customer_id)
    name: str | None = attrs.field(default=None, converter=_empty_to_none, validator=_text("name"))
    phone: str | None = attrs.field(
        default=None, converter=_phone_converter, validator=_text("phone")
    )
    email: str | None = attrs.field(
        default=None, converter=_email_converter, validator=_text("email")
    )
    gender: Gender = attrs.field(default=Gender.UNKNOWN, converter=parse_gender)
    birthday: Birthday | None = attrs.field(default=None, converter=_to_birthday)
    occupation: str | None = attrs.field(
        default=None, converter=_empty_to_none, validator=_text("occupation")
    )
    province: str | None = attrs.field(
        default=None, converter=_empty_to_none, validator=_text("province")
    )
    city: str | None = attrs.field(default=None, converter=_empty_to_none, validator=_text("city"))
    tz: str | None = attrs.field(default=None, converter=_empty_to_none)
    tags: frozenset[str] = attrs.field(factory=frozenset, converter=_tags_converter)
    member_since: dt.datetime | None = attrs.field(default=None)
    blocked: bool = attrs.field(default=False, validator=_check_bool("blocked"))
    marketing_opt_in: bool = attrs.field(default=True, validator=_check_bool("marketing_opt_in"))

    @birthday.validator
    def _check_birthday_type(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, Birthday):
            raise InvalidTypeError(
                "birthday must be a Birthday, date or 'MM-DD' text, "
                f"got {type(value).__name__} {value!r}"
            )

    @tz.validator
    def _check_tz(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise InvalidTypeError(
                f"tz must be an IANA zone name or None, got {type(value).__name__} {value!r}"
            )
        as_zone(value, "tz")

    @tags.validator
    def _check_tags(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, frozenset):
            raise InvalidTypeError(
                f"tags must be a collection of strings, got {type(value).__name__}"
            )
        for tag in value:
            if not isinstance(tag, str) or not tag.strip():
                raise InvalidValueError("tags", "must hold non-empty strings", tag)

    @member_since.validator
    def _check_member_since(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            require_aware(value, "member_since")

    def is_member(self, as_of: dt.datetime) -> bool:
        """Whether the customer had joined the membership before ``as_of`` (half-open)."""
        require_aware(as_of, "as_of")
        return self.member_since is not None and self.member_since < as_of

    def __repr__(self) -> str:
        parts = [f"customer_id={self.customer_id!r}"]
        for field in attrs.fields(Customer)[1:]:
            value = getattr(self, field.name)
            if value == field.default or (field.name == "tags" and not value):
                continue
            if field.name == "phone":
                value = mask_phone(value)
            elif field.name == "email":
                value = mask_email(value)
            elif field.name == "tags":
                value = sorted(value)
            elif field.name == "birthday":
                value = str(value)
            elif field.name == "gender":
                parts.append(f"gender=Gender.{value.name}")
                continue
            parts.append(f"{field.name}={value!r}")
        return f"Customer({', '.join(parts)})"


# -- CustomerTable ------------------------------------------------------------------------
_TRUE: Final = frozenset({"1", "true", "t", "yes", "y", "是"})
_FALSE: Final = frozenset({"0", "false", "f", "no", "n", "否", ""})

#: Columns of :meth:`CustomerTable.from_csv` (the header names unless ``columns`` maps them).
CSV_FIELDS: Final = (
    "customer_id",
    "name",
    "phone",
    "email",
    "gender",
    "birthday",
    "occupation",
    "province",
    "city",
    "tz",
    "tags",
    "member_since",
    "blocked",
    "marketing_opt_in",
)


_FRAME_COLUMNS: Final = {
    "customer_id": "customer_ids",
    "name": "names",
    "phone": "phones",
    "email": "emails",
    "gender": "genders",
    "birthday": "birthdays",
    "occupation": "occupations",
    "province": "provinces",
    "city": "cities",
    "tz": "zones",
    "zone": "zones",
    "member_since": "member_since",
    "blocked": "blocked",
    "marketing_opt_in": "marketing_opt_in",
    "tags": "tags",
}
"""Frame column name -> :meth:`CustomerTable.from_arrays` argument (singular names too)."""
_TIMES: Final = ("member_since",)
"""Frame columns read as instants (naive ones are wall time in ``tz``)."""


@attrs.frozen(eq=False, repr=False)
class CustomerTable:
    """Customer profiles as validated numpy columns, one row per customer, sorted by id.

    Build it with :meth:`from_customers`, :meth:`from_arrays`, :meth:`from_csv`,
    :meth:`from_pandas`, :meth:`from_polars` or :meth:`from_arrow`. Text columns hold ``""``
    for unknown values.

    Attributes:
        tz: the store's time zone (used for naive inputs and for dates of instants).
        customer_ids: shape (n,), sorted and unique (int64 or str).
        names, phones, emails, occupations, provinces, cities: str, shape (n,).
        zones: str, shape (n,), the customer's IANA zone or ``""`` for the store zone.
        gender_codes: int8, shape (n,), :attr:`Gender.code` (0 unknown, 1 female, 2 male).
        birth_years: int16, shape (n,), 0 when unknown.
        birth_months, birth_days: int8, shape (n,), 0 when the birthday is unknown.
        tag_names: the distinct tags, sorted.
        tag_matrix: bool, shape (n, len(tag_names)): row i has tag j.
        member_since_us: int64 epoch microseconds of joining, ``NAT_US`` for non-members.
        blocked: bool, shape (n,), on the block list (恶意客户).
        marketing_opt_in: bool, shape (n,).
    """

    tz: dt.tzinfo
    customer_ids: npt.NDArray[Any]
    names: npt.NDArray[np.str_]
    phones: npt.NDArray[np.str_]
    emails: npt.NDArray[np.str_]
    gender_codes: npt.NDArray[np.int8]
    birth_years: npt.NDArray[np.int16]
    birth_months: npt.NDArray[np.int8]
    birth_days: npt.NDArray[np.int8]
    occupations: npt.NDArray[np.str_]
    provinces: npt.NDArray[np.str_]
    cities: npt.NDArray[np.str_]
    zones: npt.NDArray[np.str_]
    tag_names: tuple[str, ...]
    tag_matrix: npt.NDArray[np.bool_]
    member_since_us: IntArray
    blocked: BoolArray
    marketing_opt_in: BoolArray

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_customers(
        cls, customers: Iterable[Customer], *, tz: str | dt.tzinfo | None = None
    ) -> CustomerTable:
        """Build a table from :class:`Customer` values.

        Raises:
            InvalidTypeError: an element is not a ``Customer``, or ids mix str and int.
            DataFormatError: duplicate customer ids (each repeat listed).
        """
        rows = list(customers)
        for i, c in enumerate(rows):
            if not isinstance(c, Customer):
                raise InvalidTypeError(
                    f"customers[{i}] must be a Customer, got {type(c).__name__} {c!r}"
                )
        kinds = {type(c.customer_id) for c in rows}
        if len(kinds) > 1:
            raise InvalidTypeError(
                "customer_id values must be all str or all int, got a mix of str and int"
            )
        ids = np.asarray([c.customer_id for c in rows], dtype=np.int64 if kinds == {int} else str)
        vocab = sorted({t for c in rows for t in c.tags})
        col = {t: j for j, t in enumerate(vocab)}
        matrix = np.zeros((len(rows), len(vocab)), dtype=bool)
        for i, c in enumerate(rows):
            for t in c.tags:
                matrix[i, col[t]] = True

        def text(values: Iterable[str | None]) -> npt.NDArray[np.str_]:
            return np.asarray([v or "" for v in values], dtype=str).reshape(len(rows))

        bdays = [c.birthday for c in rows]
        return cls._build(
            as_zone(tz),
            ids,
            "<customers>",
            names=text(c.name for c in rows),
            phones=text(c.phone for c in rows),
            emails=text(c.email for c in rows),
            gender_codes=np.asarray([c.gender.code for c in rows], dtype=np.int8),
            birth_years=np.asarray([(b.year or 0) if b else 0 for b in bdays], dtype=np.int16),
            birth_months=np.asarray([b.month if b else 0 for b in bdays], dtype=np.int8),
            birth_days=np.asarray([b.day if b else 0 for b in bdays], dtype=np.int8),
            occupations=text(c.occupation for c in rows),
            provinces=text(c.province for c in rows),
            cities=text(c.city for c in rows),
            zones=text(c.tz for c in rows),
            tag_names=tuple(vocab),
            tag_matrix=matrix,
            member_since_us=np.asarray(
                [
                    NAT_US if c.member_since is None else datetime_to_us(c.member_since)
                    for c in rows
                ],
                dtype=np.int64,
            ),
            blocked=np.asarray([c.blocked for c in rows], dtype=bool),
            marketing_opt_in=np.asarray([c.marketing_opt_in for c in rows], dtype=bool),
        )

    @classmethod
    def from_arrays(
        cls,
        customer_ids: Sequence[Any] | npt.NDArray[Any],
        *,
        names: Sequence[str | None] | npt.NDArray[Any] | None = None,
        phones: Sequence[str | None] | npt.NDArray[Any] | None = None,
        emails: Sequence[str | None] | npt.NDArray[Any] | None = None,
        genders: Sequence[Any] | npt.NDArray[Any] | None = None,
        birthdays: Sequence[Birthday | dt.date | str | None] | None = None,
        birth_years: Sequence[int] | npt.NDArray[Any] | None = None,
        birth_months: Sequence[int] | npt.NDArray[Any] | None = None,
        birth_days: Sequence[int] | npt.NDArray[Any] | None = None,
        occupations: Sequence[str | None] | npt.NDArray[Any] | None = None,
        provinces: Sequence[str | None] | npt.NDArray[Any] | None = None,
        cities: Sequence[str | None] | npt.NDArray[Any] | None = None,
        zones: Sequence[str | None] | npt.NDArray[Any] | None = None,
        tags: Sequence[Iterable[str] | None] | None = None,
        member_since: Sequence[dt.datetime | None] | npt.NDArray[Any] | None = None,
        blocked: Sequence[bool] | npt.NDArray[Any] | None = None,
        marketing_opt_in: Sequence[bool] | npt.NDArray[Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        source: str = "<arrays>",
    ) -> CustomerTable:
        """Validate and build a table from equal-length columns.

        Args:
            customer_ids: str or int ids, shape (n,), unique.
            names, occupations, provinces, cities: text (``None`` / ``""`` unknown).
            phones: mainland mobiles (normalised to 11 digits); ``None`` / ``""`` unknown.
            emails: e-mail addresses; ``None`` / ``""`` unknown.
            genders: :class:`Gender` members, their names, ``f`` / ``m`` / ``女`` / ``男``, or
                int codes 0–2.
            birthdays: :class:`Birthday` / ``date`` / ``"MM-DD"`` text / ``None`` per row; or
                instead ``birth_months`` and ``birth_days`` (0 = unknown) with optional
                ``birth_years`` (0 = unknown), vectorised.
            zones: IANA zone names, ``""`` / ``None`` for the store zone.
            tags: one collection of tag strings per row.
            member_since: opt-in times: aware datetimes or ``None``, or numpy ``datetime64``
                wall-clock times in ``tz`` (NaT = not a member).
            blocked, marketing_opt_in: bools (defaults false / true).
            tz: the store's zone (default ``Asia/Shanghai``).
            source: a name for error messages.

        Raises:
            InvalidValueError: columns of different lengths.
            DataFormatError: every bad cell (row, column, value, rule), duplicates included.
        """
        n = check_lengths(
            source,
            {
                "customer_ids": customer_ids,
                "names": names,
                "phones": phones,
                "emails": emails,
                "genders": genders,
                "birthdays": birthdays,
                "birth_years": birth_years,
                "birth_months": birth_months,
                "birth_days": birth_days,
                "occupations": occupations,
                "provinces": provinces,
                "cities": cities,
                "zones": zones,
                "tags": tags,
                "member_since": member_since,
                "blocked": blocked,
                "marketing_opt_in": marketing_opt_in,
            },
        )
        if birthdays is not None and (birth_months is not None or birth_days is not None):
            raise InvalidValueError(
                "birthdays",
                "give either birthdays or birth_months/birth_days, not both",
                None,
                show_value=False,
            )
        zone = as_zone(tz)
        problems = Problems(source)
        ids = (
            ids_column(customer_ids, "customer_ids", problems)
            if n
            else np.zeros(0, dtype=np.int64)
        )
        phone = _contact_column(phones, n, "phones", normalize_phone, mask_phone, problems)
        email = _contact_column(emails, n, "emails", normalize_email, mask_email, problems)
        gender = _gender_column(genders, n, problems)
        if birthdays is not None:
            years, months, days = _birthday_objects(birthdays, problems)
        else:
            years, months, days = _birthday_columns(
                birth_years, birth_months, birth_days, n, problems
            )
        zcol = _zone_column(zones, n, problems)
        vocab, matrix = _tag_columns(tags, n, problems)
        since = (
            np.full(n, NAT_US, dtype=np.int64)
            if member_since is None
            else instants_column(member_since, "member_since", zone, problems, allow_missing=True)
        )
        if len(ids) == n and n > 1:
            order = np.argsort(ids, kind="stable")
            s = ids[order]
            dup = np.flatnonzero(s[1:] == s[:-1])
            if dup.size:
                problems.add_rows(
                    np.sort(order[dup + 1]),
                    "customer_ids",
                    ids,
                    "must be unique (this id appears earlier)",
                )
        problems.raise_if_any("customers")
        return cls._build(
            zone,
            ids,
            source,
            names=_text_column(names, n),
            phones=phone,
            emails=email,
            gender_codes=gender,
            birth_years=years,
            birth_months=months,
            birth_days=days,
            occupations=_text_column(occupations, n),
            provinces=_text_column(provinces, n),
            cities=_text_column(cities, n),
            zones=zcol,
            tag_names=vocab,
            tag_matrix=matrix,
            member_since_us=since,
            blocked=_bool_column(blocked, n, False, "blocked"),
            marketing_opt_in=_bool_column(marketing_opt_in, n, True, "marketing_opt_in"),
        )

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
        tag_separator: str = ";",
        encoding: str = "utf-8-sig",
    ) -> CustomerTable:
        """Read customers from a CSV file with a header row (stdlib :mod:`csv`).

        Columns (header names; ``columns`` maps a field to another header): ``customer_id``
        (required), ``name``, ``phone``, ``email``, ``gender``, ``birthday``
        (``YYYY-MM-DD``, ``MM-DD`` or ``--MM-DD``), ``occupation``, ``province``, ``city``,
        ``tz``, ``tags`` (separated by ``tag_separator``), ``member_since`` (ISO 8601; naive
        times are in ``tz``), ``blocked`` and ``marketing_opt_in`` (``true`` / ``false`` /
        ``1`` / ``0`` / ``yes`` / ``no`` / ``是`` / ``否``). Other columns are ignored. Ids
        are kept as text.

        Raises:
            DataFormatError: every bad cell with file, line (header = line 1), column, value
                and rule; a missing ``customer_id`` column; duplicate ids. No table is returned.
        """
        zone = as_zone(tz)
        source = os.fspath(path)
        mapping = field_columns(CSV_FIELDS, columns)
        with open(path, newline="", encoding=encoding) as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataFormatError(
                    f"invalid customers in {source}",
                    [RowError(source, 1, "customer_id", "", "the file needs a header row")],
                )
            where = {name.strip(): k for k, name in enumerate(header)}
            if mapping["customer_id"] not in where:
                raise DataFormatError(
                    f"invalid customers in {source}",
                    [
                        RowError(
                            source,
                            1,
                            mapping["customer_id"],
                            header,
                            "the header must have this column",
                        )
                    ],
                )
            present = {f: where[h] for f, h in mapping.items() if h in where}
            cells: dict[str, list[str]] = {f: [] for f in present}
            lines: list[int] = []
            for record in reader:
                if not any(v.strip() for v in record):
                    continue
                lines.append(reader.line_num)
                for f, k in present.items():
                    cells[f].append(record[k] if k < len(record) else "")
        return _table_from_cells(cells, lines, mapping, zone, source, tag_separator)

    @classmethod
    def from_pandas(cls, frame: Any, *, tz: str | dt.tzinfo | None = None) -> CustomerTable:
        """Build from a pandas DataFrame whose columns are named like :meth:`from_arrays`'s
        arguments (``customer_id`` or ``customer_ids``, ``name`` or ``names``, …).

        ``member_since`` may be zone-aware (converted exactly) or naive (wall time in
        ``tz``). Needs the optional ``pandas`` package; it is imported only here.

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidTypeError: ``frame`` is not a pandas DataFrame.
            InvalidValueError: there is no customer id column.
            DataFormatError: every bad cell (0-based row, column, value, rule) at once.
        """
        from ecrm._frames import customer_columns

        columns = customer_columns("pandas", frame, "CustomerTable.from_pandas", times=_TIMES)
        return cls._from_frame_columns(columns, tz, "<pandas>")

    @classmethod
    def from_polars(cls, frame: Any, *, tz: str | dt.tzinfo | None = None) -> CustomerTable:
        """Build from a polars DataFrame; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: polars is not installed.
        """
        from ecrm._frames import customer_columns

        columns = customer_columns("polars", frame, "CustomerTable.from_polars", times=_TIMES)
        return cls._from_frame_columns(columns, tz, "<polars>")

    @classmethod
    def from_arrow(cls, table: Any, *, tz: str | dt.tzinfo | None = None) -> CustomerTable:
        """Build from a pyarrow Table; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: pyarrow is not installed.
        """
        from ecrm._frames import customer_columns

        columns = customer_columns("arrow", table, "CustomerTable.from_arrow", times=_TIMES)
        return cls._from_frame_columns(columns, tz, "<arrow>")

    @classmethod
    def _from_frame_columns(
        cls, columns: dict[str, Any], tz: str | dt.tzinfo | None, source: str
    ) -> CustomerTable:
        kwargs = {_FRAME_COLUMNS.get(name, name): values for name, values in columns.items()}
        if "customer_ids" not in kwargs:
            raise InvalidValueError("frame", "needs a customer_id column", list(columns))
        ids = kwargs.pop("customer_ids")
        return cls.from_arrays(ids, tz=tz, source=source, **kwargs)

    @classmethod
    def _build(
        cls, tz: dt.tzinfo, ids: npt.NDArray[Any], source: str, **columns: Any
    ) -> CustomerTable:
        problems = Problems(source)
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            order = np.argsort(ids, kind="stable")
            s = ids[order]
            dup = np.flatnonzero(s[1:] == s[:-1])
            if dup.size:
                problems.add_rows(
                    np.sort(order[dup + 1]),
                    "customer_ids",
                    ids,
                    "must be unique (this id appears earlier)",
                )
                problems.raise_if_any("customers")
            ids = s
            columns = {k: (v if k == "tag_names" else v[order]) for k, v in columns.items()}
        for key in ("names", "phones", "emails", "occupations", "provinces", "cities", "zones"):
            if columns[key].dtype.kind != "U":
                columns[key] = columns[key].astype(str)
        # Read-only views: the table cannot be changed through its columns, and the
        # caller's own arrays (kept without a copy where possible) stay writeable.
        return cls(tz=tz, customer_ids=_frozen(ids), **{k: _frozen(v) for k, v in columns.items()})

    # -- sizes and lookups ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        members = int(np.count_nonzero(self.member_since_us != NAT_US))
        return (
            f"CustomerTable({len(self):,} customers, {members:,} members, "
            f"tz={zone_name(self.tz)!r})"
        )

    def index_of(self, customer_ids: Any) -> IntArray:
        """Row of each id (vectorised), ``-1`` for ids not in the table.

        Args:
            customer_ids: ids of the table's kind (int or str), shape (k,).

        Returns:
            int64, shape (k,).
        """
        ids = self.customer_ids
        keys = np.asarray(customer_ids)
        if keys.ndim == 0:
            keys = keys.reshape(1)
        if len(ids) == 0 or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        if (ids.dtype.kind == "U") != (keys.dtype.kind == "U"):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(ids, keys)
        clipped = np.minimum(pos, len(ids) - 1)
        found = ids[clipped] == keys
        return np.where(found, clipped, -1).astype(np.int64)

    def _code(self, customer_id: Any) -> int:
        from ecrm._errors import UnknownCustomerError

        if isinstance(customer_id, bool) or not isinstance(
            customer_id, str | int | np.integer | np.str_
        ):
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this table")
        pos = int(self.index_of(np.asarray([customer_id]))[0])
        if pos < 0:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this table")
        return pos

    def __contains__(self, customer_id: object) -> bool:
        try:
            self._code(customer_id)
        except KeyError:
            return False
        return True

    def row(self, customer_id: Any) -> Customer:
        """The :class:`Customer` with this id.

        Raises:
            UnknownCustomerError: the id is not in the table.
        """
        return self.customer_at(self._code(customer_id))

    def customer_at(self, i: int) -> Customer:
        """The :class:`Customer` of row ``i`` (for display and tests; slow in bulk)."""
        cid = self.customer_ids[i]
        month = int(self.birth_months[i])
        year = int(self.birth_years[i])
        since = int(self.member_since_us[i])
        return Customer(
            customer_id=cid.item() if isinstance(cid, np.generic) else cid,
            name=str(self.names[i]) or None,
            phone=str(self.phones[i]) or None,
            email=str(self.emails[i]) or None,
            gender=GENDER_BY_CODE[int(self.gender_codes[i])],
            birthday=Birthday(month, int(self.birth_days[i]), year or None) if month else None,
            occupation=str(self.occupations[i]) or None,
            province=str(self.provinces[i]) or None,
            city=str(self.cities[i]) or None,
            tz=str(self.zones[i]) or None,
            tags=self.tags_of(i),
            member_since=None if since == NAT_US else us_to_datetime(since, self.tz),
            blocked=bool(self.blocked[i]),
            marketing_opt_in=bool(self.marketing_opt_in[i]),
        )

    def __iter__(self) -> Iterator[Customer]:
        """The customers as :class:`Customer` values, in id order."""
        for i in range(len(self)):
            yield self.customer_at(i)

    def tags_of(self, i: int) -> frozenset[str]:
        """The tags of row ``i``."""
        return frozenset(t for t, on in zip(self.tag_names, self.tag_matrix[i], strict=True) if on)

    # -- vectorised accessors ---------------------------------------------------------
    @property
    def genders(self) -> tuple[Gender, ...]:
        """The :class:`Gender` of each code (index with :attr:`gender_codes`)."""
        return GENDER_BY_CODE

    def has_tag(self, tag: str) -> BoolArray:
        """bool, shape (n,): which customers carry ``tag`` (all false for an unknown tag)."""
        if tag in self.tag_names:
            return self.tag_matrix[:, self.tag_names.index(tag)].copy()
        return np.zeros(len(self), dtype=bool)

    def ages_on(self, day: dt.date) -> IntArray:
        """Whole years of age on ``day``; int64, shape (n,), ``-1`` when the year is unknown.

        Like :meth:`Birthday.age_on`: a Feb 29 birthday adds a year on Mar 1 in common years.
        """
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidTypeError(f"day must be a date, got {type(day).__name__} {day!r}")
        years = self.birth_years.astype(np.int64)
        before = (
            self.birth_months.astype(np.int64) * 100 + self.birth_days
        ) > day.month * 100 + day.day
        age = day.year - years - before
        return np.where(years > 0, age, -1)

    def birthday_on(self, day: dt.date) -> BoolArray:
        """bool, shape (n,): whose birthday is celebrated on ``day`` (year ignored; Feb 29
        birthdays on Feb 28 in common years)."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidTypeError(f"day must be a date, got {type(day).__name__} {day!r}")
        hit = (self.birth_months == day.month) & (self.birth_days == day.day)
        if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
            hit |= (self.birth_months == 2) & (self.birth_days == 29)
        return hit  # type: ignore[no-any-return]

    def members(self, as_of: dt.datetime) -> BoolArray:
        """bool, shape (n,): who had joined the membership before ``as_of`` (half-open)."""
        at = datetime_to_us(require_aware(as_of, "as_of"))
        return (self.member_since_us != NAT_US) & (self.member_since_us < at)  # type: ignore[no-any-return]

    def select(self, mask: BoolArray) -> CustomerTable:
        """A new table with the rows where ``mask`` (bool, shape (n,)) is true."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self),):
            raise InvalidValueError(
                "mask",
                f"must be a bool array of shape ({len(self)},)",
                f"{mask.dtype} {mask.shape}",
            )
        columns = {
            f.name: (getattr(self, f.name) if f.name == "tag_names" else getattr(self, f.name)[mask])
            for f in attrs.fields(CustomerTable)
            if f.name not in ("tz", "customer_ids")
        }
        return CustomerTable._build(self.tz, self.customer_ids[mask], "<select>", **columns)


# -- column helpers -----------------------------------------------------------------------
def _frozen(value: Any) -> Any:
    """A read-only view of an array (other values unchanged)."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    return value


def _text_column(values: Any, n: int) -> npt.NDArray[np.str_]:
    if values is None:
        return np.full(n, "", dtype="U1")
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return arr
    if arr.size == 0:
        return np.zeros(0, dtype="U1")
    if arr.dtype.kind in "OS":
        return np.asarray(["" if v is None else str(v) for v in arr.tolist()], dtype=str).reshape(n)
    raise InvalidTypeError(f"text columns must hold strings, got dtype {arr.dtype}")


class _Masked:
    """Indexable view of contact texts that hands out masked values only (for error reports)."""

    def __init__(self, texts: npt.NDArray[np.str_], mask: Any) -> None:
        self._texts = texts
        self._mask = mask

    def __getitem__(self, i: int) -> str:
        return str(self._mask(str(self._texts[i])))


def _contact_column(
    values: Any, n: int, column: str, normalize: Any, mask: Any, problems: Problems
) -> npt.NDArray[np.str_]:
    if values is None:
        return np.full(n, "", dtype="U1")
    texts = _text_column(values, n)
    uniq, inverse = np.unique(texts, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.empty(len(uniq), dtype=object)
    bad: dict[str, list[int]] = {}  # rule -> codes of the distinct values that break it
    for k, text in enumerate(uniq.tolist()):
        if not text.strip():
            out[k] = ""
            continue
        try:
            out[k] = normalize(text, column)
        except InvalidValueError as exc:
            bad.setdefault(exc.rule, []).append(k)
            out[k] = ""
    for rule, codes in bad.items():
        rows = np.flatnonzero(np.isin(inverse, codes))
        problems.add_rows(rows, column, _Masked(texts, mask), rule)
    return np.asarray(out[inverse.reshape(-1)].tolist(), dtype=str).reshape(n)


def _gender_column(values: Any, n: int, problems: Problems) -> npt.NDArray[np.int8]:
    if values is None:
        return np.zeros(n, dtype=np.int8)
    arr = (
        np.asarray(values)
        if isinstance(values, np.ndarray)
        else np.asarray(list(values), dtype=object)
    )
    if arr.dtype.kind in "iu":
        bad = np.flatnonzero((arr < 0) | (arr > 2))
        if bad.size:
            problems.add_rows(bad, "genders", arr, "must be a gender code 0..2")
        return arr.astype(np.int8)
    out = np.zeros(n, dtype=np.int8)
    for i, v in enumerate(arr.tolist()):
        try:
            out[i] = parse_gender(v, "genders").code
        except InvalidValueError as exc:
            problems.add_rows(np.asarray([i]), "genders", arr, exc.rule)
    return out


def _birthday_objects(values: Sequence[Any], problems: Problems) -> tuple[Any, Any, Any]:
    n = len(values)
    years = np.zeros(n, dtype=np.int16)
    months = np.zeros(n, dtype=np.int8)
    days = np.zeros(n, dtype=np.int8)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        try:
            b = _to_birthday(v)
        except (InvalidValueError, InvalidTypeError) as exc:
            problems.add_rows(np.asarray([i]), "birthdays", values, getattr(exc, "rule", str(exc)))
            continue
        if not isinstance(b, Birthday):
            problems.add_rows(
                np.asarray([i]), "birthdays", values, "must be a Birthday, date or MM-DD text"
            )
            continue
        years[i], months[i], days[i] = b.year or 0, b.month, b.day
    return years, months, days


def _birthday_columns(
    years: Any, months: Any, days: Any, n: int, problems: Problems
) -> tuple[Any, Any, Any]:
    if (months is None) != (days is None):
        raise InvalidValueError(
            "birth_months", "and birth_days must be given together", None, show_value=False
        )
    if months is None:
        if years is not None:
            raise InvalidValueError(
                "birth_years", "need birth_months and birth_days", None, show_value=False
            )
        z = np.zeros(n, dtype=np.int8)
        return np.zeros(n, dtype=np.int16), z, z.copy()
    m = _int_column(months, "birth_months")
    d = _int_column(days, "birth_days")
    y = np.zeros(n, dtype=np.int64) if years is None else _int_column(years, "birth_years")
    dim = np.asarray(_DAYS_IN_MONTH, dtype=np.int64)
    known = m != 0
    bad_m = np.flatnonzero((m < 0) | (m > 12))
    if bad_m.size:
        problems.add_rows(bad_m, "birth_months", m, "must be 1..12 (0 = unknown)")
    mm = np.clip(m, 0, 12)
    bad_d = np.flatnonzero(known & (m >= 1) & (m <= 12) & ((d < 1) | (d > dim[mm])))
    if bad_d.size:
        problems.add_rows(bad_d, "birth_days", d, "must be a day of the birth month")
    bad_unknown = np.flatnonzero(~known & ((d != 0) | (y != 0)))
    if bad_unknown.size:
        problems.add_rows(
            bad_unknown, "birth_months", m, "must be given when a birth day or year is"
        )
    has_y = y != 0
    bad_y = np.flatnonzero(has_y & ((y < 1900) | (y > 2100)))
    if bad_y.size:
        problems.add_rows(bad_y, "birth_years", y, "must be 1900..2100 (0 = unknown)")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    bad_29 = np.flatnonzero(has_y & (m == 2) & (d == 29) & ~leap)
    if bad_29.size:
        problems.add_rows(bad_29, "birth_years", y, "must be a leap year for a Feb 29 birthday")
    return y.astype(np.int16), m.astype(np.int8), d.astype(np.int8)


def _int_column(values: Any, column: str) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InvalidTypeError(f"{column} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _zone_column(values: Any, n: int, problems: Problems) -> npt.NDArray[np.str_]:
    texts = _text_column(values, n)
    uniq, inverse = np.unique(texts, return_inverse=True) if n else (texts, np.zeros(0, np.intp))
    for k, name in enumerate(uniq.tolist()):
        if not name:
            continue
        try:
            as_zone(name, "zones")
        except InvalidValueError as exc:
            problems.add_rows(np.flatnonzero(inverse.reshape(-1) == k), "zones", texts, exc.rule)
    return texts


def _tag_columns(
    values: Any, n: int, problems: Problems
) -> tuple[tuple[str, ...], npt.NDArray[np.bool_]]:
    if values is None:
        return (), np.zeros((n, 0), dtype=bool)
    rows: list[frozenset[str]] = []
    for i, v in enumerate(values):
        if v is None:
            rows.append(frozenset())
            continue
        if isinstance(v, str) or not isinstance(v, Iterable):
            problems.add_rows(
                np.asarray([i]), "tags", values, "must be a collection of strings per row"
            )
            rows.append(frozenset())
            continue
        tags = frozenset(v)
        if any(not isinstance(t, str) or not t.strip() for t in tags):
            problems.add_rows(np.asarray([i]), "tags", values, "must hold non-empty strings")
            tags = frozenset()
        rows.append(tags)
    vocab = sorted(set().union(*rows)) if rows else []
    col = {t: j for j, t in enumerate(vocab)}
    matrix = np.zeros((n, len(vocab)), dtype=bool)
    for i, tags in enumerate(rows):
        for t in tags:
            matrix[i, col[t]] = True
    return tuple(vocab), matrix


def _bool_column(values: Any, n: int, default: bool, column: str) -> BoolArray:
    if values is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(values)
    if arr.dtype.kind != "b":
        if arr.dtype.kind == "O" and all(isinstance(v, bool) for v in arr.tolist()):
            return arr.astype(bool)
        raise InvalidTypeError(f"{column} must hold bools, got dtype {arr.dtype}")
    return arr


def _parse_bool(text: str) -> bool | None:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def _table_from_cells(
    cells: dict[str, list[str]],
    lines: list[int],
    mapping: Mapping[str, str],
    zone: dt.tzinfo,
    source: str,
    tag_separator: str,
) -> CustomerTable:
    """Validate the text cells of a CSV, cell by cell, and build the table."""
    errors: list[InvalidValueError] = []
    n = len(lines)

    def bad(i: int, field: str, value: Any, rule: str) -> None:
        errors.append(RowError(source, lines[i], mapping[field], value, rule))

    def col(field: str) -> list[str]:
        return cells.get(field, [""] * n)

    ids = [v.strip() for v in col("customer_id")]
    for i, v in enumerate(ids):
        if not v:
            bad(i, "customer_id", v, "must not be empty")
    seen: dict[str, int] = {}
    for i, v in enumerate(ids):
        if v and v in seen:
            bad(i, "customer_id", v, f"must be unique (also on line {lines[seen[v]]})")
        seen.setdefault(v, i)
    phones = [""] * n
    for i, v in enumerate(col("phone")):
        if v.strip():
            try:
                phones[i] = normalize_phone(v)
            except InvalidValueError as exc:
                bad(i, "phone", mask_phone(v.strip()), exc.rule)
    emails = [""] * n
    for i, v in enumerate(col("email")):
        if v.strip():
            try:
                emails[i] = normalize_email(v)
            except InvalidValueError as exc:
                bad(i, "email", mask_email(v.strip()), exc.rule)
    genders = np.zeros(n, dtype=np.int8)
    for i, v in enumerate(col("gender")):
        try:
            genders[i] = parse_gender(v).code
        except InvalidValueError as exc:
            bad(i, "gender", v, exc.rule)
    years = np.zeros(n, dtype=np.int16)
    months = np.zeros(n, dtype=np.int8)
    days = np.zeros(n, dtype=np.int8)
    for i, v in enumerate(col("birthday")):
        if v.strip():
            try:
                b = Birthday.parse(v)
            except InvalidValueError as exc:
                bad(i, "birthday", v, exc.rule)
                continue
            years[i], months[i], days[i] = b.year or 0, b.month, b.day
    zones = [v.strip() for v in col("tz")]
    for i, v in enumerate(zones):
        if v:
            try:
                as_zone(v)
            except InvalidValueError as exc:
                bad(i, "tz", v, exc.rule)
    since = np.full(n, NAT_US, dtype=np.int64)
    for i, v in enumerate(col("member_since")):
        if v.strip():
            try:
                when = dt.datetime.fromisoformat(v.strip())
            except ValueError:
                bad(
                    i,
                    "member_since",
                    v,
                    "must be an ISO 8601 date-time such as 2025-03-01 10:00:00",
                )
                continue
            since[i] = wall_datetime_to_us(when, zone)
    flags: dict[str, BoolArray] = {}
    for field, default in (("blocked", False), ("marketing_opt_in", True)):
        out = np.full(n, default, dtype=bool)
        if field in cells:
            for i, v in enumerate(cells[field]):
                parsed = _parse_bool(v) if v.strip() else default
                if parsed is None:
                    bad(i, field, v, "must be true/false, 1/0, yes/no or 是/否")
                else:
                    out[i] = parsed
        flags[field] = out
    tags = [frozenset(t.strip() for t in v.split(tag_separator) if t.strip()) for v in col("tags")]
    if errors:
        errors.sort(key=lambda e: e.line if isinstance(e, RowError) else 0)
        raise DataFormatError(f"invalid customers in {source}", errors)
    vocab, matrix = _tag_columns(tags, n, Problems(source))
    return CustomerTable._build(
        zone,
        np.asarray(ids, dtype=str).reshape(n),
        source,
        names=_text_column([v.strip() for v in col("name")], n),
        phones=np.asarray(phones, dtype=str).reshape(n),
        emails=np.asarray(emails, dtype=str).reshape(n),
        gender_codes=genders,
        birth_years=years,
        birth_months=months,
        birth_days=days,
        occupations=_text_column([v.strip() for v in col("occupation")], n),
        provinces=_text_column([v.strip() for v in col("province")], n),
        cities=_text_column([v.strip() for v in col("city")], n),
        zones=_text_column(zones, n),
        tag_names=vocab,
        tag_matrix=matrix,
        member_since_us=since,
        blocked=flags["blocked"],
        marketing_opt_in=flags["marketing_opt_in"],
    )
