"""Store VIP membership: the tier ladder, opt-in membership, benefits, coupons and points.

Level 0 is 店铺客户, the store customer, who is not a member; levels 1..n are the member
tiers of a :class:`TierLadder`. See docs/tiers.md.
"""

from typing import Any as _Any

from ecrm._deprecate import moved_name as _moved_name
from ecrm.errors import _renamed_error
from ecrm.tiers._benefits import (
    NEW_MEMBER_PERIOD,
    Benefit,
    BenefitCatalog,
    BenefitErrorGroup,
    BenefitKind,
)
from ecrm.tiers._cadence import Cadence, CalendarPeriod
from ecrm.tiers._costs import LevelCosts, level_costs
from ecrm.tiers._coupons import (
    Coupon,
    CouponCatalog,
    CouponCatalogErrorGroup,
    CouponScope,
    GiftPackRules,
    coupon_problems,
)
from ecrm.tiers._fees import (
    FeeOutcome,
    FeeRules,
    FeeStore,
    FeeTerm,
    PaidMembership,
    annual_spends,
)
from ecrm.tiers._flow import TierFlow, UpgradeRate, WhatIf, monthly_upgrade_rate, tier_flow, what_if
from ecrm.tiers._giftpack import (
    Claimed,
    ClaimResult,
    Gift,
    GiftPack,
    GiftPackErrorGroup,
    IssuedCoupon,
    MemberRecord,
    RefusalReason,
    Refused,
    claim_gift_pack,
    validate_gift_pack,
)
from ecrm.tiers._ladder import (
    TAOBAO_STORE_VIP,
    Comparison,
    Condition,
    LadderErrorGroup,
    MemberTable,
    OptedIn,
    Tier,
    TierDecision,
    TierLadder,
    TierResult,
    TierRuleError,
    format_discount,
)
from ecrm.tiers._ledger_sqlite import (
    LedgerStoreError,
    SqliteLedgerStore,
)
from ecrm.tiers._loyalty_store import InMemoryLoyaltyStore, SqliteLoyaltyStore
from ecrm.tiers._member_store import (
    InMemoryMemberStore,
    MemberEventKind,
    MemberHistory,
    MemberStore,
    SqliteMemberStore,
    claim_stored_gift_pack,
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
from ecrm.tiers._points import (
    EntryKind,
    InMemoryLedgerStore,
    InsufficientPointsError,
    LedgerConflictError,
    LedgerEntry,
    LedgerStore,
    LotState,
    PointsLedger,
    PointsLot,
    PointsRules,
)
from ecrm.tiers._prices import MemberPrice, MemberPricing
from ecrm.tiers._scheduled import Grant, GrantRun, GrantStore, ScheduledBenefit, grant_scheduled
from ecrm.tiers._task_counter import OccurrenceStatus, TaskCounter, TaskOccurrence, TaskStore
from ecrm.tiers._tasks import TaskCap, TaskReward

__all__ = [
    "NEW_MEMBER_PERIOD",
    "TAOBAO_STORE_VIP",
    "Benefit",
    "BenefitCatalog",
    "BenefitErrorGroup",
    "BenefitKind",
    "Cadence",
    "CalendarPeriod",
    "ChangeReason",
    "ClaimResult",
    "Claimed",
    "Comparison",
    "Condition",
    "Coupon",
    "CouponCatalog",
    "CouponCatalogErrorGroup",
    "CouponScope",
    "DowngradePolicy",
    "EntryKind",
    "EntryRuleError",
    "FeeOutcome",
    "FeeRules",
    "FeeStore",
    "FeeTerm",
    "Gift",
    "GiftPack",
    "GiftPackErrorGroup",
    "GiftPackRules",
    "Grant",
    "GrantRun",
    "GrantStore",
    "InMemoryLedgerStore",
    "InMemoryLoyaltyStore",
    "InMemoryMemberStore",
    "InsufficientPointsError",
    "IssuedCoupon",
    "LadderErrorGroup",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerStore",
    "LedgerStoreError",
    "LevelChange",
    "LevelCosts",
    "LotState",
    "MemberEventKind",
    "MemberHistory",
    "MemberPrice",
    "MemberPricing",
    "MemberRecord",
    "MemberStore",
    "MemberTable",
    "Membership",
    "MembershipError",
    "MembershipEvent",
    "MembershipReplay",
    "OccurrenceStatus",
    "OptedIn",
    "PaidMembership",
    "PointsLedger",
    "PointsLot",
    "PointsRules",
    "RefusalReason",
    "Refused",
    "ScheduledBenefit",
    "SqliteLedgerStore",
    "SqliteLoyaltyStore",
    "SqliteMemberStore",
    "TaskCap",
    "TaskCounter",
    "TaskOccurrence",
    "TaskReward",
    "TaskStore",
    "Tier",
    "TierDecision",
    "TierFlow",
    "TierLadder",
    "TierResult",
    "TierRuleError",
    "UpgradeRate",
    "WhatIf",
    "annual_spends",
    "claim_gift_pack",
    "claim_stored_gift_pack",
    "coupon_problems",
    "format_discount",
    "grant_scheduled",
    "level_costs",
    "monthly_upgrade_rate",
    "replay_memberships",
    "tier_flow",
    "validate_gift_pack",
    "what_if",
]


#: Old names of constants, kept one release; reading one warns.
_RENAMED = {"NEW_MEMBER_WINDOW": "ecrm.tiers.NEW_MEMBER_PERIOD"}


def __getattr__(name: str) -> _Any:
    """Old names, kept one release (``ecrm.tiers.LadderError``,
    ``ecrm.tiers.NEW_MEMBER_WINDOW``); they warn."""
    if name in _RENAMED:
        return _moved_name(__name__, name, _RENAMED)
    return _renamed_error(__name__, name)
