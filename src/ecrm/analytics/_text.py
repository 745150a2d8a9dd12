"""Plain-text tables for ``format_table()`` (CJK characters are two columns wide)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_rows"]


def _width(text: str) -> int:
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def format_rows(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Rows of cells as aligned text: the first ``left`` columns left-aligned, others right."""
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = []
        for j, (c, w) in enumerate(zip(r, widths, strict=True)):
            fill = " " * (w - _width(c))
            cells.append(c + fill if j < left else fill + c)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
