"""One large CSV file read in batches (not only file by file) equals reading it whole:
same scores, same tiers, errors with the file's own physical lines."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scale_helpers import assert_same_rfm, synthetic_orders

from ecrm import CsvColumns, EcrmError, OrderLog
from ecrm.rfm import score
from ecrm.scale import score_summary, summarize_csv, tiers_from_summary
from ecrm.tiers import TAOBAO_STORE_VIP

pytest.importorskip("pandas")

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)


def _csv(frame, path: Path) -> Path:  # type: ignore[no-untyped-def]
    frame.assign(placed_at=frame["placed_at"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")).to_csv(
        path, index=False)
    return path


@pytest.mark.parametrize("engine", ["python", "arrow"])
@pytest.mark.parametrize("batch_rows", [1, 97, 1_000, 10_000])
def test_one_file_in_batches_equals_the_whole_file(
    tmp_path: Path, engine: str, batch_rows: int
) -> None:
    if engine == "arrow":
        pytest.importorskip("pyarrow")
    frame = synthetic_orders(2_500 if batch_rows > 1 else 300, 300, seed=batch_rows,
                             str_ids=True)
    path = _csv(frame, tmp_path / "orders.csv")
    whole = OrderLog.from_csv(path, tz=SH, amount_unit="fen", engine=engine)
    summary = summarize_csv(path, as_of=AS_OF, tz=SH, amount_unit="fen", engine=engine,
                            batch_rows=batch_rows)
    assert_same_rfm(score_summary(summary, warn_undersized=False),
                    score(whole, as_of=AS_OF, warn_undersized=False))
    got = tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=True)
    want = TAOBAO_STORE_VIP.evaluate_log(whole, as_of=AS_OF, opted_in=True)
    assert np.array_equal(got.customer_ids, want.customer_ids)
    assert np.array_equal(got.spend_fen, want.spend_fen)
    assert np.array_equal(got.level, want.level)


def test_gzip_gbk_taobao_export_in_batches(tmp_path: Path) -> None:
    """A Taobao export (GBK, yuan with decimals, Chinese headers and statuses) in 2-row
    batches gives the whole file's scores."""
    rows = [
        ("1001", "张三", "2025-06-01 10:00:00", "128.50", "交易成功"),
        ("1002", "李四", "2025-06-02 11:00:00", "99.00", "交易成功"),
        ("1003", "张三", "2025-06-03 12:00:00", "1,200.00", "卖家已发货，等待买家确认"),
        ("1004", "王五", "2025-06-04 13:00:00", "10.00", "交易关闭"),
        ("1005", "李四", "2025-06-05 14:00:00", "300.10", "交易成功"),
    ]
    text = "订单编号,买家会员名,订单创建时间,买家实际支付金额,订单状态\n" + "".join(
        ",".join(f'"{c}"' if "," in c else c for c in r) + "\n" for r in rows)
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(text.encode("gb18030")))
    whole = OrderLog.from_csv(path, tz=SH, columns=CsvColumns.taobao())
    got = score_summary(summarize_csv(path, as_of=AS_OF, tz=SH, columns=CsvColumns.taobao(),
                                      batch_rows=2), warn_undersized=False)
    want = score(whole, as_of=AS_OF, warn_undersized=False)
    assert_same_rfm(got, want)
    # 张三: 128.50 + 1,200.00; 李四: 99.00 + 300.10; 王五's order closed (unscored).
    assert dict(zip(got.customer_ids.tolist(), got.monetary_fen.tolist(), strict=True)) == {
        "张三": 132_850, "李四": 39_910}
    assert got.unscored_customer_ids.tolist() == ["王五"]


def test_bad_cells_are_reported_with_the_files_physical_lines(tmp_path: Path) -> None:
    """Every bad cell of the file at once, on its physical line (a quoted newline in line
    3 makes the rows after it one line further down), whatever the batch."""
    text = (
        "order_id,customer_id,placed_at,amount,note\n"
        "o1,a,2025-06-01 10:00,100,x\n"
        'o2,b,2025-06-02 10:00,200,"two\nlines"\n'
        "o3,c,not a date,300,x\n"
        "o4,d,2025-06-04 10:00,-5,x\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EcrmError) as info:
        summarize_csv(path, as_of=AS_OF, tz=SH, amount_unit="fen", batch_rows=1)
    shown = [str(e) for e in info.value.exceptions]
    assert any("bad.csv:5: column 'placed_at'" in m and "not a date" in m for m in shown), shown
    assert any("bad.csv:6: column 'amount'" in m and "-5" in m for m in shown), shown


def test_batches_that_decide_different_units_are_refused(tmp_path: Path) -> None:
    """amount_unit auto: integers only in the first batch (fen) and a decimal later (the
    whole file would be yuan) cannot be summarised batch by batch exactly."""
    lines = [f"o{i},c{i},2025-06-0{1 + i % 5} 10:00,{100 + i}" for i in range(6)]
    lines.append("o9,c9,2025-06-06 10:00,12.50")
    path = tmp_path / "mixed.csv"
    path.write_text("order_id,customer_id,placed_at,amount\n" + "\n".join(lines) + "\n",
                    encoding="utf-8")
    with pytest.raises(EcrmError, match="one amount unit"):
        summarize_csv(path, as_of=AS_OF, tz=SH, batch_rows=3, engine="python")
    # One batch (or the unit given) reads it as the whole file does.
    whole = OrderLog.from_csv(path, tz=SH)
    got = summarize_csv(path, as_of=AS_OF, tz=SH, batch_rows=100)
    assert_same_rfm(score_summary(got, warn_undersized=False),
                    score(whole, as_of=AS_OF, warn_undersized=False))
