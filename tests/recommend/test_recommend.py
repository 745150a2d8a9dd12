"""Per-customer recommendations worked by hand: ownership, due consumables, exclusions,
event antecedents and the category fallback."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from recommend_helpers import day, event_log, shop

import ecrm
from ecrm.lifecycle import cycles_by
from ecrm.recommend import associations, recommend

# Three customers show beans → sugar within 14 days; u6 has only beans; u7 has only a
# second coffee (no item rule) and should get the fallback's best-selling 配料 item; u9
# bought only a cup (so not every customer bought coffee: 咖啡 → 配料 has a lift).
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


def rules() -> ecrm.recommend.Associations:
    return associations(shop(HISTORY), as_of=AS_OF, basis="days", within_days=14, min_count=2)


def test_recommends_the_accessory_and_leaves_out_what_is_owned() -> None:
    r = recommend(shop(HISTORY), rules(), as_of=AS_OF, k=3)
    # Rules with >= 2 customers: beans → sugar (u1,u2,u3), beans → creamer? only u3: dropped.
    assert r.for_customer("u6") == ["糖包"]
    assert r.for_customer("u1") == []  # owns both
    assert r.for_customer("u7") == []  # no rule from 咖啡豆B, no fallback given
    row = r.to_dicts()[0]
    assert row == {"customer_id": "u6", "rank": 1, "sku": "糖包", "score": pytest.approx(row["score"]),
                   "because": "咖啡豆", "fallback": False, "due": False,
                   "source": "rule"}
    # 3 of the 4 bean buyers, against 3 of 6 customers: lift 0.75 / 0.5 = 1.5.
    assert r.explain("u6") == (
        "1. 糖包 — because you bought 咖啡豆: 75% of its buyers bought 糖包 within 14 days "
        "(3 of 4), lift 1.5"
    )
    assert row["score"] == pytest.approx((3 + 10 * 0.5) / (4 + 10) - 0.5)
    with pytest.raises(ecrm.UnknownCustomerError):
        r.explain("u1")


def test_exclusions_remove_items() -> None:
    r = recommend(shop(HISTORY), rules(), as_of=AS_OF, exclude=["糖包"])
    assert r.for_customer("u6") == []


def test_a_due_consumable_comes_back() -> None:
    """Last sugar: u1 day 1, u2 day 5, u3 day 3 — 49, 45 and 47 days before day 50. With
    sugar's P50 at 46 days u1 and u3 are due, at 48 only u1; without cycles nobody."""
    log = shop(HISTORY)
    table = cycles_by(log, by="sku", as_of=AS_OF, min_repurchasers=1)
    sugar = table.index("糖包")

    def with_p50(days: int) -> object:
        p = np.full_like(table.p_days, -1)
        p[sugar] = days
        return attrs.evolve(table, p_days=p)

    r = recommend(log, rules(), as_of=AS_OF, cycles=with_p50(46))  # type: ignore[arg-type]
    assert r.for_customer("u1") == ["糖包"]
    assert r.for_customer("u3") == ["糖包"]
    assert r.for_customer("u2") == []
    assert r.to_dicts()[0]["due"] is True
    assert "its repurchase is due" in r.explain("u1")
    r48 = recommend(log, rules(), as_of=AS_OF, cycles=with_p50(48))  # type: ignore[arg-type]
    assert r48.for_customer("u1") == ["糖包"]
    assert r48.for_customer("u3") == []
    assert recommend(log, rules(), as_of=AS_OF).for_customer("u1") == []


def test_recent_events_add_antecedents() -> None:
    """u8 bought only a cup but viewed beans 5 days ago: beans' rule proposes sugar."""
    log = shop([*HISTORY, ("u8", 20, ["杯子"])])
    events = event_log([("u8", 45, "browse", "咖啡豆"), ("u1", 2, "cart", "杯子")])
    r = recommend(log, rules(), as_of=AS_OF, events=events, lookback_days=7)
    assert r.for_customer("u8") == ["糖包"]
    old = recommend(log, rules(), as_of=AS_OF, events=events, lookback_days=4)
    assert old.for_customer("u8") == []


def test_category_fallback_fills_with_best_sellers() -> None:
    """Category rule 咖啡 → 配料 (3 of 5 coffee buyers, base 3 of 6: score 8/15 − 1/2 > 0);
    配料's best seller by buyers is 糖包 (3) then 奶精 (1)."""
    log = shop(HISTORY)
    fb = associations(log, as_of=AS_OF, basis="days", by="category", min_count=2)
    r = recommend(log, rules(), as_of=AS_OF, k=2, fallback_rules=fb)
    assert r.for_customer("u7") == ["糖包", "奶精"]
    rows = [d for d in r.to_dicts() if d["customer_id"] == "u7"]
    assert [d["fallback"] for d in rows] == [True, True]
    assert rows[0]["because"] == "咖啡"
    # u6 gets the item rule first, then the fallback's next item.
    assert r.for_customer("u6") == ["糖包", "奶精"]
    assert [d["fallback"] for d in r.to_dicts() if d["customer_id"] == "u6"] == [False, True]
    assert "best seller of 配料" in r.explain("u7")


def test_k_limits_and_ranks_count_from_one() -> None:
    log = shop(HISTORY)
    fb = associations(log, as_of=AS_OF, basis="days", by="category", min_count=2)
    r = recommend(log, rules(), as_of=AS_OF, k=1, fallback_rules=fb)
    assert r.for_customer("u7") == ["糖包"]
    assert set(r.ranks.tolist()) == {1}
    assert repr(r).startswith("Recommendations(")


@pytest.mark.parametrize(("kwargs", "field"), [({"k": 0}, "k"), ({"lookback_days": -1}, "lookback_days")])
def test_bad_options(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ecrm.InvalidValueError) as info:
        recommend(shop(HISTORY), rules(), as_of=AS_OF, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_rules_of_the_wrong_level_are_refused() -> None:
    log = shop(HISTORY)
    by_cat = associations(log, as_of=AS_OF, by="category", min_count=1)
    with pytest.raises(ecrm.InvalidValueError, match="rules"):
        recommend(log, by_cat, as_of=AS_OF)
    with pytest.raises(ecrm.InvalidValueError, match="fallback_rules"):
        recommend(log, rules(), as_of=AS_OF, fallback_rules=rules())


def test_rules_that_lower_the_chance_propose_nothing() -> None:
    """Sugar → beans: 1 of 3 sugar buyers (u1) bought beans within 14 days, against a base
    rate of 4/7 (score < 0): u8, who bought only sugar, does not get beans by default, and gets
    beans too when min_score is lowered below that score."""
    log = shop([*HISTORY, ("u8", 45, ["糖包"])])
    all_rules = associations(log, as_of=AS_OF, basis="days", min_count=1)
    row = all_rules.row("糖包", "咖啡豆")
    assert all_rules.score[row] < 0
    # 糖包 → 奶精 (u3, same day) raises the chance and still proposes creamer.
    assert recommend(log, all_rules, as_of=AS_OF).for_customer("u8") == ["奶精"]
    low = recommend(log, all_rules, as_of=AS_OF, min_score=-1.0)
    assert "咖啡豆" in low.for_customer("u8")
