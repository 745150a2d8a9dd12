"""A generic JSON-over-HTTP SMS gateway channel (standard library ``http.client``)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import string
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from ecrm._contact import is_fake_phone
from ecrm._redact import redact
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._deadline import Deadline
from ecrm.touch._message import ChannelKind, Message

__all__ = ["HttpSmsChannel", "json_body_error"]

#: Fields a body template dict may use (``{"mobile": "{phone}", "content": "{text}"}``).
BODY_FIELDS: Final = frozenset(
    {"phone", "text", "key", "customer_id", "message_type", "message_class", "subject"}
)
_TRANSIENT_4XX: Final = frozenset({408, 425, 429})
_ERROR_DETAIL_BYTES: Final = 500
_CHUNK: Final = 64 * 1024
# names whose values are credentials: in query strings, headers and JSON answers
_SECRET_NAME: Final = re.compile(
    r"(?i)(api[_-]?key|access[_-]?key|secret|token|passw(or)?d|pwd|sign|auth|credential)"
)
_SUCCESS_CODES: Final = frozenset({"0", "ok", "success", "200"})
_ERROR_STATUSES: Final = frozenset({"error", "fail", "failed", "failure"})
# codes that say "later" rather than "never": rate limits, flow control, busy
_TRANSIENT_CODE: Final = re.compile(r"(?i)(limit|throttl|busy|flow|frequen|timeout|try.?again)")


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def json_body_error(answer: Any) -> Failed | None:
    """The default success predicate: a :class:`Failed` when a 2xx JSON answer reports an error.

    Many gateways (Aliyun and Tencent Cloud among them) answer HTTP 200 and put the
    failure in the body. An answer is a failure when it is a JSON object with

    * a truthy ``error`` / ``errors`` / ``Error`` member, also under ``Response``
      (Tencent Cloud's shape: ``{"Response": {"Error": {"Code": …}}}``);
    * ``success`` or ``ok`` set to ``false``;
    * ``status`` equal to ``error``, ``fail``, ``failed`` or ``failure``;
    * a ``code`` / ``Code`` that is not ``0`` (or ``000000``), ``200``, ``OK``/``Ok``,
      ``success``.

    Anything else (a body that is not JSON, an object with none of these members) is a
    success. A failure is transient when its code or text speaks of a limit, throttling,
    flow control, a busy server or a timeout, permanent otherwise.

    Args:
        answer: the decoded JSON body, or ``None`` when the body is not JSON.

    Returns:
        ``None`` for a success, else a :class:`Failed` whose reason quotes the body.

    >>> json_body_error({"Code": "OK", "BizId": "9"}) is None
    True
    >>> json_body_error({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "flow"}).transient
    True
    >>> json_body_error({"success": False, "msg": "bad template"}).transient
    False
    """
    if not isinstance(answer, Mapping):
        return None
    inner = answer.get("Response")
    scopes = [answer, inner] if isinstance(inner, Mapping) else [answer]
    problem: object = None
    for scope in scopes:
        for name in ("error", "errors", "Error"):
            if scope.get(name):
                problem = scope[name]
        for name in ("success", "ok"):
            if scope.get(name) is False:
                problem = problem or {name: False}
        status = scope.get("status")
        if isinstance(status, str) and status.lower() in _ERROR_STATUSES:
            problem = problem or {"status": status}
        for name in ("code", "Code"):
            code = scope.get(name)
            if code is not None and str(code).lower() not in _SUCCESS_CODES \
                    and str(code).strip("0"):  # "0", "000000": success in many gateways
                problem = problem or {name: code}
        if problem is not None:
            break
    if problem is None:
        return None
    text = _text(answer)
    return Failed(f"gateway reported an error: {text[:_ERROR_DETAIL_BYTES]}",
                  transient=bool(_TRANSIENT_CODE.search(_text(problem))))


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


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class _TooLargeError(Exception):
    """The answer is longer than ``max_response_bytes``."""


@attrs.frozen
class _Answer:
    status: int
    location: str | None
    raw: bytes


def _url_secrets(parsed: urllib.parse.SplitResult) -> list[str]:
    found = [parsed.password] if parsed.password else []
    for name, value in urllib.parse.parse_qsl(parsed.query, keep_blank_values=False):
        if _SECRET_NAME.search(name):
            found += [value, urllib.parse.quote(value, safe="")]
    return found


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
        timeout: seconds for the whole exchange: connecting, TLS, sending and reading
            the answer together (a server that drips its answer is cut off when the time
            is up). Name resolution is not bounded by it.
        idempotency_header: header carrying ``message.key`` so a gateway that honours
            it dedupes retries (``None`` to leave it out).
        headers: further headers.
        proxies: ``{"https": "http://proxy:3128"}``; ``None`` (default) uses the
            ``*_proxy`` environment variables as read now, ``{}`` uses no proxy.
        allow_fake_numbers: send to the reserved fake range of the sample data
            (``154…``); by default such numbers fail permanently without a request, so a
            sample shop can never reach a real gateway.
        body_error: the success predicate over a 2xx answer: ``answer -> Failed | None``
            where ``answer`` is the decoded JSON (``None`` when the body is not JSON).
            Default :func:`json_body_error`; pass ``lambda answer: None`` to trust the
            status alone.
        max_response_bytes: read at most this much of an answer; a longer one is a
            permanent failure (a gateway's answer is a few hundred bytes).
        ssl_context: for ``https://``; default ``ssl.create_default_context()``.
        secrets: further strings to mask in receipts and ``repr`` (the ``auth_header``
            value, a password in the URL and credential-looking query values and
            headers are masked without being listed).

    Answers map to receipts: 2xx → :class:`Accepted` (provider id from the JSON, ``None``
    when absent or the body is not JSON) unless ``body_error`` says otherwise; 3xx → a
    permanent failure naming the ``Location`` (redirects are never followed, so the
    message and its credentials go nowhere else); 5xx, 408, 425, 429, timeouts and
    connection errors → transient; other 4xx, an untrusted certificate and an oversized
    answer → permanent. Every reason is masked by :func:`ecrm._redact.redact`.
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
        body_error: Callable[[Any], Failed | None] = json_body_error,
        max_response_bytes: int = 64 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidValueError("url", "must be an http:// or https:// URL", url)
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidValueError("timeout", "must be > 0 seconds", timeout)
        if not (isinstance(max_response_bytes, int) and max_response_bytes > 0):
            raise InvalidValueError("max_response_bytes", "must be an int > 0",
                                    max_response_bytes)
        if body is not None and not callable(body):
            if not isinstance(body, Mapping):
                raise InvalidTypeError(f"body must be a callable or a dict, got {body!r}")
            _check_body_template(body)
        if not callable(body_error):
            raise InvalidTypeError(f"body_error must be callable, got {body_error!r}")
        if isinstance(secrets, str):
            raise InvalidTypeError("secrets must be an iterable of strings, not one string")
        self._parsed = parsed
        self.url = url
        self._auth = auth_header
        self._body = body
        self.provider_id_field = provider_id_field
        self.timeout = float(timeout)
        self.idempotency_header = idempotency_header
        self._headers = dict(headers or {})
        self.allow_fake_numbers = bool(allow_fake_numbers)
        self._body_error = body_error
        self.max_response_bytes = max_response_bytes
        self._ssl_context = ssl_context
        found = [*secrets, *_url_secrets(parsed)]
        if auth_header is not None:
            found.append(auth_header[1])
            found += auth_header[1].split()[1:]  # the token after "Bearer"
        found += [v for k, v in self._headers.items() if _SECRET_NAME.search(k)]
        # longest first, so a token inside a longer secret does not leave a tail behind
        self._secrets = tuple(sorted({s for s in found if s}, key=len, reverse=True))
        env = urllib.request.getproxies() if proxies is None else dict(proxies)
        proxy = env.get(parsed.scheme)
        if proxy and proxies is None and urllib.request.proxy_bypass(parsed.hostname or ""):
            proxy = None
        self._proxy = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy) \
            if proxy else None

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body that :meth:`send` would post for ``message``."""
        if self._body is None:
            return _default_body(message)
        if callable(self._body):
            return dict(self._body(message))
        values = _fields(message)
        return {name: tmpl.format_map(values) for name, tmpl in self._body.items()}

    def _headers_for(self, message: Message) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Accept": "application/json", **self._headers}
        if self._auth is not None:
            headers[self._auth[0]] = self._auth[1]
        if self.idempotency_header:
            headers[self.idempotency_header] = message.key
        return headers

    def _redact(self, text: str) -> str:
        return redact(text, secrets=self._secrets)

    def _connection(self, deadline: Deadline) -> tuple[http.client.HTTPConnection, str]:
        """A connection (through the proxy, if any) whose sockets ``deadline`` watches."""
        target = self._parsed
        path = urllib.parse.urlunsplit(("", "", target.path or "/", target.query, ""))
        host = target.hostname or ""
        port = target.port
        conn: http.client.HTTPConnection
        if self._proxy is not None and target.scheme == "http":
            # a plain-HTTP proxy takes the absolute URL
            host, port = self._proxy.hostname or "", self._proxy.port or 80
            path = urllib.parse.urlunsplit(
                (target.scheme, target.netloc.rpartition("@")[2], path, "", ""))
            conn = http.client.HTTPConnection(host, port, timeout=deadline.remaining())
        elif target.scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            if self._proxy is not None:
                conn = http.client.HTTPSConnection(
                    self._proxy.hostname or "", self._proxy.port or 80,
                    timeout=deadline.remaining(), context=context)
                conn.set_tunnel(host, port)
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=deadline.remaining(),
                                                   context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=deadline.remaining())

        def create(address: tuple[str, int], timeout: float = 0,
                   source: tuple[str, int] | None = None) -> socket.socket:
            sock = socket.create_connection(address, deadline.remaining(), source)
            try:
                deadline.watch(sock)
            except BaseException:
                sock.close()
                raise
            return sock

        # http.client opens its socket through this attribute; ours registers it with the
        # deadline before TLS or any byte of HTTP, so nothing can outlive the budget
        conn._create_connection = create  # type: ignore[attr-defined]
        return conn, path

    def _exchange(self, data: bytes, headers: Mapping[str, str]) -> _Answer:
        with Deadline(self.timeout) as deadline:
            conn, path = self._connection(deadline)
            try:
                try:
                    conn.request("POST", path, body=data, headers=dict(headers))
                    response = conn.getresponse()
                    length = response.getheader("Content-Length")
                    if response.status < 300 and length and length.isdigit() \
                            and int(length) > self.max_response_bytes:
                        raise _TooLargeError(length)
                    limit = self.max_response_bytes if response.status < 300 \
                        else _ERROR_DETAIL_BYTES
                    chunks: list[bytes] = []
                    size = 0
                    while size <= limit:
                        chunk = response.read(min(_CHUNK, limit + 1 - size))
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                    if size > limit and response.status < 300:
                        raise _TooLargeError(str(size))
                    if deadline.expired:  # cut mid-answer: what we have is a fragment
                        raise TimeoutError(f"no complete answer within {self.timeout:g} s")
                    return _Answer(response.status, response.getheader("Location"),
                                   b"".join(chunks)[:limit])
                except (OSError, http.client.HTTPException) as exc:
                    if deadline.expired:
                        raise TimeoutError(f"no complete answer within {self.timeout:g} s") \
                            from exc
                    raise
            finally:
                conn.close()

    def _provider_id(self, answer: Any) -> str | None:
        value = answer
        for part in self.provider_id_field.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return None if value is None else str(value)

    def _failed(self, reason: str, *, transient: bool) -> Failed:
        return Failed(self._redact(reason), transient=transient)

    def send(self, message: Message) -> Receipt:
        """Post ``message`` to the gateway and map its answer to a receipt (never raises
        for a delivery failure; see the class docstring for the mapping)."""
        if message.channel is not ChannelKind.SMS:
            return Failed(f"HttpSmsChannel cannot send {message.channel.name} messages",
                          transient=False)
        if not message.recipient.phone:
            return Failed("recipient has no phone number", transient=False)
        if not self.allow_fake_numbers and is_fake_phone(message.recipient.phone):
            return Failed("number is in the reserved fake range of the sample data",
                          transient=False)
        try:
            data = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
            headers = self._headers_for(message)
        except (InvalidValueError, KeyError, TypeError, ValueError) as exc:
            return self._failed(f"cannot build the gateway request: {exc}", transient=False)
        try:
            answer = self._exchange(data, headers)
        except _TooLargeError as exc:
            return Failed(f"gateway answer larger than max_response_bytes="
                          f"{self.max_response_bytes} ({exc} bytes or more)", transient=False)
        except ssl.SSLCertVerificationError as exc:
            return self._failed(f"TLS certificate not trusted: {exc.verify_message}",
                                transient=False)
        except TimeoutError as exc:
            return self._failed(f"gateway timed out after {self.timeout:g} s: {exc}",
                                transient=True)
        except (http.client.HTTPException, OSError) as exc:
            return self._failed(f"gateway connection problem: {type(exc).__name__}: {exc}",
                                transient=True)
        status = answer.status
        if 300 <= status < 400:
            return self._failed(f"gateway answered HTTP {status} redirect to "
                                f"{answer.location or '(no Location)'}; redirects are not "
                                f"followed", transient=False)
        if not 200 <= status < 300:
            detail = answer.raw.decode("utf-8", errors="replace")
            transient = status >= 500 or status in _TRANSIENT_4XX
            return self._failed(f"gateway answered HTTP {status}: {detail}", transient=transient)
        decoded = _json(answer.raw)
        try:
            failure = self._body_error(decoded)
        except Exception as exc:
            return self._failed(f"body_error raised {type(exc).__name__}: {exc}",
                                transient=False)
        if failure is None:
            return Accepted(self._provider_id(decoded))
        if not isinstance(failure, Failed):
            return self._failed(f"body_error returned {type(failure).__name__}, not a Failed "
                                f"or None", transient=False)
        return self._failed(failure.reason, transient=failure.transient)

    def __repr__(self) -> str:
        return f"HttpSmsChannel({self._redact(self.url)!r}, timeout={self.timeout:g})"
