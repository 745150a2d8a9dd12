"""HttpSmsChannel against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from ecrm import InvalidTypeError, InvalidValueError
from ecrm.touch import (
    Accepted,
    ChannelKind,
    Failed,
    HttpSmsChannel,
    Message,
    MessageClass,
    Recipient,
)

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)


class Gateway(BaseHTTPRequestHandler):
    """Answers by path: /ok, /ok-nested, /ok-text, /500, /503, /400, /429, /slow."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                 "json": json.loads(body)})
        if self.path == "/slow":
            time.sleep(1.0)
        status, payload = {
            "/ok": (200, b'{"id": "msg-1"}'),
            "/ok-nested": (202, b'{"data": {"msg_id": 42}}'),
            "/ok-text": (200, b"queued"),
            "/500": (500, b'{"error": "internal"}'),
            "/503": (503, b"busy"),
            "/400": (400, b'{"error": "invalid mobile 13812345678"}'),
            "/429": (429, b"slow down"),
            "/slow": (200, b'{"id": "late"}'),
        }.get(self.path, (404, b"no"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
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
