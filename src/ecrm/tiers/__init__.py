"""Store VIP membership: the tier ladder, opt-in membership, benefits, coupons and points.

Level 0 is 店铺客户, the store customer, who is not a member; levels 1..n are the member
tiers of a :class:`TierLadder`. See docs/tiers.md.
"""

from ecrm.tiers._flow import TierFlow, UpgradeRate, WhatIf, monthly_upgrade_rate, tier_flow, what_if
from ecrm.tiers._ladder import (
    TAOBAO_STORE_VIP,
    Condition,
    LadderError,
    Tier,
    TierDecision,
    TierLadder,
    TierResult,
    TierRuleError,
    format_discount,
)
from ecrm.tiers._membership import (
    ChangeReason,
    DowngradePolicy,
    EntryRuleError,
    LevelChange,
    Membership,
    MembershipError,
    MembershipEvent,
    MembershipReplay,
    replay_memberships,
)

__all__ = [
    "TAOBAO_STORE_VIP",
    "ChangeReason",
    "Condition",
    "DowngradePolicy",
    "EntryRuleError",
    "LadderError",
    "LevelChange",
    "Membership",
    "MembershipError",
    "MembershipEvent",
    "MembershipReplay",
    "Tier",
    "TierDecision",
    "TierFlow",
    "TierLadder",
    "TierResult",
    "TierRuleError",
    "UpgradeRate",
    "WhatIf",
    "format_discount",
    "monthly_upgrade_rate",
    "replay_memberships",
    "tier_flow",
    "what_if",
]
