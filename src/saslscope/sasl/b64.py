"""Strict base64 for what a user pastes (and what the SMTP layer reads off the wire).

RFC 4954 §4: AUTH data is plain RFC 4648 base64 with padding; a lone ``=`` stands for an
empty initial response. Anything else (stray characters, missing padding, data after the
padding, line-wrapped output of GNU ``base64``) is an error with a one-line reason, never
silently repaired: a silently repaired answer is how the write-up's ``Cg==`` went unnoticed.
"""

from __future__ import annotations

import binascii

from saslscope.sasl.errors import MalformedMessage


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
