"""Mail-log lines -> detection signals, each with its evidence (source, line number, raw text).

The one adapter between :mod:`saslscope.maillog` and the detectors, written on maillog's public
pieces (:class:`~saslscope.maillog.parse.LineParser`, :class:`~saslscope.maillog.correlate.Correlator`,
:func:`~saslscope.maillog.sources.iter_blocks`): smtpd and queue events go to the correlator,
which keeps the smtpd sessions and queue files; this module watches the events that are evidence
and reads what it needs of the open session (TLS cipher, messages sent) at that moment.

=====================================  ===============================================
log line                               signal
=====================================  ===============================================
``QID: client=..., sasl_username=u``   :class:`AuthSucceeded` (TLS cipher of its session)
qmgr ``QID: from=<s>, nrcpt=N``        :class:`MessageSubmitted` (time and evidence of the
                                       ``client=`` line; the ``from=`` line as sender evidence)
``removed`` without a ``from=``        :class:`MessageSubmitted` without a sender
``QID: to=<r>, ... status=S``          :class:`DeliveryOutcome` (authenticated messages only;
                                       not for ``status=sent``: no detector needs a
                                       delivered recipient, and they are most of a log)
``disconnect ... auth=1`` no message   :class:`AuthOnlySession`
``SASL ... authentication failed``     :class:`AuthFailed` (user name from the line, or from
                                       Dovecot's ``passdb(user,ip)`` line just before it)
Dovecot ``imap-login: Login``/failed   :class:`AuthSucceeded` / :class:`AuthFailed`
=====================================  ===============================================

A line without a time (none of the formats we read lacks one, but damaged lines do) gives no
signal and is counted in :attr:`MaillogSignals.untimed`.

Most lines of a busy log are none of these (postscreen, cleanup, inbound mail, deliveries of
unauthenticated messages). :data:`WANTED_RE` decides in one search which lines are parsed: a
line with a marker of the table above, or a queue line (``from=``/``to=``/``removed``) of a
message this adapter follows; the rest is counted in :attr:`MaillogSignals.skipped` and never
parsed. (journald JSON lines are always parsed: their message has no syslog header to search.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from saslscope.detect.findings import Evidence
from saslscope.detect.signals import (
    AuthFailed,
    AuthOnlySession,
    AuthSucceeded,
    DeliveryOutcome,
    MessageSubmitted,
    Signal,
)
from saslscope.maillog import events as ev
from saslscope.maillog.correlate import Correlator, LocalityJudge, Results, is_loopback
from saslscope.maillog.feed import LineCounts, numbered
from saslscope.maillog.parse import LineParser, Unparsed
from saslscope.maillog.sources import STDIN, Warnings, check_readable, expand, iter_blocks

#: a marker of a line that may give a signal, or (group 2) the queue id of a queue line
# ("connect from" lines are not needed: the correlator opens a session at its next line, and the
# disconnect that closes it is read)
WANTED_RE = re.compile(rb"(sasl_|authentication failed|disconnect from|TLS connection established from|dovecot|"
                       rb"-login|auth|repeated)|: ([0-9A-Za-z]{5,}): (?:from=<|to=<|removed)")
#: the correlator keeps a summary record of every closed message and session (for ``logs
#: summary``); signals are read as they happen, so those records are dropped every so many lines
RESULTS_KEPT = 1 << 16
#: how long a Dovecot ``passdb(user,ip)`` failure may precede Postfix's line for the same try
PAIRING_SECONDS = 5.0
#: addresses whose last Dovecot failure is remembered for that pairing
PAIRING_LIMIT = 4096


@dataclass
class Carry:
    logins: dict[str, AuthSucceeded] = field(default_factory=dict)     # queue id -> login before from=
    owners: dict[str, str] = field(default_factory=dict)                # queue id -> user until removed
    dovecot_failures: dict[str, tuple[datetime, str]] = field(default_factory=dict)


class MaillogSignals:
    """Feed lines in log order (:meth:`feed`), then :meth:`finish`; or :meth:`read` whole files."""

    def __init__(self, *, year: int | None = None, syslog_name: str | None = None,
                 own_addresses: Iterable[str] = (), now: datetime | None = None,
                 loopback_is_local: bool = True) -> None:
        """``loopback_is_local=False``: a loopback client is local only when given in
        ``own_addresses`` (Postfix behind a proxy on loopback; a test lab)."""
        self.loopback_is_local = loopback_is_local
        self.parser = LineParser(year=year, syslog_name=syslog_name, now=now)
        self.locality = LocalityJudge(set(own_addresses))
        self.correlator = Correlator(self.locality)
        self.counts = LineCounts()
        self.skipped = 0          # lines no signal can come from, not parsed (counted as ignored)
        self.untimed = 0
        self._logins: dict[str, AuthSucceeded] = {}     # queue id -> its login, until qmgr's from=
        self._owners: dict[str, str] = {}               # queue id -> user name, until removed
        self._dovecot_failures: dict[str, tuple[datetime, str]] = {}
        self._handlers: dict[type, Callable[[Any, Evidence], list[Signal]]] = {
            ev.ClientLine: self._client_line, ev.QueueFrom: self._queue_from, ev.Delivery: self._delivery,
            ev.Removed: self._removed, ev.Disconnect: self._disconnect, ev.AuthFailure: self._auth_failure,
            ev.DovecotAuthFailure: self._dovecot_failure, ev.DovecotLogin: self._dovecot_login,
        }

    # ------------------------------------------------------------------ entry points
    def read(self, paths: Iterable[str], warnings: Warnings | None = None) -> Iterator[Signal]:
        """Every signal of the inputs (files, directories of rotated logs, ``-``), oldest first.
        Raises :class:`~saslscope.maillog.sources.LogInputError` for an unreadable input."""
        warnings = warnings if warnings is not None else Warnings()
        names = expand(list(paths), warnings)
        check_readable(names)
        for name in names:
            source = "-" if name == STDIN else name
            for number, line in numbered(iter_blocks(name, warnings), None, None):
                yield from self.feed(source, number, line[:-1] if line[-1:] == b"\r" else line)
        yield from self.finish()

    def read_lines(self, lines: Iterable[str | bytes], source: str = "<lines>") -> Iterator[Signal]:
        """Every signal of in-memory lines (numbered from 1), then :meth:`finish`'s."""
        for number, line in enumerate(lines, start=1):
            yield from self.feed(source, number, line.encode("utf-8", "surrogateescape") if isinstance(line, str)
                                 else line)
        yield from self.finish()

    def feed(self, source: str, number: int, line: bytes) -> list[Signal]:
        """The signals of one raw line (without its end of line)."""
        self.counts.total += 1
        if line[:1] != b"{":
            wanted = WANTED_RE.search(line)
            if wanted is None or (wanted.lastindex == 2 and (
                    wanted.group(2).decode("ascii") not in self._owners or b"status=sent " in line)):
                self.skipped += 1
                self.counts.ignored += 1
                return []
        event = self.parser.parse(line)
        if event is None:
            self.counts.ignored += 1
            return []
        if type(event) is Unparsed:
            self.counts.unparsed += 1
            return []
        self.counts.parsed += 1
        assert isinstance(event, ev.Event)
        if self.counts.parsed % RESULTS_KEPT == 0:
            self.correlator.results = Results()
        return self._event(event, source, number, line)

    def carry(self) -> Carry:
        """What is still open (messages waiting for qmgr's ``from=`` or ``removed``, a Dovecot
        failure waiting for Postfix's line): an incremental reader keeps it for its next run
        instead of calling :meth:`finish`, so a log cut between two runs gives the same signals."""
        return Carry(dict(self._logins), dict(self._owners), dict(self._dovecot_failures))

    def resume(self, carried: Carry) -> None:
        """Take up what an earlier run left open (see :meth:`carry`)."""
        self._logins.update(carried.logins)
        self._owners.update(carried.owners)
        self._dovecot_failures.update(carried.dovecot_failures)

    def finish(self) -> list[Signal]:
        """Messages the log left without ``from=`` or ``removed``: their logins' messages."""
        self.correlator.finish()
        signals: list[Signal] = [self._submitted(qid, login, None, None, 1) for qid, login in self._logins.items()]
        self._logins.clear()
        return signals

    # ------------------------------------------------------------------ dispatch
    def _event(self, event: ev.Event, source: str, number: int, line: bytes) -> list[Signal]:
        if type(event) is ev.Repeated:
            assert isinstance(event, ev.Repeated)
            return [s for _ in range(event.times) for s in self._event(event.event, source, number, line)]
        handler = self._handlers.get(type(event))
        if handler is None:
            self.correlator.feed(event, 0, None)
            return []
        if event.time is None:
            self.untimed += 1
            self.correlator.feed(event, 0, None)
            return []
        evidence = Evidence(source, number, line.decode("utf-8", "replace"), event.time)
        return handler(event, evidence)

    def _local(self, host: str, client_name: str, client_ip: str) -> bool:
        if not self.loopback_is_local and is_loopback(client_ip):
            return client_ip in self.locality.own_ips
        return self.locality.is_local(host, client_name, client_ip)

    # ------------------------------------------------------------------ handlers
    def _client_line(self, e: ev.ClientLine, evidence: Evidence) -> list[Signal]:
        signals: list[Signal] = []
        if e.queue_id in self._logins:                  # queue id reused before qmgr saw it
            signals.append(self._submitted(e.queue_id, self._logins.pop(e.queue_id), None, None, 1))
        self.correlator.feed(e, 0, None)
        if not e.sasl_username or (e.sasl_method or "").upper() == "ANONYMOUS":
            return signals
        session = self.correlator.sessions.get((e.host, e.program, e.pid))
        tls = session.tls.partition(" ")[2] if session is not None and session.tls else None
        assert e.time is not None
        login = AuthSucceeded(time=e.time, ip=e.client_ip or e.client_name, username=e.sasl_username,
                              method=e.sasl_method, service=e.program, evidence=evidence,
                              local=self._local(e.host, e.client_name, e.client_ip), tls_cipher=tls or None)
        if e.queue_id != "NOQUEUE":
            self._logins[e.queue_id] = login
            self._owners[e.queue_id] = e.sasl_username
        signals.append(login)
        return signals

    @staticmethod
    def _submitted(queue_id: str, login: AuthSucceeded, sender: str | None, sender_evidence: Evidence | None,
                   recipients: int) -> MessageSubmitted:
        return MessageSubmitted(time=login.time, username=login.username, ip=login.ip, sender=sender,
                                recipients=recipients, evidence=login.evidence, queue_id=queue_id,
                                local=login.local, sender_evidence=sender_evidence)

    def _queue_from(self, e: ev.QueueFrom, evidence: Evidence) -> list[Signal]:
        self.correlator.feed(e, 0, None)
        login = self._logins.pop(e.queue_id, None)
        if login is None:
            return []
        return [self._submitted(e.queue_id, login, e.sender, evidence, e.nrcpt or 1)]

    def _delivery(self, e: ev.Delivery, evidence: Evidence) -> list[Signal]:
        self.correlator.feed(e, 0, None)
        owner = self._owners.get(e.queue_id)
        if owner is None:
            return []
        assert e.time is not None
        return [DeliveryOutcome(time=e.time, username=owner, recipient=e.to, status=e.status, evidence=evidence,
                                queue_id=e.queue_id)]

    def _removed(self, e: ev.Removed, evidence: Evidence) -> list[Signal]:
        self.correlator.feed(e, 0, None)
        self._owners.pop(e.queue_id, None)
        login = self._logins.pop(e.queue_id, None)
        return [self._submitted(e.queue_id, login, None, None, 1)] if login is not None else []

    def _disconnect(self, e: ev.Disconnect, evidence: Evidence) -> list[Signal]:
        session = self.correlator.sessions.get((e.host, e.program, e.pid))
        self.correlator.feed(e, 0, None)
        auth = e.counters.get("auth")
        if auth is None or auth[0] == 0 or (session is not None and session.messages):
            return []
        assert e.time is not None
        return [AuthOnlySession(time=e.time, ip=e.client_ip or e.client_name, username=None, evidence=evidence,
                                local=self._local(e.host, e.client_name, e.client_ip))]

    def _auth_failure(self, e: ev.AuthFailure, evidence: Evidence) -> list[Signal]:
        assert e.time is not None
        username = e.username
        if username is None:
            paired = self._dovecot_failures.pop(e.client_ip, None)
            if paired is not None and abs((e.time - paired[0]).total_seconds()) <= PAIRING_SECONDS:
                username = paired[1]
        return [AuthFailed(time=e.time, ip=e.client_ip or e.client_name, username=username, method=e.method,
                           service=e.program, evidence=evidence)]

    def _dovecot_failure(self, e: ev.DovecotAuthFailure, evidence: Evidence) -> list[Signal]:
        """Not a signal of its own (Postfix or the login process logs the same try); it names the
        user for a Postfix line that does not (Postfix before 3.8.3)."""
        if e.client_ip and e.time is not None:
            if len(self._dovecot_failures) >= PAIRING_LIMIT:
                self._dovecot_failures.clear()
            self._dovecot_failures[e.client_ip] = (e.time, e.username)
        return []

    def _dovecot_login(self, e: ev.DovecotLogin, evidence: Evidence) -> list[Signal]:
        assert e.time is not None
        ip = e.client_ip or ""
        if not e.ok:
            return [AuthFailed(time=e.time, ip=ip, username=e.username, method=e.method, service=e.service,
                               evidence=evidence)]
        if not e.username:
            return []
        return [AuthSucceeded(time=e.time, ip=ip, username=e.username, method=e.method, service=e.service,
                              evidence=evidence, local=self._local(e.host, "", ip))]
