"""The rate_limit detector through the engine, as ``logs alerts`` would run it: every message
past a quota is a finding, with the messages that made it as evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saslscope.detect import ConfigError, DetectConfig, Engine, Evidence, Kind, MessageSubmitted, UnauthenticatedMessage
from saslscope.detect.signals import AuthSucceeded

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _message(n: int, user: str = "alice@example.org", recipients: int = 1, messages: int = 1) -> MessageSubmitted:
    time = T0 + timedelta(minutes=n)
    return MessageSubmitted(time=time, username=user, ip="192.0.2.7", sender=user, recipients=recipients,
                            evidence=Evidence("mail.log", n, f"line {n}", time), messages=messages)


def test_every_message_past_the_quota_is_a_finding_with_its_evidence() -> None:
    engine = Engine(DetectConfig.from_table({"quota": {"user_messages": "3/1h"}}))
    findings = engine.feed_all(_message(n) for n in range(5))
    assert [f.metrics["count"] for f in findings] == [4, 5]
    first = findings[0]
    assert first.kind is Kind.RATE_LIMIT and first.username == "alice@example.org"
    assert [e.line for e in first.evidence] == [0, 1, 2, 3] and first.evidence_total == 4
    assert first.start == T0 and first.reason == "4 messages within 1h (limit 3)"
    # the window slides: at minute 63 it holds the messages of minutes 4 and 63 only
    assert engine.feed(_message(63)) == []


def test_recipients_weigh_and_messages_zero_adds_recipients_only() -> None:
    engine = Engine(DetectConfig.from_table({"quota": {"user_messages": "1/1h", "user_recipients": "10/1h"}}))
    assert engine.feed(_message(0, recipients=0)) == []                 # counted at RCPT
    assert engine.feed(_message(0, recipients=8, messages=0)) == []     # its recipients later
    (finding,) = engine.feed(_message(1, recipients=3, messages=0))
    assert finding.metrics["rule"] == "user_recipients" and finding.metrics["count"] == 11


def test_client_addresses_unauthenticated_mail_and_allow_lists() -> None:
    config = DetectConfig.from_table({"quota": {"user_ips": "1/1h", "ip_messages": "1/1h"},
                                      "allow": {"networks": ["198.51.100.0/24"]}})
    engine = Engine(config)
    ev = Evidence("mail.log", 1, "x")
    logins = [AuthSucceeded(time=T0, ip=ip, username="bob@example.org", method="PLAIN", service="smtp", evidence=ev)
              for ip in ("192.0.2.1", "192.0.2.1", "198.51.100.9", "203.0.113.5")]
    assert [len(engine.feed(s)) for s in logins] == [0, 0, 0, 1]
    relayed = [UnauthenticatedMessage(time=T0, ip=ip, sender="", recipients=1, evidence=ev)
               for ip in ("192.0.2.50", "192.0.2.50", "198.51.100.1", "198.51.100.1")]
    assert [len(engine.feed(s)) for s in relayed] == [0, 1, 0, 0]


@pytest.mark.parametrize("table", [
    {"quota": {"user_messages": "50"}},
    {"quota": {"user_messages": "0/1h"}},
    {"quota": {"user_overrides": ["news@example.org bogus=1/1h"]}},
    {"policy": {"high": "quarantine"}},
    {"policy": {"kinds": ["rate_limit"]}},
    {"policy": {"hold_text": "line\nbreak"}},
])
def test_bad_quota_and_policy_settings_are_config_errors(table: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        DetectConfig.from_table(table)  # type: ignore[arg-type]
