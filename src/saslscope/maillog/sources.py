"""Log input: files, rotated sets in time order, directories, stdin; compressed transparently.

Compression is recognised by its magic bytes, not by the file name (logrotate's
``compresscmd`` and Postfix's ``maillog_file_compressor`` vary): gzip, bzip2, xz and zstd.
Everything is read as bytes in large blocks of whole lines; invalid UTF-8, NUL bytes and
very long lines pass through untouched (the parser decides what to do with them). A
compressed file cut short yields what could be decompressed plus a warning, never an error.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

BLOCK_SIZE = 1 << 20
STDIN = "-"


class LogInputError(Exception):
    """A named input cannot be read at all (missing, permission denied, a directory of nothing)."""


@dataclass
class Warnings:
    """Problems that lose some input but do not stop the analysis (shown to the user)."""

    messages: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.messages.append(text)


def _zstd_reader(raw: BinaryIO) -> BinaryIO:
    import zstandard  # imported only for .zst input

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)  # type: ignore[return-value]


# magic bytes -> (name, wrapper)
_MAGIC: list[tuple[bytes, str, Callable[[BinaryIO], BinaryIO]]] = [
    (b"\x1f\x8b", "gzip", lambda raw: gzip.GzipFile(fileobj=raw)),  # type: ignore[list-item]
    (b"BZh", "bzip2", lambda raw: bz2.BZ2File(raw)),  # type: ignore[list-item]
    (b"\xfd7zXZ\x00", "xz", lambda raw: lzma.LZMAFile(raw)),  # type: ignore[list-item]
    (b"\x28\xb5\x2f\xfd", "zstd", _zstd_reader),
]


def open_log(raw: BinaryIO) -> tuple[BinaryIO, str | None]:
    """Wrap ``raw`` in a decompressor if its first bytes are a known magic number."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    head = buffered.peek(6)[:6]
    for magic, name, wrap in _MAGIC:
        if head.startswith(magic):
            return wrap(buffered), name
    return buffered, None


# maillog, maillog.1, maillog.2.gz, maillog-20261128, maillog-20261128.gz, postfix.log.20261128-120000.gz
_ROTATION_RE = re.compile(r"^(?P<base>.+?)(?:[.-](?P<n>\d{1,3})|[.-](?P<date>\d{8}(?:-\d{6})?))?"
                          r"(?P<z>\.(?:gz|bz2|xz|zst|zstd))?$")


def rotation_key(name: str) -> tuple[str, int, str]:
    """Sort key putting a rotated set oldest first: ``.3.gz`` < ``.2`` < ``.1`` < base.

    Date-suffixed rotations (``maillog-20261128``, Postfix's ``maillog_file_rotate_suffix``)
    sort by date, before the live file.
    """
    m = _ROTATION_RE.match(os.path.basename(name))
    if m is None:  # pragma: no cover - the pattern matches any non-empty name
        return (name, 0, "")
    if m.group("n") is not None:
        return (m.group("base"), -int(m.group("n")) - 1_000_000, "")
    if m.group("date") is not None:
        return (m.group("base"), -1, m.group("date"))
    return (m.group("base"), 0, "")


def expand(paths: Iterable[str]) -> list[str]:
    """Expand directories and order each rotated set by age (oldest first).

    Files given one by one keep the order of their first appearance per rotated set, so
    ``maillog maillog.1 maillog.2.gz`` is read as ``maillog.2.gz maillog.1 maillog``.
    """
    files: list[str] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif os.path.isdir(path):
            entries = sorted(e.path for e in os.scandir(path) if e.is_file() and not e.name.startswith("."))
            if not entries:
                raise LogInputError(f"{path}: directory holds no log files")
            files.extend(entries)
        else:
            files.append(path)
    group_order: dict[str, int] = {}
    for name in files:
        group_order.setdefault(rotation_key(name)[0] if name != STDIN else name, len(group_order))
    return sorted(files, key=lambda n: (group_order[rotation_key(n)[0] if n != STDIN else n],
                                        rotation_key(n)[1:] if n != STDIN else (0, "")))


def check_readable(paths: Iterable[str]) -> None:
    """Fail early, with one clear line, on an input that cannot be opened."""
    for path in paths:
        if path == STDIN:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise LogInputError(f"{path}: {exc.strerror or exc}") from exc


def _read_blocks(stream: BinaryIO, name: str, warnings: Warnings) -> Iterator[bytes]:
    # read1 hands over what one decompression step produced, so a stream cut short still
    # yields everything before the damage (read() would discard its partial buffer).
    read = getattr(stream, "read1", stream.read)
    try:
        while True:
            block = read(BLOCK_SIZE)
            if not block:
                return
            yield block
    except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        warnings.add(f"{name}: input ends early ({exc.__class__.__name__}: {exc}); read what was there")


def iter_blocks(path: str, warnings: Warnings) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ending with ``\\n``) from one file or stdin."""
    if path == STDIN:
        stream, _ = open_log(sys.stdin.buffer)  # type: ignore[arg-type]
        close = False
    else:
        try:
            stream, _ = open_log(open(path, "rb"))
        except OSError as exc:
            raise LogInputError(f"{path}: {exc.strerror or exc}") from exc
        close = True
    try:
        tail = b""
        for block in _read_blocks(stream, path, warnings):
            cut = block.rfind(b"\n")
            if cut < 0:
                tail += block
                continue
            yield tail + block[:cut + 1]
            tail = block[cut + 1:]
        if tail:
            yield tail + b"\n"  # a file cut mid-line: the partial line is still a line
    finally:
        if close:
            stream.close()


def iter_lines(paths: Iterable[str], warnings: Warnings | None = None) -> Iterator[tuple[str, int, bytes]]:
    """Yield ``(source, line_number, line)`` for every line of every input, in time order.

    ``line`` is the raw bytes without the end of line (``\\r\\n`` or ``\\n``).
    """
    warnings = warnings if warnings is not None else Warnings()
    for path in expand(paths):
        number = 0
        for block in iter_blocks(path, warnings):
            for line in block.split(b"\n")[:-1]:
                number += 1
                yield path, number, line[:-1] if line.endswith(b"\r") else line
