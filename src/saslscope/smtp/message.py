"""The test message ``login --to`` sends, built with the standard ``email`` package.

The ``email`` package costs tens of milliseconds to import: this module is imported only
when a message is to be sent, and then before connecting, so that the time does not show
up inside the session's timings.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class MessageSpec:
    """What to send. ``dsn_notify`` is a subset of SUCCESS/FAILURE/DELAY or ("NEVER",);
    ``dsn_ret`` is FULL or HDRS; ``dsn_envid`` an envelope identifier (RFC 3461)."""

    mail_from: str
    recipients: tuple[str, ...]
    subject: str = "saslscope test"
    body: str = "saslscope test message\n"
    dsn_notify: tuple[str, ...] = ()
    dsn_ret: str | None = None
    dsn_envid: str | None = None

    @property
    def needs_smtputf8(self) -> bool:
        """RFC 6531: non-ASCII in an address needs the SMTPUTF8 extension."""
        return not all(address.isascii() for address in (self.mail_from, *self.recipients))


def build_message(spec: MessageSpec, domain: str, *, eight_bit: bool = True) -> bytes:
    """The message as bytes with CRLF line ends, ready for :func:`codec.dot_stuff`.

    Body and subject are UTF-8; a non-ASCII body is sent as 8bit, so that it arrives
    byte-exact in the mailbox. That needs a server offering 8BITMIME (RFC 6152;
    :func:`body_type` says which ``BODY=`` to declare); for one that does not,
    ``eight_bit=False`` encodes the body quoted-printable instead.
    """
    message_policy = policy.SMTPUTF8 if spec.needs_smtputf8 else policy.SMTP
    message = EmailMessage(policy=message_policy)
    message["From"] = spec.mail_from
    message["To"] = ", ".join(spec.recipients)
    message["Subject"] = spec.subject
    message["Date"] = formatdate(localtime=True)
    # an address literal ("[192.0.2.1]", RFC 5321 §4.1.3) becomes a bare address
    message["Message-ID"] = make_msgid("saslscope", domain=domain.strip("[]").removeprefix("IPv6:"))
    message["X-Mailer"] = "saslscope"
    body = spec.body if spec.body.endswith("\n") else spec.body + "\n"
    cte = "7bit" if body.isascii() else "8bit" if eight_bit else "quoted-printable"
    message.set_content(body, subtype="plain", charset="utf-8", cte=cte)
    return message.as_bytes(policy=message_policy)


def body_type(message: bytes) -> str | None:
    """``8BITMIME`` when the message has non-ASCII bytes (RFC 6152 §3), else None."""
    return "8BITMIME" if not message.isascii() else None
