"""Following live log files the way ``tail -F`` should: no line lost, none read twice.

A :class:`FileFollower` owns one path and hands over complete lines (``\\n``-terminated; the
newline is stripped) each time :meth:`FileFollower.poll` is called. What it survives:

* **rotation by rename** (logrotate's default): the path names a new inode. The old file stays
  open and is drained for ``rotate_grace`` seconds after it last grew (the writer may log a few
  more lines before it reopens), then closed; the new file is read from its first byte;
* **copytruncate**: the file shrank, or the bytes just before our offset are no longer what we
  read (truncated and already refilled past our offset). The lines we had not yet read went to
  the copy, so a sibling (``maillog.1``, ``maillog-20261207``) whose bytes before our offset
  match is read from our offset to its end first; then the truncated file from its start;
* **a file that does not exist yet, or disappears**: waited for, polled again;
* **a line cut mid-write**: kept until its newline arrives; a file closed with a partial last
  line (rotated away) hands it over as a line;
* **a line without end** longer than :data:`MAX_PARTIAL`: handed over in pieces of that size;
* **invalid UTF-8**: passed through as bytes (the parser decodes with replacement) and reported.

Every such event is reported through ``on_event`` (the CLI prints them on stderr). A position
(:class:`Position`: inode, offset, lines read, a fingerprint of the file's first bytes) can be
saved and given back to a new follower, which resumes exactly there, also when the file was
rotated in between (the rotated file is found by its inode, or by its fingerprint).

Pure polling (no inotify: stdlib only, works on every file system including NFS); the caller
decides the interval. Nothing here blocks.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: a line without newline is handed over in pieces of this size (syslog caps lines at 8 KiB;
#: rsyslog's $MaxMessageSize is 8 KiB by default, journald's LineMax 48 KiB)
MAX_PARTIAL = 1 << 20
#: bytes read per file per poll: a burst is worked off in slices, between which the caller may
#: print findings and save its position
READ_LIMIT = 4 << 20
#: bytes of a file's start that identify it across renames (E2's history store does the same)
HEAD_BYTES = 1024
#: bytes before the offset compared on each poll to notice a truncate-and-refill
TAIL_CHECK = 64
#: compression magic numbers: a rotated sibling starting with one is not a plain copy
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@dataclass(frozen=True, slots=True)
class Line:
    """One complete line: ``number`` is 1-based within the file it came from."""

    source: str
    number: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """Something about the file, not its content: shown on stderr, never fatal.

    ``what``: waiting, opened, resumed, rotated, truncated, disappeared, closed, partial-line,
    long-line, invalid-utf8, unreadable, lost (and, from the watcher, error: a line that could
    not be judged).
    """

    path: str
    what: str
    detail: str


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading of ``path`` stands: enough to resume after a restart."""

    path: str
    inode: int
    device: int
    offset: int          # bytes consumed (complete lines only)
    lines: int           # lines consumed (the last line's number)
    head: str            # sha256 hex of the first ``head_len`` bytes
    head_len: int


EventSink = Callable[[FollowEvent], None]
Clock = Callable[[], float]


class _Open:
    """One open file being read: the current one, or a rotated one being drained."""

    def __init__(self, name: str, fd: int, st: os.stat_result, offset: int = 0, lines: int = 0) -> None:
        self.name = name
        self.fd = fd
        self.inode = st.st_ino
        self.device = st.st_dev
        self.offset = offset
        self.lines = lines
        self.partial = b""
        self.tail = b""             # the last TAIL_CHECK bytes consumed, for the truncation check
        self.head = b""             # the first HEAD_BYTES bytes, once read
        self.last_growth = 0.0
        self.warned_utf8 = False
        if offset:
            self.tail = os.pread(fd, min(TAIL_CHECK, offset), offset - min(TAIL_CHECK, offset))
            self.head = os.pread(fd, HEAD_BYTES, 0)

    def close(self) -> None:
        os.close(self.fd)

    def read(self, limit: int, out: list[Line], events: EventSink, label: str) -> int:
        """Read up to ``limit`` bytes of complete lines; return the bytes read."""
        try:
            data = os.pread(self.fd, limit, self.offset + len(self.partial))
        except OSError as exc:
            events(FollowEvent(label, "unreadable", exc.strerror or str(exc)))
            return 0
        if not data:
            return 0
        if len(self.head) < HEAD_BYTES and self.offset + len(self.partial) < HEAD_BYTES:
            self.head = os.pread(self.fd, HEAD_BYTES, 0)
        block = self.partial + data if self.partial else data
        cut = block.rfind(b"\n")
        if cut < 0:
            self.partial = block
            if len(block) >= MAX_PARTIAL:
                events(FollowEvent(label, "long-line", f"a line of more than {MAX_PARTIAL} bytes without newline "
                                                       f"after line {self.lines}: handed over in pieces"))
                self._consume(block[:MAX_PARTIAL], [block[:MAX_PARTIAL]], out, events, label)
                self.partial = block[MAX_PARTIAL:]
            return len(data)
        self.partial = block[cut + 1:]
        whole = block[:cut + 1]
        self._consume(whole, whole.split(b"\n")[:-1], out, events, label)
        return len(data)

    def flush_partial(self, out: list[Line], events: EventSink, label: str) -> None:
        """A file that will not grow again: its last line without newline is still a line."""
        if self.partial:
            events(FollowEvent(label, "partial-line", f"line {self.lines + 1} of {self.name} has no newline "
                                                      f"({len(self.partial)} bytes): read as it is"))
            block, self.partial = self.partial, b""
            self._consume(block, [block], out, events, label)

    def _consume(self, block: bytes, lines: list[bytes], out: list[Line], events: EventSink, label: str) -> None:
        if not self.warned_utf8 and not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                self.warned_utf8 = True
                bad = next(i for i, ln in enumerate(lines) if not _is_utf8(ln))
                events(FollowEvent(label, "invalid-utf8", f"line {self.lines + bad + 1} is not valid UTF-8 "
                                                          "(read with replacement characters; reported once per file)"))
        number = self.lines
        for raw in lines:
            number += 1
            out.append(Line(label, number, raw[:-1] if raw.endswith(b"\r") else raw))
        self.lines = number
        self.offset += len(block)
        self.tail = (self.tail + block)[-TAIL_CHECK:]

    def position(self, label: str) -> Position:
        head = self.head[:HEAD_BYTES]
        return Position(label, self.inode, self.device, self.offset, self.lines,
                        hashlib.sha256(head).hexdigest(), len(head))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _open(path: str) -> tuple[int, os.stat_result]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", path)
    except OSError:
        os.close(fd)
        raise
    return fd, st


def _matches_head(fd: int, head: str, head_len: int) -> bool:
    data = os.pread(fd, head_len, 0)
    return len(data) == head_len and hashlib.sha256(data).hexdigest() == head


class FileFollower:
    """Follow one path; see the module docstring for what it survives.

    ``start``: a saved :class:`Position` to resume from; else ``from_start`` reads the file's
    present content (True) or only what is appended from now on (False, like ``tail -f``).
    """

    def __init__(self, path: str, *, start: Position | None = None, rotated: Sequence[Position] = (),
                 from_start: bool = False, on_event: EventSink | None = None, rotate_grace: float = 10.0,
                 clock: Clock = time.monotonic) -> None:
        """``rotated``: files renamed away that were still being drained when the positions were
        saved (:meth:`rotated_positions`); they are found again by inode and drained first."""
        self.path = path
        self.rotate_grace = rotate_grace
        self._events = on_event or (lambda event: None)
        self._clock = clock
        self._current: _Open | None = None
        self._draining: list[_Open] = []
        self._missing_reported = False
        self._start = start
        self._from_start = from_start
        for old in rotated:
            self._reopen_rotated(old)

    # ----------------------------------------------------------------- public
    def poll(self, limit: int = READ_LIMIT) -> list[Line]:
        """Every complete line available now (up to about ``limit`` bytes per open file)."""
        out: list[Line] = []
        for old in list(self._draining):
            self._drain(old, limit, out)
        if self._current is None:
            self._try_open(out)
        current = self._current
        if current is not None:
            if _was_cut(current):     # before reading: a refilled file must not be read mid-line
                self._truncated(current, out)
            got = current.read(limit, out, self._events, self.path)
            if got:
                current.last_growth = self._clock()
            if got < limit:           # caught up with this file: has it been replaced?
                self._check_renamed(current, out, limit)
        return out

    def position(self) -> Position | None:
        """Where to resume; None before the file was ever opened."""
        if self._current is None:
            return self._start
        return self._current.position(self.path)

    def rotated_positions(self) -> list[Position]:
        """Where the rotated files still being drained stand (saved beside :meth:`position`)."""
        return [old.position(self.path) for old in self._draining]

    def _reopen_rotated(self, saved: Position) -> None:
        found = _find_sibling(self.path, lambda fd, st: st.st_ino == saved.inode and st.st_dev == saved.device
                              and st.st_size >= saved.offset and _matches_head(fd, saved.head, saved.head_len))
        if found is None:
            self._events(FollowEvent(self.path, "lost", f"a rotated file drained before the stop is gone: lines "
                                                        f"after its line {saved.lines} are not read"))
            return
        name, fd, st = found
        old = _Open(name, fd, st, offset=saved.offset, lines=saved.lines)
        old.last_growth = self._clock()
        self._draining.append(old)
        self._events(FollowEvent(self.path, "resumed", f"draining {name} again from line {saved.lines}"))

    def close(self) -> None:
        for handle in [*self._draining, *([self._current] if self._current else [])]:
            handle.close()
        self._draining.clear()
        self._current = None

    # ----------------------------------------------------------------- opening
    def _read_current(self, limit: int, out: list[Line]) -> None:
        """Read on in the file :meth:`_try_open` may just have opened."""
        if self._current is not None:
            self._current.read(limit, out, self._events, self.path)

    def _try_open(self, out: list[Line]) -> None:
        try:
            fd, st = _open(self.path)
        except FileNotFoundError:
            if not self._missing_reported:
                self._missing_reported = True
                self._events(FollowEvent(self.path, "waiting", "does not exist (yet): waiting for it"))
            return
        except OSError as exc:
            if not self._missing_reported:
                self._missing_reported = True
                self._events(FollowEvent(self.path, "unreadable", f"{exc.strerror or exc}: retrying"))
            return
        reappeared = self._missing_reported
        self._missing_reported = False
        start, self._start = self._start, None
        if start is not None:
            self._current = self._resume(fd, st, start, out)
            return
        if self._from_start or reappeared:
            self._current = _Open(self.path, fd, st)
            self._events(FollowEvent(self.path, "opened", "reading from the start"))
        else:
            self._current = _Open(self.path, fd, st, offset=_line_boundary(fd, st.st_size))
            self._events(FollowEvent(self.path, "opened", "following new lines"))
        self._from_start = True   # a file that appears later is read whole

    def _resume(self, fd: int, st: os.stat_result, start: Position, out: list[Line]) -> _Open:
        """Continue at ``start``: in this file if it is still the one read before, else in the
        rotated file it became (found by inode, else by its first bytes), then this one."""
        same = st.st_ino == start.inode and st.st_dev == start.device
        if same and st.st_size >= start.offset and _matches_head(fd, start.head, start.head_len):
            self._events(FollowEvent(self.path, "resumed", f"at line {start.lines} (byte {start.offset})"))
            return _Open(self.path, fd, st, offset=start.offset, lines=start.lines)
        # the file it became: renamed (same inode) or copied (same first bytes); never this one
        earlier = _find_sibling(self.path, lambda sfd, sst: sst.st_ino != st.st_ino
                                and sst.st_size >= start.offset and _matches_head(sfd, start.head, start.head_len))
        if earlier is not None:
            name = self._read_rest(earlier, start.offset, start.lines, out)
            self._events(FollowEvent(self.path, "resumed", f"rotated while stopped: read the rest of {name} "
                                                           f"from line {start.lines}, then the new file"))
        else:
            self._events(FollowEvent(self.path, "lost", "the file read before was rotated away while stopped and "
                                                        "no uncompressed copy was found: lines after line "
                                                        f"{start.lines} of it are not read; reading the new file"))
        return _Open(self.path, fd, st)

    # ----------------------------------------------------------------- rotation
    def _check_renamed(self, current: _Open, out: list[Line], limit: int) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not self._missing_reported:
                self._missing_reported = True
                self._events(FollowEvent(self.path, "disappeared", "removed or renamed: still reading the open file, "
                                                                   "waiting for a new one"))
            return
        except OSError:
            return
        if st.st_ino != current.inode or st.st_dev != current.device:
            self._events(FollowEvent(self.path, "rotated", f"renamed away after line {current.lines}: draining it, "
                                                           "reading the new file from its start"))
            current.last_growth = self._clock()
            self._draining.append(current)
            self._current = None
            self._missing_reported = False
            self._from_start = True
            self._try_open(out)
            self._read_current(limit, out)
            return
        self._missing_reported = False

    def _truncated(self, current: _Open, out: list[Line]) -> None:
        """copytruncate: read what we had not read yet from the copy, then restart at 0."""
        offset, tail, lines = current.offset, current.tail, current.lines
        copy = _find_sibling(self.path, lambda sfd, sst: sst.st_ino != current.inode and sst.st_size >= offset
                             and os.pread(sfd, len(tail), offset - len(tail)) == tail)
        if copy is not None:
            before = len(out)
            name = self._read_rest(copy, offset, lines, out)
            self._events(FollowEvent(self.path, "truncated", f"copied and truncated after line {lines}: "
                                                             f"{len(out) - before} unread lines taken from {name}"))
        else:
            detail = "no copy found for lines written since the last read" if current.partial or offset else ""
            self._events(FollowEvent(self.path, "truncated", f"truncated after line {lines}; reading from its start"
                                                             + (f" ({detail})" if detail else "")))
        current.offset = 0
        current.lines = 0
        current.partial = b""
        current.tail = b""
        current.head = b""

    def _read_rest(self, found: tuple[str, int, os.stat_result], offset: int, lines: int, out: list[Line]) -> str:
        """Read a rotated or copied file from ``offset`` (after ``lines`` lines) to its end, close it,
        return its name."""
        name, fd, st = found
        rest = _Open(name, fd, st, offset=offset, lines=lines)
        try:
            while rest.read(READ_LIMIT, out, self._events, self.path):
                pass
            rest.flush_partial(out, self._events, self.path)
        finally:
            rest.close()
        return name

    def _drain(self, old: _Open, limit: int, out: list[Line]) -> None:
        if old.read(limit, out, self._events, self.path):
            old.last_growth = self._clock()
            return
        if self._clock() - old.last_growth >= self.rotate_grace:
            old.flush_partial(out, self._events, self.path)
            old.close()
            self._draining.remove(old)
            self._events(FollowEvent(self.path, "closed", f"rotated file done after line {old.lines}"))


def _was_cut(current: _Open) -> bool:
    """The file shrank below what was read, or the bytes before the offset changed (truncated
    and refilled past it between two polls)."""
    try:
        size = os.fstat(current.fd).st_size
        if size < current.offset + len(current.partial):
            return True
        if not current.tail:
            return False
        return os.pread(current.fd, len(current.tail), current.offset - len(current.tail)) != current.tail
    except OSError:
        return False


def _line_boundary(fd: int, size: int) -> int:
    """The offset just after the last newline at or before ``size`` (tail -f starts there)."""
    start = size
    while start > 0:
        step = min(start, 65536)
        block = os.pread(fd, step, start - step)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start - step + cut + 1
        start -= step
    return 0


def _find_sibling(path: str, accept: Callable[[int, os.stat_result], bool]
                  ) -> tuple[str, int, os.stat_result] | None:
    """The newest uncompressed rotated sibling of ``path`` (``path.1``, ``path-DATE``...) that
    ``accept`` approves, opened; its caller closes it."""
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    try:
        names = [e for e in os.scandir(folder) if e.name != base and e.name.startswith(base)
                 and e.name[len(base):len(base) + 1] in (".", "-", "_")]
    except OSError:
        return None
    names.sort(key=_mtime, reverse=True)
    for entry in names[:8]:
        try:
            fd, st = _open(entry.path)
        except OSError:
            continue
        try:
            if not os.pread(fd, 6, 0).startswith(_COMPRESSED) and accept(fd, st):
                return entry.path, fd, st
        except OSError:
            pass
        os.close(fd)
    return None


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0
