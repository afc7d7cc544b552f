"""The lab itself, proven with independent clients (swaks) before saslscope is involved.

If these fail, the interop tests of saslscope cannot be trusted either: they check that
the lab offers what the tests assume (ports, mechanisms, TLS policy, verification against
the lab CA, fast rejection of a wrong password, the outbound sink, the logs).
"""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.interop.lab import ALICE, CENTOS7, CYRUS_MECHANISMS, DOVECOT_MECHANISMS, SINK_ADDRESS, PostfixLab

from interop_tools import swaks

pytestmark = pytest.mark.interop

SWAKS_AUTH_FAILED = 28  # swaks' exit status for "No authentication type succeeded"
#: what swaks 20201014 can do without Authen::SASL (no DIGEST-MD5, no SCRAM)
SWAKS_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


def advertised_auth(output: str) -> list[str]:
    """The mechanisms of the last ``250-AUTH`` line swaks printed (after STARTTLS if any)."""
    lines = [line for line in output.splitlines() if "250-AUTH " in line or "250 AUTH " in line]
    return lines[-1].split("AUTH ", 1)[1].split() if lines else []


@pytest.mark.parametrize("mech", SWAKS_MECHANISMS)
def test_dovecot_submission_starttls_login(postfix_lab: PostfixLab, mech: str) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.submission, "--quit-after", "AUTH",
                   mech=mech, user=CENTOS7.address, password=CENTOS7.password)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout
    assert advertised_auth(result.stdout) == list(DOVECOT_MECHANISMS)


def test_dovecot_wrong_password_is_rejected_at_once(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.submission, "--quit-after", "AUTH",
                   mech="PLAIN", user=CENTOS7.address, password="wrong-password")
    assert result.returncode == SWAKS_AUTH_FAILED, result.stdout
    assert "535 5.7.8" in result.stdout


def test_submission_offers_no_auth_before_starttls(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.submission, "--quit-after", "AUTH", tls=None,
                   mech="CRAM-MD5", user=CENTOS7.address, password=CENTOS7.password)
    assert result.returncode == SWAKS_AUTH_FAILED
    assert "250-STARTTLS" in result.stdout
    assert advertised_auth(result.stdout) == []


def test_implicit_tls_port_login(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.submissions, "--quit-after", "AUTH", tls="implicit",
                   mech="CRAM-MD5", user=ALICE.address, password=ALICE.password)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0" in result.stdout


def test_cleartext_auth_port_offers_plain_without_tls(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.cleartext_auth, "--quit-after", "AUTH", tls=None,
                   mech="CRAM-MD5", user=ALICE.address, password=ALICE.password)
    assert result.returncode == 0, result.stdout
    assert advertised_auth(result.stdout) == list(DOVECOT_MECHANISMS)


@pytest.mark.parametrize("mech", SWAKS_MECHANISMS)
def test_cyrus_port_login(postfix_lab: PostfixLab, mech: str) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.cyrus, "--quit-after", "AUTH",
                   mech=mech, user=CENTOS7.address, password=CENTOS7.password)
    assert result.returncode == 0, result.stdout + result.stderr
    assert advertised_auth(result.stdout) == list(CYRUS_MECHANISMS)


def test_cyrus_wrong_password(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.cyrus, "--quit-after", "AUTH",
                   mech="CRAM-MD5", user=CENTOS7.address, password="wrong-password")
    assert result.returncode == SWAKS_AUTH_FAILED
    assert "535 5.7.8 Error: authentication failed: authentication failure" in result.stdout


def test_plain_port_has_no_auth_and_denies_relay(postfix_lab: PostfixLab) -> None:
    result = swaks(postfix_lab, postfix_lab.ports.smtp, "--from", "someone@elsewhere.invalid",
                   "--to", "victim@outside.invalid", tls=None)
    assert "554 5.7.1 <victim@outside.invalid>: Relay access denied" in result.stdout
    assert "AUTH" not in result.stdout.split("RCPT")[0]


def test_outside_recipient_lands_in_the_sink_and_is_logged(postfix_lab: PostfixLab) -> None:
    before = set(postfix_lab.delivered_messages(SINK_ADDRESS))
    result = swaks(postfix_lab, postfix_lab.ports.submission, "--from", CENTOS7.address,
                   "--to", "someone@outside.invalid", "--header", "Subject: lab sink check",
                   mech="CRAM-MD5", user=CENTOS7.address, password=CENTOS7.password)
    assert result.returncode == 0, result.stdout + result.stderr
    queue_id = result.stdout.split("Ok: queued as ", 1)[1].split()[0]
    new = postfix_lab.wait_for_delivery(SINK_ADDRESS, before)
    message = email.message_from_bytes(new.read_bytes(), policy=email.policy.default)
    assert message["X-Original-To"] == "someone@outside.invalid"
    assert message["Subject"] == "lab sink check"
    log = postfix_lab.wait_for_log(f"{queue_id}: removed")
    assert f"{queue_id}: client=unknown[127.0.0.1], sasl_method=CRAM-MD5, sasl_username={CENTOS7.address}" in log
    assert f"{queue_id}: to=<{SINK_ADDRESS}>, orig_to=<someone@outside.invalid>, relay=virtual" in log

