"""The test message ``login --to`` sends, built with the standard ``email`` package.

The ``email`` package costs tens of milliseconds to import, so it is imported here only,
and this module only when a message is actually sent.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def build_message(spec: MessageSpec, helo_domain: str) -> bytes:
    """The message as bytes with CRLF line ends, ready for :func:`codec.dot_stuff`.

    Body and subject are UTF-8; the body is sent as 8bit when it is not ASCII, so that it
    arrives byte-exact in the mailbox (the server must offer 8BITMIME for that, RFC 6152;
    :func:`body_type` says which ``BODY=`` to declare).
    """
    from email import policy
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message_policy = policy.SMTPUTF8 if spec.needs_smtputf8 else policy.SMTP
    message = EmailMessage(policy=message_policy)
    message["From"] = spec.mail_from
    message["To"] = ", ".join(spec.recipients)
    message["Subject"] = spec.subject
    message["Date"] = formatdate(localtime=True)
    domain = helo_domain.strip("[]") if helo_domain.startswith("[") else helo_domain
    message["Message-ID"] = make_msgid("saslscope", domain=domain)
    message["X-Mailer"] = "saslscope"
    body = spec.body if spec.body.endswith("\n") else spec.body + "\n"
    cte = "7bit" if body.isascii() else "8bit"
    message.set_content(body, subtype="plain", charset="utf-8", cte=cte)
    return message.as_bytes(policy=message_policy)


def body_type(message: bytes) -> str | None:
    """``8BITMIME`` when the message has non-ASCII bytes (RFC 6152 §3), else None."""
    return "8BITMIME" if not message.isascii() else None
