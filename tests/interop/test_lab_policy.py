"""``policy serve`` as the lab Postfix's policy service: an authenticated user sends with
``saslscope login --to`` until the quota; the next message is held (hold queue) or deferred, as
configured, the Postfix log shows the reason, and another user's mail still flows."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from interop_tools import saslscope_login, wait_for_count
from tests.interop.lab import ALICE, CENTOS7, LabUser, PostfixLab
from tests.policy.service_process import policy_process

from saslscope.cli.exitcodes import Exit

pytestmark = pytest.mark.interop


def _send(lab: PostfixLab, user: LabUser, *recipients: str) -> tuple[str, int]:
    subject = f"policy {uuid.uuid4().hex[:10]}"
    to = [arg for r in recipients or (ALICE.address,) for arg in ("--to", r)]
    result = saslscope_login(lab, lab.ports.submission, "--from", user.address, *to, "--subject", subject,
                             "--body", "policy test", user=user, mech="PLAIN")
    return subject, result.returncode


def _policy(port: int) -> str:
    return f"check_policy_service {{ inet:127.0.0.1:{port}, timeout=10s, default_action=DUNNO }}"


def test_data_stage_quota_holds_the_next_message(postfix_lab: PostfixLab, tmp_path: Path) -> None:
    with policy_process("--user-messages", "2/1h", "--action", "hold", log=tmp_path / "policy.log") as policy, \
            postfix_lab.postconf({"smtpd_data_restrictions": _policy(policy.port)}):
        held_before = {m["queue_id"] for m in postfix_lab.hold_queue()}
        for _ in range(2):
            _, status = _send(postfix_lab, CENTOS7)
            assert status == Exit.OK
        assert not [m for m in postfix_lab.hold_queue() if m["queue_id"] not in held_before]
        _, status = _send(postfix_lab, CENTOS7)
        assert status == Exit.OK                                   # HOLD accepts: nothing lost...
        held = [m for m in postfix_lab.hold_queue() if m["queue_id"] not in held_before]
        assert len(held) == 1 and held[0]["sender"] == CENTOS7.address   # ...and nothing sent
        pattern = r"hold: DATA from .*held for review \(rate_limit/user_messages\)"
        assert wait_for_count(postfix_lab, pattern, 1) == 1, postfix_lab.maillog_text()[-2000:]
        assert "HOLD user='centos7@phoenixknight.jp'" in policy.log_text()
        # another account's mail still flows
        _, status = _send(postfix_lab, ALICE, CENTOS7.address)
        assert status == Exit.OK
        assert len([m for m in postfix_lab.hold_queue() if m["queue_id"] not in held_before]) == 1


def test_rcpt_stage_counts_a_message_once_and_defers_past_the_quota(postfix_lab: PostfixLab, tmp_path: Path) -> None:
    with policy_process("--user-messages", "2/1h", "--action", "defer", log=tmp_path / "policy.log") as policy, \
            postfix_lab.postconf({"smtpd_recipient_restrictions": _policy(policy.port)}):
        # two messages of three recipients each: two messages, not six
        for _ in range(2):
            _, status = _send(postfix_lab, ALICE, ALICE.address, CENTOS7.address, "someone@elsewhere.test")
            assert status == Exit.OK
        _, status = _send(postfix_lab, ALICE)
        assert status == Exit.SMTP_REFUSED                          # 450: the client will retry
        pattern = r"reject: RCPT from .*: 450 4\.7\.1 .*sending limit reached, try again later \(rate_limit/user_messages\)"
        assert wait_for_count(postfix_lab, pattern, 1) == 1, postfix_lab.maillog_text()[-2000:]
        assert "DEFER user='alice@example.test'" in policy.log_text()
        _, status = _send(postfix_lab, CENTOS7)
        assert status == Exit.OK
