"""What an explanation of a SASL message is made of: named fields, some of them secret.

Shared by :mod:`saslscope.sasl.explain` (the per-mechanism explanations) and the token
explainers :mod:`saslscope.sasl.ntlm` and :mod:`saslscope.sasl.gssapi`; renderers
(``saslscope decode``, ``respond --explain``, the SMTP transcript) mask :attr:`Field.secret`
values unless asked not to.
"""

from __future__ import annotations

from dataclasses import dataclass

from saslscope.sasl.errors import MalformedMessage

MASK = "********"
LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last instant datetime can show


@dataclass(frozen=True)
class Field:
    """One named part of a message. ``secret`` values are masked unless shown on request."""

    name: str
    value: str
    secret: bool = False
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    """What a message is. ``kind`` is a stable identifier (``"cram-md5-challenge"``...)."""

    kind: str
    title: str
    mechanism: str | None = None
    direction: str | None = None  # "server" (a challenge) or "client" (a response)
    fields: tuple[Field, ...] = ()
    warnings: tuple[str, ...] = ()

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def has_secrets(self) -> bool:
        return any(f.secret for f in self.fields)

    def to_dict(self, *, show_secrets: bool = False) -> dict[str, object]:
        """JSON-ready form; secret values are replaced by :data:`MASK` unless ``show_secrets``."""
        return {
            "kind": self.kind,
            "title": self.title,
            "mechanism": self.mechanism,
            "direction": self.direction,
            "fields": [
                {
                    "name": f.name,
                    "value": f.value if show_secrets or not f.secret else MASK,
                    "secret": f.secret,
                    **({"note": f.note} if f.note else {}),
                }
                for f in self.fields
            ],
            "warnings": list(self.warnings),
        }

    def lines(self, *, show_secrets: bool = False) -> list[str]:
        """Plain-text rendering: a title, aligned ``name: value`` lines, then warnings.
        Control characters in values are escaped, so a hostile blob cannot drive the terminal."""
        width = max((len(f.name) for f in self.fields), default=0)
        out = [self.title]
        for f in self.fields:
            value = printable(f.value) if show_secrets or not f.secret else f"{MASK} (secret; --show-secrets to show)"
            out.append(f"  {f.name.ljust(width)}  {value}" + (f"  ({f.note})" if f.note else ""))
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def printable(data: bytes | str) -> str:
    """Text with control and undecodable characters escaped, safe for a terminal."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def utf8_text(blob: bytes) -> str:
    """The blob as UTF-8 text; MalformedMessage if it is not UTF-8."""
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("not valid UTF-8") from None
