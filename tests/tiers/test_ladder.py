"""The tier ladder: validation, ANY-of evaluation at every boundary, rules text."""

from __future__ import annotations

import pickle
import re
import types
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm.tiers
from ecrm import CurrencyMismatchError, InvalidTypeError, InvalidValueError, Money, SchemeError
from ecrm.testing import tier_ladders
from ecrm.tiers import (
    TAOBAO_STORE_VIP,
    Comparison,
    Condition,
    LadderErrorGroup,
    Tier,
    TierLadder,
    TierRuleError,
    format_discount,
)

VIP = TAOBAO_STORE_VIP


def yuan(v: str) -> Money:
    return Money.from_decimal(v)


def tier(
    level: int, spend: str, orders: int, discount: int = 1000, name: str | None = None
) -> Tier:
    return Tier(level, name or f"L{level}", yuan(spend), orders, discount)


# -- the package door ------------------------------------------------------------------------


def test_all_is_exactly_the_public_surface() -> None:
    public = {
        name for name, value in vars(ecrm.tiers).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(ecrm.tiers.__all__) == public
    assert list(ecrm.tiers.__all__) == sorted(
        ecrm.tiers.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


# -- the preset ------------------------------------------------------------------------------


def test_preset_matches_design_table() -> None:
    rows = [(t.level, t.name, t.min_spend.fen, t.min_orders) for t in VIP.tiers]
    assert rows == [
        (1, "普通会员", 10_000, 3),
        (2, "高级会员", 20_000, 5),
        (3, "VIP会员", 50_000, 10),
        (4, "至尊VIP", 200_000, 20),
    ]
    assert [t.discount_permille for t in VIP.tiers] == [980, 950, 900, 850]
    assert VIP.name_of(0) == "店铺客户"
    assert VIP.top_level == 4
    assert VIP.currency == "CNY"


def test_ladder_is_frozen_and_picklable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        VIP.tiers = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(VIP)) == VIP


@pytest.mark.parametrize(
    ("permille", "text"),
    [(950, "9.5折"), (900, "9折"), (850, "8.5折"), (700, "7折"), (875, "8.75折"), (1000, "不打折")],
)
def test_format_discount(permille: int, text: str) -> None:
    assert format_discount(permille) == text


# -- validation: each single rule ------------------------------------------------------------


def _problems(tiers: list[Tier]) -> list[InvalidValueError]:
    with pytest.raises(LadderErrorGroup) as info:
        TierLadder(tiers)
    return list(info.value.problems)


def test_spend_must_rise_strictly() -> None:
    (p,) = _problems([tier(1, "100", 3), tier(2, "80", 5)])
    assert isinstance(p, TierRuleError)
    assert isinstance(p, SchemeError)
    assert isinstance(p, ValueError)
    assert str(p) == "min_spend for level 2 must be greater than level 1's ¥100.00, got ¥80.00"
    assert p.field == "tiers[1].min_spend"


def test_equal_spend_is_refused() -> None:
    (p,) = _problems([tier(1, "100", 3), tier(2, "100", 5)])
    assert p.field == "tiers[1].min_spend"


def test_count_must_rise_strictly() -> None:
    (p,) = _problems([tier(1, "100", 3), tier(2, "200", 3)])
    assert str(p) == "min_orders for level 2 must be greater than level 1's 3, got 3"
    assert p.field == "tiers[1].min_orders"


def test_discount_must_not_rise() -> None:
    (p,) = _problems([tier(1, "100", 3, 900), tier(2, "200", 5, 950)])
    assert str(p) == (
        "discount_permille for level 2 must not be greater than level 1's 900 (9折), got 950"
    )
    assert p.field == "tiers[1].discount_permille"


def test_equal_discounts_are_allowed() -> None:
    ladder = TierLadder([tier(1, "100", 3, 950), tier(2, "200", 5, 950)])
    assert ladder.top_level == 2


@pytest.mark.parametrize("bad", [699, 1001, 0])
def test_discount_range(bad: int) -> None:
    (p,) = _problems([tier(1, "100", 3, bad)])
    assert p.field == "tiers[0].discount_permille"
    assert "between 700 (7折) and 1000" in str(p)


@pytest.mark.parametrize("good", [700, 1000])
def test_discount_range_edges_are_allowed(good: int) -> None:
    assert TierLadder([tier(1, "100", 3, good)]).tiers[0].discount_permille == good


def test_levels_must_be_consecutive_from_one() -> None:
    (p,) = _problems([tier(1, "100", 3), tier(3, "200", 5)])
    assert p.field == "tiers[1].level"
    assert str(p) == "level of tiers[1] must be 2 (levels run 1..n in order), got 3"


def test_level_one_needs_positive_thresholds() -> None:
    problems = _problems([tier(1, "0", 0)])
    assert [p.field for p in problems] == ["tiers[0].min_spend", "tiers[0].min_orders"]


def test_empty_ladder() -> None:
    (p,) = _problems([])
    assert p.field == "tiers"


def test_names_must_differ() -> None:
    (p,) = _problems([tier(1, "100", 3, name="金卡"), tier(2, "200", 5, name="金卡")])
    assert p.field == "tiers[1].name"


def test_mixed_currency() -> None:
    t2 = Tier(2, "L2", Money(20_000, "USD"), 5)
    (p,) = _problems([tier(1, "100", 3), t2])
    assert p.field == "tiers[1].min_spend"
    assert "must be in CNY" in str(p)


def test_not_a_tier() -> None:
    (p,) = _problems([tier(1, "100", 3), "gold"])  # type: ignore[list-item]
    assert p.field == "tiers[1]"


def test_several_broken_rules_come_in_one_group() -> None:
    tiers = [tier(1, "100", 3, 650), tier(2, "80", 3, 980), tier(4, "500", 10, 900)]
    problems = _problems(tiers)
    assert [p.field for p in problems] == [
        "tiers[0].discount_permille",
        "tiers[1].min_spend",
        "tiers[1].min_orders",
        "tiers[1].discount_permille",
        "tiers[2].level",
    ]
    with pytest.raises(LadderErrorGroup) as info:
        TierLadder(tiers)
    text = str(info.value)
    assert text.startswith("invalid tier ladder (5 problem(s)):")
    assert "min_spend for level 2 must be greater than level 1's ¥100.00, got ¥80.00" in text


def test_tier_rejects_bad_types_and_values_at_once() -> None:
    with pytest.raises(InvalidTypeError):
        Tier(1, "L1", 10_000, 3)
    with pytest.raises(InvalidTypeError):
        Tier(True, "L1", yuan("1"), 3)
    with pytest.raises(ValueError, match="level"):
        Tier(0, "L0", yuan("1"), 3)
    with pytest.raises(ValueError, match="name"):
        Tier(1, "", yuan("1"), 3)
    with pytest.raises(InvalidValueError):
        Tier(1, "L1", yuan("-1"), 3)


def test_with_tier_revalidates() -> None:
    cheaper = VIP.with_tier(1, min_spend=yuan("50"))
    assert cheaper.tiers[0].min_spend == yuan("50")
    assert VIP.tiers[0].min_spend == yuan("100")  # the preset is untouched
    with pytest.raises(LadderErrorGroup):
        VIP.with_tier(2, min_spend=yuan("5000"))


@given(tier_ladders())
def test_generated_ladders_are_valid(ladder: TierLadder) -> None:
    assert TierLadder(ladder.tiers) == ladder


# -- evaluate: every boundary ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "orders", "level", "fired"),
    [
        ("0", 0, 0, Condition.NONE),
        ("99.99", 2, 0, Condition.NONE),
        ("100", 0, 1, Condition.SPEND),
        ("100", 2, 1, Condition.SPEND),
        ("99.99", 3, 1, Condition.COUNT),
        ("0", 3, 1, Condition.COUNT),
        ("100", 3, 1, Condition.BOTH),
        ("199.99", 4, 1, Condition.BOTH),
        ("200", 0, 2, Condition.SPEND),
        ("0", 5, 2, Condition.COUNT),
        ("499.99", 9, 2, Condition.BOTH),
        ("500", 1, 3, Condition.SPEND),
        ("10", 10, 3, Condition.COUNT),
        ("2000", 0, 4, Condition.SPEND),
        ("1999.99", 20, 4, Condition.COUNT),
        ("1000000", 1000, 4, Condition.BOTH),
        # ANY-of: the higher level of the two conditions wins
        ("2000", 3, 4, Condition.SPEND),
        ("100", 10, 3, Condition.COUNT),
    ],
)
def test_evaluate_boundaries(spend: str, orders: int, level: int, fired: Condition) -> None:
    d = VIP.evaluate(yuan(spend), orders, opted_in=True)
    assert (d.level, d.qualified_level, d.fired, d.potential) == (level, level, fired, False)
    assert d.name == ["店铺客户", "普通会员", "高级会员", "VIP会员", "至尊VIP"][level]


def test_not_opted_in_is_a_potential_member() -> None:
    d = VIP.evaluate(yuan("250"), 1, opted_in=False)
    assert (d.level, d.name, d.qualified_level, d.potential) == (0, "店铺客户", 2, True)
    assert d.fired is Condition.SPEND
    assert "potential member" in d.explain()


def test_not_qualifying_and_not_opted_in_is_not_potential() -> None:
    d = VIP.evaluate(yuan("50"), 1, opted_in=False)
    assert (d.level, d.qualified_level, d.potential) == (0, 0, False)


def test_distance_to_next_by_hand() -> None:
    # ¥120 and 2 orders: level 1 by spend; level 2 needs ¥200 - ¥120 = ¥80 OR 5 - 2 = 3 orders
    d = VIP.evaluate(yuan("120"), 2, opted_in=True)
    assert (d.next_level, d.spend_to_next, d.orders_to_next) == (2, yuan("80"), 3)
    # level 0: ¥99.99 and 2 orders need ¥0.01 or 1 order for level 1
    d0 = VIP.evaluate(yuan("99.99"), 2, opted_in=True)
    assert (d0.next_level, d0.spend_to_next, d0.orders_to_next) == (1, yuan("0.01"), 1)
    # by count at level 3 (10 orders) with little spend: level 4 needs ¥1,990 or 10 orders
    d3 = VIP.evaluate(yuan("10"), 10, opted_in=True)
    assert (d3.next_level, d3.spend_to_next, d3.orders_to_next) == (4, yuan("1990"), 10)


def test_distance_is_none_at_the_top() -> None:
    d = VIP.evaluate(yuan("2000"), 0, opted_in=True)
    assert (d.next_level, d.spend_to_next, d.orders_to_next) == (None, None, None)
    assert "top level" in d.explain()


def test_explain_names_the_condition() -> None:
    text = VIP.evaluate(yuan("120"), 2, opted_in=True).explain()
    assert text == (
        "level 1 普通会员: spend ¥120.00 >= ¥100.00 (spend condition fired; any one condition "
        "is enough); next level 2 高级会员 needs ¥80.00 more spend or 3 more orders."
    )
    zero = VIP.evaluate(yuan("99.99"), 2, opted_in=True).explain()
    assert zero.startswith("level 0 店铺客户: spend ¥99.99 < ¥100.00 and 2 orders < 3")


def test_evaluate_bad_input() -> None:
    with pytest.raises(CurrencyMismatchError):
        VIP.evaluate(Money(10_000, "USD"), 1, opted_in=True)
    with pytest.raises(InvalidTypeError):
        VIP.evaluate(100.0, 1, opted_in=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        VIP.evaluate(yuan("1"), 1.0, opted_in=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        VIP.evaluate(yuan("-1"), 1, opted_in=True)
    with pytest.raises(InvalidValueError):
        VIP.evaluate(yuan("1"), -1, opted_in=True)
    with pytest.raises(InvalidTypeError):
        VIP.evaluate(yuan("1"), 1, opted_in=1)  # type: ignore[arg-type]


def _plain_level(ladder: TierLadder, spend_fen: int, orders: int) -> int:
    level = 0
    for t in ladder.tiers:
        if spend_fen >= t.min_spend.fen or orders >= t.min_orders:
            level = t.level
    return level


@given(tier_ladders(), st.integers(0, 600_000), st.integers(0, 50), st.booleans())
def test_evaluate_matches_a_plain_recomputation(
    ladder: TierLadder, spend: int, orders: int, opted: bool
) -> None:
    d = ladder.evaluate(Money(spend), orders, opted_in=opted)
    q = _plain_level(ladder, spend, orders)
    assert d.qualified_level == q
    assert d.level == (q if opted else 0)
    assert d.potential == (q > 0 and not opted)
    if q < ladder.top_level:
        nxt = ladder.tiers[q]
        assert d.spend_to_next == Money(nxt.min_spend.fen - spend)
        assert d.orders_to_next == nxt.min_orders - orders
        assert d.spend_to_next is not None
        assert d.orders_to_next is not None
        assert d.spend_to_next.fen > 0
        assert d.orders_to_next > 0
    if q:
        t = ladder.tiers[q - 1]
        by_spend, by_count = spend >= t.min_spend.fen, orders >= t.min_orders
        expected = {(True, True): Condition.BOTH, (True, False): Condition.SPEND,
                    (False, True): Condition.COUNT}[(by_spend, by_count)]
        assert d.fired is expected


@given(tier_ladders(), st.integers(0, 600_000), st.integers(0, 600_000), st.integers(0, 50))
def test_evaluate_is_monotone_in_spend(ladder: TierLadder, a: int, b: int, orders: int) -> None:
    lo, hi = sorted((a, b))
    assert (
        ladder.evaluate(Money(lo), orders, opted_in=True).level
        <= ladder.evaluate(Money(hi), orders, opted_in=True).level
    )


@given(tier_ladders(), st.integers(0, 600_000), st.integers(0, 60), st.integers(0, 60))
def test_evaluate_is_monotone_in_count(ladder: TierLadder, spend: int, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert (
        ladder.evaluate(Money(spend), lo, opted_in=True).level
        <= ladder.evaluate(Money(spend), hi, opted_in=True).level
    )


# -- rules text --------------------------------------------------------------------------------


# A verbatim excerpt of seed 001 (the project's source document): its generated rules.
SEED_EXCERPT = Path(__file__).parent / "data" / "seed_001_member_rules.txt"
SEED_001 = Path("/work/shared/seeds/001_c7758bc54bc98bf6.txt")

# The source's generated rules (seed 001, 会员等级 set-up), typed by hand in simplified
# characters with full-width punctuation, one part per line. The test below also checks it
# against the stored seed, which holds the same text in traditional characters with ASCII
# punctuation, pinyin glosses after some characters and no line breaks.
SOURCE_RULES_ZH = """\
我已阅读并了解此店铺及本网站的条款条件、隐私政策以及店铺会员的入会协议，并且同意接受其中所有的条款。我同意此店铺向我发送邮件、彩信、旺旺或致电。
入会规则
您需要在本店累计消费金额大于100.0元或者消费次数大于3次，才可以申请成为本店会员，解释权归本店铺所有
普通会员：1、累计在本店铺消费金额达到100.0元2、累计在本店铺消费次数达3次
高级会员：1、累计在本店铺消费金额达到200.0元2、累计在本店铺消费次数达5次
VIP会员：1、累计在本店铺消费金额达到500.0元2、累计在本店铺消费次数达10次
至尊VIP：1、累计在本店铺消费金额达到2000.0元2、累计在本店铺消费次数达20次
满足以上会员等级条件中任意一个条件即可，解释权归本店铺所有。"""

# Traditional → simplified for exactly the characters of that passage that differ, and the
# seed's ASCII punctuation back to the full-width marks of the original.
_TO_SIMPLIFIED = str.maketrans({
    "閱": "阅", "鋪": "铺", "網": "网", "條": "条", "隱": "隐", "會": "会", "協": "协",
    "議": "议", "發": "发", "郵": "邮", "電": "电", "規": "规", "則": "则", "計": "计",
    "費": "费", "額": "额", "數": "数", "請": "请", "為": "为", "員": "员", "權": "权",
    "歸": "归", "釋": "释", "達": "达", "滿": "满", "級": "级", "個": "个", "並": "并", "於": "于",
    "讀": "读", "務": "务", "與": "与", "裝": "装", "類": "类", "錢": "钱", "禮": "礼",
    ",": "，", ":": "：",
})


def _seed_rules_zh() -> str:
    """The generated rules passage of seed 001, in simplified characters."""
    passage = SEED_EXCERPT.read_text(encoding="utf-8").rstrip("\n")
    passage = re.sub(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", "", passage)
    return passage.translate(_TO_SIMPLIFIED)


@pytest.mark.skipif(not SEED_001.exists(), reason="the seed documents are not on this machine")
def test_seed_excerpt_is_verbatim() -> None:
    excerpt = SEED_EXCERPT.read_text(encoding="utf-8").rstrip("\n")
    assert excerpt in SEED_001.read_text(encoding="utf-8")


def test_source_rules_are_the_seeds_text() -> None:
    # The hand-typed expectation is the seed's passage, character for character.
    assert _seed_rules_zh() == "".join(SOURCE_RULES_ZH.splitlines())


def test_rules_text_zh_is_the_source_text() -> None:
    assert VIP.rules_text("zh") == SOURCE_RULES_ZH
    assert VIP.rules_text() == SOURCE_RULES_ZH  # zh is the default
    assert "".join(VIP.rules_text().splitlines()) == _seed_rules_zh()


def test_rules_text_zh_without_agreement_and_with_discounts() -> None:
    lines = SOURCE_RULES_ZH.splitlines()
    assert VIP.rules_text(agreement=False).splitlines() == lines[1:]
    with_discounts = VIP.rules_text(discounts=True).splitlines()
    assert with_discounts[: len(lines)] == lines
    assert with_discounts[len(lines):] == [
        "会员折扣", "普通会员：9.8折", "高级会员：9.5折", "VIP会员：9折", "至尊VIP：8.5折",
    ]


def test_rules_text_zh_strict_ladder_says_more_than() -> None:
    strict = attrs.evolve(VIP, comparison=Comparison.MORE_THAN)
    lines = strict.rules_text().splitlines()
    assert lines[2] == SOURCE_RULES_ZH.splitlines()[2]  # the entry rule is already 大于
    assert lines[3] == "普通会员：1、累计在本店铺消费金额大于100.0元2、累计在本店铺消费次数大于3次"


def test_rules_text_formats_fen_amounts() -> None:
    ladder = TierLadder([tier(1, "99.9", 2), tier(2, "150.25", 4)])
    text = ladder.rules_text()
    assert "大于99.9元" in text
    assert "达到150.25元" in text


def test_rules_text_en() -> None:
    text = VIP.rules_text("en", discounts=True)
    assert "spend of at least ¥100.00 or at least 3 orders in this store" in text
    assert "1. cumulative spend in this store of at least ¥500.00 or 2. at least 10 orders" in text
    assert "level 3 VIP member (VIP会员): 90% of the list price (9折)" in text.splitlines()
    strict = attrs.evolve(VIP, comparison=Comparison.MORE_THAN).rules_text("en")
    assert "of more than ¥500.00 or 2. more than 10 orders" in strict
    assert "spend of more than ¥100.00 or more than 3 orders in this store" in strict


@given(tier_ladders(), st.sampled_from(["zh", "en"]))
def test_rules_text_is_deterministic(ladder: TierLadder, lang: str) -> None:
    rebuilt = TierLadder(tuple(attrs.evolve(t) for t in ladder.tiers))
    assert ladder.rules_text(lang) == rebuilt.rules_text(lang)  # type: ignore[arg-type]
    lines = ladder.rules_text(lang).splitlines()  # type: ignore[arg-type]
    assert len(lines) == ladder.top_level + 4


def test_rules_text_bad_language() -> None:
    with pytest.raises(InvalidValueError, match="lang"):
        VIP.rules_text("fr")  # type: ignore[arg-type]


def test_table() -> None:
    assert VIP.table().splitlines()[2].split() == ["1", "普通会员", "¥100.00", "3", "980‰", "9.8折"]


# -- threshold comparison (≥ or >) ---------------------------------------------------------------


def _reference_level(ladder: TierLadder, spend_fen: int, orders: int) -> int:
    """The highest level whose spend OR count condition holds, by a plain scan."""
    strict = ladder.comparison is Comparison.MORE_THAN
    best = 0
    for t in ladder.tiers:
        meets_spend = spend_fen > t.min_spend.fen if strict else spend_fen >= t.min_spend.fen
        meets_count = orders > t.min_orders if strict else orders >= t.min_orders
        if meets_spend or meets_count:
            best = max(best, t.level)
    return best


@given(
    tier_ladders(),
    st.sampled_from(list(Comparison)),
    st.lists(st.tuples(st.integers(0, 800_000), st.integers(0, 80)), min_size=1, max_size=20),
)
def test_level_is_the_highest_whose_any_condition_holds(
    ladder: TierLadder, comparison: Comparison, totals: list[tuple[int, int]]
) -> None:
    ladder = attrs.evolve(ladder, comparison=comparison)
    # Also probe each threshold exactly and one unit either side.
    edges = [(t.min_spend.fen + d, t.min_orders + d) for t in ladder.tiers for d in (-1, 0, 1)]
    probes = [(max(s, 0), max(c, 0)) for s, c in totals + edges]
    for spend, orders in probes:
        expected = _reference_level(ladder, spend, orders)
        decision = ladder.evaluate(Money(spend), orders, opted_in=True)
        assert decision.level == decision.qualified_level == expected
        assert ladder.evaluate(Money(spend), orders, opted_in=False).level == 0
    s = np.asarray([p[0] for p in probes], dtype=np.int64)
    c = np.asarray([p[1] for p in probes], dtype=np.int64)
    assert ladder.levels_of(s, c).tolist() == [_reference_level(ladder, *p) for p in probes]


def test_strict_ladder_needs_more_than_the_threshold() -> None:
    strict = attrs.evolve(VIP, comparison=Comparison.MORE_THAN)
    assert strict.evaluate(yuan("100"), 0, opted_in=True).level == 0  # ¥100 is not > ¥100
    assert strict.evaluate(yuan("100.01"), 0, opted_in=True).level == 1
    assert strict.evaluate(yuan("0"), 3, opted_in=True).level == 0  # 3 orders is not > 3
    assert strict.evaluate(yuan("0"), 4, opted_in=True).level == 1
    at_100 = strict.evaluate(yuan("100"), 3, opted_in=True)
    assert at_100.spend_to_next == yuan("0.01")  # of level 1: ¥100.01 - ¥100
    assert at_100.orders_to_next == 1
    d = strict.evaluate(yuan("150"), 0, opted_in=True)
    assert (d.next_level, d.spend_to_next, d.orders_to_next) == (2, yuan("50.01"), 6)
    assert "spend ¥150.00 > ¥100.00" in d.explain()
    assert VIP.evaluate(yuan("100"), 0, opted_in=True).level == 1  # the default is ≥


def test_comparison_must_be_a_comparison() -> None:
    with pytest.raises(TypeError, match="comparison"):
        TierLadder(VIP.tiers, comparison=">")  # type: ignore[arg-type]
