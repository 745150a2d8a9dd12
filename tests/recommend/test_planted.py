"""A generated shop with planted accessory pairs, and counts checked against a plain
Python reference on random small shops."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recommend_helpers import day, event_log, shop

from ecrm.recommend import associations, evaluate_holdout, recommend

PLANTED = {"P0": "A0", "P1": "A1", "P2": "A2"}


def planted_shop(seed: int = 7, n_customers: int = 1500) -> list[tuple[str, int, list[str]]]:
    """Background: each customer buys 1–3 of 40 SKUs on random days. Planted: 60% of the
    buyers of P<i> buy A<i> 0–10 days later."""
    rng = np.random.default_rng(seed)
    background = [f"S{i:02d}" for i in range(40)] + list(PLANTED) + list(PLANTED.values())
    rows: list[tuple[str, int, list[str]]] = []
    for c in range(n_customers):
        for _ in range(int(rng.integers(1, 4))):
            sku = background[int(rng.integers(len(background)))]
            d = int(rng.integers(0, 300))
            rows.append((f"c{c}", d, [sku]))
            if sku in PLANTED and rng.random() < 0.6:
                rows.append((f"c{c}", d + int(rng.integers(0, 11)), [PLANTED[sku]]))
    return rows


def categories() -> dict[str, str]:
    cats = {f"S{i:02d}": f"K{i % 5}" for i in range(40)}
    cats.update(dict.fromkeys(PLANTED, "主品") | dict.fromkeys(PLANTED.values(), "配件"))
    return cats


def test_finds_the_planted_pairs_and_nothing_else() -> None:
    log = shop(planted_shop(), categories())
    rules = associations(log, as_of=day(400), basis="days", within_days=14, min_count=3)
    for p, a in PLANTED.items():
        assert rules.top(p, 1) == [a]
        i = rules.row(p, a)
        assert rules.lift[i] > 5
        assert rules.score[i] > 0.3
    strong = {(str(x), str(y)) for x, y, s in zip(rules.antecedents, rules.consequents, rules.score, strict=True)
              if s > 0.1}
    assert strong == set(PLANTED.items())


def test_recommends_the_accessory_to_main_item_buyers() -> None:
    log = shop(planted_shop(), categories())
    rules = associations(log, as_of=day(400), basis="days", within_days=14, min_count=3)
    recs = recommend(log, rules, as_of=day(400), k=3)  # a customer may own all three mains
    rows = recs.to_dicts()
    owners_of_p0 = {c for c, _, s in planted_shop() if s == ["P0"]}
    owners_of_a0 = {c for c, _, s in planted_shop() if s == ["A0"]}
    wanted = owners_of_p0 - owners_of_a0
    got = {r["customer_id"] for r in rows if r["sku"] == "A0"}
    assert wanted
    assert wanted <= got


def long_tail_shop(seed: int = 3, n_customers: int = 3000) -> list[tuple[str, int, list[str]]]:
    """Half the customers buy one of 20 main items P<i>, and 60% of them its accessory A<i>
    0–30 days later; everyone also buys one of 40 background SKUs on a random day."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, list[str]]] = []
    for c in range(n_customers):
        d = int(rng.integers(0, 250))
        if rng.random() < 0.5:
            i = int(rng.integers(20))
            rows.append((f"c{c}", d, [f"P{i}"]))
            if rng.random() < 0.6:
                rows.append((f"c{c}", d + int(rng.integers(0, 31)), [f"A{i}"]))
        rows.append((f"c{c}", int(rng.integers(0, 300)), [f"S{int(rng.integers(40)):02d}"]))
    return rows


def long_tail_categories() -> dict[str, str]:
    cats = {f"S{i:02d}": f"K{i % 5}" for i in range(40)}
    return cats | {f"P{i}": "主品" for i in range(20)} | {f"A{i}": "配件" for i in range(20)}


def test_holdout_beats_the_baselines_on_a_long_tail_of_accessories() -> None:
    rows, cats = long_tail_shop(), long_tail_categories()
    res = evaluate_holdout(shop(rows, cats), split=day(200), horizon_days=60, k=3, min_count=3,
                           within_days=30)
    hit = dict(zip(res.methods, res.hit_rate.tolist(), strict=True))
    assert hit["recommend"] > 1.5 * hit["popularity"]
    assert hit["recommend"] > hit["same_category"]
    ref = baseline_reference(rows, cats, 200, 60, 3)
    assert (hit["popularity"], res.recall[1]) == pytest.approx(ref["popularity"])
    assert (hit["same_category"], res.recall[2]) == pytest.approx(ref["same_category"])


# -- reference ------------------------------------------------------------------------------
def reference(rows: list[tuple[str, int, list[str]]], basis: str, window: int) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(a, b) → (n_pair, n_antecedent, n_consequent, n_units) by brute force."""
    out: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    if basis == "order":
        baskets = [set(s) for _, _, s in rows]
        n_units = len(baskets)
        has = defaultdict(int)
        for b in baskets:
            for s in b:
                has[s] += 1
        for x in has:
            for y in has:
                n = sum(1 for b in baskets if x in b and y in b)
                if x != y and n:
                    out[(x, y)] = (n, has[x], has[y], n_units)
        return out
    bought: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for c, d, s in rows:
        bought[c] += [(d, x) for x in s]
    n_units = len(bought)
    buyers: dict[str, set[str]] = defaultdict(set)
    for c, lst in bought.items():
        for _, x in lst:
            buyers[x].add(c)
    for x in buyers:
        for y in buyers:
            if x == y:
                continue
            n = sum(1 for lst in bought.values()
                    if any(dx == x and dy == y and 0 <= ty - tx <= window for tx, dx in lst for ty, dy in lst))
            if n:
                out[(x, y)] = (n, len(buyers[x]), len(buyers[y]), n_units)
    return out


shops = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 30),
              st.lists(st.sampled_from(["X", "Y", "Z", "W"]), min_size=1, max_size=3, unique=True)),
    min_size=1, max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(rows=shops, basis=st.sampled_from(["order", "days"]), window=st.integers(0, 10))
def test_counts_match_a_brute_force_reference(rows: list[tuple[str, int, list[str]]], basis: str, window: int) -> None:
    a = associations(shop(rows, {}), as_of=day(100), basis=basis, within_days=window, min_count=1)  # type: ignore[arg-type]
    got = {
        (str(x), str(y)): (int(n), int(na), int(nb), a.n_units)
        for x, y, n, na, nb in zip(a.antecedents, a.consequents, a.n_pair, a.n_antecedent, a.n_consequent, strict=True)
    }
    assert got == reference(rows, basis, window)


def baseline_reference(
    rows: list[tuple[str, int, list[str]]], cats: dict[str, str], split: int, horizon: int, k: int,
) -> dict[str, tuple[float, float]]:
    """Hit rate and recall of the two baselines, customer by customer in plain Python."""
    before = [r for r in rows if r[1] < split]
    after = [r for r in rows if split <= r[1] < split + horizon]
    owned: dict[str, set[str]] = defaultdict(set)
    buyers: dict[str, set[str]] = defaultdict(set)
    for c, _, s in before:
        owned[c] |= set(s)
        for x in s:
            buyers[x].add(c)
    ranking = sorted(buyers, key=lambda x: (-len(buyers[x]), x))
    truth: dict[str, set[str]] = defaultdict(set)
    for c, _, s in after:
        if c in owned:
            truth[c] |= set(s) - owned[c]
    truth = {c: t for c, t in truth.items() if t}
    out = {}
    for name in ("popularity", "same_category"):
        hits, recalls = [], []
        for c, t in truth.items():
            mine = {cats.get(x, "") for x in owned[c]} - {""}
            listed = [x for x in ranking if x not in owned[c]
                      and (name == "popularity" or cats.get(x, "") in mine)][:k]
            n = len(set(listed) & t)
            hits.append(n > 0)
            recalls.append(n / len(t))
        out[name] = (sum(hits) / len(hits), sum(recalls) / len(recalls)) if hits else (np.nan, np.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(rows=shops, k=st.integers(1, 3))
def test_baselines_match_a_plain_reference(rows: list[tuple[str, int, list[str]]], k: int) -> None:
    cats = {"X": "k1", "Y": "k1", "Z": "k2"}  # W has no category
    res = evaluate_holdout(shop(rows, cats), split=day(15), horizon_days=10, k=k, min_count=1)
    ref = baseline_reference(rows, cats, 15, 10, k)
    got = [res.hit_rate[1], res.recall[1], res.hit_rate[2], res.recall[2]]
    want = [*ref["popularity"], *ref["same_category"]]
    assert got == pytest.approx(want, nan_ok=True)


def event_reference(
    rows: list[tuple[str, int, list[str]]], evs: list[tuple[str, int, str]], window: int,
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(a, b) → counts for the events basis, by brute force over customers."""
    bought: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for c, d, s in rows:
        bought[c] += [(d, x) for x in s]
    seen: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for c, d, x in evs:
        seen[c].append((d, x))
    units = set(bought) | set(seen)
    viewers: dict[str, set[str]] = defaultdict(set)
    for c, lst in seen.items():
        for _, x in lst:
            viewers[x].add(c)
    buyers: dict[str, set[str]] = defaultdict(set)
    for c, lst in bought.items():
        for _, x in lst:
            buyers[x].add(c)
    out = {}
    for x in viewers:
        for y in buyers:
            if x == y:
                continue
            n = sum(1 for c in units
                    if any(ex == x and by == y and 0 <= tb - te <= window
                           for te, ex in seen.get(c, []) for tb, by in bought.get(c, [])))
            if n:
                out[(x, y)] = (n, len(viewers[x]), len(buyers[y]), len(units))
    return out


event_rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "e"]), st.integers(0, 30), st.sampled_from(["X", "Y", "Z"])),
    min_size=1, max_size=10,
)


@settings(max_examples=40, deadline=None)
@given(rows=shops, evs=event_rows, window=st.integers(0, 10))
def test_event_counts_match_a_brute_force_reference(
    rows: list[tuple[str, int, list[str]]], evs: list[tuple[str, int, str]], window: int,
) -> None:
    events = event_log([(c, d, "browse", x) for c, d, x in evs])
    a = associations(shop(rows, {}), as_of=day(100), basis="events", events=events,
                     within_days=window, min_count=1)
    got = {
        (str(x), str(y)): (int(n), int(na), int(nb), a.n_units)
        for x, y, n, na, nb in zip(a.antecedents, a.consequents, a.n_pair, a.n_antecedent,
                                   a.n_consequent, strict=True)
    }
    assert got == event_reference(rows, evs, window)
