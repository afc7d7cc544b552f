"""Untrusted text to a terminal: what a log, a peer or a message header said, shown as data.

User names, HELO names, Message-IDs, senders and server banners are the network's text.
Shown through rich they must never be read as markup (``[/x]`` would end a style, or crash
the renderer) and must never reach the terminal as control characters (ESC sequences move
the cursor, retitle the window, or hide text). Every command renders such text with
:func:`literal` (a rich ``Text``, never parsed) or :func:`printable` (a plain string, from
:mod:`saslscope.untrusted`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saslscope.untrusted import printable

__all__ = ["literal", "printable"]

if TYPE_CHECKING:  # pragma: no cover
    from rich.text import Text


def literal(value: object, style: str = "") -> Text:
    """A rich ``Text`` of :func:`printable` ``value``: printed as is, never as markup."""
    from rich.text import Text

    return Text(printable(value), style=style)
