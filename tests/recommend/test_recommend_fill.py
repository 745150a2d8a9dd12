"""The popularity fill worked by hand, and the invariants of every list checked against a
plain Python reference on random shops: no excluded item, no item bought before unless its
repurchase is due (and then only from a rule), never a duplicate, and the fill's order."""

from __future__ import annotations

from collections import defaultdict

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recommend_helpers import day, shop

import ecrm
from ecrm.lifecycle import cycles_by
from ecrm.recommend import associations, recommend

# The shop of test_recommend.py. Distinct buyers before day 50: 咖啡豆 4 (u1 u2 u3 u6),
# 糖包 3 (u1 u2 u3), 咖啡豆B 1 (u7), 奶精 1 (u3), 杯子 1 (u9); 6 customers bought.
# Popularity order (ties by SKU, code-point order 咖 < 奶 < 杯 < 糖):
# 咖啡豆, 糖包, 咖啡豆B, 奶精, 杯子.
HISTORY = [
    ("u1", 1, ["咖啡豆", "糖包"]),
    ("u2", 1, ["咖啡豆"]),
    ("u2", 5, ["糖包"]),
    ("u3", 1, ["咖啡豆"]),
    ("u3", 3, ["糖包", "奶精"]),
    ("u6", 40, ["咖啡豆"]),
    ("u7", 41, ["咖啡豆B"]),
    ("u9", 10, ["杯子"]),
]
AS_OF = day(50)


def fitted(k: int = 3, **kwargs: object) -> ecrm.recommend.Recommendations:
    log = shop(HISTORY)
    rules = associations(log, as_of=AS_OF, basis="days", within_days=14, min_count=2)
    return recommend(log, rules, as_of=AS_OF, k=k, fill=True, **kwargs)  # type: ignore[arg-type]


def test_fill_by_hand() -> None:
    """u6 (beans): the rule gives sugar; 咖啡's other seller is 咖啡豆B; then the shop's best
    seller not owned nor listed is 奶精. u7 (咖啡豆B): 咖啡 gives beans, then sugar and
    creamer. u9 (a cup, 器具 has nothing else): the shop's three best sellers. u1 (beans
    and sugar): 咖啡豆B (咖啡) and 奶精 (配料) within its categories, then 杯子."""
    r = fitted()
    assert r.for_customer("u6") == ["糖包", "咖啡豆B", "奶精"]
    assert r.for_customer("u7") == ["咖啡豆", "糖包", "奶精"]
    assert r.for_customer("u9") == ["咖啡豆", "糖包", "咖啡豆B"]
    assert r.for_customer("u1") == ["咖啡豆B", "奶精", "杯子"]
    # u3 owns beans, sugar and creamer: 咖啡豆B (咖啡), then only 杯子 is left in the shop.
    assert r.for_customer("u3") == ["咖啡豆B", "杯子"]
    rows = [d for d in r.to_dicts() if d["customer_id"] == "u6"]
    assert [d["source"] for d in rows] == ["rule", "popular_in_category", "popular"]
    assert [d["rank"] for d in rows] == [1, 2, 3]
    assert [d["because"] for d in rows] == ["咖啡豆", "咖啡", ""]
    assert rows[1]["score"] == pytest.approx(1 / 6)
    assert r.n_buyers == 6


def test_fill_is_marked_in_explain() -> None:
    assert fitted().explain("u7").splitlines() == [
        "1. 咖啡豆 — popular in 咖啡, a category you bought: 4 of 6 customers bought it "
        "(popularity fill)",
        "2. 糖包 — popular in the shop: 3 of 6 customers bought it (popularity fill)",
        "3. 奶精 — popular in the shop: 1 of 6 customers bought it (popularity fill)",
    ]


def test_fill_respects_exclusions_and_k() -> None:
    r = fitted(k=2, exclude=["咖啡豆"])
    assert r.for_customer("u7") == ["糖包", "奶精"]
    assert r.for_customer("u9") == ["糖包", "咖啡豆B"]
    assert fitted(k=1).for_customer("u6") == ["糖包"]


def test_fill_comes_after_the_category_fallback() -> None:
    log = shop(HISTORY)
    rules = associations(log, as_of=AS_OF, basis="days", within_days=14, min_count=2)
    fb = associations(log, as_of=AS_OF, basis="days", by="category", min_count=2)
    r = recommend(log, rules, as_of=AS_OF, k=3, fallback_rules=fb, fill=True)
    rows = [d for d in r.to_dicts() if d["customer_id"] == "u7"]
    # 咖啡 → 配料 proposes 糖包, 奶精 (fallback); then 咖啡 itself gives beans.
    assert [(d["sku"], d["source"]) for d in rows] == [
        ("糖包", "category"), ("奶精", "category"), ("咖啡豆", "popular_in_category")]


def test_without_fill_lists_stay_short() -> None:
    log = shop(HISTORY)
    rules = associations(log, as_of=AS_OF, basis="days", within_days=14, min_count=2)
    r = recommend(log, rules, as_of=AS_OF, k=3)
    assert r.for_customer("u9") == []
    assert set(r.sources.tolist()) == {"rule"}
    with pytest.raises(ecrm.InvalidValueError) as info:
        recommend(log, rules, as_of=AS_OF, fill="yes")  # type: ignore[arg-type]
    assert info.value.field == "fill"


# -- invariants on random shops --------------------------------------------------------------
CATS = {"X": "k1", "Y": "k1", "Z": "k2", "V": "k2"}  # W has no category
shops = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 40),
              st.lists(st.sampled_from(["X", "Y", "Z", "W", "V"]), min_size=1, max_size=3,
                       unique=True)),
    min_size=1, max_size=14,
)


def fill_reference(
    rows: list[tuple[str, int, list[str]]], as_of: int, listed: dict[str, list[str]],
    excluded: set[str], k: int,
) -> dict[str, list[str]]:
    """Each customer's list after the fill, in plain Python: the rule rows, then the best
    sellers of the customer's categories, then the shop's, skipping owned, listed and
    excluded items."""
    owned: dict[str, set[str]] = defaultdict(set)
    buyers: dict[str, set[str]] = defaultdict(set)
    customers = {c for c, _, _ in rows}
    for c, d, skus in rows:
        if d < as_of:
            owned[c] |= set(skus)
            for x in skus:
                buyers[x].add(c)
    ranking = sorted((x for x in buyers if x not in excluded), key=lambda x: (-len(buyers[x]), x))
    out = {}
    for c in customers:
        mine = list(listed.get(c, []))
        cats = {CATS.get(x, "") for x in owned[c]} - {""}
        for pass_ in ("category", "shop"):
            for x in ranking:
                if len(mine) >= k:
                    break
                if x in owned[c] or x in mine:
                    continue
                if pass_ == "category" and CATS.get(x, "") not in cats:
                    continue
                mine.append(x)
        out[c] = mine
    return out


@settings(max_examples=80, deadline=None)
@given(rows=shops, k=st.integers(1, 4), excluded=st.sets(st.sampled_from(["X", "Y", "Z", "W", "V"]),
                                                          max_size=2),
       due_days=st.one_of(st.none(), st.integers(0, 30)))
def test_lists_never_repeat_never_exclude_and_fill_in_order(
    rows: list[tuple[str, int, list[str]]], k: int, excluded: set[str], due_days: int | None,
) -> None:
    log = shop(rows, CATS)
    as_of = day(30)
    rules = associations(log, as_of=as_of, basis="days", within_days=10, min_count=1)
    cycles = None
    if due_days is not None:
        table = cycles_by(log, by="sku", as_of=as_of, min_repurchasers=1)
        p = np.full_like(table.p_days, due_days)
        cycles = attrs.evolve(table, p_days=p)
    plain = recommend(log, rules, as_of=as_of, k=k, exclude=excluded, cycles=cycles,
                      min_score=-1.0)
    filled = recommend(log, rules, as_of=as_of, k=k, exclude=excluded, cycles=cycles,
                       min_score=-1.0, fill=True)
    last_day: dict[tuple[str, str], int] = {}
    for c, d, skus in rows:
        if d < 30:
            for x in skus:
                last_day[(c, x)] = max(d, last_day.get((c, x), -1))
    for r in (plain, filled):
        seen = set()
        per: dict[str, list[int]] = defaultdict(list)
        for d in r.to_dicts():
            c, x = str(d["customer_id"]), str(d["sku"])
            assert (c, x) not in seen  # never a duplicate
            seen.add((c, x))
            per[c].append(int(d["rank"]))
            assert x not in excluded
            if (c, x) in last_day:  # bought before: only a due consumable, from a rule
                assert due_days is not None
                assert 30 - last_day[(c, x)] >= due_days
                assert d["source"] == "rule"
                assert d["due"] is True
        for ranks in per.values():
            assert ranks == list(range(1, len(ranks) + 1))
            assert len(ranks) <= k
    listed = {c: plain.for_customer(c) for c in {c for c, _, _ in rows}}
    want = fill_reference(rows, 30, listed, excluded, k)
    assert {c: filled.for_customer(c) for c in want} == want


def rule_reference(
    rows: list[tuple[str, int, list[str]]], rules: ecrm.recommend.Associations, as_of: int,
    excluded: set[str], k: int, min_score: float,
) -> dict[str, list[str]]:
    """Each customer's rule-based list in plain Python: every rule from an item they bought
    proposes its consequent with its score (the best score per item), owned and excluded
    items are left out, best score first (ties by SKU), k at most."""
    owned: dict[str, set[str]] = defaultdict(set)
    for c, d, skus in rows:
        if d < as_of:
            owned[c] |= set(skus)
    out = {}
    for c in {c for c, _, _ in rows}:
        best: dict[str, float] = {}
        for a, b, s in zip(rules.antecedents.tolist(), rules.consequents.tolist(),
                           rules.score.tolist(), strict=True):
            if a in owned[c] and s > min_score and b not in owned[c] and b not in excluded:
                best[b] = max(best.get(b, s), s)
        out[c] = sorted(best, key=lambda b: (-best[b], b))[:k]
    return out


@settings(max_examples=80, deadline=None)
@given(rows=shops, k=st.integers(1, 3), excluded=st.sets(st.sampled_from(["X", "Y", "Z", "W", "V"]),
                                                          max_size=2),
       min_score=st.sampled_from([-1.0, -0.05, 0.0, 0.05]))
def test_rule_lists_match_a_plain_reference(
    rows: list[tuple[str, int, list[str]]], k: int, excluded: set[str], min_score: float,
) -> None:
    """Only the best k + owned + excluded rules of each antecedent are expanded; the lists
    are those of expanding every rule."""
    log = shop(rows, CATS)
    rules = associations(log, as_of=day(30), basis="days", within_days=10, min_count=1, shrink=1.0)
    got = recommend(log, rules, as_of=day(30), k=k, exclude=excluded, min_score=min_score)
    want = rule_reference(rows, rules, 30, excluded, k, min_score)
    assert {c: got.for_customer(c) for c in want} == want


@settings(max_examples=60, deadline=None)
@given(rows=shops, k=st.integers(1, 3))
def test_folded_sort_keys_order_like_the_plain_lexsort(
    rows: list[tuple[str, int, list[str]]], k: int,
) -> None:
    """The two-key sorts (scores as ranks) give the lists of the five-column lexsort they
    fall back to, fallback rows and fill included."""
    import ecrm.recommend._recommend as impl

    log = shop(rows, CATS)
    rules = associations(log, as_of=day(30), basis="days", within_days=10, min_count=1, shrink=1.0)
    fb = associations(log, as_of=day(30), basis="days", within_days=10, min_count=1, by="category")
    fast = recommend(log, rules, as_of=day(30), k=k, fallback_rules=fb, fill=True, min_score=-1.0)
    real = impl.combine
    impl.combine = lambda *a, **kw: None  # type: ignore[assignment]
    try:
        plain = recommend(log, rules, as_of=day(30), k=k, fallback_rules=fb, fill=True, min_score=-1.0)
    finally:
        impl.combine = real
    assert fast.to_dicts() == plain.to_dicts()
