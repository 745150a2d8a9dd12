"""Customer profiles: :class:`Customer` (one, validated) and :class:`CustomerTable` (columnar).

Contact data is personal data: phone numbers and e-mail addresses are validated and stored
normalised, and every ``repr`` masks them (``138****0000``, ``a***@example.com``) so that
logs and tracebacks never show them in full.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import (
    check_lengths,
    distinct_values,
    ids_column,
    instants_column,
)
from ecrm._enums import parse_alias
from ecrm._ids import check_customer_id
from ecrm._load._csv import DEFAULT_CHUNK_ROWS
from ecrm._load._frames import customer_columns
from ecrm._load._parquet import read_parquet_table
from ecrm._load._problems import Problems
from ecrm._load._spec import CUSTOMERS, Engine, LoadInfo, Progress
from ecrm._load._tables import read_customer_cells
from ecrm._time import (
    ISO_RULE,
    NAT_US,
    as_zone,
    datetime_to_us,
    parse_iso_instants,
    require_aware,
    us_to_datetime,
    zone_name,
)
from ecrm.errors import (
    InvalidTypeError,
    InvalidValueError,
    RowError,
    _short_repr,
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
    if phone is None:
        return ""
    if not isinstance(phone, str):
        raise InvalidTypeError(f"phone must be a str or None, got {type(phone).__name__}")
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
    if email is None:
        return ""
    if not isinstance(email, str):
        raise InvalidTypeError(f"email must be a str or None, got {type(email).__name__}")
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
    if not isinstance(phone, str) or not phone:  # None, NaN from a frame, an array: not fake
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


def _trimmed(value: object) -> object:
    """Text without surrounding whitespace, as predicates compare it (``""`` → ``None``)."""
    value = _empty_to_none(value)
    return value.strip() if isinstance(value, str) else value


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
        occupation: the job as text, trimmed like segment predicate values (``" 教师 "``
            is ``"教师"``); ``None`` when unknown.
        province, city: free text as the shop has it (``None`` when unknown).
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
        default=None, converter=_trimmed, validator=_text("occupation")
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
CSV_FIELDS: Final = CUSTOMERS.fields


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
_NOT_PER_ROW: Final = frozenset({"tag_names", "tag_indptr", "tag_codes"})
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
        tag_indptr: int64, shape (n + 1,): row i's tags are
            ``tag_codes[tag_indptr[i]:tag_indptr[i + 1]]`` (compressed sparse rows).
        tag_codes: int32, shape (number of (customer, tag) pairs,): indices into
            ``tag_names``, ascending within each row.
        member_since_us: int64 epoch microseconds of joining, ``NAT_US`` for non-members.
        blocked: bool, shape (n,), on the block list (恶意客户).
        marketing_opt_in: bool, shape (n,).
        load_info: what the loader read and decided, for a table read from a file.
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
    tag_indptr: IntArray
    tag_codes: npt.NDArray[np.int32]
    member_since_us: IntArray
    blocked: BoolArray
    marketing_opt_in: BoolArray
    load_info: LoadInfo | None = attrs.field(default=None, kw_only=True)

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_customers(
        cls, customers: Iterable[Customer], *, tz: str | dt.tzinfo | None = None
    ) -> CustomerTable:
        """Build a table from :class:`Customer` values.

        Raises:
            InvalidTypeError: an element is not a ``Customer``, or ids mix str and int.
            DataFormatErrorGroup: duplicate customer ids (each repeat listed).
        """
        rows = list(customers)
        for i, c in enumerate(rows):
            if not isinstance(c, Customer):
                raise InvalidTypeError(
                    f"customers[{i}] must be a Customer, got {type(c).__name__} {_short_repr(c)}"
                )
        kinds = {type(c.customer_id) for c in rows}
        if len(kinds) > 1:
            raise InvalidTypeError(
                "customer_id values must be all str or all int, got a mix of str and int"
            )
        ids = np.asarray([c.customer_id for c in rows], dtype=np.int64 if kinds == {int} else str)
        tag_sets: dict[frozenset[str], int] = {}
        set_of_row = np.asarray(
            [tag_sets.setdefault(c.tags, len(tag_sets)) for c in rows], dtype=np.intp
        )
        vocab, tag_indptr, tag_codes = _csr_from_sets(list(tag_sets), set_of_row)

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
            tag_names=vocab,
            tag_indptr=tag_indptr,
            tag_codes=tag_codes,
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
            names, occupations, provinces, cities: text (``None`` / ``""`` unknown);
                occupations are trimmed.
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
            DataFormatErrorGroup: every bad cell (row, column, value, rule), duplicates included.
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
        vocab, tag_indptr, tag_codes = _tag_columns(tags, n, problems)
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
            occupations=_text_column(occupations, n, strip=True),
            provinces=_text_column(provinces, n),
            cities=_text_column(cities, n),
            zones=zcol,
            tag_names=vocab,
            tag_indptr=tag_indptr,
            tag_codes=tag_codes,
            member_since_us=since,
            blocked=_bool_column(blocked, n, False, "blocked"),
            marketing_opt_in=_bool_column(marketing_opt_in, n, True, "marketing_opt_in"),
        )

    # The file and frame constructors are thin forwards: a loader (ecrm._load, which never
    # imports this module) returns plain columns and this class builds itself from them.
    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
        tag_separator: str = ";",
        encoding: str = "auto",
        engine: Engine = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Progress | None = None,
    ) -> CustomerTable:
        """Read customers from a CSV file with a header row, streaming it (the loading layer
        of :func:`ecrm.read_orders_csv`: encodings, ``.gz`` / ``.zip``, ``-`` for stdin,
        both engines, every problem at once).

        Columns (header names; ``columns`` maps a field to another header): ``customer_id``
        (required), ``name``, ``phone``, ``email``, ``gender``, ``birthday``
        (``YYYY-MM-DD``, ``MM-DD`` or ``--MM-DD``), ``occupation``, ``province``, ``city``,
        ``tz``, ``tags`` (separated by ``tag_separator``), ``member_since`` (ISO 8601; naive
        times are in ``tz``), ``blocked`` and ``marketing_opt_in`` (``true`` / ``false`` /
        ``1`` / ``0`` / ``yes`` / ``no`` / ``是`` / ``否``). Other columns are ignored. Ids
        are kept as text.

        Raises:
            DataFormatErrorGroup: every bad cell with file, physical line (header = line 1),
                column, value and rule; ragged rows, undecodable bytes, a quote not closed,
                duplicate or missing headers; duplicate ids. No table is returned.
        """
        zone = as_zone(tz)
        read = read_customer_cells(
            path, columns=columns, encoding=encoding, engine=engine, chunk_rows=chunk_rows,
            progress=progress,
        )
        table = _table_from_cells(read.cells, read.lines, read.headers, zone, read.info.source,
                                  tag_separator)
        return attrs.evolve(table, load_info=read.info)

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Read a Parquet file or a directory of them (hive-partitioned too); columns and
        errors as :meth:`from_arrow` (needs the ``arrow`` extra)."""
        table = read_parquet_table(path, "CustomerTable.from_parquet")
        read = customer_columns("arrow", table, "CustomerTable.from_parquet",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, os.fspath(path), columns)

    @classmethod
    def from_pandas(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a pandas DataFrame whose columns are named like :meth:`from_arrays`'s
        arguments (``customer_id`` or ``customer_ids``, ``name`` or ``names``, …), or as
        ``columns`` maps the fields of :meth:`from_csv` (``{"customer_id": "会员"}``).

        ``member_since`` may be zone-aware (converted exactly) or naive (wall time in
        ``tz``). Needs the optional ``pandas`` package; it is imported only here.

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidTypeError: ``frame`` is not a pandas DataFrame.
            InvalidValueError: there is no customer id column.
            DataFormatErrorGroup: every bad cell (0-based row, column, value, rule) at once.
        """
        read = customer_columns("pandas", frame, "CustomerTable.from_pandas",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<pandas>", columns)

    @classmethod
    def from_polars(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a polars DataFrame; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: polars is not installed.
        """
        read = customer_columns("polars", frame, "CustomerTable.from_polars",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<polars>", columns)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a pyarrow Table; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: pyarrow is not installed.
        """
        read = customer_columns("arrow", table, "CustomerTable.from_arrow",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<arrow>", columns)

    @classmethod
    def _from_frame_columns(
        cls,
        columns: dict[str, Any],
        tz: str | dt.tzinfo | None,
        source: str,
        mapping: Mapping[str, str] | None = None,
    ) -> CustomerTable:
        renamed = {h: f for f, h in CUSTOMERS.headers(mapping).items()} if mapping else {}
        kwargs = {
            _FRAME_COLUMNS.get(renamed.get(name, name), renamed.get(name, name)): values
            for name, values in columns.items()
        }
        if "customer_ids" not in kwargs:
            raise InvalidValueError("frame", "needs a customer_id column", list(columns))
        ids = kwargs.pop("customer_ids")
        return cls.from_arrays(ids, tz=tz, source=source, **kwargs)

    @classmethod
    def _build(
        cls, tz: dt.tzinfo, ids: npt.NDArray[Any], source: str, **columns: Any
    ) -> CustomerTable:
        if "tag_matrix" in columns:  # a dense (n, tags) bool matrix: store it sparsely
            columns["tag_indptr"], columns["tag_codes"] = _csr_from_dense(
                np.asarray(columns.pop("tag_matrix"), dtype=bool)
            )
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
            indptr, codes = _csr_take(columns["tag_indptr"], columns["tag_codes"], order)
            columns = {
                k: (v if k in _NOT_PER_ROW else v[order]) for k, v in columns.items()
            }
            columns["tag_indptr"], columns["tag_codes"] = indptr, codes
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
        from ecrm.errors import UnknownCustomerError

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
        codes = self.tag_codes[self.tag_indptr[i] : self.tag_indptr[i + 1]]
        return frozenset(self.tag_names[k] for k in codes.tolist())

    @property
    def tag_matrix(self) -> npt.NDArray[np.bool_]:
        """bool, shape (n, len(tag_names)): row i has tag j. Built on access from the sparse
        :attr:`tag_indptr` / :attr:`tag_codes` (it takes n × tags bytes)."""
        matrix = np.zeros((len(self), len(self.tag_names)), dtype=bool)
        matrix[self._tag_rows(), self.tag_codes] = True
        return matrix

    def _tag_rows(self) -> npt.NDArray[np.intp]:
        """The row of each entry of :attr:`tag_codes`."""
        return np.repeat(np.arange(len(self)), np.diff(self.tag_indptr))

    # -- vectorised accessors ---------------------------------------------------------
    @property
    def genders(self) -> tuple[Gender, ...]:
        """The :class:`Gender` of each code (index with :attr:`gender_codes`)."""
        return GENDER_BY_CODE

    def has_tag(self, tag: str) -> BoolArray:
        """bool, shape (n,): which customers carry ``tag`` (all false for an unknown tag)."""
        out = np.zeros(len(self), dtype=bool)
        if tag in self.tag_names:
            out[self._tag_rows()[self.tag_codes == self.tag_names.index(tag)]] = True
        return out

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
            f.name: (getattr(self, f.name) if f.name in _NOT_PER_ROW else getattr(self, f.name)[mask])
            for f in attrs.fields(CustomerTable)
            if f.name not in ("tz", "customer_ids", "load_info")
        }
        columns["tag_indptr"], columns["tag_codes"] = _csr_take(
            self.tag_indptr, self.tag_codes, np.flatnonzero(mask)
        )
        return CustomerTable._build(self.tz, self.customer_ids[mask], "<select>", **columns)


# -- column helpers -----------------------------------------------------------------------
# Every parser looks at a whole column at once: numpy string operations for the common
# shapes, and the exact per-value parser (which also words the errors) only for distinct
# values or for the few cells the fast path does not settle.

StrArray = npt.NDArray[np.str_]


class _LineProblems(Problems):
    """Problems of a file's cells: row ``r`` is reported on physical line ``lines[r]``."""

    def __init__(self, source: str, lines: IntArray) -> None:
        super().__init__(source)
        self.lines = lines

    def add_rows(
        self,
        rows: npt.NDArray[np.intp] | Sequence[int],
        column: str,
        values: Any,
        rule: str,
        *,
        lines: npt.NDArray[np.int64] | None = None,
    ) -> None:
        super().add_rows(rows, column, values, rule, lines=self.lines if lines is None else lines)


def _frozen(value: Any) -> Any:
    """A read-only view of an array (other values unchanged)."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    return value


def _text_column(values: Any, n: int, *, strip: bool = False) -> StrArray:
    if values is None:
        return np.full(n, "", dtype="U1")
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype="U1")
    if arr.dtype.kind in "OS":
        arr = np.asarray(["" if v is None else str(v) for v in arr.tolist()], dtype=str).reshape(n)
    elif arr.dtype.kind != "U":
        raise InvalidTypeError(f"text columns must hold strings, got dtype {arr.dtype}")
    return np.strings.strip(arr) if strip else arr


def _ascii_printable(texts: StrArray) -> BoolArray:
    """bool per cell: every character is printable ASCII without spaces (33..126)."""
    width = texts.dtype.itemsize // 4
    if width == 0 or len(texts) == 0:
        return np.ones(len(texts), dtype=bool)
    cp = np.ascontiguousarray(texts).view(np.uint32).reshape(len(texts), width)
    return np.asarray((((cp > 32) & (cp < 127)) | (cp == 0)).all(axis=1))


def _str_array(values: Sequence[str]) -> StrArray:
    """A numpy str array of Python strings (sized first: numpy then skips its own scan)."""
    width = max(map(len, values), default=1) or 1
    return np.fromiter(values, dtype=f"U{width}", count=len(values))


class _Masked:
    """Indexable view of contact texts that hands out masked values only (for error reports)."""

    def __init__(self, texts: StrArray, mask: Any) -> None:
        self._texts = texts
        self._mask = mask

    def __getitem__(self, i: int) -> str:
        return str(self._mask(str(self._texts[i])))


def _contact_column(
    values: Any, n: int, column: str, normalize: Any, mask: Any, problems: Problems
) -> StrArray:
    if values is None:
        return np.full(n, "", dtype="U1")
    texts = _text_column(values, n, strip=True)
    if n == 0:
        return texts
    # Fast path: cells already in normal form (11-digit mobiles; e-mails with one @, a
    # dotted domain and no spaces, domain lower-cased below); the rest value by value.
    printable = _ascii_printable(texts)
    if normalize is normalize_phone:
        second = np.strings.slice(texts, 1, 2)
        ok = (
            printable & (np.strings.str_len(texts) == 11) & np.strings.isdecimal(texts)
            & np.strings.startswith(texts, "1") & (second >= "3") & (second <= "9")
        )
        out = np.where(ok, texts, "")
    else:
        local, _at, domain = np.strings.partition(texts, "@")
        ok = (
            printable & (np.strings.count(texts, "@") == 1) & (np.strings.str_len(local) > 0)
            & (np.strings.count(domain, ".") >= 1) & ~np.strings.startswith(domain, ".")
            & ~np.strings.endswith(domain, ".") & (np.strings.find(domain, "..") < 0)
        )
        out = np.where(ok, np.strings.add(np.strings.add(local, "@"), np.strings.lower(domain)), "")
    rest = np.flatnonzero(~ok & (texts != ""))
    if rest.size:
        uniq, inverse = distinct_values(texts[rest])
        fixed = np.empty(len(uniq), dtype=object)
        bad: dict[str, list[int]] = {}  # rule -> codes of the distinct values that break it
        for k, text in enumerate(uniq):
            try:
                fixed[k] = normalize(text, column)
            except InvalidValueError as exc:
                bad.setdefault(exc.rule, []).append(k)
                fixed[k] = ""
        for rule, codes in bad.items():
            problems.add_rows(rest[np.isin(inverse, codes)], column, _Masked(texts, mask), rule)
        out = out.astype(object)
        out[rest] = fixed[inverse]
        out = out.astype(str)
    return np.asarray(out, dtype=str).reshape(n)


_GENDER_RULE: Final = "must be female, male or unknown (or f / m / 女 / 男)"


def _gender_column(
    values: Any, n: int, problems: Problems, column: str = "genders", shown: Any = None
) -> npt.NDArray[np.int8]:
    """Gender codes from int codes 0..2, or members / aliases / ``None`` per row."""
    if values is None:
        return np.zeros(n, dtype=np.int8)
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    if arr.dtype.kind in "iu":
        bad = np.flatnonzero((arr < 0) | (arr > 2))
        if bad.size:
            problems.add_rows(bad, column, arr, "must be a gender code 0..2")
        return arr.astype(np.int8)
    shown = arr if shown is None else shown
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    try:
        uniq, inverse = distinct_values(arr)
        out = np.asarray([_gender_code(v) for v in uniq], dtype=np.int8)[inverse]
    except TypeError:  # unhashable cells: one by one
        out = np.asarray([_gender_code(v) for v in arr.tolist()], dtype=np.int8)
    bad = np.flatnonzero(out < 0)
    if bad.size:
        problems.add_rows(bad, column, shown, _GENDER_RULE)
    return np.where(out < 0, 0, out).astype(np.int8)


def _gender_code(value: object) -> int:
    """The code of a Gender, an alias text or ``None``; -1 for anything else."""
    if value is None or isinstance(value, Gender):
        return parse_gender(value).code
    if isinstance(value, str):
        found = _GENDER_ALIASES.get(value.strip().lower())
        return -1 if found is None else found.code
    return -1


def _codepoints(texts: StrArray, width: int) -> npt.NDArray[np.int32]:
    """int32, shape (n, width): the code points of each cell, 0-padded (and cut) to ``width``."""
    n = len(texts)
    have = texts.dtype.itemsize // 4
    cp = np.zeros((n, width), dtype=np.int32)
    if n and have:
        cp[:, : min(have, width)] = (
            np.ascontiguousarray(texts).view(np.uint32).reshape(n, have)[:, :width]
        )
    return cp


def _birthday_texts(
    texts: StrArray, column: str, problems: Problems, shown: Any = None
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """``YYYY-MM-DD`` / ``MM-DD`` / ``--MM-DD`` cells (stripped; ``""`` = unknown) as
    (years, months, days), 0 where unknown; every bad cell reported with its rule.

    The zero-padded shapes are read from the cells' code points; other cells (one-digit
    fields, impossible dates) go to :meth:`Birthday.parse`, which also words the errors.
    """
    n = len(texts)
    years = np.zeros(n, dtype=np.int64)
    months = np.zeros(n, dtype=np.int64)
    days = np.zeros(n, dtype=np.int64)
    if n == 0:
        return years.astype(np.int16), months.astype(np.int8), days.astype(np.int8)
    shown = texts if shown is None else shown
    given = np.flatnonzero(texts != "")
    y, m, d, ok = _birthday_fast(texts[given])
    years[given], months[given], days[given] = y, m, d
    slow = given[~ok]
    bad: dict[str, list[int]] = {}
    for i in slow.tolist():
        try:
            bday = Birthday.parse(str(texts[i]), column)
        except InvalidValueError as exc:
            bad.setdefault(exc.rule, []).append(i)
            years[i] = months[i] = days[i] = 0
            continue
        years[i], months[i], days[i] = bday.year or 0, bday.month, bday.day
    for rule, rows in bad.items():
        problems.add_rows(np.asarray(rows), column, shown, rule)
    return years.astype(np.int16), months.astype(np.int8), days.astype(np.int8)


def _birthday_fast(texts: StrArray) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """(years, months, days, ok) of the zero-padded valid birthdays among non-empty cells."""
    # One row per character position (contiguous), one past the longest shape: longer
    # cells differ there. Small ints and no division keep it to a few passes over memory.
    cp = np.ascontiguousarray(_codepoints(texts, 11).T)
    d = cp - 48
    isd = d.view(np.uint32) < 10
    dash = cp == 45
    end = cp == 0
    full = (isd[0] & isd[1] & isd[2] & isd[3] & dash[4] & isd[5] & isd[6] & dash[7] & isd[8]
            & isd[9] & end[10])  # YYYY-MM-DD
    nodash = dash[0] & dash[1] & isd[2] & isd[3] & dash[4] & isd[5] & isd[6] & end[7]  # --MM-DD
    short = isd[0] & isd[1] & dash[2] & isd[3] & isd[4] & end[5]  # MM-DD
    years = np.where(full, d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], 0).astype(np.int64)
    months = np.where(
        full, d[5] * 10 + d[6], np.where(nodash, d[2] * 10 + d[3], np.where(short, d[0] * 10 + d[1], 0))
    ).astype(np.int64)
    days = np.where(
        full, d[8] * 10 + d[9], np.where(nodash, d[5] * 10 + d[6], np.where(short, d[3] * 10 + d[4], 0))
    ).astype(np.int64)
    # the rules of Birthday, vectorised; a cell breaking one goes to the exact parser
    dim = np.asarray(_DAYS_IN_MONTH, dtype=np.int64)[np.clip(months, 0, 12)]
    ok = (full | nodash | short) & (months >= 1) & (months <= 12) & (days >= 1) & (days <= dim)
    ok &= (years == 0) | ((years >= 1900) & (years <= 2100))
    feb29 = np.flatnonzero((years != 0) & (months == 2) & (days == 29))
    if feb29.size:
        y = years[feb29]
        ok[feb29] &= (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    return years, months, days, ok


def _birthday_objects(
    values: Sequence[Any], problems: Problems
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Birthdays given per row as text (vectorised), ``Birthday``, ``date`` or ``None``."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return _birthday_texts(np.strings.strip(values), "birthdays", problems, values)
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    n = len(vals)
    # The type of each cell, and every cell as text, at C speed: text cells are parsed
    # together; None is unknown; Birthday / date / anything else go one by one below.
    kinds = np.fromiter(map(type, vals), dtype=object, count=n)
    text = np.equal(kinds, np.asarray([str], dtype=object))
    texts = np.asarray(vals, dtype=str).reshape(n) if n else np.zeros(0, dtype="U1")
    texts[~text] = ""
    years, months, days = _birthday_texts(np.strings.strip(texts), "birthdays", problems, vals)
    others = np.flatnonzero(~text & np.not_equal(kinds, np.asarray([type(None)], dtype=object))).tolist()
    for i in others:
        v = vals[i]
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            try:
                v = Birthday.from_date(v)
            except InvalidValueError as exc:
                problems.add_rows(np.asarray([i]), "birthdays", vals, exc.rule)
                continue
        if not isinstance(v, Birthday):
            problems.add_rows(
                np.asarray([i]), "birthdays", vals, "must be a Birthday, date or MM-DD text"
            )
            continue
        years[i], months[i], days[i] = v.year or 0, v.month, v.day
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


def _zone_column(
    values: Any, n: int, problems: Problems, column: str = "zones", *, strip: bool = False
) -> StrArray:
    """IANA zone names (``""`` = the store's zone), each distinct name checked once."""
    if values is None or n == 0:
        return _text_column(values, n)
    if isinstance(values, np.ndarray) and values.dtype.kind not in "UO":
        raise InvalidTypeError(f"text columns must hold strings, got dtype {values.dtype}")
    uniq, inverse = distinct_values(values)
    names = ["" if v is None else str(v) for v in uniq]
    if strip:
        names = [v.strip() for v in names]
    for k, name in enumerate(names):
        if not name:
            continue
        try:
            as_zone(name, column)
        except InvalidValueError as exc:
            problems.add_rows(np.flatnonzero(inverse == k), column, values, exc.rule)
    return _str_array(names)[inverse] if names else np.full(n, "", dtype="U1")


# -- tags: compressed sparse rows ---------------------------------------------------------
def _csr_take(
    indptr: IntArray, codes: npt.NDArray[np.int32], rows: npt.NDArray[np.intp]
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """The CSR (indptr, codes) of ``rows`` (any row indices, in their order)."""
    counts = (indptr[1:] - indptr[:-1])[rows]
    out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    total = int(out_ptr[-1])
    if total == 0:
        return out_ptr, np.zeros(0, dtype=np.int32)
    gather = np.repeat(indptr[:-1][rows] - out_ptr[:-1], counts) + np.arange(total)
    return out_ptr, codes[gather]


def _csr_from_sets(
    distinct: Sequence[frozenset[str]], inverse: npt.NDArray[np.intp]
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """CSR tags of rows whose tag set is ``distinct[inverse[i]]`` (codes sorted per row)."""
    vocab = sorted(set().union(*distinct)) if distinct else []
    col = {t: j for j, t in enumerate(vocab)}
    set_ptr = np.zeros(len(distinct) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in distinct], out=set_ptr[1:])
    set_codes = np.asarray(
        [j for tags in distinct for j in sorted(col[t] for t in tags)], dtype=np.int32
    )
    indptr, codes = _csr_take(set_ptr, set_codes, inverse)
    return tuple(vocab), indptr, codes


def _csr_from_dense(matrix: npt.NDArray[np.bool_]) -> tuple[IntArray, npt.NDArray[np.int32]]:
    rows, cols = np.nonzero(matrix)  # row-major: rows ascending, codes ascending per row
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32)


def _tags_from_texts(
    texts: Sequence[str], separator: str
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """Tags of cells like ``"vip;茶友"``: split once per distinct cell, trimmed, empty parts dropped."""
    if len(texts) == 0:
        return (), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    uniq, inverse = distinct_values(texts)
    distinct = [frozenset(t.strip() for t in u.split(separator) if t.strip()) for u in uniq]
    return _csr_from_sets(distinct, inverse)


def _tag_columns(
    values: Any, n: int, problems: Problems
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """Tags given as one collection of strings per row; each distinct set checked once."""
    if values is None:
        return (), np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    values = list(values)
    fast = _tag_tuples(values)
    if fast is not None:
        tuples, inverse = fast
        distinct = [frozenset(t) for t in tuples]
        return _checked_tag_sets(distinct, inverse, values, problems)
    empty: frozenset[Any] = frozenset()
    keys: list[frozenset[Any]] = []
    wrong: list[int] = []
    for i, v in enumerate(values):  # no isinstance(v, Iterable): the ABC check is slow
        if v is None:
            keys.append(empty)
        elif type(v) is frozenset:
            keys.append(v)
        elif isinstance(v, str | bytes):
            wrong.append(i)
            keys.append(empty)
        else:
            try:
                keys.append(frozenset(v))
            except TypeError:
                if hasattr(v, "__iter__"):  # unhashable elements: not strings either
                    keys.append(frozenset({None}))
                else:
                    wrong.append(i)
                    keys.append(empty)
    distinct, inverse = distinct_values(keys)
    if wrong:
        problems.add_rows(np.asarray(wrong), "tags", values, "must be a collection of strings per row")
    return _checked_tag_sets(distinct, inverse, values, problems)


_TAG_CONTAINERS: Final = frozenset({list, tuple, set, frozenset, type(None)})


def _tag_tuples(values: list[Any]) -> tuple[list[tuple[Any, ...]], npt.NDArray[np.intp]] | None:
    """Distinct rows as tuples and each row's index, when every row is a plain container
    (or None) of hashable items; ``None`` otherwise. Tuples are ten times cheaper to build
    and hash than frozensets, so sets are made once per distinct row."""
    if not set(map(type, values)) <= _TAG_CONTAINERS:
        return None
    try:
        rows = [() if v is None else tuple(v) for v in values]
        return distinct_values(rows)
    except TypeError:  # unhashable items
        return None


def _checked_tag_sets(
    distinct: list[frozenset[Any]],
    inverse: npt.NDArray[np.intp],
    values: list[Any],
    problems: Problems,
) -> tuple[tuple[str, ...], IntArray, npt.NDArray[np.int32]]:
    """CSR tags of the distinct sets, after checking each holds non-empty strings only."""
    empty_ok = [all(isinstance(t, str) and t.strip() for t in tags) for tags in distinct]
    if not all(empty_ok):
        bad_sets = np.flatnonzero(~np.asarray(empty_ok))
        rows = np.flatnonzero(np.isin(inverse, bad_sets))
        problems.add_rows(rows, "tags", values, "must hold non-empty strings")
        distinct = [tags if ok else frozenset() for tags, ok in zip(distinct, empty_ok, strict=True)]
    return _csr_from_sets(distinct, inverse)


# -- flags and instants -------------------------------------------------------------------
_BOOL_RULE: Final = "must be true/false, 1/0, yes/no or 是/否"


def _bool_column(values: Any, n: int, default: bool, column: str) -> BoolArray:
    if values is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(values)
    if arr.dtype.kind != "b":
        if arr.dtype.kind == "O" and all(isinstance(v, bool) for v in arr.tolist()):
            return arr.astype(bool)
        raise InvalidTypeError(f"{column} must hold bools, got dtype {arr.dtype}")
    return arr


def _bool_texts(
    texts: Sequence[str], default: bool, column: str, problems: Problems, shown: Any
) -> BoolArray:
    """``true``/``1``/``yes``/``是`` … cells (stripped; ``""`` gives ``default``)."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    uniq, inverse = distinct_values(texts)
    parsed = [default if not u.strip() else _parse_bool(u) for u in uniq]
    values = np.asarray([bool(p) for p in parsed], dtype=bool)[inverse]
    bad_codes = [k for k, p in enumerate(parsed) if p is None]
    if bad_codes:
        problems.add_rows(np.flatnonzero(np.isin(inverse, bad_codes)), column, shown, _BOOL_RULE)
    return values


def _parse_bool(text: str) -> bool | None:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def _frame_times(mapping: Mapping[str, str] | None) -> tuple[str, ...]:
    """The frame columns read as instants: ``member_since``, or the column ``mapping`` names."""
    return (*_TIMES, (mapping or {}).get("member_since", "member_since"))


def _table_from_cells(
    cells: dict[str, list[str]],
    lines: list[int],
    mapping: Mapping[str, str],
    zone: dt.tzinfo,
    source: str,
    tag_separator: str,
) -> CustomerTable:
    """Validate the text cells of a CSV, a column at a time, and build the table.

    Every bad cell is reported with its physical line (capped per column and rule), in
    line order; no table is returned then.
    """
    n = len(lines)
    problems = _LineProblems(source, np.asarray(lines, dtype=np.int64))

    stripped: dict[str, StrArray] = {}

    def raw(field: str) -> Sequence[str]:
        return cells.get(field) or [""] * n

    def col(field: str) -> StrArray:
        if field not in stripped:
            values = cells.get(field)
            arr = _str_array(values) if values else np.full(n, "", dtype="U1")
            stripped[field] = np.strings.strip(arr) if n else arr
        return stripped[field]

    ids = col("customer_id")
    problems.add_rows(np.flatnonzero(ids == ""), mapping["customer_id"], ids, "must not be empty")
    if n > 1:
        order = np.argsort(ids, kind="stable")
        s = ids[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = s[1:] != s[:-1]
        first_row = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        for k in np.flatnonzero(~starts & (s != "")).tolist():
            i, j = int(order[k]), int(first_row[k])
            problems.add(RowError(source, lines[i], mapping["customer_id"], str(ids[i]),
                                  f"must be unique (also on line {lines[j]})"))
    phones = _contact_column(col("phone"), n, mapping["phone"], normalize_phone, mask_phone, problems)
    emails = _contact_column(col("email"), n, mapping["email"], normalize_email, mask_email, problems)
    genders = _gender_column(raw("gender"), n, problems, mapping["gender"])
    years, months, days = _birthday_texts(col("birthday"), mapping["birthday"], problems, raw("birthday"))
    zones = _zone_column(raw("tz"), n, problems, mapping["tz"], strip=True)
    since, bad_since = parse_iso_instants(col("member_since"), zone)
    problems.add_rows(bad_since, mapping["member_since"], raw("member_since"), ISO_RULE)
    flags = {
        field: _bool_texts(raw(field), default, mapping[field], problems, raw(field))
        for field, default in (("blocked", False), ("marketing_opt_in", True))
    }
    problems.raise_if_any("customers")  # errors come out in line order
    vocab, tag_indptr, tag_codes = _tags_from_texts(raw("tags"), tag_separator)
    return CustomerTable._build(
        zone,
        ids,
        source,
        names=col("name"),
        phones=phones,
        emails=emails,
        gender_codes=genders,
        birth_years=years,
        birth_months=months,
        birth_days=days,
        occupations=col("occupation"),
        provinces=col("province"),
        cities=col("city"),
        zones=zones,
        tag_names=vocab,
        tag_indptr=tag_indptr,
        tag_codes=tag_codes,
        member_since_us=since,
        blocked=flags["blocked"],
        marketing_opt_in=flags["marketing_opt_in"],
    )
