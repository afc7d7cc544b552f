"""Per-account verdicts: ``compromised``, ``suspicious`` or ``normal``, with a score and the
findings behind it.

The score adds, for each kind found on the account, the points of its most severe finding
(info 0, low 1, medium 3, high 6, critical 10). Kinds that only show an attack (failed logins:
bruteforce, distributed_bruteforce) count half: being guessed at is not being compromised, but
it makes a later oddity on the same account weigh more. Thresholds are ``[verdicts]`` in the
config (defaults: suspicious at 3, compromised at 7; a critical finding on its own is
compromised). With the defaults one low finding (a new network, a new cipher) leaves an account
normal, one medium makes it suspicious, one high with anything else beside it (a spike from a
new network, logins from dozens of addresses that are all new) makes it compromised, and so
does a guessed password.

Findings about an address alone (a password spray, AUTH-only sessions Postfix logged without a
user name) are no account's verdict; they stay in the findings list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from saslscope.detect.config import Verdicts
from saslscope.detect.findings import Finding, Kind, Severity, Verdict

POINTS = {Severity.INFO: 0.0, Severity.LOW: 1.0, Severity.MEDIUM: 3.0, Severity.HIGH: 6.0, Severity.CRITICAL: 10.0}
ATTACK_ONLY = frozenset({Kind.BRUTEFORCE, Kind.DISTRIBUTED_BRUTEFORCE, Kind.PASSWORD_SPRAY})


@dataclass
class AccountVerdict:
    username: str
    verdict: Verdict
    score: float
    findings: list[Finding] = field(default_factory=list)   # most severe first, then oldest

    @property
    def kinds(self) -> list[str]:
        return sorted({str(f.kind) for f in self.findings})

    def to_dict(self, evidence: bool = False) -> dict[str, object]:
        """JSON shape of ``--json``'s ``accounts``: the findings by index into ``findings`` is
        left to the caller; here each is summarised by kind, severity and reason."""
        return {
            "username": self.username,
            "verdict": str(self.verdict),
            "score": self.score,
            "kinds": self.kinds,
            "findings": [{"kind": str(f.kind), "severity": str(f.severity), "reason": f.reason,
                          "ip": f.ip, "start": f.start.isoformat() if f.start else None} for f in self.findings],
        }


def score(findings: Iterable[Finding]) -> float:
    worst: dict[Kind, Severity] = {}
    for finding in findings:
        worst[finding.kind] = max(worst.get(finding.kind, Severity.INFO), finding.severity)
    return sum(POINTS[s] * (0.5 if kind in ATTACK_ONLY else 1.0) for kind, s in worst.items())


def verdict_of(findings: list[Finding], thresholds: Verdicts) -> tuple[Verdict, float]:
    points = score(findings)
    critical = any(f.severity is Severity.CRITICAL and f.kind not in ATTACK_ONLY for f in findings)
    if critical or points >= thresholds.compromised:
        return Verdict.COMPROMISED, points
    if points >= thresholds.suspicious:
        return Verdict.SUSPICIOUS, points
    return Verdict.NORMAL, points


def judge_accounts(findings: Iterable[Finding], thresholds: Verdicts) -> list[AccountVerdict]:
    """One verdict per account named by a finding: highest score first, then by name."""
    by_account: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.username is not None:
            by_account.setdefault(finding.username, []).append(finding)
    accounts = []
    for username, found in by_account.items():
        found.sort(key=lambda f: (-f.severity, f.start.timestamp() if f.start else 0.0))
        verdict, points = verdict_of(found, thresholds)
        accounts.append(AccountVerdict(username, verdict, points, found))
    accounts.sort(key=lambda a: (-a.score, a.username))
    return accounts
