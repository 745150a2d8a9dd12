"""Text tables line up in a terminal whatever mix of CJK, fullwidth and ASCII text they hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ecrm._texttable import format_rows, text_width

CELLS = st.text(alphabet=st.sampled_from("abcXYZ019 会员等级至尊ＡＢ％"), max_size=8).map(str.strip)


def test_widths_follow_the_unicode_east_asian_width_property() -> None:
    assert text_width("") == 0
    assert text_width("abc") == 3
    assert text_width("至尊VIP") == 7  # two wide characters and three narrow ones
    assert text_width("ＡＢ") == 4  # fullwidth letters
    assert text_width("ｱｲ") == 2  # halfwidth katakana are narrow
    assert text_width("e\u0301") == 1  # a combining accent takes no column
    assert text_width("¥1,280") == 6


@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6))
def test_every_column_starts_at_the_same_terminal_column(rows: list[list[str]]) -> None:
    rows = [[c or "-" for c in r] for r in rows]
    lines = format_rows(rows, left=1).split("\n")
    widths = [max(text_width(r[i]) for r in rows) for i in range(3)]
    for row, line in zip(rows, lines, strict=True):
        # column 0 is left-aligned and padded, then two spaces; columns 1 and 2 right-aligned
        first = row[0] + " " * (widths[0] - text_width(row[0])) + "  "
        assert line.startswith(first)
        rest = line[len(first):]
        second = " " * (widths[1] - text_width(row[1])) + row[1] + "  "
        assert rest.startswith(second)
        assert rest[len(second):].lstrip(" ") == row[2]
        assert text_width(rest[len(second):]) == widths[2]
