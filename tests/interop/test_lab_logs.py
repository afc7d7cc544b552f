"""``saslscope logs`` on what a real Postfix 3.7 + Dovecot + Cyrus wrote about logins we made.

swaks logs in on every SASL port of the lab (some sending a message, one only
authenticating, two with a wrong password); the analysis of the lab's postlogd log must
show each login with its user, method and address, each wrong password as a failure,
the login without a message as an AUTH-only session, and no unparsed line at all.
"""

from __future__ import annotations

import json
import re

import pytest

from saslscope.maillog import analyze
from tests.interop.lab import ALICE, CENTOS7, PostfixLab

from interop_tools import saslscope, swaks

pytestmark = pytest.mark.interop

QUEUED_RE = re.compile(r"queued as ([0-9A-Za-z]+)")


def _new_log_lines(lab: PostfixLab, offset: int) -> list[str]:
    return lab.maillog_text()[offset:].splitlines()


def test_every_lab_login_and_failure_appears_in_the_log_analysis(postfix_lab: PostfixLab, tmp_path) -> None:
    lab = postfix_lab
    offset = len(lab.maillog_text())
    sends = [  # (port, tls, mechanism, user)
        (lab.ports.submission, "starttls", "PLAIN", CENTOS7),
        (lab.ports.submissions, "implicit", "LOGIN", ALICE),
        (lab.ports.cleartext_auth, None, "CRAM-MD5", ALICE),
        (lab.ports.cyrus, "starttls", "CRAM-MD5", CENTOS7),
    ]
    queue_ids = []
    for port, tls, mech, user in sends:
        result = swaks(lab, port, "--to", ALICE.address, "--from", user.address, tls=tls,
                       mech=mech, user=user.address, password=user.password)
        assert result.returncode == 0, result.stdout + result.stderr
        queue_ids.append(QUEUED_RE.findall(result.stdout)[-1])
    wrong = [(lab.ports.submission, "LOGIN", CENTOS7), (lab.ports.cyrus, "PLAIN", ALICE)]
    for port, mech, user in wrong:
        result = swaks(lab, port, "--quit-after", "AUTH", mech=mech, user=user.address, password="wrong!")
        assert result.returncode == 28, result.stdout   # swaks: no authentication type succeeded
    only_auth = swaks(lab, lab.ports.submission, "--quit-after", "AUTH", mech="PLAIN",
                      user=ALICE.address, password=ALICE.password)
    assert only_auth.returncode == 0, only_auth.stdout
    for qid in queue_ids:
        lab.wait_for_log(f"{qid}: removed")
    lab.wait_for_log("auth=1 quit=1")

    lines = _new_log_lines(lab, offset)
    analysis = analyze(lines=lines, keep=True)
    assert [u.text for u in analysis.unparsed] == []
    logins = analysis.logins()
    assert [(r["username"], r["method"].upper(), r["client_ip"], r["queue_id"]) for r in logins] == [
        (user.address, mech, lab.host, qid) for (_, _, mech, user), qid in zip(sends, queue_ids)]
    assert all(r["local"] for r in logins)            # 127.0.0.1: a process on the server itself
    failures = analysis.failures()
    assert failures["auth_failures"] == len(wrong)
    assert sorted(f["username"] for f in failures["by_username"]) == sorted(u.address for _, _, u in wrong)
    assert {f["ip"] for f in failures["by_ip"]} == {lab.host}
    summary = analysis.summary()
    assert any(s["auth"] == "1" or s["auth"].startswith("1/") for s in summary["auth_only_sessions"])
    for qid in queue_ids:
        [t] = analysis.trace(qid)
        assert t["recipients"][0]["to"] == ALICE.address and t["recipients"][0]["status"] == "sent"
        # the trace ends with the queue file's removal, or with its session's disconnect when smtpd
        # logs that after qmgr's removed (commands=6 without STARTTLS, 8 with it)
        last = t["lines"][-1]
        assert any("connect from" in ln for ln in t["lines"])
        assert last.endswith("removed") or re.search(r"disconnect from \S+ .*commands=\d+$", last), last

    # the real command on the real file gives the same facts
    log_file = tmp_path / "lab.log"
    log_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli = saslscope("logs", "summary", "--json", str(log_file))
    assert cli.returncode == 0, cli.stderr
    data = json.loads(cli.stdout)
    assert data["lines"]["unparsed"] == 0
    assert {u["username"] for u in data["users"]} == {CENTOS7.address, ALICE.address}
    assert data["sasl_messages"] == len(sends)


def test_the_lab_dovecot_log_has_no_unparsed_line(postfix_lab: PostfixLab) -> None:
    swaks(postfix_lab, postfix_lab.ports.submission, "--quit-after", "AUTH", mech="PLAIN",
          user=CENTOS7.address, password="wrong!")
    postfix_lab.wait_for_log("auth=0/1")
    analysis = analyze([postfix_lab.dovecot_log_path])
    assert analysis.lines.total > 0
    assert [u.text for u in analysis.unparsed] == []
