"""``logs watch --db``: what watch reads goes into the history store, and comes back from it.

* **positions**: without ``--state``, each file resumes where the store says it was read up to
  (the store recognises a file by its first bytes, like ``logs alerts --db``), so a restart
  neither re-reads nor skips;
* **baselines**: the engine's state is :class:`~saslscope.history.state.HistoryState`, which
  answers "seen before?" and "usual volume?" from weeks of store as well as from memory;
* **recording**: every line read is counted into the store (logins, networks, volumes, events)
  through the store's follower-mode ingest, and the findings are kept; both are committed at
  watch's checkpoints, taking the store's write lock only while writing.

Each line is parsed a second time for the store (the adapter keeps its events to itself).
Lines from stdin are not recorded: journald replays its last lines on every start, and a line
without a file cannot be recognised on a rerun.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from saslscope.detect.findings import Finding
from saslscope.history.ingest import Ingest
from saslscope.history.store import BaselineReader, HistoryStore
from saslscope.maillog import events as ev
from saslscope.maillog.follow import Line, Position
from saslscope.watch.pipeline import STDIN


class HistoryLink:
    def __init__(self, path: str, *, year: int | None = None, syslog_name: str | None = None) -> None:
        """Raises :class:`saslscope.history.store.StoreError` when the store cannot be used."""
        self.store = HistoryStore(path)
        try:
            self.ingest = Ingest(self.store, lock=False, year=year, syslog_name=syslog_name)
            self.reader = BaselineReader(path)
        except BaseException:
            self.store.close()
            raise
        self._parse = self.ingest.parser.parse
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

    def record(self, lines: Sequence[Line]) -> None:
        parse, record = self._parse, self.ingest.record
        for line in lines:
            if line.source == STDIN:
                continue
            event = parse(line.raw)
            if isinstance(event, ev.Event):
                record(event, line.source, line.number, line.raw)

    def found(self, finding: Finding) -> None:
        self._findings.append(finding)

    def checkpoint(self, positions: Mapping[str, Position]) -> None:
        """Commit what was recorded, the findings, and each file's position (when the follower
        still reads the file now at its path: a rotated file's end is recorded with the new)."""
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
