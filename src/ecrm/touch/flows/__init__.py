"""Care flows (关怀流程): order events, logs and audiences in → candidate messages out.

Every flow has one shape: ``flow(<sources>, *, start, as_of, ctx, <options>)``. It is a
pure function run at ``as_of`` after a previous run at ``start`` and returns the
:class:`~ecrm.touch.Message` values that fell due in ``start < due <= as_of``; the send
policy, the outbox and the dispatcher of :mod:`ecrm.touch` decide and deliver. See
docs/care-flows.md.
"""

from typing import Any as _Any

from ecrm._deprecate import moved_name as _moved_name
from ecrm.touch.flows._accessory import (
    RECOMMENDATION_TEMPLATES,
    RECOMMENDATION_VARIABLES,
    accessory_offers,
    recommended_text,
    related_product_offers,
)
from ecrm.touch.flows._benefits import BENEFIT_TEMPLATES, benefit_grant_notices
from ecrm.touch.flows._broadcast import (
    broadcast,
    cart_abandoners,
    coupon_care,
    coupon_grant_guard,
    double_twelve_audience,
    double_twelve_push,
    high_potential_returners,
    new_arrivals,
    sale_window,
)
from ecrm.touch.flows._care import (
    DEFAULT_HOLIDAYS,
    DEFAULT_TEMPLATES,
    CouponGrants,
    FlowContext,
    Holiday,
    birthday_greetings,
    coupon_expiry_reminders,
    delivery_notices,
    gift_pack_notices,
    holiday_greetings,
    order_guard,
    payment_reminders,
    receipt_confirmations,
    refund_notices,
    refund_request_care,
    repurchase_reminders,
    returning_customer_offers,
    satisfaction_follow_ups,
    shipping_notices,
    still_due,
    usage_tutorials,
    why_not_due,
    win_back_offers,
)
from ecrm.touch.flows._churn import churn_risk_offers
from ecrm.touch.flows._events import (
    OrderEvent,
    OrderEventKind,
    OrderEvents,
    order_events_from_log,
)
from ecrm.touch.flows._service import (
    SERVICE_TEMPLATES,
    callback_reminders,
    record_survey_reply,
    satisfaction_surveys,
    service_guard,
    ticket_surveys,
)

__all__ = [
    "BENEFIT_TEMPLATES",
    "DEFAULT_HOLIDAYS",
    "DEFAULT_TEMPLATES",
    "RECOMMENDATION_TEMPLATES",
    "RECOMMENDATION_VARIABLES",
    "SERVICE_TEMPLATES",
    "CouponGrants",
    "FlowContext",
    "Holiday",
    "OrderEvent",
    "OrderEventKind",
    "OrderEvents",
    "accessory_offers",
    "benefit_grant_notices",
    "birthday_greetings",
    "broadcast",
    "callback_reminders",
    "cart_abandoners",
    "churn_risk_offers",
    "coupon_care",
    "coupon_expiry_reminders",
    "coupon_grant_guard",
    "delivery_notices",
    "double_twelve_audience",
    "double_twelve_push",
    "gift_pack_notices",
    "high_potential_returners",
    "holiday_greetings",
    "new_arrivals",
    "order_events_from_log",
    "order_guard",
    "payment_reminders",
    "receipt_confirmations",
    "recommended_text",
    "record_survey_reply",
    "refund_notices",
    "refund_request_care",
    "related_product_offers",
    "repurchase_reminders",
    "returning_customer_offers",
    "sale_window",
    "satisfaction_follow_ups",
    "satisfaction_surveys",
    "service_guard",
    "shipping_notices",
    "still_due",
    "ticket_surveys",
    "usage_tutorials",
    "why_not_due",
    "win_back_offers",
]

#: Old names kept one release as deprecated aliases (0.1.0).
_RENAMED = {"high_potential_returning": "ecrm.touch.flows.high_potential_returners"}


def __getattr__(name: str) -> _Any:
    return _moved_name(__name__, name, _RENAMED)
