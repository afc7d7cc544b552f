"""The fast summary on several cores: the log is cut into chunks, each analysed in its own
process, and the pieces are merged in log order.

A chunk is a byte range of a big uncompressed file (cut at a line end) or one whole file of
a rotated set. Every chunk after the first runs its correlator with ``continues=True``: a
session or message that may have begun in the previous chunk is not concluded there but
described in a :class:`~saslscope.maillog.correlate.Boundary`; the merge joins it with what
the previous chunk left open, exactly as one process reading everything would have.
Only for :func:`saslscope.maillog.summarize` (summary, failures): those need no raw lines and no
line-by-line state beyond sessions and messages. tests/maillog/test_parallel.py cuts logs
at every line and checks the result equals the one-process analysis.

A worker sends its result back as one bytes object (:mod:`.wire`), not as pickled records.
The year of BSD timestamps is followed from chunk to chunk (:func:`run`).
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from saslscope.maillog.correlate import AuthOnlySession, Correlator, LocalityJudge, Message, Results, SessionStart, login_of
from saslscope.maillog.feed import Feeder, numbered
from saslscope.maillog.parse import LineParser
from saslscope.maillog.prefilter import Prefilter
from saslscope.maillog.sources import BLOCK_SIZE, Warnings, open_log, whole_lines
from saslscope.maillog.syslog import STAMP_RE
from saslscope.maillog.timestamps import MONTHS, YearTracker, parse_rfc3339
from saslscope.maillog.wire import RECORD_TYPES, ChunkResult, YearState, pack, unpack

MIN_CHUNK = 16 << 20          # smaller inputs are not worth a process


@dataclass(frozen=True)
class Chunk:
    path: str
    start: int | None = None     # byte range of an uncompressed file; None: the whole file
    end: int | None = None


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
    return [Chunk(path, a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _raw_range(chunk: Chunk) -> Iterator[bytes]:
    with open(chunk.path, "rb") as raw:
        raw.seek(chunk.start or 0)
        left = (chunk.end or 0) - (chunk.start or 0)
        while left > 0:
            block = raw.read(min(BLOCK_SIZE, left))
            if not block:
                break
            left -= len(block)
            yield block


def _range_blocks(chunk: Chunk, warnings: Warnings) -> Iterator[bytes]:
    """Blocks of whole lines of a chunk (cut at the line cap like every input)."""
    if chunk.start is None:
        from saslscope.maillog.sources import iter_blocks

        yield from iter_blocks(chunk.path, warnings)
        return
    yield from whole_lines(_raw_range(chunk), warnings)


def first_stamp(chunk: Chunk) -> tuple[int, int] | None:
    """(month, day) of a chunk's first line, for the year inference across chunks."""
    for block in _range_blocks(chunk, Warnings()):
        m = STAMP_RE.match(block, 0, 64)
        if m is None:
            return None
        if m.group("bsd") is not None:
            month = MONTHS.get(m.group("bsd")[:3])
            return (month, int(m.group("bsd")[4:6])) if month else None
        stamp = parse_rfc3339(m.group("iso"))
        return (stamp.month, stamp.day) if stamp else None
    return None


def run_chunk(job: ChunkJob) -> ChunkResult:
    """Analyse one chunk (runs in a worker process) with the same line loop as one process."""
    warnings = Warnings()
    locality = LocalityJudge(job.own_addresses)
    correlator = Correlator(locality, None, continues=not job.first)
    # like the one-process summary (analysis.summarize): no detail events, so a delivery line that
    # reaches the parser (the prefilter hands over the lines at block edges) counts no recipient
    years = RecordingYearTracker(job.year)
    years.last_month = job.last_month
    parser = LineParser(year=job.year, syslog_name=job.syslog_name, detail=False, years=years)
    prefilter = Prefilter(parser, correlator.feed, "summary")
    feeder = Feeder(parser, correlator, job.unparsed_limit)

    def blocks() -> Iterator[bytes]:
        for block in _range_blocks(job.chunk, warnings):
            if _bytes_read is not None:
                with _bytes_read.get_lock():
                    _bytes_read.value += len(block)
            yield block

    feeder.feed_lines(job.chunk.path, numbered(blocks(), None, prefilter))
    feeder.count_prefiltered(prefilter)
    if job.last:
        results, boundary = correlator.finish(), correlator.boundary
    else:
        results, boundary = correlator.cut()
    return ChunkResult(results, boundary, locality.own_ips, feeder.counts, feeder.unparsed, warnings.messages,
                       warnings.long_lines, years.first, (years.year, years.last_month))


def merge(outcomes: list[ChunkResult], locality: LocalityJudge) -> Results:
    """Join chunk results in log order, concluding what crossed each cut."""
    merged = Results()
    carried_sessions: dict[tuple[str, str, int], bool] = {}     # open at the cut: had messages
    carried_messages: dict[str, Message] = {}
    for index, outcome in enumerate(outcomes):
        res, boundary = outcome.results, outcome.boundary
        locality.own_ips |= outcome.own_ips
        if index and boundary is not None:
            for key, start in boundary.session_starts.items():
                # the session open at the cut, if any, goes on here: it is not carried further
                carried_had = carried_sessions.pop(key, False)
                had = start.had_messages or carried_had
                if start.ended and start.auth is not None and start.auth[0] > 0 and not had:
                    merged.auth_only.append(_auth_only_record(start, start.auth))
            for qid, seen in boundary.message_starts.items():
                message = carried_messages.pop(qid, None)
                if message is None:
                    continue
                if seen is not None and (seen.sender is not None or seen.nrcpt is not None):
                    message.sender, message.size, message.nrcpt = seen.sender, seen.size, seen.nrcpt
                login = login_of(message)
                if login is not None:
                    merged.logins.append(login)
        for name in RECORD_TYPES:
            getattr(merged, name).extend(getattr(res, name))
        merged.sasl_messages += res.sasl_messages
        if boundary is not None:
            for key, (had, continued) in boundary.open_sessions.items():
                carried_sessions[key] = had or (continued and carried_sessions.pop(key, False))
            for message in boundary.open_messages:
                carried_messages[message.queue_id] = message
    for message in carried_messages.values():
        login = login_of(message)
        if login is not None:
            merged.logins.append(login)
    return merged


def _auth_only_record(start: SessionStart, auth: tuple[int, int]) -> AuthOnlySession:
    return AuthOnlySession(None, start.end, start.client_name, start.client_ip, start.host, start.service, auth, None)


class RecordingYearTracker(YearTracker):
    """A YearTracker that remembers the first stamp it was asked about: the only one whose
    year depends on where the inference stood when the chunk began."""

    first: tuple[int, int] | None = None

    def year_for(self, month: int, day: int) -> int:
        if self.first is None:
            self.first = (month, day)
        return super().year_for(month, day)


def year_state_at(state: YearState, stamp: tuple[int, int] | None, now: datetime | None) -> YearState:
    """The year inference a chunk starts with: ``state`` moved on by the chunk's first stamp."""
    if stamp is None:
        return state
    tracker = YearTracker(state[0], now)
    tracker.last_month = state[1]
    return tracker.year_for(*stamp), stamp[0]


def year_states(stamps: list[tuple[int, int] | None], year: int | None, now: datetime | None) -> list[YearState]:
    """The year inference each chunk starts with, guessed from the chunks' first stamps alone."""
    state: YearState = (year, 0)
    states = []
    for stamp in stamps:
        state = year_state_at(state, stamp, now)
        states.append(state)
    return states


# In a worker: the bytes read by all workers, shared with the parent's progress bar (or None).
_bytes_read: Any = None


def _share_counter(counter: Any) -> None:
    global _bytes_read  # noqa: PLW0603 - a pool initializer's only way to hand a worker the shared counter
    _bytes_read = counter


@contextmanager
def _reporting(counter: Any, progress: Callable[[int], None] | None) -> Iterator[None]:
    """Pass the workers' bytes read on to ``progress`` as they grow (a terminal's progress bar
    would otherwise stand still until every chunk is done). A chunk analysed again for its
    year counts twice: the bar may reach its end early."""
    if progress is None:
        yield
        return
    done = threading.Event()
    reported = 0

    def report() -> None:
        nonlocal reported
        now = counter.value
        if now > reported:
            progress(now - reported)
            reported = now

    def poll() -> None:
        while not done.wait(0.1):
            report()

    poller = threading.Thread(target=poll, name="saslscope-progress", daemon=True)
    poller.start()
    try:
        yield
    finally:
        done.set()
        poller.join()
        report()


def run(chunks: list[Chunk], jobs: int, year: int | None, now: datetime | None, syslog_name: str | None,
        own_addresses: set[str], unparsed_limit: int,
        progress: Callable[[int], None] | None = None) -> list[ChunkResult]:
    """Analyse the chunks in ``jobs`` processes; ``progress`` is told the bytes read as they are."""
    stamps = [first_stamp(chunk) for chunk in chunks]
    work = [ChunkJob(c, i == 0, i == len(chunks) - 1, y, m, syslog_name, own_addresses, unparsed_limit)
            for i, (c, (y, m)) in enumerate(zip(chunks, year_states(stamps, year, now)))]
    # forkserver: workers fork from a clean, single-threaded server (the CLI may be running
    # rich's progress thread, and forking a threaded process is unsafe)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["saslscope.maillog.parallel"])
    counter = context.Value("q", 0) if progress is not None else None
    with tempfile.TemporaryDirectory(prefix="saslscope-") as directory, \
            context.Pool(min(jobs, len(work)), _share_counter, (counter,)) as pool, _reporting(counter, progress):
        run_one = functools.partial(_run_chunk_to_file, directory)
        # in log order as each arrives: a chunk is unpacked while later ones are still analysed
        outcomes = [_read_result(path) for path in pool.imap(run_one, work)]
        # The chunks' first lines cannot show a chunk that spans more than a year (Jan to Mar
        # of the next year, and the next chunk starts in Apr), nor whether a first line's stamp
        # is read at all. One pass reaches a chunk's first stamp read with the inference where
        # the chunk before left it: a chunk that gave that stamp another year is analysed again
        # from there (its other years follow from the first).
        left = outcomes[0].years
        for i in range(1, len(work)):
            first = outcomes[i].first_stamp
            if first is None:            # read no BSD stamp: the inference passes through unchanged
                continue
            if year_state_at(left, first, now)[0] != year_state_at((work[i].year, work[i].last_month), first, now)[0]:
                work[i] = replace(work[i], year=left[0], last_month=left[1])
                outcomes[i] = _read_result(pool.apply(run_one, (work[i],)))
            left = outcomes[i].years
    return outcomes


def _run_chunk_to_file(directory: str, job: ChunkJob) -> str:
    """Analyse a chunk and leave its packed result in a new file of ``directory``.

    Not through the pool's pipe: it took 0.03-0.6 s (erratic) to pass 9 MB to the parent,
    a file written and read 3-30 ms.
    """
    handle, path = tempfile.mkstemp(dir=directory, suffix=".chunk")
    with os.fdopen(handle, "wb") as out:
        out.write(pack(run_chunk(job)))
    return path


def _read_result(path: str) -> ChunkResult:
    with open(path, "rb") as packed:
        data = packed.read()
    os.unlink(path)
    return unpack(data)
