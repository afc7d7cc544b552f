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


def missing_headers(content: bytes, *, hostname: str, queue_id: str, now: float) -> tuple[bytes, str]:
    """The ``Message-Id:`` and ``Date:`` fields to add if absent, as cleanup does for local
    submissions (LF line ends), and the Message-Id value (with angle brackets, as logged).

    Only the header section is parsed, never the body (a 10 MB message is not decoded).
    """
    head = content[: _header_end(content)]
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    extra: list[str] = []
    message_id = headers.get("Message-ID")
    if message_id is None:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
        message_id = f"<{stamp}.{queue_id}@{hostname}>"
        extra.append(f"Message-Id: {message_id}")
    if headers.get("Date") is None:
        extra.append(f"Date: {email.utils.formatdate(now, localtime=True)}")
    message_id = " ".join(str(message_id).split())
    return "".join(f"{line}\n" for line in extra).encode("ascii"), message_id


def _header_end(content: bytes) -> int:
    """Where the header section of an LF-terminated message ends (before its blank line);
    the whole message if it has no body."""
    if content.startswith(b"\n"):
        return 0
    index = content.find(b"\n\n")
    return index + 1 if index >= 0 else len(content)


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
    queue_id = transaction.queue_id
    # One LF copy of the message, shared by every recipient's file (written in parts).
    body = content.replace(b"\r\n", b"\n")
    if body and not body.endswith(b"\n"):
        body += b"\n"
    received = received_header(client, hostname=hostname, queue_id=queue_id,
                               recipients=transaction.recipients, now=now).replace(b"\r\n", b"\n")
    extra, message_id = missing_headers(body, hostname=hostname, queue_id=queue_id, now=now)
    split = _header_end(body)
    view = memoryview(body)
    head, rest = view[:split], view[split:]
    if split == len(body):  # header only: cleanup adds the empty line that ends it
        rest = memoryview(b"\n")
    log.write("cleanup", log.pid, f"{queue_id}: message-id={message_id}")
    size = len(received) + len(head) + len(extra) + len(rest)
    log.write("qmgr", log.pid, f"{queue_id}: from=<{transaction.mail_from}>, size={size}, "
                               f"nrcpt={len(transaction.recipients)} (queue active)")
    active = time.monotonic()
    deliveries: list[Delivery] = []
    failures: list[tuple[str, str]] = []
    for recipient in transaction.recipients:
        started = time.monotonic()
        envelope_headers = f"Return-Path: <{transaction.mail_from}>\nDelivered-To: {recipient}\n".encode()
        try:
            delivery = store.deliver(recipient, envelope_headers, received, head, extra, rest)
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
