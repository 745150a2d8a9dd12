"""Nothing lost, nothing wrong: every structural problem of a file is one clear error naming
file, physical line, column, value and rule — the same from both engines and for every table —
and no table comes back."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from ecrm import CustomerTable, DataFormatErrorGroup, EventLog, InvalidValueError, read_orders_csv

ENGINES = ("python", "arrow")
SRC = Path(__file__).resolve().parents[2] / "src" / "ecrm"
H = "order_id,customer_id,placed_at,amount,note\n"


def _problems(read: Any, path: Path, **kw: Any) -> list[tuple[int, str, Any, str]]:
    with pytest.raises(DataFormatErrorGroup) as info:
        read(path, **kw)
    return [(e.line, e.column, e.value, e.rule) for e in info.value.exceptions]


def _orders(path: Path, engine: str, **kw: Any) -> list[tuple[int, str, Any, str]]:
    return _problems(read_orders_csv, path, engine=engine, **kw)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unterminated_quote_that_swallows_rows_is_reported_not_loaded(
    tmp_path: Path, engine: str
) -> None:
    # the case: a quote opened in the last column swallows the next 1,000 orders
    rows = [f"o{i},c{i},2024-05-01,100,ok" for i in range(1_100)]
    rows[10] = 'o10,c10,2024-05-01,100,"no closing quote'
    path = tmp_path / "q.csv"
    path.write_text(H + "\n".join(rows) + "\n", encoding="utf-8")
    ((line, column, value, rule),) = _orders(path, engine)
    assert (line, column) == (12, "note")
    assert value.startswith("no closing quote\no11,c11,2024-05-01,100,ok")
    assert value.endswith("…")
    assert "running over 1091 lines (to line 1102)" in rule
    assert "holding 1089 line(s) that look like rows" in rule
    assert "a quote is not closed" in rule


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_ending_inside_a_quote_is_reported(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "q.csv"
    path.write_text(H + 'o1,c1,2024-05-01,100,ok\no2,c2,2024-05-01,100,"open\n', encoding="utf-8")
    assert _orders(path, engine) == [
        (3, "note", "open\n", "is a quoted cell still open at the end of the file: "
                              "a quote is not closed"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_quoted_cell_may_span_lines_and_later_lines_keep_their_physical_numbers(
    tmp_path: Path, engine: str
) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(H + 'o1,c1,2024-05-01,100,"浙江省\n杭州市"\no2,c2,2024-05-32,100,x\n',
                    encoding="utf-8")
    ((line, column, value, _rule),) = _orders(path, engine)
    assert (line, column, value) == (4, "placed_at", "2024-05-32")


@pytest.mark.parametrize("engine", ENGINES)
def test_ragged_rows_are_reported_and_empty_rows_skipped(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(H + "o1,c1,2024-05-01,100\no2,c2,2024-05-01,100,x,y\n\n,,,,\n"
                    "o3,c3,2024-05-01,100,z\n", encoding="utf-8")
    assert _orders(path, engine) == [
        (2, "<row>", "o1,c1,2024-05-01,100", "has 4 fields but the header has 5"),
        (3, "<row>", "o2,c2,2024-05-01,100,x,y", "has 6 fields but the header has 5"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_undecodable_bytes_are_reported_on_their_true_physical_line_and_column(
    tmp_path: Path, engine: str
) -> None:
    # 3,000 records of two lines each, then a bad byte: physical line 6,002 (the header is 1)
    body = "".join(f'o{i},c{i},2024-05-01,100,"two\nlines"\n' for i in range(3_000))
    path = tmp_path / "d.csv"
    path.write_bytes((H + body).encode() + b"o9,c\xff,2024-05-01,100,x\nbad,\xfe,2024-05-01,1,x\n")
    problems = _orders(path, engine, encoding="utf-8")
    assert [(p[0], p[1], p[2]) for p in problems] == [(6_002, "customer_id", "ff"),
                                                      (6_003, "customer_id", "fe")]
    assert problems[0][3].startswith("cannot be decoded as utf-8 (invalid start byte)")


@pytest.mark.parametrize("engine", ENGINES)
def test_duplicate_and_missing_headers(tmp_path: Path, engine: str) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("order_id,customer_id,placed_at,amount,amount\n", encoding="utf-8")
    assert _orders(dup, engine) == [
        (1, "amount", "amount",
         "appears 2 times in the header (columns 4, 5); a used column name must be unique"),
    ]
    missing = tmp_path / "missing.csv"
    missing.write_text("order_id,customer_id,amount\no1,c1,5\n", encoding="utf-8")
    ((line, column, value, rule),) = _orders(missing, engine)
    assert (line, column, value) == (1, "placed_at", ("order_id", "customer_id", "amount"))
    assert rule.startswith("is required (for placed_at) but is missing from the header")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _orders(empty, engine)[0][:2] == (1, "<header>")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_over_long_field_stops_the_read_with_a_clear_error(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "long.csv"
    path.write_text(H + 'o1,c1,2024-05-01,100,"' + "x" * 200_000 + '"\no2,c2,2024-05-01,1,x\n',
                    encoding="utf-8")
    ((line, column, value, rule),) = _orders(path, engine)
    assert (line, column) == (2, "<row>")
    assert value == "field larger than field limit (131072)"
    assert "a quote is not closed" in rule


@pytest.mark.parametrize("engine", ENGINES)
def test_amounts_that_do_not_fit_int64_fen(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "big.csv"
    path.write_text(H + "o1,c1,2024-05-01,92233720368547758.08,x\n"
                    "o2,c2,2024-05-01,92233720368547758.07,x\n"
                    "o3,c3,2024-05-01,99999999999999999999,x\n", encoding="utf-8")
    assert _orders(path, engine) == [
        (2, "amount", "92233720368547758.08",
         "must fit in int64 fen (at most 92,233,720,368,547,757.07 yuan)"),
        (3, "amount", "92233720368547758.07",
         "must fit in int64 fen (at most 92,233,720,368,547,757.07 yuan)"),
        (4, "amount", "99999999999999999999", "must fit in int64 fen"),
    ]
    fen = tmp_path / "fen.csv"
    fen.write_text(H + "o1,c1,2024-05-01,9223372036854775808,x\n", encoding="utf-8")
    assert _orders(fen, engine) == [
        (2, "amount", "9223372036854775808", "must fit in int64 fen"),
    ]


def test_a_bad_time_zone_name_is_a_clear_error_not_an_os_error(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2024-05-01,5\n", encoding="utf-8")
    for read in (read_orders_csv, CustomerTable.from_csv, EventLog.from_csv):
        with pytest.raises(InvalidValueError) as info:
            read(path, tz="X" * 300)
        assert info.value.field == "tz"
        assert "must name an IANA time zone" in str(info.value)


def test_bad_encoding_and_engine_arguments(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2024-05-01,5\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="encoding"):
        read_orders_csv(path, encoding="klingon")
    with pytest.raises(InvalidValueError, match="engine"):
        read_orders_csv(path, engine="duck")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="amount_unit"):
        read_orders_csv(path, amount_unit="jiao")  # type: ignore[arg-type]


# -- customers and events get the same checks ---------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_customer_files_get_the_same_structural_checks(tmp_path: Path, engine: str) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("customer_id,name\nc1,张三\n".encode("gbk"))
    assert CustomerTable.from_csv(gbk, engine=engine).names.tolist() == ["张三"]  # type: ignore[arg-type]
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,name,name\nc1,a,b\nc2\nc3,x,y,z\n", encoding="utf-8")
    assert _problems(CustomerTable.from_csv, bad, engine=engine) == [
        (1, "name", "name",
         "appears 2 times in the header (columns 2, 3); a used column name must be unique"),
    ]
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"customer_id,name\nc1\nc2,x,y\nc3,\xff\n")
    assert [p[:3] for p in _problems(CustomerTable.from_csv, ragged, engine=engine,
                                     encoding="utf-8")] == [
        (2, "<row>", "c1"), (3, "<row>", "c2,x,y"), (4, "name", "ff"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_event_files_get_the_same_structural_checks(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text("customer_id,at,kind\nc1,2024-06-01,cart\nc2,2024-06-01\n"
                    "c3,someday,cart\nc4,2024-06-01,teleport\n", encoding="utf-8")
    problems = _problems(EventLog.from_csv, path, engine=engine)
    assert [p[:3] for p in problems] == [
        (3, "<row>", "c2,2024-06-01"), (4, "at", "someday"), (5, "kind", "teleport"),
    ]


def test_every_problem_is_listed_at_once_and_capped_per_column(tmp_path: Path) -> None:
    rows = [f"o{i},c{i},2024-05-{(i % 40) + 1:02d},-{i},x" for i in range(100)]
    path = tmp_path / "many.csv"
    path.write_text(H + "\n".join(rows) + "\n", encoding="utf-8")
    problems = _orders(path, "python", amount_unit="fen")
    by_column: dict[str, int] = {}
    for _line, column, _value, _rule in problems:
        by_column[column] = by_column.get(column, 0) + 1
    # 100 negative amounts ("-0" too): 20 listed plus one summary of the other 80; days
    # 32..40 are bad for i % 40 in 31..39: i = 31..39 and 71..79, 18 cells, all listed
    assert by_column == {"placed_at": 18, "amount": 21}
    assert problems[-1][:3] == (22, "amount", "... and 80 more rows")
    assert "80× must be >= 0 fen" in problems[-1][3]


# -- the dependency direction ---------------------------------------------------------------------
def test_the_loaders_never_import_the_model_tables() -> None:
    """No import cycle, not even through an import inside a function."""
    model = {"ecrm._orderlog", "ecrm._customers", "ecrm._customer", "ecrm._customer_columns",
             "ecrm._customer_tags", "ecrm._events", "ecrm._io", "ecrm"}
    for path in sorted((SRC / "_load").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in model, (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & model, path.name
    for name in ("_orderlog.py", "_customers.py", "_customer.py", "_customer_columns.py",
                 "_customer_tags.py", "_events.py", "_columns.py"):
        tree = ast.parse((SRC / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in ("ecrm._io", "ecrm._frames"), (name, node.module)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_customer_whose_orders_sum_past_int64_fen_is_reported(
    tmp_path: Path, engine: str
) -> None:
    # each order at the 10^15-fen limit passes on its own; 9,224 of them sum to
    # 9,224,000,000,000,000,000 fen > 2^63 − 1 = 9,223,372,036,854,775,807
    rows = "".join(f"big,2024-05-01 {k // 3600 % 24:02d}:{k // 60 % 60:02d}:{k % 60:02d},"
                   "1000000000000000\n" for k in range(9224))
    path = tmp_path / "sum.csv"
    path.write_text("customer_id,placed_at,amount\nok,2024-05-01,5\n" + rows, encoding="utf-8")
    assert _orders(path, engine) == [
        (3, "customer_id", "big",
         "has orders summing to 9,224,000,000,000,000,000 fen, more than int64 fen can hold "
         "(9,223,372,036,854,775,807); an amount is probably in the wrong unit"),
    ]
