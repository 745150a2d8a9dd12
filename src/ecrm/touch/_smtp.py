"""An e-mail channel over SMTP (standard library ``smtplib``)."""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import smtplib
import ssl
from typing import Final, Literal

from ecrm._customers import mask_email
from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._errors import ChannelError
from ecrm.touch._message import ChannelKind, Message, mask_contacts

__all__ = ["SmtpEmailChannel"]

Security = Literal["tls", "starttls", "plain"]
_SECURITY: Final = ("tls", "starttls", "plain")


def _smtp_failure(exc: BaseException) -> Failed:
    """Map an smtplib / socket error to a receipt: 4xx and connection trouble are transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        detail = "; ".join(
            f"{mask_email(r)}: {c} "
            + mask_contacts(m.decode(errors="replace") if isinstance(m, bytes) else str(m))
            for r, (c, m) in exc.recipients.items()
        )
        return Failed(f"recipient refused: {detail}", transient=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        transient = 400 <= exc.smtp_code < 500
        return Failed(f"SMTP {exc.smtp_code} {mask_contacts(text)}", transient=transient)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failed(f"SMTP server does not support it: {exc}", transient=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failed(f"TLS certificate not trusted: {exc}", transient=False)
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        # disconnects, refused connections, timeouts, TLS handshakes cut short
        return Failed(f"SMTP connection problem: {type(exc).__name__}: {exc}", transient=True)
    return Failed(f"SMTP error: {type(exc).__name__}: {exc}", transient=True)


class SmtpEmailChannel:
    """Sends :attr:`~ecrm.touch.ChannelKind.EMAIL` messages through an SMTP server.

    One connection per message (simple and robust; SMTP servers are not the bottleneck
    of a shop's care mail). The idempotency key goes out as the ``Message-ID`` (derived
    from it) and an ``X-Idempotency-Key`` header, so a receiving system can dedupe.

    Args:
        host, port: the server.
        sender: the ``From`` address.
        security: ``"tls"`` (implicit TLS, usually port 465), ``"starttls"`` (usually
            587) or ``"plain"`` (no encryption: local relays and tests only).
        username, password: log in when both are given.
        timeout: seconds for connecting and each command.
        ssl_context: for ``tls`` / ``starttls``; default ``ssl.create_default_context()``.

    Failures map to receipts: SMTP 4xx replies and connection problems (refused,
    disconnected, timed out) are transient; 5xx replies, an untrusted certificate and
    a missing e-mail address are permanent.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in _SECURITY:
            raise InvalidValueError("security", f"must be one of {_SECURITY}", security)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise InvalidValueError("port", "must be an int in 1..65535", port)
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidValueError("timeout", "must be > 0 seconds", timeout)
        if (username is None) != (password is None):
            raise InvalidValueError("username", "and password must be given together",
                                    show_value=False)
        if not isinstance(sender, str) or "@" not in sender:
            raise InvalidTypeError(f"sender must be an e-mail address string, got {sender!r}")
        self.host = host
        self.port = port
        self.sender = sender
        self.security: Security = security
        self._username = username
        self._password = password
        self.timeout = float(timeout)
        self._ssl_context = ssl_context

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        server: smtplib.SMTP
        if self.security == "tls":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                      context=self._context())
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            server.ehlo()
            if self.security == "starttls":
                server.starttls(context=self._context())
                server.ehlo()
            if self._username is not None and self._password is not None:
                server.login(self._username, self._password)
        except BaseException:
            server.close()
            raise
        return server

    def verify(self) -> None:
        """Connect, negotiate TLS and log in, then disconnect.

        Raises:
            ChannelError: the server cannot be reached or refuses us (``transient`` set
                as for a send).
        """
        try:
            server = self._connect()
            try:
                server.noop()
            finally:
                server.quit()
        except (smtplib.SMTPException, OSError) as exc:
            failure = _smtp_failure(exc)
            raise ChannelError(
                f"SMTP server {self.host}:{self.port} unusable: {failure.reason}",
                transient=failure.transient,
            ) from exc

    def build(self, message: Message) -> email.message.EmailMessage:
        """The e-mail that :meth:`send` would send for ``message``."""
        mail = email.message.EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient.email or ""
        mail["Subject"] = message.subject or ""
        digest = hashlib.sha256(message.key.encode("utf-8")).hexdigest()[:32]
        domain = self.sender.rpartition("@")[2]
        mail["Message-ID"] = f"<{digest}@{domain}>"
        mail["X-Idempotency-Key"] = message.key
        mail["Date"] = email.utils.format_datetime(message.created_at)
        mail.set_content(message.body)
        return mail

    def send(self, message: Message) -> Receipt:
        if message.channel is not ChannelKind.EMAIL:
            return Failed(f"SmtpEmailChannel cannot send {message.channel.name} messages",
                          transient=False)
        if not message.recipient.email:
            return Failed("recipient has no e-mail address", transient=False)
        mail = self.build(message)
        try:
            server = self._connect()
            try:
                refused = server.send_message(mail)
            finally:
                try:
                    server.quit()
                except (smtplib.SMTPException, OSError):
                    server.close()
        except (smtplib.SMTPException, OSError) as exc:
            return _smtp_failure(exc)
        if refused:  # only possible with several recipients; we send to one
            return _smtp_failure(smtplib.SMTPRecipientsRefused(refused))
        return Accepted(str(mail["Message-ID"]))

    def __repr__(self) -> str:
        return (
            f"SmtpEmailChannel({self.host!r}, {self.port}, security={self.security!r}, "
            f"sender={self.sender!r})"
        )
