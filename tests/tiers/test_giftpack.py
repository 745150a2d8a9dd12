"""The new-member gift pack: limits (collected all at once) and the 24-hour claim window."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import Money
from ecrm.errors import EcrmErrorGroup, InvalidTypeError, InvalidValueError
from ecrm.testing import gift_packs
from ecrm.tiers import (
    Claimed,
    Coupon,
    CouponScope,
    Gift,
    GiftPack,
    GiftPackErrorGroup,
    GiftPackRules,
    Membership,
    RefusalReason,
    Refused,
    claim_gift_pack,
    validate_gift_pack,
)

SH = ZoneInfo("Asia/Shanghai")
JOINED = dt.datetime(2026, 11, 11, 20, 30, tzinfo=SH)


def coupon(cid: str, fen: int = 1000, *, scope: CouponScope = CouponScope.STORE) -> Coupon:
    return Coupon(cid, face_value=Money(fen), valid_days=7, scope=scope)


# -- limits ------------------------------------------------------------------------------------


def test_exactly_three_coupons_and_one_gift_is_a_valid_pack() -> None:
    pack = GiftPack([coupon("A"), coupon("B"), coupon("C")], [Gift("mug")])
    assert len(pack.coupons) == 3
    assert validate_gift_pack(pack.coupons, pack.gifts) == []


def test_four_coupons_fail() -> None:
    with pytest.raises(GiftPackErrorGroup) as info:
        GiftPack([coupon(c) for c in "ABCD"])
    [problem] = info.value.problems
    assert problem.field == "coupons"
    assert str(problem) == "coupons must hold at most 3 coupons, got 4"


def test_two_gifts_fail() -> None:
    problems = validate_gift_pack([], [Gift("a"), Gift("b")])
    assert [p.field for p in problems] == ["gifts"]


def test_face_value_100_yuan_ok_and_100_01_fails() -> None:
    assert GiftPack([coupon("A", 10_000)]).coupons[0].face_value == Money(10_000)
    with pytest.raises(GiftPackErrorGroup) as info:
        GiftPack([coupon("A", 10_000), coupon("B", 10_001)])
    assert [p.field for p in info.value.problems] == ["coupons[1].face_value"]


def test_platform_coupon_fails() -> None:
    problems = validate_gift_pack([coupon("A", scope=CouponScope.PLATFORM)])
    assert [p.field for p in problems] == ["coupons[0].scope"]
    assert "店铺优惠券" in str(problems[0])


def test_three_violations_are_raised_together_with_their_paths() -> None:
    items = [
        coupon("A"),
        coupon("B", 15_000),
        coupon("C", scope=CouponScope.PLATFORM),
        coupon("D"),
    ]
    with pytest.raises(GiftPackErrorGroup) as info:
        GiftPack(items)
    error = info.value
    assert [p.field for p in error.problems] == [
        "coupons",
        "coupons[1].face_value",
        "coupons[2].scope",
    ]
    assert isinstance(error, EcrmErrorGroup)
    assert isinstance(error, ExceptionGroup)
    assert isinstance(error, ValueError)
    text = str(error)
    assert text.startswith("invalid gift pack (3 problem(s)):")
    assert "coupons must hold at most 3 coupons, got 4" in text
    assert "coupons[1].face_value must be at most ¥100.00" in text
    assert "coupons[2].scope must be CouponScope.STORE" in text


def test_except_star_sees_each_violation() -> None:
    fields: list[str] = []
    try:
        GiftPack([coupon("A", 20_000), coupon("A")], [Gift("x"), Gift("x")])
    except* InvalidValueError as group:
        fields = [e.field for e in group.exceptions]  # type: ignore[union-attr]
    assert fields == ["gifts", "coupons[0].face_value", "coupons[1].coupon_id", "gifts[1].gift_id"]


def test_validate_is_the_non_raising_form() -> None:
    problems = validate_gift_pack([coupon(c) for c in "ABCD"], rules=GiftPackRules(max_coupons=4))
    assert problems == []


def test_validate_checks_an_existing_pack_under_other_rules() -> None:
    pack = GiftPack([coupon("A", 9_000), coupon("B")], [Gift("mug")])
    assert validate_gift_pack(pack) == []
    stricter = GiftPackRules(max_coupons=1, max_gifts=0, max_face_value=Money(5_000))
    assert [p.field for p in validate_gift_pack(pack, rules=stricter)] == [
        "coupons",
        "gifts",
        "coupons[0].face_value",
    ]


def test_limits_are_parameters() -> None:
    rules = GiftPackRules(max_coupons=5, max_gifts=2, store_coupons_only=False)
    pack = GiftPack(
        [coupon(c, scope=CouponScope.PLATFORM) for c in "ABCDE"], [Gift("a"), Gift("b")],
        rules=rules,
    )
    assert len(pack.coupons) == 5
    with pytest.raises(GiftPackErrorGroup) as info:
        attrs.evolve(pack, rules=GiftPackRules())
    assert sorted(p.field for p in info.value.problems) == sorted(
        ["coupons", "gifts", *[f"coupons[{i}].scope" for i in range(5)]]
    )


def test_wrong_element_types_are_type_errors() -> None:
    with pytest.raises(InvalidTypeError):
        validate_gift_pack(["A"])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError):
        validate_gift_pack([], ["mug"])  # type: ignore[list-item]


def test_empty_pack_is_valid() -> None:
    assert GiftPack().coupons == ()


# -- claim window --------------------------------------------------------------------------------

PACK = GiftPack([coupon("A"), coupon("B", 500)], [Gift("mug")])


def test_claim_gift_pack_takes_at_as_a_deprecated_alias_of_as_of() -> None:
    at = JOINED + dt.timedelta(hours=2)
    old: Any = {"at": at}
    with pytest.warns(DeprecationWarning, match=r"claim_gift_pack\(\): the keyword at= .*as_of="):
        result = claim_gift_pack(PACK, member=JOINED, **old)
    assert result == claim_gift_pack(PACK, member=JOINED, as_of=at)
    assert isinstance(result, Claimed)
    assert result.claimed_at == at
    late: Any = {"at": JOINED + dt.timedelta(hours=24)}
    with pytest.warns(DeprecationWarning, match="at="):
        assert claim_gift_pack(PACK, member=JOINED, **late).reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias at="):
        claim_gift_pack(PACK, member=JOINED, as_of=at, **old)


def test_claim_at_23_59_59_after_joining_succeeds() -> None:
    at = JOINED + dt.timedelta(hours=23, minutes=59, seconds=59)
    result = claim_gift_pack(PACK, member=JOINED, as_of=at)
    assert isinstance(result, Claimed)
    assert result.ok
    assert result.claimed_at == at
    assert result.joined_at == JOINED
    assert [i.coupon.coupon_id for i in result.coupons] == ["A", "B"]
    assert result.coupons[0].valid_from == at
    assert result.coupons[0].valid_until == at + dt.timedelta(days=7)
    assert result.gifts == (Gift("mug"),)


def test_claim_exactly_24_hours_after_joining_is_too_late() -> None:
    result = claim_gift_pack(PACK, member=JOINED, as_of=JOINED + dt.timedelta(hours=24))
    assert isinstance(result, Refused)
    assert not result.ok
    assert result.reason is RefusalReason.TOO_LATE
    assert "24 hours" in result.message


def test_claim_at_the_join_instant_succeeds() -> None:
    assert isinstance(claim_gift_pack(PACK, member=JOINED, as_of=JOINED), Claimed)


def test_claim_before_joining_is_not_a_member() -> None:
    result = claim_gift_pack(PACK, member=JOINED, as_of=JOINED - dt.timedelta(seconds=1))
    assert isinstance(result, Refused)
    assert result.reason is RefusalReason.NOT_A_MEMBER


def test_claim_without_membership_is_refused() -> None:
    result = claim_gift_pack(PACK, member=None, as_of=JOINED)
    assert isinstance(result, Refused)
    assert result.reason is RefusalReason.NOT_A_MEMBER


def test_already_claimed_beats_too_late() -> None:
    at = JOINED + dt.timedelta(days=3)
    result = claim_gift_pack(PACK, member=JOINED, as_of=at, already_claimed=True)
    assert isinstance(result, Refused)
    assert result.reason is RefusalReason.ALREADY_CLAIMED


def test_window_is_elapsed_time_in_any_zone() -> None:
    # The member joined in Shanghai; the claim instant comes in UTC, 23:59:59 later.
    at = (JOINED + dt.timedelta(hours=23, minutes=59, seconds=59)).astimezone(dt.UTC)
    assert isinstance(claim_gift_pack(PACK, member=JOINED, as_of=at), Claimed)
    # Across a DST change 24 h of wall clock is 23 h elapsed: still inside the window.
    ny = ZoneInfo("America/New_York")
    joined = dt.datetime(2026, 3, 7, 12, tzinfo=ny)
    wall_24h = dt.datetime(2026, 3, 8, 12, tzinfo=ny)  # 23 h elapsed
    assert isinstance(claim_gift_pack(PACK, member=joined, as_of=wall_24h), Claimed)
    late = dt.datetime(2026, 3, 8, 13, tzinfo=ny)  # exactly 24 h elapsed
    assert claim_gift_pack(PACK, member=joined, as_of=late).reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]


def test_custom_claim_period() -> None:
    pack = GiftPack([coupon("A")], rules=GiftPackRules(claim_period=dt.timedelta(hours=48)))
    at = JOINED + dt.timedelta(hours=30)
    assert isinstance(claim_gift_pack(pack, member=JOINED, as_of=at), Claimed)


def test_claim_with_a_membership_record() -> None:
    member = Membership("c1").join(JOINED, spend=Money(20_000), orders=3)
    at = JOINED + dt.timedelta(hours=1)
    assert isinstance(claim_gift_pack(PACK, member=member, as_of=at), Claimed)
    left = member.leave(JOINED + dt.timedelta(hours=2))
    result = claim_gift_pack(PACK, member=left, as_of=JOINED + dt.timedelta(hours=3))
    assert isinstance(result, Refused)
    assert result.reason is RefusalReason.NOT_A_MEMBER
    assert claim_gift_pack(PACK, member=Membership("c2"), as_of=JOINED).reason is (  # type: ignore[union-attr]
        RefusalReason.NOT_A_MEMBER
    )


def test_rejoining_does_not_reopen_the_window() -> None:
    # The source: 新会员首次注册入会24小时内 — within 24 h of the *first* registration.
    first = Membership("c1").join(JOINED, spend=Money(20_000), orders=3)
    left = first.leave(JOINED + dt.timedelta(hours=2))
    # Left within the first window and re-joined inside it: still the first window.
    quick = left.join(JOINED + dt.timedelta(hours=3), spend=Money(20_000), orders=3)
    ok = claim_gift_pack(PACK, member=quick, as_of=JOINED + dt.timedelta(hours=23))
    assert isinstance(ok, Claimed)
    assert ok.joined_at == JOINED
    late = claim_gift_pack(PACK, member=quick, as_of=JOINED + dt.timedelta(hours=24))
    assert late.reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]
    # Re-joined ten days later: no new window.
    rejoined_at = JOINED + dt.timedelta(days=10)
    member = first.leave(JOINED + dt.timedelta(days=1)).join(
        rejoined_at, spend=Money(20_000), orders=3
    )
    again = claim_gift_pack(PACK, member=member, as_of=rejoined_at + dt.timedelta(hours=5))
    assert again.reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]
    assert "first registration" in again.message  # type: ignore[union-attr]
    # Between the two periods the customer was not a member.
    gap = claim_gift_pack(PACK, member=member, as_of=JOINED + dt.timedelta(days=5))
    assert gap.reason is RefusalReason.NOT_A_MEMBER  # type: ignore[union-attr]
    # In the first window but out of a period (left at +2 h, back at +3 h): not a member.
    out = claim_gift_pack(PACK, member=quick, as_of=JOINED + dt.timedelta(hours=2, minutes=30))
    assert out.reason is RefusalReason.NOT_A_MEMBER  # type: ignore[union-attr]


def test_record_with_first_joined_at() -> None:
    record = types.SimpleNamespace(
        joined_at=JOINED + dt.timedelta(days=3), left_at=None, first_joined_at=JOINED
    )
    at = JOINED + dt.timedelta(days=3, hours=1)
    refused = claim_gift_pack(PACK, member=record, as_of=at)
    assert refused.reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]
    fresh = types.SimpleNamespace(joined_at=JOINED, left_at=None)
    assert claim_gift_pack(PACK, member=fresh, as_of=JOINED + dt.timedelta(hours=1)).ok


def test_claim_checks_its_arguments() -> None:
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        claim_gift_pack(PACK, member=JOINED, as_of=dt.datetime(2026, 11, 12))
    with pytest.raises(InvalidTypeError):
        claim_gift_pack(PACK, member="yesterday", as_of=JOINED)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        claim_gift_pack("pack", member=JOINED, as_of=JOINED)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        claim_gift_pack(PACK, member=JOINED, as_of=JOINED, already_claimed="no")  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------------


@given(gift_packs())
def test_generated_packs_validate(pack: GiftPack) -> None:
    assert validate_gift_pack(pack.coupons, pack.gifts, rules=pack.rules) == []
    assert len(pack.coupons) <= 3
    assert len(pack.gifts) <= 1


@given(gift_packs(), st.sampled_from(["coupons", "gifts", "face_value", "scope"]), st.data())
def test_each_single_broken_limit_is_reported_alone(
    pack: GiftPack, broken: str, data: st.DataObject
) -> None:
    coupons = list(pack.coupons)
    gifts = list(pack.gifts)
    if broken == "coupons":
        coupons += [coupon(f"X{i}") for i in range(4 - len(coupons))]
        expected = ["coupons"]
    elif broken == "gifts":
        gifts += [Gift(f"X{i}") for i in range(2 - len(gifts))]
        expected = ["gifts"]
    else:
        if not coupons:
            coupons = [coupon("X")]
        i = data.draw(st.integers(min_value=0, max_value=len(coupons) - 1))
        old = coupons[i]
        if broken == "face_value":
            fen = data.draw(st.integers(min_value=10_001, max_value=1_000_000))
            coupons[i] = attrs.evolve(old, face_value=Money(fen), threshold=None)
        else:
            coupons[i] = attrs.evolve(old, scope=CouponScope.PLATFORM)
        expected = [f"coupons[{i}].{broken}"]
    problems = validate_gift_pack(coupons, gifts)
    assert [p.field for p in problems] == expected
    with pytest.raises(GiftPackErrorGroup) as info:
        GiftPack(coupons, gifts)
    assert [p.field for p in info.value.problems] == expected


@given(gift_packs(), st.integers(min_value=0, max_value=2 * 86_400))
def test_claim_succeeds_exactly_inside_the_half_open_window(pack: GiftPack, seconds: int) -> None:
    at = JOINED + dt.timedelta(seconds=seconds)
    result = claim_gift_pack(pack, member=JOINED, as_of=at)
    assert isinstance(result, Claimed) == (seconds < 86_400)
