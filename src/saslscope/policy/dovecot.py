"""Dovecot's auth policy, sans-IO: a request body in, a status and findings out.

Dovecot posts JSON to ``?command=allow`` before authentication (and, by default, again after a
*correct* password, with the same body) and to ``?command=report`` afterwards with ``success``.
The answer ``{"status": N}`` refuses the attempt for N < 0, delays the reply N seconds for N > 0
and lets it go on for 0.

What this module decides, and why:

* ``report`` turns into the engine's own signals (:class:`AuthFailed` / :class:`AuthSucceeded`,
  with ``pwhash``), so the same detectors as ``logs alerts`` judge them. A finding whose kind is
  in ``[dovecot] block_on`` blocks the address (bruteforce, password_spray) or the account
  (distributed_bruteforce, guessed_password) for ``[policy] block`` seconds, with the action
  ``[policy]`` gives that finding (:mod:`.blocks`): the Postfix side of the same service reads the
  same blocks, so an account whose password was guessed has its mail held there.
* The *before* ``allow`` refuses a marked address, and a marked account's logins from outside
  its own networks; it delays (tarpits) an address by the number of *distinct* wrong passwords
  it tried, so a phone repeating one stale password is not escalated. A login from one of the
  account's own networks (where it logged in successfully before) is never refused or delayed
  because somebody else guesses at the account.
* The *after* ``allow`` carries a correct password. Refusing it locks out whoever typed it, so it
  refuses only a stranger who guessed: an address outside the account's networks that tried at
  least ``refuse_guessed_after`` distinct wrong passwords on this account first. That raises
  ``guessed_password`` at critical and blocks the account, which lets the Postfix side hold its
  mail. Anything else is let through.

``pwhash`` is a short hash of the password tried. For CRAM-MD5 and SCRAM Dovecot hashes an empty
password, so when ``mech`` says so (it is in the body only if ``auth_policy_request_attributes``
adds ``mech=%m``) every such attempt counts as a distinct one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from saslscope.detect.addresses import AllowList, Grouping
from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors import default_detectors
from saslscope.detect.engine import Detector, Dispatch, judge_all, plan_all
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.signals import AuthFailed, AuthSucceeded, Signal
from saslscope.detect.state import Answer, Baseline, Op, Seen, SeenAnswer, Swap, Window, WindowCount
from saslscope.policy.actions import ActionTable, rule_of
from saslscope.policy.blocks import Block, Blocks

#: Dovecot's bodies are about 300 bytes; anything near this is not Dovecot
MAX_BODY = 64 * 1024
#: a field longer than this is cut (RFC 5321's 256-octet path is the longest sane login)
MAX_FIELD = 512
SOURCE = "dovecot-auth-policy"
#: mechanisms whose pwhash is the hash of the password tried (the others hash an empty one)
PASSWORD_MECHANISMS = frozenset({"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"})
#: how long the service remembers that a before-auth ``allow`` was answered, to know the next
#: identical body as the after-auth check (Dovecot sends both within one authentication)
ATTEMPT_MEMORY = 120.0


class RequestError(ValueError):
    """The body is not a Dovecot auth-policy request; the message says why (never echoes it)."""


@dataclass(frozen=True, slots=True)
class AuthPolicyRequest:
    command: str                 # allow | report
    login: str
    remote: str
    pwhash: str
    protocol: str
    mech: str | None
    session_id: str
    success: bool | None         # report only
    policy_reject: bool | None   # report only: our own refusal
    evidence_text: str

    @property
    def attempt_key(self) -> str:
        return f"dv:att:{self.login}\0{self.remote}\0{self.pwhash}\0{self.session_id}"

    @property
    def distinct_password(self) -> str:
        """What counts as one wrong password: the hash, unless the mechanism hides it."""
        if self.mech is not None and self.mech.upper() not in PASSWORD_MECHANISMS:
            return ""
        return self.pwhash


def parse_request(command: str, body: bytes) -> AuthPolicyRequest:
    """A request from the query's ``command`` and the JSON body.

    Dovecot 2.3 with ``tls=%c`` in the attributes sends the key ``tls`` twice; duplicate keys are
    accepted (the last wins), as Dovecot's own reader does.
    """
    if command not in ("allow", "report"):
        raise RequestError("command must be allow or report")
    if len(body) > MAX_BODY:
        raise RequestError(f"body over {MAX_BODY} bytes")
    try:
        document = orjson.loads(body)   # like Dovecot's reader: a duplicate key's last value wins
    except orjson.JSONDecodeError:
        raise RequestError("body is not JSON") from None
    if not isinstance(document, dict):
        raise RequestError("body is not a JSON object")
    success = _flag(document, "success")
    if command == "report" and success is None:
        raise RequestError("a report needs a boolean success")
    mech = _text(document, "mech") or None
    request = AuthPolicyRequest(
        command=command, login=_text(document, "login"), remote=_text(document, "remote"),
        pwhash=_text(document, "pwhash"), protocol=_text(document, "protocol") or "unknown", mech=mech,
        session_id=_text(document, "session_id"), success=success, policy_reject=_flag(document, "policy_reject"),
        # the evidence of a finding; an allow never raises one, so only a report pays for it
        evidence_text=(" ".join(f"{k}={_text(document, k)}" for k in sorted(document) if k != "pwhash")
                       if command == "report" else ""),
    )
    if not request.remote:
        raise RequestError("no remote address")
    return request


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if isinstance(value, str):
        return value[:MAX_FIELD]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ""


def _flag(document: dict[str, Any], key: str) -> bool | None:
    value = document.get(key)
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Decision:
    status: int                   # Dovecot's: < 0 refuse, > 0 delay seconds, 0 continue
    rule: str                     # which rule answered: for the log and the metrics
    message: str
    findings: tuple[Finding, ...] = ()
    writes: tuple[Op, ...] = ()   # blocks to store after answering (a second, fire-and-forget round)

    def body(self) -> dict[str, object]:
        return {"status": self.status, "msg": self.message}


@dataclass
class Plan:
    """The operations one request needs, and what :meth:`DovecotPolicy.decide` must know of them."""

    request: AuthPolicyRequest
    time: datetime
    ops: list[Op]
    signal: Signal | None = None
    detector_plans: list[Sequence[Op]] = field(default_factory=list)


class DovecotPolicy:
    """The decisions of the Dovecot front; state goes through plans (see :mod:`saslscope.detect.state`)."""

    def __init__(self, config: DetectConfig, detectors: Sequence[Detector] | None = None) -> None:
        self.config = config
        self.settings = config.dovecot
        self.dispatch = Dispatch(detectors if detectors is not None else default_detectors(config))
        self.allow = AllowList(config.allow)
        self.grouping = Grouping(config.networks)
        # the account's own networks: the very set new_network learns from its logins (the same
        # key, member and memory), so this front, logs alerts and the history store share it
        self.baseline_ttl = config.new_network.memory
        self.block_kinds = frozenset(Kind(kind) for kind in self.settings.block_on)
        self.block_severity = Severity.parse(self.settings.block_severity)
        self.blocks = Blocks(config.policy.block, SOURCE)
        self.actions = ActionTable.from_config(config.policy)

    # -- keys --------------------------------------------------------------------------------

    @staticmethod
    def _baseline_key(login: str) -> str:
        return f"{Kind.NEW_NETWORK}:{login}"

    @staticmethod
    def _bad_from_address(remote: str) -> str:
        return f"dv:bad-ip:{remote}"

    @staticmethod
    def _bad_on_pair(remote: str, login: str) -> str:
        return f"dv:bad-pair:{remote}\0{login}"

    # -- planning ----------------------------------------------------------------------------

    def plan(self, request: AuthPolicyRequest, time: datetime) -> Plan:
        s = self.settings
        network = self.grouping.network(request.remote)
        if request.command == "allow":
            return Plan(request, time, [
                Swap(request.attempt_key, "allow", ATTEMPT_MEMORY),
                Seen(self._baseline_key(request.login), network, self.baseline_ttl,
                     Baseline(request.login, "network"), record=False),
                self.blocks.read(request.remote),
                self.blocks.read(request.login),
                Window(self._bad_from_address(request.remote), s.window, weight=0),
                Window(self._bad_on_pair(request.remote, request.login), s.window, weight=0),
            ])
        evidence = Evidence(SOURCE, None, request.evidence_text, time)
        ops: list[Op] = [Swap(request.attempt_key, "report", ATTEMPT_MEMORY)]
        signal: Signal | None = None
        if request.success:
            # new_network records the network in the account's baseline (the detectors' own plan)
            signal = AuthSucceeded(time=time, ip=request.remote, username=request.login, method=request.mech,
                                   service=request.protocol, evidence=evidence, pwhash=request.pwhash)
        elif not request.policy_reject:
            # our own refusals say nothing about the password: only real mismatches count
            wrong = request.distinct_password or f"#{time.timestamp()!r}"
            signal = AuthFailed(time=time, ip=request.remote, username=request.login or None, method=request.mech,
                                service=request.protocol, evidence=evidence, pwhash=request.distinct_password or None)
            ops += [
                Window(self._bad_from_address(request.remote), s.window, member=f"{request.login}\0{wrong}"),
                Window(self._bad_on_pair(request.remote, request.login), s.window, member=wrong),
            ]
        plans = plan_all(self.dispatch.detectors(signal), signal) if signal is not None else []
        return Plan(request, time, ops + [op for p in plans for op in p], signal, plans)

    # -- deciding ----------------------------------------------------------------------------

    def decide(self, plan: Plan, answers: Sequence[Answer]) -> Decision:
        if plan.request.command == "allow":
            return self._allow(plan, answers)
        own = len(plan.ops) - sum(len(p) for p in plan.detector_plans)
        findings: list[Finding] = []
        if plan.signal is not None:
            findings = judge_all(self.dispatch.detectors(plan.signal), plan.signal, plan.detector_plans, answers[own:])
        writes = tuple(op for finding in findings for op in self._blocks_for(finding, plan.time))
        return Decision(0, "report", "recorded", tuple(findings), writes)

    def _allow(self, plan: Plan, answers: Sequence[Answer]) -> Decision:
        request, s = plan.request, self.settings
        previous, baseline, address_blocks, account_blocks, from_address, on_pair = answers
        assert isinstance(baseline, SeenAnswer)
        assert isinstance(address_blocks, WindowCount) and isinstance(account_blocks, WindowCount)
        assert isinstance(from_address, WindowCount) and isinstance(on_pair, WindowCount)
        if self.allow.ignores(request.login, request.remote):
            return Decision(0, "allow-list", "allow-listed")
        if baseline.known:
            return Decision(0, "own-network", "one of the account's own networks")
        after_auth = previous == "allow"
        if after_auth:
            return self._after_auth(plan, on_pair, address_blocks)
        if (why := self._refusing(address_blocks)) is not None:
            return Decision(-1, "refuse-address", f"address refused: {why}")
        if baseline.members and (why := self._refusing(account_blocks)) is not None:
            return Decision(-1, "refuse-account", f"logins to this account from outside its networks refused: {why}")
        wrong = from_address.distinct
        if wrong >= s.tarpit_after:
            delay = min(s.tarpit_max, s.tarpit_base * 2 ** (wrong - s.tarpit_after))
            return Decision(delay, "tarpit", f"{wrong} distinct wrong passwords from this address")
        return Decision(0, "none", "")

    def _after_auth(self, plan: Plan, on_pair: WindowCount, address_blocks: WindowCount) -> Decision:
        request, s = plan.request, self.settings
        if (why := self._refusing(address_blocks)) is not None:
            return Decision(-1, "refuse-address", f"address refused: {why}")
        guesses = on_pair.distinct
        if not s.refuse_guessed_after or guesses < s.refuse_guessed_after:
            return Decision(0, "after-auth", "")
        finding = Finding(
            kind=Kind.GUESSED_PASSWORD, severity=Severity.CRITICAL, username=request.login, ip=request.remote,
            start=on_pair.kept[0].time if on_pair.kept else plan.time, end=plan.time,
            reason=(f"correct password from {request.remote} after {guesses} distinct wrong passwords from it, "
                    "outside the account's own networks: refused"),
            metrics={"distinct_wrong_passwords": guesses},
            evidence=(Evidence(SOURCE, None, request.evidence_text, plan.time),), evidence_total=1,
        )
        return Decision(-1, "refuse-guessed", "password guessed: refused", (finding,),
                        tuple(self._blocks_for(finding, plan.time)))

    def _refusing(self, answer: WindowCount) -> str | None:
        """Why a live block refuses logins (one set for a kind in ``block_on``), or None."""
        for block in reversed(Blocks.live(answer)):
            if block.rule.partition("/")[0] in self.block_kinds:
                return f"{block.rule}: {block.why}" if block.why else block.rule
        return None

    def _blocks_for(self, finding: Finding, time: datetime) -> list[Op]:
        """The block a finding sets: on the address for guessing from one place, on the account
        for guessing from many (or a guessed password), with the action ``[policy]`` gives it."""
        if finding.kind not in self.block_kinds or finding.severity < self.block_severity:
            return []
        if finding.kind in (Kind.BRUTEFORCE, Kind.PASSWORD_SPRAY):
            subject = finding.ip if finding.ip and not self.allow.ignores(None, finding.ip) else None
        else:
            subject = finding.username
        if not subject:
            return []
        why = f"{finding.reason}"
        return [self.blocks.set(subject, Block(self.actions.action_for(finding), rule_of(finding), why), time)]
