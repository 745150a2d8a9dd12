"""The formats shops export, read by both engines: encodings, compression, stdin, Parquet,
money units and dates. Expectations are worked out by hand from the file text."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import sys
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from loading_helpers import assert_same_log

from ecrm import CsvColumns, CustomerTable, EventLog, OrderLog, read_orders_csv
from ecrm._load._cells import parse_instant_text

ENGINES = ("python", "arrow")
SH = ZoneInfo("Asia/Shanghai")


def _us(*args: int, tz: dt.tzinfo = SH) -> int:
    delta = dt.datetime(*args, tzinfo=tz) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # type: ignore[misc]
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# A Taobao seller-centre export as the seller centre writes it: GBK, yuan with ￥ and
# thousands separators, yyyy/mm/dd times.
TAOBAO = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,退款金额\r\n"
    "3801,tb_小雨,\"￥1,256.50\",交易成功,2024/06/14 20:28:08,0\r\n"
    "3802,tb_小雨,99,交易关闭,2024/06/15 09:00,99\r\n"
    "3803,老王,0.10,买家已付款，等待卖家发货,2024-06-16T10:00:00+08:00,0.00\r\n"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_gbk_taobao_export_in_yuan_is_detected_and_read_exactly(
    tmp_path: Path, engine: str
) -> None:
    path = tmp_path / "taobao.csv"
    path.write_bytes(TAOBAO.encode("gbk"))
    log = read_orders_csv(path, columns=CsvColumns.taobao(), engine=engine)  # type: ignore[arg-type]
    # rows sorted by customer id (code point order: t U+0074 < 老 U+8001), then time
    assert log.order_ids is not None
    assert log.order_ids.tolist() == ["3801", "3802", "3803"]
    assert log.amount_fen.tolist() == [125_650, 9_900, 10]
    assert log.refunded_fen.tolist() == [0, 9_900, 0]
    assert log.placed_at_us.tolist() == [
        _us(2024, 6, 14, 20, 28, 8), _us(2024, 6, 15, 9), _us(2024, 6, 16, 10)
    ]
    info = log.load_info
    assert info is not None
    assert (info.encoding, info.encoding_detected, info.engine) == ("gb18030", True, engine)
    assert info.amount_units == {"买家实际支付金额": "yuan", "退款金额": "yuan"}


@pytest.mark.parametrize("engine", ENGINES)
def test_utf8_with_bom_and_crlf_lines(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfcustomer_id,placed_at,amount\r\nc1,2024-05-01,1250\r\n")
    log = read_orders_csv(path, engine=engine)  # type: ignore[arg-type]
    assert log.customer_ids.tolist() == ["c1"]
    assert log.amount_fen.tolist() == [1250]
    assert log.load_info is not None
    assert log.load_info.encoding == "utf-8-sig"


TEXT = "customer_id,placed_at,amount\nc2,2024-05-02,7\nc1,2024-05-01,5\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_gzip_and_zip_files_are_read_compressed(tmp_path: Path, engine: str) -> None:
    gz = tmp_path / "orders.csv.gz"
    gz.write_bytes(gzip.compress(TEXT.encode()))
    archive = tmp_path / "orders.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("export/orders.csv", TEXT)
    for path, kind in ((gz, "gzip"), (archive, "zip")):
        log = read_orders_csv(path, engine=engine)  # type: ignore[arg-type]
        assert log.customer_ids.tolist() == ["c1", "c2"]
        assert log.amount_fen.tolist() == [5, 7]
        assert log.load_info is not None
        assert log.load_info.compression == kind


def test_a_zip_with_several_files_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.csv", TEXT)
        z.writestr("b.csv", TEXT)
    with pytest.raises(ValueError, match="exactly one file"):
        read_orders_csv(archive)


def test_stdin_is_read_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(gzip.compress(TEXT.encode("gbk"))), encoding="latin-1")
    monkeypatch.setattr(sys, "stdin", fake)
    log = read_orders_csv("-")
    assert log.amount_fen.tolist() == [5, 7]
    assert log.load_info is not None
    assert (log.load_info.source, log.load_info.compression) == ("-", "gzip")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cdnow_style_file_of_yyyymmdd_dates_and_dollars(tmp_path: Path, engine: str) -> None:
    # the layout of the CDNOW master file: id, date yyyymmdd, CDs bought, dollars
    path = tmp_path / "cdnow.csv"
    path.write_text(
        "customer_id,placed_at,quantity_bought,amount\n"
        "00001,19970101,1,11.77\n"
        "00002,19970112,1,12.00\n"
        "00002,19970112,5,77.00\n"
        "00003,19970102,2,20.76\n",
        encoding="ascii",
    )
    log = read_orders_csv(path, tz="America/New_York", currency="USD", engine=engine)  # type: ignore[arg-type]
    ny = ZoneInfo("America/New_York")
    assert log.customer_ids.tolist() == ["00001", "00002", "00003"]  # ids stay text
    assert log.amount_fen.tolist() == [1177, 1200, 7700, 2076]
    assert log.placed_at_us.tolist() == [
        _us(1997, 1, 1, tz=ny), _us(1997, 1, 12, tz=ny), _us(1997, 1, 12, tz=ny),
        _us(1997, 1, 2, tz=ny),
    ]
    assert log.load_info is not None
    assert log.load_info.amount_units == {"amount": "yuan"}


@pytest.mark.parametrize(
    ("header", "cells", "unit", "fen"),
    [
        ("amount", ["1250", "5"], "fen", [1250, 5]),           # integers, no unit: fen
        ("amount", ["12.5", "5"], "yuan", [1250, 500]),        # one decimal makes it yuan
        ("amount", ["\"1,200\"", "5"], "yuan", [120000, 500]),  # thousands separator
        ("amount", ["¥12", "5"], "yuan", [1200, 500]),         # currency sign
        ("金额(元)", ["12", "5"], "yuan", [1200, 500]),         # the header names yuan
        ("amount_yuan", ["12", "5"], "yuan", [1200, 500]),
        ("amount_fen", ["12", "5"], "fen", [12, 5]),           # the header names fen
        ("实付金额（分）", ["12", "5"], "fen", [12, 5]),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_amount_unit_auto_decides_per_column_by_header_then_values(
    tmp_path: Path, engine: str, header: str, cells: list[str], unit: str, fen: list[int]
) -> None:
    path = tmp_path / "o.csv"
    path.write_text(f"customer_id,placed_at,{header}\n"
                    + "".join(f"c{i},2024-05-0{i + 1},{c}\n" for i, c in enumerate(cells)),
                    encoding="utf-8")
    log = read_orders_csv(path, columns={"amount": header}, engine=engine)  # type: ignore[arg-type]
    assert log.amount_fen.tolist() == fen
    assert log.load_info is not None
    assert log.load_info.amount_units == {header: unit}


def test_an_integer_refund_beside_a_yuan_amount_is_yuan_too(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("customer_id,placed_at,amount,refunded\nc1,2024-05-01,12.50,5\n",
                    encoding="utf-8")
    log = read_orders_csv(path)
    assert (log.amount_fen.tolist(), log.refunded_fen.tolist()) == ([1250], [500])
    assert log.load_info is not None
    assert log.load_info.amount_reasons["refunded"] == "another money column is yuan"


def test_amount_unit_is_a_keyword_of_read_orders_csv(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2024-05-01,12\n", encoding="utf-8")
    assert read_orders_csv(path, amount_unit="yuan").amount_fen.tolist() == [1200]
    assert read_orders_csv(path, amount_unit="fen").amount_fen.tolist() == [12]
    assert OrderLog.from_csv(path, amount_unit="yuan").amount_fen.tolist() == [1200]


DATES = {
    "2024-06-01 08:30:00": (2024, 6, 1, 8, 30),
    "2024-06-01T08:30": (2024, 6, 1, 8, 30),
    "2024/06/01 08:30": (2024, 6, 1, 8, 30),
    "2024/6/1 8:30": (2024, 6, 1, 8, 30),
    "2024-06-01T01:30:00+01:00": (2024, 6, 1, 8, 30),
    "2024-06-01T00:30:00Z": (2024, 6, 1, 8, 30),
    "20240601": (2024, 6, 1),
    "2024/06/01": (2024, 6, 1),
    "2024-06-01": (2024, 6, 1),
    "19970101": (1997, 1, 1),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_date_form_is_read_in_files_and_by_the_as_of_parser(
    tmp_path: Path, engine: str
) -> None:
    path = tmp_path / "d.csv"
    texts = list(DATES)
    path.write_text("order_id,customer_id,placed_at,amount\n"
                    + "".join(f"o{i},c,{t},1\n" for i, t in enumerate(texts)), encoding="utf-8")
    log = read_orders_csv(path, engine=engine)  # type: ignore[arg-type]
    assert log.order_ids is not None
    got = dict(zip(log.order_ids.tolist(), log.placed_at_us.tolist(), strict=True))
    for i, text in enumerate(texts):
        expected = _us(*DATES[text])
        assert got[f"o{i}"] == expected, text
        as_of = parse_instant_text(text, "Asia/Shanghai")
        assert as_of == dt.datetime(*DATES[text], tzinfo=SH), text  # type: ignore[misc]


@pytest.mark.parametrize("engine", ENGINES)
def test_customers_and_events_files_take_the_same_formats(tmp_path: Path, engine: str) -> None:
    customers = tmp_path / "customers.csv.gz"
    customers.write_bytes(gzip.compress(
        "customer_id,name,gender\r\nc1,张三,男\r\nc2,李四,女\r\n".encode("gbk")))
    table = CustomerTable.from_csv(customers, engine=engine)  # type: ignore[arg-type]
    assert table.customer_ids.tolist() == ["c1", "c2"]
    assert table.names.tolist() == ["张三", "李四"]
    assert table.load_info is not None
    assert (table.load_info.encoding, table.load_info.compression) == ("gb18030", "gzip")
    events = tmp_path / "events.csv"
    events.write_bytes("\ufeffcustomer_id,at,kind,sku\nc1,20240601,加购,S1\nc1,2024/06/02 10:00,browse,\n"
                       .encode("utf-8"))
    log = EventLog.from_csv(events, engine=engine)  # type: ignore[arg-type]
    assert log.at_us.tolist() == [_us(2024, 6, 1), _us(2024, 6, 2, 10)]
    assert log.skus.tolist() == ["S1", ""]
    assert log.load_info is not None
    assert log.load_info.encoding == "utf-8-sig"


# -- Parquet ------------------------------------------------------------------------------------
def test_a_parquet_file_and_a_hive_partitioned_directory(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "customer_id": ["c1", "c2", "c1"],
        "placed_at": pa.array([dt.datetime(2024, 5, 1, 12), dt.datetime(2024, 5, 2),
                               dt.datetime(2024, 5, 3)], pa.timestamp("us")),
        "amount": pa.array([1250, 300, 99], pa.int64()),
    })
    single = tmp_path / "orders.parquet"
    pq.write_table(table, single)
    log = OrderLog.from_parquet(single, tz="Asia/Shanghai")
    assert log.customer_ids.tolist() == ["c1", "c2"]
    assert log.amount_fen.tolist() == [1250, 99, 300]
    assert log.placed_at_us.tolist() == [_us(2024, 5, 1, 12), _us(2024, 5, 3), _us(2024, 5, 2)]
    folder = tmp_path / "lake"
    for month, rows in (("2024-05", [0, 1]), ("2024-06", [2])):
        part = folder / f"month={month}"
        part.mkdir(parents=True)
        pq.write_table(table.take(rows), part / "part-0.parquet")
    assert_same_log(OrderLog.from_parquet(folder, tz="Asia/Shanghai"), log)


def test_events_and_customers_from_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({
        "customer_id": ["c1"], "at": pa.array([dt.datetime(2024, 6, 1)], pa.timestamp("us")),
        "kind": ["cart"],
    }), path)
    log = EventLog.from_parquet(path, tz="Asia/Shanghai")
    assert log.at_us.tolist() == [_us(2024, 6, 1)]
    people = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"customer_id": ["b", "a"], "name": ["B", "A"]}), people)
    table = CustomerTable.from_parquet(people)
    assert table.customer_ids.tolist() == ["a", "b"]
    assert table.names.tolist() == ["A", "B"]


def test_two_engines_read_a_larger_file_to_the_same_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    path = tmp_path / "many.csv"
    days = rng.integers(1, 28, n)
    fen = rng.integers(0, 100_000, n)
    path.write_text(
        "order_id,customer_id,placed_at,amount,status,province\n"
        + "".join(
            f"o{i},c{rng.integers(0, 500)},2024-05-{d:02d} 10:{i % 60:02d}:00,"
            f"{f // 100}.{f % 100:02d},paid,浙江省\n"
            for i, (d, f) in enumerate(zip(days.tolist(), fen.tolist(), strict=True))
        ),
        encoding="utf-8",
    )
    a = read_orders_csv(path, engine="python", chunk_rows=999)
    b = read_orders_csv(path, engine="arrow", chunk_rows=999)
    assert_same_log(a, b)
    assert int(a.amount_fen.sum()) == int(fen.sum())
