"""The exportable member rules text of a ladder, in the shape Taobao's generated rules show.

The source document's generated text (after the join agreement) reads::

    入会规则
    您需要在本店累计消费金额大于100.0元或者消费次数大于3次，才可以申请成为本店会员，解释权归本店铺所有
    普通会员：1、累计在本店铺消费金额达到100.0元2、累计在本店铺消费次数达3次
    …（one line per level）…
    满足以上会员等级条件中任意一个条件即可，解释权归本店铺所有。

ecrm writes the same lines with the same words, with two differences: its entry rule says
达到 ("reaches") where the source says 大于 ("more than"), because ecrm evaluates ``>=``
everywhere and the source's own level-1 line says 达到 for the same threshold; and a space
separates a level's two numbered conditions (the source runs them together). The source
shows no discounts; ecrm appends a 会员折扣 block with each level's discount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecrm._errors import InvalidValueError
from ecrm._money import Money
from ecrm.tiers._ladder import MAX_DISCOUNT_PERMILLE, format_discount

if TYPE_CHECKING:
    from ecrm.tiers._ladder import Tier, TierLadder

__all__ = ["rules_text"]

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


def _zh(ladder: TierLadder) -> str:
    first = ladder.tiers[0]
    lines = [
        "入会规则",
        f"您需要在本店累计消费金额达到{_yuan_zh(first.min_spend)}或者消费次数达到"
        f"{first.min_orders}次，才可以申请成为本店会员，{_RIGHTS_ZH}",
    ]
    for t in ladder.tiers:
        lines.append(
            f"{t.name}：1、累计在本店铺消费金额达到{_yuan_zh(t.min_spend)} "
            f"2、累计在本店铺消费次数达{t.min_orders}次"
        )
    lines.append(_ANY_ZH)
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


def _en(ladder: TierLadder) -> str:
    first = ladder.tiers[0]
    lines = [
        "Entry rule",
        f"To apply for membership you need a cumulative spend of at least {first.min_spend} or "
        f"at least {first.min_orders} orders in this store. "
        "The store reserves the right of interpretation.",
    ]
    for t in ladder.tiers:
        lines.append(
            f"{_name_en(t)}: 1. cumulative spend in this store of at least {t.min_spend} or "
            f"2. at least {t.min_orders} orders in this store"
        )
    lines.append(
        "Meeting any one of a level's conditions is enough. "
        "The store reserves the right of interpretation."
    )
    lines.append("Member discounts")
    for t in ladder.tiers:
        lines.append(f"{_name_en(t)}: {_discount_en(t.discount_permille)}")
    return "\n".join(lines)


def rules_text(ladder: TierLadder, lang: str = "zh") -> str:
    """The member rules of ``ladder`` as text in ``lang`` (``"zh"`` or ``"en"``)."""
    if lang == "zh":
        return _zh(ladder)
    if lang == "en":
        return _en(ladder)
    raise InvalidValueError("lang", "must be 'zh' or 'en'", lang)
