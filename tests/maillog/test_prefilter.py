"""The summary prefilter skips lines in bulk; the summary must not change because of it."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from saslscope.maillog import analyze, summarize

from maillog_data import DATA, log_lines, without_times

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import genlog


def same_summary(lines: list[str], in_time_order: bool = True) -> dict:
    """The summary and failures with the prefilter equal those of a full parse."""
    slow, fast = analyze(lines=lines), summarize(lines=lines)
    strip = (lambda d: d) if in_time_order else without_times
    assert strip(fast.summary()) == strip(slow.summary())
    assert strip(fast.failures()) == strip(slow.failures())
    assert [(u.line_number, u.text) for u in fast.unparsed] == [(u.line_number, u.text) for u in slow.unparsed]
    return fast.summary()


@pytest.mark.parametrize("name", ["seed-writeup.log", "lab-postfix-3.7.log", "lab-cyrus-dovecot.log",
                                  "public-samples.log", "real-world.log"])
def test_data_files(name):
    same_summary(log_lines(name), in_time_order=name not in ("public-samples.log", "real-world.log"))


def test_generated_busy_log_and_that_the_prefilter_really_skips():
    out = io.StringIO()
    genlog.generate(20_000, seed=7, out=out)
    lines = out.getvalue().splitlines()
    s = same_summary(lines)
    assert s["lines"]["total"] == 20_000 and s["lines"]["unparsed"] == 0
    assert s["sasl_messages"] == sum("sasl_username=" in ln and "client=" in ln for ln in lines)
    # the files path (blocks) gives the same as in-memory lines
    path = DATA.parent / "data" / "seed-writeup.log"
    assert summarize([path]).summary()["users"] == analyze([path]).summary()["users"]


VARIANTS = [
    "Sep 17 12:49:26 mail postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Sep 17 12:49:26 mail postfix/smtpd[1]: Anonymous TLS connection established from a[192.0.2.1]: TLSv1.3 with cipher X (256/256 bits)",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: C3CD21F3E90: client=a[192.0.2.1], sasl_method=PLAIN, sasl_username=u",
    "Sep 17 12:49:27 mail postfix/submission/smtpd[1]: Untrusted TLS connection established from a[192.0.2.1]: TLSv1.2 with cipher Y (128/128 bits)",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: warning: a[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: warning: hostname a does not resolve to address 192.0.2.1",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: message repeated 2 times: [ warning: a[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6]",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h>",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h> sasl_method=PLAIN sasl_username=u",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: lost connection after AUTH from a[192.0.2.1]",
    "Sep 17 12:49:28 mail postfix/cleanup[2]: C3CD21F3E90: message-id=<m@x>",
    "Sep 17 12:49:28 mail postfix/qmgr[3]: C3CD21F3E90: from=<u@x>, size=1, nrcpt=2 (queue active)",
    "Sep 17 12:49:28 mail postfix/smtp[4]: C3CD21F3E90: to=<x@y>, relay=y[192.0.2.7]:25, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)",
    "Sep 17 12:49:28 mail postfix/qmgr[3]: C3CD21F3E90: removed",
    "Sep 17 12:49:29 mail postfix/smtpd[1]: disconnect from a[192.0.2.1] ehlo=1 auth=1/2 mail=1 commands=3/4",
    "Sep 17 12:49:29 mail postfix/postscreen[5]: CONNECT from [192.0.2.1]:1 to [192.0.2.25]:25",
    "Sep 17 12:49:29 mail postfix/smtpd[1]: disconnect from a[192.0.2.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
    "Sep 17 12:49:29 mail postfix/smtpd[1]: disconnect from a[192.0.2.1]",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: D3CD21F3E91: client=a[192.0.2.1]",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: D3CD21F3E91: client=a[192.0.2.1], sasl_sender=x@y",
    "Sep 17 12:49:28 mail postfix/qmgr[3]: D3CD21F3E91: from=<x@y>, size=1, nrcpt=5 (queue active)",
    "Sep 17 12:49:28 mail postfix/qmgr[3]: D3CD21F3E91: removed",
    "Sep 17 12:49:29 mail postfix/smtpd[1]: something unknown",
    "Sep 17 12:49:29 mail CRON[9]: (root) CMD (true)",
    "garbage \x00 line",
]


TAILS = ["", "x", " ]: y", "\r", "[1]", " sasl_username=z", " authentication failed", ": client=a[1]", ")",
         " (1 bytes)", "\x00", " after X from y[1]", " auth=1", ">, size=1, nrcpt=2"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VARIANTS), st.sampled_from(TAILS), st.integers(0, 80),
                          st.integers(0, 60), st.booleans()), max_size=12))
def test_any_mix_of_lines(cases):
    # Lines are mutilated (cut, text inserted or appended) and either share process 1 or get
    # a process of their own. Two kinds always get their own process, because fast mode does
    # not read them: a connect (when a disconnect is missing, the full parser closes the
    # session at the next connect) and a disconnect without "auth=" (Postfix >= 3.0 counts
    # the AUTH of every session that authenticated, so such a line never ends one we follow).
    lines = []
    for i, (line, tail, cut, at, same_process) in enumerate(cases):
        if not same_process or ": connect from" in line or ("disconnect" in line and "auth=" not in line):
            line = re.sub(r"\[\d+\]: ", f"[{i + 100}]: ", line, count=1)
        if cut < 40:
            line = line[:len(line) - cut]
        lines.append(line[:at] + tail + line[at:] if at > 40 else line + tail)
    same_summary(lines)


def test_unknown_options_are_refused_and_a_summary_offers_no_logins():
    with pytest.raises(TypeError):
        analyze(lines=[], only="everything")          # an options field that does not exist
    fast = summarize(lines=log_lines("seed-writeup.log"))
    assert not hasattr(fast, "logins")               # the prefilter skips what logins() needs


def test_a_delivery_whose_reply_holds_a_comma_is_skipped_inside_the_engine():
    # the linear delivery pattern once stopped its key=value loop inside such a reply and handed
    # every greylisted deferral (a third of a busy log's deliveries) to Python
    from saslscope.maillog.correlate import Correlator, LocalityJudge
    from saslscope.maillog.parse import LineParser
    from saslscope.maillog.prefilter import Prefilter

    line = (b"Sep  1 00:00:17 mail postfix/smtp[1079]: C736911: to=<r@gmail.com>, relay=mx[203.0.113.40]:25, "
            b"delay=8.6, delays=0.1/0.01/0.2/0.13, dsn=4.7.1, status=deferred (host said: 450 4.7.1 Greylisted, "
            b"try again later)\n")
    prefilter = Prefilter(LineParser(year=2026), Correlator(LocalityJudge()).feed)
    handed = list(prefilter.lines(line * 3, 1))
    assert len(handed) <= 1 and prefilter.skipped >= 2     # only a block's last line may be handed over
