"""The syslog line header, written once: every reader of it (the parser's fast and general
splits, the prefilter's block patterns, the year inference across chunks) is built from
these pieces, so the shapes they accept cannot drift apart.

A header is ``<PRI>``? then the time, then an optional FreeBSD ``<mail.info>``, the host
(absent in Dovecot's own log_path files and in multilog files), BusyBox syslogd's
``mail.info`` (Alpine's default syslogd writes facility.level after the host), the program
with an optional ``[pid]``, then Solaris' optional ``[ID 197553 mail.info]``. Times:

* BSD ``Mmm dd hh:mm:ss``: day space- or zero-padded (postlogd's ``strftime("%b %d")``), or
  unpadded ``Sep 7`` in logs that went through space-squeezing tools; it may carry
  microseconds (``journalctl -o short-precise``);
* RFC 3339 (rsyslog's ``RSYSLOG_FileFormat``, ``journalctl -o short-iso``);
* a daemontools/multilog TAI64N label ``@400000004c91b044077a9e94``.

Every piece is a character class or a bounded repeat, so matching a header is linear in the
line's length. The ``block`` variants exclude ``\\n``: they run over a block of many lines.
"""

from __future__ import annotations

import re

PRI = rb"<\d{1,3}>(?:1 )?"
# the common shape: a padded day
BSD_STAMP = rb"[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d"
BSD_STAMP_ANY_DAY = rb"[A-Z][a-z]{2} [ 0-3]?\d \d\d:\d\d:\d\d"
RFC3339_START = rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d"
SYSLOG_FACILITY = rb"(?:kern|user|mail|daemon|auth|authpriv|syslog|lpr|news|uucp|cron|ftp|local[0-7])"
SYSLOG_LEVEL = rb"(?:emerg|alert|crit|err|error|warn|warning|notice|info|debug)"


def host(block: bool = False) -> bytes:
    """A host name: no space, colon or bracket."""
    return rb"[^ :\[\]\n]++" if block else rb"[^ :\[\]]+"


def program(block: bool = False) -> bytes:
    """A program name (``postfix/submission/smtpd``): no space, colon or bracket."""
    return rb"[^ \[\]:\n]++" if block else rb"[^ \[\]:]+"


def postfix_service(block: bool = False) -> bytes:
    """``postfix`` (or ``postfix-in``...) and its service parts up to the daemon, with the
    last ``/``: ``postfix/submission/``."""
    part = rb"[^ \[\]:\n/]" if block else rb"[^ \[\]:/]"
    return rb"postfix" + part + rb"*+/(?:" + part + rb"++/)*+"


def rfc3339_stamp(block: bool = False) -> bytes:
    return RFC3339_START + (rb"[^ \n]*+" if block else rb"[^ ]*")


# The general shape (groups ts, frac, tai, host, prog, pid).
HEADER_RE = re.compile(
    rb"(?:" + PRI + rb")?"
    rb"(?:(?P<ts>" + BSD_STAMP_ANY_DAY + rb"(?P<frac>\.\d{1,9})?|" + rfc3339_stamp() + rb")"
    rb"|@(?P<tai>[0-9a-f]{24})) "
    rb"(?:<[\w.]+> )?"
    rb"(?:(?P<host>" + host() + rb") )?"
    rb"(?:" + SYSLOG_FACILITY + rb"\." + SYSLOG_LEVEL + rb" )?"
    rb"(?P<prog>" + program() + rb")(?:\[(?P<pid>\d*)\])?: "
    rb"(?:\[ID \d+ [\w.]+\] )?")

# The common shape (BSD or postlogd time, host, program[pid]) as one cheap expression; every
# other shape goes through HEADER_RE. The two agree (tests/maillog/test_properties.py).
FAST_HEADER_RE = re.compile(rb"(" + BSD_STAMP + rb") (" + host() + rb") (" + program() + rb")\[(\d*)\]: ")

# The time at the start of a line, alone (for the year inference across chunks).
STAMP_RE = re.compile(rb"(?:" + PRI + rb")?(?:(?P<bsd>" + BSD_STAMP_ANY_DAY + rb")|(?P<iso>" + RFC3339_START + rb"))")

# The start of a syslog line inside another program's message (a relayed container log).
NESTED_START_RE = re.compile(rb"" + BSD_STAMP_ANY_DAY + rb" |\d{4}-\d\d-\d\d[T ]\d\d:|<\d{1,3}>")
