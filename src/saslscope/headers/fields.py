"""Split a message's header block into fields, losslessly.

We read the header block ourselves rather than through ``email.message.Message`` because the
forensics need the text exactly as received: compat32 hands back undecodable bytes as opaque
``Header`` objects and the modern policy re-folds and normalises values. Here every line ends
up somewhere: in a field, as the mbox ``From `` line, or in ``malformed`` -- never dropped.

- A field starts with a name of printable ASCII except ``:`` (RFC 5322 §2.2), optionally
  followed by whitespace before the colon (obsolete syntax, RFC 5322 §4.5).
- A line starting with space or tab continues the previous field (folding, RFC 5322 §2.2.3).
- The first empty line ends the header block (RFC 5322 §2.1).
- A header pasted with every line indented (a code block of a forum post) or quoted (``> ``
  of an inline forward) is read as if the indentation or the quote marks were not there.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field
from email.quoprimime import header_decode

_LINE_END = re.compile(r"\r?\n")
_FIELD_START = re.compile(r"^(?P<name>[\x21-\x39\x3b-\x7e]+)[ \t]*:(?P<value>.*)$", re.S)
_PASTE_PREFIX = re.compile(r"^(?P<prefix>[ \t]+|(?:>[ \t]?)+)(?=[\x21-\x39\x3b-\x7e]+[ \t]*:)")
_ENCODED_WORD = re.compile(r"=\?(?P<charset>[^?\s]+)\?(?P<encoding>[bBqQ])\?(?P<payload>[^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?[^?\s]+\?[bBqQ]\?)")


@dataclass(frozen=True)
class HeaderField:
    name: str
    value: str        # as written, folding kept (lines joined with "\n"), no trailing newline
    line: int         # 1-based line number where the field starts

    @property
    def unfolded(self) -> str:
        """The value with folding removed (RFC 5322 §2.2.3) and runs of whitespace collapsed."""
        return " ".join(self.value.split())


@dataclass
class HeaderBlock:
    fields: list[HeaderField] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    envelope_line: str | None = None                                # mbox "From " separator

    def get_all(self, name: str) -> list[HeaderField]:
        wanted = name.lower()
        return [f for f in self.fields if f.name.lower() == wanted]

    def first(self, name: str) -> str | None:
        found = self.get_all(name)
        return found[0].unfolded if found else None


def split_header_block(text: str) -> HeaderBlock:
    """Split ``text`` (a whole message or just its header) into header fields."""
    block = HeaderBlock()
    lines = _LINE_END.split(text)             # CRLF or LF only: U+2028 and friends are not line ends
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1                                   # leading blank lines (pasted text)
    lines = _without_paste_prefix(lines, start)
    start = _after_preamble(lines, start, block)
    if start < len(lines) and lines[start].startswith("From ") and not _FIELD_START.match(lines[start]):
        block.envelope_line = lines[start]
        start += 1
    name: str | None = None
    parts: list[str] = []
    first_line = 0

    def flush() -> None:
        if name is not None:
            block.fields.append(HeaderField(name, "\n".join(parts), first_line))

    for number, line in enumerate(lines[start:], start=start + 1):
        if line == "":
            break
        if line[0] in " \t":
            if name is not None:
                parts.append(line)
            else:
                block.malformed.append((number, line))
            continue
        match = _FIELD_START.match(line)
        if match:
            flush()
            name, parts, first_line = match["name"], [match["value"].lstrip(" \t")], number
        else:
            flush()
            name, parts = None, []
            block.malformed.append((number, line))
    flush()
    return block


# Fields a received message's header starts with; what comes before such a line in a paste that
# does not itself start with a field is the paster's preamble (Gmail's "Show original" summary
# table, a sentence of explanation), kept in ``malformed``.
_HEADER_OPENING = re.compile(r"^(?:Delivered-To|Received|Return-Path|X-Received|X-Original-To|ARC-Seal|"
                             r"Authentication-Results|X-Gm-Message-State)[ \t]*:", re.I)
_PREAMBLE_LIMIT = 60


def _after_preamble(lines: list[str], start: int, block: HeaderBlock) -> int:
    """Where the header starts when the paste opens with something else."""
    if start >= len(lines) or _FIELD_START.match(lines[start]) or lines[start].startswith("From "):
        return start
    for index in range(start, min(len(lines), start + _PREAMBLE_LIMIT)):
        if _HEADER_OPENING.match(lines[index]):
            block.malformed.extend((number + 1, line) for number, line in enumerate(lines[start:index], start=start)
                                   if line.strip())
            return index
    return start


def _without_paste_prefix(lines: list[str], start: int) -> list[str]:
    """The lines with the indentation or ``>`` quoting of a pasted header taken off, when the
    first line is a field only once that prefix is gone. A line without the prefix, or a blank
    one, ends the header as an empty line would."""
    if start >= len(lines) or _FIELD_START.match(lines[start]) or lines[start].startswith("From "):
        return lines
    match = _PASTE_PREFIX.match(lines[start])
    if match is None:
        return lines
    prefix = match["prefix"]
    quote_only = prefix.rstrip(" \t")                    # "> " quoting leaves ">" on an empty line
    out = lines[:start]
    for index in range(start, len(lines)):
        line = lines[index]
        if line.startswith(prefix) and line[len(prefix):].strip():
            out.append(line[len(prefix):])
        else:
            out.append("")                                # the pasted header ends here
            if line.strip() and line.strip() != quote_only:
                out.append(line)
            out.extend(lines[index + 1:])
            return out
    return out


# The charsets mail really uses (IANA names as mail clients write them, checked by the Python codec
# they resolve to). Python's codec registry also holds punycode (quadratic: a 400 KB word took 24 s),
# idna, utf-7, unicode_escape and byte transforms: a header naming one of them is not decoded.
_MAIL_CODECS = frozenset({
    "ascii", "utf-8",
    *(f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)),
    *(f"cp{n}" for n in (1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258, 874, 437, 850, 866)),
    "koi8-r", "koi8-u", "mac-roman", "tis-620",
    "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_3", "iso2022_jp_ext", "shift_jis", "cp932", "euc_jp",
    "gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950",
    "euc_kr", "cp949", "iso2022_kr",
})
# MIME names Python does not know, or knows as something narrower than what the senders meant.
_MIME_ALIASES = {"windows-874": "cp874", "windows-31j": "cp932", "x-sjis": "shift_jis",
                 "ks_c_5601-1987": "cp949", "x-gbk": "gbk", "x-mac-roman": "mac-roman"}


def mail_codec(charset: str) -> str | None:
    """The Python codec for a MIME ``charset``, or None when mail does not use it (or it is unknown)."""
    name = charset.strip().lower()
    try:
        codec = codecs.lookup(_MIME_ALIASES.get(name, name)).name
    except LookupError:
        return None
    return codec if codec in _MAIL_CODECS else None


def _decode_word(match: re.Match[str]) -> str:
    """One encoded word (RFC 2047 §4); returned unchanged if any part of it is invalid."""
    charset, encoding, payload = match["charset"].split("*")[0], match["encoding"].upper(), match["payload"]
    codec = mail_codec(charset)
    if codec is None:
        return match[0]
    try:
        if encoding == "B":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        else:
            data = header_decode(payload).encode("latin-1")
        return data.decode(codec)
    except (binascii.Error, UnicodeError, ValueError):
        return match[0]


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?UTF-8?B?...?=``); an invalid word is kept as written.

    Whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2).
    """
    if not _ENCODED_WORD.search(value):
        return value
    joined = _BETWEEN_WORDS.sub("", value)
    return _ENCODED_WORD.sub(_decode_word, joined)
