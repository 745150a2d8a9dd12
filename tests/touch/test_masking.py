"""One masking path: whatever a gateway or mail server says, no phone, e-mail address or
channel secret reaches a receipt, a log record or an exception text.

Hypothesis embeds random mainland mobiles (in the forms people write them), e-mail
addresses and the channel's own secret in real server answers on 127.0.0.1 (HTTP
gateway, SMTP server, Aliyun and Tencent Cloud through their SDKs), then looks for them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import string
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm._redact import redact
from ecrm.touch import (
    AliyunSmsChannel,
    ChannelError,
    ChannelKind,
    Failed,
    HttpSmsChannel,
    Message,
    MessageClass,
    MockChannel,
    Recipient,
    SmtpEmailChannel,
    TencentSmsChannel,
    safe_send,
)

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------- what may leak


_FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def _phone_forms(national: str) -> list[str]:
    a, b, c = national[:3], national[3:7], national[7:]
    wide = national.translate(_FULL_WIDTH)
    return [national, f"+86{national}", f"86{national}", f"0086{national}",
            f"+86 {national}", f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86-{a}-{b}-{c}",
            f"{a}.{b}.{c}", f"(+86){national}", wide, f"＋８６{wide}"]


nationals = st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"),
                      st.text("0123456789", min_size=9, max_size=9))
phones = nationals.flatmap(lambda n: st.tuples(st.just(n), st.sampled_from(_phone_forms(n))))
_LOCAL = string.ascii_lowercase + string.digits
emails = st.builds(
    lambda first, rest, domain, tld: f"{first}{rest}@{domain}.{tld}",
    st.sampled_from(_LOCAL), st.text(_LOCAL + "._+-", max_size=12),
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10),
    st.sampled_from(["com", "cn", "com.cn", "net", "org"]))
secrets = st.text(string.ascii_letters + string.digits, min_size=8, max_size=24).map(
    lambda s: "sk" + s)
separators = st.sampled_from([" ", ": ", ", ", "(", ")", "<", ">", "'", "=", "/", " to ",
                              "号码", "邮箱", "，"])


@st.composite
def leaky_texts(draw: st.DrawFn, *, ascii_only: bool = False) -> tuple[str, dict[str, str]]:
    """A server's free text with a phone, an e-mail and (maybe) the secret somewhere in it;
    returns the text and the pieces that must not come back."""
    national, phone = draw(phones)
    mail = draw(emails)
    pieces = [phone, mail]
    if draw(st.booleans()):
        pieces.append("{secret}")  # filled in with the channel's secret by the test
    order = draw(st.permutations(pieces))
    seps = [draw(separators) for _ in range(len(order) + 1)]
    if ascii_only:
        seps = [s if s.isascii() else " " for s in seps]
    text = seps[0] + "".join(p + s for p, s in zip(order, seps[1:], strict=True))
    return "invalid" + text, {"national": national, "phone": phone, "email": mail}


def assert_clean(texts: list[str], leaks: dict[str, str], secret: str) -> None:
    leaks = {**leaks, "national (full width)": leaks["national"].translate(_FULL_WIDTH)}
    for text in texts:
        for what, value in [*leaks.items(), ("secret", secret)]:
            assert value not in text, f"{what} {value!r} leaked into {text!r}"


def _texts(receipts: list[Any], caplog: pytest.LogCaptureFixture) -> list[str]:
    out = [r.reason for r in receipts if isinstance(r, Failed)]
    out += [record.getMessage() for record in caplog.records]
    return out


@given(leaky_texts(), secrets)
def test_redact_masks_every_form(sample: tuple[str, dict[str, str]], secret: str) -> None:
    text, leaks = sample
    assert_clean([redact(text.replace("{secret}", secret), secrets=[secret])], leaks, secret)


# --------------------------------------------------------------- HTTP gateway


class Scripted(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, dict[str, str], bytes]] = (200, {}, b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body = Scripted.answer
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG, logger="ecrm")
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _sms(phone: str = "13800000001") -> Message:
    return Message("care:shipped:o1", "shipped", MessageClass.CARE, ChannelKind.SMS,
                   Recipient("c1", phone=phone), "【小林茶铺】已发货", created_at=AT)


@SETTINGS
@given(sample=leaky_texts(ascii_only=True), secret=secrets,
       shape=st.sampled_from(["400", "500", "json-error", "redirect"]))
def test_http_gateway_answers_never_leak(gateway: str, caplog: pytest.LogCaptureFixture,
                                         sample: tuple[str, dict[str, str]], secret: str,
                                         shape: str) -> None:
    caplog.clear()
    text, leaks = sample
    text = text.replace("{secret}", secret)
    Scripted.answer = {
        "400": (400, {}, json.dumps({"error": text}).encode()),
        "500": (500, {}, text.encode()),
        "json-error": (200, {}, json.dumps({"code": "E42", "message": text},
                                           ensure_ascii=False).encode()),
        "redirect": (302, {"Location": "/moved?" + text.replace(" ", "+")}, b""),
    }[shape]
    ch = HttpSmsChannel(f"http://{gateway}/send?apikey={secret}",
                        auth_header=("Authorization", f"Bearer {secret}"), timeout=5)
    receipt = safe_send(ch, _sms())
    assert isinstance(receipt, Failed)
    assert_clean([*_texts([receipt], caplog), repr(ch)], leaks, secret)


# --------------------------------------------------------------- SMTP server


class LineSmtp:
    """A minimal SMTP server on a real socket (AUTH PLAIN accepted) whose chosen reply
    carries the leaky text: at the greeting, or to RCPT TO."""

    def __init__(self) -> None:
        self.stage = "greeting"
        self.text = ""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        stage, text = self.stage, self.text
        with conn, conn.makefile("rb") as lines:
            try:
                if stage == "greeting":
                    conn.sendall(f"554 {text}\r\n".encode())
                    return
                conn.sendall(b"220 fake ESMTP\r\n")
                for raw in lines:
                    verb = raw.decode(errors="replace").strip().split(" ")[0].upper()
                    if verb in ("EHLO", "HELO"):
                        conn.sendall(b"250-fake\r\n250 AUTH PLAIN\r\n")
                    elif verb == "AUTH":
                        conn.sendall(b"235 2.7.0 accepted\r\n")
                    elif verb == "RCPT":
                        conn.sendall(f"550 {text}\r\n".encode())
                    elif verb == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"250 OK\r\n")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[LineSmtp]:
    server = LineSmtp()
    yield server
    server.close()


@SETTINGS
@given(sample=leaky_texts(ascii_only=True), secret=secrets,
       stage=st.sampled_from(["greeting", "rcpt"]))
def test_smtp_replies_never_leak(smtp_server: LineSmtp, caplog: pytest.LogCaptureFixture,
                                 sample: tuple[str, dict[str, str]], secret: str,
                                 stage: str) -> None:
    caplog.clear()
    text, leaks = sample
    smtp_server.stage, smtp_server.text = stage, text.replace("{secret}", secret)
    ch = SmtpEmailChannel("127.0.0.1", smtp_server.port, sender="care@shop.example",
                          security="plain", username="shop", password=secret,
                          allow_plaintext_login=True, timeout=5)
    mail = Message("care:k1", "shipped", MessageClass.CARE, ChannelKind.EMAIL,
                   Recipient("c1", email="alice@example.com"), "已发货", created_at=AT,
                   subject="发货")
    receipt = safe_send(ch, mail)
    assert isinstance(receipt, Failed)
    texts = _texts([receipt], caplog)
    if stage == "greeting":
        with pytest.raises(ChannelError) as info:
            ch.verify()
        texts.append(str(info.value))
    assert_clean([*texts, repr(ch)], {**leaks, "recipient": "alice@example.com"}, secret)


# --------------------------------------------------------------- cloud gateways


class VendorScript(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, Any]] = (200, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = VendorScript.answer
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def cloud() -> Iterator[str]:
    pytest.importorskip("alibabacloud_dysmsapi20170525")
    pytest.importorskip("tencentcloud.sms.v20210111")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), VendorScript)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@SETTINGS
@given(sample=leaky_texts(), secret=secrets, status=st.sampled_from([200, 400, 503]),
       code=st.sampled_from(["isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL",
                             "isv.AMOUNT_NOT_ENOUGH"]))
def test_aliyun_answers_never_leak(cloud: str, caplog: pytest.LogCaptureFixture,
                                   sample: tuple[str, dict[str, str]], secret: str,
                                   status: int, code: str) -> None:
    caplog.clear()
    text, leaks = sample
    VendorScript.answer = (status, {"Code": code, "Message": text.replace("{secret}", secret),
                                    "RequestId": "R1"})
    ch = AliyunSmsChannel("LTAI-id", secret, sign_name="小林茶铺", template="SMS_1",
                          endpoint=cloud, protocol="http", timeout=5)
    messages = [_sms(leaks["national"]), _sms("13900000002")]
    receipts = [r for _, r in ch.send_many(messages)]
    assert all(isinstance(r, Failed) for r in receipts)
    assert_clean([*_texts(receipts, caplog), repr(ch)], leaks, secret)


@SETTINGS
@given(sample=leaky_texts(), secret=secrets, where=st.sampled_from(["error", "status"]))
def test_tencent_answers_never_leak(cloud: str, caplog: pytest.LogCaptureFixture,
                                    sample: tuple[str, dict[str, str]], secret: str,
                                    where: str) -> None:
    caplog.clear()
    text, leaks = sample
    text = text.replace("{secret}", secret)
    if where == "error":
        body: Any = {"Error": {"Code": "FailedOperation.PhoneNumberInBlacklist",
                               "Message": text}, "RequestId": "r"}
    else:
        body = {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": f"+86{leaks['national']}",
                                   "Fee": 0, "SessionContext": "", "IsoCode": "CN",
                                   "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                   "Message": text}], "RequestId": "r"}
    VendorScript.answer = (200, {"Response": body})
    ch = TencentSmsChannel("AKID-id", secret, sdk_app_id="1400006666", sign_name="小林茶铺",
                           template="1110", endpoint=cloud, protocol="http", timeout=5)
    receipt = safe_send(ch, _sms(leaks["national"]))
    assert isinstance(receipt, Failed)
    assert_clean([*_texts([receipt], caplog), repr(ch)], leaks, secret)


# --------------------------------------------------------------- adapters that raise


@given(sample=leaky_texts(), kind=st.sampled_from([RuntimeError, ValueError, OSError]))
def test_an_adapters_exception_text_is_masked_in_the_receipt(
    sample: tuple[str, dict[str, str]], kind: type[Exception]
) -> None:
    text, leaks = sample
    text = text.replace("{secret}", "")

    def explode(message: Message) -> Failed:
        raise kind(f"provider said: {text}")

    receipt = safe_send(MockChannel(explode), _sms())
    assert isinstance(receipt, Failed)
    assert receipt.reason.startswith(f"adapter raised {kind.__name__}: provider said: ")
    assert_clean([receipt.reason], leaks, "no secret here")


def test_the_issue_example_is_masked() -> None:
    def explode(message: Message) -> Failed:
        raise RuntimeError("provider said: bad number 13812345678 / alice@example.com")

    assert safe_send(MockChannel(explode), _sms()) == Failed(
        "adapter raised RuntimeError: provider said: bad number 138****5678 / a***@example.com",
        transient=True)


def test_order_ids_and_plain_numbers_are_left_alone() -> None:
    # hand-worked: 21 digits and an 8-digit count are not phones; a 12-digit run neither
    text = "order 202412011380013800099, 12345678 items, id 113812345678"
    assert redact(text) == text
