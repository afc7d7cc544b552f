"""Findings -> a graduated answer to Postfix: DUNNO, PREPEND, HOLD, DEFER, REJECT.

HOLD is the answer for a suspected stolen account: the message waits in Postfix's hold queue
until the admin releases (``postsuper -H``) or deletes it, so nothing is lost and nothing is
sent. DEFER tells the client to try again later (``4.7.x``), REJECT refuses (``5.7.x``).
Texts are the configuration's own ASCII: a reply never carries a peer's string.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from saslscope.detect.config import Policy
from saslscope.detect.findings import Finding, Severity


class Action(enum.IntEnum):
    """Ordered: the strongest action of a request's findings and blocks is the answer."""

    DUNNO = 0
    PREPEND = 1
    HOLD = 2
    DEFER = 3
    REJECT = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Action:
        return cls[text.strip().upper()]


def rule_of(finding: Finding) -> str:
    """The rule a finding is named by in the log and the metrics: ``rate_limit/user_messages``
    for a rule with sub-rules, else the kind."""
    sub = finding.metrics.get("rule")
    return f"{finding.kind}/{sub}" if isinstance(sub, str) else str(finding.kind)


@dataclass(frozen=True)
class ActionTable:
    """What each finding earns: per account, else per kind, else per severity."""

    by_severity: dict[Severity, Action]
    by_kind: dict[str, Action]
    by_user: dict[str, Action]
    settings: Policy

    @classmethod
    def from_config(cls, policy: Policy) -> ActionTable:
        return cls(
            by_severity={level: Action.parse(getattr(policy, str(level))) for level in Severity},
            by_kind={kind: Action.parse(action) for kind, _, action in (e.rpartition("=") for e in policy.kinds)},
            by_user={user: Action.parse(action) for user, _, action in (e.rpartition("=") for e in policy.users)},
            settings=policy,
        )

    def action_for(self, finding: Finding) -> Action:
        if finding.username is not None and finding.username in self.by_user:
            return self.by_user[finding.username]
        kind = self.by_kind.get(str(finding.kind))
        return kind if kind is not None else self.by_severity[finding.severity]

    def reply(self, action: Action, rule: str) -> str:
        """The ``action=`` value Postfix is sent. ``rule`` is ours (a kind and a config key)."""
        policy = self.settings
        if action is Action.PREPEND:
            return f"PREPEND {policy.prepend_header}: {rule}"
        if action is Action.HOLD:
            return f"HOLD {policy.hold_text} ({rule})"
        if action is Action.DEFER:
            return f"DEFER {policy.defer_text} ({rule})"
        if action is Action.REJECT:
            return f"REJECT {policy.reject_text} ({rule})"
        return "DUNNO"
