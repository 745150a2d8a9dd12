"""Reading the small domain enums (order status, gender, event kind) from text aliases."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from ecrm.errors import InvalidValueError

__all__ = ["parse_alias"]

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
