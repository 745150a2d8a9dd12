"""The ecrm.touch and ecrm.touch.flows doors: ``__all__`` is exactly the public surface,
sorted; names that moved out of ``ecrm.touch`` still resolve there, with a warning."""

from __future__ import annotations

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm.analytics
import ecrm.touch
import ecrm.touch.flows
from ecrm.touch import ClassRules, LocalTimeRange, Recipient, SendPolicy

#: Every name ecrm.touch exported before the split, and where it lives now.
NEW_IN_FLOWS = {"churn_risk_offers", "coupon_care", "coupon_grant_guard", "refund_request_care",
                "returning_customer_offers",
                # the service flows (ecrm.touch.flows._service)
                "SERVICE_TEMPLATES", "callback_reminders", "record_survey_reply",
                "satisfaction_surveys", "service_guard", "ticket_surveys",
                # scheduled member benefits (ecrm.touch.flows._benefits)
                "BENEFIT_TEMPLATES", "benefit_grant_notices",
                # recommendation flows (ecrm.touch.flows._accessory)
                "RECOMMENDATION_TEMPLATES", "RECOMMENDATION_VARIABLES", "accessory_offers",
                "recommended_text", "related_product_offers"}
MOVED_TO_FLOWS = {
    "DEFAULT_HOLIDAYS", "DEFAULT_TEMPLATES", "CouponGrants", "FlowContext", "Holiday",
    "OrderEvent", "OrderEventKind", "OrderEvents", "birthday_greetings", "broadcast",
    "cart_abandoners", "coupon_expiry_reminders", "delivery_notices",
    "double_twelve_audience", "double_twelve_push", "gift_pack_notices",
    "high_potential_returning", "holiday_greetings", "new_arrivals", "order_events_from_log",
    "order_guard", "payment_reminders", "receipt_confirmations", "refund_notices",
    "repurchase_reminders", "sale_window", "satisfaction_follow_ups", "shipping_notices",
    "still_due", "usage_tutorials", "why_not_due", "win_back_offers",
}
#: Renamed where they moved (the old spelling means a segments predicate).
RENAMED_IN_FLOWS = {"high_potential_returning": "high_potential_returners"}
MOVED_TO_ANALYTICS = {
    "BacktestDay", "BacktestReport", "CampaignReport", "Flow", "backtest", "campaign_effect",
    "holdout_mask", "holdout_score", "split_audience", "standard_flows",
}
DELIVERY = {
    "DEFAULT_OPT_OUT_KEYWORDS", "DEFAULT_REST_HOURS", "DEFAULT_TYPE_RULES", "logistics_rules",
    "payment_reminder_rules", "STANDARD_VARIABLES", "Accepted", "AliyunSmsChannel", "Backoff", "Channel",
    "ChannelError", "ChannelKind", "ClassRules", "Clock", "CouponGrantChannel", "Decide", "Decision",
    "Defer", "DispatchReport", "Dispatcher", "Failed", "FrequencyCap", "Guard",
    "HttpSmsChannel", "InMemoryOptOutRegistry", "InMemoryOutbox", "JsonLinesChannel",
    "LocalTimeRange", "ManualClock", "Message", "MessageClass", "MockChannel", "OnBlocked",
    "OptOutLookup", "OptOutRegistry", "Outbox", "OutboxEntry", "OutboxError", "OutboxState",
    "PolicyContext", "Receipt", "Recipient", "RecordingChannel", "ReplyOutcome", "RuleCheck",
    "Send", "SendHistory", "SendLog", "SendPolicy", "Skip", "SmsComposer", "SmsCostForecast",
    "SmsText", "SmsTooLongError", "SmtpEmailChannel", "SqliteOptOutRegistry", "SqliteOutbox",
    "SystemClock", "Template", "TemplateError", "TencentSmsChannel", "TimeRules",
    "json_body_error", "handle_reply", "mask_contacts", "safe_send", "send_batch",
    "sms_segments",
}


def _order(n: str) -> tuple[bool, bool, str]:
    return (not n.isupper(), not n[0].isupper(), n)


def _public(module: types.ModuleType) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_")
            and not isinstance(getattr(module, n), types.ModuleType)}


def test_touch_all_is_exactly_the_delivery_surface_and_sorted() -> None:
    assert _public(ecrm.touch) == set(ecrm.touch.__all__)
    assert set(ecrm.touch.__all__) == DELIVERY
    assert not (set(ecrm.touch.__all__) & (MOVED_TO_FLOWS | NEW_IN_FLOWS | MOVED_TO_ANALYTICS))
    assert list(ecrm.touch.__all__) == sorted(ecrm.touch.__all__, key=_order)


def test_flows_all_is_exactly_the_flows_surface_and_sorted() -> None:
    now_in_flows = {RENAMED_IN_FLOWS.get(n, n) for n in MOVED_TO_FLOWS}
    assert _public(ecrm.touch.flows) == set(ecrm.touch.flows.__all__) == (
        now_in_flows | NEW_IN_FLOWS)
    assert list(ecrm.touch.flows.__all__) == sorted(ecrm.touch.flows.__all__, key=_order)


def test_analytics_holds_the_campaign_and_backtest_names() -> None:
    assert set(ecrm.analytics.__all__) >= MOVED_TO_ANALYTICS


@pytest.mark.parametrize("name", sorted(MOVED_TO_FLOWS | MOVED_TO_ANALYTICS))
def test_old_touch_path_is_a_deprecated_alias_of_the_new_one(name: str) -> None:
    home = ecrm.touch.flows if name in MOVED_TO_FLOWS else ecrm.analytics
    new = RENAMED_IN_FLOWS.get(name, name)
    with pytest.warns(DeprecationWarning,
                      match=rf"ecrm\.touch\.{name} moved to {home.__name__}\.{new}"):
        old = getattr(ecrm.touch, name)
    assert old is getattr(home, new)


def test_high_potential_returning_was_renamed_where_it_moved() -> None:
    # the segments predicate keeps the name; the id-returning flow audience is "…returners"
    for module in (ecrm.touch, ecrm.touch.flows):
        with pytest.warns(DeprecationWarning, match=r"ecrm\.touch\.flows\.high_potential_returners"):
            old = module.high_potential_returning  # type: ignore[attr-defined]
        assert old is ecrm.touch.flows.high_potential_returners
    assert "high_potential_returning" not in ecrm.touch.flows.__all__


def test_an_unknown_touch_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ecrm.touch.nope  # noqa: B018


@given(st.from_type(SendPolicy), st.from_type(Recipient), st.from_type(ClassRules),
       st.from_type(LocalTimeRange))
def test_touch_types_are_registered_with_hypothesis(
    policy: SendPolicy, recipient: Recipient, rules: ClassRules, window: LocalTimeRange
) -> None:
    assert isinstance(policy, SendPolicy)
    assert isinstance(recipient, Recipient)
    assert any(rules.allows_minute(m) for m in range(1440))
    assert window.start != window.end
    assert isinstance(policy.marketing.allowed, LocalTimeRange)
