"""The pipeline: sources -> parse -> correlate -> an analysis object (the library entry point).

Three entry points, each returning an object that can do exactly what it was built for::

    >>> from saslscope.maillog import analyze, summarize, find_traces
    >>> summarize(["/var/log/mail.log"]).summary()        # fast: prefilter, several processes
    >>> a = analyze(["/var/log/mail.log"])                # every line: logins, and trace with keep=
    >>> a.logins(user="alice@example.org")
    >>> find_traces(["/var/log/mail.log"], ["A4FCE204384E"]).trace("A4FCE204384E")   # reads only its lines

Options are an :class:`~saslscope.maillog.options.AnalyzeOptions`; its fields may also be
given as keywords (``analyze(paths, year=2018)``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from saslscope.maillog import parallel, report
from saslscope.maillog.correlate import Correlator, LocalityJudge, Message, Results
from saslscope.maillog.feed import Feeder, LineCounts, Listener, ProgressCallback, UnparsedLine, capped
from saslscope.maillog.narrow import narrow
from saslscope.maillog.options import AnalyzeOptions, ids
from saslscope.maillog.parse import LineParser
from saslscope.maillog.prefilter import Prefilter
from saslscope.maillog.rows import DovecotReport, FailuresReport, LoginRow, SummaryReport, TraceRow
from saslscope.maillog.sources import STDIN, Warnings, check_readable, expand

Paths = Iterable[str | os.PathLike[str]]


@dataclass
class _Traced:
    """What every analysis has: correlated results, the locality judge, the inputs read."""

    lines: LineCounts
    results: Results
    locality: LocalityJudge
    unparsed: list[UnparsedLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    assumed_year: int | None = None     # the year given to BSD stamps when the log gave none and no --year

    def trace(self, queue_id_or_message_id: str) -> list[TraceRow]:
        """Every kept message whose queue id or Message-ID (with or without ``<>``) matches.

        Several results when a short queue id was reused or a Message-ID was re-injected by
        a content filter; none when the id was not kept (``keep=``) or is not in the log.
        """
        return report.trace(self, queue_id_or_message_id)

    def traced_messages(self, wanted: str) -> list[Message]:
        key = wanted.strip().strip("<>")
        return [m for m in self.results.traced if key in (m.queue_id, m.message_id)]


@dataclass
class Traces(_Traced):
    """The lines of a few messages only (:func:`find_traces`): :meth:`trace` is all it knows."""


@dataclass
class Summary(_Traced):
    """A run that saw every line a summary needs (:func:`summarize`)."""

    def summary(self) -> SummaryReport:
        return report.summary(self)

    def failures(self) -> FailuresReport:
        return report.failures(self)

    def dovecot(self) -> DovecotReport:
        """Dovecot's logins and failures (also under ``"dovecot"`` in :meth:`summary`)."""
        return report.dovecot(self)


@dataclass
class Analysis(Summary):
    """A run over every line (:func:`analyze`): also the login timeline and traces."""

    def logins(self, user: str | None = None, ip: str | None = None) -> list[LoginRow]:
        return report.logins(self, user=user, ip=ip)


def _options(options: AnalyzeOptions | None, overrides: dict[str, Any]) -> AnalyzeOptions:
    """``options`` with keyword overrides; an unknown keyword is a TypeError."""
    return replace(options or AnalyzeOptions(), **overrides)


def _inputs(paths: Paths, warnings: Warnings) -> list[str]:
    names = [os.fspath(p) for p in paths]
    ordered = expand(names, warnings) if names else []
    check_readable(ordered)
    return ordered


def _run(ordered: list[str], opts: AnalyzeOptions, lines: Iterable[str | bytes] | None,
         progress: ProgressCallback | None, listener: Listener | None, prefilter_for: str | None,
         keep: bool | frozenset[str] | None, warnings: Warnings) -> tuple[Feeder, Results, LineParser]:
    """One process over every input: the common loop of analyze() and summarize()."""
    locality = LocalityJudge(set(opts.own_addresses))
    correlator = Correlator(locality, keep, listener=listener)
    # deliveries and notes become events only for traces and listeners (a summary needs none)
    parser = LineParser(year=opts.year, syslog_name=opts.syslog_name, now=opts.now,
                        detail=bool(keep) or listener is not None)
    feeder = Feeder(parser, correlator, opts.unparsed_limit, opts.since, opts.until, bool(keep), listener)
    prefilter = Prefilter(parser, correlator.feed, prefilter_for) if prefilter_for else None
    if lines is not None:
        encoded = capped(lines, warnings)
        if prefilter is not None:
            block = b"".join(ln + b"\n" for ln in encoded)      # one block, same path as files
            feeder.feed_lines("<lines>", prefilter.lines(block, 1))
        else:
            feeder.feed_lines("<lines>", enumerate(encoded, start=1))
    for name in ordered:
        feeder.feed_file(name, warnings, progress, prefilter)
    if prefilter is not None:
        feeder.count_prefiltered(prefilter)
    return feeder, correlator.finish(), parser


def analyze(paths: Paths = (), options: AnalyzeOptions | None = None, *, lines: Iterable[str | bytes] | None = None,
            progress: ProgressCallback | None = None, listener: Listener | None = None,
            **overrides: Any) -> Analysis:
    """Read logs (files, directories, ``-``; or ``lines``) and correlate every line.

    ``listener`` follows the stream in log order (see :class:`saslscope.maillog.feed.Listener`).
    Raises :class:`saslscope.maillog.sources.LogInputError` for an unreadable input.
    """
    opts = _options(options, overrides)
    warnings = Warnings()
    ordered = _inputs(paths, warnings)
    feeder, results, parser = _run(ordered, opts, lines, progress, listener, None, opts.keep, warnings)
    return Analysis(feeder.counts, results, feeder.correlator.locality, feeder.unparsed, warnings.all(),
                    ordered or ["<lines>"], parser.times.years.guessed)


def summarize(paths: Paths = (), options: AnalyzeOptions | None = None, *, lines: Iterable[str | bytes] | None = None,
              progress: ProgressCallback | None = None, **overrides: Any) -> Summary:
    """What :meth:`Summary.summary` and :meth:`Summary.failures` need, fast.

    Lines they do not need are skipped in bulk (see :mod:`.prefilter`), and with
    ``options.jobs`` > 1 big file inputs are cut into chunks analysed in that many
    processes (see :mod:`.parallel`). With ``since``/``until`` every line is parsed.
    """
    opts = replace(_options(options, overrides), keep=None)
    warnings = Warnings()
    ordered = _inputs(paths, warnings)
    every_line = opts.since is not None or opts.until is not None
    if not every_line and lines is None and STDIN not in ordered:
        chunks = parallel.plan(ordered, opts.jobs)
        if chunks:
            return _summarize_chunks(chunks, ordered, opts, progress, warnings)
    feeder, results, parser = _run(ordered, opts, lines, progress, None, None if every_line else "summary", None,
                                   warnings)
    return Summary(feeder.counts, results, feeder.correlator.locality, feeder.unparsed, warnings.all(),
                   ordered or ["<lines>"], parser.times.years.guessed)


def _summarize_chunks(chunks: list[parallel.Chunk], ordered: list[str], opts: AnalyzeOptions,
                      progress: ProgressCallback | None, warnings: Warnings) -> Summary:
    locality = LocalityJudge(set(opts.own_addresses))
    outcomes = parallel.run(chunks, opts.jobs, opts.year, opts.now, opts.syslog_name, set(locality.own_ips),
                            opts.unparsed_limit, progress)
    results = parallel.merge(outcomes, locality)
    counts = LineCounts()
    unparsed: list[UnparsedLine] = []
    offset, previous_path = 0, None
    for chunk, outcome in zip(chunks, outcomes):
        if chunk.path != previous_path:
            offset, previous_path = 0, chunk.path
        counts.add(outcome.counts)
        unparsed.extend(replace(u, line_number=offset + u.line_number) for u in outcome.unparsed)
        warnings.messages.extend(outcome.warnings)
        warnings.long_lines += outcome.long_lines
        offset += outcome.counts.total
    first = next((o.first_stamp for o in outcomes if o.first_stamp is not None), None)
    assumed = parallel.year_state_at((None, 0), first, opts.now)[0] if first and opts.year is None else None
    return Summary(counts, results, locality, unparsed[:opts.unparsed_limit], warnings.all(), ordered, assumed)


def find_traces(paths: Paths, wanted: Iterable[str], options: AnalyzeOptions | None = None, *,
                lines: Iterable[str | bytes] | None = None, **overrides: Any) -> Traces:
    """The messages named by queue id or Message-ID, reading only their lines where it can
    (regular files: see :mod:`.narrow`); stdin and ``lines`` are read whole."""
    opts = replace(_options(options, overrides), keep=ids(wanted))
    keep = opts.keep if isinstance(opts.keep, frozenset) else frozenset()
    warnings = Warnings()
    ordered = _inputs(paths, warnings)
    locality = LocalityJudge(set(opts.own_addresses))
    if lines is not None or STDIN in ordered or opts.since is not None or opts.until is not None:
        feeder, results, parser = _run(ordered, opts, lines, None, None, None, keep, warnings)
    else:
        correlator = Correlator(locality, keep)
        parser = LineParser(year=opts.year, syslog_name=opts.syslog_name, now=opts.now)
        feeder = Feeder(parser, correlator, opts.unparsed_limit, keep_raw=True)
        for name, group in itertools.groupby(narrow(ordered, keep, warnings, opts.year, opts.syslog_name, opts.now),
                                             key=lambda item: item[0]):
            feeder.feed_lines(name, ((number, line) for _, number, line in group))
        results = correlator.finish()
    return Traces(feeder.counts, results, feeder.correlator.locality, feeder.unparsed, warnings.all(),
                  ordered or ["<lines>"], parser.times.years.guessed)


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
