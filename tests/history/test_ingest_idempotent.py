"""Ingest is incremental and idempotent: the same log read twice, in pieces, rotated by rename,
copied and compressed, leaves every count exactly as one read of the whole log does."""

from __future__ import annotations

import gzip
import os
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from saslscope.detect.addresses import Grouping
from saslscope.detect.config import Networks
from saslscope.detect.from_maillog import MaillogSignals
from saslscope.history import HistoryStore, Ingest, ingest
from tests.history.conftest import NOW, make_log, snapshot

LOG = make_log(700, seed=5)
LINE_STARTS = [0] + [i + 1 for i, b in enumerate(LOG) if b == 0x0A]


def run(db: Path, *paths: Path) -> int:
    with HistoryStore(db) as store:
        return ingest(store, [str(p) for p in paths], now=NOW).lines_read


_REFERENCE: list[dict[str, list[tuple[object, ...]]]] = []


def reference(tmp: Path) -> dict[str, list[tuple[object, ...]]]:
    """The counts of one read of the whole log (computed once)."""
    if not _REFERENCE:
        whole = tmp / "whole.log"
        whole.write_bytes(LOG)
        run(tmp / "ref.db", whole)
        _REFERENCE.append(snapshot(tmp / "ref.db"))
    return _REFERENCE[0]


def test_the_whole_log_counts_something(tmp_path: Path) -> None:
    counts = reference(tmp_path)
    assert len(counts["accounts"]) > 20 and len(counts["events"]) > 50
    assert any(row[3] > 0 for row in counts["volume"])        # recipients joined to messages
    assert any(row[4] > 0 for row in counts["volume"])        # bounces joined to messages


def test_same_file_twice_and_renamed_counts_once(tmp_path: Path) -> None:
    expected = reference(tmp_path)
    log = tmp_path / "mail.log"
    log.write_bytes(LOG)
    db = tmp_path / "h.db"
    assert run(db, log, log) == LOG.count(b"\n")
    assert run(db, log) == 0
    log.rename(tmp_path / "mail.log.1")
    assert run(db, tmp_path / "mail.log.1") == 0
    assert snapshot(db) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rotated_set_cut_anywhere_counts_like_one_read(tmp_path_factory: object, data: st.DataObject) -> None:
    tmp = tmp_path_factory.mktemp("cut")  # type: ignore[attr-defined]
    expected = reference(tmp)
    first = data.draw(st.integers(0, len(LOG)), label="live file at first run (bytes, maybe mid-line)")
    second = data.draw(st.integers(first, len(LOG)), label="at second run")
    rotated = data.draw(st.sampled_from([s for s in LINE_STARTS if s >= second] or [len(LOG)]),
                        label="rotation point (line start)")
    copytruncate = data.draw(st.booleans(), label="copytruncate instead of rename")
    db = tmp / "h.db"
    live = tmp / "mail.log"
    live.write_bytes(LOG[:first])
    run(db, live)
    live.write_bytes(LOG[:second])                 # the same file grows
    run(db, live)
    old = tmp / "mail.log.1"
    if copytruncate:
        old.write_bytes(LOG[:rotated])
    else:
        os.rename(live, old)
        with open(old, "ab") as handle:            # the daemon writes on until it reopens
            handle.write(LOG[second:rotated])
    live.write_bytes(LOG[rotated:])
    run(db, live, old)
    run(db, old, live)                             # a rerun reads nothing new
    with gzip.open(tmp / "mail.log.2.gz", "wb") as packed:   # the next rotation compresses it
        packed.write(LOG[:rotated])
    old.unlink()
    assert run(db, tmp / "mail.log.2.gz", live) == 0
    assert snapshot(db) == expected
    _line_numbers_point_at_their_lines(db, LOG[:rotated], LOG[rotated:])


def _line_numbers_point_at_their_lines(db: Path, old: bytes, new: bytes) -> None:
    """Each event's line number is its line in the file it was read from (the rotated file,
    whatever it was called then, or the new live file)."""
    conn = sqlite3.connect(db)
    old_lines, new_lines = old.decode().split("\n"), new.decode().split("\n")
    for source, line, text in conn.execute("SELECT source, line, text FROM events"):
        in_old = line <= len(old_lines) and old_lines[line - 1] == text
        in_new = os.path.basename(source) == "mail.log" and line <= len(new_lines) and new_lines[line - 1] == text
        assert in_old or in_new, (source, line, text)
    conn.close()


def test_compressed_file_done_is_skipped_without_reading(tmp_path: Path) -> None:
    packed = tmp_path / "mail.log.3.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write(LOG)
    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        assert ingest(store, [str(packed)], now=NOW).lines_read == LOG.count(b"\n")
    with HistoryStore(db) as store:
        again = ingest(store, [str(packed)], now=NOW)
    assert (again.lines_read, again.bytes_read, again.files_skipped) == (0, 0, 1)


def test_a_follower_checkpoints_positions_and_a_later_run_reads_only_the_rest(tmp_path: Path) -> None:
    """``logs watch --db`` reads lines itself; after a restart it resumes from the store."""
    log = tmp_path / "mail.log"
    log.write_bytes(LOG)
    cut = LINE_STARTS[len(LINE_STARTS) // 2]
    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        follower = _follower(store)
        state = follower.position(str(log))
        assert (state.offset, state.lines) == (0, 0)
        lines = LOG[:cut].split(b"\n")[:-1]
        for number, line in enumerate(lines, start=1):
            for signal in follower.source.feed(str(log), number, line):
                follower.record(signal)
        follower.advance(state, cut, len(lines))
        follower.commit()                                     # a checkpoint; the lock is free again
        with HistoryStore(db) as other:
            other.begin()
            other.rollback()
    with HistoryStore(db) as store:
        restarted = _follower(store)
        assert restarted.position(str(log)).offset == cut
        restarted.abort()
        assert ingest(store, [str(log)], now=NOW).lines_read == len(LINE_STARTS) - 1 - len(lines)
    assert snapshot(db) == reference(tmp_path)


def _follower(store: HistoryStore) -> Ingest:
    return Ingest(store, MaillogSignals(now=NOW), grouping=Grouping(Networks()), now=NOW, lock=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=3000), cut=st.integers(0, 3000))
def test_arbitrary_bytes_are_ingested_without_error_and_only_once(tmp_path_factory: object, junk: bytes,
                                                                  cut: int) -> None:
    tmp = tmp_path_factory.mktemp("junk")  # type: ignore[attr-defined]
    log = tmp / "mail.log"
    log.write_bytes(junk[:cut])
    run(tmp / "h.db", log)
    log.write_bytes(junk + LOG[:2000])
    run(tmp / "h.db", log)
    first = snapshot(tmp / "h.db")
    assert run(tmp / "h.db", log) == 0
    assert snapshot(tmp / "h.db") == first
