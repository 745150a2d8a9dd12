"""RfmResult: explain, rows, row lookup, grade views and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rfm_helpers import at, log_of, order

from ecrm import Money, OrderLog, OrderStatus, UnknownCustomerError
from ecrm._time import us_to_datetime
from ecrm.rfm import Grade, RfmResult, RfmRow, score
from ecrm.rfm._score import _isoformat
from ecrm.testing import order_logs

AS_OF = at(2024, 6, 1)


@pytest.fixture
def result() -> RfmResult:
    log = log_of([
        # a: 5 orders, ¥812.40 net, last on May 20 → R5 F4 M3 = 5 + 12 + 12 = 29 (G)
        order("a", at(2024, 5, 20, 15, 30), fen=20_000),
        order("a", at(2024, 4, 2), fen=20_000),
        order("a", at(2024, 1, 2), fen=21_240, refunded=1_000),
        order("a", at(2023, 12, 2), fen=10_000),
        order("a", at(2023, 9, 2), fen=11_000),
        # b: one ¥10 order long ago → R1 F1 M1 = 8 (B)
        order("b", at(2023, 7, 1, 9), fen=1_000),
        # c: only a closed order → unscored
        order("c", at(2024, 5, 1), fen=9_000, status=OrderStatus.CLOSED),
    ])
    return score(log, as_of=AS_OF, warn_undersized=False)


def test_explain_states_each_component_rule_and_grade(result: RfmResult) -> None:
    assert result.explain("a") == "\n".join([
        "customer 'a' as of 2024-06-01 (Asia/Shanghai), scheme TAOBAO_PGSB:",
        "R = 5: last valid order 2024-05-20 15:30, 12 days before as_of, within 1 month "
        "(on or after 2024-05-01)",
        "F = 4: 5 valid orders in the 1-year window, 4 <= F <= 5",
        "M = 3: ¥812.40 net valid spend in the 1-year window, ¥500.00 <= M < ¥1,000.00",
        "total = 1×5 + 3×4 + 4×3 = 29",
        "grade G (黄金 Gold): 26 <= total <= 35",
    ])


def test_explain_of_the_lowest_bins(result: RfmResult) -> None:
    text = result.explain("b")
    assert ("R = 1: last valid order 2023-07-01 09:00, 336 days before as_of, more than "
            "7 months (before 2023-11-01), within the 1-year window") in text
    assert "F = 1: 1 valid order in the 1-year window, F = 1" in text
    assert "M = 1: ¥10.00 net valid spend in the 1-year window, M < ¥300.00" in text
    assert text.endswith("grade B (青铜 Bronze): total <= 16")


def test_explain_of_an_unscored_customer(result: RfmResult) -> None:
    assert result.explain("c") == (
        "customer 'c' as of 2024-06-01 (Asia/Shanghai), scheme TAOBAO_PGSB:\n"
        "not scored: no valid order in the 1-year window [2023-06-01, 2024-06-01)"
    )


@pytest.mark.parametrize("unknown", ["zzz", 5, None, True])
def test_unknown_customers_raise(result: RfmResult, unknown: object) -> None:
    with pytest.raises(UnknownCustomerError, match="not in this result"):
        result.explain(unknown)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        result.row(unknown)  # type: ignore[arg-type]


def test_row_of_unscored_customer_says_so(result: RfmResult) -> None:
    with pytest.raises(UnknownCustomerError, match="'c' is not scored"):
        result.row("c")
    assert result.is_scored("a")
    assert not result.is_scored("c")


def test_rows_are_typed_values(result: RfmResult) -> None:
    rows = list(result.rows())
    assert rows == [
        RfmRow(customer_id="a", last_order_at=at(2024, 5, 20, 15, 30), recency_days=12,
               frequency=5, monetary=Money(81_240), r=5, f=4, m=3, total=29, grade=Grade.G),
        RfmRow(customer_id="b", last_order_at=at(2023, 7, 1, 9), recency_days=336,
               frequency=1, monetary=Money(1_000), r=1, f=1, m=1, total=8, grade=Grade.B),
    ]
    assert result.row("b") == rows[1]
    assert len(result) == 2


def test_grade_views(result: RfmResult) -> None:
    assert result.grades() == [Grade.G, Grade.B]
    assert result.grade_counts() == {Grade.P: 0, Grade.G: 1, Grade.S: 0, Grade.B: 1}
    assert list(result.grade_counts()) == [Grade.P, Grade.G, Grade.S, Grade.B]
    assert repr(result) == (
        "RfmResult(2 scored, 1 unscored, as_of=2024-06-01T00:00:00+08:00, "
        "scheme='TAOBAO_PGSB', P=0, G=1, S=0, B=1)"
    )


EXPECTED_CSV = (
    "customer_id,last_order_at,recency_days,frequency,monetary_fen,r,f,m,total,grade\n"
    "a,2024-05-20T15:30:00+08:00,12,5,81240,5,4,3,29,G\n"
    "b,2023-07-01T09:00:00+08:00,336,1,1000,1,1,1,8,B\n"
)


def test_to_csv_to_a_path(result: RfmResult, tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    result.to_csv(path)
    assert path.read_text(encoding="utf-8") == EXPECTED_CSV
    result.to_csv(str(path))
    assert path.read_text(encoding="utf-8") == EXPECTED_CSV


def test_to_csv_to_a_file_with_unscored(result: RfmResult) -> None:
    buf = io.StringIO()
    result.to_csv(buf, include_unscored=True)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[-1] == ["c", "", "", "0", "0", "", "", "", "", ""]
    assert buf.getvalue().startswith(EXPECTED_CSV)
    out = io.StringIO()
    result.to_csv(out)
    assert out.getvalue() == EXPECTED_CSV


def test_format_grades(result: RfmResult) -> None:
    lines = result.format_grades().splitlines()
    assert len(lines) == 6
    assert lines[2].split() == ["G", "黄金", "Gold", "26", "<=", "total", "<=", "35", "1", "50.0%"]
    assert lines[3].split()[-2:] == ["0", "0.0%"]
    assert lines[5].split()[-1] == "1"  # c is unscored


@given(
    log=st.sampled_from(["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "UTC"])
    .flatmap(lambda tz: order_logs(max_size=15, tz=tz)),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_csv_timestamps_are_isoformat_in_the_store_zone(log: OrderLog, micro: int) -> None:
    res = score(log, as_of=at(2025, 7, 1, 0, 0, 0) + dt.timedelta(microseconds=micro),
                warn_undersized=False)
    shifted = _isoformat(res.last_order_us + micro, res.tz).tolist()
    assert shifted == [
        us_to_datetime(int(u) + micro, res.tz).isoformat() for u in res.last_order_us
    ]
    buf = io.StringIO()
    res.to_csv(buf)
    lines = buf.getvalue().splitlines()[1:]
    assert [line.split(",")[1] for line in lines] == [
        row.last_order_at.isoformat() for row in res.rows()
    ]
