"""The record of a session: what went over the wire, when, whether under TLS, what is secret.

Secrets are masked when rendering, from each event's own ``secrecy`` flag, so that the
recorded bytes stay exact and no string search afterwards can miss (or over-mask) anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saslscope.sasl.explanation import Explanation


class Direction(str, Enum):
    SENT = "sent"
    RECEIVED = "received"
    NOTE = "note"          # something the client did or saw that is not SMTP text (TLS up)


class Secrecy(str, Enum):
    #: whoever reads it can log in: PLAIN/LOGIN answers, XOAUTH2/OAUTHBEARER tokens
    REVEALS_SECRET = "reveals-secret"
    #: with the challenge, it allows an offline dictionary attack on the password
    OFFLINE_CRACKABLE = "offline-crackable"


MASK = "********"


@dataclass(frozen=True)
class SaslPayload:
    """The decoded SASL message inside an AUTH line, for ``--explain``: ``direction`` is
    ``"client"`` (a response) or ``"server"`` (a 334 challenge)."""

    mechanism: str
    direction: str
    data: bytes = field(repr=False)

    def explain(self, *, show_secrets: bool, masked: bool) -> list[str]:
        """What the message says, field by field (via :mod:`saslscope.sasl.explain`,
        imported only when asked). Fields the explainer knows to be secret are masked
        unless ``show_secrets``; when the event itself is masked and the explainer cannot
        tell which part is secret (a LOGIN answer), the whole message is."""
        explanation = self._explanation()
        if isinstance(explanation, str):
            return [MASK if masked else f"(not understood: {explanation})"]
        if masked and not explanation.has_secrets:
            return [f"{explanation.title}: {MASK}"]
        return explanation.lines(show_secrets=show_secrets)

    def explain_json(self, *, show_secrets: bool, masked: bool) -> object:
        """The same as :meth:`explain`, as JSON-ready data."""
        explanation = self._explanation()
        if isinstance(explanation, str):
            return MASK if masked else {"error": explanation}
        if masked and not explanation.has_secrets:
            return MASK
        return explanation.to_dict(show_secrets=show_secrets)

    def _explanation(self) -> Explanation | str:
        """The explainer's reading, or why it could not read the message."""
        from saslscope.sasl.errors import SaslError
        from saslscope.sasl.explain import explain

        try:
            return explain(self.data, self.mechanism, self.direction)
        except SaslError as exc:
            return str(exc)


@dataclass(frozen=True)
class Event:
    """One step of a session.

    ``data`` is the exact bytes sent or received (for a note: its UTF-8 text).
    ``secret_from`` is where secret material starts inside ``data`` (after ``AUTH PLAIN ``),
    so the command word stays readable when the rest is masked. ``sasl`` is the decoded
    SASL message for ``--explain``; it is as secret as the event itself. ``masks`` are
    secrets sent earlier that this event's data repeats (a server echoing ``AUTH PLAIN
    ...`` in its 535): masked wherever they stand unless ``show_secrets``.
    """

    direction: Direction
    data: bytes
    tls: bool
    elapsed: float
    secrecy: Secrecy | None = None
    secret_from: int = 0
    sasl: SaslPayload | None = None
    masks: tuple[bytes, ...] = field(default=(), repr=False)

    def masked(self, show_secrets: bool) -> bool:
        return self.secrecy is Secrecy.REVEALS_SECRET and not show_secrets

    def text(self, show_secrets: bool = False) -> str:
        """The event's text without line ends, secret part masked unless ``show_secrets``."""
        text = self.data.decode("utf-8", errors="backslashreplace").replace("\r\n", "\n").rstrip("\n")
        if self.masked(show_secrets):
            return text[: self.secret_from] + MASK
        if not show_secrets:
            for secret in self.masks:
                text = text.replace(secret.decode("utf-8", "backslashreplace"), MASK)
        return text

    def explanation(self, show_secrets: bool = False) -> list[str]:
        """``--explain`` lines for a SASL message (none for other events)."""
        if self.sasl is None:
            return []
        return self.sasl.explain(show_secrets=show_secrets, masked=self.masked(show_secrets))

    def to_json(self, show_secrets: bool = False, explain: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "direction": self.direction.value,
            "tls": self.tls,
            "elapsed": round(self.elapsed, 6),
            "text": self.text(show_secrets),
            "secret": self.secrecy.value if self.secrecy else None,
            "masked": self.masked(show_secrets) or (bool(self.masks) and not show_secrets),
        }
        if explain and self.sasl is not None:
            document["explanation"] = self.sasl.explain_json(show_secrets=show_secrets, masked=self.masked(show_secrets))
        return document


class Transcript:
    """Collects events with the time elapsed since the transcript began."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[Event] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def record(self, direction: Direction, data: bytes, tls: bool, **details: Any) -> Event:
        event = Event(direction, data, tls, self.elapsed(), **details)
        self.events.append(event)
        return event

    def note(self, text: str, tls: bool) -> None:
        self.record(Direction.NOTE, text.encode("utf-8"), tls)


#: the arrows of the write-up and swaks: ``->`` client to server, ``<-`` back; ``~`` under TLS
_ARROWS = {
    (Direction.SENT, False): "->",
    (Direction.RECEIVED, False): "<-",
    (Direction.SENT, True): "~>",
    (Direction.RECEIVED, True): "<~",
    (Direction.NOTE, False): "==",
    (Direction.NOTE, True): "==",
}


def render_events(events: list[Event], *, show_secrets: bool = False, explain: bool = False) -> list[str]:
    """The readable transcript, one string per line::

        [   3.1 ms] <- 220 mail.test ESMTP Postfix
        [  41.7 ms] ~> AUTH PLAIN ********  (reveals the password; --show-secrets shows it)
    """
    lines: list[str] = []
    for event in events:
        stamp = f"[{event.elapsed * 1000:8.1f} ms]"
        arrow = _ARROWS[(event.direction, event.tls)]
        text_lines = event.text(show_secrets).split("\n")
        for index, text in enumerate(text_lines):
            suffix = ""
            if index == len(text_lines) - 1:
                suffix = _secrecy_remark(event, show_secrets)
            lines.append(f"{stamp if index == 0 else ' ' * len(stamp)} {arrow} {text}{suffix}")
        if explain:
            lines += [f"{' ' * len(stamp)}    | {text}" for text in event.explanation(show_secrets)]
    return lines


def _secrecy_remark(event: Event, show_secrets: bool) -> str:
    if event.secrecy is Secrecy.REVEALS_SECRET:
        return "  (masked: reveals the password/token; --show-secrets shows it)" if not show_secrets else "  (reveals the password/token!)"
    if event.secrecy is Secrecy.OFFLINE_CRACKABLE:
        return "  (offline-crackable: do not publish with the challenge)"
    return ""
