"""summaries(): purchase days, x, t_x, T and repeat spend worked out by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import InvalidValueError, OrderLog
from ecrm.predict import Summary, summaries

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, tzinfo=SH)


@pytest.fixture
def log() -> OrderLog:
    rows = [
        # a: first on Jan 10; two orders on Jan 20 (one purchase day); Feb 1; a closed order.
        ("a", at(1, 10), 1000, "PAID"),
        ("a", at(1, 20, 9), 300, "PAID"),
        ("a", at(1, 20, 23), 200, "COMPLETED"),
        ("a", at(2, 1), 700, "SHIPPED"),
        ("a", at(2, 5), 999, "CLOSED"),
        # b: one purchase, then one at as_of (the future: ignored).
        ("b", at(2, 20), 500, "PAID"),
        ("b", at(3, 1, 0), 500, "PAID"),
        # c: bought before the calibration start: left out.
        ("c", dt.datetime(2023, 12, 30, 12, tzinfo=SH), 100, "PAID"),
        ("c", at(1, 15), 100, "PAID"),
    ]
    ids, placed, fen, status = zip(*rows, strict=True)
    return OrderLog.from_arrays(list(ids), list(placed), list(fen), statuses=list(status))


def test_summaries_by_hand(log: OrderLog) -> None:
    s = summaries(log, as_of=at(3, 1, 0), calibration_start=at(1, 1, 0))
    assert list(s.customer_ids) == ["a", "b"]
    # a: purchase days Jan 10, Jan 20, Feb 1 → x = 2; t_x = 22 days; T = Jan 10 → Mar 1 = 51.
    assert list(s.x) == [2, 0]
    assert list(s.t_x_days) == [22, 0]
    assert list(s.T_days) == [51, 10]  # 2024 is a leap year: Feb 20 → Mar 1
    # Repeat spend: Jan 20 (300 + 200) + Feb 1 (700); the closed order does not count.
    assert list(s.repeat_spend_fen) == [1200, 0]
    assert s.mean_repeat_spend_fen[0] == 600.0
    assert np.isnan(s.mean_repeat_spend_fen[1])
    assert s.n_excluded == 1


def test_weeks_divide_days_by_seven(log: OrderLog) -> None:
    s = summaries(log, as_of=at(3, 1, 0), calibration_start=at(1, 1, 0), unit="weeks")
    assert s.t_x[0] == pytest.approx(22 / 7)
    assert s.T[0] == pytest.approx(51 / 7)


def test_bad_window_and_unit_raise(log: OrderLog) -> None:
    with pytest.raises(InvalidValueError, match="calibration_start"):
        summaries(log, as_of=at(1, 1), calibration_start=at(3, 1))
    with pytest.raises(InvalidValueError, match="unit"):
        summaries(log, as_of=at(3, 1), calibration_start=at(1, 1), unit="months")  # type: ignore[arg-type]


def test_from_arrays_checks_rows() -> None:
    with pytest.raises(InvalidValueError, match=r"t_x\[1\] must be <= T"):
        Summary.from_arrays([1, 2], [1, 1], [1.0, 6.0], [5.0, 5.0])
    with pytest.raises(InvalidValueError, match=r"t_x\[0\] must be 0 when x is 0"):
        Summary.from_arrays([1], [0], [1.0], [5.0])
    with pytest.raises(InvalidValueError, match="x"):
        Summary.from_arrays([1], [-1], [0.0], [5.0])
