"""Invariants of RFM scoring, checked with ecrm.testing strategies."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from rfm_helpers import reference_scores

from ecrm import Money, Order, OrderLog, OrderStatus
from ecrm.rfm import TAOBAO_PGSB, RfmResult, RfmScheme, score
from ecrm.testing import aware_datetimes, order_logs, orders, rfm_schemes

ZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Australia/Lord_Howe")
as_ofs = aware_datetimes(min_value=dt.datetime(2023, 3, 1), max_value=dt.datetime(2025, 9, 30))
logs = st.sampled_from(ZONES).flatmap(lambda tz: order_logs(max_size=16, max_customers=6, tz=tz))
schemes = st.one_of(st.just(TAOBAO_PGSB), rfm_schemes())

COLUMNS = ("customer_ids", "last_order_us", "recency_days", "frequency", "monetary_fen",
           "r", "f", "m", "total", "grade")


def quiet(log: OrderLog, as_of: dt.datetime, scheme: RfmScheme = TAOBAO_PGSB) -> RfmResult:
    return score(log, as_of=as_of, scheme=scheme, warn_undersized=False)


def as_dict(res: RfmResult) -> dict[str, list[Any]]:
    out = {name: getattr(res, name).tolist() for name in COLUMNS}
    out["unscored"] = sorted(res.unscored_customer_ids.tolist())
    return out


@given(log=logs, as_of=as_ofs, scheme=schemes)
def test_scores_agree_with_a_plain_python_recomputation(
    log: OrderLog, as_of: dt.datetime, scheme: RfmScheme
) -> None:
    orders_ = list(log)
    expected = reference_scores(orders_, as_of, scheme, log.tz)
    res = quiet(log, as_of, scheme)
    got = {row.customer_id: row for row in res.rows()}
    assert set(got) == set(expected)
    for cid, want in expected.items():
        row = got[cid]
        assert row.recency_days == want["recency_days"], cid
        assert row.frequency == want["frequency"], cid
        assert row.monetary.fen == want["monetary_fen"], cid
        assert (row.r, row.f, row.m) == (want["r"], want["f"], want["m"]), cid
        assert row.total == want["total"], cid
        assert row.grade.value == want["grade"], cid
    for cid in expected:  # lookups by id find the same rows
        assert res.row(cid) == got[cid]
        assert res.explain(cid).startswith(f"customer {cid!r} as of")
    all_ids = {o.customer_id for o in orders_}
    assert set(res.unscored_customer_ids.tolist()) == all_ids - set(expected)
    for cid in all_ids - set(expected):
        assert "not scored: no valid order" in res.explain(cid)
        assert not res.is_scored(cid)


@given(
    rows=st.lists(orders(customer_ids=st.sampled_from(["a", "b", "c", "d"]),
                         placed_at=aware_datetimes(min_value=dt.datetime(2023, 1, 1),
                                                   max_value=dt.datetime(2025, 6, 30))),
                  max_size=25, unique_by=lambda o: o.order_id),
    as_of=as_ofs,
    scheme=schemes,
    data=st.data(),
)
def test_result_is_independent_of_input_row_order(
    rows: list[Order], as_of: dt.datetime, scheme: RfmScheme, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(rows))
    a = quiet(OrderLog.from_orders(rows), as_of, scheme)
    b = quiet(OrderLog.from_orders(shuffled), as_of, scheme)
    assert as_dict(a) == as_dict(b)


@given(
    log=logs,
    as_of=as_ofs,
    scheme=schemes,
    customer=st.sampled_from(["c0001", "c0002", "c0003", "new-customer"]),
    fen=st.integers(min_value=0, max_value=500_000),
    seconds_before=st.integers(min_value=1, max_value=3600),
)
# (a hypothesis find: 02:30 is just after Lord Howe's half-hour DST gap, and wall-clock
# arithmetic put the order at 02:29:59, a time in the gap that is half an hour *after* as_of)
@example(log=OrderLog.from_orders([], tz="Asia/Shanghai"),
         as_of=dt.datetime(2024, 10, 6, 2, 30, tzinfo=ZoneInfo("Australia/Lord_Howe")),
         scheme=TAOBAO_PGSB, customer="c0001", fen=0, seconds_before=1)
def test_a_valid_order_just_before_as_of_never_lowers_a_total(
    log: OrderLog, as_of: dt.datetime, scheme: RfmScheme, customer: str, fen: int,
    seconds_before: int,
) -> None:
    # seconds before as_of on the clock of the world (UTC), not on the wall of as_of's zone
    placed = (as_of.astimezone(dt.UTC) - dt.timedelta(seconds=seconds_before)).astimezone(
        as_of.tzinfo)
    extra = Order(
        order_id="extra-order", customer_id=customer, placed_at=placed, amount=Money(fen),
        status=OrderStatus.PAID,
    )
    before = quiet(log, as_of, scheme)
    after = quiet(OrderLog.from_orders([*log, extra], tz=log.tz), as_of, scheme)
    old = dict(zip(before.customer_ids.tolist(), before.total.tolist(), strict=True))
    new = dict(zip(after.customer_ids.tolist(), after.total.tolist(), strict=True))
    assert set(old) <= set(new)
    assert customer in new
    for cid, total in old.items():
        assert new[cid] >= total, cid
    old_grades = dict(zip(before.customer_ids.tolist(), before.grade.tolist(), strict=True))
    new_grades = dict(zip(after.customer_ids.tolist(), after.grade.tolist(), strict=True))
    for cid, grade in old_grades.items():
        assert new_grades[cid] >= grade, cid


@given(log=logs, as_of=as_ofs, scheme=schemes)
def test_money_stays_integer_and_scores_stay_inside_the_scheme(
    log: OrderLog, as_of: dt.datetime, scheme: RfmScheme
) -> None:
    res = quiet(log, as_of, scheme)
    assert res.monetary_fen.dtype == np.int64
    for name in ("recency_days", "frequency", "r", "f", "m", "total"):
        assert getattr(res, name).dtype.kind == "i", name
    for row in res.rows():
        assert isinstance(row.monetary, Money)
        assert type(row.monetary.fen) is int
    assert (res.frequency >= 1).all()
    assert (res.recency_days >= 0).all()
    assert set(res.r.tolist()) <= set(scheme.recency.scores)
    assert set(res.f.tolist()) <= set(scheme.frequency.scores)
    assert set(res.m.tolist()) <= set(scheme.monetary.scores)
    assert ((res.total >= scheme.min_total) & (res.total <= scheme.max_total)).all()
    assert sum(res.grade_counts().values()) == len(res)
    assert len(res) + len(res.unscored_customer_ids) == log.n_customers


@given(
    rows=st.lists(orders(customer_ids=st.sampled_from(["a", "b", "c", 'd"q', "客户"]),
                         placed_at=aware_datetimes(min_value=dt.datetime(2023, 1, 1),
                                                   max_value=dt.datetime(2025, 9, 30)),
                         max_amount=400_000),
                  max_size=20, unique_by=lambda o: o.order_id),
    tz=st.sampled_from(ZONES),
    as_of=as_ofs,
    scheme=schemes,
)
def test_scores_agree_with_a_recomputation_over_the_orders_as_drawn(
    rows: list[Order], tz: str, as_of: dt.datetime, scheme: RfmScheme
) -> None:
    # The reference reads the drawn Order values themselves, not the log's view of them,
    # so a fault in building the log (times, refunds, statuses) shows up here too.
    expected = reference_scores(rows, as_of, scheme, ZoneInfo(tz))
    res = quiet(OrderLog.from_orders(rows, tz=tz), as_of, scheme)
    got = {
        row.customer_id: {
            "recency_days": row.recency_days, "frequency": row.frequency,
            "monetary_fen": row.monetary.fen, "r": row.r, "f": row.f, "m": row.m,
            "total": row.total, "grade": row.grade.value,
        }
        for row in res.rows()
    }
    assert got == expected
