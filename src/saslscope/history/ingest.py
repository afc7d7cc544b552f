"""Incremental, idempotent ingest of mail logs into the history store.

:class:`Ingest` reads only the bytes of each file that no earlier run read (see
:mod:`.files`), parses each new line once, records what the baselines need (:class:`Recorder`)
and hands every line and its event on to the caller (``logs alerts`` feeds them to the
correlator and the detectors). :meth:`Ingest.commit` writes the counts, events, file positions
and findings in the run's one transaction.

Why counts do not change when a log is cut between runs: every count comes from one line
(a ``client=`` line is one login and one message, a failure line one failure), except the
recipients and bounces of a message, which come from later lines of its queue file. Those are
joined through the ``pending`` table: a message whose queue file is still open when a run ends
is kept there, and the next run adds its recipients and bounces where the first left off.
"""

from __future__ import annotations

import functools
import ipaddress
import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from saslscope.detect.findings import Finding
from saslscope.detect.geolookup import GeoLookup
from saslscope.history.files import FINGERPRINT_BYTES, Head, NewBytes, read_head
from saslscope.history.store import FileState, HistoryStore
from saslscope.maillog import events as ev
from saslscope.maillog.correlate import _octet
from saslscope.maillog.parse import LineParser
from saslscope.maillog.sources import STDIN, Warnings, expand
from saslscope.maillog.timestamps import TimestampParser

#: a message still open this long (log time) after its client= line is forgotten: Postfix
#: gives up on a message after maximal_queue_lifetime (5 days by default)
PENDING_LIFETIME = 10 * 86400.0

#: events buffered before they are written (inside the run's transaction)
EVENT_BATCH = 20_000


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) of an address; anything that is not an IP is its own network
    (anonymised logs carry tokens: they are counted as they are)."""
    parts = ip.split(".")
    if len(parts) == 4 and all(_octet(p) for p in parts):       # the common case, without ipaddress
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
    return _network_slow(ip)


@functools.lru_cache(maxsize=4096)
def _network_slow(ip: str) -> str:
    text = ip.removeprefix("IPv6:")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def hour_of(when: float) -> int:
    return int(when // 3600)


@dataclass(slots=True)
class _Pending:
    account: str
    time: float
    counted: bool


class Recorder:
    """Turns parsed events into the store's counts; buffered, written by :meth:`flush`."""

    def __init__(self, store: HistoryStore, geo: GeoLookup | None = None) -> None:
        self.store = store
        self.geo = geo
        self.accounts: dict[str, list[Any]] = {}               # name -> [first, last, logins, failures]
        self.seen: dict[tuple[str, str, str], list[Any]] = {}  # (account, dim, value) -> [first, last, count]
        self.volume: dict[tuple[str, int], list[int]] = {}     # (account, hour) -> [msgs, rcpts, bounced, deferred]
        self.events: list[tuple[Any, ...]] = []
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.newest = 0.0

    def load(self) -> None:
        self.pending = {key: _Pending(*value) for key, value in self.store.pending().items()}

    # ------------------------------------------------------------------ feeding
    def feed(self, event: ev.Event, source: str, line: int, raw: bytes) -> None:
        kind = type(event)
        if kind is ev.ClientLine:
            self._client_line(event, source, line, raw)  # type: ignore[arg-type]
        elif kind is ev.QueueFrom:
            self._queue_from(event)  # type: ignore[arg-type]
        elif kind is ev.Delivery:
            self._delivery(event)  # type: ignore[arg-type]
        elif kind is ev.Removed:
            self.pending.pop((event.host, event.queue_id), None)  # type: ignore[attr-defined]
        elif kind is ev.AuthFailure:
            self._failure(event, event.username, event.client_ip, event.method,  # type: ignore[attr-defined]
                          source, line, raw)
        elif kind is ev.DovecotLogin:
            self._dovecot_login(event, source, line, raw)  # type: ignore[arg-type]
        elif kind is ev.Reject:
            self._reject(event)  # type: ignore[arg-type]
        elif kind is ev.Repeated:
            for _ in range(event.times):  # type: ignore[attr-defined]
                self.feed(event.event, source, line, raw)  # type: ignore[attr-defined]

    def _account(self, name: str, when: float, logins: int, failures: int) -> None:
        entry = self.accounts.get(name)
        if entry is None:
            self.accounts[name] = [when, when, logins, failures]
        else:
            if when < entry[0]:
                entry[0] = when
            if when > entry[1]:
                entry[1] = when
            entry[2] += logins
            entry[3] += failures
        if when > self.newest:
            self.newest = when

    def _see(self, account: str, dimension: str, value: str, when: float) -> None:
        key = (account, dimension, value)
        entry = self.seen.get(key)
        if entry is None:
            self.seen[key] = [when, when, 1]
        else:
            if when < entry[0]:
                entry[0] = when
            if when > entry[1]:
                entry[1] = when
            entry[2] += 1

    def _volume(self, account: str, when: float, column: int, amount: int) -> None:
        key = (account, hour_of(when))
        entry = self.volume.get(key)
        if entry is None:
            entry = self.volume[key] = [0, 0, 0, 0]
        entry[column] += amount

    def _login(self, account: str, when: float, ip: str, method: str | None, service: str,
               source: str, line: int, raw: bytes) -> None:
        network = network_of(ip)
        country = asn = None
        self._account(account, when, 1, 0)
        self._see(account, "address", ip, when)
        self._see(account, "network", network, when)
        if method:
            self._see(account, "method", method, when)
        if self.geo is not None:
            country = self.geo.country(ip)
            found = self.geo.asn(ip)
            asn = found[0] if found else None
            if country:
                self._see(account, "country", country, when)
            if asn is not None:
                self._see(account, "asn", str(asn), when)
        self._event(when, "login", account, ip, network, country, asn, method, service, source, line, raw)

    def _event(self, when: float, kind: str, account: str | None, ip: str, network: str, country: str | None,
               asn: int | None, method: str | None, service: str, source: str, line: int, raw: bytes) -> None:
        self.events.append((when, kind, account, ip, network, country, asn, method, service, source, line,
                            raw.decode("utf-8", "replace")))
        if len(self.events) >= EVENT_BATCH and self.store.conn.in_transaction:   # never outside the run's
            self.store.add_events(self.events)
            self.events = []

    def _client_line(self, e: ev.ClientLine, source: str, line: int, raw: bytes) -> None:
        if not e.sasl_username or (e.sasl_method or "").upper() == "ANONYMOUS" or e.time is None:
            return
        when = e.time.timestamp()
        self._login(e.sasl_username, when, e.client_ip, e.sasl_method, e.program, source, line, raw)
        self._volume(e.sasl_username, when, 0, 1)
        if e.queue_id != "NOQUEUE":
            self.pending[(e.host, e.queue_id)] = _Pending(e.sasl_username, when, False)

    def _queue_from(self, e: ev.QueueFrom) -> None:
        pending = self.pending.get((e.host, e.queue_id))
        if pending is not None and not pending.counted and e.nrcpt is not None:
            pending.counted = True
            self._volume(pending.account, pending.time, 1, e.nrcpt)

    def _delivery(self, e: ev.Delivery) -> None:
        pending = self.pending.get((e.host, e.queue_id))
        if pending is None:
            return
        if e.status == "bounced":
            self._volume(pending.account, pending.time, 2, 1)
        elif e.status == "deferred":
            self._volume(pending.account, pending.time, 3, 1)

    def _failure(self, e: ev.Event, username: str | None, ip: str, method: str | None,
                 source: str, line: int, raw: bytes) -> None:
        if e.time is None:
            return
        when = e.time.timestamp()
        if username:
            self._account(username, when, 0, 1)
        self._event(when, "failure", username or None, ip, network_of(ip), None, None, method, e.program,
                    source, line, raw)

    def _dovecot_login(self, e: ev.DovecotLogin, source: str, line: int, raw: bytes) -> None:
        if e.time is None or not e.client_ip:
            return
        if e.ok and e.username:
            self._login(e.username, e.time.timestamp(), e.client_ip, e.method, e.service, source, line, raw)
        elif not e.ok:
            self._failure(e, e.username, e.client_ip, e.method, source, line, raw)

    def _reject(self, e: ev.Reject) -> None:
        account, helo = e.fields.get("sasl_username"), e.fields.get("helo")
        if account and helo and e.time is not None:
            self._see(account, "helo", helo, e.time.timestamp())

    def see_helo(self, account: str, helo: str, when: datetime) -> None:
        """A HELO name learned elsewhere (a policy request carries one with every login)."""
        self._see(account, "helo", helo, when.timestamp())

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        store = self.store
        store.add_accounts((name, *values) for name, values in self.accounts.items())
        store.add_seen((*key, *values) for key, values in self.seen.items())
        store.add_volume((*key, *values) for key, values in self.volume.items())
        store.add_events(self.events)
        horizon = self.newest - PENDING_LIFETIME
        store.replace_pending((host, qid, p.account, p.time, int(p.counted))
                              for (host, qid), p in self.pending.items() if p.time >= horizon)
        self.accounts, self.seen, self.volume, self.events = {}, {}, {}, []


@dataclass(slots=True)
class _Reading:
    state: FileState
    head: Head
    new: NewBytes | None


class Ingest:
    """One ingest run over a store: :meth:`lines` (or :meth:`events`), then :meth:`commit`.

    With ``lock`` (``logs alerts``) the run holds the store's write lock from construction to
    :meth:`commit`/:meth:`abort`, so no other writer reads the same bytes meanwhile. A follower
    (``logs watch``) passes ``lock=False``, reads lines itself from :meth:`position`, hands
    them to :meth:`record`, moves :meth:`advance` and calls :meth:`commit` now and then: the
    lock is then held only while a checkpoint is written.
    """

    def __init__(self, store: HistoryStore, *, geo: GeoLookup | None = None, year: int | None = None,
                 now: datetime | None = None, syslog_name: str | None = None, lock: bool = True) -> None:
        self.store = store
        self.year, self.now = year, now
        self.parser = LineParser(year=year, syslog_name=syslog_name, now=now)
        self.recorder = Recorder(store, geo)
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
        self.recorder.load()

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
                self.warnings.add("stdin is not kept in the history store (it cannot be recognised on a rerun)")
                continue
            reading = self.recognise(path)
            if reading.new is None:
                self.files_skipped += 1
                continue
            yield from self._read(reading)

    def _read(self, reading: _Reading) -> Iterator[tuple[str, int, bytes]]:
        state, new = reading.state, reading.new
        assert new is not None
        if state.id is not None or state.offset:           # resuming: the year where it stopped
            self.parser.times = TimestampParser(year=state.year if state.year else self.year, now=self.now)
            self.parser.times.years.last_month = state.last_month
        number = state.lines
        for block in new.blocks(self.warnings):
            self.bytes_read += len(block)
            for line in block.split(b"\n")[:-1]:
                number += 1
                yield new.path, number, line[:-1] if line[-1:] == b"\r" else line
        self.lines_read += number - state.lines
        state.complete = new.compressed and new.at_eof and not new.damaged
        self.advance(state, new.end, number)

    def position(self, path: str) -> FileState:
        """Where reading ``path`` resumes: ``offset`` bytes (whole lines) and ``lines`` read."""
        return self.recognise(path).state

    def record(self, event: ev.Event, source: str, number: int, raw: bytes) -> None:
        """Count one parsed line (a follower's own reading loop)."""
        self.recorder.feed(event, source, number, raw)

    def advance(self, state: FileState, offset: int, lines: int) -> None:
        """Mark ``state``'s file as read up to ``offset`` (after ``lines`` lines), kept at the next commit."""
        state.offset, state.lines = offset, lines
        years = self.parser.times.years
        state.year, state.last_month = years.year, years.last_month
        if all(state is not touched for touched in self._touched):
            self._touched.append(state)

    def events(self, paths: Iterable[str]) -> Iterator[tuple[str, int, bytes, ev.Event | None]]:
        """Like :meth:`lines`, each line parsed once and recorded; the event is None for a line
        that is not mail evidence or not understood (the caller counts those)."""
        parse, feed = self.parser.parse, self.recorder.feed
        for source, number, line in self.lines(paths):
            event = parse(line)
            if isinstance(event, ev.Event):
                feed(event, source, number, line)
                yield source, number, line, event
            else:
                yield source, number, line, None

    # ------------------------------------------------------------------ ending
    def commit(self, findings: Iterable[Finding] = (), *, retention: tuple[float, float, float] | None = None) -> None:
        """Write the run: counts, events, positions, ``findings``; prune by ``retention``
        (events, baseline, findings in seconds); release the lock. Without ``lock`` this is a
        checkpoint: the lock is taken for the write only, and the run goes on."""
        when = clock.time()
        if not self.locked:
            self.store.begin()
        self.recorder.flush()
        for state in self._touched:
            self.store.save_file(state, when)
        self.store.add_findings(findings)
        if retention is not None:
            self.store.prune(events=retention[0], baseline=retention[1], findings=retention[2])
        self.store.commit()
        self._touched = []
        if self.locked:           # a locked run ends here; a follower's run goes on
            self.locked = False

    def abort(self) -> None:
        self.store.rollback()


def ingest(store: HistoryStore, paths: Iterable[str], **options: Any) -> Ingest:
    """Read and record every new line of ``paths`` (no detection): the library entry point."""
    run = Ingest(store, **options)
    try:
        for _ in run.events(paths):
            pass
        run.commit()
    except BaseException:
        run.abort()
        raise
    return run


__all__ = ["FINGERPRINT_BYTES", "Ingest", "Recorder", "hour_of", "ingest", "network_of"]
