"""Reading the small domain enums (order status, gender, event kind) from text aliases."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from ecrm.errors import InvalidValueError

__all__ = ["member", "parse_alias"]

E = TypeVar("E", bound=enum.Enum)


def parse_alias(cls: type[E], aliases: Mapping[str, E], value: object, field: str, rule: str) -> E:
    """``value`` itself if a member of ``cls``, else the member its text is an alias of.

    Args:
        cls: the enum.
        aliases: lower-case alias -> member; text is stripped and lower-cased to look up.
        value: the member or text to read.
        field: the field named in the error.
        rule: the rule named in the error (``"must be …"``).

    Raises:
        InvalidValueError: ``InvalidValueError(field, rule, value)`` for anything else.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        found = aliases.get(value.strip().lower())
        if found is not None:
            return found
    raise InvalidValueError(field, rule, value)


def member(cls: type[E], value: object, field: str) -> E:
    """``cls(value)`` (a member or its value), with an ecrm error naming ``field``.

    Raises:
        InvalidValueError: ``value`` is no member or member value of ``cls``; the rule lists
            the allowed values.
    """
    if isinstance(value, cls):
        return value
    # Only text or a number can be a member's value; a container is never handed to the
    # enum (its own error would repr it, and a deeply nested one recurses).
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return cls(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(m.value) for m in cls)
    raise InvalidValueError(field, f"must be one of {allowed}", value)

