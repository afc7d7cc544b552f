"""The history store: one SQLite file (WAL) of what each account normally does.

Writers (``logs alerts --db``, ``logs watch --db``) go through :class:`HistoryStore`: an ingest
run takes the write lock (``BEGIN IMMEDIATE``) when it starts, reads the files' positions, and
commits the new counts, events, positions and findings together, so a run that dies counts
nothing and a second writer waits instead of reading the same bytes twice.

Readers (the detectors' state backend, ``policy serve``, ``logs account``) go through
:class:`BaselineReader`: a read-only connection whose every query is bounded in time. WAL lets
them read the last committed state while a writer works; a reader never sees half a run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from saslscope.detect.findings import Finding
from saslscope.history import schema

T = TypeVar("T")

#: how long a writer waits for another writer's lock before giving up (seconds)
WRITE_LOCK_TIMEOUT = 60.0


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message names the file and what to do."""


@dataclass(slots=True)
class FileState:
    """What the store knows of one log file (``id`` None: not seen before)."""

    id: int | None
    fingerprint: bytes
    fp_len: int
    offset: int
    lines: int
    complete: bool
    year: int | None
    last_month: int
    name: str


def _connect(path: str, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    try:
        if readonly:
            conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                                   isolation_level=None, timeout=timeout, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("SELECT 1").fetchone()
    except sqlite3.Error as exc:
        hint = ""
        if readonly and "readonly" in str(exc):
            # WAL: a reader needs the -shm file, which SQLite creates (and removes with the last
            # connection) in the store's directory
            hint = "; a reader needs write access to the store's directory, or a writer keeping it open"
        raise StoreError(f"{path}: cannot open the history store ({exc}){hint}") from None
    return conn


class HistoryStore:
    """The writable store. Use as a context manager; :meth:`begin`/:meth:`commit` bracket a run."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise StoreError(f"{self.path}: directory {parent} does not exist")
        self.conn = _connect(self.path, readonly=False, timeout=WRITE_LOCK_TIMEOUT)
        try:
            schema.migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{self.path}: not a saslscope history store ({exc})") from None
        except schema.SchemaError as exc:
            self.conn.close()
            raise StoreError(f"{self.path}: {exc}") from None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()
        self.conn.close()

    # ------------------------------------------------------------------ transactions
    def begin(self) -> None:
        """Take the write lock (waits up to :data:`WRITE_LOCK_TIMEOUT` for another writer)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: another process holds the history store ({exc})") from None

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    # ------------------------------------------------------------------ files
    def fingerprint_lengths(self) -> list[int]:
        return [row[0] for row in self.conn.execute("SELECT DISTINCT fp_len FROM files ORDER BY fp_len DESC")]

    def find_file(self, fp_len: int, fingerprint: bytes) -> FileState | None:
        row = self.conn.execute(
            "SELECT id, fingerprint, fp_len, offset, lines, complete, year, last_month, name FROM files "
            "WHERE fp_len = ? AND fingerprint = ?", (fp_len, fingerprint)).fetchone()
        if row is None:
            return None
        return FileState(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7] or 0, row[8])

    def save_file(self, state: FileState, when: float) -> None:
        values = (state.fingerprint, state.fp_len, state.offset, state.lines, int(state.complete), state.year,
                  state.last_month, state.name, when)
        if state.id is None:
            cursor = self.conn.execute(
                "INSERT INTO files (fingerprint, fp_len, offset, lines, complete, year, last_month, name, last_read) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            state.id = cursor.lastrowid
        else:
            self.conn.execute(
                "UPDATE files SET fingerprint = ?, fp_len = ?, offset = ?, lines = ?, complete = ?, year = ?, "
                "last_month = ?, name = ?, last_read = ? WHERE id = ?", (*values, state.id))

    # ------------------------------------------------------------------ counts
    def add_accounts(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO accounts (name, first_seen, last_seen, logins, failures) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), "
            "last_seen = max(last_seen, excluded.last_seen), logins = logins + excluded.logins, "
            "failures = failures + excluded.failures", rows)

    def add_seen(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO seen (account, dimension, value, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, dimension, value) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), "
            "last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count", rows)

    def add_volume(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO volume (account, hour, messages, recipients, bounced, deferred) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, hour) DO UPDATE SET messages = messages + excluded.messages, "
            "recipients = recipients + excluded.recipients, bounced = bounced + excluded.bounced, "
            "deferred = deferred + excluded.deferred", rows)

    def add_events(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO events (time, kind, account, ip, network, country, asn, method, service, source, line, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def carried(self, name: str) -> str | None:
        row = self.conn.execute("SELECT data FROM carry WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def carry(self, name: str, data: str) -> None:
        self.conn.execute("INSERT INTO carry (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                          "data = excluded.data", (name, data))

    def add_findings(self, findings: Iterable[Finding]) -> None:
        """Keep findings for the dossier; the same finding from a rerun is kept once."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO findings (time, kind, severity, username, ip, start, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((_ts(f.end or f.start), str(f.kind), int(f.severity), f.username, f.ip,
              f.start.timestamp() if f.start else None, json.dumps(f.to_dict(), ensure_ascii=False))
             for f in findings))

    def newest(self) -> float | None:
        row = self.conn.execute("SELECT max(last_seen) FROM accounts").fetchone()
        return row[0] if row else None

    def prune(self, *, events: float, baseline: float, findings: float) -> dict[str, int]:
        """Forget what is older than each retention (seconds before the newest time the store holds:
        log time, not the clock, so an archive read years later keeps what it read)."""
        newest = self.newest()
        if newest is None:
            return {}
        removed: dict[str, int] = {}
        steps = (
            ("events", "DELETE FROM events WHERE time < ?", newest - events),
            ("findings", "DELETE FROM findings WHERE time < ?", newest - findings),
            ("seen", "DELETE FROM seen WHERE last_seen < ?", newest - baseline),
            ("volume", "DELETE FROM volume WHERE hour < ?", int((newest - baseline) // 3600)),
            ("accounts", "DELETE FROM accounts WHERE last_seen < ?", newest - baseline),
        )
        for name, sql, horizon in steps:
            removed[name] = self.conn.execute(sql, (horizon,)).rowcount
        return removed


def _ts(value: Any) -> float:
    return float(value.timestamp()) if value is not None else 0.0


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class SeenValue:
    value: str
    first_seen: float
    last_seen: float
    count: int


class BaselineReader:
    """Read-only baselines, each query bounded in time.

    A query that takes longer than ``budget`` seconds (a huge store, a disk that stalls, a
    writer's checkpoint) is interrupted and answers ``None``: the caller falls back to what it
    knows from memory (the detectors then judge as if the store were empty for that account,
    which errs towards reporting, never towards hanging). ``failures`` counts such answers.
    Answers are cached per account (``cache`` accounts at most) for the reader's lifetime.
    Safe to call from several threads (queries run one at a time).
    """

    def __init__(self, path: str | os.PathLike[str], *, budget: float = 0.05, cache: int = 4096) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no history store there (run logs alerts --db first)")
        self.budget = budget
        self.conn = _connect(self.path, readonly=True, timeout=budget)
        try:
            schema.check(self.conn)
        except (sqlite3.DatabaseError, schema.SchemaError) as exc:
            self.conn.close()
            raise StoreError(f"{self.path}: {exc}") from None
        self.failures = 0
        self._lock = threading.RLock()
        self._deadline = 0.0
        self.conn.set_progress_handler(self._over_budget, 50)
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_size = cache

    def close(self) -> None:
        self.conn.close()

    def _over_budget(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def _query(self, sql: str, args: Sequence[Any], shape: Callable[[list[Any]], T]) -> T | None:
        # one query at a time: a service may call from worker threads (the connection is shared)
        with self._lock:
            self._deadline = time.monotonic() + self.budget
            try:
                return shape(self.conn.execute(sql, args).fetchall())
            except sqlite3.Error:
                self.failures += 1
                return None

    def _cached(self, key: tuple[str, str], load: Callable[[], T | None]) -> T | None:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]  # type: ignore[no-any-return]
            value = load()
            if value is not None:
                self._cache[key] = value
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return value

    def seen(self, account: str, dimension: str) -> dict[str, SeenValue] | None:
        """The values of one dimension the account used (None: the store did not answer in time)."""
        return self._cached((account, "seen:" + dimension), lambda: self._query(
            "SELECT value, first_seen, last_seen, count FROM seen WHERE account = ? AND dimension = ?",
            (account, dimension), lambda rows: {r[0]: SeenValue(*r) for r in rows}))

    def account(self, account: str) -> tuple[float, float, int, int] | None:
        """``(first_seen, last_seen, logins, failures)``; None when unknown or the store did not answer."""
        found: list[tuple[float, float, int, int]] | None = self._cached((account, "account"), lambda: self._query(
            "SELECT first_seen, last_seen, logins, failures FROM accounts WHERE name = ?", (account,),
            lambda rows: [(float(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows]))
        return found[0] if found else None

    def hourly(self, account: str, metric: str, since_hour: int) -> list[tuple[int, int]] | None:
        """``(hour, count)`` of ``messages``/``recipients``/``bounced``/``deferred`` from ``since_hour`` on."""
        if metric not in ("messages", "recipients", "bounced", "deferred"):
            raise ValueError(f"unknown volume metric {metric!r}")
        rows = self._cached((account, "volume:" + metric), lambda: self._query(
            f"SELECT hour, {metric} FROM volume WHERE account = ? AND {metric} > 0 ORDER BY hour",
            (account,), lambda found: [(int(h), int(c)) for h, c in found]))
        return None if rows is None else [r for r in rows if r[0] >= since_hour]

    def failed_logins(self, account: str, within: str, since: float, limit: int = 10_000) -> list[tuple[float, str, int, str]] | None:
        """Failed logins of ``account`` from ``within`` (an address or a network) since ``since``:
        ``(time, source, line, text)``, oldest first, the most recent ``limit``."""
        return self._query(
            "SELECT time, source, line, text FROM (SELECT time, id, source, line, text FROM events "
            "WHERE account = ? AND kind = 'failure' AND time >= ? AND (ip = ? OR network = ?) "
            "ORDER BY time DESC, id DESC LIMIT ?) ORDER BY time, id", (account, since, within, within, limit),
            lambda rows: [(float(t), str(s), int(n), str(x)) for t, s, n, x in rows])

    def events(self, account: str, limit: int = 50) -> list[dict[str, Any]] | None:
        return self._query(
            "SELECT time, kind, ip, network, country, asn, method, service, source, line, text FROM events "
            "WHERE account = ? ORDER BY time DESC, id DESC LIMIT ?", (account, limit),
            lambda rows: [dict(zip(("time", "kind", "ip", "network", "country", "asn", "method", "service",
                                     "source", "line", "text"), r)) for r in rows])

    def findings(self, account: str, limit: int = 50) -> list[dict[str, Any]] | None:
        return self._query(
            "SELECT data FROM findings WHERE username = ? ORDER BY time DESC, id DESC LIMIT ?", (account, limit),
            lambda rows: [json.loads(r[0]) for r in rows])

    def findings_between(self, start: float, end: float) -> list[dict[str, Any]] | None:
        return self._query(
            "SELECT data FROM findings WHERE time >= ? AND time <= ? ORDER BY time, id", (start, end),
            lambda rows: [json.loads(r[0]) for r in rows])
