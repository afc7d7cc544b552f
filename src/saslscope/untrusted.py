"""Untrusted text as one printable line: what a log, a peer or a message header said, as data.

User names, HELO names, Message-IDs, senders and server banners are the network's text. Shown on
a terminal, written to a log or put in a table they must never reach it as control characters
(ESC sequences move the cursor, retitle the window or hide text; a newline forges a log line).
Every layer that shows such text uses :func:`printable` (``cli/untrusted.py`` adds a rich
``Text`` that is never parsed as markup). The SASL layer keeps its own, bytes-aware copy in
``sasl/explanation.py``: it imports nothing from the rest of the package by design.
"""

from __future__ import annotations


def printable(value: object) -> str:
    """``value`` as text with every control or unprintable character shown as ``\\xNN``
    (``\\uNNNN`` above U+00FF): tabs too, so a table cell stays one cell."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
                   for ch in text)
