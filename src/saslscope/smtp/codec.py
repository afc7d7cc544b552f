"""SMTP wire format, client side: reply parsing and command formatting (RFC 5321).

Pure functions and one incremental parser over bytes; no sockets. A reply is one or more
lines ``CODE-text`` ... ``CODE text`` (RFC 5321 §4.2); its text may start with an enhanced
status code ``class.subject.detail`` (RFC 3463, advertised by ENHANCEDSTATUSCODES, RFC 2034).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from saslscope.smtp.errors import InvalidCommand, ProtocolViolation

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF. Real servers
# exceed it (long EHLO keyword lists, Exchange's X-ANONYMOUSTLS banners), and Postfix's own
# client accepts up to 2048 (smtp_line_length_limit = 2000 plus slack), so we accept lines
# up to 4 KiB and call anything longer a protocol violation instead of buffering forever.
REPLY_LINE_LIMIT = 4096
# RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF. The AUTH
# command and SASL responses are exempt (saslscope.smtp.auth.AUTH_LINE_LIMIT).
COMMAND_LINE_LIMIT = 512
# A multi-line reply with more lines than this is not a server talking SMTP. Real EHLO
# replies have about 10-20 lines.
REPLY_MAX_LINES = 200

CRLF = b"\r\n"

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?= |$)")


@dataclass(frozen=True)
class Reply:
    """One complete server reply.

    ``lines`` holds the text after ``CODE`` and its separator, one entry per line, decoded
    as UTF-8 with undecodable bytes escaped (replies are ASCII by RFC 5321 §2.4, but a
    transcript must show what arrived, not crash). ``raw`` is the exact bytes received.
    """

    code: int
    lines: tuple[str, ...]
    raw: bytes

    @property
    def text(self) -> str:
        """All lines joined with newlines."""
        return "\n".join(self.lines)

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 code of the first line (``2.7.0``), if the server sent one whose
        class agrees with the reply code (RFC 3463 §2: the classes must match)."""
        if not self.lines:
            return None
        match = _ENHANCED.match(self.lines[0])
        if match is None or match.group(1) != str(self.code)[0]:
            return None
        return match.group(0)

    @property
    def is_positive(self) -> bool:
        """2yz completion (RFC 5321 §4.2.1)."""
        return 200 <= self.code < 300

    def summary(self) -> str:
        """The first line as the server wrote it: ``235 2.7.0 Authentication successful``."""
        return f"{self.code} {self.lines[0]}" if self.lines else str(self.code)


class ReplyParser:
    """Incremental reply parser: feed bytes, take complete replies.

    Any violation (a line that is not ``DDD`` followed by space, hyphen or end of line, a
    code that changes inside one multi-line reply, an overlong line) raises
    :class:`ProtocolViolation`; the parser then refuses further input, since after a framing
    error nothing that follows can be trusted.
    """

    def __init__(self, line_limit: int = REPLY_LINE_LIMIT) -> None:
        self._buffer = bytearray()
        self._pending: list[tuple[int, str]] = []
        self._pending_raw = bytearray()
        self._line_limit = line_limit
        self._broken: str | None = None

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet part of a complete reply."""
        return bytes(self._pending_raw) + bytes(self._buffer)

    def feed(self, data: bytes) -> list[Reply]:
        """Add received bytes; return the replies they complete (possibly none)."""
        if self._broken is not None:
            raise ProtocolViolation(f"reply stream already broken: {self._broken}")
        self._buffer += data
        replies: list[Reply] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self._line_limit:
                    self._fail(f"reply line longer than {self._line_limit} octets")
                break
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if len(line) > self._line_limit:
                self._fail(f"reply line longer than {self._line_limit} octets")
            reply = self._take_line(line)
            if reply is not None:
                replies.append(reply)
        return replies

    def _take_line(self, line: bytes) -> Reply | None:
        # RFC 5321 §2.3.8 wants CRLF; bare LF is tolerated, as every mature client does.
        body = line.rstrip(b"\n").removesuffix(b"\r")
        if len(body) < 3 or not body[:3].isdigit() or body[0:1] not in b"2345":
            self._fail(f"malformed reply line {_show(body)}")
        separator = body[3:4]
        if separator not in (b"", b" ", b"-"):
            self._fail(f"malformed reply line {_show(body)} (no space or hyphen after the code)")
        code = int(body[:3])
        text = body[4:].decode("utf-8", errors="backslashreplace")
        if self._pending and self._pending[0][0] != code:
            self._fail(f"reply code changed from {self._pending[0][0]} to {code} inside one reply")
        self._pending.append((code, text))
        self._pending_raw += line
        if len(self._pending) > REPLY_MAX_LINES:
            self._fail(f"reply with more than {REPLY_MAX_LINES} lines")
        if separator == b"-":
            return None
        reply = Reply(code, tuple(t for _, t in self._pending), bytes(self._pending_raw))
        self._pending.clear()
        self._pending_raw.clear()
        return reply

    def _fail(self, reason: str) -> None:
        self._broken = reason
        raise ProtocolViolation(reason)


def _show(data: bytes, limit: int = 60) -> str:
    text = repr(data[:limit])[1:]
    return text + ("..." if len(data) > limit else "")


def format_command(verb: str, argument: str | None = None, *, limit: int = COMMAND_LINE_LIMIT) -> bytes:
    """``verb argument CRLF`` as bytes, refusing CR/LF inside (command injection) and
    lines over ``limit`` (RFC 5321 §4.5.3.1.4)."""
    line = verb if argument is None else f"{verb} {argument}"
    if "\r" in line or "\n" in line:
        raise InvalidCommand(f"{verb}: a command must not contain CR or LF")
    data = line.encode("utf-8") + CRLF
    if len(data) > limit:
        raise InvalidCommand(f"{verb}: command line of {len(data)} octets exceeds the limit of {limit}")
    return data


def format_address(address: str) -> str:
    """``<address>`` for MAIL FROM / RCPT TO; the empty reverse path is ``<>``."""
    if any(ch in address for ch in "<>\r\n \t"):
        raise InvalidCommand(f"not a bare mail address: {address!r}")
    return f"<{address}>"


def dot_stuff(message: bytes) -> bytes:
    """The DATA payload for ``message``: CRLF line ends, leading dots doubled, and the
    terminating ``.CRLF`` (RFC 5321 §4.5.2)."""
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = (b"." + line if line.startswith(b".") else line for line in lines)
    return b"".join(line + CRLF for line in stuffed) + b"." + CRLF
