"""The fast summary on several cores: the log is cut into chunks, each analysed in its own
process, and the pieces are merged in log order.

A chunk is a byte range of a big uncompressed file (cut at a line end) or one whole file of
a rotated set. Every chunk after the first runs its correlator with ``continues=True``: a
session or message that may have begun in the previous chunk is not concluded there but
described in a :class:`~saslscope.maillog.correlate.Boundary`; the merge joins it with what
the previous chunk left open, exactly as one process reading everything would have.
Only for ``analyze(..., only="summary")`` (summary, failures): those need no raw lines and no
line-by-line state beyond sessions and messages. tests/maillog/test_parallel.py cuts logs
at every line and checks the result equals the one-process analysis.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from datetime import datetime

from typing import TYPE_CHECKING

from saslscope.maillog.correlate import (AuthOnlySession, Boundary, Correlator, LocalityJudge, Results,
                                         SessionStart, login_of)
from saslscope.maillog.parse import LineParser
from saslscope.maillog.prefilter import Prefilter
from saslscope.maillog.sources import BLOCK_SIZE, Warnings, iter_blocks, open_log
from saslscope.maillog.timestamps import BSD_RE, MONTHS, YearTracker, parse_rfc3339

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.maillog.analysis import LineCounts, UnparsedLine

MIN_CHUNK = 16 << 20          # smaller inputs are not worth a process


@dataclass(frozen=True)
class Chunk:
    path: str
    start: int | None = None     # byte range of an uncompressed file; None: the whole file
    end: int | None = None


@dataclass
class ChunkResult:
    results: Results
    boundary: Boundary | None
    own_ips: set[str]
    counts: LineCounts
    unparsed: list[UnparsedLine]               # line numbers counted from the chunk's start
    warnings: list[str]
    size: int


@dataclass
class ChunkJob:
    chunk: Chunk
    first: bool
    last: bool
    year: int | None
    last_month: int
    syslog_name: str | None
    own_addresses: set[str] = field(default_factory=set)
    unparsed_limit: int = 1000


def plan(paths: list[str], jobs: int) -> list[Chunk]:
    """Chunks in log order, or [] when cutting is not worth it (small, or one compressed file)."""
    sizes = [os.path.getsize(p) for p in paths]
    if jobs < 2 or sum(sizes) < MIN_CHUNK:
        return []
    if len(paths) > 1:
        return [Chunk(p) for p in paths]
    path, size = paths[0], sizes[0]
    with open(path, "rb") as raw:
        if open_log(raw)[1] is not None:
            return []
        cuts = [0]
        for n in range(1, jobs):
            raw.seek(size * n // jobs)
            raw.readline()                       # cut after a line end
            position = raw.tell()
            if cuts[-1] < position < size:
                cuts.append(position)
    cuts.append(size)
    return [Chunk(path, a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _range_blocks(chunk: Chunk, warnings: Warnings):
    if chunk.start is None:
        yield from iter_blocks(chunk.path, warnings)
        return
    with open(chunk.path, "rb") as raw:
        raw.seek(chunk.start)
        left = chunk.end - chunk.start           # type: ignore[operator]
        tail = b""
        while left > 0:
            block = raw.read(min(BLOCK_SIZE, left))
            if not block:
                break
            left -= len(block)
            block = tail + block
            cut = block.rfind(b"\n") + 1
            tail = block[cut:]
            if cut:
                yield block[:cut]
        if tail:
            yield tail + b"\n"


def first_stamp(chunk: Chunk) -> tuple[int, int] | None:
    """(month, day) of a chunk's first line, for the year inference across chunks."""
    warnings = Warnings()
    for block in _range_blocks(chunk, warnings):
        head = block[:40]
        m = BSD_RE.match(head.lstrip(b"<0123456789>"))
        if m is not None and m.group(1) in MONTHS:
            return MONTHS[m.group(1)], int(m.group(2))
        stamp = parse_rfc3339(head)
        return (stamp.month, stamp.day) if stamp else None
    return None


def run_chunk(job: ChunkJob) -> ChunkResult:
    """Analyse one chunk (runs in a worker process) with the same line loop as one process."""
    from saslscope.maillog.analysis import LineCounts, LineFeeder, numbered   # analysis imports this module

    warnings = Warnings()
    locality = LocalityJudge(job.own_addresses)
    correlator = Correlator(locality, None, continues=not job.first)
    # like the one-process summary (analysis.analyze): no detail events, so a delivery line that
    # reaches the parser (the prefilter hands over the lines at block edges) counts no recipient
    parser = LineParser(year=job.year, syslog_name=job.syslog_name, detail=False)
    parser.times.years.last_month = job.last_month
    prefilter = Prefilter(parser, correlator.feed, "summary")
    counts = LineCounts()
    unparsed: list = []
    size = 0

    def blocks():
        nonlocal size
        for block in _range_blocks(job.chunk, warnings):
            size += len(block)
            yield block

    LineFeeder(parser, correlator, counts, unparsed, job.unparsed_limit, None, None, False).feed_lines(
        job.chunk.path, numbered(blocks(), None, prefilter))
    counts.parsed += prefilter.skipped + prefilter.fast_lane
    counts.total += prefilter.skipped + prefilter.fast_lane
    if job.last:
        results, boundary = correlator.finish(), correlator.boundary
    else:
        results, boundary = correlator.cut()
    return ChunkResult(results, boundary, locality.own_ips, counts, unparsed, warnings.messages, size)


def merge(outcomes: list[ChunkResult], locality: LocalityJudge) -> Results:
    """Join chunk results in log order, concluding what crossed each cut."""
    merged = Results()
    carried_sessions: dict[tuple[str, str, int], bool] = {}     # open at the cut: had messages
    carried_messages: dict[str, object] = {}
    for index, outcome in enumerate(outcomes):
        res, boundary = outcome.results, outcome.boundary
        locality.own_ips |= outcome.own_ips
        if index and boundary is not None:
            for key, start in boundary.session_starts.items():
                # the session open at the cut, if any, goes on here: it is not carried further
                carried_had = carried_sessions.pop(key, False)
                had = start.had_messages or carried_had
                if start.ended and start.auth is not None and start.auth[0] > 0 and not had:
                    merged.auth_only.append(_auth_only_record(start))
            for qid, seen in boundary.message_starts.items():
                message = carried_messages.pop(qid, None)
                if message is None:
                    continue
                if seen is not None and (seen.sender is not None or seen.nrcpt is not None):
                    message.sender, message.size, message.nrcpt = seen.sender, seen.size, seen.nrcpt  # type: ignore[attr-defined]
                login = login_of(message)  # type: ignore[arg-type]
                if login is not None:
                    merged.logins.append(login)
        for name in ("logins", "failures", "auth_only", "dovecot", "dovecot_failures", "rejects_with_sasl"):
            getattr(merged, name).extend(getattr(res, name))
        merged.sasl_messages += res.sasl_messages
        if boundary is not None:
            for key, (had, continued) in boundary.open_sessions.items():
                carried_sessions[key] = had or (continued and carried_sessions.pop(key, False))
            for message in boundary.open_messages:
                carried_messages[message.queue_id] = message
    for message in carried_messages.values():
        login = login_of(message)  # type: ignore[arg-type]
        if login is not None:
            merged.logins.append(login)
    return merged


def _auth_only_record(start: SessionStart) -> AuthOnlySession:
    return AuthOnlySession(None, start.end, start.client_name, start.client_ip, start.host, start.service,
                           start.auth, None)


def year_states(chunks: list[Chunk], year: int | None, now: datetime | None) -> list[tuple[int | None, int]]:
    """The (year, month) each chunk starts with, following the year across the chunks."""
    tracker = YearTracker(year, now)
    states = []
    for chunk in chunks:
        stamp = first_stamp(chunk)
        if stamp is None:
            states.append((tracker.year, tracker.last_month))
            continue
        states.append((tracker.year_for(*stamp), stamp[0]))
    return states


def run(chunks: list[Chunk], jobs: int, year: int | None, now: datetime | None, syslog_name: str | None,
        own_addresses: set[str], unparsed_limit: int) -> list[ChunkResult]:
    states = year_states(chunks, year, now)
    work = [ChunkJob(c, i == 0, i == len(chunks) - 1, y, m, syslog_name, own_addresses, unparsed_limit)
            for i, (c, (y, m)) in enumerate(zip(chunks, states))]
    # forkserver: workers fork from a clean, single-threaded server (the CLI may be running
    # rich's progress thread, and forking a threaded process is unsafe)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["saslscope.maillog.parallel"])
    with context.Pool(min(jobs, len(work))) as pool:
        return pool.map(run_chunk, work, chunksize=1)
