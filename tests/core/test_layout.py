"""The customer/time layout of an OrderLog against a plain reference (np.lexsort, np.unique).

The layout is made lazily: ``from_arrays`` keeps the rows as they came and the first use of
a row column sorts them. These tests pin that the sort is the one ``np.lexsort`` gives
(by customer, then time, ties in input order), that the lazy log answers exactly as the
laid-out one, and that scoring a log that was never laid out gives the same result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import OrderLog, SchemeError
from ecrm._columns import customer_time_order, factorize
from ecrm._time import NAT_US
from ecrm.rfm import quantile_scheme, score

TZ = ZoneInfo("Asia/Shanghai")


@st.composite
def code_time_rows(draw: st.DrawFn) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64], int]:
    """Dense customer codes and times with many ties, NaT-like minima, one customer, none."""
    n_codes = draw(st.sampled_from([1, 2, 5, 70_000]))  # 70,000 > 2**16: two radix digits
    n = draw(st.integers(min_value=0, max_value=60))
    if n_codes > 100:  # a few distinct codes spread over the whole range
        pool = draw(st.lists(st.integers(min_value=0, max_value=n_codes - 1), min_size=1,
                             max_size=6))
        codes = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    else:
        codes = draw(st.lists(st.integers(min_value=0, max_value=n_codes - 1), min_size=n,
                              max_size=n))
    times = st.one_of(st.integers(min_value=0, max_value=4), st.just(int(NAT_US)),
                      st.integers(min_value=-(2**62), max_value=2**62))
    placed = draw(st.lists(times, min_size=n, max_size=n))
    if draw(st.booleans()):
        placed.sort()  # exports usually come in time order
    if draw(st.booleans()):
        codes.sort()  # and some are already grouped by customer
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    return np.asarray(codes, dtype=dtype), np.asarray(placed, dtype=np.int64), n_codes


@given(code_time_rows())
def test_customer_time_order_is_lexsort_by_customer_then_time(
    rows: tuple[npt.NDArray[Any], npt.NDArray[np.int64], int],
) -> None:
    codes, placed, n_codes = rows
    want = np.lexsort((placed, codes))  # stable: ties keep input order
    got = customer_time_order(codes, placed, n_codes)
    if got is None:  # "already in order"
        assert np.array_equal(want, np.arange(len(codes)))
    else:
        assert np.array_equal(got, want)


def test_customer_time_order_of_empty_and_single_rows() -> None:
    empty = np.zeros(0, dtype=np.int32)
    assert customer_time_order(empty, np.zeros(0, dtype=np.int64), 0) is None
    assert customer_time_order(np.zeros(1, np.int32), np.asarray([NAT_US]), 1) is None


def test_customer_time_order_breaks_time_ties_by_input_order() -> None:
    codes = np.asarray([1, 0, 1, 0, 1], dtype=np.int32)
    placed = np.asarray([5, 7, 5, 7, 3], dtype=np.int64)
    order = customer_time_order(codes, placed, 2)
    assert order is not None
    assert order.tolist() == [1, 3, 4, 0, 2]  # worked by hand


@given(st.one_of(
    st.lists(st.integers(min_value=-5, max_value=40)),  # compact: the direct table
    st.lists(st.integers(min_value=-(2**62), max_value=2**62)),  # sparse: np.unique
    st.lists(st.text(alphabet="ab张", min_size=1, max_size=3)),
    # decimal ids as a CSV gives them: the same length (leading zeros too) or not, long
    st.integers(min_value=1, max_value=19).flatmap(
        lambda k: st.lists(st.text(alphabet="0123456789", min_size=k, max_size=k))),
    st.lists(st.text(alphabet="0190", min_size=1, max_size=4)),
    st.lists(st.sampled_from(["7", "07", "7 ", "٧", "10", "1e3"])),
))
def test_factorize_matches_np_unique(values: list[Any]) -> None:
    ids = np.asarray(values, dtype=np.int64 if all(isinstance(v, int) for v in values) else str)
    uniq, codes = factorize(ids)
    want_uniq, want_codes = np.unique(ids, return_inverse=True)
    assert uniq.dtype == want_uniq.dtype
    assert np.array_equal(uniq, want_uniq)
    assert np.array_equal(codes, want_codes.reshape(-1))
    assert codes.dtype == np.int32


@st.composite
def order_columns(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=40))
    ids = draw(st.lists(st.sampled_from([7, 3, 12, 40, 41]), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(min_value=0, max_value=60 * 24 * 400), min_size=n,
                            max_size=n))
    if draw(st.booleans()):
        minutes.sort()
    if draw(st.booleans()):  # ties in time
        minutes = [m - m % (60 * 24 * 30) for m in minutes]
    amounts = draw(st.lists(st.integers(min_value=0, max_value=10**9), min_size=n, max_size=n))
    refunded = [draw(st.sampled_from([0, a // 3, a])) for a in amounts]
    statuses = draw(st.lists(st.integers(min_value=0, max_value=5), min_size=n, max_size=n))
    return {
        "customer_ids": np.asarray(ids, dtype=np.int64),
        "placed_at": (np.datetime64("2024-01-01T00:00") + np.asarray(minutes, "timedelta64[m]")),
        "amounts": np.asarray(amounts, dtype=np.int64),
        "refunded": np.asarray(refunded, dtype=np.int64),
        "statuses": np.asarray(statuses, dtype=np.int8),
        "order_ids": np.asarray([f"T{i}" for i in range(n)]),
    }


def build(cols: dict[str, Any]) -> OrderLog:
    return OrderLog.from_arrays(
        cols["customer_ids"], cols["placed_at"], cols["amounts"], tz=TZ,
        statuses=cols["statuses"], refunded=cols["refunded"], order_ids=cols["order_ids"],
    )


@settings(max_examples=60)
@given(order_columns())
def test_the_lazy_layout_equals_a_lexsort_of_the_input(cols: dict[str, Any]) -> None:
    log = build(cols)
    assert log._input_rows() is not None  # nothing sorted yet
    placed_utc = (cols["placed_at"] - np.timedelta64(8, "h")).astype("datetime64[us]")
    placed_us = placed_utc.astype(np.int64)
    uniq = np.unique(cols["customer_ids"])
    codes = np.searchsorted(uniq, cols["customer_ids"])
    order = np.lexsort((placed_us, codes))
    assert np.array_equal(log.customer_ids, uniq)
    assert np.array_equal(log.customer_codes, codes[order])
    assert np.array_equal(log.placed_at_us, placed_us[order])
    assert np.array_equal(log.amount_fen, cols["amounts"][order])
    assert np.array_equal(log.refunded_fen, cols["refunded"][order])
    assert np.array_equal(log.status_codes, cols["statuses"][order])
    assert log.order_ids is not None
    assert np.array_equal(log.order_ids, cols["order_ids"][order])
    counts = np.bincount(codes, minlength=len(uniq))
    assert log.customer_starts.tolist() == [0, *np.cumsum(counts).tolist()]
    assert log._input_rows() is None  # laid out now: score reads the layout
    for column in (log.placed_at_us, log.amount_fen, log.customer_starts):
        assert not column.flags.writeable


@settings(max_examples=60)
@given(order_columns(), st.integers(min_value=0, max_value=400))
def test_score_without_a_layout_equals_score_with_one(cols: dict[str, Any], day: int) -> None:
    as_of = dt.datetime(2024, 1, 1, tzinfo=TZ) + dt.timedelta(days=day)
    lazy = build(cols)
    laid_out = build(cols)
    laid_out.customer_starts  # noqa: B018  (makes the layout)
    a = score(lazy, as_of=as_of, warn_undersized=False)
    b = score(laid_out, as_of=as_of, warn_undersized=False)
    assert lazy._input_rows() is not None  # scoring made no layout
    for name in ("customer_ids", "last_order_us", "recency_days", "frequency", "monetary_fen",
                 "r", "f", "m", "total", "grade", "unscored_customer_ids"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name
    assert fitted(lazy, as_of) == fitted(laid_out, as_of)
    assert lazy._input_rows() is not None  # fitting a scheme made none either


def fitted(log: OrderLog, as_of: dt.datetime) -> object:
    try:
        return quantile_scheme(log, as_of=as_of)
    except SchemeError as exc:
        return str(exc)


def test_the_log_never_shares_the_callers_buffers() -> None:
    amounts = np.asarray([100, 200, 300], dtype=np.int64)
    refunded = np.asarray([0, 50, 0], dtype=np.int64)
    log = OrderLog.from_arrays(
        np.asarray([2, 1, 2]), np.asarray(["2024-01-02", "2024-01-01", "2024-01-03"],
                                          dtype="datetime64[s]"),
        amounts, tz=TZ, refunded=refunded,
    )
    amounts[:] = 0
    refunded[:] = 0
    assert log.amount_fen.tolist() == [200, 100, 300]
    assert log.refunded_fen.tolist() == [50, 0, 0]
    assert amounts.flags.writeable  # the caller's arrays stay theirs
