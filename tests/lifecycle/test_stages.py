"""stages and stage_transitions: every band edge by hand, prospects, explain, and the
partition property against a plain recomputation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import SH, day, histories, log_of, order, purchases, reference_stage

from ecrm import InvalidTypeError, InvalidValueError, OrderLog, OrderStatus, UnknownCustomerError
from ecrm.lifecycle import (
    Bands,
    Stage,
    repurchase_cycle,
    stage_transitions,
    stages,
)
from ecrm.testing import cycle_bands, purchase_histories

BANDS = Bands(10, 20, 30)
AS_OF = day(100)  # 2024-04-10 12:00 Shanghai


def edge_shop() -> OrderLog:
    rows = [order(name, day(100 - d, 9)) for name, d in
            [("d0", 0), ("d10", 10), ("d11", 11), ("d20", 20), ("d21", 21), ("d30", 30),
             ("d31", 31)]]
    rows += [order(name, day(0)) for name in ("d0", "d10", "d11", "d20", "d21", "d30", "d31")]
    rows += [order("new5", day(95, 9)), order("new5", day(95, 20)),  # one purchase day
             order("one25", day(75)),  # one purchase day, past P50
             order("refunded", day(90), status=OrderStatus.REFUNDED),
             order("future", day(101))]
    return log_of(rows)


def test_every_band_edge() -> None:
    r = stages(edge_shop(), as_of=AS_OF, cycle=BANDS)
    got = {cid: s.name for cid, s in zip(r.customer_ids.tolist(), r.stage, strict=True)}
    assert got == {
        "d0": "ACTIVE", "d10": "ACTIVE", "d11": "SILENT", "d20": "SILENT", "d21": "SLEEPING",
        "d30": "SLEEPING", "d31": "CHURNED", "new5": "NEW", "one25": "SLEEPING",
        "refunded": "PROSPECT",
    }  # "future" first ordered after as_of: not known yet
    assert r.days_since_last[r.customer_ids.tolist().index("d21")] == 21
    assert r.days_since_last[r.customer_ids.tolist().index("refunded")] == -1
    assert r.n_purchase_days[r.customer_ids.tolist().index("new5")] == 1
    assert r.counts == {Stage.PROSPECT: 1, Stage.NEW: 1, Stage.ACTIVE: 2, Stage.SILENT: 2,
                        Stage.SLEEPING: 3, Stage.CHURNED: 1}
    assert r.ids_in(Stage.SLEEPING).tolist() == ["d21", "d30", "one25"]
    assert dict(zip(r.customer_ids.tolist(), r.boundary.tolist(), strict=True))["d11"] == "P50"
    assert r.stage_of("d31") is Stage.CHURNED
    assert (r.bands, r.scope, len(r)) == (BANDS, "default", 10)


def test_explain_names_the_dates_and_the_rule() -> None:
    r = stages(edge_shop(), as_of=AS_OF, cycle=BANDS)
    assert r.explain("d21") == (
        "customer 'd21' is SLEEPING (睡眠) on 2024-04-10: last purchase day 2024-03-20, "
        "21 day(s) ago, 2 purchase day(s); 5221 bands P50=10 P70=20 P90=30 (scope default); "
        "P70 < 21 <= P90 (crossed P70 on 2024-04-10; churned from 2024-04-20)"
    )
    assert r.explain("new5").endswith(
        "5 <= P50 and only one purchase day (silent from 2024-04-16 without another purchase)")
    assert r.explain("d11").endswith(
        "P50 < 11 <= P70 (crossed P50 on 2024-04-10; sleeping from 2024-04-20)")
    assert r.explain("d0").endswith("0 <= P50 (silent from 2024-04-21 without a purchase)")
    assert r.explain("d31").endswith("31 > P90 (crossed P90 on 2024-04-10)")
    assert r.explain("refunded").endswith(
        "PROSPECT (潜客) on 2024-04-10: no valid order before as_of")
    # as_of given in UTC: 2024-04-10 20:00 UTC is 2024-04-11 04:00 in the store (Shanghai),
    # so d21 is 22 days past its last purchase day, on the store's date 2024-04-11.
    utc = stages(edge_shop(), as_of=dt.datetime(2024, 4, 10, 20, tzinfo=dt.UTC), cycle=BANDS)
    assert utc.explain("d21").startswith(
        "customer 'd21' is SLEEPING (睡眠) on 2024-04-11: last purchase day 2024-03-20, "
        "22 day(s) ago")
    with pytest.raises(UnknownCustomerError, match="'nobody'"):
        r.explain("nobody")
    with pytest.raises(UnknownCustomerError):
        r.stage_of(7)


def test_a_cycle_supplies_bands_and_scope() -> None:
    log = histories({"a": [0, 10], "b": [0, 20], "c": [85]})
    cycle = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=1)
    r = stages(log, as_of=AS_OF, cycle=cycle)
    assert (r.bands, r.scope) == (Bands(10, 20, 20), "store")
    assert r.stage_of("c").name == "SILENT"  # one purchase day, 15 days ago


def test_customers_argument_adds_prospects() -> None:
    log = histories({"a": [90]})
    r = stages(log, as_of=AS_OF, cycle=BANDS, customers=["a", "z", "m"])
    assert r.customer_ids.tolist() == ["a", "m", "z"]
    assert [s.name for s in r.stage] == ["NEW", "PROSPECT", "PROSPECT"]

    class Table:
        customer_ids = np.asarray(["q"])

    assert stages(log, as_of=AS_OF, cycle=BANDS, customers=Table()).customer_ids.tolist() == [
        "a", "q"]
    ints = histories({1: [90], 2: [95]})
    r2 = stages(ints, as_of=AS_OF, cycle=BANDS, customers=np.asarray([3, 1], dtype=np.uint32))
    assert r2.customer_ids.tolist() == [1, 2, 3]
    with pytest.raises(InvalidTypeError, match="customers must hold ids"):
        stages(ints, as_of=AS_OF, cycle=BANDS, customers=["x"])
    with pytest.raises(InvalidValueError, match="customers must be one-dimensional"):
        stages(ints, as_of=AS_OF, cycle=BANDS, customers=[[1]])
    empty = stages(OrderLog.from_orders([]), as_of=AS_OF, cycle=BANDS, customers=["x"])
    assert empty.counts[Stage.PROSPECT] == 1


def test_customer_ids_longer_than_the_logs_stay_whole() -> None:
    """The log's ids are one character wide; a passed-in "visitor" is not cut to "v"."""
    log = histories({"a": [90], "v": [95]})
    r = stages(log, as_of=AS_OF, cycle=BANDS, customers=["visitor", "a"])
    assert r.customer_ids.tolist() == ["a", "v", "visitor"]
    assert [r.stage_of(c).name for c in ("a", "v", "visitor")] == ["NEW", "NEW", "PROSPECT"]
    assert r.explain("visitor").endswith("no valid order before as_of")
    t = stage_transitions(log, start=day(92), as_of=AS_OF, cycle=BANDS, customers=["visitor"])
    assert t.customer_ids.tolist() == ["a", "v", "visitor"]
    assert t.from_codes.tolist() == [Stage.NEW.code, Stage.PROSPECT.code, Stage.PROSPECT.code]
    assert t.to_codes.tolist() == [Stage.NEW.code, Stage.NEW.code, Stage.PROSPECT.code]


def test_bad_cycle_and_as_of() -> None:
    log = histories({"a": [0]})
    no_bands = repurchase_cycle(log, as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="no 5221 boundaries"):
        stages(log, as_of=AS_OF, cycle=no_bands)
    with pytest.raises(InvalidTypeError, match="cycle must be"):
        stages(log, as_of=AS_OF, cycle=30)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        stages(log, as_of=dt.datetime(2024, 4, 1), cycle=BANDS)


@given(log=purchase_histories(), as_of=st.integers(min_value=0, max_value=140).map(
    lambda n: day(n, 0)), data=st.data())
def test_stages_partition_the_known_customers(log: OrderLog, as_of: dt.datetime,
                                              data: st.DataObject) -> None:
    """Every known customer is in exactly one stage, the one the plain rule gives.

    Half the time the boundaries are drawn from the customers' own days since their last
    purchase, so that d == P50 / P70 / P90 (the band edges) is exercised, not left to luck."""
    since = sorted({(as_of.astimezone(SH).date() - max(d)).days
                    for d in purchases(log, as_of).values()})
    on_edges = st.lists(st.sampled_from(since), min_size=3, max_size=3).map(
        lambda e: Bands(*sorted(e))) if since else cycle_bands(max_days=60)
    bands = data.draw(on_edges | cycle_bands(max_days=60), label="bands")
    r = stages(log, as_of=as_of, cycle=bands)
    known = sorted({o.customer_id for o in log if o.placed_at < as_of})
    assert r.customer_ids.tolist() == known
    assert sum(r.counts.values()) == len(known)
    p = purchases(log, as_of)
    expected = [reference_stage(p.get(c, []), as_of.astimezone(SH).date(), bands.as_tuple())
                for c in known]
    assert [s.name for s in r.stage] == expected


# -- transitions --------------------------------------------------------------------------


def test_transitions_between_two_dates() -> None:
    log = histories({"a": [0, 50], "b": [0], "c": [60], "d": [85]})
    t = stage_transitions(log, start=day(55), as_of=day(90), cycle=BANDS)
    # At day 55: a ACTIVE (5 days), b CHURNED (55), c unknown -> PROSPECT, d unknown.
    # At day 90: a CHURNED (40), b CHURNED, c SLEEPING (30), d NEW (5).
    assert t.customer_ids.tolist() == ["a", "b", "c", "d"]
    assert t.count(Stage.ACTIVE, Stage.CHURNED) == 1
    assert t.count(Stage.CHURNED, Stage.CHURNED) == 1
    assert t.count(Stage.PROSPECT, Stage.SLEEPING) == 1
    assert t.count(Stage.PROSPECT, Stage.NEW) == 1
    assert int(t.counts.sum()) == 4
    assert t.moved().tolist() == ["a", "c", "d"]
    assert t.moved(to_stage=Stage.CHURNED).tolist() == ["a"]
    assert t.moved(from_stage=Stage.PROSPECT).tolist() == ["c", "d"]
    text = t.to_text()
    assert text.splitlines()[0].split() == ["from", "\\", "to", "PROSPECT", "NEW", "ACTIVE",
                                            "SILENT", "SLEEPING", "CHURNED"]
    assert text.splitlines()[3].split() == ["ACTIVE", "0", "0", "0", "0", "0", "1"]
    with pytest.raises(InvalidValueError, match="as_of must not be before start"):
        stage_transitions(log, start=day(90), as_of=day(55), cycle=BANDS)


def test_stage_transitions_takes_end_as_a_deprecated_alias_of_as_of() -> None:
    log = histories({"a": [0, 50], "b": [0], "c": [60], "d": [85]})
    old: Any = {"end": day(90)}
    with pytest.warns(DeprecationWarning, match=r"stage_transitions\(\): the keyword end="):
        t = stage_transitions(log, start=day(55), cycle=BANDS, **old)
    # as worked by hand in test_transitions_between_two_dates
    assert t.count(Stage.ACTIVE, Stage.CHURNED) == 1
    assert t.count(Stage.PROSPECT, Stage.SLEEPING) == 1
    assert t.moved().tolist() == ["a", "c", "d"]
    assert t.end == day(90)
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias end="):
        stage_transitions(log, start=day(55), as_of=day(90), cycle=BANDS, **old)


@given(log=purchase_histories(), bands=cycle_bands(max_days=60),
       start=st.integers(min_value=0, max_value=140), length=st.integers(min_value=0, max_value=60))
def test_transition_rows_and_columns_are_the_two_stage_counts(
    log: OrderLog, bands: Bands, start: int, length: int
) -> None:
    t = stage_transitions(log, start=day(start, 0), as_of=day(start + length, 0), cycle=bands)
    at_end = stages(log, as_of=day(start + length, 0), cycle=bands)
    at_start = stages(log, as_of=day(start, 0), cycle=bands)
    assert t.counts.sum(axis=0).tolist() == list(at_end.counts.values())
    row_sums = t.counts.sum(axis=1).tolist()
    newcomers = len(at_end) - len(at_start)
    expected = list(at_start.counts.values())
    expected[Stage.PROSPECT.code] += newcomers
    assert row_sums == expected


def test_stage_edge_cases_by_hand() -> None:
    """One customer; every order on one day; orders after as_of; a refunded second order."""
    one = stages(histories({"solo": [95]}), as_of=AS_OF, cycle=BANDS)
    assert (one.customer_ids.tolist(), one.stage_of("solo"), one.days_since_last.tolist()) == (
        ["solo"], Stage.NEW, [5])
    same_day = log_of([order(c, day(97, h)) for c in ("a", "b") for h in (9, 13, 20)])
    r = stages(same_day, as_of=AS_OF, cycle=BANDS)
    assert [s.name for s in r.stage] == ["NEW", "NEW"]  # three orders, one purchase day
    assert r.n_purchase_days.tolist() == [1, 1]
    # a: bought on day 85 and again after as_of; b: only after as_of (unknown at as_of).
    later = log_of([order("a", day(85)), order("a", day(100, 13)), order("b", day(101))])
    r2 = stages(later, as_of=AS_OF, cycle=BANDS)
    assert r2.customer_ids.tolist() == ["a"]
    assert (r2.stage_of("a"), int(r2.days_since_last[0])) == (Stage.SILENT, 15)
    # A refunded (or fully refunded) second order is no purchase: the last purchase day
    # stays day 60, 40 days ago (> P90 = 30) with one purchase day -> CHURNED, not ACTIVE.
    for status, refunded in ((OrderStatus.REFUNDED, 0), (OrderStatus.COMPLETED, 10_000)):
        log = log_of([order("c", day(60)), order("c", day(98), status=status, refunded=refunded)])
        r3 = stages(log, as_of=AS_OF, cycle=BANDS)
        assert (r3.stage_of("c"), r3.days_since_last.tolist(), r3.n_purchase_days.tolist()) == (
            Stage.CHURNED, [40], [1])
    partly = log_of([order("c", day(60)), order("c", day(98), refunded=4_000)])
    assert stages(partly, as_of=AS_OF, cycle=BANDS).stage_of("c") is Stage.ACTIVE
