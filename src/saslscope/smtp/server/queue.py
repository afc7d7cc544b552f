"""What happens to an accepted message: headers added, Maildir delivery, the post-queue log.

Postfix splits this between smtpd (the ``Received:`` header), cleanup (missing ``Message-Id:``
and ``Date:``, the ``message-id=`` line), qmgr (``from=<>, size=, nrcpt=``, ``removed``) and
the local delivery agent (``Return-Path:``, ``Delivered-To:``, the ``to=<>, relay=local`` line).
Here it is one synchronous step at the end of DATA, logged under the same program names.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

from saslscope.smtp.server.maildir import Delivery, MaildirStore
from saslscope.smtp.server.postfix_log import PostfixLog, format_delay


@dataclass
class Transaction:
    """One message in progress: created at the first accepted RCPT, as Postfix's queue file."""

    queue_id: str
    mail_from: str
    recipients: list[str] = field(default_factory=list)
    #: time.monotonic() when the "queue file" was created, for delay=
    arrival: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class TlsSummary:
    """The TLS facts that go into the Received header and the log."""

    version: str
    cipher: str
    bits: int

    def describe(self) -> str:
        """``TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)``, as Postfix writes it."""
        return f"{self.version} with cipher {self.cipher} ({self.bits}/{self.bits} bits)"


@dataclass(frozen=True)
class ClientInfo:
    """Who sent the message, for the Received header."""

    helo: str
    name: str
    addr: str
    tls: TlsSummary | None
    authenticated: bool
    extended: bool = True

    @property
    def protocol(self) -> str:
        """``with`` keyword of RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA."""
        if not self.extended:
            return "SMTP"
        return "ESMTP" + ("S" if self.tls else "") + ("A" if self.authenticated else "")


def received_header(client: ClientInfo, *, hostname: str, queue_id: str, recipients: list[str], now: float) -> bytes:
    """A ``Received:`` field in Postfix's layout (smtpd_received_header)."""
    lines = [f"Received: from {client.helo or client.name} ({client.name} [{client.addr}])"]
    if client.tls:
        lines.append(f"\t(using {client.tls.describe()})")
        lines.append("\t(No client certificate requested)")
    lines.append(f"\tby {hostname} (saslscope) with {client.protocol} id {queue_id}")
    date = email.utils.formatdate(now, localtime=True)
    if len(recipients) == 1:
        lines.append(f"\tfor <{recipients[0]}>; {date}")
    else:
        lines[-1] += ";"
        lines.append(f"\t{date}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def add_missing_headers(content: bytes, *, hostname: str, queue_id: str, now: float) -> tuple[bytes, str]:
    """Add ``Message-Id:`` and ``Date:`` if absent, as cleanup does for local submissions.

    Returns the message and its Message-Id value (with angle brackets, as logged).
    """
    headers = BytesHeaderParser(policy=compat32).parsebytes(content)
    extra: list[str] = []
    message_id = headers.get("Message-ID")
    if message_id is None:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
        message_id = f"<{stamp}.{queue_id}@{hostname}>"
        extra.append(f"Message-Id: {message_id}")
    if headers.get("Date") is None:
        extra.append(f"Date: {email.utils.formatdate(now, localtime=True)}")
    message_id = " ".join(str(message_id).split())
    if not extra:
        return content, message_id
    head, separator, body = _split_header(content)
    return head + "".join(f"{line}\r\n" for line in extra).encode("ascii") + separator + body, message_id


def _split_header(content: bytes) -> tuple[bytes, bytes, bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = content.find(separator)
        if index >= 0:
            return content[: index + len(separator) // 2], separator[len(separator) // 2 :], content[index + len(separator) :]
    # Header only (no body): the separator comes after the last header line.
    if content and not content.endswith(b"\n"):
        content += b"\r\n"
    return content, b"\r\n", b""


@dataclass(frozen=True)
class QueueResult:
    """The outcome of :func:`queue_and_deliver`: what each recipient got, for the reply."""

    message_id: str
    deliveries: list[Delivery]
    failures: list[tuple[str, str]]


def queue_and_deliver(
    transaction: Transaction,
    content: bytes,
    *,
    client: ClientInfo,
    hostname: str,
    store: MaildirStore,
    log: PostfixLog,
) -> QueueResult:
    """Add trace headers, deliver one copy per recipient, and log what Postfix would log."""
    now = time.time()
    queued = received_header(client, hostname=hostname, queue_id=transaction.queue_id,
                             recipients=transaction.recipients, now=now) + content
    queued, message_id = add_missing_headers(queued, hostname=hostname, queue_id=transaction.queue_id, now=now)
    queue_id = transaction.queue_id
    log.write("cleanup", log.pid, f"{queue_id}: message-id={message_id}")
    size = len(queued.replace(b"\r\n", b"\n"))
    log.write("qmgr", log.pid, f"{queue_id}: from=<{transaction.mail_from}>, size={size}, "
                               f"nrcpt={len(transaction.recipients)} (queue active)")
    active = time.monotonic()
    deliveries: list[Delivery] = []
    failures: list[tuple[str, str]] = []
    for recipient in transaction.recipients:
        started = time.monotonic()
        envelope_headers = f"Return-Path: <{transaction.mail_from}>\r\nDelivered-To: {recipient}\r\n".encode("utf-8")
        try:
            delivery = store.deliver(recipient, envelope_headers + queued)
        except OSError as exc:
            failures.append((recipient, exc.strerror or str(exc)))
            dsn, status = "4.3.0", f"deferred (maildir delivery failed: {exc.strerror or exc})"
        else:
            deliveries.append(delivery)
            dsn, status = "2.0.0", "sent (delivered to maildir)"
        finished = time.monotonic()
        delays = "/".join(
            format_delay(part)
            for part in (active - transaction.arrival, started - active, 0.0, finished - started)
        )
        log.write("local", log.pid, f"{queue_id}: to=<{recipient}>, relay=local, "
                                    f"delay={format_delay(finished - transaction.arrival)}, delays={delays}, "
                                    f"dsn={dsn}, status={status}")
    log.write("qmgr", log.pid, f"{queue_id}: removed")
    return QueueResult(message_id, deliveries, failures)
