"""Where the message comes from: an .eml file, one message of an mbox or a Maildir, or stdin."""

from __future__ import annotations

import mailbox
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# The header ends at the first empty line (RFC 5322 §2.1); the body is never needed, so reading
# stops there. A header larger than this is not a mail header (Postfix's header_size_limit
# default is 100 KiB; 16 MiB leaves room for anything real) and reading stops there too.
HEADER_READ_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT = re.compile(rb"\S")


def read_header_bytes(handle: BinaryIO, limit: int = HEADER_READ_LIMIT) -> bytes:
    """Read ``handle`` up to the end of the header block (blank lines before the header skipped).

    Each chunk is searched once (from 3 bytes before it, for a CRLF pair cut between chunks), so
    reading is linear in the header size.
    """
    buffer = bytearray()
    content_start: int | None = None
    while len(buffer) < limit:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        searched_from = max(0, len(buffer) - 3)
        buffer += chunk
        if content_start is None:
            content = _CONTENT.search(buffer, searched_from)
            if content is None:
                continue                          # only blank lines so far
            content_start = content.start()
        if _HEADER_END.search(buffer, max(searched_from, content_start)):
            break
    return bytes(buffer)


class HeaderInputError(Exception):
    """The input cannot be read as a message. ``str(error)`` is one line meant for the user."""


def _read_mbox_message(path: str, index: int) -> bytes:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as error:
        raise HeaderInputError(f"cannot read mbox {path}: {getattr(error, 'strerror', None) or error}") from None
    if not keys:
        raise HeaderInputError(f"{path} holds no mbox messages (no 'From ' separator lines)")
    return box.get_bytes(keys[_pick(len(keys), index, path)])


@dataclass(frozen=True)
class MessageSource:
    """The bytes read, and which message of which mailbox they are."""

    data: bytes
    kind: str                      # "file", "stdin", "mbox" or "maildir"
    path: str
    index: int | None = None       # the message's position in the mailbox, 0 = oldest
    count: int | None = None       # messages in the mailbox
    file: str | None = None        # Maildir: the message's file, relative to the Maildir

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "path": self.path, "index": self.index, "messages": self.count, "file": self.file}


# Maildir file names (https://cr.yp.to/proto/maildir.html): "<seconds>.<unique>.<host>[:2,<flags>]", the
# unique part carrying microseconds as "M<usec>" (Postfix "V..I..M123456", Dovecot and Python "M123456P789Q1")
# and a per-process counter "Q<n>". Delivery order is (seconds, microseconds, counter).
_MAILDIR_NAME = re.compile(r"^(?P<seconds>\d+)\.(?P<unique>[^.]*)")
_MICROSECONDS = re.compile(r"M(\d{1,6})(?!\d)")
_COUNTER = re.compile(r"Q(\d+)")


def _delivery_order(path: Path) -> tuple[int, int, int, str]:
    match = _MAILDIR_NAME.match(path.name)
    if match is None:                      # not a Maildir name: the file's own time stands in
        try:
            return int(path.stat().st_mtime), 0, 0, path.name
        except OSError:
            return 0, 0, 0, path.name
    micro = _MICROSECONDS.search(match["unique"])
    counter = _COUNTER.search(match["unique"])
    return int(match["seconds"]), int(micro[1]) if micro else 0, int(counter[1]) if counter else 0, path.name


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def maildir_messages(path: Path) -> list[Path]:
    """The messages of a Maildir (its new/ and cur/; not tmp/, not Maildir++ subfolders), oldest first."""
    files = []
    for sub in ("new", "cur"):
        try:
            with os.scandir(path / sub) as entries:
                files += [Path(e.path) for e in entries if not e.name.startswith(".") and e.is_file()]
        except FileNotFoundError:
            continue
        except OSError as error:
            raise HeaderInputError(f"cannot read Maildir {path}: {error.strerror or error}") from None
    return sorted(files, key=_delivery_order)


def _pick(count: int, index: int, where: str) -> int:
    if not -count <= index < count:
        raise HeaderInputError(
            f"--index {index} is out of range: {where} holds {count} message(s), "
            f"numbered 0..{count - 1} (negative numbers count from the end)")
    return index % count


def _read_maildir_message(path: Path, index: int | None) -> MessageSource:
    messages = maildir_messages(path)
    if not messages:
        raise HeaderInputError(f"Maildir {path} holds no messages (nothing in its new/ or cur/)")
    position = _pick(len(messages), -1 if index is None else index, f"Maildir {path}")
    chosen = messages[position]
    try:
        with open(chosen, "rb") as handle:
            data = read_header_bytes(handle)
    except OSError as error:
        raise HeaderInputError(f"cannot read {chosen}: {error.strerror or error}") from None
    return MessageSource(data, "maildir", str(path), position, len(messages), str(chosen.relative_to(path)))


def _not_a_maildir(path: Path) -> HeaderInputError:
    try:
        inside = sorted(p.name for p in path.iterdir() if p.is_dir() and is_maildir(p))
    except OSError:
        inside = []
    hint = (f"; it holds Maildirs: {', '.join(inside[:5])}{', ...' if len(inside) > 5 else ''} (name one)"
            if inside else "")
    return HeaderInputError(f"cannot read {path}: it is a directory, not a Maildir (no cur/ or new/ in it){hint}")


def read_message(path: str, index: int | None = None, stdin: BinaryIO | None = None) -> MessageSource:
    """The message named by ``path`` (``-`` is stdin): a file; with ``index``, message ``index`` of an
    mbox; a Maildir directory's message ``index`` in delivery order (the newest without ``index``).

    Raises :class:`HeaderInputError` when the input is missing, unreadable or empty.
    """
    if path == "-":
        if index is not None:
            raise HeaderInputError("--index needs an mbox file or a Maildir; it cannot be used with stdin")
        source = MessageSource(read_header_bytes(stdin or sys.stdin.buffer), "stdin", "-")
        where = "stdin"
    elif os.path.isdir(path):
        if not is_maildir(Path(path)):
            raise _not_a_maildir(Path(path))
        source = _read_maildir_message(Path(path), index)
        where = f"message {source.index} of Maildir {path} ({source.file})"
    elif index is not None:
        source = MessageSource(_read_mbox_message(path, index), "mbox", path, index)
        where = f"message {index} of {path}"
    else:
        try:
            with open(path, "rb") as handle:
                source = MessageSource(read_header_bytes(handle), "file", path)
        except OSError as error:
            raise HeaderInputError(f"cannot read {path}: {error.strerror or error}") from None
        where = path
    if not source.data.strip():
        raise HeaderInputError(f"{where} is empty: expected a message with header fields")
    return source
