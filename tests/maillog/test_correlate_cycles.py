"""Closed sessions and messages are freed by reference counting, not left to the cyclic collector."""

from __future__ import annotations

import gc

from saslscope.maillog.correlate import Correlator, LocalityJudge, Message, Session
from saslscope.maillog.parse import LineParser

LINES = [
    "Sep 17 12:49:26 mail postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Sep 17 12:49:27 mail postfix/smtpd[1]: C3CD21F3E90: client=a[192.0.2.1], sasl_method=PLAIN, sasl_username=u",
    "Sep 17 12:49:28 mail postfix/qmgr[3]: C3CD21F3E90: from=<u@x>, size=1, nrcpt=1 (queue active)",
    "Sep 17 12:49:29 mail postfix/smtpd[1]: disconnect from a[192.0.2.1] ehlo=1 auth=1 mail=1 commands=3",
    "Sep 17 12:49:30 mail postfix/qmgr[3]: C3CD21F3E90: removed",
]


def alive() -> int:
    return sum(isinstance(o, (Session, Message)) for o in gc.get_objects())


def test_closed_sessions_and_messages_leave_no_cycles():
    parser = LineParser()
    gc.collect()
    gc.disable()
    try:
        before = alive()
        correlator = Correlator(LocalityJudge())
        for seq, line in enumerate(LINES):
            correlator.feed(parser.parse(line.encode()), seq, None)
        assert len(correlator.results.logins) == 1 and alive() == before
        traced = Correlator(LocalityJudge(), keep=True)           # a traced message keeps its session
        for seq, line in enumerate(LINES):
            traced.feed(parser.parse(line.encode()), seq, line.encode())
        assert traced.results.traced[0].session is not None
    finally:
        gc.enable()
