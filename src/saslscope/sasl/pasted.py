"""One pasted line of an AUTH exchange: a bare blob, a ``334``/``+`` challenge, an ``AUTH`` command.

The base64 in it is decoded strictly (:mod:`saslscope.sasl.b64`); data a log hides
(``****``, ``<hidden>``) and the client's ``*`` cancel are errors that say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from saslscope.sasl.b64 import decode_b64
from saslscope.sasl.errors import MalformedMessage
from saslscope.sasl.transcript_formats import TranscriptLine, transcript_line

# SMTP and POP3 "AUTH MECH [initial-response]" (RFC 4954, RFC 5034); IMAP "tag AUTHENTICATE MECH [ir]"
# (RFC 3501 §6.2.2, RFC 4959) and ManageSieve 'AUTHENTICATE "MECH" "ir"' (RFC 5804 §2.1).
AUTH_COMMAND = re.compile(
    r'(?:AUTH|(?:\S+\s+)?AUTHENTICATE)\s+"?(?P<mechanism>[A-Za-z0-9_-]{1,20})"?(?:\s+"?(?P<data>[^\s"]+)"?)?',
    re.IGNORECASE)
_LOGIN_USER_PROMPT = b"Username:"            # what an "AUTH LOGIN <initial response>" answers
# What a log shows instead of the data it hides: msmtp "AUTH PLAIN ****", Dovecot "resp=<hidden>".
_HIDDEN = re.compile(r"^(?:\*+|<hidden>|\[credentials hidden\])$")   # ... and PHPMailer's


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


class HiddenData(MalformedMessage):
    """The transcript shows a placeholder (``****``, ``<hidden>``) where the data was: not an error
    of the input, but nothing to decode either."""


def _hidden_by_the_log(data: str) -> MalformedMessage | None:
    if data == "*":
        return MalformedMessage("'*' is the client cancelling the exchange (RFC 4954 §4): nothing to decode")
    if _HIDDEN.match(data):
        return HiddenData(f"the transcript hides this data ({data[:24]}): nothing to decode")
    return None


def parse_pasted(text: str) -> PastedBlob:
    """Accept bare base64, a whole ``334 <b64>`` reply, an IMAP ``+ <b64>`` continuation,
    an ``AUTH MECH [<b64>]`` command, or RFC-listing style ``S: ...`` / ``C: ...`` lines,
    also inside a line of a swaks, msmtp, Postfix, smtplib or Dovecot transcript."""
    return parse_decorated(transcript_line(text.strip()))


def parse_decorated(decorated: TranscriptLine) -> PastedBlob:
    if decorated.text is None:
        raise MalformedMessage("a note of the tool that wrote the transcript, not a protocol line")
    pasted = _parse_line(decorated.text)
    if decorated.direction and (pasted.direction is None or decorated.direction == "server"):
        pasted = PastedBlob(pasted.data, decorated.direction, pasted.mechanism, pasted.answering)
    return pasted


def _parse_line(text: str) -> PastedBlob:
    line = text.strip()
    direction = None
    for prefix, side in (("S:", "server"), ("C:", "client")):
        if line.startswith(prefix):
            line, direction = line[len(prefix) :].strip(), side
    if len(line) >= 2 and line[0] == line[-1] == '"':     # ManageSieve sends the steps as quoted strings
        line = line[1:-1]
    if line.startswith("334") and (len(line) == 3 or line[3] in " -"):
        return PastedBlob(decode_b64(line[4:]), "server")
    if line.startswith("+") and (len(line) == 1 or line[1] == " "):
        return PastedBlob(decode_b64(line[1:]), "server")
    command = AUTH_COMMAND.fullmatch(line)
    if command:
        if command["data"] is not None and (hidden := _hidden_by_the_log(command["data"])):
            raise hidden
        data = decode_b64(command["data"]) if command["data"] is not None else None
        mechanism = command["mechanism"].upper()
        # "AUTH LOGIN dXNlcg==": an initial response to LOGIN is the user name (its prompt skipped)
        answering = _LOGIN_USER_PROMPT if mechanism == "LOGIN" and data is not None else None
        return PastedBlob(data, "client", mechanism, answering)
    if hidden := _hidden_by_the_log(line):
        raise hidden
    return PastedBlob(decode_b64(line), direction)


def decode_pasted(text: str) -> PastedBlob:
    """:func:`parse_pasted` for one blob: a bare ``AUTH MECH`` without data is an error."""
    pasted = parse_pasted(text)
    if pasted.data is None:
        raise MalformedMessage(f"AUTH {pasted.mechanism} carries no initial response to decode")
    return pasted
