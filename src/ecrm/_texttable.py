"""Plain-text tables whose columns line up in a terminal, CJK text included.

Widths come from :func:`unicodedata.east_asian_width`: wide (``W``) and fullwidth (``F``)
characters take two columns, combining marks none, everything else one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["format_rows", "text_width"]


def text_width(text: str) -> int:
    """Terminal columns ``text`` takes.

    >>> text_width("VIP会员"), text_width("ＡＢ"), text_width("e\\u0301")
    (7, 4, 1)
    """
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def format_rows(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Rows of cells as aligned text: the first ``left`` columns left-aligned, others right.

    >>> print(format_rows([["等级", "n"], ["VIP会员", "12"]]))
    等级      n
    VIP会员  12
    """
    widths = [max(text_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = []
        for j, (c, w) in enumerate(zip(r, widths, strict=True)):
            fill = " " * (w - text_width(c))
            cells.append(c + fill if j < left else fill + c)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
