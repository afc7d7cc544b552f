"""The library API (``saslscope.smtp.client``) and ``--mech all`` against the real lab.

Most interop tests drive the installed CLI; these few call the library directly, the way
``demo`` and other programs do, and check ``--mech all``: every mechanism the server
advertises is tried on its own connection and each one works with the right password.
"""

from __future__ import annotations

import dataclasses

import pytest

from saslscope.cli.exitcodes import Exit
from saslscope.sasl.base import ClientCredentials
from saslscope.smtp.client import LoginOptions, login, login_each_mechanism
from saslscope.smtp.errors import Outcome
from saslscope.smtp.message import MessageSpec
from saslscope.smtp.transport import TlsMode, TlsSettings
from tests.interop.lab import ALICE, CENTOS7, CYRUS_MECHANISMS, DOVECOT_MECHANISMS, SINK_ADDRESS, PostfixLab

from interop_tools import find_message, saslscope_json, saslscope_login

pytestmark = pytest.mark.interop

PORTS = {"submission": DOVECOT_MECHANISMS, "submissions": DOVECOT_MECHANISMS, "cyrus": CYRUS_MECHANISMS}


def options(lab: PostfixLab, port_name: str, **changes: object) -> LoginOptions:
    base = LoginOptions(
        host=lab.host,
        port=getattr(lab.ports, port_name),
        tls_mode=TlsMode.IMPLICIT if port_name == "submissions" else TlsMode.STARTTLS,
        tls=TlsSettings(cafile=str(lab.ca_path)),
        credentials=ClientCredentials(username=CENTOS7.address, password=CENTOS7.password),
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("port_name", PORTS)
def test_each_advertised_mechanism_works_on_its_own_connection(postfix_lab: PostfixLab, port_name: str) -> None:
    discovery, results = login_each_mechanism(options(postfix_lab, port_name))
    assert discovery.ok, discovery.error
    assert discovery.capabilities.auth_mechanisms == PORTS[port_name]
    assert [r.mechanism for r in results] == list(PORTS[port_name])
    failed = {r.mechanism: r.error for r in results if r.outcome is not Outcome.OK}
    assert failed == {}
    assert all(r.authenticated and r.server_verified is not False for r in results)


@pytest.mark.parametrize("port_name", PORTS)
def test_mech_all_cli_prints_one_ok_row_per_mechanism(postfix_lab: PostfixLab, port_name: str) -> None:
    result = saslscope_login(postfix_lab, getattr(postfix_lab.ports, port_name), user=CENTOS7, mech="all")
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.split()]
    assert {row[0]: row[1] for row in rows if row[0] in PORTS[port_name]} == dict.fromkeys(PORTS[port_name], "ok")


def test_library_login_sends_a_utf8_message(postfix_lab: PostfixLab) -> None:
    subject = "CRAM-MD5 テスト (library)"
    body = "CRAM-MD5 テストに成功しました\n"
    result = login(
        options(
            postfix_lab, "submission", mechanism="CRAM-MD5",
            message=MessageSpec(mail_from=CENTOS7.address, recipients=(ALICE.address,), subject=subject, body=body),
        )
    )
    assert result.outcome is Outcome.OK, result.error
    assert result.authenticated and result.tls.verified
    assert result.queue_id
    log = postfix_lab.wait_for_log(f"{result.queue_id}: removed")
    assert f"{result.queue_id}: client=unknown[127.0.0.1], sasl_method=CRAM-MD5, sasl_username={CENTOS7.address}" in log
    part = find_message(postfix_lab, ALICE, subject).get_body(preferencelist=("plain",))
    assert part.get_payload(decode=True) == body.encode("utf-8")


def test_utf8_recipient_needs_and_gets_smtputf8(postfix_lab: PostfixLab) -> None:
    """An internationalised address (RFC 6531) is accepted by Postfix and rewritten to the sink."""
    recipient = "テスト@outside.invalid"
    subject = "SMTPUTF8 ✓ 確認"
    result = saslscope_login(
        postfix_lab, postfix_lab.ports.submission, "--json", "--to", recipient, "--subject", subject, "--body", "本文",
        user=CENTOS7, mech="PLAIN",
    )
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    sent = [e["text"] for e in saslscope_json(result)["transcript"] if e["direction"] == "sent"]
    mail_from = next(text for text in sent if text.startswith("MAIL FROM:"))
    assert "SMTPUTF8" in mail_from.split(">", 1)[1].split(), mail_from
    message = find_message(postfix_lab, SINK_ADDRESS, subject)
    assert message["X-Original-To"] == recipient
    assert " with UTF8SMTPSA id " in str(message["Received"])  # Postfix's own word for SMTPUTF8 + AUTH
    assert f"orig_to=<{recipient}>" in postfix_lab.wait_for_log(f"orig_to=<{recipient}>")
