"""Which bytes of a log are new: files recognised by their first bytes, not their names.

logrotate renames ``mail.log`` to ``mail.log.1`` (or copies and truncates it), then compresses
it to ``mail.log.2.gz`` a rotation later. A name therefore says nothing about content, but the
first bytes do: a syslog file starts with a time-stamped line that no other file shares. A file
is recognised by the SHA-256 of its first :data:`FINGERPRINT_BYTES` bytes (of the decompressed
stream, so ``mail.log.1`` and the ``mail.log.2.gz`` made from it are one file), and the store
remembers how far it was read. A file still shorter than that is fingerprinted on what it has
and recognised later by that prefix (the store then lengthens its fingerprint).

Plain files are read up to their last newline: a line still being written is left for the next
run. Compressed files are immutable, so once read to the end they are marked complete and
skipped without decompressing them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from saslscope.maillog.sources import BLOCK_SIZE, LogInputError, Stream, Warnings, _read_blocks, open_log

FINGERPRINT_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Head:
    """The first bytes of a file's (decompressed) content and whether it is compressed."""

    data: bytes
    compressed: bool

    def fingerprint(self, length: int | None = None) -> bytes:
        return hashlib.sha256(self.data[:length if length is not None else len(self.data)]).digest()


def read_head(path: str) -> Head:
    """The first :data:`FINGERPRINT_BYTES` bytes of ``path``'s content (fewer if it is shorter)."""
    try:
        with open(path, "rb") as raw:
            stream, compression = open_log(raw)
            data = _read_exactly(stream, FINGERPRINT_BYTES)
    except OSError as exc:  # includes a damaged compressed header
        raise LogInputError(f"{path}: {exc.strerror or exc}") from exc
    except (EOFError, ValueError) as exc:
        raise LogInputError(f"{path}: {exc}") from exc
    return Head(data, compression is not None)


def _read_exactly(stream: Stream, size: int) -> bytes:
    parts: list[bytes] = []
    want = size
    while want > 0:
        block = stream.read(want)
        if not block:
            break
        parts.append(block)
        want -= len(block)
    return b"".join(parts)


@dataclass(slots=True)
class NewBytes:
    """Blocks of whole lines from ``start`` on; after iteration, ``end`` is where reading stopped
    (the start of a line still being written), ``at_eof`` whether everything was consumed and
    ``damaged`` whether a compressed stream ended early."""

    path: str
    start: int
    compressed: bool
    end: int = 0
    at_eof: bool = False
    damaged: bool = False

    def blocks(self, warnings: Warnings) -> Iterator[bytes]:
        self.end = self.start
        before = len(warnings.messages)
        with open(self.path, "rb") as raw:
            stream, _ = open_log(raw)
            if self.compressed:
                skipped = _skip(stream, self.start)
                if skipped < self.start:
                    warnings.add(f"{self.path}: shorter than the {self.start} bytes read before; nothing new")
                    self.at_eof = True
                    return
            else:
                raw.seek(self.start)
                stream = raw
            tail = b""
            for block in _read_blocks(stream, self.path, warnings):
                cut = block.rfind(b"\n")
                if cut < 0:
                    tail += block
                    continue
                whole = tail + block[:cut + 1]
                tail = block[cut + 1:]
                self.end += len(whole)
                yield whole
            self.damaged = len(warnings.messages) > before
            if tail and self.compressed:
                self.end += len(tail)
                yield tail + b"\n"       # immutable: the last line will never be finished
            elif tail:
                warnings.add(f"{self.path}: {len(tail)} bytes of an unfinished last line are left for the next run")
            self.at_eof = True


def _skip(stream: Stream, count: int) -> int:
    skipped = 0
    while skipped < count:
        block = stream.read(min(BLOCK_SIZE, count - skipped))
        if not block:
            break
        skipped += len(block)
    return skipped
