"""Find the few lines a ``trace`` needs without parsing the whole log.

A message's lines name its queue id; its smtpd session's lines name the process
(``postfix/submission/smtpd[16664]: ``); milter-manager's follow-up lines name the milter
session (``(23631)``). Starting from the wanted ids, each pass over the files (a C-level
search per block) collects the lines that name a known token, parses just those to learn
new tokens (a Message-ID's queue id, the queue id's smtpd process, bounce queue ids are not
followed), and stops when no new token appears. The last pass hands those lines, in log
order, to the normal pipeline; the correlator then cuts the process's lines into sessions.

Only for regular files (they are read up to three times), never stdin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from saslscope.maillog import events as ev
from saslscope.maillog.parse import LineParser
from saslscope.maillog.sources import Warnings, iter_blocks

MAX_PASSES = 4


def _lines_naming(paths: list[str], tokens: set[bytes], warnings: Warnings) -> Iterator[tuple[str, int, bytes]]:
    """``(source, line_number, line)`` of every line containing one of ``tokens``."""
    pattern = re.compile(b"|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    for path in paths:
        number = 0
        for block in iter_blocks(path, warnings):
            last_end = -1
            line_start_number = number
            scanned = 0
            for m in pattern.finditer(block):
                start = block.rfind(b"\n", 0, m.start()) + 1
                if start <= last_end:
                    continue                     # a second token on a line already taken
                end = block.find(b"\n", m.end())
                line_start_number += block.count(b"\n", scanned, start)
                scanned = start
                last_end = end
                line = block[start:end]
                yield path, line_start_number + 1, line[:-1] if line.endswith(b"\r") else line
            number += block.count(b"\n")


def _tokens_from(line: bytes, parser: LineParser, ids: set[str]) -> set[bytes]:
    """New search tokens a line reveals about a wanted message."""
    event = parser.parse(line)
    if isinstance(event, ev.MessageId) and event.message_id in ids:
        return {event.queue_id.encode()}
    if isinstance(event, ev.ClientLine) and event.queue_id in ids:
        return {f"{event.program}[{event.pid}]: ".encode()}
    if isinstance(event, ev.QueueNote) and event.milter_session:
        return {f"]({event.milter_session})".encode()}
    return set()


def narrow(paths: list[str], wanted: Iterable[str], warnings: Warnings, year: int | None = None,
           syslog_name: str | None = None, now: datetime | None = None) -> list[tuple[str, int, bytes]]:
    """The lines of the wanted messages (queue ids or Message-IDs) and of their sessions."""
    ids = {w.strip().strip("<>") for w in wanted}
    tokens = {i.encode() for i in ids}
    for _ in range(MAX_PASSES):
        parser = LineParser(year=year, syslog_name=syslog_name, now=now)
        lines = list(_lines_naming(paths, tokens, warnings))
        new: set[bytes] = set()
        for _, _, line in lines:
            revealed = _tokens_from(line, parser, ids)
            for token in revealed - tokens:
                new.add(token)
                if not token.endswith(b": ") and not token.startswith(b"]("):
                    ids.add(token.decode())      # a queue id found through its Message-ID
        if not new:
            return lines
        tokens |= new
    return list(_lines_naming(paths, tokens, warnings))
