"""The channel seam: one ``send`` method, typed receipts, and the in-process adapters."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._redact import redact
from ecrm.errors import EcrmError, InvalidTypeError, InvalidValueError
from ecrm.touch._message import ChannelKind, Message

__all__ = [
    "Accepted",
    "Channel",
    "CouponGrantChannel",
    "Failed",
    "JsonLinesChannel",
    "MockChannel",
    "Receipt",
    "RecordingChannel",
    "send_batch",
]


@attrs.frozen
class Accepted:
    """The provider accepted the message.

    Attributes:
        provider_id: the provider's id for it (message id, grant id), or ``None`` when
            the provider gave none.
    """

    provider_id: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(str))
    )

    @property
    def ok(self) -> bool:
        return True


@attrs.frozen
class Failed:
    """The message was not accepted.

    Attributes:
        reason: why, in words (the provider's code and text when there is one).
        transient: ``True`` when trying again later may succeed (timeouts, 4xx SMTP
            replies, HTTP 5xx/429); ``False`` for permanent refusals (bad number, 5xx SMTP).
    """

    reason: str = attrs.field(validator=_v.instance_of(str))
    transient: bool = attrs.field(validator=_v.instance_of(bool))

    @property
    def ok(self) -> bool:
        return False


Receipt: TypeAlias = Accepted | Failed


@runtime_checkable
class Channel(Protocol):
    """A way to reach customers. Adapters are passed in; ecrm never builds them itself.

    ``send`` must not raise for a delivery failure: it returns :class:`Failed` (marked
    transient or permanent). Adapters that can dedupe should honour ``message.key`` as
    the idempotency key.
    """

    def send(self, message: Message) -> Receipt:
        """Send one message and say what happened."""
        ...


def send_batch(channel: Channel, messages: Iterable[Message]) -> list[tuple[Message, Receipt]]:
    """Send each message through ``channel``; one ``(message, receipt)`` per message, in order.

    A batch never collapses into one boolean: partial failures stay visible. An exception
    from the adapter becomes a transient :class:`Failed` for that message only.
    """
    results: list[tuple[Message, Receipt]] = []
    for message in messages:
        results.append((message, safe_send(channel, message)))
    return results


def safe_send(channel: Channel, message: Message) -> Receipt:
    """``channel.send(message)``, turning an adapter's exception into a :class:`Failed`.

    An :class:`~ecrm.touch.ChannelError` keeps its ``transient`` flag; an ecrm
    ``InvalidValueError`` is permanent (bad data will not get better); anything else is
    transient, so a retry limit still ends it in the dead letters. The exception's text
    goes through :func:`ecrm._redact.redact` (no phone or e-mail in a stored reason).
    """
    try:
        receipt = channel.send(message)
    except InvalidValueError as exc:
        return Failed(redact(f"{type(exc).__name__}: {exc}"), transient=False)
    except EcrmError as exc:
        transient = bool(getattr(exc, "transient", True))
        return Failed(redact(f"{type(exc).__name__}: {exc}"), transient=transient)
    except Exception as exc:
        return Failed(redact(f"adapter raised {type(exc).__name__}: {exc}"), transient=True)
    if not isinstance(receipt, (Accepted, Failed)):
        return Failed(f"adapter returned {type(receipt).__name__}, not a Receipt", transient=False)
    return receipt


class RecordingChannel:
    """A fake channel that records every message it is given (for users' tests).

    Args:
        result: what to answer: a fixed :class:`Receipt`, a callable ``message -> Receipt``,
            or ``None`` for ``Accepted("rec-<n>")`` with a running number.
        dedupe: honour the idempotency key: a key already accepted is accepted again
            without being recorded a second time (like a provider that dedupes).

    >>> from ecrm.touch import RecordingChannel
    >>> channel = RecordingChannel()
    >>> len(channel.sent)
    0
    """

    def __init__(
        self,
        result: Receipt | Callable[[Message], Receipt] | None = None,
        *,
        dedupe: bool = False,
    ) -> None:
        self._result = result
        self._dedupe = dedupe
        self._lock = threading.Lock()
        self._accepted: dict[str, Accepted] = {}
        #: Every message recorded, in order (with ``dedupe``, accepted keys only once).
        self.sent: list[Message] = []
        #: Every call to :meth:`send`, in order, with the receipt returned.
        self.calls: list[tuple[Message, Receipt]] = []

    def send(self, message: Message) -> Receipt:
        with self._lock:
            if self._dedupe and message.key in self._accepted:
                receipt: Receipt = self._accepted[message.key]
                self.calls.append((message, receipt))
                return receipt
            if self._result is None:
                receipt = Accepted(f"rec-{len(self.calls) + 1}")
            elif isinstance(self._result, (Accepted, Failed)):
                receipt = self._result
            else:
                receipt = self._result(message)
            self.calls.append((message, receipt))
            if isinstance(receipt, Accepted):
                self.sent.append(message)
                self._accepted[message.key] = receipt
            return receipt

    @property
    def keys(self) -> list[str]:
        """The idempotency keys of :attr:`sent`, in order."""
        return [m.key for m in self.sent]

    def __repr__(self) -> str:
        return f"RecordingChannel(sent={len(self.sent)}, calls={len(self.calls)})"


class MockChannel:
    """A channel whose answers come from ``handler(message) -> Receipt`` (for users' tests).

    >>> from ecrm.touch import Failed, MockChannel
    >>> channel = MockChannel(lambda m: Failed("gateway down", transient=True))
    """

    def __init__(self, handler: Callable[[Message], Receipt]) -> None:
        if not callable(handler):
            raise InvalidTypeError(f"handler must be callable, got {type(handler).__name__}")
        self._handler = handler

    def send(self, message: Message) -> Receipt:
        return self._handler(message)

    def __repr__(self) -> str:
        return f"MockChannel({self._handler!r})"


class JsonLinesChannel:
    """Appends one JSON object per message to a file: a dry run that sends nothing.

    Each line is written with a single ``write`` on a file opened in append mode, so
    concurrent writers never interleave their lines. A ``kill -9`` in the middle of a
    write can leave the start of a line (Linux copies a write a page at a time and stops
    between pages for a fatal signal): the next message then starts a new line, so the
    file holds whole JSON lines and at most such fragments, which a reader skips (the
    message was not sent and is sent again). Contact data is masked unless ``mask=False``.

    Args:
        path: the file (created if missing).
        fsync: ``fsync`` after each line (survives a power loss; slower).
        mask: mask phone numbers and e-mails in the file.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False, mask: bool = True):
        self.path = Path(path)
        self._fsync = fsync
        self._mask = mask

    def send(self, message: Message) -> Receipt:
        record = {
            "key": message.key,
            "message_type": message.message_type,
            "message_class": message.message_class.value,
            "channel": message.channel.value,
            "customer_id": message.recipient.customer_id,
            "to": message.masked_address if self._mask else message.address,
            "subject": message.subject,
            "body": message.body,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # after the fragment of a killed writer
                written = os.write(fd, line)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return Failed(f"cannot append to {self.path}: {exc}", transient=True)
        if written != len(line):
            return Failed(f"appended {written} of {len(line)} bytes to {self.path}", transient=True)
        return Accepted(f"jsonl:{message.key}")

    def __repr__(self) -> str:
        return f"JsonLinesChannel({str(self.path)!r})"


class CouponGrantChannel:
    """Grants a coupon to the recipient through ``grant(customer_id, coupon, message)``.

    The coupon (template id or code) comes from ``message.metadata["coupon"]``. ``grant``
    returns the grant id; it may raise an ecrm ``InvalidValueError`` (unknown coupon,
    limit reached) which becomes a permanent failure, or any other exception, which
    becomes a transient one. Pass a membership catalogue's issuing function here.
    """

    def __init__(self, grant: Callable[[str | int, str, Message], str]) -> None:
        if not callable(grant):
            raise InvalidTypeError(f"grant must be callable, got {type(grant).__name__}")
        self._grant = grant

    def send(self, message: Message) -> Receipt:
        if message.channel is not ChannelKind.COUPON:
            return Failed(f"CouponGrantChannel cannot send {message.channel.name} messages",
                          transient=False)
        coupon = message.meta("coupon")
        if not coupon:
            return Failed("message has no 'coupon' metadata to grant", transient=False)
        try:
            grant_id = self._grant(message.recipient.customer_id, coupon, message)
        except InvalidValueError as exc:
            return Failed(redact(f"coupon {coupon!r} not granted: {exc}"), transient=False)
        except Exception as exc:
            return Failed(redact(f"coupon grant failed: {type(exc).__name__}: {exc}"),
                          transient=True)
        return Accepted(str(grant_id))

    def __repr__(self) -> str:
        return f"CouponGrantChannel({self._grant!r})"
