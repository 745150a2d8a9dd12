"""What a send decision reads besides the message: the send history (:class:`SendHistory`,
:class:`SendLog`) and the rest of :class:`PolicyContext` (opt-outs, block list, members)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Container, Sequence
from typing import Final, Protocol, runtime_checkable

import attrs

from ecrm._time import require_aware
from ecrm.touch._message import ChannelKind, Message, MessageClass
from ecrm.touch._optout import OptOutLookup

__all__ = ["PolicyContext", "SendHistory", "SendLog"]


@runtime_checkable
class SendHistory(Protocol):
    """What was already sent: the policy's view for frequency caps and dedupe."""

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        """Send times strictly after ``since`` for this customer, channel and class,
        ascending."""
        ...

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        """Whether a message of ``message_type`` with ``dedupe_key`` was sent."""
        ...


class SendLog:
    """An in-memory :class:`SendHistory` (backtests, tests, a snapshot of the outbox)."""

    def __init__(self) -> None:
        self._times: dict[tuple[str | int, ChannelKind, MessageClass], list[dt.datetime]] = {}
        self._dedupe: set[tuple[str, str]] = set()

    def record(self, message: Message, at: dt.datetime) -> None:
        """Remember that ``message`` was sent at ``at``."""
        require_aware(at, "at")
        key = (message.recipient.customer_id, message.channel, message.message_class)
        times = self._times.setdefault(key, [])
        times.insert(bisect.bisect_right(times, at), at)
        if message.dedupe_key is not None:
            self._dedupe.add((message.message_type, message.dedupe_key))

    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        times = self._times.get((customer_id, channel, message_class))
        if not times:
            return ()
        if times[-1] <= since:
            return ()
        return times[bisect.bisect_right(times, since):]

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return (message_type, dedupe_key) in self._dedupe

    def __len__(self) -> int:
        return sum(len(v) for v in self._times.values())

    def __repr__(self) -> str:
        return f"SendLog({len(self)} sends)"


class _NoHistory:
    def sent_times(self, customer_id: str | int, channel: ChannelKind,
                   message_class: MessageClass, since: dt.datetime) -> Sequence[dt.datetime]:
        return ()

    def has_sent(self, message_type: str, dedupe_key: str) -> bool:
        return False

    def __repr__(self) -> str:
        return "NO_HISTORY"


_NO_HISTORY: Final = _NoHistory()


@attrs.frozen
class PolicyContext:
    """Everything outside the message that a decision needs (no I/O happens in the policy).

    Attributes:
        history: past sends (caps, dedupe); default: nothing sent.
        opt_outs: marketing opt-outs per (address, channel); ``None`` means "not known",
            and then classes that respect opt-outs skip everything (compliance first).
        blocked: customer ids on the shop's block list.
        members: member customer ids; ``None`` = unknown (members-only classes skip).
        consented: customer ids with a recorded consent; ``None`` = unknown (classes that
            require consent skip).
    """

    history: SendHistory = attrs.field(default=_NO_HISTORY)
    opt_outs: OptOutLookup | None = None
    blocked: Container[str | int] = attrs.field(default=frozenset())
    members: Container[str | int] | None = None
    consented: Container[str | int] | None = None
