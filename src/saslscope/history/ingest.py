"""Incremental, idempotent ingest of mail logs into the history store.

:class:`Ingest` reads only the bytes of each file that no earlier run read (see :mod:`.files`),
turns each new line into detection signals once (:class:`~saslscope.detect.from_maillog.MaillogSignals`,
the same adapter ``logs alerts`` uses), records what the baselines need (:class:`Recorder`) and
hands the signals on (``logs alerts --db`` feeds them to the detectors). :meth:`Ingest.commit`
writes counts, events, file positions, what the run left open and the findings in one
transaction.

Why counts do not change when a log is cut between runs: a login or failure is one line; a
message is counted at its qmgr ``from=`` line (with its recipients), which may come in the next
run. What the adapter holds open at the end of a run (the login waiting for that line, the
owner of a queue file until ``removed``) is kept in the store and taken up by the next run,
instead of being concluded as the end of the log.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from saslscope.detect.addresses import Grouping
from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.signals import AuthFailed, AuthSucceeded, DeliveryOutcome, MessageSubmitted, Signal
from saslscope.history import carry
from saslscope.history.files import Head, NewBytes, read_head
from saslscope.history.store import FileState, HistoryStore
from saslscope.maillog.feed import numbered
from saslscope.maillog.sources import STDIN, Warnings, expand, iter_blocks
from saslscope.maillog.timestamps import TimestampParser

#: events buffered before they are written (inside the run's transaction)
EVENT_BATCH = 20_000
#: what the store keeps of a login (tls_cipher is not kept: the session's TLS line may lie
#: before a cut, so it would count differently when a log is read in pieces)
DIMENSIONS = ("address", "network", "country", "asn", "method", "helo")
_VOLUME = {"bounced": 2, "deferred": 3}


def hour_of(when: float) -> int:
    return int(when // 3600)


class Recorder:
    """Turns signals into the store's counts and events; buffered, written by :meth:`flush`."""

    def __init__(self, store: HistoryStore, grouping: Grouping, geo: GeoLookup | None = None) -> None:
        self.store = store
        self.grouping = grouping
        self.geo = geo
        self.accounts: dict[str, list[Any]] = {}               # name -> [first, last, logins, failures]
        self.seen: dict[tuple[str, str, str], list[Any]] = {}  # (account, dim, value) -> [first, last, count]
        self.volume: dict[tuple[str, int], list[int]] = {}     # (account, hour) -> [msgs, rcpts, bounced, deferred]
        self.events: list[tuple[Any, ...]] = []
        self.newest = 0.0

    def feed(self, signal: Signal) -> None:
        kind = type(signal)
        if kind is AuthSucceeded:
            self._login(signal)  # type: ignore[arg-type]
        elif kind is AuthFailed:
            self._failure(signal)  # type: ignore[arg-type]
        elif kind is MessageSubmitted:
            message: MessageSubmitted = signal  # type: ignore[assignment]
            self._volume(message.username, message.time.timestamp(), 0, 1)
            self._volume(message.username, message.time.timestamp(), 1, message.recipients)
        elif kind is DeliveryOutcome:
            outcome: DeliveryOutcome = signal  # type: ignore[assignment]
            column = _VOLUME.get(outcome.status)
            if column is not None:
                self._volume(outcome.username, outcome.time.timestamp(), column, 1)

    def _account(self, name: str, when: float, logins: int, failures: int) -> None:
        entry = self.accounts.get(name)
        if entry is None:
            self.accounts[name] = [when, when, logins, failures]
        else:
            entry[0] = min(entry[0], when)
            entry[1] = max(entry[1], when)
            entry[2] += logins
            entry[3] += failures
        self.newest = max(self.newest, when)

    def _see(self, account: str, dimension: str, value: str, when: float) -> None:
        entry = self.seen.get((account, dimension, value))
        if entry is None:
            self.seen[(account, dimension, value)] = [when, when, 1]
        else:
            entry[0] = min(entry[0], when)
            entry[1] = max(entry[1], when)
            entry[2] += 1

    def _volume(self, account: str, when: float, column: int, amount: int) -> None:
        entry = self.volume.get((account, hour_of(when)))
        if entry is None:
            entry = self.volume[(account, hour_of(when))] = [0, 0, 0, 0]
        entry[column] += amount

    def _login(self, login: AuthSucceeded) -> None:
        when, account, ip = login.time.timestamp(), login.username, login.ip
        network = self.grouping.network(ip)
        self._account(account, when, 1, 0)
        country = asn = None
        if self.geo is not None:
            country = self.geo.country(ip)
            found = self.geo.asn(ip)
            asn = found[0] if found else None
        for dimension, value in zip(DIMENSIONS, (ip, network, country, None if asn is None else str(asn),
                                                 login.method, login.helo), strict=True):
            if value:
                self._see(account, dimension, value, when)
        self._event(when, "login", account, ip, network, country, asn, login)

    def _failure(self, failure: AuthFailed) -> None:
        when = failure.time.timestamp()
        if failure.username:
            self._account(failure.username, when, 0, 1)
        self._event(when, "failure", failure.username or None, failure.ip, self.grouping.network(failure.ip),
                    None, None, failure)

    def _event(self, when: float, kind: str, account: str | None, ip: str, network: str, country: str | None,
               asn: int | None, signal: AuthSucceeded | AuthFailed) -> None:
        e = signal.evidence
        self.events.append((when, kind, account, ip, network, country, asn, signal.method, signal.service,
                            e.source, e.line or 0, e.text))
        if len(self.events) >= EVENT_BATCH and self.store.conn.in_transaction:   # never outside the run's
            self.store.add_events(self.events)
            self.events = []

    def flush(self) -> None:
        store = self.store
        store.add_accounts((name, *values) for name, values in self.accounts.items())
        store.add_seen((*key, *values) for key, values in self.seen.items())
        store.add_volume((*key, *values) for key, values in self.volume.items())
        store.add_events(self.events)
        self.accounts, self.seen, self.volume, self.events = {}, {}, {}, []


@dataclass(slots=True)
class _Reading:
    state: FileState
    head: Head
    new: NewBytes | None


class Ingest:
    """One ingest run over a store: :meth:`signals` (or :meth:`lines`), then :meth:`commit`.

    With ``lock`` (``logs alerts``) the run holds the store's write lock from construction to
    :meth:`commit`/:meth:`abort`, so no other writer reads the same bytes meanwhile. A follower
    (``logs watch``) passes ``lock=False``, reads lines itself from :meth:`position`, feeds them
    to :attr:`source` and the signals to :meth:`record`, moves :meth:`advance` and calls
    :meth:`commit` now and then: the lock is then held only while a checkpoint is written.
    """

    def __init__(self, store: HistoryStore, source: MaillogSignals, *, grouping: Grouping,
                 geo: GeoLookup | None = None, year: int | None = None, now: datetime | None = None,
                 lock: bool = True) -> None:
        self.store = store
        self.source = source
        self.year, self.now = year, now
        self.recorder = Recorder(store, grouping, geo)
        self.warnings = Warnings()
        self.bytes_read = 0
        self.lines_read = 0
        self.files_skipped = 0
        self._states: dict[tuple[int, bytes], FileState] = {}     # this run's files, by fingerprint
        self._touched: list[FileState] = []
        self.locked = lock
        if lock:
            store.begin()
        self._lengths = store.fingerprint_lengths()
        source.resume(carry.loads(store.carried(carry.NAME)))

    # ------------------------------------------------------------------ files
    def recognise(self, path: str) -> _Reading:
        """The store's state of ``path`` (by content) and what is new in it."""
        head = read_head(path)
        state = self._known(head)
        if state is None:
            state = FileState(None, head.fingerprint(), len(head.data), 0, 0, False, None, 0, path)
        elif len(head.data) > state.fp_len:     # a file that was short has grown: lengthen its print
            self._states.pop((state.fp_len, state.fingerprint), None)
            state.fingerprint, state.fp_len = head.fingerprint(), len(head.data)
        self._states[(state.fp_len, state.fingerprint)] = state
        state.name = path
        if not head.data or state.complete:
            return _Reading(state, head, None)
        return _Reading(state, head, NewBytes(path, state.offset, head.compressed))

    def _known(self, head: Head) -> FileState | None:
        lengths = sorted({*self._lengths, *(length for length, _ in self._states)}, reverse=True)
        for length in lengths:
            if length > len(head.data) or length == 0:
                continue
            key = (length, head.fingerprint(length))
            if key in self._states:
                return self._states[key]
            found = self.store.find_file(*key)
            if found is not None:
                return found
        return None

    def lines(self, paths: Iterable[str]) -> Iterator[tuple[str, int, bytes]]:
        """``(source, line_number, line)`` of every line no run has read yet, files in time order."""
        for path in expand(paths):
            if path == STDIN:
                self.warnings.add("stdin is judged but not kept in the history store (it cannot be "
                                  "recognised on a rerun)")
                yield from ((STDIN, number, line) for number, line in numbered(iter_blocks(STDIN, self.warnings), None, None))
                continue
            reading = self.recognise(path)
            before = self.bytes_read
            if reading.new is not None:
                yield from self._read(reading)
            if self.bytes_read == before:
                self.files_skipped += 1

    def _read(self, reading: _Reading) -> Iterator[tuple[str, int, bytes]]:
        state, new = reading.state, reading.new
        assert new is not None
        parser = self.source.parser
        if state.id is not None or state.offset:           # resuming: the year where it stopped
            parser.times = TimestampParser(year=state.year if state.year else self.year, now=self.now)
            parser.times.years.last_month = state.last_month
        number = state.lines
        for block in new.blocks(self.warnings):
            self.bytes_read += len(block)
            for line in block.split(b"\n")[:-1]:
                number += 1
                yield new.path, number, line[:-1] if line[-1:] == b"\r" else line
        self.lines_read += number - state.lines
        state.complete = new.compressed and new.at_eof and not new.damaged
        self.advance(state, new.end, number)

    def signals(self, paths: Iterable[str]) -> Iterator[Signal]:
        """The signals of every new line, each recorded before it is handed on (stdin's are
        handed on only)."""
        feed, record = self.source.feed, self.recorder.feed
        for name, number, line in self.lines(paths):
            kept = name != STDIN
            for signal in feed(name, number, line):
                if kept:
                    record(signal)
                yield signal

    # ------------------------------------------------------------------ a follower's loop
    def position(self, path: str) -> FileState:
        """Where reading ``path`` resumes: ``offset`` bytes (whole lines) and ``lines`` read."""
        return self.recognise(path).state

    def record(self, signal: Signal) -> None:
        """Count one signal (a follower's own reading loop)."""
        self.recorder.feed(signal)

    def advance(self, state: FileState, offset: int, lines: int) -> None:
        """Mark ``state``'s file as read up to ``offset`` (after ``lines`` lines), kept at the next commit."""
        state.offset, state.lines = offset, lines
        years = self.source.parser.times.years
        state.year, state.last_month = years.year, years.last_month
        if all(state is not touched for touched in self._touched):
            self._touched.append(state)

    # ------------------------------------------------------------------ ending
    def commit(self, findings: Iterable[Finding] = (), *, retention: tuple[float, float, float] | None = None) -> None:
        """Write the run: counts, events, positions, what is left open, ``findings``; prune by
        ``retention`` (events, baseline, findings in seconds); release the lock. Without
        ``lock`` this is a checkpoint: the lock is taken for the write only, and the run goes on."""
        when = clock.time()
        if not self.locked:
            self.store.begin()
        newest = max(self.recorder.newest, self.store.newest() or 0.0)
        self.recorder.flush()
        for state in self._touched:
            self.store.save_file(state, when)
        self.store.carry(carry.NAME, carry.dumps(self.source.carry(), newest))
        self.store.add_findings(findings)
        if retention is not None:
            self.store.prune(events=retention[0], baseline=retention[1], findings=retention[2])
        self.store.commit()
        self._touched = []
        self.locked = False        # a locked run ends here; a follower's run goes on

    def abort(self) -> None:
        self.store.rollback()


def ingest(store: HistoryStore, paths: Iterable[str], config: DetectConfig | None = None, *,
           geo: GeoLookup | None = None, year: int | None = None, now: datetime | None = None,
           syslog_name: str | None = None) -> Ingest:
    """Read and record every new line of ``paths`` (no detection): the library entry point."""
    config = config or DetectConfig()
    source = MaillogSignals(year=year, syslog_name=syslog_name, now=now,
                            loopback_is_local=config.networks.loopback_is_local)
    run = Ingest(store, source, grouping=Grouping(config.networks), geo=geo, year=year, now=now)
    try:
        for _ in run.signals(paths):
            pass
        run.commit(retention=config.history.retention())
    except BaseException:
        run.abort()
        raise
    return run


__all__ = ["Ingest", "Recorder", "hour_of", "ingest"]
