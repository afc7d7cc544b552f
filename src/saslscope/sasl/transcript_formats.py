"""Transcripts as tools print them: take the decoration off one pasted line.

Each rule finds the protocol line inside one tool's transcript line and who sent it: RFC
listings (``S:``/``C:``), swaks, msmtp ``--debug``, PHPMailer ``SMTPDebug``, Postfix's
``debug_peer_list`` smtpd, Python's smtplib, Dovecot's auth debug log, saslscope's own
``login``/``probe`` transcript; openssl s_client's report (session tickets and stderr included),
telnet's and JavaMail's notes are recognised as notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
# saslscope login/probe's own transcript (saslscope.smtp.transcript.render_events):
# "[   9.7 ms] ~> AUTH PLAIN ********  (masked: ...)", its "==" notes ("== TLS: TLSv1.3 ...") and the
# "| ..." lines of --explain; the remark after two spaces is saslscope's, not the peer's.
_SASLSCOPE_NOTE = re.compile(r"^(?:\[\s*\d+(?:\.\d+)? ms\]\s+)?(?:==|\|)(?:\s|$)")
_SASLSCOPE_REMARK = re.compile(r"  \((?:masked: reveals the password/token; --show-secrets shows it"
                               r"|offline-crackable: do not publish with the challenge|reveals the password/token!)\)$")
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
    r"[0-9a-f]{4} - [0-9a-f]{2}[ -]|\d+ s:|[iav]:(?:/|[A-Z]+ ?=|PKEY:|NotBefore:)|"
    # what s_client writes to stderr and at the end: "Can't use SSL_get_servername" (a client without
    # SNI), "DONE" at the end of its input (which is valid base64!), errno notes, OpenSSL 3.2+'s
    # "Connecting to ...", "didn't find starttls in server response"
    r"Can't use SSL_get_servername$|DONE$|closed$|(?:read|write):errno=|Connecting to \S+$|"
    r"didn't find starttls in server response|"
    # the shell prompt the paste starts with, telnet's own lines, JavaMail's "DEBUG SMTP: ..." notes
    r"[$#] |\S+@\S+:\S*[$#] |Trying \S+\.\.\.$|Connected to \S+\.$|Escape character is |Connection closed by foreign host\.$|DEBUG(?: [A-Z0-9]+)?: )")


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
    if _SWAKS_NOTE.match(line) or _OPENSSL_NOTE.match(line.strip()) or _SASLSCOPE_NOTE.match(line.strip()):
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
        payload = _SASLSCOPE_REMARK.sub("", match["payload"] or "")
        return TranscriptLine(payload, _ARROW_SIDE[match["arrow"]], True)
    return TranscriptLine(line)
