"""What watch keeps: memory that follows the live windows, not the days it has run; and no
saved position past lines it did not judge."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saslscope.detect.config import DetectConfig
from saslscope.detect.engine import Engine
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.detect.state import MemoryState
from saslscope.watch.checkpoint import StateFile
from saslscope.watch.pipeline import Watcher


def failure_line(when: datetime, n: int) -> bytes:
    ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"     # every address seen once
    return (f"{when:%b %e %H:%M:%S} mx postfix/smtpd[1]: warning: unknown[{ip}]: SASL LOGIN authentication "
            f"failed: UGFzc3dvcmQ6, sasl_username=user{n % 5000}@example.org").encode()


def test_state_for_addresses_seen_once_is_evicted_over_days() -> None:
    engine = Engine(DetectConfig())
    adapter = MaillogSignals(year=2026)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    sizes = []
    for n in range(3 * 86400 // 20):          # a failure every 20 s for three days
        when = start + timedelta(seconds=20 * n)
        for signal in adapter.feed("mail.log", n + 1, failure_line(when, n)):
            engine.feed(signal)
        if n % 180 == 0:                      # hourly
            sizes.append(len(engine.state))
    sizes.append(len(engine.state))
    # the failure windows are one hour: 180 failures live at any time, each touching a few keys
    # (per address, per account, per address and account...), whatever the run's length
    window_failures = 3600 // 20
    assert max(sizes) <= 8 * window_failures
    assert max(sizes[48:]) <= max(sizes[:25]) * 1.05     # day 3 keeps no more than day 1


class Broken(MaillogSignals):
    def feed(self, source: str, number: int, line: bytes) -> list:  # type: ignore[type-arg]
        if number == 5:
            raise RuntimeError("a bug in a detector")
        return super().feed(source, number, line)


def test_a_line_that_raises_is_reported_and_skipped_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(failure_line(datetime(2026, 3, 1, tzinfo=UTC), n) + b"\n" for n in range(12)))
    events: list[str] = []
    found = []
    watcher = Watcher([str(log)], Engine(DetectConfig()), Broken(year=2026), found.append,
                      lambda e: events.append(f"{e.what}: {e.detail}"), from_start=True)
    assert watcher.step() == 12
    assert watcher.stats.errors == 1
    assert "error: line 5 could not be judged (RuntimeError: a bug in a detector); skipped" in events


def test_a_round_that_fails_midway_is_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines of a failed round were read but not all judged: the saved position must stay
    before them, so a restart reads them again (it used to be saved past them on the way out)."""
    log, state = tmp_path / "mail.log", StateFile(str(tmp_path / "watch.state"))
    lines = [failure_line(datetime(2026, 3, 1, tzinfo=UTC), n) + b"\n" for n in range(6)]
    log.write_bytes(b"".join(lines[:3]))
    watcher = Watcher([str(log)], Engine(DetectConfig()), MaillogSignals(year=2026), lambda f: None,
                      lambda e: None, memory=MemoryState(), state=state, from_start=True, checkpoint_interval=3600)
    assert watcher.step() == 3                      # judged, not saved yet (no finding, no interval)
    with open(log, "ab") as handle:
        handle.writelines(lines[3:])

    def broken_judge(lines: object) -> int:         # what is not one line's fault: out of memory, say
        raise MemoryError

    monkeypatch.setattr(watcher, "judge", broken_judge)
    with pytest.raises(MemoryError):
        watcher.run(threading.Event())
    saved = state.load().positions
    assert saved == {} or saved[str(log)].lines <= 3
