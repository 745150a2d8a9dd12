"""The vectorised CSV writer of results writes the bytes the plain (cell by cell) writer writes.

``ecrm._results`` lays a block of rows out as one byte matrix (``_block_bytes``); the plain
writer (``_rows_of``) formats each cell with ``str``/``isoformat``/``csv`` quoting rules and is
the reference. Both run here on the same columns, and the hand-worked rows pin the text
itself (negative, zero and int64-edge fen, CJK ids, ids that need quotes, nulls).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import _results
from ecrm._results import dates, instants, nullable, table_csv

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _both(columns: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(vectorised text, plain text) of ``columns``."""
    out = []
    for vectorised in (True, False):
        monkeypatch.setattr(_results, "VECTORISED_CSV", vectorised)
        buf = io.StringIO()
        table_csv(columns, buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def test_hand_worked_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tricky kind of cell, against text written out by hand."""
    us = [
        0,  # 1970-01-01T08:00:00+08:00
        1_764_518_400_000_000,  # 2025-12-01T00:00:00+08:00
        1_764_518_399_000_000,  # one second earlier, the day before
    ]
    columns: dict[str, Any] = {
        "customer_id": np.asarray(["0042", "店铺会员_张三", 'say "hi", ok']),
        "last_order_at": instants(np.asarray(us), SHANGHAI, [False, False, True]),
        "monetary_fen": np.asarray([0, -1, INT64_MIN], dtype=np.int64),
        "big_fen": np.asarray([INT64_MAX, 10**15, -(10**15)], dtype=np.int64),
        "on": np.asarray([True, False, True]),
        "day": dates(np.asarray([0, 20_423, -1]), [False, False, True]),
        "share": np.asarray([0.5, 1.0, np.nan]),
    }
    want = (
        "customer_id,last_order_at,monetary_fen,big_fen,on,day,share\n"
        "0042,1970-01-01T08:00:00+08:00,0,9223372036854775807,true,1970-01-01,0.5\n"
        "店铺会员_张三,2025-12-01T00:00:00+08:00,-1,1000000000000000,false,2025-12-01,1.0\n"
        '"say ""hi"", ok",,-9223372036854775808,-1000000000000000,true,,\n'
    )
    fast, plain = _both(columns, monkeypatch)
    assert fast == want
    assert plain == want


def test_a_path_gets_the_same_utf8_bytes(tmp_path: Path) -> None:
    columns = {"customer_id": np.asarray(["甲", "b"]), "n": np.asarray([-5, 7])}
    path = tmp_path / "out.csv"
    table_csv(columns, path)
    assert path.read_bytes() == "customer_id,n\n甲,-5\nb,7\n".encode()


def test_blocks_join_seamlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows past one block (the writer works block by block) continue the text exactly."""
    monkeypatch.setattr(_results, "_CSV_BLOCK_ROWS", 7)
    n = 30
    ids = np.asarray([f"c{i}" if i % 11 else f"会员{i}" for i in range(n)])
    columns = {"customer_id": ids, "n": np.arange(-15, 15, dtype=np.int64) ** 3}
    fast, plain = _both(columns, monkeypatch)
    assert fast == plain
    rows = list(csv.reader(io.StringIO(fast)))
    assert rows[1:] == [[str(i), str(int(v))] for i, v in zip(ids, columns["n"], strict=True)]


_TEXT = st.text(alphabet=st.sampled_from('a9 ,"\n\r店\x00=\'-'), max_size=5)


@settings(max_examples=30, deadline=None)
@given(
    ints=st.lists(st.integers(INT64_MIN, INT64_MAX), min_size=1, max_size=20),
    data=st.data(),
)
def test_vectorised_equals_plain_on_random_tables(ints: list[int], data: Any) -> None:
    """Random ints (int64 edges), text (quotes, commas, line breaks, NUL, CJK), instants in a
    zone with DST (sub-second ones too), dates, bools, floats and nulls: the same bytes."""
    n = len(ints)
    seconds = data.draw(st.lists(st.integers(-2_000_000_000, 4_000_000_000), min_size=n,
                                 max_size=n))
    micro = data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 999_999]), min_size=n, max_size=n))
    gaps = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    texts = data.draw(st.lists(_TEXT, min_size=n, max_size=n))
    days = data.draw(st.lists(st.integers(-700_000, 2_900_000), min_size=n, max_size=n))
    us = np.asarray(seconds, dtype=np.int64) * 1_000_000 + np.asarray(micro, dtype=np.int64)
    columns: dict[str, Any] = {
        "i": np.asarray(ints, dtype=np.int64),
        "text": np.asarray(texts, dtype=str),
        "at": instants(us, NEW_YORK, gaps),
        "at_shanghai": instants(np.asarray(seconds, dtype=np.int64) * 1_000_000, SHANGHAI),
        "fixed": instants(us, dt.timezone(dt.timedelta(hours=5, minutes=30))),
        "day": dates(np.asarray(days, dtype=np.int64), gaps[::-1]),
        "flag": nullable(np.asarray([x % 2 == 0 for x in ints]), gaps),
        "maybe": nullable(np.asarray(ints, dtype=np.int64), gaps[::-1]),
        "f": np.asarray([x / 7 for x in ints], dtype=np.float64),
    }
    with pytest.MonkeyPatch.context() as mp:
        fast, plain = _both(columns, mp)
        assert fast == plain
        # column pairs too (each kind's own slot widths)
        for name in list(columns)[1:]:
            pair = {"i": columns["i"], name: columns[name]}
            fast, plain = _both(pair, mp)
            assert fast == plain, name


def test_a_very_wide_cell_takes_the_plain_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    columns = {"note": np.asarray(["x" * 5000, "店" * 300]), "n": np.asarray([1, 2])}
    fast, plain = _both(columns, monkeypatch)
    assert fast == plain == f"note,n\n{'x' * 5000},1\n{'店' * 300},2\n"
