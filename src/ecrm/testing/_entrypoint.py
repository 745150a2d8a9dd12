"""Registers ecrm's strategies with hypothesis (called through the ``hypothesis`` entry point).

``st.from_type(ecrm.Order)`` then draws from :func:`ecrm.testing.orders`, and so on for every
type in :data:`_REGISTRY`. Every module named there exists: a failing import is a broken
install and raises, instead of leaving types silently unregistered.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

#: (type, strategy) pairs as ``"module:name"``; each strategy is called with no arguments.
_REGISTRY: Final = (
    ("ecrm._money:Money", "ecrm.testing._core:moneys"),
    ("ecrm._order:Order", "ecrm.testing._core:orders"),
    ("ecrm._order:OrderItem", "ecrm.testing._core:order_items"),
    ("ecrm._order:OrderStatus", "ecrm.testing._core:order_statuses"),
    ("ecrm._orderlog:OrderLog", "ecrm.testing._core:order_logs"),
    ("ecrm.rfm:RfmScheme", "ecrm.testing._rfm:rfm_schemes"),
    ("ecrm.tiers:Tier", "ecrm.testing._tiers:tiers"),
    ("ecrm.tiers:TierLadder", "ecrm.testing._tiers:tier_ladders"),
    ("ecrm.tiers:Membership", "ecrm.testing._tiers:memberships"),
    ("ecrm.lifecycle:Bands", "ecrm.testing._lifecycle:cycle_bands"),
    ("ecrm.lifecycle:RepurchaseCycle", "ecrm.testing._lifecycle:repurchase_cycles"),
    ("ecrm.tiers:Coupon", "ecrm.testing._benefits:coupons"),
    ("ecrm.tiers:CouponCatalog", "ecrm.testing._benefits:coupon_catalogs"),
    ("ecrm.tiers:GiftPack", "ecrm.testing._benefits:gift_packs"),
    ("ecrm._birthday:Birthday", "ecrm.testing._customers:birthdays"),
    ("ecrm._customer:Customer", "ecrm.testing._customers:customers"),
    ("ecrm._customers:CustomerTable", "ecrm.testing._customers:customer_tables"),
    ("ecrm._events:Event", "ecrm.testing._customers:events"),
    ("ecrm._events:EventLog", "ecrm.testing._customers:event_logs"),
    ("ecrm.touch:Message", "ecrm.testing._touch:messages"),
    ("ecrm.touch:Recipient", "ecrm.testing._touch:recipients"),
    ("ecrm.touch:SendPolicy", "ecrm.testing._touch:send_policies"),
    ("ecrm.touch:ClassRules", "ecrm.testing._touch:class_rules"),
    ("ecrm.touch:LocalTimeRange", "ecrm.testing._touch:local_time_ranges"),
    ("ecrm.touch.flows:OrderEvent", "ecrm.testing._flows:order_events"),
    ("ecrm.touch.flows:OrderEvents", "ecrm.testing._flows:order_event_columns"),
    ("ecrm.touch.flows:CouponGrants", "ecrm.testing._flows:coupon_grants"),
    ("ecrm.segments:Predicate", "ecrm.testing._segments:predicates"),
    ("ecrm.segments:AudienceContext", "ecrm.testing._segments:audience_contexts"),
    ("ecrm.service:Ticket", "ecrm.testing._service:tickets"),
    ("ecrm.service:SurveyScore", "ecrm.testing._service:survey_scores"),
    ("ecrm.service:BusinessCalendar", "ecrm.testing._service:business_calendars"),
)


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _strategy(path: str) -> SearchStrategy[Any]:
    """The strategy ``path`` names, looked up when first drawn: when the user imports
    ecrm.testing before hypothesis, the hook runs while ecrm.testing is half-imported."""
    from hypothesis import strategies as st

    return st.deferred(lambda: _resolve(path)())


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    for type_path, strategy_path in _REGISTRY:
        st.register_type_strategy(_resolve(type_path), _strategy(strategy_path))
