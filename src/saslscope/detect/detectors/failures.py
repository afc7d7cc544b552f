"""Failed logins: brute force on one account from one address."""

from __future__ import annotations

from collections.abc import Sequence

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding, Kind, Severity
from saslscope.detect.signals import AuthFailed, Signal
from saslscope.detect.state import Answer, Op, Window, WindowCount, crossed


class BruteforceDetector:
    """``bruteforce``: one address, many failures on one account within a window.

    One finding per episode: it is reported when the window's count *crosses* the threshold
    (before this failure it was below, now it is not), with the failures that made it as
    evidence. Crossing needs no second state operation, and with a shared backend exactly one
    service sees the crossing.
    """

    def __init__(self, config: DetectConfig) -> None:
        self.settings = config.bruteforce
        self.allow = config.allow
        self.severity = Severity.parse(self.settings.severity)

    def plan(self, signal: Signal) -> Sequence[Op]:
        if not isinstance(signal, AuthFailed) or signal.username is None:
            return ()
        key = f"bf:{signal.ip}\0{signal.username}"
        return (Window(key, self.settings.window, member=signal.pwhash or "", keep=signal.evidence),)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        if not isinstance(signal, AuthFailed) or not answers:
            return ()
        (count,) = answers
        assert isinstance(count, WindowCount)
        if signal.pwhash:
            # Dovecot's auth policy says which password was tried: a phone repeating one stale
            # password is one failure, an attacker's list is many
            if not (count.fresh and count.distinct == self.settings.failures):
                return ()
            failures = count.distinct
        elif crossed(count, 1, self.settings.failures):
            failures = count.total
        else:
            return ()
        start = count.kept[0].time if count.kept else signal.time
        return (Finding(
            kind=Kind.BRUTEFORCE, severity=self.severity, username=signal.username, ip=signal.ip,
            start=start, end=signal.time,
            reason=(f"{failures} {'distinct wrong passwords' if signal.pwhash else 'failed logins'} from "
                    f"{signal.ip} on this account within {self.settings.window / 60:g} min"),
            metrics={"failures": failures, "window_seconds": self.settings.window},
            evidence=count.kept, evidence_total=count.kept_total,
        ),)
