"""Postfix/Dovecot mail-log forensics: who authenticated, from where, and what they sent.

Library entry point (see docs/logs.md)::

    from saslscope.maillog import analyze
    analysis = analyze(["/var/log/mail.log"], keep=True)
    analysis.summary()          # dict: lines, sasl_messages, auth_failures, users, failures_by_ip...
    analysis.trace("A4FCE204384E")   # list of dicts: queue_id, sasl_username, recipients, lines...

Stages, each usable alone: :mod:`.sources` (files -> lines), :mod:`.timestamps`,
:mod:`.parse` (line -> event), :mod:`.correlate` (events -> sessions/messages),
:mod:`.report` (results -> data).
"""

from saslscope.maillog.analysis import Analysis, analyze
from saslscope.maillog.sources import LogInputError

__all__ = ["Analysis", "LogInputError", "analyze"]
