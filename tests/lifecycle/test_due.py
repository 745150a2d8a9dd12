"""Due lists: repurchase reminders by item cycle, inactive customers, churn warning, win-back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import SH, day, histories, is_valid, log_of, order

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, OrderStatus
from ecrm.lifecycle import (
    Bands,
    churn_warning,
    cycles_by,
    due_repurchase_reminders,
    inactive_customers,
    win_back_candidates,
)
from ecrm.testing import purchase_histories


def tea_log() -> OrderLog:
    rows = []
    for c in ("a", "b", "c"):
        rows += [order(c, day(0), skus=[("GREEN", "tea")]),
                 order(c, day(10), skus=[("GREEN", "tea")])]
    rows += [order("b", day(15), skus=[("GREEN", "tea")]),  # b's last GREEN: day 15
             order("c", day(12), skus=[("MUG", None)]),
             order("d", day(10), skus=[("GREEN", "tea")], status=OrderStatus.CLOSED)]
    return log_of(rows)


def date_of(n: int) -> dt.date:
    return day(n).date()


def test_due_on_the_day_the_last_purchase_reaches_p50() -> None:
    log = tea_log()
    table = cycles_by(log, by="sku", as_of=day(30), min_repurchasers=1)
    assert table.bands("GREEN").p50_days == 10  # a, b, c all rebought after 10 days
    due = due_repurchase_reminders(log, as_of=date_of(20), cycles=table)
    assert due.customer_ids.tolist() == ["a", "c"]  # b rebought on day 15; d's order closed
    assert due.keys.tolist() == ["GREEN", "GREEN"]
    assert due.p50_days.tolist() == [10, 10]
    assert due.scopes.tolist() == ["sku:GREEN", "sku:GREEN"]
    assert [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in due.last_purchase_days] == [
        date_of(10), date_of(10)]
    assert len(due_repurchase_reminders(log, as_of=date_of(25), cycles=table)) == 1  # b
    assert len(due_repurchase_reminders(log, as_of=date_of(19), cycles=table)) == 0
    # MUG never repurchased: it falls back to the store cycle (P50 10 as well) -> c on day 22.
    mug = due_repurchase_reminders(log, as_of=date_of(22), cycles=table)
    assert (mug.customer_ids.tolist(), mug.keys.tolist(), mug.scopes.tolist()) == (
        ["c"], ["MUG"], ["store"])
    assert due.day == date_of(20)
    assert due.by == "sku"


def test_an_order_on_the_day_itself_is_not_yet_counted() -> None:
    log = log_of([order("a", day(0), skus=[("X", "c")]), order("a", day(5), skus=[("X", "c")]),
                  order("a", day(10, 8), skus=[("X", "c")])])
    table = cycles_by(log, by="sku", as_of=day(6), min_repurchasers=1)
    # Bought on day 10 morning; the reminder list for day 10 is made from orders before it.
    due = due_repurchase_reminders(log, as_of=date_of(10), cycles=table)
    assert due.customer_ids.tolist() == ["a"]
    aware = dt.datetime.combine(date_of(10), dt.time(23), tzinfo=SH)
    assert len(due_repurchase_reminders(log, as_of=aware, cycles=table)) == 1


def test_due_by_category_and_bad_arguments() -> None:
    log = tea_log()
    table = cycles_by(log, by="category", as_of=day(30), min_repurchasers=1)
    due = due_repurchase_reminders(log, as_of=date_of(20), cycles=table)
    assert (due.customer_ids.tolist(), due.keys.tolist()) == (["a", "c"], ["tea", "tea"])
    with pytest.raises(InvalidTypeError, match="CycleTable"):
        due_repurchase_reminders(log, as_of=date_of(20), cycles=Bands(1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="as_of must be a date"):
        due_repurchase_reminders(log, as_of="2024-01-21", cycles=table)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        due_repurchase_reminders(log, as_of=dt.datetime(2024, 1, 21), cycles=table)


@given(log=purchase_histories(max_customers=8), on=st.integers(min_value=1, max_value=150),
       by=st.sampled_from(["sku", "category"]))
def test_due_reminders_match_a_plain_recomputation(log: OrderLog, on: int, by: str) -> None:
    table = cycles_by(log, by=by, as_of=day(60), min_repurchasers=1, fallback=(7, 14, 21))  # type: ignore[arg-type]
    on_date = date_of(on)
    last: dict[tuple[str, str], dt.date] = {}
    for o in log:
        d = o.placed_at.astimezone(SH).date()
        if not is_valid(o) or d >= on_date:
            continue
        for it in o.items:
            key = it.sku if by == "sku" else it.category
            if key:
                last[(str(o.customer_id), key)] = max(d, last.get((str(o.customer_id), key), d))
    expected = sorted(
        (c, k) for (c, k), d in last.items()
        if table.p_days[table.index(k), 0] >= 0
        and d + dt.timedelta(days=int(table.p_days[table.index(k), 0])) == on_date
    )
    due = due_repurchase_reminders(log, as_of=on_date, cycles=table)
    assert list(zip(due.customer_ids.tolist(), due.keys.tolist(), strict=True)) == expected


# -- inactivity lists ---------------------------------------------------------------------


def quiet_shop() -> OrderLog:
    return log_of([
        *(order(c, day(100 - d)) for c, d in [("d14", 14), ("d15", 15), ("d30", 30),
                                               ("d31", 31), ("d60", 60), ("d61", 61)]),
        order("never", day(50), status=OrderStatus.UNPAID),
    ])


def test_inactive_customers() -> None:
    r = inactive_customers(quiet_shop(), as_of=day(100, 18))
    assert r.customer_ids.tolist() == ["d30", "d31", "d60", "d61"]
    assert r.days_since_last.tolist() == [30, 31, 60, 61]
    exact = inactive_customers(quiet_shop(), as_of=day(100, 18), days=30, exact=True)
    assert exact.customer_ids.tolist() == ["d30"]
    assert "30" in exact.reason
    with pytest.raises(InvalidValueError, match="days must be >= 0"):
        inactive_customers(quiet_shop(), as_of=day(100), days=-1)
    with pytest.raises(InvalidTypeError, match="days must be an int"):
        inactive_customers(quiet_shop(), as_of=day(100), days=1.5)  # type: ignore[arg-type]


def test_churn_warning_leaves_out_the_already_churned() -> None:
    shop = quiet_shop()
    assert churn_warning(shop, as_of=day(100, 18)).customer_ids.tolist() == [
        "d15", "d30", "d31", "d60", "d61"]
    warned = churn_warning(shop, as_of=day(100, 18), cycle=Bands(10, 20, 30))
    assert warned.customer_ids.tolist() == ["d15", "d30"]
    assert churn_warning(shop, as_of=day(100, 18), exact=True).customer_ids.tolist() == ["d15"]


def test_win_back_window() -> None:
    r = win_back_candidates(quiet_shop(), as_of=day(100, 18), cycle=Bands(10, 20, 30))
    assert r.customer_ids.tolist() == ["d31", "d60"]  # 30 < days <= 60
    assert len(r) == 2
    none = win_back_candidates(histories({"x": [99]}), as_of=day(100), cycle=(1, 2, 3))
    assert len(none) == 0


def test_on_is_a_deprecated_alias_of_as_of() -> None:
    log = tea_log()
    table = cycles_by(log, by="sku", as_of=day(30), min_repurchasers=1)
    old: Any = {"on": date_of(20)}
    with pytest.warns(DeprecationWarning, match=r"the keyword on= .*use as_of= instead"):
        due = due_repurchase_reminders(log, cycles=table, **old)
    assert due.customer_ids.tolist() == ["a", "c"]  # as in the as_of= test above
    assert due.day == date_of(20)
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias on="):
        due_repurchase_reminders(log, cycles=table, as_of=date_of(20), **old)


def test_the_due_day_field_was_on() -> None:
    """``DueReminders.on`` is the deprecated alias of ``.day`` (the local due date)."""
    log = tea_log()
    table = cycles_by(log, by="sku", as_of=day(30), min_repurchasers=1)
    due = due_repurchase_reminders(log, as_of=date_of(20), cycles=table)
    with pytest.warns(DeprecationWarning, match=r"DueReminders\.on is deprecated.*\.day"):
        assert due.on == date_of(20)
