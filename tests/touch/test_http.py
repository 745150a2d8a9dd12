"""HttpSmsChannel against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from touch_servers import dripping_server, elapsed, self_signed_cert, server_context

from ecrm import InvalidTypeError, InvalidValueError
from ecrm.touch import (
    Accepted,
    ChannelKind,
    Failed,
    HttpSmsChannel,
    Message,
    MessageClass,
    Recipient,
    json_body_error,
)

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)


class Gateway(BaseHTTPRequestHandler):
    """Answers by path: /ok, /ok-nested, /ok-text, /500, /503, /400, /429, /slow, /302,
    /aliyun-*, /tencent-error, /huge, /huge-chunked, /echo-auth."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:  # only a followed redirect would arrive here
        Gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                 "json": None})
        self._answer(200, b'{"id": "followed"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                 "json": json.loads(body)})
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/302":
            self.send_response(302)
            self.send_header("Location", "/elsewhere?token=t0ps3cret")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/huge":  # 300 MB announced; we stop at the header
            self._answer(200, b"x" * 1000, length=300_000_000)
            return
        if self.path == "/huge-chunked":  # no length: the client must stop reading itself
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"4000\r\n" + b"y" * 0x4000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if self.path.startswith("/echo-auth"):  # a gateway that quotes the request in its error
            auth = self.headers.get("Authorization", "")
            self._answer(400, json.dumps({"error": f"bad request with {auth} for "
                                          f"{json.loads(body)['to']}"}).encode())
            return
        status, payload = {
            "/aliyun-ok": (200, b'{"Code": "OK", "Message": "OK", "BizId": "9001^0", '
                                b'"RequestId": "F655A8D5"}'),
            "/aliyun-limit": (200, b'{"Code": "isv.BUSINESS_LIMIT_CONTROL", '
                                   b'"Message": "flow control", "RequestId": "A1"}'),
            "/aliyun-bad-number": (200, b'{"Code": "isv.MOBILE_NUMBER_ILLEGAL", '
                                        b'"Message": "13812345678 invalid", "RequestId": "A2"}'),
            "/tencent-error": (200, b'{"Response": {"Error": {"Code": '
                                    b'"FailedOperation.TemplateIncorrectOrUnapproved", '
                                    b'"Message": "template"}, "RequestId": "T1"}}'),
            "/ok": (200, b'{"id": "msg-1"}'),
            "/ok-nested": (202, b'{"data": {"msg_id": 42}}'),
            "/ok-text": (200, b"queued"),
            "/500": (500, b'{"error": "internal"}'),
            "/503": (503, b"busy"),
            "/400": (400, b'{"error": "invalid mobile 13812345678"}'),
            "/429": (429, b"slow down"),
            "/slow": (200, b'{"id": "late"}'),
        }.get(self.path, (404, b"no"))
        self._answer(status, payload)

    def _answer(self, status: int, payload: bytes, length: int | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload) if length is None else length))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment must not intercept the local test server."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _msg(channel: ChannelKind = ChannelKind.SMS, phone: str | None = "13812345678") -> Message:
    return Message("care:shipped:order-9", "shipped", MessageClass.CARE, channel,
                   Recipient("c9", phone=phone, email="a@b.cn"), "【小林茶铺】已发货",
                   created_at=AT)


def test_2xx_is_accepted_with_the_provider_id_and_the_idempotency_key_is_sent(
    server: str,
) -> None:
    Gateway.received.clear()
    ch = HttpSmsChannel(server + "/ok", auth_header=("Authorization", "Bearer s3cret"))
    assert ch.send(_msg()) == Accepted("msg-1")
    (req,) = Gateway.received
    assert req["headers"]["Idempotency-Key"] == "care:shipped:order-9"
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    assert req["json"] == {"to": "13812345678", "text": "【小林茶铺】已发货",
                           "key": "care:shipped:order-9"}


def test_body_template_and_nested_provider_id(server: str) -> None:
    Gateway.received.clear()
    ch = HttpSmsChannel(server + "/ok-nested", provider_id_field="data.msg_id",
                        body={"mobile": "{phone}", "content": "{text}", "out_id": "{key}"},
                        idempotency_header="X-Request-Id")
    assert ch.send(_msg()) == Accepted("42")
    (req,) = Gateway.received
    assert req["json"] == {"mobile": "13812345678", "content": "【小林茶铺】已发货",
                           "out_id": "care:shipped:order-9"}
    assert req["headers"]["X-Request-Id"] == "care:shipped:order-9"


def test_body_callable_and_non_json_answer(server: str) -> None:
    ch = HttpSmsChannel(server + "/ok-text", body=lambda m: {"n": m.recipient.phone})
    assert ch.send(_msg()) == Accepted(None)


def test_fake_sample_numbers_never_reach_the_gateway(server: str) -> None:
    Gateway.received.clear()
    fake = _msg(phone="15400000001")
    assert HttpSmsChannel(server + "/ok").send(fake) == Failed(
        "number is in the reserved fake range of the sample data", transient=False)
    assert Gateway.received == []
    assert HttpSmsChannel(server + "/ok", allow_fake_numbers=True).send(fake) == Accepted("msg-1")


def test_explicit_proxies_are_used(server: str) -> None:
    # everything goes through the "proxy", which is our server answering 404 for the
    # absolute URL it is asked for: the request did go through it
    Gateway.received.clear()
    ch = HttpSmsChannel("http://sms.invalid/ok", proxies={"http": server}, timeout=5)
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert "HTTP 404" in r.reason
    assert Gateway.received[0]["path"] == "http://sms.invalid/ok"


@pytest.mark.parametrize(("path", "transient"),
                         [("/500", True), ("/503", True), ("/429", True), ("/400", False),
                          ("/nope", False)])
def test_error_statuses(server: str, path: str, transient: bool) -> None:
    r = HttpSmsChannel(server + path).send(_msg())
    assert isinstance(r, Failed)
    assert r.transient is transient
    assert f"HTTP {int(path[1:]) if path[1:].isdigit() else 404}" in r.reason


def test_400_reason_includes_the_gateway_text(server: str) -> None:
    r = HttpSmsChannel(server + "/400").send(_msg())
    assert isinstance(r, Failed)
    assert "invalid mobile 138****5678" in r.reason  # the echoed number is masked


def test_timeout_is_transient(server: str) -> None:
    started = time.monotonic()
    r = HttpSmsChannel(server + "/slow", timeout=0.2).send(_msg())
    assert isinstance(r, Failed)
    assert r.transient
    assert "timed out" in r.reason
    assert time.monotonic() - started < 0.9


def test_connection_refused_is_transient() -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = HttpSmsChannel(f"http://127.0.0.1:{port}/x", timeout=2).send(_msg())
    assert isinstance(r, Failed)
    assert r.transient


def test_messages_it_cannot_send_fail_permanently(server: str) -> None:
    ch = HttpSmsChannel(server + "/ok")
    assert ch.send(_msg(ChannelKind.EMAIL)) == Failed(
        "HttpSmsChannel cannot send EMAIL messages", transient=False)
    assert ch.send(_msg(phone=None)) == Failed("recipient has no phone number", transient=False)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="http"):
        HttpSmsChannel("ftp://gateway/x")
    with pytest.raises(InvalidValueError, match="timeout"):
        HttpSmsChannel("http://gateway/x", timeout=0)
    with pytest.raises(InvalidValueError, match="may only use"):
        HttpSmsChannel("http://gateway/x", body={"to": "{mobile}"})
    with pytest.raises(InvalidTypeError):
        HttpSmsChannel("http://gateway/x", body={"to": 1})  # type: ignore[dict-item]


def test_a_redirect_is_a_permanent_failure_naming_the_location_and_is_not_followed(
    server: str,
) -> None:
    Gateway.received.clear()
    ch = HttpSmsChannel(server + "/302", auth_header=("Authorization", "Bearer s3cret"))
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient
    assert "HTTP 302" in r.reason
    assert "/elsewhere?token=***" in r.reason  # named, with its credential masked
    assert "t0ps3cret" not in r.reason
    # one request only: the message and the Authorization header went nowhere else
    assert [req["path"] for req in Gateway.received] == ["/302"]


@pytest.mark.parametrize(
    ("path", "transient", "code"),
    [("/aliyun-limit", True, "isv.BUSINESS_LIMIT_CONTROL"),
     ("/aliyun-bad-number", False, "isv.MOBILE_NUMBER_ILLEGAL"),
     ("/tencent-error", False, "FailedOperation.TemplateIncorrectOrUnapproved")],
)
def test_a_200_whose_json_reports_an_error_is_a_failure(
    server: str, path: str, transient: bool, code: str
) -> None:
    r = HttpSmsChannel(server + path).send(_msg())
    assert isinstance(r, Failed)
    assert r.transient is transient
    assert code in r.reason
    assert "13812345678" not in r.reason


def test_a_200_with_a_success_code_is_accepted(server: str) -> None:
    ch = HttpSmsChannel(server + "/aliyun-ok", provider_id_field="BizId")
    assert ch.send(_msg()) == Accepted("9001^0")


def test_the_success_predicate_is_the_callers(server: str) -> None:
    trusting = HttpSmsChannel(server + "/aliyun-limit", body_error=lambda answer: None)
    assert trusting.send(_msg()) == Accepted(None)

    def strict(answer: Any) -> Failed | None:
        if isinstance(answer, dict) and answer.get("id") == "msg-1":
            return Failed("id msg-1 means queued for review at 13912345678", transient=True)
        return None

    r = HttpSmsChannel(server + "/ok", body_error=strict).send(_msg())
    assert r == Failed("id msg-1 means queued for review at 139****5678", transient=True)


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
def test_an_oversized_answer_is_a_permanent_failure_without_reading_it(
    server: str, path: str
) -> None:
    r = HttpSmsChannel(server + path, max_response_bytes=10_000).send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient
    assert "max_response_bytes=10000" in r.reason


def test_secrets_are_masked_in_repr_and_in_stored_errors(server: str) -> None:
    ch = HttpSmsChannel(server + "/echo-auth?apikey=k3y-in-url&sender=shop",
                        auth_header=("Authorization", "Bearer s3cret-t0ken"),
                        headers={"X-Api-Key": "h3ader-key"})
    assert "k3y-in-url" not in repr(ch)
    assert "apikey=***" in repr(ch)
    assert "sender=shop" in repr(ch)
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert "HTTP 400" in r.reason
    for secret in ("s3cret-t0ken", "k3y-in-url", "13812345678"):
        assert secret not in r.reason
    assert "138****5678" in r.reason


@pytest.mark.parametrize(
    ("first", "drip"),
    [(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),  # status line dripped
     (b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", b'{"id": "' + b"x" * 30 + b'"}')],
)
def test_the_timeout_bounds_the_whole_exchange_against_a_dripping_server(
    first: bytes, drip: bytes
) -> None:
    """One byte every 0.5 s never trips a per-read timeout of 2 s; the total deadline does."""
    with dripping_server(first, drip, interval_s=0.5) as port:
        started = time.monotonic()
        r = HttpSmsChannel(f"http://127.0.0.1:{port}/send", timeout=2).send(_msg())
        took = elapsed(started)
    assert isinstance(r, Failed)
    assert r.transient
    assert "timed out after 2 s" in r.reason
    assert 1.9 <= took < 3.0


def test_an_untrusted_certificate_is_permanent(tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    httpd.socket = server_context(cert).wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/ok"
        r = HttpSmsChannel(url, timeout=5).send(_msg())
        assert isinstance(r, Failed)
        assert not r.transient
        assert "certificate" in r.reason
        trusting = HttpSmsChannel(
            url, timeout=5, ssl_context=ssl.create_default_context(cafile=str(cert[0])))
        assert trusting.send(_msg()) == Accepted("msg-1")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [(None, None),  # not JSON: the status decides
     (["queued"], None),
     ({"id": "m1"}, None),
     ({"code": 0, "id": "m1"}, None),
     ({"code": "000000"}, None),
     ({"Code": "OK", "BizId": "1"}, None),
     ({"Response": {"SendStatusSet": [], "RequestId": "r"}}, None),
     ({"success": True}, None),
     ({"error": None}, None),
     ({"code": 1}, False),
     ({"Code": "isv.SMS_TEMPLATE_ILLEGAL"}, False),
     ({"Code": "isv.BUSINESS_LIMIT_CONTROL"}, True),
     ({"Response": {"Error": {"Code": "LimitExceeded.PhoneNumberDailyLimit"}}}, True),
     ({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}}, False),
     ({"success": False, "msg": "bad template"}, False),
     ({"ok": False}, False),
     ({"status": "FAILED"}, False),
     ({"error": "rate limit exceeded"}, True),
     ({"errors": [{"detail": "server busy"}]}, True)],
)
def test_json_body_error_verdicts(answer: Any, verdict: bool | None) -> None:
    """None: accepted; True / False: a failure, transient or not (worked out by hand
    from the documented rules)."""
    failure = json_body_error(answer)
    if verdict is None:
        assert failure is None
    else:
        assert isinstance(failure, Failed)
        assert failure.transient is verdict


def test_an_https_handshake_that_stalls_is_cut_at_the_deadline() -> None:
    # the server accepts and never answers the TLS ClientHello
    with dripping_server(b"", b"\x16" * 20, interval_s=0.5, read_request=False) as port:
        started = time.monotonic()
        r = HttpSmsChannel(f"https://127.0.0.1:{port}/send", timeout=2).send(_msg())
        took = elapsed(started)
    assert isinstance(r, Failed)
    assert r.transient
    assert "timed out after 2 s" in r.reason
    assert took < 3.0
