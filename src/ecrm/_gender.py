"""A customer's gender: :class:`Gender`, its small integer codes and the texts that name it."""

from __future__ import annotations

import enum
from typing import Final

from ecrm._enums import parse_alias

__all__ = ["Gender"]


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
#: The gender of each code (index with :attr:`CustomerTable.gender_codes`).
GENDER_BY_CODE: Final = tuple(Gender)
#: Every text that names a gender, lower-cased (``""`` is unknown).
GENDER_ALIASES: Final = {
    **{g.value: g for g in Gender},
    "": Gender.UNKNOWN,
    "u": Gender.UNKNOWN,
    "未知": Gender.UNKNOWN,
    "f": Gender.FEMALE,
    "女": Gender.FEMALE,
    "m": Gender.MALE,
    "男": Gender.MALE,
}
#: The rule a text that names no gender breaks.
GENDER_RULE: Final = "must be female, male or unknown (or f / m / 女 / 男)"


def parse_gender(value: object, field: str = "gender") -> Gender:
    """A :class:`Gender` from a member, ``"female"``/``"f"``/``"女"`` etc. (``None`` → unknown).

    Raises:
        InvalidValueError: the text names no gender.
    """
    if value is None:
        return Gender.UNKNOWN
    return parse_alias(Gender, GENDER_ALIASES, value, field, GENDER_RULE)
