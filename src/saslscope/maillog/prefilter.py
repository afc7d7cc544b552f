"""Skip, inside the regular-expression engine, the lines a summary does not need.

On a busy server most lines are connects, TLS handshakes, cleanup ``message-id`` lines,
deliveries and postscreen chatter; ``summary`` and ``failures`` need none of them. Parsing
each in Python costs far more than recognising it in C, so :class:`SummaryPrefilter` runs
one expression over a whole block that returns only the *other* lines; the skipped ones
are counted as parsed. Every pattern here is deliberately narrower than what
:class:`saslscope.maillog.parse.LineParser` accepts for the same kind, so a skipped line is
always a line the parser would also have recognised; anything unusual reaches the parser.
tests/maillog/test_prefilter.py checks that summaries with and without it are identical.

Not used with ``--since/--until`` (every line's time matters) or for ``trace``/``logins``.
One known difference: when an smtpd process's ``disconnect`` line is missing (lost log
lines, a crashed process), the full parser closes that session at the process's next
``connect``; without connect lines the session runs on to the next ``disconnect``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from saslscope.maillog.parse import QUEUE_ID

_TIME = rb"(?:[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ \n]*)"
# a Postfix program: postfix..., then optional service parts, then the daemon
_POSTFIX = _TIME + rb" [^ :\[\]\n]+ postfix[^ \[\]:\n/]*/(?:[^ \[\]:\n/]+/)*"
_NAMADDR = rb"[^ \[\]\n]*\[[^\]\n]*\](?::\d+)?"

_SKIPPABLE = [
    # smtpd: connect, TLS, warnings other than SASL failures, aborts, rejects without sasl_*
    _POSTFIX + rb"smtpd\[\d+\]: (?:"
    rb"connect from [^\n]*"
    rb"|warning: (?![^\n]*authentication failed)[^\n]*"
    # the parser tries "QID: client=" on the first 60 bytes before the kinds below
    rb"|(?![^\n]{0,51}: client=)(?:"
    rb"\w+ TLS connection established from [^ \n]+?: \S+ with cipher \S+[^\n]*"
    rb"|(?:(?:NOQUEUE|" + QUEUE_ID + rb"): )?(?:lost connection|timeout|too many errors) after \S+"
    rb"(?: \(\d+ bytes\))? from " + _NAMADDR + rb"[^\n]*"
    rb"|NOQUEUE: reject: (?![^\n]*sasl_)\S+ from " + _NAMADDR + rb": [^\n]*))",
    # cleanup's message-id
    _POSTFIX + rb"cleanup\[\d+\]: " + QUEUE_ID + rb": (?:resent-)?message-id=[^\n]*",
    # every delivery agent's (and qmgr's) "QID: to=<...>, ..., status=..." line
    _POSTFIX + rb"(?:smtp|lmtp|local|virtual|pipe|error|discard|retry|qmgr)\[\d+\]: " + QUEUE_ID
    + rb": to=<[^\n]*?>, [^\n]*?status=\w+(?: \([^\n]*\))?\r?",
    # postscreen's per-connection chatter
    _POSTFIX + rb"postscreen\[\d+\]: (?:CONNECT from |PASS NEW |PASS OLD |DNSBL rank |PREGREET |HANGUP |"
    rb"DISCONNECT |COMMAND |BARE NEWLINE |NON-SMTP COMMAND |WHITELISTED |ALLOWLISTED |BLACKLISTED |"
    rb"DENYLISTED )[^\n]*",
]
# lines are cut at 16 KiB by the parser; longer ones always go to it
_WANTED_RE = re.compile(rb"\n(?!(?=[^\n]{0,16000}(?:\n|\Z))(?:" + rb"|".join(_SKIPPABLE) + rb")(?:\n|\Z))([^\n]*)")


class SummaryPrefilter:
    """Split blocks of whole lines into the lines a summary needs; count the rest."""

    def __init__(self) -> None:
        self.skipped = 0

    def lines(self, block: bytes, first_number: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line_number, line)`` for the lines to parse; ``block`` ends with ``\\n``."""
        if not block:
            return
        text = b"\n" + block[:-1]
        number = first_number - 1
        last = 0
        yielded = 0
        for m in _WANTED_RE.finditer(text):
            start = m.start()
            number += text.count(b"\n", last, start + 1)
            last = start + 1
            yielded += 1
            yield number, m.group(1)
        self.skipped += block.count(b"\n") - yielded
