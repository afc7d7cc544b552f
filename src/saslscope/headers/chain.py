"""The whole header of one message: its hops in order, the submission hop, and the verdicts.

Each relay prepends its Received header (RFC 5321 §4.4), so the header lists hops newest
first; :class:`HeaderAnalysis` keeps them oldest first, the order the message travelled.

The *submission* hop is the oldest hop whose server says the client authenticated (an
RFC 3848 ``...A`` protocol such as ESMTPSA, ``Authenticated sender:``, Sendmail's
``(authenticated ...)``, ...): its ``from`` part is the address that used the account, the
other end of the log trail. An LMTP hop that authenticated (Cyrus ``with LMTPA``) is not one: there
the delivering MTA logged in to the mailbox server, not the sender to its provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from saslscope.headers.authresults import (
    AuthResults,
    ReceivedSpf,
    parse_authentication_results,
    parse_received_spf,
    summarize_signature,
)
from saslscope.headers.fields import HeaderBlock, decode_words, split_header_block
from saslscope.headers.received import Hop, parse_received
from saslscope.headers.source import HeaderInputError, MessageSource, read_message

# Clocks of unrelated servers drift; a hop "before" its predecessor by less than this is noise.
DEFAULT_SKEW_TOLERANCE = 60.0

# At most this many fields of one name are analysed (Received, Authentication-Results, ...), and as
# many lines that are not fields are kept. RFC 5321 §6.3 has relays treat 100 Received fields as a
# loop (Postfix bounces at hopcount_limit = 50, Exim at received_headers_max = 30), so no delivered
# message has more real hops. The newest (topmost) are kept: they were written by the receiving
# servers; what lies below them is what the sender could forge. A 16 MB header of 92,000 Received
# lines took 62 s as text and 1.15 GB as JSON before this bound.
MAX_FIELDS_PER_NAME = 100

# Header fields summarised at the top of a report (RFC 2047 words decoded).
# X-Originating-IP: webmail and Exchange record the submitting client there (a MAPI hop has no
# client address of its own). The others name the account that logged in, where the Received
# header does not: X-Authenticated-Sender and X-Get-Message-Sender-Via (cPanel's Exim,
# "host: authenticated_id: user"), X-AuthUser, X-Sender-Id
# (MailChannels "relay|x-authuser|user"), and Exchange's own verdict on the submission
# (X-MS-Exchange-Organization-AuthAs: Internal / Anonymous / Partner, -AuthMechanism, -AuthSource).
SUMMARY_FIELDS = ("Return-Path", "From", "To", "Subject", "Date", "Message-ID", "X-Originating-IP",
                  "X-Authenticated-Sender", "X-Get-Message-Sender-Via", "X-Authenticated-User", "X-AuthUser",
                  "X-Sender-Id",
                  "X-MS-Exchange-Organization-AuthAs", "X-MS-Exchange-Organization-AuthMechanism",
                  "X-MS-Exchange-Organization-AuthSource")


@dataclass
class HeaderAnalysis:
    hops: list[Hop]                                   # oldest first
    submission_index: int | None
    summary: dict[str, str]
    auth_results: list[AuthResults] = field(default_factory=list)
    arc_auth_results: list[AuthResults] = field(default_factory=list)
    received_spf: list[ReceivedSpf] = field(default_factory=list)
    dkim_signatures: list[dict[str, str]] = field(default_factory=list)
    arc_seals: list[dict[str, str]] = field(default_factory=list)
    arc_message_signatures: list[dict[str, str]] = field(default_factory=list)
    dkim_filters: list[str] = field(default_factory=list)   # OpenDKIM's "DKIM-Filter:" notes
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)
    envelope_line: str | None = None
    skew_tolerance: float = DEFAULT_SKEW_TOLERANCE
    source: MessageSource | None = None              # where the message was read (analyze_source)
    # field name (or "malformed lines") -> how many were left out beyond MAX_FIELDS_PER_NAME
    omitted: dict[str, int] = field(default_factory=dict)

    @property
    def submission(self) -> Hop | None:
        return None if self.submission_index is None else self.hops[self.submission_index]


def _set_delays(hops: list[Hop], tolerance: float) -> None:
    previous = None
    for hop in hops:
        if hop.time is not None and previous is not None and previous.time is not None:
            hop.delay_seconds = (hop.time - previous.time).total_seconds()
            hop.clock_skew = hop.delay_seconds < -tolerance
        if hop.time is not None:
            previous = hop


def _is_submission(hop: Hop) -> bool:
    """The client authenticated as a sender: not an MTA logging in to an LMTP mailbox server."""
    kind = hop.transmission
    return hop.authenticated and not (kind is not None and "LMTP" in kind.name)


def analyze_block(block: HeaderBlock, skew_tolerance: float = DEFAULT_SKEW_TOLERANCE) -> HeaderAnalysis:
    """Analyse an already split header block (at most :data:`MAX_FIELDS_PER_NAME` fields of a name)."""
    omitted: dict[str, int] = {}

    def newest(name: str) -> list[str]:
        found = block.get_all(name)
        if len(found) > MAX_FIELDS_PER_NAME:
            omitted[name] = len(found) - MAX_FIELDS_PER_NAME
        return [f.value for f in found[:MAX_FIELDS_PER_NAME]]

    hops = [parse_received(value) for value in reversed(newest("Received"))]
    _set_delays(hops, skew_tolerance)
    submission = next((i for i, hop in enumerate(hops) if _is_submission(hop)), None)
    summary = {name: decode_words(value) for name in SUMMARY_FIELDS if (value := block.first(name)) is not None}
    if len(block.malformed) > MAX_FIELDS_PER_NAME:
        omitted["malformed lines"] = len(block.malformed) - MAX_FIELDS_PER_NAME
    return HeaderAnalysis(
        hops=hops,
        submission_index=submission,
        summary=summary,
        auth_results=[parse_authentication_results(value) for value in newest("Authentication-Results")],
        arc_auth_results=[parse_authentication_results(value, arc=True)
                          for value in newest("ARC-Authentication-Results")],
        received_spf=[parse_received_spf(value) for value in newest("Received-SPF")],
        dkim_signatures=[summarize_signature(value) for value in newest("DKIM-Signature")],
        arc_seals=[summarize_signature(value) for value in newest("ARC-Seal")],
        arc_message_signatures=[summarize_signature(value) for value in newest("ARC-Message-Signature")],
        dkim_filters=[" ".join(value.split()) for value in newest("DKIM-Filter")],
        malformed_lines=block.malformed[:MAX_FIELDS_PER_NAME],
        envelope_line=block.envelope_line,
        skew_tolerance=skew_tolerance,
        omitted=omitted,
    )


def analyze_text(text: str, skew_tolerance: float = DEFAULT_SKEW_TOLERANCE) -> HeaderAnalysis:
    """Analyse a message (or just its header) given as text."""
    return analyze_block(split_header_block(text), skew_tolerance)


def _decode(data: bytes) -> str:
    """Header bytes as text: UTF-8 (RFC 6532); bytes that are not UTF-8 become U+FFFD."""
    return data.decode("utf-8", errors="replace")


def analyze_bytes(data: bytes, skew_tolerance: float = DEFAULT_SKEW_TOLERANCE) -> HeaderAnalysis:
    """Analyse raw message bytes."""
    return analyze_text(_decode(data), skew_tolerance)


def analyze_source(path: str, index: int | None = None, stdin: BinaryIO | None = None,
                   skew_tolerance: float = DEFAULT_SKEW_TOLERANCE) -> HeaderAnalysis:
    """Read ``path`` (``-`` for stdin; an mbox message with ``index``; a Maildir directory, its newest
    message or message ``index`` in delivery order) and analyse its header.

    Raises :class:`HeaderInputError` when the input is unreadable, empty, or has no header fields.
    """
    source = read_message(path, index, stdin)
    block = split_header_block(_decode(source.data))
    if not block.fields:
        where = "stdin" if path == "-" else (f"{path}/{source.file}" if source.file else path)
        raise HeaderInputError(f"{where} has no header fields (expected lines like 'Received: ...')")
    analysis = analyze_block(block, skew_tolerance)
    analysis.source = source
    return analysis
