"""Member benefits (会员权益): kinds, their costs and grants, and the benefit catalogue."""

from __future__ import annotations

import pytest

from ecrm import Money
from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm.tiers import Benefit, BenefitCatalog, BenefitError, BenefitKind, Coupon, Gift

COUPON = Coupon("C10", face_value=Money(1000), threshold=Money(9900), valid_days=30)


def test_the_eight_kinds_and_their_chinese_names() -> None:
    assert {k.name: k.label_zh for k in BenefitKind} == {
        "NEW_MEMBER_COUPON": "新会员优惠券",
        "NEW_MEMBER_GIFT": "新会员礼品",
        "MEMBER_COUPON": "会员优惠券",
        "MEMBER_GIFT": "会员礼品",
        "POINTS_FOR_COUPON": "积分兑换优惠券",
        "POINTS_FOR_GIFT": "积分兑换礼品",
        "POINTS_FOR_RED_PACKET": "积分兑换红包",
        "POINTS_FOR_TRAFFIC": "积分兑换流量",
    }
    assert [k.name for k in BenefitKind if k.costs_points] == [
        "POINTS_FOR_COUPON", "POINTS_FOR_GIFT", "POINTS_FOR_RED_PACKET", "POINTS_FOR_TRAFFIC",
    ]


def test_points_or_points_plus_money_for_a_gift() -> None:
    points_only = Benefit("g1", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=500)
    mixed = Benefit(
        "g2", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=200, money_part=Money(990)
    )
    assert points_only.money_part is None
    assert mixed.money_part == Money(990)
    assert mixed.redeemable


def test_money_part_only_for_gifts() -> None:
    with pytest.raises(InvalidValueError, match="only allowed for POINTS_FOR_GIFT"):
        Benefit("c", BenefitKind.POINTS_FOR_COUPON, COUPON, cost_points=10, money_part=Money(1))
    with pytest.raises(InvalidValueError, match="money_part must be > 0"):
        Benefit("g", BenefitKind.POINTS_FOR_GIFT, Gift("x"), cost_points=1, money_part=Money(0))


def test_points_kinds_cost_points_and_others_do_not() -> None:
    with pytest.raises(InvalidValueError, match="cost_points must be > 0"):
        Benefit("r", BenefitKind.POINTS_FOR_RED_PACKET, Money(500))
    with pytest.raises(InvalidValueError, match="cost_points must be 0"):
        Benefit("m", BenefitKind.MEMBER_COUPON, COUPON, cost_points=10)
    with pytest.raises(InvalidValueError, match="cost_points must be >= 0"):
        Benefit("m", BenefitKind.MEMBER_COUPON, COUPON, cost_points=-1)
    assert not Benefit("m", BenefitKind.MEMBER_COUPON, COUPON, min_level=2).redeemable


@pytest.mark.parametrize(
    ("kind", "grants"),
    [
        (BenefitKind.NEW_MEMBER_COUPON, Gift("x")),
        (BenefitKind.MEMBER_GIFT, COUPON),
        (BenefitKind.POINTS_FOR_RED_PACKET, "¥5"),
        (BenefitKind.POINTS_FOR_TRAFFIC, Money(100)),
    ],
)
def test_grant_must_match_the_kind(kind: BenefitKind, grants: object) -> None:
    with pytest.raises(InvalidTypeError, match=f"grants of a {kind.name} benefit"):
        Benefit("b", kind, grants, cost_points=10 if kind.costs_points else 0)  # type: ignore[arg-type]


def test_red_packet_and_traffic_grants() -> None:
    red = Benefit("r", BenefitKind.POINTS_FOR_RED_PACKET, Money(500), cost_points=50)
    traffic = Benefit("t", BenefitKind.POINTS_FOR_TRAFFIC, "100MB 流量", cost_points=30)
    assert red.grants == Money(500)
    assert traffic.grants == "100MB 流量"
    with pytest.raises(InvalidValueError):
        Benefit("r", BenefitKind.POINTS_FOR_RED_PACKET, Money(0), cost_points=50)


def test_catalog_lookup_by_level_and_kind() -> None:
    catalog = BenefitCatalog(
        [
            Benefit("new", BenefitKind.NEW_MEMBER_COUPON, COUPON, min_level=1),
            Benefit("vip-gift", BenefitKind.MEMBER_GIFT, Gift("scarf"), min_level=3),
            Benefit("pts", BenefitKind.POINTS_FOR_COUPON, COUPON, cost_points=100),
        ]
    )
    assert [b.benefit_id for b in catalog.for_level(0)] == ["pts"]
    assert [b.benefit_id for b in catalog.for_level(1)] == ["new", "pts"]
    assert [b.benefit_id for b in catalog.for_level(4)] == ["new", "vip-gift", "pts"]
    assert [b.benefit_id for b in catalog.of_kind(BenefitKind.MEMBER_GIFT)] == ["vip-gift"]
    assert catalog.get("pts").cost_points == 100
    assert "new" in catalog
    smaller = catalog.remove("new")
    assert len(smaller) == 2
    assert len(catalog) == 3


def test_catalog_rejects_duplicates_and_unknown_ids() -> None:
    one = BenefitCatalog().add(Benefit("a", BenefitKind.MEMBER_COUPON, COUPON))
    with pytest.raises(BenefitError) as info:
        one.add(Benefit("a", BenefitKind.MEMBER_GIFT, Gift("x")))
    assert [p.field for p in info.value.problems] == ["benefits[1].benefit_id"]
    with pytest.raises(InvalidValueError, match="not in the benefit catalogue"):
        one.get("zzz")
    with pytest.raises(InvalidValueError):
        one.remove("zzz")
