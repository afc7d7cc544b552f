"""Read a whole pasted AUTH exchange or tool transcript, line by line (:func:`read_pasted_session`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from saslscope.sasl.errors import MalformedMessage
from saslscope.sasl.pasted import AUTH_COMMAND, HiddenData, PastedBlob, parse_decorated
from saslscope.sasl.transcript_formats import TranscriptLine, transcript_line

# certificates openssl s_client -showcerts prints inside the session
_PEM_BEGIN, _PEM_END = "-----BEGIN ", "-----END "
_OTHER_REPLY = re.compile(r"[2-5][0-9][0-9]([ -]|$)")
# A line of the protocol itself (a reply, a greeting or AUTH command, a continuation)
_PROTOCOL_LINE = re.compile(r"(?:[2-5][0-9][0-9](?:[ -]|$)|(?:\S+\s+)?AUTH|[EHL][HL]LO\b|\+(?: |$|OK)|-ERR)",
                            re.IGNORECASE)
# The end of an IMAP, POP3 or ManageSieve exchange: "a1 OK ...", "* BYE", "+OK", "-ERR", 'NO "..."'
_OTHER_PROTOCOL_REPLY = re.compile(r"(?:\S+ (?:OK|NO|BAD)\b|\* |\+OK\b|-ERR\b|(?:OK|NO|BYE)(?: |$))")
_SMTP_COMMAND = re.compile(r"(EHLO|HELO|MAIL|RCPT|DATA|QUIT|STARTTLS|RSET|NOOP)\b", re.IGNORECASE)


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _join_wrapped_base64(lines: list[TranscriptLine]) -> None:
    """RFC listings wrap long steps onto indented lines without the ``S:``/``C:``
    (RFC 2831, RFC 5804, RFC 7628 examples): a bare base64 line right after a decorated line
    that ends in unpadded base64 continues it. The joined text goes to the first line; the
    others become notes."""
    open_at: int | None = None                  # the decorated line that may continue
    for index, line in enumerate(lines):
        text = (line.text or "").strip()
        if line.marked or not text:
            open_at = index if line.marked and _continues(text) else None
            continue
        if open_at is not None and _BASE64_TEXT.fullmatch(text.strip('"')):
            first = lines[open_at]
            lines[open_at] = TranscriptLine((first.text or "").rstrip() + text, first.direction, True)
            lines[index] = TranscriptLine(None, marked=True)
            open_at = open_at if _continues(text) else None
        else:
            open_at = None


def _continues(text: str) -> bool:
    """Ends in base64 without padding: a wrapped step may go on on the next line."""
    words = text.split()
    last = words[-1].strip('"') if words else ""
    return bool(_BASE64_TEXT.fullmatch(last)) and not last.endswith("=") and len(last) >= 16


def read_pasted_session(lines: Iterable[str]) -> Iterator[tuple[int, PastedBlob | MalformedMessage]]:
    """Decode a pasted AUTH exchange line by line: ``(line number, blob or error)``.

    An ``AUTH MECH`` line sets the mechanism for the lines after it; a bare line after a
    ``334`` is the client's answer. Other SMTP replies (``235``, ``535``...) and commands
    (``EHLO``, ``MAIL``...) end the exchange and are skipped, blank lines too. A bad line yields its error and reading goes on.

    Whole transcripts (swaks, msmtp, Postfix verbose smtpd, smtplib, Dovecot auth debug, see
    :func:`transcript_line`) are read too: when the input has such lines, the lines without
    that decoration (other log lines) and those outside an AUTH exchange (the tool's notes,
    the message's DATA) are passed over silently.
    """
    decorated_lines = [transcript_line(line.strip()) for line in lines]
    # Only decorated protocol lines make a transcript: not openssl s_client's notes (its protocol
    # lines are bare), nor a stray "->" in a pasted note.
    transcript = any(decorated.marked and decorated.text and _PROTOCOL_LINE.match(decorated.text.strip())
                     for decorated in decorated_lines)
    # A session (a transcript, or bare protocol lines and a tool's notes as s_client prints them) puts
    # its blobs inside AUTH exchanges; what lies outside one is context (stderr noise, DATA), not an
    # error. Input without any of that is a list of blobs, each one decoded and checked.
    session = transcript or any(decorated.marked or _PROTOCOL_LINE.match((decorated.text or "").strip())
                                for decorated in decorated_lines)
    if transcript:
        _join_wrapped_base64(decorated_lines)
    mechanism: str | None = None
    last_direction: str | None = None
    last_challenge: bytes | None = None
    in_exchange = in_pem = False
    for number, decorated in enumerate(decorated_lines, start=1):
        if transcript and not decorated.marked:
            continue
        stripped = (decorated.text or "").strip()
        if stripped.startswith(_PEM_BEGIN) or in_pem:      # s_client -showcerts: certificates, not SASL
            in_pem = not stripped.startswith(_PEM_END)
            continue
        if not stripped:
            continue
        challenge = stripped.startswith(("334", "+ "))
        if not challenge and (_OTHER_REPLY.match(stripped) or _SMTP_COMMAND.match(stripped)
                              or _OTHER_PROTOCOL_REPLY.match(stripped) or stripped == "*"):   # "*": cancelled
            mechanism = last_direction = last_challenge = None
            in_exchange = False
            continue
        starts = challenge or AUTH_COMMAND.fullmatch(stripped) is not None
        if session and not in_exchange and not starts:
            continue                              # DATA lines, notes, stderr: not part of any AUTH exchange
        in_exchange = True
        try:
            pasted = parse_decorated(decorated)
        except MalformedMessage as exc:
            yield number, exc
            if isinstance(exc, HiddenData):       # a masked step still is a step: the next line answers it
                if command := AUTH_COMMAND.fullmatch(stripped):
                    mechanism = command["mechanism"].upper()
                last_direction = decorated.direction or ("client" if last_direction == "server" else None)
                last_challenge = None
            continue
        if pasted.mechanism:
            mechanism = pasted.mechanism
        direction = pasted.direction or ("client" if last_direction == "server" else None)
        answering = (pasted.answering or last_challenge) if direction == "client" else None
        last_direction = direction
        last_challenge = pasted.data if direction == "server" else None
        if pasted.data is not None:
            yield number, PastedBlob(pasted.data, direction, pasted.mechanism or mechanism, answering)
