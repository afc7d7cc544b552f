"""One policy request -> signals -> the detectors' state operations -> findings -> an answer.

Sans-IO, in two steps around the backend, so that the same code answers from memory
(synchronously) and from Redis (awaited, bounded by the server):

1. :meth:`Decider.begin` turns a request into signals (:func:`signals_for`), asks every detector
   for its plan, and adds one read of the subject's block: the operations of one backend call.
2. :meth:`Decider.finish` judges the answers into findings and the strongest action among them
   and the block. When a finding earns an action, the block is (re)set and the episode marked
   in a second, small backend call (:attr:`Outcome.follow_ops`); :meth:`Decider.settle` then
   logs the answer, and reports a finding (log line, ``--exec`` hook) once per episode.

Counting (shared/notes/postfix-policy-protocol.md §1.2, §1.6): Postfix sends a request each
time a restriction list with ``check_policy_service`` is evaluated, several per message, all
with the same ``instance`` over the same connection. A message is counted once, at its first
RCPT request, or at DATA/END-OF-MESSAGE when the service is not asked at RCPT; its recipients
are counted once, from ``recipient_count`` at DATA or END-OF-MESSAGE. A login
(``sasl_username`` + ``client_address``) is one signal per message, as in the log's ``client=``
lines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from saslscope.detect.addresses import AllowList
from saslscope.detect.config import DetectConfig
from saslscope.detect.engine import Detector, Dispatch, judge_all, plan_all
from saslscope.detect.findings import Evidence, Finding
from saslscope.detect.hook import Hook
from saslscope.detect.signals import AuthSucceeded, MessageSubmitted, Signal, UnauthenticatedMessage
from saslscope.detect.state import Answer, Once, Op, WindowCount
from saslscope.policy.actions import Action, ActionTable, rule_of
from saslscope.policy.blocks import Block, Blocks
from saslscope.policy.metrics import Metrics
from saslscope.policy.protocol import PolicyRequest
from saslscope.untrusted import printable

log = logging.getLogger("saslscope.policy")

SOURCE = "postfix-policy"


@dataclass(slots=True)
class ConnectionState:
    """What one policy connection has counted of the message in progress (its ``instance``)."""

    instance: str | None = None
    login_counted: bool = False
    message_counted: bool = False
    recipients_counted: bool = False

    def follow(self, instance: str) -> None:
        """A request with another ``instance`` means the previous message is done (README);
        a request without one (not Postfix) is a message of its own."""
        if instance != self.instance or not instance:
            self.instance = instance
            self.login_counted = self.message_counted = self.recipients_counted = False


def signals_for(request: PolicyRequest, conn: ConnectionState, time: datetime) -> list[Signal]:
    attrs = request.attributes
    conn.follow(attrs.get("instance", ""))
    user = attrs.get("sasl_username", "")
    ip = attrs.get("client_address", "")
    evidence = Evidence(SOURCE, None, request.as_text(), time)
    signals: list[Signal] = []
    if user and not conn.login_counted:
        conn.login_counted = True
        signals.append(AuthSucceeded(time=time, ip=ip, username=user, method=attrs.get("sasl_method") or None,
                                     service="smtp", evidence=evidence, helo=attrs.get("helo_name") or None,
                                     tls_cipher=attrs.get("encryption_cipher") or None))
    state = request.protocol_state
    messages = recipients = 0
    if state == "RCPT":
        if not conn.message_counted:
            conn.message_counted = True
            messages = 1
    elif state in ("DATA", "END-OF-MESSAGE") and not conn.recipients_counted:
        messages = 0 if conn.message_counted else 1
        recipients = request.recipient_count
        conn.message_counted = conn.recipients_counted = True
    if messages or recipients:
        sender = attrs.get("sender")
        queue_id = attrs.get("queue_id") or None
        if user:
            signals.append(MessageSubmitted(time=time, username=user, ip=ip, sender=sender, recipients=recipients,
                                            evidence=evidence, queue_id=queue_id, messages=messages))
        else:
            signals.append(UnauthenticatedMessage(time=time, ip=ip, sender=sender, recipients=recipients,
                                                  evidence=evidence, queue_id=queue_id, messages=messages))
    return signals


@dataclass(slots=True)
class Pending:
    """A decision waiting for the backend's answers to :attr:`ops`."""

    request: PolicyRequest
    time: datetime
    now: float
    username: str | None
    ip: str
    signals: list[Signal]
    plans: list[list[Sequence[Op]]]
    ops: list[Op]

    @property
    def subject(self) -> str:
        return self.username if self.username is not None else self.ip


@dataclass(slots=True)
class Outcome:
    pending: Pending
    action: Action
    rule: str                              # what fired: a finding's rule, or "block" + its rule
    why: str                               # the counters behind it, for the log
    findings: list[tuple[Finding, Action]] = field(default_factory=list)
    follow_ops: list[Op] = field(default_factory=list)
    reported: list[Finding] = field(default_factory=list)   # findings whose Once op is in follow_ops


class Decider:
    """The service's judgement, shared by every connection; no I/O of its own but logging,
    metrics and handing findings to the hook's queue."""

    def __init__(self, config: DetectConfig, detectors: Sequence[Detector], *, metrics: Metrics,
                 hook: Hook | None = None) -> None:
        self.settings = config.policy
        self.dispatch = Dispatch(detectors)   # each signal type to the detectors that take it
        self.table = ActionTable.from_config(config.policy)
        self.metrics = metrics
        self.hook = hook
        self.dry_run = config.policy.dry_run
        self.blocks = Blocks(config.policy.block, SOURCE)
        self.allow = AllowList(config.allow)

    def begin(self, request: PolicyRequest, conn: ConnectionState, now: float) -> Pending:
        time = datetime.fromtimestamp(now, UTC)
        signals = signals_for(request, conn, time)
        plans = [plan_all(self.dispatch.detectors(signal), signal) for signal in signals]
        user = request.attributes.get("sasl_username") or None
        pending = Pending(request, time, now, user, request.attributes.get("client_address", ""), signals, plans, [])
        ops: list[Op] = [self.blocks.read(pending.subject)]
        for per_signal in plans:
            for ops_of_detector in per_signal:
                ops.extend(ops_of_detector)
        pending.ops = ops
        return pending

    def finish(self, pending: Pending, answers: Sequence[Answer]) -> Outcome:
        block, rest = answers[0], answers[1:]
        assert isinstance(block, WindowCount)
        findings: list[Finding] = []
        start = 0
        for signal, plans in zip(pending.signals, pending.plans, strict=True):
            size = sum(len(ops) for ops in plans)
            findings.extend(judge_all(self.dispatch.detectors(signal), signal, plans, rest[start:start + size]))
            start += size
        outcome = Outcome(pending, Action.DUNNO, "", "")
        blocked = self.blocks.strongest(block)
        if blocked is not None:
            outcome.action, outcome.rule, outcome.why = blocked.action, f"block:{blocked.rule}", blocked.why
        allowed = self.allow.ignores(pending.username, pending.ip or None)
        if allowed:
            outcome.action, outcome.rule, outcome.why = Action.DUNNO, "", ""
        for finding in findings:
            action = Action.DUNNO if allowed else self.table.action_for(finding)
            outcome.findings.append((finding, action))
            rule = rule_of(finding)
            if action > outcome.action or (action == outcome.action and outcome.rule.startswith("block:")):
                outcome.action, outcome.rule, outcome.why = action, rule, _counters(finding)
            if self.dry_run:
                continue
            subject = finding.subject
            outcome.follow_ops.append(self.blocks.episode(rule, subject))
            outcome.reported.append(finding)
            if action > Action.DUNNO:
                outcome.follow_ops.append(self.blocks.set(subject, Block(action, rule, _counters(finding)), pending.time))
        return outcome

    def settle(self, outcome: Outcome, follow: Sequence[Answer] | None) -> str:
        """Log and count the answer, report new episodes; the ``action=`` value to send.

        ``follow`` answers :attr:`Outcome.follow_ops` (None when that call failed: the findings
        are logged, the hook is not run)."""
        pending = outcome.pending
        if follow is not None:
            episodes = iter(answer for answer, op in zip(follow, outcome.follow_ops, strict=True) if isinstance(op, Once))
            for finding in outcome.reported:
                if next(episodes):
                    self._report(finding)
        elif outcome.reported:
            for finding in outcome.reported:
                self._report(finding, hook=False)
        action = outcome.action
        if self.dry_run and outcome.findings:
            for finding, would in outcome.findings:
                log.warning("dry-run: would answer %s user=%r ip=%s state=%s rule=%s %s", str(would).upper(),
                            pending.username, pending.ip, pending.request.protocol_state, rule_of(finding), _counters(finding))
        if self.dry_run:
            action = Action.DUNNO
        self.metrics.answer(str(action), outcome.rule or "none")
        if action is Action.DUNNO:
            return "DUNNO"
        log.warning("%s user=%r ip=%s state=%s queue_id=%s rule=%s %s", str(action).upper(), pending.username, pending.ip,
                    pending.request.protocol_state, pending.request.get("queue_id") or "-", outcome.rule, outcome.why)
        return self.table.reply(action, outcome.rule)

    def fallback(self) -> str:
        """The answer when the backend failed or exceeded its bound (``on_backend_error``)."""
        action = Action.parse(self.settings.on_backend_error)
        self.metrics.answer(str(action), "backend_error")
        return "DUNNO" if action is Action.DUNNO or self.dry_run else f"DEFER {self.settings.defer_text} (backend unavailable)"

    def _report(self, finding: Finding, *, hook: bool = True) -> None:
        log.warning("finding %s severity=%s user=%r ip=%s: %s", rule_of(finding), finding.severity,
                    finding.username, finding.ip, printable(finding.reason))
        if hook and self.hook is not None:
            self.hook.submit(finding)


def _counters(finding: Finding) -> str:
    """The finding's numbers as ``name=value`` words, one printable line."""
    return printable(" ".join(f"{name}={value}" for name, value in finding.metrics.items() if name != "rule"))
