"""SmtpEmailChannel against a real local aiosmtpd server (plain, STARTTLS, implicit TLS)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return crt, key


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


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
                          username="shop", password="s3cret", timeout=10)
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
                          username="shop", password="wrong")
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
