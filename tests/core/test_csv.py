"""read_orders_csv / OrderLog.from_csv: streaming CSV reading, exact parsing, every bad cell."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from loading_helpers import assert_same_log

from ecrm import (
    CsvColumns,
    DataFormatErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    Money,
    Order,
    OrderItem,
    OrderLog,
    OrderStatus,
    ProgressUpdate,
    RowError,
    read_orders_csv,
)
from ecrm.testing import orders

SH = ZoneInfo("Asia/Shanghai")
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
HEADER = "order_id,customer_id,placed_at,amount,status"


def _us(*args: int, tz: dt.tzinfo = SH) -> int:
    """Epoch microseconds, computed with plain datetime arithmetic."""
    delta = dt.datetime(*args, tzinfo=tz) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # type: ignore[misc]
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _write(tmp_path: Path, text: str, name: str = "orders.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _errors(path: Path, **kw: Any) -> list[RowError]:
    with pytest.raises(DataFormatErrorGroup) as info:
        read_orders_csv(path, **kw)
    errs = list(info.value.exceptions)
    assert all(isinstance(e, RowError) for e in errs)
    return errs  # type: ignore[return-value]


def _cells(errs: list[RowError]) -> list[tuple[int, str, Any]]:
    return [(e.line, e.column, e.value) for e in errs]


# -- reading good files -------------------------------------------------------------------
def _plain_python_orders(path: Path) -> list[Order]:
    """An independent reading of orders_small.csv with csv + datetime + int()."""
    by_id: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            o = by_id.setdefault(row["order_id"], {"row": row, "items": []})
            o["items"].append(OrderItem(
                sku=row["sku"], unit_price=Money(int(row["unit_price"])),
                quantity=int(row["quantity"]), category=row["category"] or None,
            ))

    def when(text: str) -> dt.datetime | None:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SH) if text else None

    out = []
    for oid, o in by_id.items():
        row = o["row"]
        out.append(Order(
            order_id=oid, customer_id=row["customer_id"], placed_at=when(row["placed_at"]),  # type: ignore[arg-type]
            amount=Money(int(row["amount"])), status=OrderStatus(row["status"]),
            paid_at=when(row["paid_at"]),
            refunded=Money(int(row["refunded"])) if row["refunded"] else None,
            items=o["items"], province=row["province"] or None, channel=row["channel"] or None,
        ))
    return out


def test_example_file_equals_an_independent_plain_python_reading() -> None:
    path = DATA / "orders_small.csv"
    log = read_orders_csv(path)
    expected = OrderLog.from_orders(_plain_python_orders(path))
    assert_same_log(log, expected)
    assert len(log) == 200
    assert log.n_customers == 40
    assert log.items is not None
    assert len(log.items) > len(log)
    assert {s.value for s in (log.statuses[c] for c in set(log.status_codes.tolist()))} == {
        "completed", "shipped", "paid", "refunded", "closed", "unpaid"}


def test_from_csv_delegates_to_read_orders_csv() -> None:
    path = DATA / "orders_small.csv"
    assert_same_log(OrderLog.from_csv(path, chunk_rows=50), read_orders_csv(path))


def test_timestamp_formats_and_zones(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01 12:00:00,1,paid",          # naive: wall time in tz
        "o2,c1,2024-05-01T12:00:00+08:00,1,paid",    # offset honoured
        "o3,c1,2024-05-01T04:00:00Z,1,paid",         # UTC
        "o4,c1,2024/05/01 12:00:00,1,paid",          # slashes
        "o5,c1,2024/5/1 9:05,1,paid",                # unpadded, no seconds
        "o6,c1,2024-05-01,1,paid",                   # a date alone: local midnight
        "o7,c1,2024-05-01 12:00:00.250000,1,paid",   # fractional seconds
        "o8,c1,2024-05-01 12:00:00-05:30,1,paid",    # negative offset
    ]) + "\n")
    log = read_orders_csv(path)
    got = dict(zip(log.order_ids.tolist(), log.placed_at_us.tolist(), strict=True))  # type: ignore[union-attr]
    noon_sh = _us(2024, 5, 1, 12)
    assert got == {
        "o1": noon_sh, "o2": noon_sh, "o3": noon_sh, "o4": noon_sh,
        "o5": _us(2024, 5, 1, 9, 5),
        "o6": _us(2024, 5, 1, 0),
        "o7": noon_sh + 250_000,
        "o8": _us(2024, 5, 1, 12, tz=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
    }


def test_naive_times_are_wall_time_in_the_given_zone(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\no1,c1,2024-07-01 12:00:00,1,paid\n"
                  "o2,c1,2024-07-01T12:00:00+08:00,1,paid\n")
    log = read_orders_csv(path, tz="Europe/Berlin")
    by_id = dict(zip(log.order_ids.tolist(), log.placed_at_us.tolist(), strict=True))  # type: ignore[union-attr]
    assert by_id["o1"] == _us(2024, 7, 1, 12, tz=ZoneInfo("Europe/Berlin"))
    assert by_id["o2"] == _us(2024, 7, 1, 12)  # an explicit offset wins over tz
    assert str(log.tz) == "Europe/Berlin"


def test_bom_header_only_gives_an_empty_log(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    log = read_orders_csv(path)
    assert len(log) == 0
    assert log.n_customers == 0


def test_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,placed_at,amount\nc1,2024-05-01,5\n", encoding="utf-8-sig")
    log = read_orders_csv(path)
    assert log.customer_ids.tolist() == ["c1"]
    assert log.order_ids is None


def test_minimal_columns_default_to_paid_orders(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,placed_at,amount\nc2,2024-05-02,7\nc1,2024-05-01,5\n")
    log = read_orders_csv(path)
    assert log.customer_ids.tolist() == ["c1", "c2"]
    assert log.amount_fen.tolist() == [5, 7]
    assert set(log.status_codes.tolist()) == {OrderStatus.PAID.code}
    assert log.paid_at_us is None
    assert log.provinces is None


def test_blank_lines_are_skipped_and_quoted_fields_keep_commas(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ",province\n\no1,c1,2024-05-01,5,paid,\"浙江省, 杭州\"\n\n\n"
                  "o2,c2,2024-05-01,5,paid,广东省\n")
    log = read_orders_csv(path)
    assert len(log) == 2
    assert log.provinces is not None
    assert log.provinces.tolist() == ["浙江省,", "广东省"]


def test_a_full_address_keeps_its_first_word_as_the_province(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ",province\no1,c1,2024-05-01,5,paid,浙江省 杭州市 西湖区\n")
    assert read_orders_csv(path).provinces.tolist() == ["浙江省"]  # type: ignore[union-attr]


# -- money units --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.1", 10), ("0.2", 20), ("12.5", 1250), ("12.50", 1250), ("12", 1200), ("12.", 1200),
     (".5", 50), ("0.01", 1), ("99999999.99", 9_999_999_999), ("0", 0), (" 3.30 ", 330)],
)
def test_yuan_text_is_converted_exactly(tmp_path: Path, text: str, fen: int) -> None:
    path = _write(tmp_path, HEADER + f'\no1,c1,2024-05-01,"{text}",paid\n')
    log = read_orders_csv(path, columns={"amount_unit": "yuan"})
    assert log.amount_fen.tolist() == [fen]


def test_yuan_point_one_plus_point_two_is_exactly_thirty_fen(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ",refunded\no1,c1,2024-05-01,0.1,paid,0.1\n"
                  "o2,c1,2024-05-02,0.2,paid,0.05\n")
    log = read_orders_csv(path, columns=CsvColumns(amount_unit="yuan"))
    assert int(log.amount_fen.sum()) == 30
    assert log.refunded_fen.tolist() == [10, 5]
    assert log.amount_fen.dtype == np.int64


@pytest.mark.parametrize(
    ("text", "rule"),
    [("12.345", "must have at most 2 decimal places (whole fen) in yuan"),
     ("-1.00", "must be >= 0 yuan"),
     ("1e3", "must be a plain amount in yuan like 12.50 (no exponent)"),
     ("1,00.00", "must be an amount in yuan like 12.50, 1,234.50 or ¥12"),
     ("12¥", "must be an amount in yuan like 12.50, 1,234.50 or ¥12")],
)
def test_bad_yuan_text_is_reported(tmp_path: Path, text: str, rule: str) -> None:
    path = _write(tmp_path, HEADER + f'\no1,c1,2024-05-01,"{text}",paid\n')
    (err,) = _errors(path, columns={"amount_unit": "yuan"})
    assert (err.line, err.column, err.value) == (2, "amount", text)
    assert err.rule.startswith(rule)


# -- bad cells: file, line, column, value, rule -------------------------------------------
BAD_CELLS = [
    # (row text after the header, column, value, start of the rule)
    ("o1,c1,2024-13-01 10:00:00,5,paid", "placed_at", "2024-13-01 10:00:00",
     "must be a date-time like"),
    ("o1,c1,yesterday,5,paid", "placed_at", "yesterday", "must be a date-time like"),
    ("o1,c1,2024-02-30,5,paid", "placed_at", "2024-02-30", "must be a date-time like"),
    ("o1,c1,,5,paid", "placed_at", "", "must not be empty"),
    ("o1,c1,0000-01-01,5,paid", "placed_at", "0000-01-01", "must be a date-time like"),
    ("o1,c1,1899-12-31 10:00:00,5,paid", "placed_at", "1899-12-31 10:00:00",
     "must be a date-time like"),
    ("o1,c1,2024-05-01 24:00:00,5,paid", "placed_at", "2024-05-01 24:00:00",
     "must be a date-time like"),
    ("o1,c1,2024-05-01,١٢,paid", "amount", "١٢", "must be an integer number of fen (digits"),
    ("o1,c1,2024-05-01,99999999999999999999,paid", "amount", "99999999999999999999",
     "must fit in int64 fen"),
    ("o1,c1,2024-05-01,-5,paid", "amount", "-5", "must be >= 0 fen"),
    ("o1,c1,2024-05-01,12.50,paid", "amount", "12.50", "must be an integer number of fen"),
    ("o1,c1,2024-05-01,1e3,paid", "amount", "1e3", "must be an integer number of fen"),
    ("o1,c1,2024-05-01,abc,paid", "amount", "abc", "must be an integer number of fen"),
    ("o1,c1,2024-05-01,,paid", "amount", "", "must not be empty"),
    ("o1,c1,2024-05-01,5,lost", "status", "lost", "must be one of unpaid, paid"),
    ("o1,c1,2024-05-01,5,", "status", "", "must not be empty"),
    ("o1,,2024-05-01,5,paid", "customer_id", "", "must not be empty"),
    ("o1,  ,2024-05-01,5,paid", "customer_id", "  ", "must not be empty"),
    (",c1,2024-05-01,5,paid", "order_id", "", "must not be empty"),
    ("o1,c1,2024-05-01,5", "<row>", "o1,c1,2024-05-01,5", "has 4 fields but the header has 5"),
]


@pytest.mark.parametrize(("row", "column", "value", "rule"), BAD_CELLS)
def test_each_kind_of_bad_cell_names_file_line_column_value_and_rule(
    tmp_path: Path, row: str, column: str, value: str, rule: str
) -> None:
    path = _write(tmp_path, HEADER + "\no0,c0,2024-04-30,1,paid\n" + row + "\n")
    (err,) = _errors(path, amount_unit="fen")  # money rules as the file declares fen
    assert err.source == str(path)
    assert (err.line, err.column, err.value) == (3, column, value)
    assert err.rule.startswith(rule), err.rule
    assert str(err).startswith(f"{path}:3: column {column!r} {rule}")


def test_float_looking_fen_suggests_the_yuan_unit(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\no1,c1,2024-05-01,12.50,paid\n")
    (err,) = _errors(path, amount_unit="fen")
    assert "amount_unit='yuan'" in err.rule


def test_refund_above_the_amount_and_duplicate_ids_are_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ",refunded\no1,c1,2024-05-01,500,refunded,501\n"
                  "o2,c1,2024-05-02,500,paid,\no1,c2,2024-05-03,5,paid,0\n")
    errs = _errors(path)
    assert _cells(errs) == [(2, "refunded", 501), (4, "order_id", "o1")]
    assert errs[0].rule == "must be <= the order amount (500 fen)"
    assert errs[1].rule == "must be unique (order id already on line 2)"


def test_every_bad_cell_of_the_file_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01,5,paid",
        "o2,,2024-05-01,-1,paid",
        "o3,c3,not a date,5,gone",
        "o4,c4,2024-05-01,5",
        "o2,c5,2024-05-01,5,paid",
    ]) + "\n")
    errs = _errors(path)
    assert _cells(errs) == [
        (3, "customer_id", ""), (3, "amount", "-1"),
        (4, "placed_at", "not a date"), (4, "status", "gone"),
        (5, "<row>", "o4,c4,2024-05-01,5"),
        (6, "order_id", "o2"),
    ]
    assert len(errs) == 6


def test_quoted_newlines_keep_physical_line_numbers(tmp_path: Path) -> None:
    text = (HEADER + ",province\n"
            'o1,c1,2024-05-01,5,paid,"浙江省\n杭州市\n西湖区"\n'       # lines 2-4
            "o2,c2,2024-05-01,-5,paid,广东省\n"                         # line 5
            'o3,c3,2024-05-01,5,paid,"a\r\nb"\n'                        # lines 6-7
            "o4,c4,2024-05-01,5,nope,\n")                               # line 8
    path = _write(tmp_path, text)
    for chunk_rows in (1, 2, 3, 100):
        errs = _errors(path, chunk_rows=chunk_rows)
        assert _cells(errs) == [(5, "amount", "-5"), (8, "status", "nope")], chunk_rows


def test_blank_lines_multi_line_cells_and_ragged_rows_keep_line_numbers_in_any_chunking(
    tmp_path: Path,
) -> None:
    text = (HEADER + ",channel\n"
            "\n"                                                   # line 2: blank
            'o1,c1,2024-05-01,5,paid,"app\n(mini\nprogram)"\n'     # lines 3-5
            "\n\n"                                                 # lines 6-7: blank
            "o2,c2,2024-05-01,5,paid\n"                            # line 8: 5 fields
            'o3,c3,2024-05-01,x,paid,"a\nb"\n'                      # lines 9-10
            "o4,c4,2024-13-01,5,paid,tmall\n")                     # line 11
    path = _write(tmp_path, text)
    for chunk_rows in range(1, 7):
        errs = _errors(path, chunk_rows=chunk_rows)
        assert _cells(errs) == [
            (8, "<row>", "o2,c2,2024-05-01,5,paid"), (9, "amount", "x"),
            (11, "placed_at", "2024-13-01"),
        ], chunk_rows


def test_missing_required_column_names_it_and_lists_the_headers_found(tmp_path: Path) -> None:
    path = _write(tmp_path, "order_id,buyer,placed_at,status\no1,c1,2024-05-01,paid\n")
    errs = _errors(path)
    assert [(e.line, e.column) for e in errs] == [(1, "customer_id"), (1, "amount")]
    for e in errs:
        assert e.value == ("order_id", "buyer", "placed_at", "status")
        assert "missing from the header" in e.rule


def test_a_renamed_optional_column_must_exist(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\no1,c1,2024-05-01,5,paid\n")
    (err,) = _errors(path, columns={"refunded": "退款金额"})
    assert err.column == "退款金额"
    assert "was named in columns=" in err.rule


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    (err,) = _errors(_write(tmp_path, ""))
    assert err.line == 1
    assert "the file is empty" in err.rule


def test_the_listing_is_capped_per_column_and_says_how_many_more(tmp_path: Path) -> None:
    rows = [f"o{i},c{i},2024-05-01,-{i + 1},paid" for i in range(50)]
    rows[45] = "o45,c45,2024-05-01,1.5,paid"
    path = _write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    errs = _errors(path, chunk_rows=7, amount_unit="fen")
    assert len(errs) == 21
    assert [e.line for e in errs[:20]] == list(range(2, 22))
    summary = errs[20]
    assert (summary.line, summary.column, summary.value) == (22, "amount", "... and 30 more rows")
    assert "29× must be >= 0 fen" in summary.rule
    assert "1× must be an integer number of fen" in summary.rule


def test_undecodable_bytes_suggest_an_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\no1,张三,2024-05-01,5,交易成功\n", encoding="gbk")
    (err,) = _errors(path, encoding="utf-8")
    # 张 is d5 c5 in GBK; d5 starts a 2-byte UTF-8 sequence that c5 cannot continue
    assert (err.line, err.column, err.value) == (2, "customer_id", "d5")
    assert "invalid continuation byte" in err.rule
    assert "gbk" in err.rule
    log = read_orders_csv(path, encoding="gbk")
    assert log.customer_ids.tolist() == ["张三"]
    assert log.statuses[int(log.status_codes[0])] is OrderStatus.COMPLETED


def test_bad_arguments_are_refused_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n")
    with pytest.raises(InvalidValueError, match="chunk_rows"):
        read_orders_csv(path, chunk_rows=0)
    with pytest.raises(InvalidValueError, match="columns"):
        read_orders_csv(path, columns={"amount_fen": "amount"})
    with pytest.raises(InvalidValueError, match="amount_unit"):
        CsvColumns(amount_unit="jiao")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="currency"):
        read_orders_csv(path, currency="rmb")


# -- chunks and progress -----------------------------------------------------------------
def test_a_multi_chunk_read_equals_a_single_chunk_read() -> None:
    path = DATA / "orders_small.csv"
    assert_same_log(read_orders_csv(path, chunk_rows=3), read_orders_csv(path, chunk_rows=10_000))


def test_progress_is_called_with_growing_counts(tmp_path: Path) -> None:
    path = DATA / "orders_small.csv"
    updates: list[ProgressUpdate] = []
    read_orders_csv(path, chunk_rows=40, engine="python", progress=updates.append)
    assert {(u.unit, u.step) for u in updates} == {("bytes", "")}
    calls = [(u.rows, u.done, u.total) for u in updates]
    size = path.stat().st_size
    data_rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
    assert len(calls) >= data_rows // 40
    assert all(t == size for _, _, t in calls)
    assert [r for r, _, _ in calls] == sorted(r for r, _, _ in calls)
    assert [b for _, b, _ in calls] == sorted(b for _, b, _ in calls)
    assert calls[-1] == (data_rows, size, size)
    assert calls[0][0] == 40


def test_progress_is_called_even_for_a_header_only_file(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n")
    updates: list[ProgressUpdate] = []
    read_orders_csv(path, progress=updates.append)
    size = path.stat().st_size
    assert updates == [ProgressUpdate(done=size, total=size, unit="bytes", rows=0)]


def test_a_three_argument_progress_callback_still_works_with_a_deprecation_warning(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, HEADER + "\n")
    calls: list[tuple[int, int, int]] = []
    with pytest.warns(DeprecationWarning, match=r"three arguments is deprecated") as caught:
        read_orders_csv(path, progress=lambda r, b, t: calls.append((r, b, t)))
    size = path.stat().st_size
    assert calls == [(0, size, size)]
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_a_progress_that_is_not_callable_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match="progress must be callable"):
        read_orders_csv(DATA / "orders_small.csv", progress=3)  # type: ignore[arg-type]


# -- order lines -------------------------------------------------------------------------
LINES_HEADER = "order_id,customer_id,placed_at,amount,sku,quantity,unit_price,category"


def test_rows_sharing_an_order_id_become_the_lines_of_one_order(tmp_path: Path) -> None:
    path = _write(tmp_path, LINES_HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01 10:00,1250,TEA,1,250,tea",
        "o2,c2,2024-05-02,300,NUT,3,,snacks",     # one line: unit price = amount / quantity
        "o1,c1,2024-05-01 10:00,1250,CUP,2,500,",
        "o3,c2,2024-05-03,99,,,,",                 # no sku: an order without lines
    ]) + "\n")
    log = read_orders_csv(path)
    got = {o.order_id: o for o in log}
    assert set(got) == {"o1", "o2", "o3"}
    assert got["o1"].items == (
        OrderItem("TEA", Money(250), 1, "tea"), OrderItem("CUP", Money(500), 2, None))
    assert got["o2"].items == (OrderItem("NUT", Money(100), 3, "snacks"),)
    assert got["o3"].items == ()
    assert got["o1"].amount == Money(1250)


def test_order_level_cells_must_agree_across_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, LINES_HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01 10:00,1250,TEA,1,250,tea",
        "o1,c9,2024-05-01 10:00,1300,CUP,2,500,",
    ]) + "\n")
    errs = _errors(path)
    assert _cells(errs) == [(3, "customer_id", "c9"), (3, "amount", 1300)]
    assert errs[0].rule == "must be the same on every line of order 'o1'; line 2 has 'c1'"


def test_unit_price_is_required_for_several_lines_and_must_divide_for_one(tmp_path: Path) -> None:
    path = _write(tmp_path, LINES_HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01,1250,TEA,1,,tea",
        "o1,c1,2024-05-01,1250,CUP,2,500,",
        "o2,c1,2024-05-02,100,NUT,3,,",
        "o3,c1,2024-05-02,100,NUT,0,,",
    ]) + "\n")
    errs = _errors(path)
    assert _cells(errs) == [(2, "unit_price", ""), (4, "unit_price", ""), (5, "quantity", "0")]
    assert errs[0].rule == "is required when an order has several lines (order 'o1')"
    assert "not a whole number of fen per unit for quantity 3" in errs[1].rule


def test_item_files_need_an_order_id_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,placed_at,amount,sku\nc1,2024-05-01,5,A\n")
    (err,) = _errors(path)
    assert err.column == "order_id"
    assert "sku" in err.rule


# -- Taobao export ----------------------------------------------------------------------
def test_taobao_export_preset_reads_chinese_headers_and_yuan() -> None:
    path = DATA / "orders_taobao.csv"
    log = read_orders_csv(path, columns=CsvColumns.taobao())
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(log) == len(rows) == 20
    want = {r["订单编号"]: r for r in rows}
    for o in log:
        r = want[o.order_id]
        assert o.customer_id == r["买家会员名"]
        assert o.amount == Money.from_decimal(r["买家实际支付金额"])
        assert o.refunded_amount == Money.from_decimal(r["退款金额"])
        assert o.province == r["收货地址"].split()[0]
        placed = dt.datetime.strptime(r["订单创建时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SH)
        assert o.placed_at == placed
        assert (o.paid_at is None) == (r["订单付款时间"] == "")
        expected_status = {
            "交易成功": OrderStatus.COMPLETED, "交易关闭": OrderStatus.CLOSED,
            "等待买家付款": OrderStatus.UNPAID, "卖家已发货，等待买家确认": OrderStatus.SHIPPED,
            "买家已付款，等待卖家发货": OrderStatus.PAID,
        }[r["订单状态"]]
        assert o.status is expected_status


def test_ids_lose_spreadsheet_guards(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + '\n"=""3800012""",\'c1,2024-05-01,5,paid\n')
    log = read_orders_csv(path)
    assert log.order_ids.tolist() == ["3800012"]  # type: ignore[union-attr]
    assert log.customer_ids.tolist() == ["c1"]


# -- property: write valid orders, read them back ---------------------------------------
def _to_csv(path: Path, rows: list[Order]) -> None:
    header = ["order_id", "customer_id", "placed_at", "amount", "status", "paid_at",
              "refunded", "province", "channel", "sku", "category", "quantity", "unit_price"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for o in rows:
            head = [o.order_id, o.customer_id, o.placed_at.isoformat(), o.amount.fen,
                    o.status.value, "" if o.paid_at is None else o.paid_at.isoformat(),
                    "" if o.refunded is None else o.refunded.fen, o.province or "",
                    o.channel or ""]
            lines = [[it.sku, it.category or "", it.quantity, it.unit_price.fen]
                     for it in o.items] or [["", "", "", ""]]
            for line in lines:
                w.writerow(head + line)


@given(rows=st.lists(orders(), max_size=25, unique_by=lambda o: o.order_id),
       chunk_rows=st.integers(min_value=1, max_value=8))
def test_valid_orders_written_to_csv_read_back_to_the_same_log(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Order], chunk_rows: int
) -> None:
    path = tmp_path_factory.mktemp("prop") / "orders.csv"
    _to_csv(path, rows)
    assert_same_log(read_orders_csv(path, chunk_rows=chunk_rows), OrderLog.from_orders(rows))


# -- the vectorised timestamp path agrees with the exact per-cell parser ------------------
@given(st.lists(
    st.tuples(
        st.integers(1890, 2210), st.integers(0, 13), st.integers(0, 32),
        st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
        st.text("0123456789", min_size=0, max_size=7),
        st.sampled_from(["-", "/"]), st.sampled_from([" ", "T"]), st.integers(0, 4),
    ),
    min_size=1, max_size=40,
))
def test_fast_timestamp_path_agrees_with_the_exact_parser(
    parts: list[tuple[int, int, int, int, int, int, str, str, str, int]],
) -> None:
    from ecrm._load._cells import _fast_wall_us, _slow_us
    from ecrm._load._cells import as_text as _as_text
    from ecrm._time import NAT_US

    texts = []
    for y, mo, d, h, mi, s, frac, sep, tsep, shape in parts:
        date = f"{y:04d}{sep}{mo:02d}{sep}{d:02d}"
        texts.append([date, f"{date}{tsep}{h:02d}:{mi:02d}", f"{date}{tsep}{h:02d}:{mi:02d}:{s:02d}",
                      f"{date}{tsep}{h:02d}:{mi:02d}:{s:02d}.{frac}",
                      f"{date}{tsep}{h:02d}:{mi:02d}:{s:02d}+08:00"][shape])
    wall = np.full(len(texts), NAT_US, dtype=np.int64)
    done = _fast_wall_us(_as_text(texts), wall)
    lo = (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days * 86_400_000_000
    hi = (dt.date(2200, 1, 1) - dt.date(1970, 1, 1)).days * 86_400_000_000
    for text, fast_done, fast_us in zip(texts, done.tolist(), wall.tolist(), strict=True):
        exact = _slow_us(text)
        if fast_done:  # whatever the fast path takes, it reads exactly like the exact parser
            assert exact == (fast_us, False), text
        elif exact is not None and not exact[1]:
            # zero-padded naive text that the fast path left alone must be out of range
            assert not lo <= exact[0] < hi, text


def test_from_csv_with_the_issue_s_bad_rows_reports_each_and_returns_no_log(
    tmp_path: Path,
) -> None:
    # The four kinds the issue names: bad date, negative / float-looking money where integer
    # fen is declared, unknown status, empty customer. One good row proves the rest is read.
    path = _write(tmp_path, HEADER + "\n" + "\n".join([
        "o1,c1,2024-05-01 10:00:00,100,paid",
        "o2,c2,2024-05-32 10:00:00,100,paid",
        "o3,c3,2024-05-02 10:00:00,-100,paid",
        "o4,c4,2024-05-02 10:00:00,12.50,paid",
        "o5,c5,2024-05-02 10:00:00,100,teleported",
        "o6,,2024-05-02 10:00:00,100,paid",
    ]) + "\n")
    log = None
    with pytest.raises(DataFormatErrorGroup) as info:
        log = OrderLog.from_csv(path, tz="Asia/Shanghai", amount_unit="fen")
    assert log is None
    errs = list(info.value.exceptions)
    assert [(e.source, e.line, e.column, e.value) for e in errs] == [  # type: ignore[attr-defined]
        (str(path), 3, "placed_at", "2024-05-32 10:00:00"),
        (str(path), 4, "amount", "-100"),
        (str(path), 5, "amount", "12.50"),
        (str(path), 6, "status", "teleported"),
        (str(path), 7, "customer_id", ""),
    ]
    rules = [e.rule for e in errs]  # type: ignore[attr-defined]
    assert rules[0].startswith("must be a date-time like")
    assert rules[1] == "must be >= 0 fen"
    assert rules[2].startswith("must be an integer number of fen")
    assert rules[3].startswith("must be one of unpaid, paid")
    assert rules[4] == "must not be empty"
    text = str(info.value)
    for e in errs:  # the message a user sees names every one of them
        assert f"{path}:{e.line}: column {e.column!r}" in text  # type: ignore[attr-defined]
