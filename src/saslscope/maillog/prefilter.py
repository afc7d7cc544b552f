"""Skip, inside the regular-expression engine, the lines a summary does not need.

On a busy server most lines are connects, TLS handshakes, cleanup ``message-id`` lines,
deliveries and postscreen chatter; ``summary`` and ``failures`` need none of them. Parsing
each in Python costs far more than recognising it in C, so :class:`Prefilter` runs
one expression over a whole block that returns only the *other* lines; the skipped ones
are counted as parsed. Every pattern here is deliberately narrower than what
:class:`saslscope.maillog.parse.LineParser` accepts for the same kind, so a skipped line is
always a line the parser would also have recognised; anything unusual reaches the parser.
tests/maillog/test_prefilter.py checks that summaries with and without it are identical.

Not used with ``--since/--until`` (every line's time matters) or for ``trace``/``logins``.
Known differences, both about damaged logs: when an smtpd process's ``disconnect`` line is
missing (lost log lines, a crashed process), the full parser closes that session at the
process's next ``connect``; without connect lines the session runs on to the next
``disconnect`` that counts an AUTH command. (A session that authenticated always has
``auth=`` on its disconnect line since Postfix 3.0; older ones have no counters at all and
their disconnect lines are always parsed.) ``qmgr`` lines are turned into events here
without times: a summary does not use them. Lines reach it already cut at
:data:`saslscope.maillog.sources.LINE_CAP`, like every parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from saslscope.maillog import events as ev
from saslscope.maillog.parse import QUEUE_ID, LineParser, Unparsed, smtpd_event
from saslscope.maillog.syslog import BSD_STAMP, host, postfix_service, rfc3339_stamp

_TIME = rb"(?:" + BSD_STAMP + rb"|" + rfc3339_stamp(block=True) + rb")"
# a Postfix program: postfix..., then optional service parts, then the daemon.
# Costs inside the engine: a lazy repeat (``*?``) tries the rest of the pattern at every byte,
# so the patterns below use greedy ones (each line is matched whole, up to its end, so a
# line matches the same either way) and possessive ones (``++``) where giving back bytes
# can never help (the host ends at a space, service parts at "/", the daemon has neither).
_POSTFIX = _TIME + rb" " + host(block=True) + rb" " + postfix_service(block=True)
_NAMADDR = rb"[^ \[\]\n]*\[[^\] \n]*\](?::\d+)?"

# Line kinds by name: each a pattern for the text after "postfix.../"
_SMTPD_CONNECT = rb"connect from [^\n]*"
_SMTPD_TLS = rb"\w+ TLS connection established from [^ \n]+: \S+ with cipher \S+[^\n]*"
# a disconnect with command counters but no AUTH command: no session a summary follows
# (Postfix < 3.0 logs no counters at all; those lines are always parsed)
# (" auth=" anywhere after the client is an "auth" counter: only counters follow, split by spaces)
_SMTPD_DISCONNECT_NO_AUTH = rb"disconnect from " + _NAMADDR + rb"(?![^\n]* auth=)(?: [a-z-]+=\d+(?:/\d+)?)++\r?"
_SMTPD_WARNING = rb"warning: (?![^\n]*authentication failed)[^\n]*"
_SMTPD_ABORT = (rb"(?:(?:NOQUEUE|" + QUEUE_ID + rb"): )?(?:lost connection|timeout|too many errors) after \S+"
                rb"(?: \(\d+ bytes\))? from " + _NAMADDR + rb"[^\n]*")
_SMTPD_REJECT = rb"NOQUEUE: reject: (?![^\n]*sasl_)\S+ from " + _NAMADDR + rb": [^\n]*"
_CLEANUP_MESSAGE_ID = rb"cleanup\[\d+\]: " + QUEUE_ID + rb": (?:resent-)?message-id=[^\n]*"
# every delivery agent's (and qmgr's) "QID: to=<...>, ..., status=..." line, in the narrow
# shape parse.delivery_parts reads (a recipient without ">", server-written key=value fields),
# all possessive: linear in the line's length whatever it holds
_DELIVERY = (rb"(?:smtp|lmtp|local|virtual|pipe|error|discard|retry|qmgr)\[\d+\]: " + QUEUE_ID
             + rb": to=<[^\n>]*+>, (?:(?!status=)[a-z_]++=[^,\n]*+, )*+status=\w++(?: \([^\n]*+)?")
# postscreen's per-connection chatter
_POSTSCREEN = (rb"postscreen\[\d+\]: (?:CONNECT from |PASS NEW |PASS OLD |DNSBL rank |PREGREET |HANGUP |"
               rb"DISCONNECT |COMMAND |BARE NEWLINE |NON-SMTP COMMAND |WHITELISTED |ALLOWLISTED |BLACKLISTED |"
               rb"DENYLISTED )[^\n]*")


def _skippable(smtpd_first: list[bytes], smtpd_rest: list[bytes], others: list[bytes]) -> list[bytes]:
    # the parser tries "QID: client=" on the first 60 bytes before the smtpd kinds of smtpd_rest;
    # no client= line is skipped, not even one without SASL: it still teaches the locality
    # judge the host's own addresses and gives its session a message
    smtpd = rb"smtpd\[\d+\]: (?:" + rb"|".join(
        [*smtpd_first, rb"(?![^\n]{0,51}: client=)(?:" + rb"|".join(smtpd_rest) + rb")"]) + rb")"
    return [smtpd, *others]


# What each purpose can do without. (A "logins" purpose, which must keep connects, TLS,
# disconnects and message-ids, was measured: 3 % faster than the full parse, not worth it.)
_SKIPPABLE = {
    "summary": _skippable([_SMTPD_CONNECT, _SMTPD_DISCONNECT_NO_AUTH, _SMTPD_WARNING],
                          [_SMTPD_TLS, _SMTPD_ABORT, _SMTPD_REJECT],
                          [_CLEANUP_MESSAGE_ID, _DELIVERY, _POSTSCREEN]),
}
# Fast lanes: qmgr's two lines per message (a third of a busy log, one queue id and one
# number each: the fields QMGR_FROM_RE reads, nrcpt optional as there; a sender with a ">"
# goes the full way, where the lazy match decides) become events right here, and the other
# smtpd lines go to the parser's smtpd rules without the generic header split and program
# dispatch (the header fields are those FAST_HEADER_RE takes). Which lane matched is told by
# the match's last closed group (``Match.lastindex``): no lookups by group name.
_LANES = (rb"(?P<ts>" + _TIME + rb") (?P<host>" + host(block=True) + rb") (?P<service>" + postfix_service(block=True) + rb")"
          rb"(?:qmgr\[\d+\]: (?P<qid>" + QUEUE_ID + rb"): (?:(?P<removed>removed)\r?(?=\n|\Z)|"
          rb"from=<(?P<sender>[^>\n]*+)>, size=(?P<size>\d+)(?:, nrcpt=(?P<nrcpt>\d+))?[^\n]*)"
          rb"|smtpd\[(?P<pid>\d+)\]: (?!\[ID )(?P<body>[^\n]*))")
# One match = a run of skippable lines (consumed inside the engine) + one line for Python.
# At the very end of a block the engine may hand over a skippable line too: the parser then
# parses it, which is never wrong, only slower.
_WANTED_RE = {purpose: re.compile(
    rb"(?:\n" + _POSTFIX + rb"(?:" + rb"|".join(kinds) + rb")(?=\n|\Z))*"
    rb"\n(?:" + _LANES + rb"|(?P<line>[^\n]*))") for purpose, kinds in _SKIPPABLE.items()}
_GROUP = _WANTED_RE["summary"].groupindex
_REMOVED, _SIZE, _NRCPT, _BODY, _LINE = (_GROUP[name] for name in ("removed", "size", "nrcpt", "body", "line"))
_QID, _SENDER, _TS, _HOST, _SERVICE, _PID = (_GROUP[name] for name in ("qid", "sender", "ts", "host", "service",
                                                                       "pid"))
assert all(pattern.groupindex == _GROUP for pattern in _WANTED_RE.values())
PURPOSES = tuple(_WANTED_RE)


class Prefilter:
    """Split blocks of whole lines into the lines a purpose (``summary``) needs.

    Events of the fast lanes go to ``on_event`` in log order, interleaved with the lines
    yielded for the full parser; ``parser`` supplies the timestamps (and their year state).
    """

    def __init__(self, parser: LineParser, on_event: Callable[[ev.Event, int, bytes | None], object],
                 purpose: str = "summary") -> None:
        self.pattern = _WANTED_RE[purpose]
        self.parser = parser
        self.on_event = on_event
        self.skipped = 0        # lines recognised inside the engine, never seen by Python
        self.fast_lane = 0      # lines turned into events here
        self.lines_read = 0     # all lines of the blocks read so far (each block counted once)
        # the few distinct host and program names, decoded once
        self._hosts: dict[bytes, str] = {}
        self._programs: dict[bytes, str] = {}

    def _first_stamp(self, block: bytes) -> None:
        """Read the time of the input's first line with a syslog header, as the full parser
        would: the year guess (and its report) starts there even when that line is skipped."""
        for line in block.split(b"\n", 64)[:64]:
            if not line.startswith(b"{") and self.parser.split_header(line.rstrip(b"\r")) is not None:
                return

    def lines(self, block: bytes, first_number: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line_number, line)`` for the lines to parse; ``block`` ends with ``\\n``."""
        if not block:
            return
        if not self.lines_read:
            self._first_stamp(block)
        text = b"\n" + block[:-1]
        number = first_number - 1
        last = 0
        handled = fast_lane = 0
        on_event = self.on_event
        times = self.parser.times
        hosts, programs = self._hosts, self._programs
        Removed, QueueFrom = ev.Removed, ev.QueueFrom
        for m in self.pattern.finditer(text):
            handled += 1
            lane = m.lastindex
            if lane == _REMOVED:
                fast_lane += 1
                on_event(Removed(None, "", "postfix/qmgr", 0, m.group(_QID).decode()), 0, None)
                continue
            if lane in (_NRCPT, _SIZE):
                fast_lane += 1
                qid, sender, size, nrcpt = m.group(_QID, _SENDER, _SIZE, _NRCPT)
                on_event(QueueFrom(None, "", "postfix/qmgr", 0, qid.decode(), sender.decode("utf-8", "replace"),
                                   int(size), None if nrcpt is None else int(nrcpt)), 0, None)
                continue
            if lane == _BODY:
                ts, host, service, pid, body = m.group(_TS, _HOST, _SERVICE, _PID, _BODY)
                host_name = hosts.get(host)
                if host_name is None:
                    host_name = hosts[host] = host.decode("utf-8", "replace")
                program = programs.get(service)
                if program is None:
                    program = programs[service] = (service + b"smtpd").decode("utf-8", "replace")
                event = smtpd_event(times.bsd(ts) if ts[:1].isalpha() else times.rfc3339(ts), host_name, program,
                                    int(pid), body[:-1] if body[-1:] == b"\r" else body)
                if not isinstance(event, Unparsed):       # unparsed lines go the full way, to be listed
                    fast_lane += 1
                    on_event(event, 0, None)
                    continue
                start = m.start(_TS) - 1
            else:
                start = m.start(_LINE) - 1
            number += text.count(b"\n", last, start + 1)
            last = start + 1
            yield number, text[last:m.end()]
        block_lines = number - first_number + 1 + text.count(b"\n", last)
        self.lines_read += block_lines
        self.fast_lane += fast_lane
        self.skipped += block_lines - handled
