"""SmtpEmailChannel against a real local aiosmtpd server (plain, STARTTLS, implicit TLS)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from touch_servers import dripping_server, elapsed, self_signed_cert, server_context

from ecrm import InvalidValueError
from ecrm.touch import (
    Accepted,
    ChannelError,
    ChannelKind,
    Failed,
    Message,
    MessageClass,
    Recipient,
    SmtpEmailChannel,
)

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)
SENDER = "care@xiaolin-tea.example"


class Handler:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("busy"):
            return "450 mailbox busy, try later"
        if address.startswith("nobody"):
            return f"550 no such user {address}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   auth_data: Any) -> Any:
    ok = (isinstance(auth_data, aiosmtpd_smtp.LoginPassword)
          and auth_data.login == b"shop" and auth_data.password == b"s3cret")
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command line."""
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return server_context(cert)


def _client_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def _start(handler: Handler, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        # aiosmtpd warns when AUTH is allowed without TLS; the plain test wants exactly that
        warnings.simplefilter("ignore")
        controller = aiosmtpd_controller.Controller(
            handler, hostname="127.0.0.1", port=_free_port(), **kwargs
        )
        controller.start()
    return controller


@pytest.fixture
def plain() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    controller = _start(handler, authenticator=_authenticator, auth_require_tls=False)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def starttls(cert: tuple[Path, Path]) -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    controller = _start(handler, tls_context=_server_context(cert), require_starttls=True,
                        authenticator=_authenticator, auth_require_tls=True)
    yield handler, controller.port
    controller.stop()


def _msg(to: str | None = "alice@example.com", channel: ChannelKind = ChannelKind.EMAIL
         ) -> Message:
    return Message("care:shipped:order-7", "shipped", MessageClass.CARE, channel,
                   Recipient("c7", phone="13800000007", email=to), "您的茶已发货。",
                   created_at=AT, subject="发货通知")


def test_plain_send_with_auth_delivers_the_mail(plain: tuple[Handler, int]) -> None:
    handler, port = plain
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain",
                          username="shop", password="s3cret", timeout=10,
                          allow_plaintext_login=True)
    receipt = ch.send(_msg())
    assert isinstance(receipt, Accepted)
    (env,) = handler.envelopes
    assert env.mail_from == SENDER
    assert env.rcpt_tos == ["alice@example.com"]
    mail = email.message_from_bytes(env.content, policy=email.policy.default)
    assert mail["Subject"] == "发货通知"
    assert mail["X-Idempotency-Key"] == "care:shipped:order-7"
    assert mail["Message-ID"] == receipt.provider_id
    assert mail.get_content().strip() == "您的茶已发货。"


def test_same_key_gives_the_same_message_id(plain: tuple[Handler, int]) -> None:
    _, port = plain
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain")
    assert ch.send(_msg()) == ch.send(_msg())


def test_4xx_is_transient_and_5xx_permanent(plain: tuple[Handler, int]) -> None:
    _, port = plain
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain")
    busy = ch.send(_msg("busy@example.com"))
    assert isinstance(busy, Failed)
    assert busy.transient
    assert "450" in busy.reason
    assert "b***@example.com" in busy.reason  # the address is masked in the reason
    gone = ch.send(_msg("nobody@example.com"))
    assert isinstance(gone, Failed)
    assert not gone.transient
    assert "550" in gone.reason
    assert "nobody@" not in gone.reason


def test_wrong_password_is_permanent_and_verify_raises(plain: tuple[Handler, int]) -> None:
    _, port = plain
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain",
                          username="shop", password="wrong", allow_plaintext_login=True)
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient
    assert "535" in r.reason
    with pytest.raises(ChannelError, match="unusable") as info:
        ch.verify()
    assert info.value.transient is False
    assert info.value.__cause__ is not None


def test_starttls_with_auth(starttls: tuple[Handler, int], cert: tuple[Path, Path]) -> None:
    handler, port = starttls
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="starttls",
                          username="shop", password="s3cret", ssl_context=_client_context(cert))
    ch.verify()
    assert isinstance(ch.send(_msg()), Accepted)
    assert len(handler.envelopes) == 1


def test_starttls_refuses_an_untrusted_certificate(starttls: tuple[Handler, int]) -> None:
    _, port = starttls
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="starttls")
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient
    assert "certificate" in r.reason


def test_plain_against_a_server_requiring_starttls_fails_permanently(
    starttls: tuple[Handler, int],
) -> None:
    _, port = starttls
    r = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain").send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient  # 530 must issue STARTTLS first


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    handler = Handler()
    controller = _start(handler, ssl_context=_server_context(cert))
    try:
        ch = SmtpEmailChannel("127.0.0.1", controller.port, sender=SENDER, security="tls",
                              ssl_context=_client_context(cert))
        assert isinstance(ch.send(_msg()), Accepted)
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def test_connection_refused_is_transient() -> None:
    ch = SmtpEmailChannel("127.0.0.1", _free_port(), sender=SENDER, security="plain", timeout=2)
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert r.transient
    with pytest.raises(ChannelError) as info:
        ch.verify()
    assert info.value.transient is True


def test_messages_it_cannot_send_fail_permanently() -> None:
    ch = SmtpEmailChannel("127.0.0.1", 25, sender=SENDER)
    assert ch.send(_msg(channel=ChannelKind.SMS)) == Failed(
        "SmtpEmailChannel cannot send SMS messages", transient=False)
    assert ch.send(_msg(to=None)) == Failed("recipient has no e-mail address", transient=False)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="security"):
        SmtpEmailChannel("h", 25, sender=SENDER, security="ssl")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="port"):
        SmtpEmailChannel("h", 0, sender=SENDER)
    with pytest.raises(InvalidValueError, match="together"):
        SmtpEmailChannel("h", 25, sender=SENDER, username="u")
    with pytest.raises(InvalidValueError, match="timeout"):
        SmtpEmailChannel("h", 25, sender=SENDER, timeout=0)


def test_login_without_tls_is_refused_unless_opted_in() -> None:
    with pytest.raises(InvalidValueError, match="allow_plaintext_login"):
        SmtpEmailChannel("127.0.0.1", 25, sender=SENDER, security="plain",
                         username="shop", password="s3cret")
    # no login, no password on the wire: plain stays allowed without the opt-in
    SmtpEmailChannel("127.0.0.1", 25, sender=SENDER, security="plain")


def test_starttls_that_the_server_does_not_offer_never_logs_in(
    plain: tuple[Handler, int],
) -> None:
    handler, port = plain
    ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="starttls",
                          username="shop", password="s3cret")
    r = ch.send(_msg())
    assert isinstance(r, Failed)
    assert not r.transient
    assert "STARTTLS" in r.reason
    assert handler.envelopes == []


@pytest.mark.parametrize(
    ("field", "message"),
    [("subject", attrs.evolve(_msg(), subject="发货\r\nBcc: victim@example.com")),
     ("key", attrs.evolve(_msg(), key="k1\nBcc: victim@example.com"))],
)
def test_header_injection_is_a_permanent_failure_and_sends_nothing(
    plain: tuple[Handler, int], field: str, message: Message
) -> None:
    handler, port = plain
    r = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain").send(message)
    assert isinstance(r, Failed)
    assert not r.transient
    assert field in r.reason
    assert "CR or LF" in r.reason
    assert "victim@example.com" not in r.reason
    assert handler.envelopes == []


def test_a_sender_with_a_line_break_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="sender"):
        SmtpEmailChannel("h", 25, sender="care@shop.example\r\nBcc: x@y.cn")


@pytest.mark.parametrize(
    ("first", "drip"),
    [(b"", b"220 slow.example ESMTP ready\r\n"),  # the greeting dripped
     (b"220-slow.example\r\n", b"220-still going\r\n" * 5)],  # a multi-line greeting
)
def test_the_timeout_bounds_the_whole_exchange_against_a_dripping_server(
    first: bytes, drip: bytes
) -> None:
    """One byte every 0.5 s never trips a 2 s socket timeout; the total deadline does."""
    with dripping_server(first, drip, interval_s=0.5, read_request=False) as port:
        ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="plain", timeout=2)
        started = time.monotonic()
        r = ch.send(_msg())
        took = elapsed(started)
        assert isinstance(r, Failed)
        assert r.transient
        assert "timed out after 2 s" in r.reason
        assert 1.9 <= took < 3.0
        if first:  # verify() shares the code path; once is enough
            return
        started = time.monotonic()
        with pytest.raises(ChannelError, match="timed out") as info:
            ch.verify()
        assert info.value.transient
        assert elapsed(started) < 3.0


def test_an_implicit_tls_handshake_that_stalls_is_cut_at_the_deadline() -> None:
    # the server accepts and says nothing: the client's TLS handshake waits on it
    with dripping_server(b"", b"\x16" * 20, interval_s=0.5, read_request=False) as port:
        ch = SmtpEmailChannel("127.0.0.1", port, sender=SENDER, security="tls", timeout=2)
        started = time.monotonic()
        r = ch.send(_msg())
        assert isinstance(r, Failed)
        assert r.transient
        assert elapsed(started) < 3.0


def test_reasons_are_masked_with_the_password(plain: tuple[Handler, int]) -> None:
    class Echo(Handler):
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                              rcpt_options: list[str]) -> str:
            return f"550 {address} unknown; call 13812345678; you logged in with s3cret"

    handler = Echo()
    controller = _start(handler, authenticator=_authenticator, auth_require_tls=False)
    try:
        ch = SmtpEmailChannel("127.0.0.1", controller.port, sender=SENDER, security="plain",
                              username="shop", password="s3cret",
                              allow_plaintext_login=True)
        r = ch.send(_msg())
    finally:
        controller.stop()
    assert isinstance(r, Failed)
    assert "550" in r.reason
    for leaked in ("alice@example.com", "13812345678", "s3cret"):
        assert leaked not in r.reason
    assert "138****5678" in r.reason
