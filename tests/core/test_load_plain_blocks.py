"""The python engine's plain blocks (split with ``str`` methods) read exactly what the csv
module reads: the same log or the same errors (line, column, value, rule), including when
a file turns from plain to quoted part-way."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_load_engines import _outcome, order_files

import ecrm._load._csv as csv_module
from ecrm import DataFormatErrorGroup, read_orders_csv


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[Any, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        path.write_bytes(raw)
        plain = _outcome(read_orders_csv, path, "python", **kw)
        with monkeypatch.context() as m:
            m.setattr(csv_module, "PLAIN_BLOCKS", False)
            reference = _outcome(read_orders_csv, path, "python", **kw)
    return plain, reference


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=order_files(), chunk_rows=st.integers(1, 5))
def test_plain_blocks_read_what_the_csv_module_reads(
    raw: bytes, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, reference = _both(raw, monkeypatch, chunk_rows=chunk_rows)
    assert plain == reference


PLAIN = {
    "id": ["c1", "c2", "客户甲", " c4 ", "'007", "=", "", "  "],
    "date": ["2024-05-01", "2024-05-01 10:00:00", "2024/5/2 9:05", "20240503", "2024-02-30",
             "yesterday", "", "2024-05-04T08:00+08:00"],
    "amount": ["100", "0", "12.50", "￥7", "-5", "abc", "", "99999999999999999999"],
    "status": ["paid", "交易成功", "closed", "lost", ""],
}


@st.composite
def plain_files(draw: st.DrawFn) -> bytes:
    """Orders files without quotes (what the plain blocks take), good and bad cells, CRLF or
    LF, now and then a blank, empty-celled, short or long row."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["customer_id,placed_at,amount,status"]
    for _ in range(draw(st.integers(0, 12))):
        row = [draw(st.sampled_from(PLAIN[k])) for k in ("id", "date", "amount", "status")]
        odd = draw(st.integers(0, 40))
        line = {0: "", 1: ",,,", 2: "c1,2024-05-01", 3: ",".join(row) + ",x"}.get(
            odd, ",".join(row))
        lines.append(line)
    data = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return data.encode(draw(st.sampled_from(["utf-8", "gbk"])))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=plain_files(), chunk_rows=st.integers(1, 5))
def test_plain_files_read_what_the_csv_module_reads(
    raw: bytes, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, reference = _both(raw, monkeypatch, chunk_rows=chunk_rows)
    assert plain == reference


def _rows(n: int, start: int) -> str:
    return "".join(f"c{i % 97},2024-05-0{1 + i % 9} 10:00:00,{100 + i},paid\n"
                   for i in range(start, start + n))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_file_turning_quoted_after_plain_blocks_keeps_its_line_numbers(
    tmp_path: Path, newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40,000 plain rows (over 1 MB: several blocks), then a quoted cell, then a bad amount:
    the error names the physical line the file has it on."""
    head = _rows(40_000, 0)
    tail = '"c,1",2024-05-02 10:00:00,5,paid\nc2,2024-05-03 10:00:00,oops,paid\n'
    text = "customer_id,placed_at,amount,status\n" + head + tail
    raw = text.replace("\n", newline).encode()
    assert len(raw) > 1 << 20
    plain, reference = _both(raw, monkeypatch)
    assert plain == reference
    path = tmp_path / "orders.csv"
    path.write_bytes(raw)
    with pytest.raises(DataFormatErrorGroup) as caught:
        read_orders_csv(path, engine="python")
    (error,) = caught.value.exceptions
    assert (error.line, error.column, error.value) == (40_003, "amount", "oops")
