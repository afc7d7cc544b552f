"""``check_sasl_access`` on a real Postfix: after saslscope writes the table, the flagged
account's next message waits in the hold queue (or is refused) and other accounts' mail flows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_tools import find_message, saslscope_login, wait_for_count
from tests.interop.lab import ALICE, CENTOS7, PostfixLab

from saslscope.cli.exitcodes import Exit
from saslscope.detect.findings import Verdict
from saslscope.enforce.sasl_access import Account, main_cf_lines, write_table

pytestmark = pytest.mark.interop


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
