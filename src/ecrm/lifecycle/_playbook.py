"""The lifecycle playbook as data: which action goes out at which stage or event, and when."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm.errors import InvalidValueError
from ecrm.lifecycle._stages import Stage

__all__ = ["DEFAULT_PLAYBOOK", "Playbook", "PlaybookRule", "Trigger"]


class Trigger(enum.Enum):
    """The event a playbook rule's ``offset_days`` counts from."""

    FIRST_ORDER_SHIPPED = "first_order_shipped"  # the first order left the warehouse
    STAGE = "stage"  # while the customer is in ``stage`` (offset counts from entering it)
    MEMBER_DAY = "member_day"  # the shop's member day
    LAST_PURCHASE = "last_purchase"  # the last purchase day (inactivity marks)
    CHURNED = "churned"  # the day the customer crossed P90


def _offset(instance: PlaybookRule, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise InvalidValueError(attribute.name, "must be >= 0 days", value)


@attrs.frozen
class PlaybookRule:
    """One action of the playbook.

    Attributes:
        key: a stable identifier ("usage_tutorial", "win_back", ...), used by touch for
            idempotency keys and message templates.
        trigger: what ``offset_days`` counts from.
        offset_days: days after the trigger when the action is due (0 = on the day).
        action: the action in English.
        label_zh: the operator's Chinese name.
        stage: the stage the rule applies to (``None`` for any).
        valid_days: how long after the due day the action may still go out (``None``:
            only on the due day); ``window_days`` is its deprecated alias (keyword and
            attribute).
        offer: the offer text, when the action carries one (coupon, 满100返50 ...).

    .. versionchanged:: 0.1.0
       ``window_days`` renamed ``valid_days`` (how long it stays open, not a range).
    """

    key: str = attrs.field(validator=_v.min_len(1))
    trigger: Trigger = attrs.field(validator=_v.instance_of(Trigger))
    offset_days: int = attrs.field(validator=[_v.instance_of(int), _offset])
    action: str
    label_zh: str
    stage: Stage | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(Stage))
    )
    valid_days: int | None = None
    offer: str | None = None

    window_days = renamed_attribute("window_days", "valid_days")


# The attrs-made __init__ takes the old keyword for one release.
setattr(PlaybookRule, "__init__",  # noqa: B010
        renamed_kwarg("window_days", "valid_days")(PlaybookRule.__init__))


def _rules_tuple(rules: Iterable[PlaybookRule]) -> tuple[PlaybookRule, ...]:
    return tuple(_v.check_items("rules", rules, PlaybookRule))


@attrs.frozen
class Playbook:
    """An ordered, frozen set of :class:`PlaybookRule` s with unique keys."""

    rules: tuple[PlaybookRule, ...] = attrs.field(converter=_rules_tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.key in seen:
                raise InvalidValueError(
                    f"rules[{i}].key", "must be unique in the playbook", rule.key
                )
            seen.add(rule.key)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, key: str) -> PlaybookRule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        raise KeyError(key)

    def for_stage(self, stage: Stage) -> tuple[PlaybookRule, ...]:
        """The rules for customers in ``stage`` (rules without a stage are not included)."""
        return tuple(r for r in self.rules if r.stage is Stage(stage))

    def for_trigger(self, trigger: Trigger) -> tuple[PlaybookRule, ...]:
        """The rules that count from ``trigger``."""
        return tuple(r for r in self.rules if r.trigger is Trigger(trigger))


#: The playbook of the source documents (DESIGN 3.5), as data for the touch layer.
DEFAULT_PLAYBOOK: Final = Playbook(
    (
        PlaybookRule("usage_tutorial", Trigger.FIRST_ORDER_SHIPPED, 0,
                     "send the usage tutorial after the first order ships", "使用教程",
                     stage=Stage.NEW),
        PlaybookRule("first_order_coupon", Trigger.FIRST_ORDER_SHIPPED, 0,
                     "grant a coupon after the first order ships", "首单发货优惠券",
                     stage=Stage.NEW, offer="coupon"),
        PlaybookRule("satisfaction_follow_up", Trigger.FIRST_ORDER_SHIPPED, 3,
                     "ask how satisfied the customer is, 3 days after shipping", "满意度回访",
                     stage=Stage.NEW),
        PlaybookRule("related_products", Trigger.STAGE, 0,
                     "recommend products related to what the customer bought", "关联商品推荐",
                     stage=Stage.ACTIVE),
        PlaybookRule("member_day_reminder", Trigger.MEMBER_DAY, 0,
                     "remind of the member day (\"3 coupons expiring\")", "会员日提醒",
                     stage=Stage.ACTIVE, offer="3 coupons expiring"),
        PlaybookRule("churn_warning", Trigger.LAST_PURCHASE, 15,
                     "raise a churn warning after 15 days without a purchase", "流失预警"),
        PlaybookRule("returning_discount", Trigger.LAST_PURCHASE, 30,
                     "offer a returning-customer discount after 30 days without a purchase",
                     "老客回购优惠", offer="returning-customer discount"),
        PlaybookRule("points_exchange", Trigger.LAST_PURCHASE, 30,
                     "offer points-exchange rewards after 30 days without a purchase",
                     "积分兑换", offer="points exchange"),
        PlaybookRule("win_back", Trigger.CHURNED, 0,
                     "win back churned customers within 30 days of churning (\"好久不见\")",
                     "好久不见", stage=Stage.CHURNED, valid_days=30, offer="满100返50"),
    )
)
