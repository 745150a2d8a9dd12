"""The send policy's reference decision: :meth:`SendPolicy.decide` written plainly.

:func:`decide_reference` is the code the per-rules plans of ``SendPolicy._decide``
replaced, kept so that property tests can hold the fast path to it (equal decisions, equal
traces; ``tests/touch/test_policy_fast.py``) and benchmarks can compare the two. Nothing in
ecrm calls it.
"""

from __future__ import annotations

import datetime as dt

from ecrm._time import require_aware
from ecrm.errors import InvalidValueError
from ecrm.touch._context import PolicyContext
from ecrm.touch._decision import Decision, Defer, RuleCheck, Skip
from ecrm.touch._message import ChannelKind, Message
from ecrm.touch._policy import (
    _BLOCK,
    _CONSENT,
    _DEDUPE,
    _END,
    _FRESH,
    _MEMBERS,
    _NO_CONTEXT,
    _NO_ZONE,
    _OK_CAPS,
    _OK_WINDOW_THEN,
    _OPT_OUT,
    _UTC,
    SendPolicy,
    _ceil_minute,
    _expiry,
    _expiry_text,
    _RulesKey,
    _utc_in_range,
)
from ecrm.touch._rules import OnBlocked

__all__ = ["decide_reference"]


def decide_reference(policy: SendPolicy, message: Message, *, now: dt.datetime,
                     context: PolicyContext = _NO_CONTEXT) -> Decision:
    """:meth:`SendPolicy.decide` as it was before the per-rules plans: the reference the
    property tests hold the fast path to (equal decisions, equal traces).

    Args:
        policy: the policy deciding (its caches are shared with the fast path).
        message: the candidate.
        now: the decision instant (aware).
        context: history, opt-outs, block list, membership.

    Returns:
        The same decision as :meth:`SendPolicy.decide`.
    """
    if not _utc_in_range(now):
        # UTC keys the caches safely: equal wall times in a DST fold are equal (and
        # hash alike) within their own zone although they are different instants
        now = require_aware(now, "as_of").astimezone(_UTC)
    # `cls` keys the rules and the caches: the class, or (type, class) for a type
    # with its own window
    cls: _RulesKey = message.message_class
    if message.message_type in policy.by_type:
        cls = (message.message_type, message.message_class)
    rules = policy._by_class.get(cls)
    if rules is None:
        try:
            rules = policy._merged((message.message_type, message.message_class))
        except InvalidValueError:
            reason = (f"the time window of {message.message_type} messages and that of "
                      f"the {message.message_class.name} class share no minute")
            return Skip(reason, (RuleCheck("time_window", False, reason),))
    cid = message.recipient.customer_id
    # Passing checks are static per class, so the trace of what passed is a cached
    # prefix and a plain Send is a cached object: the common path allocates nothing.
    if rules.respect_block_list and cid in context.blocked:
        return policy._refuse(cls, _BLOCK, False, "block_list",
                            "customer is on the shop's block list")
    if rules.requires_consent:
        if context.consented is None:
            return policy._refuse(cls, _CONSENT, False, "consent",
                                "consent records not provided")
        if cid not in context.consented:
            return policy._refuse(cls, _CONSENT, False, "consent",
                                "no consent recorded for the customer")
    if rules.respect_opt_out:
        if context.opt_outs is None:
            return policy._refuse(cls, _OPT_OUT, False, "opt_out", "opt-out list not "
                                "provided: cannot prove the address did not opt out")
        channel = message.channel
        address = (message.recipient.phone if channel is ChannelKind.SMS
                   else message.address) or ""
        if not address:
            return policy._refuse(cls, _OPT_OUT, False, "opt_out",
                                f"recipient has no {channel.name} address")
        if context.opt_outs.is_opted_out(address, channel):
            return policy._refuse(cls, _OPT_OUT, False, "opt_out",
                                f"address opted out of marketing on {channel.name}")
    if rules.members_only:
        if context.members is None:
            return policy._refuse(cls, _MEMBERS, False, "members_only",
                                "membership not provided")
        if cid not in context.members:
            return policy._refuse(cls, _MEMBERS, False, "members_only",
                                "customer is not a member")
    history = context.history
    deduped = False
    dedupe_key = message.dedupe_key
    if rules.dedupe and dedupe_key is not None:
        deduped = True
        if history.has_sent(message.message_type, dedupe_key):
            return policy._refuse(cls, _DEDUPE, False, "dedupe", f"a {message.message_type} "
                                f"for {dedupe_key!r} was already sent")
    origin = message.not_before or message.created_at
    lateness = rules.max_lateness
    if lateness is not None and now - origin > lateness:
        return policy._refuse(cls, _FRESH, deduped, "max_lateness",
                            f"stale: due {origin.isoformat()}, more than {lateness} ago")
    expires: dt.datetime | None = None
    if message.metadata:
        expires, refusal = _expiry(message, now)
        if refusal is not None:
            return Skip(refusal.detail, (*policy._prefix(cls, _END, deduped), refusal))

    extra: list[RuleCheck] | None = None  # checks beyond the static prefix
    earliest = now
    why = ""
    if message.not_before is not None and message.not_before > now:
        earliest, why = message.not_before, "not due yet"
        extra = [RuleCheck("not_before", False, f"due at {earliest.isoformat()}")]
    caps_ok: tuple[RuleCheck, ...] = ()
    if rules.caps:
        capped = False
        for cap in rules.caps:
            times = history.sent_times(cid, message.channel, message.message_class,
                                       now - cap.period)
            if len(times) >= cap.max_count:
                free_at = times[len(times) - cap.max_count] + cap.period
                detail = f"{len(times)} sent in the last {cap.period} (cap {cap.max_count})"
                extra = extra or []
                extra.append(RuleCheck("frequency_cap", False, detail))
                capped = True
                if rules.on_blocked is OnBlocked.SKIP:
                    return Skip(f"frequency cap reached: {detail}",
                                policy._prefix(cls, _END, deduped) + tuple(extra))
                if free_at > earliest:
                    earliest, why = free_at, f"frequency cap reached: {detail}"
        if not capped:
            caps_ok = (_OK_CAPS,)
    window: tuple[RuleCheck, ...] = ()

    if rules._has_time_rules:
        tz = message.recipient.tz or policy.store_tz
        zone = None if tz is None else (policy._zones.get(tz) or policy.zone_for(message))
        if zone is None:
            return Skip("no time zone known for the recipient or store",
                        policy._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok
                        + (_NO_ZONE,))
        if earliest is now:
            minute = policy._minutes.get((now, zone))
            if minute is None:
                minute = policy._local_minute(now, zone)
            if rules._flags[minute]:
                return policy._send(cls, deduped)
            closed = policy._closed.get((minute, zone))
            if closed is None:
                closed = policy._closed_texts(minute, zone)
            window, short, long = closed
            if rules.on_blocked is OnBlocked.SKIP:
                return Skip(short, policy._prefix(cls, _END, deduped) + tuple(extra or ())
                            + caps_ok + window)
            why = why or long
        # a tick defers many messages from the same instant in the same zone
        key = (earliest if earliest is now else earliest.astimezone(_UTC), zone, cls)
        until = policy._next.get(key)
        if until is None:
            if len(policy._next) > 4096:
                policy._next.clear()
            until = policy._next[key] = rules.next_allowed(earliest, zone)
        if earliest is not now:
            if until == _ceil_minute(earliest):
                window = (_OK_WINDOW_THEN,)
            else:
                window = (RuleCheck("time_window", False, f"{_ceil_minute(earliest).astimezone(zone):%H:%M}"
                                    f" local is outside the allowed time; next allowed "
                                    f"{until:%H:%M}"),)
    else:
        if earliest is now:
            return policy._send(cls, deduped)
        until = _ceil_minute(earliest)
    trace = policy._prefix(cls, _END, deduped) + tuple(extra or ()) + caps_ok + window
    if expires is not None and until >= expires:
        late = RuleCheck("expiry", False, f"the next allowed moment {policy._iso(until)} is "
                         f"not before it expires at {_expiry_text(message)}")
        return Skip(f"{why}; it would go out after it expires at {_expiry_text(message)}",
                    (*trace, late))
    if rules.on_blocked is OnBlocked.SKIP and until != _ceil_minute(earliest):
        # only "not due yet" gets here under SKIP (closed time and caps returned above):
        # wait for the due minute if it is allowed, but never past it
        return Skip(f"{why}; due at a blocked local time", trace)
    if lateness is not None and until - origin > lateness:
        late = RuleCheck("max_lateness", False,
                         f"next allowed moment {policy._iso(until)} is more than "
                         f"{lateness} after {origin.isoformat()}")
        return Skip(f"{why}; deferring would be too late", (*trace, late))
    return Defer(until, why, trace)
