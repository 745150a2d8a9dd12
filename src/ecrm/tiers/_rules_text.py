"""The exportable member rules text of a ladder, as Taobao's generator writes it.

The source document (seed 001, 会员等级 set-up, "设置后自动生成的店铺会员规则如下") shows the
generated text: the join agreement (入会协议) paragraph, 入会规则, the entry rule, one
line per level with its two numbered conditions run together, and the ANY-of sentence.
For the source's ladder (:data:`~ecrm.tiers.TAOBAO_STORE_VIP`) ecrm's Chinese text is that
text character for character, one part per line (the source document lost its line
breaks). The entry rule says 大于 and the level lines 达到/达, as the source does; a ladder
whose :attr:`~ecrm.tiers.TierLadder.comparison` is strict (``>``) says 大于 in the level
lines too. The source shows no discounts: a 会员折扣 block is added only on request. The
English text says what the ladder evaluates ("at least" under ≥, "more than" under >)
in every line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecrm._money import Money
from ecrm.errors import InvalidValueError
from ecrm.tiers._ladder import MAX_DISCOUNT_PERMILLE, Comparison, format_discount

if TYPE_CHECKING:
    from ecrm.tiers._ladder import Tier, TierLadder

__all__ = ["AGREEMENT_ZH", "rules_text"]

#: The join agreement paragraph that opens the source's generated rules.
AGREEMENT_ZH = (
    "我已阅读并了解此店铺及本网站的条款条件、隐私政策以及店铺会员的入会协议，"
    "并且同意接受其中所有的条款。我同意此店铺向我发送邮件、彩信、旺旺或致电。"
)
_AGREEMENT_EN = (
    "I have read and understood the terms and conditions, the privacy policy of this store "
    "and this site and the store's membership agreement, and accept all of their terms. "
    "I agree that this store may send me e-mail, MMS and Wangwang messages or call me."
)
_ANY_ZH = "满足以上会员等级条件中任意一个条件即可，解释权归本店铺所有。"
_RIGHTS_ZH = "解释权归本店铺所有"


def _yuan_zh(money: Money) -> str:
    """``100.0元`` as the source writes amounts (at least one decimal, no separators)."""
    sign = "-" if money.fen < 0 else ""
    fen = abs(money.fen)
    text = f"{fen // 100}.{fen % 100:02d}".rstrip("0")
    if text.endswith("."):
        text += "0"
    unit = "元" if money.currency == "CNY" else f" {money.currency}"
    return f"{sign}{text}{unit}"


def _zh(ladder: TierLadder, *, agreement: bool, discounts: bool) -> str:
    first = ladder.tiers[0]
    strict = ladder.comparison is Comparison.MORE_THAN
    reaches, reaches_count = ("大于", "大于") if strict else ("达到", "达")
    lines = [AGREEMENT_ZH] if agreement else []
    lines += [
        "入会规则",
        f"您需要在本店累计消费金额大于{_yuan_zh(first.min_spend)}或者消费次数大于"
        f"{first.min_orders}次，才可以申请成为本店会员，{_RIGHTS_ZH}",
    ]
    for t in ladder.tiers:
        lines.append(
            f"{t.name}：1、累计在本店铺消费金额{reaches}{_yuan_zh(t.min_spend)}"
            f"2、累计在本店铺消费次数{reaches_count}{t.min_orders}次"
        )
    lines.append(_ANY_ZH)
    if discounts:
        lines.append("会员折扣")
        for t in ladder.tiers:
            lines.append(f"{t.name}：{format_discount(t.discount_permille)}")
    return "\n".join(lines)


def _name_en(t: Tier) -> str:
    return f"level {t.level} {t.name_en} ({t.name})" if t.name_en else f"level {t.level} {t.name}"


def _discount_en(permille: int) -> str:
    if permille >= MAX_DISCOUNT_PERMILLE:
        return "no discount"
    pct = f"{permille / 10:.1f}".rstrip("0").rstrip(".")
    return f"{pct}% of the list price ({format_discount(permille)})"


def _en(ladder: TierLadder, *, agreement: bool, discounts: bool) -> str:
    first = ladder.tiers[0]
    op = "more than" if ladder.comparison is Comparison.MORE_THAN else "at least"
    lines = [_AGREEMENT_EN] if agreement else []
    lines += [
        "Entry rule",
        f"To apply for membership you need a cumulative spend of {op} {first.min_spend} "
        f"or {op} {first.min_orders} orders in this store. "
        "The store reserves the right of interpretation.",
    ]
    for t in ladder.tiers:
        lines.append(
            f"{_name_en(t)}: 1. cumulative spend in this store of {op} {t.min_spend} or "
            f"2. {op} {t.min_orders} orders in this store"
        )
    lines.append(
        "Meeting any one of a level's conditions is enough. "
        "The store reserves the right of interpretation."
    )
    if discounts:
        lines.append("Member discounts")
        for t in ladder.tiers:
            lines.append(f"{_name_en(t)}: {_discount_en(t.discount_permille)}")
    return "\n".join(lines)


def rules_text(
    ladder: TierLadder, lang: str = "zh", *, agreement: bool = True, discounts: bool = False
) -> str:
    """The member rules of ``ladder`` as text (see :meth:`TierLadder.rules_text`).

    Args:
        ladder: the ladder to describe.
        lang: ``"zh"`` or ``"en"``.
        agreement: open with the join agreement paragraph.
        discounts: append a block with each level's discount.

    Returns:
        The text, one part per line.

    Raises:
        InvalidValueError: ``lang`` is not ``"zh"`` or ``"en"``.
    """
    if lang == "zh":
        return _zh(ladder, agreement=agreement, discounts=discounts)
    if lang == "en":
        return _en(ladder, agreement=agreement, discounts=discounts)
    raise InvalidValueError("lang", "must be 'zh' or 'en'", lang)
