"""Cost accounting per level (seed 002 成本测算), against a month worked by hand."""

from __future__ import annotations

import datetime as dt
import io
from fractions import Fraction

import pytest
from tiers_helpers import TZ, at

from ecrm import (
    CurrencyMismatchError,
    InvalidTypeError,
    InvalidValueError,
    Money,
    Order,
    OrderLog,
    Window,
)
from ecrm.tiers import (
    TAOBAO_STORE_VIP,
    Benefit,
    BenefitCatalog,
    BenefitKind,
    Coupon,
    FeeRules,
    Grant,
    InMemoryLedgerStore,
    InMemoryLoyaltyStore,
    LevelCosts,
    PaidMembership,
    PointsLedger,
    PointsRules,
    level_costs,
)

MARCH = Window(at(2026, 3, 1), at(2026, 4, 1))
LEVELS = {"a": 1, "b": 2, "c": 3, "d": 4, "x": 0}


def _grant(cid: str, benefit: str, period: str, level: int, fen: int, when: dt.datetime) -> Grant:
    return Grant(cid, benefit, period, level, 1, Money(fen), when)


GRANTS = [
    _grant("b", "silver", "2026-02", 2, 1_000, at(2026, 2, 2)),   # February: not counted
    _grant("b", "silver", "2026-03", 2, 1_000, at(2026, 3, 2)),
    _grant("c", "silver", "2026-03", 3, 1_000, at(2026, 3, 2)),
    _grant("d", "silver", "2026-03", 4, 1_000, at(2026, 3, 2)),
    _grant("c", "flash", "2026-W10", 3, 2_000, at(2026, 3, 2)),
    _grant("d", "flash", "2026-W10", 4, 2_000, at(2026, 3, 2)),
    _grant("c", "flash", "2026-W11", 3, 2_000, at(2026, 3, 9)),
    _grant("d", "flash", "2026-W11", 4, 2_000, at(2026, 3, 9)),
]


def _ledger() -> PointsLedger:
    catalog = BenefitCatalog([Benefit("c5", BenefitKind.POINTS_FOR_COUPON,
                                      Coupon("C5", face_value=Money(500), valid_days=30),
                                      cost_points=120)])
    ledger = PointsLedger(InMemoryLedgerStore(), PointsRules(expiry_months=None),
                          catalog=catalog)
    ledger.earn_for_order("a", "oa", Money(5_000), at=at(2026, 2, 20))         # February
    ledger.earn_for_order("b", "ob", Money(12_890), at=at(2026, 3, 5))         # 128 points
    ledger.redeem("b", "c5", "r1", at=at(2026, 3, 6))                          # -120
    ledger.earn_for_order("d", "od1", Money(30_000), at=at(2026, 3, 31, 23, 59))  # 300
    ledger.earn_for_order("d", "od2", Money(5_000), at=at(2026, 4, 1))         # April
    return ledger


def _orders() -> OrderLog:
    return OrderLog.from_orders([
        Order("ob", "b", at(2026, 3, 5), Money(12_890)),
        Order("oc", "c", at(2026, 3, 10), Money(50_000), refunded=Money(100)),
        Order("od1", "d", at(2026, 3, 31, 23, 59), Money(100_000)),
        Order("od2", "d", at(2026, 4, 1), Money(5_000)),
        Order("ox", "x", at(2026, 3, 1), Money(8_000)),
        Order("oa", "a", at(2026, 3, 3), Money(70_000), status="closed"),
    ], tz=TZ)


def _fees() -> PaidMembership:
    paid = PaidMembership(InMemoryLoyaltyStore(), FeeRules(Money(9_900)))
    paid.renew("b", at=at(2026, 2, 1), spend=Money(0))           # February: not counted
    paid.renew("c", at=at(2026, 3, 3), spend=Money(0))           # ¥99 ...
    paid.refund("c", 1, at=at(2026, 3, 20), amount=Money(5_000))  # ... less ¥50 refunded
    paid.renew("d", at=at(2026, 3, 3), spend=Money(30_000))      # waived
    return paid


def test_a_month_of_costs_per_level_worked_by_hand() -> None:
    paid = _fees()
    costs = level_costs(
        TAOBAO_STORE_VIP, LEVELS, window=MARCH,
        grants=GRANTS,
        redeemed=[GRANTS[1].key, GRANTS[4].key],  # b's March coupon, c's week-10 flash sale
        ledger_entries=_ledger().entries(),
        fen_per_point=Fraction(5, 4),
        gift_pack_claims={"a": at(2026, 3, 1), "b": at(2026, 2, 28, 23, 59), "new": at(2026, 3, 15)},
        gift_pack_cost=Money(1_500),
        fee_terms=[t for cid in "bcd" for t in paid.terms(cid)],
        orders=_orders(),
    )
    assert isinstance(costs, LevelCosts)
    assert costs.levels == (0, 1, 2, 3, 4)
    assert costs.names == ("店铺客户", "普通会员", "高级会员", "VIP会员", "至尊VIP")
    assert costs.members == (1, 1, 1, 1, 1)
    assert costs.granted_units == (0, 0, 1, 3, 3)
    assert costs.granted_value_fen == (0, 0, 1_000, 5_000, 5_000)
    assert costs.redeemed_units == (0, 0, 1, 1, 0)
    assert costs.redemption_rate == (None, None, 1.0, 1 / 3, 0.0)
    assert costs.benefit_cost_fen == (0, 0, 1_000, 2_000, 0)
    assert costs.points_earned == (0, 0, 128, 0, 300)
    assert costs.points_redeemed == (0, 0, 120, 0, 0)
    assert costs.points_cost_fen == (0, 0, 150, 0, 0)      # 120 points × 1.25 fen
    assert costs.gift_packs == (1, 1, 0, 0, 0)              # "new" is no member: level 0
    assert costs.gift_pack_cost_fen == (1_500, 1_500, 0, 0, 0)
    assert costs.fee_income_fen == (0, 0, 0, 4_900, 0)
    assert costs.cost_fen == (1_500, 1_500, 1_150, 2_000, 0)
    assert costs.revenue_fen == (8_000, 0, 12_890, 49_900, 100_000)
    assert costs.cost_share == (1_500 / 8_000, None, 1_150 / 12_890, 2_000 / 49_900, 0.0)
    row = costs.row(3)
    assert row["name"] == "VIP会员"
    assert row["cost_fen"] == 2_000
    assert list(row)[:3] == ["level", "name", "members"]
    assert costs.to_dicts()[1]["cost_share"] is None


def test_points_cost_is_exact_then_rounded_half_to_even() -> None:
    ledger = _ledger()
    # 120 points at 1/240 fen = 0.5 fen: half to even gives 0; at 1/80 fen = 1.5 → 2.
    for value, expected in ((Fraction(1, 240), 0), (Fraction(1, 80), 2)):
        costs = level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH,
                            ledger_entries=ledger.entries(), fen_per_point=value)
        assert costs.points_cost_fen[2] == expected


def test_redeemed_may_name_units_per_grant() -> None:
    two = Grant("c", "silver", "2026-03", 3, 2, Money(1_000), at(2026, 3, 2))
    costs = level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, grants=[two],
                        redeemed={two.key: 1})
    assert costs.granted_units[3] == 2
    assert costs.redeemed_units[3] == 1
    assert costs.benefit_cost_fen[3] == 1_000
    assert costs.redemption_rate[3] == 0.5
    with pytest.raises(InvalidValueError, match=r"must be an int in 0\.\.2"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, grants=[two], redeemed={two.key: 3})


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidValueError, match=r"levels\['b'\] must be an int in 0..4"):
        level_costs(TAOBAO_STORE_VIP, {"b": 5}, window=MARCH)
    with pytest.raises(InvalidValueError, match="gift_pack_cost is needed"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, gift_pack_claims={"a": at(2026, 3, 2)})
    with pytest.raises(InvalidValueError, match="fen_per_point must be >= 0"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, fen_per_point=-1)
    with pytest.raises(InvalidTypeError, match="fen_per_point must be an int or a Fraction"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, fen_per_point=0.5)  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatchError, match="gift_pack_cost"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, gift_pack_cost=Money(1, "USD"),
                    gift_pack_claims={"a": at(2026, 3, 2)})
    with pytest.raises(InvalidTypeError, match="window must be a Window"):
        level_costs(TAOBAO_STORE_VIP, LEVELS, window=(at(2026, 3, 1), at(2026, 4, 1)))  # type: ignore[arg-type]


def test_the_result_has_the_common_ways_out() -> None:
    costs = level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, grants=GRANTS,
                        orders=_orders())
    rows = costs.to_dicts()
    assert [r["level"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[4]["revenue_fen"] == 100_000
    assert rows[0]["redemption_rate"] is None
    out = io.StringIO()
    costs.to_csv(out)
    header = out.getvalue().splitlines()[0]
    assert header.startswith("level,name,members,granted_units,granted_value_fen")
    assert "¥" in repr(costs)


def test_frames_carry_fen_as_integers_and_missing_ratios_as_nulls() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    costs = level_costs(TAOBAO_STORE_VIP, LEVELS, window=MARCH, grants=GRANTS,
                        orders=_orders())
    frame = costs.to_pandas()
    assert list(frame.columns) == list(costs.to_dicts()[0])
    assert frame["revenue_fen"].tolist() == [8_000, 0, 12_890, 49_900, 100_000]
    assert str(frame["revenue_fen"].dtype) in ("int64", "Int64")
    assert pd.isna(frame["cost_share"][1])
    polars = costs.to_polars()
    assert polars["cost_fen"].dtype == pl.Int64
    assert polars["redemption_rate"].null_count() == 2
    arrow = costs.to_arrow()
    assert arrow.schema.field("granted_value_fen").type == pa.int64()
    assert arrow.column("name").to_pylist() == ["店铺客户", "普通会员", "高级会员", "VIP会员", "至尊VIP"]
