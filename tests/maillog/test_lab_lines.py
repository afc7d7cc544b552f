"""Real Postfix 3.7.11 + Dovecot 2.3.19 lines from the lab notes (§5.2) and Cyrus variants."""

from __future__ import annotations

from saslscope.maillog import analyze

from maillog_data import DATA, log_lines


def test_lab_logins_failures_and_sessions():
    analysis = analyze([DATA / "lab-postfix-3.7.log"], keep=True)
    s = analysis.summary()
    assert s["lines"]["unparsed"] == 0 and s["lines"]["total"] == 16
    [user] = s["users"]
    assert user["username"] == "centos7@phoenixknight.jp"
    assert user["methods"] == ["CRAM-MD5"]
    assert user["messages"] == 2
    assert user["client_ips"] == ["127.0.0.1"] and user["local"] is True
    assert user["services"] == ["postfix/smtps/smtpd", "postfix/submission/smtpd"]
    assert user["auth_failures"] == 1 and user["hints"] == ["local-login", "failed-before"]
    [fail] = s["failures_by_ip"]
    assert fail["ip"] == "127.0.0.1" and fail["count"] == 1
    assert fail["usernames"] == ["centos7@phoenixknight.jp"]
    assert s["auth_only_sessions"] == []
    logins = analysis.logins()
    assert [r["queue_id"] for r in logins] == ["79B151624D1", "6B6051624D8"]
    assert logins[0]["message_id"] == "20261128124129.016699@vm"
    assert logins[0]["tls"].startswith("TLSv1.3 TLS_AES_256_GCM_SHA384")
    [t] = analysis.trace("79B151624D1")
    assert t["session"]["commands"]["auth"] == "1" and t["session"]["commands"]["commands"] == "8"
    assert [r["to"] for r in t["recipients"]] == ["alice@example.test"]


def test_a_login_without_a_message_is_reported_as_auth_only():
    lines = [*log_lines("lab-postfix-3.7.log")[:2],
             "Nov 28 12:41:29 mail postfix/submission/smtpd[16664]: disconnect from localhost[127.0.0.1] "
             "ehlo=2 starttls=1 auth=1 quit=1 commands=5"]
    s = analyze(lines=lines).summary()
    assert s["users"] == []
    [only] = s["auth_only_sessions"]
    assert only["auth"] == "1/1" and only["client_ip"] == "127.0.0.1" and only["local"] is True
    assert only["service"] == "postfix/submission/smtpd" and only["end"]


def test_cyrus_and_dovecot_side_lines():
    s = analyze([DATA / "lab-cyrus-dovecot.log"]).summary()
    assert s["lines"]["unparsed"] == 0
    assert s["auth_failures"] == 1          # only the line naming the client counts
    assert s["dovecot"]["failures"] == [{"ip": "127.0.0.1", "username": "centos7@phoenixknight.jp", "count": 1}]
