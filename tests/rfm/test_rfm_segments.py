"""The eight RFM segments against hand computations, tie handling and bad references."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from rfm_helpers import at, log_of, order

from ecrm import InvalidTypeError, InvalidValueError, Money, OrderLog, UnknownCustomerError
from ecrm.rfm import RfmResult, Segment, SegmentRow, classic_segments, score
from ecrm.testing import order_logs

AS_OF = at(2024, 6, 1)
S = Segment


@pytest.fixture
def result() -> RfmResult:
    rows = [
        # a: R5 F5 M5 (6 × ¥400, last May 20)
        *(order("a", at(2024, 5, 20) - dt.timedelta(days=i), fen=40_000) for i in range(6)),
        # b: R1 F1 M1
        order("b", at(2023, 7, 1), fen=1_000),
        # c: R5 F1 M5
        order("c", at(2024, 5, 20), fen=250_000),
        # d: R1 F2 M5
        order("d", at(2023, 7, 1), fen=150_000),
        order("d", at(2023, 6, 30), fen=150_000),
    ]
    res = score(log_of(rows), as_of=AS_OF, warn_undersized=False)
    # The hand-worked scores this file relies on.
    assert res.r.tolist() == [5, 1, 5, 1]
    assert res.f.tolist() == [5, 1, 1, 2]
    assert res.m.tolist() == [5, 1, 5, 5]
    return res


def test_segment_names() -> None:
    assert [(s.zh, s.en) for s in Segment] == [
        ("重要价值客户", "important value"), ("重要发展客户", "important development"),
        ("重要保持客户", "important retention"), ("重要挽留客户", "important win-back"),
        ("一般价值客户", "general value"), ("一般发展客户", "general development"),
        ("一般保持客户", "general retention"), ("一般挽留客户", "general win-back"),
    ]


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (True, True, True, S.IMPORTANT_VALUE), (True, False, True, S.IMPORTANT_DEVELOPMENT),
        (False, True, True, S.IMPORTANT_RETENTION), (False, False, True, S.IMPORTANT_WIN_BACK),
        (True, True, False, S.GENERAL_VALUE), (True, False, False, S.GENERAL_DEVELOPMENT),
        (False, True, False, S.GENERAL_RETENTION), (False, False, False, S.GENERAL_WIN_BACK),
    ],
)
def test_standard_mapping(r: bool, f: bool, m: bool, segment: Segment) -> None:
    assert Segment.of(r_high=r, f_high=f, m_high=m) is segment
    assert (segment.r_high, segment.f_high, segment.m_high) == (r, f, m)
    assert Segment.from_code(segment.code) is segment


def test_mean_reference_worked_by_hand(result: RfmResult) -> None:
    # means: R (5+1+5+1)/4 = 3, F (5+1+1+2)/4 = 2.25, M (5+1+5+5)/4 = 4
    seg = classic_segments(result)
    assert seg.reference == (3.0, 2.25, 4.0)
    assert seg.segments() == [S.IMPORTANT_VALUE, S.GENERAL_WIN_BACK,
                              S.IMPORTANT_DEVELOPMENT, S.IMPORTANT_WIN_BACK]
    assert seg.segment_of("d") is S.IMPORTANT_WIN_BACK
    counts = seg.counts()
    assert list(counts) == list(Segment)
    assert counts == {S.IMPORTANT_VALUE: 1, S.IMPORTANT_DEVELOPMENT: 1,
                      S.IMPORTANT_RETENTION: 0, S.IMPORTANT_WIN_BACK: 1, S.GENERAL_VALUE: 0,
                      S.GENERAL_DEVELOPMENT: 0, S.GENERAL_RETENTION: 0, S.GENERAL_WIN_BACK: 1}


def test_score_equal_to_reference_is_low(result: RfmResult) -> None:
    seg = classic_segments(result, reference=(5, 1, 1))
    # a: R 5 = 5 is low; F 5 > 1 and M 5 > 1 high. d: F 2 > 1 high.
    assert seg.segments() == [S.IMPORTANT_RETENTION, S.GENERAL_WIN_BACK,
                              S.IMPORTANT_WIN_BACK, S.IMPORTANT_RETENTION]


def test_median_reference(result: RfmResult) -> None:
    seg = classic_segments(result, reference="median")
    assert seg.reference == (3.0, 1.5, 5.0)
    assert seg.segments() == [S.GENERAL_VALUE, S.GENERAL_WIN_BACK,
                              S.GENERAL_DEVELOPMENT, S.GENERAL_RETENTION]


def test_table_worked_by_hand(result: RfmResult) -> None:
    table = classic_segments(result).table()
    assert [row.segment for row in table] == list(Segment)
    assert table[0] == SegmentRow(S.IMPORTANT_VALUE, 1, 0.25, 5.0, 5.0, 5.0, Money(240_000))
    assert table[3] == SegmentRow(S.IMPORTANT_WIN_BACK, 1, 0.25, 1.0, 2.0, 5.0, Money(300_000))
    assert table[2] == SegmentRow(S.IMPORTANT_RETENTION, 0, 0.0, None, None, None, Money(0))
    text = classic_segments(result).format_table()
    assert len(text.splitlines()) == 9
    assert "重要价值客户" in text
    assert "¥2,400.00" in text


def test_empty_result_has_empty_segments() -> None:
    res = score(OrderLog.from_orders([]), as_of=AS_OF, warn_undersized=False)
    seg = classic_segments(res)
    assert all(math.isnan(x) for x in seg.reference)
    assert sum(seg.counts().values()) == 0
    assert all(row.count == 0 and row.share == 0.0 for row in seg.table())


def test_unknown_customer(result: RfmResult) -> None:
    with pytest.raises(UnknownCustomerError):
        classic_segments(result).segment_of("nobody")


@pytest.mark.parametrize(
    ("reference", "error"),
    [("max", InvalidValueError), ((1, 2), InvalidTypeError), (("a", 1, 1), InvalidTypeError),
     ((1, math.nan, 1), InvalidValueError), ((True, 1, 1), InvalidTypeError),
     (3, InvalidTypeError)],
)
def test_bad_reference(result: RfmResult, reference: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        classic_segments(result, reference=reference)  # type: ignore[arg-type]


def test_segments_needs_a_result() -> None:
    with pytest.raises(InvalidTypeError, match="RfmResult"):
        classic_segments("scores")  # type: ignore[arg-type]


@given(order_logs(max_size=15, max_customers=6))
def test_segments_agree_with_a_plain_recomputation(log: OrderLog) -> None:
    res = score(log, as_of=at(2025, 7, 1), warn_undersized=False)
    seg = classic_segments(res)
    rows = list(res.rows())
    if not rows:
        return
    mean = [sum(getattr(r, k) for r in rows) / len(rows) for k in "rfm"]
    # A constant column is compared with the middle of the 1..5 scale (DESIGN.md 3.1).
    for i, k in enumerate("rfm"):
        if len({getattr(r, k) for r in rows}) == 1:
            mean[i] = 3.0
    for row, got in zip(rows, seg.segments(), strict=True):
        want = Segment.of(r_high=row.r > mean[0], f_high=row.f > mean[1], m_high=row.m > mean[2])
        assert got is want
    assert sum(seg.counts().values()) == len(rows)
    assert sum(r.monetary.fen for r in seg.table()) == sum(r.monetary.fen for r in rows)
    # each segment's row: its count, mean scores and money, recomputed from its customers
    for table_row in seg.table():
        mine = [r for r, s in zip(rows, seg.segments(), strict=True) if s is table_row.segment]
        assert table_row.count == len(mine)
        assert table_row.monetary.fen == sum(r.monetary.fen for r in mine)
        for k in "rfm":
            want_mean = sum(getattr(r, k) for r in mine) / len(mine) if mine else None
            assert getattr(table_row, f"mean_{k}") == want_mean


def test_a_constant_score_is_not_split() -> None:
    # Everyone bought within the last month (R = 5 for all): the mean R is 5.00, and the
    # strict "> mean" rule alone would call every recent buyer low-R (挽留). Hand-worked:
    # a: 6 orders of ¥400 → F5 M5; b: one ¥100 order → F1 M1; both R5.
    rows = [order("a", at(2024, 5, 20) - dt.timedelta(days=i), fen=40_000) for i in range(6)]
    rows.append(order("b", at(2024, 5, 25), fen=10_000))
    res = score(log_of(rows), as_of=AS_OF, warn_undersized=False)
    assert res.r.tolist() == [5, 5]
    assert (res.f.tolist(), res.m.tolist()) == ([5, 1], [5, 1])
    for reference in ("mean", "median"):
        seg = classic_segments(res, reference=reference)  # type: ignore[arg-type]
        assert seg.reference[0] == 3.0  # the middle of the 1..5 scale, not 5
        assert seg.segment_of("a") is S.IMPORTANT_VALUE  # R high, F high, M high
        assert seg.segment_of("b") is S.GENERAL_DEVELOPMENT  # R high, F low, M low
    # All R = 1 (nobody bought in the last 7 months) is low-R for everyone.
    old = score(log_of([order("c", at(2023, 7, 1)), order("d", at(2023, 7, 2))]), as_of=AS_OF,
                warn_undersized=False)
    assert old.r.tolist() == [1, 1]
    assert all(not s.r_high for s in classic_segments(old).segments())
    # An explicit reference is the caller's choice and is kept.
    assert classic_segments(res, reference=(5, 1, 1)).segment_of("a") is S.IMPORTANT_RETENTION


def test_old_name_segments_is_a_deprecated_alias_that_no_longer_shadows_the_package() -> None:
    import ecrm.rfm

    assert "segments" not in ecrm.rfm.__all__
    with pytest.warns(DeprecationWarning, match=r"ecrm\.rfm\.segments is deprecated.*classic_segments"):
        old = ecrm.rfm.segments  # type: ignore[attr-defined]
    assert old is classic_segments
