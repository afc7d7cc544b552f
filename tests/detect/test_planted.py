"""Done-when of issue 15: a simulated month of a 50-account organisation (benchmarks/
gen_incidents.py) with planted incidents; each is found with the right kind, account and
evidence lines, and the clean month gives nothing above low and no account above normal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from saslscope.detect import DetectConfig, Kind, Severity, Verdict
from saslscope.detect.alerts import AlertsReport, run
from saslscope.detect.from_maillog import MaillogSignals

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gen_incidents  # noqa: E402


def _alerts(lines: list[str]) -> AlertsReport:
    return run(MaillogSignals(year=gen_incidents.YEAR).read_lines(lines, "month.log"), DetectConfig())


@pytest.fixture(scope="module")
def month() -> tuple[gen_incidents.Month, AlertsReport]:
    planted = gen_incidents.generate(seed=1)
    return planted, _alerts(planted.lines)


def _one(report: AlertsReport, kind: str, *, username: str | None = None, ip: str | None = None,
         severity: Severity | None = None) -> list:
    found = [f for f in report.findings if f.kind is Kind(kind) and (username is None or f.username == username)
             and (ip is None or f.ip == ip) and (severity is None or f.severity is severity)]
    assert found, f"no {kind} for {username or ip}: {[(f.kind, f.subject) for f in report.findings if f.severity > 1]}"
    return found


def _lines(finding) -> set[int]:
    assert all(e.source == "month.log" for e in finding.evidence)
    return {e.line for e in finding.evidence}


def test_the_spraying_address_is_found(month) -> None:
    planted, report = month
    _, address = gen_incidents.INCIDENTS["spray"]
    (spray,) = _one(report, "password_spray", ip=address)
    assert spray.username is None and spray.metrics["usernames"] >= 10
    assert _lines(spray) <= set(planted.incident_lines["spray"])


def test_the_bruteforced_then_guessed_password_is_found_and_the_account_compromised(month) -> None:
    planted, report = month
    _, victim = gen_incidents.INCIDENTS["guessed"]
    (brute,) = _one(report, "bruteforce", username=victim, ip="185.220.101.5")
    assert _lines(brute) <= set(planted.incident_lines["bruteforce"])
    (guess,) = _one(report, "guessed_password", username=victim)
    assert guess.severity is Severity.CRITICAL
    assert guess.evidence[0].line == planted.incident_lines["guessed"][0]       # the login itself
    assert _lines(guess) - {guess.evidence[0].line} <= set(planted.incident_lines["bruteforce"])
    assert guess.evidence_total == 41
    first_failure = planted.lines[planted.incident_lines["bruteforce"][0] - 1]
    assert guess.start is not None and guess.start.strftime("%b %d %H:%M:%S") == first_failure[:15]


def test_the_account_used_from_40_addresses_is_found(month) -> None:
    planted, report = month
    _, user = gen_incidents.INCIDENTS["many_ips"]
    high = _one(report, "many_ips", username=user, severity=Severity.HIGH)
    assert all(_lines(f) <= set(planted.incident_lines["many_ips"]) for f in high)


def test_the_spike_is_found(month) -> None:
    planted, report = month
    _, user = gen_incidents.INCIDENTS["spike"]
    (spike,) = _one(report, "volume_spike", username=user)
    assert spike.metrics["messages"] >= 100 and spike.metrics["baseline_messages"] < 2
    assert _lines(spike) <= set(planted.incident_lines["spike"])


def test_the_foreign_envelope_sender_is_found_with_both_lines(month) -> None:
    planted, report = month
    _, user = gen_incidents.INCIDENTS["foreign_sender"]
    (mismatch,) = _one(report, "sender_mismatch", username=user)
    assert mismatch.metrics["sender_domain"] == "bank-secure.example"
    assert _lines(mismatch) == set(planted.incident_lines["foreign_sender"])   # client= and qmgr from=


def test_verdicts_name_exactly_the_planted_accounts(month) -> None:
    _, report = month
    verdicts = {a.username: a.verdict for a in report.accounts if a.verdict is not Verdict.NORMAL}
    users = gen_incidents.USERS
    assert verdicts == {users[6]: Verdict.COMPROMISED, users[12]: Verdict.COMPROMISED,
                        users[20]: Verdict.COMPROMISED, users[32]: Verdict.SUSPICIOUS}
    assert [a.username for a in report.accounts[:3]] == sorted(
        [users[6], users[12], users[20]], key=lambda u: -next(a.score for a in report.accounts if a.username == u))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_clean_month_gives_nothing_above_low_and_every_account_normal(seed: int) -> None:
    report = _alerts(gen_incidents.generate(seed=seed, incidents=False).lines)
    assert report.signals > 10_000
    assert max(f.severity for f in report.findings) <= Severity.LOW
    assert {a.verdict for a in report.accounts} == {Verdict.NORMAL}
    # the webmail on localhost is seen, as information
    assert {f.username for f in report.findings if f.kind is Kind.LOCAL_LOGIN} == set(gen_incidents.WEBMAIL_USERS)
