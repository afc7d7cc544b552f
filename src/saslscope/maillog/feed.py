"""The per-line loop: raw lines -> parser -> correlator, counted in one place.

Every way into the pipeline goes through :class:`Feeder`: files and stdin (block by block,
maybe through the summary prefilter), in-memory lines, a chunk of a log cut for several
processes, and later a live file read line by line. It counts every line once
(:class:`LineCounts`), keeps a bounded number of unparsed examples as short excerpts, and
hands events to the correlator in log order.

A :class:`Listener` sees the stream as it goes (the detection engine's input): every event
with its :class:`Evidence` (source name, line number, the raw line), and every smtpd session
and queue file when it closes, with its login or auth-only record. See docs/logs.md
("Following the stream").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from saslscope.maillog import events as ev
from saslscope.maillog.gcpause import cyclic_gc_paused
from saslscope.maillog.parse import LineParser, Unparsed
from saslscope.maillog.sources import LINE_CAP, STDIN, Warnings, iter_blocks

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.maillog.correlate import AuthOnlySession, Correlator, Login, Message, Session
    from saslscope.maillog.prefilter import Prefilter

ProgressCallback = Callable[[int], None]   # called with the number of bytes just read
UNPARSED_EXCERPT = 512                     # characters kept of an unparsed line (the rest is counted)


@dataclass
class LineCounts:
    """``total`` = ``parsed`` + ``ignored`` + ``unparsed`` + ``outside_range``.

    ``ignored``: valid syslog lines of programs that are not mail evidence (cron, kernel...);
    ``unparsed``: Postfix/Dovecot lines of an unknown form, and lines that are not syslog lines.
    """

    total: int = 0
    parsed: int = 0
    ignored: int = 0
    unparsed: int = 0
    outside_range: int = 0

    def add(self, other: LineCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class UnparsedLine:
    """An example of a line that was not understood: its start only (``length`` is the whole)."""

    source: str
    line_number: int
    text: str
    reason: str
    length: int = 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where an event was read: the input's name, the line's number in it (from 1), the line."""

    source: str
    line_number: int
    text: str


class Listener(Protocol):
    """What follows the stream (:func:`saslscope.maillog.analyze` with ``listener=``).

    Calls come in log order: ``event`` for every parsed line, before the correlator applies
    it; ``message_closed``/``session_closed`` when a queue file is removed (or the log ends)
    and when an smtpd process disconnects (or the log ends). The objects passed are the
    correlator's own: read them, do not keep them changing.
    """

    def event(self, event: ev.Event, evidence: Evidence) -> None: ...

    def message_closed(self, message: Message, login: Login | None) -> None: ...

    def session_closed(self, session: Session, auth_only: AuthOnlySession | None) -> None: ...


def excerpt(line: bytes) -> str:
    text = line[:UNPARSED_EXCERPT * 4].decode("utf-8", "replace")
    return text[:UNPARSED_EXCERPT]


class Feeder:
    """The per-line loop, kept in one place for files, stdin, in-memory lines and chunks."""

    def __init__(self, parser: LineParser, correlator: Correlator, unparsed_limit: int = 1000,
                 since: datetime | None = None, until: datetime | None = None, keep_raw: bool = False,
                 listener: Listener | None = None) -> None:
        self.parser, self.correlator = parser, correlator
        self.counts = LineCounts()
        self.unparsed: list[UnparsedLine] = []
        self.unparsed_limit = unparsed_limit
        self.since, self.until = since, until
        self.keep_raw = keep_raw or listener is not None
        self.listener = listener
        self.seq = 0

    @cyclic_gc_paused()
    def feed_lines(self, source: str, lines: Iterable[tuple[int, bytes]]) -> None:
        """Parse and correlate ``(line_number, line)`` pairs of one input, in log order."""
        parse = self.parser.parse
        feed = self.correlator.feed
        counts = self.counts
        since, until, keep_raw, listener = self.since, self.until, self.keep_raw, self.listener
        seq = self.seq
        read = parsed = ignored = 0
        for number, line in lines:
            read += 1
            seq += 1
            if line[-1:] == b"\r":
                line = line[:-1]
            event = parse(line)
            if event is None:
                ignored += 1
            elif isinstance(event, Unparsed):
                counts.unparsed += 1
                if len(self.unparsed) < self.unparsed_limit:
                    self.unparsed.append(UnparsedLine(source, number, excerpt(line), event.reason, len(line)))
            elif (since is not None or until is not None) and event.time is not None and (
                    (since is not None and event.time < since) or (until is not None and event.time >= until)):
                counts.outside_range += 1
            else:
                if listener is not None:
                    listener.event(event, Evidence(source, number, line.decode("utf-8", "replace")))
                if feed(event, seq, line if keep_raw else None):
                    parsed += 1
                else:
                    ignored += 1
        counts.total += read
        counts.parsed += parsed
        counts.ignored += ignored
        self.seq = seq

    def feed_file(self, name: str, warnings: Warnings, progress: ProgressCallback | None = None,
                  prefilter: Prefilter | None = None) -> None:
        """One file or stdin (``-``), block by block, maybe through a prefilter."""
        self.feed_lines(name if name != STDIN else "<stdin>", numbered(iter_blocks(name, warnings), progress, prefilter))

    def count_prefiltered(self, prefilter: Prefilter) -> None:
        """Count the lines a prefilter recognised without handing them over (parsed lines)."""
        recognised = prefilter.skipped + prefilter.fast_lane
        self.counts.total += recognised
        self.counts.parsed += recognised


def capped(lines: Iterable[str | bytes], warnings: Warnings) -> Iterator[bytes]:
    """In-memory lines as bytes, each cut at LINE_CAP like file input (and counted)."""
    for line in lines:
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        if len(raw) > LINE_CAP:
            raw = raw[:LINE_CAP]
            warnings.long_lines += 1
        yield raw


def numbered(blocks: Iterable[bytes], progress: ProgressCallback | None,
             prefilter: Prefilter | None) -> Iterator[tuple[int, bytes]]:
    """``(line_number, line)`` of one input's blocks, all lines or those the prefilter lets through."""
    number = 1
    for block in blocks:
        if progress is not None:
            progress(len(block))
        if prefilter is not None:
            before = prefilter.lines_read
            yield from prefilter.lines(block, number)
            number += prefilter.lines_read - before
        else:
            for line in block.split(b"\n")[:-1]:
                yield number, line
                number += 1

