"""``policy serve --dovecot-auth-policy`` behind the lab's real Dovecot, with real SMTP logins.

Dovecot 2.3 posts every SMTP AUTH that Postfix hands it to the service. Attackers are played
from other 127.0.0.0/8 addresses (each its own /24, so none shares the owner's network):
distinct wrong passwords are tarpitted, then refused (Postfix answers 535 and Dovecot's log says
the policy server refused); one stale password repeated is never escalated; the owner's own
address still gets in while an attacker's is refused.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.lab import ALICE, PostfixLab

pytestmark = pytest.mark.interop

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
OWNER = "127.0.0.1"
ATTACKER = "127.1.0.9"
STALE_PHONE = "127.2.0.3"
CONFIG = """
[bruteforce]
failures = 4
[dovecot]
tarpit_after = 2
tarpit_base = 1
tarpit_max = 1
"""


@pytest.fixture
def policy_port(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "policy.toml").write_text(CONFIG)
    (tmp_path / "credentials").write_text("dovecot:lab-policy-secret\n")
    log = (tmp_path / "policy.log").open("w+")
    process = subprocess.Popen(
        [SASLSCOPE, "policy", "serve", "--dovecot-auth-policy", "127.0.0.1:0", "--config", str(tmp_path / "policy.toml"),
         "--dovecot-auth-policy-credentials-file", str(tmp_path / "credentials")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        port = _wait_for_port(log, process)
        yield port
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        process.kill()
        log.seek(0)
        print(log.read())  # shown on failure


def _wait_for_port(log: object, process: subprocess.Popen[bytes]) -> int:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = Path(log.name).read_text()  # type: ignore[attr-defined]
        if match := re.search(r"http://127\.0\.0\.1:(\d+)/", text):
            return int(match[1])
        if process.poll() is not None:
            raise AssertionError(f"policy serve exited {process.returncode}: {text}")
        time.sleep(0.05)
    raise AssertionError("policy serve did not say where it listens")


@pytest.fixture
def lab_with_policy(postfix_lab: PostfixLab, policy_port: int) -> Iterator[PostfixLab]:
    settings = (
        f"auth_policy_server_url = http://dovecot:lab-policy-secret@127.0.0.1:{policy_port}/\n"
        "auth_policy_hash_nonce = saslscope-lab-nonce\n"
    )
    with postfix_lab.dovecot_settings(settings):
        yield postfix_lab


def _login(lab: PostfixLab, source: str, password: str) -> int:
    """One PLAIN login (PLAIN: Dovecot's pwhash then tells passwords apart) from ``source``;
    the SMTP reply code."""
    context = ssl.create_default_context(cafile=str(lab.ca_path))
    with smtplib.SMTP(lab.host, lab.ports.submission, source_address=(source, 0), timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo("client.test")
        smtp.user, smtp.password = ALICE.address, password
        try:
            code, _ = smtp.auth("PLAIN", smtp.auth_plain)
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code
        return code


def test_guessing_is_tarpitted_then_refused_while_the_owner_gets_in(lab_with_policy: PostfixLab) -> None:
    lab = lab_with_policy
    assert _login(lab, OWNER, ALICE.password) == 235            # the account's own network, learnt
    codes = [_login(lab, ATTACKER, f"guess-{n}") for n in range(5)]
    assert codes == [535] * 5
    # the fourth distinct wrong password raised bruteforce: now even the right one is refused
    assert _login(lab, ATTACKER, ALICE.password) == 535
    log = lab.dovecot_log_path.read_text(errors="replace")
    assert f"policy({ALICE.address},{ATTACKER}): Policy check action is tarpit 1 second(s)" in log
    refusal = f"policy({ALICE.address},{ATTACKER}): Authentication failure due to policy server refusal: address refused: bruteforce"
    assert log.count(refusal) == 2, "the 5th guess and the right password are both refused, and said so"
    # the owner, from their own address, is not locked out by the attack
    assert _login(lab, OWNER, ALICE.password) == 235
    assert f"policy({ALICE.address},{OWNER})" not in lab.dovecot_log_path.read_text(errors="replace")


def test_one_stale_password_repeated_is_not_escalated(lab_with_policy: PostfixLab) -> None:
    lab = lab_with_policy
    assert [_login(lab, STALE_PHONE, "last-years-password") for _ in range(6)] == [535] * 6
    assert _login(lab, STALE_PHONE, ALICE.password) == 235
    # neither delayed nor refused: Dovecot logged no policy action for that address
    assert f"policy({ALICE.address},{STALE_PHONE})" not in lab.dovecot_log_path.read_text(errors="replace")
