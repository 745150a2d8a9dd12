"""Aliyun (阿里云) SMS through the official SDK ``alibabacloud-dysmsapi20170525``.

The SDK is an optional extra (``pip install 'ecrm[aliyun]'``), imported when a channel is
built. Responses map to receipts by the codes of Aliyun's "国内消息API错误码" list: ``OK`` is
accepted; flow control, send-volume limits, platform errors and balance are transient;
number, signature, template, content and account errors are permanent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ecrm.errors import InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._message import Message
from ecrm.touch._sms_vendor import (
    VendorSmsChannel,
    as_mapping,
    certificate_problem,
    check_text,
    import_sdk,
    metadata_params,
)

__all__ = ["ALIYUN_PERMANENT_CODES", "ALIYUN_TRANSIENT_CODES", "AliyunSmsChannel"]

logger = logging.getLogger("ecrm.touch")

#: Codes after which trying again later may succeed: flow control (业务限流), the daily and
#: monthly volume limits the shop set, the account out of money (余额不足 / 业务停机: a
#: top-up fixes it without changing the message), and Aliyun's own errors.
ALIYUN_TRANSIENT_CODES: Final = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isv.MONTH_LIMIT_CONTROL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
})
#: Codes that name what is wrong with the number, the signature, the template, the
#: content or the account: the same request will fail again. Any code in neither set is
#: permanent too, except ``isp.*`` (platform) and ``Throttling*`` codes, which are transient.
ALIYUN_PERMANENT_CODES: Final = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.SIGN_STATE_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.SMS_CONTENT_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isv.DENY_IP_RANGE",
    "isp.RAM_PERMISSION_DENY",
    "InvalidAccessKeyId.NotFound",
    "SignatureDoesNotMatch",
})


def aliyun_transient(code: str) -> bool:
    """Whether Aliyun's ``code`` is worth retrying later (see the two code sets)."""
    if code in ALIYUN_PERMANENT_CODES:
        return False
    return code in ALIYUN_TRANSIENT_CODES or code.startswith(("isp.", "Throttling"))


class AliyunSmsChannel(VendorSmsChannel[Mapping[str, str]]):
    """Sends SMS through Aliyun's SendSms / SendBatchSms (API version 2017-05-25).

    Args:
        access_key_id, access_key_secret: a RAM user's AccessKey (the secret never
            appears in ``repr``, receipts or logs).
        sign_name: the approved signature (签名), e.g. ``"小林茶铺"``.
        template: the approved template code (``"SMS_154950909"``), or a callable
            ``message -> code``; a message's ``template`` metadata overrides it.
        template_params: ``message -> {name: value}`` for the template's variables;
            default: the message's ``param.<name>`` metadata.
        endpoint: the API host (``dysmsapi.aliyuncs.com``); a test server's
            ``"127.0.0.1:8080"`` with ``protocol="http"``.
        protocol: ``"https"`` (default) or ``"http"``.
        timeout: seconds to connect and, again, to read (the SDK's two timeouts).
        allow_fake_numbers: send to the sample data's fake range (``154…``).

    Raises:
        MissingDependencyError: the ``aliyun`` extra is not installed.
        InvalidValueError: an empty key, secret or signature, a bad protocol or timeout.

    One message goes out with SendSms (its key as ``OutId``); :meth:`send_many` sends up
    to 100 numbers per SendBatchSms request, one template per request, and Aliyun answers
    such a request with one code, which becomes every number's receipt.
    """

    vendor = "Aliyun SMS"
    max_batch = 100

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        sign_name: str,
        template: str | Callable[[Message], str],
        template_params: Callable[[Message], Mapping[str, str]] = metadata_params,
        endpoint: str = "dysmsapi.aliyuncs.com",
        protocol: str = "https",
        timeout: float = 10.0,
        allow_fake_numbers: bool = False,
    ) -> None:
        check_text("access_key_id", access_key_id)
        check_text("access_key_secret", access_key_secret)
        self.sign_name = check_text("sign_name", sign_name)
        self.endpoint = check_text("endpoint", endpoint)
        if protocol not in ("https", "http"):
            raise InvalidValueError("protocol", "must be 'https' or 'http'", protocol)
        self.protocol = protocol
        super().__init__(template=template, template_params=template_params,
                         secrets=(access_key_secret,), allow_fake_numbers=allow_fake_numbers,
                         timeout=timeout)
        self.access_key_id = access_key_id
        sdk = import_sdk("alibabacloud_dysmsapi20170525.client",
                         "alibabacloud-dysmsapi20170525", "aliyun", "AliyunSmsChannel")
        self._models = import_sdk("alibabacloud_dysmsapi20170525.models",
                                  "alibabacloud-dysmsapi20170525", "aliyun", "AliyunSmsChannel")
        openapi = import_sdk("alibabacloud_tea_openapi.models", "alibabacloud-tea-openapi",
                             "aliyun", "AliyunSmsChannel")
        millis = max(1, int(self.timeout * 1000))
        config = openapi.Config(access_key_id=access_key_id,
                                access_key_secret=access_key_secret, endpoint=endpoint,
                                protocol=protocol, read_timeout=millis, connect_timeout=millis)
        self._client: Any = sdk.Client(config)

    def _group_key(self, params: Mapping[str, str]) -> str:
        as_mapping(params, "template_params")  # a bad one fails its message, permanently
        return ""  # SendBatchSms takes parameters per number

    def _send_group(self, template: str, params: Sequence[Mapping[str, str]],
                    messages: Sequence[Message]) -> list[Receipt]:
        values = [dict(p) for p in params]
        phones = [m.recipient.phone or "" for m in messages]
        try:
            if len(messages) == 1:
                request = self._models.SendSmsRequest(
                    phone_numbers=phones[0], sign_name=self.sign_name, template_code=template,
                    template_param=json.dumps(values[0], ensure_ascii=False) if values[0]
                    else None,
                    out_id=messages[0].key[:255])
                body = self._client.send_sms(request).body
            else:
                request = self._models.SendBatchSmsRequest(
                    phone_number_json=json.dumps(phones),
                    sign_name_json=json.dumps([self.sign_name] * len(phones),
                                              ensure_ascii=False),
                    template_code=template,
                    template_param_json=json.dumps(values, ensure_ascii=False)
                    if any(values) else None)
                body = self._client.send_batch_sms(request).body
        except Exception as exc:
            failure = self._exception(exc)
            logger.warning("%s request for %d number(s) failed: %s", self.vendor,
                           len(messages), failure.reason)
            return [failure] * len(messages)
        code = str(body.code or "")
        if code == "OK":
            return [Accepted(str(body.biz_id) if body.biz_id else None)] * len(messages)
        failure = self.failed(f"{self.vendor} {code}: {body.message or ''} "
                              f"(request {body.request_id})", transient=aliyun_transient(code))
        logger.info("%s refused %d number(s): %s", self.vendor, len(messages), failure.reason)
        return [failure] * len(messages)

    def _exception(self, exc: Exception) -> Failed:
        """Map an SDK exception (HTTP 4xx/5xx answers, network trouble) to a receipt."""
        code = str(getattr(exc, "code", "") or "")
        status = getattr(exc, "status_code", None)
        text = str(getattr(exc, "message", "") or exc)
        if type(exc).__name__ == "ThrottlingException":
            transient = True
        elif isinstance(status, int):
            transient = status >= 500 or status == 429 or aliyun_transient(code)
        else:  # no answer: refused, reset, timed out, or an untrusted certificate
            transient = not certificate_problem(str(exc) + repr(exc.__dict__))
            code = code or "network error"
            if not transient:
                text = "TLS certificate not trusted"
        return self.failed(f"{self.vendor} {code}: {text}", transient=transient)

    def __repr__(self) -> str:
        return (f"AliyunSmsChannel(access_key_id={self.access_key_id!r}, "
                f"sign_name={self.sign_name!r}, endpoint={self.endpoint!r})")
