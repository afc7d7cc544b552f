"""Failed logins: ``bruteforce``, ``password_spray``, ``distributed_bruteforce`` and
``guessed_password``.

When a front sees a hash of the password tried (Dovecot's auth policy), repeats of one wrong
password count once: a phone with a stale password fails the same way every few minutes, an
attacker tries a list. Without a hash (a log) every failure counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from saslscope.detect.detectors.common import Context, make, minutes, single
from saslscope.detect.findings import Finding, Kind
from saslscope.detect.signals import AuthFailed, AuthSucceeded, Signal
from saslscope.detect.state import KEEP_EVIDENCE, Answer, Baseline, Op, Window, WindowCount, crossed


def _failure(signal: Signal, context: Context) -> AuthFailed | None:
    if isinstance(signal, AuthFailed) and not context.allow.ignores(signal.username, signal.ip):
        return signal
    return None


def _tries(count: WindowCount, signal: AuthFailed) -> int:
    """Failures in the window: distinct passwords when hashed, else every attempt."""
    return count.distinct if signal.pwhash else count.total


class BruteforceDetector:
    """``bruteforce``: one address, many failures on one account within a window.

    Without password hashes one finding per episode comes from the count *crossing* the
    threshold (no second state operation; with a shared backend exactly one service sees it).
    With hashes a repeated password does not move the distinct count, so the episode is kept
    by :attr:`Finding.episode` instead.
    """

    signals = (AuthFailed,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.bruteforce

    def plan(self, signal: Signal) -> Sequence[Op]:
        failure = _failure(signal, self.context)
        if failure is None or failure.username is None:
            return ()
        key = f"bf:{failure.ip}\0{failure.username}"
        return (Window(key, self.settings.window, member=failure.pwhash or "", keep=failure.evidence,
                       kept_at=self.settings.failures, baseline=Baseline(failure.username, "failures", failure.ip)),)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        count = single(answers)
        if not isinstance(signal, AuthFailed) or count is None:
            return ()
        tries = _tries(count, signal)
        if signal.pwhash:
            if tries < self.settings.failures:
                return ()
            episode: tuple[str, float] | None = (f"bf:{signal.ip}\0{signal.username}", self.settings.window)
        elif crossed(count, 1, self.settings.failures):
            episode = None
        else:
            return ()
        what = "distinct wrong passwords" if signal.pwhash else "failed logins"
        return (make(Kind.BRUTEFORCE, self.settings.severity, signal.time,
                     f"{tries} {what} from {signal.ip} on this account within {minutes(self.settings.window)}",
                     metrics={"failures": tries, "attempts": count.total, "window_seconds": self.settings.window},
                     username=signal.username, ip=signal.ip, count=count, episode=episode),)


class _SpreadDetector:
    """Failures spread over many distinct values: one address over user names
    (``password_spray``), one account over addresses (``distributed_bruteforce``)."""

    signals = (AuthFailed,)

    kind: Kind
    prefix: str

    def __init__(self, context: Context, threshold: int, window: float, severity: str) -> None:
        self.context, self.threshold, self.window, self.severity = context, threshold, window, severity

    @staticmethod
    def split(failure: AuthFailed) -> tuple[str, str]:
        """(the subject counted for, the value counted distinctly)."""
        raise NotImplementedError

    def reason(self, failure: AuthFailed, distinct: int) -> str:
        raise NotImplementedError

    def plan(self, signal: Signal) -> Sequence[Op]:
        failure = _failure(signal, self.context)
        if failure is None or failure.username is None:
            return ()
        subject, member = self.split(failure)
        return (Window(f"{self.prefix}:{subject}", self.window, member=member, keep=failure.evidence,
                       kept_at=self.threshold),)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        count = single(answers)
        if not isinstance(signal, AuthFailed) or count is None or count.distinct < self.threshold:
            return ()
        subject, _ = self.split(signal)
        about_address = self.kind is Kind.PASSWORD_SPRAY
        return (make(self.kind, self.severity, signal.time,
                     f"{self.reason(signal, count.distinct)} within {minutes(self.window)}",
                     metrics={"usernames" if about_address else "addresses": count.distinct,
                              "failures": count.total, "window_seconds": self.window},
                     username=None if about_address else signal.username, ip=signal.ip if about_address else None,
                     count=count, episode=(f"{self.prefix}:{subject}", self.window)),)


class PasswordSprayDetector(_SpreadDetector):
    """``password_spray``: one address failing on many user names (a finding about the address)."""

    kind, prefix = Kind.PASSWORD_SPRAY, "ps"

    def __init__(self, context: Context) -> None:
        s = context.config.password_spray
        super().__init__(context, s.usernames, s.window, s.severity)

    @staticmethod
    def split(failure: AuthFailed) -> tuple[str, str]:
        return failure.ip, failure.username or ""

    def reason(self, failure: AuthFailed, distinct: int) -> str:
        return f"{failure.ip} failed on {distinct} user names"


class DistributedBruteforceDetector(_SpreadDetector):
    """``distributed_bruteforce``: one account failing from many addresses."""

    kind, prefix = Kind.DISTRIBUTED_BRUTEFORCE, "db"

    def __init__(self, context: Context) -> None:
        s = context.config.distributed_bruteforce
        super().__init__(context, s.addresses, s.window, s.severity)

    @staticmethod
    def split(failure: AuthFailed) -> tuple[str, str]:
        return failure.username or "", failure.ip

    def reason(self, failure: AuthFailed, distinct: int) -> str:
        return f"failed logins from {distinct} addresses on this account"


class GuessedPasswordDetector:
    """``guessed_password``: failures on an account from one network, then a success from it.

    The failures are kept per (account, network); a success reads that window. One finding per
    episode, so the messages sent after the guess do not repeat it.
    """

    signals = (AuthFailed, AuthSucceeded)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.guessed_password

    def _key(self, username: str, ip: str) -> str:
        return f"gp:{username}\0{self.context.grouping.network(ip)}"

    def _failures(self, signal: AuthFailed | AuthSucceeded) -> Baseline:
        """The store's failures of this account from this network (a guess may span two logs)."""
        return Baseline(signal.username or "", "failures", self.context.grouping.network(signal.ip))

    def plan(self, signal: Signal) -> Sequence[Op]:
        if isinstance(signal, AuthFailed):
            if signal.username is None or self.context.allow.ignores(signal.username, signal.ip):
                return ()
            return (Window(self._key(signal.username, signal.ip), self.settings.window, member=signal.pwhash or "",
                           keep=signal.evidence, kept_at=self.settings.failures, baseline=self._failures(signal)),)
        if isinstance(signal, AuthSucceeded) and not self.context.allow.ignores(signal.username, signal.ip):
            return (Window(self._key(signal.username, signal.ip), self.settings.window, weight=0,
                           kept_at=self.settings.failures, baseline=self._failures(signal)),)
        return ()

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        count = single(answers)
        if not isinstance(signal, AuthSucceeded) or count is None:
            return ()
        tries = count.distinct or count.total    # distinct passwords when the failures had hashes
        if tries < self.settings.failures:
            return ()
        # the login first: it is what makes the failures a guess
        evidence = (signal.evidence, *count.kept[1 - KEEP_EVIDENCE:])
        network = self.context.grouping.network(signal.ip)
        return (make(Kind.GUESSED_PASSWORD, self.settings.severity, signal.time,
                     f"logged in from {signal.ip} after {tries} failed logins from {network} "
                     f"within {minutes(self.settings.window)}",
                     metrics={"failures": tries, "network": network, "window_seconds": self.settings.window},
                     username=signal.username, ip=signal.ip, evidence=evidence, total=count.kept_total + 1,
                     start=datetime.fromtimestamp(count.first, signal.time.tzinfo) if count.first else None,
                     episode=(self._key(signal.username, signal.ip), self.settings.window)),)
