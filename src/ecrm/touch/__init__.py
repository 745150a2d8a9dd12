"""Touch (智能触达) delivery: messages, composition, channels, the send policy and an outbox.

``touch`` is the only part of ecrm that talks to the outside world, and only through the
channel adapters the caller passes in. Care flows (:mod:`ecrm.touch.flows`) create
candidate :class:`Message` values; the pure :class:`SendPolicy` decides Send / Defer /
Skip; the :class:`SqliteOutbox` stores them under their idempotency key and a
:class:`Dispatcher` sends them through a :class:`Channel`, retrying transient failures
and surviving crashes. Holdouts, campaign effect and the backtest are in
:mod:`ecrm.analytics`.
"""

import typing as _typing
import warnings as _warnings

from ecrm._deprecate import moved_name as _moved_name
from ecrm.errors import ChannelError, OutboxError, SmsTooLongError, TemplateError
from ecrm.touch._aliyun import AliyunSmsChannel
from ecrm.touch._channel import (
    Accepted,
    Channel,
    CouponGrantChannel,
    Failed,
    JsonLinesChannel,
    MockChannel,
    Receipt,
    RecordingChannel,
    safe_send,
    send_batch,
)
from ecrm.touch._clock import Clock, ManualClock, SystemClock
from ecrm.touch._compose import (
    STANDARD_VARIABLES,
    SmsComposer,
    SmsCostForecast,
    SmsText,
    Template,
    sms_segments,
)
from ecrm.touch._context import PolicyContext, SendHistory, SendLog
from ecrm.touch._decision import Decision, Defer, RuleCheck, Send, Skip
from ecrm.touch._dispatcher import Backoff, Dispatcher, DispatchReport
from ecrm.touch._http import HttpSmsChannel, json_body_error
from ecrm.touch._message import (
    ChannelKind,
    Message,
    MessageClass,
    Recipient,
    mask_contacts,
)
from ecrm.touch._optout import (
    DEFAULT_OPT_OUT_KEYWORDS,
    InMemoryOptOutRegistry,
    OptOutLookup,
    OptOutRegistry,
    ReplyOutcome,
    SqliteOptOutRegistry,
    handle_reply,
)
from ecrm.touch._outbox import Decide, Guard, Outbox, OutboxEntry, OutboxState
from ecrm.touch._outbox_memory import InMemoryOutbox
from ecrm.touch._outbox_sqlite import SqliteOutbox
from ecrm.touch._policy import SendPolicy
from ecrm.touch._rules import ClassRules, FrequencyCap, LocalTimeRange, OnBlocked
from ecrm.touch._smtp import SmtpEmailChannel
from ecrm.touch._tencent import TencentSmsChannel
from ecrm.touch._type_rules import (
    DEFAULT_REST_HOURS,
    DEFAULT_TYPE_RULES,
    TimeRules,
    logistics_rules,
    payment_reminder_rules,
)

__all__ = [
    "DEFAULT_OPT_OUT_KEYWORDS",
    "DEFAULT_REST_HOURS",
    "DEFAULT_TYPE_RULES",
    "STANDARD_VARIABLES",
    "Accepted",
    "AliyunSmsChannel",
    "Backoff",
    "Channel",
    "ChannelError",
    "ChannelKind",
    "ClassRules",
    "Clock",
    "CouponGrantChannel",
    "Decide",
    "Decision",
    "Defer",
    "DispatchReport",
    "Dispatcher",
    "Failed",
    "FrequencyCap",
    "Guard",
    "HttpSmsChannel",
    "InMemoryOptOutRegistry",
    "InMemoryOutbox",
    "JsonLinesChannel",
    "LocalTimeRange",
    "ManualClock",
    "Message",
    "MessageClass",
    "MockChannel",
    "OnBlocked",
    "OptOutLookup",
    "OptOutRegistry",
    "Outbox",
    "OutboxEntry",
    "OutboxError",
    "OutboxState",
    "PolicyContext",
    "Receipt",
    "Recipient",
    "RecordingChannel",
    "ReplyOutcome",
    "RuleCheck",
    "Send",
    "SendHistory",
    "SendLog",
    "SendPolicy",
    "Skip",
    "SmsComposer",
    "SmsCostForecast",
    "SmsText",
    "SmsTooLongError",
    "SmtpEmailChannel",
    "SqliteOptOutRegistry",
    "SqliteOutbox",
    "SystemClock",
    "Template",
    "TemplateError",
    "TencentSmsChannel",
    "TimeRules",
    "handle_reply",
    "json_body_error",
    "logistics_rules",
    "mask_contacts",
    "payment_reminder_rules",
    "safe_send",
    "send_batch",
    "sms_segments",
]

# Names that moved out of ecrm.touch in 0.1.0, kept one release as deprecated aliases.
_MOVED_TO_FLOWS: _typing.Final = (
    "DEFAULT_HOLIDAYS", "DEFAULT_TEMPLATES", "CouponGrants", "FlowContext", "Holiday",
    "OrderEvent", "OrderEventKind", "OrderEvents", "birthday_greetings", "broadcast",
    "cart_abandoners", "coupon_expiry_reminders", "delivery_notices", "double_twelve_audience",
    "double_twelve_push", "gift_pack_notices", "high_potential_returning", "holiday_greetings",
    "new_arrivals", "order_events_from_log", "order_guard", "payment_reminders",
    "receipt_confirmations", "refund_notices", "repurchase_reminders", "sale_window",
    "satisfaction_follow_ups", "shipping_notices", "still_due", "usage_tutorials",
    "why_not_due", "win_back_offers",
)
_MOVED_TO_ANALYTICS: _typing.Final = (
    "BacktestDay", "BacktestReport", "CampaignReport", "Flow", "backtest", "campaign_effect",
    "holdout_mask", "holdout_score", "split_audience", "standard_flows",
)
_MOVED: _typing.Final = {
    **dict.fromkeys(_MOVED_TO_FLOWS, "ecrm.touch.flows"),
    **dict.fromkeys(_MOVED_TO_ANALYTICS, "ecrm.analytics"),
}


# Renamed where they moved: the old spelling meant something else elsewhere.
_NEW_NAMES: _typing.Final = {"high_potential_returning": "high_potential_returners"}
# The personal-data helpers have one home, the core (one rule for phones in all of ecrm).
_CORE_HELPERS: _typing.Final = ("mask_email", "mask_phone", "normalize_phone")


def __getattr__(name: str) -> _typing.Any:
    if name in _CORE_HELPERS:
        return _moved_name(__name__, name, {name: f"ecrm.{name}"})
    new_home = _MOVED.get(name)
    if new_home is None:
        raise AttributeError(f"module 'ecrm.touch' has no attribute {name!r}")
    new_name = _NEW_NAMES.get(name, name)
    _warnings.warn(
        f"ecrm.touch.{name} moved to {new_home}.{new_name}; the old path will be removed "
        f"in the next release",
        DeprecationWarning, stacklevel=2,
    )
    import importlib

    return getattr(importlib.import_module(new_home), new_name)
