"""Strict base64 for what a user pastes (and what the SMTP layer reads off the wire).

RFC 4954 §4: AUTH data is plain RFC 4648 base64 with padding; a lone ``=`` stands for an
empty initial response. Anything else (stray characters, missing padding, data after the
padding, line-wrapped output of GNU ``base64``) is an error with a one-line reason, never
silently repaired: a silently repaired answer is how the write-up's ``Cg==`` went unnoticed.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from saslscope.sasl.errors import MalformedMessage

_AUTH_COMMAND = re.compile(r"AUTH\s+(?P<mechanism>[A-Za-z0-9_-]{1,20})(?:\s+(?P<data>\S+))?", re.IGNORECASE)


def decode_b64(text: str | bytes) -> bytes:
    """Decode strict base64; ``"="`` is the empty string (RFC 4954 §4). Raises MalformedMessage."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedMessage("not base64: contains non-ASCII bytes") from None
    text = text.strip()
    if text == "=":
        return b""
    for position, ch in enumerate(text):
        if not ch.isascii():
            raise MalformedMessage(f"not base64: non-ASCII character {ch!r} at position {position + 1}")
        if ch.isspace():
            raise MalformedMessage(
                f"not base64: whitespace at position {position + 1} (a line-wrapped paste? join the lines)"
            )
    if len(text) % 4:
        raise MalformedMessage(f"not base64: length {len(text)} is not a multiple of 4 (missing '=' padding?)")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        reason = str(exc)
        raise MalformedMessage(f"not base64: {reason[:1].lower()}{reason[1:]}") from None


@dataclass(frozen=True)
class PastedBlob:
    """A SASL blob as a user pasted it, with what the surrounding text told us."""

    #: the decoded bytes; None for a bare ``AUTH MECH`` command (it names a mechanism only)
    data: bytes | None
    #: "server" for a ``334``/``+`` line or ``S:``, "client" for ``AUTH``/``C:``, else None
    direction: str | None = None
    #: the mechanism named by a pasted ``AUTH MECH ...`` command
    mechanism: str | None = None
    #: in a pasted session, the server message a client line answers (see ``explain(answering=)``)
    answering: bytes | None = None


def parse_pasted(text: str) -> PastedBlob:
    """Accept bare base64, a whole ``334 <b64>`` reply, an IMAP ``+ <b64>`` continuation,
    an ``AUTH MECH [<b64>]`` command, or RFC-listing style ``S: ...`` / ``C: ...`` lines."""
    line = text.strip()
    direction = None
    for prefix, side in (("S:", "server"), ("C:", "client")):
        if line.startswith(prefix):
            line, direction = line[len(prefix) :].strip(), side
    if line.startswith("334") and (len(line) == 3 or line[3] in " -"):
        return PastedBlob(decode_b64(line[4:]), "server")
    if line.startswith("+") and (len(line) == 1 or line[1] == " "):
        return PastedBlob(decode_b64(line[1:]), "server")
    command = _AUTH_COMMAND.fullmatch(line)
    if command:
        data = decode_b64(command["data"]) if command["data"] is not None else None
        return PastedBlob(data, "client", command["mechanism"].upper())
    return PastedBlob(decode_b64(line), direction)


def decode_pasted(text: str) -> PastedBlob:
    """:func:`parse_pasted` for one blob: a bare ``AUTH MECH`` without data is an error."""
    pasted = parse_pasted(text)
    if pasted.data is None:
        raise MalformedMessage(f"AUTH {pasted.mechanism} carries no initial response to decode")
    return pasted


_OTHER_REPLY = re.compile(r"[2-5][0-9][0-9]([ -]|$)")
_SMTP_COMMAND = re.compile(r"(EHLO|HELO|MAIL|RCPT|DATA|QUIT|STARTTLS|RSET|NOOP)\b", re.IGNORECASE)


def read_pasted_session(lines: Iterable[str]) -> Iterator[tuple[int, PastedBlob | MalformedMessage]]:
    """Decode a pasted AUTH exchange line by line: ``(line number, blob or error)``.

    An ``AUTH MECH`` line sets the mechanism for the lines after it; a bare line after a
    ``334`` is the client's answer. Other SMTP replies (``235``, ``535``...) and commands
    (``EHLO``, ``MAIL``...) end the exchange and are skipped, blank lines too. A bad line yields its error and reading goes on.
    """
    mechanism: str | None = None
    last_direction: str | None = None
    last_challenge: bytes | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if (_OTHER_REPLY.match(stripped) and not stripped.startswith("334")) or _SMTP_COMMAND.match(stripped):
            mechanism = last_direction = last_challenge = None
            continue
        try:
            pasted = parse_pasted(stripped)
        except MalformedMessage as exc:
            yield number, exc
            continue
        if pasted.mechanism:
            mechanism = pasted.mechanism
        direction = pasted.direction or ("client" if last_direction == "server" else None)
        answering = last_challenge if direction == "client" else None
        last_direction = direction
        last_challenge = pasted.data if direction == "server" else None
        if pasted.data is not None:
            yield number, PastedBlob(pasted.data, direction, pasted.mechanism or mechanism, answering)
