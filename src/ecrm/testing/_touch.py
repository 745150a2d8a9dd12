"""Strategies for :mod:`ecrm.touch`: phone numbers, recipients, messages and send policies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from hypothesis import strategies as st

from ecrm.testing._core import aware_datetimes
from ecrm.touch import (
    ChannelKind,
    ClassRules,
    FrequencyCap,
    LocalTimeRange,
    Message,
    MessageClass,
    OnBlocked,
    Recipient,
    SendPolicy,
)

__all__ = [
    "class_rules",
    "emails",
    "local_time_ranges",
    "messages",
    "phone_numbers",
    "recipients",
    "send_policies",
    "time_zone_names",
]

#: Zones with DST, half- and quarter-hour offsets, and both hemispheres.
_ZONES = (
    "Asia/Shanghai",
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "Pacific/Apia",
)


def time_zone_names() -> st.SearchStrategy[str]:
    """IANA zone names, including DST zones and 30/45-minute offsets."""
    return st.sampled_from(_ZONES)


def phone_numbers() -> st.SearchStrategy[str]:
    """Mainland China mobile numbers (11 digits, ``1[3-9]…``), already normalised."""
    return st.builds(
        lambda second, rest: f"1{second}{rest:09d}",
        st.integers(min_value=3, max_value=9),
        st.integers(min_value=0, max_value=999_999_999),
    )


def emails() -> st.SearchStrategy[str]:
    """Simple valid e-mail addresses."""
    local = st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=12)
    return st.builds(lambda a, d: f"{a}@{d}.example", local,
                     st.sampled_from(["shop", "mail", "tea"]))


def recipients(*, tz: st.SearchStrategy[str | None] | None = None,
               max_customers: int = 50) -> st.SearchStrategy[Recipient]:
    """Recipients with a phone, maybe an e-mail, and a zone (or ``None``) drawn from ``tz``."""
    zones = tz if tz is not None else st.one_of(st.none(), time_zone_names())
    return st.builds(
        Recipient,
        st.integers(min_value=1, max_value=max_customers).map(lambda i: f"c{i:04d}"),
        phone_numbers(),
        st.one_of(st.none(), emails()),
        zones,
    )


def messages(
    *,
    message_class: MessageClass | None = None,
    channel: ChannelKind | None = None,
    recipient: st.SearchStrategy[Recipient] | None = None,
    created_at: st.SearchStrategy[dt.datetime] | None = None,
    key_prefix: str = "m",
) -> st.SearchStrategy[Message]:
    """Messages of one class / channel (or any), with a dedupe key and maybe ``not_before``."""
    classes = st.just(message_class) if message_class else st.sampled_from(list(MessageClass))
    channels = st.just(channel) if channel else st.sampled_from(
        [ChannelKind.SMS, ChannelKind.EMAIL, ChannelKind.IN_APP]
    )
    return _messages(classes, channels,
                     recipient if recipient is not None else recipients(),
                     created_at if created_at is not None else aware_datetimes(), key_prefix)


_BODIES = st.text(min_size=1, max_size=80).filter(str.strip)
_DELAYS = st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 86_400))
_TYPES = st.sampled_from(["payment_reminder", "shipped", "broadcast"])
_DEDUPE = st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3"]))


@st.composite
def _messages(
    draw: Any,
    classes: st.SearchStrategy[MessageClass],
    channels: st.SearchStrategy[ChannelKind],
    recipient: st.SearchStrategy[Recipient],
    created: st.SearchStrategy[dt.datetime],
    key_prefix: str,
) -> Message:
    c = draw(created)
    delay = draw(_DELAYS)
    n = draw(st.integers(min_value=0, max_value=10_000))
    return Message(
        key=f"{key_prefix}:{n}",
        message_type=draw(_TYPES),
        message_class=draw(classes),
        channel=draw(channels),
        recipient=draw(recipient),
        body=draw(_BODIES),
        created_at=c,
        dedupe_key=draw(_DEDUPE),
        # add in UTC: wall-clock arithmetic could land in a DST gap (a time that never was)
        not_before=None if delay is None else (
            c.astimezone(dt.UTC) + dt.timedelta(seconds=delay)
        ).astimezone(c.tzinfo),
    )


def local_time_ranges(*, min_minutes: int = 1) -> st.SearchStrategy[LocalTimeRange]:
    """Ranges of local wall-clock time (some wrap past midnight) at least ``min_minutes``
    long."""
    return _local_time_ranges(min_minutes)


@st.composite
def _local_time_ranges(draw: Any, min_minutes: int) -> LocalTimeRange:
    start = draw(st.integers(min_value=0, max_value=1439))
    length = draw(st.integers(min_value=min_minutes, max_value=1439))
    end = (start + length) % 1440
    return LocalTimeRange(dt.time(start // 60, start % 60), dt.time(end // 60, end % 60))


def class_rules(*, on_blocked: OnBlocked | None = None) -> st.SearchStrategy[ClassRules]:
    """Class rules with a window, up to two blocked ranges (always leaving allowed time),
    caps and lateness."""
    return _class_rules(on_blocked)


_CAPS = st.lists(
    st.builds(
        FrequencyCap,
        st.integers(min_value=1, max_value=3),
        st.integers(min_value=1, max_value=7).map(lambda d: dt.timedelta(days=d)),
    ),
    max_size=2,
)
_WINDOWS = st.one_of(st.none(), _local_time_ranges(120))
_BLOCKED = st.lists(_local_time_ranges(1), max_size=2)
_LATENESS = st.one_of(
    st.none(), st.integers(min_value=0, max_value=96).map(lambda h: dt.timedelta(hours=h))
)


@st.composite
def _class_rules(draw: Any, on_blocked: OnBlocked | None) -> ClassRules:
    allowed = draw(_WINDOWS)
    # keep at least one allowed minute: drop blocked ranges that would leave none
    kept: list[LocalTimeRange] = []
    for r in draw(_BLOCKED):
        try:
            ClassRules(allowed=allowed, blocked=(*kept, r))
        except ValueError:
            continue
        kept.append(r)
    return ClassRules(
        respect_opt_out=draw(st.booleans()),
        respect_block_list=draw(st.booleans()),
        members_only=draw(st.booleans()),
        allowed=allowed,
        blocked=tuple(kept),
        caps=tuple(draw(_CAPS)),
        on_blocked=on_blocked or draw(st.sampled_from(list(OnBlocked))),
        max_lateness=draw(_LATENESS),
    )


def _marketing(rules: ClassRules) -> ClassRules:
    allowed = rules.allowed or LocalTimeRange(dt.time(8), dt.time(21))
    try:
        return attrs.evolve(rules, respect_opt_out=True, respect_block_list=True,
                            allowed=allowed)
    except ValueError:
        return attrs.evolve(rules, respect_opt_out=True, respect_block_list=True,
                            allowed=allowed, blocked=())


def send_policies(
    *, store_tz: st.SearchStrategy[str | None] | None = None
) -> st.SearchStrategy[SendPolicy]:
    """Send policies whose marketing rules always respect opt-outs and the block list
    and keep a time window (as the law and the shop require)."""
    return st.builds(
        SendPolicy,
        transactional=class_rules(),
        care=class_rules(),
        marketing=class_rules().map(_marketing),
        store_tz=store_tz if store_tz is not None else st.one_of(st.none(), time_zone_names()),
    )
