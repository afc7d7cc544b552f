"""Typed events produced by :mod:`saslscope.maillog.parse`, one per relevant log line.

Every event carries where it came from (``time``, ``host``, ``program``, ``pid``). Client
designations are split into ``client_name``/``client_ip`` (Postfix's ``name[addr]``, with the
optional ``:port`` of ``smtpd_client_port_logging``). Field values are ``str`` decoded from
the log's bytes with ``errors="replace"``: a log is evidence, never rejected for its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Event:
    time: datetime | None
    host: str
    program: str
    pid: int


@dataclass(slots=True)
class Connect(Event):
    client_name: str
    client_ip: str


@dataclass(slots=True)
class Disconnect(Event):
    client_name: str
    client_ip: str
    # "ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5" -> {"auth": (0, 1), ...} (ok, total)
    counters: dict[str, tuple[int, int]]


@dataclass(slots=True)
class Abort(Event):
    """``lost connection|timeout|too many errors after CMD from client`` (3.10+: ``QID:`` prefix)."""

    reason: str
    after: str
    client_name: str
    client_ip: str


@dataclass(slots=True)
class TlsEstablished(Event):
    trust: str          # Anonymous | Untrusted | Trusted | Verified
    protocol: str       # TLSv1.3
    cipher: str
    client_name: str
    client_ip: str


@dataclass(slots=True)
class AuthFailure(Event):
    """``warning: client: SASL <method> authentication failed: <reason>[, sasl_username=<u>]``."""

    client_name: str
    client_ip: str
    method: str
    reason: str
    username: str | None     # None before Postfix 3.8.3 / "(unavailable)"


@dataclass(slots=True)
class ClientLine(Event):
    """``QID: client=name[addr][, sasl_method=..][, sasl_username=..][, sasl_sender=..]...``."""

    queue_id: str
    client_name: str
    client_ip: str
    sasl_method: str | None = None
    sasl_username: str | None = None
    sasl_sender: str | None = None
    orig_queue_id: str | None = None
    orig_client: str | None = None
    oddity: str | None = None        # why this line is unusual but still evidence (a malformed queue id)


@dataclass(slots=True)
class Reject(Event):
    """smtpd ``NOQUEUE|QID: reject|warn|hold|discard|...: STAGE from client: reply; from=<> to=<>``."""

    queue_id: str | None
    action: str
    stage: str
    client_name: str
    client_ip: str
    reply: str
    fields: dict[str, str]   # from, to, proto, helo and (3.10+) sasl_method/sasl_username/sasl_sender


@dataclass(slots=True)
class SessionNote(Event):
    """Any other recognised smtpd line (warnings, pipelining...): kept for the session trace."""


@dataclass(slots=True)
class MessageId(Event):
    queue_id: str
    message_id: str
    resent: bool = False


@dataclass(slots=True)
class QueueFrom(Event):
    """qmgr ``QID: from=<s>, size=N, nrcpt=N (queue active)``."""

    queue_id: str
    sender: str
    size: int | None
    nrcpt: int | None


@dataclass(slots=True)
class Removed(Event):
    queue_id: str


@dataclass(slots=True)
class Expired(Event):
    """qmgr ``QID: from=<s>, status=expired, returned to sender``."""

    queue_id: str
    sender: str


@dataclass(slots=True)
class Delivery(Event):
    """A delivery agent's ``QID: to=<r>, relay=.., delay=.., dsn=.., status=.. (detail)``."""

    queue_id: str
    to: str
    status: str
    dsn: str | None
    relay: str | None
    detail: str
    fields: dict[str, str] = field(default_factory=dict)   # orig_to, delay, delays, conn_use, tls...


@dataclass(slots=True)
class Notification(Event):
    """bounce ``QID: sender non-delivery notification: NEWQID`` (also delay/success notices)."""

    queue_id: str
    kind: str
    new_queue_id: str


@dataclass(slots=True)
class Pickup(Event):
    """pickup ``QID: uid=N from=<s>``: a local sendmail submission (no SASL)."""

    queue_id: str
    uid: int
    sender: str


@dataclass(slots=True)
class QueueNote(Event):
    """Any other line about a queue file (cleanup milter/header actions, opendkim, postsuper...)."""

    queue_id: str
    milter_session: str | None = None


@dataclass(slots=True)
class DovecotLogin(Event):
    """Dovecot ``imap-login: Login: user=<u>, method=M, rip=IP`` (2.4: ``Logged in:``) or a failed login."""

    service: str
    ok: bool
    username: str | None
    method: str | None
    client_ip: str | None
    reason: str


@dataclass(slots=True)
class DovecotAuthFailure(Event):
    """Dovecot ``auth: Info: passdb(user,ip): Password mismatch`` / ``unknown user``."""

    mechanism: str
    username: str
    client_ip: str | None
    reason: str


@dataclass(slots=True)
class Repeated(Event):
    """rsyslog's ``message repeated N times: [ <message>]`` (``$RepeatedMsgReduction on``, as in
    Ubuntu's rsyslog.conf): the same message ``times`` more times after the one logged."""

    event: Event
    times: int
