"""OrderLog.from_pandas / from_polars / from_arrow: the same log as from_arrays, lazily imported."""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given

from ecrm import (
    CsvColumns,
    DataFormatErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    OrderLog,
    OrderStatus,
)
from ecrm.testing import order_logs

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

from loading_helpers import assert_same_log  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")

AWARE = [
    dt.datetime(2024, 5, 1, 12, 0, tzinfo=SH),
    dt.datetime(2024, 5, 2, 0, 0, 0, 250_000, tzinfo=SH),
    dt.datetime(2024, 5, 1, 4, 0, tzinfo=dt.UTC),
    dt.datetime(2024, 3, 10, 2, 30, tzinfo=ZoneInfo("America/New_York")),
]
DATA: dict[str, list[Any]] = {
    "order_id": ["o1", "o2", "o3", "o4"],
    "customer_id": ["c2", "c1", "c2", "c3"],
    "amount": [1250, 300, 0, 99_999],
    "status": ["paid", "completed", "closed", "refunded"],
    "refunded": [0, 100, 0, 99_999],
    "province": ["浙江省", "广东省", None, "北京市"],
}


def _expected() -> OrderLog:
    return OrderLog.from_arrays(
        DATA["customer_id"], AWARE, DATA["amount"], tz="Asia/Shanghai",
        order_ids=DATA["order_id"], statuses=DATA["status"], refunded=DATA["refunded"],
        provinces=DATA["province"],
    )


def _pandas() -> Any:
    placed = pd.Series(pd.to_datetime([d.astimezone(dt.UTC) for d in AWARE], utc=True))
    return pd.DataFrame({**DATA, "placed_at": placed.dt.tz_convert("Asia/Shanghai")})


def test_pandas_frame_gives_the_same_log_as_from_arrays() -> None:
    log = OrderLog.from_pandas(_pandas())
    assert_same_log(log, _expected())
    assert str(log.tz) == "Asia/Shanghai"


def test_polars_frame_gives_the_same_log_as_from_arrays() -> None:
    assert_same_log(OrderLog.from_polars(pl.from_pandas(_pandas())), _expected())


def test_arrow_table_and_record_batch_give_the_same_log_as_from_arrays() -> None:
    table = pa.Table.from_pandas(_pandas(), preserve_index=False)
    assert_same_log(OrderLog.from_arrow(table), _expected())
    (batch,) = table.to_batches()
    assert_same_log(OrderLog.from_arrow(batch), _expected())


def test_aware_columns_in_another_zone_are_converted_exactly() -> None:
    frame = _pandas()
    frame["placed_at"] = frame["placed_at"].dt.tz_convert("America/Los_Angeles")
    assert_same_log(OrderLog.from_pandas(frame), _expected())
    assert_same_log(OrderLog.from_polars(pl.from_pandas(frame)), _expected())


def test_naive_columns_are_wall_time_in_tz_and_need_it() -> None:
    wall = [d.astimezone(SH).replace(tzinfo=None) for d in AWARE]
    frame = pd.DataFrame({**DATA, "placed_at": pd.to_datetime(wall)})
    expected = OrderLog.from_arrays(
        DATA["customer_id"], np.asarray(wall, dtype="datetime64[us]"), DATA["amount"],
        tz="Asia/Shanghai", order_ids=DATA["order_id"], statuses=DATA["status"],
        refunded=DATA["refunded"], provinces=DATA["province"],
    )
    assert_same_log(OrderLog.from_pandas(frame, tz="Asia/Shanghai"), expected)
    assert_same_log(OrderLog.from_polars(pl.from_pandas(frame), tz="Asia/Shanghai"), expected)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert_same_log(OrderLog.from_arrow(table, tz="Asia/Shanghai"), expected)
    for build, arg in ((OrderLog.from_pandas, frame), (OrderLog.from_polars, pl.from_pandas(frame)),
                       (OrderLog.from_arrow, table)):
        with pytest.raises(InvalidValueError, match="naive date-times; pass tz="):
            build(arg)


def test_float_money_is_refused_like_from_arrays() -> None:
    frame = _pandas()
    frame["amount"] = frame["amount"].astype(float)
    with pytest.raises(InvalidTypeError) as theirs:
        OrderLog.from_arrays(["c1"], AWARE[:1], np.asarray([1.0]))
    for build, arg in ((OrderLog.from_pandas, frame), (OrderLog.from_polars, pl.from_pandas(frame)),
                       (OrderLog.from_arrow, pa.Table.from_pandas(frame))):
        with pytest.raises(InvalidTypeError) as ours:
            build(arg)
        assert str(ours.value) == str(theirs.value)


def test_nullable_integers_work_and_a_missing_refund_is_no_refund() -> None:
    frame = _pandas()
    frame["amount"] = pd.array(DATA["amount"], dtype="Int64")
    frame["refunded"] = pd.array([None, 100, None, 99_999], dtype="Int64")
    assert_same_log(OrderLog.from_pandas(frame), _expected())
    assert_same_log(OrderLog.from_polars(pl.from_pandas(frame)), _expected())
    assert_same_log(OrderLog.from_arrow(pa.Table.from_pandas(frame)), _expected())


def test_every_bad_cell_is_reported_with_the_frame_column_names() -> None:
    frame = _pandas().rename(columns={"customer_id": "buyer", "amount": "paid_fen"})
    frame["paid_fen"] = pd.array([1250, None, -3, 5], dtype="Int64")
    frame.loc[1, "buyer"] = ""
    frame.loc[3, "status"] = "lost"
    columns = {"customer_id": "buyer", "amount": "paid_fen"}
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_pandas(frame, columns=columns)
    got = sorted((e.line, e.column, e.value) for e in info.value.exceptions)  # type: ignore[attr-defined]
    assert got == [(1, "buyer", ""), (1, "paid_fen", None), (2, "paid_fen", -3),
                   (3, "refunded", 99_999), (3, "status", "lost")]
    assert all(e.source == "<pandas>" for e in info.value.exceptions)  # type: ignore[attr-defined]


def test_text_columns_parse_like_csv_cells() -> None:
    frame = pd.DataFrame({
        "customer_id": ["c1", "c2"],
        "placed_at": ["2024-05-01 12:00:00", "2024-05-01T04:00:00Z"],
        "amount": ["12.5", decimal.Decimal("0.10")],
    })
    log = OrderLog.from_pandas(frame, columns=CsvColumns(amount_unit="yuan"))
    assert log.amount_fen.tolist() == [1250, 10]
    noon = int(dt.datetime(2024, 5, 1, 12, tzinfo=SH).timestamp()) * 1_000_000
    assert log.placed_at_us.tolist() == [noon, noon]
    assert log.statuses[int(log.status_codes[0])] is OrderStatus.PAID
    bad = frame.assign(amount=["12.345", "1"], placed_at=["soon", "2024-05-01"])
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_pandas(bad, columns={"amount_unit": "yuan"})
    assert sorted((e.line, e.column) for e in info.value.exceptions) == [  # type: ignore[attr-defined]
        (0, "amount"), (0, "placed_at")]


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(InvalidValueError, match="need a column 'amount' for amount"):
        OrderLog.from_pandas(_pandas().drop(columns=["amount"]))


def test_a_missing_package_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(MissingDependencyError, match="pip install 'ecrm\\[polars\\]'"):
        OrderLog.from_polars(object())


def test_importing_ecrm_imports_no_data_frame_library() -> None:
    code = (
        "import sys, ecrm\n"
        "ecrm.OrderLog.from_csv\n"
        "import ecrm._io\n"
        "print(sorted(m for m in ('pandas', 'polars', 'pyarrow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@given(log=order_logs(max_size=25))
def test_any_log_survives_a_round_trip_through_each_frame_library(log: OrderLog) -> None:
    placed = pd.to_datetime(pd.Series(log.placed_at_us, dtype="int64"), unit="us", utc=True)
    frame = pd.DataFrame({
        "order_id": log.order_ids,
        "customer_id": log.customer_ids[log.customer_codes],
        "placed_at": placed.dt.tz_convert("Asia/Shanghai"),
        "amount": log.amount_fen,
        "status": [log.statuses[c].value for c in log.status_codes.tolist()],
        "refunded": log.refunded_fen,
    })
    expected = attrs.evolve(log, paid_at_us=None, provinces=None, channels=None, items=None)
    assert_same_log(OrderLog.from_pandas(frame, tz=log.tz), expected)
    assert_same_log(OrderLog.from_polars(pl.from_pandas(frame), tz=log.tz), expected)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert_same_log(OrderLog.from_arrow(table, tz=log.tz), expected)


# -- the loading layer's money units and load_info, the same for frames ----------------------
def test_frame_money_follows_amount_unit_and_says_what_it_decided() -> None:
    placed = pd.to_datetime(["2024-05-01", "2024-05-02"]).tz_localize("Asia/Shanghai")
    text = pd.DataFrame({"customer_id": ["c1", "c2"], "placed_at": placed,
                         "amount": ["12.50", "¥1,000"]})
    log = OrderLog.from_pandas(text)  # auto: decimals and ¥ make the column yuan
    assert log.amount_fen.tolist() == [1250, 100_000]
    assert log.load_info is not None
    assert (log.load_info.engine, dict(log.load_info.amount_units)) == ("frame", {"amount": "yuan"})
    ints = pd.DataFrame({"customer_id": ["c1"], "placed_at": placed[:1], "amount": [12]})
    assert OrderLog.from_pandas(ints).amount_fen.tolist() == [12]  # integers: fen
    assert OrderLog.from_pandas(ints, amount_unit="yuan").amount_fen.tolist() == [1200]
    named = ints.rename(columns={"amount": "实付(元)"})
    log = OrderLog.from_pandas(named, columns={"amount": "实付(元)"})
    assert log.amount_fen.tolist() == [1200]  # the column name names yuan
    table = pa.table({"customer_id": ["c1"], "placed_at": pa.array([dt.datetime(2024, 5, 1)]),
                      "amount": ["3.5"]})
    assert OrderLog.from_arrow(table, tz="Asia/Shanghai").amount_fen.tolist() == [350]


def test_customer_frames_take_columns_like_customer_files() -> None:
    from ecrm import CustomerTable

    frame = pd.DataFrame({"会员": ["b", "a"], "姓名": ["B", "A"],
                          "入会": pd.to_datetime([None, "2024-01-01 08:00"])})
    columns = {"customer_id": "会员", "name": "姓名", "member_since": "入会"}
    for table in (CustomerTable.from_pandas(frame, columns=columns, tz="Asia/Shanghai"),
                  CustomerTable.from_polars(pl.from_pandas(frame), columns=columns,
                                            tz="Asia/Shanghai")):
        assert table.customer_ids.tolist() == ["a", "b"]
        assert table.names.tolist() == ["A", "B"]
        assert table.member_since_us[0] == int(
            dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
