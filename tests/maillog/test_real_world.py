"""Lines quoted from real servers in public sources (data/real-world.log, sources in its
header): none may be unparsed, and the facts a reader sees in the raw lines must come out.

Every expected value below was read off the raw line by a person (or computed from it with
standard-library code, e.g. the TAI64N label), never copied from this parser's output.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saslscope.maillog import analyze, summarize
from saslscope.maillog.parse import LineParser

from maillog_data import log_lines

LINES = log_lines("real-world.log")


@pytest.fixture(scope="module")
def summary() -> dict:
    return analyze(lines=LINES).summary()


def line_with(text: str) -> str:
    [line] = [ln for ln in LINES if text in ln]
    return line


def test_every_line_is_understood():
    analysis = analyze(lines=LINES)
    assert [u.text for u in analysis.unparsed] == []
    assert analysis.lines.total == len(LINES)
    # plesk_saslauthd's line and the desktop's journal entry are not mail evidence
    assert analysis.lines.ignored == sum(
        " plesk_saslauthd[" in ln or '"niri"' in ln or " courierpop3login: " in ln for ln in LINES)


def test_daemontools_tai64n_label_gives_the_time():
    line = line_with("method=CRAM-MD5")
    label = line[1:25]                       # "@" + 16 hex digits of seconds + 8 of nanoseconds
    expected = (datetime.fromtimestamp(int(label[:16], 16) - 2**62 - 10, tz=UTC)
                + timedelta(microseconds=int(label[16:], 16) // 1000))
    event = LineParser().parse(line.encode())
    assert event.time == expected
    assert (event.username, event.method, event.client_ip, event.ok) == (
        "martin@waschbuesch.de", "CRAM-MD5", "80.187.101.33", False)


def test_busybox_facility_level_header(summary):
    by_ip = {f["ip"]: f for f in summary["failures_by_ip"]}
    busybox = by_ip["117.217.120.52"]
    assert (busybox["count"], busybox["usernames"], busybox["methods"]) == (1, ["gwe@gr.ht"], ["PLAIN"])
    event = LineParser(year=2025).parse(line_with("mail.info postfix/smtp/smtpd").encode())
    assert (event.host, event.program, event.pid) == ("gr", "postfix/smtp/smtpd", 10108)
    assert event.counters["auth"] == (0, 1)


def test_password_guessing_bot_failures_and_counters(summary):
    by_ip = {f["ip"]: f for f in summary["failures_by_ip"]}
    assert by_ip["74.201.28.248"]["count"] == sum("[74.201.28.248]: SASL LOGIN" in ln for ln in LINES)
    assert by_ip["74.201.28.248"]["methods"] == ["LOGIN"]
    # auth=0/20: twenty AUTH commands, none successful -> not an AUTH-only login
    assert all(s["client_ip"] != "74.201.28.248" for s in summary["auth_only_sessions"])
    assert summary["auth_failures"] == sum(": SASL " in ln and "authentication failed" in ln for ln in LINES)


def test_authenticated_submission_of_the_outgoing_mail_walkthrough(summary):
    [user] = [u for u in summary["users"] if u["username"] == "username"]
    assert (user["messages"], user["recipients"], user["methods"], user["client_ips"]) == (
        1, 1, ["LOGIN"], ["XX.XX.XX.XX"])


def test_dovecot_failures_and_non_failures(summary):
    failures = {(f["ip"], f["username"]): f["count"] for f in summary["dovecot"]["failures"]}
    # auth-worker pam_authenticate() failed + auth-worker unknown user + passwd-file unknown user
    assert failures[("1.2.3.4", "username")] == 3
    assert failures[("80.51.181.144", "eft")] == 1            # 2.3 "Login aborted ... (auth_failed)"
    assert failures[("212.9.180.3", "grace")] == 1            # log_path line without a host
    assert failures[("80.187.101.33", "martin@waschbuesch.de")] == 1
    # "no auth attempts" and "tried to use disallowed plaintext auth" are not failed logins
    ips = {ip for ip, _ in failures}
    assert not ips & {"176.61.137.100", "180.189.168.166", "190.210.136.21"}


def test_unpadded_day_and_bounce_notification():
    analysis = analyze(lines=LINES, keep=True, year=2012)
    [message] = analysis.trace("310AB411")
    assert message["client_ip"] == "113.165.62.100" and message["sasl_username"] is None
    assert message["notifications"] == ["8E65CE33"] and message["removed"]
    assert message["message_id"] in ("", None)                # "message-id=<>": the message had none
    [ndr] = analysis.trace("8E65CE33")
    assert ndr["from"] == "" and ndr["nrcpt"] == 1
    received = datetime.fromisoformat(message["received"])
    assert (received.month, received.day, received.hour, received.minute) == (7, 4, 13, 1)


def test_local_pickup_message_with_two_bounced_recipients():
    analysis = analyze(lines=LINES, keep=True)
    [message] = analysis.trace("71DE942C5F")
    assert message["from"] == "user@ubuntu.localdomain" and message["nrcpt"] == 2
    assert {r["to"]: (r["status"], r["dsn"]) for r in message["recipients"]} == {
        "test@ubuntu.localdomain": ("bounced", "5.1.1"), "bjenks22446@gmail.com": ("bounced", "5.5.1")}
    assert message["notifications"] == ["EBF5C42C63"] and message["sasl_username"] is None


def test_verbose_and_tls_diagnostics_are_recognised_not_evidence():
    parser = LineParser(year=2015)
    verbose = [ln for ln in LINES if "postfix/smtpd[13491]:" in ln]
    assert len(verbose) == 7
    assert {type(parser.parse(ln.encode())).__name__ for ln in verbose} == {"SessionNote"}
    # a line of the same daemon in no known form is still reported
    unknown = verbose[0].replace("smtp_stream_setup: maxtime=300", "Smtp stream setup maxtime 300")
    assert type(parser.parse(unknown.encode())).__name__ == "Unparsed"


def test_dovecot_2_4_auth_worker_prefix_failures_and_logged_in(summary):
    failures = {(f["ip"], f["username"]): f["count"] for f in summary["dovecot"]["failures"]}
    assert failures[("45.92.33.82", "all_in@zeroxzed.ru")] == 1          # sql: Password mismatch
    assert failures[("178.16.52.107", "office@zeroxzed.ru")] == 1        # sql: unknown user
    logins = {(d["username"], d["service"]): d for d in summary["dovecot"]["logins"]}
    login = logins[("admin@zeroxzed.ru", "imap")]
    assert (login["count"], login["methods"], login["client_ips"]) == (1, ["PLAIN"], ["185.21.46.169"])
    # lda delivery lines are Dovecot lines (parsed), not other programs' (ignored)
    assert LineParser().parse(line_with("saved mail to INBOX (subject=Re: 123").encode()) is not None


def test_rfc3339_submission_login_with_tls_1_3_key_exchange():
    analysis = analyze(lines=LINES, keep=True)
    [message] = analysis.trace("7B05841236")
    assert (message["sasl_username"], message["sasl_method"], message["client_ip"]) == (
        "admin@zeroxzed.ru", "PLAIN", "185.21.46.169")
    assert message["service"] == "postfix/submission/smtpd"
    assert message["session"]["tls"] == "TLSv1.3 TLS_AES_128_GCM_SHA256"
    assert message["received"].startswith("2025-11-27T16:26:19.504798+03:00")
    assert message["notifications"] == ["8A80341270"]
    assert {r["to"]: r["status"] for r in message["recipients"]} == {
        "all_out@zeroxzed.ru": "sent", "zeroxzed@gmail.com": "bounced"}


def test_expired_and_force_expired_returns():
    parser = LineParser(year=2020)
    for qid in ("BACE842E72", "BACE842E73"):             # status=expired / status=force-expired
        event = parser.parse(line_with(f"{qid}: from=<noreply@domain.com>, status=").encode())
        assert (type(event).__name__, event.queue_id, event.sender) == ("Expired", qid, "noreply@domain.com")


def test_cyrus_sasl_failures_count_only_the_lines_naming_a_client(summary):
    by_ip = {f["ip"]: f for f in summary["failures_by_ip"]}
    # "warning: SASL authentication failure: Password verification failed" names no client; the
    # next line of the same process does
    assert by_ip["69.6.152.7"]["count"] == 1 and by_ip["69.6.152.7"]["methods"] == ["PLAIN"]
    assert by_ip["192.168.1.2"]["count"] == 1
    # a client the poster masked down to its address is still a counted failure
    assert by_ip["80.110.174.199"]["count"] == 1 and by_ip["80.110.174.199"]["methods"] == ["PLAIN"]


def test_rsyslog_repeated_message_counts_every_repetition():
    # rsyslog's reduction format, seen in the sources above for other programs ("sshd[11189]:
    # message repeated 2 times: [ Failed password ...]"), applied to a line of this file
    failure = line_with("[69.6.152.7]: SASL PLAIN authentication failed")
    head, _, message = failure.partition("postfix/smtpd[3227]: ")
    repeated = f"{head}postfix/smtpd[3227]: message repeated 2 times: [ {message}]"
    for run in (analyze, summarize):
        s = run(lines=[failure, repeated]).summary()
        assert (s["auth_failures"], s["failures_by_ip"][0]["count"]) == (3, 3)
        assert s["lines"]["parsed"] == 2 and s["lines"]["unparsed"] == 0
    unknown = f"{head}postfix/smtpd[3227]: message repeated 2 times: [ no such smtpd line]"
    assert analyze(lines=[unknown]).lines.unparsed == 1


def test_smtp_client_refused_to_talk_and_softbounce():
    parser = LineParser(year=2010)
    refused = parser.parse(line_with("4161A3CC22B: host hrndva-smtpin01").encode())
    assert (type(refused).__name__, refused.queue_id) == ("QueueNote", "4161A3CC22B")
    soft = parser.parse(line_with("status=SOFTBOUNCE").encode())
    assert (soft.to, soft.status, soft.dsn) == ("ebettley@laso.com.ar", "SOFTBOUNCE", "4.1.1")


def test_zimbra_reinjection_services_and_local_webmail_submission():
    analysis = analyze(lines=LINES, keep=True, year=2020)
    [reinjected] = analysis.trace("AF0C11035D3")
    assert reinjected["service"] == "postfix/amavisd/smtpd" and reinjected["client_ip"] == "127.0.0.1"
    assert reinjected["local"] is True
    # the webmail host submits to its own smtpd: client name "mail.hvn.space" on syslog host "mail"
    [webmail] = analysis.trace("8C0C11035C8")
    assert webmail["client_name"] == "mail.hvn.space" and webmail["local"] is True


def test_journal_json_entry():
    event = LineParser().parse(line_with('"_HOSTNAME":"andres","_EXE":"/usr/lib/postfix/bin/smtpd"').encode())
    assert (event.host, event.program, event.pid, event.client_ip, event.action) == (
        "andres", "postfix/smtpd", 314894, "91.92.41.82", "reject")
    assert event.time == datetime.fromtimestamp(1789228152650438 / 1_000_000, tz=UTC)
    assert event.fields["to"] == "verify@test.com"


def test_webmail_on_the_same_host_is_a_local_login(summary):
    [root] = [u for u in summary["users"] if u["username"] == "root@zeroxzed.ru"]
    assert (root["methods"], root["client_ips"], root["messages"], root["recipients"]) == (
        ["LOGIN"], ["127.0.0.1"], 1, 2)
    assert root["local"] is True and root["local_messages"] == 1 and root["remote_messages"] == 0
    # auth=1 on the disconnect line, but the session sent a message: not an AUTH-only session
    assert all(s["client_ip"] != "127.0.0.1" for s in summary["auth_only_sessions"])
    analysis = analyze(lines=LINES, keep="CDB9F43623")
    [message] = analysis.trace("CDB9F43623")
    assert any("opendkim[349940]: CDB9F43623: DKIM-Signature field added" in ln for ln in message["lines"])
    assert message["message_id"] == "f511cb495bf36189fbc864539c45b864@zeroxzed.ru"


def test_milter_reject_of_an_authenticated_client_and_orig_to(summary):
    [reject] = [r for r in summary["rejects_with_sasl"] if r["action"] == "milter-reject"]
    assert (reject["sasl_username"], reject["client_ip"], reject["reply"], reject["to"]) == (
        "spammer@nac.gr", "84.54.49.38", "4.7.1 Rate limit exceeded", "victim@example.com")
    delivery = LineParser(year=2025).parse(line_with("orig_to=<nobody@nac.gr>").encode())
    assert (delivery.to, delivery.fields["orig_to"], delivery.relay) == (
        "test@nac.gr", "nobody@nac.gr", "ngm.myip.gr[private/dovecot-lmtp]")


def test_docker_mailserver_submission_through_sender_cleanup_and_amavis():
    analysis = analyze(lines=LINES, keep=True, year=2019)
    [message] = analysis.trace("AE4A43A178F")
    assert (message["sasl_username"], message["client_ip"], message["service"]) == (
        "mk@jicu.vip", "172.18.0.1", "postfix/submission/smtpd")
    assert message["message_id"] == "E9DFCDA2-CEE7-4D5A-83DB-6FD301308F22@jicu.vip"
    # amavis names the original queue id in its text: the line joins the message's trace
    assert any(" amavis[595]: " in ln for ln in message["lines"])


def test_postfix_line_relayed_inside_a_container_logging_drivers_line():
    analysis = analyze(lines=LINES, keep=True)
    [message] = analysis.trace("AAAA000001")
    assert (message["from"], message["size"], message["nrcpt"], message["removed"]) == (
        "bounced-1@feedsubscription.com", 3606, 1, True)
    event = LineParser().parse(line_with("postfix/postsuper[3462]").encode())
    # the outer RFC 3339 time (it has a year and a zone), the inner program, pid and host
    assert (event.program, event.pid, event.host) == ("postfix/postsuper", 3462, "feedsubscription")
    assert event.time == datetime(2026, 10, 4, 16, 55, 13, tzinfo=UTC)


def test_dovecot_2_3_auth_worker_connection_prefix(summary):
    failures = {(f["ip"], f["username"]): f["count"] for f in summary["dovecot"]["failures"]}
    assert failures[("192.168.1.23", "user1@test.ro")] == 1          # auth-worker<N>: sql(...): Password mismatch
    # a broken passdb hash and "auth service reported temporary failure" are not guessed passwords;
    # the one "(auth failed, 1 attempts ...)" line of me@mydomain is
    assert failures[("127.0.0.1", "me@mydomain")] == 1


def test_postfix_2_3_failure_without_a_reason_is_counted(summary):
    by_ip = {f["ip"]: f for f in summary["failures_by_ip"]}
    failure = by_ip["140.98.266.216"]
    assert (failure["count"], failure["methods"], failure["client_name"]) == (
        1, ["LOGIN"], "mp206a.halls.manchester.ac.uk")


def test_postfix_before_2_1_reject_and_qmgr_forms():
    parser = LineParser(year=2004)
    reject = parser.parse(line_with("halley postfix/smtpd[9245]: reject:").encode())
    assert (type(reject).__name__, reject.queue_id, reject.action, reject.stage, reject.client_ip) == (
        "Reject", None, "reject", "RCPT", "203.156.32.33")
    assert (reject.fields["from"], reject.fields["to"]) == ("sender@aol.com", "userx@yahoo.com")
    qmgr = parser.parse(line_with("wideboy postfix/qmgr[22331]").encode())
    assert (qmgr.queue_id, qmgr.sender, qmgr.size, qmgr.nrcpt) == ("7E0E6196", "xxx@hotmail.com", 1141, None)
    local = parser.parse(line_with('status=sent ("|/usr/bin/procmail")').encode())
    assert (local.to, local.fields["orig_to"], local.status, local.dsn, local.detail) == (
        "jo@jo.com", "webmaster@toto.com", "sent", None, '"|/usr/bin/procmail"')


def test_spawned_policy_server_under_a_postfix_name_is_recognised():
    parser = LineParser(year=2015)
    for line in [ln for ln in LINES if "postfix/policy-spf[" in ln]:
        assert type(parser.parse(line.encode())).__name__ == "SessionNote", line
    # a real Postfix daemon's line of no known form is still reported
    unknown = line_with("handler sender_policy_framework").replace("postfix/policy-spf", "postfix/qmgr")
    assert type(parser.parse(unknown.encode())).__name__ == "Unparsed"
