"""One log line (bytes) -> a typed event, ``IGNORED`` (another program's line) or ``Unparsed``.

The line formats are Postfix's own format strings (notes/postfix-log-formats.md, cited per
rule below) and Dovecot's login/auth lines. Decisions:

* a line of a program that is neither Postfix nor Dovecot nor a milter is ``IGNORED``: a
  valid syslog line that is simply not mail evidence (cron, kernel...). Such a line still
  becomes a :class:`QueueNote` when it starts with a live-looking queue id (``opendkim``,
  ``amavis``, ``milter-manager``) so that traces include it;
* a Postfix or Dovecot line that matches no known form is ``Unparsed`` (counted and, with
  ``--show-unparsed``, shown): it means this parser is missing a format;
* a line without a syslog header at all (binary junk, a cut line) is ``Unparsed`` too.

Work is done on bytes; the cheap checks (``startswith``/``in``) come first and the regular
expressions run only on lines that already look like their format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from saslscope.maillog import events as ev
from saslscope.maillog.sources import LINE_CAP
from saslscope.maillog.syslog import FAST_HEADER_RE, HEADER_RE, NESTED_START_RE
from saslscope.maillog.timestamps import TimestampParser, YearTracker, from_journal_usec, from_tai64n

# ---------------------------------------------------------------- the syslog header
# (its grammar is in .syslog, shared with the prefilter and the chunk planner)

# Postfix queue ids (docs/logs.md): short ids are upper-case hex (5 chars of microseconds + inode), long ids use a
# 52-letter alphabet without vowels and contain a 'z' separator.
QUEUE_ID = (rb"(?:[0-9A-F]{6,}"
            rb"|[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz]{10,}z[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy]+)")
QUEUE_ID_RE = re.compile(QUEUE_ID)
QID_PREFIX_RE = re.compile(rb"(" + QUEUE_ID + rb"): ")
EMBEDDED_QID_RE = re.compile(rb"\b(" + QUEUE_ID + rb")\b")

NAMADDR_RE = re.compile(rb"([^\[\] ]*)\[([^\]]*)\](?::\d+)?")
TLS_RE = re.compile(rb"(\w+) TLS connection established from ([^ ]+?): (\S+) with cipher (\S+)")
# the client is name[addr] (a bare address in logs whose owners masked the names)
# (Postfix 2.3/2.4 logged no reason: "...: SASL LOGIN authentication failed" ends the line)
# (the reason, then ", sasl_username=" and the name: cut with partition, see smtpd_event)
AUTH_FAIL_RE = re.compile(rb"warning: ([^ \[]*\[[^\]]*\](?::\d+)?|[0-9A-Fa-f.:]+): SASL (\S*) authentication failed"
                          rb"(?:: ?|$)")
ABORT_RE = re.compile(rb"(?:(?:NOQUEUE|" + QUEUE_ID + rb"): )?(lost connection|timeout|too many errors) "
                      rb"after (\S+)(?: \(\d+ bytes\))? from ([^ ]+)")
# Postfix < 2.1 logged smtpd rejects without the "NOQUEUE: " prefix
REJECT_RE = re.compile(rb"(?:(NOQUEUE|" + QUEUE_ID + rb"): )?(reject|reject_warning|warn|hold|discard|filter|"
                       rb"redirect|bcc|prepend|info|milter-reject|milter-discard|milter-hold|proxy-reject|"
                       rb"proxy-accept): (\S+) from ([^ ]+?): (.*)")
SASL_FIELDS = (b"sasl_method", b"sasl_username", b"sasl_sender", b"orig_queue_id", b"orig_client")
SASL_FIELD_INDEX = {key: i for i, key in enumerate(SASL_FIELDS)}
SASL_KEY_RE = re.compile(rb", (" + b"|".join(SASL_FIELDS) + rb")=")
# qmgr: "from=<%s>, size=%ld, nrcpt=%d (queue active)" (Postfix < 2.1: no nrcpt); the sender
# is the client's text, so the fields are read after the *last* ">, size=" (see _qmgr_from)
QMGR_FROM_TAIL_RE = re.compile(rb"(\d+)(?:, nrcpt=(\d+))?")
EXPIRED_TAIL = (b">, status=expired", b">, status=force-expired")     # force-: postsuper -e (3.5+)
# rsyslog's repeated-message reduction ($RepeatedMsgReduction on, as in Ubuntu's rsyslog.conf):
# "message repeated 2 times: [ warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: ...]"
REPEATED_RE = re.compile(rb"message repeated (\d+) times: \[ ?(.*)\]$")
# sysklogd's and BusyBox's form names no message, only the host's previous line: recognised,
# not replayed (the previous line of the host may be one a prefiltered summary never saw)
LAST_REPEATED_RE = re.compile(rb"(?:<\d{1,3}>)?([A-Z][a-z]{2} [ 0-3]?\d \d\d:\d\d:\d\d) (\S+) "
                              rb"(?:-- MARK --|last message repeated \d+ times?)$")
# an address as Postfix >= 3.5 logs it (info_log_address_format=external): a local part with
# special characters is a quoted string, so a ">, " inside it is text, not the field's end
QUOTED_LOCAL_RE = re.compile(rb'"(?:[^"\\]|\\.)*+"')
FIELD_KEY_RE = re.compile(rb"[a-z_]+")
NOTIFY_RE = re.compile(rb"(sender|postmaster) (non-delivery|delivery status|delay|success) notification: (\S+)")
PICKUP_RE = re.compile(rb"uid=(\d+) from=<(.*?)>")
MILTER_SESSION_RE = re.compile(rb"\]\((\d+)\)")

# anchored at the start of the message: a login line's text names the service first (an
# auth process line that merely contains "imap-login: Login:" in its user name is no login)
DOVECOT_LOGIN_RE = re.compile(
    rb"(?P<service>[a-z0-9]+)-login: (?:Info: )?(?P<what>Login aborted|Aborted login|Logged in|Login|"
    rb"Disconnected)(?P<why>[^:]*): (?:(?P<extra>[^:=]*?): )?(?P<fields>.*)")
DOVECOT_AUTH_RE = re.compile(
    rb"auth(?:-worker)?(?:\([^)]*\))?(?:<\d+>)?: (?:Info: |Debug: |Error: )?(?:conn unix:[^:]*: )?"
    rb"(?:auth-worker<\d+>: )?(?:request \[\d+\]: )?(?:Info: )?"
    rb"([\w-]+)\((.*)\)(?:<[^>]{0,64}>)?: (.*)")
# Dovecot 2.4 puts the user and address into the process prefix and the pid (and session)
# after it: "auth-worker(u@example.org,192.0.2.1)<82365>: request [1]: Info: sql: Password mismatch"
DOVECOT_AUTH_PREFIXED_RE = re.compile(
    rb"auth(?:-worker)?\((.*)\)(?:<[^>]{0,64}>){0,3}: (?:request \[\d+\]: )?"
    rb"(?:Info: |Debug: |Error: )?([\w-]+): (.*)")
# Dovecot's own log_path files have no host and name the process: "auth: Info: ...",
# "auth-worker(default): ...", "imap-login: ...", 2.4's "lda(user)<pid><session>: ..."
DOVECOT_PROGRAM_RE = re.compile(
    rb"(?:auth|auth-worker|[a-z0-9]+-login|lmtp|lda|imap|pop3|submission|managesieve|doveadm|indexer-worker)"
    rb"(?:\([^)]*\))?(?:<[^>]*>)*")
AUTH_FAILED_WORDS = re.compile(rb"mismatch|unknown user|failed|not known")

POSTFIX_DAEMONS = frozenset(
    b"smtpd postscreen cleanup qmgr nqmgr smtp lmtp local virtual pipe error discard retry bounce defer "
    b"trace pickup sendmail postdrop postqueue postsuper postlog postlogd master anvil scache tlsmgr "
    b"tlsproxy verify trivial-rewrite rewrite proxymap proxywrite dnsblog showq flush oqmgr spawn "
    b"postfix-script postmulti postmap postalias postconf postcat qmqpd lmtpd policyd-spf".split())
SMTPD_LIKE = frozenset((b"smtpd", b"qmqpd"))
MILTERS = frozenset(b"opendkim opendmarc milter-manager amavis amavisd clamav-milter spamass-milter "
                    b"rspamd policyd-spf postfix-policyd-spf-python postgrey".split())
DIAGNOSTIC_PREFIXES = (b"warning: ", b"error: ", b"fatal: ", b"panic: ", b"statistics: ")

# Recognised Postfix lines that carry nothing this tool reports (parsed, no event data).
KNOWN_MISC = re.compile(
    rb"(?:daemon started|reload|terminating on signal|starting the Postfix mail system|stopping the Postfix "
    rb"mail system|refreshing the Postfix mail system|waiting for the Postfix mail system|Postfix is running|"
    rb"Postfix is using|the Postfix mail system is|setting up TLS connection|SSL_accept error|SSL_connect error|"
    rb"Anonymous TLS connection|Untrusted TLS connection|Trusted TLS connection|Verified TLS connection|"
    rb"improper command pipelining|Deleted: |Requeued: |Placed on hold: |Released from hold: |"
    rb"connect to |lost connection with |conversation with |host .* said|SASL authentication failed|"
    rb"CONNECT from |DISCONNECT |PASS NEW |PASS OLD |DNSBL rank |PREGREET |HANGUP |COMMAND |BARE NEWLINE |"
    rb"NON-SMTP COMMAND |WHITELISTED |ALLOWLISTED |BLACKLISTED |DENYLISTED |WHITELIST VETO |ALLOWLIST VETO |"
    rb"NOQUEUE: |cache |addr |dnsblog_query|enabling PIX|server features|looking up|Host offered STARTTLS|"
    rb"(?:client |server |peer )?certificate verification failed for |SSL_accept:|SSL_connect:|"
    rb"discarding EHLO keywords: |table \S+ has changed -- restarting|last message repeated \d+ times|"
    # Cyrus SASL library messages logged under the calling daemon's name (smtpd)
    rb"_sasl_plugin_load failed|auxpropfunc error|canonuserfunc error|sql_select option missing|"
    rb"sql plugin |ldapdb_|OTP unavailable|unable to canonify user|"
    rb"\S+: (?:enabling PIX|host \S+ said|lost connection|conversation|Cannot start TLS|sender non-delivery|"
    # smtp(d)_tls_loglevel >= 2: "name[addr]:port: Matched subjectAltName: ..." and friends
    rb"Matched |subjectAltName: |CommonName |(?:client |server |peer )?certificate verification|"
    rb"TLS cipher list|save session|reusing session|looking for session|new session|"
    rb"Issuing session ticket|Decrypting session ticket|depth=|num=))")
# Verbose logging (``-v`` in master.cf, debug_peer_list): Postfix's msg_info() lines prefixed
# with the C function's name (``smtp_stream_setup: maxtime=300``, ``xsasl_dovecot_server_connect:
# auth reply: ...``), the SMTP dialogue (smtpd_chat.c ``"%c %s: %s"``: ``< client[addr]: EHLO x``,
# ``> client[addr]: 250-...``) and the attribute protocol (attr_print/attr_scan). Recognised
# as diagnostics, never as evidence.
VERBOSE_RE = re.compile(
    rb"(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+: |[<>] [^ ]+: |send attr |input attribute (?:name|value): |"
    rb"[\w./-]+(?: socket)?: wanted attribute: |connection established$)")
QID_MISC = re.compile(
    rb"(?:removed|canceled|requeued|placed on hold|released from hold|expired|skipped|"
    rb"(?:milter-)?(?:reject|warning|hold|discard|info|filter|redirect|replace|prepend|strip|bcc|header|body)"
    rb"(?:-\w+)?: |resent-message-id=|orig_id=|uid=|host \S+ (?:said|refused to talk to me)|lost connection|"
    rb"conversation with|"
    rb"enabling PIX|client=|message-id=|to=<|from=<|sender |postmaster |Cannot start TLS|"
    rb"TLS is required)")


@dataclass(slots=True)
class Unparsed:
    """A line this parser does not understand (the line itself is kept by the caller)."""

    reason: str


IGNORED = None            # parse() returns None for lines of unrelated programs
NO_HEADER = Unparsed("no syslog header")
RECOGNISED = ev.SessionNote(None, "", "", 0)   # a known line whose details were not asked for


class ProgramInfo:
    """What a syslog program name means (cached: there are few distinct names in a log)."""

    __slots__ = ("name", "kind", "daemon", "service")

    def __init__(self, name: bytes, syslog_name: re.Pattern[bytes] | None) -> None:
        self.name = name.decode("utf-8", "replace")
        parts = name.split(b"/")
        self.daemon = parts[-1]
        # instance = text before the first "/", daemon = text after the last, service = the middle
        self.service = "/".join(p.decode("utf-8", "replace") for p in parts[:-1]) or self.name
        instance = parts[0]
        if (len(parts) > 1 and (instance.startswith(b"postfix") or self.daemon in POSTFIX_DAEMONS
                               or (syslog_name is not None and syslog_name.match(b"/".join(parts[:-1]))))) or (syslog_name is not None and syslog_name.fullmatch(name)):
            self.kind = "postfix"
        elif name == b"postfix" or name.startswith(b"postfix-"):
            self.kind = "postfix"          # postfix-script, "postfix: fatal: ..."
        elif name.startswith(b"dovecot") or DOVECOT_PROGRAM_RE.fullmatch(name):
            self.kind = "dovecot"
        elif name in MILTERS:
            self.kind = "milter"
        else:
            self.kind = "other"


# Client designations repeat within a session (disconnect, client=, SASL failures name the
# same client), so their split is remembered; cleared when full, like the timestamp cache.
_NAMADDR_CACHE: dict[bytes, tuple[str, str]] = {}


def split_namaddr(raw: bytes) -> tuple[str, str]:
    """``name[addr]`` / ``name[addr]:port`` / ``[addr]:port`` -> (name, addr)."""
    hit = _NAMADDR_CACHE.get(raw)
    if hit is not None:
        return hit
    m = NAMADDR_RE.match(raw)
    if m is None:
        return raw.decode("utf-8", "replace"), ""
    name, addr = m.groups()
    if len(_NAMADDR_CACHE) >= 4096:
        _NAMADDR_CACHE.clear()
    result = _NAMADDR_CACHE[raw] = name.decode("utf-8", "replace"), addr.decode("ascii", "replace")
    return result


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


# "ehlo=1 auth=0/1 quit=1 commands=2/3": a log has few distinct sets of disconnect counters
COUNTER_RE = re.compile(rb"([a-z-]+)=(\d+)(?:/(\d+))?")
_COUNTERS_CACHE: dict[bytes, dict[str, tuple[int, int]]] = {}


def _counters(text: bytes) -> dict[str, tuple[int, int]]:
    """The command counters of a disconnect line, ``{"auth": (ok, total), ...}`` (a fresh dict)."""
    counters = _COUNTERS_CACHE.get(text)
    if counters is None:
        counters = {}
        for token in text.split():          # "key=ok[/total]" tokens; anything else is skipped
            m = COUNTER_RE.fullmatch(token)
            if m is not None:
                key, ok, total = m.groups()
                counters[key.decode()] = (int(ok), int(total or ok))
        if len(_COUNTERS_CACHE) >= 1024:
            _COUNTERS_CACHE.clear()
        _COUNTERS_CACHE[text] = counters
    return counters.copy()


class LineParser:
    """Parse lines of one input stream (it holds the year inference state for BSD timestamps)."""

    def __init__(self, year: int | None = None, syslog_name: str | None = None,
                 now: datetime | None = None, detail: bool = True, years: YearTracker | None = None) -> None:
        """``detail=False`` skips building events nobody asked for (deliveries, milter and
        other notes): they are still recognised (parsed, not unparsed) but come back as the
        shared :data:`RECOGNISED` note, which saves most of the work on big logs.
        ``years``: the year inference to use (a chunk of a log cut in pieces starts where the
        previous chunk left it); by default a new one from ``year`` and ``now``."""
        self.times = TimestampParser(year=year, now=now, years=years)
        self.detail = detail
        self.syslog_name = re.compile(syslog_name.encode()) if syslog_name else None
        self._programs: dict[bytes, ProgramInfo] = {}

    def program(self, name: bytes) -> ProgramInfo:
        info = self._programs.get(name)
        if info is None:
            info = self._programs[name] = ProgramInfo(name, self.syslog_name)
        return info

    # ------------------------------------------------------------------ entry point
    def parse(self, line: bytes) -> ev.Event | Unparsed | None:
        """Parse one raw line (without its end of line). Never raises on any input."""
        if len(line) > LINE_CAP:           # sources cut (and count) longer lines; this guards other callers
            line = line[:LINE_CAP]
        if line[:1] == b"{":
            return self._journal(line)
        header = self.split_header(line)
        if header is None:
            m = LAST_REPEATED_RE.match(line)
            if m is not None:
                return ev.SessionNote(self.times.bsd(m.group(1)), _text(m.group(2)), "", 0)
            return NO_HEADER if line.strip() else IGNORED
        return self.message(*header)

    def split_header(self, line: bytes) -> tuple[datetime | None, str, bytes, int, bytes] | None:
        """``(time, host, program, pid, message)``; a fast path for the common
        ``Mmm dd hh:mm:ss host prog[pid]: `` shape, :data:`HEADER_RE` for everything else."""
        m = FAST_HEADER_RE.match(line)
        if m is not None:
            ts, host, prog, pid = m.groups()
            time = self.times.bsd(ts)
            if time is not None and line[m.end():m.end() + 4] != b"[ID ":
                return time, host.decode("utf-8", "replace"), prog, int(pid or 0), line[m.end():]
        return self._split_header_regex(line)

    def _split_header_regex(self, line: bytes) -> tuple[datetime | None, str, bytes, int, bytes] | None:
        m = HEADER_RE.match(line)
        if m is None:
            return None
        ts = m.group("ts")
        if ts is None:
            time = from_tai64n(m.group("tai"))
        elif ts[:1].isalpha():
            time = self.times.bsd(ts)
            frac = m.group("frac")
            if frac is not None and time is not None:
                time = time.replace(microsecond=int((frac[1:] + b"00000")[:6]))
        else:
            time = self.times.rfc3339(ts)
        host = m.group("host")
        pid = m.group("pid")
        return time, _text(host) if host else "", m.group("prog"), int(pid) if pid else 0, line[m.end():]

    def _journal(self, line: bytes) -> ev.Event | Unparsed | None:
        """One ``journalctl -o json`` object: SYSLOG_IDENTIFIER, _PID, _HOSTNAME, MESSAGE."""
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):      # RecursionError: nesting deeper than the interpreter's stack
            return Unparsed("not a JSON object")
        if not isinstance(obj, dict):
            return Unparsed("not a JSON object")
        message = obj.get("MESSAGE")
        ident = obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM")
        if isinstance(message, list):          # journald writes non-UTF-8 messages as byte arrays
            try:
                message = bytes(message).decode("utf-8", "replace")
            except (TypeError, ValueError):
                return Unparsed("MESSAGE is not text")
        if not isinstance(message, str) or not isinstance(ident, str):
            return Unparsed("journal entry without MESSAGE or SYSLOG_IDENTIFIER")
        pid = str(obj.get("SYSLOG_PID") or obj.get("_PID") or "0")
        time = from_journal_usec(obj.get("__REALTIME_TIMESTAMP", ""))
        # JSON can carry lone surrogates (\ud800) that UTF-8 cannot encode: kept as visible escapes
        return self.message(time, str(obj.get("_HOSTNAME", "")), ident.encode("utf-8", "backslashreplace"),
                            int(pid) if pid.isdigit() else 0, message.encode("utf-8", "backslashreplace")[:LINE_CAP])

    def message(self, time: datetime | None, host: str, prog: bytes, pid: int,
                msg: bytes) -> ev.Event | Unparsed | None:
        """Parse the text after ``program[pid]: `` for a given program."""
        if msg[:17] == b"message repeated ":
            m = REPEATED_RE.match(msg)
            if m is not None:
                event = self.message(time, host, prog, pid, m.group(2))
                if event is None or isinstance(event, Unparsed):
                    return event
                return ev.Repeated(event.time, event.host, event.program, event.pid, event, int(m.group(1)))
        info = self.program(prog)
        kind = info.kind
        if kind == "postfix":
            return self._postfix(info, time, host, pid, msg)
        if kind == "dovecot":
            return _dovecot(time, host, info.name, pid, msg)
        if kind == "other" and NESTED_START_RE.match(msg) is not None:
            # a container's own log line relayed by a logging driver or a second syslog:
            # "2026-10-04T06:02:04+00:00 host smtp-out[985]: Oct 04 06:02:04 mx postfix/qmgr[105]: ..."
            inner = self.split_header(msg)
            if inner is not None and self.program(inner[2]).kind != "other":
                return self.message(time or inner[0], *inner[1:])
        return _queue_note(time, host, info.name, pid, msg)

    # ------------------------------------------------------------------ Postfix
    def _postfix(self, info: ProgramInfo, time: datetime | None, host: str, pid: int,
                 msg: bytes) -> ev.Event | Unparsed:
        daemon = info.daemon
        prog = info.name
        if daemon in SMTPD_LIKE:
            return smtpd_event(time, host, prog, pid, msg)
        m = QID_PREFIX_RE.match(msg)
        if m is not None:
            qid = m.group(1).decode()
            rest = msg[m.end():]
            if daemon == b"cleanup":
                if rest.startswith((b"message-id=", b"resent-message-id=")):
                    resent = rest[0] == 0x72  # "r"
                    mid = rest[rest.index(b"=") + 1:].strip()
                    if mid.startswith(b"<") and mid.endswith(b">"):
                        mid = mid[1:-1]
                    return ev.MessageId(time, host, prog, pid, qid, _text(mid), resent)
            elif rest.startswith(b"to=<"):
                parts = delivery_parts(rest)
                if parts is None:
                    return Unparsed("delivery line without status=")
                if not self.detail:
                    return RECOGNISED
                return _delivery(time, host, prog, pid, qid, parts)
            elif rest.startswith(b"from=<"):
                event = _qmgr_from(time, host, prog, pid, qid, rest)
                if event is not None:
                    return event
            elif rest == b"removed":
                return ev.Removed(time, host, prog, pid, qid)
            elif daemon == b"bounce" or b" notification: " in rest:
                nm = NOTIFY_RE.match(rest)
                if nm is not None:
                    return ev.Notification(time, host, prog, pid, qid,
                                           f"{_text(nm.group(1))} {_text(nm.group(2))}", _text(nm.group(3)))
            elif daemon == b"pickup":
                pm = PICKUP_RE.match(rest)
                if pm is not None:
                    return ev.Pickup(time, host, prog, pid, qid, int(pm.group(1)), _text(pm.group(2)))
            if QID_MISC.match(rest) is not None:
                return ev.QueueNote(time, host, prog, pid, qid) if self.detail else RECOGNISED
            return Unparsed(f"{info.daemon.decode(errors='replace')}: unknown queue-file line")
        if msg.startswith(DIAGNOSTIC_PREFIXES) or KNOWN_MISC.match(msg) is not None or (
                daemon in (b"postlog", b"postfix-script", b"postsuper", b"postmulti") and msg) or (
                VERBOSE_RE.match(msg) is not None):
            # the last group: free text from administrators' commands
            return ev.SessionNote(time, host, prog, pid) if self.detail else RECOGNISED
        if daemon not in POSTFIX_DAEMONS:
            # a helper that is not Postfix logging under a Postfix name, e.g. the SPF policy
            # server spawned as "postfix/policy-spf": its free text is no Postfix format
            return ev.SessionNote(time, host, prog, pid) if self.detail else RECOGNISED
        return Unparsed(f"{info.daemon.decode(errors='replace')}: unknown line")


# ---------------------------------------------------------------------- smtpd
def smtpd_event(time: datetime | None, host: str, prog: str, pid: int, msg: bytes) -> ev.Event | Unparsed:
    """The event of one smtpd message (the text after ``smtpd[pid]: ``)."""
    if msg.startswith(b"connect from "):
        name, addr = split_namaddr(msg[13:])
        return ev.Connect(time, host, prog, pid, name, addr)
    if msg.startswith(b"disconnect from "):
        rest = msg[16:]
        space = rest.find(b" ")
        if space < 0:
            name, addr = split_namaddr(rest)
            return ev.Disconnect(time, host, prog, pid, name, addr, {})
        name, addr = split_namaddr(rest[:space])
        return ev.Disconnect(time, host, prog, pid, name, addr, _counters(rest[space:]))
    if msg.startswith(b"warning: "):
        if b"authentication failed" in msg:
            m = AUTH_FAIL_RE.match(msg)
            if m is not None:
                # the rest is one line (a journal MESSAGE may end with a newline): the reason up
                # to the first ", sasl_username=", the name after it
                rest = msg[m.end():]
                if rest[-1:] == b"\n":
                    rest = rest[:-1]
                if rest.find(b"\n") < 0:
                    client, method = m.groups()
                    name, addr = split_namaddr(client) if client.find(b"[") >= 0 else ("", _text(client))
                    reason, named, user = rest.partition(b", sasl_username=")
                    username = None if not named or user == b"(unavailable)" else _text(user)
                    return ev.AuthFailure(time, host, prog, pid, name, addr, _text(method), _text(reason),
                                          username)
        return ev.SessionNote(time, host, prog, pid)
    if msg.find(b": client=", 0, 60) >= 0:
        return _client_line(time, host, prog, pid, msg)
    if b"TLS connection established from " in msg:
        m = TLS_RE.match(msg)
        if m is not None:
            name, addr = split_namaddr(m.group(2))
            return ev.TlsEstablished(time, host, prog, pid, _text(m.group(1)), _text(m.group(3)),
                                     _text(m.group(4)), name, addr)
    if b" after " in msg:
        m = ABORT_RE.match(msg)
        if m is not None:
            name, addr = split_namaddr(m.group(3))
            return ev.Abort(time, host, prog, pid, _text(m.group(1)), _text(m.group(2)), name, addr)
    m = REJECT_RE.match(msg)
    if m is not None:
        qid = m.group(1)
        name, addr = split_namaddr(m.group(4))
        reply, tail = _reject_split(m.group(5))
        fields = reject_fields(tail)
        return ev.Reject(time, host, prog, pid, None if qid is None or qid == b"NOQUEUE" else qid.decode(),
                         _text(m.group(2)), _text(m.group(3)), name, addr, _text(reply), fields)
    if KNOWN_MISC.match(msg) is not None:
        return ev.SessionNote(time, host, prog, pid)
    m = QID_PREFIX_RE.match(msg)
    if m is not None and QID_MISC.match(msg, m.end()) is not None:
        return ev.QueueNote(time, host, prog, pid, m.group(1).decode())
    if VERBOSE_RE.match(msg) is not None or msg.startswith(DIAGNOSTIC_PREFIXES):
        return ev.SessionNote(time, host, prog, pid)       # fatal:/error:/panic: (warning: above)
    return Unparsed("smtpd: unknown line")


def _client_line(time: datetime | None, host: str, prog: str, pid: int, msg: bytes) -> ev.Event | Unparsed:
    """smtpd.c: ``QID: client=%s`` then any subset of the keys of SASL_FIELDS, in that order.

    Usernames may contain ``, `` themselves, so the line is cut at the *known* keys, not at
    commas, and only in their fixed order: a key that does not come after the current one is
    text of the value it falls in (``sasl_sender`` is any client's MAIL FROM AUTH= text, and
    an ``, sasl_username=`` inside it must not make an unauthenticated client a login).

    A line that carries ``sasl_username`` is evidence of a login and is never dropped: with a
    queue id in a shape Postfix never writes (a hand-made or damaged log) it is kept, with
    :attr:`~saslscope.maillog.events.ClientLine.oddity` saying so.
    """
    head, _, rest = msg.partition(b": client=")
    oddity = None
    if not (head == b"NOQUEUE" or QUEUE_ID_RE.fullmatch(head)):
        if not head or b" " in head or b", sasl_username=" not in rest:
            return Unparsed("smtpd: client= line without a queue id")
        oddity = f"queue id {_text(head)!r} is in a shape Postfix never writes"
    client, *pieces = SASL_KEY_RE.split(rest)        # client, key, value, key, value...
    values: list[bytes | None] = [None] * len(SASL_FIELDS)
    current = -1
    for i in range(0, len(pieces), 2):
        key, value = pieces[i], pieces[i + 1]
        index = SASL_FIELD_INDEX[key]
        if index > current:
            values[index] = value
            current = index
        else:
            values[current] += b", " + key + b"=" + value  # type: ignore[operator]
    name, addr = split_namaddr(client)
    method, username, sender, orig_queue_id, orig_client = (
        None if value is None else value.decode("utf-8", "replace") for value in values)
    return ev.ClientLine(time, host, prog, pid, head.decode("utf-8", "replace"), name, addr, method, username,
                         sender, orig_queue_id, orig_client, oddity)


# ---------------------------------------------------------------------- rejects
_REJECT_KEYS = (b"from=<", b"to=<", b"proto=", b"helo=<")
_SASL_SUFFIX_KEYS = (b" sasl_method=", b" sasl_username=", b" sasl_sender=")


def _reject_split(detail: bytes) -> tuple[bytes, bytes]:
    """``reply; fields`` -> (reply, fields): at the first ``; `` that a field key follows
    (the reply may echo the client's address, with a ``; `` of its own)."""
    pos = detail.find(b"; ")
    while pos >= 0:
        if detail.startswith(_REJECT_KEYS, pos + 2):
            return detail[:pos], detail[pos + 2:]
        pos = detail.find(b"; ", pos + 2)
    return detail, b""


def _bracketed(tail: bytes, key: bytes, start: int = 0) -> tuple[bytes | None, int]:
    """The value of ``key<value>`` at ``start`` (up to the first ``>`` followed by a space or
    the end) and the position after it; (None, start) when ``key`` is not there."""
    if not tail.startswith(key, start):
        return None, start
    pos = start + len(key)
    end = tail.find(b"> ", pos)
    if end < 0:
        end = len(tail) - 1 if tail.endswith(b">") else len(tail)
    return tail[pos:end], end + 2


def reject_fields(tail: bytes) -> dict[str, str]:
    """smtpd_check.c log_whatsup(): `` from=<%s> to=<%s> proto=%s helo=<%s>``, each optional,
    then (Postfix >= 3.10 only) `` sasl_method=%s sasl_username=%s sasl_sender=%s``.

    The sender, recipient and HELO name are the client's text and may hold anything, so the
    evidence of a login (the sasl fields) is taken only from the end of the line, in its
    fixed order, and only where no client text can have written it: the last
    ``sasl_method=`` (or, in milter rejects, which log no method, the last
    ``sasl_username=``), right after the ``>`` of a bracketed field or a ``proto=`` word,
    with no other field key after it and no value ending with ``>`` (a HELO
    ``x> sasl_method=PLAIN sasl_username=ceo`` is logged with its closing ``>``). Where the
    line is truly ambiguous (an unauthenticated client's 3.10+ ``sasl_sender`` holding the
    whole suffix; a bracketed ``sasl_username=<..>``), it gives no evidence.
    """
    fields: dict[str, bytes] = {}
    sasl = _sasl_suffix(tail)
    head = tail if sasl is None else tail[:sasl[0]]
    value, pos = _bracketed(head, b"from=<")
    if value is not None:
        fields["from"] = value
    value, pos = _bracketed(head, b"to=<", pos)
    if value is not None:
        fields["to"] = value
    if head.startswith(b"proto=", pos):
        end = head.find(b" ", pos)
        end = len(head) if end < 0 else end
        fields["proto"] = head[pos + 6:end]
        pos = end + 1
    value, pos = _bracketed(head, b"helo=<", pos)
    if value is not None:
        fields["helo"] = value
    if sasl is not None:
        fields.update(sasl[1])
    return {key: _text(value) for key, value in fields.items()}


_PROTO_END_RE = re.compile(rb"(?:^| )proto=\w+$")
_MECHANISM_RE = re.compile(rb"[A-Za-z0-9_-]{1,40}")


def _sasl_suffix(tail: bytes) -> tuple[int, dict[str, bytes]] | None:
    """Where the sasl fields of a reject line begin, and their values; None when the line has
    none, or when only client text can have written them."""
    method_at, user_at = tail.rfind(b" sasl_method="), tail.rfind(b" sasl_username=")
    starts = [method_at] if method_at >= 0 and (user_at < 0 or method_at < user_at) else []
    if user_at >= 0:
        starts.append(user_at)                # the milter form: no method
    for start in starts:
        found = _sasl_fields_at(tail, start)
        if found is not None:
            return start, found
    return None


_FIELD_KEYS_IN_SUFFIX = (b" from=<", b" to=<", b" proto=", b" helo=<", b" sasl_sender=")


def _sasl_fields_at(tail: bytes, start: int) -> dict[str, bytes] | None:
    before, rest = tail[:start], tail[start + 1:]
    if b" sasl_sender=" in before or before.startswith(b"sasl_"):
        return None            # after an unauthenticated client's sasl_sender (its text): no evidence
    if not before.endswith(b">") and _PROTO_END_RE.search(before[-32:]) is None:
        return None            # not right after helo=<..>, to=<..> or proto=WORD
    values: dict[str, bytes] = {}
    if rest.startswith(b"sasl_method="):
        method, _, rest = rest[12:].partition(b" ")
        if _MECHANISM_RE.fullmatch(method) is None:
            return None
        values["sasl_method"] = method
    if rest.startswith(b"sasl_username="):
        user, named, sender = rest[14:].partition(b" sasl_sender=")
        if any(key in user for key in _FIELD_KEYS_IN_SUFFIX):
            return None        # the fields before it are in what would be the name: client text
        values["sasl_username"] = user
        if named:
            values["sasl_sender"] = sender
    elif rest:
        return None
    if any(value.endswith(b">") for value in values.values()):
        return None            # a bare value does not end with ">": that is a HELO's closing bracket
    return values


# ---------------------------------------------------------------------- delivery agents
def delivery_parts(rest: bytes) -> tuple[bytes, bytes, dict[bytes, bytes], bytes] | None:
    """log_adhoc.c: ``to=<r>[, orig_to=<o>], relay=.., [conn_use=..,] delay=.., delays=..,
    dsn=.., status=WORD (detail)`` -> (recipient, status, fields, detail), None if not that.

    The recipient is the client's text: it ends at the first ``>, `` outside a quoted local
    part. The detail (the remote server's reply) may be cut short with no closing ``)`` (a
    line cut by syslog's size limit). Fields between are server-written ``key=value``.
    Every step is a forward search: linear in the line's length.
    """
    end = _address_end(rest, 4)
    if end < 0:
        return None
    recipient = rest[4:end]
    pos = end + 3
    fields: dict[bytes, bytes] = {}
    while not rest.startswith(b"status=", pos):
        if rest.startswith(b"orig_to=<", pos):
            close = _address_end(rest, pos + 9)
            if close < 0:
                return None
            fields[b"orig_to"] = rest[pos + 9:close]
            pos = close + 3
            continue
        comma = rest.find(b", ", pos)
        key, eq, value = rest[pos:comma].partition(b"=")
        if comma < 0 or not eq or FIELD_KEY_RE.fullmatch(key) is None:
            return None
        fields[key] = value
        pos = comma + 2
    status_end = rest.find(b" ", pos)
    if status_end < 0:
        status, detail = rest[pos + 7:], b""
    elif rest.startswith(b" (", status_end):
        status, detail = rest[pos + 7:status_end], rest[status_end + 2:]
        if detail.endswith(b")"):
            detail = detail[:-1]
    else:
        return None
    if not status or not status.replace(b"_", b"").isalnum():
        return None
    return recipient, status, fields, detail


def _address_end(text: bytes, start: int) -> int:
    """Where the ``>, `` closing the address that begins at ``start`` is, or -1."""
    if text[start:start + 1] == b'"':
        quoted = QUOTED_LOCAL_RE.match(text, start)
        if quoted is not None:
            start = quoted.end()
    return text.find(b">, ", start)


def _delivery(time: datetime | None, host: str, prog: str, pid: int, qid: str,
              parts: tuple[bytes, bytes, dict[bytes, bytes], bytes]) -> ev.Event:
    recipient, status, raw_fields, detail = parts
    fields = {key.decode(): _text(value) for key, value in raw_fields.items()}
    return ev.Delivery(time, host, prog, pid, qid, _text(recipient), _text(status), fields.pop("dsn", None),
                       fields.pop("relay", None), _text(detail), fields)


def _qmgr_from(time: datetime | None, host: str, prog: str, pid: int, qid: str, rest: bytes) -> ev.Event | None:
    """qmgr ``from=<s>, size=N, nrcpt=N (queue active)`` or ``from=<s>, status=expired, ...``:
    the sender is the client's text, so its end is the *last* ``>, size=`` / ``>, status=``."""
    cut = rest.rfind(b">, size=")
    if cut >= 0:
        m = QMGR_FROM_TAIL_RE.match(rest, cut + 8)
        if m is not None:
            nrcpt = m.group(2)
            return ev.QueueFrom(time, host, prog, pid, qid, _text(rest[6:cut]), int(m.group(1)),
                                None if nrcpt is None else int(nrcpt))
    cut = rest.rfind(b">, status=")
    if cut >= 0 and rest.startswith(EXPIRED_TAIL, cut):
        return ev.Expired(time, host, prog, pid, qid, _text(rest[6:cut]))
    return None


# ---------------------------------------------------------------------- Dovecot
def _dovecot(time: datetime | None, host: str, prog: str, pid: int, msg: bytes) -> ev.Event | Unparsed:
    # "dovecot: imap-login: ..." (syslog), "imap-login: Info: ..." (log_path), "auth: Info: ..."
    if msg.startswith(b"dovecot: "):
        msg = msg[9:]
    if prog.endswith("-login"):
        msg = prog.encode() + b": " + msg
    m = DOVECOT_LOGIN_RE.match(msg)
    if m is not None:
        what = m.group("what")
        ok = what in (b"Login", b"Logged in")
        reason = b" ".join(p.strip(b" ()") for p in (m.group("why"), m.group("extra")) if p)
        if not ok and b"auth failed" not in reason:
            return ev.SessionNote(time, host, prog, pid)   # no AUTH tried: not a login event
        fields = dovecot_login_fields(m.group("fields"))
        return ev.DovecotLogin(time, host, prog, pid, _text(m.group("service")), ok, fields.get("user"),
                               fields.get("method"), fields.get("rip"), _text(reason))
    if prog.startswith("auth"):
        msg = prog.encode() + b": " + msg
    if msg.startswith(b"auth"):
        m = DOVECOT_AUTH_RE.match(msg)
        if m is not None:
            mechanism, inner, reason = m.groups()
        else:
            m = DOVECOT_AUTH_PREFIXED_RE.match(msg)
            if m is not None:
                inner, mechanism, reason = m.groups()
        # "... - trying the next passdb" (auth-request.c, when passdb->next exists) is not the
        # verdict: the next passdb may accept; a failure of the last one is logged without it
        if m is not None and AUTH_FAILED_WORDS.search(reason) is not None and b" - trying the next " not in reason:
            user, ip = _dovecot_user_ip(inner)
            if user is not None:
                return ev.DovecotAuthFailure(time, host, prog, pid, _text(mechanism), _text(user),
                                             _text(ip) if ip else None, _text(reason))
    return ev.SessionNote(time, host, prog, pid)   # every other Dovecot line: recognised, not evidence


def _dovecot_user_ip(inner: bytes) -> tuple[bytes | None, bytes]:
    """``user,ip[,<session>]`` of an auth prefix -> (user, ip), read from the right: the user
    name is the client's text and may hold commas; the address and session are Dovecot's."""
    parts = inner.rsplit(b",", 2)
    if len(parts) == 3 and parts[2].startswith(b"<") and parts[2].endswith(b">"):
        parts = [parts[0], parts[1]]
    elif len(parts) == 3:
        parts = [parts[0] + b"," + parts[1], parts[2]]
    if len(parts) != 2:
        return None, b""
    return parts[0], parts[1].strip()


_DOVECOT_FLAG_RE = re.compile(rb"[A-Za-z0-9_.:-]*")


def dovecot_login_fields(text: bytes) -> dict[str, str]:
    """login_log_format_elements (``user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<..>``,
    joined with ``, ``) -> {"user": .., "method": .., "rip": ..}.

    ``user`` is the one field the client chose, and it comes first: it ends at the last ``>``
    before the fields Dovecot writes itself, which hold no ``>`` but the final
    ``session=<...>``. The others are ``key=value`` (the last of a key wins) or flags (TLS).
    """
    fields: dict[str, str] = {}
    rest = text
    if rest.startswith(b"user=<"):
        session = rest.rfind(b", session=<")
        close = rest.rfind(b">", 6, session if session >= 0 else len(rest))
        if close < 0:
            fields["user"] = _text(rest[6:])
            return fields
        fields["user"] = _text(rest[6:close])
        rest = rest[close + 1:]
    for token in rest.split(b", "):
        key, eq, value = token.partition(b"=")
        if eq and _DOVECOT_FLAG_RE.fullmatch(key) is not None and key != b"user":
            fields[key.decode()] = _text(value.strip(b"<>"))
    return fields


# ---------------------------------------------------------------------- other programs
def _queue_note(time: datetime | None, host: str, prog: str, pid: int, msg: bytes) -> ev.Event | None:
    """Milters and filters name the queue id: ``opendkim[7019]: A4FCE204384E: no signature data``,
    milter-manager inside its text (``... v2.11.0 host A4FCE204384E>``). Others are IGNORED."""
    m = QID_PREFIX_RE.match(msg)
    if m is not None:
        return ev.QueueNote(time, host, prog, pid, m.group(1).decode())
    if prog in ("milter-manager", "amavis", "amavisd"):
        session = MILTER_SESSION_RE.search(msg)
        for candidate in EMBEDDED_QID_RE.findall(msg):
            if len(candidate) >= 8 and not candidate.isdigit():
                return ev.QueueNote(time, host, prog, pid, candidate.decode(),
                                    session.group(1).decode() if session else None)
        if session is not None:
            return ev.QueueNote(time, host, prog, pid, "", session.group(1).decode())
    return IGNORED
