"""Where the message comes from: an .eml file, one message of an mbox, or stdin."""

from __future__ import annotations

import mailbox
import sys
from typing import BinaryIO


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
        data = (stdin or sys.stdin.buffer).read()
        where = "stdin"
    elif index is not None:
        data = _read_mbox_message(path, index)
        where = f"message {index} of {path}"
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise HeaderInputError(f"cannot read {path}: {error.strerror or error}") from None
        where = path
    if not data.strip():
        raise HeaderInputError(f"{where} is empty: expected a message with header fields")
    return data
