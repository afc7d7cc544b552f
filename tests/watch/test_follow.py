"""FileFollower against real files: appends, rotation by rename and copytruncate, missing files,
cut lines, invalid UTF-8, and resuming from a saved position (also across a rotation)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from saslscope.maillog import follow
from saslscope.maillog.follow import FileFollower, FollowEvent, Position


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(path: Path, **kwargs: object) -> tuple[FileFollower, list[FollowEvent], Clock]:
    events: list[FollowEvent] = []
    clock = Clock()
    follower = FileFollower(str(path), on_event=events.append, clock=clock, **kwargs)  # type: ignore[arg-type]
    return follower, events, clock


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def texts(lines: list[follow.Line]) -> list[bytes]:
    return [line.raw for line in lines]


def whats(events: list[FollowEvent]) -> list[str]:
    return [e.what for e in events]


def read_then_stop(log: Path, content: bytes) -> Position:
    """Write ``content``, read it with a follower, return where it stopped."""
    log.write_bytes(content)
    f, _, _ = make(log, from_start=True)
    f.poll()
    saved = f.position()
    f.close()
    assert saved is not None
    return saved


def test_appended_lines_and_a_line_cut_mid_write(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"one\ntw")
    f, events, _ = make(log, from_start=True)
    got = f.poll()
    assert texts(got) == [b"one"] and got[0].number == 1
    append(log, b"o\r\nthree\n")
    got = f.poll()
    assert texts(got) == [b"two", b"three"] and [x.number for x in got] == [2, 3]
    assert f.poll() == []
    assert whats(events) == ["opened"]


def test_tail_mode_starts_after_the_last_complete_line(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"old\nhalf")
    f, _, _ = make(log)
    assert f.poll() == []
    append(log, b"-done\nnew\n")
    assert texts(f.poll()) == [b"half-done", b"new"]


def test_rotation_by_rename_drains_the_old_file_then_reads_the_new(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"a\n")
    f, events, clock = make(log, from_start=True, rotate_grace=5.0)
    assert texts(f.poll()) == [b"a"]
    append(log, b"b\n")
    os.rename(log, tmp_path / "mail.log.1")
    log.write_bytes(b"c\n")
    assert texts(f.poll()) == [b"b", b"c"]
    assert "rotated" in whats(events)
    # the writer had not reopened yet: a late line lands in the old file, plus a cut one
    append(tmp_path / "mail.log.1", b"late\ncut")
    append(log, b"d\n")
    assert texts(f.poll()) == [b"late", b"d"]
    clock.now += 4.9
    assert f.poll() == [] and "closed" not in whats(events)       # still within the grace
    clock.now += 0.1
    assert texts(f.poll()) == [b"cut"]       # a file that will not grow: its last partial line
    assert whats(events)[-2:] == ["partial-line", "closed"]
    assert [x.number for x in f.poll()] == []
    append(log, b"e\n")
    assert [(x.raw, x.number) for x in f.poll()] == [(b"e", 3)]


def test_copytruncate_takes_the_unread_lines_from_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"1\n2\n")
    f, events, _ = make(log, from_start=True)
    assert texts(f.poll()) == [b"1", b"2"]
    append(log, b"3\n4\n")                       # written, not read yet
    shutil.copyfile(log, tmp_path / "mail.log.1")
    with open(log, "r+b") as handle:
        handle.truncate(0)
    append(log, b"5\n")
    got = f.poll()
    got += f.poll()
    assert texts(got) == [b"3", b"4", b"5"]
    assert [x.number for x in got] == [3, 4, 1]
    assert any(e.what == "truncated" and "2 unread lines" in e.detail for e in events)


def test_copytruncate_refilled_past_the_offset_is_noticed(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"first line\n")
    f, events, _ = make(log, from_start=True)
    assert texts(f.poll()) == [b"first line"]
    shutil.copyfile(log, tmp_path / "mail.log.1")
    with open(log, "r+b") as handle:
        handle.truncate(0)
    append(log, b"after truncation, longer than before\n")
    got = f.poll() + f.poll()
    assert texts(got) == [b"after truncation, longer than before"]
    assert "truncated" in whats(events)


def test_a_file_that_does_not_exist_yet_then_disappears_and_comes_back(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    f, events, _clock = make(log, rotate_grace=1.0)
    assert f.poll() == [] and f.poll() == []
    assert whats(events) == ["waiting"]              # reported once
    log.write_bytes(b"x\n")
    assert texts(f.poll()) == [b"x"]                 # a file that appears later is read whole
    log.unlink()
    assert f.poll() == []
    assert whats(events)[-1] == "disappeared"
    log.write_bytes(b"y\n")
    assert texts(f.poll()) == [b"y"]
    assert "rotated" in whats(events)


def test_invalid_utf8_is_passed_through_and_reported_once(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"ok\nbad \xff\xfe\nalso \xc3\n")
    f, events, _ = make(log, from_start=True)
    assert texts(f.poll()) == [b"ok", b"bad \xff\xfe", b"also \xc3"]
    (event,) = [e for e in events if e.what == "invalid-utf8"]
    assert "line 2" in event.detail


def test_a_line_without_end_is_handed_over_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "MAX_PARTIAL", 100)
    log = tmp_path / "mail.log"
    log.write_bytes(b"x" * 250)
    f, events, _ = make(log, from_start=True)
    got = []
    for _ in range(4):
        got += f.poll(limit=100)
    append(log, b"\n")
    got += f.poll()
    assert b"".join(texts(got)) == b"x" * 250
    assert all(len(x.raw) <= 100 for x in got)
    assert "long-line" in whats(events)


def test_resume_at_the_saved_position(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"1\n2\n3")
    f, _, _ = make(log, from_start=True)
    f.poll()
    saved = f.position()
    assert saved is not None and (saved.offset, saved.lines) == (4, 2)
    f.close()
    append(log, b"\n4\n")
    g, events, _ = make(log, start=saved)
    assert [(x.raw, x.number) for x in g.poll()] == [(b"3", 3), (b"4", 4)]
    assert whats(events) == ["resumed"]


def test_resume_after_a_rename_rotation_while_stopped(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    saved = read_then_stop(log, b"1\n2\n")
    append(log, b"3\n")
    os.rename(log, tmp_path / "mail.log.1")
    log.write_bytes(b"4\n")
    g, events, _ = make(log, start=saved)
    assert texts(g.poll()) == [b"3", b"4"]
    assert "rotated while stopped" in events[-1].detail


def test_resume_after_copytruncate_while_stopped(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    saved = read_then_stop(log, b"1\n2\n")
    append(log, b"3\n")
    shutil.copyfile(log, tmp_path / "mail.log.1")
    log.write_bytes(b"4\n")      # truncated and refilled in place: same inode, other content
    g, _, _ = make(log, start=saved)
    assert texts(g.poll()) == [b"3", b"4"]


def test_resume_when_the_old_file_was_compressed_says_what_is_lost(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    saved = read_then_stop(log, b"1\n2\n")
    with gzip.open(tmp_path / "mail.log.1.gz", "wb") as handle:
        handle.write(log.read_bytes() + b"3\n")
    log.unlink()
    log.write_bytes(b"4\n")
    g, events, _ = make(log, start=saved)
    assert texts(g.poll()) == [b"4"]
    assert events[-1].what == "lost" and "line 2" in events[-1].detail


def test_a_rotated_file_still_draining_at_a_stop_is_drained_after_the_restart(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(b"1\n")
    f, _, _ = make(log, from_start=True)
    f.poll()
    os.rename(log, tmp_path / "mail.log.1")
    log.write_bytes(b"new\n")
    assert texts(f.poll()) == [b"new"]
    saved, rotated = f.position(), f.rotated_positions()
    assert saved is not None and [(p.lines, p.offset) for p in rotated] == [(1, 2)]
    f.close()
    append(tmp_path / "mail.log.1", b"late\n")      # the daemon had not reopened yet
    append(log, b"newer\n")
    g, events, clock = make(log, start=saved, rotated=rotated, rotate_grace=5.0)
    assert texts(g.poll()) == [b"late", b"newer"]
    append(tmp_path / "mail.log.1", b"later\n")
    assert texts(g.poll()) == [b"later"]
    clock.now += 5.0
    g.poll()
    assert [e.what for e in events] == ["resumed", "resumed", "closed"]
