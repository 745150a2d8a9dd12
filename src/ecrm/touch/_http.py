"""A generic JSON-over-HTTP SMS gateway channel (standard library ``urllib``)."""

from __future__ import annotations

import http.client
import json
import string
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

from ecrm._customers import is_fake_phone
from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._message import ChannelKind, Message, mask_contacts

__all__ = ["HttpSmsChannel"]

#: Fields a body template dict may use (``{"mobile": "{phone}", "content": "{text}"}``).
BODY_FIELDS: Final = frozenset(
    {"phone", "text", "key", "customer_id", "message_type", "message_class", "subject"}
)
_TRANSIENT_4XX: Final = frozenset({408, 425, 429})


def _default_body(message: Message) -> dict[str, Any]:
    return {"to": message.recipient.phone, "text": message.body, "key": message.key}


def _fields(message: Message) -> dict[str, str]:
    return {
        "phone": message.recipient.phone or "",
        "text": message.body,
        "key": message.key,
        "customer_id": str(message.recipient.customer_id),
        "message_type": message.message_type,
        "message_class": message.message_class.value,
        "subject": message.subject or "",
    }


def _check_body_template(template: Mapping[str, str]) -> None:
    for name, value in template.items():
        if not isinstance(value, str):
            raise InvalidTypeError(f"body[{name!r}] must be a str template, got {value!r}")
        for _, field, spec, conv in string.Formatter().parse(value):
            if field is None:
                continue
            if field not in BODY_FIELDS or spec or conv:
                raise InvalidValueError(
                    f"body[{name!r}]", f"may only use {{name}} with name in {sorted(BODY_FIELDS)}",
                    value,
                )


class HttpSmsChannel:
    """Sends SMS through a gateway that takes a JSON POST and answers JSON.

    Args:
        url: the gateway endpoint (``http://`` or ``https://``).
        auth_header: ``(name, value)``, e.g. ``("Authorization", "Bearer …")``.
        body: a callable ``message -> dict`` or a template dict whose string values use
            ``{phone}``, ``{text}``, ``{key}``, ``{customer_id}``, ``{message_type}``,
            ``{message_class}``, ``{subject}``. Default ``{"to", "text", "key"}``.
        provider_id_field: dotted path of the provider's id in the JSON answer
            (``"data.msg_id"``).
        timeout: seconds for the whole exchange.
        idempotency_header: header carrying ``message.key`` so a gateway that honours
            it dedupes retries (``None`` to leave it out).
        headers: further headers.
        proxies: ``{"https": "http://proxy:3128"}``; ``None`` (default) uses the
            ``*_proxy`` environment variables as read now, ``{}`` uses no proxy.
        allow_fake_numbers: send to the reserved fake range of the sample data
            (``154…``); by default such numbers fail permanently without a request, so a
            sample shop can never reach a real gateway.

    Answers map to receipts: 2xx → :class:`Accepted` (provider id from the JSON, ``None``
    when absent or the body is not JSON); 5xx, 408, 425, 429, timeouts and connection
    errors → transient :class:`Failed`; other 4xx → permanent.
    """

    def __init__(
        self,
        url: str,
        *,
        auth_header: tuple[str, str] | None = None,
        body: Callable[[Message], Mapping[str, Any]] | Mapping[str, str] | None = None,
        provider_id_field: str = "id",
        timeout: float = 10.0,
        idempotency_header: str | None = "Idempotency-Key",
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        allow_fake_numbers: bool = False,
    ) -> None:
        parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidValueError("url", "must be an http:// or https:// URL", url)
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidValueError("timeout", "must be > 0 seconds", timeout)
        if body is not None and not callable(body):
            if not isinstance(body, Mapping):
                raise InvalidTypeError(f"body must be a callable or a dict, got {body!r}")
            _check_body_template(body)
        self.url = url
        self._auth = auth_header
        self._body = body
        self.provider_id_field = provider_id_field
        self.timeout = float(timeout)
        self.idempotency_header = idempotency_header
        self._headers = dict(headers or {})
        self.allow_fake_numbers = bool(allow_fake_numbers)
        # an opener of our own: the module-level one caches the proxy settings forever
        self._opener = urllib.request.build_opener(
            *(() if proxies is None else (urllib.request.ProxyHandler(dict(proxies)),))
        )

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body that :meth:`send` would post for ``message``."""
        if self._body is None:
            return _default_body(message)
        if callable(self._body):
            return dict(self._body(message))
        values = _fields(message)
        return {name: tmpl.format_map(values) for name, tmpl in self._body.items()}

    def _request(self, message: Message) -> urllib.request.Request:
        data = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", **self._headers}
        if self._auth is not None:
            headers[self._auth[0]] = self._auth[1]
        if self.idempotency_header:
            headers[self.idempotency_header] = message.key
        return urllib.request.Request(self.url, data=data, headers=headers, method="POST")

    def _provider_id(self, raw: bytes) -> str | None:
        try:
            value: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        for part in self.provider_id_field.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return None if value is None else str(value)

    def send(self, message: Message) -> Receipt:
        if message.channel is not ChannelKind.SMS:
            return Failed(f"HttpSmsChannel cannot send {message.channel.name} messages",
                          transient=False)
        if not message.recipient.phone:
            return Failed("recipient has no phone number", transient=False)
        if not self.allow_fake_numbers and is_fake_phone(message.recipient.phone):
            return Failed("number is in the reserved fake range of the sample data",
                          transient=False)
        try:
            request = self._request(message)
        except (InvalidValueError, KeyError, TypeError, ValueError) as exc:
            return Failed(f"cannot build the gateway request: {exc}", transient=False)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            with exc:
                detail = mask_contacts(exc.read(500).decode("utf-8", errors="replace"))
            transient = exc.code >= 500 or exc.code in _TRANSIENT_4XX
            return Failed(f"gateway answered HTTP {exc.code}: {detail}", transient=transient)
        except urllib.error.URLError as exc:
            return Failed(f"gateway unreachable: {exc.reason}", transient=True)
        except TimeoutError as exc:
            return Failed(f"gateway timed out after {self.timeout:g} s: {exc}", transient=True)
        except (http.client.HTTPException, OSError) as exc:
            return Failed(f"gateway connection problem: {type(exc).__name__}: {exc}",
                          transient=True)
        if not 200 <= status < 300:
            return Failed(f"gateway answered HTTP {status}", transient=status >= 500)
        return Accepted(self._provider_id(raw))

    def __repr__(self) -> str:
        return f"HttpSmsChannel({self.url!r}, timeout={self.timeout:g})"
