"""``check_sasl_access`` on a real Postfix: after saslscope writes the table, the flagged
account's next message waits in the hold queue (or is refused) and other accounts' mail flows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from saslscope.cli.exitcodes import Exit
from saslscope.detect.findings import Verdict
from saslscope.enforce.sasl_access import Account, main_cf_lines, write_table
from tests.interop.lab import ALICE, CENTOS7, PostfixLab

from interop_tools import count_log, find_message, saslscope, saslscope_login, wait_for_count

pytestmark = pytest.mark.interop
REMOVED = r"postfix/qmgr\[\d+\]: \w+: removed"


@pytest.fixture
def table(postfix_lab: PostfixLab) -> Iterator[Path]:
    """The table lives in the lab's config directory: smtpd (user postfix) must read it."""
    path = postfix_lab.config_dir / "saslscope_access"
    yield path
    for leftover in (path, path.with_name(path.name + ".db")):
        leftover.unlink(missing_ok=True)


def _send(lab: PostfixLab, sender: object, to: object) -> tuple[int, str]:
    subject = f"sasl access {uuid.uuid4().hex[:8]}"
    user = CENTOS7 if sender is CENTOS7 else ALICE
    recipient = ALICE if to is ALICE else CENTOS7
    result = saslscope_login(lab, lab.ports.submission, "--from", user.address, "--to", recipient.address,
                             "--subject", subject, "--body", "check_sasl_access test", user=user, mech="PLAIN")
    return result.returncode, subject


def _restriction(path: Path) -> dict[str, str]:
    (line,) = main_cf_lines(str(path))
    name, _, value = line.partition(" = ")
    return {name: value}


def test_hold_keeps_the_flagged_accounts_mail_and_lets_others_flow(postfix_lab: PostfixLab, table: Path) -> None:
    written = write_table(str(table), [Account(CENTOS7.address, Verdict.COMPROMISED, ("guessed_password",)),
                                       Account(ALICE.address, Verdict.SUSPICIOUS, ("new_network",))],
                          at_least=Verdict.COMPROMISED, action="HOLD", config_dir=str(postfix_lab.config_dir))
    assert written.entries == [CENTOS7.address]
    before = {m["queue_id"] for m in postfix_lab.hold_queue()}
    with postfix_lab.postconf(_restriction(table)):
        status, _ = _send(postfix_lab, CENTOS7, ALICE)
        assert status == Exit.OK          # HOLD accepts the message: the sender notices nothing
        held = [m for m in postfix_lab.hold_queue() if m["queue_id"] not in before]
        assert [m["sender"] for m in held] == [CENTOS7.address]
        wait_for_count(postfix_lab, r"hold: .*saslscope compromised \(guessed_password\)", 1)
        status, subject = _send(postfix_lab, ALICE, CENTOS7)
        assert status == Exit.OK
        find_message(postfix_lab, CENTOS7, subject)
    assert {m["queue_id"] for m in postfix_lab.hold_queue()} - before == {held[0]["queue_id"]}


def test_reject_refuses_the_flagged_account(postfix_lab: PostfixLab, table: Path) -> None:
    write_table(str(table), [Account(CENTOS7.address, Verdict.SUSPICIOUS, ("many_ips",))],
                at_least=Verdict.SUSPICIOUS, action="REJECT", config_dir=str(postfix_lab.config_dir))
    with postfix_lab.postconf(_restriction(table)):
        status, _ = _send(postfix_lab, CENTOS7, ALICE)
        assert status == Exit.SMTP_REFUSED
        wait_for_count(postfix_lab, r"reject: (MAIL|RCPT) from .*Account temporarily locked", 1)
        status, subject = _send(postfix_lab, ALICE, CENTOS7)
        assert status == Exit.OK
        find_message(postfix_lab, CENTOS7, subject)


def test_alerts_hold_the_account_whose_password_was_guessed(postfix_lab: PostfixLab, table: Path,
                                                            tmp_path: Path) -> None:
    """The whole loop on real logs: ten wrong passwords then the right one on centos7 (guessed_password,
    compromised); ``logs alerts --db --postfix-sasl-access`` writes the table; Postfix holds
    centos7's next message and alice's mail flows."""
    lab = postfix_lab
    offset = len(lab.maillog_text())
    removed = count_log(lab, REMOVED)
    for _ in range(10):
        wrong = saslscope_login(lab, lab.ports.submission, user=CENTOS7, mech="PLAIN", password="guess-wrong")
        assert wrong.returncode == Exit.AUTH_FAILED, wrong.stderr
    status, _ = _send(lab, CENTOS7, ALICE)
    assert status == Exit.OK
    wait_for_count(lab, REMOVED, removed + 1)          # the message's last line is in the log
    log = tmp_path / "mail.log"
    log.write_text(lab.maillog_text()[offset:], encoding="utf-8")
    config = tmp_path / "alerts.toml"
    config.write_text("[networks]\nloopback_is_local = false\n")     # every lab client is on loopback
    result = saslscope("logs", "alerts", "--db", str(tmp_path / "history.db"), "--config", str(config),
                       "--postfix-sasl-access", str(table), "--postfix-config", str(lab.config_dir), str(log))
    assert result.returncode == Exit.OK, result.stderr
    assert "guessed_password" in result.stdout and f"check_sasl_access hash:{table}" in result.stderr
    before = {m["queue_id"] for m in lab.hold_queue()}
    with lab.postconf(_restriction(table)):
        _send(lab, CENTOS7, ALICE)
        held = [m for m in lab.hold_queue() if m["queue_id"] not in before]
        assert [m["sender"] for m in held] == [CENTOS7.address]
        status, subject = _send(lab, ALICE, CENTOS7)
        assert status == Exit.OK
        find_message(lab, CENTOS7, subject)

