"""Log input: files, rotated sets in time order, directories, stdin; compressed transparently.

Compression is recognised by its magic bytes, not by the file name (logrotate's
``compresscmd`` and Postfix's ``maillog_file_compressor`` vary): gzip, bzip2, xz and zstd.
Everything is read as bytes in large blocks of whole lines; invalid UTF-8 and NUL bytes pass
through untouched (the parser decides what to do with them).

Damage never stops a run: a compressed file cut short or corrupt yields what could be
decompressed plus a warning, a directory entry that cannot be read (a symlink loop) is
skipped with a warning. Memory is bounded whatever the input: a line is kept up to
:data:`LINE_CAP` bytes and the rest of it is skipped (counted in :attr:`Warnings.long_lines`),
and an absurd decompression ratio (a "zip bomb") is reported.
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
from typing import BinaryIO, Protocol, cast

BLOCK_SIZE = 1 << 20
STDIN = "-"
# The one line-length cap, applied here before any parser or prefilter sees a line. Syslog
# lines are far shorter (rsyslog's default maxMessageSize is 8 KiB, journald's LineMax 48 KiB,
# Postfix's line_length_limit 2048 for SMTP); 64 KiB keeps every real line whole and bounds
# the work of every per-line pattern.
LINE_CAP = 64 << 10
# Logs compress 10-20x with gzip and up to a few hundred times with xz on repetitive lines;
# a thousand times more output than input is a decompression bomb or a damaged file.
SUSPICIOUS_RATIO = 1000
_RATIO_FLOOR = 64 << 20        # below this much output a ratio is not worth a warning
# zstd input is fed in small pieces: one piece can expand at most ~32,000x (RLE blocks), so
# a piece of 1 KiB never makes more than ~32 MiB at once.
_ZSTD_PIECE = 1024


class LogInputError(Exception):
    """A named input cannot be read at all (missing, permission denied, a directory of nothing)."""


@dataclass
class Warnings:
    """Problems that lose some input but do not stop the analysis (shown to the user)."""

    messages: list[str] = field(default_factory=list)
    long_lines: int = 0          # lines cut at LINE_CAP

    def add(self, text: str) -> None:
        self.messages.append(text)

    def all(self) -> list[str]:
        """The messages, and one for the lines cut at the cap if there were any."""
        if not self.long_lines:
            return list(self.messages)
        return [*self.messages, long_lines_message(self.long_lines)]


def long_lines_message(count: int) -> str:
    return f"{count} line(s) longer than {LINE_CAP // 1024} KiB: only their first {LINE_CAP // 1024} KiB were read"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Stream(Protocol):
    """What a (decompressing) input offers: read, and close."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _ZstdReader:
    """zstd frames one after the other, like ``zstd -dc``.

    Unlike zstandard's ``stream_reader``, a stream that ends inside a frame raises
    ``EOFError`` (as gzip, bzip2 and xz do) instead of ending silently, and a corrupt frame
    raises ``OSError`` instead of ``zstandard.ZstdError``.
    """

    def __init__(self, raw: _Readable) -> None:
        import zstandard  # imported only for .zst input

        self._raw = raw
        self._error = zstandard.ZstdError
        self._context = zstandard.ZstdDecompressor()
        self._frame: object | None = None       # the decompressor of the frame being read

    def read1(self, size: int = -1) -> bytes:
        while True:
            data = self._raw.read(_ZSTD_PIECE)
            if not data:
                if self._frame is not None:
                    raise EOFError("zstd input ends inside a frame")
                return b""
            out = []
            try:
                while data:
                    if self._frame is None:
                        self._frame = self._context.decompressobj()
                    out.append(self._frame.decompress(data))  # type: ignore[attr-defined]
                    if self._frame.eof:  # type: ignore[attr-defined]
                        data = self._frame.unused_data  # type: ignore[attr-defined]
                        self._frame = None
                    else:
                        data = b""
            except self._error as exc:
                raise OSError(f"zstd: {exc}") from None
            result = b"".join(out)
            if result:
                return result

    read = read1

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()


# magic bytes -> (name, wrapper)
_MAGIC: list[tuple[bytes, str, Callable[[io.BufferedReader], Stream]]] = [
    (b"\x1f\x8b", "gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
    (b"BZh", "bzip2", bz2.BZ2File),
    (b"\xfd7zXZ\x00", "xz", lzma.LZMAFile),
    (b"\x28\xb5\x2f\xfd", "zstd", _ZstdReader),
]


def open_log(raw: BinaryIO) -> tuple[Stream, str | None]:
    """Wrap ``raw`` in a decompressor if its first bytes are a known magic number."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw))
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


def _directory_files(path: str, warnings: Warnings | None) -> list[str]:
    """The visible regular files of a directory; an entry that cannot be examined (a symlink
    loop, a dangling link) is skipped with a warning."""
    entries = []
    for entry in os.scandir(path):
        if entry.name.startswith("."):
            continue
        try:
            is_file = entry.is_file()
        except OSError as exc:
            if warnings is not None:
                warnings.add(f"{entry.path}: skipped ({exc.strerror or exc})")
            continue
        if is_file:
            entries.append(entry.path)
    return sorted(entries)


def expand(paths: Iterable[str], warnings: Warnings | None = None) -> list[str]:
    """Expand directories and order each rotated set by age (oldest first).

    Files given one by one keep the order of their first appearance per rotated set, so
    ``maillog maillog.1 maillog.2.gz`` is read as ``maillog.2.gz maillog.1 maillog``.
    """
    files: list[str] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif os.path.isdir(path):
            try:
                entries = _directory_files(path, warnings)
            except OSError as exc:
                raise LogInputError(f"{path}: {exc.strerror or exc}") from exc
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


def _read_blocks(stream: Stream, name: str, warnings: Warnings,
                 consumed: Callable[[], int] | None = None) -> Iterator[bytes]:
    """Raw blocks (cut anywhere) of one stream. ``consumed`` tells how many compressed bytes
    were read so far, for the decompression-ratio check."""
    # read1 hands over what one decompression step produced, so a stream cut short still
    # yields everything before the damage (read() would discard its partial buffer).
    read = getattr(stream, "read1", stream.read)
    produced = 0
    warned = consumed is None
    try:
        while True:
            block = read(BLOCK_SIZE)
            if not block:
                return
            produced += len(block)
            if not warned and produced >= _RATIO_FLOOR and produced > SUSPICIOUS_RATIO * max(1, consumed()):  # type: ignore[misc]
                warned = True
                warnings.add(f"{name}: decompresses to over {SUSPICIOUS_RATIO} times its size "
                             f"({produced >> 20} MiB from {consumed()} bytes so far): "  # type: ignore[misc]
                             f"a decompression bomb or a damaged file; lines are capped at "
                             f"{LINE_CAP // 1024} KiB")
            yield block
    except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        warnings.add(f"{name}: input ends early ({exc.__class__.__name__}: {exc}); read what was there")


def cap_lines(body: bytes, warnings: Warnings) -> bytes:
    """``body`` (whole lines, ending with ``\\n``) with every line cut to LINE_CAP bytes.

    Linear, and cheap when nothing is cut: one backward search per LINE_CAP bytes finds the
    last line end of each window; a window without one holds a line longer than the cap.
    """
    size = len(body)
    pos = start = 0
    pieces: list[bytes] | None = None
    while size - pos > LINE_CAP:
        newline = body.rfind(b"\n", pos, pos + LINE_CAP + 1)
        if newline >= 0:
            pos = newline + 1
            continue
        end = body.find(b"\n", pos + LINE_CAP)     # exists: body ends with "\n"
        if pieces is None:
            pieces = []
        pieces.append(body[start:pos + LINE_CAP])
        warnings.long_lines += 1
        start, pos = end, end + 1                  # the "\n" stays
    if pieces is None:
        return body
    pieces.append(body[start:])
    return b"".join(pieces)


def whole_lines(blocks: Iterable[bytes], warnings: Warnings) -> Iterator[bytes]:
    """Blocks of whole lines (each block ends with ``\\n``) from blocks cut anywhere.

    No line is longer than LINE_CAP: the rest of a longer one is skipped as it streams by,
    so a gigabyte without a newline costs LINE_CAP bytes of memory, not a gigabyte.
    """
    head = b""            # the start of a line that goes on in the next block (<= LINE_CAP)
    skipping = False      # that line is already cut: drop its bytes up to its end
    for block in blocks:
        if head or skipping:
            newline = block.find(b"\n")
            if newline < 0:
                if not skipping:
                    head += block[:LINE_CAP - len(head) + 1]
                    if len(head) > LINE_CAP:
                        head, skipping = head[:LINE_CAP], True
                        warnings.long_lines += 1
                continue
            line = head if skipping else head + block[:newline]
            if len(line) > LINE_CAP:
                line = line[:LINE_CAP]
                warnings.long_lines += 1
            block = line + block[newline:]
            head, skipping = b"", False
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if len(rest) > LINE_CAP:
            head, skipping = rest[:LINE_CAP], True
            warnings.long_lines += 1
        else:
            head = rest
        if cut:
            yield cap_lines(block[:cut], warnings)
    if head or skipping:
        yield head + b"\n"  # a file cut mid-line: the partial line is still a line


def iter_blocks(path: str, warnings: Warnings) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ending with ``\\n``, none over LINE_CAP) from one file or stdin."""
    if path == STDIN:
        stream, _ = open_log(sys.stdin.buffer)
        yield from whole_lines(_read_blocks(stream, path, warnings), warnings)
        return
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the `with raw:` below, after the error is mapped
    except OSError as exc:
        raise LogInputError(f"{path}: {exc.strerror or exc}") from exc
    with raw:
        try:
            stream, kind = open_log(raw)
        except OSError as exc:
            raise LogInputError(f"{path}: {exc.strerror or exc}") from exc
        try:
            # raw.tell(): the compressed bytes the decompressor consumed, for the ratio check
            yield from whole_lines(_read_blocks(stream, path, warnings, raw.tell if kind else None), warnings)
        finally:
            stream.close()
