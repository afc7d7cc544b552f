"""The write-up's 13 log lines: what the admin followed by hand, done by the tool."""

from __future__ import annotations

from saslscope.maillog import analyze

from maillog_data import DATA, log_lines

QID = "A4FCE204384E"


def test_trace_returns_every_line_of_the_message_and_its_session_in_order():
    lines = log_lines("seed-writeup.log")
    [t] = analyze(lines=lines, keep=QID).trace(QID)
    # Independent expectation from the text: lines naming the queue id or the smtpd process,
    # plus milter-manager's end-of-session line for the milter session (23631) that added
    # the DKIM-Filter header to this message.
    expected = [ln for ln in lines if QID in ln or "postfix/smtpd[7771]" in ln or "(23631)" in ln]
    assert len(expected) == 12
    assert t["lines"] == expected
    assert not any("[sessions][finished]" in ln for ln in t["lines"])
    assert t["queue_id"] == QID
    assert t["sasl_username"] == "centos7@phoenixknight.jp"
    assert t["message_id"] == "20180917034926.A4FCE204384E@ik1-331-25649.vs.sakura.ne.jp"
    assert t["recipients"] == [{"to": "test@example.com", "orig_to": None,
                                "relay": "mfgw4.ocn.ad.jp[153.153.63.103]:25", "status": "sent", "dsn": "2.0.0",
                                "detail": "250 2.0.0 Ok: queued as C5B4BD40283",
                                "time": t["recipients"][0]["time"], "attempts": 1}]
    assert t["session"]["tls"] == "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"
    assert t["local"] is True


def test_trace_by_message_id_with_or_without_brackets():
    lines = log_lines("seed-writeup.log")
    mid = "<20180917034926.A4FCE204384E@ik1-331-25649.vs.sakura.ne.jp>"
    analysis = analyze(lines=lines, keep=True)
    assert [t["queue_id"] for t in analysis.trace(mid)] == [QID]
    assert [t["queue_id"] for t in analysis.trace(mid.strip("<>"))] == [QID]
    assert analysis.trace("NOSUCHID") == []


def test_summary_names_the_user_method_and_marks_the_login_local():
    s = analyze([DATA / "seed-writeup.log"]).summary()
    assert s["lines"] == {"total": 13, "parsed": 12, "ignored": 1, "unparsed": 0, "outside_range": 0}
    assert s["sasl_messages"] == 1
    assert s["auth_failures"] == 0
    [user] = s["users"]
    assert user["username"] == "centos7@phoenixknight.jp"
    assert user["methods"] == ["cram-md5"]          # the client's own spelling: a script
    assert user["messages"] == 1 and user["recipients"] == 1
    assert user["client_ips"] == ["153.126.190.153"]
    # the client name's first label is the syslog host field: the server itself
    assert user["local"] is True
    assert user["hints"] == ["lowercase-method", "local-login"] and user["auth_failures"] == 0


def test_same_client_seen_from_another_host_is_remote():
    lines = [ln.replace(" ik1-331-25649 ", " otherhost ", 1) for ln in log_lines("seed-writeup.log")]
    [user] = analyze(lines=lines).summary()["users"]
    assert user["local"] is False and user["remote_messages"] == 1


def test_own_address_option_marks_an_unnamed_client_local():
    lines = [ln.replace("ik1-331-25649.vs.sakura.ne.jp[", "unknown[") for ln in log_lines("seed-writeup.log")]
    assert analyze(lines=lines).summary()["users"][0]["local"] is False
    s = analyze(lines=lines, own_addresses=["153.126.190.153"]).summary()
    assert s["users"][0]["local"] is True
