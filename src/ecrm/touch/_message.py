"""Messages, recipients and the masking of personal contact data.

A :class:`Message` is a fully rendered, addressed, classified candidate send. Flows create
them; the :class:`~ecrm.touch.SendPolicy` decides whether, and when, they go out; the
outbox stores them durably under their idempotency ``key``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from ecrm import _validators as _v
from ecrm._contact import mask_email, mask_phone, normalize_phone
from ecrm._ids import check_customer_id
from ecrm._redact import redact
from ecrm._serial import JsonForm, reading
from ecrm._time import as_zone, datetime_to_us, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "ChannelKind",
    "Message",
    "MessageClass",
    "Recipient",
    "mask_contacts",
]


class MessageClass(enum.Enum):
    """What a message is for; the send policy has one rule set per class.

    ``TRANSACTIONAL`` (payment reminder, logistics) and ``CARE`` (tutorials, follow-ups,
    greetings) are not marketing; ``MARKETING`` (broadcasts, coupons pushes) is.
    """

    TRANSACTIONAL = "transactional"
    CARE = "care"
    MARKETING = "marketing"

    # Members are singletons compared by identity; the identity hash is a C call, where
    # Enum's default hashes the name in Python (a hot path for the policy and history).
    __hash__ = object.__hash__


class ChannelKind(enum.Enum):
    """The kind of channel a message goes out on."""

    SMS = "sms"
    EMAIL = "email"
    IN_APP = "in_app"
    COUPON = "coupon"
    POSTER = "poster"

    __hash__ = object.__hash__  # see MessageClass


def mask_contacts(text: str) -> str:
    """``text`` with phone numbers, e-mail addresses and credentials masked.

    The public name of ecrm's one masking function (:func:`ecrm._redact.redact`), which every
    stored reason, log record and exception text of touch goes through; for provider answers
    that echo what they were sent:

    >>> mask_contacts("550 <alice@example.com>: invalid mobile 13812345678")
    '550 <a***@example.com>: invalid mobile 138****5678'
    """
    return redact(text)


def _phone(value: object) -> str | None:
    # SMS here follows mainland China's rules, so a phone is a mainland mobile: the core's
    # ecrm.normalize_phone (the same rule the customer table uses)
    return None if value is None else normalize_phone(value)  # type: ignore[arg-type]


def _check_email(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidTypeError(f"email must be a string, got {type(value).__name__}")
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain and not any(c.isspace() for c in value)):
        raise InvalidValueError("email", "must look like name@example.com", mask_email(value))


def _check_tz(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        if not isinstance(value, str):
            raise InvalidTypeError(f"tz must be an IANA zone name, got {type(value).__name__}")
        as_zone(value, "tz")


@attrs.frozen(repr=False)
class Recipient:
    """Who a message goes to: the customer and their contact points.

    Phone and e-mail are masked in ``repr`` (and therefore in logs).

    >>> Recipient("c1", phone="138 0000 0000", tz="Asia/Shanghai")
    Recipient(customer_id='c1', phone='138****0000', email=None, tz='Asia/Shanghai')

    Attributes:
        customer_id: the shop's customer id (str or int).
        phone: a mainland China mobile number (SMS follows mainland rules), normalised to
            its 11 digits by :func:`ecrm.normalize_phone` (``+86`` / spaces / dashes dropped).
        email: e-mail address.
        tz: the recipient's IANA time zone, or ``None`` when unknown (the policy then
            falls back to the store zone).
    """

    customer_id: str | int = attrs.field(validator=check_customer_id)
    phone: str | None = attrs.field(default=None, converter=_phone)
    email: str | None = attrs.field(default=None, validator=_check_email)
    tz: str | None = attrs.field(default=None, validator=_check_tz)

    def __repr__(self) -> str:
        phone = None if self.phone is None else mask_phone(self.phone)
        email = None if self.email is None else mask_email(self.email)
        return (
            f"Recipient(customer_id={self.customer_id!r}, phone={phone!r}, "
            f"email={email!r}, tz={self.tz!r})"
        )


def _aware(field: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            require_aware(value, field)

    return check


def _nonempty(field: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str):
            raise InvalidTypeError(f"{field} must be a string, got {type(value).__name__}")
        if not value.strip():
            raise InvalidValueError(field, "must not be empty", value)

    return check


def _metadata(value: Mapping[str, str] | tuple[tuple[str, str], ...] | None) -> tuple[
    tuple[str, str], ...
]:
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidTypeError(f"metadata must hold (key, value) pairs, got {item!r}")
        k, v = item
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidTypeError(f"metadata keys and values must be strings, got {k!r}: {v!r}")
        out.append((k, v))
    return tuple(sorted(out))


def _encode_time(value: dt.datetime) -> str:
    """ISO 8601 with the offset, plus the IANA zone in brackets (RFC 9557) when known."""
    key = getattr(value.tzinfo, "key", None)
    return value.isoformat() + (f"[{key}]" if key else "")


def _decode_time(text: str) -> dt.datetime:
    iso, _, zone = text.partition("[")
    value = dt.datetime.fromisoformat(iso)
    # back in its own zone, so the value compares equal even in a DST fold
    return value.astimezone(as_zone(zone[:-1])) if zone else value


def _instant(value: dt.datetime | None) -> int | None:
    """The eq/hash key of a message time: its instant (epoch microseconds).

    Plain datetime ``==`` compares two values in the *same* tzinfo object by wall time
    (ignoring ``fold``) and, per PEP 495, never finds an ambiguous time in a DST fold equal
    to one in another tzinfo object, even an equal zone. Comparing instants is exact.
    """
    return None if value is None else datetime_to_us(value)


@attrs.frozen(repr=False)
class Message(JsonForm):
    """One rendered, addressed, classified message: a candidate send.

    Attributes:
        key: the idempotency key, a natural key such as ``"care:shipped:order-123"``;
            the outbox stores one message per key and adapters that honour idempotency
            get it as the provider's idempotency key.
        message_type: what kind of message (``"payment_reminder"``, ``"shipped"``).
        message_class: transactional, care or marketing (selects the policy rules).
        channel: the channel kind it goes out on.
        recipient: who gets it.
        body: the rendered text (for SMS: the composed text, signature included).
        created_at: when the flow created it (aware).
        subject: the e-mail subject, if any.
        dedupe_key: with ``message_type`` identifies "the same message" for the policy's
            dedupe rule (``"order-123"`` → one payment reminder per order); ``None``
            disables dedupe for this message.
        not_before: the earliest moment it may go out (aware), or ``None``.
        metadata: extra string pairs for adapters (``{"coupon": "NEW10"}``), stored sorted.

    Two messages are equal when every field is, the times compared as instants (so a
    message read back from the outbox equals the one enqueued, even in a DST fold).
    ``to_dict`` / ``from_dict`` and ``to_json`` / ``from_json`` round-trip it.

    .. versionadded:: 0.1.0
       ``to_json`` / ``from_json`` (JSON text over ``to_dict`` / ``from_dict``).
    """

    _json_field: ClassVar[str] = "message"

    key: str = attrs.field(validator=_nonempty("key"))
    message_type: str = attrs.field(validator=_nonempty("message_type"))
    message_class: MessageClass = attrs.field(validator=_v.instance_of(MessageClass))
    channel: ChannelKind = attrs.field(validator=_v.instance_of(ChannelKind))
    recipient: Recipient = attrs.field(validator=_v.instance_of(Recipient))
    body: str = attrs.field(validator=_v.instance_of(str))
    created_at: dt.datetime = attrs.field(validator=_aware("created_at"), eq=_instant)
    subject: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(str))
    )
    dedupe_key: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(str))
    )
    not_before: dt.datetime | None = attrs.field(
        default=None, validator=_aware("not_before"), eq=_instant
    )
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_metadata)

    @property
    def address(self) -> str:
        """The channel address: the phone for SMS, the e-mail for EMAIL, else the customer id.

        Opt-outs are recorded against this address. ``""`` when the recipient has no
        address for the channel.
        """
        if self.channel is ChannelKind.SMS:
            return self.recipient.phone or ""
        if self.channel is ChannelKind.EMAIL:
            return self.recipient.email or ""
        return str(self.recipient.customer_id)

    @property
    def masked_address(self) -> str:
        """:attr:`address` masked for logs."""
        if self.channel is ChannelKind.EMAIL:
            return mask_email(self.address)
        if self.channel is ChannelKind.SMS:
            return mask_phone(self.address)
        return self.address

    def meta(self, name: str, default: str | None = None) -> str | None:
        """The metadata value ``name`` (``default`` when absent)."""
        for k, v in self.metadata:
            if k == name:
                return v
        return default

    def __repr__(self) -> str:
        return (
            f"Message(key={self.key!r}, message_type={self.message_type!r}, "
            f"message_class={self.message_class.name}, channel={self.channel.name}, "
            f"recipient={self.recipient!r}, body={self.body!r})"
        )

    # -- serialisation (the outbox stores messages as JSON) -----------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings with offsets, the IANA zone kept);
        :meth:`from_dict` reads it back to an equal message."""
        r = self.recipient
        return {
            "key": self.key,
            "message_type": self.message_type,
            "message_class": self.message_class.value,
            "channel": self.channel.value,
            "recipient": {
                "customer_id": r.customer_id,
                "phone": r.phone,
                "email": r.email,
                "tz": r.tz,
            },
            "body": self.body,
            "created_at": _encode_time(self.created_at),
            "subject": self.subject,
            "dedupe_key": self.dedupe_key,
            "not_before": None if self.not_before is None else _encode_time(self.not_before),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Rebuild a message from :meth:`to_dict` output.

        Raises:
            InvalidTypeError: ``data`` is not a mapping, or a field has the wrong type.
            InvalidValueError: a field is missing or invalid.
        """
        with reading(data, "message") as doc:
            r = doc["recipient"]
            nb = doc.get("not_before")
            return cls(
                key=doc["key"],
                message_type=doc["message_type"],
                message_class=MessageClass(doc["message_class"]),
                channel=ChannelKind(doc["channel"]),
                recipient=Recipient(r["customer_id"], r.get("phone"), r.get("email"), r.get("tz")),
                body=doc["body"],
                created_at=_decode_time(doc["created_at"]),
                subject=doc.get("subject"),
                dedupe_key=doc.get("dedupe_key"),
                not_before=None if nb is None else _decode_time(nb),
                metadata=doc.get("metadata") or {},
            )
