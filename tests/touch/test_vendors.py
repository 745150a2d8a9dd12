"""AliyunSmsChannel and TencentSmsChannel through the vendors' own SDKs, against a local
HTTP server on 127.0.0.1 that answers as the vendors' API documents show."""

from __future__ import annotations

import datetime as dt
import json
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from touch_servers import self_signed_cert, server_context

from ecrm import InvalidValueError, MissingDependencyError
from ecrm.touch import (
    Accepted,
    AliyunSmsChannel,
    ChannelKind,
    Failed,
    Message,
    MessageClass,
    Recipient,
    TencentSmsChannel,
)

pytest.importorskip("alibabacloud_dysmsapi20170525")
pytest.importorskip("tencentcloud.sms.v20210111")

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)
ALI_SECRET = "ali-SeCrEt-9f8e7d"
TC_SECRET = "tc-SeCrEt-1a2b3c"

Script = Callable[[dict[str, Any]], tuple[int, Any]]


class FakeVendor:
    """Records each request (path, query, headers, JSON or form body) and answers with
    ``script(request) -> (status, json)``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: Script = lambda request: (404, {"Code": "NotFound"})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parsed = urllib.parse.urlsplit(self.path)
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = dict(urllib.parse.parse_qsl(raw.decode()))
                query = dict(urllib.parse.parse_qsl(parsed.query))
                request = {"path": parsed.path,
                           # Aliyun's RPC fields: in the query or a form body
                           "fields": {**query, **(body if isinstance(body, dict) else {})},
                           "query": query,
                           "headers": dict(self.headers), "body": body, "raw": raw}
                fake.requests.append(request)
                status, answer = fake.script(request)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")  # exactly, as the SDK checks
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment must not intercept the local test server."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def vendor_server() -> Iterator[FakeVendor]:
    fake = FakeVendor()
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()
    thread.join()


@pytest.fixture
def vendor(vendor_server: FakeVendor) -> FakeVendor:
    vendor_server.requests.clear()
    vendor_server.script = lambda request: (404, {"Code": "NotFound"})
    return vendor_server


def _msg(phone: str = "13812345678", key: str = "care:shipped:o1", **meta: str) -> Message:
    return Message(key, "shipped", MessageClass.CARE, ChannelKind.SMS,
                   Recipient("c1", phone=phone), "【小林茶铺】您的茶已发货", created_at=AT,
                   metadata=meta)


def _aliyun(vendor: FakeVendor, **kwargs: Any) -> AliyunSmsChannel:
    return AliyunSmsChannel("LTAI-test-id", ALI_SECRET, sign_name="小林茶铺",
                            template="SMS_154950909", endpoint=vendor.endpoint,
                            protocol="http", timeout=5, **kwargs)


def _tencent(vendor: FakeVendor, **kwargs: Any) -> TencentSmsChannel:
    return TencentSmsChannel("AKID-test-id", TC_SECRET, sdk_app_id="1400006666",
                             sign_name="小林茶铺", template="1110", endpoint=vendor.endpoint,
                             protocol="http", timeout=5, **kwargs)


def _free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


# ---------------------------------------------------------------- Aliyun


def _aliyun_answer(code: str, message: str = "", biz_id: str | None = None) -> Script:
    answer = {"Code": code, "Message": message or code, "RequestId": "F655A8D5-B967-440B"}
    if biz_id:
        answer["BizId"] = biz_id
    return lambda request: (200, answer)


def test_aliyun_sendsms_request_and_an_ok_answer(vendor: FakeVendor) -> None:
    vendor.script = _aliyun_answer("OK", "OK", "900619746936498440^0")
    ch = _aliyun(vendor)
    receipt = ch.send(_msg(**{"param.name": "小林", "param.order": "o1"}))
    assert receipt == Accepted("900619746936498440^0")
    (req,) = vendor.requests
    q = req["fields"]
    assert req["headers"]["x-acs-action"] == "SendSms"
    assert req["headers"]["x-acs-version"] == "2017-05-25"
    assert q["PhoneNumbers"] == "13812345678"
    assert q["SignName"] == "小林茶铺"
    assert q["TemplateCode"] == "SMS_154950909"
    assert json.loads(q["TemplateParam"]) == {"name": "小林", "order": "o1"}
    assert q["OutId"] == "care:shipped:o1"
    assert req["headers"]["Authorization"].startswith(
        "ACS3-HMAC-SHA256 Credential=LTAI-test-id,")
    assert ALI_SECRET not in json.dumps(req, default=str)  # signed with, never sent


# the expectations come from Aliyun's 国内消息API错误码 list: flow control and balance can
# clear up later; a bad number, signature or template will not
@pytest.mark.parametrize(
    ("code", "transient"),
    [("isv.BUSINESS_LIMIT_CONTROL", True),
     ("isv.DAY_LIMIT_CONTROL", True),
     ("isv.AMOUNT_NOT_ENOUGH", True),
     ("isv.OUT_OF_SERVICE", True),
     ("isp.SYSTEM_ERROR", True),
     ("isv.MOBILE_NUMBER_ILLEGAL", False),
     ("isv.SMS_SIGNATURE_ILLEGAL", False),
     ("isv.SMS_TEMPLATE_ILLEGAL", False),
     ("isv.TEMPLATE_MISSING_PARAMETERS", False),
     ("isv.BLACK_KEY_CONTROL_LIMIT", False),
     ("isp.RAM_PERMISSION_DENY", False),
     ("isv.SOMETHING_NEW", False)],
)
def test_aliyun_codes_map_to_receipts(vendor: FakeVendor, code: str, transient: bool) -> None:
    vendor.script = _aliyun_answer(code, "号码 13812345678 说明")
    receipt = _aliyun(vendor).send(_msg())
    assert isinstance(receipt, Failed)
    assert receipt.transient is transient
    assert code in receipt.reason
    assert "13812345678" not in receipt.reason


@pytest.mark.parametrize(("status", "code", "transient"),
                         [(400, "InvalidAccessKeyId.NotFound", False),
                          (400, "SignatureDoesNotMatch", False),
                          (500, "InternalError", True),
                          (503, "ServiceUnavailable", True)])
def test_aliyun_http_errors(vendor: FakeVendor, status: int, code: str, transient: bool) -> None:
    vendor.script = lambda request: (status, {"Code": code, "Message": f"key {ALI_SECRET}",
                                              "RequestId": "R"})
    receipt = _aliyun(vendor).send(_msg())
    assert isinstance(receipt, Failed)
    assert receipt.transient is transient
    assert code in receipt.reason
    assert ALI_SECRET not in receipt.reason


def test_aliyun_batch_is_one_sendbatchsms_per_template(vendor: FakeVendor) -> None:
    vendor.script = _aliyun_answer("OK", "OK", "BATCH-1")
    ch = _aliyun(vendor)
    messages = [_msg("13812345678", "k1", **{"param.name": "甲"}),
                _msg("13912345678", "k2", **{"param.name": "乙"}),
                _msg("15400000001", "k3"),  # the sample data's fake range: never sent
                _msg("13712345678", "k4", template="SMS_2")]
    results = ch.send_many(messages)
    assert [m.key for m, _ in results] == ["k1", "k2", "k3", "k4"]
    assert [r for _, r in results] == [
        Accepted("BATCH-1"), Accepted("BATCH-1"),
        Failed("number is in the reserved fake range of the sample data", transient=False),
        Accepted("BATCH-1")]
    batch, single = vendor.requests
    assert batch["headers"]["x-acs-action"] == "SendBatchSms"
    assert json.loads(batch["fields"]["PhoneNumberJson"]) == ["13812345678", "13912345678"]
    assert json.loads(batch["fields"]["SignNameJson"]) == ["小林茶铺", "小林茶铺"]
    assert json.loads(batch["fields"]["TemplateParamJson"]) == [{"name": "甲"}, {"name": "乙"}]
    assert single["headers"]["x-acs-action"] == "SendSms"
    assert single["fields"]["TemplateCode"] == "SMS_2"


def test_aliyun_batch_refusal_is_each_numbers_receipt(vendor: FakeVendor) -> None:
    vendor.script = _aliyun_answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控")
    results = _aliyun(vendor).send_many([_msg("13812345678", "k1"), _msg("13912345678", "k2")])
    assert all(isinstance(r, Failed) and r.transient for _, r in results)
    assert len(vendor.requests) == 1


def test_aliyun_unreachable_is_transient() -> None:
    ch = AliyunSmsChannel("id", ALI_SECRET, sign_name="s", template="SMS_1",
                          endpoint=_free_endpoint(), protocol="http", timeout=2)
    receipt = ch.send(_msg())
    assert isinstance(receipt, Failed)
    assert receipt.transient
    assert "13812345678" not in receipt.reason
    assert ALI_SECRET not in receipt.reason


def test_aliyun_repr_and_configuration(vendor: FakeVendor) -> None:
    ch = _aliyun(vendor)
    assert ALI_SECRET not in repr(ch)
    assert "LTAI-test-id" in repr(ch)
    with pytest.raises(InvalidValueError, match="access_key_secret") as info:
        AliyunSmsChannel("id", "", sign_name="s", template="SMS_1")
    assert info.value is not None
    with pytest.raises(InvalidValueError, match="protocol"):
        AliyunSmsChannel("id", "k", sign_name="s", template="SMS_1", protocol="ftp")


# ---------------------------------------------------------------- Tencent


def _statuses(*codes: tuple[str, str]) -> Script:
    """A SendSms answer with one SendStatus per (number, code), as in Tencent's examples."""
    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        sent = dict(codes)
        return 200, {"Response": {"SendStatusSet": [
            {"SerialNo": f"5000:{i}" if sent[n] == "Ok" else "", "PhoneNumber": n,
             "Fee": 1 if sent[n] == "Ok" else 0, "SessionContext": "",
             "Code": sent[n], "Message": "send success" if sent[n] == "Ok" else f"{n} failed",
             "IsoCode": "CN"}
            for i, n in enumerate(request["body"]["PhoneNumberSet"])],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}
    return answer


def test_tencent_one_result_per_number_from_sendstatusset(vendor: FakeVendor) -> None:
    vendor.script = _statuses(("+8613812345678", "Ok"),
                              ("+8613912345678", "InvalidParameterValue.IncorrectPhoneNumber"),
                              ("+8613712345678", "LimitExceeded.PhoneNumberDailyLimit"))
    ch = _tencent(vendor)
    params = {"param.1": "小林", "param.2": "o1"}
    results = ch.send_many([_msg("13812345678", "k1", **params),
                            _msg("13912345678", "k2", **params),
                            _msg("13712345678", "k3", **params)])
    ok, bad, limited = (r for _, r in results)
    assert ok == Accepted("5000:0")
    assert isinstance(bad, Failed)
    assert not bad.transient
    assert "IncorrectPhoneNumber" in bad.reason
    assert "13912345678" not in bad.reason
    assert isinstance(limited, Failed)
    assert limited.transient
    (req,) = vendor.requests  # one request for the three numbers
    assert req["headers"]["X-TC-Action"] == "SendSms"
    assert req["headers"]["X-TC-Version"] == "2021-01-11"
    assert req["body"] == {"PhoneNumberSet": ["+8613812345678", "+8613912345678",
                                              "+8613712345678"],
                           "SmsSdkAppId": "1400006666", "SignName": "小林茶铺",
                           "TemplateId": "1110", "TemplateParamSet": ["小林", "o1"]}
    assert TC_SECRET not in json.dumps(req, default=str)


def test_tencent_groups_by_template_parameters(vendor: FakeVendor) -> None:
    vendor.script = _statuses(("+8613812345678", "Ok"), ("+8613912345678", "Ok"))
    results = _tencent(vendor).send_many([_msg("13812345678", "k1", **{"param.1": "甲"}),
                                          _msg("13912345678", "k2", **{"param.1": "乙"})])
    assert all(isinstance(r, Accepted) for _, r in results)
    assert [r["body"]["TemplateParamSet"] for r in vendor.requests] == [["甲"], ["乙"]]
    assert vendor.requests[0]["body"]["SessionContext"] == "k1"


# expectations from Tencent's 短信 API 3.0 发送错误码 list
@pytest.mark.parametrize(
    ("code", "transient"),
    [("FailedOperation.InsufficientBalanceInSmsPackage", True),
     ("LimitExceeded.DeliveryFrequencyLimit", True),
     ("RequestLimitExceeded", True),
     ("InternalError.Timeout", True),
     ("LimitExceeded.PhoneNumberCountLimit", False),
     ("FailedOperation.SignatureIncorrectOrUnapproved", False),
     ("FailedOperation.TemplateIncorrectOrUnapproved", False),
     ("FailedOperation.PhoneNumberInBlacklist", False),
     ("InternalError.SigVerificationFail", False),
     ("AuthFailure.SignatureFailure", False),
     ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", False),
     ("FailedOperation.SomethingNew", False)],
)
def test_tencent_request_errors_map_to_receipts(vendor: FakeVendor, code: str,
                                                transient: bool) -> None:
    vendor.script = lambda request: (200, {"Response": {
        "Error": {"Code": code, "Message": f"for +8613812345678 with {TC_SECRET}"},
        "RequestId": "r-2"}})
    results = _tencent(vendor).send_many([_msg("13812345678", "k1"), _msg("13912345678", "k2")])
    for _, receipt in results:
        assert isinstance(receipt, Failed)
        assert receipt.transient is transient
        assert code in receipt.reason
        assert "13812345678" not in receipt.reason
        assert TC_SECRET not in receipt.reason


def test_tencent_server_error_and_unreachable_are_transient(vendor: FakeVendor) -> None:
    vendor.script = lambda request: (502, {"oops": True})
    receipt = _tencent(vendor).send(_msg())
    assert isinstance(receipt, Failed)
    assert receipt.transient
    ch = TencentSmsChannel("id", TC_SECRET, sdk_app_id="1", sign_name="s", template="1",
                           endpoint=_free_endpoint(), protocol="http", timeout=2)
    receipt = ch.send(_msg())
    assert isinstance(receipt, Failed)
    assert receipt.transient
    assert "13812345678" not in receipt.reason


def test_tencent_missing_status_is_not_resent(vendor: FakeVendor) -> None:
    vendor.script = lambda request: (200, {"Response": {"SendStatusSet": [],
                                                        "RequestId": "r"}})
    receipt = _tencent(vendor).send(_msg())
    assert isinstance(receipt, Failed)
    assert not receipt.transient


def test_tencent_repr_and_configuration(vendor: FakeVendor) -> None:
    assert TC_SECRET not in repr(_tencent(vendor))
    with pytest.raises(InvalidValueError, match="sdk_app_id"):
        TencentSmsChannel("id", "k", sdk_app_id="", sign_name="s", template="1")


@pytest.mark.parametrize(
    ("modules", "build", "extra"),
    [(["alibabacloud_dysmsapi20170525", "alibabacloud_dysmsapi20170525.client"],
      lambda: AliyunSmsChannel("id", "k", sign_name="s", template="SMS_1"), "aliyun"),
     (["tencentcloud.sms.v20210111", "tencentcloud.sms.v20210111.sms_client",
       "tencentcloud.common.credential"],
      lambda: TencentSmsChannel("id", "k", sdk_app_id="1", sign_name="s", template="1"),
      "tencent")],
)
def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, modules: list[str],
                                       build: Callable[[], object], extra: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import of it raises ImportError
    with pytest.raises(MissingDependencyError, match=rf"ecrm\[{extra}\]"):
        build()


def test_bad_template_params_fail_that_message_permanently(vendor: FakeVendor) -> None:
    vendor.script = _aliyun_answer("OK", "OK", "B1")
    ali = _aliyun(vendor, template_params=lambda m: {"n": 1})
    receipt = ali.send(_msg())
    assert isinstance(receipt, Failed)
    assert not receipt.transient
    assert "template_params" in receipt.reason
    tc = _tencent(vendor, template_params=lambda m: "not a list")
    receipt = tc.send(_msg())
    assert isinstance(receipt, Failed)
    assert not receipt.transient
    assert vendor.requests == []


@pytest.fixture(scope="module")
def https_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fake vendor behind TLS with a self-signed certificate no SDK trusts."""
    fake = FakeVendor()
    cert = self_signed_cert(tmp_path_factory.mktemp("vendor-tls"))
    fake.httpd.socket = server_context(cert).wrap_socket(fake.httpd.socket, server_side=True)
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    yield fake.endpoint
    fake.httpd.shutdown()
    fake.httpd.server_close()
    thread.join()


def test_an_untrusted_certificate_is_permanent_for_both_vendors(https_vendor: str) -> None:
    ali = AliyunSmsChannel("id", ALI_SECRET, sign_name="s", template="SMS_1",
                           endpoint=https_vendor, timeout=5)
    tc = TencentSmsChannel("id", TC_SECRET, sdk_app_id="1", sign_name="s", template="1",
                           endpoint=https_vendor, timeout=5)
    for channel in (ali, tc):
        receipt = channel.send(_msg())
        assert isinstance(receipt, Failed)
        assert not receipt.transient, receipt.reason
        assert "certificate" in receipt.reason


def test_a_number_goes_at_most_once_per_request(vendor: FakeVendor) -> None:
    vendor.script = _statuses(("+8613812345678", "Ok"), ("+8613912345678", "Ok"))
    results = _tencent(vendor).send_many([_msg("13812345678", "k1"),
                                          _msg("13812345678", "k2"),
                                          _msg("13912345678", "k3")])
    assert all(isinstance(r, Accepted) for _, r in results)
    assert [r["body"]["PhoneNumberSet"] for r in vendor.requests] == [
        ["+8613812345678", "+8613912345678"], ["+8613812345678"]]
