"""The reader's bounded-memory machinery: columns filled into one buffer sized from an
estimate (right whatever the estimate), and the arrow engine's direct read of a UTF-8 file
falling back to the decoding stream when bytes of another encoding come later."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loading_helpers import assert_same_log

from ecrm import OrderLog
from ecrm._load._grow import GrowingColumn


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-(2**40), 2**40), max_size=20), max_size=8),
       st.integers(0, 60))
def test_a_growing_column_holds_exactly_the_slices_put(parts: list[list[int]], capacity: int) -> None:
    col = GrowingColumn(np.int64, capacity)
    at = 0
    for part in parts:
        col.put(at, np.asarray(part, dtype=np.int64))
        at += len(part)
    expected = [v for part in parts for v in part]
    assert col.array(at).tolist() == expected


def test_rows_never_written_read_as_zero() -> None:
    col = GrowingColumn(np.int64, 2)
    col.put(3, np.asarray([7, 8]))
    assert col.array(6).tolist() == [0, 0, 0, 7, 8, 0]


def _orders_text(n: int, start: int = 0) -> str:
    return "".join(
        f"{100000 + (i * 7919) % 5000},2024-0{1 + i % 9}-1{i % 10} 0{i % 10}:1{i % 6}:00,"
        f"{100 + i % 997},completed,{0 if i % 11 else 50}\n"
        for i in range(start, start + n)
    )


HEADER = "customer_id,placed_at,amount,status,refunded\n"


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_many_chunks_give_the_same_log_in_both_engines(tmp_path: Path, compress: bool) -> None:
    """60,000 rows in chunks of 7,000: the estimate is made on the first chunk (too small for
    a gzip file, whose size is compressed) and the columns grow as needed."""
    data = (HEADER + _orders_text(60_000)).encode()
    path = tmp_path / ("orders.csv.gz" if compress else "orders.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    python = OrderLog.from_csv(path, engine="python", chunk_rows=7_000)
    pytest.importorskip("pyarrow")
    arrow = OrderLog.from_csv(path, engine="arrow", chunk_rows=7_000)
    assert len(python) == 60_000
    assert_same_log(python, arrow)
    # the first rows, worked by hand from _orders_text
    first = python.select(python.customer_ids[python.customer_codes] == "100000")
    assert int(first.amount_fen.min()) == 100


def test_a_utf8_start_then_gbk_bytes_reads_the_same_in_both_engines(tmp_path: Path) -> None:
    """Over 1 MB of ASCII rows, then rows with a GBK customer name: the arrow engine's direct
    UTF-8 read meets bytes it cannot read and reads the file again through the decoding
    stream, which detects GB18030 there as the python engine does."""
    pytest.importorskip("pyarrow")
    head = _orders_text(30_000)
    assert len(head) > 1 << 20
    tail = "买家甲,2024-05-01 10:00:00,500,completed,0\n"
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + head + tail).encode("gbk"))
    python = OrderLog.from_csv(path, engine="python")
    arrow = OrderLog.from_csv(path, engine="arrow")
    assert_same_log(python, arrow)
    assert "买家甲" in python.customer_ids.tolist()
    assert python.load_info is not None
    assert arrow.load_info is not None
    assert python.load_info.encoding == arrow.load_info.encoding == "gb18030"
    assert arrow.load_info.engine == "arrow"
