"""TAOBAO_PGSB by hand: every bin boundary, the half-open window, month-end clipping,
statuses and refunds, unscored customers and the shop-size warning."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
from rfm_helpers import SH, at, log_of, order

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, OrderStatus
from ecrm.rfm import TAOBAO_PGSB, Grade, RfmResult, UndersizedShopWarning, score

AS_OF = at(2024, 6, 1)  # 2024-06-01 00:00 Asia/Shanghai
SECOND = dt.timedelta(seconds=1)


def quiet_score(log: OrderLog, as_of: dt.datetime = AS_OF, **kw: object) -> RfmResult:
    return score(log, as_of=as_of, warn_undersized=False, **kw)  # type: ignore[arg-type]


def one(placed_at: dt.datetime, as_of: dt.datetime = AS_OF, **kw: object) -> RfmResult:
    return quiet_score(log_of([order("c", placed_at, **kw)]), as_of)  # type: ignore[arg-type]


# -- R ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("placed_at", "expected_r"),
    [
        (AS_OF - SECOND, 5),
        (at(2024, 5, 1), 5),  # exactly as_of − 1 month: "R <= 1 month"
        (at(2024, 5, 1) - SECOND, 4),
        (at(2024, 3, 1), 4),  # exactly − 3 months
        (at(2024, 3, 1) - SECOND, 3),
        (at(2024, 2, 1), 3),  # exactly − 4 months
        (at(2024, 2, 1) - SECOND, 2),
        (at(2023, 11, 1), 2),  # exactly − 7 months
        (at(2023, 11, 1) - SECOND, 1),
        (at(2023, 6, 1), 1),  # exactly − 1 year: the window's first instant is inside
    ],
)
def test_recency_score_at_each_boundary(placed_at: dt.datetime, expected_r: int) -> None:
    res = one(placed_at)
    assert res.r.tolist() == [expected_r]


def test_order_at_exactly_as_of_is_the_future_and_ignored() -> None:
    res = one(AS_OF)
    assert len(res) == 0
    assert res.unscored_customer_ids.tolist() == ["c"]


def test_order_just_before_the_window_start_is_outside() -> None:
    res = one(at(2023, 6, 1) - SECOND)
    assert len(res) == 0
    assert res.unscored_customer_ids.tolist() == ["c"]


@pytest.mark.parametrize(
    ("as_of", "placed_at", "expected_r"),
    [
        # Mar 31 − 1 month clips to Feb 29 in a leap year, Feb 28 otherwise.
        (at(2024, 3, 31, 10), at(2024, 2, 29, 10), 5),
        (at(2024, 3, 31, 10), at(2024, 2, 29, 10) - SECOND, 4),
        (at(2023, 3, 31, 10), at(2023, 2, 28, 10), 5),
        (at(2023, 3, 31, 10), at(2023, 2, 28, 10) - SECOND, 4),
        # May 31 − 3 months = Feb 29 (2024).
        (at(2024, 5, 31), at(2024, 2, 29), 4),
        (at(2024, 5, 31), at(2024, 2, 29) - SECOND, 3),
        # Aug 31 − 7 months = Jan 31; Jul 31 − 7 months = Dec 31.
        (at(2024, 8, 31), at(2024, 1, 31), 2),
        (at(2024, 8, 31), at(2024, 1, 31) - SECOND, 1),
    ],
)
def test_month_end_clipping(as_of: dt.datetime, placed_at: dt.datetime, expected_r: int) -> None:
    assert one(placed_at, as_of).r.tolist() == [expected_r]


def test_window_of_feb_29_starts_on_feb_28_of_the_year_before() -> None:
    as_of = at(2024, 2, 29, 12)
    assert one(at(2023, 2, 28, 12), as_of).frequency.tolist() == [1]
    assert len(one(at(2023, 2, 28, 12) - SECOND, as_of)) == 0


def test_calendar_arithmetic_happens_in_the_store_zone() -> None:
    # as_of 2024-03-30 20:00 UTC is 2024-03-31 04:00 in Shanghai: one month back is
    # 2024-02-29 04:00 local (= Feb 28 20:00 UTC), not Feb 29 20:00 UTC.
    as_of = dt.datetime(2024, 3, 30, 20, tzinfo=dt.UTC)
    res = one(at(2024, 2, 29, 10), as_of)  # Feb 29 02:00 UTC
    assert res.r.tolist() == [5]
    assert res.recency_days.tolist() == [31]  # Feb 29 -> Mar 31, local days


def test_recency_days_are_local_calendar_days() -> None:
    # 23:59:59 on May 31 is one calendar day before as_of (Jun 1 00:00).
    assert one(AS_OF - SECOND).recency_days.tolist() == [1]
    as_of = at(2024, 6, 1, 23, 59)
    assert one(at(2024, 6, 1, 0, 1), as_of).recency_days.tolist() == [0]
    assert one(at(2024, 5, 20, 23), as_of).recency_days.tolist() == [12]


# -- F ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n_orders", "expected_f"), [(1, 1), (2, 2), (3, 3), (4, 4), (5, 4), (6, 5), (9, 5)]
)
def test_frequency_score_at_each_boundary(n_orders: int, expected_f: int) -> None:
    log = log_of(order("c", at(2024, 1, 1) + dt.timedelta(days=i)) for i in range(n_orders))
    res = quiet_score(log)
    assert res.frequency.tolist() == [n_orders]
    assert res.f.tolist() == [expected_f]


# -- M ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fen", "expected_m"),
    [
        (0, 1), (29_999, 1), (30_000, 2), (49_999, 2), (50_000, 3), (99_999, 3),
        (100_000, 4), (199_999, 4), (200_000, 5), (10_000_000, 5),
    ],
)
def test_monetary_score_at_each_boundary(fen: int, expected_m: int) -> None:
    res = one(at(2024, 5, 10), fen=fen)
    assert res.monetary_fen.tolist() == [fen]
    assert res.m.tolist() == [expected_m]


def test_monetary_sums_orders_over_the_window_in_exact_fen() -> None:
    log = log_of([
        order("c", at(2024, 5, 1), fen=19_999),
        order("c", at(2024, 1, 1), fen=10_001),
        order("c", at(2023, 5, 31), fen=500_000),  # before the window
    ])
    res = quiet_score(log)
    assert res.monetary_fen.tolist() == [30_000]
    assert res.monetary_fen.dtype == np.int64
    assert res.m.tolist() == [2]


# -- statuses and refunds -----------------------------------------------------------------
def test_only_valid_orders_count() -> None:
    log = log_of([
        order("c", at(2024, 5, 20), fen=100_000),
        order("c", at(2024, 5, 25), fen=900_000, status=OrderStatus.UNPAID),
        order("c", at(2024, 5, 26), fen=900_000, status=OrderStatus.CLOSED),
        order("c", at(2024, 5, 27), fen=900_000, status=OrderStatus.REFUNDED),
        order("c", at(2024, 5, 28), fen=900_000, refunded=900_000),  # paid, fully refunded
        order("c", at(2024, 2, 1), fen=5_000, status=OrderStatus.SHIPPED),
        order("c", at(2024, 3, 1), fen=5_000, status=OrderStatus.COMPLETED),
    ])
    res = quiet_score(log)
    assert res.frequency.tolist() == [3]
    assert res.monetary_fen.tolist() == [110_000]
    assert res.recency_days.tolist() == [12]  # May 20, not the invalid later orders


def test_partial_refund_lowers_monetary() -> None:
    res = one(at(2024, 5, 20), fen=250_000, refunded=60_000)
    assert res.monetary_fen.tolist() == [190_000]
    assert res.m.tolist() == [4]


def test_statuses_parameter_changes_what_counts() -> None:
    log = log_of([
        order("c", at(2024, 5, 20), fen=100_000, status=OrderStatus.UNPAID),
        order("c", at(2024, 5, 21), fen=100_000, status=OrderStatus.PAID),
    ])
    res = quiet_score(log, statuses={OrderStatus.PAID, OrderStatus.UNPAID})
    assert res.frequency.tolist() == [2]
    only_unpaid = quiet_score(log, statuses={OrderStatus.UNPAID})
    assert only_unpaid.recency_days.tolist() == [12]


# -- totals and grades --------------------------------------------------------------------
def _customer(cid: str, r_placed: dt.datetime, n: int, fen_each: int) -> list:
    # n orders, the last at r_placed, the others early in the window.
    rows = [order(cid, at(2023, 7, 1) + dt.timedelta(days=i), fen=fen_each) for i in range(n - 1)]
    return [*rows, order(cid, r_placed, fen=fen_each)]


@pytest.mark.parametrize(
    # (last order, orders, fen each) -> (R, F, M, total, grade), worked by hand.
    ("last", "n", "fen_each", "expected"),
    [
        (at(2024, 5, 20), 6, 40_000, (5, 5, 5, 40, Grade.P)),  # 240,000 fen
        (at(2024, 4, 1), 4, 50_000, (4, 4, 5, 36, Grade.P)),  # 1·4 + 3·4 + 4·5
        (at(2024, 2, 15), 4, 50_000, (3, 4, 5, 35, Grade.G)),
        (at(2024, 2, 15), 1, 200_000, (3, 1, 5, 26, Grade.G)),
        (at(2023, 12, 1), 1, 200_000, (2, 1, 5, 25, Grade.S)),
        (at(2023, 12, 1), 1, 50_000, (2, 1, 3, 17, Grade.S)),
        (at(2023, 7, 1), 1, 50_000, (1, 1, 3, 16, Grade.B)),
        (at(2023, 7, 1), 1, 100, (1, 1, 1, 8, Grade.B)),
    ],
)
def test_total_and_grade_worked_by_hand(
    last: dt.datetime, n: int, fen_each: int, expected: tuple[int, int, int, int, Grade]
) -> None:
    res = quiet_score(log_of(_customer("c", last, n, fen_each)))
    r, f, m, total, grade = expected
    assert (res.r[0], res.f[0], res.m[0], res.total[0]) == (r, f, m, total)
    assert res.grades() == [grade]
    assert res.grade.tolist() == [grade.code]


def test_grade_counts_have_all_four_grades() -> None:
    log = log_of([*_customer("a", at(2024, 5, 20), 6, 40_000),
                  *_customer("b", at(2023, 7, 1), 1, 100),
                  *_customer("c", at(2023, 7, 1), 1, 200)])
    assert quiet_score(log).grade_counts() == {Grade.P: 1, Grade.G: 0, Grade.S: 0, Grade.B: 2}


# -- unscored customers and arrays ---------------------------------------------------------
def test_customers_without_valid_order_in_window_are_reported_apart() -> None:
    log = log_of([
        order("active", at(2024, 5, 1)),
        order("closed-only", at(2024, 5, 1), status=OrderStatus.CLOSED),
        order("old", at(2022, 5, 1)),
        order("future", at(2024, 7, 1)),
    ])
    res = quiet_score(log)
    assert res.customer_ids.tolist() == ["active"]
    assert sorted(res.unscored_customer_ids.tolist()) == ["closed-only", "future", "old"]
    assert len(res) == 1


def test_int_customer_ids_are_kept() -> None:
    res = quiet_score(log_of([order(7, at(2024, 5, 1)), order(3, at(2024, 4, 1))]))
    assert res.customer_ids.tolist() == [3, 7]
    assert res.row(7).r == 5


def test_result_arrays_are_read_only_and_int64() -> None:
    res = one(at(2024, 5, 1))
    for name in ("recency_days", "frequency", "monetary_fen", "r", "f", "m", "total"):
        arr = getattr(res, name)
        assert arr.dtype == np.int64, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0


def test_empty_log_scores_nobody() -> None:
    empty = OrderLog.from_orders([])
    res = quiet_score(empty)
    assert len(res) == 0
    assert res.grade_counts() == dict.fromkeys(Grade, 0)


# -- shop size ----------------------------------------------------------------------------
def test_small_shop_warns_and_is_flagged() -> None:
    log = log_of([order("c", at(2024, 5, 1))])
    with pytest.warns(UndersizedShopWarning, match=r"accumulated 1 customers, fewer than the 150,000"):
        res = score(log, as_of=AS_OF)
    assert res.undersized is True


def test_warning_can_be_silenced_but_flag_stays() -> None:
    log = log_of([order("c", at(2024, 5, 1))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = score(log, as_of=AS_OF, warn_undersized=False)
    assert res.undersized is True


def test_no_warning_when_the_shop_is_large_enough() -> None:
    import attrs

    scheme = attrs.evolve(TAOBAO_PGSB, min_customers=2)
    log = log_of([order("a", at(2024, 5, 1)), order("b", at(2024, 5, 1))])
    res = score(log, as_of=AS_OF, scheme=scheme)  # warnings are errors: none may fire
    assert res.undersized is False


def test_shop_size_counts_accumulated_not_scored_customers() -> None:
    # The source: 已经积累客户总数超过15万 — every customer the shop has gathered counts, also
    # those with no order in the scoring year and those whose only order was closed.
    import attrs

    scheme = attrs.evolve(TAOBAO_PGSB, min_customers=3)
    log = log_of([
        order("recent", at(2024, 5, 1)),
        order("old", at(2021, 5, 1)),  # outside the 1-year window: not scored
        order("closed", at(2024, 5, 1), status=OrderStatus.CLOSED),  # not a valid order
        order("later", at(2024, 7, 1)),  # after as_of: not yet a customer
    ])
    res = score(log, as_of=AS_OF, scheme=scheme)  # warnings are errors: none may fire
    assert len(res) == 1
    assert res.undersized is False
    bigger = attrs.evolve(TAOBAO_PGSB, min_customers=4)
    with pytest.warns(UndersizedShopWarning, match=r"accumulated 3 customers, fewer than the 4"):
        assert score(log, as_of=AS_OF, scheme=bigger).undersized is True


# -- bad input ----------------------------------------------------------------------------
def test_naive_as_of_is_refused() -> None:
    log = log_of([order("c", at(2024, 5, 1))])
    with pytest.raises(InvalidValueError, match="as_of must be timezone-aware"):
        score(log, as_of=dt.datetime(2024, 6, 1))


def test_date_as_of_and_wrong_arguments_are_refused() -> None:
    log = log_of([order("c", at(2024, 5, 1))])
    with pytest.raises(InvalidTypeError, match="as_of"):
        score(log, as_of=dt.date(2024, 6, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="OrderLog"):
        score([order("c", at(2024, 5, 1))], as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="RfmScheme"):
        score(log, as_of=AS_OF, scheme="TAOBAO")  # type: ignore[arg-type]


def test_as_of_in_another_zone_is_the_same_instant() -> None:
    log = log_of([order("c", at(2024, 5, 1)), order("c", at(2023, 9, 1), fen=77)])
    a = quiet_score(log, AS_OF)
    b = quiet_score(log, AS_OF.astimezone(dt.UTC))
    assert a.total.tolist() == b.total.tolist()
    assert a.recency_days.tolist() == b.recency_days.tolist()
    assert b.row("c").last_order_at == at(2024, 5, 1)
    assert b.row("c").last_order_at.tzinfo == SH
