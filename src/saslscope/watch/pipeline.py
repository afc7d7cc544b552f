"""The watch loop: followed lines -> signals -> the detection engine -> each finding's outputs.

One thread reads and judges; findings go to ``on_finding`` as soon as the line that raised them
was read (the CLI prints them and queues them for the ``--exec`` hook, which never blocks this
loop). ``journalctl -f -o json`` on stdin is read by a helper thread into a bounded queue, so a
quiet stdin never delays the files.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from saslscope.atomicfile import write_atomically
from saslscope.detect.engine import Engine
from saslscope.detect.findings import Finding
from saslscope.detect.signals import Signal
from saslscope.detect.state import MemoryState
from saslscope.maillog.follow import EventSink, FileFollower, FollowEvent, Line, Position
from saslscope.maillog.gcpause import cyclic_gc_paused
from saslscope.watch.checkpoint import Checkpoint, StateFile

#: journald lines waiting for the reader loop; a full queue makes the reader thread wait
#: (journalctl then waits on its pipe), it never drops a line
STDIN_QUEUE = 10_000
STDIN = "-"
# journalctl -o json writes '"__CURSOR" : "s=...;i=...;b=..."' (cursors hold no quote or backslash)
_CURSOR_RE = re.compile(rb'"__CURSOR"\s*:\s*"([^"\\]*)"')


def journal_cursor(raw: bytes) -> str | None:
    """The ``__CURSOR`` of one ``journalctl -o json`` line, if it has one."""
    match = _CURSOR_RE.search(raw)
    return match[1].decode("ascii", "replace") if match else None


class LineSignals(Protocol):
    """Turns log lines, in order, into the engine's signals (keeps sessions and queue files open
    across lines): :class:`saslscope.detect.from_maillog.MaillogSignals`."""

    def feed(self, source: str, number: int, line: bytes) -> list[Signal]: ...


class StdinLines:
    """Lines of a stream read by a daemon thread; :meth:`poll` takes what has arrived."""

    def __init__(self, stream: BinaryIO, label: str = STDIN) -> None:
        self.label = label
        self._queue: queue.Queue[bytes | None] = queue.Queue(STDIN_QUEUE)
        self._number = 0
        self.done = False
        self._thread = threading.Thread(target=self._read, args=(stream,), name="saslscope-stdin", daemon=True)
        self._thread.start()

    def _read(self, stream: BinaryIO) -> None:
        try:
            for raw in stream:
                self._queue.put(raw)
        finally:
            self._queue.put(None)

    def poll(self, wait: float = 0.0) -> list[Line]:
        out: list[Line] = []
        try:
            item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            while True:
                if item is None:
                    self.done = True
                    break
                self._number += 1
                out.append(Line(self.label, self._number, item.rstrip(b"\r\n")))
                if len(out) >= STDIN_QUEUE:
                    break
                item = self._queue.get_nowait()
        except queue.Empty:
            pass
        return out


@dataclass
class WatchStats:
    lines: int = 0
    findings: int = 0
    errors: int = 0               # lines that raised in the adapter or a detector (a bug), skipped
    per_source: dict[str, int] = field(default_factory=dict)


class History(Protocol):
    """The history store as watch uses it (``--db``): :class:`saslscope.watch.history_link.HistoryLink`."""

    def start(self, path: str) -> Position | None: ...

    def record(self, signal: Signal) -> None: ...

    def found(self, finding: Finding) -> None: ...

    def checkpoint(self, positions: Mapping[str, Position]) -> None: ...


class Watcher:
    """Follow ``paths`` (and ``stdin``), feed ``engine``, call ``on_finding`` for each finding.

    ``saved`` (from ``state``) gives each file's starting position, else ``history`` does.
    The adapter's signals of file lines are recorded into ``history``.
    With ``state`` and/or ``history``, a checkpoint is taken after a round that produced
    findings, every ``checkpoint_interval`` seconds while lines arrive, and when :meth:`run`
    ends: the positions with ``memory`` (the engine's in-memory state) and the adapter into the
    state file, what was read and found into the history store, and the cursor of the last
    journald entry judged into ``cursor_file`` (for ``journalctl --after-cursor``).
    """

    def __init__(self, paths: Sequence[str], engine: Engine, adapter: LineSignals,
                 on_finding: Callable[[Finding], None], on_event: EventSink, *,
                 memory: MemoryState | None = None, saved: Checkpoint | None = None,
                 state: StateFile | None = None, history: History | None = None,
                 stdin: BinaryIO | None = None, cursor_file: str | None = None, from_start: bool = False,
                 rotate_grace: float = 10.0, poll_interval: float = 0.2, checkpoint_interval: float = 5.0) -> None:
        self.engine = engine
        self.adapter = adapter
        self.on_finding = on_finding
        self.on_event = on_event
        self.poll_interval = poll_interval
        self.memory = memory
        self.state = state
        self.history = history
        self.checkpoint_interval = checkpoint_interval
        self.stats = WatchStats()
        positions = saved.positions if saved is not None else {}
        rotated = saved.rotated if saved is not None else {}

        def start(path: str) -> Position | None:
            if path in positions:
                return positions[path]
            return history.start(path) if history is not None else None

        self.followers = [FileFollower(path, start=start(path), rotated=rotated.get(path, ()), from_start=from_start,
                                       on_event=on_event, rotate_grace=rotate_grace) for path in paths]
        self.stdin = StdinLines(stdin) if stdin is not None else None
        self.cursor_file = cursor_file
        self.cursor: str | None = None          # of the last journald entry judged
        self._last_save = time.monotonic()
        self._unsaved = False

    def step(self, wait: float = 0.0) -> int:
        """One round: read what every input has now, judge it; return the lines read."""
        lines: list[Line] = []
        for follower in self.followers:
            lines.extend(follower.poll())
        if self.stdin is not None and not self.stdin.done:
            lines.extend(self.stdin.poll(wait if not lines and not self.followers else 0.0))
        found = self.judge(lines)
        if lines:
            self._unsaved = True
        if self._unsaved and (found or time.monotonic() - self._last_save >= self.checkpoint_interval):
            self.save()
        return len(lines)

    @cyclic_gc_paused()
    def judge(self, lines: Sequence[Line]) -> int:
        """Judge one round's lines (a few MiB at most). The cyclic collector is kept out meanwhile:
        the engine's windows hold 10^5 small objects without cycles that full collections walk in
        vain (400,000 bench lines: 6.9 -> 6.2 CPU s); it runs between rounds."""
        feed_signal = self.engine.feed
        feed_line = self.adapter.feed
        on_finding = self.on_finding
        history = self.history
        if history is not None:
            keep, show = history.found, on_finding

            def on_finding(finding: Finding) -> None:
                keep(finding)
                show(finding)
        found = 0
        for line in lines:
            try:
                signals = feed_line(line.source, line.number, line.raw)
                if history is not None and line.source != STDIN:
                    for signal in signals:
                        history.record(signal)
                for signal in signals:
                    for finding in feed_signal(signal):
                        found += 1
                        on_finding(finding)
            except Exception as exc:  # noqa: BLE001 - a bug on one line must not stop a service in a restart loop
                self.stats.errors += 1
                self.on_event(FollowEvent(line.source, "error", f"line {line.number} could not be judged "
                                                                f"({exc.__class__.__name__}: {exc}); skipped"))
        if self.cursor_file is not None:
            for line in reversed(lines):
                if line.source == STDIN and (cursor := journal_cursor(line.raw)) is not None:
                    self.cursor = cursor
                    break
        stats = self.stats
        stats.lines += len(lines)
        stats.findings += found
        for line in lines:
            stats.per_source[line.source] = stats.per_source.get(line.source, 0) + 1
        return found

    def finished(self) -> bool:
        """Only stdin was followed and it has ended (``journalctl`` without ``-f`` exited)."""
        return not self.followers and self.stdin is not None and self.stdin.done

    def run(self, stop: threading.Event) -> WatchStats:
        """Poll until ``stop`` is set (or stdin alone ended), then save and close. After an
        exception nothing is saved: the lines of the round that failed were read, not all judged,
        and are read again after a restart."""
        try:
            while not stop.is_set() and not self.finished():
                if self.step(wait=self.poll_interval):
                    continue
                if self.followers:
                    stop.wait(self.poll_interval)
            if self._unsaved:
                self.save()
        finally:
            for follower in self.followers:
                follower.close()
        return self.stats

    def save(self) -> None:
        """The checkpoint: state file first, then the store (a kill between the two leaves the
        store a few seconds short, never counting a line twice)."""
        positions = {f.path: p for f in self.followers if (p := f.position()) is not None}
        if self.state is not None:
            rotated = {f.path: old for f in self.followers if (old := f.rotated_positions())}
            self.state.save(Checkpoint(positions, rotated, self.memory, self.adapter))
        if self.history is not None:
            self.history.checkpoint(positions)
        if self.cursor_file is not None and self.cursor is not None:
            write_atomically(self.cursor_file, self.cursor.encode() + b"\n", mode=0o600)
        self._last_save = time.monotonic()
        self._unsaved = False


__all__ = ["FollowEvent", "History", "LineSignals", "StdinLines", "WatchStats", "Watcher"]
