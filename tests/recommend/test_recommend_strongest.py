"""Support, confidence and lift of a five-basket shop worked by hand, and the strongest
rules listed from them."""

from __future__ import annotations

import pytest
from recommend_helpers import day, shop

import ecrm
from ecrm.recommend import associations, strongest_associations

# Five baskets (one order each): {A,B} {A,B,C} {A,C} {B} {D}.
# Baskets with A: 3, B: 3, C: 2, D: 1; with A and B: 2, A and C: 2, B and C: 1.
BASKETS = [("c1", 1, ["A", "B"]), ("c2", 1, ["A", "B", "C"]), ("c3", 1, ["A", "C"]),
           ("c4", 1, ["B"]), ("c5", 1, ["D"])]
# rule: (support, confidence, lift) by hand, n = 5 baskets
HAND = {
    ("A", "B"): (2 / 5, 2 / 3, (2 / 3) / (3 / 5)),  # lift 10/9
    ("B", "A"): (2 / 5, 2 / 3, (2 / 3) / (3 / 5)),
    ("A", "C"): (2 / 5, 2 / 3, (2 / 3) / (2 / 5)),  # lift 5/3
    ("C", "A"): (2 / 5, 2 / 2, 1 / (3 / 5)),  # lift 5/3
    ("B", "C"): (1 / 5, 1 / 3, (1 / 3) / (2 / 5)),  # lift 5/6
    ("C", "B"): (1 / 5, 1 / 2, (1 / 2) / (3 / 5)),  # lift 5/6
}
# Scores with shrink 10: (n_pair + 10·p) / (n_a + 10) − p, p = the consequent's share.
SCORE = {
    ("C", "A"): 8 / 12 - 3 / 5,  # 0.0667
    ("A", "C"): 6 / 13 - 2 / 5,  # 0.0615
    ("A", "B"): 8 / 13 - 3 / 5,  # 0.0154
    ("B", "A"): 8 / 13 - 3 / 5,
}
AS_OF = day(10)


def rules() -> ecrm.recommend.Associations:
    return associations(shop(BASKETS, {}), as_of=AS_OF, basis="order", min_count=1)


def test_support_confidence_lift_by_hand() -> None:
    got = {(d["antecedent"], d["consequent"]): (d["support"], d["confidence"], d["lift"])
           for d in rules().to_dicts()}
    assert got.keys() == HAND.keys()
    for pair, want in HAND.items():
        assert got[pair] == pytest.approx(want)


def test_strongest_rules_best_first() -> None:
    """Lift above 1 keeps four rules; C → A (score 0.067) beats A → C (0.062) although
    both lift 5/3; A → B and B → A tie on everything and go by antecedent."""
    top = strongest_associations(rules())
    assert [(str(a), str(b)) for a, b in zip(top.antecedents, top.consequents, strict=True)] == [
        ("C", "A"), ("A", "C"), ("A", "B"), ("B", "A")]
    assert top.score.tolist() == pytest.approx([SCORE[("C", "A")], SCORE[("A", "C")],
                                                SCORE[("A", "B")], SCORE[("B", "A")]])
    row = top.to_dicts()[0]
    assert row["rank"] == 1
    assert (row["support"], row["confidence"], row["lift"]) == pytest.approx(HAND[("C", "A")])
    assert row["explanation"] == ("because you bought C: 100% of orders with C also had A "
                                  "(2 of 2), lift 1.7")
    assert repr(top) == ("StrongestAssociations(4 of 6 rules, basis='order', "
                         "best C → A lift 1.7)")


def test_top_min_lift_and_pairs_once() -> None:
    assert len(strongest_associations(rules(), top=2)) == 2
    once = strongest_associations(rules(), pairs_once=True)
    assert [(str(a), str(b)) for a, b in zip(once.antecedents, once.consequents, strict=True)] == [
        ("C", "A"), ("A", "B")]
    # min_lift 0 also keeps the two rules that lower the chance (lift 5/6), last.
    everything = strongest_associations(rules(), min_lift=0.0)
    assert len(everything) == 6
    assert everything.lift[-2:].tolist() == pytest.approx([5 / 6, 5 / 6])
    assert len(strongest_associations(rules(), min_lift=2.0)) == 0


@pytest.mark.parametrize(("kwargs", "field"), [({"top": 0}, "top"), ({"min_lift": -1.0}, "min_lift"),
                                               ({"pairs_once": 1}, "pairs_once")])
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ecrm.InvalidValueError) as info:
        strongest_associations(rules(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    with pytest.raises(ecrm.InvalidTypeError):
        strongest_associations("rules")  # type: ignore[arg-type]
