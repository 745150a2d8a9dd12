"""The arrow engine's fast parsers agree with the exact per-cell parsers, cell for cell.

The fast paths settle the plain cells from their bytes (or in Arrow) and hand every other
cell to the exact parsers; these property tests feed both the same generated cells — plain,
nearly plain and broken — and require the same values and the same bad positions.
"""

from __future__ import annotations

import zoneinfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm._load._cells import as_text, coded_column, parse_ids, parse_instants, parse_money
from ecrm._load._fastcells import (
    arrow_coded,
    arrow_ids,
    arrow_instants,
    arrow_money,
    fast_instants,
    fast_money,
)
from ecrm._order import parse_status

pa = pytest.importorskip("pyarrow")
from ecrm._load._cells import text_bytes  # noqa: E402
from ecrm._load._csv import arrow_text  # noqa: E402

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "America/Santiago", "UTC"]


def _text(values: list[str]) -> np.ndarray:
    return np.asarray(values, dtype=str) if values else np.zeros(0, dtype="U1")


def _pad(draw: st.DrawFn, value: int, width: int) -> str:
    text = str(value)
    return text.zfill(width) if draw(st.booleans()) or len(text) >= width else text


@st.composite
def instant_cells(draw: st.DrawFn) -> str:
    """Date-times near the accepted shapes: every separator, width, field and suffix varies."""
    year = draw(st.sampled_from([1899, 1900, 1970, 2000, 2023, 2024, 2199, 2200, 999]))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    sep = draw(st.sampled_from(["-", "/", "-", ".", ""]))
    sep2 = draw(st.sampled_from([sep, sep, "/"]))
    text = f"{year}{sep}{_pad(draw, month, 2)}{sep2}{_pad(draw, day, 2)}"
    if draw(st.booleans()):
        text += draw(st.sampled_from([" ", "T", "t", "  ", "_"]))
        text += f"{_pad(draw, draw(st.integers(0, 25)), 2)}:{_pad(draw, draw(st.integers(0, 61)), 2)}"
        if draw(st.booleans()):
            text += f":{_pad(draw, draw(st.integers(0, 61)), 2)}"
            if draw(st.booleans()):
                text += draw(st.sampled_from([".", ","])) + draw(st.text("0123456789", max_size=8))
    if draw(st.integers(0, 4)) == 0:
        text += draw(st.sampled_from(["Z", "+08:00", "-0530", "+8", " UTC", "+25:00"]))
    edit = draw(st.integers(0, 6))
    if edit == 0:
        text = draw(st.sampled_from([" ", "\t", "\u3000", ""])) + text + draw(
            st.sampled_from([" ", "", "\x00"]))
    elif edit == 1 and text:
        k = draw(st.integers(0, len(text) - 1))
        text = text[:k] + draw(st.sampled_from(["٣", "x", " ", "0", "é"])) + text[k + 1:]
    return text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(instant_cells(), st.text(max_size=12)), max_size=30),
       st.sampled_from(ZONES))
def test_fast_instants_agree_with_the_exact_parser(cells: list[str], zone_name: str) -> None:
    zone = zoneinfo.ZoneInfo(zone_name)
    exact, exact_bad = parse_instants(_text(cells), zone)
    fast, rest, _texts, bad = arrow_instants(pa.array(cells, pa.string()), zone)
    assert fast.tolist() == exact.tolist()
    assert sorted(int(rest[k]) for k in bad) == sorted(exact_bad)
    listed = text_bytes(cells)
    if listed is not None:  # the python engine's lists, read from their joined bytes
        us, rest, _texts, bad = fast_instants(
            listed, lambda rows: as_text([cells[i] for i in rows.tolist()]), zone)
        assert us.tolist() == exact.tolist()
        assert sorted(int(rest[k]) for k in bad) == sorted(exact_bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.builds(
    lambda y, mo, d, h, mi, se, t: f"{y:04d}-{mo:02d}-{d:02d}{t}{h:02d}:{mi:02d}:{se:02d}",
    st.sampled_from([1899, 1970, 2024, 2200]), st.integers(0, 13),
    st.integers(0, 32), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
    st.sampled_from([" ", "T"])), min_size=1, max_size=20), st.sampled_from(ZONES))
def test_a_column_of_iso_seconds_agrees_with_the_exact_parser(cells: list[str], zone_name: str) -> None:
    """A column of ``YYYY-MM-DD HH:MM:SS`` cells only is cast in Arrow as a whole."""
    zone = zoneinfo.ZoneInfo(zone_name)
    exact, exact_bad = parse_instants(_text(cells), zone)
    fast, rest, _texts, bad = arrow_instants(pa.array(cells, pa.string()), zone)
    assert fast.tolist() == exact.tolist()
    assert sorted(int(rest[k]) for k in bad) == sorted(exact_bad)


@st.composite
def money_cells(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=0, max_size=21))
    shape = draw(st.integers(0, 5))
    if shape == 1:
        digits += "." + draw(st.text("0123456789", max_size=3))
    elif shape == 2:
        digits = draw(st.sampled_from(["¥", "￥", "$", "-", "+", " ", "\u3000"])) + digits
    elif shape == 3:
        digits = f"{draw(st.integers(0, 10**9)):,}"
    elif shape == 4:
        digits += draw(st.sampled_from([" ", "e3", "٣", "\x00"]))
    return digits


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(money_cells(), st.text(max_size=8)), max_size=30),
       st.sampled_from(["fen", "yuan", "auto"]))
def test_fast_money_agrees_with_the_exact_parser(cells: list[str], unit: str) -> None:
    exact, exact_bad = parse_money(_text(cells), unit)
    fast, rest, _texts, bad = arrow_money(pa.array(cells, pa.string()), unit)
    assert fast.whole.tolist() == exact.whole.tolist()
    assert fast.cents.tolist() == exact.cents.tolist()
    assert fast.marked.tolist() == exact.marked.tolist()
    assert sorted((int(rest[k]), rule) for k, rule in bad) == sorted(exact_bad)
    listed = text_bytes(cells)
    if listed is not None:
        parsed, rest, _texts, bad = fast_money(
            listed, lambda rows: as_text([cells[i] for i in rows.tolist()]), unit)
        assert parsed.whole.tolist() == exact.whole.tolist()
        assert parsed.cents.tolist() == exact.cents.tolist()
        assert sorted((int(rest[k]), rule) for k, rule in bad) == sorted(exact_bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("0123456789", min_size=1, max_size=19), min_size=1, max_size=30),
       st.sampled_from(["fen", "yuan", "auto"]))
def test_a_column_of_digits_only_agrees_with_the_exact_parser(cells: list[str], unit: str) -> None:
    """A column of digits only (up to 18 of them) is cast in Arrow as a whole."""
    exact, exact_bad = parse_money(_text(cells), unit)
    fast, rest, _texts, bad = arrow_money(pa.array(cells, pa.string()), unit)
    assert fast.whole.tolist() == exact.whole.tolist()
    assert fast.cents.tolist() == [0] * len(cells)
    assert sorted((int(rest[k]), rule) for k, rule in bad) == sorted(exact_bad)


_ID_CELL = st.one_of(
    st.text("0123456789abcXYZ_-", min_size=1, max_size=10),
    st.text(max_size=10),
    st.builds(lambda s, pre, post: pre + s + post, st.text("0123456789", max_size=6),
              st.sampled_from(['="', "'", " ", "\t", "\u3000", "客户", ""]),
              st.sampled_from(['"', " ", "\u3000", "", "户"])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ID_CELL, max_size=30))
def test_fast_ids_and_text_agree_with_the_exact_parser(cells: list[str]) -> None:
    arr = pa.array(cells, pa.string())
    assert arrow_text(arr).tolist() == _text(cells).tolist()
    assert as_text(cells).tolist() == _text(cells).tolist()
    assert arrow_ids(arr).tolist() == parse_ids(_text(cells)).tolist()


def _status(text: str) -> int:
    return parse_status(text).code


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["paid", "unpaid", "refunded", "closed", "已付款", "PAID",
                                 " paid ", "", "nonsense", "交易关闭"]), max_size=40))
def test_fast_coded_column_agrees_with_the_exact_parser(cells: list[str]) -> None:
    exact, exact_bad = coded_column(cells, _status)
    fast, bad = arrow_coded(pa.array(cells, pa.string()), _status)
    assert fast.tolist() == exact.tolist()
    assert [(i, rule) for i, _text_, rule in bad] == exact_bad
    assert [t for _i, t, _r in bad] == [cells[i] for i, _r in exact_bad]


def test_fast_instants_by_hand() -> None:
    """Hand-worked instants: a DST gap moves forward, offsets are honoured, odd cells go exact."""
    ny = zoneinfo.ZoneInfo("America/New_York")
    cells = ["2024-03-10 02:30:00", "2024-01-01", "2024-01-01T00:00:00.5", "20240101",
             "2024-01-01 00:00:00+00:00", "", "2024-02-30"]
    us, rest, _texts, bad = arrow_instants(pa.array(cells), ny)
    hour = 3_600_000_000
    day0 = 19_723 * 24 * hour  # 2024-01-01 00:00 UTC
    # 02:30 in the gap of 2024-03-10 is 03:30 EDT = 07:30 UTC
    assert int(us[0]) == (19_792 * 24 + 7) * hour + 30 * 60_000_000
    assert int(us[1]) == day0 + 5 * hour
    assert int(us[2]) == day0 + 5 * hour + 500_000
    assert int(us[3]) == day0 + 5 * hour
    assert int(us[4]) == day0
    assert rest.tolist() == [3, 4, 5, 6]
    assert [int(rest[k]) for k in bad] == [6]
