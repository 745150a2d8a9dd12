"""An e-mail channel over SMTP (standard library ``smtplib``)."""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import smtplib
import socket
import ssl
from collections.abc import Iterable
from typing import Any, Final, Literal

from ecrm._redact import redact
from ecrm.errors import ChannelError, InvalidTypeError, InvalidValueError
from ecrm.touch._channel import Accepted, Failed, Receipt
from ecrm.touch._deadline import Deadline
from ecrm.touch._message import ChannelKind, Message

__all__ = ["SmtpEmailChannel"]

Security = Literal["tls", "starttls", "plain"]
_SECURITY: Final = ("tls", "starttls", "plain")
_LINE_BREAKS: Final = ("\r", "\n")


def _text(raw: object) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _smtp_failure(exc: BaseException) -> Failed:
    """Map an smtplib / socket error to a receipt: 4xx and connection trouble are transient.

    The reason is raw here; :meth:`SmtpEmailChannel._failed` masks it.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        detail = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
        return Failed(f"recipient refused: {detail}", transient=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        transient = 400 <= exc.smtp_code < 500
        return Failed(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", transient=transient)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failed(f"SMTP server does not support it: {exc}", transient=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failed(f"TLS certificate not trusted: {exc.verify_message}", transient=False)
    if isinstance(exc, TimeoutError):
        return Failed(f"SMTP server timed out: {exc}", transient=True)
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        # disconnects, refused connections, TLS handshakes cut short
        return Failed(f"SMTP connection problem: {type(exc).__name__}: {exc}", transient=True)
    return Failed(f"SMTP error: {type(exc).__name__}: {exc}", transient=True)


def _line_break(field: str, value: str | None) -> InvalidValueError | None:
    if value is not None and any(c in value for c in _LINE_BREAKS):
        return InvalidValueError(field, "must not contain CR or LF (header injection)",
                                 redact(value))
    return None


class _WatchedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose socket a :class:`Deadline` cuts when the budget runs out."""

    deadline: Deadline

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(  # type: ignore[misc]
            host, port, self.deadline.remaining())
        try:
            self.deadline.watch(sock)
        except BaseException:
            sock.close()
            raise
        return sock


class _WatchedSMTPSSL(smtplib.SMTP_SSL, _WatchedSMTP):
    """Implicit TLS; the raw socket is watched before the handshake (MRO: SMTP_SSL wraps
    what :class:`_WatchedSMTP` opened)."""


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
        timeout: seconds for the whole exchange of one message (connect, greeting, TLS,
            login, the mail, ``QUIT``): a server that drips its replies is cut off when the
            time is up. Name resolution is not bounded by it.
        ssl_context: for ``tls`` / ``starttls``; default ``ssl.create_default_context()``.
        allow_plaintext_login: with ``security="plain"``, logging in sends the password in
            clear, so it is refused unless this is ``True`` (a relay on localhost).

    Failures map to receipts: SMTP 4xx replies and connection problems (refused,
    disconnected, timed out) are transient; 5xx replies, an untrusted certificate, a CR or
    LF in the subject or the key (header injection) and a missing e-mail address are
    permanent. Reasons are masked by :func:`ecrm._redact.redact` (addresses, phones, the
    password).

    Raises:
        InvalidValueError: a bad port, timeout or security; a login without TLS and
            without ``allow_plaintext_login``; a sender with a line break.
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
        allow_plaintext_login: bool = False,
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
        bad_sender = _line_break("sender", sender)
        if bad_sender is not None:
            raise bad_sender
        if security == "plain" and username is not None and not allow_plaintext_login:
            raise InvalidValueError(
                "security", "must be 'tls' or 'starttls' to log in (the password would go "
                "in clear); pass allow_plaintext_login=True for a trusted local relay",
                security)
        self.host = host
        self.port = port
        self.sender = sender
        self.security: Security = security
        self._username = username
        self._password = password
        self.timeout = float(timeout)
        self._ssl_context = ssl_context
        self.allow_plaintext_login = bool(allow_plaintext_login)
        self._secrets: Iterable[str] = (password,) if password else ()

    def _redact(self, text: str) -> str:
        return redact(text, secrets=self._secrets)

    def _failed(self, exc: BaseException, deadline: Deadline) -> Failed:
        if deadline.expired and not isinstance(exc, smtplib.SMTPResponseException):
            failure = Failed(f"SMTP exchange timed out after {self.timeout:g} s "
                             f"({type(exc).__name__})", transient=True)
        else:
            failure = _smtp_failure(exc)
        return Failed(self._redact(failure.reason), transient=failure.transient)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self, deadline: Deadline) -> smtplib.SMTP:
        server: _WatchedSMTP
        # no host in the constructor: connect() below, once the deadline is attached
        if self.security == "tls":
            server = _WatchedSMTPSSL(timeout=self.timeout, context=self._context())
        else:
            server = _WatchedSMTP(timeout=self.timeout)
        server.deadline = deadline
        try:
            # smtplib checks the certificate against _host, which only the constructor sets
            server._host = self.host  # type: ignore[attr-defined]
            server.connect(self.host, self.port)
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
        with Deadline(self.timeout) as deadline:
            try:
                server = self._connect(deadline)
                try:
                    server.noop()
                finally:
                    _close(server)
            except (smtplib.SMTPException, OSError) as exc:
                failure = self._failed(exc, deadline)
                raise ChannelError(
                    f"SMTP server {self.host}:{self.port} unusable: {failure.reason}",
                    transient=failure.transient,
                ) from exc

    def build(self, message: Message) -> email.message.EmailMessage:
        """The e-mail that :meth:`send` would send for ``message``.

        Raises:
            InvalidValueError: the subject, the key or the address holds a CR or LF (a
                header injection), or no e-mail address.
        """
        for field, value in (("subject", message.subject), ("key", message.key),
                             ("recipient.email", message.recipient.email)):
            problem = _line_break(field, value)
            if problem is not None:
                raise problem
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
        try:
            mail = self.build(message)
        except (InvalidValueError, ValueError) as exc:  # bad data will not get better
            return Failed(self._redact(f"cannot build the e-mail: {exc}"), transient=False)
        with Deadline(self.timeout) as deadline:
            try:
                server = self._connect(deadline)
                try:
                    refused = server.send_message(mail)
                finally:
                    _close(server)
            except (smtplib.SMTPException, OSError) as exc:
                return self._failed(exc, deadline)
        if refused:  # only possible with several recipients; we send to one
            return self._failed(smtplib.SMTPRecipientsRefused(refused), deadline)
        return Accepted(str(mail["Message-ID"]))

    def __repr__(self) -> str:
        return (
            f"SmtpEmailChannel({self.host!r}, {self.port}, security={self.security!r}, "
            f"sender={self.sender!r})"
        )


def _close(server: Any) -> None:
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
