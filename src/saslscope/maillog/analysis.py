"""The pipeline: sources -> parse -> correlate -> :class:`Analysis` (the library entry point).

>>> from saslscope.maillog import analyze
>>> a = analyze(["/var/log/mail.log"])                 # or analyze(lines=[...])
>>> a.summary()["users"]                                # the same dicts ``--json`` prints
>>> a = analyze(["/var/log/mail.log"], keep="A4FCE204384E")
>>> a.trace("A4FCE204384E")                             # queue id or Message-ID
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from saslscope.maillog import parallel, report
from saslscope.maillog.correlate import Correlator, LocalityJudge, Message, Results
from saslscope.maillog.gcpause import cyclic_gc_paused
from saslscope.maillog.parse import LineParser, Unparsed
from saslscope.maillog.narrow import narrow
from saslscope.maillog.prefilter import PURPOSES, Prefilter
from saslscope.maillog.sources import STDIN, Warnings, check_readable, expand, iter_blocks

ProgressCallback = Callable[[int], None]   # called with the number of bytes just read


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


@dataclass
class UnparsedLine:
    source: str
    line_number: int
    text: str
    reason: str


@dataclass
class Analysis:
    """Everything one run over the logs learned. Render it with the ``report`` methods."""

    lines: LineCounts
    results: Results
    locality: LocalityJudge
    unparsed: list[UnparsedLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    kept_lines: bool = False
    # "all" lines parsed; "summary": the prefilter skipped lines only logins()/trace() need;
    # "trace": only the kept messages' lines were read (trace only)
    scope: str = "all"

    def _require(self, what: str, *scopes: str) -> None:
        if self.scope not in scopes:
            raise ValueError(f"{what} needs an analysis of every line; this one read scope={self.scope!r}")

    def summary(self) -> dict[str, Any]:
        self._require("summary()", "all", "summary")
        return report.summary(self)

    def logins(self, user: str | None = None, ip: str | None = None) -> list[dict[str, Any]]:
        self._require("logins()", "all")
        return report.logins(self, user=user, ip=ip)

    def failures(self) -> dict[str, Any]:
        self._require("failures()", "all", "summary")
        return report.failures(self)

    def trace(self, queue_id_or_message_id: str) -> list[dict[str, Any]]:
        """Every message whose queue id or Message-ID (with or without ``<>``) matches.

        Needs ``analyze(..., keep=True)`` or ``keep=`` naming the id; several results when a
        short queue id was reused or a Message-ID was re-injected by a content filter.
        """
        return report.trace(self, queue_id_or_message_id)

    def traced_messages(self, wanted: str) -> list[Message]:
        key = wanted.strip().strip("<>")
        return [m for m in self.results.traced if key in (m.queue_id, m.message_id)]


def _keep_set(keep: bool | str | Container[str] | None) -> bool | Container[str] | None:
    if isinstance(keep, str):
        return {keep.strip().strip("<>")}
    if keep is None or isinstance(keep, bool):
        return keep
    return {k.strip().strip("<>") for k in keep}  # type: ignore[attr-defined]


def analyze(paths: Iterable[str | os.PathLike[str]] = (), *, lines: Iterable[str | bytes] | None = None,
            year: int | None = None, since: datetime | None = None, until: datetime | None = None,
            syslog_name: str | None = None, own_addresses: Iterable[str] = (),
            keep: bool | str | Container[str] | None = None, unparsed_limit: int = 1000,
            progress: ProgressCallback | None = None, now: datetime | None = None,
            only: str | None = None, jobs: int = 1) -> Analysis:
    """Read logs (files, directories, ``-``; or ``lines``) and correlate them.

    ``keep``: ``True`` keeps every message's raw lines for :meth:`Analysis.trace`; a queue id,
    Message-ID or a collection of them keeps only those (cheap on big logs).
    ``only="summary"``: only :meth:`Analysis.summary` and :meth:`Analysis.failures` will be
    asked for: lines they do not need are skipped in bulk (see :mod:`.prefilter`); ignored with
    ``since``/``until``/``keep``, which need every line. With ``only="summary"``, ``jobs`` > 1 cuts big file inputs into chunks analysed in that
    many processes (see :mod:`.parallel`).
    Raises :class:`saslscope.maillog.sources.LogInputError` for an unreadable input.
    """
    names = [os.fspath(p) for p in paths]
    ordered = expand(names) if names else []
    check_readable(ordered)
    warnings = Warnings()
    counts = LineCounts()
    locality = LocalityJudge(set(own_addresses))
    keep_ids = _keep_set(keep)
    correlator = Correlator(locality, keep_ids)
    parser = LineParser(year=year, syslog_name=syslog_name, now=now, detail=bool(keep_ids))
    unparsed: list[UnparsedLine] = []
    state = LineFeeder(parser, correlator, counts, unparsed, unparsed_limit, since, until, bool(keep_ids))

    if only is not None and only not in PURPOSES:
        raise ValueError(f"only= must be one of {PURPOSES}, not {only!r}")
    use_prefilter = only is not None and not keep_ids and since is None and until is None
    prefilter = Prefilter(parser, correlator.feed, only) if use_prefilter and only else None
    if use_prefilter and only == "summary" and lines is None and STDIN not in ordered:
        chunks = parallel.plan(ordered, jobs)
        if chunks:
            return analyze_chunks(chunks, jobs, ordered, year, now, syslog_name, locality, unparsed_limit,
                                   progress)

    if lines is not None:
        encoded = (ln.encode("utf-8", "surrogateescape") if isinstance(ln, str) else ln for ln in lines)
        if prefilter is not None:
            encoded = (b"".join(ln + b"\n" for ln in encoded),)    # one block, same path as files
            state.feed_lines("<lines>", (pair for block in encoded for pair in prefilter.lines(block, 1)))
        else:
            state.feed_lines("<lines>", enumerate(encoded, start=1))
    narrowing = (isinstance(keep_ids, set) and lines is None and since is None and until is None
                 and STDIN not in ordered)
    if narrowing:
        for name, group in itertools.groupby(narrow(ordered, keep_ids, warnings, year, syslog_name),
                                             key=lambda item: item[0]):
            state.feed_lines(name, ((number, line) for _, number, line in group))
        ordered_to_read: list[str] = []
    else:
        ordered_to_read = ordered
    for name in ordered_to_read:
        state.feed_lines(name if name != STDIN else "<stdin>", numbered(iter_blocks(name, warnings), progress, prefilter))
    if prefilter is not None:
        recognised = prefilter.skipped + prefilter.fast_lane
        counts.total += recognised
        counts.parsed += recognised
    results = correlator.finish()
    scope = "trace" if narrowing else only if prefilter is not None and only else "all"
    return Analysis(counts, results, locality, unparsed, warnings.messages, ordered or ["<lines>"],
                    bool(keep_ids), scope)


def analyze_chunks(chunks: list[parallel.Chunk], jobs: int, ordered: list[str], year: int | None,
                    now: datetime | None, syslog_name: str | None, locality: LocalityJudge,
                    unparsed_limit: int, progress: ProgressCallback | None) -> Analysis:
    outcomes = parallel.run(chunks, jobs, year, now, syslog_name, set(locality.own_ips), unparsed_limit, progress)
    results = parallel.merge(outcomes, locality)
    counts = LineCounts()
    unparsed: list[UnparsedLine] = []
    warnings: list[str] = []
    offset, previous_path = 0, None
    for chunk, outcome in zip(chunks, outcomes):
        if chunk.path != previous_path:
            offset, previous_path = 0, chunk.path
        for name in ("total", "parsed", "ignored", "unparsed"):
            setattr(counts, name, getattr(counts, name) + getattr(outcome.counts, name))
        unparsed.extend(UnparsedLine(u.source, offset + u.line_number, u.text, u.reason) for u in outcome.unparsed)
        warnings.extend(outcome.warnings)
        offset += outcome.counts.total
    return Analysis(counts, results, locality, unparsed[:unparsed_limit], warnings, ordered, False, "summary")


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


class LineFeeder:
    """The per-line loop, kept in one place for files, stdin and in-memory lines."""

    def __init__(self, parser: LineParser, correlator: Correlator, counts: LineCounts,
                 unparsed: list[UnparsedLine], unparsed_limit: int, since: datetime | None,
                 until: datetime | None, keep_raw: bool) -> None:
        self.parser, self.correlator, self.counts = parser, correlator, counts
        self.unparsed, self.unparsed_limit = unparsed, unparsed_limit
        self.since, self.until, self.keep_raw = since, until, keep_raw
        self.seq = 0

    @cyclic_gc_paused()
    def feed_lines(self, source: str, lines: Iterable[tuple[int, bytes]]) -> None:
        parse = self.parser.parse
        feed = self.correlator.feed
        counts = self.counts
        since, until, keep_raw = self.since, self.until, self.keep_raw
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
            elif type(event) is Unparsed:
                counts.unparsed += 1
                if len(self.unparsed) < self.unparsed_limit:
                    self.unparsed.append(UnparsedLine(source, number, line.decode("utf-8", "replace"),
                                                      event.reason))
            elif (since is not None or until is not None) and event.time is not None and (
                    (since is not None and event.time < since) or (until is not None and event.time >= until)):
                counts.outside_range += 1
            elif feed(event, seq, line if keep_raw else None):
                parsed += 1
            else:
                ignored += 1
        counts.total += read
        counts.parsed += parsed
        counts.ignored += ignored
        self.seq = seq


def path_size(paths: Iterable[str]) -> int:
    """Total bytes on disk of the inputs (for a progress bar; compressed sizes are a lower bound)."""
    total = 0
    for name in paths:
        if name != STDIN:
            try:
                total += Path(name).stat().st_size
            except OSError:
                pass
    return total
