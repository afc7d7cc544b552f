"""The log writer against real Postfix output (lines quoted from notes/postfix-lab.md §5.2 and
the write-up), not against itself."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from hypothesis import given, strategies as st

from saslscope.smtp.server.postfix_log import (
    SMTPD_COMMANDS,
    CommandCounters,
    PostfixLog,
    TimestampStyle,
    format_delay,
    new_queue_id,
)


def counters(*commands: tuple[str, bool]) -> CommandCounters:
    result = CommandCounters()
    for command, ok in commands:
        result.started(command)
        if ok:
            result.succeeded(command)
    return result


# Each case: the commands of a session as real Postfix 3.7 saw them, and what it logged.
@pytest.mark.parametrize("session, logged", [
    ([("EHLO", True), ("STARTTLS", True), ("EHLO", True), ("AUTH", True), ("MAIL", True),
      ("RCPT", True), ("DATA", True), ("QUIT", True)],
     " ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8"),
    ([("EHLO", True), ("STARTTLS", True), ("EHLO", True), ("AUTH", False), ("QUIT", True)],
     " ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5"),
    ([("EHLO", True), ("QUIT", True)], " ehlo=1 quit=1 commands=2"),
    ([("EHLO", True), ("AUTH", True), ("MAIL", True), ("RCPT", True), ("DATA", True), ("QUIT", True)],
     " ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6"),
    ([], " commands=0/0"),
    # order is smtpd's command table, not arrival order; verbs outside it count as "unknown"
    ([("QUIT", True), ("GET", False), ("EHLO", True)], " ehlo=1 quit=1 unknown=0/1 commands=2/3"),
])
def test_disconnect_counters_match_postfix(session, logged):
    assert counters(*session).format() == logged


@given(st.lists(st.tuples(st.sampled_from([*SMTPD_COMMANDS, "HELP", "FOO"]), st.booleans()), max_size=40))
def test_counter_totals_add_up(session):
    text = counters(*session).format()
    fields = dict(re.findall(r" (\w+)=(\d+(?:/\d+)?)", text))
    total_success = total = 0
    for name, value in fields.items():
        success, _, all_ = value.partition("/")
        if name == "commands":
            continue
        total_success += int(success)
        total += int(all_ or success)
    success, _, all_ = fields["commands"].partition("/")
    assert int(success) == total_success == sum(ok for _, ok in session)
    assert int(all_ or success) == total == len(session)


@pytest.mark.parametrize("seconds, shown", [
    (76.2, "76"), (75.4, "75"), (0.36, "0.36"), (0.17, "0.17"), (0.03, "0.03"), (0.004, "0"), (0.0, "0"),
    (1.25, "1.2"), (9.96, "10"),
])
def test_delay_rounding(seconds, shown):
    # write-up: delay=76, delays=75/0.36/0.17/0.21; lab: delay=0.03, delays=0.01/0.01/0/0
    assert format_delay(seconds) == shown


def test_queue_ids_have_postfix_short_shape():
    ids = {new_queue_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9A-F]{10,12}", qid) for qid in ids)
    # the first five digits are the microseconds, as in mail_queue.h
    assert new_queue_id(now=1537151364.000255).startswith("000FF")


def fixed_clock():
    return datetime.datetime(2018, 9, 7, 3, 48, 22, 123456, tzinfo=datetime.UTC)


def test_bsd_lines_look_like_maillog_file(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    import time

    time.tzset()
    try:
        out = io.StringIO()
        log = PostfixLog(out, hostname="ik1-331-25649.vs.sakura.ne.jp", syslog_name="postfix", clock=fixed_clock)
        log.smtpd(7771, "connect from ik1-331-25649.vs.sakura.ne.jp[153.126.190.153]")
        log.write("qmgr", 4377, "A4FCE204384E: removed")
        log.smtpd(7771, "x[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", severity="warning")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert out.getvalue().splitlines() == [
        "Sep 07 12:48:22 ik1-331-25649 postfix/smtpd[7771]: connect from ik1-331-25649.vs.sakura.ne.jp[153.126.190.153]",
        "Sep 07 12:48:22 ik1-331-25649 postfix/qmgr[4377]: A4FCE204384E: removed",
        "Sep 07 12:48:22 ik1-331-25649 postfix/smtpd[7771]: warning: x[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    ]


def test_rfc3339_lines_and_service_names():
    out = io.StringIO()
    log = PostfixLog(out, hostname="mail.test", syslog_name="postfix/submission",
                     timestamps=TimestampStyle.RFC3339, clock=fixed_clock)
    log.smtpd(1, "connect from localhost[127.0.0.1]")
    log.write("cleanup", 2, "ABC: message-id=<x@y>")
    first, second = out.getvalue().splitlines()
    stamp, host, program, _ = first.split(" ", 3)
    assert datetime.datetime.fromisoformat(stamp) == fixed_clock()
    assert (host, program) == ("mail", "postfix/submission/smtpd[1]:")
    assert second.split(" ")[2] == "postfix/cleanup[2]:"


def test_control_characters_from_clients_never_reach_the_log():
    out = io.StringIO()
    PostfixLog(out).smtpd(1, "x\r\nFAKE postfix/smtpd[2]: connect from evil\x1b[31m")
    assert out.getvalue().count("\n") == 1
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
