"""Where the message comes from: an .eml file, one message of an mbox, or stdin."""

from __future__ import annotations

import mailbox
import re
import sys
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
    try:
        key = keys[index]
    except IndexError:
        raise HeaderInputError(
            f"--index {index} is out of range: {path} holds {len(keys)} message(s), "
            f"numbered 0..{len(keys) - 1} (negative numbers count from the end)") from None
    return box.get_bytes(key)


def read_message_bytes(path: str, index: int | None = None, stdin: BinaryIO | None = None) -> bytes:
    """The bytes of the message named by ``path`` (``-`` is stdin) and, for an mbox, ``index``.

    Raises :class:`HeaderInputError` when the input is missing, unreadable or empty.
    """
    if path == "-":
        if index is not None:
            raise HeaderInputError("--index needs an mbox file; it cannot be used with stdin")
        data = read_header_bytes(stdin or sys.stdin.buffer)
        where = "stdin"
    elif index is not None:
        data = _read_mbox_message(path, index)
        where = f"message {index} of {path}"
    else:
        try:
            with open(path, "rb") as handle:
                data = read_header_bytes(handle)
        except OSError as error:
            raise HeaderInputError(f"cannot read {path}: {error.strerror or error}") from None
        where = path
    if not data.strip():
        raise HeaderInputError(f"{where} is empty: expected a message with header fields")
    return data
