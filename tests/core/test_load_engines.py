"""Two engines, one behaviour: over generated files, good and bad, the python and the arrow
engine return the same log or raise the same errors (file, physical line, column, value,
rule).

CI runs 80 orders files; ``ECRM_ENGINE_EXAMPLES=2000`` runs a bigger proof.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm import CustomerTable, DataFormatErrorGroup, EventLog, read_orders_csv
from ecrm._compact import OffsetCodes, SparseFen

pytest.importorskip("pyarrow")
EXAMPLES = int(os.environ.get("ECRM_ENGINE_EXAMPLES", "80"))

GOOD = {
    "id": ["c1", "c2", "c3", "客户甲", " c4 ", '="007"', "c,5"],
    "date": ["2024-05-01", "2024-05-01 10:00:00", "2024/5/2 9:05", "20240503",
             "2024-05-04T08:00+08:00"],
    "fen": ["100", "0", "12", "99999"],
    "yuan": ["12.50", "¥1,234.5", "1,200", "0.1", "7"],
    "status": ["paid", "交易成功", "TRADE_FINISHED", "closed"],
    "note": ["", "ok", "a,b", 'say "hi"', "  ", "浙江省 杭州市"],
}
BAD = {
    "id": [""],
    "date": ["2024-02-30", "yesterday", "", "1899-01-01"],
    "fen": ["-5", "abc", "", "1e3", "99999999999999999999", "12.345"],
    "yuan": ["-5", "abc", "", "1e3", "12.345", "92233720368547758.08"],
    "status": ["lost", ""],
    "note": ["two\nlines"],  # fine alone; the python engine reads spanning cells
}
IDS = st.sampled_from(GOOD["id"] + BAD["id"])
DATES = st.sampled_from(GOOD["date"] + BAD["date"])
NOTES = st.sampled_from(GOOD["note"] + BAD["note"])
MUTATIONS = st.sampled_from(["short", "long", "blank", "empty_cells", "open_quote", "bad_byte"])


@st.composite
def cells(draw: st.DrawFn, kind: str, bad: bool) -> str:
    if bad and draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(BAD[kind]))
    return draw(st.sampled_from(GOOD[kind]))


def _cell(text: str) -> str:
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def order_files(draw: st.DrawFn) -> bytes:
    """An orders file: good, or (half the time) with some bad cells and broken lines."""
    bad = draw(st.booleans())
    n = draw(st.integers(0, 12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "gbk"]))
    money = draw(st.sampled_from(["fen", "yuan"]))
    lines = ["order_id,customer_id,placed_at,amount,status,note"]
    for i in range(n):
        row = [f"o{i}" if not bad else f"o{draw(st.integers(0, n))}",
               draw(cells("id", bad)), draw(cells("date", bad)), draw(cells(money, bad)),
               draw(cells("status", bad)), draw(cells("note", bad))]
        line = ",".join(_cell(c) for c in row)
        mutation = draw(MUTATIONS) if bad and draw(st.integers(0, 3)) == 0 else "none"
        if mutation == "short":
            line = "o,c"
        elif mutation == "long":
            line += ",extra"
        elif mutation == "blank" or (not bad and draw(st.integers(0, 6)) == 0):
            lines.append("")
        elif mutation == "empty_cells":
            lines.append(",,,,,")
        elif mutation == "open_quote":
            line += ',"unclosed'
        elif mutation == "bad_byte":
            line = "\udc80" + line
        lines.append(line)
    data = newline.join(lines) + (newline if draw(st.booleans()) else "")
    data = data.replace("¥", "￥") if encoding == "gbk" else data
    raw = data.encode(encoding, errors="surrogateescape")
    if draw(st.booleans()) and encoding == "utf-8":
        raw = b"\xef\xbb\xbf" + raw
    return raw


def _outcome(read: Any, path: Path, engine: str, **kw: Any) -> Any:
    try:
        table = read(path, engine=engine, **kw)
    except DataFormatErrorGroup as exc:
        return ("errors", [(e.source, e.line, e.column, e.value, e.rule) for e in exc.exceptions])
    return ("table", _columns(table), table.load_info.encoding)


def _columns(table: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in type(table).__attrs_attrs__:
        if field.name in ("_cache", "load_info", "items", "tz"):
            continue
        value = getattr(table, field.name)
        if isinstance(value, SparseFen | OffsetCodes):  # (compact forms: compared dense)
            value = value.dense() if isinstance(value, SparseFen) else value.codes()
        out[field.name] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_files(), st.integers(1, 5))
def test_both_engines_give_the_same_orders_or_the_same_errors(raw: bytes, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        path.write_bytes(raw)
        python = _outcome(read_orders_csv, path, "python", chunk_rows=chunk_rows)
        arrow = _outcome(read_orders_csv, path, "arrow", chunk_rows=chunk_rows)
    assert python == arrow


@st.composite
def event_files(draw: st.DrawFn) -> bytes:
    bad = draw(st.booleans())
    lines = ["customer_id,at,kind,sku"]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["cart", "浏览", "favorite"] + (["fly", ""] if bad else [])))
        row = [draw(cells("id", bad)), draw(cells("date", bad)), kind, draw(cells("note", bad))]
        line = ",".join(_cell(c) for c in row)
        if bad and draw(st.integers(0, 4)) == 0:
            line = "c1"
        lines.append(line)
    return ("\n".join(lines) + "\n").encode(draw(st.sampled_from(["utf-8", "gb18030"])))


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(event_files())
def test_both_engines_give_the_same_events_or_the_same_errors(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_bytes(raw)
        python = _outcome(EventLog.from_csv, path, "python")
        arrow = _outcome(EventLog.from_csv, path, "arrow")
    assert python == arrow


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "客户", ""]), NOTES,
                          st.sampled_from(["f", "男", "x", ""])), max_size=8))
def test_both_engines_give_the_same_customers_or_the_same_errors(
    rows: list[tuple[str, str, str]],
) -> None:
    text = "customer_id,name,gender\n" + "".join(
        ",".join(_cell(c) for c in row) + "\n" for row in rows
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        path.write_text(text, encoding="utf-8")
        python = _outcome(CustomerTable.from_csv, path, "python")
        arrow = _outcome(CustomerTable.from_csv, path, "arrow")
    assert python == arrow
