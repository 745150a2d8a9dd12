"""What the cloud SMS gateways (Aliyun, Tencent Cloud) share: templates, batches, masking.

Cloud gateways in mainland China do not send free text: a message names an approved
template (and signature) and fills its parameters. ecrm keeps the composed text in
``Message.body`` (for the outbox, previews and the SMS length rules) and sends the
template the caller maps it to.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Final, Generic, TypeVar

from ecrm._contact import is_fake_phone
from ecrm._redact import redact
from ecrm.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from ecrm.touch._channel import Failed, Receipt
from ecrm.touch._message import ChannelKind, Message

__all__ = ["VendorSmsChannel", "import_sdk", "metadata_params"]

P = TypeVar("P")

#: Metadata keys ``param.<name>`` fill template parameters (``{"param.name": "小林"}``).
PARAM_PREFIX: Final = "param."
_CERTIFICATE: Final = re.compile(r"(?i)CERTIFICATE_VERIFY_FAILED|certificate verify failed")


def import_sdk(module: str, package: str, extra: str, purpose: str) -> ModuleType:
    """Import a vendor SDK module, or raise a :class:`~ecrm.MissingDependencyError` that
    names the pip package and the ecrm extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError.for_extra(package, extra, purpose) from exc


def metadata_params(message: Message) -> dict[str, str]:
    """The template parameters in ``message.metadata``: every ``param.<name>`` entry, as
    ``{name: value}`` (the default way a message carries them)."""
    return {k[len(PARAM_PREFIX):]: v for k, v in message.metadata
            if k.startswith(PARAM_PREFIX)}


def certificate_problem(text: str) -> bool:
    """Whether an SDK's error text is an untrusted TLS certificate (permanent)."""
    return bool(_CERTIFICATE.search(text))


class VendorSmsChannel(Generic[P]):
    """The part of a cloud SMS channel that is the same for every vendor.

    Subclasses set :attr:`max_batch` and implement :meth:`_send_group`, which sends one
    request for messages sharing a template (and, where the vendor needs it, the same
    parameters) and returns one receipt per message, in order.
    """

    vendor: str = "SMS"
    max_batch: int = 100

    def __init__(
        self,
        *,
        template: str | Callable[[Message], str],
        template_params: Callable[[Message], P],
        secrets: Iterable[str],
        allow_fake_numbers: bool,
        timeout: float,
    ) -> None:
        if not (isinstance(template, str) and template) and not callable(template):
            raise InvalidTypeError(
                f"template must be a template code or a callable, got {template!r}")
        if not callable(template_params):
            raise InvalidTypeError(f"template_params must be callable, got {template_params!r}")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidValueError("timeout", "must be > 0 seconds", timeout)
        self._template = template
        self._template_params = template_params
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self.allow_fake_numbers = bool(allow_fake_numbers)
        self.timeout = float(timeout)

    def redact(self, text: str) -> str:
        """``text`` with contact data and this channel's secrets masked."""
        return redact(text, secrets=self._secrets)

    def failed(self, reason: str, *, transient: bool) -> Failed:
        """A :class:`Failed` whose reason went through :meth:`redact`."""
        return Failed(self.redact(reason), transient=transient)

    def template_for(self, message: Message) -> str:
        """The template code for ``message``: its ``template`` metadata, else the
        channel's ``template``."""
        chosen = message.meta("template")
        if chosen:
            return chosen
        return self._template if isinstance(self._template, str) else self._template(message)

    def _refusal(self, message: Message) -> Failed | None:
        if message.channel is not ChannelKind.SMS:
            return Failed(f"{type(self).__name__} cannot send {message.channel.name} messages",
                          transient=False)
        if not message.recipient.phone:
            return Failed("recipient has no phone number", transient=False)
        if not self.allow_fake_numbers and is_fake_phone(message.recipient.phone):
            return Failed("number is in the reserved fake range of the sample data",
                          transient=False)
        return None

    def send(self, message: Message) -> Receipt:
        """Send one message; see :meth:`send_many` for the receipts."""
        ((_, receipt),) = self.send_many([message])
        return receipt

    def send_many(self, messages: Iterable[Message]) -> list[tuple[Message, Receipt]]:
        """Send ``messages`` in as few requests as the vendor allows.

        Messages are grouped by template (and parameters, where the vendor's batch needs
        them equal), at most :attr:`max_batch` numbers per request and a number at most
        once per request. Never raises for a delivery failure.

        Returns:
            One ``(message, receipt)`` per message, in the order given: per number as the
            vendor reports it.
        """
        messages = list(messages)
        receipts: list[Receipt | None] = [None] * len(messages)
        groups: dict[tuple[str, str], list[list[int]]] = {}
        params: dict[int, P] = {}
        for i, message in enumerate(messages):
            refusal = self._refusal(message)
            if refusal is not None:
                receipts[i] = refusal
                continue
            try:
                template = self.template_for(message)
                params[i] = self._template_params(message)
                key = (template, self._group_key(params[i]))
            except Exception as exc:
                receipts[i] = self.failed(
                    f"cannot build the {self.vendor} request: {type(exc).__name__}: {exc}",
                    transient=False)
                continue
            chunks = groups.setdefault(key, [])
            phone = message.recipient.phone
            for chunk in chunks:  # the first chunk with room that lacks this number
                if len(chunk) < self.max_batch and all(
                        messages[j].recipient.phone != phone for j in chunk):
                    chunk.append(i)
                    break
            else:
                chunks.append([i])
        for (template, _), chunks in groups.items():
            for chunk in chunks:
                batch = [messages[i] for i in chunk]
                try:
                    results = self._send_group(template, [params[i] for i in chunk], batch)
                except Exception as exc:  # an SDK bug must not stop the line
                    results = [self.failed(f"{self.vendor} SDK raised {type(exc).__name__}: "
                                           f"{exc}", transient=True)] * len(batch)
                for i, receipt in zip(chunk, results, strict=True):
                    receipts[i] = receipt
        return [(m, r if r is not None else Failed("not sent", transient=True))
                for m, r in zip(messages, receipts, strict=True)]

    def _group_key(self, params: P) -> str:
        """What must be equal for two messages to share one request besides the template
        (nothing by default: the vendor takes parameters per number)."""
        return ""

    def _send_group(self, template: str, params: Sequence[P],
                    messages: Sequence[Message]) -> list[Receipt]:
        raise NotImplementedError


def check_text(name: str, value: object) -> str:
    """``value`` if it is a non-empty string, else an ``InvalidValueError`` naming ``name``
    (the value itself is not shown: it may be a credential)."""
    if not isinstance(value, str) or not value:
        raise InvalidValueError(name, "must be a non-empty string", show_value=False)
    return value


def as_mapping(params: object, name: str) -> Mapping[str, str]:
    if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise InvalidTypeError(f"{name} must return a dict of str to str, got {params!r}")
    return params
