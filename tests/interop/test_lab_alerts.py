"""``saslscope logs alerts`` names incidents a real Postfix 3.7 + Dovecot logged.

Python's smtplib plays the clients, each bound to its own 127.0.0.0/8 source address: a burst
of wrong passwords on alice from 127.0.0.2 and then her right password from there (bruteforce,
guessed_password), centos7 sending from five addresses (many_ips) and a burst of twelve
messages from one (volume_spike, rate_limit). The thresholds are lowered with a --config file
(the way an admin tunes them) so that the lab stays fast, and loopback is not "the server
itself" here, because every lab client connects over loopback.
"""

from __future__ import annotations

import json
import re
import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest
from interop_tools import saslscope
from tests.interop.lab import ALICE, CENTOS7, LabUser, PostfixLab

pytestmark = pytest.mark.interop

QUEUED_RE = re.compile(r"queued as ([0-9A-Za-z]+)")
CONFIG = """
[networks]
loopback_is_local = false
[bruteforce]
failures = 6
[guessed_password]
failures = 6
[many_ips]
addresses = 4
[volume_spike]
min_messages = 10
[rate_limit]
messages = 10
"""


def _connect(lab: PostfixLab, source: str) -> smtplib.SMTP:
    smtp = smtplib.SMTP(lab.host, lab.ports.cleartext_auth, source_address=(source, 0), timeout=20)
    smtp.ehlo("client.test")
    return smtp


def _wrong_password(lab: PostfixLab, source: str) -> None:
    with _connect(lab, source) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(ALICE.address, "not-her-password")


def _send(lab: PostfixLab, source: str, user: LabUser, count: int) -> list[str]:
    """``count`` messages in one session; their queue ids."""
    ids = []
    with _connect(lab, source) as smtp:
        smtp.login(user.address, user.password)
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = user.address, ALICE.address, f"burst {n}"
            message.set_content("lab alerts test\n")
            smtp.mail(user.address)
            smtp.rcpt(ALICE.address)
            code, reply = smtp.data(message.as_bytes())
            assert code == 250, reply
            ids.append(QUEUED_RE.findall(reply.decode())[-1])
    return ids


def test_alerts_name_the_incidents_of_the_real_postfix_log(postfix_lab: PostfixLab, tmp_path: Path) -> None:
    lab = postfix_lab
    offset = len(lab.maillog_text())
    with ThreadPoolExecutor(4) as pool:          # wrong-password burst, connections in parallel
        list(pool.map(lambda _: _wrong_password(lab, "127.0.0.2"), range(8)))
    ids = _send(lab, "127.0.0.2", ALICE, 1)           # ... then the right password from there
    ids += _send(lab, "127.0.0.3", CENTOS7, 12)       # a burst
    for n in range(4, 8):                             # more source addresses
        ids += _send(lab, f"127.0.0.{n}", CENTOS7, 1)
    for qid in ids:
        lab.wait_for_log(f"{qid}: removed")

    log = tmp_path / "lab.log"
    log.write_text(lab.maillog_text()[offset:], encoding="utf-8")
    config = tmp_path / "alerts.toml"
    config.write_text(CONFIG)
    result = saslscope("logs", "alerts", "--json", "--config", str(config), "--fail-on", "high", str(log))
    assert result.returncode == 9, result.stderr           # --fail-on high: something is at least high
    data = json.loads(result.stdout)
    assert data["lines"]["unparsed"] == 0
    found = {(f["kind"], f["username"], f["ip"]) for f in data["findings"]}
    assert ("bruteforce", ALICE.address, "127.0.0.2") in found
    assert ("guessed_password", ALICE.address, "127.0.0.2") in found
    assert any(k == "many_ips" and u == CENTOS7.address for k, u, _ in found)
    assert ("volume_spike", CENTOS7.address, "127.0.0.3") in found
    assert ("rate_limit", CENTOS7.address, "127.0.0.3") in found
    brute = next(f for f in data["findings"] if f["kind"] == "bruteforce")
    assert brute["evidence_total"] == 6 and all(
        "authentication failed" in e["text"] and e["source"] == str(log) for e in brute["evidence"])
    guess = next(f for f in data["findings"] if f["kind"] == "guessed_password")
    assert f"{ids[0]}: client=" in guess["evidence"][0]["text"]
    verdicts = {a["username"]: a["verdict"] for a in data["accounts"]}
    assert verdicts == {ALICE.address: "compromised", CENTOS7.address: "compromised"}

    # with the defaults loopback is the server itself: the same log is local logins, nothing louder
    default = json.loads(saslscope("logs", "alerts", "--json", str(log)).stdout)
    assert {f["kind"] for f in default["findings"] if f["severity"] != "info"} <= {"bruteforce", "guessed_password"}
    assert {f["kind"] for f in default["findings"] if f["severity"] == "info"} == {"local_login"}
