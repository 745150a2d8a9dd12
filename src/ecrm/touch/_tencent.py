"""Tencent Cloud (腾讯云) SMS through the official SDK ``tencentcloud-sdk-python-sms``.

The SDK is an optional extra (``pip install 'ecrm[tencent]'``), imported when a channel is
built. SendSms (API 3.0, version 2021-01-11) answers one ``SendStatus`` per number; each
becomes that number's receipt. Codes follow Tencent's "短信 API 3.0 发送错误码" list: ``Ok`` is
accepted; ``LimitExceeded.*`` frequency limits, request limits, internal errors and an
empty SMS package are transient; number, signature, template, content and
authorisation errors are permanent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from ecrm.errors import InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._message import Message
from ecrm.touch._sms_vendor import (
    VendorSmsChannel,
    certificate_problem,
    check_text,
    import_sdk,
    metadata_params,
)

__all__ = ["TENCENT_PERMANENT_CODES", "TENCENT_TRANSIENT_CODES", "TencentSmsChannel",
           "positional_params"]

logger = logging.getLogger("ecrm.touch")

#: Codes (and, ending in ``.``, code prefixes) after which trying again later may succeed:
#: frequency and volume limits, request rate limits, Tencent's internal errors and
#: timeouts, the SMS package or account out of balance (a top-up fixes it), and the SDK's
#: own network errors.
TENCENT_TRANSIENT_CODES: Final = frozenset({
    "LimitExceeded.",
    "RequestLimitExceeded",
    "RequestLimitExceeded.",
    "InternalError.",
    "InternalError",
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "ResourceUnavailable.",
    "ClientNetworkError",
    "ServerNetworkError",
})
#: Codes that stay permanent although a prefix above would match, and codes (or
#: prefixes) that are permanent in any case; anything in neither set is permanent.
TENCENT_PERMANENT_CODES: Final = frozenset({
    "LimitExceeded.PhoneNumberCountLimit",
    "InternalError.SigVerificationFail",
    "InternalError.SigFieldMissing",
    "InternalError.RestApiInterfaceNotExist",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.ContainSensitiveWord",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.MissingSignature",
    "FailedOperation.MissingTemplateToModify",
    "InvalidParameterValue.IncorrectPhoneNumber",
    "InvalidParameterValue.",
    "InvalidParameter.",
    "UnauthorizedOperation.",
    "AuthFailure.",
    "UnsupportedOperation.",
})


def _matches(code: str, table: frozenset[str]) -> bool:
    return code in table or any(p.endswith(".") and code.startswith(p) for p in table)


def tencent_transient(code: str) -> bool:
    """Whether Tencent's ``code`` is worth retrying later (see the two code sets)."""
    if code in TENCENT_PERMANENT_CODES:
        return False
    if code in TENCENT_TRANSIENT_CODES:
        return True
    return not _matches(code, TENCENT_PERMANENT_CODES) and _matches(
        code, TENCENT_TRANSIENT_CODES)


def positional_params(message: Message) -> list[str]:
    """A message's ``param.<n>`` metadata as Tencent's positional ``TemplateParamSet``
    (``param.1`` first; names that are not numbers follow in name order)."""
    named = metadata_params(message)
    return [named[k] for k in sorted(named, key=lambda k: (not k.isdigit(),
                                                            int(k) if k.isdigit() else 0, k))]


def _national(number: str) -> str:
    """``+8613812345678`` / ``008613812345678`` / ``8613812345678`` → ``13812345678``."""
    digits = number.lstrip("+")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


class TencentSmsChannel(VendorSmsChannel[Sequence[str]]):
    """Sends SMS through Tencent Cloud's SendSms (API 3.0, version 2021-01-11).

    Args:
        secret_id, secret_key: a CAM key pair (the key never appears in ``repr``,
            receipts or logs).
        sdk_app_id: the SMS application's SdkAppId (``"1400006666"``).
        sign_name: the approved signature (签名).
        template: the approved template id (``"1110"``), or a callable
            ``message -> id``; a message's ``template`` metadata overrides it.
        template_params: ``message -> [values]`` in the template's ``{1}``, ``{2}``
            order; default :func:`positional_params` (``param.1``, ``param.2`` metadata).
        region: the API region (``ap-guangzhou``).
        endpoint: the API host (``sms.tencentcloudapi.com``); a test server's
            ``"127.0.0.1:8080"`` with ``protocol="http"``.
        protocol: ``"https"`` (default) or ``"http"``.
        timeout: seconds for one request (the SDK's ``reqTimeout``).
        allow_fake_numbers: send to the sample data's fake range (``154…``).

    Raises:
        MissingDependencyError: the ``tencent`` extra is not installed.
        InvalidValueError: an empty id, key, app id or signature, a bad protocol or
            timeout.

    :meth:`send_many` sends up to 200 numbers per request when they share the template
    and the parameters, and gives each number the receipt of its own ``SendStatus``.
    """

    vendor = "Tencent SMS"
    max_batch = 200

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        *,
        sdk_app_id: str,
        sign_name: str,
        template: str | Callable[[Message], str],
        template_params: Callable[[Message], Sequence[str]] = positional_params,
        region: str = "ap-guangzhou",
        endpoint: str = "sms.tencentcloudapi.com",
        protocol: str = "https",
        timeout: float = 10.0,
        allow_fake_numbers: bool = False,
    ) -> None:
        check_text("secret_id", secret_id)
        check_text("secret_key", secret_key)
        self.sdk_app_id = check_text("sdk_app_id", sdk_app_id)
        self.sign_name = check_text("sign_name", sign_name)
        self.region = check_text("region", region)
        self.endpoint = check_text("endpoint", endpoint)
        if protocol not in ("https", "http"):
            raise InvalidValueError("protocol", "must be 'https' or 'http'", protocol)
        super().__init__(template=template, template_params=template_params,
                         secrets=(secret_key,), allow_fake_numbers=allow_fake_numbers,
                         timeout=timeout)
        self.secret_id = secret_id
        what = ("tencentcloud-sdk-python-sms", "tencent", "TencentSmsChannel")
        credential = import_sdk("tencentcloud.common.credential", *what)
        client_profile = import_sdk("tencentcloud.common.profile.client_profile", *what)
        http_profile = import_sdk("tencentcloud.common.profile.http_profile", *what)
        sms_client = import_sdk("tencentcloud.sms.v20210111.sms_client", *what)
        self._models = import_sdk("tencentcloud.sms.v20210111.models", *what)
        profile = client_profile.ClientProfile(httpProfile=http_profile.HttpProfile(
            endpoint=endpoint, protocol=protocol, reqTimeout=max(1, round(self.timeout))))
        self._client: Any = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), region, profile)

    def _group_key(self, params: Sequence[str]) -> str:
        # one SendSms request carries one TemplateParamSet for all its numbers
        if isinstance(params, str) or not all(isinstance(p, str) for p in params):
            raise InvalidValueError("template_params", "must return a list of strings",
                                    params)
        return json.dumps(list(params), ensure_ascii=False)

    def _send_group(self, template: str, params: Sequence[Sequence[str]],
                    messages: Sequence[Message]) -> list[Receipt]:
        request = self._models.SendSmsRequest()
        request.PhoneNumberSet = ["+86" + (m.recipient.phone or "") for m in messages]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = self.sign_name
        request.TemplateId = template
        request.TemplateParamSet = list(params[0])
        if len(messages) == 1:
            request.SessionContext = messages[0].key[:500]
        try:
            response = self._client.SendSms(request)
        except Exception as exc:
            failure = self._exception(exc)
            logger.warning("%s request for %d number(s) failed: %s", self.vendor,
                           len(messages), failure.reason)
            return [failure] * len(messages)
        statuses: dict[str, Any] = {}
        for status in response.SendStatusSet or []:
            statuses.setdefault(_national(str(status.PhoneNumber or "")), status)
        receipts: list[Receipt] = []
        for message in messages:
            status = statuses.get(message.recipient.phone or "")
            if status is None:
                # the request went through: resending could double the message
                receipts.append(self.failed(
                    f"{self.vendor} gave no status for this number (request "
                    f"{response.RequestId})", transient=False))
                continue
            code = str(status.Code or "")
            if code == "Ok":
                receipts.append(Accepted(str(status.SerialNo) if status.SerialNo else None))
            else:
                receipts.append(self.failed(f"{self.vendor} {code}: {status.Message or ''}",
                                            transient=tencent_transient(code)))
        return receipts

    def _exception(self, exc: Exception) -> Failed:
        """Map an SDK exception (an error answer, network trouble) to a receipt."""
        code = str(getattr(exc, "code", "") or type(exc).__name__)
        text = str(getattr(exc, "message", "") or exc)
        if code == "ClientNetworkError" and certificate_problem(text):
            return self.failed(f"{self.vendor} {code}: TLS certificate not trusted",
                               transient=False)
        request_id = getattr(exc, "requestId", None)
        suffix = f" (request {request_id})" if request_id else ""
        return self.failed(f"{self.vendor} {code}: {text}{suffix}",
                           transient=tencent_transient(code))

    def __repr__(self) -> str:
        return (f"TencentSmsChannel(secret_id={self.secret_id!r}, "
                f"sdk_app_id={self.sdk_app_id!r}, sign_name={self.sign_name!r}, "
                f"endpoint={self.endpoint!r})")
