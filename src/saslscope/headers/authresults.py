"""Verdicts other servers wrote into the header: Authentication-Results, Received-SPF, DKIM, ARC.

- ``Authentication-Results`` (RFC 8601 §2.2): ``authserv-id [version] ; method[/v]=result
  [(comment)] [reason=...] [ptype.property=value ...] ; ...``. Microsoft writes it without
  the authserv-id; that is read too (``authserv_id`` is then None).
- ``ARC-Authentication-Results`` (RFC 8617 §4.1.1): the same, preceded by ``i=N;``.
- ``Received-SPF`` (RFC 7208 §9.1): ``result (comment) key=value; key=value``.
- ``DKIM-Signature`` (RFC 6376 §3.5), ``ARC-Seal`` and ``ARC-Message-Signature`` (RFC 8617 §4.1):
  tag lists, summarised to the tags a reader needs (who signed, with what); signatures and
  hashes are left out.

No parser here raises; text that fits no rule is kept in ``unrecognised``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from saslscope.headers.tokens import Token, render, split_on_semicolons, tokenize

_KEY_VALUE = re.compile(r'(?P<key>[\w.-]+(?:/\d+)?)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|<[^>]*>|[^\s;]+)')
_INSTANCE = re.compile(r"^i\s*=\s*(?P<i>\d+)$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if len(value) >= 2 and value[0] == "<" and value[-1] == ">":
        return value[1:-1]
    return value


def _key_values(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``key=value`` pairs in ``text`` and the leftover words that were not part of any pair."""
    pairs = [(m["key"], _unquote(m["value"])) for m in _KEY_VALUE.finditer(text)]
    leftover = _KEY_VALUE.sub(" ", text).split()
    return pairs, leftover


@dataclass
class MethodResult:
    """One ``method=result`` of an Authentication-Results header."""

    method: str
    result: str
    version: str | None = None
    comment: str | None = None
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)   # "smtp.mailfrom" -> value
    extras: dict[str, str] = field(default_factory=dict)       # unregistered key=value (Microsoft "action")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class AuthResults:
    raw: str
    authserv_id: str | None = None
    version: str | None = None
    instance: int | None = None                  # ARC-Authentication-Results only
    results: list[MethodResult] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _method_result(group: list[Token]) -> tuple[MethodResult | None, list[str]]:
    comments = [t.text.strip() for t in group if t.kind == "comment"]
    text = render([t for t in group if t.kind != "comment"])
    pairs, leftover = _key_values(text)
    if not pairs:
        return None, [render(group)] if group else []
    method, result = pairs[0]
    name, _, version = method.partition("/")
    outcome = MethodResult(method=name.lower(), result=result.lower(), version=version or None,
                           comment=comments[0] if comments else None)
    for key, value in pairs[1:]:
        if key.lower() == "reason":
            outcome.reason = value
        elif "." in key:
            outcome.properties[key.lower()] = value
        else:
            outcome.extras[key.lower()] = value
    return outcome, leftover


def _stray_authserv_id(parsed: AuthResults, group: list[Token]) -> bool:
    """Microsoft repeats the receiving domain between results: ``smtp.mailfrom=amd.com;
    lists.freedesktop.org; dkim=none ... header.d=none;lists.freedesktop.org; dmarc=...``.

    A lone domain name there is read as the authserv-id (the header's own is often missing);
    True when the group was such a name and agrees with the authserv-id.
    """
    if len(group) != 1 or group[0].kind != "word" or "=" in group[0].text or "." not in group[0].text:
        return False
    name = group[0].text
    if parsed.authserv_id is None:
        parsed.authserv_id = name
    return parsed.authserv_id.lower() == name.lower()


def parse_authentication_results(value: str, arc: bool = False) -> AuthResults:
    """Parse an Authentication-Results (or, with ``arc=True``, ARC-Authentication-Results) value."""
    unfolded = " ".join(value.split())
    parsed = AuthResults(raw=unfolded)
    groups = split_on_semicolons(tokenize(unfolded))
    if arc and groups and len(groups[0]) == 1 and (m := _INSTANCE.match(groups[0][0].text)):
        parsed.instance = int(m["i"])
        groups = groups[1:]
    if not groups:
        return parsed
    head = [t for t in groups[0] if t.kind != "comment"]
    if head and not _KEY_VALUE.search(render(head)):
        parsed.authserv_id = head[0].text
        if len(head) > 1 and head[1].text.isdigit():
            parsed.version = head[1].text
            head = head[2:]
        else:
            head = head[1:]
        parsed.unrecognised.extend(t.source() for t in head)
        groups = groups[1:]
    for group in groups:
        if len(group) == 1 and group[0].kind == "word" and group[0].text.lower() == "none":
            continue                                        # RFC 8601 §2.2 no-result
        if _stray_authserv_id(parsed, group):
            continue
        outcome, leftover = _method_result(group)
        if outcome is not None:
            parsed.results.append(outcome)
        parsed.unrecognised.extend(leftover)
    return parsed


@dataclass
class ReceivedSpf:
    raw: str
    result: str | None = None
    comment: str | None = None
    pairs: dict[str, str] = field(default_factory=dict)   # client-ip, envelope-from, helo, ...
    unrecognised: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_received_spf(value: str) -> ReceivedSpf:
    """Parse a Received-SPF value (RFC 7208 §9.1)."""
    unfolded = " ".join(value.split())
    parsed = ReceivedSpf(raw=unfolded)
    tokens = tokenize(unfolded)
    if tokens and tokens[0].kind == "word" and "=" not in tokens[0].text:
        parsed.result = tokens[0].text.lower()
        tokens = tokens[1:]
    if tokens and tokens[0].kind == "comment":
        parsed.comment = tokens[0].text.strip()
        tokens = tokens[1:]
    pairs, leftover = _key_values(render([t for t in tokens if t.kind != "semicolon"]))
    for key, val in pairs:
        parsed.pairs.setdefault(key.lower(), val)
    parsed.unrecognised = leftover
    return parsed


def parse_tag_list(value: str) -> dict[str, str]:
    """An RFC 6376 §3.2 tag list: ``tag=value;`` pairs, whitespace inside values removed."""
    tags: dict[str, str] = {}
    for part in value.split(";"):
        tag, sep, val = part.partition("=")
        tag = tag.strip()
        if sep and tag and tag not in tags:
            tags[tag] = "".join(val.split())
    return tags


# Tags worth showing; b= and bh= (signature and body hash) are opaque to a reader.
_SIGNATURE_TAGS = ("i", "d", "s", "a", "c", "t", "x", "cv", "h")


def summarize_signature(value: str) -> dict[str, str]:
    """The readable tags of a DKIM-Signature, ARC-Seal or ARC-Message-Signature."""
    tags = parse_tag_list(" ".join(value.split()))
    return {tag: tags[tag] for tag in _SIGNATURE_TAGS if tag in tags}
