"""The compact row columns of an order log in input order (``ecrm._compact``) hold exactly
the dense columns they stand for, and a log built from arrays keeps them."""

from __future__ import annotations

import datetime as dt
import pickle

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ecrm import OrderLog
from ecrm._compact import OffsetCodes, SparseFen, offset_codes
from ecrm._orderlog import InputRows
from ecrm.rfm import score

mostly_zero = hnp.arrays(
    np.int64, st.integers(0, 60),
    elements=st.one_of(st.just(0), st.just(0), st.integers(-(2**62), 2**62)),
)


@given(mostly_zero)
def test_sparse_fen_holds_the_dense_column(column: np.ndarray) -> None:
    sparse = SparseFen.of(column)
    assert len(sparse) == len(column)
    assert np.array_equal(sparse.dense(), column)
    assert sparse.rows.tolist() == [i for i, v in enumerate(column.tolist()) if v != 0]
    assert not sparse.rows.flags.writeable
    assert not sparse.values.flags.writeable


@given(mostly_zero, st.data())
def test_a_slice_of_a_sparse_fen_is_the_slice_of_the_column(column: np.ndarray,
                                                              data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, len(column)))
    hi = data.draw(st.integers(lo, len(column)))
    part = SparseFen.of(column).between(lo, hi)
    assert np.array_equal(part.dense(), column[lo:hi])


def test_a_sparse_fen_copies_the_values() -> None:
    column = np.array([0, 5, 0, 7], dtype=np.int64)
    sparse = SparseFen.of(column)
    column[1] = 99
    assert sparse.dense().tolist() == [0, 5, 0, 7]


@given(hnp.arrays(np.int64, st.integers(1, 80), elements=st.integers(-50, 50)),
       st.integers(-(2**40), 2**40))
def test_offset_codes_code_the_ids_as_np_unique_does(small: np.ndarray, shift: int) -> None:
    ids = small + shift
    made = offset_codes(ids)
    assert made is not None  # a range of at most 101 ids is compact
    uniq, offsets = made
    want_uniq, want_codes = np.unique(ids, return_inverse=True)
    assert np.array_equal(uniq, want_uniq)
    assert np.array_equal(offsets.codes(), want_codes)
    assert np.array_equal(offsets.offsets, ids - ids.min())
    assert np.array_equal(uniq[np.searchsorted(offsets.buckets, offsets.offsets)], ids)


def test_offset_codes_leave_sparse_or_text_ids_to_a_sort() -> None:
    assert offset_codes(np.array([1, 10**12], dtype=np.int64)) is None  # range past 4x rows
    assert offset_codes(np.array(["a", "b"])) is None
    assert offset_codes(np.zeros(0, dtype=np.int64)) is None


def _log() -> OrderLog:
    n = 300_000  # past the threaded build's threshold
    rng = np.random.default_rng(3)
    amounts = rng.integers(100, 10_000, n)
    refunded = np.where(rng.random(n) < 0.05, amounts // 2, 0)
    return OrderLog.from_arrays(
        rng.integers(5_000, 65_000, n),
        np.datetime64("2024-01-01T00:00", "s") + np.sort(rng.integers(0, 10**7, n)).astype("m8[s]"),
        amounts, tz="Asia/Shanghai", refunded=refunded,
    )


def test_a_log_from_arrays_keeps_compact_columns_and_shows_dense_ones() -> None:
    log = _log()
    assert isinstance(log._refunded_fen, SparseFen)
    assert isinstance(log._customer_codes, OffsetCodes)
    order = np.lexsort((log.placed_at_us, log.customer_codes))  # already laid out: identity
    assert np.array_equal(order, np.arange(len(log)))
    assert log.refunded_fen.dtype == np.int64
    assert len(log.refunded_fen) == len(log)
    assert np.all(log.refunded_fen <= log.amount_fen)


def test_compact_columns_survive_pickle_and_evolve() -> None:
    log = _log()
    as_of = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    want = score(log, as_of=as_of, warn_undersized=False).to_dicts()
    again = pickle.loads(pickle.dumps(log))
    assert score(again, as_of=as_of, warn_undersized=False).to_dicts() == want
    evolved = attrs.evolve(log, load_info=None)
    assert score(evolved, as_of=as_of, warn_undersized=False).to_dicts() == want
    assert np.array_equal(evolved.refunded_fen, log.refunded_fen)


@pytest.mark.parametrize("refunds", [False, True])
def test_a_log_pickled_with_dense_columns_still_scores(refunds: bool) -> None:
    """Logs pickled before the compact forms hold dense codes and refunds."""
    log = _log()
    as_of = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    want = score(log, as_of=as_of, warn_undersized=False).to_dicts()
    dense = attrs.evolve(
        log, customer_codes=log._customer_codes.codes(),  # type: ignore[union-attr]
        refunded_fen=log._refunded_fen.dense() if refunds else log._refunded_fen,  # type: ignore[union-attr]
    )
    assert score(dense, as_of=as_of, warn_undersized=False).to_dicts() == want


@pytest.mark.parametrize(("largest", "kept"), [(2**31 - 1, np.int32), (2**31, np.int64)])
def test_a_log_from_arrays_keeps_amounts_below_2_31_as_int32(largest: int, kept: type) -> None:
    """Amounts that all fit in int32 are kept so (half the memory of a copy); the public
    column is int64 with the same values either way, and scores are the same."""
    amounts = np.array([largest, 5, 0, 7], dtype=np.int64)
    ids = np.array([1, 2, 1, 3], dtype=np.int64)
    placed = np.array(["2024-01-01T10:00", "2024-01-02T10:00", "2024-01-03T10:00",
                       "2024-01-04T10:00"], dtype="datetime64[s]")
    log = OrderLog.from_arrays(ids, placed, amounts, tz="Asia/Shanghai")
    assert log._amount_fen.dtype == kept
    amounts[0] = 1  # the caller's buffer changes: the log does not
    assert log.amount_fen.dtype == np.int64
    assert sorted(log.amount_fen.tolist()) == sorted([largest, 5, 0, 7])
    result = score(log, as_of=dt.datetime(2024, 2, 1, tzinfo=dt.UTC), warn_undersized=False)
    assert result.row(1).monetary.fen == largest  # customer 1: largest + 0
    assert result.row(3).monetary.fen == 7


def test_int32_amounts_sum_exactly_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """An int32 log's money sums the same by the weighted bincount and by np.add.at (the
    path for sums that could reach 2^53, forced here with a lower bound)."""
    n = 5_000
    rows = np.arange(n)
    log = OrderLog.from_arrays(
        rows % 7, np.datetime64("2024-01-01T00:00", "s") + rows.astype("m8[s]"),
        np.full(n, 2**31 - 1, dtype=np.int64) - rows, tz="Asia/Shanghai")
    assert log._amount_fen.dtype == np.int32
    as_of = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    want = [sum(2**31 - 1 - i for i in range(n) if i % 7 == c) for c in range(7)]
    by_bincount = score(log, as_of=as_of, warn_undersized=False).monetary_fen.tolist()
    monkeypatch.setattr("ecrm.rfm._kernels._FLOAT_EXACT", 0)
    by_add_at = score(log, as_of=as_of, warn_undersized=False).monetary_fen.tolist()
    assert by_bincount == by_add_at == want


def test_a_pickled_log_leaves_its_caches_behind() -> None:
    """A scored log caches a view of its rows, a laid-out one a second copy of every column:
    neither goes into a pickle (they are made again on first use)."""
    log = _log()
    as_of = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    score(log, as_of=as_of, warn_undersized=False)
    plain = len(pickle.dumps(log))
    log.customer_starts  # noqa: B018  (makes the layout: a second copy of the columns)
    assert "_cache" not in log.__getstate__()
    assert len(pickle.dumps(log)) == plain
    again = pickle.loads(pickle.dumps(log))
    assert again._cache == {}
    assert np.array_equal(again.customer_starts, log.customer_starts)


def test_a_pickle_of_an_earlier_version_with_its_cache_loads() -> None:
    """Earlier versions pickled the cache too, with the input-order view of that time
    (``InputRows``, 7 fields) and the laid-out twin: such a state loads, drops them and
    scores as the log it came from."""
    log = _log()
    as_of = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    want = score(log, as_of=as_of, warn_undersized=False).to_dicts()
    old_view = InputRows(log._customer_codes.codes(), log._placed_at_us,  # type: ignore[union-attr]
                         log._amount_fen.astype(np.int64), log._refunded_fen.dense(),  # type: ignore[union-attr]
                         log._status_codes, True, True)
    state = {**log.__getstate__(), "_cache": {"input": old_view, "layout": log._laid_out()}}
    blob = pickle.dumps((OrderLog.__new__, (OrderLog,), state), protocol=4)
    new, args, old_state = pickle.loads(blob)
    loaded = new(*args)
    loaded.__setstate__(old_state)
    assert loaded._cache == {}
    assert score(loaded, as_of=as_of, warn_undersized=False).to_dicts() == want
    # (and the tuple state of an older attrs, fields in order)
    as_tuple = tuple(old_state[f.name] for f in attrs.fields(OrderLog))
    other = OrderLog.__new__(OrderLog)
    other.__setstate__(as_tuple)
    assert score(other, as_of=as_of, warn_undersized=False).to_dicts() == want
