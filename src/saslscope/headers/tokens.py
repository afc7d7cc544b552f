"""A forgiving lexer for structured header bodies (Received, Authentication-Results, Received-SPF).

RFC 5322 §3.2.2 lets comments (nested parentheses, with ``\\`` quoted-pairs) appear almost
anywhere, and real servers put their most useful facts in them (TLS ciphers, client IPs,
``Authenticated sender:``). Splitting on whitespace or on ``;`` without knowing where comments
and quoted strings start and end breaks on the first ``(ORCPT <rfc822;x@y>)``, so every header
parser here starts from these tokens.

The lexer never raises: an unterminated comment, quoted string or angle address simply runs
to the end of the text and is marked ``closed=False``, so nothing the sender wrote is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["word", "comment", "quoted", "angle", "semicolon"]

_WHITESPACE = " \t\r\n"
_WORD = re.compile(r'[^ \t\r\n(";<]+')
_COMMENT_SPECIALS = re.compile(r"[()\\]")


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str              # comment/quoted/angle: the inside, without the delimiters
    closed: bool = True    # False when the delimiter never closed (the text ran to the end)

    def source(self) -> str:
        """The token as it appeared (delimiters restored), for showing unrecognised parts raw."""
        if self.kind == "comment":
            return f"({self.text}" + (")" if self.closed else "")
        if self.kind == "quoted":
            return f'"{self.text}' + ('"' if self.closed else "")
        if self.kind == "angle":
            return f"<{self.text}" + (">" if self.closed else "")
        return self.text


def _read_comment(text: str, start: int) -> tuple[Token, int]:
    """Read a comment whose ``(`` is at ``start``; nested comments stay inside the text."""
    depth = 0
    out: list[str] = []
    position = start
    for special in _COMMENT_SPECIALS.finditer(text, start):
        at = special.start()
        if at < position:                      # the character after a backslash, already taken
            continue
        out.append(text[position:at])
        ch = special.group()
        if ch == "\\":                         # quoted-pair, RFC 5322 §3.2.1
            out.append(text[at + 1:at + 2])
            position = at + 2
            continue
        position = at + 1
        if ch == "(":
            depth += 1
            if depth > 1:
                out.append(ch)
        else:
            depth -= 1
            if depth == 0:
                return Token("comment", "".join(out)), position
            out.append(ch)
    out.append(text[position:])
    return Token("comment", "".join(out), closed=False), len(text)


def _read_delimited(text: str, start: int, kind: TokenKind, close: str) -> tuple[Token, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and kind == "quoted" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == close:
            return Token(kind, "".join(out)), i + 1
        out.append(ch)
        i += 1
    return Token(kind, "".join(out), closed=False), i


def tokenize(text: str) -> list[Token]:
    """Split a header body into words, comments, quoted strings, angle addresses and ``;``."""
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch == "(":
            token, i = _read_comment(text, i)
            tokens.append(token)
        elif ch == '"':
            token, i = _read_delimited(text, i, "quoted", '"')
            tokens.append(token)
        elif ch == "<":
            token, i = _read_delimited(text, i, "angle", ">")
            tokens.append(token)
        elif ch == ";":
            tokens.append(Token("semicolon", ";"))
            i += 1
        else:
            word = _WORD.match(text, i)
            assert word is not None               # every other character starts one of the tokens above
            tokens.append(Token("word", word.group()))
            i = word.end()
    return tokens


def split_on_semicolons(tokens: list[Token]) -> list[list[Token]]:
    """Group tokens into the runs between top-level ``;`` (comments and quotes are atomic)."""
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "semicolon":
            groups.append([])
        else:
            groups[-1].append(token)
    return groups


def render(tokens: list[Token]) -> str:
    """Join tokens back into readable text (single spaces)."""
    return " ".join(token.source() for token in tokens)
