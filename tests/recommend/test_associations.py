"""Association counts and measures worked by hand on a four-customer coffee shop."""

from __future__ import annotations

import pytest
from recommend_helpers import day, event_log, shop

import ecrm
from ecrm.recommend import Associations, associations

# u1 buys beans and sugar in one order; u2 buys sugar 4 days after beans; u3 buys sugar
# 29 days after beans; u4 buys only a cup.
COFFEE = [
    ("u1", 1, ["咖啡豆", "糖包"]),
    ("u2", 1, ["咖啡豆"]),
    ("u2", 5, ["糖包"]),
    ("u3", 1, ["咖啡豆"]),
    ("u3", 30, ["糖包"]),
    ("u4", 2, ["杯子"]),
]
AS_OF = day(60)


def rule(a: Associations, x: str, y: str) -> dict[str, object]:
    return a.to_dicts()[a.row(x, y)]


def test_same_order_counts_orders() -> None:
    """Six orders; beans in 3, sugar in 3, both in 1: confidence 1/3, lift (1/3)/(3/6)."""
    a = associations(shop(COFFEE), as_of=AS_OF, basis="order", min_count=1)
    assert a.n_units == 6
    r = rule(a, "咖啡豆", "糖包")
    assert (r["n_pair"], r["n_antecedent"], r["n_consequent"]) == (1, 3, 3)
    assert r["support"] == pytest.approx(1 / 6)
    assert r["confidence"] == pytest.approx(1 / 3)
    assert r["lift"] == pytest.approx((1 / 3) / (3 / 6))
    assert len(a) == 2  # beans→sugar and sugar→beans, nothing with the cup


def test_within_days_counts_customers_after_the_antecedent() -> None:
    """Within 14 days: u1 (same day) and u2 (4 days); u3's 29 days is too late."""
    a = associations(shop(COFFEE), as_of=AS_OF, basis="days", within_days=14, min_count=1)
    assert a.n_units == 4
    r = rule(a, "咖啡豆", "糖包")
    assert (r["n_pair"], r["n_antecedent"], r["n_consequent"]) == (2, 3, 3)
    assert r["confidence"] == pytest.approx(2 / 3)
    assert r["lift"] == pytest.approx((2 / 3) / (3 / 4))
    # Shrunk toward sugar's base rate 3/4 with 10 pseudo-customers, minus that rate.
    assert r["score"] == pytest.approx((2 + 10 * 0.75) / (3 + 10) - 0.75)
    # Sugar → beans: only u1 (u2 bought beans before the sugar, not after).
    assert rule(a, "糖包", "咖啡豆")["n_pair"] == 1
    wide = associations(shop(COFFEE), as_of=AS_OF, basis="days", within_days=29, min_count=1)
    assert rule(wide, "咖啡豆", "糖包")["n_pair"] == 3


def test_as_of_cuts_the_future_and_min_count_drops_thin_rules() -> None:
    a = associations(shop(COFFEE), as_of=day(3), basis="days", min_count=1)
    assert rule(a, "咖啡豆", "糖包")["n_pair"] == 1  # only u1's order is before day 3
    b = associations(shop(COFFEE), as_of=AS_OF, basis="days", min_count=2)
    assert b.antecedents.tolist() == ["咖啡豆"]
    assert b.consequents.tolist() == ["糖包"]


def test_invalid_orders_do_not_count() -> None:
    statuses = ["paid"] * len(COFFEE)
    statuses[2] = "closed"  # u2's sugar order was closed
    a = associations(shop(COFFEE, statuses=statuses), as_of=AS_OF, basis="days", min_count=1)
    assert rule(a, "咖啡豆", "糖包")["n_pair"] == 1


def test_event_basis_counts_viewers_who_then_bought() -> None:
    """u4 viewed beans on day 1 and bought a cup on day 2; u5 viewed beans, bought nothing."""
    events = event_log([("u4", 1, "browse", "咖啡豆"), ("u5", 1, "browse", "咖啡豆"),
                        ("u4", 1, "cart", "咖啡豆")])
    a = associations(shop(COFFEE), as_of=AS_OF, basis="events", events=events, min_count=1)
    r = rule(a, "咖啡豆", "杯子")
    assert (r["n_pair"], r["n_antecedent"], r["n_consequent"]) == (1, 2, 1)
    assert a.n_units == 5  # four buyers and u5
    assert r["lift"] == pytest.approx((1 / 2) / (1 / 5))
    assert a.explain("咖啡豆", "杯子") == (
        "because you viewed/carted/favourited 咖啡豆: 50% of customers who did bought 杯子 "
        "within 14 days (1 of 2), lift 2.5"
    )


def test_category_level() -> None:
    a = associations(shop(COFFEE), as_of=AS_OF, basis="days", by="category", min_count=1)
    assert rule(a, "咖啡", "配料")["n_pair"] == 2


def test_explain_in_words() -> None:
    a = associations(shop(COFFEE), as_of=AS_OF, basis="days", within_days=14, min_count=1)
    assert a.explain("咖啡豆", "糖包") == (
        "because you bought 咖啡豆: 67% of its buyers bought 糖包 within 14 days (2 of 3), lift 0.9"
    )
    o = associations(shop(COFFEE), as_of=AS_OF, basis="order", min_count=1)
    assert o.explain("咖啡豆", "糖包").startswith("because you bought 咖啡豆: 33% of orders with 咖啡豆")
    with pytest.raises(KeyError):
        a.explain("杯子", "糖包")
    assert a.top("咖啡豆") == ["糖包"]
    assert a.top("杯子") == []


def test_repr_and_frame_columns() -> None:
    a = associations(shop(COFFEE), as_of=AS_OF, basis="days", min_count=1)
    assert repr(a).startswith("Associations(2 rules by sku, basis='days', within_days=14, 4 units")
    assert list(a.to_dicts()[0]) == [
        "antecedent", "consequent", "n_pair", "n_antecedent", "n_consequent", "support",
        "confidence", "lift", "score",
    ]


def test_score_shrinks_small_counts() -> None:
    """A pair seen once ranks below a pair seen by 20 of 40 buyers, though its lift is higher."""
    rows = [("solo", 1, ["A", "RARE"])]
    rows += [(f"b{i}", 1, ["A", "COMMON"] if i < 20 else ["A"]) for i in range(40)]
    rows += [(f"x{i}", 1, ["COMMON"]) for i in range(20)]
    rows += [(f"z{i}", 1, ["Z"]) for i in range(200)]
    # 261 orders: A→RARE has lift (1/41)/(1/261) = 6.4, A→COMMON (20/41)/(40/261) = 3.2.
    a = associations(shop(rows, {}), as_of=AS_OF, basis="order", min_count=1)
    rare, common = a.row("A", "RARE"), a.row("A", "COMMON")
    assert a.lift[rare] > a.lift[common]
    assert a.score[common] > a.score[rare]
    assert a.top("A") == ["COMMON", "RARE"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"basis": "basket"}, "basis"),
        ({"within_days": -1}, "within_days"),
        ({"min_count": 0}, "min_count"),
        ({"shrink": -1.0}, "shrink"),
        ({"by": "brand"}, "by"),
        ({"basis": "events"}, "events"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ecrm.InvalidValueError) as info:
        associations(shop(COFFEE), as_of=AS_OF, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_log_without_lines_is_refused() -> None:
    log = ecrm.OrderLog.from_arrays(["u1"], [day(1)], [100])
    with pytest.raises(ecrm.InvalidValueError, match=r"orders\.items"):
        associations(log, as_of=AS_OF)
