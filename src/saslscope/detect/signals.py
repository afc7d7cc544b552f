"""What the detection engine is fed: the same few facts, whichever front saw them.

A log line, a Postfix policy request and a Dovecot auth-policy request all reduce to these
signals. A detector never knows which front fed it; a front that cannot see a fact (a policy
request has no bounce, a Postfix log has no password hash) simply never sends that signal or
leaves that field ``None``.

``time`` is the event's own time (from the log line, or the clock when the request arrived):
detectors read no clock, so a month of old log and a live minute run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from saslscope.detect.findings import Evidence


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """A failed authentication attempt (Postfix ``SASL ... authentication failed``, Dovecot
    ``Password mismatch``/``unknown user``, a Dovecot auth-policy report with success false)."""

    time: datetime
    ip: str
    username: str | None        # None when the log does not say (Postfix before 3.8.3)
    method: str | None
    service: str                # smtp, submission, imap, pop3...
    evidence: Evidence
    pwhash: str | None = None   # Dovecot auth policy: a short hash of the password tried


@dataclass(frozen=True, slots=True)
class AuthSucceeded:
    """A successful authentication: a ``client=`` line with ``sasl_username`` (one per message),
    a Dovecot login, a policy request carrying ``sasl_username``, or a successful auth report."""

    time: datetime
    ip: str
    username: str
    method: str | None
    service: str
    evidence: Evidence
    local: bool = False         # from the server itself (loopback, its own name or address)
    helo: str | None = None
    tls_cipher: str | None = None
    pwhash: str | None = None


@dataclass(frozen=True, slots=True)
class AuthOnlySession:
    """A session whose AUTH succeeded but that sent nothing (``auth=1`` and no message)."""

    time: datetime
    ip: str
    username: str | None        # Postfix does not log it; Dovecot's log or a policy request may
    evidence: Evidence
    local: bool = False


@dataclass(frozen=True, slots=True)
class MessageSubmitted:
    """An authenticated message accepted for delivery, counted once whatever its recipients."""

    time: datetime
    username: str
    ip: str
    sender: str | None          # envelope sender; "" is the null sender
    recipients: int
    evidence: Evidence
    queue_id: str | None = None
    local: bool = False
    # the line that names the sender when it is not the login's line (Postfix: qmgr's from=<>),
    # so that a sender_mismatch finding shows both who logged in and what sender they used
    sender_evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of one recipient of an authenticated message."""

    time: datetime
    username: str
    recipient: str
    status: str                 # sent, bounced, deferred, expired
    evidence: Evidence
    queue_id: str | None = None


Signal = AuthFailed | AuthSucceeded | AuthOnlySession | MessageSubmitted | DeliveryOutcome
