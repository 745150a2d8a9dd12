"""Member prices (设置商品参与会员打折): hand-worked prices and properties of the 7折 floor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import CurrencyMismatchError, InvalidTypeError, InvalidValueError, Money, OrderItem
from ecrm.testing import tier_ladders
from ecrm.tiers import TAOBAO_STORE_VIP, MemberPricing, TierLadder

VIP = TAOBAO_STORE_VIP  # discounts 9.8折, 9.5折, 9折, 8.5折


def yuan(v: str) -> Money:
    return Money.from_decimal(v)


def test_hand_worked_unit_prices() -> None:
    pricing = MemberPricing(VIP, skus={"coat", "scarf"})
    assert pricing.unit_price(yuan("199"), "coat", 3) == yuan("179.10")  # 199 × 0.9
    assert pricing.unit_price(yuan("0.99"), "scarf", 1) == yuan("0.97")  # 0.9702 → 0.97
    assert pricing.unit_price(yuan("0.10"), "scarf", 2) == yuan("0.10")  # 0.095 → 0.10 (half up)
    assert pricing.unit_price(yuan("199"), "coat", 0) == yuan("199")  # store customer
    assert pricing.unit_price(yuan("199"), "socks", 4) == yuan("199")  # does not take part
    everything = MemberPricing(VIP, excluded={"gift-card"})
    assert everything.unit_price(yuan("100"), "socks", 4) == yuan("85")
    assert everything.unit_price(yuan("100"), "gift-card", 4) == yuan("100")


def test_a_basket() -> None:
    pricing = MemberPricing(VIP, skus={"coat"})
    items = [OrderItem("coat", yuan("399"), 2), OrderItem("socks", yuan("19.90"), 3)]
    p = pricing.price(items, 4)
    # coat: 399 × 0.85 = 339.15 each, × 2 = 678.30; socks 19.90 × 3 = 59.70 at list.
    assert p.list_total == yuan("857.70")
    assert p.member_total == yuan("738.00")
    assert p.saving == yuan("119.70")
    assert (p.permille, p.discounted_lines) == (850, 1)


def test_a_shop_floor_above_the_platforms() -> None:
    pricing = MemberPricing(VIP, floor_permille=900)  # never below 9折
    assert pricing.permille(4) == 900
    assert pricing.permille(1) == 980
    assert pricing.unit_price(yuan("100"), "x", 4) == yuan("90")


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidValueError, match="floor_permille"):
        MemberPricing(VIP, floor_permille=600)  # below the platform's 7折
    with pytest.raises(InvalidTypeError, match="skus"):
        MemberPricing(VIP, skus="coat")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="level"):
        MemberPricing(VIP).permille(5)
    with pytest.raises(InvalidValueError, match="list_price"):
        MemberPricing(VIP).unit_price(Money(-1), "x", 1)
    with pytest.raises(CurrencyMismatchError):
        MemberPricing(VIP).unit_price(Money(100, "USD"), "x", 1)
    with pytest.raises(InvalidTypeError, match="items"):
        MemberPricing(VIP).price(["coat"], 1)  # type: ignore[list-item]


@given(
    tier_ladders(),
    st.integers(0, 10_000_000),
    st.integers(700, 1000),
    st.data(),
)
def test_member_price_respects_the_floor_and_the_levels(
    ladder: TierLadder, list_fen: int, floor: int, data: st.DataObject
) -> None:
    pricing = MemberPricing(ladder, floor_permille=floor)
    prices = [pricing.unit_price(Money(list_fen), "x", k).fen for k in range(ladder.top_level + 1)]
    for level, fen in enumerate(prices):
        permille = 1000 if level == 0 else max(ladder.tier(level).discount_permille, floor)
        # A plain reference: list × permille / 1000, half up, by exact integer arithmetic.
        assert fen == (list_fen * permille * 2 + 1000) // 2000
        assert fen * 1000 >= list_fen * 700 - 500  # never below 7折 (up to rounding)
        assert fen <= list_fen
    assert prices == sorted(prices, reverse=True)  # a higher level never pays more
    sku = data.draw(st.sampled_from(["a", "b"]))
    only_a = MemberPricing(ladder, skus={"a"}, floor_permille=floor)
    top = ladder.top_level
    if sku == "b":
        assert only_a.unit_price(Money(list_fen), sku, top).fen == list_fen
