"""Dovecot's auth-policy requests and the answers the Dovecot front gives, sans-IO.

Bodies are the ones a real Dovecot 2.3.19 posted (``shared/notes/captures``), including the
duplicate ``tls`` key its extended attribute set produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from saslscope.detect import DetectConfig, Kind, Severity
from saslscope.detect.state import MemoryState
from saslscope.policy.dovecot import Decision, DovecotPolicy, RequestError, parse_request

CAPTURED_ALLOW = (b'{"device_id":"","login":"alice@example.test","mech":"PLAIN","protocol":"smtp","pwhash":"09fd",'
                  b'"remote":"127.0.0.1","session_id":"","tls":"","tls":false}')
CAPTURED_REPORT = (b'{"device_id":"","login":"alice@example.test","mech":"PLAIN","protocol":"smtp","pwhash":"09fd",'
                   b'"remote":"127.0.0.1","session_id":"","tls":"","success":false,"policy_reject":false,"tls":false}')
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
USER = "alice@example.test"
HOME = "127.0.0.1"        # the account's own network
ATTACKER = "127.1.0.9"    # another /24 inside loopback
OTHER = "127.2.0.3"


def _body(remote: str, pwhash: str, *, login: str = USER, mech: str | None = "PLAIN", **extra: object) -> bytes:
    document: dict[str, object] = {"device_id": "", "login": login, "protocol": "smtp", "pwhash": pwhash,
                                   "remote": remote, "session_id": ""}
    if mech:
        document["mech"] = mech
    document.update(extra)
    return json.dumps(document).encode()


class Dovecot:
    """Plays Dovecot's sequence of calls for each attempt against one policy and state."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.policy = DovecotPolicy(config or DetectConfig())
        self.state = MemoryState()
        self.time = T0
        self.findings: list[object] = []

    def call(self, command: str, body: bytes) -> Decision:
        self.time += timedelta(seconds=1)
        plan = self.policy.plan(parse_request(command, body), self.time)
        decision = self.policy.decide(plan, self.state.apply(plan.ops, self.time.timestamp()))
        self.state.apply(decision.writes, self.time.timestamp())
        self.findings.extend(decision.findings)
        return decision

    def attempt(self, remote: str, pwhash: str, *, correct: bool, mech: str | None = "PLAIN") -> int:
        """One login as Dovecot drives the policy: before-allow, [after-allow], report; Dovecot's
        answer to the user (negative = refused, else the delay)."""
        body = _body(remote, pwhash, mech=mech)
        before = self.call("allow", body)
        if before.status < 0:
            self.call("report", _body(remote, pwhash, mech=mech, success=False, policy_reject=True))
            return before.status
        if correct:
            after = self.call("allow", body)
            refused = after.status < 0
            self.call("report", _body(remote, pwhash, mech=mech, success=not refused, policy_reject=refused))
            return after.status if refused else before.status
        self.call("report", _body(remote, pwhash, mech=mech, success=False, policy_reject=False))
        return before.status


def test_captured_bodies_parse_with_their_duplicate_tls_key() -> None:
    allow = parse_request("allow", CAPTURED_ALLOW)
    assert (allow.login, allow.remote, allow.pwhash, allow.mech, allow.protocol) == (USER, HOME, "09fd", "PLAIN", "smtp")
    report = parse_request("report", CAPTURED_REPORT)
    assert report.success is False and report.policy_reject is False
    assert "pwhash" not in report.evidence_text and f"login={USER}" in report.evidence_text


@pytest.mark.parametrize(("command", "body", "why"), [
    ("allow", b"not json", "not JSON"),
    ("allow", b"[1, 2]", "not a JSON object"),
    ("allow", b'{"login": "a"}', "no remote"),
    ("report", _body(HOME, "0001"), "boolean success"),
    ("delete", _body(HOME, "0001"), "command"),
    ("allow", b'{"remote": "' + b"x" * 70_000 + b'"}', "body over"),
    ("allow", b"[" * 50_000, "not JSON"),
])
def test_malformed_requests_are_refused_with_a_reason(command: str, body: bytes, why: str) -> None:
    with pytest.raises(RequestError, match=why):
        parse_request(command, body)


def test_distinct_wrong_passwords_are_tarpitted_then_the_address_is_refused() -> None:
    dovecot = Dovecot()
    dovecot.attempt(HOME, "0109", correct=True)   # the owner's network becomes known
    answers = [dovecot.attempt(ATTACKER, f"{n:04x}", correct=False) for n in range(12)]
    # 3 distinct wrong passwords before the delay starts; it doubles and stops at 15 s
    assert answers[:4] == [0, 0, 0, 1]
    assert answers[4:8] == [2, 4, 8, 15]
    # the 10th distinct wrong password raised bruteforce, which refuses the address from then on
    assert answers[10:] == [-1, -1]
    (finding,) = [f for f in dovecot.findings if getattr(f, "kind", None) is Kind.BRUTEFORCE]
    assert finding.ip == ATTACKER and finding.username == USER  # type: ignore[attr-defined]
    # the owner, from the account's own network, is neither delayed nor refused
    assert dovecot.attempt(HOME, "0109", correct=True) == 0
    # and the refused address cannot get in even with the right password
    assert dovecot.attempt(ATTACKER, "0109", correct=True) == -1


def test_one_stale_password_repeated_is_not_escalated() -> None:
    dovecot = Dovecot()
    answers = [dovecot.attempt(OTHER, "0bad", correct=False) for _ in range(30)]
    assert set(answers) == {0}
    assert not dovecot.findings
    assert dovecot.attempt(OTHER, "0109", correct=True) == 0


def test_without_password_hashes_every_attempt_counts() -> None:
    """CRAM-MD5/SCRAM: Dovecot hashes an empty password, so the hash says nothing."""
    dovecot = Dovecot()
    answers = [dovecot.attempt(ATTACKER, "e3b0", correct=False, mech="CRAM-MD5") for _ in range(5)]
    assert answers == [0, 0, 0, 1, 2]


def test_a_correct_password_after_guessing_from_a_stranger_is_refused_and_marks_the_account() -> None:
    dovecot = Dovecot()
    dovecot.attempt(HOME, "0109", correct=True)
    for n in range(3):
        dovecot.attempt(ATTACKER, f"{n:04x}", correct=False)
    assert dovecot.attempt(ATTACKER, "0109", correct=True) == -1
    guessed = [f for f in dovecot.findings if getattr(f, "kind", None) is Kind.GUESSED_PASSWORD]
    assert len(guessed) == 1 and guessed[0].severity is Severity.CRITICAL  # type: ignore[attr-defined]
    # the account is marked: a third address is refused, the owner's network is not
    assert dovecot.attempt(OTHER, "0109", correct=True) == -1
    assert dovecot.attempt(HOME, "0109", correct=True) == 0


def test_a_correct_password_is_never_refused_when_configured_so() -> None:
    config = DetectConfig.from_table({"dovecot": {"refuse_guessed_after": 0}})
    dovecot = Dovecot(config)
    for n in range(3):
        dovecot.attempt(ATTACKER, f"{n:04x}", correct=False)
    assert dovecot.attempt(ATTACKER, "0109", correct=True) == 1   # still tarpitted, not refused


def test_allow_listed_networks_are_never_refused() -> None:
    dovecot = Dovecot(DetectConfig.from_table({"allow": {"networks": ["127.1.0.0/16"]}}))
    answers = [dovecot.attempt(ATTACKER, f"{n:04x}", correct=False) for n in range(15)]
    assert set(answers) == {0}


def test_our_own_refusals_are_not_counted_as_wrong_passwords() -> None:
    dovecot = Dovecot()
    for _ in range(20):
        dovecot.call("report", _body(OTHER, "0109", success=False, policy_reject=True))
    assert dovecot.attempt(OTHER, "0109", correct=False) == 0
