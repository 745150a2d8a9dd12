"""cycles_by: per-SKU and per-category cycles against the plain reference, and the
SKU → category → store → default fallback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import day, histories, log_of, order, reference_cycle

from ecrm import InvalidValueError, Order, OrderLog, OrderStatus
from ecrm.lifecycle import Bands, cycles_by, repurchase_cycle
from ecrm.testing import cycle_bands, purchase_histories

AS_OF = day(200)
TEA = "tea"


def tea_shop() -> OrderLog:
    """Green tea is rebought every 10 days by 3 customers, black tea by one after 40 days,
    the snack by nobody; the mug has no category."""
    rows = []
    for c in ("a", "b", "c"):
        rows += [order(c, day(0), skus=[("GREEN", TEA)]), order(c, day(10), skus=[("GREEN", TEA)])]
    rows += [order("d", day(0), skus=[("BLACK", TEA), ("MUG", None)]),
             order("d", day(40), skus=[("BLACK", TEA)])]
    rows += [order("e", day(5), skus=[("SNACK", "snacks")]),
             order("e", day(25), skus=[("MUG", None)])]
    return log_of(rows)


def test_per_sku_cycles_and_fallback_scopes() -> None:
    t = cycles_by(tea_shop(), by="sku", as_of=AS_OF, min_repurchasers=2)
    assert t.keys.tolist() == ["BLACK", "GREEN", "MUG", "SNACK"]
    assert t.categories is not None
    assert t.categories.tolist() == [TEA, TEA, "", "snacks"]
    assert t.n_first_time_buyers.tolist() == [1, 3, 2, 1]
    assert t.n_repurchasers.tolist() == [1, 3, 0, 0]
    assert t.estimate_days.tolist() == [[40, 40, 40], [10, 10, 10], [-1] * 3, [-1] * 3]
    # Category tea: a, b, c at 10 days, d at 40 -> P50 10, P70 10 (2.8 of 4 -> 3), P90 40.
    # Store: a, b, c at 10, d at 40, e at 20 -> P50 10 (3 of 5), P70 20, P90 40.
    assert t.scopes.tolist() == ["category:tea", "sku:GREEN", "store", "store"]
    assert t.p_days.tolist() == [[10, 10, 40], [10, 10, 10], [10, 20, 40], [10, 20, 40]]
    assert t.bands("BLACK") == Bands(10, 10, 40)
    c = t.cycle("BLACK")
    assert (c.scope, c.estimate, c.n_repurchasers, c.repurchase_rate) == (
        "category:tea", Bands(40, 40, 40), 1, 1.0)
    assert "GREEN" in t
    assert "NOPE" not in t
    assert 3 not in t
    assert len(t) == 4


def test_default_answers_when_the_store_is_thin_too() -> None:
    t = cycles_by(tea_shop(), by="sku", as_of=AS_OF, min_repurchasers=10, fallback=(7, 14, 21))
    assert set(t.scopes.tolist()) == {"default"}
    assert t.p_days.tolist() == [[7, 14, 21]] * 4
    # Without a default, the store's own (thin) estimate answers.
    t2 = cycles_by(tea_shop(), by="sku", as_of=AS_OF, min_repurchasers=10)
    assert set(t2.scopes.tolist()) == {"store"}
    assert t2.p_days.tolist() == [[10, 20, 40]] * 4
    assert t2.store.n_repurchasers == 5


def test_per_category_cycles() -> None:
    t = cycles_by(tea_shop(), by="category", as_of=AS_OF, min_repurchasers=2)
    assert t.keys.tolist() == ["snacks", "tea"]  # lines without a category are left out
    assert t.categories is None
    assert t.scopes.tolist() == ["store", "category:tea"]
    assert t.p_days.tolist() == [[10, 20, 40], [10, 10, 40]]


def test_no_group_has_any_repurchaser() -> None:
    log = log_of([order("a", day(0), skus=[("X", "c1")]), order("b", day(3), skus=[("Y", "c1")])])
    t = cycles_by(log, by="sku", as_of=AS_OF)
    assert t.p_days.tolist() == [[-1] * 3] * 2
    with pytest.raises(InvalidValueError, match="no 5221 boundaries"):
        t.bands("X")


def test_log_without_items_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"orders\.items"):
        cycles_by(histories({"a": [0, 3]}), by="sku", as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="by must be one of"):
        cycles_by(tea_shop(), by="brand", as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        cycles_by(tea_shop(), as_of=AS_OF).index("NOPE")


def test_same_day_count_treats_an_order_with_two_lines_of_a_sku_as_one_purchase() -> None:
    log = log_of([order("a", day(0), skus=[("X", "c"), ("X", "c")]),
                  order("a", day(0, 18), skus=[("X", "c")])])
    t = cycles_by(log, by="sku", as_of=AS_OF, same_day="count", min_repurchasers=1)
    assert t.n_repurchasers.tolist() == [1]
    assert t.p_days.tolist() == [[0, 0, 0]]


# -- against the reference -----------------------------------------------------------------


def _skus(o: Order) -> set[str]:
    return {it.sku for it in o.items}


def _categories(o: Order) -> set[str]:
    return {it.category for it in o.items if it.category}


def _expected_table(
    log: OrderLog, as_of: dt.datetime, by: str, method: str, same_day: str, min_rep: int,
    fallback: Bands | None,
) -> dict[str, tuple[Any, str]]:
    own = reference_cycle(log, as_of, method=method, same_day=same_day,
                          group_of=_skus if by == "sku" else _categories)
    cats = reference_cycle(log, as_of, method=method, same_day=same_day, group_of=_categories)
    store = reference_cycle(log, as_of, method=method, same_day=same_day)
    store_ps, _, store_rep = store.get(None, ((None,) * 3, 0, 0))
    sku_cat: dict[str, set[str]] = {}
    for o in log:
        for it in o.items:
            key = it.sku if by == "sku" else it.category
            if key:
                sku_cat.setdefault(key, set()).update({it.category} if it.category else set())
    out = {}
    for key in sku_cat:
        ps, _n, n_rep = own.get(key, ((None,) * 3, 0, 0))
        if n_rep >= min_rep:
            out[key] = (ps, f"{by}:{key}")
            continue
        cat = min(sku_cat[key]) if by == "sku" and sku_cat[key] else None
        if cat is not None and cats.get(cat, (None, 0, 0))[2] >= min_rep:
            out[key] = (cats[cat][0], f"category:{cat}")
        elif store_rep >= min_rep:
            out[key] = (store_ps, "store")
        elif fallback is not None:
            out[key] = (fallback.as_tuple(), "default")
        else:
            out[key] = (store_ps, "store")
    return out


@given(
    log=purchase_histories(max_customers=10),
    as_of=st.integers(min_value=0, max_value=140).map(lambda n: day(n, 0)),
    by=st.sampled_from(["sku", "category"]),
    method=st.sampled_from(["observed", "kaplan-meier"]),
    same_day=st.sampled_from(["merge", "count"]),
    min_rep=st.integers(min_value=1, max_value=4),
    fallback=st.none() | cycle_bands(),
)
def test_cycles_by_matches_the_reference(
    log: OrderLog, as_of: dt.datetime, by: str, method: str, same_day: str, min_rep: int,
    fallback: Bands | None,
) -> None:
    t = cycles_by(log, by=by, as_of=as_of, method=method, same_day=same_day,  # type: ignore[arg-type]
                  min_repurchasers=min_rep, fallback=fallback)
    expected = _expected_table(log, as_of, by, method, same_day, min_rep, fallback)
    assert sorted(expected) == t.keys.tolist()
    got = {
        k: (tuple(None if v < 0 else int(v) for v in t.p_days[i]), str(t.scopes[i]))
        for i, k in enumerate(t.keys.tolist())
    }
    assert got == expected
    if by == "sku":  # each SKU falls back to the smallest non-empty category of its lines
        cats: dict[str, set[str]] = {}
        for o in log:
            for it in o.items:
                cats.setdefault(it.sku, set()).update({it.category} if it.category else set())
        assert t.categories is not None
        assert t.categories.tolist() == [min(cats[k], default="") for k in t.keys.tolist()]
    store = repurchase_cycle(log, as_of=as_of, method=method, same_day=same_day,  # type: ignore[arg-type]
                             min_repurchasers=min_rep)
    assert t.store == store
    assert np.all(t.n_repurchasers <= t.n_first_time_buyers)


def test_cancelled_lines_do_not_count() -> None:
    log = log_of([order("a", day(0), skus=[("X", "c")]),
                  order("a", day(4), skus=[("X", "c")], status=OrderStatus.CLOSED),
                  order("a", day(9), skus=[("X", "c")])])
    t = cycles_by(log, by="sku", as_of=AS_OF, min_repurchasers=1)
    assert t.p_days.tolist() == [[9, 9, 9]]


@given(labels=st.lists(st.text(max_size=6), max_size=60))
def test_factorize_matches_sorting_the_strings(labels: list[str]) -> None:
    from ecrm.lifecycle._by import factorize

    arr = np.asarray(labels, dtype=str)
    keys, codes = factorize(arr)
    expected_keys, expected_codes = np.unique(arr, return_inverse=True)
    assert keys.tolist() == expected_keys.tolist()
    assert codes.tolist() == expected_codes.reshape(-1).tolist()


def test_factorize_survives_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecrm.lifecycle import _by

    monkeypatch.setattr(_by, "_HASH_MUL", np.uint64(0))  # only the last character counts
    keys, codes = _by.factorize(np.asarray(["ab", "cb", "ab", "x"]))
    assert keys.tolist() == ["ab", "cb", "x"]
    assert codes.tolist() == [0, 1, 0, 2]


def test_statuses_may_be_a_one_shot_iterator() -> None:
    log = log_of([order("a", day(0), skus=[("X", "c")]),
                  order("a", day(4), skus=[("X", "c")], status=OrderStatus.UNPAID)])
    wanted = (s for s in (OrderStatus.PAID, OrderStatus.UNPAID))
    t = cycles_by(log, by="sku", as_of=AS_OF, min_repurchasers=1, statuses=wanted)
    assert t.p_days.tolist() == [[4, 4, 4]]
    assert t.store.bands == Bands(4, 4, 4)
