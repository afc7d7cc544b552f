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

# SMTP and POP3 "AUTH MECH [initial-response]" (RFC 4954, RFC 5034); IMAP "tag AUTHENTICATE MECH [ir]"
# (RFC 3501 §6.2.2, RFC 4959) and ManageSieve 'AUTHENTICATE "MECH" "ir"' (RFC 5804 §2.1).
_AUTH_COMMAND = re.compile(
    r'(?:AUTH|(?:\S+\s+)?AUTHENTICATE)\s+"?(?P<mechanism>[A-Za-z0-9_-]{1,20})"?(?:\s+"?(?P<data>[^\s"]+)"?)?',
    re.IGNORECASE)
_LOGIN_USER_PROMPT = b"Username:"            # what an "AUTH LOGIN <initial response>" answers


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


# --- transcripts as tools print them -----------------------------------------------------------
# Each rule finds the SMTP line inside one tool's transcript line and who sent it.

# RFC listings: "S: 334 ..." / "C: AUTH LOGIN"
_RFC_LISTING = re.compile(r"^(?P<side>[SC]):\s?(?P<payload>.*)$")
# PHPMailer with SMTPDebug: "2023-10-18 20:25:19 CLIENT -> SERVER: AUTH LOGIN", "SERVER -> CLIENT: 334 ...",
# the rest of a multi-line reply on lines starting with "↪"
_PHPMAILER = re.compile(r"(?:^|\s)(?P<who>CLIENT|SERVER) -> (?:CLIENT|SERVER):\s?(?P<payload>.*)$")
_PHPMAILER_MORE = re.compile(r"^\s*\u21aa")
# swaks "<-  334 ..." / " -> AUTH LOGIN" (after STARTTLS "<~" / "~>"), msmtp --debug "<-- " / "--> ",
# and loggers that print msmtp-style arrows after a time stamp ("12:35:48 [pid] DEBUG --> AUTH ...").
_ARROW = re.compile(r"^(?:.*?\s)?(?P<arrow><--|-->|<~|~>|<-|->)(?:\s+(?P<payload>.*))?$")
_ARROW_SIDE = {"<--": "server", "<~": "server", "<-": "server", "-->": "client", "~>": "client", "->": "client"}
# swaks' own notes ("=== Connected to ...", "*** ..." errors): not protocol lines.
_SWAKS_NOTE = re.compile(r"^\s*(?:===|\*\*\*|<\*\*|\*\*>)")
# Postfix smtpd with debug_peer_list: "postfix/smtpd[9]: < host[192.0.2.1]: AUTH LOGIN" ("<" is
# what the client sent) and "> host[192.0.2.1]: 334 VXNlcm5hbWU6" (the server's reply).
_POSTFIX_VERBOSE = re.compile(r"(?:^|\s)(?P<arrow>[<>]) (?:[^\s\[\]]*\[[^\]\s]*\]): (?P<payload>.*)$")
# Python smtplib with set_debuglevel(1): "send: 'AUTH PLAIN AGZv\\r\\n'", "reply: b'334 VXNl...\\r\\n'",
# and its summaries "reply: retcode (235); Msg: b'...'".
_SMTPLIB = re.compile(r"^\s*(?P<verb>send|reply): (?:b?(?P<quote>['\"])(?P<payload>.*?)(?:\\r\\n)?(?P=quote)|(?P<other>.*))$")
# Dovecot auth debug log: "client in: AUTH<TAB>1<TAB>PLAIN<TAB>service=smtp<TAB>...<TAB>resp=AGZv",
# "client out: CONT<TAB>1<TAB>VXNl...", "client in: CONT<TAB>1<TAB>dXNlcg==", "client [passdb ]out: OK<TAB>1".
_DOVECOT = re.compile(r"\bclient (?:passdb |userdb )?(?P<io>in|out): (?P<command>AUTH|CONT|OK|FAIL)\s+\d+\s*(?P<rest>.*)$")
# openssl s_client's own report around the session (what the write-up pasted), the shell prompt
# and telnet's notes: not protocol lines.
_OPENSSL_NOTE = re.compile(
    r"^(?:CONNECTED\(|depth=\d|verify (?:return|error):|---$|Certificate chain$|Server certificate$|subject=|issuer=|"
    r"No client certificate CA names sent|Client Certificate Types:|(?:Shared )?Requested Signature Algorithms:|"
    r"Peer sign(?:ing digest|ature type):|Server Temp Key:|Negotiated TLS1\.3 group:|SSL handshake has read|"
    r"Verification(?: error)?:|New, (?:TLS|SSL)|Server public key is|Secure Renegotiation|Compression:|Expansion:|"
    r"No ALPN|ALPN protocol:|Early data|Verify return code:|SSL-Session:|Protocol\s*:|Cipher\s*:|Session-ID|"
    r"Resumption PSK:|PSK identity|SRP username:|TLS session ticket|Start Time:|Timeout\s*:|"
    r"Extended master secret:|Max Early Data:|read R BLOCK|Post-Handshake New Session Ticket arrived:|Master-Key:|"
    r"\d{4} - [0-9a-f]{2}[ -]|\d+ s:|[iav]:(?:/|[A-Z]+ ?=|PKEY:|NotBefore:)|"
    # the shell prompt the paste starts with, telnet's own lines, JavaMail's "DEBUG SMTP: ..." notes
    r"[$#] |\S+@\S+:\S*[$#] |Trying \S+\.\.\.$|Connected to \S+\.$|Escape character is |DEBUG(?: [A-Z0-9]+)?: )")
_PEM_BEGIN, _PEM_END = "-----BEGIN ", "-----END "
# What a log shows instead of the data it hides: msmtp "AUTH PLAIN ****", Dovecot "resp=<hidden>".
_HIDDEN = re.compile(r"^(?:\*+|<hidden>|\[credentials hidden\])$")   # ... and PHPMailer's


@dataclass(frozen=True)
class TranscriptLine:
    """One line of a pasted transcript, with the tool's decoration taken off."""

    #: the SMTP line (command, reply or base64); None for the tool's own notes
    text: str | None
    #: who sent it when the decoration says so ("server" or "client")
    direction: str | None = None
    #: True when the line carried a tool's decoration (so it belongs to a transcript)
    marked: bool = False


def _dovecot_line(match: re.Match[str]) -> TranscriptLine:
    direction = "client" if match["io"] == "in" else "server"
    command, words = match["command"], match["rest"].split()
    if command == "AUTH":                                 # AUTH id MECH key=value ... resp=BASE64
        mechanism = words[0] if words else "?"
        response = next((w[5:] for w in words if w.startswith("resp=")), None)
        return TranscriptLine(f"AUTH {mechanism}" + (f" {response}" if response is not None else ""), direction, True)
    if command == "CONT":                                 # one step of the exchange, in base64
        return TranscriptLine(words[0] if words else "=", direction, True)
    return TranscriptLine("235 OK (Dovecot)" if command == "OK" else "535 FAIL (Dovecot)", "server", True)


def transcript_line(line: str) -> TranscriptLine:
    """Take off the decoration an RFC listing (``S:``/``C:``), swaks, msmtp, PHPMailer, Postfix's
    verbose smtpd, Python's smtplib or Dovecot's auth debug log put around a protocol line; a line
    without any is returned as it is."""
    if _SWAKS_NOTE.match(line) or _OPENSSL_NOTE.match(line.strip()):
        return TranscriptLine(None, marked=True)
    if match := _RFC_LISTING.match(line):
        return TranscriptLine(match["payload"], "server" if match["side"] == "S" else "client", True)
    if match := _DOVECOT.search(line):
        return _dovecot_line(match)
    if match := _PHPMAILER.search(line):
        return TranscriptLine(match["payload"], "server" if match["who"] == "SERVER" else "client", True)
    if _PHPMAILER_MORE.match(line):
        return TranscriptLine(None, marked=True)
    if match := _SMTPLIB.match(line):
        if match["payload"] is None:                      # "reply: retcode (334); Msg: ..."
            return TranscriptLine(None, marked=True)
        return TranscriptLine(match["payload"], "client" if match["verb"] == "send" else "server", True)
    if match := _POSTFIX_VERBOSE.search(line):
        return TranscriptLine(match["payload"], "client" if match["arrow"] == "<" else "server", True)
    if match := _ARROW.match(line):
        return TranscriptLine(match["payload"] or "", _ARROW_SIDE[match["arrow"]], True)
    return TranscriptLine(line)


def _hidden_by_the_log(data: str) -> MalformedMessage | None:
    if data == "*":
        return MalformedMessage("'*' is the client cancelling the exchange (RFC 4954 §4): nothing to decode")
    if _HIDDEN.match(data):
        return MalformedMessage(f"the log hides this data ({data[:24]}): nothing to decode")
    return None


def parse_pasted(text: str) -> PastedBlob:
    """Accept bare base64, a whole ``334 <b64>`` reply, an IMAP ``+ <b64>`` continuation,
    an ``AUTH MECH [<b64>]`` command, or RFC-listing style ``S: ...`` / ``C: ...`` lines,
    also inside a line of a swaks, msmtp, Postfix, smtplib or Dovecot transcript."""
    return _parse_decorated(transcript_line(text.strip()))


def _parse_decorated(decorated: TranscriptLine) -> PastedBlob:
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
    command = _AUTH_COMMAND.fullmatch(line)
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


_OTHER_REPLY = re.compile(r"[2-5][0-9][0-9]([ -]|$)")
# A line of the protocol itself (a reply, a greeting or AUTH command, a continuation)
_PROTOCOL_LINE = re.compile(r"(?:[2-5][0-9][0-9](?:[ -]|$)|(?:\S+\s+)?AUTH|[EHL][HL]LO\b|\+(?: |$|OK)|-ERR)",
                            re.IGNORECASE)
# The end of an IMAP, POP3 or ManageSieve exchange: "a1 OK ...", "* BYE", "+OK", "-ERR", 'NO "..."'
_OTHER_PROTOCOL_REPLY = re.compile(r"(?:\S+ (?:OK|NO|BAD)\b|\* |\+OK\b|-ERR\b|(?:OK|NO|BYE)(?: |$))")
_SMTP_COMMAND = re.compile(r"(EHLO|HELO|MAIL|RCPT|DATA|QUIT|STARTTLS|RSET|NOOP)\b", re.IGNORECASE)


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _join_wrapped_base64(lines: list[TranscriptLine]) -> None:
    """RFC listings wrap long steps onto indented lines without the ``S:``/``C:``
    (RFC 2831, RFC 5804, RFC 7628 examples): a bare base64 line right after a decorated line
    that ends in unpadded base64 continues it. The joined text goes to the first line; the
    others become notes."""
    open_at: int | None = None                  # the decorated line that may continue
    for index, line in enumerate(lines):
        text = (line.text or "").strip()
        if line.marked or not text:
            open_at = index if line.marked and _continues(text) else None
            continue
        if open_at is not None and _BASE64_TEXT.fullmatch(text.strip('"')):
            first = lines[open_at]
            lines[open_at] = TranscriptLine((first.text or "").rstrip() + text, first.direction, True)
            lines[index] = TranscriptLine(None, marked=True)
            open_at = open_at if _continues(text) else None
        else:
            open_at = None


def _continues(text: str) -> bool:
    """Ends in base64 without padding: a wrapped step may go on on the next line."""
    words = text.split()
    last = words[-1].strip('"') if words else ""
    return bool(_BASE64_TEXT.fullmatch(last)) and not last.endswith("=") and len(last) >= 16


def read_pasted_session(lines: Iterable[str]) -> Iterator[tuple[int, PastedBlob | MalformedMessage]]:
    """Decode a pasted AUTH exchange line by line: ``(line number, blob or error)``.

    An ``AUTH MECH`` line sets the mechanism for the lines after it; a bare line after a
    ``334`` is the client's answer. Other SMTP replies (``235``, ``535``...) and commands
    (``EHLO``, ``MAIL``...) end the exchange and are skipped, blank lines too. A bad line yields its error and reading goes on.

    Whole transcripts (swaks, msmtp, Postfix verbose smtpd, smtplib, Dovecot auth debug, see
    :func:`transcript_line`) are read too: when the input has such lines, the lines without
    that decoration (other log lines) and those outside an AUTH exchange (the tool's notes,
    the message's DATA) are passed over silently.
    """
    decorated_lines = [transcript_line(line.strip()) for line in lines]
    # Only decorated protocol lines make a transcript: not openssl s_client's notes (its protocol
    # lines are bare), nor a stray "->" in a pasted note.
    transcript = any(decorated.marked and decorated.text and _PROTOCOL_LINE.match(decorated.text.strip())
                     for decorated in decorated_lines)
    if transcript:
        _join_wrapped_base64(decorated_lines)
    mechanism: str | None = None
    last_direction: str | None = None
    last_challenge: bytes | None = None
    in_exchange = in_pem = False
    for number, decorated in enumerate(decorated_lines, start=1):
        if transcript and not decorated.marked:
            continue
        stripped = (decorated.text or "").strip()
        if stripped.startswith(_PEM_BEGIN) or in_pem:      # s_client -showcerts: certificates, not SASL
            in_pem = not stripped.startswith(_PEM_END)
            continue
        if not stripped:
            continue
        challenge = stripped.startswith(("334", "+ "))
        if not challenge and (_OTHER_REPLY.match(stripped) or _SMTP_COMMAND.match(stripped)
                              or _OTHER_PROTOCOL_REPLY.match(stripped) or stripped == "*"):   # "*": cancelled
            mechanism = last_direction = last_challenge = None
            in_exchange = False
            continue
        starts = challenge or _AUTH_COMMAND.fullmatch(stripped) is not None
        if transcript and not in_exchange and not starts:
            continue                              # DATA lines, notes: not part of any AUTH exchange
        in_exchange = True
        try:
            pasted = _parse_decorated(decorated)
        except MalformedMessage as exc:
            yield number, exc
            continue
        if pasted.mechanism:
            mechanism = pasted.mechanism
        direction = pasted.direction or ("client" if last_direction == "server" else None)
        answering = (pasted.answering or last_challenge) if direction == "client" else None
        last_direction = direction
        last_challenge = pasted.data if direction == "server" else None
        if pasted.data is not None:
            yield number, PastedBlob(pasted.data, direction, pasted.mechanism or mechanism, answering)
