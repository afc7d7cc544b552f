"""``logs watch --db``: what watch reads goes into the history store, and comes back from it.

* **positions**: without ``--state``, each file resumes where the store says it was read up to
  (the store recognises a file by its first bytes, like ``logs alerts --db``), so a restart
  neither re-reads nor skips; the adapter's open messages are carried in the store with them;
* **baselines**: the engine's state is :class:`~saslscope.history.state.HistoryState`, which
  answers "seen before?" and "usual volume?" from weeks of store as well as from memory;
* **recording**: every signal of a file line is counted into the store (logins, networks,
  volumes, events) through the store's follower-mode ingest, and the findings are kept; both are
  committed at watch's checkpoints, taking the store's write lock only while writing.

Signals of stdin lines are judged, not recorded (journald replays its last lines on every
start, and a line without a file cannot be recognised on a rerun).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from saslscope.detect.addresses import Grouping
from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.signals import Signal
from saslscope.history.ingest import Ingest
from saslscope.history.store import BaselineReader, HistoryStore
from saslscope.maillog.follow import Position


class HistoryLink:
    def __init__(self, path: str, source: MaillogSignals, config: DetectConfig, *, geo: GeoLookup | None = None,
                 year: int | None = None) -> None:
        """``source`` is the adapter watch feeds (it takes up the messages the store carried).
        Raises :class:`saslscope.history.store.StoreError` when the store cannot be used."""
        self.store = HistoryStore(path)
        try:
            self.ingest = Ingest(self.store, source, grouping=Grouping(config.networks), geo=geo, year=year,
                                 lock=False)
            self.reader = BaselineReader(path, budget=config.history.read_budget)
        except BaseException:
            self.store.close()
            raise
        self._findings: list[Finding] = []

    def start(self, path: str) -> Position | None:
        """Where the store says ``path``'s present file was read up to (None: not read yet)."""
        try:
            state = self.ingest.position(path)
            st = os.stat(path)
        except OSError:
            return None
        if state.id is None or not state.offset:
            return None
        return Position(path, st.st_ino, st.st_dev, state.offset, state.lines, state.fingerprint.hex(),
                        state.fp_len)

    def record(self, signal: Signal) -> None:
        self.ingest.record(signal)

    def found(self, finding: Finding) -> None:
        self._findings.append(finding)

    def checkpoint(self, positions: Mapping[str, Position]) -> None:
        """Commit what was recorded, the findings, the open messages, and each file's position
        (while the follower reads the file now at its path; a file rotated away is recorded up
        to the last checkpoint before its rotation)."""
        for path, position in positions.items():
            try:
                state = self.ingest.position(path)
                inode = os.stat(path).st_ino
            except OSError:
                continue
            if inode == position.inode:
                self.ingest.advance(state, position.offset, position.lines)
        self.ingest.commit(self._findings)
        self._findings = []

    def close(self) -> None:
        self.reader.close()
        self.store.close()
