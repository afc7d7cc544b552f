"""Follow smtpd sessions and queue files through an interleaved log.

* A **session** is one smtpd process between ``connect from`` and ``disconnect from``, keyed
  by (host, program, pid). A line for a key with no open session opens an implicit one (the
  log started mid-session); a ``connect`` on a key that is still open closes the old one.
* A **message** is one queue file, keyed by queue id until ``removed``. Short queue ids are
  reused (they are built from the inode number, see docs/logs.md), so a ``client=`` line for an id
  that already has one starts a new message, and a line after ``removed`` starts a new one.
* The ``client=`` line joins the two: it is logged by the session's smtpd process and names
  the queue id.

Closed sessions and messages are folded into small records (:class:`Login`,
:class:`AuthOnlySession`) and dropped, so memory follows the number of *open* transactions,
not the size of the log, unless their raw lines are kept for ``trace``.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from saslscope.maillog import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.maillog.feed import Listener

RawLine = tuple[int, bytes]   # (sequence number in the input, raw line)


@dataclass(slots=True)
class Session:
    host: str
    program: str
    pid: int
    client_name: str = ""
    client_ip: str = ""
    start: datetime | None = None
    end: datetime | None = None
    saw_connect: bool = False
    tls: str | None = None
    auth_failures: int = 0
    failed_usernames: list[str] = field(default_factory=list)
    commands: dict[str, tuple[int, int]] = field(default_factory=dict)
    abort: str | None = None
    sasl_method: str | None = None
    sasl_username: str | None = None
    helo: str | None = None       # from a reject line of the session (Postfix logs it nowhere else)
    messages: list[Message] = field(default_factory=list)
    lines: list[RawLine] | None = None
    continued: bool = False       # may have begun before this chunk of a log cut in pieces


@dataclass(slots=True)
class Recipient:
    to: str
    status: str
    dsn: str | None
    relay: str | None
    detail: str
    time: datetime | None
    orig_to: str | None = None
    program: str = ""
    attempts: int = 1


@dataclass(slots=True)
class Message:
    queue_id: str
    first: datetime | None
    last: datetime | None = None
    session: Session | None = None
    host: str = ""
    program: str = ""             # of the client= line (the smtpd service) or pickup
    client_name: str = ""
    client_ip: str = ""
    sasl_method: str | None = None
    sasl_username: str | None = None
    sasl_sender: str | None = None
    orig_queue_id: str | None = None
    orig_client: str | None = None
    received: datetime | None = None
    has_client_line: bool = False
    message_id: str | None = None
    sender: str | None = None
    size: int | None = None
    nrcpt: int | None = None
    recipients: dict[str, Recipient] = field(default_factory=dict)
    notifications: list[str] = field(default_factory=list)
    pickup_uid: int | None = None
    removed: bool = False
    expired: bool = False
    lines: list[RawLine] | None = None
    continued: bool = False       # first seen without its client= line in a later chunk
    oddity: str | None = None     # why its client= line is unusual (a malformed queue id)

    @property
    def authenticated(self) -> bool:
        """``sasl_username`` proves AUTH; ``sasl_sender`` alone proves nothing (any client may send MAIL FROM AUTH=), nor ANONYMOUS."""
        return bool(self.sasl_username) and (self.sasl_method or "").upper() != "ANONYMOUS"


@dataclass(slots=True)
class Login:
    """One authenticated submission: a ``client=`` line with ``sasl_username``, and its message."""

    time: datetime | None
    username: str
    method: str
    client_name: str
    client_ip: str
    host: str
    service: str
    queue_id: str
    message_id: str | None
    sender: str | None
    recipients: int
    tls: str | None
    helo: str | None = None
    oddity: str | None = None


@dataclass(slots=True)
class AuthOnlySession:
    """A session whose AUTH succeeded (``auth=1`` on disconnect) but that submitted no message.

    Postfix logs no user name for it: only Dovecot's or Cyrus' own logs could say who.
    """

    start: datetime | None
    end: datetime | None
    client_name: str
    client_ip: str
    host: str
    service: str
    auth: tuple[int, int]
    tls: str | None


@dataclass(slots=True)
class Failure:
    time: datetime | None
    client_name: str
    client_ip: str
    host: str
    service: str
    method: str
    reason: str
    username: str | None


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback (``ip`` as Postfix logs it, maybe ``IPv6:``-prefixed)."""
    if ip.startswith("127."):               # IPv4, without ipaddress' cost
        parts = ip.split(".")
        return len(parts) == 4 and all(_octet(p) for p in parts)
    return ":" in ip and _ipv6_loopback(ip.removeprefix("IPv6:"))


def _octet(text: str) -> bool:
    """A decimal IPv4 octet as ipaddress accepts it (ASCII, no leading zero, < 256)."""
    return text.isascii() and text.isdigit() and len(text) <= 3 and int(text) < 256 and (
        text == "0" or text[0] != "0")


@functools.lru_cache(maxsize=4096)
def _ipv6_loopback(ip: str) -> bool:
    try:
        addr = ipaddress.IPv6Address(ip)
    except ValueError:
        return False
    return addr.is_loopback or (addr.ipv4_mapped is not None and addr.ipv4_mapped.is_loopback)


class LocalityJudge:
    """Decide whether a client is the logging host itself.

    Local = a loopback address, or a client name whose first label is the syslog host
    field's first label (the write-up: ``ik1-331-25649.vs.sakura.ne.jp`` logged by host
    ``ik1-331-25649``), or an address learned from such a name or given with ``--own-address``.
    Decided at report time, so an address learned late still counts for earlier lines.
    """

    def __init__(self, own_addresses: Iterable[str] = ()) -> None:
        self.own_ips: set[str] = set(own_addresses)

    def learn(self, host: str, client_name: str, client_ip: str) -> None:
        if (host and client_name and client_ip and client_ip not in self.own_ips
                and client_name.split(".", 1)[0].lower() == host.split(".", 1)[0].lower()):
            self.own_ips.add(client_ip)

    def is_local(self, host: str, client_name: str, client_ip: str) -> bool:
        if client_ip in self.own_ips or is_loopback(client_ip):
            return True
        return bool(host and client_name) and (
            client_name.partition(".")[0].lower() == host.partition(".")[0].lower())


@dataclass
class Results:
    """What correlation leaves behind: small records, mergeable by concatenation."""

    logins: list[Login] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    auth_only: list[AuthOnlySession] = field(default_factory=list)
    dovecot: list[ev.DovecotLogin] = field(default_factory=list)
    dovecot_failures: list[ev.DovecotAuthFailure] = field(default_factory=list)
    rejects_with_sasl: list[ev.Reject] = field(default_factory=list)
    traced: list[Message] = field(default_factory=list)
    sasl_messages: int = 0


@dataclass(slots=True)
class SessionStart:
    """How a session that may have begun in the previous chunk went on in this one."""

    had_messages: bool
    ended: bool
    auth: tuple[int, int] | None
    end: datetime | None
    client_name: str
    client_ip: str
    host: str
    service: str


@dataclass
class Boundary:
    """What one chunk of a log cut in pieces leaves for the merge (see :mod:`.parallel`)."""

    session_starts: dict[tuple[str, str, int], SessionStart] = field(default_factory=dict)
    # queue id -> what a chunk saw of a message before any client= line (None: it began anew)
    message_starts: dict[str, Message | None] = field(default_factory=dict)
    open_sessions: dict[tuple[str, str, int], tuple[bool, bool]] = field(default_factory=dict)
    open_messages: list[Message] = field(default_factory=list)


def login_of(message: Message) -> Login | None:
    """The login record of a closed message, if AUTH proved who sent it."""
    if not message.authenticated:
        return None
    session = message.session
    return Login(message.received or message.first, message.sasl_username or "", message.sasl_method or "",
                 message.client_name, message.client_ip, message.host, message.program, message.queue_id,
                 message.message_id, message.sender, message.nrcpt or len(message.recipients),
                 session.tls if session else None, session.helo if session else None, message.oddity)


def auth_only_of(session: Session) -> AuthOnlySession | None:
    auth = session.commands.get("auth")
    if session.messages or auth is None or auth[0] == 0:
        return None
    return AuthOnlySession(session.start, session.end, session.client_name, session.client_ip, session.host,
                           session.program, auth, session.tls)


class Correlator:
    """Feed events in log order; read :attr:`results` after :meth:`finish`.

    ``keep`` selects messages whose raw lines (and their session's) are kept for ``trace``:
    ``True`` keeps all, a container of queue ids / Message-IDs keeps those, ``None`` none.
    """

    def __init__(self, locality: LocalityJudge, keep: bool | Container[str] | None = None,
                 continues: bool = False, listener: Listener | None = None) -> None:
        """``continues``: this is a later chunk of a log cut in pieces; what may have begun
        before it is not concluded here but left in :attr:`boundary` for the merge.
        ``listener`` is told of every session and message as it closes."""
        self.locality = locality
        self.listener = listener
        self.continues = continues
        self.boundary = Boundary()
        self.seen_sessions: set[tuple[str, str, int]] = set()
        self.seen_messages: set[str] = set()
        self.keep = keep
        self.collect = bool(keep)
        self.sessions: dict[tuple[str, str, int], Session] = {}
        self.messages: dict[str, Message] = {}
        self.milter_sessions: dict[str, Message] = {}
        self.results = Results()
        self._handlers: dict[type, Callable[[Any, int, bytes | None], bool]] = {
            ev.Connect: self._on_connect, ev.Disconnect: self._on_disconnect, ev.ClientLine: self._client_line,
            ev.AuthFailure: self._on_auth_failure, ev.TlsEstablished: self._on_tls, ev.Abort: self._on_abort,
            ev.Reject: self._on_reject, ev.SessionNote: self._on_session_note,
            ev.DovecotLogin: self._on_dovecot_login, ev.DovecotAuthFailure: self._on_dovecot_failure,
            ev.Repeated: self._on_repeated}

    # ------------------------------------------------------------------ sessions
    def _session(self, e: ev.Event) -> Session:
        key = (e.host, e.program, e.pid)
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = Session(e.host, e.program, e.pid, start=e.time,
                                                   lines=[] if self.collect else None)
            if self.continues and key not in self.seen_sessions:
                session.continued = True
                self.seen_sessions.add(key)
        return session

    def _close_session(self, session: Session, ended: bool = True) -> None:
        key = (session.host, session.program, session.pid)
        del self.sessions[key]
        if session.continued:
            self.boundary.session_starts[key] = SessionStart(
                bool(session.messages), ended, session.commands.get("auth"), session.end, session.client_name,
                session.client_ip, session.host, session.program)
            return
        record = auth_only_of(session)
        if record is not None:
            self.results.auth_only.append(record)
        if self.listener is not None:
            self.listener.session_closed(session, record)

    # ------------------------------------------------------------------ messages
    def _message(self, qid: str, e: ev.Event) -> Message:
        message = self.messages.get(qid)
        if message is None:
            message = self.messages[qid] = Message(qid, e.time, lines=[] if self.collect else None)
            if self.continues and qid not in self.seen_messages:
                self.seen_messages.add(qid)
                if type(e) is ev.ClientLine:
                    self.boundary.message_starts[qid] = None      # a new message: the old one ended
                else:
                    message.continued = True
        message.last = e.time
        return message

    def _close_message(self, message: Message) -> None:
        if self.messages.get(message.queue_id) is message:
            del self.messages[message.queue_id]
        if message.continued and not message.has_client_line:
            self.boundary.message_starts[message.queue_id] = message
            return
        login = login_of(message)
        if login is not None:
            self.results.logins.append(login)
        if self.listener is not None:
            self.listener.message_closed(message, login)
        keep = self.keep
        if keep is True or (keep and (message.queue_id in keep or (message.message_id or "") in keep)):
            self.results.traced.append(message)
        else:
            # a session and its messages point at each other: without this cut every pair
            # waits for the cyclic garbage collector, which then runs far more often
            # (analyze(only="summary") of 1M lines: 5.9 -> 5.4 s)
            message.session = None

    # ------------------------------------------------------------------ feeding
    def feed(self, e: ev.Event, seq: int, raw: bytes | None) -> bool:
        """Apply one event; True when its line counts as parsed (every event today: whether a
        line is evidence is decided by its form, in :mod:`.parse`, not by what came before)."""
        handler = self._handlers.get(type(e))
        if handler is None:
            return self._queue_event(e, seq, raw)
        return handler(e, seq, raw)

    def _on_connect(self, e: ev.Connect, seq: int, raw: bytes | None) -> bool:
        old = self.sessions.get((e.host, e.program, e.pid))
        if old is not None:
            self._close_session(old)
        session = self._session(e)
        session.saw_connect = True
        session.client_name, session.client_ip = e.client_name, e.client_ip
        self._keep_session_line(session, seq, raw)
        return True

    def _on_disconnect(self, e: ev.Disconnect, seq: int, raw: bytes | None) -> bool:
        session = self._session(e)
        session.end = e.time
        session.commands = e.counters
        session.client_name, session.client_ip = e.client_name, e.client_ip
        self._keep_session_line(session, seq, raw)
        self._close_session(session)
        return True

    def _on_auth_failure(self, e: ev.AuthFailure, seq: int, raw: bytes | None) -> bool:
        session = self._session(e)
        session.auth_failures += 1
        if e.username:
            session.failed_usernames.append(e.username)
        self.results.failures.append(Failure(e.time, e.client_name, e.client_ip, e.host, e.program,
                                             e.method, e.reason, e.username))
        self._keep_session_line(session, seq, raw)
        return True

    def _on_tls(self, e: ev.TlsEstablished, seq: int, raw: bytes | None) -> bool:
        session = self._session(e)
        session.tls = f"{e.protocol} {e.cipher}"
        self._keep_session_line(session, seq, raw)
        return True

    def _on_abort(self, e: ev.Abort, seq: int, raw: bytes | None) -> bool:
        session = self._session(e)
        session.abort = f"{e.reason} after {e.after}"
        self._keep_session_line(session, seq, raw)
        return True

    def _on_reject(self, e: ev.Reject, seq: int, raw: bytes | None) -> bool:
        if e.fields.get("sasl_username"):
            self.results.rejects_with_sasl.append(e)
        session = self._session(e)
        session.helo = e.fields.get("helo", session.helo)
        self._keep_session_line(session, seq, raw)
        return True

    def _on_session_note(self, e: ev.SessionNote, seq: int, raw: bytes | None) -> bool:
        if self.collect:
            session = self.sessions.get((e.host, e.program, e.pid))
            if session is not None:
                self._keep_session_line(session, seq, raw)
        return True

    def _on_dovecot_login(self, e: ev.DovecotLogin, seq: int, raw: bytes | None) -> bool:
        self.results.dovecot.append(e)
        return True

    def _on_dovecot_failure(self, e: ev.DovecotAuthFailure, seq: int, raw: bytes | None) -> bool:
        self.results.dovecot_failures.append(e)
        return True

    def _on_repeated(self, e: ev.Repeated, seq: int, raw: bytes | None) -> bool:
        for i in range(e.times):      # the raw line once: it is one line of the log
            self.feed(e.event, seq, raw if i == 0 else None)
        return True

    def _keep_session_line(self, session: Session, seq: int, raw: bytes | None) -> None:
        if session.lines is not None and raw is not None:
            session.lines.append((seq, raw))

    def _keep_message_line(self, message: Message, seq: int, raw: bytes | None) -> None:
        if message.lines is not None and raw is not None:
            message.lines.append((seq, raw))

    def _client_line(self, e: ev.ClientLine, seq: int, raw: bytes | None) -> bool:
        if e.sasl_username:
            self.results.sasl_messages += 1
        session = self._session(e)
        self._keep_session_line(session, seq, raw)
        if not session.client_ip:
            session.client_name, session.client_ip = e.client_name, e.client_ip
        if e.queue_id == "NOQUEUE":
            return True
        message = self.messages.get(e.queue_id)
        if message is not None and message.has_client_line:   # queue id reused, "removed" missed
            self._close_message(message)
        message = self._message(e.queue_id, e)
        message.session = session
        session.messages.append(message)
        message.has_client_line = True
        message.received = e.time
        message.host, message.program = e.host, e.program
        message.client_name, message.client_ip = e.client_name, e.client_ip
        message.sasl_method, message.sasl_username, message.sasl_sender = e.sasl_method, e.sasl_username, e.sasl_sender
        message.orig_queue_id, message.orig_client, message.oddity = e.orig_queue_id, e.orig_client, e.oddity
        if e.sasl_username:
            session.sasl_method, session.sasl_username = e.sasl_method, e.sasl_username
        self.locality.learn(e.host, e.client_name, e.client_ip)
        return True

    def _queue_event(self, e: ev.Event, seq: int, raw: bytes | None) -> bool:
        kind = type(e)
        qid: str = e.queue_id  # type: ignore[attr-defined]
        if kind is ev.QueueNote:
            milter_session = e.milter_session  # type: ignore[attr-defined]
            message = self.messages.get(qid) if qid else None
            if message is None and milter_session is not None:
                message = self.milter_sessions.get(milter_session)
            if message is None:
                if not e.program.startswith("postfix") and "/" not in e.program:
                    return True       # a milter line about a message not followed (yet): nothing to keep
                message = self._message(qid, e)
            elif milter_session is not None:
                self.milter_sessions[milter_session] = message
            self._keep_message_line(message, seq, raw)
            return True
        message = self._message(qid, e)
        self._keep_message_line(message, seq, raw)
        if kind is ev.MessageId:
            if not e.resent:  # type: ignore[attr-defined]
                message.message_id = e.message_id  # type: ignore[attr-defined]
        elif kind is ev.QueueFrom:
            message.sender, message.size, message.nrcpt = e.sender, e.size, e.nrcpt  # type: ignore[attr-defined]
        elif kind is ev.Delivery:
            self._delivery(message, e)  # type: ignore[arg-type]
        elif kind is ev.Removed:
            message.removed = True
            self._close_message(message)
        elif kind is ev.Expired:
            message.expired = True
            message.sender = message.sender or e.sender  # type: ignore[attr-defined]
        elif kind is ev.Notification:
            message.notifications.append(e.new_queue_id)  # type: ignore[attr-defined]
        elif kind is ev.Pickup:
            message.pickup_uid, message.sender = e.uid, e.sender  # type: ignore[attr-defined]
            message.program, message.host, message.received = e.program, e.host, e.time
        return True

    @staticmethod
    def _delivery(message: Message, e: ev.Delivery) -> None:
        previous = message.recipients.get(e.to)
        attempts = previous.attempts + 1 if previous else 1
        message.recipients[e.to] = Recipient(e.to, e.status, e.dsn, e.relay, e.detail, e.time,
                                             e.fields.get("orig_to"), e.program, attempts)

    def finish(self) -> Results:
        """Close what the log left open (it ended before ``removed``/``disconnect``)."""
        for message in list(self.messages.values()):
            self._close_message(message)
        for session in list(self.sessions.values()):
            self._close_session(session, ended=False)
        return self.results

    def cut(self) -> tuple[Results, Boundary]:
        """End a chunk that is not the log's last: leave what is open to the merge."""
        boundary = self.boundary
        for message in self.messages.values():
            if message.continued and not message.has_client_line:
                boundary.message_starts[message.queue_id] = message
            elif message.authenticated:
                boundary.open_messages.append(message)
        for key, session in self.sessions.items():
            boundary.open_sessions[key] = (bool(session.messages), session.continued)
        return self.results, boundary
