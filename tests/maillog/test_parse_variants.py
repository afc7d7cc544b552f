"""Line variants across Postfix 2.x-3.11, syslog front ends and Dovecot 2.3/2.4 (notes/postfix-log-formats.md)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from saslscope.maillog import analyze, events as ev
from saslscope.maillog.parse import LineParser, Unparsed, smtpd_event

NOW = datetime(2026, 11, 28, 12, 0, 0)


def parse(line: str, **kw):
    return LineParser(now=NOW, **kw).parse(line.encode())


@pytest.mark.parametrize("prefix, expected", [
    ("Sep 17 12:49:26 mail", datetime(2026, 9, 17, 12, 49, 26)),
    ("Sep  7 12:49:26 mail", datetime(2026, 9, 7, 12, 49, 26)),
    ("Sep 07 12:49:26 mail", datetime(2026, 9, 7, 12, 49, 26)),          # postlogd: zero-padded day
    ("<22>Sep  7 12:49:26 mail", datetime(2026, 9, 7, 12, 49, 26)),      # <PRI>
    ("Sep  7 12:49:26 <mail.info> mail", datetime(2026, 9, 7, 12, 49, 26)),   # FreeBSD verbose
    ("2026-11-28T12:00:00.123456+09:00 mail", datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)),
    ("2026-11-28T12:00:00+0900 mail", datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)),
    ("2026-11-28T03:00:00Z mail", datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)),
    ("2026-11-28T03:00:00.1Z mail", datetime(2026, 11, 28, 3, 0, 0, 100000, tzinfo=UTC)),
    ("Sep  7 12:49:26.123456 mail", datetime(2026, 9, 7, 12, 49, 26, 123456)),   # journalctl -o short-precise
    ("Sep 7 12:49:26 mail", datetime(2026, 9, 7, 12, 49, 26)),                   # padding squeezed away
    ("Sep  7 12:49:26 mail mail.info", datetime(2026, 9, 7, 12, 49, 26)),        # BusyBox syslogd
    ("@400000006a28f0f80000000a", datetime(2026, 6, 10, 5, 6, 54, tzinfo=UTC)),  # TAI64N: 2**62+10+unix
])
def test_timestamp_forms(prefix, expected):
    e = parse(f"{prefix} postfix/smtpd[7771]: connect from unknown[192.0.2.1]")
    assert isinstance(e, ev.Connect) and e.client_ip == "192.0.2.1" and e.pid == 7771
    if expected.tzinfo is None:
        expected = expected.astimezone()
    assert e.time == expected


def test_journal_json_export():
    obj = {"__REALTIME_TIMESTAMP": "1795869689000000", "SYSLOG_IDENTIFIER": "postfix/submission/smtpd",
           "_PID": "16664", "_HOSTNAME": "mail", "MESSAGE": "79B151624D1: client=localhost[127.0.0.1], "
           "sasl_method=PLAIN, sasl_username=alice@example.test"}
    e = parse(json.dumps(obj))
    assert isinstance(e, ev.ClientLine) and e.sasl_username == "alice@example.test" and e.pid == 16664
    assert e.time == datetime.fromtimestamp(1795869689, tz=UTC)
    assert isinstance(parse("{not json"), Unparsed)


@pytest.mark.parametrize("program", ["postfix/smtpd", "postfix/submission/smtpd", "postfix/submissions/smtpd",
                                     "postfix-out/smtpd", "postfix/smtp-25/smtpd", "postfix-smo/submission/smtpd",
                                     "mta-in/smtpd"])
def test_program_names(program):
    e = parse(f"Sep 17 12:49:26 mail {program}[1]: 3Pt2mN2VXxznjll: client=unknown[192.0.2.1], "
              "sasl_method=LOGIN, sasl_username=bob")
    assert isinstance(e, ev.ClientLine) and e.queue_id == "3Pt2mN2VXxznjll" and e.program == program


def test_custom_syslog_name_regex():
    # syslog_name/process: a known Postfix process name is enough ...
    assert isinstance(parse("Sep 17 12:49:26 mail edge/smtpd[1]: connect from unknown[192.0.2.1]"), ev.Connect)
    # ... an unknown one needs --syslog-name
    line = "Sep 17 12:49:26 mail edge/newdaemon[1]: C3CD21F3E90: removed"
    assert not isinstance(parse(line), ev.Removed)     # a third-party line naming a queue id
    assert isinstance(parse(line, syslog_name=r"edge"), ev.Removed)


@pytest.mark.parametrize("tail, fields", [
    ("client=a[192.0.2.1]", (None, None, None, None, None)),
    ("client=a[192.0.2.1], sasl_sender=bob@x", (None, None, "bob@x", None, None)),
    ("client=a[192.0.2.1], sasl_method=PLAIN, sasl_username=Doe, John", ("PLAIN", "Doe, John", None, None, None)),
    ("client=a[192.0.2.1]:4242, sasl_method=cram-md5, sasl_username=u, sasl_sender=s, orig_queue_id=ABCDEF123, "
     "orig_client=b[198.51.100.1]", ("cram-md5", "u", "s", "ABCDEF123", "b[198.51.100.1]")),
])
def test_client_line_any_subset_of_fields(tail, fields):
    e = parse(f"Sep 17 12:49:26 mail postfix/smtpd[1]: C3CD21F3E90: {tail}")
    assert isinstance(e, ev.ClientLine) and e.client_ip == "192.0.2.1" and e.client_name == "a"
    assert (e.sasl_method, e.sasl_username, e.sasl_sender, e.orig_queue_id, e.orig_client) == fields


KEYS = [b", sasl_method=", b", sasl_username=", b", sasl_sender=", b", orig_queue_id=", b", orig_client="]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([k.decode() for k in KEYS] + ["u", ", ", "=", "x,y"]), max_size=9))
def test_client_line_is_cut_at_the_keys_in_their_fixed_order(parts):
    rest = ("a[192.0.2.1]" + "".join(parts)).encode()
    e = smtpd_event(None, "mail", "postfix/smtpd", 1, b"C3CD21F3E90: client=" + rest)
    # the rule: a key counts where it first occurs after the key before it in Postfix's order
    # (a key out of order is text of the value it falls in); a value runs to the next such key
    starts, pos, last = [], 0, -1
    while True:
        found = [(rest.find(key, pos), i, key) for i, key in enumerate(KEYS) if i > last and rest.find(key, pos) >= 0]
        if not found:
            break
        at, last, key = min(found)
        starts.append((at, key))
        pos = at + len(key)
    ends = [at for at, _ in starts[1:]] + [len(rest)]
    cut = {key: rest[at + len(key):end].decode() for (at, key), end in zip(starts, ends)}
    assert [e.sasl_method, e.sasl_username, e.sasl_sender, e.orig_queue_id, e.orig_client] == [
        cut.get(key) for key in KEYS]


def test_sasl_sender_alone_and_anonymous_are_not_logins():
    lines = ["Sep 17 12:49:26 mail postfix/smtpd[1]: C3CD21F3E90: client=a[192.0.2.1], sasl_sender=bob@x",
             "Sep 17 12:49:27 mail postfix/smtpd[2]: C3CD21F3E91: client=a[192.0.2.1], sasl_method=ANONYMOUS, "
             "sasl_username=anonymous"]
    s = analyze(lines=lines).summary()
    assert s["users"] == []


@pytest.mark.parametrize("line, method, reason, user", [
    ("warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", "LOGIN", "UGFzc3dvcmQ6", None),
    ("warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=a@b",
     "LOGIN", "UGFzc3dvcmQ6", "a@b"),
    ("warning: unknown[192.0.2.9]: SASL PLAIN authentication failed: ", "PLAIN", "", None),
    ("warning: unknown[192.0.2.9]: SASL PLAIN authentication failed: , sasl_username=a@b", "PLAIN", "", "a@b"),
    ("warning: unknown[192.0.2.9]: SASL CRAM-MD5 authentication failed: (reason unavailable), "
     "sasl_username=(unavailable)", "CRAM-MD5", "(reason unavailable)", None),
])
def test_sasl_failure_variants(line, method, reason, user):
    e = parse(f"Sep 17 12:49:26 mail postfix/submission/smtpd[1]: {line}")
    assert isinstance(e, ev.AuthFailure)
    assert (e.client_ip, e.method, e.reason, e.username) == ("192.0.2.9", method, reason, user)


# The reason/name cut as Postfix's format reads: the reason is the shortest text after which
# ", sasl_username=" and the name, or nothing, end the message (a journal MESSAGE may end in "\n")
SASL_FAILURE_SPEC = re.compile(rb"warning: ([^ ]+\[[^\]]*\](?::\d+)?|[0-9A-Fa-f.:]+): SASL (\S*) authentication "
                               rb"failed(?:: ?|$)(.*?)(?:, sasl_username=(.*))?$")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([", sasl_username=", "x", ",", " ", "\n", "(unavailable)", ":", ": "]), max_size=8))
def test_sasl_failure_reason_and_name_as_the_format_reads(parts):
    msg = ("warning: a[192.0.2.9]: SASL LOGIN authentication failed" + "".join(parts)).encode()
    e = smtpd_event(None, "mail", "postfix/smtpd", 1, msg)
    m = SASL_FAILURE_SPEC.match(msg)
    if m is None:
        assert isinstance(e, ev.SessionNote)
    else:
        user = m.group(4)
        assert isinstance(e, ev.AuthFailure) and (e.reason, e.username) == (
            m.group(3).decode(), None if user in (None, b"(unavailable)") else user.decode())


def test_disconnect_counters_and_postfix_2_bare_disconnect():
    e = parse("Sep 17 12:49:26 mail postfix/smtpd[1]: disconnect from unknown[192.0.2.9] ehlo=1 auth=0/1 "
              "quit=1 commands=2/3")
    assert e.counters == {"ehlo": (1, 1), "auth": (0, 1), "quit": (1, 1), "commands": (2, 3)}
    e = parse("Sep 17 12:49:26 mail postfix/smtpd[1]: disconnect from unknown[192.0.2.9]")
    assert isinstance(e, ev.Disconnect) and e.counters == {}


@pytest.mark.parametrize("msg", ["lost connection after AUTH from unknown[192.0.2.9]",
                                 "NOQUEUE: lost connection after AUTH from unknown[192.0.2.9]",
                                 "timeout after END-OF-MESSAGE (1234 bytes) from unknown[192.0.2.9]",
                                 "C3CD21F3E90: too many errors after RCPT from unknown[192.0.2.9]"])
def test_abort_variants(msg):
    e = parse(f"Sep 17 12:49:26 mail postfix/smtpd[1]: {msg}")
    assert isinstance(e, ev.Abort) and e.client_ip == "192.0.2.9"


def test_noqueue_reject_with_sasl_fields_of_postfix_3_10():
    e = parse("Sep 17 12:49:26 mail postfix/submission/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: "
              "554 5.7.1 <x@example.net>: Relay access denied; from=<a@b> to=<x@example.net> proto=ESMTP "
              "helo=<h> sasl_method=PLAIN sasl_username=bob@example.com")
    assert isinstance(e, ev.Reject) and e.queue_id is None and e.action == "reject" and e.stage == "RCPT"
    assert e.fields == {"from": "a@b", "to": "x@example.net", "proto": "ESMTP", "helo": "h",
                        "sasl_method": "PLAIN", "sasl_username": "bob@example.com"}


def test_delivery_is_a_key_value_list_with_optional_fields():
    e = parse("Sep 17 12:49:26 mail postfix/smtp[1]: C3CD21F3E90: to=<x@example.net>, orig_to=<x@alias>, "
              "relay=mx.example.net[198.51.100.7]:25, conn_use=2, delay=1.2, delays=0.1/0/0.5/0.6, "
              "tls=may/requiretls:none, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XAB)")
    assert isinstance(e, ev.Delivery)
    assert (e.to, e.status, e.dsn, e.relay) == ("x@example.net", "sent", "2.0.0", "mx.example.net[198.51.100.7]:25")
    assert e.fields == {"orig_to": "x@alias", "conn_use": "2", "delay": "1.2", "delays": "0.1/0/0.5/0.6",
                        "tls": "may/requiretls:none"}
    assert e.detail == "250 2.0.0 Ok: queued as 4XAB"


RECOGNISED = """\
Sep 17 12:49:26 mail postfix/master[1]: daemon started -- version 3.7.11, configuration /etc/postfix
Sep 17 12:49:26 mail postfix/postfix-script[2]: starting the Postfix mail system
Sep 17 12:49:26 mail postfix/postscreen[3]: CONNECT from [192.0.2.1]:4242 to [192.0.2.25]:25
Sep 17 12:49:26 mail postfix/postscreen[3]: PASS NEW [192.0.2.1]:4242
Sep 17 12:49:26 mail postfix/postscreen[3]: DNSBL rank 3 for [192.0.2.1]:4242
Sep 17 12:49:26 mail postfix/postscreen[3]: NOQUEUE: reject: RCPT from [192.0.2.1]:4242: 550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>
Sep 17 12:49:26 mail postfix/postscreen[3]: DISCONNECT [192.0.2.1]:4242
Sep 17 12:49:26 mail postfix/smtpd[4]: warning: hostname x.example does not resolve to address 192.0.2.1
Sep 17 12:49:26 mail postfix/submission/smtpd[4]: warning: AUTH command rate limit exceeded: 6 from x[192.0.2.1] for service submission
Sep 17 12:49:26 mail postfix/smtpd[4]: SSL_accept error from unknown[192.0.2.1]: lost connection
Sep 17 12:49:26 mail postfix/smtpd[4]: improper command pipelining after EHLO from unknown[192.0.2.1]: QUIT
Sep 17 12:49:26 mail postfix/smtpd[4]: C3CD21F3E90: reject: RCPT from unknown[192.0.2.1]: 550 5.1.1 <x@y>: Recipient address rejected: User unknown; from=<a@b> to=<x@y> proto=ESMTP helo=<h>
Sep 17 12:49:26 mail postfix/cleanup[5]: C3CD21F3E90: milter-reject: END-OF-MESSAGE from unknown[192.0.2.1]: 5.7.1 Spam; from=<a@b> to=<x@y> proto=ESMTP helo=<h>
Sep 17 12:49:26 mail postfix/cleanup[5]: C3CD21F3E90: warning: header Subject: hi from unknown[192.0.2.1]; from=<a@b> to=<x@y> proto=ESMTP helo=<h>
Sep 17 12:49:26 mail postfix/cleanup[5]: C3CD21F3E90: message-id=<>
Sep 17 12:49:26 mail postfix/cleanup[5]: C3CD21F3E90: resent-message-id=<r@x>
Sep 17 12:49:26 mail postfix/cleanup[5]: C3CD21F3E90: canceled
Sep 17 12:49:26 mail postfix/pickup[6]: D3CD21F3E91: uid=0 from=<root>
Sep 17 12:49:26 mail postfix/qmgr[7]: D3CD21F3E91: from=<root@mail>, status=expired, returned to sender
Sep 17 12:49:26 mail postfix/qmgr[7]: D3CD21F3E91: to=<x@y>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to y[192.0.2.7]:25: Connection refused)
Sep 17 12:49:26 mail postfix/smtp[8]: connect to mx.y[192.0.2.7]:25: Connection refused
Sep 17 12:49:26 mail postfix/smtp[8]: D3CD21F3E91: host mx.y[192.0.2.7] said: 450 4.7.1 try later (in reply to RCPT TO command)
Sep 17 12:49:26 mail postfix/smtp[8]: Untrusted TLS connection established to mx.y[192.0.2.7]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Sep 17 12:49:26 mail postfix/bounce[9]: D3CD21F3E91: sender non-delivery notification: E3CD21F3E92
Sep 17 12:49:26 mail postfix/local[10]: E3CD21F3E92: to=<root@mail>, orig_to=<root>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Sep 17 12:49:26 mail postfix/postsuper[11]: E3CD21F3E92: removed
Sep 17 12:49:26 mail postfix/postsuper[11]: Deleted: 1 message
Sep 17 12:49:26 mail postfix/anvil[12]: statistics: max auth rate 3/60s for (submission:192.0.2.1) at Sep 17 12:49:26
Sep 17 12:49:26 mail postfix/scache[13]: statistics: start interval Sep 17 12:45:26
Sep 17 12:49:26 mail opendkim[14]: C3CD21F3E90: DKIM-Signature field added (s=mail, d=example.com)
Sep 17 12:49:26 mail dovecot: imap-login: Login: user=<alice@example.test>, method=PLAIN, rip=192.0.2.5, lip=192.0.2.25, mpid=3, TLS, session=<abc>
Sep 17 12:49:26 mail dovecot[15]: submission-login: Logged in: user=<alice@example.test>, method=SCRAM-SHA-256, rip=192.0.2.5
Sep 17 12:49:26 mail dovecot[15]: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 6 secs) (auth_failed): user=<bob>, method=PLAIN, rip=192.0.2.6, lip=192.0.2.25, session=<x>
Sep 17 12:49:26 mail dovecot: auth-worker(4242): Info: sql(bob,192.0.2.6,<x>): Password mismatch
"""


def test_recognised_lines_are_parsed_not_unparsed():
    lines = RECOGNISED.splitlines()
    a = analyze(lines=lines)
    assert [u.text for u in a.unparsed] == []
    assert a.lines.parsed == len(lines)
    s = a.summary()
    assert s["dovecot"]["logins"] == [
        {"username": "alice@example.test", "service": "imap", "count": 1, "methods": ["PLAIN"],
         "client_ips": ["192.0.2.5"]},
        {"username": "alice@example.test", "service": "submission", "count": 1, "methods": ["SCRAM-SHA-256"],
         "client_ips": ["192.0.2.5"]}]
    assert {"ip": "192.0.2.6", "username": "bob", "count": 2} in s["dovecot"]["failures"]


@pytest.mark.parametrize("line", [
    "Sep 17 12:49:26 mail postfix/smtpd[1]: something this parser has never seen",
    "Sep 17 12:49:26 mail postfix/qmgr[1]: C3CD21F3E90: a new kind of queue line",
    "\x00\x01binary junk",
    "Sep 17 12:49",                                   # a line cut short
])
def test_unknown_postfix_lines_and_junk_are_unparsed(line):
    assert isinstance(parse(line), Unparsed)


def test_other_programs_are_ignored_not_unparsed():
    a = analyze(lines=["Sep 17 12:49:26 mail CRON[1]: (root) CMD (true)",
                       "Sep 17 12:49:26 mail kernel: [1.0] eth0: link up", ""])
    assert (a.lines.total, a.lines.parsed, a.lines.ignored, a.lines.unparsed) == (3, 0, 3, 0)


def test_since_until_filter_lines_by_time():
    lines = [f"Sep 17 12:4{n}:00 mail postfix/smtpd[{n}]: C3CD21F3E9{n}: client=a[192.0.2.1], "
             f"sasl_method=PLAIN, sasl_username=u{n}" for n in range(5)]
    since = datetime(2026, 9, 17, 12, 41).astimezone()
    a = analyze(lines=lines, since=since, until=since + timedelta(minutes=2), now=NOW)
    assert [u["username"] for u in a.summary()["users"]] == ["u1", "u2"]
    assert a.lines.outside_range == 3


def test_dovecot_failure_that_falls_through_to_the_next_passdb_is_not_a_failure():
    # Dovecot's auth-request.c appends " - trying the next passdb" when another passdb follows;
    # docker-mailserver's test/tests/serial/mail_with_oauth2.bats quotes such a line
    line = ("Sep 17 12:49:26 mail dovecot: auth: passwd-file(user1@example.test,127.0.0.1): "
            "Password mismatch (SHA1 of given password: d390c1)")
    final = parse(line)
    assert isinstance(final, ev.DovecotAuthFailure) and final.username == "user1@example.test"
    assert isinstance(parse(line + " - trying the next passdb"), ev.SessionNote)
