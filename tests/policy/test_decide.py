"""From requests to answers, without sockets: counting once per message, quotas, actions,
blocks that expire, allow-lists, per-account overrides, dry run. Time is given, not read."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors import default_detectors
from saslscope.detect.signals import AuthSucceeded, MessageSubmitted, UnauthenticatedMessage
from saslscope.detect.state import MemoryState, Window
from saslscope.policy.decide import ConnectionState, Decider, signals_for
from saslscope.policy.metrics import Metrics
from saslscope.policy.protocol import PolicyParser, PolicyRequest

DATA = Path(__file__).parent / "data"
T0 = 1_765_000_000.0


def _capture(name: str) -> list[tuple[int, PolicyRequest]]:
    """(Postfix's connection number, request) for each request of a capture."""
    out = []
    for line in (DATA / name).read_text().splitlines():
        record = json.loads(line)
        (request,) = PolicyParser().receive_data(("\n".join(record["attrs"]) + "\n\n").encode())
        out.append((record["conn"], request))
    return out


def _request(state: str = "RCPT", user: str = "alice@example.test", instance: str = "i1", ip: str = "192.0.2.7",
             recipients: int = 0) -> PolicyRequest:
    attrs = {"request": "smtpd_access_policy", "protocol_state": state, "client_address": ip,
             "sasl_username": user, "instance": instance, "sender": user, "recipient_count": str(recipients)}
    return PolicyRequest(attrs)


class Harness:
    """A Decider over MemoryState, time set by the test."""

    def __init__(self, table: dict[str, object]) -> None:
        config = DetectConfig.from_table(table)  # type: ignore[arg-type]
        self.state = MemoryState()
        self.decider = Decider(config, default_detectors(config), metrics=Metrics())
        self.conns: dict[int, ConnectionState] = {}

    def ask(self, request: PolicyRequest, now: float = T0, conn: int = 0) -> str:
        state = self.conns.setdefault(conn, ConnectionState())
        pending = self.decider.begin(request, state, now)
        outcome = self.decider.finish(pending, self.state.apply(pending.ops, now))
        follow = self.state.apply(outcome.follow_ops, now) if outcome.follow_ops else []
        return self.decider.settle(outcome, follow)

    def message(self, n: int, now: float = T0, user: str = "alice@example.test", recipients: int = 1,
                ip: str = "192.0.2.7") -> list[str]:
        """One message as Postfix asks about it with the service at RCPT and END-OF-MESSAGE."""
        instance = f"{user}/{n}"
        answers = [self.ask(_request("RCPT", user, instance, ip), now, conn=n)]
        for _ in range(recipients - 1):
            answers.append(self.ask(_request("RCPT", user, instance, ip), now, conn=n))
        answers.append(self.ask(_request("END-OF-MESSAGE", user, instance, ip, recipients), now, conn=n))
        return answers


def test_a_message_is_counted_once_and_its_recipients_once_over_every_stage() -> None:
    conns: dict[int, ConnectionState] = {}
    signals = []
    for conn, request in _capture("postfix-3.7.11-capture-rcpt-data-eom.jsonl"):
        signals += signals_for(request, conns.setdefault(conn, ConnectionState()), None)  # type: ignore[arg-type]
    messages = [s for s in signals if isinstance(s, MessageSubmitted)]
    assert sum(s.messages for s in messages) == 2            # two messages...
    assert sum(s.recipients for s in messages) == 6          # ... of 3 recipients each
    assert sum(isinstance(s, AuthSucceeded) for s in signals) == 2
    # one connection reused by three SMTP sessions (new instance each time): three messages
    conn = ConnectionState()
    reuse = [s for _, r in _capture("postfix-3.7.11-capture-connection-reuse.jsonl")
             for s in signals_for(r, conn, None)]  # type: ignore[arg-type]
    assert sum(s.messages for s in reuse if isinstance(s, MessageSubmitted)) == 3
    assert sum(s.recipients for s in reuse if isinstance(s, MessageSubmitted)) == 3


def test_unauthenticated_mail_is_counted_per_client_address() -> None:
    conn = ConnectionState()
    request = _request("DATA", user="", recipients=4)
    (signal,) = signals_for(request, conn, None)  # type: ignore[arg-type]
    assert isinstance(signal, UnauthenticatedMessage) and (signal.messages, signal.recipients) == (1, 4)
    h = Harness({"quota": {"ip_messages": "2/1h"}, "policy": {"kinds": ["rate_limit=reject"]}})
    answers = [h.ask(_request("DATA", user="", instance=f"u{n}"), T0 + n) for n in range(3)]
    assert answers[:2] == ["DUNNO", "DUNNO"]
    assert answers[2].startswith("REJECT 5.7.1")
    assert h.ask(_request("DATA", user="", instance="other", ip="198.51.100.1"), T0 + 4) == "DUNNO"


def test_the_51st_message_is_held_and_another_account_still_flows() -> None:
    h = Harness({"quota": {"user_messages": "50/1h"}})
    for n in range(50):
        assert h.message(n, T0 + n) == ["DUNNO", "DUNNO"]
    held = h.message(50, T0 + 50)
    assert held[0].startswith("HOLD ") and "rate_limit/user_messages" in held[0]
    assert held[1].startswith("HOLD ")                     # END-OF-MESSAGE: the block answers
    assert h.message(51, T0 + 51, user="bob@example.test") == ["DUNNO", "DUNNO"]


def test_recipients_count_from_recipient_count_not_per_rcpt_request() -> None:
    h = Harness({"quota": {"user_recipients": "5/1h"}, "policy": {"kinds": ["rate_limit=defer"]}})
    assert h.message(1, T0, recipients=3) == ["DUNNO"] * 4
    answers = h.message(2, T0 + 1, recipients=3)
    assert answers[:3] == ["DUNNO"] * 3                      # RCPT: recipients not known yet
    assert answers[3].startswith("DEFER 4.7.1") and "user_recipients" in answers[3]


def test_distinct_client_addresses_per_account() -> None:
    h = Harness({"quota": {"user_ips": "2/1h"}})
    assert h.message(1, T0, ip="192.0.2.1")[0] == "DUNNO"
    assert h.message(2, T0, ip="192.0.2.1")[0] == "DUNNO"
    assert h.message(3, T0, ip="192.0.2.2")[0] == "DUNNO"
    assert h.message(4, T0, ip="203.0.113.9")[0].startswith("HOLD")


def test_a_block_expires() -> None:
    h = Harness({"quota": {"user_messages": "1/10m"}, "policy": {"block": "30m"}})
    assert h.message(1, T0)[0] == "DUNNO"
    assert h.message(2, T0 + 1)[0].startswith("HOLD")
    # window empty after 10 min, but the block holds for 30 min after the last finding
    assert h.message(3, T0 + 900)[0].startswith("HOLD")      # 1 message in the window: held by the block
    assert h.message(4, T0 + 901 + 1800 + 600)[0] == "DUNNO"


def test_allow_lists_and_per_account_actions() -> None:
    h = Harness({"quota": {"user_messages": "1/1h"},
                 "allow": {"users": ["monitor@example.test"], "networks": ["10.0.0.0/8"]},
                 "policy": {"users": ["ceo@example.test=defer", "news@example.test=dunno"]}})
    for user, ip, expected in (("monitor@example.test", "192.0.2.1", "DUNNO"), ("alice@example.test", "10.1.2.3", "DUNNO"),
                               ("ceo@example.test", "192.0.2.1", "DEFER"), ("news@example.test", "192.0.2.1", "DUNNO"),
                               ("bob@example.test", "192.0.2.1", "HOLD")):
        h.message(1, T0, user=user, ip=ip)
        assert h.message(2, T0 + 1, user=user, ip=ip)[0].split()[0] == expected, user


def test_per_account_quota_override() -> None:
    h = Harness({"quota": {"user_messages": "1/1h", "user_overrides": ["news@example.test messages=3/1h"]}})
    assert [h.message(n, T0 + n, user="news@example.test")[0].split()[0] for n in range(4)] == ["DUNNO"] * 3 + ["HOLD"]


def test_dry_run_answers_dunno_and_logs_what_it_would_do(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness({"quota": {"user_messages": "1/1h"}, "policy": {"dry_run": True}})
    with caplog.at_level(logging.WARNING, "saslscope.policy"):
        answers = [h.message(n, T0 + n)[0] for n in range(3)]
    assert answers == ["DUNNO"] * 3
    assert "dry-run: would answer HOLD" in caplog.text
    (block,) = h.state.apply([Window("blk\0alice@example.test", 3600, weight=0)], T0 + 3)
    assert block.total == 0  # type: ignore[union-attr]


def test_the_log_names_the_rule_and_its_counters_and_quotes_the_user(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness({"quota": {"user_messages": "1/1h"}})
    evil = "eve\u2028[bold]x@example.test"
    with caplog.at_level(logging.WARNING, "saslscope.policy"):
        h.message(1, T0, user=evil)
        h.message(2, T0 + 1, user=evil)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("HOLD"))
    assert "rule=rate_limit/user_messages count=2 limit=1" in line
    assert "'eve\\u2028[bold]x@example.test'" in line          # repr: no raw line separator
    # one finding line per episode, though every message past the quota is a finding
    h.message(3, T0 + 2, user=evil)
    assert sum(r.getMessage().startswith("finding ") for r in caplog.records) == 1
