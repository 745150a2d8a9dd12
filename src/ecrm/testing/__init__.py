"""Hypothesis strategies and fakes for testing code that uses ecrm.

Strategies are plural nouns with keyword-only options (``orders(min_size=1)``,
``order_logs(max_customers=20)``). They are registered with hypothesis through its
entry point, so ``st.from_type(ecrm.Order)`` works once ``ecrm[testing]`` is installed.
"""

from ecrm.testing._benefits import coupon_catalogs, coupons, gift_packs, ledger_operations
from ecrm.testing._core import (
    aware_datetimes,
    customer_ids,
    moneys,
    order_items,
    order_logs,
    order_statuses,
    orders,
)
from ecrm.testing._customers import (
    birthdays,
    customer_tables,
    customers,
    event_logs,
    events,
)
from ecrm.testing._flows import coupon_grants, order_event_columns, order_events
from ecrm.testing._lifecycle import cycle_bands, purchase_histories, repurchase_cycles
from ecrm.testing._rfm import rfm_schemes
from ecrm.testing._segments import audience_contexts, leaf_predicates, predicates
from ecrm.testing._service import business_calendars, survey_scores, tickets
from ecrm.testing._tiers import memberships, tier_ladders, tiers
from ecrm.testing._touch import (
    class_rules,
    emails,
    local_time_ranges,
    messages,
    phone_numbers,
    recipients,
    send_policies,
    time_zone_names,
)

__all__ = [
    "audience_contexts",
    "aware_datetimes",
    "birthdays",
    "business_calendars",
    "class_rules",
    "coupon_catalogs",
    "coupon_grants",
    "coupons",
    "customer_ids",
    "customer_tables",
    "customers",
    "cycle_bands",
    "emails",
    "event_logs",
    "events",
    "gift_packs",
    "leaf_predicates",
    "ledger_operations",
    "local_time_ranges",
    "memberships",
    "messages",
    "moneys",
    "order_event_columns",
    "order_events",
    "order_items",
    "order_logs",
    "order_statuses",
    "orders",
    "phone_numbers",
    "predicates",
    "purchase_histories",
    "recipients",
    "repurchase_cycles",
    "rfm_schemes",
    "send_policies",
    "survey_scores",
    "tickets",
    "tier_ladders",
    "tiers",
    "time_zone_names",
]
