"""Postfix/Dovecot mail-log forensics: who authenticated, from where, and what they sent.

Library entry points (see docs/logs.md)::

    from saslscope.maillog import analyze, summarize, find_traces
    summarize(["/var/log/mail.log"]).summary()      # SummaryReport: lines, users, failures_by_ip...
    analyze(["/var/log/mail.log"]).logins()         # list[LoginRow], oldest first
    find_traces(["/var/log/mail.log"], ["A4FCE204384E"]).trace("A4FCE204384E")   # list[TraceRow]

Stages, each usable alone: :mod:`.sources` (files -> lines), :mod:`.syslog` (the header
grammar), :mod:`.timestamps`, :mod:`.parse` (line -> event), :mod:`.feed` (the line loop and
the :class:`~.feed.Listener` stream), :mod:`.correlate` (events -> sessions/messages),
:mod:`.report` (results -> the typed rows of :mod:`.rows`); :mod:`.prefilter`,
:mod:`.parallel` and :mod:`.wire` make the summary fast.
"""

from saslscope.maillog.analysis import Analysis, Summary, Traces, analyze, find_traces, summarize
from saslscope.maillog.feed import Evidence, LineCounts, Listener, UnparsedLine
from saslscope.maillog.options import AnalyzeOptions
from saslscope.maillog.rows import (
                                    AuthOnlyRow,
                                    DovecotFailureRow,
                                    DovecotLoginRow,
                                    DovecotReport,
                                    FailuresByIpRow,
                                    FailuresByUserRow,
                                    FailuresReport,
                                    LineCountsRow,
                                    LoginRow,
                                    RecipientRow,
                                    RejectRow,
                                    SessionRow,
                                    SummaryReport,
                                    TraceRow,
                                    UserRow,
)
from saslscope.maillog.sources import LogInputError

__all__ = [
    "Analysis", "AnalyzeOptions", "AuthOnlyRow", "DovecotFailureRow", "DovecotLoginRow", "DovecotReport", "Evidence",
    "FailuresByIpRow", "FailuresByUserRow", "FailuresReport", "LineCounts", "LineCountsRow", "Listener",
    "LogInputError", "LoginRow", "RecipientRow", "RejectRow", "SessionRow", "Summary", "SummaryReport",
    "TraceRow", "Traces", "UnparsedLine", "UserRow", "analyze", "find_traces", "summarize",
]
