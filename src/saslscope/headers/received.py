"""Parse one ``Received:`` header into a :class:`Hop`.

The grammar is RFC 5321 §4.4 (``from`` / ``by`` / ``via`` / ``with`` / ``id`` / ``for`` clauses,
then ``;`` and the date), plus RFC 8314 §4.3's ``tls <cipher>`` clause. What real servers
write goes beyond it, mostly inside comments, and each shape recognised here is named next to
its pattern:

- Postfix: ``from helo (rdns [ip]) (using TLSv1.2 with cipher X (256/256 bits))
  (Authenticated sender: u) by host (Postfix) with ESMTPSA id Q for <rcpt>; date``
- Exim: ``from rdns ([ip] helo=name) by host (Exim 4.95) with esmtpsa (TLS1.3)
  tls TLS_AES_256_GCM_SHA384 (envelope-from <a>) id Q; date``
- Sendmail: ``from helo (rdns [ip]) (authenticated bits=0) by host (8.15.2/8.15.2)
  with ESMTPSA id Q (version=TLSv1.2 cipher=X bits=256 verify=NO); date (envelope-from a)``
- qmail: ``(qmail 1234 invoked from network); date`` and ``from unknown (HELO name) (ip)``,
  with SMTP AUTH patches ``(user@ip with login)``
- Microsoft Exchange: ``from a (ip) by b (ip) with Microsoft SMTP Server (version=TLS1_2,
  cipher=X) id 15.20.5038.16`` -- that ``id`` is the Exchange build, not a queue ID
- Gmail: ``... with SMTPS id Q for <rcpt> (Google Transport Security); date``
- Dovecot/LMTP: ``... with LMTP id Q`` where ``id`` may sit on its own continuation line

Parsing never raises: whatever is not understood stays in ``Hop.unrecognised`` and ``raw``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from saslscope.headers import protocols
from saslscope.headers.tokens import Token, render, tokenize

# RFC 5321 §4.4 clause keywords, plus the RFC 8314 §4.3 "tls" clause.
_CLAUSES = ("from", "by", "via", "with", "id", "for", "tls")


@dataclass
class TlsInfo:
    """What a hop says about its TLS session; any field may be unknown."""

    version: str | None = None
    cipher: str | None = None
    bits: str | None = None
    client_certificate: str | None = None
    stated_by: str = "comment"     # "comment", "tls clause" or "protocol" (ESMTPS & co. only)
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Hop:
    """One Received header: who handed the message to whom, how, and when."""

    raw: str                                   # the unfolded header value, exactly as read
    from_host: str | None = None               # the word after "from", as written
    helo: str | None = None
    reverse_name: str | None = None            # rDNS of the client; None when "unknown"
    from_ip: str | None = None
    from_port: int | None = None
    by_host: str | None = None
    by_ip: str | None = None
    by_software: str | None = None
    via: str | None = None
    protocol: str | None = None                # the "with" clause, as written
    queue_id: str | None = None
    for_addr: str | None = None
    envelope_from: str | None = None
    local_sender: str | None = None            # who injected it on the host itself ("uid 1000", "majordomo@...")
    tls: TlsInfo | None = None
    time: datetime | None = None               # timezone-aware; None if absent or unparsable
    time_raw: str | None = None
    authenticated: bool = False
    authenticated_sender: str | None = None
    from_verified: bool = False                # CommuniGate "([ip] verified)": the from name is the rDNS
    auth_evidence: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    # Set by saslscope.headers.chain once the hops are in order:
    delay_seconds: float | None = None         # since the previous (older) hop
    clock_skew: bool = False                   # delay negative beyond the tolerance

    @property
    def transmission(self) -> protocols.TransmissionType | None:
        return protocols.lookup(self.protocol)

    def tls_info(self) -> TlsInfo:
        if self.tls is None:
            self.tls = TlsInfo()
        return self.tls


# --------------------------------------------------------------------------- helpers

def as_ip(text: str | None) -> str | None:
    """``text`` as an IP address string (``IPv6:`` prefix and brackets removed), else None.

    An IPv4-mapped IPv6 address becomes the IPv4 address, as Postfix logs it.
    """
    if not text:
        return None
    candidate = text.strip().strip("[]")
    if candidate[:5].lower() == "ipv6:":
        candidate = candidate[5:]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)       # Courier's "[::ffff:192.0.2.1]": the IPv4 client logs show
    return candidate


_IPV4_WITH_PORT = re.compile(r"^(?P<ip>\d{1,3}(?:\.\d{1,3}){3})[.:](?P<port>\d{1,5})$")


def ip_and_port(text: str | None) -> tuple[str | None, int | None]:
    """An address as :func:`as_ip` reads it, or IPv4 with a port: ``192.0.2.1:25`` (XMail) or
    ``192.0.2.1.25`` (old Exim, ``[10.0.8.6.13219]``)."""
    address = as_ip(text)
    if address or not text:
        return address, None
    match = _IPV4_WITH_PORT.match(text.strip().strip("[]"))
    if match and as_ip(match["ip"]):
        return as_ip(match["ip"]), int(match["port"])
    return None, None


def _host_name(text: str | None) -> str | None:
    """A host name as written, minus a trailing root dot; ``unknown`` / ``<unknown>`` (no rDNS) is None."""
    if not text:
        return None
    name = text.strip("<>").rstrip(".")
    return None if name.lower() == "unknown" or not name else name


# SendGrid's filter and recvd hops write Go's time.String(): "2019-03-07 00:55:18.071563221 +0000 UTC
# m=+108444.082385342" (the m= part is a monotonic clock reading, not a date).
_GO_TIME = re.compile(r"^(?P<date>\d{4}-\d\d-\d\d)\s+(?P<time>\d\d:\d\d:\d\d)(?P<fraction>\.\d+)?"
                      r"\s+(?P<zone>[+-]\d{4})(?:\s+[A-Z]{1,5})?(?:\s+m=[+-][\d.]+)?$")
_ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?$")
# Fractional seconds in an otherwise RFC 5322 date: SendGrid "Thu, 07 Mar 2019 00:55:17.917 +0000"
_FRACTIONAL_SECONDS = re.compile(r"(?<=\d\d:\d\d:\d\d)\.(?P<fraction>\d+)")
# Where a date may start when a server left out the ";" before it (SendGrid, old Gmail "by 10.8.49.86")
_DATE_START = re.compile(r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?|\d{1,2}|\d{4}-\d\d-\d\d(?:T\S+)?)$", re.I)


def _microseconds(fraction: str | None) -> int:
    return int((fraction.lstrip(".") + "000000")[:6]) if fraction else 0


def parse_date(text: str) -> datetime | None:
    """An RFC 5322 date-time, or None. A missing or ``-0000`` zone is read as UTC (RFC 5322 §3.3).

    Also read: fractional seconds, Go's ``2019-03-07 00:55:18.07 +0000 UTC`` (SendGrid) and ISO 8601.
    """
    text = text.strip()
    if not text:
        return None
    if _ISO_8601.match(text):                     # some HTTP-API senders: "2024-03-01T12:00:00Z"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if go := _GO_TIME.match(text):
        try:
            parsed = datetime.strptime(f"{go['date']} {go['time']} {go['zone']}", "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            return None
        return parsed.replace(microsecond=_microseconds(go["fraction"]))
    fraction = _FRACTIONAL_SECONDS.search(text)
    try:
        parsed = parsedate_to_datetime(_FRACTIONAL_SECONDS.sub("", text, count=1))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.replace(microsecond=_microseconds(fraction["fraction"] if fraction else None))


# --------------------------------------------------------------------------- comments
# Each interpreter returns True when it understood the comment. ``where`` is the clause the
# comment followed ("from", "by", "with", ..., "date" or None before any clause).

_TCP_INFO = re.compile(
    r"^(?:(?P<name>[^\s\[\]]+)\s+)?\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?(?P<rest>.*)$", re.S)
_HELO_WORD = re.compile(r'(?:^|[\s"])(?:HELO|EHLO|LHLO)\s+"?(?P<helo>[^\s"]+)', re.I)
_HELO_EQUALS = re.compile(r"(?:^|\s)helo=(?P<helo>\S+)", re.I)
_QMAIL_AUTH = re.compile(r"^(?P<user>\S+)@(?P<ip>[0-9A-Fa-f.:]+)\s+with\s+(?P<mech>[\w-]+)$")
_AUTH_SENDER = re.compile(r"^Authenticated sender:\s*(?P<who>.+)$", re.I | re.S)
_SENDMAIL_AUTH = re.compile(r"^authenticated(?:\s+bits=\d+|\s+\(\d+\s+bits\)|\s+as\s+(?P<who>\S+))*$", re.I)
_POSTFIX_TLS = re.compile(
    r"using\s+(?P<version>\S+)\s+with\s+cipher\s+(?P<cipher>\S+)\s+"
    r"\((?P<bits>\d+(?:/\d+)?)\s+bits\)", re.I | re.S)
_KV_TLS = re.compile(r"version=(?P<version>[^\s,)]+)[,\s]+cipher=(?P<cipher>[^\s,)]+)"
                     r"(?:[,\s]+bits=(?P<bits>[^\s,)]+))?(?:[,\s]+verify=(?P<verify>[^\s,)]+))?", re.I)
_COLON_TLS = re.compile(r"^(?P<version>(?:TLS|SSL)[-v]?\d(?:[._]\d)?)"
                        r"(?::(?P<cipher>[^:\s]+)(?::(?P<bits>\d+)(?::(?P<verify>\w+))?)?)?$", re.I)
_COURIER = re.compile(r"^(?:AUTH:\s*(?P<mech>[\w-]+)\s+(?P<user>[^,\s]+))?(?:,?\s*(?:TLS|SSL):\s*(?P<tls>\S+))?$", re.I)
_POSTFIX_TLS_EXTRA = re.compile(r"(?P<what>key-exchange|server-signature|server-digest|client-signature"
                                r"|client-digest)\s+(?P<value>[^\s()]+(?:\s+\(\d+ bits\))?)", re.I)
_OPENSMTPD_WORD = re.compile(r"^(?P<key>auth|user)=(?P<value>\S+)$")
_ENCRYPTED = re.compile(r"^(?P<cipher>\S+)\s+encrypted(?P<auth>,\s*authenticated)?$", re.I)
_ENVELOPE_FROM = re.compile(r"^envelope-(?:from|sender)\s+<?(?P<addr>[^<>\s]*)>?$", re.I)   # qmail-ldap: -sender
_CLIENT_CERT = re.compile(
    r"^(?:No client certificate requested|Client did not present a certificate"
    r"|Client CN .*|Client certificate .*)$", re.I | re.S)
_EXIM_VERSION = re.compile(r"^Exim\s+\d\S*(?:\s+#\d+(?:\s+\(.*\))?)?$")   # "Exim 4.92 #3 (Red Hat Linux)"
# qmail "(qmail 1234 invoked from network)", "(qmail 1 invoked by uid 89)", nullmailer "(nullmailer pid 7 invoked by uid 1000)"
_LOCAL_PROCESS = re.compile(r"^(?:qmail|nullmailer)\s+(?:pid\s+)?\d+\s+invoked\s+(?:by\s+uid\s+(?P<uid>\d+)|.+)$",
                            re.I)
# Postfix pickup (sendmail(1) on the host): "by host (Postfix, from userid 1000)"
_POSTFIX_USERID = re.compile(r"^(?P<software>Postfix),\s*from\s+userid\s+(?P<uid>\d+)$", re.I)
# Sendmail at MIT "(User authenticated as tytso@ATHENA.MIT.EDU)"; MDaemon and others
# "(authenticated user suresh@example.com)"
_USER_AUTHENTICATED = re.compile(r"^(?:User\s+authenticated\s+as|authenticated\s+user)\s+(?P<who>\S+)$", re.I)
# qpsmtpd auth plugins: "(smtp-auth username relayok, mechanism cram-md5)"
_QPSMTPD_AUTH = re.compile(r"^smtp-auth\s+username\s+(?P<who>[^,\s]+),\s*mechanism\s+(?P<mech>[\w-]+)$", re.I)
# Exchange "with Microsoft SMTP Server (TLS) id ...": TLS was used, no details given
_BARE_TLS = re.compile(r"^(?:TLS|SSL)$", re.I)
# Cyrus LMTP over a local socket: "from host ([unix socket])"
_UNIX_SOCKET = re.compile(r"^\[?unix socket\]?$", re.I)
# fetchmail: "by host with IMAP (fetchmail-6.3.4) for <u> (single-drop)"
_FETCHMAIL = re.compile(r"^fetchmail-\S+$", re.I)
# qmail/tcpserver: "(ident@192.0.2.1)", the RFC 1413 ident (TCPREMOTEINFO) and the address; not a login
_IDENT_AT_IP = re.compile(r"^(?P<ident>\S+)@(?P<ip>[0-9A-Fa-f.:]+)$")
# Webmail: SquirrelMail / NaSMail "(SquirrelMail authenticated user admin)"
_WEBMAIL_LOGIN = re.compile(r"^(?P<app>\S+)\s+authenticated\s+user\s+(?P<who>\S+)$", re.I)
# CommuniGate Pro: "(account user@example.com HELO name)" for a logged-in client
_COMMUNIGATE_ACCOUNT = re.compile(r"^account\s+(?P<who>\S+)(?:\s+HELO\s+(?P<helo>\S+))?$", re.I)
# Symantec NAVGW puts the whole from clause in a comment: "(from KRYPTIK [70.20.57.51]) by host ..."
_COMMENTED_FROM = re.compile(r"^from\s+(?P<host>\S+)\s+\[(?P<ip>[^\]]+)\]$", re.I)
# A bare version after "with": Microsoft IIS "with Microsoft SMTPSVC(5.0.2195.6713)", "with esmtp (v3.35.1)"
# and the Ecartis list manager "with ECARTIS (v1.0.0; list linux-mips)"
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:;\s*list\s+\S+)?$")
_HELO_VERBS = ("HELO", "EHLO", "LHLO")
# Amazon SES: "by email-smtp.amazonaws.com with SMTP (SimpleEmailService-d-XEF4O0FFF) id ..."
_SES_ENDPOINT = re.compile(r"^SimpleEmailService-[\w-]+$")
_IRONPORT_TLS = re.compile(r"^(?P<protocol>E?SMTP)/TLS/(?P<cipher>[^/\s]+)$", re.I)
# A comment before any clause naming the local account that submitted: vger's "(majordomo@vger.kernel.org)"
_LOCAL_SENDER = re.compile(r"^[^\s@()]+@[^\s@()]+$")
_FETCHMAIL_MODE = re.compile(r"^(?:single|multi)-drop$", re.I)
_ORCPT = re.compile(r"^ORCPT\s", re.I)


def _mark_authenticated(hop: Hop, evidence: str, who: str | None = None) -> None:
    hop.authenticated = True
    if evidence not in hop.auth_evidence:
        hop.auth_evidence.append(evidence)
    if who and not hop.authenticated_sender:
        hop.authenticated_sender = who


def _from_comment(hop: Hop, text: str) -> bool:
    """TCP-info after ``from`` (RFC 5321 §4.4) and the HELO name, in every server's spelling."""
    recognised = False
    match = _TCP_INFO.match(text)
    address, port = ip_and_port(match["ip"]) if match else (None, None)
    if match and address and (match["name"] or "").upper() not in _HELO_VERBS:
        hop.from_ip = hop.from_ip or address
        port = int(match["port"]) if match["port"] else port
        if port is not None:
            hop.from_port = port
        if match["name"] and not hop.reverse_name:
            hop.reverse_name = _host_name(match["name"])
        rest = match["rest"]
        if rest.strip().lower() == "verified":        # CommuniGate checked the from name against the rDNS
            hop.from_verified = True
        recognised = True
    elif match and not match["ip"].strip() and match["name"] and not match["rest"].strip():
        hop.reverse_name = hop.reverse_name or _host_name(match["name"])   # Amazon SES "(rdns [])": no address
        return True
    else:
        rest = text
        bare_ip, bare_port = ip_and_port(text)
        if bare_ip:                       # qmail / Exchange / Dovecot: "(192.0.2.1)"; XMail "(ip:port)"
            hop.from_ip = hop.from_ip or bare_ip
            hop.from_port = hop.from_port or bare_port
            return True
        if text.lower() == "unknown":     # SendGrid "from MTU1NzAzODg (unknown)": no rDNS, no address
            return True
        if _UNIX_SOCKET.match(text):      # Cyrus "([unix socket])": a local connection, no address
            return True
        if text.upper() in _HELO_VERBS:   # qmail "(HELO )": the client sent an empty HELO
            hop.helo = ""
            return True
        if (ident := _IDENT_AT_IP.match(text)) and as_ip(ident["ip"]):
            hop.from_ip = hop.from_ip or as_ip(ident["ip"])         # qmail "(ident@ip)"
            return True
        if account := _COMMUNIGATE_ACCOUNT.match(text):
            _mark_authenticated(hop, f"comment 'account {account['who']}' (CommuniGate)", account["who"])
            if account["helo"]:
                hop.helo = account["helo"]
            return True
    helo = _HELO_EQUALS.search(rest) or _HELO_WORD.search(rest)
    if helo:
        hop.helo = helo["helo"]
        recognised = True
    qmail = _QMAIL_AUTH.match(text)
    if qmail and as_ip(qmail["ip"]):      # qmail-smtpd AUTH patches: "(user@ip with login)"
        hop.from_ip = hop.from_ip or as_ip(qmail["ip"])
        _mark_authenticated(hop, f"qmail SMTP AUTH ({qmail['mech']})", qmail["user"])
        recognised = True
    return recognised


def _by_comment(hop: Hop, text: str) -> bool:
    """After ``by``: the receiver's address, or its software name and version."""
    match = _TCP_INFO.match(text)
    if match and as_ip(match["ip"]):
        hop.by_ip = hop.by_ip or as_ip(match["ip"])
        return True
    if as_ip(text):
        hop.by_ip = hop.by_ip or as_ip(text)
        return True
    if hop.by_software is None:           # only reached when no other rule understood the comment
        hop.by_software = text.strip()
        return True
    return False


def _anywhere_comment(hop: Hop, text: str) -> bool:
    """Facts servers put in comments wherever they like."""
    text = " ".join(text.split())
    if match := _AUTH_SENDER.match(text):                      # Postfix smtpd_sasl_authenticated_header
        _mark_authenticated(hop, "comment 'Authenticated sender:'", match["who"].strip())
        return True
    if match := _SENDMAIL_AUTH.match(text):                    # Sendmail "(authenticated bits=0)"
        _mark_authenticated(hop, f"comment '{text}'", match["who"])
        return True
    if match := _USER_AUTHENTICATED.match(text):               # "(User authenticated as u)", "(authenticated user u)"
        _mark_authenticated(hop, f"comment '{text}'", match["who"])
        return True
    if match := _WEBMAIL_LOGIN.match(text):                    # "(SquirrelMail authenticated user admin)"
        _mark_authenticated(hop, f"webmail login ({match['app']})", match["who"])
        return True
    if match := _QPSMTPD_AUTH.match(text):                     # qpsmtpd "(smtp-auth username u, mechanism m)"
        _mark_authenticated(hop, f"comment 'smtp-auth username {match['who']}' (qpsmtpd, {match['mech']})",
                            match["who"])
        return True
    if match := _POSTFIX_TLS.search(text):                     # Postfix "(using TLSv1.2 with cipher ...)"
        tls = hop.tls_info()
        tls.version, tls.cipher, tls.bits = match["version"], match["cipher"], match["bits"]
        extra = [f"{m['what']} {m['value']}" for m in _POSTFIX_TLS_EXTRA.finditer(text)]
        tls.note = ", ".join(extra) or tls.note                 # Postfix >= 3.4 key-exchange details
        return True
    if match := _KV_TLS.search(text):                          # Sendmail, Exchange, Gmail "version=... cipher=..."
        tls = hop.tls_info()
        tls.version, tls.cipher = match["version"], match["cipher"]
        tls.bits = match["bits"] or tls.bits
        if match["verify"]:
            tls.client_certificate = f"verify={match['verify']}"
        return True
    if text.lower() == "google transport security":            # Gmail: TLS, no details given
        hop.tls_info().note = "Google Transport Security"
        return True
    if _BARE_TLS.match(text):                                  # Exchange "with Microsoft SMTP Server (TLS)"
        hop.tls_info().note = hop.tls_info().note or f"({text}): encrypted, no version or cipher given"
        return True
    if match := _COLON_TLS.match(text):    # Exim "(TLS1.3)", "(TLS1.2:CIPHER:256)"; OpenSMTPD "(TLSv1.3:C:256:NO)"
        tls = hop.tls_info()
        tls.version = match["version"]
        tls.cipher = match["cipher"] or tls.cipher
        tls.bits = match["bits"] or tls.bits
        if match["verify"]:
            tls.client_certificate = f"verify={match['verify']}"
        return True
    if text[:4].upper() in ("AUTH", "TLS:", "SSL:") and (match := _COURIER.match(text)):
        # Courier: "(AUTH: LOGIN user, TLS: TLSv1/SSLv3,128bits,AES128-SHA)"
        if match["user"]:
            _mark_authenticated(hop, f"comment 'AUTH: {match['mech']} {match['user']}' (Courier)", match["user"])
        if match["tls"]:
            version, _, rest = match["tls"].partition(",")
            bits, _, cipher = rest.partition(",")
            tls = hop.tls_info()
            tls.version, tls.bits, tls.cipher = version, bits.removesuffix("bits") or None, cipher or None
        return bool(match["user"] or match["tls"])
    if match := _ENCRYPTED.match(text):                        # "(TLS_AES_256_GCM_SHA384 encrypted, authenticated)"
        hop.tls_info().cipher = match["cipher"]
        if match["auth"]:
            _mark_authenticated(hop, f"comment '{text}'")
        return True
    if match := _ENVELOPE_FROM.match(text):                    # Exim, Sendmail, Dovecot
        hop.envelope_from = match["addr"]
        return True
    if _CLIENT_CERT.match(text):                               # Postfix client certificate status
        hop.tls_info().client_certificate = text
        return True
    if _EXIM_VERSION.match(text) or _FETCHMAIL.match(text):
        hop.by_software = hop.by_software or text
        return True
    if match := _LOCAL_PROCESS.match(text):
        if match["uid"]:
            hop.local_sender = f"uid {match['uid']}"
        return True
    if match := _POSTFIX_USERID.match(text):
        hop.by_software = hop.by_software or match["software"]
        hop.local_sender = f"uid {match['uid']}"
        return True
    return bool(_ORCPT.match(text) or _FETCHMAIL_MODE.match(text))


def _interpret_comment(hop: Hop, token: Token, where: str | None) -> None:
    text = token.text.strip()
    hop.comments.append(text)
    understood = False
    if where == "from":
        understood = _from_comment(hop, text)
    elif where is None and _LOCAL_SENDER.match(text):
        hop.local_sender = text           # "(majordomo@vger.kernel.org) by vger.kernel.org ...": the local sender
        understood = True
    elif where is None and (commented := _COMMENTED_FROM.match(text)) and as_ip(commented["ip"]):
        hop.from_host, hop.from_ip = commented["host"], as_ip(commented["ip"])    # Symantec NAVGW
        understood = True
    elif where == "with" and _SES_ENDPOINT.match(text):
        # Amazon SES's SMTP interface takes mail only from clients that log in with SMTP credentials
        hop.by_software = f"Amazon SES ({text})"
        if (hop.by_host or "").lower().startswith("email-smtp."):
            _mark_authenticated(hop, "Amazon SES SMTP interface (it accepts only SMTP-credential logins)")
        understood = True
    elif where == "with" and _VERSION.match(text) and hop.by_software is None:
        hop.by_software = text            # the receiving software's version; its name is in the with clause
        understood = True
    if not understood:
        understood = _anywhere_comment(hop, text)
    if not understood and where == "by":
        understood = _by_comment(hop, text)
    if not understood:
        hop.unrecognised.append(token.source())


# --------------------------------------------------------------------------- clauses

def _last_semicolon(tokens: list[Token]) -> int | None:
    for index in range(len(tokens) - 1, -1, -1):
        if tokens[index].kind == "semicolon":
            return index
    return None


def _apply_clause(hop: Hop, name: str, words: list[Token]) -> None:
    values = [w.text for w in words]
    if not values:
        hop.unrecognised.append(name)
        return
    first = values[0].rstrip(",")
    extra = words[1:]
    if name == "from":
        hop.from_host = first
        extra = _claimed_helo(hop, extra)
    elif name == "from-again":                       # XMail: "... for <rcpt> from <sender>; date"
        hop.envelope_from, extra = first, []
    elif name == "by":
        hop.by_host = first
        phrase = " ".join(values[1:]).lower()
        if phrase == "over tls secured channel":             # Microsoft IIS SMTP service
            hop.tls_info().note = "over TLS secured channel (Microsoft IIS SMTP)"
            extra = []
    elif name == "via":
        hop.via, extra = " ".join(values), []
    elif name == "with":
        extra = []
        ironport = _IRONPORT_TLS.match(first) if len(values) == 1 else None
        if len(values) >= 3 and values[-2].lower() == "encrypted":   # qmail TLS: "with CIPHER encrypted SMTP"
            hop.tls_info().cipher = values[0]
            hop.protocol = values[-1]
        elif ironport:                                   # Cisco IronPort: "with ESMTP/TLS/AES256-SHA256"
            hop.protocol = ironport["protocol"]
            tls = hop.tls_info()
            tls.cipher, tls.note = ironport["cipher"], f"with {first} (Cisco IronPort)"
            tls.stated_by = "protocol"
        else:
            hop.protocol = " ".join(values)
    elif name == "id":
        hop.queue_id = first
    elif name == "for":
        hop.for_addr, extra = ", ".join(v for v in (v.strip(",") for v in values) if v), []   # "<a>, <b>"
    elif name == "tls":                                              # RFC 8314 §4.3
        tls = hop.tls_info()
        tls.cipher = first
        if tls.stated_by == "comment" and tls.version is None:
            tls.stated_by = "tls clause"
    for token in extra:
        address, port = ip_and_port(token.text) if name == "from" and token.text.startswith("[") else (None, None)
        if address:                         # fetchmail "from host [192.0.2.1]", Exim 3 "[10.0.8.6.13219]"
            hop.from_ip = hop.from_ip or address
            hop.from_port = hop.from_port or port
        elif not _top_level_word(hop, token.text):
            hop.unrecognised.append(token.source())


def _claimed_helo(hop: Hop, words: list[Token]) -> list[Token]:
    """Obtuse smtpd: ``from rdns(ip), claiming to be "helo" via SMTP by host, id X``."""
    texts = [w.text.lower() for w in words]
    for start in range(len(words) - 3):
        if texts[start:start + 3] == ["claiming", "to", "be"] and words[start + 3].kind == "quoted":
            hop.helo = words[start + 3].text
            del words[start:start + 4]
            break
    return [w for w in words if w.text != ","]


def _top_level_word(hop: Hop, word: str) -> bool:
    """Bare ``key=value`` facts outside comments: OpenSMTPD's ``auth=yes user=name``."""
    match = _OPENSMTPD_WORD.match(word)
    if match is None:
        return False
    if match["key"] == "auth" and match["value"].lower() == "yes":
        _mark_authenticated(hop, "auth=yes (OpenSMTPD)")
    elif match["key"] == "user":
        hop.authenticated_sender = hop.authenticated_sender or match["value"]
    return True


def _finish(hop: Hop) -> None:
    """Conclusions that need the whole header: HELO vs rDNS, protocol meaning, Exchange ids."""
    explicit_helo = hop.helo is not None
    if hop.from_host:
        literal_ip = as_ip(hop.from_host) if hop.from_host.startswith("[") else None
        if not explicit_helo:
            hop.helo = hop.from_host
        elif not hop.reverse_name and not literal_ip:
            hop.reverse_name = _host_name(hop.from_host)      # Exim, qmail, vger: "from rdns (... helo)"
        if hop.from_verified and not hop.reverse_name:
            hop.reverse_name = _host_name(hop.from_host)
        if literal_ip and not hop.from_ip:
            hop.from_ip = literal_ip
        elif not hop.from_ip and as_ip(hop.from_host):         # Hotmail/webmail "from 24.8.231.233 by ..."
            hop.from_ip = as_ip(hop.from_host)
    if hop.by_host and hop.by_host.startswith("[") and not hop.by_ip:
        hop.by_ip = as_ip(hop.by_host)                         # "by [IPv6:2001:db8::1]"
    kind = hop.transmission
    if hop.protocol and hop.by_software and _VERSION.match(hop.by_software) and not (kind and kind.registered):
        # the with clause names the software: IIS "with Microsoft SMTPSVC(6.0.3790.0)", "with ECARTIS (v1.0.0; ...)"
        hop.by_software = f"{hop.protocol} {hop.by_software}"
    if hop.protocol and hop.protocol.upper() in ("MICROSOFT SMTP SERVER", "MAPI") and hop.queue_id:
        # Exchange writes its build number as "id": it identifies software, not the message.
        hop.by_software = hop.by_software or f"Microsoft Exchange {hop.queue_id}"
        hop.queue_id = None
    if kind is not None:
        if kind.authenticated:
            _mark_authenticated(hop, f"protocol {hop.protocol}: {kind.meaning} ({kind.reference})")
        if kind.tls and hop.tls is None:
            hop.tls = TlsInfo(stated_by="protocol", note=f"{hop.protocol}: {kind.meaning}")


def _unseparated_date(tokens: list[Token]) -> int | None:
    """Where the date starts in a header whose server left out the ``;`` before it, or None.

    SendGrid writes ``... with HTTP id X Wed, 08 Oct 2025 06:36:22.864 +0000 (UTC)``; old Gmail
    ``by 10.8.49.86 with SMTP id X Wed, 19 Jun 2013 ...``. The date must run to the end of the
    header and may not take the value of the clause before it.
    """
    for index in range(2, len(tokens)):
        token = tokens[index]
        if token.kind != "word" or not _DATE_START.match(token.text):
            continue
        before = tokens[index - 1]
        if before.kind == "word" and before.text.lower() in _CLAUSES:
            continue
        rest = [t for t in tokens[index:] if t.kind != "comment"]
        if any(t.kind != "word" for t in rest):
            continue
        if parse_date(render(rest)) is not None:
            return index
    return None


def parse_received(value: str) -> Hop:
    """Parse one Received header value (folded or not). Never raises."""
    unfolded = " ".join(value.split())
    hop = Hop(raw=unfolded)
    tokens = tokenize(unfolded)
    split = _last_semicolon(tokens)
    if split is None:
        split = _unseparated_date(tokens)
        clause_tokens = tokens if split is None else tokens[:split]
        date_tokens = [] if split is None else tokens[split:]
    else:
        clause_tokens, date_tokens = tokens[:split], tokens[split + 1:]

    where: str | None = None
    words: list[Token] = []
    commented = False                     # the current clause had a comment ("from ([ip] helo=x) by ...")
    seen: set[str] = set()
    for token in clause_tokens:
        keyword = token.text.lower() if token.kind == "word" else None
        starts_clause = keyword in _CLAUSES and keyword not in seen and (where is None or words or commented)
        if keyword == "from" and "from" in seen and where in ("for", "id", "with") and words:
            keyword, starts_clause = "from-again", True       # XMail's envelope sender after "for"
        if keyword == "tls" and words and words[-1].text.lower() == "over":
            starts_clause = False                               # IIS "by host over TLS secured channel"
        if starts_clause and keyword is not None:
            if where is not None and (words or not commented):
                _apply_clause(hop, where, words)
            where, words, commented = keyword, [], False
            seen.add(keyword)
        elif token.kind == "comment":
            _interpret_comment(hop, token, where)
            commented = True
        elif token.kind == "semicolon":
            hop.unrecognised.append(";")
        elif where is None:
            hop.unrecognised.append(token.source())
        else:
            words.append(token)
    if where is not None and (words or not commented):
        _apply_clause(hop, where, words)

    date_words = [t for t in date_tokens if t.kind != "comment"]
    for position, token in enumerate(date_words[:-1]):
        if token.text.lower() == "id" and hop.queue_id is None:     # Courier: "; <date> id 0001.4C87.0DF6"
            hop.queue_id = date_words[position + 1].text
            del date_words[position:position + 2]
            break
    for token in date_tokens:
        if token.kind == "comment":                      # "(JST)", or Sendmail's "(envelope-from a)"
            hop.comments.append(token.text.strip())
            _anywhere_comment(hop, token.text)
    if date_words:
        hop.time_raw = render(date_words)
        hop.time = parse_date(hop.time_raw)
        if hop.time is None:
            hop.unrecognised.append(hop.time_raw)
    _finish(hop)
    return hop
