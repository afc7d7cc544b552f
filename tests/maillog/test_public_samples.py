"""Lines quoted from public corpora (fail2ban's test logs): none may be unparsed."""

from __future__ import annotations

from saslscope.maillog import analyze

from maillog_data import log_lines


def test_public_samples_parse_completely():
    lines = log_lines("public-samples.log")
    analysis = analyze(lines=lines)
    assert [u.text for u in analysis.unparsed] == []
    assert analysis.lines.total == len(lines)


def test_public_sample_failures_are_counted_from_the_lines_themselves():
    lines = log_lines("public-samples.log")
    s = analyze(lines=lines).summary()
    assert s["auth_failures"] == sum("SASL" in ln and "authentication failed" in ln for ln in lines)
    by_ip = {f["ip"]: f for f in s["failures_by_ip"]}
    assert by_ip["1.1.1.1"]["count"] == sum("[1.1.1.1]: SASL" in ln for ln in lines)
    assert by_ip["82.221.106.233"]["methods"] == ["LOGIN", "login"]   # spelled as the client did
    # Dovecot: only lines with "auth failed" are failures; "no auth attempts" is not one
    dovecot = s["dovecot"]["failures"]
    assert sum(f["count"] for f in dovecot) == sum(
        "auth failed" in ln or "pam_authenticate() failed" in ln for ln in lines)
    assert {"ip": "49.176.98.87", "username": "username.bob", "count": 1} in dovecot
