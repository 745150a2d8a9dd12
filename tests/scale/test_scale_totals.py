"""RFM totals (the path of score_parquet and score_dask) equal rfm.score bit for bit:
directly addressed ids, ids coded chunk by chunk, and a switch between the two mid-stream."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scale_helpers import assert_same_rfm

from ecrm import (
    DEFAULT_VALID_STATUSES,
    DataFormatErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    OrderLog,
    OrderStatus,
)
from ecrm.rfm import TAOBAO_PGSB, score
from ecrm.scale import score_parquet
from ecrm.scale._totals import (
    DenseTotals,
    RowColumns,
    chunk_totals,
    fold_totals,
    merge_totals,
    merge_totals_many,
    rfm_bounds,
    score_totals,
)

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)
# 2024-01-01 00:00 in Shanghai; orders over 600 days, some after as_of
T0_US = int(dt.datetime(2024, 1, 1, tzinfo=SH).timestamp()) * 1_000_000
DAY_US = 86_400_000_000
STATUS_NAMES = ["paid", "completed", "shipped", "closed", "unpaid", "refunded"]


def _log(ids: np.ndarray, placed_us: np.ndarray, amount: np.ndarray, refunded: np.ndarray,
         status: np.ndarray) -> OrderLog:
    """The reference log, built from the same cells through the public constructor."""
    wall = (placed_us + 8 * 3_600_000_000).astype("datetime64[us]")  # Shanghai wall time
    return OrderLog.from_arrays(ids, wall, amount, tz=SH, refunded=refunded,
                                statuses=[STATUS_NAMES[s] for s in status])


@st.composite
def logs_in_chunks(draw: st.DrawFn) -> tuple:
    """Random orders (ids compact, sparse, negative or mixed in range), cut into chunks in
    time order or shuffled, and a small direct-addressing cap so every path is taken."""
    n = draw(st.integers(0, 120))
    kind = draw(st.sampled_from(["compact", "sparse", "negative", "growing"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "compact":
        ids = rng.integers(0, 30, n)
    elif kind == "sparse":
        ids = rng.choice(np.asarray([5, 7, 2**40, 2**40 + 3, -(2**50)]), n)
    elif kind == "negative":
        ids = rng.integers(-40, -10, n)
    else:  # auto-increment ids: later orders bring higher ids
        ids = np.sort(rng.integers(0, 200, n))
    placed = T0_US + np.sort(rng.integers(0, 600 * DAY_US, n))
    if draw(st.booleans()):
        placed = rng.permutation(placed)
    amount = rng.integers(0, 50_000, n)
    refunded = np.where(rng.random(n) < 0.3, rng.integers(0, amount + 1), 0)
    status = rng.integers(0, len(STATUS_NAMES), n)
    cuts = np.sort(rng.integers(0, n + 1, draw(st.integers(0, 6))))
    max_span = draw(st.sampled_from([1, 8, 64, 1 << 16]))
    # the id range from Parquet statistics, when known (exact, or wider: row groups the
    # statistics cover may hold ids no batch brings here)
    id_range = None if not n or draw(st.booleans()) else (
        int(ids.min()) - draw(st.integers(0, 5)), int(ids.max()) + draw(st.integers(0, 5)))
    return (ids.astype(np.int64), placed.astype(np.int64), amount.astype(np.int64),
            refunded.astype(np.int64), status, cuts, max_span, id_range)


def _fold(case: tuple) -> tuple:
    ids, placed, amount, refunded, status, cuts, max_span, id_range = case
    log = _log(ids, placed, amount, refunded, status)
    codes = np.asarray([OrderStatus(STATUS_NAMES[k]).code for k in status], dtype=np.int8)
    chunks = [RowColumns(ids[a:b], placed[a:b], amount[a:b], refunded[a:b], codes[a:b], SH)
              for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(ids)], strict=True)]
    start, end = rfm_bounds(AS_OF, TAOBAO_PGSB, SH)
    valid = np.zeros(8, dtype=bool)
    valid[[s.code for s in DEFAULT_VALID_STATUSES]] = True
    totals = fold_totals(chunks, valid_status=valid, start_us=start, end_us=end,
                         max_span=max_span, id_range=id_range)
    return log, totals, chunks, valid, start, end


@settings(max_examples=80, deadline=None)
@given(logs_in_chunks())
def test_totals_of_any_chunks_score_like_the_whole_log(case: tuple) -> None:
    log, totals, *_ = _fold(case)
    got = score_totals(totals, as_of=AS_OF, scheme=TAOBAO_PGSB, tz=SH, currency="CNY",
                       warn_undersized=False)
    assert_same_rfm(got, score(log, as_of=AS_OF, warn_undersized=False))
    # every customer with any order is listed once, sorted
    assert np.array_equal(totals.customer_ids, np.unique(case[0]))


@settings(max_examples=40, deadline=None)
@given(logs_in_chunks())
def test_chunk_totals_merge_in_any_order(case: tuple) -> None:
    _, totals, chunks, valid, start, end = _fold(case)
    parts = [chunk_totals(c, valid, start, end) for c in chunks]
    backwards = parts[-1]
    for part in reversed(parts[:-1]):
        backwards = merge_totals(part, backwards)
    at_once = merge_totals_many(reversed(parts))
    for name in ("customer_ids", "count", "net_fen", "last_us", "known"):
        assert np.array_equal(getattr(backwards, name), getattr(totals, name)), name
        assert np.array_equal(getattr(at_once, name), getattr(totals, name)), name


def test_hand_worked_dense_totals() -> None:
    """Two chunks of ids 10..12: customer 10 has a valid order in the window (¥5.00) and a
    fully refunded one; 11 only an order after as_of (seen, not known, unscored); 12 two
    valid orders in the window (last one wins) and one before it (known, not counted)."""
    start, end = rfm_bounds(AS_OF, TAOBAO_PGSB, SH)
    valid = np.zeros(8, dtype=bool)
    valid[[s.code for s in DEFAULT_VALID_STATUSES]] = True
    paid = next(iter(DEFAULT_VALID_STATUSES)).code
    day = DAY_US
    dense = DenseTotals(valid, start, end, max_span=100)
    dense.add(RowColumns(np.asarray([12, 10, 10]), np.asarray([start - day, start + day, start + 2 * day]),
                         np.asarray([700, 500, 300]), np.asarray([0, 0, 300]),
                         np.full(3, paid, np.int8), SH))
    dense.add(RowColumns(np.asarray([12, 12, 11]), np.asarray([start + 5 * day, start + 3 * day, end]),
                         np.asarray([100, 200, 900]), np.zeros(3, np.int64),
                         np.full(3, paid, np.int8), SH))
    t = dense.totals()
    assert t.customer_ids.tolist() == [10, 11, 12]
    assert t.count.tolist() == [1, 0, 2]
    assert t.net_fen.tolist() == [500, 0, 300]
    assert t.last_us.tolist()[0] == start + day
    assert t.last_us.tolist()[2] == start + 5 * day
    assert t.known.tolist() == [True, False, True]


def test_many_text_id_totals_merge_at_once_by_hand() -> None:
    """Three chunks of text ids: b is in all three (2 + 1 + 0 counted orders), a in two."""
    start, end = rfm_bounds(AS_OF, TAOBAO_PGSB, SH)
    valid = np.ones(8, dtype=bool)
    mid = start + DAY_US

    def rows(ids: list[str], fen: list[int], at: list[int]) -> RowColumns:
        return RowColumns(np.asarray(ids), np.asarray(at), np.asarray(fen),
                          np.zeros(len(ids), np.int64), np.zeros(len(ids), np.int8), SH)

    parts = [chunk_totals(rows(["b", "a", "b"], [1, 2, 3], [mid, mid + 1, mid + 2]), valid,
                          start, end),
             chunk_totals(rows(["c", "b"], [10, 20], [mid + 3, mid + 9]), valid, start, end),
             chunk_totals(rows(["b", "a"], [7, 8], [start - 1, end]), valid, start, end)]
    t = merge_totals_many(parts)
    assert t.customer_ids.tolist() == ["a", "b", "c"]
    assert t.count.tolist() == [1, 3, 1]
    assert t.net_fen.tolist() == [2, 24, 10]
    assert t.last_us.tolist() == [mid + 1, mid + 9, mid + 3]
    assert t.known.tolist() == [True, True, True]
    with pytest.raises(InvalidValueError, match="at least one"):
        merge_totals_many([])


def test_merge_totals_refuses_other_windows_and_kinds() -> None:
    start, end = rfm_bounds(AS_OF, TAOBAO_PGSB, SH)
    valid = np.ones(8, dtype=bool)
    one = RowColumns(np.asarray([1]), np.asarray([start]), np.asarray([1]), np.asarray([0]),
                     np.zeros(1, np.int8), SH)
    text = RowColumns(np.asarray(["a"]), np.asarray([start]), np.asarray([1]), np.asarray([0]),
                      np.zeros(1, np.int8), SH)
    a = chunk_totals(one, valid, start, end)
    with pytest.raises(InvalidValueError, match="end_us"):
        merge_totals(a, chunk_totals(one, valid, start, end + 1))
    with pytest.raises(InvalidValueError, match="one kind"):
        merge_totals(a, chunk_totals(text, valid, start, end))
    with pytest.raises(InvalidTypeError, match="RfmTotals"):
        merge_totals(a, "b")  # type: ignore[arg-type]


pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write(path: Path, ids: np.ndarray, placed_us: np.ndarray, rng: np.random.Generator) -> None:
    n = len(ids)
    amount = rng.integers(0, 80_000, n)
    pq.write_table(pa.table({
        "order_id": [f"o{path.stem}{i}" for i in range(n)],
        "customer_id": ids.astype(np.int64),
        "placed_at": (placed_us + 8 * 3_600_000_000).astype("datetime64[us]"),
        "amount": amount.astype(np.int64),
        "refunded": np.where(rng.random(n) < 0.2, amount, 0).astype(np.int64),
        "status": np.asarray(STATUS_NAMES)[rng.integers(0, 6, n)],
        "province": ["浙江"] * n,
    }), path, row_group_size=300)


def test_score_parquet_switches_from_direct_addressing_mid_dataset(tmp_path: Path) -> None:
    """Compact ids first (addressed directly), then a file whose ids lie 2**45 away: the rest
    is coded per batch and merged; the scores equal rfm.score on the whole dataset."""
    rng = np.random.default_rng(3)
    n = 2_000
    placed = T0_US + np.sort(rng.integers(0, 600 * DAY_US, 2 * n))
    _write(tmp_path / "a.parquet", rng.integers(1_000, 1_400, n), placed[:n], rng)
    far = np.where(rng.random(n) < 0.5, rng.integers(1_000, 1_400, n), 2**45 + rng.integers(0, 50, n))
    _write(tmp_path / "b.parquet", far, placed[n:], rng)
    got = score_parquet(tmp_path, as_of=AS_OF, tz=SH, batch_rows=700, warn_undersized=False)
    whole = OrderLog.from_parquet(tmp_path, tz=SH)
    assert_same_rfm(got, score(whole, as_of=AS_OF, warn_undersized=False))


def test_score_parquet_reads_only_the_rfm_columns(tmp_path: Path) -> None:
    """A bad cell in a column RFM does not read (a province given as a number) does not
    stop score_parquet; a bad status (which it reads) does, naming row and value."""
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 50, 400)
    placed = T0_US + np.sort(rng.integers(0, 600 * DAY_US, 400))
    _write(tmp_path / "a.parquet", ids, placed, rng)
    table = pq.read_table(tmp_path / "a.parquet")
    table = table.set_column(table.schema.get_field_index("province"), "province",
                             pa.array(list(range(400))))
    pq.write_table(table, tmp_path / "a.parquet")
    got = score_parquet(tmp_path / "a.parquet", as_of=AS_OF, tz=SH, warn_undersized=False)
    assert got.frequency.sum() > 0
    status = table.column("status").to_pylist()
    status[123] = "teleported"
    table = table.set_column(table.schema.get_field_index("status"), "status", pa.array(status))
    pq.write_table(table, tmp_path / "a.parquet")
    with pytest.raises(DataFormatErrorGroup) as info:
        score_parquet(tmp_path / "a.parquet", as_of=AS_OF, tz=SH, batch_rows=100)
    assert "row 23" in str(info.value.exceptions[0])
    assert "teleported" in str(info.value)


def test_score_parquet_refuses_amounts_summing_past_int64_across_batches(tmp_path: Path) -> None:
    """Each batch sums within int64, the dataset does not: refused as one log would be."""
    big = 10**15  # MAX_ORDER_FEN: 10,000 orders sum to 1e19 fen, past int64
    many = 10_000
    pq.write_table(pa.table({
        "customer_id": np.arange(many, dtype=np.int64),
        "placed_at": np.full(many, np.datetime64("2025-01-01T00:00:00", "us")),
        "amount": np.full(many, big, dtype=np.int64),
    }), tmp_path / "big.parquet")
    with pytest.raises(InvalidValueError, match="int64"):
        OrderLog.from_parquet(tmp_path / "big.parquet", tz=SH, amount_unit="fen")
    with pytest.raises(InvalidValueError, match="int64"):
        score_parquet(tmp_path / "big.parquet", as_of=AS_OF, tz=SH, amount_unit="fen",
                      batch_rows=5_000)
