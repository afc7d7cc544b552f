"""What the logins did: ``volume_spike``, ``bounce_ratio`` and ``sender_mismatch`` (``rate_limit``,
the fixed quotas, is :mod:`.quota`)."""

from __future__ import annotations

from collections.abc import Sequence

from saslscope.detect.detectors.common import Context, make, minutes
from saslscope.detect.findings import Finding, Kind
from saslscope.detect.signals import DeliveryOutcome, MessageSubmitted, Signal
from saslscope.detect.state import Answer, Baseline, Op, Window, WindowCount

#: delivery statuses that count against the sender in ``bounce_ratio``
FAILED_STATUSES = frozenset({"bounced", "deferred", "expired"})


def _message(signal: Signal, context: Context) -> MessageSubmitted | None:
    """A message to judge; not a policy request that only adds the recipients of a message an
    earlier request of the same message counted (``messages == 0``)."""
    if (isinstance(signal, MessageSubmitted) and signal.messages
            and not context.allow.ignores(signal.username, signal.ip)):
        return signal
    return None


def _counts(answers: Sequence[Answer]) -> list[WindowCount]:
    counts = [a for a in answers if isinstance(a, WindowCount)]
    assert len(counts) == len(answers)
    return counts


class VolumeSpikeDetector:
    """``volume_spike``: messages or recipients in the window far above the account's own rate.

    The baseline is the account's messages (recipients) over ``baseline``, without the current
    window, spread over ``baseline_hours`` active hours a day; a spike is ``factor`` times that
    rate and at least the absolute floor, so a new or quiet account needs the floor alone.
    """

    signals = (MessageSubmitted,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.volume_spike

    def plan(self, signal: Signal) -> Sequence[Op]:
        message = _message(signal, self.context)
        if message is None:
            return ()
        s, user, rcpts = self.settings, message.username, max(message.recipients, 1)
        # weight = recipients, entries = messages
        # a spike has at least min_messages entries of weight >= 1, or min_recipients in weight
        return (Window(f"vs:{user}", s.window, weight=rcpts, keep=message.evidence,
                       kept_at=min(s.min_messages, s.min_recipients)),
                Window(f"vs:base:{user}", s.baseline, weight=rcpts, baseline=Baseline(user, "traffic")))

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        message = _message(signal, self.context)
        if message is None or not answers:
            return ()
        s = self.settings
        now, base = _counts(answers)
        hours = s.baseline / 86400 * s.baseline_hours * (s.window / 3600)   # baseline windows
        rate_m = (base.entries - now.entries) / hours
        rate_r = (base.total - now.total) / hours
        if now.entries < max(s.min_messages, s.factor * rate_m) and now.total < max(s.min_recipients, s.factor * rate_r):
            return ()
        return (make(Kind.VOLUME_SPIKE, s.severity, message.time,
                     f"{now.entries} messages to {now.total} recipients within {minutes(s.window)}; "
                     f"the account's usual rate is {rate_m:.1f} messages per {minutes(s.window)}",
                     metrics={"messages": now.entries, "recipients": now.total,
                              "baseline_messages": round(rate_m, 2), "baseline_recipients": round(rate_r, 2),
                              "window_seconds": s.window},
                     username=message.username, ip=message.ip, count=now,
                     episode=(f"vs:{message.username}", s.window)),)


class BounceRatioDetector:
    """``bounce_ratio``: the share of an account's recipients bounced, deferred or expired.

    The recipients are those of the account's messages in the window (``nrcpt``); the failed
    ones are counted distinctly (queue id + address), so a recipient deferred five times counts
    once. A delivered recipient needs no state at all."""

    signals = (MessageSubmitted, DeliveryOutcome)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.bounce_ratio

    def plan(self, signal: Signal) -> Sequence[Op]:
        s = self.settings
        message = _message(signal, self.context)
        if message is not None:
            return (Window(f"br:all:{message.username}", s.window, weight=max(message.recipients, 1)),)
        if (not isinstance(signal, DeliveryOutcome) or signal.status not in FAILED_STATUSES
                or self.context.allow.ignores(signal.username, None)):
            return ()
        return (Window(f"br:all:{signal.username}", s.window, weight=0),
                Window(f"br:bad:{signal.username}", s.window, member=f"{signal.queue_id}\0{signal.recipient}",
                       keep=signal.evidence))

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        if not isinstance(signal, DeliveryOutcome) or not answers:
            return ()
        s = self.settings
        everyone, failed = _counts(answers)
        recipients = max(everyone.total, failed.distinct)   # a log cut after the submissions
        if recipients < s.min_recipients or failed.distinct < s.ratio * recipients:
            return ()
        return (make(Kind.BOUNCE_RATIO, s.severity, signal.time,
                     f"{failed.distinct} of {recipients} recipients bounced or deferred within "
                     f"{minutes(s.window)}",
                     metrics={"failed": failed.distinct, "recipients": recipients,
                              "ratio": round(failed.distinct / recipients, 3), "window_seconds": s.window},
                     username=signal.username, count=failed, episode=(f"br:{signal.username}", s.window)),)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


class SenderMismatchDetector:
    """``sender_mismatch``: the envelope sender's domain is neither the login's domain nor allowed
    for the login (``[sender_mismatch] allowed``, per ``user@domain`` or per login domain)."""

    signals = (MessageSubmitted,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.sender_mismatch
        self.allowed = {k.lower(): {d.lower() for d in v} for k, v in self.settings.allowed.items()}
        self.shared = {d.lower() for d in self.settings.shared_domains}

    def plan(self, signal: Signal) -> Sequence[Op]:
        return ()

    def mismatch(self, username: str, sender: str) -> str | None:
        """The foreign sender domain, or None when the sender is fine (or cannot be judged)."""
        if "@" not in sender:
            return None
        domain, user = domain_of(sender), username.lower()
        login_domain = domain_of(user) if "@" in user else None
        allowed = self.allowed.get(user, set()) | self.shared
        if login_domain is not None:
            allowed |= self.allowed.get(login_domain, set()) | {login_domain}
        elif user not in self.allowed:
            return None          # a bare user name and nothing configured for it: no domain to compare
        return None if domain in allowed else domain

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        message = _message(signal, self.context)
        if message is None or not message.sender:
            return ()
        domain = self.mismatch(message.username, message.sender)
        if domain is None:
            return ()
        evidence = (message.evidence,) + ((message.sender_evidence,) if message.sender_evidence else ())
        return (make(Kind.SENDER_MISMATCH, self.settings.severity, message.time,
                     f"sent as <{message.sender}>: {domain} is not this login's domain nor allowed for it",
                     metrics={"sender": message.sender, "sender_domain": domain}, username=message.username,
                     ip=message.ip, evidence=evidence, episode=(f"sm:{message.username}\0{domain}", 86400.0)),)
