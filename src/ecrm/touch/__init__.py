"""Touch (智能触达): channels, message composition, the send policy and a durable outbox.

``touch`` is the only part of ecrm that talks to the outside world, and only through the
channel adapters the caller passes in. Flows create candidate :class:`Message` values;
the pure :class:`SendPolicy` decides Send / Defer / Skip; the :class:`SqliteOutbox`
stores them under their idempotency key and a :class:`Dispatcher` sends them through a
:class:`Channel`, retrying transient failures and surviving crashes.
"""

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
from ecrm.touch._errors import ChannelError, OutboxError, SmsTooLongError, TemplateError
from ecrm.touch._http import HttpSmsChannel
from ecrm.touch._message import (
    ChannelKind,
    Message,
    MessageClass,
    Recipient,
    mask_email,
    mask_phone,
    normalize_phone,
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
from ecrm.touch._outbox import (
    Backoff,
    Dispatcher,
    DispatchReport,
    InMemoryOutbox,
    Outbox,
    OutboxEntry,
    OutboxState,
    SqliteOutbox,
)
from ecrm.touch._policy import (
    ClassRules,
    Decision,
    Defer,
    FrequencyCap,
    LocalTimeRange,
    OnBlocked,
    PolicyContext,
    RuleCheck,
    Send,
    SendHistory,
    SendLog,
    SendPolicy,
    Skip,
)
from ecrm.touch._smtp import SmtpEmailChannel

__all__ = [
    "DEFAULT_OPT_OUT_KEYWORDS",
    "STANDARD_VARIABLES",
    "Accepted",
    "Backoff",
    "Channel",
    "ChannelError",
    "ChannelKind",
    "ClassRules",
    "Clock",
    "CouponGrantChannel",
    "Decision",
    "Defer",
    "DispatchReport",
    "Dispatcher",
    "Failed",
    "FrequencyCap",
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
    "handle_reply",
    "mask_email",
    "mask_phone",
    "normalize_phone",
    "safe_send",
    "send_batch",
    "sms_segments",
]
