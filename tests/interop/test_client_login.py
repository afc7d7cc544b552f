"""``saslscope login`` against the real Postfix lab: every mechanism of every SASL backend.

For each (port, mechanism): the right password authenticates and the test message arrives
in the Maildir with its UTF-8 subject and body intact, while Postfix itself logs the
``sasl_method``/``sasl_username`` of that queue id; a wrong password is reported as rejected
(exit status 1) and Postfix logs the failed attempt. swaks, run against the same server,
must reach the same verdict for the mechanisms both tools support.
"""

from __future__ import annotations

import re
import uuid

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import ALICE, CENTOS7, CYRUS_MECHANISMS, DOVECOT_MECHANISMS, PostfixLab

from interop_tools import count_log, find_message, saslscope_json, saslscope_login, swaks, wait_for_count

pytestmark = pytest.mark.interop

#: the write-up's test body; it must arrive byte for byte
BODY = "CRAM-MD5 テストに成功しました"
#: (port attribute of LabPorts, Postfix syslog_name of that service, mechanisms offered there)
SERVICES = {
    "submission": ("postfix/submission", DOVECOT_MECHANISMS),
    "submissions": ("postfix/smtps", DOVECOT_MECHANISMS),
    "cyrus": ("postfix/cyrus", CYRUS_MECHANISMS),
}
CASES = [pytest.param(port, mech, id=f"{port}-{mech}") for port, (_, mechs) in SERVICES.items() for mech in mechs]
SWAKS_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")  # swaks 20201014 without Authen::SASL
SWAKS_AUTH_FAILED = 28


@pytest.mark.parametrize(("port_name", "mech"), CASES)
def test_right_password_authenticates_and_the_message_arrives(postfix_lab: PostfixLab, port_name: str, mech: str) -> None:
    subject = f"テスト {mech} via {port_name} {uuid.uuid4().hex[:8]}"
    result = saslscope_login(
        postfix_lab, getattr(postfix_lab.ports, port_name), "--json",
        "--from", CENTOS7.address, "--to", ALICE.address, "--subject", subject, "--body", BODY,
        user=CENTOS7, mech=mech,
    )
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    document = saslscope_json(result)
    assert document["authenticated"] is True
    assert document["mechanism"] == mech
    queue_id = document["queue_id"]
    assert queue_id and re.fullmatch(r"[0-9A-F]{6,}", queue_id), queue_id

    # Postfix's own record of the login, for exactly this message
    syslog_name = SERVICES[port_name][0]
    log = postfix_lab.wait_for_log(f"{queue_id}: removed")
    assert (
        f"{syslog_name}/smtpd[" in log
        and f"]: {queue_id}: client=unknown[127.0.0.1], sasl_method={mech}, sasl_username={CENTOS7.address}\n" in log
    ), f"no sasl_method line for {queue_id}"
    assert re.search(rf"{queue_id}: to=<{re.escape(ALICE.address)}>, .*status=sent \(delivered to maildir\)", log)

    message = find_message(postfix_lab, ALICE, subject)
    received = str(message["Received"])
    assert f"(Authenticated sender: {CENTOS7.address})" in received and " with ESMTPSA id " in received
    part = message.get_body(preferencelist=("plain",))
    assert part is not None and part.get_content_charset() == "utf-8"
    assert part.get_payload(decode=True).rstrip(b"\r\n") == BODY.encode("utf-8")
    assert message["Message-ID"] and message["Date"]


@pytest.mark.parametrize(("port_name", "mech"), CASES)
def test_wrong_password_is_reported_as_rejected(postfix_lab: PostfixLab, port_name: str, mech: str) -> None:
    syslog_name = SERVICES[port_name][0]
    failure_line = rf"^.* {re.escape(syslog_name)}/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.1\]: SASL {re.escape(mech)} authentication failed: .*, sasl_username={re.escape(CENTOS7.address)}$"
    failures_before = count_log(postfix_lab, failure_line)
    result = saslscope_login(
        postfix_lab, getattr(postfix_lab.ports, port_name), "--json", "--to", ALICE.address,
        user=CENTOS7, mech=mech, password="not-the-password",
    )
    assert result.returncode == Exit.AUTH_FAILED, result.stdout + result.stderr
    document = saslscope_json(result)
    assert document["authenticated"] is False
    assert document["auth_reply"]["code"] == 535
    assert document["queue_id"] is None and document["mail_replies"] == []  # nothing sent
    assert wait_for_count(postfix_lab, failure_line, failures_before + 1) >= failures_before + 1


@pytest.mark.parametrize("port_name", ["submission", "submissions", "cyrus"])
@pytest.mark.parametrize("mech", SWAKS_MECHANISMS)
@pytest.mark.parametrize("right_password", [True, False], ids=["right", "wrong"])
def test_swaks_reaches_the_same_verdict(postfix_lab: PostfixLab, port_name: str, mech: str, right_password: bool) -> None:
    port = getattr(postfix_lab.ports, port_name)
    password = ALICE.password if right_password else "not-the-password"
    ours = saslscope_login(postfix_lab, port, user=ALICE, mech=mech, password=password)
    theirs = swaks(
        postfix_lab, port, "--quit-after", "AUTH", tls="implicit" if port_name == "submissions" else "starttls",
        mech=mech, user=ALICE.address, password=password,
    )
    swaks_verdict = {0: Exit.OK, SWAKS_AUTH_FAILED: Exit.AUTH_FAILED}.get(theirs.returncode)
    assert swaks_verdict is not None, f"swaks failed for another reason: {theirs.returncode} {theirs.stdout}"
    assert ours.returncode == swaks_verdict, ours.stdout + ours.stderr
    assert swaks_verdict == (Exit.OK if right_password else Exit.AUTH_FAILED)
