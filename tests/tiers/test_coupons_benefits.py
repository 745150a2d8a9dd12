"""Member benefits (会员权益): kinds, their costs and grants, and the benefit catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ecrm import Money
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.tiers import Benefit, BenefitCatalog, BenefitErrorGroup, BenefitKind, Coupon, Gift

COUPON = Coupon("C10", face_value=Money(1000), threshold=Money(9900), valid_days=30)


def test_the_eight_kinds_carry_the_sources_names() -> None:
    # Seed 001 (客户运营平台-会员权益), typed by hand in simplified characters, in its order:
    # "新会员专享券、新会员专享礼、会员专享券、会员专享礼、积分兑券、积分兑礼（包含积分+钱兑换/购买）、
    # 积分兑红包、积分兑流量".
    source = "新会员专享券、新会员专享礼、会员专享券、会员专享礼、积分兑券、积分兑礼、积分兑红包、积分兑流量"
    assert [k.label_zh for k in BenefitKind] == source.split("、")
    assert [k.name for k in BenefitKind if k.new_member_only] == [
        "NEW_MEMBER_COUPON", "NEW_MEMBER_GIFT"
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
    # New-member benefits only within 24 h of the first registration.
    assert [b.benefit_id for b in catalog.for_level(1)] == ["pts"]
    joined = dt.datetime(2026, 11, 11, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    fresh = joined + dt.timedelta(hours=23, minutes=59)
    stale = joined + dt.timedelta(hours=24)
    assert [b.benefit_id for b in catalog.for_level(1, first_joined_at=joined, as_of=fresh)] == [
        "new", "pts"
    ]
    assert [b.benefit_id for b in catalog.for_level(1, first_joined_at=joined, as_of=stale)] == [
        "pts"
    ]
    assert [b.benefit_id for b in catalog.for_level(4, first_joined_at=joined, as_of=joined)] == [
        "new", "vip-gift", "pts"
    ]
    before = joined - dt.timedelta(seconds=1)
    assert [b.benefit_id for b in catalog.for_level(1, first_joined_at=joined, as_of=before)] == [
        "pts"
    ]
    with pytest.raises(InvalidValueError, match="new_member_period"):
        catalog.for_level(1, new_member_period=dt.timedelta(0))
    # at= is the deprecated alias of as_of= (the instant of the offer)
    old: Any = {"at": fresh}
    with pytest.warns(DeprecationWarning, match=r"for_level\(\): the keyword at=.*use as_of="):
        assert [b.benefit_id for b in catalog.for_level(1, first_joined_at=joined, **old)] == [
            "new", "pts"
        ]
    assert [b.benefit_id for b in catalog.of_kind(BenefitKind.MEMBER_GIFT)] == ["vip-gift"]
    assert catalog.get("pts").cost_points == 100
    assert "new" in catalog
    smaller = catalog.remove("new")
    assert len(smaller) == 2
    assert len(catalog) == 3


def test_catalog_rejects_duplicates_and_unknown_ids() -> None:
    one = BenefitCatalog().add(Benefit("a", BenefitKind.MEMBER_COUPON, COUPON))
    with pytest.raises(BenefitErrorGroup) as info:
        one.add(Benefit("a", BenefitKind.MEMBER_GIFT, Gift("x")))
    assert [p.field for p in info.value.problems] == ["benefits[1].benefit_id"]
    with pytest.raises(InvalidValueError, match="not in the benefit catalogue"):
        one.get("zzz")
    with pytest.raises(InvalidValueError):
        one.remove("zzz")
