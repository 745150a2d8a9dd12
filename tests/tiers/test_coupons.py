"""Coupons (满X减Y / 无门槛, validity, scope) and the 50-denomination coupon catalogue."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import Money
from ecrm.errors import EcrmErrorGroup, InvalidTypeError, InvalidValueError
from ecrm.testing import coupon_catalogs, coupons
from ecrm.tiers import (
    Coupon,
    CouponCatalog,
    CouponCatalogErrorGroup,
    CouponScope,
    GiftPackRules,
    coupon_problems,
)

SH = ZoneInfo("Asia/Shanghai")


def yuan(text: str) -> Money:
    return Money.from_decimal(text)


def days_coupon(cid: str, face: str, threshold: str | None = None, **kw: object) -> Coupon:
    return Coupon(
        cid,
        face_value=yuan(face),
        threshold=None if threshold is None else yuan(threshold),
        valid_days=7,
        **kw,  # type: ignore[arg-type]
    )


# -- Coupon ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("face", "threshold", "zh", "en"),
    [
        ("20", "200", "满200减20", "¥20 off orders of ¥200 or more"),
        ("20", None, "20元无门槛", "¥20 off, no minimum spend"),
        ("5.50", "99.90", "满99.9减5.5", "¥5.5 off orders of ¥99.9 or more"),
        ("100", "100.01", "满100.01减100", "¥100 off orders of ¥100.01 or more"),
    ],
)
def test_describe_writes_the_operator_label(
    face: str, threshold: str | None, zh: str, en: str
) -> None:
    coupon = days_coupon("C", face, threshold)
    assert coupon.describe() == zh
    assert coupon.describe("zh") == zh
    assert coupon.describe("en") == en


def test_describe_rejects_unknown_language() -> None:
    with pytest.raises(InvalidValueError, match="lang"):
        days_coupon("C", "1").describe("fr")  # type: ignore[arg-type]


def test_face_value_equal_to_threshold_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="face_value must be less than the threshold"):
        days_coupon("C", "20", "20")


def test_face_value_one_fen_below_threshold_is_fine() -> None:
    assert days_coupon("C", "19.99", "20").threshold == Money(2000)


def test_face_value_above_threshold_is_refused() -> None:
    with pytest.raises(InvalidValueError) as info:
        days_coupon("C", "30", "20")
    assert info.value.field == "face_value"


@pytest.mark.parametrize("fen", [0, -1])
def test_face_value_must_be_positive(fen: int) -> None:
    with pytest.raises(InvalidValueError, match="face_value must be > 0"):
        Coupon("C", face_value=Money(fen), valid_days=1)


def test_threshold_in_another_currency_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="currency"):
        Coupon("C", face_value=Money(100), threshold=Money(1000, "USD"), valid_days=1)


def test_fixed_window_is_half_open_and_must_not_be_empty() -> None:
    start = dt.datetime(2026, 11, 11, tzinfo=SH)
    with pytest.raises(InvalidValueError, match="empty window"):
        Coupon("C", face_value=Money(100), valid_from=start, valid_until=start)
    ok = Coupon(
        "C", face_value=Money(100), valid_from=start,
        valid_until=start + dt.timedelta(microseconds=1),
    )
    assert ok.window(start + dt.timedelta(days=3)) == (start, start + dt.timedelta(microseconds=1))


def test_window_compares_instants_across_zones() -> None:
    # 08:00 in Shanghai is 00:00 UTC: until 00:00:01 UTC is one second later, not earlier.
    start = dt.datetime(2026, 1, 1, 8, tzinfo=SH)
    until = dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    one_second = Coupon("C", face_value=Money(1), valid_from=start, valid_until=until)
    assert one_second.valid_until == until
    with pytest.raises(InvalidValueError):
        Coupon("C", face_value=Money(1), valid_from=start,
               valid_until=dt.datetime(2026, 1, 1, 7, 59, tzinfo=SH))


def test_validity_needs_exactly_one_form() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=SH)
    with pytest.raises(InvalidValueError, match="valid_from"):
        Coupon("C", face_value=Money(100))
    with pytest.raises(InvalidValueError, match="valid_from"):
        Coupon("C", face_value=Money(100), valid_from=start)
    with pytest.raises(InvalidValueError, match="cannot be combined"):
        Coupon("C", face_value=Money(100), valid_days=3, valid_from=start,
               valid_until=start + dt.timedelta(days=1))
    with pytest.raises(InvalidValueError, match="valid_days must be > 0"):
        Coupon("C", face_value=Money(100), valid_days=0)
    with pytest.raises(InvalidTypeError, match="valid_days"):
        Coupon("C", face_value=Money(100), valid_days=1.5)  # type: ignore[arg-type]


def test_naive_window_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        Coupon("C", face_value=Money(100), valid_from=dt.datetime(2026, 1, 1),
               valid_until=dt.datetime(2026, 1, 2, tzinfo=SH))


def test_valid_days_count_elapsed_days_from_the_claim() -> None:
    # 7 days of 24 hours across the 2026-03-08 US DST change: the end moves an hour on
    # the wall clock because elapsed time, not wall time, is counted.
    ny = ZoneInfo("America/New_York")
    claimed = dt.datetime(2026, 3, 5, 12, 0, tzinfo=ny)
    start, end = Coupon("C", face_value=Money(100), valid_days=7).window(claimed)
    assert start == claimed
    assert end == dt.datetime(2026, 3, 12, 13, 0, tzinfo=ny)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(days=7)


def test_applies_to_checks_the_threshold() -> None:
    coupon = days_coupon("C", "20", "200")
    assert not coupon.applies_to(yuan("199.99"))
    assert coupon.applies_to(yuan("200"))
    assert days_coupon("D", "5").applies_to(Money(0))


def test_empty_id_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="coupon_id"):
        days_coupon(" ", "1")


def test_scope_labels() -> None:
    assert CouponScope.STORE.label_zh == "店铺优惠券"
    assert CouponScope.PLATFORM.label_zh == "平台优惠券"


# -- shop limits (GiftPackRules) ---------------------------------------------------------------


def test_face_value_limit_is_inclusive_at_100_yuan() -> None:
    assert coupon_problems(days_coupon("C", "100")) == []
    [problem] = coupon_problems(days_coupon("C", "100.01"), path="coupons[0].")
    assert problem.field == "coupons[0].face_value"
    assert "at most ¥100.00" in str(problem)


def test_face_value_limit_follows_the_rules() -> None:
    rules = GiftPackRules(max_face_value=yuan("200"))
    assert coupon_problems(days_coupon("C", "150"), rules) == []


def test_rules_defaults_match_the_store_rules() -> None:
    rules = GiftPackRules()
    assert (rules.max_coupons, rules.max_gifts, rules.store_coupons_only) == (3, 1, True)
    assert rules.max_face_value == Money(10_000)
    assert rules.claim_period == dt.timedelta(hours=24)
    assert rules.max_denominations == 50


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_coupons": -1}, "max_coupons"),
        ({"max_face_value": Money(0)}, "max_face_value"),
        ({"claim_period": dt.timedelta(0)}, "claim_period"),
        ({"max_denominations": -5}, "max_denominations"),
    ],
)
def test_rules_reject_nonsense(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        GiftPackRules(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


# -- CouponCatalog -----------------------------------------------------------------------------


def full_catalog(n: int = 50) -> CouponCatalog:
    catalog = CouponCatalog()
    for i in range(n):
        catalog = catalog.add(days_coupon(f"C{i:02d}", str(i + 1), str(i + 100)))
    return catalog


def test_catalog_holds_exactly_50_denominations() -> None:
    catalog = full_catalog()
    assert len(catalog) == 50
    assert [c.coupon_id for c in catalog] == [f"C{i:02d}" for i in range(50)]


def test_the_51st_denomination_fails_and_lists_the_existing_50() -> None:
    catalog = full_catalog()
    with pytest.raises(CouponCatalogErrorGroup) as info:
        catalog.add(days_coupon("NEW", "5"))
    [problem] = info.value.problems
    message = str(info.value)
    assert problem.field == "coupons"
    assert "delete one of them before adding 'NEW'" in message
    for i in range(50):
        assert f"C{i:02d} (满{i + 100}减{i + 1})" in message
    assert isinstance(info.value, EcrmErrorGroup)
    assert isinstance(info.value, ValueError)
    assert len(catalog) == 50  # unchanged


def test_deleting_one_makes_room() -> None:
    catalog = full_catalog().remove("C07")
    assert "C07" not in catalog
    catalog = catalog.add(days_coupon("NEW", "5"))
    assert len(catalog) == 50
    assert catalog.coupons[-1].coupon_id == "NEW"


def test_catalog_is_a_value_add_returns_a_new_one() -> None:
    empty = CouponCatalog()
    one = empty.add(days_coupon("A", "1"))
    assert len(empty) == 0
    assert len(one) == 1
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        one.coupons = ()  # type: ignore[misc]


def test_duplicate_id_is_rejected() -> None:
    catalog = CouponCatalog().add(days_coupon("A", "1"))
    with pytest.raises(CouponCatalogErrorGroup) as info:
        catalog.add(days_coupon("A", "2"))
    assert "coupons[1].coupon_id is already in the catalogue" in str(info.value)
    with pytest.raises(CouponCatalogErrorGroup) as info:
        CouponCatalog([days_coupon("A", "1"), days_coupon("A", "2")])
    assert "coupons[1].coupon_id must be unique" in str(info.value)


def test_catalog_collects_every_problem_of_an_addition() -> None:
    catalog = full_catalog().remove("C00").add(days_coupon("DUP", "1"))
    with pytest.raises(CouponCatalogErrorGroup) as info:
        catalog.add(days_coupon("DUP", "150"))
    assert sorted(p.field for p in info.value.problems) == [
        "coupons",
        "coupons[50].coupon_id",
        "coupons[50].face_value",
    ]


def test_catalog_over_the_limit_cannot_be_built_directly() -> None:
    items = [days_coupon(f"C{i}", "1") for i in range(51)]
    with pytest.raises(CouponCatalogErrorGroup) as info:
        CouponCatalog(items)
    assert "coupons must hold at most 50 denominations" in str(info.value)
    assert len(CouponCatalog(items, rules=GiftPackRules(max_denominations=60))) == 51


def test_catalog_refuses_coupons_above_the_face_value_limit() -> None:
    with pytest.raises(CouponCatalogErrorGroup) as info:
        CouponCatalog().add(days_coupon("BIG", "100.01"))
    assert "coupons[0].face_value must be at most ¥100.00" in str(info.value)


def test_remove_and_get_unknown_id() -> None:
    with pytest.raises(InvalidValueError, match="not in the catalogue"):
        CouponCatalog().remove("nope")
    with pytest.raises(InvalidValueError, match="not in the catalogue"):
        CouponCatalog().get("nope")
    assert full_catalog(3).get("C01").face_value == Money(200)


def test_catalog_refuses_non_coupons() -> None:
    with pytest.raises(InvalidTypeError):
        CouponCatalog().add("C1")  # type: ignore[arg-type]


# -- properties --------------------------------------------------------------------------------


@given(coupons())
def test_generated_coupons_are_within_the_store_limits(coupon: Coupon) -> None:
    assert coupon_problems(coupon) == []
    assert Money(0) < coupon.face_value <= Money(10_000)
    if coupon.threshold is not None:
        assert coupon.face_value < coupon.threshold
        assert coupon.describe().startswith("满")
    else:
        assert coupon.describe().endswith("元无门槛")


@given(coupon_catalogs(max_size=8), coupons(coupon_id="EXTRA"))
def test_add_then_remove_restores_the_catalogue(catalog: CouponCatalog, coupon: Coupon) -> None:
    added = catalog.add(coupon)
    assert len(added) == len(catalog) + 1
    assert added.remove("EXTRA") == catalog


@given(st.from_type(Coupon), st.from_type(CouponCatalog))
def test_types_are_registered_with_hypothesis(coupon: Coupon, catalog: CouponCatalog) -> None:
    assert isinstance(coupon, Coupon)
    assert len(catalog) <= 50
