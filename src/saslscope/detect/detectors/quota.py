"""Fixed quotas: ``rate_limit`` per account (messages, recipients, client addresses) and per
client address for unauthenticated mail.

A quota is a *state*, not an event: every message that arrives while its window is past the
limit is a finding (the 51st, the 52nd...), so that a front answering a policy request can act
on each one, and a fleet sharing a backend never lets the 52nd through because another service
saw the 51st. Fronts that report findings to people fold repeats into one per episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.detect.config import DetectConfig, Quota, format_duration, parse_quota, parse_user_override
from saslscope.detect.findings import Finding, Kind, Severity
from saslscope.detect.signals import AuthSucceeded, MessageSubmitted, Signal, UnauthenticatedMessage
from saslscope.detect.state import Answer, Op, Window, WindowCount


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str            # user_messages, ip_recipients... (the config key: what the log names)
    quota: Quota
    key: str
    weight: int
    member: str = ""     # counted distinctly: the measure is the number of members

    @property
    def distinct(self) -> bool:
        return bool(self.member)


class QuotaDetector:
    """``rate_limit`` findings from the quotas of the ``[quota]`` section."""

    def __init__(self, config: DetectConfig) -> None:
        settings = config.quota
        self.severity = Severity.parse(settings.severity)
        self.user_quotas: dict[str, Quota | None] = {
            "messages": parse_quota(settings.user_messages),
            "recipients": parse_quota(settings.user_recipients),
            "ips": parse_quota(settings.user_ips),
        }
        self.ip_messages = parse_quota(settings.ip_messages)
        self.ip_recipients = parse_quota(settings.ip_recipients)
        self.overrides = dict(parse_user_override(line) for line in settings.user_overrides)
        self.allow = config.allow
        # judge() needs the rules plan() made for the same signal: remember the last ones
        self._last: tuple[Signal | None, list[_Rule]] = (None, [])

    def _quota(self, username: str, name: str) -> Quota | None:
        override = self.overrides.get(username)
        if override is not None and name in override:
            return override[name]
        return self.user_quotas[name]

    def _rules(self, signal: Signal) -> list[_Rule]:
        # Keys carry the window length: a key is always used with one window, even after a
        # configuration change or an override.
        rules: list[_Rule] = []
        if isinstance(signal, MessageSubmitted):
            user = signal.username
            if self.allow.covers(user, signal.ip):
                return rules
            messages, recipients = self._quota(user, "messages"), self._quota(user, "recipients")
            if messages is not None and signal.messages:
                rules.append(_Rule("user_messages", messages, f"rl:um:{messages.seconds:g}\0{user}", signal.messages))
            if recipients is not None and signal.recipients:
                rules.append(_Rule("user_recipients", recipients, f"rl:ur:{recipients.seconds:g}\0{user}", signal.recipients))
        elif isinstance(signal, AuthSucceeded):
            ips = self._quota(signal.username, "ips")
            if ips is not None and not self.allow.covers(signal.username, signal.ip):
                rules.append(_Rule("user_ips", ips, f"rl:ui:{ips.seconds:g}\0{signal.username}", 1, member=signal.ip))
        elif isinstance(signal, UnauthenticatedMessage) and not self.allow.covers(None, signal.ip):
            if self.ip_messages is not None and signal.messages:
                rules.append(_Rule("ip_messages", self.ip_messages, f"rl:im:{self.ip_messages.seconds:g}\0{signal.ip}", signal.messages))
            if self.ip_recipients is not None and signal.recipients:
                rules.append(_Rule("ip_recipients", self.ip_recipients,
                                   f"rl:ir:{self.ip_recipients.seconds:g}\0{signal.ip}", signal.recipients))
        return rules

    def _rules_of(self, signal: Signal) -> list[_Rule]:
        last, rules = self._last
        if last is not signal:
            rules = self._rules(signal)
            self._last = (signal, rules)
        return rules

    def plan(self, signal: Signal) -> Sequence[Op]:
        return [Window(rule.key, rule.quota.seconds, member=rule.member, weight=rule.weight, keep=signal.evidence,
                       kept_at=rule.quota.limit + 1)
                for rule in self._rules_of(signal)]

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        if not answers or not isinstance(signal, MessageSubmitted | UnauthenticatedMessage | AuthSucceeded):
            return ()
        findings = []
        for rule, count in zip(self._rules_of(signal), answers, strict=True):
            assert isinstance(count, WindowCount)
            measure = count.distinct if rule.distinct else count.total
            if measure <= rule.quota.limit:
                continue
            what = rule.name.partition("_")[2]
            findings.append(Finding(
                kind=Kind.RATE_LIMIT, severity=self.severity,
                username=signal.username if isinstance(signal, MessageSubmitted | AuthSucceeded) else None,
                ip=signal.ip,
                start=count.kept[0].time if count.kept else signal.time, end=signal.time,
                reason=f"{measure} {'client addresses' if what == 'ips' else what} within {format_duration(rule.quota.seconds)} (limit {rule.quota.limit})",
                metrics={"rule": rule.name, "count": measure, "limit": rule.quota.limit,
                         "window_seconds": rule.quota.seconds},
                evidence=count.kept, evidence_total=count.kept_total,
            ))
        return findings
