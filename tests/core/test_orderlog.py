"""OrderLog: validated columns, a customer-sorted layout, and the same log from every constructor."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import (
    DataFormatErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    Money,
    Order,
    OrderItem,
    OrderItems,
    OrderLog,
    OrderStatus,
    UnknownCustomerError,
    read_orders_csv,
)
from ecrm._time import NAT_US, datetime_to_us
from ecrm.rfm import score
from ecrm.testing import order_logs, orders

SH = ZoneInfo("Asia/Shanghai")


def _order(oid: str, cid: str | int, day: int, fen: int, **kw: object) -> Order:
    return Order(
        order_id=oid,
        customer_id=cid,
        placed_at=dt.datetime(2024, 5, day, 10, tzinfo=SH),
        amount=Money(fen),
        **kw,  # type: ignore[arg-type]
    )


def test_rows_are_sorted_by_customer_then_time() -> None:
    log = OrderLog.from_orders(
        [_order("a", "z", 3, 100), _order("b", "a", 9, 200), _order("c", "z", 1, 300), _order("d", "a", 2, 400)]
    )
    assert log.customer_ids.tolist() == ["a", "z"]
    assert log.customer_starts.tolist() == [0, 2, 4]
    assert log.order_ids is not None
    assert log.order_ids.tolist() == ["d", "b", "c", "a"]
    assert log.amount_fen.tolist() == [400, 200, 300, 100]
    assert log.customer_rows("z") == slice(2, 4)
    assert log.customer_code("z") == 1


def test_from_arrays_equals_from_orders() -> None:
    rows = [_order("a", 7, 3, 100), _order("b", 5, 9, 200, status="closed"), _order("c", 7, 1, 300)]
    expected = OrderLog.from_orders(rows)
    got = OrderLog.from_arrays(
        [7, 5, 7],
        [r.placed_at for r in rows],
        [100, 200, 300],
        statuses=["paid", "closed", "paid"],
        order_ids=["a", "b", "c"],
    )
    assert got.customer_ids.tolist() == expected.customer_ids.tolist() == [5, 7]
    for col in ("placed_at_us", "amount_fen", "refunded_fen", "status_codes", "customer_codes"):
        assert getattr(got, col).tolist() == getattr(expected, col).tolist(), col
    assert got.order_ids is not None
    assert got.order_ids.tolist() == ["b", "c", "a"]


def test_datetime64_input_is_wall_time_in_tz() -> None:
    log = OrderLog.from_arrays(["c"], np.array(["2024-05-01T08:00"], dtype="datetime64[m]"), [1], tz="Asia/Shanghai")
    assert int(log.placed_at_us[0]) == datetime_to_us(dt.datetime(2024, 5, 1, 0, tzinfo=dt.UTC))
    ny = OrderLog.from_arrays(["c"], np.array(["2024-07-01T08:00"], dtype="datetime64[s]"), [1], tz="America/New_York")
    assert int(ny.placed_at_us[0]) == datetime_to_us(dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC))
    assert ny.placed_day.tolist() == [(dt.date(2024, 7, 1) - dt.date(1970, 1, 1)).days]


def test_naive_inputs_need_tz() -> None:
    with pytest.raises(InvalidValueError, match=r"naive numpy datetime64.*tz="):
        OrderLog.from_arrays(["c"], np.array(["2024-05-01"], dtype="datetime64[D]"), [1])
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_arrays(["c", "d"], [dt.datetime(2024, 5, 1, tzinfo=SH), dt.datetime(2024, 5, 1)], [1, 2])
    (problem,) = info.value.problems
    assert "row 1" in str(problem)
    assert "timezone-aware" in str(problem)


def test_every_bad_cell_is_reported_at_once_and_nothing_is_built() -> None:
    t = np.array(["2024-05-01", "NaT", "2024-05-03", "2024-05-04"], dtype="datetime64[s]")
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_arrays(
            ["a", "", "c", "d"], t, [100, 200, -5, 50], tz="UTC",
            statuses=["paid", "paid", "paid", "lost"], order_ids=["o1", "o2", "o3", "o1"],
            refunded=[0, 300, 0, 0],
        )
    found = {(p.field, p.value) for p in info.value.problems}
    assert ("customer_ids", "") in found
    assert ("placed_at", None) in found or any(p.field == "placed_at" for p in info.value.problems)
    assert ("amounts", -5) in found
    assert ("statuses", "lost") in found
    assert ("order_ids", "o1") in found
    assert ("refunded", 300) in found
    rows = sorted(p.line for p in info.value.problems)  # type: ignore[attr-defined]
    assert rows == [1, 1, 1, 2, 3, 3]


def test_float_money_and_float_ids_are_type_errors() -> None:
    t = [dt.datetime(2024, 5, 1, tzinfo=SH)]
    with pytest.raises(InvalidTypeError, match="amounts must be integer fen, got floats"):
        OrderLog.from_arrays(["a"], t, np.array([1.5]))
    with pytest.raises(InvalidTypeError, match="float"):
        OrderLog.from_arrays(["a"], t, [1.0])
    with pytest.raises(InvalidTypeError, match="ids"):
        OrderLog.from_arrays(np.array([1.0]), t, [1])


def test_mismatched_lengths_name_every_column() -> None:
    with pytest.raises(InvalidValueError, match=r"customer_ids=2, placed_at=1, amounts=2"):
        OrderLog.from_arrays(["a", "b"], [dt.datetime(2024, 5, 1, tzinfo=SH)], [1, 2])


def test_valid_mask_and_net() -> None:
    rows = [
        _order("a", "c", 1, 1000),
        _order("b", "c", 2, 1000, status=OrderStatus.REFUNDED),
        _order("c", "c", 3, 1000, refunded=Money(1000)),
        _order("d", "c", 4, 1000, refunded=Money(300)),
        _order("e", "c", 5, 1000, status="unpaid"),
        _order("f", "c", 6, 0),
        _order("g", "c", 7, 1000, status="closed"),
        _order("h", "c", 8, 1000, status="completed"),
    ]
    log = OrderLog.from_orders(rows)
    assert log.valid_mask().tolist() == [True, False, False, True, False, True, False, True]
    assert log.net_fen.tolist() == [1000, 1000, 0, 700, 1000, 0, 1000, 1000]
    assert log.valid_mask([OrderStatus.UNPAID]).tolist() == [False, False, False, False, True, False, False, False]
    assert [o.is_valid() for o in rows] == log.valid_mask().tolist()


def test_items_link_to_their_orders() -> None:
    rows = [
        _order("a", "c2", 1, 300, items=[OrderItem(sku="tea", unit_price=Money(100), quantity=3, category="tea")]),
        _order("b", "c1", 2, 50, items=[OrderItem(sku="nut", unit_price=Money(20)), OrderItem(sku="pea", unit_price=Money(30))]),
    ]
    log = OrderLog.from_orders(rows)
    assert log.items is not None
    assert log.items.order_rows is not None
    assert log.items.order_rows.tolist() == [0, 0, 1]
    assert log.items.skus.tolist() == ["nut", "pea", "tea"]
    assert list(log) == sorted(rows, key=lambda o: (str(o.customer_id), o.placed_at))


def test_items_from_arrays_must_name_known_orders() -> None:
    items = OrderItems.from_arrays(order_ids=["a", "zz"], skus=["s1", "s2"], unit_price_fen=[1, 2])
    with pytest.raises(DataFormatErrorGroup, match="must name an order in the log"):
        OrderLog.from_arrays(["c", "d"], [dt.datetime(2024, 1, 1, tzinfo=SH)] * 2, [1, 2], order_ids=["a", "b"], items=items)


def test_order_items_validation() -> None:
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderItems.from_arrays(order_ids=["a", "b"], skus=["", "s"], unit_price_fen=[-1, 2], quantities=[1, 0])
    assert {p.field for p in info.value.problems} == {"skus", "unit_price_fen", "quantities"}


def test_unknown_customer() -> None:
    log = OrderLog.from_orders([_order("a", "c", 1, 1)])
    with pytest.raises(UnknownCustomerError, match="'x' is not in this log"):
        log.customer_code("x")
    with pytest.raises(KeyError):
        log.customer_rows(3)


@pytest.mark.parametrize("ids", [[10**12, 5, 10**12], [3, 1, 3], [-4, 2, -4]])
def test_int_ids_sparse_and_compact(ids: list[int]) -> None:
    t = [dt.datetime(2024, 1, d, tzinfo=SH) for d in (1, 2, 3)]
    log = OrderLog.from_arrays(ids, t, [1, 2, 3])
    assert log.customer_ids.tolist() == sorted(set(ids))
    assert log.customer_ids.dtype == np.int64
    assert [log.customer_ids[c] for c in log.customer_codes] == sorted(ids, key=lambda i: (i, ids.index(i)))


def test_empty_log() -> None:
    log = OrderLog.from_arrays([], np.array([], dtype="datetime64[s]"), np.array([], dtype=np.int64), tz="UTC")
    assert len(log) == 0
    assert log.n_customers == 0
    assert log.customer_starts.tolist() == [0]
    assert "0 orders" in repr(log)


def test_select_keeps_layout_and_drops_empty_customers() -> None:
    log = OrderLog.from_orders(
        [_order("a", "x", 1, 1, items=[OrderItem(sku="s", unit_price=Money(1))]), _order("b", "y", 2, 2), _order("c", "y", 3, 3)]
    )
    sub = log.select(log.amount_fen >= 2)
    assert sub.customer_ids.tolist() == ["y"]
    assert sub.customer_starts.tolist() == [0, 2]
    assert sub.items is not None
    assert len(sub.items) == 0
    with pytest.raises(InvalidValueError, match="bool array"):
        log.select(np.array([1, 0, 1]))


def test_paid_at_missing_is_nat() -> None:
    t = [dt.datetime(2024, 1, 1, tzinfo=SH)] * 2
    log = OrderLog.from_arrays(["a", "b"], t, [1, 2], paid_at=[t[0], None])
    assert log.paid_at_us is not None
    assert log.paid_at_us.tolist() == [datetime_to_us(t[0]), NAT_US]


def test_mixed_id_types_are_refused() -> None:
    with pytest.raises(InvalidTypeError, match="all str or all int"):
        OrderLog.from_orders([_order("a", "x", 1, 1), _order("b", 3, 1, 1)])


@given(order_logs(max_size=30), st.randoms(use_true_random=False))
def test_layout_is_independent_of_input_order(log: OrderLog, rnd: object) -> None:
    rows = list(log)
    rnd.shuffle(rows)  # type: ignore[attr-defined]
    again = OrderLog.from_orders(rows, tz=log.tz)
    assert again.customer_ids.tolist() == log.customer_ids.tolist()
    assert again.customer_starts.tolist() == log.customer_starts.tolist()
    # within a customer, time order (ties may come in either input order)
    for col in ("placed_at_us", "customer_codes"):
        assert getattr(again, col).tolist() == getattr(log, col).tolist()
    assert sorted(again.amount_fen.tolist()) == sorted(log.amount_fen.tolist())


@given(st.lists(orders(), max_size=25, unique_by=lambda o: o.order_id))
def test_round_trip_through_the_log(rows: list[Order]) -> None:
    log = OrderLog.from_orders(rows)
    assert len(log) == len(rows)
    back = {o.order_id: o for o in log}
    for o in rows:
        b = back[o.order_id]
        # compare instants: PEP 495 makes fold=1 datetimes unequal across zones
        assert datetime_to_us(b.placed_at) == datetime_to_us(o.placed_at)
        assert (b.amount, b.status, b.refunded_amount, b.items, b.province) == (
            o.amount, o.status, o.refunded_amount, o.items, o.province,
        )
        assert (b.paid_at is None) == (o.paid_at is None)
        if o.paid_at is not None and b.paid_at is not None:
            assert datetime_to_us(b.paid_at) == datetime_to_us(o.paid_at)
    # starts are CSR offsets over customer codes
    assert np.all(np.diff(log.customer_starts) > 0)
    codes = log.customer_codes
    assert np.all(codes[1:] >= codes[:-1])


def test_lookups_never_truncate_or_cross_id_types() -> None:
    t = [dt.datetime(2024, 1, 1, tzinfo=SH)] * 2
    log = OrderLog.from_arrays(["alice", "3"], t, [1, 2])
    with pytest.raises(UnknownCustomerError):
        log.customer_code("alice-smith")  # a longer id must not match its prefix
    with pytest.raises(UnknownCustomerError):
        log.customer_code(3)  # an int id never matches the str id "3"
    ints = OrderLog.from_arrays([1, 2], t, [1, 2])
    with pytest.raises(UnknownCustomerError):
        ints.customer_code("1")
    with pytest.raises(UnknownCustomerError):
        ints.customer_code(True)
    assert ints.customer_code(np.int64(2)) == 1


def test_the_log_does_not_share_writable_memory_with_the_caller() -> None:
    amounts = np.array([100, 200], dtype=np.int64)
    t = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[s]")
    log = OrderLog.from_arrays(np.array([1, 2]), t, amounts, tz="UTC")  # already sorted
    amounts[0] = 999
    assert log.amount_fen.tolist() == [100, 200]
    with pytest.raises(ValueError, match="read-only"):
        log.amount_fen[0] = 5
    with pytest.raises(ValueError, match="read-only"):
        log.select(log.amount_fen > 0).placed_at_us[0] = 0


def test_nat_placed_at_names_the_row_and_the_rule() -> None:
    t = np.array(["2024-05-01T10:00", "NaT", "2024-05-03T10:00"], dtype="datetime64[m]")
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_arrays(["a", "b", "c"], t, [1, 2, 3], tz="Asia/Shanghai")
    (problem,) = info.value.problems
    assert (problem.field, problem.line) == ("placed_at", 1)  # type: ignore[attr-defined]
    assert problem.rule == "must not be NaT (missing)"
    assert "row 1: column 'placed_at' must not be NaT" in str(info.value)
    with pytest.raises(DataFormatErrorGroup, match="row 0: column 'placed_at' must not be missing"):
        OrderLog.from_arrays(["a"], [None], [1])  # type: ignore[list-item]


# -- amounts and sums that int64 fen cannot hold ----------------------------------------------
# The rule: one order is at most 10^15 fen (¥10 trillion), and all amounts of a log together
# at most 2^63 - 1 = 9,223,372,036,854,775,807 fen, so every per-customer sum fits.
TYPO_FEN = 999_999_999_999_999_999  # < 2^63, but twelve of them sum to ~1.2 * 10^19


def _placed(n: int) -> np.ndarray:
    return np.datetime64("2024-05-01T10:00", "us") + np.arange(n) * np.timedelta64(1, "m")


def test_from_arrays_refuses_each_order_over_ten_to_the_fifteen_fen() -> None:
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_arrays(["a"] * 12, _placed(12), [TYPO_FEN] * 12, tz=SH)
    problems = info.value.problems  # type: ignore[attr-defined]
    assert [(p.line, p.column, p.value) for p in problems] == [
        (row, "amounts", TYPO_FEN) for row in range(12)
    ]
    assert "must be at most 10^15 fen" in str(info.value)
    # the limit itself is an amount; one fen more is not
    assert OrderLog.from_arrays(["a"], _placed(1), [10**15], tz=SH).amount_fen.tolist() == [10**15]
    with pytest.raises(DataFormatErrorGroup, match=r"row 1: column 'amounts' must be at most 10\^15"):
        OrderLog.from_arrays(["a", "b"], _placed(2), [1, 10**15 + 1], tz=SH)
    # Python ints and uint64 past int64 are reported too, not wrapped or raised raw
    with pytest.raises(DataFormatErrorGroup, match="row 0"):
        OrderLog.from_arrays(["a"], _placed(1), [2**64], tz=SH)
    with pytest.raises(DataFormatErrorGroup, match="row 0"):
        OrderLog.from_arrays(["a"], _placed(1), np.asarray([2**63], dtype=np.uint64), tz=SH)


def test_from_arrays_refuses_amounts_whose_total_overflows_int64() -> None:
    # 9,224 orders of 10^15 fen = 9.224 * 10^18 > 9,223,372,036,854,775,807
    with pytest.raises(InvalidValueError, match="must sum to at most 9,223,372,036,854,775,807"):
        OrderLog.from_arrays(["a"] * 9_224, _placed(9_224), [10**15] * 9_224, tz=SH)
    # 9,223 of them (9.223 * 10^18) fit, and one customer's spend is exact
    log = OrderLog.from_arrays(["a"] * 9_223, _placed(9_223), [10**15] * 9_223, tz=SH)
    result = score(log, as_of=dt.datetime(2024, 6, 1, tzinfo=SH), warn_undersized=False)
    assert result.row("a").monetary == Money(9_223 * 10**15)


def test_from_orders_refuses_each_order_over_ten_to_the_fifteen_fen() -> None:
    rows = [_order(f"T{i}", "a", 1 + i, TYPO_FEN) for i in range(12)]
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_orders(rows)
    problems = info.value.problems  # type: ignore[attr-defined]
    assert [(p.line, p.column) for p in problems] == [(i, "amount") for i in range(12)]
    with pytest.raises(DataFormatErrorGroup, match=r"row 1: column 'amount'"):
        OrderLog.from_orders([_order("T1", "a", 1, 10**15), _order("T2", "a", 2, 2**62)])


def test_csv_refuses_amounts_over_the_limit_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\n" + "".join(
        f"a,2024-05-{1 + i:02d} 10:00,{TYPO_FEN}\n" for i in range(12)), encoding="utf-8")
    with pytest.raises(DataFormatErrorGroup) as info:
        read_orders_csv(path)
    problems = info.value.problems  # type: ignore[attr-defined]
    assert [(p.line, p.column, p.value) for p in problems] == [
        (line, "amount", str(TYPO_FEN)) for line in range(2, 14)
    ]
    yuan = tmp_path / "yuan.csv"
    yuan.write_text(
        "customer_id,placed_at,amount\n"
        "a,2024-05-01 10:00,10000000000000.00\n"   # exactly 10^15 fen: fine
        "b,2024-05-01 10:00,10000000000000.01\n",  # one fen over
        encoding="utf-8",
    )
    with pytest.raises(DataFormatErrorGroup, match=r"yuan.csv:3: column 'amount' must be at most 10\^15"):
        read_orders_csv(yuan, columns={"amount_unit": "yuan"})
