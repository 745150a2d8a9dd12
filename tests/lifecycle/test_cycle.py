"""repurchase_cycle: hand-worked examples, edge cases, the plain and textbook references,
properties, snapshots and bad input."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import (
    QS,
    SH,
    day,
    first_intervals,
    histories,
    km_curve,
    km_p,
    km_subjects,
    log_of,
    order,
    purchases,
    reference_cycle,
)

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, OrderStatus
from ecrm.lifecycle import CYCLE_SCHEMA_VERSION, Bands, RepurchaseCycle, repurchase_cycle
from ecrm.testing import purchase_histories, repurchase_cycles

AS_OF = day(200)
US = dt.timedelta(microseconds=1)


def young_shop() -> OrderLog:
    """5 repurchasers (3 after 7 days, 2 after 30), 5 recent buyers, 1 old one-timer."""
    spec: dict[str, list[int]] = {f"r{i}": [0, 7] for i in range(3)}
    spec |= {f"s{i}": [0, 30] for i in range(2)}
    spec |= {f"n{i}": [50] for i in range(5)}
    spec["old"] = [0]
    return histories(spec)


# -- hand-worked examples ------------------------------------------------------------------


def test_observed_quantiles_of_ten_intervals() -> None:
    """Intervals 1..10: at least 50% within 5 days, 70% within 7, 90% within 9."""
    log = histories({f"c{i}": [0, i] for i in range(1, 11)} | {"x": [3], "y": [4]})
    c = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1)
    assert (c.p50_days, c.p70_days, c.p90_days) == (5, 7, 9)
    assert (c.n_first_time_buyers, c.n_repurchasers) == (12, 10)
    assert c.repurchase_rate == pytest.approx(10 / 12)
    assert c.curve_days == tuple(range(1, 11))
    assert c.curve_share == pytest.approx([i / 10 for i in range(1, 11)])
    assert c.scope == "store"
    assert c.estimate == Bands(5, 7, 9)


def test_quantile_needs_at_least_q_not_more_than_q() -> None:
    """4 repurchasers at 1, 2, 3, 4 days: 50% is reached at 2 days exactly (2 of 4)."""
    log = histories({f"c{i}": [0, i] for i in range(1, 5)})
    c = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1)
    # 50% of 4 = 2 -> 2 days; 70% of 4 = 2.8 -> 3 of them -> 3 days; 90% = 3.6 -> 4 days.
    assert (c.p50_days, c.p70_days, c.p90_days) == (2, 3, 4)


def test_young_shop_observed_is_shorter_than_kaplan_meier() -> None:
    """Recent buyers have not had time to repurchase: observed P50 7 days, KM P50 30 days.

    KM by hand at as_of = day 60: t=7: 11 at risk, 3 events, S = 8/11;
    t=30: 3 at risk (the 5 recent buyers were censored at 10), 2 events, S = 8/11 · 1/3.
    F(7) = 3/11, F(30) = 25/33; 0.5 · F(30) = 25/66 > 3/11, so P50 = 30.
    """
    log = young_shop()
    as_of = day(60)
    obs = repurchase_cycle(log, as_of=as_of, min_repurchasers=1)
    km = repurchase_cycle(log, as_of=as_of, method="kaplan-meier", min_repurchasers=1)
    assert (obs.p50_days, obs.p70_days, obs.p90_days) == (7, 30, 30)
    assert (km.p50_days, km.p70_days, km.p90_days) == (30, 30, 30)
    assert km.n_first_time_buyers == obs.n_first_time_buyers == 11
    assert km.n_repurchasers == obs.n_repurchasers == 5
    assert km.curve_days == (7, 30)
    assert km.curve_share == pytest.approx([float(Fraction(3, 11) / Fraction(25, 33)), 1.0])
    assert obs.curve_share == pytest.approx([0.6, 1.0])


def test_kaplan_meier_counts_censored_at_the_event_time_as_at_risk() -> None:
    """A customer censored at 10 days is still at risk for an event at 10 days."""
    log = histories({"a": [0, 10], "b": [0, 20], "c": [90]})  # c censored at 10 (as_of day 100)
    km = repurchase_cycle(log, as_of=day(100), method="kaplan-meier", min_repurchasers=1)
    # t=10: 3 at risk, 1 event, S=2/3; t=20: 1 at risk, S=0. F(10)=1/3 < 1/2 -> P50 = 20.
    assert km.p50_days == 20
    assert km.curve_share == pytest.approx([1 / 3, 1.0])


# -- edge cases ---------------------------------------------------------------------------


def test_no_repurchaser_gives_no_bands_without_fallback() -> None:
    log = histories({"a": [0], "b": [3], "c": [9]})
    for method in ("observed", "kaplan-meier"):
        c = repurchase_cycle(log, as_of=AS_OF, method=method)  # type: ignore[arg-type]
        assert (c.p50_days, c.p70_days, c.p90_days) == (None, None, None)
        assert (c.n_first_time_buyers, c.n_repurchasers, c.repurchase_rate) == (3, 0, 0.0)
        assert c.curve_days == ()
        assert c.estimate is None
        assert not c.has_bands
        with pytest.raises(InvalidValueError, match="no 5221 boundaries"):
            _ = c.bands


def test_no_repurchaser_with_fallback_takes_the_fallback() -> None:
    log = histories({"a": [0], "b": [3]})
    c = repurchase_cycle(log, as_of=AS_OF, fallback=(20, 30, 45))
    assert (c.p50_days, c.p70_days, c.p90_days, c.scope) == (20, 30, 45, "default")
    category = RepurchaseCycle(
        p50_days=11, p70_days=12, p90_days=13, n_first_time_buyers=100, n_repurchasers=40,
        repurchase_rate=0.4, curve_days=(), curve_share=(), method="observed",
        same_day="merge", scope="category:tea", min_repurchasers=30, estimate=Bands(11, 12, 13),
        as_of=AS_OF,
    )
    c2 = repurchase_cycle(log, as_of=AS_OF, fallback=category)
    assert (c2.bands, c2.scope) == (Bands(11, 12, 13), "category:tea")
    assert c2.n_first_time_buyers == 2  # the counts stay the store's own


def test_thin_sample_uses_fallback_but_keeps_its_own_estimate() -> None:
    log = histories({"a": [0, 5], "b": [0, 9], "c": [1]})
    c = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=3, fallback=Bands(20, 30, 45))
    assert c.bands == Bands(20, 30, 45)
    assert c.scope == "default"
    assert c.estimate == Bands(5, 9, 9)
    thin = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=3)
    assert thin.bands == Bands(5, 9, 9)
    assert thin.scope == "store"
    enough = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=2, fallback=Bands(20, 30, 45))
    assert enough.bands == Bands(5, 9, 9)
    assert enough.scope == "store"


def test_empty_log_and_one_customer() -> None:
    empty = OrderLog.from_orders([])
    c = repurchase_cycle(empty, as_of=AS_OF)
    assert (c.n_first_time_buyers, c.n_repurchasers, c.p50_days) == (0, 0, None)
    one = histories({"solo": [4]})
    assert repurchase_cycle(one, as_of=AS_OF).n_first_time_buyers == 1
    twice = histories({"solo": [4, 15, 16]})
    for method in ("observed", "kaplan-meier"):
        c1 = repurchase_cycle(twice, as_of=AS_OF, method=method, min_repurchasers=1)  # type: ignore[arg-type]
        assert c1.bands == Bands(11, 11, 11)


def test_every_order_on_one_day() -> None:
    """Same-day orders are one purchase day (merge) or separate purchases, 0 days apart."""
    log = log_of([order(c, day(3, h)) for c in ("a", "b") for h in (9, 13, 20)])
    merged = repurchase_cycle(log, as_of=AS_OF)
    assert merged.n_repurchasers == 0
    assert merged.p50_days is None
    counted = repurchase_cycle(log, as_of=AS_OF, same_day="count", min_repurchasers=1)
    assert counted.n_repurchasers == 2
    assert counted.bands == Bands(0, 0, 0)


def test_orders_at_or_after_as_of_are_ignored() -> None:
    as_of = day(10)
    log = log_of([order("a", day(0)), order("a", as_of), order("b", day(0)),
                  order("b", as_of - US), order("c", as_of + dt.timedelta(days=3))])
    c = repurchase_cycle(log, as_of=as_of, min_repurchasers=1)
    assert (c.n_first_time_buyers, c.n_repurchasers) == (2, 1)
    assert c.bands == Bands(10, 10, 10)


@pytest.mark.parametrize(
    ("status", "refunded", "counts"),
    [
        (OrderStatus.REFUNDED, 0, False),
        (OrderStatus.COMPLETED, 10_000, False),  # fully refunded
        (OrderStatus.CLOSED, 0, False),
        (OrderStatus.UNPAID, 0, False),
        (OrderStatus.SHIPPED, 5_000, True),  # partly refunded is still a purchase
        (OrderStatus.COMPLETED, 0, True),
    ],
)
def test_invalid_second_orders_are_not_repurchases(
    status: OrderStatus, refunded: int, counts: bool
) -> None:
    log = log_of([order("a", day(0)), order("a", day(6), status=status, refunded=refunded),
                  order("a", day(20))])
    c = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1)
    assert c.p50_days == (6 if counts else 20)
    km = repurchase_cycle(log, as_of=AS_OF, method="kaplan-meier", min_repurchasers=1)
    assert km.bands == Bands(*(3 * (6 if counts else 20,)))  # one subject, one event
    only_two = log_of([order("a", day(0)),
                       order("a", day(6), status=status, refunded=refunded),
                       order("b", day(0)), order("b", day(8))])
    # Without a valid second order, a is censored at 200 days: KM still answers by b alone
    # (t=8: 2 at risk, 1 event, F = 1/2 = F(t_max)); with it, t=6 and t=8 split 1/2, 1.
    km2 = repurchase_cycle(only_two, as_of=AS_OF, method="kaplan-meier", min_repurchasers=1)
    assert km2.bands == (Bands(6, 8, 8) if counts else Bands(8, 8, 8))
    assert km2.n_repurchasers == (2 if counts else 1)
    assert km2.curve_share == ((0.5, 1.0) if counts else (1.0,))


def test_edge_cases_under_kaplan_meier_by_hand() -> None:
    """The issue's edge cases again with method="kaplan-meier", each worked by hand."""
    km = {"method": "kaplan-meier", "min_repurchasers": 1}
    # No repurchaser at all: every subject censored, no event, no boundaries.
    none = repurchase_cycle(histories({"a": [0], "b": [3]}), as_of=AS_OF, **km)  # type: ignore[arg-type]
    assert (none.p50_days, none.n_first_time_buyers, none.n_repurchasers) == (None, 2, 0)
    # One customer, censored (no repurchase) or with one event at 11 days.
    assert repurchase_cycle(histories({"solo": [4]}), as_of=AS_OF, **km).p50_days is None  # type: ignore[arg-type]
    # Every order on one day: merged, nobody repurchased; counted, both at 0 days (F(0) = 1).
    one_day = log_of([order(c, day(3, h)) for c in ("a", "b") for h in (9, 13, 20)])
    assert repurchase_cycle(one_day, as_of=AS_OF, **km).p50_days is None  # type: ignore[arg-type]
    counted = repurchase_cycle(one_day, as_of=AS_OF, same_day="count", **km)  # type: ignore[arg-type]
    assert (counted.bands, counted.curve_days, counted.curve_share) == (Bands(0, 0, 0), (0,), (1.0,))
    # Orders at or after as_of: a's second order (at as_of) is not seen, so a is censored at
    # 10 days; b repurchased at 10 days (1 µs before as_of). At t=10 both are at risk,
    # 1 event: S = 1/2, F = 1/2 = F(t_max), every quantile 10 days.
    as_of = day(10)
    after = log_of([order("a", day(0)), order("a", as_of), order("b", day(0)),
                    order("b", as_of - US), order("c", as_of + dt.timedelta(days=3))])
    c = repurchase_cycle(after, as_of=as_of, **km)  # type: ignore[arg-type]
    assert (c.bands, c.n_first_time_buyers, c.n_repurchasers) == (Bands(10, 10, 10), 2, 1)
    assert c.repurchase_rate == 0.5


def test_statuses_parameter_decides_what_is_valid() -> None:
    log = log_of([order("a", day(0)), order("a", day(2), status=OrderStatus.UNPAID)])
    assert repurchase_cycle(log, as_of=AS_OF).n_repurchasers == 0
    c = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1,
                         statuses=[OrderStatus.PAID, OrderStatus.UNPAID])
    assert c.bands == Bands(2, 2, 2)


def test_days_are_local_calendar_days_of_the_store() -> None:
    """23:50 and 00:10 the next night in Shanghai are 1 purchase day apart."""
    late = dt.datetime(2024, 3, 1, 23, 50, tzinfo=SH)
    early = dt.datetime(2024, 3, 2, 0, 10, tzinfo=SH)
    log = log_of([order("a", late), order("a", early)])
    assert repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1).bands == Bands(1, 1, 1)
    # In UTC both moments fall on 2024-03-01: one purchase day.
    utc = log_of([order("a", late), order("a", early)], tz="UTC")
    assert repurchase_cycle(utc, as_of=AS_OF).n_repurchasers == 0


def test_dst_zone_days() -> None:
    ny = ZoneInfo("America/New_York")
    log = log_of([order("a", dt.datetime(2024, 3, 9, 23, 30, tzinfo=ny)),
                  order("a", dt.datetime(2024, 3, 11, 0, 30, tzinfo=ny))], tz=ny)
    c = repurchase_cycle(log, as_of=dt.datetime(2024, 4, 1, tzinfo=ny), min_repurchasers=1)
    assert c.bands == Bands(2, 2, 2)


# -- against the plain and textbook references ---------------------------------------------

as_of_days = st.integers(min_value=0, max_value=140).map(lambda n: day(n, 0))


@given(log=purchase_histories(), as_of=as_of_days,
       same_day=st.sampled_from(["merge", "count"]))
def test_observed_matches_plain_recomputation(log: OrderLog, as_of: dt.datetime,
                                              same_day: str) -> None:
    ref = reference_cycle(log, as_of, same_day=same_day).get(None, ((None,) * 3, 0, 0))
    c = repurchase_cycle(log, as_of=as_of, same_day=same_day, min_repurchasers=1)  # type: ignore[arg-type]
    assert ((c.p50_days, c.p70_days, c.p90_days), c.n_first_time_buyers, c.n_repurchasers) == ref


@given(log=purchase_histories(), as_of=as_of_days,
       same_day=st.sampled_from(["merge", "count"]))
def test_kaplan_meier_matches_textbook(log: OrderLog, as_of: dt.datetime, same_day: str) -> None:
    ref = reference_cycle(log, as_of, method="kaplan-meier", same_day=same_day)
    expected = ref.get(None, ((None,) * 3, 0, 0))
    c = repurchase_cycle(log, as_of=as_of, method="kaplan-meier", same_day=same_day,  # type: ignore[arg-type]
                         min_repurchasers=1)
    got = ((c.p50_days, c.p70_days, c.p90_days), c.n_first_time_buyers, c.n_repurchasers)
    assert got == expected
    curve = km_curve(km_subjects(purchases(log, as_of, same_day=same_day),
                                 as_of.astimezone(log.tz).date()))
    assert c.curve_days == tuple(t for t, _ in curve)
    if curve:
        f_max = curve[-1][1]
        assert c.curve_share == pytest.approx([float(f / f_max) for _, f in curve], rel=1e-12)


@given(log=purchase_histories(), as_of=as_of_days)
def test_observed_curve_is_the_share_of_repurchasers(log: OrderLog, as_of: dt.datetime) -> None:
    intervals = sorted(first_intervals(purchases(log, as_of)).values())
    c = repurchase_cycle(log, as_of=as_of, min_repurchasers=1)
    days = sorted(set(intervals))
    assert c.curve_days == tuple(days)
    assert c.curve_share == pytest.approx(
        [sum(v <= d for v in intervals) / len(intervals) for d in days], rel=1e-12)


@given(intervals=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=25))
def test_without_censoring_kaplan_meier_equals_observed(intervals: list[int]) -> None:
    """When everybody repurchased, F(t) is the observed share and the quantiles agree."""
    log = histories({f"c{i}": [0, iv] for i, iv in enumerate(intervals)})
    obs = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1)
    km = repurchase_cycle(log, as_of=AS_OF, method="kaplan-meier", min_repurchasers=1)
    assert obs.bands == km.bands
    assert km.curve_share == pytest.approx(obs.curve_share)


# -- properties -----------------------------------------------------------------------------


@given(log=purchase_histories(), as_of=as_of_days,
       method=st.sampled_from(["observed", "kaplan-meier"]),
       same_day=st.sampled_from(["merge", "count"]))
def test_quantiles_are_ordered(log: OrderLog, as_of: dt.datetime, method: str,
                               same_day: str) -> None:
    c = repurchase_cycle(log, as_of=as_of, method=method, same_day=same_day,  # type: ignore[arg-type]
                         min_repurchasers=1)
    if c.n_repurchasers:
        assert c.p50_days is not None
        assert c.p70_days is not None
        assert c.p90_days is not None
        assert 0 <= c.p50_days <= c.p70_days <= c.p90_days
        assert list(c.curve_days) == sorted(set(c.curve_days))
        assert list(c.curve_share) == sorted(c.curve_share)
        assert c.curve_share[-1] == 1.0
    else:
        assert c.p50_days is None
        assert c.curve_days == ()


@given(log=purchase_histories(), seed=st.integers(min_value=0, max_value=2**32 - 1),
       method=st.sampled_from(["observed", "kaplan-meier"]))
def test_cycle_does_not_depend_on_row_order(log: OrderLog, seed: int, method: str) -> None:
    rows = list(log)
    random.Random(seed).shuffle(rows)
    shuffled = OrderLog.from_orders(rows, tz=log.tz)
    kw = {"as_of": day(90), "method": method, "min_repurchasers": 1}
    assert repurchase_cycle(shuffled, **kw) == repurchase_cycle(log, **kw)  # type: ignore[arg-type]


def _columns_shuffled(log: OrderLog, seed: int) -> OrderLog:
    """The same shop built column-wise with its orders and its order lines each in a new
    random order (the way a CSV or a DataFrame might hold them)."""
    import numpy as np

    from ecrm import OrderItems

    rnd = random.Random(seed)
    orders = list(log)
    rnd.shuffle(orders)
    lines = [(o.order_id, it) for o in orders for it in o.items]
    rnd.shuffle(lines)
    items = OrderItems.from_arrays(
        order_ids=[oid for oid, _ in lines], skus=[it.sku for _, it in lines],
        unit_price_fen=[it.unit_price.fen for _, it in lines],
        quantities=[it.quantity for _, it in lines],
        categories=[it.category or "" for _, it in lines],
    )
    return OrderLog.from_arrays(
        np.asarray([o.customer_id for o in orders]), [o.placed_at for o in orders],
        [o.amount.fen for o in orders], tz=log.tz, statuses=[o.status for o in orders],
        order_ids=[o.order_id for o in orders],
        refunded=[o.refunded_amount.fen for o in orders], items=items,
    )


@given(log=purchase_histories(), seed=st.integers(min_value=0, max_value=2**32 - 1),
       method=st.sampled_from(["observed", "kaplan-meier"]),
       same_day=st.sampled_from(["merge", "count"]),
       as_of=st.integers(min_value=0, max_value=140).map(lambda n: day(n, 0)))
def test_cycles_and_stages_do_not_depend_on_the_order_of_columns(
    log: OrderLog, seed: int, method: str, same_day: str, as_of: dt.datetime
) -> None:
    """Orders and lines shuffled column-wise: the store cycle, every SKU's and category's
    cycle and every stage are the same."""
    from ecrm.lifecycle import cycles_by, stages

    shuffled = _columns_shuffled(log, seed)
    kw = {"as_of": as_of, "method": method, "same_day": same_day, "min_repurchasers": 2}
    a = repurchase_cycle(log, **kw)  # type: ignore[arg-type]
    assert repurchase_cycle(shuffled, **kw) == a  # type: ignore[arg-type]
    for by in ("sku", "category"):
        t1 = cycles_by(log, by=by, **kw)  # type: ignore[arg-type]
        t2 = cycles_by(shuffled, by=by, **kw)  # type: ignore[arg-type]
        assert t2.keys.tolist() == t1.keys.tolist()
        assert t2.p_days.tolist() == t1.p_days.tolist()
        assert t2.estimate_days.tolist() == t1.estimate_days.tolist()
        assert t2.scopes.tolist() == t1.scopes.tolist()
        assert (t2.categories is None) == (t1.categories is None)
        if t1.categories is not None and t2.categories is not None:
            assert t2.categories.tolist() == t1.categories.tolist()
        assert t2.n_repurchasers.tolist() == t1.n_repurchasers.tolist()
    bands = a.bands if a.has_bands else Bands(7, 14, 30)
    s1, s2 = stages(log, as_of=as_of, cycle=bands), stages(shuffled, as_of=as_of, cycle=bands)
    assert s2.customer_ids.tolist() == s1.customer_ids.tolist()
    assert s2.stage_codes.tolist() == s1.stage_codes.tolist()
    assert s2.days_since_last.tolist() == s1.days_since_last.tolist()


@given(log=purchase_histories(min_customers=2), data=st.data())
def test_a_customer_who_never_repurchases(log: OrderLog, data: st.DataObject) -> None:
    """Observed quantiles do not move; Kaplan–Meier ones move only as one more censored
    subject (at the days from its purchase to as_of) in the textbook estimate.

    The newcomer's censoring time is often drawn equal to an event time, where the textbook
    keeps a subject censored at t in the risk set of t."""
    as_of = day(121, 0)
    subjects = km_subjects(purchases(log, as_of), as_of.date())
    events = sorted({t for t, e in subjects if e})
    at_an_event = [121 - t for t in events if t >= 1]  # censored at t <=> first day 121 - t
    first = data.draw(st.sampled_from(at_an_event) | st.integers(0, 120) if at_an_event
                      else st.integers(0, 120), label="first purchase day of the newcomer")
    censored_at = (as_of.date() - day(first).date()).days
    assert censored_at == 121 - first
    rows = [*log, order("newcomer", day(first))]
    bigger = OrderLog.from_orders(rows, tz=log.tz)
    before = repurchase_cycle(log, as_of=as_of, min_repurchasers=1)
    after = repurchase_cycle(bigger, as_of=as_of, min_repurchasers=1)
    assert after.n_first_time_buyers == before.n_first_time_buyers + 1
    assert (after.estimate, after.n_repurchasers) == (before.estimate, before.n_repurchasers)
    assert (after.curve_days, after.curve_share) == (before.curve_days, before.curve_share)
    km_after = repurchase_cycle(bigger, as_of=as_of, method="kaplan-meier", min_repurchasers=1)
    with_one_more = [*subjects, (censored_at, False)]
    assert (km_after.p50_days, km_after.p70_days, km_after.p90_days) == tuple(
        km_p(with_one_more, q) for q in QS
    )
    curve = km_curve(with_one_more)
    assert km_after.curve_days == tuple(t for t, _ in curve)
    if curve:
        assert km_after.curve_share == pytest.approx(
            [float(f / curve[-1][1]) for _, f in curve], rel=1e-12)
    assert km_after.n_repurchasers == before.n_repurchasers
    if events and censored_at < events[0]:
        km_before = repurchase_cycle(log, as_of=as_of, method="kaplan-meier", min_repurchasers=1)
        assert km_after.estimate == km_before.estimate  # censored before any event: no effect
        assert km_after.curve_share == km_before.curve_share


# -- snapshots ------------------------------------------------------------------------------


@given(cycle=repurchase_cycles())
def test_snapshot_round_trip_is_exact(cycle: RepurchaseCycle) -> None:
    back = RepurchaseCycle.from_json(cycle.to_json())
    assert back == cycle
    assert back.as_of.utcoffset() == cycle.as_of.utcoffset()
    assert back.to_json() == cycle.to_json()


def test_snapshot_of_a_real_cycle_is_versioned() -> None:
    c = repurchase_cycle(young_shop(), as_of=day(60), method="kaplan-meier", min_repurchasers=1)
    data = c.to_dict()
    assert data["schema_version"] == CYCLE_SCHEMA_VERSION == 1
    assert data["kind"] == "ecrm.RepurchaseCycle"
    assert data["tz"] == "Asia/Shanghai"
    back = RepurchaseCycle.from_json(c.to_json())
    assert back == c
    assert back.as_of.tzinfo is SH


def test_snapshot_with_a_fixed_offset_as_of() -> None:
    as_of = dt.datetime(2024, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    c = repurchase_cycle(young_shop(), as_of=as_of, min_repurchasers=1)
    back = RepurchaseCycle.from_json(c.to_json())
    assert back == c
    assert back.as_of.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "must be JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"kind": "other"}', "snapshot.kind"),
        ('{"kind": "ecrm.RepurchaseCycle", "schema_version": 99}', "schema_version"),
        ('{"kind": "ecrm.RepurchaseCycle", "schema_version": 1}', "missing the field"),
    ],
)
def test_bad_snapshots_are_refused(text: str, match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        RepurchaseCycle.from_json(text)


# -- bands and bad input --------------------------------------------------------------------


def test_bands() -> None:
    b = Bands(10, 20, 30)
    assert [b.band(d) for d in (0, 10, 11, 20, 21, 30, 31)] == [
        "active", "active", "silent", "silent", "sleeping", "sleeping", "churned"]
    assert Bands.of((1, 2, 3)) == Bands(1, 2, 3)
    assert Bands.of(b) is b
    with pytest.raises(InvalidValueError, match="p50_days <= p70_days <= p90_days"):
        Bands(10, 5, 30)
    with pytest.raises(InvalidValueError, match="p50_days must be >= 0"):
        Bands(-1, 5, 30)
    with pytest.raises(InvalidTypeError):
        Bands(1.5, 5, 30)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        Bands.of([1, 2, 3])  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    log = histories({"a": [0, 3]})
    with pytest.raises(InvalidTypeError, match="orders must be an OrderLog"):
        repurchase_cycle([], as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        repurchase_cycle(log, as_of=dt.datetime(2024, 5, 1))
    with pytest.raises(InvalidTypeError, match="as_of"):
        repurchase_cycle(log, as_of=dt.date(2024, 5, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="method must be one of"):
        repurchase_cycle(log, as_of=AS_OF, method="median")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="same_day must be one of"):
        repurchase_cycle(log, as_of=AS_OF, same_day="split")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="min_repurchasers must be >= 1"):
        repurchase_cycle(log, as_of=AS_OF, min_repurchasers=0)
    with pytest.raises(InvalidTypeError, match="fallback must be"):
        repurchase_cycle(log, as_of=AS_OF, fallback=30)  # type: ignore[arg-type]
    empty = repurchase_cycle(histories({"a": [0]}), as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="no 5221 boundaries"):
        repurchase_cycle(log, as_of=AS_OF, fallback=empty, min_repurchasers=5)


@pytest.mark.parametrize("counting", [True, False])
def test_both_quantile_paths_match_the_reference(counting: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Small day ranges use a counting sort, large ones a comparison sort: same answers."""
    from ecrm.lifecycle import _kernels, cycles_by

    if not counting:
        monkeypatch.setattr(_kernels, "_COUNTING_CELLS", 0)
    rnd = random.Random(7)
    rows = []
    for c in range(60):
        for _ in range(rnd.randint(1, 4)):
            sku = rnd.choice(["A", "B", "C"])
            rows.append(order(f"c{c}", day(rnd.randint(0, 150), rnd.randint(0, 23)),
                              skus=[(sku, "x" if sku != "C" else "y")]))
    log = log_of(rows)
    as_of = day(140)
    ref = reference_cycle(log, as_of)[None]
    c = repurchase_cycle(log, as_of=as_of, min_repurchasers=1)
    assert ((c.p50_days, c.p70_days, c.p90_days), c.n_first_time_buyers, c.n_repurchasers) == ref
    per_sku = reference_cycle(log, as_of, group_of=lambda o: {it.sku for it in o.items})
    t = cycles_by(log, by="sku", as_of=as_of, min_repurchasers=1)
    assert {k: tuple(t.estimate_days[t.index(k)].tolist()) for k in "ABC"} == {
        k: v[0] for k, v in per_sku.items()}


# -- Kaplan–Meier precision with many groups -------------------------------------------------


def _tie_group(n: int) -> tuple[list[int], list[bool]]:
    """n buyers: one repurchase at 1 day, one at 2 days, the rest censored at 3 days.

    F(1) = 1/n and F(2) = 2/n exactly, so 0.5 · F(t_max) = F(1): P50 is 1 day.
    """
    return [1, 2] + [3] * (n - 2), [True, True] + [False] * (n - 2)


def _near_miss_group(m: int) -> tuple[list[int], list[bool]]:
    """5 repurchases at 1 day among n = 5m + 6 buyers, 4m + 1 censored at 1 day, then 1 of
    the m left repurchases at 2 days: F(1) falls short of 0.5 · F(2) by 1 / (2nm) only."""
    n = 5 * m + 6
    c1 = n - 5 - m
    return [1] * (5 + c1) + [2] + [3] * (m - 1), [True] * 5 + [False] * c1 + [True] + [
        False] * (m - 1)


@pytest.mark.parametrize(
    ("n_before", "last"),
    [(100_000, _tie_group(3001)), (0, _tie_group(3001)), (4_000_000, _near_miss_group(20_000))],
)
def test_kaplan_meier_quantiles_of_one_group_do_not_depend_on_the_groups_before(
    n_before: int, last: tuple[list[int], list[bool]]
) -> None:
    """A per-SKU table with many groups: the last group's quantiles equal the textbook ones
    (an offset by group index or a sum over all groups must not round them away)."""
    import numpy as np

    from ecrm.lifecycle._kernels import km_quantiles

    time, event = last
    expected = tuple(km_p(list(zip(time, event, strict=True)), q) for q in QS)
    n_full = min(n_before, 100_000)  # groups with subjects (1 at 1 day, 1 at 2 days each)
    group = np.concatenate([np.repeat(np.arange(n_full), 2), np.full(len(time), n_before)])
    times = np.concatenate([np.tile([1, 2], n_full), time]).astype(np.int64)
    events = np.concatenate([np.ones(2 * n_full, dtype=bool), event])
    q, _runs = km_quantiles(group.astype(np.int64), times, events, n_before + 1)
    assert tuple(q.p[n_before].tolist()) == expected
    if n_full:
        assert q.p[:n_full].tolist() == [[1, 2, 2]] * n_full  # F(1) = 1/2, F(2) = 1
