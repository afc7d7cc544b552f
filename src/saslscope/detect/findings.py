"""The one vocabulary of what the detection engine reports, shared by every front.

``logs alerts`` (old logs), ``logs watch`` (live logs) and ``policy serve`` (live Postfix and
Dovecot requests) all speak in :class:`Finding` objects of the same :class:`Kind`, ranked by the
same :class:`Severity`, and fold them into the same per-account :class:`Verdict`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.IntEnum):
    """Ordered: ``Severity.HIGH > Severity.LOW``; the JSON and config spelling is the lower-case name."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"high"`` -> ``Severity.HIGH``; a ValueError names the accepted spellings."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use one of {', '.join(str(s) for s in cls)}") from None


class Kind(enum.StrEnum):
    """What a finding says happened. The value is the stable name in JSON, config and docs."""

    # failed logins
    BRUTEFORCE = "bruteforce"                          # one IP, many failures on one account
    PASSWORD_SPRAY = "password_spray"                  # one IP, many user names
    DISTRIBUTED_BRUTEFORCE = "distributed_bruteforce"  # one account, failures from many IPs
    GUESSED_PASSWORD = "guessed_password"              # failures, then a success, same account and network
    # successful logins
    MANY_IPS = "many_ips"                              # one account, many addresses/networks/countries in a window
    NEW_NETWORK = "new_network"                        # after the learning period, a network never used
    NEW_COUNTRY = "new_country"                        # likewise a country (GeoIP)
    IMPOSSIBLE_TRAVEL = "impossible_travel"            # two places too far apart for the time between (GeoIP)
    AUTH_ONLY_SESSIONS = "auth_only_sessions"          # successful AUTH that sent nothing: credential checking
    FINGERPRINT_CHANGE = "fingerprint_change"          # method spelling, HELO name, TLS cipher never seen for the account
    # what the logins did
    VOLUME_SPIKE = "volume_spike"                      # messages/recipients per hour far above the account's baseline
    RATE_LIMIT = "rate_limit"                          # a fixed quota (messages, recipients, IPs per window) exceeded
    BOUNCE_RATIO = "bounce_ratio"                      # share of bounced or deferred recipients
    SENDER_MISMATCH = "sender_mismatch"                # envelope sender's domain not the login's nor allowed for it
    # informational
    LOCAL_LOGIN = "local_login"                        # from the server itself: webmail, a form, local malware


class Verdict(enum.StrEnum):
    NORMAL = "normal"
    SUSPICIOUS = "suspicious"
    COMPROMISED = "compromised"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding's fact was seen.

    From a log: the ``source`` file (``-`` for stdin), its 1-based ``line`` number and the line's
    ``text`` (untrusted: render as data). From a policy request: ``source`` names the front
    (``postfix-policy``, ``dovecot-auth-policy``), ``line`` is None and ``text`` the request's
    attributes as ``name=value`` pairs.
    """

    source: str
    line: int | None
    text: str
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One judgement with the numbers and the lines behind it.

    ``evidence`` holds at most the configured number of lines (the most recent first seen by the
    detector); ``evidence_total`` counts all of them, so a reader can say "and N more".
    """

    kind: Kind
    severity: Severity
    reason: str
    start: datetime | None
    end: datetime | None
    username: str | None = None
    ip: str | None = None
    metrics: dict[str, int | float | str] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    evidence_total: int = 0
    # (key, seconds): one finding per episode. A detector whose condition holds for many
    # signals in a row (a spike, a ratio) reports each time; the engine keeps the first of each
    # episode with a ``Once`` on this key (a second round to the state, only when a finding was
    # made). Not part of the JSON.
    episode: tuple[str, float] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, object]:
        """The finding as JSON types: the one shape of ``--json``, JSON Lines and hooks."""
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "username": self.username,
            "ip": self.ip,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "reason": self.reason,
            "metrics": dict(self.metrics),
            "evidence": [
                {"source": e.source, "line": e.line, "text": e.text, "time": e.time.isoformat() if e.time else None}
                for e in self.evidence
            ],
            "evidence_total": self.evidence_total,
        }

    @property
    def subject(self) -> str:
        """The account the finding is about, else the address: what a verdict is keyed by."""
        return self.username if self.username is not None else (self.ip or "")
