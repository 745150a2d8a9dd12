"""One customer's profile: :class:`Customer`, validated field by field.

Contact data is personal data: the phone number and e-mail address are validated and
stored normalised, and ``repr`` masks them (``138****0000``, ``a***@example.com``) so that
logs and tracebacks never show them in full. :class:`~ecrm.CustomerTable` holds many
customers as columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from ecrm._birthday import Birthday
from ecrm._contact import mask_email, mask_phone, normalize_email, normalize_phone
from ecrm._gender import Gender, parse_gender
from ecrm._ids import check_customer_id
from ecrm._time import as_zone, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["Customer"]


def _to_birthday(value: object) -> object:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return Birthday.from_date(value)
    if isinstance(value, str):
        return Birthday.parse(value)
    return value



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

