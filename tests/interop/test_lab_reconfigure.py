"""The lab's reconfiguration hooks, which the enforcement tests (policy service, Dovecot auth
policy, ``check_sasl_access``) stand on: a changed ``main.cf`` takes effect and is put back,
the hold queue is readable, and Dovecot restarted with extra settings still authenticates."""

from __future__ import annotations

import uuid

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import ALICE, CENTOS7, PostfixLab

from interop_tools import saslscope_login

pytestmark = pytest.mark.interop


def _send(lab: PostfixLab, subject: str) -> str:
    result = saslscope_login(lab, lab.ports.submission, "--json", "--from", CENTOS7.address, "--to", ALICE.address,
                             "--subject", subject, "--body", "hold me", user=CENTOS7, mech="PLAIN")
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    return subject


def test_postconf_holds_mail_and_is_undone(postfix_lab: PostfixLab) -> None:
    before = {m["queue_id"] for m in postfix_lab.hold_queue()}
    with postfix_lab.postconf({"smtpd_data_restrictions": "check_client_access static:HOLD"}):
        assert "static:HOLD" in (postfix_lab.config_dir / "main.cf").read_text()
        _send(postfix_lab, f"held {uuid.uuid4().hex[:8]}")
        held = [m for m in postfix_lab.hold_queue() if m["queue_id"] not in before]
        assert len(held) == 1, held
    assert "static:HOLD" not in (postfix_lab.config_dir / "main.cf").read_text()


def test_dovecot_settings_restart_keeps_authentication_working(postfix_lab: PostfixLab) -> None:
    with postfix_lab.dovecot_settings("auth_verbose_passwords = no\n"):
        assert "auth_verbose_passwords" in (postfix_lab.dovecot_dir / "extra.conf").read_text()
        _send(postfix_lab, f"after restart {uuid.uuid4().hex[:8]}")
    assert (postfix_lab.dovecot_dir / "extra.conf").read_text() == ""
    _send(postfix_lab, f"after restore {uuid.uuid4().hex[:8]}")
