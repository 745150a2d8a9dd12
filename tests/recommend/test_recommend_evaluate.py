"""The time-split holdout, worked by hand on a five-customer shop."""

from __future__ import annotations

import pytest
from recommend_helpers import day, shop

import ecrm
from ecrm.recommend import evaluate_holdout

SHOP = [
    # before the split (day 50)
    ("u1", 1, ["咖啡豆", "糖包"]),
    ("u2", 1, ["咖啡豆"]),
    ("u2", 5, ["糖包"]),
    ("u3", 2, ["杯子"]),
    ("u4", 3, ["杯子"]),
    ("u4", 4, ["奶精", "咖啡豆B"]),
    ("u5", 10, ["咖啡豆"]),
    # after it
    ("u1", 52, ["糖包"]),  # owned already: u1 is not evaluated
    ("u5", 55, ["糖包"]),
    ("u5", 56, ["咖啡豆B"]),
    ("u5", 85, ["奶精"]),  # past the 30-day horizon
    ("u3", 60, ["奶精"]),
    ("u3", 61, ["咖啡豆"]),
    ("u6", 55, ["杯子"]),  # no history: not evaluated
]
# Truth: u5 {糖包, 咖啡豆B}, u3 {奶精, 咖啡豆}.
# Popularity before the split (buyers, ties by SKU): 咖啡豆 3, 杯子 2, 糖包 2, 咖啡豆B 1, 奶精 1.
# Rules (days, 14, min_count 1): 咖啡豆→糖包 (2 of 3); 杯子→奶精 and 杯子→咖啡豆B tie (1 of 2).


def run(k: int) -> dict[str, tuple[float, float]]:
    res = evaluate_holdout(shop(SHOP), split=day(50), horizon_days=30, k=k, min_count=1,
                           fallback=False)
    assert res.n_customers == 2
    return {d["method"]: (d["hit_rate"], d["recall"]) for d in res.to_dicts()}


def test_k1_by_hand() -> None:
    got = run(1)
    # recommend: u5 gets 糖包 (hit, 1 of 2); u3 gets 咖啡豆B (tie broken by SKU; miss).
    assert got["recommend"] == pytest.approx((0.5, 0.25))
    # popularity: u5 (owns 咖啡豆) gets 杯子, miss; u3 (owns 杯子) gets 咖啡豆, 1 of 2.
    assert got["popularity"] == pytest.approx((0.5, 0.25))
    # same category: u5's 咖啡 → 咖啡豆B, 1 of 2; u3's 器具 holds only what u3 owns.
    assert got["same_category"] == pytest.approx((0.5, 0.25))


def test_k2_by_hand() -> None:
    got = run(2)
    # recommend: u5 [糖包] 1 of 2; u3 [咖啡豆B, 奶精] 1 of 2.
    assert got["recommend"] == pytest.approx((1.0, 0.5))
    # popularity: u5 [杯子, 糖包] 1 of 2; u3 [咖啡豆, 糖包] 1 of 2.
    assert got["popularity"] == pytest.approx((1.0, 0.5))
    assert got["same_category"] == pytest.approx((0.5, 0.25))


def test_result_shape_and_repr() -> None:
    res = evaluate_holdout(shop(SHOP), split=day(50), horizon_days=30, k=2, min_count=1)
    assert [d["method"] for d in res.to_dicts()] == ["recommend", "popularity", "same_category"]
    assert list(res.to_dicts()[0]) == ["method", "k", "n_customers", "hit_rate", "recall"]
    assert repr(res).startswith("HoldoutResult(2 customers, recommend hit@2=")


@pytest.mark.parametrize(("kwargs", "field"), [({"k": 0}, "k"), ({"horizon_days": 0}, "horizon_days")])
def test_bad_options(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ecrm.InvalidValueError) as info:
        evaluate_holdout(shop(SHOP), split=day(50), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_k2_with_the_popularity_fill_by_hand() -> None:
    """u5's rule lists 糖包 only; the fill adds 咖啡's other seller 咖啡豆B (u5 owns 咖啡豆):
    2 of 2. u3's two tied rules already fill k = 2 (咖啡豆B, 奶精): 1 of 2."""
    res = evaluate_holdout(shop(SHOP), split=day(50), horizon_days=30, k=2, min_count=1,
                           fallback=False, fill=True)
    got = {d["method"]: (d["hit_rate"], d["recall"]) for d in res.to_dicts()}
    assert got["recommend"] == pytest.approx((1.0, 0.75))
    assert got["popularity"] == pytest.approx((1.0, 0.5))
