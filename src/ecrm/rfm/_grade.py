"""The P/G/S/B grade of an RFM total: :class:`Grade`."""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["Grade"]


class Grade(enum.Enum):
    """The grade of an RFM total: Platinum, Gold, Silver or Bronze (铂金/黄金/白银/青铜).

    The value is the one-letter code used in files (``"P"``). Result arrays store the
    small integer :attr:`code` (B = 0 … P = 3, so a higher code is a better grade);
    :meth:`from_code` maps it back.

    >>> Grade.P.zh, Grade.P.en, Grade.P.code
    ('铂金', 'Platinum', 3)
    >>> Grade.from_code(0)
    <Grade.B: 'B'>
    """

    P = "P"
    G = "G"
    S = "S"
    B = "B"

    @property
    def zh(self) -> str:
        """The Chinese name (铂金, 黄金, 白银, 青铜)."""
        return _ZH[self]

    @property
    def en(self) -> str:
        """The English name (Platinum, Gold, Silver, Bronze)."""
        return _EN[self]

    @property
    def code(self) -> int:
        """The integer stored in result arrays: B = 0, S = 1, G = 2, P = 3."""
        return _CODE[self]

    @classmethod
    def from_code(cls, code: int) -> Grade:
        """The grade stored as ``code`` (0–3).

        Raises:
            ValueError: ``code`` is not 0, 1, 2 or 3.
        """
        if isinstance(code, bool) or code not in (0, 1, 2, 3):
            raise ValueError(f"grade code must be 0, 1, 2 or 3, got {code!r}")
        return _BY_CODE[int(code)]


_ZH: Final = {Grade.P: "铂金", Grade.G: "黄金", Grade.S: "白银", Grade.B: "青铜"}
_EN: Final = {Grade.P: "Platinum", Grade.G: "Gold", Grade.S: "Silver", Grade.B: "Bronze"}
_CODE: Final = {Grade.B: 0, Grade.S: 1, Grade.G: 2, Grade.P: 3}
_BY_CODE: Final = (Grade.B, Grade.S, Grade.G, Grade.P)
