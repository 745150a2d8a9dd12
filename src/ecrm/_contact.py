"""Contact data of a customer: mainland mobile numbers and e-mail addresses.

Contact data is personal data: these functions validate and normalise it, and mask it for
every ``repr``, log line and error message (``138****0000``, ``a***@example.com``).
"""

from __future__ import annotations

import re
from typing import Final

from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "FAKE_PHONE_PREFIX",
    "is_fake_phone",
    "mask_email",
    "mask_phone",
    "normalize_email",
    "normalize_phone",
]

#: Phone numbers starting with this prefix are fake. The ``154`` block is not allocated to
#: any carrier in the MIIT mainland numbering plan (checked 2025), so numbers in it reach no
#: real person, yet they look like valid mainland mobiles (11 digits, ``1[3-9]…``) and pass
#: :func:`normalize_phone`. :func:`ecrm.datasets.sample_shop` draws every phone from
#: ``1540xxxxxxx``; demos use :func:`is_fake_phone` to refuse real sends to anything else.
FAKE_PHONE_PREFIX: Final = "1540"

_PHONE_RE: Final = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-().]")
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


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

